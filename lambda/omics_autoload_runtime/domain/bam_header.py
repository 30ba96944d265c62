"""Whether a ``.bam`` holds aligned reads, from its first bytes.

Unaligned BAMs are often named plain ``.bam``; HealthOmics imports them only as UBAM
(without a reference), so the intake function reads the header before deciding.
"""

from __future__ import annotations

import zlib

from omics_autoload_runtime.contract import FileType

_SNIFF_LIMIT = 4 * 1024 * 1024


def sniff_bam_header(first_bytes: bytes) -> FileType | None:
    """Whether a BAM is aligned, from its first BGZF blocks (a few KiB are usually enough).

    BAM when the header lists reference sequences (@SQ lines or n_ref > 0), UBAM when
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
        return FileType.BAM
    if len(data) < text_end + 4:
        return None
    reference_count = int.from_bytes(data[text_end : text_end + 4], "little", signed=True)
    if reference_count < 0:
        return None
    return FileType.BAM if reference_count else FileType.UBAM


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
