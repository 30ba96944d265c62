"""FilesSkipped's Reason field is the SkipCode set where the skip was decided, never a guess."""

from __future__ import annotations

from collections import Counter

from omics_autoload_runtime.contract import SkipCode
from omics_autoload_runtime.domain.classify import Skip, classify
from support.pipeline import BUCKET, EmfLog, Pipeline

NAMES = [
    "notes.txt",
    "a.fastq.bz2",
    "a.bam.bai",
    "a.fq.md5",
    "GRCh38.fa",
    "a.sam",
    "a.xyz",
    "A_S1_L001_I1_001.fastq.gz",
    "A_S1_L001_R3_001.fastq.gz",
    "Undetermined_S0_R1_001.fastq.gz",
]


def _skip_reasons(pipe: Pipeline) -> Counter[str]:
    """FilesSkipped by its Reason field, as ``stats sum(FilesSkipped) by Reason`` shows it."""
    counts: Counter[str] = Counter()
    for datum in pipe.metric_log.datums():
        if datum["name"] == "FilesSkipped" and "Reason" in datum["fields"]:
            counts[datum["fields"]["Reason"]] += int(sum(datum["values"]))
    return counts


def _recording(pipe: Pipeline) -> Pipeline:
    pipe.metric_log = EmfLog().install()
    return pipe


def test_the_reason_field_is_the_code_of_each_skip():
    with Pipeline() as pipe:
        _recording(pipe).upload([f"run/{name}" for name in NAMES])
        skips = [classify(f"s3://{BUCKET}/run/{name}") for name in NAMES]
        assert all(isinstance(skip, Skip) for skip in skips)
        assert _skip_reasons(pipe) == Counter(skip.code for skip in skips if isinstance(skip, Skip))


def test_conflicts_and_missing_references_have_their_codes():
    with Pipeline(reference=False) as pipe:
        _recording(pipe).upload(["run/B_R1.fq", "run/B_R1.fq.gz", "run/aligned.bam"])
        assert _skip_reasons(pipe) == {SkipCode.CONFLICT: 1, SkipCode.NO_REFERENCE: 1}
