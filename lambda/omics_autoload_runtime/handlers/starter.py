"""starter function: QUEUED read sets become import workflow executions.

Two event sources: the tracking table's stream (QUEUED read sets), and the gather queue,
where the stream side sends a small batch while a burst is under way (``logic.starter``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from omics_autoload_runtime import settings
from omics_autoload_runtime.logic.starter import Starter, matches

Candidate = tuple[str, str, int]  # (the record's identifier for batchItemFailures, read-set key, attempt)


def _from_stream(record: Mapping[str, Any]) -> Candidate | None:
    image = matches(record)
    if image is None:
        return None
    sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
    return sequence, str(image["pk"]), int(image.get("attempt") or 0)


def _from_queue(record: Mapping[str, Any]) -> Candidate | None:
    try:
        body = json.loads(record.get("body") or "")
        return str(record.get("messageId", "")), str(body["readSet"]), int(body.get("attempt") or 0)
    except (ValueError, KeyError, TypeError):
        return None  # not ours: nothing to start (and nothing a retry would fix)


def _candidates(records: Sequence[Mapping[str, Any]], read: Callable[..., Candidate | None]) -> list[Candidate]:
    """One candidate per (read set, attempt), the first record's identifier, in key order."""
    seen: dict[tuple[str, int], Candidate] = {}
    for record in records:
        candidate = read(record)
        if candidate is not None:
            seen.setdefault((candidate[1], candidate[2]), candidate)
    return sorted(seen.values(), key=lambda entry: (entry[1], entry[2]))


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    cfg = settings.get()
    cfg.require("table_name", "state_machine_arn")
    records = (event or {}).get("Records") or []
    gathered = bool(records) and records[0].get("eventSource") == "aws:sqs"
    candidates = _candidates(records, _from_queue if gathered else _from_stream)
    size = cfg.assembly_options.max_sources_per_job
    starter = Starter(cfg)
    if not gathered and 0 < len(candidates) < size and starter.busy():
        failures = starter.gather(candidates)
    else:
        failures = []
        for start in range(0, len(candidates), size):
            failures += starter.start_batch(candidates[start : start + size])
    return {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in failures if identifier]}
