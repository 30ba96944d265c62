"""Finalize and RecordFailure task function of the import workflow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import import_slots
from omics_autoload_runtime.errors import translate
from omics_autoload_runtime.logic.import_finalize import Finalize


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    cfg = settings.get()
    cfg.require("table_name", "sequence_store_id")
    finalize = Finalize(cfg)
    batch_id = event["batchId"]
    keys = list(event.get("readSetKeys") or [])
    job_id = event.get("jobId") or None
    try:
        if event.get("error") is not None:
            result = finalize.record_failure(batch_id, job_id, keys, event["error"])
        elif not job_id:
            result = {"batchId": batch_id, "jobId": None, "imported": 0, "failed": 0}
        else:
            result = finalize.finalize(batch_id, job_id, keys)
        if not result.get("open"):  # the batch is done: free its import slot (once), wake the next waiter
            import_slots.finish(batch_id)
        return result
    except (ClientError, BotoCoreError) as error:
        raise translate(error, "tracking table") from error
