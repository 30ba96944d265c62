"""completion function: HealthOmics job events, and the scheduled sweep (``logic.sweep``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omics_autoload_runtime import settings
from omics_autoload_runtime.logic.completion import IMPORT_JOB_EVENT, Completion


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    cfg = settings.get()
    cfg.require("table_name", "sequence_store_id")
    completion = Completion(cfg, context)
    kind = (event or {}).get("detail-type")
    if kind == "Scheduled Event" or (event or {}).get("sweep"):
        return {"sweep": completion.sweep()}
    if kind == IMPORT_JOB_EVENT and (event or {}).get("source", "aws.omics") == "aws.omics":
        return completion.on_event(event)
    return {"ignored": f"unexpected event {kind!r}"}
