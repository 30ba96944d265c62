"""intake function: the intake queue's batches (S3 notifications or EventBridge Object
Created events, one per message), S3 notifications sent directly (or via SNS), and S3 Batch
Operations ``LambdaInvoke`` tasks (``omics-autoload backfill``).

Every record becomes one ``ObjectEvent``; a malformed record is counted and logged, never
the end of the batch. An AWS error leaves the record to be delivered again, after the other
records are done: from the queue, its message is reported failed (``batchItemFailures``:
only it comes back); otherwise the error is raised, so the whole event comes back (each
redelivered record that was recorded changes nothing). One invocation reads each folder's
sheets once for all its records, which is why the queue batches.

A Batch Operations invocation is answered per task instead of raising: Succeeded with
the file's status (DUPLICATE for an object already tracked: nothing changed), a
TemporaryFailure for a transient AWS error (Batch Operations invokes the task again, so
no object is lost), a PermanentFailure for an object that is gone or unreadable, or a
task that is malformed (the completion report lists it with the reason).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import objects
from omics_autoload_runtime.adapters.metrics import Metrics
from omics_autoload_runtime.errors import error_code, is_transient
from omics_autoload_runtime.logic import object_events as events
from omics_autoload_runtime.logic.intake import Intake
from omics_autoload_runtime.logic.object_events import ObjectEvent, from_record, object_events

LOG = logging.getLogger(__name__)
# A record takes well under a second; this leaves room for the last one and the flushes.
STOP_BEFORE_TIMEOUT_MS = 10_000


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    cfg = settings.get()
    cfg.require("table_name")
    metrics = Metrics(cfg.metrics_namespace)
    intake = Intake(cfg, metrics)
    intake.redrive = isinstance(event, Mapping) and event.get("redrive") is True
    intake.new_version = intake.redrive and event.get("newVersion") is True
    if events.is_batch_invocation(event):
        try:
            return events.batch_response(event, [_batch_task(intake, task) for task in events.batch_tasks(event)])
        finally:
            metrics.flush()
            intake.notifier.flush()
    counts: dict[str, int] = {}
    try:
        if _is_queue_batch(event):
            failed = [
                {"itemIdentifier": message["messageId"]}
                for message in _messages_left_to_retry(intake, event["Records"], counts, context)
            ]
            return {"batchItemFailures": failed, "objects": sum(counts.values()), "statuses": counts}
        retry = _record_all(intake, safe_events(event), counts)
    finally:
        metrics.flush()
        intake.notifier.flush()
    if retry is not None:
        raise retry
    return {"objects": sum(counts.values()), "statuses": counts}


def _record_all(
    intake: Intake, object_events_: Iterator[ObjectEvent | Exception], counts: dict[str, int]
) -> ClientError | BotoCoreError | None:
    """Records every event it can; the first AWS error of those left to retry, or None."""
    retry: ClientError | BotoCoreError | None = None
    for index, object_event in enumerate(object_events_):
        if isinstance(object_event, Exception):
            LOG.error("record %d of the event is malformed and was ignored: %r", index, object_event)
            counts["MALFORMED"] = counts.get("MALFORMED", 0) + 1
            continue
        try:
            status = intake.process(object_event)
        except (ClientError, BotoCoreError) as error:
            # Infrastructure: the record comes back once the others are done, so each
            # delivery records every record it can (a redelivered one changes nothing) and
            # one throttled record does not hold back the rest, retry after retry.
            LOG.warning("record %d not recorded yet (%s): it is delivered again", index, error)
            retry = retry or error
            status = "RETRY"
        except Exception as error:
            LOG.exception("failed to process %s", object_event.key)
            status = intake.record_failure_of(object_event, error)
        counts[status] = counts.get(status, 0) + 1
    return retry


def _is_queue_batch(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, Mapping) else None
    return isinstance(records, list) and bool(records) and all(
        isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" and "messageId" in r for r in records
    )


def _messages_left_to_retry(
    intake: Intake, messages: list[Mapping[str, Any]], counts: dict[str, int], context: Any
) -> Iterator[Mapping[str, Any]]:
    """The queue's messages not recorded yet: those an AWS error stopped, and, once the
    invocation nears its timeout, the ones not begun (a timeout would send all back)."""
    for position, message in enumerate(messages):
        if _time_left_ms(context) < STOP_BEFORE_TIMEOUT_MS:
            LOG.warning(
                "%d message(s) left for the next delivery: the invocation nears its timeout", len(messages) - position
            )
            yield from messages[position:]
            return
        if _record_all(intake, safe_events({"Records": [message]}), counts) is not None:
            yield message


def _time_left_ms(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return float(remaining()) if callable(remaining) else float("inf")


def _batch_task(intake: Intake, task: events.BatchTask | tuple[str, Exception]) -> dict[str, str]:
    if isinstance(task, tuple):
        task_id, error = task
        LOG.error("task %s of the Batch Operations invocation is malformed: %s", task_id, error)
        return events.batch_result(task_id, events.PERMANENT_FAILURE, f"malformed task: {error}")
    try:
        object_event = events.event_of_task(task)
    except objects.Unreadable as error:
        return events.batch_result(
            task.task_id, events.PERMANENT_FAILURE, f"not read: S3 answered {error.code} to HeadObject"
        )
    except (ClientError, BotoCoreError) as error:
        return _aws_failure(task.task_id, error, "HeadObject")
    try:
        status = intake.process(object_event)
    except (ClientError, BotoCoreError) as error:
        return _aws_failure(task.task_id, error, "recording the object")
    except Exception as error:
        LOG.exception("failed to process task %s", task.task_id)
        status = intake.record_failure_of(object_event, error)
    return events.batch_result(task.task_id, events.SUCCEEDED, status)


def _aws_failure(task_id: str, error: BaseException, doing: str) -> dict[str, str]:
    """Transient: TemporaryFailure, so Batch Operations invokes the task again; else the
    refusal is reported (a retry would be refused too) and backfill can be run again."""
    code = error_code(error)
    if is_transient(error):
        LOG.warning("transient error %s while %s (task %s): Batch Operations retries it", code, doing, task_id)
        return events.batch_result(task_id, events.TEMPORARY_FAILURE, f"transient: {code} while {doing}; retried")
    LOG.error("error %s while %s (task %s)", code, doing, task_id)
    return events.batch_result(task_id, events.PERMANENT_FAILURE, f"{code} while {doing}")


def safe_events(event: Any) -> Iterator[ObjectEvent | Exception]:
    """object_events, but a malformed record becomes an Exception instead of ending the batch."""
    if isinstance(event, Mapping) and isinstance(event.get("Records"), list):
        for record in event["Records"]:
            try:
                yield from list(from_record(record))
            except (ClientError, BotoCoreError):
                raise
            except Exception as error:
                yield error
        return
    try:
        yield from list(object_events(event))
    except (ClientError, BotoCoreError):
        raise
    except Exception as error:
        yield error
