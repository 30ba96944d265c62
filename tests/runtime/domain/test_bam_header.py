"""read_header: aligned or unaligned, and the sample, from the first bytes of a .bam or .cram."""

import gzip

from omics_autoload_runtime.domain.bam_header import HeaderFacts, read_header

from tests.runtime.domain.hts_bytes import SAM, bam_header, bgzf, cram


def test_aligned_or_unaligned_bam():
    aligned = bam_header(b"@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:248956422\n", [(b"chr1", 248956422)])
    unaligned = bam_header(b"@HD\tVN:1.6\tSO:unsorted\n@RG\tID:x\n", [])
    assert read_header(bgzf(aligned)).file_type == "BAM"
    assert read_header(bgzf(unaligned)).file_type == "UBAM"
    assert read_header(bgzf(bam_header(b"", [(b"chr1", 5)]))).file_type == "BAM"
    assert read_header(bgzf(unaligned)[:30]).file_type is None
    assert read_header(gzip.compress(b"@r1\nACGT\n+\nIIII\n")).file_type is None
    assert read_header(b"not gzip at all").file_type is None
    assert read_header(b"").file_type is None


def test_sample_from_read_groups_of_bam_andcram():
    assert read_header(bgzf(bam_header(SAM, [(b"chr1", 248956422)]))) == HeaderFacts("BAM", "PAT-1001")
    assert read_header(cram(SAM)) == HeaderFacts("CRAM", "PAT-1001")
    assert read_header(cram(SAM, gzip_block=True)) == HeaderFacts("CRAM", "PAT-1001")
    assert read_header(cram(SAM * 40, major=2)).sample == "PAT-1001"  # two-byte ITF8 sizes, CRAM 2.1


def test_no_or_several_samples_leave_the_file_name_to_decide():
    two = SAM + b"@RG\tID:L3\tSM:PAT-2002\n"
    assert read_header(cram(two)) == HeaderFacts("CRAM", None)
    assert read_header(bgzf(bam_header(b"@HD\tVN:1.6\n@RG\tID:x\n", []))) == HeaderFacts("UBAM", None)


def test_cram_cut_short_or_notcram():
    assert read_header(cram(SAM)[:40]) == HeaderFacts(None)
    assert read_header(b"CRAM\x03\x00") == HeaderFacts(None)
    assert read_header(b"") == HeaderFacts(None)
