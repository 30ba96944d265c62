"""intake function: S3 notifications (direct, via SQS or SNS) and EventBridge Object Created events.

Every record becomes one ``ObjectEvent``; a malformed record is counted and logged, never
the end of the batch; an AWS error is raised so the event is delivered again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters.metrics import Metrics
from omics_autoload_runtime.logic.intake import Intake
from omics_autoload_runtime.logic.object_events import ObjectEvent, from_record, object_events

LOG = logging.getLogger(__name__)


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    cfg = settings.get()
    cfg.require("table_name")
    metrics = Metrics(cfg.metrics_namespace)
    intake = Intake(cfg, metrics)
    intake.redrive = isinstance(event, Mapping) and event.get("redrive") is True
    intake.new_version = intake.redrive and event.get("newVersion") is True
    counts: dict[str, int] = {}
    try:
        for index, object_event in enumerate(safe_events(event)):
            if isinstance(object_event, Exception):
                LOG.error("record %d of the event is malformed and was ignored: %r", index, object_event)
                counts["MALFORMED"] = counts.get("MALFORMED", 0) + 1
                continue
            try:
                status = intake.process(object_event)
            except (ClientError, BotoCoreError):
                raise  # infrastructure: let the event be delivered again
            except Exception as error:
                LOG.exception("failed to process %s", object_event.key)
                status = intake.record_failure_of(object_event, error)
            counts[status] = counts.get(status, 0) + 1
    finally:
        metrics.flush()
        intake.notifier.flush()
    return {"objects": sum(counts.values()), "statuses": counts}


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
