"""A sample sheet in the bucket names read sets and metadata at run time."""

from __future__ import annotations

import pytest
from omics_autoload_runtime.adapters import tracking
from support.pipeline import EmfLog, Pipeline

SHEET = "omics-samplesheet.csv"


@pytest.fixture
def pipe():
    with Pipeline() as pipeline:
        EmfLog().install()
        yield pipeline


def test_the_sheet_pairs_files_names_would_not_and_sets_their_ids(pipe):
    sheet = pipe.put(
        f"run7/{SHEET}",
        body=b"source1,source2,subject_id,sample_id,name\n"
        b"tumour-left.fq.gz,tumour-right.fq.gz,PATIENT-7,TUMOUR-7,patient7_tumour\n",
    )
    pipe.deliver([sheet])
    pipe.upload(["run7/tumour-left.fq.gz", "run7/tumour-right.fq.gz"])
    objects = pipe.objects()
    assert objects[f"run7/{SHEET}"]["status"] == tracking.SKIPPED
    assert "sample sheet" in objects[f"run7/{SHEET}"]["reason"]
    left, right = objects["run7/tumour-left.fq.gz"], objects["run7/tumour-right.fq.gz"]
    assert left["readSetKey"] == right["readSetKey"]
    (read_set,) = [i for i in pipe.items(tracking.KIND_READSET) if i["pk"] == left["readSetKey"]]
    assert read_set["status"] == tracking.QUEUED
    overrides = read_set["file1"]["overrides"]
    assert overrides["subject_id"] == "PATIENT-7" and overrides["sample_id"] == "TUMOUR-7"
    assert overrides["name"] == "patient7_tumour"


def test_the_sheet_wins_over_tags(pipe):
    pipe.put(f"r/{SHEET}", body=b"source1,source2,subject_id,sample_id\nA.fastq.gz,,SHEET-SUBJ,SHEET-SAMPLE\n")
    stored = pipe.put("r/A.fastq.gz", tags={"sample_id": "TAG-SAMPLE"})
    pipe.deliver([stored])
    (read_set,) = pipe.items(tracking.KIND_READSET)
    assert read_set["file1"]["overrides"]["sample_id"] == "SHEET-SAMPLE"


def test_a_broken_sheet_fails_the_files_with_its_error_instead_of_guessing_ids(pipe):
    pipe.put(f"bad/{SHEET}", body=b"source1,subject,sample\nx_R1.fastq.gz,P,S\n")
    pipe.upload(["bad/x_R1.fastq.gz"])
    item = pipe.objects()["bad/x_R1.fastq.gz"]
    assert item["status"] == tracking.FAILED
    assert "sample sheet" in item["reason"] and "redrive" in item["reason"]
    assert pipe.items(tracking.KIND_READSET) == []


def test_files_without_a_sheet_are_unaffected(pipe):
    pipe.upload(["plain/S1_R1.fastq.gz", "plain/S1_R2.fastq.gz"])
    (read_set,) = pipe.items(tracking.KIND_READSET)
    assert read_set["status"] == tracking.QUEUED and "overrides" not in read_set["file1"]


def test_a_sheet_arriving_between_two_mates_does_not_leave_the_second_waiting_for_the_first(pipe):
    """The first file was tracked by its name; the sheet then pairs it with the second. The
    second is not joined to a pair the first can never join (it would end ORPHANED): it keeps
    its name-based read set as its mate did, and both are imported."""
    pipe.upload(["between/left.fq.gz"])
    pipe.deliver(
        [pipe.put(f"between/{SHEET}", body=b"source1,source2,subject_id,sample_id\nleft.fq.gz,right.fq.gz,P,S\n")]
    )
    pipe.upload(["between/right.fq.gz"])
    objects = pipe.objects()
    left, right = objects["between/left.fq.gz"], objects["between/right.fq.gz"]
    assert left["status"] == right["status"] == tracking.QUEUED
    read_sets = {i["pk"]: i for i in pipe.items(tracking.KIND_READSET)}
    assert read_sets[right["readSetKey"]]["status"] == tracking.QUEUED
    assert left["readSetKey"] != right["readSetKey"]
    # The file's own item says why the sheet's row was not used (not only a log line).
    assert right["metadataNote"].startswith(
        f"metadata from the file name, not from the sample sheet s3://sequencing-runs/between/{SHEET}:"
    )
    assert "metadataNote" not in left


def test_a_sheet_before_both_mates_still_pairs_them(pipe):
    pipe.deliver(
        [pipe.put(f"both/{SHEET}", body=b"source1,source2,subject_id,sample_id\nleft.fq.gz,right.fq.gz,P,S\n")]
    )
    pipe.upload(["both/left.fq.gz", "both/right.fq.gz"])
    objects = pipe.objects()
    assert objects["both/left.fq.gz"]["readSetKey"] == objects["both/right.fq.gz"]["readSetKey"]
