"""``omics-autoload status`` and ``omics-autoload redrive``: operate a deployed pipeline.

Both read the tracking table of a deployed stack, found by ``--stack NAME`` (CloudFormation
``ListStackResources``: the ``AWS::DynamoDB::Table`` whose logical id contains
``Tracking``; the dead-letter queues are the ``AWS::SQS::Queue`` resources whose logical
ids contain ``DeadLetterQueue``; the intake and completion functions by their logical
ids) or named with ``--table NAME``. They use your AWS credentials and region
(``AWS_PROFILE``, ``AWS_REGION``) and need boto3.

``status`` counts files and read sets by status, then lists FAILED files with their
reasons and stuck files (not final for longer than ``--stuck-after`` hours). Only
queries of the ``by-status`` index, never a scan; ``--format json`` for scripts.

``redrive`` puts items back into the pipeline, idempotently:

* read sets: FAILED ones by default (``--status ORPHANED`` for orphaned mates, or the
  read sets of ``--key s3://...`` objects) go back to QUEUED with ``attempt`` + 1, by the
  same conditional transition the pipeline uses (``Tracking.redrive``): a second run finds
  them QUEUED and does nothing;
* objects that failed at intake, before joining a read set: re-sent to the intake
  function (asynchronous ``lambda:Invoke``) with ``"redrive": true``, which lets intake
  replace its FAILED/SKIPPED record;
* ``--dlq`` drains the dead-letter queues: S3 events are re-sent to the intake function
  and HealthOmics/scheduled events to the completion function (asynchronous Invoke; SQS
  ``StartMessageMoveTask`` cannot help, because these queues are fed by Lambda and
  EventBridge, not by an SQS source queue); a failed stream batch of the starter names
  only a range of stream records, so the read sets in it are read back from the stream
  and the ones still QUEUED are touched to put them on the stream again. A message is
  deleted only after what it held was re-submitted. With ``--dlq`` only the queues are
  drained, unless ``--key`` or ``--status`` select items too.

``--dry-run`` prints what would be done and changes nothing (dead letters received for
the look are made visible again at the end). Progress goes to stderr every
``--progress-every`` items. Exit codes: 0 done, 1 an AWS call failed (or some items
could not be redriven), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import quote_plus, unquote_plus

from omics_autoload_runtime.adapters import clients, status_counts, tracking

PROG = "omics-autoload"
DEFAULT_PROGRESS_EVERY = 100
DEFAULT_LIMIT = 100
RECEIVE_VISIBILITY_SECONDS = 120
DRY_RUN_VISIBILITY_SECONDS = 60
MAX_STREAM_READS = 200
IMPORT_JOB_EVENT = "Read Set Import Job Status Change"
# The order a file goes through the pipeline, for the counts table.
STATUS_ORDER = (
    tracking.WAITING_FOR_MATE,
    tracking.QUEUED,
    tracking.STARTING,
    tracking.IMPORTING,
    tracking.IMPORTED,
    tracking.FAILED,
    tracking.SKIPPED,
    tracking.ORPHANED,
)


class OperationsError(Exception):
    """An AWS call failed or the work was incomplete: exit code 1."""

    exit_code = 1


class Usage(OperationsError):
    """Bad arguments, or a stack that does not hold what is needed: exit code 2."""

    exit_code = 2


# ---------------------------------------------------------------- registration


def _add_target(command: argparse.ArgumentParser) -> None:
    target = command.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", metavar="NAME", help="CloudFormation stack that holds the OmicsAutoLoad construct")
    target.add_argument("--table", metavar="NAME", help="tracking table name (instead of --stack)")


def add_status(subparsers: Any) -> None:
    command = subparsers.add_parser(
        "status",
        help="counts by status, failed files with their reasons, stuck files",
        description="What the pipeline did: files and read sets by status, every FAILED file with "
        "its reason, and files not final for longer than --stuck-after hours.",
    )
    _add_target(command)
    command.add_argument("--stuck-after", type=float, default=24.0, metavar="HOURS", help="default: 24")
    command.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
        help=f"failed and stuck files listed at most (newest failures first); 0 = all. Default: {DEFAULT_LIMIT}",
    )
    command.add_argument("--format", choices=("table", "json"), default="table")
    command.set_defaults(run=_guarded(run_status))


def add_redrive(subparsers: Any) -> None:
    command = subparsers.add_parser(
        "redrive",
        help="re-queue FAILED (or selected) items and drain the dead-letter queues",
        description="Put items back into the pipeline, idempotently. Default: every FAILED read set "
        "and every file that failed at intake. With --dlq (or --queue-url), only the dead-letter "
        "queues are drained unless --key or --status select items too.",
    )
    _add_target(command)
    command.add_argument(
        "--key", action="append", default=[], metavar="S3_URI",
        help="redrive the read set of this object (or re-run its intake); repeatable",
    )
    command.add_argument(
        "--status", choices=(tracking.FAILED, tracking.ORPHANED), help="redrive the read sets of this status"
    )
    command.add_argument("--dlq", action="store_true", help="drain the stack's dead-letter queues")
    command.add_argument("--queue-url", action="append", default=[], metavar="URL", help="drain this queue; repeatable")
    command.add_argument("--intake-function", metavar="NAME", help="intake function (default: from --stack)")
    command.add_argument("--completion-function", metavar="NAME", help="completion function (default: from --stack)")
    command.add_argument("--dry-run", action="store_true", help="show what would be done; change nothing")
    command.add_argument(
        "--progress-every", type=int, default=DEFAULT_PROGRESS_EVERY, metavar="N",
        help=f"a progress line on stderr every N items (default {DEFAULT_PROGRESS_EVERY}; 0 = none)",
    )
    command.set_defaults(run=_guarded(run_redrive))


def _guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Errors become one readable line on stderr and an exit code, never a traceback."""

    def guarded(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except Usage as error:
            print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
            return error.exit_code
        except OperationsError as error:
            print(f"{PROG} {args.command}: {error}", file=sys.stderr)
            return error.exit_code
        except Exception as error:
            if not _is_aws_error(error):
                raise
            print(f"{PROG} {args.command}: AWS error: {_aws_message(error)}", file=sys.stderr)
            return 1

    guarded.__name__ = run.__name__
    return guarded


def _is_aws_error(error: Exception) -> bool:
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        return False
    return isinstance(error, BotoCoreError | ClientError)


def _aws_message(error: Exception) -> str:
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE, or run `aws configure`)"
    if isinstance(error, NoRegionError):
        return "no AWS region set (set AWS_REGION)"
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        operation = getattr(error, "operation_name", "")
        return f"{operation}: {info.get('Code', '')}: {info.get('Message', '')}".strip(": ")
    return str(error)


def _require_boto3() -> None:
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise Usage("this command calls AWS and needs boto3: pip install boto3") from None


# ---------------------------------------------------------------- the deployed pipeline


@dataclass
class DeadLetterQueue:
    url: str
    logical_id: str = ""
    role: str = "unknown"  # intake | starter | workflow | unknown
    function: str | None = None  # where its raw events go back to

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Deployment:
    table: str
    queues: list[DeadLetterQueue] = field(default_factory=list)
    intake_function: str | None = None
    completion_function: str | None = None


_QUEUE_MARKERS = (
    ("intake", "IntakeDeadLetterQueue", "IntakeFunction"),
    ("starter", "StarterDeadLetterQueue", ""),
    ("workflow", "ImportWorkflowDeadLetterQueue", "ImportWorkflowCompletionFunction"),
)


def queue_role(name: str) -> str:
    """intake | starter | workflow | unknown, from a queue's logical id or name."""
    for role, marker, _ in _QUEUE_MARKERS:
        if marker in name:
            return role
    return "unknown"


def _prefix(logical_id: str, marker: str) -> str | None:
    index = logical_id.find(marker)
    return logical_id[:index] if index >= 0 else None


def deployment_from_resources(resources: Iterable[Mapping[str, Any]], stack: str = "") -> Deployment:
    """The table, dead-letter queues and functions among a stack's resources."""
    resources = list(resources)

    def of_type(kind: str) -> list[Mapping[str, Any]]:
        return [r for r in resources if r.get("ResourceType") == kind and r.get("PhysicalResourceId")]

    tables = [r for r in of_type("AWS::DynamoDB::Table") if "Tracking" in r["LogicalResourceId"]]
    if not tables:
        raise Usage(f"stack {stack} has no tracking table (an AWS::DynamoDB::Table whose logical id contains Tracking)")
    if len(tables) > 1:
        names = ", ".join(sorted(r["PhysicalResourceId"] for r in tables))
        raise Usage(f"stack {stack} has {len(tables)} tracking tables ({names}): name one with --table")
    functions = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in of_type("AWS::Lambda::Function")}

    def function(prefix: str, suffix: str) -> str | None:
        found = [name for logical, name in functions.items() if logical.startswith(prefix + suffix)]
        return found[0] if len(found) == 1 else None

    prefix = _prefix(tables[0]["LogicalResourceId"], "Tracking") or ""
    queues = []
    for resource in of_type("AWS::SQS::Queue"):
        logical = resource["LogicalResourceId"]
        if "DeadLetterQueue" not in logical:
            continue
        queue = DeadLetterQueue(url=resource["PhysicalResourceId"], logical_id=logical)
        for role, marker, target in _QUEUE_MARKERS:
            head = _prefix(logical, marker)
            if head is not None:
                queue.role = role
                queue.function = function(head, target) if target else None
        queues.append(queue)
    return Deployment(
        table=tables[0]["PhysicalResourceId"],
        queues=sorted(queues, key=lambda q: q.logical_id),
        intake_function=function(prefix, "IntakeFunction"),
        completion_function=function(prefix, "ImportWorkflowCompletionFunction"),
    )


def resolve(args: argparse.Namespace) -> Deployment:
    _require_boto3()
    if args.table:
        return Deployment(table=args.table)
    resources: list[Mapping[str, Any]] = []
    paginator = clients.client("cloudformation").get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=args.stack):
        resources.extend(page.get("StackResourceSummaries", []))
    return deployment_from_resources(resources, args.stack)


# ---------------------------------------------------------------- output helpers


def _printable(text: Any) -> str:
    """S3 keys and reasons may hold control characters: never let one drive the terminal."""
    text = "" if text is None else str(text)
    if text.isprintable():
        return text
    return "".join(
        char if char == " " or unicodedata.category(char)[0] != "C" else char.encode("unicode_escape").decode()
        for char in text
    )


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()) -> list[str]:
    if not rows:
        return ["(none)"]
    cells = [list(headers)] + [[_printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return lines


class Progress:
    """``redriven 250/1,000`` on stderr every ``every`` items (and at the end of long runs)."""

    def __init__(self, verb: str, total: int | None, every: int, stream: TextIO | None = None):
        self.verb, self.total, self.every = verb, total, every
        self.stream = stream or sys.stderr
        self.done = 0
        self.printed = False

    def step(self, amount: int = 1) -> None:
        before = self.done
        self.done += amount
        if self.every > 0 and self.done // self.every > before // self.every:
            self._print()

    def finish(self) -> None:
        if self.printed and self.done % max(self.every, 1):
            self._print()

    def _print(self) -> None:
        total = f"/{self.total:,}" if self.total is not None else ""
        print(f"{self.verb} {self.done:,}{total}", file=self.stream, flush=True)
        self.printed = True


# ---------------------------------------------------------------- status


def _count_by_kind(table: tracking.Table, status: str) -> dict[str, int]:
    """Items of one status by kind: one paginated index query, only ``kind`` projected."""
    counts: dict[str, int] = {}
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "IndexName": tracking.STATUS_INDEX,
        "KeyConditionExpression": "#status = :status",
        "ProjectionExpression": "#kind",
        "ExpressionAttributeNames": {"#status": "status", "#kind": "kind"},
        "ExpressionAttributeValues": tracking.serialize({":status": status}),
    }
    while True:
        response = table.client.query(**kwargs)
        for raw in response.get("Items", []):
            kind = (tracking.deserialize(raw) or {}).get("kind", "?")
            counts[kind] = counts.get(kind, 0) + 1
        last = response.get("LastEvaluatedKey")
        if not last:
            return counts
        kwargs["ExclusiveStartKey"] = last


def _objects(
    table: tracking.Table,
    status: str,
    *,
    updated_before: str | None = None,
    newest_first: bool = False,
    limit: int = 0,
) -> list[dict[str, Any]]:
    kwargs = status_counts.status_query(table, status, kind=tracking.KIND_OBJECT, updated_before=updated_before)
    kwargs["ScanIndexForward"] = not newest_first
    found: list[dict[str, Any]] = []
    while True:
        response = table.client.query(**kwargs)
        found.extend(tracking.deserialize(raw) or {} for raw in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if not last or (limit and len(found) >= limit):
            return found[:limit] if limit else found
        kwargs["ExclusiveStartKey"] = last


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
    objects: dict[str, int] = {}
    read_sets: dict[str, int] = {}
    for status in statuses:
        by_kind = _count_by_kind(table, status)
        if status in tracking.OBJECT_STATUSES:
            objects[status] = by_kind.get(tracking.KIND_OBJECT, 0)
        if status in tracking.READSET_STATUSES:
            read_sets[status] = by_kind.get(tracking.KIND_READSET, 0)
    failed = [_entry(item) for item in _objects(table, tracking.FAILED, newest_first=True, limit=limit)]
    stuck_seconds = int(stuck_after_hours * 3600)
    cutoff = tracking.iso(now - stuck_seconds)
    stuck: list[dict[str, Any]] = []
    for status in status_counts.NON_TERMINAL_OBJECT_STATUSES:
        remaining = limit - len(stuck) if limit else 0
        if limit and remaining <= 0:
            break
        stuck.extend(_entry(item) for item in _objects(table, status, updated_before=cutoff, limit=remaining))
    stuck_total = sum(
        status_counts.count(table, status, kind=tracking.KIND_OBJECT, updated_before=cutoff, max_pages=None).count
        for status in status_counts.NON_TERMINAL_OBJECT_STATUSES
    )
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


def run_status(args: argparse.Namespace) -> int:
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


# ---------------------------------------------------------------- redrive: items


@dataclass
class Target:
    """One thing to redrive: a read set, or an object that never joined one."""

    kind: str  # "readset" | "intake"
    label: str  # what a person recognises: the object key(s)
    read_set_pk: str | None = None
    item: Mapping[str, Any] | None = None
    problem: str | None = None  # why it cannot be redriven


@dataclass
class Tally:
    redriven: int = 0
    unchanged: int = 0
    problems: int = 0
    not_found: int = 0
    lines: list[str] = field(default_factory=list)


def _read_set_label(item: Mapping[str, Any]) -> str:
    sources = [item.get("source1"), item.get("source2")]
    return " + ".join(str(s) for s in sources if s) or str(item.get("pk"))


def _object_versions(table: tracking.Table, uri: str) -> list[dict[str, Any]]:
    response = table.client.query(
        TableName=table.name,
        KeyConditionExpression="#pk = :pk",
        ExpressionAttributeNames={"#pk": "pk"},
        ExpressionAttributeValues=tracking.serialize({":pk": f"{tracking.OBJECT_PREFIX}{uri}"}),
        ConsistentRead=True,
    )
    items = [tracking.deserialize(raw) or {} for raw in response.get("Items", [])]
    return sorted(items, key=lambda i: str(i.get("receivedAt") or ""))


def _targets_for_keys(table: tracking.Table, keys: Sequence[str], tally: Tally) -> list[Target]:
    targets: dict[str, Target] = {}
    for uri in keys:
        if not uri.startswith("s3://") or "/" not in uri[5:]:
            raise Usage(f"--key {uri!r} is not an s3://bucket/key URI")
        versions = _object_versions(table, uri)
        if not versions:
            tally.not_found += 1
            tally.lines.append(f"not found     {uri} (no such object in the tracking table)")
            continue
        newest = versions[-1]
        if newest.get("readSetKey"):
            pk = str(newest["readSetKey"])
            targets.setdefault(pk, Target("readset", uri, read_set_pk=pk))
        else:
            targets.setdefault(newest["pk"] + newest["sk"], Target("intake", uri, item=newest))
    return list(targets.values())


def _targets_by_status(table: tracking.Table, status: str) -> Iterator[Target]:
    for item in table.query_status(status, kind=tracking.KIND_READSET):
        yield Target("readset", _read_set_label(item), read_set_pk=item["pk"])
    if status == tracking.FAILED:  # files that failed at intake, before any read set
        for item in table.query_status(tracking.FAILED, kind=tracking.KIND_OBJECT):
            if not item.get("readSetKey"):
                yield Target("intake", str(item.get("uri")), item=item)


def _s3_record(item: Mapping[str, Any]) -> dict[str, Any]:
    """An S3 ObjectCreated record for an object item (key URL-encoded as S3 sends it)."""
    obj: dict[str, Any] = {"key": quote_plus(str(item["key"]), safe="/")}
    if item.get("size") is not None:
        obj["size"] = item["size"]
    if item.get("eTag"):
        obj["eTag"] = item["eTag"]
    if item.get("versionId") and item["versionId"] != "null":
        obj["versionId"] = item["versionId"]
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventTime": item.get("createdAt") or tracking.iso(),
        "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": item["bucket"]}, "object": obj},
    }


def _invoke_async(function: str, payload: Mapping[str, Any]) -> None:
    response = clients.client("lambda").invoke(
        FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode("utf-8")
    )
    status = int(response.get("StatusCode") or 0)
    if status != 202:
        raise OperationsError(f"lambda:Invoke {function} answered {status}, not 202")


def _redrive_target(tr: tracking.Tracking, target: Target, deployment: Deployment, dry_run: bool) -> str:
    """Redrive one target: returns "redriven", "unchanged" or "problem" (the caller prints)."""
    if target.kind == "readset":
        read_set = tr.get_read_set(str(target.read_set_pk))
        if read_set is None:
            target.problem = "its read set is not in the table"
            return "problem"
        status = read_set.get("status")
        if status not in (tracking.FAILED, tracking.ORPHANED):
            target.problem = f"read set is {status}: nothing to redrive"
            return "unchanged"
        if dry_run:
            return "redriven"
        return "redriven" if tr.redrive(read_set["pk"]) else "unchanged"
    item = target.item or {}
    if item.get("status") not in (tracking.FAILED, tracking.SKIPPED):
        target.problem = f"object is {item.get('status')}: nothing to redrive"
        return "unchanged"
    if not deployment.intake_function:
        target.problem = "it failed at intake: give --intake-function (or --stack) to re-run its intake"
        return "problem"
    if not dry_run:
        _invoke_async(deployment.intake_function, {"redrive": True, "Records": [_s3_record(item)]})
    return "redriven"


def redrive_items(
    deployment: Deployment, targets: Sequence[Target], *, dry_run: bool, every: int, out: TextIO, tally: Tally
) -> None:
    tr = tracking.Tracking(deployment.table)
    progress = Progress("would redrive" if dry_run else "redriven", len(targets), every)
    for target in targets:
        outcome = _redrive_target(tr, target, deployment, dry_run)
        how = "re-run intake" if target.kind == "intake" else "read set -> QUEUED"
        if outcome == "redriven":
            tally.redriven += 1
            verb = "would redrive" if dry_run else "redriven     "
            print(f"{verb} {_printable(target.label)} ({how})", file=out)
        elif outcome == "unchanged":
            tally.unchanged += 1
            print(f"unchanged     {_printable(target.label)} ({target.problem or 'already re-queued'})", file=out)
        else:
            tally.problems += 1
            print(f"not redriven  {_printable(target.label)} ({target.problem})", file=out)
        progress.step()
    progress.finish()


# ---------------------------------------------------------------- redrive: dead-letter queues


@dataclass
class Plan:
    action: str  # "invoke" | "requeue" | "unknown"
    description: str
    function: str | None = None
    payload: Any = None
    stream: Mapping[str, Any] | None = None


_QUEUE_FUNCTION_ROLE = {"intake": "intake", "workflow": "completion"}


def _unqualified(function_arn: str) -> str:
    parts = function_arn.split(":")
    return ":".join(parts[:7]) if function_arn.startswith("arn:") and len(parts) > 7 else function_arn


def _event_role(payload: Any) -> str | None:
    if not isinstance(payload, Mapping):
        return None
    if payload.get("detail-type") in (IMPORT_JOB_EVENT, "Scheduled Event"):
        return "completion"
    if payload.get("detail-type") == "Object Created" or payload.get("Event") == "s3:TestEvent":
        return "intake"
    records = payload.get("Records")
    if isinstance(records, list) and records and all(
        isinstance(r, Mapping) and (r.get("eventSource") in ("aws:s3", "aws:sqs") or "Sns" in r) for r in records
    ):
        return "intake"
    return None


def _describe(payload: Any) -> str:
    if isinstance(payload, Mapping):
        if payload.get("detail-type"):
            detail = payload.get("detail") or {}
            ident = detail.get("id") or (detail.get("object") or {}).get("key") or ""
            return f"{payload['detail-type']} {ident}".strip()
        records = payload.get("Records")
        if isinstance(records, list):
            keys = [
                f"s3://{r['s3']['bucket']['name']}/{unquote_plus(str(r['s3']['object']['key']))}"
                for r in records
                if isinstance(r, Mapping) and isinstance(r.get("s3"), Mapping)
            ]
            if keys:
                return f"S3 event {', '.join(keys[:3])}" + (f" (+{len(keys) - 3})" if len(keys) > 3 else "")
    return "event"


def plan_message(message: Mapping[str, Any], queue: DeadLetterQueue, deployment: Deployment) -> Plan:
    """What re-submitting one dead letter means."""
    try:
        body = json.loads(message.get("Body") or "")
    except ValueError:
        return Plan("unknown", "not JSON: left in the queue")
    attributes = {k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()}
    if isinstance(body, Mapping) and isinstance(body.get("DDBStreamBatchInfo"), Mapping):
        info = body["DDBStreamBatchInfo"]
        return Plan(
            "requeue",
            f"stream batch {info.get('startSequenceNumber')}..{info.get('endSequenceNumber')}"
            f" ({info.get('batchSize', '?')} records)",
            stream=info,
        )
    function: str | None = None
    payload: Any = body
    if isinstance(body, Mapping) and isinstance(body.get("requestContext"), Mapping) and "requestPayload" in body:
        payload = body["requestPayload"]  # a Lambda on-failure destination record
        function = body["requestContext"].get("functionArn")
    function = function or attributes.get("TARGET_ARN")  # an EventBridge target's dead letter
    if function:
        function = _unqualified(function)
    else:  # a function's own dead letter: the raw event; its shape says where it goes back
        role = _event_role(payload)
        if role is None:
            return Plan("unknown", "not an event of this pipeline: left in the queue")
        if queue.function and role == _QUEUE_FUNCTION_ROLE.get(queue.role):
            function = queue.function
        else:
            function = {"intake": deployment.intake_function, "completion": deployment.completion_function}.get(
                role or ""
            )
        if not function:
            needed = f"--{role}-function"
            why = f"no function to re-send it to (give {needed}); left in the queue"
            return Plan("unknown", f"{_describe(payload)}: {why}")
    return Plan("invoke", f"{_describe(payload)} -> {function.rsplit(':', 1)[-1]}", function=function, payload=payload)


def _stream_read_sets(info: Mapping[str, Any]) -> list[tuple[str, int]] | None:
    """(pk, attempt) of the QUEUED read sets in a failed stream batch; None when the
    records can no longer be read (streams keep them 24 hours)."""
    from botocore.exceptions import ClientError

    streams = clients.client("dynamodbstreams")
    end = int(str(info.get("endSequenceNumber") or "0"))
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=str(info["startSequenceNumber"]),
        ).get("ShardIterator")
        found: dict[str, int] = {}
        for _ in range(MAX_STREAM_READS):
            if not iterator:
                break
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            records = response.get("Records", [])
            done = False
            for record in records:
                data = record.get("dynamodb") or {}
                if int(str(data.get("SequenceNumber") or "0")) > end:
                    done = True
                    break
                image = tracking.deserialize(data.get("NewImage")) or {}
                if (
                    record.get("eventName") in ("INSERT", "MODIFY")
                    and image.get("kind") == tracking.KIND_READSET
                    and image.get("status") == tracking.QUEUED
                ):
                    found[image["pk"]] = int(image.get("attempt") or 0)
            if done or not records:
                break
            iterator = response.get("NextShardIterator")
        return sorted(found.items())
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("TrimmedDataAccessException", "ExpiredIteratorException", "ResourceNotFoundException"):
            return None
        raise


def _touch_queued(table: tracking.Table, pk: str, attempt: int | None) -> bool:
    """A QUEUED read set is written again, so the stream carries it to the starter."""
    item = table.get(pk, tracking.READSET_SK)
    if item is None or item.get("status") != tracking.QUEUED:
        return False
    if attempt is not None and int(item.get("attempt") or 0) != attempt:
        return False
    try:
        table.update(
            pk,
            tracking.READSET_SK,
            set={"updatedAt": tracking.iso(), "requeuedAt": tracking.iso()},
            condition="#status = :queued AND #updatedAt = :was",
            values={":queued": tracking.QUEUED, ":was": item["updatedAt"]},
        )
    except tracking.ConditionFailed:
        return False
    return True


def _requeue_batch(deployment: Deployment, info: Mapping[str, Any], dry_run: bool) -> str:
    table = tracking.Table(deployment.table)
    pairs = _stream_read_sets(info)
    if pairs is None:  # the records expired: every QUEUED read set not moving is touched
        cutoff = tracking.iso(tracking.now() - tracking.STALE_CLAIM_SECONDS)
        queued = table.query_status(tracking.QUEUED, updated_before=cutoff, kind=tracking.KIND_READSET)
        stale = [(item["pk"], None) for item in queued]
        if dry_run:
            return f"stream records expired: would re-queue {len(stale)} QUEUED read set(s) older than 15 min"
        touched = sum(_touch_queued(table, pk, None) for pk, _ in stale)
        return f"stream records expired: re-queued {touched} QUEUED read set(s) older than 15 min"
    if dry_run:
        return f"would re-queue {len(pairs)} read set(s) if still QUEUED"
    touched = sum(_touch_queued(table, pk, attempt) for pk, attempt in pairs)
    return f"re-queued {touched} of {len(pairs)} read set(s) (the others moved on)"


def _receive(sqs: Any, url: str, visibility: int) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=0,
        VisibilityTimeout=visibility,
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
    )
    return list(response.get("Messages", []))


def drain_queue(
    queue: DeadLetterQueue, deployment: Deployment, *, dry_run: bool, every: int, out: TextIO, tally: Tally
) -> None:
    sqs = clients.client("sqs")
    depth = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages"])
    total = int(depth.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))
    print(f"dead-letter queue {queue.name} ({queue.role}): about {total} message(s)", file=out)
    progress = Progress("dead letters looked at" if dry_run else "dead letters re-sent", total, every)
    seen: set[str] = set()
    held: list[str] = []  # receipt handles to make visible again (dry run, or left in the queue)
    try:
        while True:
            visibility = DRY_RUN_VISIBILITY_SECONDS if dry_run else RECEIVE_VISIBILITY_SECONDS
            messages = [m for m in _receive(sqs, queue.url, visibility) if m["MessageId"] not in seen]
            if not messages:
                break
            for message in messages:
                seen.add(message["MessageId"])
                plan = plan_message(message, queue, deployment)
                progress.step()
                if plan.action == "unknown":
                    tally.problems += 1
                    held.append(message["ReceiptHandle"])
                    print(f"  left          {message['MessageId']}: {plan.description}", file=out)
                    continue
                if dry_run:
                    held.append(message["ReceiptHandle"])
                    detail = plan.description
                    if plan.action == "requeue" and plan.stream is not None:
                        detail += ": " + _requeue_batch(deployment, plan.stream, True)
                    print(f"  would re-send {message['MessageId']}: {detail}", file=out)
                    tally.redriven += 1
                    continue
                if plan.action == "invoke":
                    _invoke_async(str(plan.function), plan.payload)
                    detail = plan.description
                else:
                    detail = plan.description + ": " + _requeue_batch(deployment, plan.stream or {}, False)
                sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
                tally.redriven += 1
                print(f"  re-sent       {message['MessageId']}: {detail}", file=out)
    finally:
        for start in range(0, len(held), 10):  # visible again now, not after the timeout
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(held[start : start + 10])
            ]
            sqs.change_message_visibility_batch(QueueUrl=queue.url, Entries=entries)
        progress.finish()


# ---------------------------------------------------------------- redrive: entry


def run_redrive(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.progress_every < 0:
        raise Usage("--progress-every must be 0 (none) or more")
    if args.key and args.status:
        raise Usage("give either --key or --status, not both")
    if args.dlq and args.table and not args.queue_url:
        raise Usage("--dlq finds the queues of --stack; with --table give each queue with --queue-url")
    deployment = resolve(args)
    deployment.intake_function = args.intake_function or deployment.intake_function
    deployment.completion_function = args.completion_function or deployment.completion_function
    drain = bool(args.dlq or args.queue_url)
    select_items = bool(args.key or args.status or not drain)
    tally = Tally()
    mode = " (dry run: nothing is changed)" if args.dry_run else ""
    print(f"Tracking table {deployment.table}{mode}", file=out)
    if select_items:
        table = tracking.Table(deployment.table)
        if args.key:
            targets = _targets_for_keys(table, args.key, tally)
        else:
            targets = list(_targets_by_status(table, args.status or tracking.FAILED))
        for line in tally.lines:
            print(line, file=out)
        redrive_items(deployment, targets, dry_run=args.dry_run, every=args.progress_every, out=out, tally=tally)
    if drain:
        queues = deployment.queues
        if args.queue_url:
            queues = [DeadLetterQueue(url=url, role=queue_role(url.rsplit("/", 1)[-1])) for url in args.queue_url]
        if not queues:
            raise Usage(f"no dead-letter queues found in stack {args.stack}")
        known = {q.url: q for q in deployment.queues}
        for given in queues:
            queue = known.get(given.url, given)
            drain_queue(queue, deployment, dry_run=args.dry_run, every=args.progress_every, out=out, tally=tally)
    verb = "would be redriven" if args.dry_run else "redriven"
    print(
        f"{tally.redriven} {verb}, {tally.unchanged} unchanged, {tally.problems} not redriven"
        + (f", {tally.not_found} not found" if tally.not_found else ""),
        file=out,
    )
    if tally.not_found:
        return 2
    return 1 if tally.problems else 0
