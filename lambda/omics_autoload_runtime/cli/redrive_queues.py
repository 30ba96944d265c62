"""``omics-autoload redrive --dlq``: drain the dead-letter queues.

S3 events are re-sent to the intake function and HealthOmics/scheduled events to the
completion function (asynchronous Invoke: most of these queues are fed by Lambda and
EventBridge, not by an SQS source queue, so ``StartMessageMoveTask`` cannot send them back;
the intake queue's dead letters, raw S3 events, go to the intake function the same way); a
failed stream batch of the starter names only a range of stream records, so the read
sets in it are read back from the stream and the ones still QUEUED are touched to put
them on the stream again. A message is deleted only after what it held was
re-submitted; with ``--dry-run``, the dead letters received for the look are made
visible again at the end.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import unquote_plus

from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.cli.deployment import DeadLetterQueue, Deployment, invoke_async
from omics_autoload_runtime.cli.output import Progress
from omics_autoload_runtime.cli.tally import Tally
from omics_autoload_runtime.contract import IMPORT_JOB_EVENT

RECEIVE_VISIBILITY_SECONDS = 120
DRY_RUN_VISIBILITY_SECONDS = 60
MAX_STREAM_READS = 200


@dataclass
class RedrivePlan:
    """What re-submitting one dead letter means: invoke a function, re-queue read sets, or nothing."""

    action: str  # "invoke" | "requeue" | "unknown"
    description: str
    function: str | None = None
    payload: Any = None
    stream: Mapping[str, Any] | None = None


_QUEUE_FUNCTION_ROLE = {"intake": "intake", "workflow": "completion"}


def _unqualified(function_arn: str) -> str:
    parts = function_arn.split(":")
    return ":".join(parts[:7]) if function_arn.startswith("arn:") and len(parts) > 7 else function_arn


def _event_role(payload: Any) -> str | None:
    if not isinstance(payload, Mapping):
        return None
    if payload.get("detail-type") in (IMPORT_JOB_EVENT, "Scheduled Event"):
        return "completion"
    if payload.get("detail-type") == "Object Created" or payload.get("Event") == "s3:TestEvent":
        return "intake"
    records = payload.get("Records")
    if isinstance(records, list) and records and all(
        isinstance(r, Mapping) and (r.get("eventSource") in ("aws:s3", "aws:sqs") or "Sns" in r) for r in records
    ):
        return "intake"
    return None


def _describe(payload: Any) -> str:
    if isinstance(payload, Mapping):
        if payload.get("detail-type"):
            detail = payload.get("detail") or {}
            ident = detail.get("id") or (detail.get("object") or {}).get("key") or ""
            return f"{payload['detail-type']} {ident}".strip()
        records = payload.get("Records")
        if isinstance(records, list):
            keys = [
                f"s3://{r['s3']['bucket']['name']}/{unquote_plus(str(r['s3']['object']['key']))}"
                for r in records
                if isinstance(r, Mapping) and isinstance(r.get("s3"), Mapping)
            ]
            if keys:
                return f"S3 event {', '.join(keys[:3])}" + (f" (+{len(keys) - 3})" if len(keys) > 3 else "")
    return "event"


def plan_message(message: Mapping[str, Any], queue: DeadLetterQueue, deployment: Deployment) -> RedrivePlan:
    """What re-submitting one dead letter means."""
    try:
        body = json.loads(message.get("Body") or "")
    except ValueError:
        return RedrivePlan("unknown", "not JSON: left in the queue")
    attributes = {k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()}
    if isinstance(body, Mapping) and isinstance(body.get("DDBStreamBatchInfo"), Mapping):
        info = body["DDBStreamBatchInfo"]
        return RedrivePlan(
            "requeue",
            f"stream batch {info.get('startSequenceNumber')}..{info.get('endSequenceNumber')}"
            f" ({info.get('batchSize', '?')} records)",
            stream=info,
        )
    if isinstance(body, Mapping) and set(body) == {"readSet", "attempt"}:
        return RedrivePlan(
            "unknown",
            f"read set {body['readSet']} to gather into a job: while it is QUEUED the sweep puts it"
            " on the stream again within 15 minutes; left in the queue",
        )
    function: str | None = None
    payload: Any = body
    if isinstance(body, Mapping) and isinstance(body.get("requestContext"), Mapping) and "requestPayload" in body:
        payload = body["requestPayload"]  # a Lambda on-failure destination record
        function = body["requestContext"].get("functionArn")
    function = function or attributes.get("TARGET_ARN")  # an EventBridge target's dead letter
    if function:
        function = _unqualified(function)
    else:  # a function's own dead letter: the raw event; its shape says where it goes back
        role = _event_role(payload)
        if role is None:
            return RedrivePlan("unknown", "not an event of this pipeline: left in the queue")
        if queue.function and role == _QUEUE_FUNCTION_ROLE.get(queue.role):
            function = queue.function
        else:
            function = {"intake": deployment.intake_function, "completion": deployment.completion_function}.get(
                role or ""
            )
        if not function:
            needed = f"--{role}-function"
            why = f"no function to re-send it to (give {needed}); left in the queue"
            return RedrivePlan("unknown", f"{_describe(payload)}: {why}")
    description = f"{_describe(payload)} -> {function.rsplit(':', 1)[-1]}"
    return RedrivePlan("invoke", description, function=function, payload=payload)


def _stream_read_sets(info: Mapping[str, Any]) -> list[tuple[str, int]] | None:
    """(pk, attempt) of the QUEUED read sets in a failed stream batch; None when the
    records can no longer be read (streams keep them 24 hours)."""
    from botocore.exceptions import ClientError

    streams = clients.client("dynamodbstreams")
    end = int(str(info.get("endSequenceNumber") or "0"))
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=str(info["startSequenceNumber"]),
        ).get("ShardIterator")
        found: dict[str, int] = {}
        for _ in range(MAX_STREAM_READS):
            if not iterator:
                break
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            records = response.get("Records", [])
            done = False
            for record in records:
                data = record.get("dynamodb") or {}
                if int(str(data.get("SequenceNumber") or "0")) > end:
                    done = True
                    break
                image = tracking.deserialize(data.get("NewImage")) or {}
                if (
                    record.get("eventName") in ("INSERT", "MODIFY")
                    and image.get("kind") == tracking.KIND_READSET
                    and image.get("status") == tracking.QUEUED
                ):
                    found[image["pk"]] = int(image.get("attempt") or 0)
            if done or not records:
                break
            iterator = response.get("NextShardIterator")
        return sorted(found.items())
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("TrimmedDataAccessException", "ExpiredIteratorException", "ResourceNotFoundException"):
            return None
        raise


def _touch_queued(table: tracking.Table, pk: str, attempt: int | None) -> bool:
    """A QUEUED read set is written again, so the stream carries it to the starter."""
    item = table.get(pk, tracking.READSET_SK)
    if item is None or item.get("status") != tracking.QUEUED:
        return False
    if attempt is not None and int(item.get("attempt") or 0) != attempt:
        return False
    try:
        table.update(
            pk,
            tracking.READSET_SK,
            set={"updatedAt": tracking.iso(), "requeuedAt": tracking.iso()},
            condition="#status = :queued AND #updatedAt = :was",
            values={":queued": tracking.QUEUED, ":was": item["updatedAt"]},
        )
    except tracking.ConditionFailed:
        return False
    return True


def _requeue_batch(deployment: Deployment, info: Mapping[str, Any], dry_run: bool) -> str:
    table = tracking.Table(deployment.table)
    pairs = _stream_read_sets(info)
    if pairs is None:  # the records expired: every QUEUED read set not moving is touched
        cutoff = tracking.iso(tracking.now() - tracking.STALE_CLAIM_SECONDS)
        stale = [(item["pk"], None) for item in tracking.open_read_sets(table, tracking.QUEUED, updated_before=cutoff)]
        if dry_run:
            return f"stream records expired: would re-queue {len(stale)} QUEUED read set(s) older than 15 min"
        touched = sum(_touch_queued(table, pk, None) for pk, _ in stale)
        return f"stream records expired: re-queued {touched} QUEUED read set(s) older than 15 min"
    if dry_run:
        return f"would re-queue {len(pairs)} read set(s) if still QUEUED"
    touched = sum(_touch_queued(table, pk, attempt) for pk, attempt in pairs)
    return f"re-queued {touched} of {len(pairs)} read set(s) (the others moved on)"


def _receive(sqs: Any, url: str, visibility: int) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=0,
        VisibilityTimeout=visibility,
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
    )
    return list(response.get("Messages", []))


def drain_queue(
    queue: DeadLetterQueue, deployment: Deployment, *, dry_run: bool, every: int, out: TextIO, tally: Tally
) -> None:
    sqs = clients.client("sqs")
    depth = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages"])
    total = int(depth.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))
    print(f"dead-letter queue {queue.name} ({queue.role}): about {total} message(s)", file=out)
    progress = Progress("dead letters looked at" if dry_run else "dead letters re-sent", total, every)
    seen: set[str] = set()
    held: list[str] = []  # receipt handles to make visible again (dry run, or left in the queue)
    try:
        while True:
            visibility = DRY_RUN_VISIBILITY_SECONDS if dry_run else RECEIVE_VISIBILITY_SECONDS
            messages = [m for m in _receive(sqs, queue.url, visibility) if m["MessageId"] not in seen]
            if not messages:
                break
            for message in messages:
                seen.add(message["MessageId"])
                plan = plan_message(message, queue, deployment)
                progress.step()
                if plan.action == "unknown":
                    tally.problems += 1
                    held.append(message["ReceiptHandle"])
                    print(f"  left          {message['MessageId']}: {plan.description}", file=out)
                    continue
                if dry_run:
                    held.append(message["ReceiptHandle"])
                    detail = plan.description
                    if plan.action == "requeue" and plan.stream is not None:
                        detail += ": " + _requeue_batch(deployment, plan.stream, True)
                    print(f"  would re-send {message['MessageId']}: {detail}", file=out)
                    tally.redriven += 1
                    continue
                if plan.action == "invoke":
                    invoke_async(str(plan.function), plan.payload)
                    detail = plan.description
                else:
                    detail = plan.description + ": " + _requeue_batch(deployment, plan.stream or {}, False)
                sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
                tally.redriven += 1
                print(f"  re-sent       {message['MessageId']}: {detail}", file=out)
    finally:
        for start in range(0, len(held), 10):  # visible again now, not after the timeout
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(held[start : start + 10])
            ]
            sqs.change_message_visibility_batch(QueueUrl=queue.url, Entries=entries)
        progress.finish()
