#!/usr/bin/env python3
"""Local demo of the whole pipeline, no AWS account: a small sequencing run lands in a
(moto) bucket; the real handlers and the synthesized import state machine (run by moto)
import it into a HealthOmics test double; the table shows what happened to every file.

Run it with ``./scripts/run-example`` (which installs what it needs first).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "lambda"), str(REPO / "src")]

RUN = "runs/241128_A01234_0042_BHXYZ"
SAMPLE_SHEET = b"[Header]\nFileFormatVersion,2\n[BCLConvert_Data]\nSample_ID,Index\nNA12878,ACGT\nNA12891,TGCA\n"
FILES = [
    # An Illumina BCL Convert run: two samples, two lanes, paired.
    *(
        f"{RUN}/{sample}_S{n}_L00{lane}_R{read}_001.fastq.gz"
        for n, sample in ((1, "NA12878"), (2, "NA12891"))
        for lane in (1, 2)
        for read in (1, 2)
    ),
    f"{RUN}/NA12878_S1_L001_I1_001.fastq.gz",  # index read: skipped with a reason
    f"{RUN}/Undetermined_S0_L001_R1_001.fastq.gz",  # undetermined: skipped by default
    "sra/SRR6357070_1.fastq.gz",  # an SRA pair
    "sra/SRR6357070_2.fastq.gz",
    "aligned/HG002.GRCh38.bam",  # aligned BAM: imported with the reference genome
    "aligned/HG002.GRCh38.bam.bai",  # its index: skipped
    "unaligned/HG003.unmapped.bam",  # uBAM
    "aligned/patient 7 (re-run).cram",  # spaces and brackets in the key
]


def main() -> int:
    from support.pipeline import Pipeline

    started = time.monotonic()
    with Pipeline(state_machine=True) as pipeline:
        # The instrument's sample sheet first: its rows set the samples' metadata.
        pipeline.upload([f"{RUN}/SampleSheet.csv"], body=SAMPLE_SHEET)
        pipeline.upload(FILES)
        pipeline.run()
        objects = pipeline.objects()
        counts = pipeline.collect()
        read_sets = pipeline.double.read_sets

    width = max(len(key) for key in objects)
    print(f"\n{'object':<{width}}  {'status':<9}  read set id / reason")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 40}")
    for key, item in sorted(objects.items()):
        detail = item.get("readSetId") if item["status"] == "IMPORTED" else item.get("reason", "")
        print(f"{key:<{width}}  {item['status']:<9}  {detail}")
    statuses: dict[str, int] = {}
    for item in objects.values():
        statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    summary = ", ".join(f"{n} {status.lower()}" for status, n in sorted(statuses.items()))
    print(f"\n{len(objects)} objects: {summary}; {len(read_sets)} read sets in the store.")
    for read_set in sorted(read_sets.values(), key=lambda r: r["name"]):
        print(f"  read set {read_set['name']:<22} subject {read_set['subjectId']:<12} sample {read_set['sampleId']}")
    print(f"cost: {counts.summary()}")
    print(f"demo finished in {time.monotonic() - started:.0f} s")
    return 0 if all(item["status"] in ("IMPORTED", "SKIPPED") for item in objects.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
