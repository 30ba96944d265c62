"""How fast `plan` turns a big bucket listing into read sets (not a test: run it by hand).

    python benchmarks/plan_benchmark.py [--keys 100000] [--repeat 3]

The listing mimics a sequencing bucket: Illumina runs (4 lanes, R1/R2/I1, Undetermined,
checksums), SRA downloads, single-end FASTQ, BAM/CRAM with indexes, uBAM, orphans,
zero-byte objects, folder markers and stray files.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambda"))

from omics_autoload_runtime.domain.options import AssemblyOptions
from omics_autoload_runtime.domain.planning import plan

REFERENCE = "arn:aws:omics:us-east-1:123456789012:referenceStore/1234567890/reference/1234567890"


def _illumina_run(rng: random.Random, run: int) -> Iterator[tuple[str, int | None]]:
    folder = f"s3://seq-bucket/runs/2024{run:04d}_A01234_{run:04d}_AHXXXXDSX{run % 10}/fastq/"
    yield folder, 0
    for sample in range(1, 97):
        name = f"LIB-{run:04d}-{sample:03d}"
        for lane in range(1, 5):
            for read in ("R1", "R2", "I1"):
                key = f"{name}_S{sample}_L00{lane}_{read}_001.fastq.gz"
                yield folder + key, rng.randint(1, 10**10)
        yield f"{folder}{name}.md5", 330
    for lane in range(1, 5):
        for read in ("R1", "R2"):
            yield f"{folder}Undetermined_S0_L00{lane}_{read}_001.fastq.gz", rng.randint(1, 10**9)


def _misc(rng: random.Random, index: int) -> Iterator[tuple[str, int | None]]:
    folder = f"s3://seq-bucket/projects/p{index % 37}/batch {index % 11}/"
    kind = index % 6
    if kind == 0:
        run = f"SRR{10_000_000 + index}"
        yield f"{folder}{run}_1.fastq.gz", rng.randint(1, 10**9)
        yield f"{folder}{run}_2.fastq.gz", rng.randint(1, 10**9)
    elif kind == 1:
        yield f"{folder}sample ü {index}.fq.gz", rng.randint(0, 10**9)
    elif kind == 2:
        yield f"{folder}HG{index:05d}.GRCh38.cram", rng.randint(1, 10**10)
        yield f"{folder}HG{index:05d}.GRCh38.cram.crai", 1000
    elif kind == 3:
        yield f"{folder}NA{index:05d}.bam", rng.randint(1, 10**10)
        yield f"{folder}NA{index:05d}.bam.bai", 1000
        yield f"{folder}NA{index:05d}.unmapped.bam", rng.randint(1, 10**10)
    elif kind == 4:
        yield f"{folder}orphan{index}_R1.fastq.gz", rng.randint(1, 10**9)
    else:
        yield f"{folder}notes_{index}.txt", 10
        yield f"{folder}ref_{index}.fa.gz", 10


def listing(keys: int, seed: int = 42) -> list[tuple[str, int | None]]:
    rng = random.Random(seed)
    objects: list[tuple[str, int | None]] = []
    run = index = 0
    while len(objects) < keys:
        if rng.random() < 0.5:
            run += 1
            objects.extend(_illumina_run(rng, run))
        else:
            for _ in range(200):
                index += 1
                objects.extend(_misc(rng, index))
    return objects[:keys]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    objects = listing(args.keys)
    options = AssemblyOptions()
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = plan(objects, options, reference_arn=REFERENCE)
        best = min(best, time.perf_counter() - start)
    files = sum(len(read_set.sources) for read_set in result.read_sets)
    print(
        f"{len(objects):,} keys -> {len(result.read_sets):,} read sets ({files:,} files),"
        f" {len(result.skipped):,} skipped"
    )
    print(f"plan: {best:.2f} s wall (best of {args.repeat}), {len(objects) / best:,.0f} keys/s")


if __name__ == "__main__":
    main()
