"""Every repeat of a batch's StartReadSetImportJob (the task's retry, the sweep's re-issue for
an ended workflow) sends the request the first try sent: nothing is imported twice."""

from __future__ import annotations

import json

import pytest
from omics_autoload_runtime import errors
from omics_autoload_runtime.adapters import import_slots, tracking
from omics_autoload_runtime.logic import import_start
from support.pipeline import TABLE, _starter_inputs, matches_filter

GONE_REFERENCE = "arn:aws:omics:us-east-1:1:gone"  # the service refuses a source naming it


def start_requests(pipe):
    return [params for op, params in pipe.double.calls if op == "StartReadSetImportJob"]


def lose_the_reply_to_the_start_without_the_cram(pipe):
    """The first start (refused) answers; the second (without the CRAM) takes effect, but its reply is lost."""
    lost = []

    def lose_once(params, **_):
        if not lost and len(params["sources"]) == 1:
            lost.append(params)
            pipe.double.lose_next_reply("StartReadSetImportJob")

    pipe.double.client.meta.events.register("before-parameter-build.omics.StartReadSetImportJob", lose_once)


def lost_start_after_a_drop(pipe):
    """A batch of a uBAM and a CRAM the service refuses: the start without the CRAM goes
    through, but its reply is lost."""
    pipe.upload(["r/a.ubam", "r/b.cram"])
    (batch,) = _starter_inputs(pipe)
    pipe.ssm.put_parameter(Name="/omics-autoload/reference-arn", Value=GONE_REFERENCE, Overwrite=True, Type="String")
    lose_the_reply_to_the_start_without_the_cram(pipe)
    with pytest.raises(errors.OmicsUnavailable):
        pipe.invoke("import_start", batch)
    assert pipe.double.import_jobs_started("readSet") == 1
    assert pipe.objects()["r/b.cram"]["status"] == tracking.FAILED
    return batch


def end_the_workflow(pipe, batch, still_open=1):
    """Retries ran out: RecordFailure leaves the STARTING read sets open, the execution ended."""
    out = pipe.invoke("import_finalize", dict(batch, error={"Error": "OmicsUnavailable", "Cause": "timeout"}))
    assert out["open"] == still_open
    pipe.fake_sfn.started.append({"name": batch["batchId"], "input": json.dumps(batch)})
    pipe.double.advance(tracking.STALE_CLAIM_SECONDS + 1)


def assert_one_job_imports_a(pipe):
    assert pipe.double.import_jobs_started("readSet") == 1
    (job_id,) = [job_id for job_id, job in pipe.double.jobs.items() if job["kind"] == "readSet"]
    (read_set,) = [rs for rs in pipe.items(tracking.KIND_READSET) if rs["status"] == tracking.IMPORTING]
    assert read_set["importJobId"] == job_id and tracking.readset_sources(read_set)[0].endswith("r/a.ubam")
    first, *repeats = [r for r in start_requests(pipe) if len(r["sources"]) == 1]
    assert repeats and all(r == first for r in repeats)  # the same request, token included


def test_the_sweeps_reissue_of_a_start_that_dropped_a_source_gets_the_job_it_started(pipe):
    batch = lost_start_after_a_drop(pipe)
    end_the_workflow(pipe, batch)
    assert pipe.sweep()["sweep"].get("restarted") == 1
    assert_one_job_imports_a(pipe)


def test_the_retry_of_a_start_that_dropped_a_source_gets_the_job_it_started(pipe):
    batch = lost_start_after_a_drop(pipe)
    out = pipe.invoke("import_start", batch)
    assert out["jobId"] in pipe.double.jobs
    assert_one_job_imports_a(pipe)


def test_a_repeat_sends_what_the_lost_start_sent_though_a_file_was_replaced_meanwhile(pipe):
    # HealthOmics may be importing b already: it stays in the job, never SUPERSEDED beside it
    # (Finalize compares the version the job read); the newer version is tracked on its own.
    pipe.upload(["r/a.ubam", "r/b.ubam"])
    (batch,) = _starter_inputs(pipe)
    pipe.double.lose_next_reply("StartReadSetImportJob")
    with pytest.raises(errors.OmicsUnavailable):
        pipe.invoke("import_start", batch)
    pipe.put("r/b.ubam", body=b"@r2\nACGT\n+\nIIII\n")
    end_the_workflow(pipe, batch, still_open=2)
    assert pipe.sweep()["sweep"].get("restarted") == 2
    first, repeat = start_requests(pipe)
    assert repeat == first and pipe.double.import_jobs_started("readSet") == 1
    assert {rs["status"] for rs in pipe.items(tracking.KIND_READSET)} == {tracking.IMPORTING}


def test_what_an_earlier_batch_sent_is_not_sent_again_after_a_redrive(pipe):
    tr = tracking.Tracking(TABLE)
    sent = {"RS#a": {"source": {"name": "a"}, "reference": None}}
    assert tr.put_sent("b-old", sent) == sent
    assert tr.put_sent("b-old", {"RS#a": {"source": {"name": "other"}}}) == sent  # the first record stays
    assert import_start.sent_before(tr, {"pk": "RS#a"}, "b-old") == sent["RS#a"]
    assert import_start.sent_before(tr, {"pk": "RS#a"}, "b-new") is None


def test_a_batch_whose_start_is_unknown_keeps_its_import_slot_until_its_job_is_known(pipe):
    # Released while the lost start's job may run, the slot would go to the next batch: one
    # job more than max_concurrent_import_jobs would run, the re-issue's outside any slot.
    pipe.upload(["r/a.ubam"])
    (batch,) = _starter_inputs(pipe)
    slots = import_slots.Capacity.from_config()
    assert slots.acquire(batch["batchId"], "its-task") == "granted"
    pipe.double.lose_next_reply("StartReadSetImportJob")
    with pytest.raises(errors.OmicsUnavailable):
        pipe.invoke("import_start", batch)
    assert pipe.invoke("import_finalize", dict(batch, error={"Error": "OmicsUnavailable", "Cause": "x"}))["open"] == 1
    described = pipe.fake_sfn.describe_execution
    pipe.fake_sfn.describe_execution = lambda executionArn: (
        {"status": "FAILED", "input": json.dumps(batch)}
        if executionArn.endswith(":" + batch["batchId"])
        else described(executionArn)
    )
    pipe.double.advance(import_slots.SWEEP_GRACE_SECONDS + 1)  # its read set is not due yet
    assert "slotsReclaimed" not in pipe.sweep()["sweep"]
    assert slots.holders() == [batch["batchId"]] and slots.in_flight() == 1
    pipe.double.advance(tracking.STALE_CLAIM_SECONDS)
    assert pipe.sweep()["sweep"].get("restarted") == 1  # the job it started, now recorded
    assert slots.holders() == [batch["batchId"]]
    pipe.double.advance(2 * 3600)  # the job ended; the sweep records its outcome
    pipe.sweep()
    assert pipe.objects()["r/a.ubam"]["status"] == tracking.IMPORTED
    pipe.double.advance(import_slots.SWEEP_GRACE_SECONDS + 1)
    pipe.sweep()
    assert slots.holders() == [] and slots.in_flight() == 0
    assert pipe.double.import_jobs_started("readSet") == 1


def test_a_late_stream_record_does_not_take_over_a_read_set_whose_start_may_have_gone_through(pipe):
    pipe.upload(["r/a.ubam"])
    records = [r for r in pipe.stream_records() if matches_filter(tracking.STARTER_FILTER_PATTERN, r)]
    (read_set,) = pipe.items(tracking.KIND_READSET)
    assert tracking.Tracking(TABLE).claim_for_batch(read_set["pk"], 0, "b-ended")[0]
    batch = {"batchId": "b-ended", "readSetKeys": [read_set["pk"]]}
    pipe.double.lose_next_reply("StartReadSetImportJob")
    with pytest.raises(errors.OmicsUnavailable):
        pipe.invoke("import_start", batch)
    end_the_workflow(pipe, batch)
    assert pipe.invoke("starter", {"Records": records}) == {"batchItemFailures": []}
    assert [started["name"] for started in pipe.fake_sfn.started] == ["b-ended"]  # no second batch
    assert pipe.sweep()["sweep"].get("restarted") == 1
    assert pipe.double.import_jobs_started("readSet") == 1
