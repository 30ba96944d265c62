"""starter function: the tracking table's stream (QUEUED read sets) becomes import workflow executions."""

from __future__ import annotations

from typing import Any

from omics_autoload_runtime import settings
from omics_autoload_runtime.logic.starter import Starter, matches


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    cfg = settings.get()
    cfg.require("table_name", "state_machine_arn")
    seen: dict[tuple[str, int], tuple[str, str, int]] = {}
    for record in (event or {}).get("Records") or []:
        image = matches(record)
        if image is None:
            continue
        attempt = int(image.get("attempt") or 0)
        sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
        seen.setdefault((image["pk"], attempt), (sequence, image["pk"], attempt))
    candidates = sorted(seen.values(), key=lambda entry: (entry[1], entry[2]))
    size = cfg.assembly_options.max_sources_per_job
    starter = Starter(cfg)
    failures: list[str] = []
    for start in range(0, len(candidates), size):
        failures += starter.start_batch(candidates[start : start + size])
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failures if sequence]}
