"""``omics-autoload plan``: which read sets the pipeline would build from a listing, and
why every other file would be skipped, without importing anything::

    omics-autoload plan s3://bucket/run1/               # lists with your AWS credentials
    omics-autoload plan --listing keys.txt --format json

A listing has one object per line: ``s3://bucket/key``, optionally followed by a tab
and the size in bytes; with ``--bucket``, plain keys and ``aws s3 ls --recursive``
output lines are read too. Blank lines and lines starting with ``#`` are ignored.

An instrument sample sheet (``--illumina-sheet-name``, default ``SampleSheet.csv``) in the
listing sets the metadata of its run's files as the intake function does; it is read from
S3 when LOCATION is given.

The planning itself is the domain's (``assembly.plan``), the same code the intake
function runs; this module reads the input and prints the result.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from omics_autoload_runtime import contract
from omics_autoload_runtime.cli.errors import NEEDS_BOTO3, AwsError, Usage, botocore_errors, require_boto3
from omics_autoload_runtime.cli.output import render_table
from omics_autoload_runtime.domain.bam_header import HEADER_BYTES, HeaderFacts, read_header
from omics_autoload_runtime.domain.classify import Skip, classify, needs_header
from omics_autoload_runtime.domain.illumina_sheet import IlluminaSheet, RunSheets, SheetColumns, sheet_or_error
from omics_autoload_runtime.domain.options import AssemblyOptions
from omics_autoload_runtime.domain.planning import Plan, batches, plan
from omics_autoload_runtime.domain.s3_uri import split_s3_uri
from omics_autoload_runtime.domain.sample_sheet import MAX_SHEET_BYTES, SampleSheet, SampleSheetError
from omics_autoload_runtime.domain.validation import reference_arn_problem

_LS_LINE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} +(?P<size>\d+) (?P<key>.+)")
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
    command.add_argument("--sample-sheet", metavar="FILE", help="CSV sample sheet (path or s3:// URI)")
    command.add_argument(
        "--sample-sheet-base",
        metavar="S3_URI",
        help="folder of the sheet's relative keys (default: the sheet's S3 folder, else LOCATION)",
    )
    command.add_argument(
        "--illumina-sheet-name",
        default=contract.ILLUMINA_SHEET_NAME,
        metavar="NAME",
        help="instrument sample sheet read from each run folder (default: %(default)s; '' = none)",
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
    command.add_argument("--orphans", choices=("report", "import-single"), default="report")
    command.add_argument("--include-undetermined", action="store_true")
    command.add_argument("--bam-is-unaligned", action="store_true", help="treat every .bam as uBAM")
    command.add_argument(
        "--no-sample-from-header",
        action="store_true",
        help="keep the file name's sample for BAM/CRAM (default: the header's @RG SM:, read from S3)",
    )
    command.add_argument("--reference-arn", metavar="ARN", help="reference for BAM/CRAM read sets")
    command.add_argument("--max-sources", type=int, default=100, metavar="N", help="per job, 1-100")
    command.add_argument("--with-tags", action="store_true", help="read object tags (s3:// only)")
    command.add_argument("--format", choices=("table", "json"), default="table")
    command.set_defaults(run=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    options = _options(args)
    if args.reference_arn is not None:
        problem = reference_arn_problem(args.reference_arn)
        if problem:
            raise Usage(f"--reference-arn: {problem}")
    if args.with_tags and not args.location:
        raise Usage("--with-tags needs an s3:// location to read the tags from")
    columns = _sheet_columns(args.sheet_column)
    sheet = _sample_sheet(args)  # before listing: a bad sheet should not wait for a long listing
    objects = list(_objects(args))
    tags = _tags(objects, options) if args.with_tags else None
    run_sheets = _run_sheets(args, columns, [uri for uri, _ in objects])
    headers = _headers(objects, options) if args.location else None
    result = plan(
        objects,
        options,
        sample_sheet=sheet,
        run_sheets=run_sheets,
        headers=headers,
        reference_arn=args.reference_arn,
        tags=tags,
    )
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(render_plan(result, options.max_sources_per_job)))
    return 0


def _options(args: argparse.Namespace) -> AssemblyOptions:
    options = AssemblyOptions(
        read_set_patterns=tuple(args.pattern),
        include_undetermined=args.include_undetermined,
        orphan_policy=args.orphans.upper().replace("-", "_"),
        bam_is_unaligned=args.bam_is_unaligned,
        sample_from_header=not args.no_sample_from_header,
        max_sources_per_job=args.max_sources,
    )
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


def _objects(args: argparse.Namespace) -> Iterator[tuple[str, int | None]]:
    if args.location:
        yield from list_s3(args.location)
        return
    if args.listing == "-":
        yield from read_listing(sys.stdin, bucket=args.bucket, source="<stdin>")
        return
    try:
        with open(args.listing, encoding="utf-8") as handle:
            yield from read_listing(handle, bucket=args.bucket, source=args.listing)
    except OSError as error:
        raise Usage(f"cannot read --listing {args.listing}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise Usage(f"--listing {args.listing} is not UTF-8 text") from None


def read_listing(
    lines: Iterable[str], *, bucket: str | None = None, source: str = "listing"
) -> Iterator[tuple[str, int | None]]:
    """(uri, size or None) per object line; see the module docstring for the formats."""
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


def list_s3(location: str) -> Iterator[tuple[str, int | None]]:
    """Every object under an s3:// prefix with its size, paginated (keys come decoded)."""
    bucket, prefix = _s3_location(location)
    client = _s3_client()
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield f"s3://{bucket}/{item['Key']}", item.get("Size")
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


def _run_sheets(args: argparse.Namespace, columns: SheetColumns, uris: list[str]) -> RunSheets:
    """The listing's Illumina sheets, read from S3 (a listing file gives their names only)."""
    name = args.illumina_sheet_name
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
    lines += render_table(["URI", "REASON"], [[skip.uri, skip.reason] for skip in result.skipped])
    lines += ["", _summary(result, max_sources)]
    return lines


def _summary(result: Plan, max_sources: int) -> str:
    files = sum(len(rs.sources) for rs in result.read_sets)
    jobs = len(batches(result.read_sets, max_sources))
    return (
        f"{_count(len(result.read_sets), 'read set')} from {_count(files, 'file')}"
        f" in {_count(jobs, 'import job')}; {_count(len(result.skipped), 'file')} skipped."
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
