"""completion function: HealthOmics job events (``logic.completion``) and the scheduled sweep
(``logic.sweep``), one Lambda function with two triggers told apart by ``detail-type``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omics_autoload_runtime import settings
from omics_autoload_runtime.contract import IMPORT_JOB_EVENT, OMICS_EVENT_SOURCE
from omics_autoload_runtime.logic.completion import Completion
from omics_autoload_runtime.logic.sweep import Sweep


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    cfg = settings.get()
    cfg.require("table_name", "sequence_store_id")
    kind = (event or {}).get("detail-type")
    if kind == "Scheduled Event" or (event or {}).get("sweep"):
        return {"sweep": Sweep(cfg, context).run()}
    if kind == IMPORT_JOB_EVENT and (event or {}).get("source", OMICS_EVENT_SOURCE) == OMICS_EVENT_SOURCE:
        return Completion(cfg).on_event(event)
    return {"ignored": f"unexpected event {kind!r}"}
