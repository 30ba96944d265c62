"""``omics-autoload reconcile``: find the objects whose S3 event never came, and send them
through intake.

The same comparison the scheduled reconciliation runs (``logic.reconcile``): the current
object versions under the watched prefixes, from ListObjectVersions or the S3 Inventory
report given with ``--inventory``, against the tracking table; each version with no item is
sent to the intake function as the S3 event it never got (asynchronous ``lambda:Invoke``),
so what happens next is what would have happened. Idempotent: a second run finds nothing.

The bucket, prefixes and suffixes are the intake function's own (its environment, read with
``lambda:GetFunctionConfiguration``) unless ``--bucket`` / ``--prefix`` say otherwise. A
whole pass runs unless ``--max-pages`` bounds it; the scheduled run's stored marker is
neither read nor moved. ``--dry-run`` prints what would be sent and sends nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any, TextIO
from urllib.parse import quote_plus

from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.adapters.table import ItemTable
from omics_autoload_runtime.cli.deployment import add_target_arguments, invoke_async, resolve
from omics_autoload_runtime.cli.errors import Usage
from omics_autoload_runtime.cli.output import printable
from omics_autoload_runtime.domain.prefixes import prefix_problems
from omics_autoload_runtime.domain.s3_uri import split_s3_uri
from omics_autoload_runtime.logic.reconcile import SETTLE_SECONDS, Marker, Reconciler, Untracked
from omics_autoload_runtime.settings import ConfigurationError, Settings

RECORDS_PER_EVENT = 50  # well under the 256 KB of an asynchronous invocation


def add_reconcile(subparsers: Any) -> None:
    command = subparsers.add_parser(
        "reconcile",
        help="find objects whose S3 event never came and send them through intake",
        description="Compare the watched prefixes of the bucket with the tracking table and send every "
        "current object version that has no item through the intake function, idempotently.",
    )
    add_target_arguments(command)
    command.add_argument("--intake-function", metavar="NAME", help="intake function (default: from --stack)")
    command.add_argument("--bucket", help="the watched bucket (default: the intake function's)")
    command.add_argument(
        "--prefix", action="append", default=None, metavar="PREFIX",
        help="a watched key prefix; repeatable (default: the intake function's; none: the whole bucket)",
    )
    command.add_argument(
        "--inventory", metavar="S3_URI",
        help="read the bucket's S3 Inventory report (CSV) under this folder "
        "(s3://<destination>/<prefix>/<bucket>/<inventory id>/) instead of listing the bucket",
    )
    command.add_argument(
        "--max-pages", type=int, default=0, metavar="N",
        help="compare at most N pages of 1,000 object versions (default 0: the whole bucket)",
    )
    command.add_argument(
        "--min-age", type=int, default=SETTLE_SECONDS // 60, metavar="MINUTES",
        help=f"leave objects younger than this to their event (default {SETTLE_SECONDS // 60})",
    )
    command.add_argument("--dry-run", action="store_true", help="print what would be sent; send nothing")
    command.set_defaults(run=run_reconcile)


def run_reconcile(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.max_pages < 0 or args.min_age < 0:
        raise Usage("--max-pages and --min-age must be 0 or more")
    deployment = resolve(args)
    intake_function = args.intake_function or deployment.intake_function
    cfg = _settings(args, deployment.table, intake_function)
    if not args.dry_run and not intake_function:
        raise Usage("sending needs the intake function: give --stack or --intake-function (or --dry-run)")
    where = ", ".join(cfg.key_prefixes) or "the whole bucket"
    inventory = f"s3://{cfg.inventory_bucket}/{cfg.inventory_prefix}"
    source = f"the inventory {inventory}" if cfg.inventory_bucket else "a listing"
    mode = " (dry run: nothing is sent)" if args.dry_run else ""
    heading = f"Reconciling s3://{cfg.bucket_name} ({where}) with table {cfg.table_name}, from {source}{mode}"
    print(heading, file=out)
    verb = "would send" if args.dry_run else "sent      "

    def on_page(untracked: list[Untracked], _: Marker | None) -> None:
        for found in untracked:
            version = found.version_id or "null"
            print(f"  {verb}  {printable(found.uri)}  (version {printable(version)})", file=out)
        if args.dry_run or not untracked:
            return
        for start in range(0, len(untracked), RECORDS_PER_EVENT):
            chunk = untracked[start : start + RECORDS_PER_EVENT]
            invoke_async(str(intake_function), {"Records": [s3_record(found) for found in chunk]})

    reconciler = Reconciler(cfg, ItemTable(cfg.table_name), settle_seconds=args.min_age * 60)
    progress = reconciler.scan(max_pages=args.max_pages or None, on_page=on_page)
    if progress.note:
        print(f"Note: {progress.note}", file=out)
    found = len(progress.untracked)
    sent = "would be sent to intake" if args.dry_run else f"sent to intake ({intake_function})"
    print(
        f"Compared {progress.scanned:,} current object versions in {progress.pages:,} page(s):"
        f" {found:,} without a tracking item {sent}.",
        file=out,
    )
    if not progress.complete:
        print(f"Stopped after --max-pages {args.max_pages}: the rest of the bucket was not compared.", file=out)
    return 0


def _settings(args: argparse.Namespace, table: str, intake_function: str | None) -> Settings:
    """The intake function's settings (bucket, prefixes, suffixes), with the options on top."""
    cfg = Settings()
    if intake_function and (not args.bucket or args.prefix is None):
        cfg = _function_settings(intake_function)
    changes: dict[str, Any] = {"table_name": table}
    if args.bucket:
        changes["bucket_name"] = args.bucket
    if args.prefix is not None:
        problems = prefix_problems(args.prefix, "--prefix")
        if problems:
            raise Usage("; ".join(problems))
        changes["key_prefixes"] = tuple(args.prefix)
    if args.inventory:
        location = split_s3_uri(args.inventory)
        if location is None:
            raise Usage(f"--inventory {args.inventory!r} is not an s3://bucket/folder URI")
        changes["inventory_bucket"], changes["inventory_prefix"] = location[0], location[1].strip("/")
    else:
        changes["inventory_bucket"] = changes["inventory_prefix"] = ""  # the CLI lists unless told
    cfg = cfg.replace(**changes)
    if not cfg.bucket_name:
        raise Usage("which bucket? give --bucket (or --stack / --intake-function of a pipeline that names it)")
    return cfg


def _function_settings(function: str) -> Settings:
    configuration = clients.client("lambda").get_function_configuration(FunctionName=function)
    variables: Mapping[str, str] = (configuration.get("Environment") or {}).get("Variables") or {}
    try:
        return Settings.from_environment(variables)
    except ConfigurationError as error:
        raise Usage(f"the environment of {function} is not a pipeline's ({error}): give --bucket") from None


def s3_record(found: Untracked) -> dict[str, Any]:
    """The S3 event notification record S3 would have sent (key URL-encoded as S3 does)."""
    obj: dict[str, Any] = {"key": quote_plus(found.key, safe="/"), "size": found.size, "eTag": found.etag}
    if found.version_id:
        obj["versionId"] = found.version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventTime": found.last_modified,
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": found.bucket, "arn": f"arn:aws:s3:::{found.bucket}"},
            "object": obj,
        },
    }
