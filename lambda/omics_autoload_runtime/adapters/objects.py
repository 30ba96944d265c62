"""The S3 reads the handlers make of an uploaded object: does it exist, its first bytes,
its tags, and which version of it HealthOmics would read now (``current_version``).

A transient S3 error (throttling, 5xx) is raised as it is, so the event is delivered
again; any other refusal (missing, access denied...) becomes :class:`Unreadable`, which
intake turns into a decision about that one file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.contract import SortKey
from omics_autoload_runtime.domain.s3_uri import split_s3_uri
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


def head(bucket: str, key: str, version_id: str | None = None) -> dict[str, Any]:
    """HeadObject of one version (the current one without ``version_id``); raises Unreadable."""
    response: dict[str, Any] = _s3("head_object", bucket, key, version_id)
    return response


def current_version(bucket: str, key: str) -> str | None:
    """The version an unversioned read (HealthOmics' ``s3://bucket/key``) gets now: its
    version id, or its ETag in a bucket without versioning; None when the key is gone."""
    try:
        head = _s3("head_object", bucket, key)
    except Unreadable:
        return None
    version: str | None = head.get("VersionId")
    if version and version != "null":
        return version
    return str(head.get("ETag", "")).strip('"')


def tracked_version(item: Mapping[str, Any]) -> str:
    """What ``current_version`` answers while an object item's version is still current."""
    version = str(item.get("versionId") or item.get("sk", "")[len(SortKey.OBJECT_VERSION) :])
    if version and version != "null":
        return version
    return str(item.get("eTag", "")).strip('"')


def replacement(entry: Mapping[str, Any]) -> str | None:
    """The version an unversioned read of a tracked file's key gets now, when it is not the
    tracked one; None when it is, when the key is gone, or when there is nothing to compare."""
    tracked = tracked_version(entry)
    location = split_s3_uri(str(entry.get("uri", "")))
    if not tracked or location is None:  # e.g. an entry from before eTags, in an unversioned bucket
        return None
    current = current_version(*location)
    return current if current not in (None, tracked) else None


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
