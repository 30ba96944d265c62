"""Counting tracking items by status through the ``by-status`` index, at a bounded cost.

Used by the sweep (the ``ReadSetsWaitingForMate`` and ``StuckItems`` gauges) and by
``omics-autoload status``. Queries only, never a scan: a key condition on ``status``
(and on ``updatedAt`` for "older than"), ``Select=COUNT`` so no item is returned,
pages followed until done or ``max_pages``. A count cut short by ``max_pages`` is a
lower bound and says so (``complete`` is False).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.adapters.table import ItemTable, iso, serialize

NON_TERMINAL_OBJECT_STATUSES = tuple(s for s in tracking.OBJECT_STATUSES if s not in tracking.OBJECT_TERMINAL)


@dataclass(frozen=True)
class Count:
    count: int
    complete: bool
    pages: int


def status_query(
    table: ItemTable, status: str, *, kind: str | None = None, updated_before: str | None = None
) -> dict[str, Any]:
    """Query arguments for the items of ``status`` (and ``kind``; updated before a time)."""
    names = {"#status": "status"}
    values: dict[str, Any] = {":status": status}
    condition = "#status = :status"
    if updated_before is not None:
        condition += " AND #updatedAt < :before"
        names["#updatedAt"] = "updatedAt"
        values[":before"] = updated_before
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "IndexName": tracking.STATUS_INDEX,
        "KeyConditionExpression": condition,
    }
    if kind is not None:
        kwargs["FilterExpression"] = "#kind = :kind"
        names["#kind"] = "kind"
        values[":kind"] = kind
    kwargs["ExpressionAttributeNames"] = names
    kwargs["ExpressionAttributeValues"] = serialize(values)
    return kwargs


def count(
    table: ItemTable,
    status: str,
    *,
    kind: str | None = None,
    updated_before: str | None = None,
    max_pages: int | None = 50,
) -> Count:
    """Items of ``status`` (and ``kind``; last updated before ``updated_before``)."""
    kwargs = status_query(table, status, kind=kind, updated_before=updated_before)
    kwargs["Select"] = "COUNT"
    total = pages = 0
    while True:
        response = table.client.query(**kwargs)
        total += int(response.get("Count", 0))
        pages += 1
        last = response.get("LastEvaluatedKey")
        if not last:
            return Count(total, True, pages)
        if max_pages is not None and pages >= max_pages:
            return Count(total, False, pages)
        kwargs["ExclusiveStartKey"] = last


def stuck_cutoffs(now: float, stuck_after_seconds: int, orphan_window_seconds: int) -> dict[str, str]:
    """Per non-final object status, the ``updatedAt`` before which a file counts as stuck.

    A mate waits by design until the orphan window ends (the sweep then resolves it), so
    WAITING_FOR_MATE is stuck only after the longer of the two.
    """
    waiting = max(stuck_after_seconds, orphan_window_seconds)
    return {
        status: iso(now - (waiting if status == tracking.WAITING_FOR_MATE else stuck_after_seconds))
        for status in NON_TERMINAL_OBJECT_STATUSES
    }
