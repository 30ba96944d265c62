"""Which HealthOmics file type a file name is, or the sentence saying why it is none.

The extension decides, matched case-insensitively on the longest known suffix:
.fastq .fq (.gz, or BGZF .bgz) -> FASTQ; .cram -> CRAM; .bam -> BAM, or UBAM when the
name says so (.ubam, .unmapped.bam, .unaligned.bam, PacBio .hifi_reads/.reads/.subreads/.ccs.bam).
FASTQ compressed otherwise (.bz2, .zst, .ora...) is skipped: HealthOmics reads only plain
or gzip FASTQ. Index, checksum, reference FASTA and other known files are skipped with a
sentence saying what they are. A new file type or suffix goes in ``_suffix_table``.
"""

from __future__ import annotations

from omics_autoload_runtime.contract import FileType, SkipCode

# Why a file is not imported: its skip code and the sentence the user reads.
Refusal = tuple[SkipCode, str]

_SUPPORTED = ".fastq, .fq, .fastq.gz, .fq.gz, .bam, .ubam, .unmapped.bam, .cram"
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


def _suffix_table() -> dict[str, FileType | Refusal]:
    """'.suffix' -> its file type, or why such files are skipped."""
    table: dict[str, FileType | Refusal] = {}
    for suffix in ("fastq", "fq", "fastq.gz", "fq.gz", "fastq.bgz", "fq.bgz"):
        table["." + suffix] = FileType.FASTQ
    table.update({".bam": FileType.BAM, ".cram": FileType.CRAM, ".ubam": FileType.UBAM})
    # PacBio writes its unaligned reads as BAM: these names say so (Revio: .hifi_reads, .reads).
    for suffix in ("unmapped.bam", "unaligned.bam", "hifi_reads.bam", "reads.bam", "subreads.bam", "ccs.bam"):
        table["." + suffix] = FileType.UBAM
    for base in ("fastq", "fq"):
        for comp in _FASTQ_COMPRESSIONS:
            table[f".{base}.{comp}"] = (
                SkipCode.COMPRESSION,
                f"FASTQ compressed as .{comp}: HealthOmics imports FASTQ only uncompressed or"
                " gzip-compressed; recompress it with gzip (.fastq.gz)",
            )
    for suffix in _INDEX:
        table["." + suffix] = (
            SkipCode.INDEX_FILE,
            f"index file (.{suffix}): not imported; HealthOmics needs only the BAM/CRAM",
        )
    for suffix in _CHECKSUM:
        table["." + suffix] = (
            SkipCode.CHECKSUM,
            f"checksum file (.{suffix}): not imported; HealthOmics checksums on import",
        )
    for suffix in _REFERENCE:
        table["." + suffix] = (
            SkipCode.REFERENCE_FASTA,
            f"reference FASTA (.{suffix}): not a read set; to align BAM/CRAM imports against it,"
            " give it to OmicsAutoLoad as the reference genome",
        )
    for suffix, reason in _NOT_SEQUENCE.items():
        # OTHER, the category these files had before skip codes: the metric keeps its values.
        table["." + suffix] = (SkipCode.OTHER, f"{reason} (.{suffix})")
    for suffix in _TEXT:
        table["." + suffix] = (SkipCode.NOT_SEQUENCE, f"not a sequence file (.{suffix})")
    return table


_SUFFIXES = _suffix_table()


def file_type_of(file_name: str) -> tuple[str, str, FileType | Refusal]:
    """(suffix as written, stem, the file type or why there is none) of a file name."""
    suffix, stem, entry = _match_suffix(file_name)
    if entry is None:
        shown = suffix or "no extension"
        return suffix, stem, (SkipCode.UNKNOWN_TYPE, f"unknown file type ({shown}): OmicsAutoLoad imports {_SUPPORTED}")
    if not isinstance(entry, FileType):
        return suffix, stem, entry
    if file_name.startswith("._"):
        return (
            suffix,
            stem,
            (
                SkipCode.OTHER,
                "macOS resource-fork file (._ prefix): metadata written by Finder, not sequence data",
            ),
        )
    if not stem:
        return suffix, stem, (SkipCode.OTHER, f"nothing before the extension {suffix}: no name to give the read set")
    return suffix, stem, entry


def _match_suffix(file_name: str) -> tuple[str, str, FileType | Refusal | None]:
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
