"""What importing a listing of S3 objects would do: its read sets, its skips, its import jobs.

Pure stdlib and no AWS calls: the ``omics-autoload plan`` CLI runs it on a listing, and it
makes the same decisions the intake and import-start steps make one file at a time, so a
dry run shows exactly what the pipeline will do. A sample sheet's rows pair files first
and win over names; every other file is paired by name within its folder, and takes its
metadata from its run's Illumina sheet (``RunSheets``), then its tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from omics_autoload_runtime.contract import SkipCode
from omics_autoload_runtime.domain import limits
from omics_autoload_runtime.domain.bam_header import HeaderFacts
from omics_autoload_runtime.domain.classify import (
    FileRole,
    Skip,
    classify,
    classify_sheet_file,
    needs_header,
    with_header,
)
from omics_autoload_runtime.domain.illumina_sheet import RunSheets, sheet_keys
from omics_autoload_runtime.domain.options import AssemblyOptions, user_patterns
from omics_autoload_runtime.domain.pairing import assemble, ordered_mates
from omics_autoload_runtime.domain.read_sets import ReadSet, merged_tags
from omics_autoload_runtime.domain.run_folder import must_wait
from omics_autoload_runtime.domain.s3_uri import file_name
from omics_autoload_runtime.domain.sample_sheet import SampleSheet, SampleSheetError, SampleSheetRow


@dataclass
class Plan:
    read_sets: list[ReadSet]
    skipped: list[Skip]
    # Not per-file problems, e.g. sample-sheet rows that matched no listed file.
    warnings: list[str] = field(default_factory=list)
    # Bytes of the files the read sets import; None when the listing gave no size for one.
    total_bytes: int | None = None
    late_sheets: list[LateSheet] = field(default_factory=list)
    # Files ``require_sample_sheet`` would hold: no sheet of their run in the listing.
    waiting: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "readSets": [read_set.to_json() for read_set in self.read_sets],
            "skipped": [skip.to_json() for skip in self.skipped],
            "totalBytes": self.total_bytes,
            "lateSheets": [late.to_json() for late in self.late_sheets],
            "waitingForSheet": self.waiting,
        }


@dataclass(frozen=True)
class LateSheet:
    """An Illumina sheet whose LastModified is later than some of the files it covers:
    the pipeline gave those files name-based ids, unless ``require_sample_sheet`` held them."""

    sheet: str
    arrived: str
    files: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "lastModified": self.arrived, "filesBefore": list(self.files)}


def waiting_for_sheet(
    read_sets: Sequence[ReadSet], sheet_name: str, sheets: Iterable[str], prefixes: Sequence[str]
) -> list[str]:
    """The files of ``read_sets`` under ``prefixes`` whose run has none of ``sheets`` (URIs):
    the intake function would hold them WAITING_FOR_SHEET."""
    present = set(sheets)
    out = []
    for uri in (uri for read_set in read_sets for uri in read_set.sources):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if must_wait(key, prefixes) and not any(f"s3://{bucket}/{k}" in present for k in sheet_keys(key, sheet_name)):
            out.append(uri)
    return sorted(out)


def late_sheets(
    read_sets: Sequence[ReadSet], modified: Mapping[str, str], sheet_name: str, sheets: Iterable[str]
) -> list[LateSheet]:
    """The sheets (URIs in ``sheets``) that arrived after files of read sets they cover,
    by LastModified (``modified``: URI -> ISO-8601 time, comparable as text)."""
    present = set(sheets)
    before: dict[str, list[str]] = {}
    for read_set in read_sets:
        for uri in read_set.sources:
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            found = next(
                (f"s3://{bucket}/{k}" for k in sheet_keys(key, sheet_name) if f"s3://{bucket}/{k}" in present), None
            )
            if found and uri in modified and found in modified and modified[uri] < modified[found]:
                before.setdefault(found, []).append(uri)
    return [LateSheet(sheet, modified[sheet], tuple(sorted(files))) for sheet, files in sorted(before.items())]


def plan(
    objects: Iterable[str | tuple[str, int | None]],
    options: AssemblyOptions = AssemblyOptions(),
    *,
    sample_sheet: SampleSheet | None = None,
    run_sheets: RunSheets | None = None,
    headers: Mapping[str, HeaderFacts] | None = None,
    reference_arn: str | None = None,
    tags: Mapping[str, Mapping[str, str]] | None = None,
) -> Plan:
    """What importing `objects` (URIs, or (URI, size) pairs) would do.

    Every distinct input URI appears exactly once, in one read set or in `skipped`; a URI
    listed twice counts once (the first size wins). Raises ValueError for invalid options.
    """
    user_patterns(options)
    listing = _dedupe(objects)
    planner = _Planner(listing, options, reference_arn, tags or {}, run_sheets or RunSheets({}), headers or {})
    if sample_sheet is not None:
        planner.add_sheet_rows(sample_sheet)
    planner.add_named_groups()
    return planner.result()


def _dedupe(objects: Iterable[str | tuple[str, int | None]]) -> dict[str, int | None]:
    listing: dict[str, int | None] = {}
    for item in objects:
        uri, size = (item, None) if isinstance(item, str) else item
        listing.setdefault(uri, size)
    return listing


class _Planner:
    def __init__(
        self,
        listing: dict[str, int | None],
        options: AssemblyOptions,
        reference_arn: str | None,
        tags: Mapping[str, Mapping[str, str]],
        run_sheets: RunSheets,
        headers: Mapping[str, HeaderFacts],
    ) -> None:
        self.listing = listing
        self.run_sheets = run_sheets
        self.headers = headers  # uri -> what the first bytes of a BAM/CRAM say
        # uri -> metadata from the file's header, then its run's Illumina sheet (which wins)
        self.file_fields: dict[str, dict[str, str]] = {}
        self.options = options
        self.reference_arn = reference_arn
        self.tags = tags
        self.read_sets: list[ReadSet] = []
        self.skipped: dict[str, Skip] = {}
        self.sheet_lines: dict[str, int] = {}
        self.warnings: list[str] = []

    def skip(self, skip: Skip) -> None:
        self.skipped.setdefault(skip.uri, skip)

    def add(self, outcome: ReadSet | list[Skip]) -> None:
        if isinstance(outcome, ReadSet):
            self.read_sets.append(outcome)
        else:
            for skip in outcome:
                self.skip(skip)

    # -- sample sheet: rows pair files explicitly and win over names

    def add_sheet_rows(self, sheet: SampleSheet) -> None:
        for row in sheet.rows:
            uris = [row.source1] + ([row.source2] if row.source2 else [])
            present = [uri for uri in uris if uri in self.listing]
            self.sheet_lines.update({uri: row.line for uri in present})
            missing = [uri for uri in uris if uri not in self.listing]
            if missing:
                self._partial_row(row.line, present, missing)
            else:
                self._sheet_read_set(row, uris)

    def _partial_row(self, line: int, present: list[str], missing: list[str]) -> None:
        self.warnings.append(f"sample sheet line {line}: {', '.join(missing)} not in the listing; row not used")
        for uri in present:
            reason = f"sample sheet line {line} pairs it with {file_name(missing[0])}, which is not in the listing"
            self.skip(Skip(uri, reason, SkipCode.OTHER))

    def _sheet_read_set(self, row: SampleSheetRow, uris: list[str]) -> None:
        roles: list[FileRole] = []
        for uri in uris:
            role = classify_sheet_file(uri, row, size=self.listing[uri], options=self.options)
            if isinstance(role, Skip):
                for other in uris:
                    self.skip(replace(role, uri=other))
                return
            roles.append(role)
        overrides = merged_tags(uris, self.tags) | row.overrides()
        self.add(assemble(roles, self.options, reference_arn=self.reference_arn, overrides=overrides))

    # -- everything else: pair by name within a folder

    def add_named_groups(self) -> None:
        groups: dict[str, list[FileRole]] = {}
        for uri, size in self.listing.items():
            if uri in self.sheet_lines:
                continue
            role = self._run_sheet(uri) or classify(uri, size=size, options=self.options)
            if isinstance(role, FileRole):
                role = self._match_run_sheet(self._with_header(role, size))
            if isinstance(role, Skip):
                self.skip(role)
            else:
                groups.setdefault(role.group_key, []).append(role)
        for roles in groups.values():
            self._group(roles)

    def _run_sheet(self, uri: str) -> Skip | None:
        """An Illumina sheet of the listing is skipped as what it is, or with its error."""
        sheet = self.run_sheets.sheets.get(uri)
        if sheet is None:
            return None
        if isinstance(sheet, str):
            return Skip(uri, sheet, SkipCode.OTHER)
        return Skip(uri, "Illumina sample sheet: sets the metadata of its run's files", SkipCode.SAMPLE_SHEET)

    def _with_header(self, role: FileRole, size: int | None) -> FileRole:
        facts = self.headers.get(role.uri)
        if facts is None or not needs_header(role, self.options):
            return role
        role, self.file_fields[role.uri] = with_header(role, facts, size=size, options=self.options)
        return role

    def _match_run_sheet(self, role: FileRole) -> FileRole | Skip:
        try:
            found = self.run_sheets.fields_for(role.uri, role.sample_id)
        except SampleSheetError as error:  # as intake: a broken sheet fails its files
            return Skip(role.uri, str(error), SkipCode.OTHER)
        if found:
            self.file_fields.setdefault(role.uri, {}).update(found)
        return role

    def _group(self, roles: list[FileRole]) -> None:
        if len(roles) == 1 and roles[0].mate is not None:
            self._orphan(roles[0])
            return
        if len(roles) == 2 and {role.mate for role in roles} != {1, 2}:
            names = ", ".join(file_name(role.uri) for role in roles)
            self.add([Skip(role.uri, _conflict(role, names), SkipCode.CONFLICT) for role in roles])
            return
        self._assemble(roles)

    def _assemble(self, roles: Sequence[FileRole]) -> None:
        uris = [role.uri for role in ordered_mates(roles)]
        found = {name: value for uri in uris for name, value in self.file_fields.get(uri, {}).items()}
        overrides = found | merged_tags(uris, self.tags)  # tags win over the Illumina sheet and header
        self.add(assemble(roles, self.options, reference_arn=self.reference_arn, overrides=overrides))

    def _orphan(self, role: FileRole) -> None:
        if self.options.orphan_policy == "IMPORT_SINGLE":
            self._assemble([replace(role, mate=None)])
        else:
            self.skip(Skip(role.uri, self._orphan_reason(role), SkipCode.ORPHAN))

    def _orphan_reason(self, role: FileRole) -> str:
        mate, other = (role.mate, 3 - (role.mate or 1))
        partner = role.partner_uri or ""
        expected = file_name(partner) or f"R{other}"
        head = f"R{mate} without its R{other} mate {expected} in the same folder"
        if partner in self.sheet_lines:
            return f"{head}: that file is used by sample sheet line {self.sheet_lines[partner]}"
        if partner in self.skipped:
            return f"{head}: that file was skipped ({self.skipped[partner].reason})"
        if partner in self.listing:
            return f"{head}: that file's name makes it part of another read set"
        return (
            f"{head}; upload it, or set the orphan policy IMPORT_SINGLE (--orphans import-single)"
            " to import this file single-end"
        )

    def result(self) -> Plan:
        read_sets, duplicates = _unique_group_keys(self.read_sets)
        for skip in duplicates:
            self.skip(skip)
        read_sets.sort(key=lambda read_set: read_set.source1)
        skipped = sorted(self.skipped.values(), key=lambda skip: skip.uri)
        sizes = [self.listing.get(uri) for read_set in read_sets for uri in read_set.sources]
        total = None if any(size is None for size in sizes) else sum(size or 0 for size in sizes)
        return Plan(read_sets=read_sets, skipped=skipped, warnings=self.warnings, total_bytes=total)


def _conflict(role: FileRole, names: str) -> str:
    return (
        f"conflict: {names} all claim {'mate ' + str(role.mate) + ' of ' if role.mate else ''}"
        f"read set {role.name!r} in this folder; nothing is guessed: rename or remove one,"
        " or pair them with a sample sheet"
    )


def _unique_group_keys(read_sets: list[ReadSet]) -> tuple[list[ReadSet], list[Skip]]:
    """A group_key is a tracking-table key: two read sets sharing one would overwrite each other."""
    counts: dict[str, int] = {}
    for read_set in read_sets:
        counts[read_set.group_key] = counts.get(read_set.group_key, 0) + 1
    kept = [read_set for read_set in read_sets if counts[read_set.group_key] == 1]
    skips = [
        Skip(
            uri,
            f"conflict: another read set has the same id {read_set.group_key!r}; give them distinct names",
            SkipCode.CONFLICT,
        )
        for read_set in read_sets
        if counts[read_set.group_key] > 1
        for uri in read_set.sources
    ]
    return kept, skips


def batches(read_sets: Sequence[ReadSet], max_sources: int = 100) -> list[list[ReadSet]]:
    """Import jobs of at most `max_sources` read sets (one source item each), in input order.

    Each source item carries its own referenceArn, so a job may mix references.
    """
    low, high = limits.SOURCES_PER_IMPORT_JOB
    if isinstance(max_sources, bool) or not isinstance(max_sources, int) or not low <= max_sources <= high:
        raise ValueError(f"max_sources must be from {low} to {high}, not {max_sources!r}")
    return [list(read_sets[start : start + max_sources]) for start in range(0, len(read_sets), max_sources)]
