"""What a sequence file's name says: sample, mate, read-set name, or that it is not imported.

File names are matched case-insensitively; the folder never takes part.

* Index reads (``_I1_001``, ``_I2``...) and third reads (``_R3_001``) are always skipped;
  ``Undetermined*`` reads are skipped unless ``include_undetermined``. A sample sheet that
  names such a file explicitly overrides these name-based skips.
* User patterns (``AssemblyOptions.read_set_patterns``, compiled case-insensitively) are
  tried first, each with ``re.fullmatch`` against the whole file name and then against the
  name without its sequence extension. Named groups: ``sample`` (required), ``mate`` (1/2
  or R1/R2), ``subject``, ``name``, ``description``, ``generated_from``, ``number`` (shown
  as ``S<n>``), ``lane`` (shown as ``L<n>``); any other group is appended to the read-set
  name so that distinct files never collide. Without a ``name`` group the name is
  ``sample[_S<number>][_L<lane>][_<other>...]``.
* Built-ins (FASTQ only), in order: Oxford Nanopore MinKNOW chunks
  ``{flowcell}_{pass|fail}[_{barcode}]_{run id}[_{run id}]_{n}`` are single-end, never mates
  (``_0``, ``_1``, ``_2``... are chunks): one read set per chunk, named after the file,
  sample = the barcode (else the flow cell); Illumina ``{sample}_S{n}[_L{lane}]_R{1|2}_{chunk}``;
  ``{sample}[_L{lane}]{_|.|-}(R|READ){1|2}[_{chunk}]``; ``{sample}{_|.}{1|2}`` (SRA/ENA
  runs and the like); anything else is single-end with sample = file name without
  extension. Text after the mate token stays in the name (``A.R1.trimmed`` and
  ``A.R2.trimmed`` pair as ``A.trimmed``); Trim Galore's ``_val_1``/``_val_2`` is dropped.
  A chunk other than ``001`` is kept in the read-set name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from omics_autoload_runtime.contract import FileType, SkipCode
from omics_autoload_runtime.domain.file_types import Refusal

# User-pattern groups that set a field rather than tell read sets apart.
_NOT_IN_NAME = frozenset({"sample", "mate", "subject", "name", "description", "generated_from"})
_NAME_PREFIX = {"number": "S", "lane": "L"}

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
_NANOPORE = re.compile(
    r"(?P<flowcell>[A-Z]{3}\d{5})_(?:pass|fail)(?:_(?P<barcode>barcode\d+|unclassified))?"
    r"(?:_[0-9a-f]{8}){1,2}_\d+",
    _IGNORE,
)
_MATE_VALUE = re.compile(r"(?:R|READ)?[._-]?([12])", _IGNORE)

UNDETERMINED_READS: Refusal = (
    SkipCode.UNDETERMINED,
    "Undetermined reads (no sample barcode matched): not imported; set include_undetermined"
    " (--include-undetermined) to import them",
)


def name_skip(stem: str, file_type: FileType, include_undetermined: bool) -> Refusal | None:
    """Why a file of this name is not imported (index, third or undetermined reads), or None."""
    if file_type == FileType.FASTQ and _INDEX_READ.fullmatch(stem):
        return (
            SkipCode.INDEX_READ,
            "Illumina index read (I1/I2): not imported; HealthOmics read sets hold the sequence reads R1/R2",
        )
    if file_type == FileType.FASTQ and _EXTRA_READ.fullmatch(stem):
        return (
            SkipCode.EXTRA_READ,
            "third read (R3 or higher, e.g. a UMI or 10x read): a read set holds at most two reads;"
            " pair the files you want with a sample sheet",
        )
    if not include_undetermined and _UNDETERMINED.fullmatch(stem):
        return UNDETERMINED_READS
    return None


@dataclass(frozen=True)
class ParsedName:
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


def builtin_parse(stem: str, suffix: str) -> ParsedName:
    """A FASTQ name parsed by the built-in mate patterns; single-end when none matches."""
    nanopore = _NANOPORE.fullmatch(stem)
    if nanopore:  # its trailing _1/_2 is a chunk number, not a mate
        return ParsedName(sample=nanopore["barcode"] or nanopore["flowcell"], name=stem)
    for pattern in _BUILTINS:
        match = pattern.fullmatch(stem)
        if match:
            return _mate_parsed(match, stem, suffix)
    return ParsedName(sample=stem, name=stem)


def _mate_parsed(match: re.Match[str], stem: str, suffix: str) -> ParsedName:
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
    return ParsedName(
        sample=match["sample"],
        name=name,
        mate=int(match["mate"]),
        partner_name=_swap_mate(stem, spans) + suffix,
    )


def user_parse(patterns: Sequence[re.Pattern[str]], file_name: str, stem: str, suffix: str) -> ParsedName | str | None:
    """Parsed fields, an error sentence, or None when no user pattern matches."""
    for index, pattern in enumerate(patterns):
        for text, tail in ((file_name, ""), (stem, suffix)):
            match = pattern.fullmatch(text)
            if match:
                return _from_user_match(index, match, text, tail)
    return None


def _from_user_match(index: int, match: re.Match[str], text: str, tail: str) -> ParsedName | str:
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
    return ParsedName(
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
