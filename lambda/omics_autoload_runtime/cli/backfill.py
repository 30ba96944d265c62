"""``omics-autoload backfill``: send objects already in the bucket through intake.

    omics-autoload backfill s3://bucket/runs/ --stack NAME            # small: sent directly
    omics-autoload backfill s3://bucket/runs/ --stack NAME --batch-operations --wait
    omics-autoload backfill --job JOB_ID --stack NAME                  # a job's summary

Both ways send the same S3 Batch Operations invocation (``object_events.backfill_invocation``)
to the intake function, which answers per object. Idempotent: an object version already
tracked answers DUPLICATE and nothing changes (intake's duplicate handling), so a backfill
can be run again, or interrupted and restarted, at no risk.

* Current versions only: HealthOmics reads ``s3://bucket/key`` as it is now, so a
  noncurrent version could never be imported as itself; they are counted and left alone
  (as are delete markers).
* Directly (default up to ``--direct-limit`` objects): synchronous ``lambda:Invoke`` of
  ``--batch-size`` objects at a time, one at a time, at most ``--rate`` objects per second,
  so intake takes one concurrent execution away from live uploads. Tasks answered
  TemporaryFailure are sent again with backoff, as Batch Operations would.
* S3 Batch Operations (``--batch-operations``, or more than ``--direct-limit`` objects): the
  CLI writes the listing as a CSV manifest (or takes an S3 Inventory report's
  ``manifest.json`` with ``--inventory``) to the construct's batch operations bucket and
  creates a ``LambdaInvoke`` job run by the construct's batch operations role
  (``OmicsAutoLoad(batch_operations=True)``). Its completion report becomes the summary
  (``--job ID``, or ``--wait``). The job's rate is the intake function's concurrency:
  ``reserved_concurrent_executions`` caps it.

``--dry-run`` lists, counts what is already tracked, prints what ``plan`` would build, and
sends nothing. Exit codes: 0 every object recorded, 1 some were not (listed with the
reason) or an AWS call failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import quote, unquote_plus

from omics_autoload_runtime import contract
from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.cli.deployment import Deployment, add_target_arguments, resolve
from omics_autoload_runtime.cli.errors import CliError, Usage
from omics_autoload_runtime.cli.output import PROG, Progress, printable
from omics_autoload_runtime.domain.s3_uri import split_s3_uri
from omics_autoload_runtime.logic import object_events as events

DEFAULT_RATE = 50.0  # objects per second sent directly
DEFAULT_BATCH_SIZE = 25  # objects per Invoke: well inside the function's 60 s timeout
DEFAULT_DIRECT_LIMIT = 10_000  # more than this: S3 Batch Operations
DEFAULT_PRIORITY = 10
TEMPORARY_RETRIES = 5
JOB_ENDED = ("Complete", "Failed", "Cancelled")
MANIFEST_PREFIX = contract.BACKFILL_MANIFEST_PREFIX
REPORT_PREFIX = contract.BACKFILL_REPORT_PREFIX
# Outcomes intake answers for a new object (the rest of the summary is "already tracked").
NEW_OUTCOMES = (
    tracking.QUEUED,
    tracking.WAITING_FOR_MATE,
    tracking.SKIPPED,
    tracking.FAILED,
    tracking.HELD,
)
DUPLICATE = "DUPLICATE"


def add_backfill(subparsers: Any) -> None:
    command = subparsers.add_parser(
        "backfill",
        help="send objects already in the bucket through intake (directly or with S3 Batch Operations)",
        description="Send the current version of every object under an s3:// prefix through the "
        "pipeline's intake, idempotently: objects already tracked change nothing.",
    )
    add_target_arguments(command)
    command.add_argument("location", nargs="?", help="s3://bucket/prefix of the objects to send")
    command.add_argument("--job", metavar="JOB_ID", help="summarise this Batch Operations job instead")
    command.add_argument("--wait", action="store_true", help="wait for the Batch Operations job to end")
    command.add_argument("--dry-run", action="store_true", help="list and plan; send nothing")
    command.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        metavar="N",
        help=f"objects per second sent directly (default {DEFAULT_RATE:g})",
    )
    command.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"objects per intake invocation when sent directly (default {DEFAULT_BATCH_SIZE})",
    )
    command.add_argument(
        "--direct-limit",
        type=int,
        default=DEFAULT_DIRECT_LIMIT,
        metavar="N",
        help=f"more objects than this run as an S3 Batch Operations job (default {DEFAULT_DIRECT_LIMIT:,})",
    )
    command.add_argument("--batch-operations", action="store_true", help="run as an S3 Batch Operations job")
    command.add_argument(
        "--inventory", metavar="S3_URI", help="an S3 Inventory report's manifest.json as the job's manifest"
    )
    command.add_argument("--priority", type=int, default=DEFAULT_PRIORITY, help="the job's priority")
    command.add_argument("--intake-function", metavar="NAME", help="intake function (default: from --stack)")
    command.add_argument("--role-arn", metavar="ARN", help="batch operations role (default: from --stack)")
    command.add_argument(
        "--batch-bucket", metavar="NAME", help="bucket for manifests and reports (default: from --stack)"
    )
    command.add_argument("--poll-seconds", type=float, default=30.0, metavar="S", help="--wait: default 30")
    command.add_argument(
        "--progress-every", type=int, default=1000, metavar="N", help="a progress line every N objects (0 = none)"
    )
    command.set_defaults(run=run_backfill)


# ---------------------------------------------------------------- listing


@dataclass
class Listing:
    bucket: str
    prefix: str
    current: list[tuple[str, str | None, int | None]] = field(default_factory=list)  # key, version, size
    noncurrent: int = 0
    delete_markers: int = 0

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def _location(location: str) -> tuple[str, str]:
    parts = split_s3_uri(location)
    if parts is None and location.startswith("s3://") and len(location) > 5:
        parts = (location[5:], "")
    if parts is None or not parts[0]:
        raise Usage(f"{location!r} is not an s3://bucket/prefix location")
    return parts


def list_current(location: str) -> Listing:
    """The current version of every object under the prefix (ListObjectVersions: version
    ids, noncurrent versions and delete markers counted; a bucket that never had versioning
    lists version id "null")."""
    bucket, prefix = _location(location)
    listing = Listing(bucket, prefix)
    paginator = clients.client("s3").get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            if not version.get("IsLatest"):
                listing.noncurrent += 1
                continue
            version_id = version.get("VersionId")
            listing.current.append(
                (version["Key"], None if version_id in (None, "null") else version_id, version.get("Size"))
            )
        listing.delete_markers += len(page.get("DeleteMarkers", []))
    return listing


def tracked_count(table_name: str, listing: Listing) -> int:
    """How many of the listed versions already have an item (BatchGetItem, 100 keys a call)."""
    client = tracking.Table(table_name).client
    found = 0
    keys = [tracking.object_key(listing.bucket, key, version) for key, version, _ in listing.current]
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {
            table_name: {
                "Keys": [tracking.serialize({"pk": pk, "sk": sk}) for pk, sk in keys[start : start + 100]],
                "ProjectionExpression": "pk",
            }
        }
        while request:
            response = client.batch_get_item(RequestItems=request)
            found += len(response.get("Responses", {}).get(table_name, []))
            request = response.get("UnprocessedKeys") or {}
    return found


# ---------------------------------------------------------------- outcome


@dataclass
class Summary:
    """What intake answered, per object: its status, DUPLICATE, or why it was not recorded."""

    outcomes: Counter[str] = field(default_factory=Counter)
    not_recorded: list[tuple[str, str]] = field(default_factory=list)  # (uri, reason)

    def add(self, uri: str, code: str, text: str) -> None:
        if code == events.SUCCEEDED:
            self.outcomes[text.split(":", 1)[0] or "?"] += 1
        else:
            self.not_recorded.append((uri, f"{code}: {text}"))

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values()) + len(self.not_recorded)

    def lines(self, listing: Listing | None = None) -> list[str]:
        new = {status: self.outcomes[status] for status in NEW_OUTCOMES if self.outcomes[status]}
        other = {s: n for s, n in self.outcomes.items() if s not in NEW_OUTCOMES and s != DUPLICATE}
        new.update(other)
        details = ", ".join(f"{status} {count:,}" for status, count in new.items())
        lines = [
            f"{self.sent:,} objects sent: {sum(new.values()):,} recorded"
            + (f" ({details})" if details else "")
            + f", {self.outcomes[DUPLICATE]:,} already tracked (unchanged), {len(self.not_recorded):,} not recorded"
        ]
        if listing is not None and (listing.noncurrent or listing.delete_markers):
            lines.append(
                f"{listing.noncurrent:,} noncurrent versions and {listing.delete_markers:,} delete markers"
                " not sent (HealthOmics imports a key's current version only)"
            )
        for uri, reason in self.not_recorded:
            lines.append(f"not recorded  {printable(uri)} ({printable(reason)})")
        if self.not_recorded:
            lines.append("Fix the cause, then run the same backfill again: recorded objects are not sent twice.")
        return lines


# ---------------------------------------------------------------- direct


class Pace:
    """At most ``rate`` objects per second, on average since the start."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self.start = clock()
        self.sent = 0

    def wait_for(self, count: int) -> None:
        due = self.start + self.sent / self.rate
        delay = due - self.clock()
        if delay > 0:
            self.sleep(delay)
        self.sent += count


def invoke_intake(function: str, event: Mapping[str, Any]) -> list[dict[str, str]]:
    """One synchronous invocation; a function error answers every task TemporaryFailure."""
    response = clients.client("lambda").invoke(
        FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event).encode("utf-8")
    )
    body = response["Payload"].read()
    if response.get("FunctionError"):
        text = body.decode("utf-8", "replace")[:200]
        return [
            events.batch_result(t["taskId"], events.TEMPORARY_FAILURE, f"function error: {text}")
            for t in event["tasks"]
        ]
    results: list[dict[str, str]] = json.loads(body).get("results", [])
    return results


def send_direct(
    function: str,
    listing: Listing,
    *,
    rate: float,
    batch_size: int,
    progress: Progress,
    sleep: Callable[[float], None] = time.sleep,
) -> Summary:
    summary = Summary()
    pace = Pace(rate, sleep=sleep)
    job_id = f"backfill-{uuid.uuid4()}"
    for start in range(0, len(listing.current), batch_size):
        pending = listing.current[start : start + batch_size]
        for attempt in range(TEMPORARY_RETRIES + 1):
            pace.wait_for(len(pending))
            invocation = f"{start}-{attempt}"
            event = events.backfill_invocation(job_id, invocation, [(listing.bucket, k, v) for k, v, _ in pending])
            results = {r["taskId"]: r for r in invoke_intake(function, event)}
            retry = []
            for index, obj in enumerate(pending):
                task_id = f"{invocation}-{index}"
                result = results.get(task_id) or events.batch_result(task_id, events.TEMPORARY_FAILURE, "no answer")
                if result["resultCode"] == events.TEMPORARY_FAILURE and attempt < TEMPORARY_RETRIES:
                    retry.append(obj)
                    continue
                summary.add(listing.uri(obj[0]), result["resultCode"], result.get("resultString", ""))
                progress.step()
            if not retry:
                break
            pending = retry
            sleep(min(2.0**attempt, 30.0))  # backoff: throttling eases
    progress.finish()
    return summary


# ---------------------------------------------------------------- S3 Batch Operations


@dataclass
class JobTarget:
    account: str
    partition: str
    region: str
    role_arn: str
    batch_bucket: str
    function_arn: str


def _identity() -> tuple[str, str]:
    arn = clients.client("sts").get_caller_identity()["Arn"]
    parts = arn.split(":")
    return parts[4], parts[1]


def _job_target(args: argparse.Namespace, deployment: Deployment) -> JobTarget:
    account, partition = _identity()
    region = clients.client("s3control").meta.region_name
    role = args.role_arn or (
        f"arn:{partition}:iam::{account}:role/{deployment.batch_role}" if deployment.batch_role else None
    )
    bucket = args.batch_bucket or deployment.batch_bucket
    function = args.intake_function or deployment.intake_function
    if not role or not bucket:
        raise Usage(
            "a Batch Operations job needs the construct's batch operations role and bucket: deploy with"
            " OmicsAutoLoad(batch_operations=True) and give --stack (or --role-arn and --batch-bucket)"
        )
    if not function:
        raise Usage("give --intake-function (or --stack): the job invokes the intake function")
    if not function.startswith("arn:"):
        function = f"arn:{partition}:lambda:{region}:{account}:function:{function}"
    return JobTarget(account, partition, region, role, bucket, function)


def manifest_csv(listing: Listing) -> bytes:
    """The Batch Operations CSV manifest: bucket, URL-encoded key, version id (when versioned)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for key, version, _ in listing.current:
        writer.writerow(
            [listing.bucket, quote(key, safe="/"), version] if version else [listing.bucket, quote(key, safe="/")]
        )
    return out.getvalue().encode("utf-8")


def create_job_request(
    target: JobTarget, *, manifest: Mapping[str, Any], token: str, priority: int, description: str
) -> dict[str, Any]:
    """CreateJob: LambdaInvoke on intake (schema 2.0), every task in the completion report."""
    return {
        "AccountId": target.account,
        "ConfirmationRequired": False,
        "Operation": {"LambdaInvoke": {"FunctionArn": target.function_arn, "InvocationSchemaVersion": "2.0"}},
        "Report": {
            "Bucket": f"arn:{target.partition}:s3:::{target.batch_bucket}",
            "Format": "Report_CSV_20180820",
            "Enabled": True,
            "Prefix": REPORT_PREFIX,
            "ReportScope": "AllTasks",
            "ExpectedBucketOwner": target.account,
        },
        "ClientRequestToken": token,
        "Manifest": manifest,
        "Description": description[:256],
        "Priority": priority,
        "RoleArn": target.role_arn,
    }


def _manifest(target: JobTarget, args: argparse.Namespace, listing: Listing | None, token: str) -> dict[str, Any]:
    s3 = clients.client("s3")
    if args.inventory:
        bucket, key = _location(args.inventory)
        if not key.endswith("manifest.json"):
            raise Usage(f"--inventory {args.inventory}: give the report's manifest.json")
        etag = s3.head_object(Bucket=bucket, Key=key)["ETag"]
        spec: dict[str, Any] = {"Format": "S3InventoryReport_CSV_20161130"}
    else:
        assert listing is not None
        bucket, key = target.batch_bucket, f"{MANIFEST_PREFIX}{token}.csv"
        versioned = any(version for _, version, _ in listing.current)
        etag = s3.put_object(Bucket=bucket, Key=key, Body=manifest_csv(listing), ExpectedBucketOwner=target.account)[
            "ETag"
        ]
        spec = {
            "Format": "S3BatchOperations_CSV_20180820",
            "Fields": ["Bucket", "Key", "VersionId"] if versioned else ["Bucket", "Key"],
        }
    return {"Spec": spec, "Location": {"ObjectArn": f"arn:{target.partition}:s3:::{bucket}/{key}", "ETag": etag}}


def start_job(args: argparse.Namespace, deployment: Deployment, listing: Listing | None, out: TextIO) -> str:
    target = _job_target(args, deployment)
    token = uuid.uuid4().hex
    manifest = _manifest(target, args, listing, token)
    request = create_job_request(
        target,
        manifest=manifest,
        token=token,
        priority=args.priority,
        description=f"{PROG} backfill {args.location or args.inventory}",
    )
    job_id: str = clients.client("s3control").create_job(**request)["JobId"]
    print(f"Batch Operations job {job_id} created: intake runs for every object of the manifest", file=out)
    return job_id


def _account() -> str:
    return _identity()[0]


def wait_for_job(
    job_id: str, account: str, poll_seconds: float, out: TextIO, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    while True:
        job = describe_job(job_id, account)
        progress = job.get("ProgressSummary", {})
        print(
            f"job {job_id}: {job.get('Status')}, {progress.get('NumberOfTasksSucceeded', 0):,} succeeded,"
            f" {progress.get('NumberOfTasksFailed', 0):,} failed of {progress.get('TotalNumberOfTasks', 0):,}",
            file=sys.stderr,
            flush=True,
        )
        if job.get("Status") in JOB_ENDED:
            return job
        sleep(poll_seconds)


def describe_job(job_id: str, account: str) -> dict[str, Any]:
    job: dict[str, Any] = clients.client("s3control").describe_job(AccountId=account, JobId=job_id)["Job"]
    return job


def report_summary(job: Mapping[str, Any]) -> Summary:
    """The job's completion report (``<prefix>/job-<id>/manifest.json`` and its CSVs) as a Summary."""
    report = job.get("Report") or {}
    if not report.get("Enabled") or not report.get("Bucket"):
        raise CliError(f"job {job.get('JobId')} has no completion report")
    bucket = str(report["Bucket"]).split(":::", 1)[-1]
    prefix = str(report.get("Prefix") or "").rstrip("/")
    key = f"{prefix}/job-{job['JobId']}/manifest.json" if prefix else f"job-{job['JobId']}/manifest.json"
    s3 = clients.client("s3")
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    summary = Summary()
    for result in manifest.get("Results", []):
        body = s3.get_object(Bucket=result.get("Bucket", bucket), Key=result["Key"])["Body"]
        for row in read_report_rows(line.decode("utf-8") for line in body.iter_lines()):
            summary.add(*row)
    return summary


def read_report_rows(lines: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    """(uri, result code, result string) per row: Bucket, Key, VersionId, TaskStatus,
    ErrorCode, HTTPStatusCode, ResultMessage (keys URL-encoded as in the manifest)."""
    for row in csv.reader(lines):
        if len(row) < 7:
            continue
        bucket, key, _version, status, error_code, _http, message = row[:7]
        code = events.SUCCEEDED if status.lower() == "succeeded" else (error_code or events.PERMANENT_FAILURE)
        yield f"s3://{bucket}/{unquote_plus(key)}", code, message


# ---------------------------------------------------------------- the command


def run_backfill(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    _check(args)
    deployment = resolve(args)
    if args.job:
        account = _account()
        job = wait_for_job(args.job, account, args.poll_seconds, out) if args.wait else describe_job(args.job, account)
        return _print_job(job, out)
    listing = None if args.inventory else list_current(args.location)
    use_job = bool(args.batch_operations or args.inventory or (listing and len(listing.current) > args.direct_limit))
    if args.dry_run:
        return _dry_run(args, deployment, listing, use_job, out)
    assert listing is not None or args.inventory
    if use_job:
        job_id = start_job(args, deployment, listing, out)
        if not args.wait:
            stack = f"--stack {args.stack}" if args.stack else f"--table {args.table}"
            print(f"Its summary: {PROG} backfill --job {job_id} {stack} [--wait]", file=out)
            return 0
        return _print_job(wait_for_job(job_id, _account(), args.poll_seconds, out), out)
    assert listing is not None
    function = args.intake_function or deployment.intake_function
    if not function:
        raise Usage("give --intake-function (or --stack): backfill sends the objects to the intake function")
    print(
        f"backfill {printable(args.location)}: {len(listing.current):,} objects, sent directly to {function}", file=out
    )
    progress = Progress("sent", len(listing.current), args.progress_every)
    summary = send_direct(function, listing, rate=args.rate, batch_size=args.batch_size, progress=progress)
    for line in summary.lines(listing):
        print(line, file=out)
    return 1 if summary.not_recorded else 0


def _check(args: argparse.Namespace) -> None:
    if args.job:
        if args.location or args.dry_run or args.batch_operations or args.inventory:
            raise Usage("--job summarises an existing job: give no location, --dry-run or --batch-operations")
        return
    if not args.location:
        raise Usage("give the s3://bucket/prefix to backfill (or --job JOB_ID)")
    _location(args.location)
    if args.rate <= 0:
        raise Usage("--rate must be more than 0 objects per second")
    if not 1 <= args.batch_size <= 1000:
        raise Usage("--batch-size must be 1 to 1000")
    if args.direct_limit < 0 or args.progress_every < 0 or args.poll_seconds <= 0:
        raise Usage("--direct-limit and --progress-every must be 0 or more, --poll-seconds more than 0")


def _dry_run(
    args: argparse.Namespace, deployment: Deployment, listing: Listing | None, use_job: bool, out: TextIO
) -> int:
    how = "as an S3 Batch Operations job" if use_job else f"directly, at most {args.rate:g} objects/s"
    if listing is None:
        print(f"dry run: the objects of the inventory report {args.inventory} would be sent {how}", file=out)
        return 0
    tracked = tracked_count(deployment.table, listing)
    total = len(listing.current)
    print(
        f"dry run: {total:,} objects under {printable(args.location)}: {tracked:,} already tracked"
        f" (would change nothing), {total - tracked:,} new; would be sent {how}",
        file=out,
    )
    if not use_job and total / args.rate >= 60:
        print(f"about {total / args.rate / 60:,.0f} minutes at --rate {args.rate:g}", file=out)
    if listing.noncurrent or listing.delete_markers:
        print(
            f"{listing.noncurrent:,} noncurrent versions and {listing.delete_markers:,} delete markers"
            " would not be sent",
            file=out,
        )
    print("", file=out)
    from omics_autoload_runtime.cli.plan import add_plan

    parser = argparse.ArgumentParser(prog=PROG)
    add_plan(parser.add_subparsers())
    plan_args = parser.parse_args(["plan", args.location])
    out.flush()
    result: int = plan_args.run(plan_args)
    return result


def _print_job(job: Mapping[str, Any], out: TextIO) -> int:
    status = job.get("Status")
    progress = job.get("ProgressSummary", {})
    print(
        f"Batch Operations job {job.get('JobId')}: {status}; {progress.get('TotalNumberOfTasks', 0):,} tasks,"
        f" {progress.get('NumberOfTasksFailed', 0):,} failed",
        file=out,
    )
    for failure in job.get("FailureReasons", []):
        print(f"job failure   {failure.get('FailureCode')}: {failure.get('FailureReason')}", file=out)
    if status not in JOB_ENDED:
        print("still running: run again with --wait for the summary from its completion report", file=out)
        return 0
    try:
        summary = report_summary(job)
    except CliError as error:
        print(str(error), file=out)
        return 1
    for line in summary.lines():
        print(line, file=out)
    return 1 if summary.not_recorded or status != "Complete" else 0
