"""Whether HealthOmics would accept a read set as an import source, as sentences.

Checked before any job starts, so that a file the service would refuse is recorded with
its reason at once (never truncated or rewritten to fit), instead of failing a whole job.
The limits come from ``limits``, pinned to the botocore model.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from omics_autoload_runtime.contract import FileType
from omics_autoload_runtime.domain import limits
from omics_autoload_runtime.domain.classify import FileRole
from omics_autoload_runtime.domain.read_sets import ReadSet, read_set_of, with_overrides
from omics_autoload_runtime.domain.s3_uri import file_name, uri_problem


def _text_problem(value: str, api_field: str) -> str | None:
    low, high = limits.SOURCE_FIELD_LENGTHS[api_field]
    length = limits.service_length(value)
    if not low <= length <= high:
        shown = value if length <= 40 else value[:37] + "..."
        return f"{api_field} {shown!r} is {length} characters long; HealthOmics allows {low} to {high}"
    if api_field == "referenceArn":
        if not limits.REFERENCE_ARN_RE.fullmatch(value):
            return f"referenceArn {value!r} is not an ARN (pattern {limits.REFERENCE_ARN_PATTERN})"
        return None
    if value.isprintable():  # fast path: printable excludes every category C character
        return None
    for position, char in enumerate(value):
        if unicodedata.category(char)[0] not in limits.TEXT_UNICODE_CATEGORIES:
            return (
                f"{api_field} has the control or unassigned character U+{ord(char):04X}"
                f" at position {position + 1}; HealthOmics allows letters, marks, spaces,"
                " symbols, numbers and punctuation only"
            )
    return None


def reference_arn_problem(reference_arn: str) -> str | None:
    """Why `reference_arn` cannot be a source's referenceArn, or None when it can."""
    return _text_problem(reference_arn, "referenceArn")


def validate(read_set: ReadSet, *, require_reference: bool = True) -> list[str]:
    """Every way `read_set` breaks the StartReadSetImportJob source limits, as sentences."""
    where = file_name(read_set.source1)
    problems = [f"{where}: {p}" for p in _structure_problems(read_set, require_reference)]
    values = {
        "subjectId": read_set.subject_id,
        "sampleId": read_set.sample_id,
        "name": read_set.name,
        "description": read_set.description,
        "generatedFrom": read_set.generated_from,
    }
    if read_set.file_type in limits.ALIGNED_FILE_TYPES and read_set.reference_arn is not None:
        values["referenceArn"] = read_set.reference_arn
    for api_field, value in values.items():
        required = api_field in ("subjectId", "sampleId", "name")
        if value is None and not required:
            continue
        problem = _text_problem(value or "", api_field)
        if problem:
            problems.append(f"{where}: {problem}")
    return problems


def _structure_problems(read_set: ReadSet, require_reference: bool = True) -> list[str]:
    problems = []
    if read_set.file_type not in limits.FILE_TYPES:
        problems.append(f"sourceFileType {read_set.file_type!r} is not one of {', '.join(limits.FILE_TYPES)}")
    for label, uri in (("source1", read_set.source1), ("source2", read_set.source2)):
        problem = uri is not None and uri_problem(uri)
        if problem:
            problems.append(f"{label} {uri!r}: {problem}")
    if read_set.source2 is not None and read_set.file_type != FileType.FASTQ:
        problems.append(f"source2 is set but only FASTQ read sets have two files, not {read_set.file_type}")
    if read_set.source2 is not None and read_set.source2 == read_set.source1:
        problems.append("source1 and source2 are the same file")
    if require_reference and read_set.file_type in limits.ALIGNED_FILE_TYPES and read_set.reference_arn is None:
        problems.append(_needs_reference(read_set.file_type))
    return problems


def file_problems(role: FileRole, overrides: Mapping[str, str | None] | None = None) -> list[str]:
    """What already dooms this one file's import, before its mate or the reference are known.

    The intake function asks this so that a file HealthOmics would refuse is recorded with
    its reason at once, instead of waiting in the table for a job that must fail.
    """
    read_set = with_overrides(read_set_of([role], None), role, overrides or {})
    return validate(read_set, require_reference=False)


def _needs_reference(file_type: str) -> str:
    hint = ""
    if file_type == FileType.BAM:
        hint = " (if this BAM is unaligned, set bam_is_unaligned or name it .unmapped.bam)"
    return (
        f"{file_type} needs a reference genome: give OmicsAutoLoad a reference"
        " (the construct's reference FASTA, or --reference-arn for the CLI);"
        f" FASTQ and uBAM need none{hint}"
    )
