"""The workflow's task handlers: import_start, import_wait, import_finalize (and RecordFailure)."""

from __future__ import annotations

import json

import pytest
from omics_autoload_runtime import contract, errors
from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.logic import import_finalize, import_start
from support.emf import parse
from support.pipeline import (
    ROLE_ARN,
    TABLE,
    EmfLog,
    Pipeline,
    RecordingStepFunctions,
    _starter_inputs,
    exact_total,
)


@pytest.fixture
def pipe():
    with Pipeline(job_duration_seconds=600) as pipeline:
        pipeline.fake_sfn = RecordingStepFunctions()
        pipeline.metric_log = EmfLog().install()
        clients.override("stepfunctions", pipeline.fake_sfn)
        yield pipeline


def one_batch(pipe, keys):
    pipe.upload(keys)
    (batch,) = _starter_inputs(pipe)
    return batch


def start_requests(pipe):
    return [params for op, params in pipe.double.calls if op == "StartReadSetImportJob"]


# ------------------------------------------------------------------ import_start


def test_start_submits_one_job_and_records_it(pipe):
    batch = one_batch(pipe, ["r/S1_S1_L001_R1_001.fastq.gz", "r/S1_S1_L001_R2_001.fastq.gz", "r/x.cram", "r/u.ubam"])
    out = pipe.invoke("import_start", batch)
    assert out["batchId"] == batch["batchId"] and out["jobId"]
    assert sorted(out["readSetKeys"]) == sorted(batch["readSetKeys"])
    (request,) = start_requests(pipe)
    assert request["clientToken"] == import_start.client_token(batch["batchId"], request["sources"])
    assert request["roleArn"] == ROLE_ARN
    by_type = {s["sourceFileType"]: s for s in request["sources"]}
    assert by_type["FASTQ"]["sourceFiles"]["source2"].endswith("R2_001.fastq.gz")
    assert by_type["FASTQ"]["sampleId"] == "S1" and by_type["FASTQ"]["name"] == "S1_S1_L001"
    assert by_type["CRAM"]["referenceArn"] == pipe.reference_arn
    assert "referenceArn" not in by_type["UBAM"]
    job = tracking.Tracking(TABLE).get_job(out["jobId"])
    assert job["status"] == tracking.IMPORTING and job["batchId"] == batch["batchId"]
    assert job["nextPollAt"] == int(pipe.double.now() + 300)
    read_sets = pipe.items(tracking.KIND_READSET)
    assert {rs["status"] for rs in read_sets} == {tracking.IMPORTING}
    assert {rs["importJobId"] for rs in read_sets} == {out["jobId"]}
    # The start writes the read sets only: each file's item waits QUEUED for the outcome.
    assert {o["status"] for o in pipe.items(tracking.KIND_OBJECT)} == {tracking.QUEUED}


def test_a_redelivery_that_crashes_intake_while_its_read_set_imports_leaves_the_file_to_it(pipe, monkeypatch):
    """The file's item says QUEUED while its read set imports: intake's last resort (FAILED
    for an error it cannot place) must not end a file that an import is under way for."""
    from omics_autoload_runtime.handlers import intake as intake_function
    from omics_autoload_runtime.logic import intake as intake_logic

    stored = pipe.upload(["r/a.ubam"])
    out = pipe.invoke("import_start", _starter_inputs(pipe)[0])

    def broken(self, event):
        raise ValueError("a bug")

    monkeypatch.setattr(intake_logic.Intake, "process", broken)
    intake_function.handler({"Records": [pipe.s3_record(stored[0])]})
    assert pipe.objects()["r/a.ubam"]["status"] == tracking.QUEUED
    monkeypatch.undo()
    pipe.double.advance(700)
    pipe.invoke("import_finalize", out)
    assert pipe.objects()["r/a.ubam"]["status"] == tracking.IMPORTED


def test_start_is_idempotent_when_retried(pipe):
    batch = one_batch(pipe, ["r/a.ubam", "r/b.ubam"])
    first = pipe.invoke("import_start", batch)
    second = pipe.invoke("import_start", batch)
    assert first == second
    assert pipe.double.import_jobs_started("readSet") == 1


def test_start_after_a_crash_before_recording_reuses_the_job(pipe, monkeypatch):
    batch = one_batch(pipe, ["r/a.ubam"])
    monkeypatch.setattr(import_start.ImportStart, "_record", lambda *a, **k: (_ for _ in ()).throw(OSError("crash")))
    with pytest.raises(OSError):
        pipe.invoke("import_start", batch)
    monkeypatch.undo()
    out = pipe.invoke("import_start", batch)
    assert pipe.double.import_jobs_started("readSet") == 1 and out["jobId"]


def test_a_retry_after_a_crash_half_way_through_recording_keeps_each_source_index(pipe, monkeypatch):
    batch = one_batch(pipe, ["r/a.ubam", "r/b.ubam", "r/c.ubam"])
    original = tracking.Tracking.move_read_set
    calls = []

    def crash_after_the_first(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("crash")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(tracking.Tracking, "move_read_set", crash_after_the_first)
    with pytest.raises(OSError):
        pipe.invoke("import_start", batch)
    monkeypatch.undo()
    out = pipe.invoke("import_start", batch)
    assert pipe.double.import_jobs_started("readSet") == 1
    job = pipe.double.client.get_read_set_import_job(id=out["jobId"], sequenceStoreId=pipe.store_id)
    sources = [source["sourceFiles"]["source1"] for source in job["sources"]]
    for read_set in pipe.items(tracking.KIND_READSET):
        assert sources[read_set["sourceIndex"]] == tracking.readset_sources(read_set)[0], read_set["pk"]


@pytest.mark.parametrize(
    ("setting", "error"),
    [({"throttle_fraction": 1.0}, "OmicsThrottled"), ({"max_concurrent_import_jobs": 0}, "OmicsQuotaExceeded")],
)
def test_start_errors_carry_step_functions_error_names(pipe, setting, error):
    batch = one_batch(pipe, ["r/a.ubam"])
    for name, value in setting.items():
        setattr(pipe.double, name, value)
    with pytest.raises(Exception) as raised:
        pipe.invoke("import_start", batch)
    assert type(raised.value).__name__ == error
    (rs,) = pipe.items(tracking.KIND_READSET)
    assert rs["status"] == tracking.STARTING  # untouched: the workflow retries


def test_invalid_read_sets_fail_before_the_call_and_the_rest_go_on(pipe):
    pipe.put("r/bad.ubam", tags={"SampleId": "x" * 200})
    pipe.deliver([pipe._stored[-1]])
    batch = one_batch(pipe, ["r/good.ubam"])
    out = pipe.invoke("import_start", batch)
    assert len(out["readSetKeys"]) == 1 and out["readSetKeys"][0].endswith("good#UBAM")
    bad = pipe.objects()["r/bad.ubam"]
    assert bad["status"] == tracking.FAILED and "sampleId" in bad["reason"] and "127" in bad["reason"]


def test_a_file_healthomics_would_refuse_fails_at_intake_and_starts_nothing(pipe):
    pipe.put("r/bad.ubam", tags={"SampleId": "x" * 200})
    pipe.deliver([pipe._stored[-1]])
    bad = pipe.objects()["r/bad.ubam"]
    assert bad["status"] == tracking.FAILED
    assert "sampleId" in bad["reason"] and "127" in bad["reason"]
    assert _starter_inputs(pipe) == []


def test_nothing_valid_means_no_job(pipe):
    batch = one_batch(pipe, ["r/a.bam"])
    pipe.ssm.put_parameter(Name="/omics-autoload/reference-arn", Value="NONE", Overwrite=True, Type="String")
    assert pipe.invoke("import_start", batch) == {"batchId": batch["batchId"], "jobId": None, "readSetKeys": []}
    assert start_requests(pipe) == []


def test_source_the_service_rejects_is_failed_and_the_batch_retried_without_it(pipe):
    batch = one_batch(pipe, ["r/a.ubam", "r/b.cram"])
    pipe.ssm.put_parameter(
        Name="/omics-autoload/reference-arn", Value="arn:aws:omics:us-east-1:1:gone", Overwrite=True, Type="String"
    )
    out = pipe.invoke("import_start", batch)
    assert len(out["readSetKeys"]) == 1 and out["readSetKeys"][0].endswith("a#UBAM")
    cram = pipe.objects()["r/b.cram"]
    assert cram["status"] == tracking.FAILED and "not an existing reference" in cram["reason"]
    assert len(start_requests(pipe)) == 2


def test_no_reference_at_run_time_skips_bam_files(pipe):
    batch = one_batch(pipe, ["r/a.bam", "r/b.ubam"])
    pipe.ssm.put_parameter(Name="/omics-autoload/reference-arn", Value="NONE", Overwrite=True, Type="String")
    out = pipe.invoke("import_start", batch)
    assert len(out["readSetKeys"]) == 1
    bam = pipe.objects()["r/a.bam"]
    assert bam["status"] == tracking.SKIPPED and bam["reason"].startswith("no reference genome configured")


def test_only_read_sets_held_by_the_batch_are_submitted(pipe):
    batch = one_batch(pipe, ["r/a.ubam", "r/b.ubam"])
    tracking.Tracking(TABLE).table.update(batch["readSetKeys"][0], "RS", set={"batchId": "b-other"})
    out = pipe.invoke("import_start", batch)
    assert out["readSetKeys"] == batch["readSetKeys"][1:]


# ------------------------------------------------------------------ import_wait


def test_wait_parks_the_token_and_wakes_at_once_when_already_finished(pipe):
    batch = one_batch(pipe, ["r/a.ubam"])
    out = pipe.invoke("import_start", batch)
    event = {"taskToken": "token-1", "jobId": out["jobId"], "batchId": batch["batchId"]}
    assert pipe.invoke("import_wait", event)["woken"] is False
    job = tracking.Tracking(TABLE).get_job(out["jobId"])
    assert job["taskToken"] == "token-1" and job["nextPollAt"] == int(pipe.double.now() + 300)
    pipe.double.advance(700)
    assert pipe.invoke("import_wait", dict(event, taskToken="token-2"))["woken"] is True
    assert pipe.fake_sfn.successes == [("token-2", {"jobId": out["jobId"], "status": "COMPLETED"})]
    assert tracking.Tracking(TABLE).get_job(out["jobId"])["status"] == tracking.DONE


def test_wait_survives_a_throttled_first_look(pipe):
    batch = one_batch(pipe, ["r/a.ubam"])
    out = pipe.invoke("import_start", batch)
    pipe.double.throttle_fraction = 1.0
    result = pipe.invoke("import_wait", {"taskToken": "t", "jobId": out["jobId"], "batchId": batch["batchId"]})
    assert result == {"jobId": out["jobId"], "stored": True, "woken": False}


# ------------------------------------------------------------------ import_finalize


def run_job(pipe, keys):
    batch = one_batch(pipe, keys)
    out = pipe.invoke("import_start", batch)
    pipe.double.advance(700)
    return pipe.invoke("import_finalize", out)


def test_finalize_marks_files_imported_with_read_set_ids_and_puts_metrics(pipe):
    result = run_job(pipe, ["r/S_R1.fq.gz", "r/S_R2.fq.gz", "r/u.ubam"])
    assert result["status"] == "COMPLETED" and result["imported"] == 2
    objects = pipe.objects()
    assert {o["status"] for o in objects.values()} == {tracking.IMPORTED}
    assert {o["importJobId"] for o in objects.values()} == {result["jobId"]}  # written with the outcome
    assert objects["r/S_R1.fq.gz"]["readSetId"] == objects["r/S_R2.fq.gz"]["readSetId"]
    assert objects["r/S_R1.fq.gz"]["readSetId"] in pipe.double.read_sets
    # intake's line, then one line per file type of the job: no API call at all
    assert len(pipe.metric_log.lines) == 1 + 2
    job = [d for line in pipe.metric_log.lines[1:] for d in parse(line)]
    assert {d["name"] for d in job} == {"FilesImported", "BytesImported", "ImportLatencySeconds"}
    assert pipe.metric_log.total("FilesImported", FileType="FASTQ") == 2  # a field of the line
    store = {"SequenceStoreId": pipe.store_id}
    assert all(d["dimensions"] == store for d in job)  # one dimension set: no metric per file type
    assert exact_total(pipe.metric_log, "BytesImported", **store) == sum(o["size"] for o in objects.values())
    assert exact_total(pipe.metric_log, "FilesImported", **store) == 3  # what the alarms read
    assert len(pipe.metric_log.exact("ImportLatencySeconds", **store)) == 3  # one sample per file
    assert {d["unit"] for d in job if d["name"] == "BytesImported"} == {"Bytes"}
    assert tracking.Tracking(TABLE).get_job(result["jobId"])["status"] == tracking.DONE


def test_partial_failure_gives_each_source_its_own_outcome(pipe):
    pipe.double.fail_source("bad", "File is truncated at byte 1024")
    result = run_job(pipe, ["r/good.ubam", "r/bad.ubam"])
    assert result["status"] == "COMPLETED_WITH_FAILURES"
    objects = pipe.objects()
    assert objects["r/good.ubam"]["status"] == tracking.IMPORTED
    assert objects["r/bad.ubam"]["status"] == tracking.FAILED
    assert "File is truncated at byte 1024" in objects["r/bad.ubam"]["reason"]
    assert exact_total(pipe.metric_log, "FilesFailed", SequenceStoreId=pipe.store_id) == 1


def test_failed_job_fails_every_file_with_the_job_message(pipe):
    pipe.double.fail_next_job("Access denied reading s3://sequencing-runs")
    run_job(pipe, ["r/a.ubam", "r/b.ubam"])
    for item in pipe.objects().values():
        assert item["status"] == tracking.FAILED and "Access denied reading" in item["reason"]
        assert item["importJobId"]  # which job failed it: on the file's item too


def test_cancelled_job_says_cancelled(pipe):
    batch = one_batch(pipe, ["r/a.ubam"])
    out = pipe.invoke("import_start", batch)
    pipe.double.cancel_job(out["jobId"])
    pipe.double.advance(5)
    pipe.invoke("import_finalize", out)
    item = pipe.objects()["r/a.ubam"]
    assert item["status"] == tracking.FAILED and "cancelled" in item["reason"]


def test_finalize_twice_changes_nothing(pipe):
    result = run_job(pipe, ["r/a.ubam"])
    before = sorted(map(repr, pipe.items(tracking.KIND_OBJECT)))
    again = pipe.invoke(
        "import_finalize",
        {
            "batchId": result["batchId"],
            "jobId": result["jobId"],
            "readSetKeys": [i["pk"] for i in pipe.items(tracking.KIND_READSET)],
        },
    )
    assert again["imported"] == 0 and sorted(map(repr, pipe.items(tracking.KIND_OBJECT))) == before


def test_finalize_of_an_unfinished_job_raises(pipe):
    batch = one_batch(pipe, ["r/a.ubam"])
    out = pipe.invoke("import_start", batch)
    with pytest.raises(errors.ImportNotFinished):
        pipe.invoke("import_finalize", out)


def test_record_failure_marks_a_refused_batch_failed_with_a_readable_reason(pipe):
    batch = one_batch(pipe, ["r/a.ubam", "r/S_R1.fq.gz", "r/S_R2.fq.gz"])
    cause = json.dumps({"errorType": "ImportRejected", "errorMessage": "StartReadSetImportJob: bad role"})
    out = pipe.invoke("import_finalize", dict(batch, error={"Error": "ImportRejected", "Cause": cause}))
    assert out["failed"] == 2 and out["open"] == 0
    for item in pipe.objects().values():
        assert item["status"] == tracking.FAILED
        assert "rejected the import job" in item["reason"] and "omics-autoload redrive" in item["reason"]


@pytest.mark.parametrize("error", ["OmicsQuotaExceeded", "OmicsUnavailable", "Lambda.Unknown", "States.Timeout"])
def test_record_failure_never_fails_what_healthomics_may_import(pipe, error):
    # A start that may have gone through (a lost reply, then retries ran out), or a job
    # that runs: the outcome is unknown, so nothing is FAILED; the sweep re-checks it.
    batch = one_batch(pipe, ["r/a.ubam", "r/S_R1.fq.gz", "r/S_R2.fq.gz"])
    started = pipe.invoke("import_start", batch) if error == "States.Timeout" else batch
    out = pipe.invoke("import_finalize", dict(started, error={"Error": error, "Cause": "x"}))
    assert out["failed"] == 0 and out["open"] == 2
    assert not {item["status"] for item in pipe.objects().values()} & {tracking.FAILED}


def test_failure_reasons():
    reason = import_finalize.failure_reason({"Error": "States.Timeout", "Cause": None}, "1234567890")
    assert "import job 1234567890 did not finish" in reason
    assert "rejected" in import_finalize.failure_reason({"Error": "ImportRejected", "Cause": "x"}, None)


def _keys_entry(job_id):
    pk, _ = tracking.job_key(job_id)
    item = tracking.Tracking(TABLE).table.get(pk, tracking.JOB_KEYS_SK) or {}
    return {k: item.get(k) for k in (contract.DUE_QUEUE, contract.DUE_AT, contract.DUE_FILES, contract.DUE_BATCH)}


def test_a_job_stands_in_the_due_index_for_its_importing_read_sets_until_they_settle(pipe):
    # Issue 14: one index entry per job (its KEYS item, due at the job's expected end), not
    # two index writes per read set; Finalize takes it out once nothing is IMPORTING.
    batch = one_batch(pipe, ["r/S_R1.fq.gz", "r/S_R2.fq.gz", "r/u.ubam"])
    out = pipe.invoke("import_start", batch)
    for read_set in pipe.items(tracking.KIND_READSET):
        assert read_set["status"] == tracking.IMPORTING and contract.DUE_QUEUE not in read_set
    stuck_at = tracking.Tracking(TABLE).get_job(out["jobId"])["stuckAt"]
    assert _keys_entry(out["jobId"]) == {
        contract.DUE_QUEUE: contract.DueQueue.IMPORTING,
        contract.DUE_AT: stuck_at,
        contract.DUE_FILES: 3,
        contract.DUE_BATCH: batch["batchId"],
    }
    pipe.double.advance(700)
    pipe.invoke("import_finalize", out)
    assert set(_keys_entry(out["jobId"]).values()) == {None}


def test_a_finalize_cut_off_after_the_files_is_completed_by_its_retry(pipe, monkeypatch):
    # The job's outcome is written files first, the read set last (docs/state-model.md): a
    # crash in between leaves the read set IMPORTING, and the retry finishes the move.
    batch = one_batch(pipe, ["r/S_R1.fq.gz", "r/S_R2.fq.gz"])
    out = pipe.invoke("import_start", batch)
    pipe.double.advance(700)
    table = tracking.Tracking(TABLE).table
    original = type(table).write_if

    def crash_on_the_read_set(self, request):
        if request["Key"]["pk"]["S"].startswith(tracking.READSET_PREFIX):
            raise errors.OmicsUnavailable("the function timed out")
        return original(self, request)

    monkeypatch.setattr(type(table), "write_if", crash_on_the_read_set)
    with pytest.raises(errors.OmicsUnavailable):
        pipe.invoke("import_finalize", out)
    (read_set,) = pipe.items(tracking.KIND_READSET)
    assert read_set["status"] == tracking.IMPORTING
    assert {o["status"] for o in pipe.objects().values()} == {tracking.IMPORTED}  # never behind it
    monkeypatch.undo()
    assert pipe.invoke("import_finalize", out)["imported"] == 1
    (read_set,) = pipe.items(tracking.KIND_READSET)
    assert read_set["status"] == tracking.IMPORTED
    assert tracking.Tracking(TABLE).get_job(out["jobId"])["status"] == tracking.DONE
