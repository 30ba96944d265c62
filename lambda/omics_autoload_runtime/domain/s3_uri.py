"""S3 object URIs as the pipeline sees them, and whether HealthOmics can read one.

Its own module because the sample-sheet reader needs to split URIs too, and it must not
depend on classification (which reads sample sheets).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from omics_autoload_runtime.domain import limits


def decode_s3_event_key(key: str) -> str:
    """S3 event notifications URL-encode keys, with '+' for spaces."""
    return unquote_plus(key)


def split_s3_uri(uri: str) -> tuple[str, str] | None:
    """(bucket, key) of an ``s3://bucket/key`` URI, or None when it is not one."""
    if not uri.startswith("s3://"):
        return None
    bucket, slash, key = uri[5:].partition("/")
    if not bucket or not slash:
        return None
    return bucket, key


def file_name(uri: str) -> str:
    """The last part of the key: what naming rules and messages look at."""
    return uri.rpartition("/")[2]


def uri_problem(uri: str) -> str | None:
    """Why HealthOmics cannot take `uri` as a source file, or None when it can."""
    if limits.S3_URI_RE.fullmatch(uri):
        return None
    parts = split_s3_uri(uri)
    if parts is None:
        return "not an s3://bucket/key URI"
    bucket, key = parts
    if not re.fullmatch(r"[a-z0-9][a-z0-9-.]{1,61}[a-z0-9]", bucket):
        return f"bucket name {bucket!r} does not match the HealthOmics S3 URI pattern {limits.S3_URI_PATTERN}"
    if len(key) > 1024:
        return f"the key is {len(key)} characters long; HealthOmics accepts 1 to 1024"
    return "the key contains a line break, which HealthOmics S3 URIs cannot contain"
