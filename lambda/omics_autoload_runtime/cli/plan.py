"""``omics-autoload plan``: which read sets the pipeline would build from a listing, and
why every other file would be skipped, without importing anything::

    omics-autoload plan s3://bucket/run1/               # lists with your AWS credentials
    omics-autoload plan --listing keys.txt --format json

A listing has one object per line: ``s3://bucket/key``, optionally followed by a tab
and the size in bytes; with ``--bucket``, plain keys and ``aws s3 ls --recursive``
output lines are read too. Blank lines and lines starting with ``#`` are ignored.

An instrument sample sheet (``--illumina-sheet-name``, default ``SampleSheet.csv``) in the
listing sets the metadata of its run's files as the intake function does; it is read from
S3 when LOCATION is given. A sheet whose LastModified is later than files it covers is
reported (``lateSheets`` in JSON): the pipeline gave those files name-based ids, unless
``require_sample_sheet`` held them.

``--template cdk.out/Stack.template.json`` or ``--stack NAME`` takes the settings (patterns,
options, sheet name and columns, reference ARN, ``require_sample_sheet``) from the intake
function of the synthesized or deployed pipeline, so the plan is what that pipeline would
do; flags given as well override them. JSON output gives every skip its ``code``
(``contract.SkipCode``) next to the reason, and ``totalBytes`` of what would be imported.

The planning itself is the domain's (``assembly.plan``), the same code the intake
function runs; this module reads the input and prints the result.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import Any

from omics_autoload_runtime import contract
from omics_autoload_runtime.cli import deployment
from omics_autoload_runtime.cli.errors import NEEDS_BOTO3, AwsError, Usage, botocore_errors, require_boto3
from omics_autoload_runtime.cli.output import render_table
from omics_autoload_runtime.domain.bam_header import HEADER_BYTES, HeaderFacts, read_header
from omics_autoload_runtime.domain.classify import Skip, classify, needs_header
from omics_autoload_runtime.domain.illumina_sheet import IlluminaSheet, RunSheets, SheetColumns, sheet_or_error
from omics_autoload_runtime.domain.options import AssemblyOptions
from omics_autoload_runtime.domain.planning import LateSheet, Plan, batches, late_sheets, plan, waiting_for_sheet
from omics_autoload_runtime.domain.run_folder import must_wait
from omics_autoload_runtime.domain.s3_uri import split_s3_uri
from omics_autoload_runtime.domain.sample_sheet import MAX_SHEET_BYTES, SampleSheet, SampleSheetError
from omics_autoload_runtime.domain.validation import reference_arn_problem
from omics_autoload_runtime.settings import Settings

_LS_LINE = re.compile(r"(?P<modified>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) +(?P<size>\d+) (?P<key>.+)")
_LS_PREFIX = re.compile(r"\s*PRE .*/")
_SIZED_LINE = re.compile(r"(?P<uri>s3://.+)\t(?P<size>\d+)")


def add_plan(subparsers: Any) -> None:
    command = subparsers.add_parser(
        "plan",
        help="show the read sets a listing would become, and why other files are skipped",
        description="Dry run: classify and pair the files, validate HealthOmics limits, import "
        "nothing. Every listed object appears once: in a read set or with a skip reason.",
    )
    source = command.add_mutually_exclusive_group(required=True)
    source.add_argument("location", nargs="?", help="s3://bucket/prefix to list (AWS credentials)")
    source.add_argument("--listing", metavar="FILE", help="file with one object per line; - = stdin")
    command.add_argument("--bucket", help="bucket of plain keys or `aws s3 ls` lines in --listing")
    deployed = command.add_mutually_exclusive_group()
    deployed.add_argument(
        "--template",
        metavar="FILE",
        help="take the settings from this synthesized template's intake function (cdk.out/Stack.template.json)",
    )
    deployed.add_argument(
        "--stack", metavar="NAME", help="take the settings from this deployed stack's intake function (AWS)"
    )
    command.add_argument("--sample-sheet", metavar="FILE", help="CSV sample sheet (path or s3:// URI)")
    command.add_argument(
        "--sample-sheet-base",
        metavar="S3_URI",
        help="folder of the sheet's relative keys (default: the sheet's S3 folder, else LOCATION)",
    )
    command.add_argument(
        "--illumina-sheet-name",
        default=None,
        metavar="NAME",
        help=f"instrument sample sheet read from each run folder (default: {contract.ILLUMINA_SHEET_NAME}; '' = none)",
    )
    command.add_argument(
        "--sheet-column",
        action="append",
        default=[],
        metavar="FIELD=COLUMN[,COLUMN...]",
        help="sheet columns that feed a field (sample_id, subject_id, description, generated_from)",
    )
    command.add_argument(
        "--pattern",
        action="append",
        default=[],
        metavar="REGEX",
        help="file-name regex with named groups (sample required; mate, subject, name, ...); "
        "repeatable, tried before the built-in patterns",
    )
    command.add_argument("--orphans", choices=("report", "import-single"), default=None)
    command.add_argument("--include-undetermined", action="store_true", default=None)
    command.add_argument("--bam-is-unaligned", action="store_true", default=None, help="treat every .bam as uBAM")
    command.add_argument(
        "--no-sample-from-header",
        action="store_true",
        default=None,
        help="keep the file name's sample for BAM/CRAM (default: the header's @RG SM:, read from S3)",
    )
    command.add_argument("--reference-arn", metavar="ARN", help="reference for BAM/CRAM read sets")
    command.add_argument("--max-sources", type=int, default=None, metavar="N", help="per job, 1-100 (default: 100)")
    command.add_argument("--with-tags", action="store_true", help="read object tags (s3:// only)")
    command.add_argument("--format", choices=("table", "json"), default="table")
    command.set_defaults(run=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    deployed = _deployed_settings(args)
    options = _options(args, deployed.assembly_options)
    reference_arn = args.reference_arn if args.reference_arn is not None else deployed.reference_arn or None
    if reference_arn is not None:
        problem = reference_arn_problem(reference_arn)
        if problem:
            raise Usage(f"--reference-arn: {problem}")
    if args.with_tags and not args.location:
        raise Usage("--with-tags needs an s3:// location to read the tags from")
    sheet_name = deployed.illumina_sheet_name if args.illumina_sheet_name is None else args.illumina_sheet_name
    columns = _sheet_columns(args.sheet_column) if args.sheet_column else deployed.illumina_sheet_columns
    sheet = _sample_sheet(args)  # before listing: a bad sheet should not wait for a long listing
    modified: dict[str, str] = {}
    objects = list(_objects(args, modified))
    if sheet is not None:
        _check_sheet_base(args, sheet, {uri for uri, _ in objects})
    tags = _tags(objects, options) if args.with_tags else None
    run_sheets = _run_sheets(args, sheet_name, columns, [uri for uri, _ in objects])
    headers = _headers(objects, options) if args.location else None
    result = plan(
        objects,
        options,
        sample_sheet=sheet,
        run_sheets=run_sheets,
        headers=headers,
        reference_arn=reference_arn,
        tags=tags,
    )
    listed_sheets = [uri for uri, _ in objects if sheet_name and uri.rpartition("/")[2] == sheet_name]
    result.late_sheets = late_sheets(result.read_sets, modified, sheet_name, listed_sheets) if sheet_name else []
    for late in result.late_sheets:
        result.warnings.append(_late_warning(late, deployed))
    if sheet_name and deployed.require_sheet_prefixes:
        result.waiting = waiting_for_sheet(result.read_sets, sheet_name, listed_sheets, deployed.require_sheet_prefixes)
    if result.waiting:
        result.warnings.append(
            f"{len(result.waiting)} file(s) have no {sheet_name} in their run folder in this listing"
            f" (first {result.waiting[0]}): require_sample_sheet holds them WAITING_FOR_SHEET until it arrives,"
            f" and fails them after {deployed.sheet_wait_seconds / 3600:g} h"
        )
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(render_plan(result, options.max_sources_per_job)))
    return 0


def _deployed_settings(args: argparse.Namespace) -> Settings:
    """The intake function's settings from ``--template`` / ``--stack``; the defaults without."""
    if args.template:
        try:
            with open(args.template, encoding="utf-8") as handle:
                template = json.load(handle)
        except (OSError, ValueError) as error:
            raise Usage(f"cannot read --template {args.template}: {error}") from None
        return deployment.settings_from_template(template, args.template)
    if args.stack:
        return deployment.settings_from_stack(args.stack)
    return Settings()


def _late_warning(late: LateSheet, deployed: Settings) -> str:
    prefixes = deployed.require_sheet_prefixes
    held = all(must_wait(uri.partition("//")[2].partition("/")[2], prefixes) for uri in late.files)
    what = (
        "they waited for it (require_sample_sheet)"
        if held and deployed.require_sheet_prefixes
        else "the pipeline gave them name-based ids unless require_sample_sheet held them;"
        " run `omics-autoload redrive --key URI` for each to apply the sheet"
    )
    return (
        f"{late.sheet} (LastModified {late.arrived}) arrived after {len(late.files)} of the files it covers"
        f" (first {late.files[0]}): {what}"
    )


def _check_sheet_base(args: argparse.Namespace, sheet: SampleSheet, listed: set[str]) -> None:
    """A sheet whose rows name no listed file has the wrong base: every id would be wrong."""
    named = [uri for row in sheet.rows for uri in (row.source1, row.source2) if uri]
    if named and not any(uri in listed for uri in named):
        raise Usage(
            f"--sample-sheet {args.sample_sheet}: none of its {len(sheet.rows)} row(s) names a listed file"
            f" (its first file resolves to {named[0]}): give --sample-sheet-base the folder its keys are relative to"
        )


def _options(args: argparse.Namespace, base: AssemblyOptions) -> AssemblyOptions:
    changes: dict[str, Any] = {}
    if args.pattern:
        changes["read_set_patterns"] = tuple(args.pattern)
    if args.include_undetermined:
        changes["include_undetermined"] = True
    if args.orphans is not None:
        changes["orphan_policy"] = args.orphans.upper().replace("-", "_")
    if args.bam_is_unaligned:
        changes["bam_is_unaligned"] = True
    if args.no_sample_from_header:
        changes["sample_from_header"] = False
    if args.max_sources is not None:
        changes["max_sources_per_job"] = args.max_sources
    options = dataclasses.replace(base, **changes)
    problems = options.problems()
    if problems:
        raise Usage("; ".join(_flag_names(problem) for problem in problems))
    return options


def _flag_names(problem: str) -> str:
    """Options problems use field names; a CLI user knows the flags."""
    for field_name, flag in (
        ("read_set_patterns", "--pattern"),
        ("max_sources_per_job", "--max-sources"),
    ):
        problem = problem.replace(field_name, flag)
    return problem


# ---------------------------------------------------------------- input


def _objects(args: argparse.Namespace, modified: dict[str, str]) -> Iterator[tuple[str, int | None]]:
    if args.location:
        yield from list_s3(args.location, modified)
        return
    if args.listing == "-":
        yield from read_listing(sys.stdin, bucket=args.bucket, source="<stdin>", modified=modified)
        return
    try:
        with open(args.listing, encoding="utf-8") as handle:
            yield from read_listing(handle, bucket=args.bucket, source=args.listing, modified=modified)
    except OSError as error:
        raise Usage(f"cannot read --listing {args.listing}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise Usage(f"--listing {args.listing} is not UTF-8 text") from None


def read_listing(
    lines: Iterable[str],
    *,
    bucket: str | None = None,
    source: str = "listing",
    modified: dict[str, str] | None = None,
) -> Iterator[tuple[str, int | None]]:
    """(uri, size or None) per object line; see the module docstring for the formats.
    ``modified`` gets the LastModified of ``aws s3 ls`` lines (as they print it)."""
    for number, raw in enumerate(lines, 1):
        # Keys may end in spaces: only the line break, leading indentation and a BOM are dropped.
        line = (raw.removeprefix("\ufeff") if number == 1 else raw).rstrip("\r\n").lstrip()
        if not line.strip() or line.startswith("#") or _LS_PREFIX.fullmatch(line):
            continue
        sized = _SIZED_LINE.fullmatch(line)
        if sized:
            yield sized["uri"], int(sized["size"])
        elif line.startswith("s3://"):
            yield line, None
        elif bucket is None:
            raise Usage(
                f"{source} line {number}: expected an s3:// URI, got {line[:80]!r}"
                " (give --bucket to read plain keys or `aws s3 ls --recursive` output)"
            )
        else:
            listed = _LS_LINE.fullmatch(line)
            key, size = (listed["key"], int(listed["size"])) if listed else (line, None)
            if listed and modified is not None:
                modified[f"s3://{bucket}/{key}"] = listed["modified"]
            yield f"s3://{bucket}/{key}", size


def _s3_location(location: str) -> tuple[str, str]:
    parts = split_s3_uri(location)
    if parts is None and location.startswith("s3://") and len(location) > 5:
        parts = (location[5:], "")
    if parts is None:
        raise Usage(f"{location!r} is not an s3://bucket/prefix location")
    return parts


def _s3_client() -> Any:
    # Only reading S3 needs boto3: plan --listing runs without it.
    require_boto3(f"listing s3:// {NEEDS_BOTO3}, or use --listing")
    import boto3

    return boto3.client("s3")


def list_s3(location: str, modified: dict[str, str] | None = None) -> Iterator[tuple[str, int | None]]:
    """Every object under an s3:// prefix with its size, paginated (keys come decoded);
    ``modified`` gets each one's LastModified (UTC, as ``aws s3 ls`` prints it)."""
    bucket, prefix = _s3_location(location)
    client = _s3_client()
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                uri = f"s3://{bucket}/{item['Key']}"
                if modified is not None and item.get("LastModified") is not None:
                    modified[uri] = item["LastModified"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
                yield uri, item.get("Size")
    except botocore_errors() as error:
        raise AwsError(f"cannot list {location}: {error}") from None


def _tags(objects: list[tuple[str, int | None]], options: AssemblyOptions) -> dict[str, dict[str, str]]:
    """Tags of the sequence files only: one GetObjectTagging call per object is slow."""
    client = _s3_client()
    found: dict[str, dict[str, str]] = {}
    for uri, size in objects:
        parts = split_s3_uri(uri)
        if parts is None or uri in found or isinstance(classify(uri, size=size, options=options), Skip):
            continue
        try:
            response = client.get_object_tagging(Bucket=parts[0], Key=parts[1])
        except botocore_errors() as error:
            raise AwsError(f"cannot read the tags of {uri}: {error}") from None
        found[uri] = {tag["Key"]: tag["Value"] for tag in response.get("TagSet", [])}
    return found


def _sample_sheet(args: argparse.Namespace) -> SampleSheet | None:
    if not args.sample_sheet:
        return None
    data = _read_sheet_bytes(args.sample_sheet)
    base = args.sample_sheet_base
    if base is None and args.sample_sheet.startswith("s3://"):
        base = args.sample_sheet
    if base is None and args.location:
        base = args.location.rstrip("/") + "/"
    try:
        return SampleSheet.from_bytes(data, base_uri=base)
    except SampleSheetError as error:
        raise Usage(f"--sample-sheet {args.sample_sheet}: {error}") from None


def _headers(objects: list[tuple[str, int | None]], options: AssemblyOptions) -> dict[str, HeaderFacts]:
    """The first bytes of the BAM/CRAM files whose header may change their plan, as intake reads them."""
    client = _s3_client()
    found: dict[str, HeaderFacts] = {}
    for uri, size in objects:
        role = classify(uri, size=size, options=options)
        if isinstance(role, Skip) or not needs_header(role, options):
            continue
        bucket, key = split_s3_uri(uri) or ("", "")
        try:
            response = client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{HEADER_BYTES - 1}")
            found[uri] = read_header(response["Body"].read())
        except botocore_errors() as error:
            raise AwsError(f"cannot read the header of {uri}: {error}") from None
    return found


def _sheet_columns(values: list[str]) -> SheetColumns:
    changes = {}
    for value in values:
        field_name, equals, columns = value.partition("=")
        if not equals or not columns.strip():
            raise Usage(f"--sheet-column {value!r}: expected FIELD=COLUMN[,COLUMN...]")
        changes[field_name.strip()] = [column.strip() for column in columns.split(",")]
    try:
        return SheetColumns.merged(changes)
    except ValueError as error:
        raise Usage(f"--sheet-column: {error}") from None


def _run_sheets(args: argparse.Namespace, name: str, columns: SheetColumns, uris: list[str]) -> RunSheets:
    """The listing's Illumina sheets, read from S3 (a listing file gives their names only)."""
    listed = [uri for uri in uris if name and uri.rpartition("/")[2] == name]
    if listed and not args.location:
        print(
            f"warning: {len(listed)} {name} file(s) listed but not read: give an s3:// LOCATION to read them",
            file=sys.stderr,
        )
        listed = []
    sheets: dict[str, IlluminaSheet | str] = {uri: sheet_or_error(uri, _read_sheet_bytes(uri)) for uri in listed}
    return RunSheets(sheets, name, columns)


def _read_sheet_bytes(where: str) -> bytes:
    if where.startswith("s3://"):
        bucket, key = _s3_location(where)
        try:
            body = _s3_client().get_object(Bucket=bucket, Key=key)["Body"]
            return bytes(body.read(MAX_SHEET_BYTES + 1))
        except botocore_errors() as error:
            raise AwsError(f"cannot read {where}: {error}") from None
    try:
        with open(where, "rb") as handle:
            return handle.read(MAX_SHEET_BYTES + 1)  # one byte over lets the parser say "too large"
    except OSError as error:
        raise Usage(f"cannot read --sample-sheet {where}: {error.strerror}") from None


# ---------------------------------------------------------------- output


def render_plan(result: Plan, max_sources: int = 100) -> list[str]:
    """Read sets, then skipped files with reasons, then a one-line summary."""
    lines = [f"READ SETS ({len(result.read_sets)})"]
    rows = [
        [rs.file_type, rs.name, rs.sample_id, rs.subject_id, rs.source1, rs.source2 or "-"] for rs in result.read_sets
    ]
    lines += render_table(["TYPE", "NAME", "SAMPLE", "SUBJECT", "SOURCE1", "SOURCE2"], rows)
    lines += ["", f"SKIPPED ({len(result.skipped)})"]
    lines += render_table(["URI", "CODE", "REASON"], [[skip.uri, skip.code, skip.reason] for skip in result.skipped])
    lines += ["", _summary(result, max_sources)]
    return lines


def _summary(result: Plan, max_sources: int) -> str:
    files = sum(len(rs.sources) for rs in result.read_sets)
    jobs = len(batches(result.read_sets, max_sources))
    size = "" if result.total_bytes is None else f" ({_bytes(result.total_bytes)})"
    return (
        f"{_count(len(result.read_sets), 'read set')} from {_count(files, 'file')}{size}"
        f" in {_count(jobs, 'import job')}; {_count(len(result.skipped), 'file')} skipped."
    )


def _bytes(count: int) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
