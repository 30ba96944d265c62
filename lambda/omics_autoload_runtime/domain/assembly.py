"""Turn S3 object listings into HealthOmics read sets: classify, pair, name, validate, batch.

Pure stdlib and no AWS calls: the same code runs in the intake Lambda, in the starter
Lambda and in the ``omics-autoload plan`` CLI, so a dry run shows exactly what the
pipeline will do.

Naming rules (file names are matched case-insensitively, the folder never takes part):

* Type from the extension: .fastq .fq (.gz, or BGZF .bgz) -> FASTQ; .cram -> CRAM;
  .bam -> BAM, or UBAM with ``bam_is_unaligned`` or when the name says so (.ubam,
  .unmapped.bam, .unaligned.bam, PacBio .hifi_reads/.subreads/.ccs.bam). FASTQ
  compressed otherwise (.bz2, .zst, .ora...) is skipped: HealthOmics reads only plain
  or gzip FASTQ. Index, checksum, reference FASTA and other known files are skipped
  with a sentence saying what they are.
* Index reads (``_I1_001``, ``_I2``...) and third reads (``_R3_001``) are always
  skipped; ``Undetermined*`` reads are skipped unless ``include_undetermined``. A
  sample sheet that names such a file explicitly overrides these name-based skips.
* User patterns (``AssemblyOptions.read_set_patterns``, compiled case-insensitively)
  are tried first, each with ``re.fullmatch`` against the whole file name and then
  against the name without its sequence extension. Named groups: ``sample``
  (required), ``mate`` (1/2 or R1/R2), ``subject``, ``name``, ``description``,
  ``generated_from``, ``number`` (shown as ``S<n>``), ``lane`` (shown as ``L<n>``); any
  other group is appended to the read-set name so that distinct files never collide.
  Without a ``name`` group the name is ``sample[_S<number>][_L<lane>][_<other>...]``.
* Built-ins, in order: Illumina ``{sample}_S{n}[_L{lane}]_R{1|2}_{chunk}``;
  ``{sample}[_L{lane}]{_|.|-}(R|READ){1|2}[_{chunk}]``; ``{sample}{_|.}{1|2}`` (SRA/ENA
  runs and the like); anything else is single-end with sample = file name without
  extension. Text after the mate token stays in the name (``A.R1.trimmed`` and
  ``A.R2.trimmed`` pair as ``A.trimmed``); Trim Galore's ``_val_1``/``_val_2`` is
  dropped. A chunk other than ``001`` is kept in the read-set name.
* Mates pair only within one folder and one file type. Two files claiming the same
  place (``A_R1.fq`` and ``A_R1.fastq.gz``) are a conflict: all are skipped, never
  guessed. BAM/CRAM/uBAM: sample and name are the file name without the extension.

Metadata precedence (rising): built-in parsing < user pattern < S3 object tags < sample sheet.
"""

from __future__ import annotations

import json
import re
import unicodedata
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from omics_autoload_runtime.domain import limits
from omics_autoload_runtime.domain.limits import FILE_TYPES

if TYPE_CHECKING:  # sample_sheet imports this module at run time
    from omics_autoload_runtime.domain.sample_sheet import SampleSheet, SampleSheetRow

__all__ = [
    "FILE_TYPES",
    "ORPHAN_POLICIES",
    "OVERRIDE_FIELDS",
    "AssemblyOptions",
    "FileRole",
    "Plan",
    "ReadSet",
    "Skip",
    "assemble",
    "batches",
    "classify",
    "classify_sheet_file",
    "decode_s3_event_key",
    "overrides_from_tags",
    "plan",
    "reference_arn_problem",
    "sheet_group_key",
    "sniff_bam_header",
    "split_s3_uri",
    "validate",
]

ORPHAN_POLICIES = ("REPORT", "IMPORT_SINGLE")
OVERRIDE_FIELDS = ("subject_id", "sample_id", "name", "description", "generated_from")
# User-pattern groups that set a field rather than tell read sets apart.
_NOT_IN_NAME = frozenset({"sample", "mate", "subject", "name", "description", "generated_from"})
_NAME_PREFIX = {"number": "S", "lane": "L"}
_SUPPORTED = ".fastq, .fq, .fastq.gz, .fq.gz, .bam, .ubam, .unmapped.bam, .cram"


# ---------------------------------------------------------------- options


@dataclass(frozen=True)
class AssemblyOptions:
    read_set_patterns: tuple[str, ...] = ()
    include_undetermined: bool = False
    orphan_policy: str = "REPORT"
    bam_is_unaligned: bool = False
    max_sources_per_job: int = 100

    def __post_init__(self) -> None:
        # Lists come from JSON and from CDK users; a tuple keeps the options hashable.
        if isinstance(self.read_set_patterns, list):
            object.__setattr__(self, "read_set_patterns", tuple(self.read_set_patterns))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> AssemblyOptions:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("AssemblyOptions JSON must be an object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown AssemblyOptions keys {unknown}; known keys: {sorted(known)}")
        return cls(**data)

    def problems(self) -> list[str]:
        found = _pattern_problems(self.read_set_patterns)
        for name in ("include_undetermined", "bam_is_unaligned"):
            if not isinstance(getattr(self, name), bool):
                found.append(f"{name} must be true or false, not {getattr(self, name)!r}")
        if self.orphan_policy not in ORPHAN_POLICIES:
            found.append(f"orphan_policy {self.orphan_policy!r} is not one of {', '.join(ORPHAN_POLICIES)}")
        low, high = limits.SOURCES_PER_IMPORT_JOB
        value = self.max_sources_per_job
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            found.append(f"max_sources_per_job must be a whole number from {low} to {high}, not {value!r}")
        return found


def _pattern_problems(patterns: Any) -> list[str]:
    if isinstance(patterns, str) or not isinstance(patterns, tuple):
        return [f"read_set_patterns must be a list of regular expressions, not {patterns!r}"]
    found = []
    for index, pattern in enumerate(patterns):
        label = f"read_set_patterns[{index}] {pattern!r}"
        if not isinstance(pattern, str):
            found.append(f"{label} is not a string")
            continue
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            found.append(f"{label} is not a valid regular expression: {error}")
            continue
        if "sample" not in compiled.groupindex:
            found.append(f"{label} has no (?P<sample>...) group; it is needed to set the sampleId")
    return found


@lru_cache(maxsize=64)
def _user_patterns(options: AssemblyOptions) -> tuple[re.Pattern[str], ...]:
    problems = options.problems()
    if problems:
        raise ValueError("invalid AssemblyOptions: " + "; ".join(problems))
    return tuple(re.compile(p, re.IGNORECASE) for p in options.read_set_patterns)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Skip:
    uri: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"uri": self.uri, "reason": self.reason}


@dataclass(frozen=True)
class FileRole:
    uri: str
    file_type: str
    group_key: str
    mate: int | None
    sample_id: str
    subject_id: str
    name: str
    description: str | None = None
    generated_from: str | None = None
    # Where the other mate is expected; only explains orphans, so not part of identity.
    partner_uri: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ReadSet:
    file_type: str
    source1: str
    source2: str | None
    subject_id: str
    sample_id: str
    name: str
    group_key: str
    description: str | None = None
    generated_from: str | None = None
    reference_arn: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source1,) if self.source2 is None else (self.source1, self.source2)

    def to_import_source(self) -> dict[str, Any]:
        files = {"source1": self.source1}
        if self.source2 is not None:
            files["source2"] = self.source2
        item: dict[str, Any] = {
            "sourceFiles": files,
            "sourceFileType": self.file_type,
            "subjectId": self.subject_id,
            "sampleId": self.sample_id,
            "name": self.name,
        }
        _put_optional(item, self)
        if self.file_type not in limits.ALIGNED_FILE_TYPES:
            item.pop("referenceArn", None)
        return item

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "sourceFileType": self.file_type,
            "source1": self.source1,
            "source2": self.source2,
            "subjectId": self.subject_id,
            "sampleId": self.sample_id,
            "name": self.name,
            "groupKey": self.group_key,
        }
        _put_optional(data, self)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReadSet:
        return cls(
            file_type=data["sourceFileType"],
            source1=data["source1"],
            source2=data.get("source2"),
            subject_id=data["subjectId"],
            sample_id=data["sampleId"],
            name=data["name"],
            group_key=data.get("groupKey") or _default_group_key(data["source1"], data["sourceFileType"]),
            description=data.get("description"),
            generated_from=data.get("generatedFrom"),
            reference_arn=data.get("referenceArn"),
        )


def _put_optional(target: dict[str, Any], read_set: ReadSet) -> None:
    for key, value in (
        ("description", read_set.description),
        ("generatedFrom", read_set.generated_from),
        ("referenceArn", read_set.reference_arn),
    ):
        if value is not None:
            target[key] = value


def _file_name(uri: str) -> str:
    return uri.rpartition("/")[2]


def _default_group_key(source1: str, file_type: str) -> str:
    return f"{source1}#{file_type}"


@dataclass
class Plan:
    read_sets: list[ReadSet]
    skipped: list[Skip]
    # Not per-file problems, e.g. sample-sheet rows that matched no listed file.
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "readSets": [read_set.to_json() for read_set in self.read_sets],
            "skipped": [skip.to_json() for skip in self.skipped],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        return cls(
            read_sets=[ReadSet.from_json(item) for item in data.get("readSets", [])],
            skipped=[Skip(item["uri"], item["reason"]) for item in data.get("skipped", [])],
        )


# ---------------------------------------------------------------- S3 URIs


def decode_s3_event_key(key: str) -> str:
    """S3 event notifications URL-encode keys, with '+' for spaces."""
    return unquote_plus(key)


def split_s3_uri(uri: str) -> tuple[str, str] | None:
    """(bucket, key) of an ``s3://bucket/key`` URI, or None when it is not one."""
    if not uri.startswith("s3://"):
        return None
    bucket, slash, key = uri[5:].partition("/")
    if not bucket or not slash:
        return None
    return bucket, key


def _uri_problem(uri: str) -> str | None:
    if limits.S3_URI_RE.fullmatch(uri):
        return None
    parts = split_s3_uri(uri)
    if parts is None:
        return "not an s3://bucket/key URI"
    bucket, key = parts
    if not re.fullmatch(r"[a-z0-9][a-z0-9-.]{1,61}[a-z0-9]", bucket):
        return f"bucket name {bucket!r} does not match the HealthOmics S3 URI pattern {limits.S3_URI_PATTERN}"
    if len(key) > 1024:
        return f"the key is {len(key)} characters long; HealthOmics accepts 1 to 1024"
    return "the key contains a line break, which HealthOmics S3 URIs cannot contain"


# ---------------------------------------------------------------- file types

_FASTQ_COMPRESSIONS = ("bz2", "xz", "zst", "zip", "ora", "dsrc", "lz4", "7z", "rar")
_INDEX = ("bai", "crai", "csi", "fai", "tbi", "gzi", "dict", "bam.bai", "cram.crai", "sbi", "idx")
_CHECKSUM = ("md5", "md5sum", "sha1", "sha256", "sha512", "crc32c", "etag")
_REFERENCE = ("fa", "fasta", "fna", "fa.gz", "fasta.gz", "fna.gz", "2bit")
_SAM = "SAM is plain text; HealthOmics imports BAM, uBAM or CRAM: convert it (samtools view -b)"
_NOT_SEQUENCE = {
    "sam": _SAM,
    "sam.gz": _SAM,
    "sra": "SRA archive: extract FASTQ with fasterq-dump first",
    "fast5": "raw nanopore signal: basecall it to FASTQ or uBAM first",
    "pod5": "raw nanopore signal: basecall it to FASTQ or uBAM first",
    "blow5": "raw nanopore signal: basecall it to FASTQ or uBAM first",
    "bcl": "raw Illumina base calls: demultiplex them to FASTQ (BCL Convert) first",
    "cbcl": "raw Illumina base calls: demultiplex them to FASTQ (BCL Convert) first",
    "bcl.gz": "raw Illumina base calls: demultiplex them to FASTQ (BCL Convert) first",
    "vcf": "variant calls: import them into a HealthOmics variant store, not a sequence store",
    "vcf.gz": "variant calls: import them into a HealthOmics variant store, not a sequence store",
    "bcf": "variant calls: import them into a HealthOmics variant store, not a sequence store",
    "gvcf": "variant calls: import them into a HealthOmics variant store, not a sequence store",
    "gvcf.gz": "variant calls: import them into a HealthOmics variant store, not a sequence store",
}
_TEXT = (
    "csv",
    "tsv",
    "txt",
    "json",
    "html",
    "xml",
    "log",
    "pdf",
    "yaml",
    "yml",
    "md",
    "bed",
    "gtf",
    "gff",
    "gff3",
)


def _suffix_table() -> dict[str, tuple[str, str]]:
    """'.suffix' -> ("seq", FILE_TYPE) or ("skip", reason)."""
    table: dict[str, tuple[str, str]] = {}
    for suffix in ("fastq", "fq", "fastq.gz", "fq.gz", "fastq.bgz", "fq.bgz"):
        table["." + suffix] = ("seq", "FASTQ")
    table.update({".bam": ("seq", "BAM"), ".cram": ("seq", "CRAM"), ".ubam": ("seq", "UBAM")})
    # PacBio writes its unaligned reads as BAM: these names say so.
    for suffix in ("unmapped.bam", "unaligned.bam", "hifi_reads.bam", "subreads.bam", "ccs.bam"):
        table["." + suffix] = ("seq", "UBAM")
    for base in ("fastq", "fq"):
        for comp in _FASTQ_COMPRESSIONS:
            table[f".{base}.{comp}"] = (
                "skip",
                f"FASTQ compressed as .{comp}: HealthOmics imports FASTQ only uncompressed or"
                " gzip-compressed; recompress it with gzip (.fastq.gz)",
            )
    for suffix in _INDEX:
        table["." + suffix] = (
            "skip",
            f"index file (.{suffix}): not imported; HealthOmics needs only the BAM/CRAM",
        )
    for suffix in _CHECKSUM:
        table["." + suffix] = (
            "skip",
            f"checksum file (.{suffix}): not imported; HealthOmics checksums on import",
        )
    for suffix in _REFERENCE:
        table["." + suffix] = (
            "skip",
            f"reference FASTA (.{suffix}): not a read set; to align BAM/CRAM imports against it,"
            " give it to OmicsAutoLoad as the reference genome",
        )
    for suffix, reason in _NOT_SEQUENCE.items():
        table["." + suffix] = ("skip", f"{reason} (.{suffix})")
    for suffix in _TEXT:
        table["." + suffix] = ("skip", f"not a sequence file (.{suffix})")
    return table


_SUFFIXES = _suffix_table()


def _match_suffix(file_name: str) -> tuple[str, str, tuple[str, str] | None]:
    """(suffix as written, stem, table entry or None) using the longest known suffix."""
    pieces = file_name.lower().split(".")
    for count in (3, 2, 1):
        if len(pieces) > count:
            suffix = "." + ".".join(pieces[-count:])
            if suffix in _SUFFIXES:
                cut = len(file_name) - len(suffix)
                return file_name[cut:], file_name[:cut], _SUFFIXES[suffix]
    last = "." + file_name.rsplit(".", 1)[1] if len(pieces) > 1 else ""
    return last, file_name[: len(file_name) - len(last)], None


# ---------------------------------------------------------------- name parsing

_IGNORE = re.IGNORECASE
_INDEX_READ = re.compile(r".*(?:_S\d+(?:_L\d{3})?_I[12]_\d{3}|[._-]I[12](?:[._-]\d{3})?)", _IGNORE)
_EXTRA_READ = re.compile(r".*(?:_S\d+(?:_L\d{3})?_R[3-9]_\d{3}|[._-]R[3-9](?:[._-]\d{3})?)", _IGNORE)
_UNDETERMINED = re.compile(r"undetermined(?:[._-].*)?", _IGNORE)
# Tails shared by the mate patterns: free text after the mate token (kept in the name), and
# Trim Galore's "_val_1"/"_val_2" echo of the mate (dropped, so both mates share one name).
_TAIL = r"(?P<rest>[._-].*?)??(?:_val_(?P<echo>(?P=mate)))?"
_ILLUMINA = re.compile(
    r"(?P<sample>.+)_S(?P<number>\d+)(?:_L(?P<lane>\d{3}))?_R(?P<mate>[12])_(?P<chunk>\d{3})" + _TAIL,
    _IGNORE,
)
_R_TOKEN = re.compile(
    r"(?P<sample>.+?)(?:_L(?P<lane>\d{3}))?[._-](?:R|READ)(?P<mate>[12])(?:[._-](?P<chunk>\d{3}))?" + _TAIL,
    _IGNORE,
)
_NUMERIC = re.compile(r"(?P<sample>.+?)[._](?P<mate>[12])(?:_val_(?P<echo>(?P=mate)))?")
_BUILTINS = (_ILLUMINA, _R_TOKEN, _NUMERIC)
_MATE_VALUE = re.compile(r"(?:R|READ)?[._-]?([12])", _IGNORE)


@dataclass(frozen=True)
class _Parsed:
    sample: str
    name: str
    mate: int | None = None
    subject: str | None = None
    description: str | None = None
    generated_from: str | None = None
    partner_name: str | None = None


def _swap_mate(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """`text` with the last 1/2 digit inside each span turned into the other mate."""
    chars = list(text)
    for start, end in spans:
        token = text[start:end]
        position = start + max(token.rfind("1"), token.rfind("2"))
        chars[position] = "2" if chars[position] == "1" else "1"
    return "".join(chars)


def _builtin_parse(stem: str, suffix: str) -> _Parsed:
    for pattern in _BUILTINS:
        match = pattern.fullmatch(stem)
        if match:
            return _mate_parsed(match, stem, suffix)
    return _Parsed(sample=stem, name=stem)


def _mate_parsed(match: re.Match[str], stem: str, suffix: str) -> _Parsed:
    groups = match.groupdict()
    name = match["sample"]
    if groups.get("number"):
        name += f"_S{groups['number']}"
    if groups.get("lane"):
        name += f"_L{groups['lane']}"
    if groups.get("chunk") not in (None, "001"):
        name += f"_{groups['chunk']}"
    name += groups.get("rest") or ""
    spans = [match.span("mate")] + ([match.span("echo")] if groups.get("echo") else [])
    return _Parsed(
        sample=match["sample"],
        name=name,
        mate=int(match["mate"]),
        partner_name=_swap_mate(stem, spans) + suffix,
    )


def _user_parse(patterns: Sequence[re.Pattern[str]], file_name: str, stem: str, suffix: str) -> _Parsed | str | None:
    """Parsed fields, an error sentence, or None when no user pattern matches."""
    for index, pattern in enumerate(patterns):
        for text, tail in ((file_name, ""), (stem, suffix)):
            match = pattern.fullmatch(text)
            if match:
                return _from_user_match(index, match, text, tail)
    return None


def _from_user_match(index: int, match: re.Match[str], text: str, tail: str) -> _Parsed | str:
    groups = {key: value for key, value in match.groupdict().items() if value is not None}
    sample = groups.get("sample", "")
    mate = partner = None
    if "mate" in groups:
        mate_match = _MATE_VALUE.fullmatch(groups["mate"])
        if not mate_match:
            return (
                f"read_set_patterns[{index}] captured mate {groups['mate']!r};"
                " the mate group must capture 1, 2, R1 or R2"
            )
        mate = int(mate_match.group(1))
        partner = _swap_mate(text, [match.span("mate")]) + tail
    return _Parsed(
        sample=sample,
        name=groups.get("name") or _compose_name(match, sample),
        mate=mate,
        subject=groups.get("subject"),
        description=groups.get("description"),
        generated_from=groups.get("generated_from"),
        partner_name=partner,
    )


def _compose_name(match: re.Match[str], sample: str) -> str:
    parts = [sample]
    for group, _ in sorted(match.re.groupindex.items(), key=lambda item: item[1]):
        value = match[group]
        if value is None or group in _NOT_IN_NAME:
            continue
        prefix = _NAME_PREFIX.get(group, "")
        parts.append(value if value.upper().startswith(prefix) else prefix + value)
    return "_".join(parts)


# ---------------------------------------------------------------- classify


def classify(uri: str, *, size: int | None = None, options: AssemblyOptions = AssemblyOptions()) -> FileRole | Skip:
    """What one S3 object is: a sequence file with its read-set role, or a Skip saying why not.

    ``uri`` is ``s3://bucket/key`` with the key already decoded (see decode_s3_event_key).
    """
    return _classify(uri, size, options, trust_name=False)


def _classify(uri: str, size: int | None, options: AssemblyOptions, *, trust_name: bool) -> FileRole | Skip:
    """`trust_name`: a sample sheet names this file, so name-based skips do not apply."""
    patterns = _user_patterns(options)
    folder, _, file_name = uri.rpartition("/")
    suffix, stem, entry = _match_suffix(file_name)
    problem = _object_problem(uri, size) or _type_problem(file_name, suffix, stem, entry)
    if problem or entry is None:
        return Skip(uri, problem or "")
    file_type = "UBAM" if entry[1] == "BAM" and options.bam_is_unaligned else entry[1]
    problem = None if trust_name else _name_skip(stem, file_type, options)
    if problem:
        return Skip(uri, problem)
    parsed = _user_parse(patterns, file_name, stem, suffix)
    if isinstance(parsed, str) and not trust_name:
        return Skip(uri, parsed)
    if not isinstance(parsed, _Parsed):
        parsed = _builtin_parse(stem, suffix) if file_type == "FASTQ" else _Parsed(stem, stem)
    if not (trust_name or options.include_undetermined) and parsed.sample.lower() == "undetermined":
        return Skip(uri, _UNDETERMINED_REASON)
    return _role(uri, folder + "/", file_type, parsed)


def _type_problem(file_name: str, suffix: str, stem: str, entry: tuple[str, str] | None) -> str | None:
    if entry is None:
        shown = suffix or "no extension"
        return f"unknown file type ({shown}): OmicsAutoLoad imports {_SUPPORTED}"
    if entry[0] == "skip":
        return entry[1]
    if file_name.startswith("._"):
        return "macOS resource-fork file (._ prefix): metadata written by Finder, not sequence data"
    if not stem:
        return f"nothing before the extension {suffix}: no name to give the read set"
    return None


_UNDETERMINED_REASON = (
    "Undetermined reads (no sample barcode matched): not imported; set include_undetermined"
    " (--include-undetermined) to import them"
)


def _object_problem(uri: str, size: int | None) -> str | None:
    if uri.endswith("/") or uri.endswith("_$folder$"):
        return "folder marker, not a file"
    if size == 0:
        return "zero-byte object: nothing to import (an interrupted upload?)"
    return _uri_problem(uri)


def _name_skip(stem: str, file_type: str, options: AssemblyOptions) -> str | None:
    if file_type == "FASTQ" and _INDEX_READ.fullmatch(stem):
        return "Illumina index read (I1/I2): not imported; HealthOmics read sets hold the sequence reads R1/R2"
    if file_type == "FASTQ" and _EXTRA_READ.fullmatch(stem):
        return (
            "third read (R3 or higher, e.g. a UMI or 10x read): a read set holds at most two reads;"
            " pair the files you want with a sample sheet"
        )
    if not options.include_undetermined and _UNDETERMINED.fullmatch(stem):
        return _UNDETERMINED_REASON
    return None


def _role(uri: str, folder: str, file_type: str, parsed: _Parsed) -> FileRole:
    mate = parsed.mate if file_type == "FASTQ" else None
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


# ---------------------------------------------------------------- BAM sniffing

_SNIFF_LIMIT = 4 * 1024 * 1024


def sniff_bam_header(first_bytes: bytes) -> str | None:
    """Whether a BAM is aligned, from its first BGZF blocks (a few KiB are usually enough).

    "BAM" when the header lists reference sequences (@SQ lines or n_ref > 0), "UBAM" when
    it lists none, None when the bytes are not a BAM or end before the answer.
    """
    data = _inflate_members(first_bytes)
    if len(data) < 8 or data[:4] != b"BAM\x01":
        return None
    text_length = int.from_bytes(data[4:8], "little", signed=True)
    if text_length < 0:
        return None
    text_end = 8 + text_length
    text = data[8:text_end]
    if text.startswith(b"@SQ\t") or b"\n@SQ\t" in text:
        return "BAM"
    if len(data) < text_end + 4:
        return None
    reference_count = int.from_bytes(data[text_end : text_end + 4], "little", signed=True)
    if reference_count < 0:
        return None
    return "BAM" if reference_count else "UBAM"


def _inflate_members(data: bytes) -> bytes:
    """Concatenated gzip members (BGZF blocks), inflated up to a cap so a bomb cannot hurt."""
    out = bytearray()
    rest = data
    while rest and len(out) < _SNIFF_LIMIT:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out += inflater.decompress(rest, _SNIFF_LIMIT - len(out))
        except zlib.error:
            break
        if not inflater.eof:
            break
        rest = inflater.unused_data
    return bytes(out)


# ---------------------------------------------------------------- validate


def _text_problem(value: str, api_field: str) -> str | None:
    low, high = limits.SOURCE_FIELD_LENGTHS[api_field]
    # HealthOmics runs on Java: count UTF-16 units, never more lenient than the service.
    length = len(value.encode("utf-16-le")) // 2
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
    where = _file_name(read_set.source1)
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
    if read_set.file_type not in FILE_TYPES:
        problems.append(f"sourceFileType {read_set.file_type!r} is not one of {', '.join(FILE_TYPES)}")
    for label, uri in (("source1", read_set.source1), ("source2", read_set.source2)):
        problem = uri is not None and _uri_problem(uri)
        if problem:
            problems.append(f"{label} {uri!r}: {problem}")
    if read_set.source2 is not None and read_set.file_type != "FASTQ":
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
    read_set = _apply(_read_set([role], None), role, overrides or {})
    return validate(read_set, require_reference=False)


def _needs_reference(file_type: str) -> str:
    hint = " (if this BAM is unaligned, set bam_is_unaligned or name it .unmapped.bam)" if file_type == "BAM" else ""
    return (
        f"{file_type} needs a reference genome: give OmicsAutoLoad a reference"
        " (the construct's reference FASTA, or --reference-arn for the CLI);"
        f" FASTQ and uBAM need none{hint}"
    )


# ---------------------------------------------------------------- assemble


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
        return [Skip(role.uri, problem) for role in roles]
    ordered = _ordered(roles)
    read_set = _apply(_read_set(ordered, reference_arn), ordered[0], overrides or {})
    problems = validate(read_set)
    if problems:
        return [Skip(role.uri, "; ".join(problems)) for role in ordered]
    return read_set


def _grouping_problem(roles: Sequence[FileRole]) -> str | None:
    names = ", ".join(_file_name(role.uri) for role in roles)
    if len(roles) > 2:
        return (
            f"conflict: {len(roles)} files claim one read set ({names}); nothing is guessed:"
            " rename them or pair them with a sample sheet"
        )
    if len(roles) == 2:
        if any(role.file_type != "FASTQ" for role in roles):
            kinds = f"{roles[0].file_type} + {roles[1].file_type}"
            return f"only FASTQ files can be paired, not {kinds} ({names})"
        if roles[0].uri == roles[1].uri:
            return "the same file cannot be both source1 and source2"
        if roles[0].mate is not None and roles[0].mate == roles[1].mate:
            return (
                f"conflict: both files claim mate {roles[0].mate} ({names}); nothing is guessed:"
                " rename one or pair them with a sample sheet"
            )
    return None


def _ordered(roles: Sequence[FileRole]) -> list[FileRole]:
    if len(roles) == 2 and {roles[0].mate, roles[1].mate} == {1, 2}:
        return sorted(roles, key=lambda role: role.mate or 0)
    return list(roles)


def _read_set(roles: Sequence[FileRole], reference_arn: str | None) -> ReadSet:
    first = roles[0]
    aligned = first.file_type in limits.ALIGNED_FILE_TYPES
    return ReadSet(
        file_type=first.file_type,
        source1=first.uri,
        source2=roles[1].uri if len(roles) == 2 else None,
        subject_id=first.subject_id,
        sample_id=first.sample_id,
        name=first.name,
        group_key=first.group_key,
        description=first.description,
        generated_from=first.generated_from,
        reference_arn=reference_arn if aligned else None,
    )


def _apply(read_set: ReadSet, first: FileRole, overrides: Mapping[str, str | None]) -> ReadSet:
    unknown = set(overrides) - set(OVERRIDE_FIELDS)
    if unknown:
        raise ValueError(f"unknown override keys {sorted(unknown)}; allowed: {', '.join(OVERRIDE_FIELDS)}")
    given = {key: value for key, value in overrides.items() if value}
    if "sample_id" in given and "subject_id" not in given and first.subject_id == first.sample_id:
        given["subject_id"] = given["sample_id"]
    return replace(read_set, **given) if given else read_set


# ---------------------------------------------------------------- tags

_TAG_FIELDS = {
    "subjectid": "subject_id",
    "sampleid": "sample_id",
    "name": "name",
    "description": "description",
    "generatedfrom": "generated_from",
}


def overrides_from_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """Metadata overrides from S3 object tags; other tags are ignored.

    Accepted keys, case-insensitive, '_', '-' and ' ' ignored: SubjectId (subject_id),
    SampleId (sample_id), Name, Description, GeneratedFrom (generated_from). Values are
    stripped; empty values are ignored.
    """
    found: dict[str, str] = {}
    for key, value in (tags or {}).items():
        normal = re.sub(r"[-_ ]", "", key).lower()
        if normal in _TAG_FIELDS and value and value.strip():
            found[_TAG_FIELDS[normal]] = value.strip()
    return found


def _merged_tags(uris: Sequence[str], tags: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """source1's tags win over source2's."""
    merged: dict[str, str] = {}
    for uri in reversed(uris):
        merged.update(overrides_from_tags(tags.get(uri)))
    return merged


# ---------------------------------------------------------------- plan


def classify_sheet_file(
    uri: str, row: SampleSheetRow, *, size: int | None = None, options: AssemblyOptions = AssemblyOptions()
) -> FileRole | Skip:
    """One file a sample-sheet row names: the row decides its read set and its mate.

    Name-based skips do not apply (the sheet names the file on purpose); the row's
    metadata is applied later as overrides (``row.overrides()``).
    """
    role = _classify(uri, size, options, trust_name=True)
    if isinstance(role, Skip):
        return Skip(uri, f"sample sheet line {row.line}: {_file_name(uri)}: {role.reason}")
    paired = row.source2 is not None
    mate = (1 if uri == row.source1 else 2) if paired else None
    return replace(role, group_key=sheet_group_key(row.source1, role.file_type, paired), mate=mate)


def sheet_group_key(source1: str, file_type: str, paired: bool) -> str:
    """group_key of a read set that a sample-sheet row defines: tied to its first file, so it is
    unique (a file is in one row only) and stays stable when the row's metadata changes."""
    return f"{source1}#{file_type}" + ("#PAIRED" if paired else "")


def plan(
    objects: Iterable[str | tuple[str, int | None]],
    options: AssemblyOptions = AssemblyOptions(),
    *,
    sample_sheet: SampleSheet | None = None,
    reference_arn: str | None = None,
    tags: Mapping[str, Mapping[str, str]] | None = None,
) -> Plan:
    """What importing `objects` (URIs, or (URI, size) pairs) would do.

    Every distinct input URI appears exactly once, in one read set or in `skipped`; a URI
    listed twice counts once (the first size wins). Raises ValueError for invalid options.
    """
    _user_patterns(options)
    listing = _dedupe(objects)
    planner = _Planner(listing, options, reference_arn, tags or {})
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
    ) -> None:
        self.listing = listing
        self.options = options
        self.reference_arn = reference_arn
        self.tags = tags
        self.read_sets: list[ReadSet] = []
        self.skipped: dict[str, Skip] = {}
        self.sheet_lines: dict[str, int] = {}
        self.warnings: list[str] = []

    def skip(self, uri: str, reason: str) -> None:
        self.skipped.setdefault(uri, Skip(uri, reason))

    def add(self, outcome: ReadSet | list[Skip]) -> None:
        if isinstance(outcome, ReadSet):
            self.read_sets.append(outcome)
        else:
            for skip in outcome:
                self.skip(skip.uri, skip.reason)

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
            self.skip(
                uri,
                f"sample sheet line {line} pairs it with {_file_name(missing[0])}, which is not in the listing",
            )

    def _sheet_read_set(self, row: SampleSheetRow, uris: list[str]) -> None:
        roles: list[FileRole] = []
        for uri in uris:
            role = classify_sheet_file(uri, row, size=self.listing[uri], options=self.options)
            if isinstance(role, Skip):
                for other in uris:
                    self.skip(other, role.reason)
                return
            roles.append(role)
        overrides = _merged_tags(uris, self.tags) | row.overrides()
        self.add(assemble(roles, self.options, reference_arn=self.reference_arn, overrides=overrides))

    # -- everything else: pair by name within a folder

    def add_named_groups(self) -> None:
        groups: dict[str, list[FileRole]] = {}
        for uri, size in self.listing.items():
            if uri in self.sheet_lines:
                continue
            role = classify(uri, size=size, options=self.options)
            if isinstance(role, Skip):
                self.skip(uri, role.reason)
            else:
                groups.setdefault(role.group_key, []).append(role)
        for roles in groups.values():
            self._group(roles)

    def _group(self, roles: list[FileRole]) -> None:
        if len(roles) == 1 and roles[0].mate is not None:
            self._orphan(roles[0])
            return
        if len(roles) == 2 and {role.mate for role in roles} != {1, 2}:
            names = ", ".join(_file_name(role.uri) for role in roles)
            self.add([Skip(role.uri, _conflict(role, names)) for role in roles])
            return
        self._assemble(roles)

    def _assemble(self, roles: Sequence[FileRole]) -> None:
        overrides = _merged_tags([role.uri for role in _ordered(roles)], self.tags)
        self.add(assemble(roles, self.options, reference_arn=self.reference_arn, overrides=overrides))

    def _orphan(self, role: FileRole) -> None:
        if self.options.orphan_policy == "IMPORT_SINGLE":
            self._assemble([replace(role, mate=None)])
        else:
            self.skip(role.uri, self._orphan_reason(role))

    def _orphan_reason(self, role: FileRole) -> str:
        mate, other = (role.mate, 3 - (role.mate or 1))
        partner = role.partner_uri or ""
        expected = _file_name(partner) or f"R{other}"
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
            self.skip(skip.uri, skip.reason)
        read_sets.sort(key=lambda read_set: read_set.source1)
        skipped = sorted(self.skipped.values(), key=lambda skip: skip.uri)
        return Plan(read_sets=read_sets, skipped=skipped, warnings=self.warnings)


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
        )
        for read_set in read_sets
        if counts[read_set.group_key] > 1
        for uri in read_set.sources
    ]
    return kept, skips


# ---------------------------------------------------------------- batches


def batches(read_sets: Sequence[ReadSet], max_sources: int = 100) -> list[list[ReadSet]]:
    """Import jobs of at most `max_sources` read sets (one source item each), in input order.

    Each source item carries its own referenceArn, so a job may mix references.
    """
    low, high = limits.SOURCES_PER_IMPORT_JOB
    if isinstance(max_sources, bool) or not isinstance(max_sources, int) or not low <= max_sources <= high:
        raise ValueError(f"max_sources must be from {low} to {high}, not {max_sources!r}")
    return [list(read_sets[start : start + max_sources]) for start in range(0, len(read_sets), max_sources)]
