"""sniff_bam_header: aligned or unaligned, from the first BGZF blocks of a .bam."""

import gzip
import struct

from omics_autoload_runtime.domain.bam_header import sniff_bam_header


def _bgzf(payload: bytes, block: int = 100) -> bytes:
    """Concatenated gzip members, like BGZF blocks."""
    return b"".join(gzip.compress(payload[i : i + block]) for i in range(0, len(payload), block))


def _bam_header(text: bytes, references: list[tuple[bytes, int]]) -> bytes:
    body = b"BAM\x01" + struct.pack("<i", len(text)) + text + struct.pack("<i", len(references))
    for name, length in references:
        body += struct.pack("<i", len(name) + 1) + name + b"\x00" + struct.pack("<i", length)
    return body


def test_sniff_bam_header():
    aligned = _bam_header(b"@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:248956422\n", [(b"chr1", 248956422)])
    unaligned = _bam_header(b"@HD\tVN:1.6\tSO:unsorted\n@RG\tID:x\n", [])
    assert sniff_bam_header(_bgzf(aligned)) == "BAM"
    assert sniff_bam_header(_bgzf(unaligned)) == "UBAM"
    assert sniff_bam_header(_bgzf(_bam_header(b"", [(b"chr1", 5)]))) == "BAM"
    assert sniff_bam_header(_bgzf(unaligned)[:30]) is None
    assert sniff_bam_header(gzip.compress(b"@r1\nACGT\n+\nIIII\n")) is None
    assert sniff_bam_header(b"not gzip at all") is None
    assert sniff_bam_header(b"") is None
