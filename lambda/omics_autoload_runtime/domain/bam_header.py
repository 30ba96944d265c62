"""What the first bytes of a ``.bam`` or ``.cram`` say: aligned or not, and its sample.

Unaligned BAMs are often named plain ``.bam``; HealthOmics imports them only as UBAM
(without a reference), so the intake function reads the header before deciding. The
header's ``@RG SM:`` tags name the sample the reads came from, usually better than the
file name (``HG002.sorted.dedup.bam``). Its ``@SQ`` lines (``SN`` name, ``LN`` length, ``M5``
checksum, ``AS`` assembly) say which reference it was aligned to (``domain.references``).

CRAM (2.1 and 3.x): the 26-byte file definition, then the header container, whose first
block (raw or gzip) holds the SAM header text.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from omics_autoload_runtime.contract import FileType

HEADER_BYTES = 65536  # what intake and plan read of a BAM/CRAM: a few KiB usually hold the header
_SNIFF_LIMIT = 4 * 1024 * 1024
_CRAM_DEFINITION = 26  # "CRAM", major, minor, 20-byte file id
_SAMPLE_TAG = re.compile(r"\tSM:([^\t]*)")
#: @SQ lines kept on the tracking item: every standard header lists the primary chromosomes
#: first, and a GRCh38 header with alts and decoys has ~3,400 (too many for one item).
RECORDED_SEQUENCES = 64


@dataclass(frozen=True)
class HeaderFacts:
    """``file_type``: BAM or UBAM for a BAM (aligned when the header lists reference sequences:
    @SQ lines or n_ref > 0), CRAM for a CRAM, None when the bytes end too soon
    or are not one. ``sample``: the one ``@RG SM:`` value, None when none or several."""

    file_type: FileType | None
    sample: str | None = None
    # (SN, LN, M5 or "") of the @SQ lines read, in header order; a header cut short by the
    # bytes read keeps its complete lines only.
    sequences: tuple[tuple[str, int, str], ...] = field(default=(), compare=False)
    assemblies: tuple[str, ...] = field(default=(), compare=False)  # the distinct AS: values
    header_line: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # @HD VN, SO...

    def record(self) -> dict[str, Any]:
        """What the tracking item keeps, bounded (``RECORDED_SEQUENCES``); {} when nothing."""
        found: dict[str, Any] = {}
        if self.sequences:
            found["sq"] = [[n, ln, m5] if m5 else [n, ln] for n, ln, m5 in self.sequences[:RECORDED_SEQUENCES]]
            found["sqCount"] = len(self.sequences)
        if self.assemblies:
            found["as"] = list(self.assemblies[:8])
        if self.header_line:
            found["hd"] = dict(self.header_line)
        return found


def read_header(first_bytes: bytes) -> HeaderFacts:
    if first_bytes[:4] == b"CRAM":
        text = _cram_header_text(first_bytes)
        return _facts(FileType.CRAM if text is not None else None, text or "", complete=True)
    data = _inflate_members(first_bytes)
    text, file_type = _bam_header(data)
    complete = len(data) >= 8 + int.from_bytes(data[4:8], "little", signed=True)
    facts = _facts(file_type, text, complete=complete)
    if file_type == FileType.BAM and not facts.sequences:  # no @SQ text: the binary list has them
        facts = HeaderFacts(facts.file_type, facts.sample, _binary_sequences(data), facts.assemblies, facts.header_line)
    return facts


def _facts(file_type: FileType | None, text: str, *, complete: bool) -> HeaderFacts:
    lines = text.split("\n")
    if not complete and not text.endswith("\n"):
        lines = lines[:-1]  # the last line was cut by the bytes read: its LN may be cut too
    sequences: list[tuple[str, int, str]] = []
    assemblies: list[str] = []
    header_line: tuple[tuple[str, str], ...] = ()
    for line in lines:
        if line.startswith("@SQ\t"):
            tags = _tags(line)
            length = tags.get("LN", "")
            if tags.get("SN") and length.isdigit():
                sequences.append((tags["SN"], int(length), tags.get("M5", "").lower()))
            if tags.get("AS") and tags["AS"] not in assemblies:
                assemblies.append(tags["AS"])
        elif line.startswith("@HD\t") and not header_line:
            header_line = tuple((k, v) for k, v in _tags(line).items() if k in ("VN", "SO", "GO", "SS"))
    return HeaderFacts(file_type, _sample(text), tuple(sequences), tuple(assemblies), header_line)


def _tags(line: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in line.rstrip("\r").split("\t")[1:]:
        key, colon, value = part.partition(":")
        if colon and key not in tags:
            tags[key] = value.strip()
    return tags


def _binary_sequences(data: bytes) -> tuple[tuple[str, int, str], ...]:
    """The BAM's own reference list (n_ref, then l_name, name, l_ref each), as far as it was read."""
    position = 8 + int.from_bytes(data[4:8], "little", signed=True)
    out: list[tuple[str, int, str]] = []
    try:
        count = int.from_bytes(data[position : position + 4], "little", signed=True)
        position += 4
        for _ in range(min(count, RECORDED_SEQUENCES)):
            size = int.from_bytes(data[position : position + 4], "little", signed=True)
            name = data[position + 4 : position + 4 + size].rstrip(b"\0").decode("utf-8", "replace")
            end = position + 4 + size + 4
            if size < 1 or end > len(data):
                break
            out.append((name, int.from_bytes(data[end - 4 : end], "little", signed=True), ""))
            position = end
    except ValueError:  # a name that is not text: the list says nothing usable
        return ()
    return tuple(out)


def _sample(text: str) -> str | None:
    samples = {
        match.group(1).strip()
        for line in text.splitlines()
        if line.startswith("@RG\t")
        for match in _SAMPLE_TAG.finditer(line)
    }
    samples.discard("")
    return samples.pop() if len(samples) == 1 else None  # several samples: the header cannot say


def _bam_header(data: bytes) -> tuple[str, FileType | None]:
    if len(data) < 8 or data[:4] != b"BAM\x01":
        return "", None
    text_length = int.from_bytes(data[4:8], "little", signed=True)
    if text_length < 0:
        return "", None
    text_end = 8 + text_length
    text = data[8:text_end].decode("utf-8", "replace")
    if text.startswith("@SQ\t") or "\n@SQ\t" in text:
        return text, FileType.BAM
    if len(data) < text_end + 4:
        return text, None
    reference_count = int.from_bytes(data[text_end : text_end + 4], "little", signed=True)
    if reference_count < 0:
        return text, None
    return text, FileType.BAM if reference_count else FileType.UBAM


def _cram_header_text(data: bytes) -> str | None:
    """The SAM header text of a CRAM's first container, None when cut short or malformed."""
    if len(data) < _CRAM_DEFINITION:
        return None
    major = data[4]
    reader = _Reader(data, _CRAM_DEFINITION + 4)  # container length (int32): not needed
    try:
        for _ in range(4):  # reference id, start, span, records
            reader.itf8()
        reader.ltf8()  # record counter
        reader.ltf8()  # bases
        reader.itf8()  # blocks
        for _ in range(reader.itf8()):  # landmarks
            reader.itf8()
        reader.skip(4 if major >= 3 else 0)  # container CRC32
        method = reader.byte()
        reader.byte()  # content type
        reader.itf8()  # content id
        size = reader.itf8()
        reader.itf8()  # raw size
        block = reader.take(size)
        if method == 1:  # capped, as for BGZF: a small block must not inflate without bound
            block = zlib.decompressobj(wbits=31).decompress(block, _SNIFF_LIMIT)
        elif method != 0:
            return None  # bzip2/lzma/rANS header blocks: not seen from samtools or htsjdk
    except (IndexError, zlib.error):
        return None
    length = int.from_bytes(block[:4], "little", signed=True)
    return block[4 : 4 + length].decode("utf-8", "replace") if 0 <= length <= len(block) - 4 else None


class _Reader:
    """CRAM's ITF8/LTF8 variable-length integers; IndexError when the bytes end."""

    def __init__(self, data: bytes, position: int) -> None:
        self.data = data
        self.position = position

    def byte(self) -> int:
        value = self.data[self.position]
        self.position += 1
        return value

    def take(self, count: int) -> bytes:
        if count < 0 or self.position + count > len(self.data):
            raise IndexError("cut short")
        chunk = self.data[self.position : self.position + count]
        self.position += count
        return chunk

    def skip(self, count: int) -> None:
        self.take(count)

    def itf8(self) -> int:
        first = self.byte()
        extra = _leading_ones(first, 4)
        if extra == 4:  # the fifth byte carries only its low 4 bits
            value = first & 0x0F
            for _ in range(3):
                value = value << 8 | self.byte()
            return value << 4 | (self.byte() & 0x0F)
        return self._rest(first & (0xFF >> (extra + 1)), extra)

    def ltf8(self) -> int:
        first = self.byte()
        extra = _leading_ones(first, 8)
        return self._rest(first & (0xFF >> (extra + 1)), extra)

    def _rest(self, value: int, count: int) -> int:
        for _ in range(count):
            value = value << 8 | self.byte()
        return value


def _leading_ones(byte: int, most: int) -> int:
    count = 0
    while count < most and byte & (0x80 >> count):
        count += 1
    return count


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
