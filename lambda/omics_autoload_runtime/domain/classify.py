"""What one S3 object is: a sequence file with its place in a read set, or a Skip saying why not.

The intake function classifies each object as it arrives; the planner classifies a whole
listing. Every Skip carries its SkipCode, set here where the reason is written, so the
``FilesSkipped`` metric never has to guess a category from the sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from omics_autoload_runtime.contract import FileType, SkipCode
from omics_autoload_runtime.domain.bam_header import HeaderFacts
from omics_autoload_runtime.domain.file_names import (
    UNDETERMINED_READS,
    ParsedName,
    builtin_parse,
    name_skip,
    user_parse,
)
from omics_autoload_runtime.domain.file_types import Refusal, file_type_of
from omics_autoload_runtime.domain.options import AssemblyOptions, user_patterns
from omics_autoload_runtime.domain.run_folder import instrument_file
from omics_autoload_runtime.domain.s3_uri import file_name, uri_problem
from omics_autoload_runtime.domain.sample_sheet import SampleSheetRow


@dataclass(frozen=True)
class Skip:
    uri: str
    reason: str
    code: SkipCode

    def to_json(self) -> dict[str, str]:
        return {"uri": self.uri, "code": str(self.code), "reason": self.reason}


@dataclass(frozen=True)
class FileRole:
    uri: str
    file_type: FileType
    group_key: str
    mate: int | None
    sample_id: str
    subject_id: str
    name: str
    description: str | None = None
    generated_from: str | None = None
    # Where the other mate is expected; only explains orphans, so not part of identity.
    partner_uri: str | None = field(default=None, compare=False)


def classify(uri: str, *, size: int | None = None, options: AssemblyOptions = AssemblyOptions()) -> FileRole | Skip:
    """What one S3 object is: a sequence file with its read-set role, or a Skip saying why not.

    ``uri`` is ``s3://bucket/key`` with the key already decoded (see decode_s3_event_key).
    """
    return _classify(uri, size, options, trust_name=False)


def needs_header(role: FileRole, options: AssemblyOptions) -> bool:
    """Whether the file's first bytes (``bam_header.read_header``) may change what it is."""
    if role.file_type == FileType.BAM and not options.bam_is_unaligned:
        return True
    return options.sample_from_header and role.file_type in (FileType.BAM, FileType.CRAM, FileType.UBAM)


def with_header(
    role: FileRole, facts: HeaderFacts, *, size: int | None, options: AssemblyOptions
) -> tuple[FileRole, dict[str, str]]:
    """The file as its header shows it: uBAM when a BAM lists no reference sequences, and the
    metadata the header gives (sample and subject from its one ``@RG SM:``)."""
    if role.file_type == FileType.BAM and facts.file_type == FileType.UBAM and not options.bam_is_unaligned:
        unaligned = classify(role.uri, size=size, options=replace(options, bam_is_unaligned=True))
        role = unaligned if isinstance(unaligned, FileRole) else role
    found = (
        {"sample_id": facts.sample, "subject_id": facts.sample} if facts.sample and options.sample_from_header else {}
    )
    return role, found


def classify_sheet_file(
    uri: str, row: SampleSheetRow, *, size: int | None = None, options: AssemblyOptions = AssemblyOptions()
) -> FileRole | Skip:
    """One file a sample-sheet row names: the row decides its read set and its mate.

    Name-based skips do not apply (the sheet names the file on purpose); the row's
    metadata is applied later as overrides (``row.overrides()``).
    """
    role = _classify(uri, size, options, trust_name=True)
    if isinstance(role, Skip):
        return Skip(uri, f"sample sheet line {row.line}: {file_name(uri)}: {role.reason}", role.code)
    paired = row.source2 is not None
    mate = (1 if uri == row.source1 else 2) if paired else None
    return replace(role, group_key=sheet_group_key(row.source1, role.file_type, paired), mate=mate)


def sheet_group_key(source1: str, file_type: str, paired: bool) -> str:
    """group_key of a read set that a sample-sheet row defines: tied to its first file, so it is
    unique (a file is in one row only) and stays stable when the row's metadata changes."""
    return f"{source1}#{file_type}" + ("#PAIRED" if paired else "")


def _classify(uri: str, size: int | None, options: AssemblyOptions, *, trust_name: bool) -> FileRole | Skip:
    """`trust_name`: a sample sheet names this file, so name-based skips do not apply."""
    patterns = user_patterns(options)
    folder, _, name = uri.rpartition("/")
    suffix, stem, found = file_type_of(name)
    marker = None if isinstance(found, FileType) else instrument_file(uri.partition("//")[2].partition("/")[2])
    if marker:  # before the size check: these are zero bytes by design, not broken uploads
        return Skip(uri, marker, SkipCode.RUN_MARKER)
    refusal = _object_problem(uri, size)
    if refusal:
        return _skip(uri, refusal)
    if not isinstance(found, FileType):
        return _skip(uri, found)
    file_type = FileType.UBAM if found == FileType.BAM and options.bam_is_unaligned else found
    refusal = None if trust_name else name_skip(stem, file_type, options.include_undetermined)
    if refusal:
        return _skip(uri, refusal)
    parsed = user_parse(patterns, name, stem, suffix)
    if isinstance(parsed, str) and not trust_name:
        return Skip(uri, parsed, SkipCode.OTHER)
    if not isinstance(parsed, ParsedName):
        parsed = builtin_parse(stem, suffix) if file_type == FileType.FASTQ else ParsedName(stem, stem)
    if not (trust_name or options.include_undetermined) and parsed.sample.lower() == "undetermined":
        return _skip(uri, UNDETERMINED_READS)
    return _role(uri, folder + "/", file_type, parsed)


def _skip(uri: str, refusal: Refusal) -> Skip:
    code, reason = refusal
    return Skip(uri, reason, code)


def _object_problem(uri: str, size: int | None) -> Refusal | None:
    if uri.endswith("/") or uri.endswith("_$folder$"):
        return SkipCode.FOLDER, "folder marker, not a file"
    if size == 0:
        return SkipCode.EMPTY, "zero-byte object: nothing to import (an interrupted upload?)"
    problem = uri_problem(uri)
    return (SkipCode.OTHER, problem) if problem else None


def _role(uri: str, folder: str, file_type: FileType, parsed: ParsedName) -> FileRole:
    mate = parsed.mate if file_type == FileType.FASTQ else None
    group_key = f"{folder}{parsed.name}#{file_type}" + ("#PAIRED" if mate else "")
    return FileRole(
        uri=uri,
        file_type=file_type,
        group_key=group_key,
        mate=mate,
        sample_id=parsed.sample,
        subject_id=parsed.subject or parsed.sample,
        name=parsed.name,
        description=parsed.description,
        generated_from=parsed.generated_from,
        partner_uri=folder + parsed.partner_name if mate and parsed.partner_name else None,
    )
