"""One read set from the files that claim it: one file, or two FASTQ mates in order.

Mates pair only within one folder and one file type (their group_key says so). Files that
claim the same place (``A_R1.fq`` and ``A_R1.fastq.gz``) are a conflict: all are skipped,
never guessed. The import-start step assembles each queued read set with this again, so
the planner and the pipeline cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from omics_autoload_runtime.contract import FileType, SkipCode
from omics_autoload_runtime.domain.classify import FileRole, Skip
from omics_autoload_runtime.domain.file_types import Refusal
from omics_autoload_runtime.domain.options import AssemblyOptions
from omics_autoload_runtime.domain.read_sets import ReadSet, read_set_of, with_overrides
from omics_autoload_runtime.domain.s3_uri import file_name
from omics_autoload_runtime.domain.validation import validate


def assemble(
    roles: Sequence[FileRole],
    options: AssemblyOptions = AssemblyOptions(),
    *,
    reference_arn: str | None = None,
    overrides: Mapping[str, str] | None = None,
) -> ReadSet | list[Skip]:
    """ONE read set from the files of one group (one file, or two FASTQ mates), or a Skip per file.

    Overrides (keys in OVERRIDE_FIELDS; None or "" means not given) replace parsed metadata.
    A subject id that only defaulted to the sample id follows an overridden sample id.
    """
    del options  # part of the stable signature; pairing policy is decided by the caller
    if not roles:
        raise ValueError("assemble needs the files of one read set, got none")
    problem = _grouping_problem(roles)
    if problem:
        code, reason = problem
        return [Skip(role.uri, reason, code) for role in roles]
    ordered = ordered_mates(roles)
    read_set = with_overrides(read_set_of(ordered, reference_arn), ordered[0], overrides or {})
    problems = validate(read_set)
    if problems:
        return [Skip(role.uri, "; ".join(problems), SkipCode.OTHER) for role in ordered]
    return read_set


def _grouping_problem(roles: Sequence[FileRole]) -> Refusal | None:
    names = ", ".join(file_name(role.uri) for role in roles)
    if len(roles) > 2:
        return SkipCode.CONFLICT, (
            f"conflict: {len(roles)} files claim one read set ({names}); nothing is guessed:"
            " rename them or pair them with a sample sheet"
        )
    if len(roles) == 2:
        if any(role.file_type != FileType.FASTQ for role in roles):
            kinds = f"{roles[0].file_type} + {roles[1].file_type}"
            return SkipCode.OTHER, f"only FASTQ files can be paired, not {kinds} ({names})"
        if roles[0].uri == roles[1].uri:
            return SkipCode.OTHER, "the same file cannot be both source1 and source2"
        if roles[0].mate is not None and roles[0].mate == roles[1].mate:
            return SkipCode.CONFLICT, (
                f"conflict: both files claim mate {roles[0].mate} ({names}); nothing is guessed:"
                " rename one or pair them with a sample sheet"
            )
    return None


def ordered_mates(roles: Sequence[FileRole]) -> list[FileRole]:
    """R1 before R2; any other group stays in the order given."""
    if len(roles) == 2 and {roles[0].mate, roles[1].mate} == {1, 2}:
        return sorted(roles, key=lambda role: role.mate or 0)
    return list(roles)
