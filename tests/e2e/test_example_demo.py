"""The README's example command runs this demo: it must keep working and tell the truth."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_local_demo_imports_the_run_and_explains_every_skip():
    from support.synth import EXAMPLE_OUTDIR_ENV, example_outdir

    # The demo synthesizes the example app as the session already has (support.synth): it
    # reads the session's cdk.out instead of starting jsii again (~12 s).
    env = {**os.environ, EXAMPLE_OUTDIR_ENV: str(example_outdir())}
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "demo.py")], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    prefixes = ("runs/", "sra/", "aligned/", "unaligned/")
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith(prefixes)}
    assert "IMPORTED" in lines["runs/241128_A01234_0042_BHXYZ/NA12878_S1_L001_R1_001.fastq.gz"]
    assert "index read" in lines["runs/241128_A01234_0042_BHXYZ/NA12878_S1_L001_I1_001.fastq.gz"]
    assert "include_undetermined" in lines["runs/241128_A01234_0042_BHXYZ/Undetermined_S0_L001_R1_001.fastq.gz"]
    assert "IMPORTED" in lines["aligned/HG002.GRCh38.bam"]
    assert "17 objects: 13 imported, 4 skipped; 8 read sets in the store." in result.stdout
