"""Hostile input: every object still ends recorded with a reason, nothing crashes, and a
rejected object leaves no read set behind (no partial state)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from omics_autoload_runtime.adapters import tracking
from support.pipeline import BUCKET, EmfLog, Pipeline, Stored

HOSTILE_KEYS = {
    "path traversal": "../../etc/passwd_R1.fastq.gz",
    "dot segments": "runs/./a/../b/S1_R1.fastq.gz",
    "double slashes": "runs//S2_R1.fastq.gz",
    "leading slash": "/S3_R1.fastq.gz",
    "terminal escape": "runs/\x1b[31mred\x1b[0m_R1.fastq.gz",
    "newline": "runs/line\nbreak_R1.fastq.gz",
    "nul byte": "runs/nul\x00byte.bam",
    "right-to-left override": "runs/\u202egpj.exe_R1.fastq.gz",
    "over-long key": "runs/" + "x" * 1100 + "_R1.fastq.gz",
    "over-long sample name": "runs/" + "s" * 200 + ".bam",
    "percent-encoded slash": "runs/a%2Fb_R1.fastq.gz",
    "only an extension": "runs/.fastq.gz",
    "folder marker": "runs/empty-folder/",
}


@pytest.fixture
def pipe():
    with Pipeline() as pipeline:
        EmfLog().install()
        yield pipeline


def _event(key: str) -> dict:
    stored = Stored(key=key, version_id=None, size=1234, etag="0" * 32, time=tracking.iso())
    return {"Records": [Pipeline.s3_record(stored, bucket=BUCKET)]}


@pytest.mark.parametrize("name", sorted(HOSTILE_KEYS))
def test_a_hostile_key_is_recorded_with_a_reason_and_never_crashes_intake(pipe, name):
    key = HOSTILE_KEYS[name]
    pipe.invoke("intake", _event(key))
    objects = pipe.items(tracking.KIND_OBJECT)
    assert len(objects) == 1, objects
    (item,) = objects
    assert item["status"] in (tracking.SKIPPED, tracking.FAILED, tracking.WAITING_FOR_MATE, tracking.QUEUED)
    if item["status"] in (tracking.SKIPPED, tracking.FAILED):
        assert len(item["reason"]) > 20
        # No partial state: a rejected object starts no read set.
        assert pipe.items(tracking.KIND_READSET) == []


@pytest.mark.parametrize(
    "name", ["nul byte", "over-long key", "over-long sample name", "newline", "terminal escape"]
)
def test_keys_healthomics_would_refuse_are_rejected_up_front(pipe, name):
    pipe.invoke("intake", _event(HOSTILE_KEYS[name]))
    (item,) = pipe.items(tracking.KIND_OBJECT)
    assert item["status"] in (tracking.SKIPPED, tracking.FAILED), item


def test_a_batch_of_hostile_keys_records_every_one(pipe):
    records = [_event(key)["Records"][0] for key in HOSTILE_KEYS.values()]
    pipe.invoke("intake", {"Records": records})
    assert len(pipe.items(tracking.KIND_OBJECT)) == len(HOSTILE_KEYS)


def test_a_huge_sample_sheet_is_refused_without_reading_it(tmp_path):
    sheet = tmp_path / "sheet.csv"
    with open(sheet, "wb") as handle:
        handle.truncate(1 << 30)  # a sparse 1 GB file
    listing = tmp_path / "listing.txt"
    listing.write_text("s3://bucket/a_R1.fastq.gz\n")
    result = subprocess.run(
        [sys.executable, "-m", "omics_autoload_runtime.cli", "plan", "--listing", str(listing),
         "--sample-sheet", str(sheet)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "too large" in result.stderr or "MiB" in result.stderr


@pytest.mark.parametrize(
    "text, expected",
    [
        ("source1,source2,subject_id,sample_id\na_R1.fastq.gz,,=HYPERLINK(\"x\"),S1\n", "formula"),
        ("source1,subject,sample\na_R1.fastq.gz,P1,S1\n", "column"),
        ("\x00\x01\x02binary garbage\xff", ""),
    ],
    ids=["formula injection", "wrong columns", "binary"],
)
def test_a_hostile_sample_sheet_is_refused_clearly(tmp_path, text, expected):
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)
    listing = tmp_path / "listing.txt"
    listing.write_text("s3://bucket/a_R1.fastq.gz\n")
    result = subprocess.run(
        [sys.executable, "-m", "omics_autoload_runtime.cli", "plan", "--listing", str(listing),
         "--sample-sheet", str(sheet)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert expected in result.stderr.lower()


def test_a_huge_listing_is_planned_and_every_uri_accounted_for(tmp_path):
    from omics_autoload_runtime.domain.planning import plan

    uris = [f"s3://bucket/run{i // 1000}/S{i}_R{1 + i % 2}.fastq.gz" for i in range(20_000)]
    uris += ["s3://bucket/" + "\x00" * 3, "s3://bucket/" + "y" * 2000]
    result = plan(uris)
    seen = [u for rs in result.read_sets for u in rs.sources] + [s.uri for s in result.skipped]
    assert sorted(seen) == sorted(set(uris))
