"""completion.handler, the scheduled sweep: polling, orphans, stuck read sets, ended workflows."""

from __future__ import annotations

from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.domain.options import AssemblyOptions
from support.pipeline import TABLE, _starter_inputs, peak_tps

from .jobs import _pipe, job, parked_job


def test_sweep_polls_due_jobs_with_growing_intervals_then_wakes(pipe):
    job_id = parked_job(pipe, ["r/a.ubam"])
    pipe.double.take_events()  # every event lost
    assert pipe.sweep()["sweep"].get("polled") is None  # not due yet (first poll after 300 s)
    expected = [300, 600, 1200]
    for delay in expected:
        pipe.double.advance(delay)
        now = pipe.double.now()
        pipe.sweep()
        assert job(job_id)["nextPollAt"] == int(now + min(300 * 2 ** expected.index(delay), 21600))
    pipe.double.advance(2400)
    assert pipe.sweep()["sweep"]["woken"] == 1
    assert pipe.fake_sfn.successes == [("tok", {"jobId": job_id, "status": "COMPLETED"})]
    gets = pipe.double.api_calls("GetReadSetImportJob")
    pipe.double.advance(30000)
    pipe.sweep()
    assert pipe.double.api_calls("GetReadSetImportJob") == gets  # DONE jobs are not polled


def test_poll_interval_is_capped():
    pipeline = _pipe(env={"MAX_POLL_SECONDS": "900"}, job_duration_seconds=10**6)
    try:
        job_id = parked_job(pipeline, ["r/a.ubam"])
        for _ in range(6):
            pipeline.double.advance(1000)
            pipeline.sweep()
        assert job(job_id)["nextPollAt"] == int(pipeline.double.now() + 900)
    finally:
        pipeline.__exit__(None, None, None)


def test_sweep_paces_its_polls_at_the_shared_rate_limit(pipe):
    for index in range(6):
        parked_job(pipe, [f"r{index}/a.ubam"])
    pipe.double.advance(400)
    started = pipe.double.now()
    assert pipe.sweep()["sweep"]["polled"] == 6
    # OMICS_CALLS_PER_SECOND 4 plus a burst of 1: the sweep waited for its tokens instead of bursting
    assert peak_tps(pipe.double, "GetReadSetImportJob") <= 5
    assert pipe.double.now() - started >= 5 / 4


def test_orphan_is_reported_naming_its_missing_mate_and_revived_by_a_late_mate(pipe):
    pipe.upload(["run/S1_S1_L001_R1_001.fastq.gz"])
    pipe.double.advance(3600)
    pipe.sweep()
    assert pipe.status("run/S1_S1_L001_R1_001.fastq.gz") == tracking.WAITING_FOR_MATE
    pipe.double.advance(86400)
    pipe.sweep()
    item = pipe.objects()["run/S1_S1_L001_R1_001.fastq.gz"]
    assert item["status"] == tracking.SKIPPED
    assert "S1_S1_L001_R2_001.fastq.gz" in item["reason"] and "24 h" in item["reason"]
    (rs,) = pipe.items(tracking.KIND_READSET)
    assert rs["status"] == tracking.ORPHANED
    pipe.upload(["run/S1_S1_L001_R2_001.fastq.gz"])
    (rs,) = pipe.items(tracking.KIND_READSET)
    assert rs["status"] == tracking.QUEUED
    assert {o["status"] for o in pipe.objects().values()} == {tracking.QUEUED}
    assert "reason" not in pipe.objects()["run/S1_S1_L001_R1_001.fastq.gz"]


def test_orphan_policy_import_single():
    pipeline = _pipe(options=AssemblyOptions(orphan_policy="IMPORT_SINGLE"))
    try:
        pipeline.upload(["run/SRR1_1.fastq.gz"])
        pipeline.double.advance(86401)
        pipeline.sweep()
        (rs,) = pipeline.items(tracking.KIND_READSET)
        assert rs["status"] == tracking.QUEUED and rs["singleEnd"] is True
        (batch,) = _starter_inputs(pipeline)
        pipeline.invoke("import_start", batch)
        (request,) = [p for op, p in pipeline.double.calls if op == "StartReadSetImportJob"]
        assert request["sources"][0]["sourceFiles"] == {"source1": tracking.readset_sources(rs)[0]}
        pipeline.upload(["run/SRR1_2.fastq.gz"])
        late = pipeline.objects()["run/SRR1_2.fastq.gz"]
        assert late["status"] == tracking.SKIPPED and "single-end" in late["reason"]
    finally:
        pipeline.__exit__(None, None, None)


def test_a_pair_left_waiting_by_an_interrupted_intake_is_healed(pipe):
    pipe.upload(["run/A_R1.fq.gz", "run/A_R2.fq.gz"])
    (rs,) = pipe.items(tracking.KIND_READSET)
    tracking.Tracking(TABLE).table.update(rs["pk"], "RS", set={"status": tracking.WAITING_FOR_MATE})
    pipe.double.advance(120)
    assert "healed" not in pipe.sweep()["sweep"]  # the sweep looks at a read set when it is due...
    pipe.double.advance(tracking.STALE_CLAIM_SECONDS)  # ...15 minutes after its first mate
    assert pipe.sweep()["sweep"]["healed"] == 1
    (rs,) = pipe.items(tracking.KIND_READSET)
    assert rs["status"] == tracking.QUEUED


def test_stuck_read_sets_are_put_back_on_the_stream(pipe):
    pipe.upload(["r/queued.ubam", "r/starting.ubam"])
    pipe.stream_records()
    tr = tracking.Tracking(TABLE)
    starting = next(rs for rs in pipe.items(tracking.KIND_READSET) if "starting" in rs["pk"])
    assert tr.claim_for_batch(starting["pk"], 0, "b-dead")[0]
    pipe.stream_records()
    pipe.double.advance(tracking.STALE_CLAIM_SECONDS + 1)
    stats = pipe.sweep()["sweep"]
    assert stats["requeued"] == 1 and stats["released"] == 1
    records = [r for r in pipe.stream_records() if r["eventName"] == "MODIFY"]
    images = [tracking.deserialize(r["dynamodb"]["NewImage"]) for r in records]
    assert sorted(i["status"] for i in images) == [tracking.QUEUED, tracking.QUEUED]


def test_the_sweep_asks_step_functions_once_per_batch_not_once_per_read_set(pipe):
    keys = [f"r/s{index}.ubam" for index in range(5)]
    pipe.upload(keys)
    pipe.stream_records()
    tr = tracking.Tracking(TABLE)
    for read_set in pipe.items(tracking.KIND_READSET):
        assert tr.claim_for_batch(read_set["pk"], 0, "b-shared")[0]
    asked = []
    original = pipe.fake_sfn.describe_execution
    pipe.fake_sfn.describe_execution = lambda executionArn: asked.append(executionArn) or original(executionArn)
    pipe.double.advance(tracking.STALE_CLAIM_SECONDS + 1)
    stats = pipe.sweep()["sweep"]
    assert stats["released"] == 5
    assert len(asked) == 1


def _ended_with_a_claim(pipe, key: str) -> dict:
    pipe.upload([key])
    pipe.stream_records()
    tr = tracking.Tracking(TABLE)
    (read_set,) = pipe.items(tracking.KIND_READSET)
    assert tr.claim_for_batch(read_set["pk"], 0, "b-ended")[0]
    pipe.fake_sfn.started.append({"name": "b-ended", "input": "{}"})  # it ran and ended
    pipe.double.advance(tracking.STALE_CLAIM_SECONDS + 1)
    return read_set


def test_a_read_set_whose_workflow_ended_before_its_start_was_known_is_started_again_idempotently(pipe):
    _ended_with_a_claim(pipe, "r/ended.ubam")
    assert pipe.sweep()["sweep"].get("restarted") == 1
    (read_set,) = pipe.items(tracking.KIND_READSET)
    assert read_set["status"] == tracking.IMPORTING and pipe.objects()["r/ended.ubam"]["status"] == tracking.QUEUED
    assert "restarted" not in pipe.sweep()["sweep"]  # recorded: not started again
    assert pipe.double.import_jobs_started("readSet") == 1


def test_a_read_set_whose_restart_is_refused_is_failed_with_the_reason(pipe):
    _ended_with_a_claim(pipe, "r/ended.ubam")
    pipe.double.fail_next("StartReadSetImportJob", code="ValidationException")
    stats = pipe.sweep()["sweep"]
    assert stats.get("abandoned") == 1 and "released" not in stats
    (read_set,) = pipe.items(tracking.KIND_READSET)
    item = pipe.objects()["r/ended.ubam"]
    assert read_set["status"] == item["status"] == tracking.FAILED
    assert "rejected" in item["reason"] and "redrive" in item["reason"]


def test_files_of_a_workflow_stopped_by_hand_get_their_outcome_from_the_job(pipe):
    job_id = parked_job(pipe, ["r/stopped.ubam"])
    (read_set,) = pipe.items(tracking.KIND_READSET)
    pipe.fake_sfn.started.append({"name": read_set["batchId"], "input": "{}"})  # it ran, then was stopped
    pipe.double.advance(3700)  # the job finished; its event was lost and no Finalize ran
    assert pipe.sweep()["sweep"].get("finalized") is None  # not stale yet: left to the workflow
    pipe.double.advance(86400)
    assert pipe.sweep()["sweep"]["finalized"] == 1
    item = pipe.objects()["r/stopped.ubam"]
    assert item["status"] == tracking.IMPORTED and item["importJobId"] == job_id
