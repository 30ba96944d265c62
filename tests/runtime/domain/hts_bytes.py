"""BAM and CRAM bytes built by hand, as samtools writes them."""

import gzip
import struct


def bgzf(payload: bytes, block: int = 100) -> bytes:
    """Concatenated gzip members, like BGZF blocks."""
    return b"".join(gzip.compress(payload[i : i + block]) for i in range(0, len(payload), block))


def bam_header(text: bytes, references: list[tuple[bytes, int]]) -> bytes:
    body = b"BAM\x01" + struct.pack("<i", len(text)) + text + struct.pack("<i", len(references))
    for name, length in references:
        body += struct.pack("<i", len(name) + 1) + name + b"\x00" + struct.pack("<i", length)
    return body


def _itf8(value: int) -> bytes:
    """ITF8 of a value below 2**14 (enough for a header container)."""
    return bytes([value]) if value < 0x80 else bytes([0x80 | value >> 8, value & 0xFF])


def cram(text: bytes, *, major: int = 3, gzip_block: bool = False) -> bytes:
    """A CRAM file definition and header container, as samtools writes them."""
    payload = struct.pack("<i", len(text)) + text
    data = gzip.compress(payload) if gzip_block else payload
    block = bytes([1 if gzip_block else 0, 0]) + _itf8(0) + _itf8(len(data)) + _itf8(len(payload)) + data
    block += b"\0\0\0\0" if major >= 3 else b""  # block CRC32 (not checked)
    header = _itf8(0) * 4 + b"\0\0" + _itf8(1) + _itf8(1) + _itf8(0)  # ids, counters, 1 block, landmark 0
    header += b"\0\0\0\0" if major >= 3 else b""
    definition = b"CRAM" + bytes([major, 1 if major == 2 else 0]) + b"f" * 20
    return definition + struct.pack("<i", len(block)) + header + block


SAM = (
    b"@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:248956422\n"
    b"@RG\tID:L1\tSM:PAT-1001\tLB:lib\tPL:ILLUMINA\n@RG\tID:L2\tSM:PAT-1001\n"
)
