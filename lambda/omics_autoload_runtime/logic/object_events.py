"""The object events intake accepts, as one ``ObjectEvent`` each.

S3 event notifications (also wrapped in SQS or SNS) and EventBridge ``Object Created``
events; ``s3:TestEvent`` and non-create events yield nothing.

S3 Batch Operations ``LambdaInvoke`` invocations (schema 1.0 and 2.0) are another way
in: ``batch_tasks`` reads their tasks, ``event_of_task`` makes each an ObjectEvent from
HeadObject (a task names only the bucket, key and version), and ``batch_response``
answers per task. ``backfill_invocation`` builds the same shape for objects sent directly
(``omics-autoload backfill``, reconciliation), so there is one way in for existing objects.

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
from urllib.parse import quote

from omics_autoload_runtime.adapters import objects
from omics_autoload_runtime.adapters.table import iso
from omics_autoload_runtime.domain.s3_uri import decode_s3_event_key

# Batch Operations' answer codes (AWS: "Invoke AWS Lambda function", response schema).
SUCCEEDED = "Succeeded"
TEMPORARY_FAILURE = "TemporaryFailure"  # Batch Operations invokes the task again
PERMANENT_FAILURE = "PermanentFailure"
BATCH_SCHEMA_VERSIONS = ("1.0", "2.0")
RESULT_STRING_MAX = 1024  # longer result strings are cut in the completion report


@dataclass(frozen=True)
class ObjectEvent:
    bucket: str
    key: str  # decoded
    version_id: str | None
    size: int | None
    etag: str | None
    event_time: str | None
    source: str  # "s3" or "eventbridge"


@dataclass(frozen=True)
class BatchTask:
    """One task of an S3 Batch Operations invocation; ``key`` as sent (URL-encoded)."""

    task_id: str
    bucket: str
    key: str
    version_id: str | None


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


# ------------------------------------------------------------------ S3 Batch Operations


def is_batch_invocation(event: Any) -> bool:
    return isinstance(event, Mapping) and "invocationSchemaVersion" in event and "tasks" in event


def batch_tasks(event: Mapping[str, Any]) -> Iterator[BatchTask | tuple[str, Exception]]:
    """The tasks of a Batch Operations invocation; a malformed one as (taskId, error)."""
    for index, task in enumerate(event.get("tasks") or []):
        task_id = str(task.get("taskId", index)) if isinstance(task, Mapping) else str(index)
        try:
            yield _task(task)
        except Exception as error:  # answered PermanentFailure: retrying cannot fix its shape
            yield task_id, error


def _task(task: Any) -> BatchTask:
    if not isinstance(task, Mapping):
        raise ValueError(f"a task is a JSON object, not {type(task).__name__}")
    bucket = task.get("s3BucketName") or str(task.get("s3BucketArn") or "").rpartition(":")[2]
    key = task.get("s3Key")
    if not bucket or not isinstance(key, str) or not key:
        raise ValueError("the task has no s3BucketName (or s3BucketArn) and s3Key")
    return BatchTask(str(task["taskId"]), str(bucket), key, task.get("s3VersionId") or None)


def event_of_task(task: BatchTask) -> ObjectEvent:
    """The ObjectEvent of a task's object version, from HeadObject (its size, ETag, time).

    Batch Operations URL-encodes keys in manifests it reads; a key that decodes to another
    key is looked up decoded first, then as sent. Raises ``objects.Unreadable`` when neither
    exists (or S3 refuses), a transient ClientError as it is."""
    decoded = decode_s3_event_key(task.key)
    candidates = [decoded] if decoded == task.key else [decoded, task.key]
    for index, key in enumerate(candidates):
        try:
            head = objects.head(task.bucket, key, task.version_id)
        except objects.Unreadable as error:
            if index + 1 < len(candidates) and error.code in ("NoSuchKey", "404", "NoSuchVersion"):
                continue
            raise
        modified: Any = head.get("LastModified")  # a datetime from boto3
        version = head.get("VersionId") or task.version_id
        return ObjectEvent(
            bucket=task.bucket,
            key=key,
            version_id=version if version and version != "null" else None,
            size=_int(head.get("ContentLength")),
            etag=str(head.get("ETag", "")).strip('"') or None,
            event_time=iso(modified.timestamp()) if hasattr(modified, "timestamp") else None,
            source="batch",
        )
    raise AssertionError("unreachable")  # the last candidate returns or raises


def batch_result(task_id: str, code: str, text: str) -> dict[str, str]:
    return {"taskId": task_id, "resultCode": code, "resultString": text[:RESULT_STRING_MAX]}


def batch_response(event: Mapping[str, Any], results: list[dict[str, str]]) -> dict[str, Any]:
    """What Batch Operations expects back: the invocation's ids and one result per task."""
    return {
        "invocationSchemaVersion": str(event.get("invocationSchemaVersion", "1.0")),
        "treatMissingKeysAs": PERMANENT_FAILURE,
        "invocationId": str(event.get("invocationId", "")),
        "results": results,
    }


def backfill_invocation(job_id: str, invocation_id: str, tasks: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    """A Batch Operations (schema 2.0) invocation for (bucket, key, version id) triples,
    keys URL-encoded as Batch Operations sends them: what ``backfill`` sends directly."""
    return {
        "invocationSchemaVersion": "2.0",
        "invocationId": invocation_id,
        "job": {"id": job_id},
        "tasks": [
            {
                "taskId": f"{invocation_id}-{index}",
                "s3BucketName": bucket,
                "s3Key": quote(key, safe="/"),
                "s3VersionId": version,
            }
            for index, (bucket, key, version) in enumerate(tasks)
        ],
    }
