"""The object events intake accepts, as one ``ObjectEvent`` each.

S3 event notifications (also wrapped in SQS or SNS) and EventBridge ``Object Created``
events; ``s3:TestEvent`` and non-create events yield nothing.

Keys: S3 notifications URL-encode object keys ('+' for a space) and are decoded. AWS
documents no encoding for EventBridge's ``detail.object.key``; when decoding would change
such a key, HeadObject tells which spelling exists (the raw one first), so both behaviours
are handled.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from omics_autoload_runtime.adapters import objects
from omics_autoload_runtime.domain.s3_uri import decode_s3_event_key


@dataclass(frozen=True)
class ObjectEvent:
    bucket: str
    key: str  # decoded
    version_id: str | None
    size: int | None
    etag: str | None
    event_time: str | None
    source: str  # "s3" or "eventbridge"


# ------------------------------------------------------------------ event parsing


def object_events(event: Any) -> Iterator[ObjectEvent]:
    """The ObjectCreated events in ``event``, in order (S3, SQS/SNS-wrapped S3, EventBridge)."""
    if not isinstance(event, Mapping):
        return
    if event.get("Event") == "s3:TestEvent":
        return
    if event.get("source") == "aws.s3" or "detail-type" in event:
        if event.get("detail-type") == "Object Created":
            yield _from_eventbridge(event)
        return
    for record in event.get("Records") or []:
        yield from from_record(record)


def from_record(record: Mapping[str, Any]) -> Iterator[ObjectEvent]:
    if record.get("eventSource") == "aws:sqs" and "body" in record:
        yield from object_events(_json(record["body"]))
        return
    if "Sns" in record:
        yield from object_events(_json(record["Sns"].get("Message")))
        return
    name = str(record.get("eventName", ""))
    if not name.startswith(("ObjectCreated:", "s3:ObjectCreated:")):
        return
    s3 = record["s3"]
    obj = s3["object"]
    yield ObjectEvent(
        bucket=s3["bucket"]["name"],
        key=decode_s3_event_key(obj["key"]),
        version_id=obj.get("versionId") or None,
        size=_int(obj.get("size")),
        etag=obj.get("eTag"),
        event_time=record.get("eventTime"),
        source="s3",
    )


def _from_eventbridge(event: Mapping[str, Any]) -> ObjectEvent:
    detail = event["detail"]
    obj = detail["object"]
    bucket = detail["bucket"]["name"]
    version_id = obj.get("version-id") or None
    return ObjectEvent(
        bucket=bucket,
        key=_eventbridge_key(bucket, obj["key"], version_id),
        version_id=version_id,
        size=_int(obj.get("size")),
        etag=obj.get("etag") or obj.get("eTag"),
        event_time=event.get("time"),
        source="eventbridge",
    )


def _eventbridge_key(bucket: str, raw: str, version_id: str | None) -> str:
    decoded = decode_s3_event_key(raw)
    if decoded == raw:
        return raw
    for candidate in (raw, decoded):
        if objects.exists(bucket, candidate, version_id):
            return candidate
    return raw


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
