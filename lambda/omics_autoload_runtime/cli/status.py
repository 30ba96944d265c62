"""``omics-autoload status``: what the pipeline did.

Counts files and read sets by status, then lists FAILED files with their reasons and
stuck files (``status_counts.stuck_files``: waiting longer than ``--stuck-after`` hours, or
in an import job past its own expected end). The counts read the table once (a Scan of two
attributes); the lists come from the due index; ``--format json`` for scripts. With ``--key``,
``--prefix`` or ``--read-set``: the story of those files instead (``story.py``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from omics_autoload_runtime.adapters import status_counts, tracking
from omics_autoload_runtime.cli.deployment import add_target_arguments, resolve
from omics_autoload_runtime.cli.errors import Usage
from omics_autoload_runtime.cli.output import PROG, render_table
from omics_autoload_runtime.cli.story import add_story_arguments, run_story, wants_story

DEFAULT_LIMIT = 100
# The order a file goes through the pipeline, for the counts table.
STATUS_ORDER = (
    tracking.WAITING_FOR_SHEET,
    tracking.WAITING_FOR_MATE,
    tracking.QUEUED,
    tracking.STARTING,
    tracking.IMPORTING,
    tracking.IMPORTED,
    tracking.FAILED,
    tracking.SKIPPED,
    tracking.ORPHANED,
)


def add_status(subparsers: Any) -> None:
    command = subparsers.add_parser(
        "status",
        help="counts by status, failed files with their reasons, stuck files",
        description="What the pipeline did: files and read sets by status, every FAILED file with "
        "its reason, and files not final for longer than --stuck-after hours.",
    )
    add_target_arguments(command)
    command.add_argument("--stuck-after", type=float, default=24.0, metavar="HOURS", help="default: 24")
    command.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
        help=f"failed and stuck files listed at most (newest failures first); 0 = all. Default: {DEFAULT_LIMIT}",
    )
    command.add_argument("--format", choices=("table", "json"), default="table")
    add_story_arguments(command)
    command.set_defaults(run=run_status)


def run_status(args: argparse.Namespace) -> int:
    if wants_story(args):
        deployment = resolve(args)
        return run_story(args, deployment.table, args.sequence_store_id or deployment.sequence_store)
    if args.stuck_after <= 0:
        raise Usage("--stuck-after must be more than 0 hours")
    if args.limit < 0:
        raise Usage("--limit must be 0 (all) or more")
    deployment = resolve(args)
    report = gather_status(deployment.table, stuck_after_hours=args.stuck_after, limit=args.limit)
    if args.format == "json":
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print("\n".join(render_status(report)))
    return 0


def _entry(item: Mapping[str, Any]) -> dict[str, Any]:
    entry = {
        "key": item.get("uri") or tracking.uri_of_object_pk(str(item.get("pk", ""))),
        "versionId": item.get("versionId"),
        "status": item.get("status"),
        "reason": item.get("reason"),
        "updatedAt": item.get("updatedAt"),
        "importJobId": item.get("importJobId"),
    }
    return entry


def gather_status(table_name: str, *, stuck_after_hours: float, limit: int) -> dict[str, Any]:
    table = tracking.Table(table_name)
    now = tracking.now()
    statuses = [s for s in STATUS_ORDER if s in tracking.OBJECT_STATUSES + tracking.READSET_STATUSES]
    statuses += [s for s in dict.fromkeys(tracking.OBJECT_STATUSES + tracking.READSET_STATUSES) if s not in statuses]
    by_kind = status_counts.count_by_status(table)
    objects: dict[str, int] = {}
    read_sets: dict[str, int] = {}
    for status in statuses:
        if status in tracking.OBJECT_STATUSES:
            objects[status] = by_kind.get(tracking.KIND_OBJECT, {}).get(status, 0)
        if status in tracking.READSET_STATUSES:
            read_sets[status] = by_kind.get(tracking.KIND_READSET, {}).get(status, 0)
    failed_items = tracking.queue_items(
        table,
        tracking.DueQueue.FAILED,
        prefix=tracking.OBJECT_PREFIX,
        status=tracking.FAILED,
        newest_first=True,
        limit=limit,
    )
    failed = [_entry(item) for item in failed_items]
    stuck_items = list(status_counts.stuck_files(table, now=now, stuck_after_seconds=int(stuck_after_hours * 3600)))
    stuck = [_entry(item) for item in (stuck_items[:limit] if limit else stuck_items)]
    stuck_total = len(stuck_items)
    return {
        "table": table_name,
        "at": tracking.iso(now),
        "stuckAfterHours": stuck_after_hours,
        "counts": {
            "objects": objects,
            "readSets": read_sets,
            "totalObjects": sum(objects.values()),
            "totalReadSets": sum(read_sets.values()),
        },
        "failedTotal": objects.get(tracking.FAILED, 0),
        "failed": failed,
        "stuckTotal": stuck_total,
        "stuck": sorted(stuck, key=lambda e: str(e.get("updatedAt") or "")),
    }


def _hours(value: float) -> str:
    return f"{value:g} h"


def render_status(report: Mapping[str, Any]) -> list[str]:
    counts = report["counts"]
    objects, read_sets = counts["objects"], counts["readSets"]
    statuses = [s for s in STATUS_ORDER if s in objects or s in read_sets]
    statuses += [s for s in dict.fromkeys([*objects, *read_sets]) if s not in statuses]
    rows = [
        [status, str(objects.get(status, "-")), str(read_sets.get(status, "-"))] for status in statuses
    ]
    rows.append(["TOTAL", str(counts["totalObjects"]), str(counts["totalReadSets"])])
    lines = [f"Tracking table {report['table']} at {report['at']}", ""]
    lines += render_table(["STATUS", "FILES", "READ SETS"], rows, right=(1, 2))
    failed = report["failed"]
    shown = f", newest {len(failed)} shown" if len(failed) < report["failedTotal"] else ""
    lines += ["", f"FAILED FILES ({report['failedTotal']}{shown})"]
    lines += render_table(
        ["KEY", "UPDATED", "IMPORT JOB", "REASON"],
        [[e["key"], e["updatedAt"] or "", e["importJobId"] or "-", e["reason"] or ""] for e in failed],
    )
    stuck = report["stuck"]
    shown = f", oldest {len(stuck)} shown" if len(stuck) < report["stuckTotal"] else ""
    lines += ["", f"STUCK FILES (not final after {_hours(report['stuckAfterHours'])}: {report['stuckTotal']}{shown})"]
    lines += render_table(
        ["KEY", "STATUS", "UPDATED", "IMPORT JOB"],
        [[e["key"], e["status"], e["updatedAt"] or "", e["importJobId"] or "-"] for e in stuck],
    )
    if failed or stuck:
        lines += ["", f"Retry: {PROG} redrive --table {report['table']} [--key S3_URI] [--dry-run]"]
    return lines
