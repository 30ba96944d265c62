"""``omics-autoload redrive``: put items back into the pipeline, idempotently.

* read sets: FAILED ones by default (``--status ORPHANED`` for orphaned mates, or the
  read sets of ``--key s3://...`` objects) go back to QUEUED with ``attempt`` + 1, by the
  same conditional transition the pipeline uses (``Tracking.redrive``): a second run finds
  them QUEUED and does nothing. A read set whose earlier import job is not known to have
  ended is not redriven (a new import could import its files twice): the reason says why;
* objects that failed at intake, before joining a read set: re-sent to the intake
  function (asynchronous ``lambda:Invoke``) with ``"redrive": true``, which lets intake
  replace its FAILED/SKIPPED record;
* ``--key KEY --new-version``: the newest version of KEY, HELD by ``reupload_policy``
  HOLD, is imported as a new read set (intake again, with ``"newVersion": true``);
* ``--dlq`` (or ``--queue-url``) drains the dead-letter queues (``redrive_queues``). With
  ``--dlq`` only the queues are drained, unless ``--key`` or ``--status`` select items too.

``--dry-run`` prints what would be done and changes nothing. Progress goes to stderr
every ``--progress-every`` items. Exit codes: 0 done, 1 an AWS call failed (or some
items could not be redriven), 2 usage error (or a ``--key`` not in the table).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import quote_plus

from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.cli.deployment import (
    DeadLetterQueue,
    Deployment,
    add_target_arguments,
    invoke_async,
    queue_role,
    resolve,
)
from omics_autoload_runtime.cli.errors import Usage
from omics_autoload_runtime.cli.output import Progress, printable
from omics_autoload_runtime.cli.redrive_queues import drain_queue
from omics_autoload_runtime.cli.tally import Tally
from omics_autoload_runtime.domain import limits

DEFAULT_PROGRESS_EVERY = 100
HOW = {"intake": "re-run intake", "new-version": "import as a new read set"}  # what redriving a Target does


def add_redrive(subparsers: Any) -> None:
    command = subparsers.add_parser(
        "redrive",
        help="re-queue FAILED (or selected) items and drain the dead-letter queues",
        description="Put items back into the pipeline, idempotently. Default: every FAILED read set "
        "and every file that failed at intake. With --dlq (or --queue-url), only the dead-letter "
        "queues are drained unless --key or --status select items too.",
    )
    add_target_arguments(command)
    command.add_argument(
        "--key", action="append", default=[], metavar="S3_URI",
        help="redrive the read set of this object (or re-run its intake); repeatable",
    )
    command.add_argument(
        "--status", choices=(tracking.FAILED, tracking.ORPHANED), help="redrive the read sets of this status"
    )
    command.add_argument(
        "--new-version", action="store_true",
        help="with --key: import the HELD new version of an imported object as a new read set",
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
    command.set_defaults(run=run_redrive)


def run_redrive(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.progress_every < 0:
        raise Usage("--progress-every must be 0 (none) or more")
    if args.key and args.status:
        raise Usage("give either --key or --status, not both")
    if args.new_version and not args.key:
        raise Usage("--new-version imports the HELD new version of each --key: give --key s3://bucket/key")
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
        if args.new_version:
            targets = _held_targets(table, args.key, tally)
        elif args.key:
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


# ---------------------------------------------------------------- items


@dataclass
class Target:
    """One thing to redrive: a read set, or an object that never joined one."""

    kind: str  # "readset" | "intake" | "new-version"
    label: str  # what a person recognises: the object key(s)
    read_set_pk: str | None = None
    item: Mapping[str, Any] | None = None
    problem: str | None = None  # why it cannot be redriven


def _read_set_label(item: Mapping[str, Any]) -> str:
    return " + ".join(tracking.readset_sources(item)) or str(item.get("pk"))


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


def _newest_versions(table: tracking.Table, keys: Sequence[str], tally: Tally) -> list[tuple[str, dict[str, Any]]]:
    """(uri, its newest tracked version) of each ``--key``; keys never tracked are tallied."""
    out = []
    for uri in keys:
        if not uri.startswith("s3://") or "/" not in uri[5:]:
            raise Usage(f"--key {uri!r} is not an s3://bucket/key URI")
        versions = _object_versions(table, uri)
        if not versions:
            tally.not_found += 1
            tally.lines.append(f"not found     {uri} (no such object in the tracking table)")
            continue
        out.append((uri, versions[-1]))
    return out


def _targets_for_keys(table: tracking.Table, keys: Sequence[str], tally: Tally) -> list[Target]:
    targets: dict[str, Target] = {}
    for uri, newest in _newest_versions(table, keys, tally):
        if newest.get("readSetKey"):
            pk = str(newest["readSetKey"])
            targets.setdefault(pk, Target("readset", uri, read_set_pk=pk))
        else:
            targets.setdefault(newest["pk"] + newest["sk"], Target("intake", uri, item=newest))
    return list(targets.values())


def _held_targets(table: tracking.Table, keys: Sequence[str], tally: Tally) -> list[Target]:
    """The newest version of each key, to be imported as a new read set if it is HELD."""
    return [Target("new-version", uri, item=newest) for uri, newest in _newest_versions(table, keys, tally)]


def _redrive_new_version(target: Target, deployment: Deployment, dry_run: bool) -> str:
    item = target.item or {}
    if item.get("status") != tracking.HELD:
        target.problem = f"its newest version is {item.get('status')}, not {tracking.HELD}: nothing to import"
        return "unchanged"
    if not deployment.intake_function:
        target.problem = "give --intake-function (or --stack): intake imports the new version"
        return "problem"
    if not dry_run:
        invoke_async(deployment.intake_function, {"redrive": True, "newVersion": True, "Records": [_s3_record(item)]})
    return "redriven"


def _targets_by_status(table: tracking.Table, status: str) -> Iterator[Target]:
    queue = tracking.DueQueue.ORPHANED if status == tracking.ORPHANED else tracking.DueQueue.FAILED
    for item in tracking.queue_items(table, queue, prefix=tracking.READSET_PREFIX, status=status):
        yield Target("readset", _read_set_label(item), read_set_pk=item["pk"])
    if status == tracking.FAILED:  # files that failed at intake, before any read set
        for item in tracking.queue_items(table, queue, prefix=tracking.OBJECT_PREFIX, status=tracking.FAILED):
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


def _earlier_job_doubt(tr: tracking.Tracking, read_set: Mapping[str, Any]) -> str | None:
    """Why a new import could import the read set's files twice, or None: its earlier import
    job must be known to have ended (Finalize records the job's status on its job item)."""
    job_id = read_set.get("importJobId")
    if not job_id:
        return None  # never submitted: no job can hold its files
    job = tr.get_job(str(job_id))
    if job is None:
        return None  # the job item expired (30 days after the job ended)
    if job.get("status") != tracking.DONE:
        return f"its import job {job_id} may still be running; the pipeline records its outcome, then redrive"
    # NOT_FOUND: HealthOmics knew no such job when the sweep asked.
    if job.get("jobStatus") not in (*limits.IMPORT_JOB_TERMINAL_STATUSES, "NOT_FOUND"):
        return (
            f"the outcome of its import job {job_id} was never checked ({job.get('jobStatus')}), so HealthOmics"
            f" may have imported it: check `aws omics get-read-set-import-job --id {job_id}` first"
        )
    return None


def _redrive_target(tr: tracking.Tracking, target: Target, deployment: Deployment, dry_run: bool) -> str:
    """Redrive one target: returns "redriven", "unchanged" or "problem" (the caller prints)."""
    if target.kind == "new-version":
        return _redrive_new_version(target, deployment, dry_run)
    if target.kind == "readset":
        read_set = tr.get_read_set(str(target.read_set_pk))
        if read_set is None:
            target.problem = "its read set is not in the table"
            return "problem"
        status = read_set.get("status")
        if status not in (tracking.FAILED, tracking.ORPHANED):
            target.problem = f"read set is {status}: nothing to redrive"
            return "unchanged"
        doubt = _earlier_job_doubt(tr, read_set)
        if doubt:
            target.problem = doubt
            return "problem"
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
        invoke_async(deployment.intake_function, {"redrive": True, "Records": [_s3_record(item)]})
    return "redriven"


def redrive_items(
    deployment: Deployment, targets: Sequence[Target], *, dry_run: bool, every: int, out: TextIO, tally: Tally
) -> None:
    tr = tracking.Tracking(deployment.table)
    progress = Progress("would redrive" if dry_run else "redriven", len(targets), every)
    for target in targets:
        outcome = _redrive_target(tr, target, deployment, dry_run)
        how = HOW.get(target.kind, "read set -> QUEUED")
        if outcome == "redriven":
            tally.redriven += 1
            verb = "would redrive" if dry_run else "redriven     "
            print(f"{verb} {printable(target.label)} ({how})", file=out)
        elif outcome == "unchanged":
            tally.unchanged += 1
            print(f"unchanged     {printable(target.label)} ({target.problem or 'already re-queued'})", file=out)
        else:
            tally.problems += 1
            print(f"not redriven  {printable(target.label)} ({target.problem})", file=out)
        progress.step()
    progress.finish()
