"""What ``omics-autoload status`` reads: counts by status, and the files that are stuck.

Counts: one paginated Scan that returns only ``kind`` and ``status`` (the due index holds
only the items someone must find, not IMPORTED ones, so it cannot count them). It reads the
table once, as the per-status queries of the former ``by-status`` index did (projection
ALL: every attribute). Everything else comes from the due index: the open read sets (its
READSET and MATE queues) and the import jobs (JOB), never every item in flight.

"Stuck": a file whose read set waits to be imported (WAITING_FOR_MATE, QUEUED, STARTING)
or is IMPORTING, and was not updated for the given time; or a file whose import job runs
past its own expected end (the read set's ``dueAt`` in the IMP queue: the job's bytes at
the documented throughput, times STUCK_FACTOR, never before the ``stuck_after`` floor).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.adapters.table import ItemTable, deserialize, iso

NON_TERMINAL_OBJECT_STATUSES = tuple(s for s in tracking.OBJECT_STATUSES if s not in tracking.OBJECT_TERMINAL)


def count_by_status(table: ItemTable) -> dict[str, dict[str, int]]:
    """{kind: {status: items}} of the whole table (one Scan, two attributes returned)."""
    counts: dict[str, dict[str, int]] = {}
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "ProjectionExpression": "#kind, #status",
        "ExpressionAttributeNames": {"#kind": "kind", "#status": "status"},
    }
    while True:
        response = table.client.scan(**kwargs)
        for raw in response.get("Items", []):
            item = deserialize(raw) or {}
            if item.get("status") is None:
                continue
            by_status = counts.setdefault(str(item.get("kind", "?")), {})
            by_status[str(item["status"])] = by_status.get(str(item["status"]), 0) + 1
        last = response.get("LastEvaluatedKey")
        if not last:
            return counts
        kwargs["ExclusiveStartKey"] = last


def stuck_files(table: ItemTable, *, now: float, stuck_after_seconds: int) -> Iterator[dict[str, Any]]:
    """The object items of stuck files (see the module docstring), oldest read set first.
    For the CLI: it reads every open and importing read set (their index entries, then the
    items), as many as are in flight."""
    cutoff = iso(now - stuck_after_seconds)
    read_sets = tracking.open_read_sets(table, updated_before=cutoff)
    read_sets += [
        rs
        for rs, due in _importing_read_sets(table)
        if due <= now or str(rs.get("updatedAt") or "") < cutoff
    ]
    read_sets.sort(key=lambda rs: str(rs.get("updatedAt") or ""))
    holder = {(entry["pk"], entry["sk"]): rs for rs in read_sets for entry in tracking.readset_files(rs)}
    keys = list(holder)
    for start in range(0, len(keys), 100):
        chunk = keys[start : start + 100]
        found = table.get_many(chunk)
        for key in chunk:
            item = found.get(key)
            if item is not None and item.get("status") in NON_TERMINAL_OBJECT_STATUSES:
                # A file's item waits QUEUED while its read set imports: the job is the read set's.
                job = item.get("importJobId") or holder[key].get("importJobId")
                yield {**item, "importJobId": job} if job else item


def _importing_read_sets(table: ItemTable) -> list[tuple[dict[str, Any], int]]:
    """IMPORTING read sets with the time they count as stuck. The IMP queue holds each
    job's KEYS item, which stands for its read sets (they are not in the index), and the
    read sets of jobs started before KEYS items did."""
    entries = tracking.queue_items(table, tracking.DueQueue.IMPORTING)
    due_of: dict[str, int] = {}
    found: list[tuple[dict[str, Any], int]] = []
    for entry in entries:
        due = int(entry.get(tracking.DUE_AT) or 0)
        if entry.get("sk") == tracking.JOB_KEYS_SK:
            due_of.update({str(key): due for key in entry.get("readSetKeys") or []})
        elif entry.get("status") == tracking.IMPORTING:
            found.append((entry, due))
    keys = list(due_of)
    for start in range(0, len(keys), 100):
        items = table.get_many([(key, tracking.READSET_SK) for key in keys[start : start + 100]])
        found += [(rs, due_of[rs["pk"]]) for rs in items.values() if rs.get("status") == tracking.IMPORTING]
    return found
