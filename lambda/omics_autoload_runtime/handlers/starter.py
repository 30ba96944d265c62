"""starter function: QUEUED read sets become import workflow executions.

Two event sources: the tracking table's stream (QUEUED read sets), and the gather queue,
where the stream side sends a small batch while a burst is under way (``logic.starter``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from omics_autoload_runtime import settings
from omics_autoload_runtime.logic.starter import Starter, matches


def _from_stream(records: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, int]]:
    seen: dict[tuple[str, int], tuple[str, str, int]] = {}
    for record in records:
        image = matches(record)
        if image is None:
            continue
        attempt = int(image.get("attempt") or 0)
        sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
        seen.setdefault((image["pk"], attempt), (sequence, image["pk"], attempt))
    return sorted(seen.values(), key=lambda entry: (entry[1], entry[2]))


def _from_queue(records: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, int]]:
    seen: dict[tuple[str, int], tuple[str, str, int]] = {}
    for record in records:
        try:
            body = json.loads(record.get("body") or "")
            pk, attempt = str(body["readSet"]), int(body.get("attempt") or 0)
        except (ValueError, KeyError, TypeError):
            continue  # not ours: nothing to start (and nothing a retry would fix)
        seen.setdefault((pk, attempt), (str(record.get("messageId", "")), pk, attempt))
    return sorted(seen.values(), key=lambda entry: (entry[1], entry[2]))


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    cfg = settings.get()
    cfg.require("table_name", "state_machine_arn")
    records = (event or {}).get("Records") or []
    gathered = bool(records) and records[0].get("eventSource") == "aws:sqs"
    candidates = _from_queue(records) if gathered else _from_stream(records)
    size = cfg.assembly_options.max_sources_per_job
    starter = Starter(cfg)
    if not gathered and 0 < len(candidates) < size and starter.busy():
        failures = starter.gather(candidates)
    else:
        failures = []
        for start in range(0, len(candidates), size):
            failures += starter.start_batch(candidates[start : start + size])
    return {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in failures if identifier]}
