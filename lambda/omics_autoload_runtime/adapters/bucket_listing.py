"""What is in the bucket, for reconciliation: one page of ListObjectVersions at a time, and
the S3 Inventory report's objects (``domain.inventory`` parses them).

Pages, not iterators: the caller stores the markers between pages so a pass over millions of
objects resumes where the last run stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.errors import error_code

PAGE_SIZE = 1000  # ListObjectVersions' maximum (MaxKeys)


@dataclass(frozen=True)
class Version:
    key: str
    version_id: str | None  # None for the "null" version of an unversioned bucket
    is_latest: bool
    size: int | None
    etag: str | None
    last_modified: str | None  # ISO-8601


@dataclass(frozen=True)
class VersionPage:
    versions: list[Version]
    next_key_marker: str | None  # None: the prefix is done
    next_version_marker: str | None


def list_versions_page(
    bucket: str, prefix: str, key_marker: str | None, version_marker: str | None, page_size: int = PAGE_SIZE
) -> VersionPage:
    """One page of object versions under ``prefix`` (delete markers left out), after the markers."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": page_size}
    if key_marker:
        kwargs["KeyMarker"] = key_marker
        if version_marker:
            kwargs["VersionIdMarker"] = version_marker
    response = clients.client("s3").list_object_versions(**kwargs)
    versions = [
        Version(
            key=entry["Key"],
            version_id=_version(entry.get("VersionId")),
            is_latest=bool(entry.get("IsLatest", True)),
            size=entry.get("Size"),
            etag=str(entry.get("ETag") or "").strip('"') or None,
            last_modified=_iso(entry.get("LastModified")),
        )
        for entry in response.get("Versions", [])
    ]
    if not response.get("IsTruncated"):
        return VersionPage(versions, None, None)
    return VersionPage(versions, response.get("NextKeyMarker"), response.get("NextVersionIdMarker"))


def current_version_id(bucket: str, key: str) -> str | None:
    """The current version of ``key`` (HeadObject), for inventory rows that carry none."""
    response = clients.client("s3").head_object(Bucket=bucket, Key=key)
    return _version(response.get("VersionId"))


def folders(bucket: str, prefix: str) -> list[str]:
    """The names of the folders directly under ``prefix`` (ListObjectsV2 with a delimiter)."""
    names: list[str] = []
    paginator = clients.client("s3").get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            names.append(common["Prefix"][len(prefix) :].rstrip("/"))
    return names


def exists(bucket: str, key: str) -> bool:
    try:
        clients.client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def read_all(bucket: str, key: str) -> bytes:
    """A whole object (an inventory manifest or data file)."""
    body: bytes = clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _version(value: Any) -> str | None:
    return None if value in (None, "", "null") else str(value)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
