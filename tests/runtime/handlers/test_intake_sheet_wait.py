"""require_sample_sheet: files wait (WAITING_FOR_SHEET) until their run's sheet, and the
run-completion marker when one is configured, arrives; past the timeout they end FAILED."""

from __future__ import annotations

import json

import pytest
from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.contract import Kind
from support.pipeline import EmfLog, Pipeline, RecordingStepFunctions

from tests.runtime.domain.illumina_sheets import V1_NOVASEQ, V2_BCLCONVERT

FASTQS = [f"NVX42/Fastq/S24-0042-T_S1_L00{lane}_R{mate}_001.fastq.gz" for lane in (1, 2) for mate in (1, 2)]


def _pipeline(**env: str) -> Pipeline:
    return Pipeline(env={"REQUIRE_SHEET_PREFIXES": json.dumps(["NVX42/", "RUN_A/"]), **env})


@pytest.fixture
def pipe():
    with _pipeline() as pipeline:
        EmfLog().install()
        clients.override("stepfunctions", RecordingStepFunctions())
        yield pipeline


def _read_set(pipe, key):
    item = pipe.objects()[key]
    (read_set,) = [i for i in pipe.items(tracking.KIND_READSET) if i["pk"] == item["readSetKey"]]
    return read_set


def _waiting_entries(pipe):
    return [i for i in pipe.items() if i.get("kind") == Kind.WAIT and not i.get("releasedAt")]


def test_files_before_their_sheet_wait_then_take_its_ids_as_if_they_came_after_it(pipe):
    pipe.upload(FASTQS[:2])
    waiting = pipe.objects()[FASTQS[0]]
    assert waiting["status"] == tracking.WAITING_FOR_SHEET
    assert "SampleSheet.csv" in waiting["reason"]
    for where in ("NVX42/SampleSheet.csv", "NVX42/Fastq/SampleSheet.csv", "NVX42/Reports/SampleSheet.csv"):
        assert f"s3://sequencing-runs/{where}" in waiting["reason"]
    assert not pipe.items(tracking.KIND_READSET)  # no read set with name-based ids

    pipe.upload(["NVX42/Reports/SampleSheet.csv"], body=V2_BCLCONVERT.encode())  # during: lane 2 still to come
    pipe.upload(FASTQS[2:])
    objects = pipe.objects()
    assert {objects[k]["status"] for k in FASTQS} == {tracking.QUEUED}
    assert objects["NVX42/Reports/SampleSheet.csv"]["status"] == tracking.SKIPPED
    for key in (FASTQS[0], FASTQS[2]):
        overrides = _read_set(pipe, key)["file1"]["overrides"]
        assert overrides["sample_id"] == "S24-0042-T" and overrides["description"] == "Tumour-Normal-2026"
    assert _waiting_entries(pipe) == []


def test_a_redelivered_sheet_or_file_event_changes_nothing(pipe):
    files = pipe.upload(FASTQS[:2])
    sheet = pipe.upload(["NVX42/SampleSheet.csv"], body=V2_BCLCONVERT.encode())
    before = {i["pk"] + i["sk"]: (i.get("status"), i.get("updatedAt")) for i in pipe.items()}
    pipe.deliver(sheet + files, duplicates=True)
    after = {i["pk"] + i["sk"]: (i.get("status"), i.get("updatedAt")) for i in pipe.items()}
    assert after == before


def test_files_outside_the_prefixes_and_non_sequence_files_do_not_wait(pipe):
    pipe.upload(["other/S1_L001_R1_001.fastq.gz", "NVX42/InterOp/QMetricsOut.bin", "NVX42/CopyComplete.txt"])
    objects = pipe.objects()
    assert objects["other/S1_L001_R1_001.fastq.gz"]["status"] == tracking.WAITING_FOR_MATE
    assert objects["NVX42/InterOp/QMetricsOut.bin"]["status"] == tracking.SKIPPED
    assert "interrupted upload" not in objects["NVX42/CopyComplete.txt"]["reason"]


def test_a_malformed_sheet_fails_the_waiting_files_naming_its_line(pipe):
    pipe.upload(["RUN_A/PAT-1001_S1_L001_R1_001.fastq.gz"])
    broken = V1_NOVASEQ.replace("2,LIB-0002,", "two,LIB-0002,")
    pipe.upload(["RUN_A/SampleSheet.csv"], body=broken.encode())
    item = pipe.objects()["RUN_A/PAT-1001_S1_L001_R1_001.fastq.gz"]
    assert item["status"] == tracking.FAILED
    assert "line 26: Lane 'two'" in item["reason"] and "redrive" in item["reason"]


def test_past_the_timeout_a_waiting_file_fails_saying_which_sheet_where_and_how_to_redrive(pipe):
    pipe.upload(["RUN_A/PAT-1001_S1_L001_R1_001.fastq.gz"])
    pipe.double.advance(3600)
    pipe.sweep()
    assert pipe.objects()["RUN_A/PAT-1001_S1_L001_R1_001.fastq.gz"]["status"] == tracking.WAITING_FOR_SHEET
    pipe.double.advance(86400)
    pipe.sweep()
    item = pipe.objects()["RUN_A/PAT-1001_S1_L001_R1_001.fastq.gz"]
    assert item["status"] == tracking.FAILED
    assert "SampleSheet.csv" in item["reason"] and "s3://sequencing-runs/RUN_A/SampleSheet.csv" in item["reason"]
    assert "24 h" in item["reason"]
    assert "omics-autoload redrive --key s3://sequencing-runs/RUN_A/PAT-1001_S1_L001_R1_001.fastq.gz" in item["reason"]

    # The operator uploads the sheet and redrives: the file is imported with its ids.
    pipe.upload(["RUN_A/SampleSheet.csv"], body=V1_NOVASEQ.encode())
    assert pipe.objects()["RUN_A/PAT-1001_S1_L001_R1_001.fastq.gz"]["status"] == tracking.FAILED
    event = {"Records": [pipe.s3_record(s) for s in pipe._stored if s.key.endswith("PAT-1001_S1_L001_R1_001.fastq.gz")]}
    pipe.invoke("intake", {**event, "redrive": True})
    assert pipe.objects()["RUN_A/PAT-1001_S1_L001_R1_001.fastq.gz"]["status"] == tracking.WAITING_FOR_MATE
    overrides = _read_set(pipe, "RUN_A/PAT-1001_S1_L001_R1_001.fastq.gz")["file1"]["overrides"]
    assert overrides["subject_id"] == "PAT-1001" and overrides["sample_id"] == "LIB-0001"


def test_a_run_completion_marker_releases_the_run_as_one_unit():
    with _pipeline(RUN_COMPLETE_MARKER="CopyComplete.txt") as pipe:
        EmfLog().install()
        clients.override("stepfunctions", RecordingStepFunctions())
        pipe.upload(["NVX42/SampleSheet.csv"], body=V2_BCLCONVERT.encode())  # the sheet first: still waits
        pipe.upload(FASTQS)
        objects = pipe.objects()
        assert {objects[k]["status"] for k in FASTQS} == {tracking.WAITING_FOR_SHEET}
        assert "s3://sequencing-runs/NVX42/CopyComplete.txt" in objects[FASTQS[0]]["reason"]
        assert "SampleSheet.csv" not in objects[FASTQS[0]]["reason"]
        pipe.upload(["NVX42/CopyComplete.txt"], body=b"")
        objects = pipe.objects()
        assert {objects[k]["status"] for k in FASTQS} == {tracking.QUEUED}
        marker = objects["NVX42/CopyComplete.txt"]
        assert marker["status"] == tracking.SKIPPED and "run-completion marker" in marker["reason"]
        assert _read_set(pipe, FASTQS[3])["file2"]["overrides"]["sample_id"] == "S24-0042-T"


def test_the_marker_before_the_sheet_leaves_the_files_waiting_for_the_sheet_alone():
    with _pipeline(RUN_COMPLETE_MARKER="CopyComplete.txt") as pipe:
        EmfLog().install()
        clients.override("stepfunctions", RecordingStepFunctions())
        pipe.upload(FASTQS[:2])
        pipe.upload(["NVX42/CopyComplete.txt"], body=b"")
        item = pipe.objects()[FASTQS[0]]
        assert item["status"] == tracking.WAITING_FOR_SHEET
        assert "CopyComplete" not in item["reason"] and "SampleSheet.csv" in item["reason"]
        pipe.upload(["NVX42/SampleSheet.csv"], body=V2_BCLCONVERT.encode())
        assert pipe.objects()[FASTQS[0]]["status"] == tracking.QUEUED
