"""The S3 reads intake makes of an uploaded object: does it exist, its first bytes, its tags.

A transient S3 error (throttling, 5xx) is raised as it is, so the event is delivered
again; any other refusal (missing, access denied...) becomes :class:`Unreadable`, which
intake turns into a decision about that one file.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.errors import error_code, is_transient


class Unreadable(Exception):
    """S3 refused the read for a reason a retry will not fix; ``code`` is its error code."""

    def __init__(self, error: ClientError):
        super().__init__(str(error))
        self.code = error_code(error)


def _s3(operation: str, bucket: str, key: str, version_id: str | None = None, **kwargs: Any) -> Any:
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        return getattr(clients.client("s3"), operation)(Bucket=bucket, Key=key, **kwargs)
    except ClientError as error:
        if is_transient(error):
            raise
        raise Unreadable(error) from error


def exists(bucket: str, key: str, version_id: str | None) -> bool:
    try:
        _s3("head_object", bucket, key, version_id)
    except Unreadable:
        return False
    return True


def first_bytes(bucket: str, key: str, version_id: str | None, count: int) -> bytes:
    body: bytes = _s3("get_object", bucket, key, version_id, Range=f"bytes=0-{count - 1}")["Body"].read()
    return body


def tags(bucket: str, key: str, version_id: str | None) -> dict[str, str]:
    tag_set = _s3("get_object_tagging", bucket, key, version_id).get("TagSet", [])
    return {tag["Key"]: tag["Value"] for tag in tag_set}


def read(bucket: str, key: str, limit: int) -> bytes:
    """The object's content, at most ``limit`` bytes of it."""
    body: bytes = _s3("get_object", bucket, key)["Body"].read(limit)
    return body
