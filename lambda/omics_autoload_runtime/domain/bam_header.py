"""What the first bytes of a ``.bam`` or ``.cram`` say: aligned or not, and its sample.

Unaligned BAMs are often named plain ``.bam``; HealthOmics imports them only as UBAM
(without a reference), so the intake function reads the header before deciding. The
header's ``@RG SM:`` tags name the sample the reads came from, usually better than the
file name (``HG002.sorted.dedup.bam``).

CRAM (2.1 and 3.x): the 26-byte file definition, then the header container, whose first
block (raw or gzip) holds the SAM header text.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from omics_autoload_runtime.contract import FileType

HEADER_BYTES = 65536  # what intake and plan read of a BAM/CRAM: a few KiB usually hold the header
_SNIFF_LIMIT = 4 * 1024 * 1024
_CRAM_DEFINITION = 26  # "CRAM", major, minor, 20-byte file id
_SAMPLE_TAG = re.compile(r"\tSM:([^\t]*)")


@dataclass(frozen=True)
class HeaderFacts:
    """``file_type``: BAM or UBAM for a BAM (aligned when the header lists reference sequences:
    @SQ lines or n_ref > 0), CRAM for a CRAM, None when the bytes end too soon
    or are not one. ``sample``: the one ``@RG SM:`` value, None when none or several."""

    file_type: FileType | None
    sample: str | None = None


def read_header(first_bytes: bytes) -> HeaderFacts:
    if first_bytes[:4] == b"CRAM":
        text = _cram_header_text(first_bytes)
        return HeaderFacts(FileType.CRAM if text is not None else None, _sample(text or ""))
    text, file_type = _bam_header(_inflate_members(first_bytes))
    return HeaderFacts(file_type, _sample(text))


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
