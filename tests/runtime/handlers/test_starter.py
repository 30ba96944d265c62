"""starter.handler: stream batches -> claims -> one execution per batch."""

from __future__ import annotations

import re

import pytest
from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.logic import starter
from support.pipeline import TABLE, Pipeline, RecordingStepFunctions, matches_filter


@pytest.fixture
def pipe():
    with Pipeline() as pipeline:
        pipeline.fake_sfn = RecordingStepFunctions()
        clients.override("stepfunctions", pipeline.fake_sfn)
        yield pipeline


def queued_records(pipe):
    return [r for r in pipe.stream_records() if matches_filter(tracking.STARTER_FILTER_PATTERN, r)]


def test_batch_id_is_deterministic_and_a_valid_execution_name():
    pairs = [("RS#s3://b/a#UBAM", 0), ("RS#s3://b/b#UBAM", 1)]
    one, two = starter.batch_id_for(pairs), starter.batch_id_for(pairs[::-1] + pairs)
    assert one == two and len(one) <= 80 and re.fullmatch(r"[A-Za-z0-9_-]+", one)
    assert starter.batch_id_for([("RS#s3://b/a#UBAM", 1)]) != starter.batch_id_for([("RS#s3://b/a#UBAM", 0)])


def test_queued_read_sets_start_one_execution(pipe):
    pipe.upload(["r/a.ubam", "r/b.ubam", "r/S_R1.fq.gz", "r/S_R2.fq.gz", "r/notes.txt"])
    records = queued_records(pipe)
    assert len(records) == 3
    assert pipe.invoke("starter", {"Records": records}) == {"batchItemFailures": []}
    (started,) = pipe.fake_sfn.started
    assert started["name"] == started["input"]["batchId"]
    assert len(started["input"]["readSetKeys"]) == 3
    statuses = {rs["status"] for rs in pipe.items(tracking.KIND_READSET)}
    assert statuses == {tracking.STARTING}


def test_records_that_are_not_queued_read_sets_are_ignored(pipe):
    pipe.upload(["r/S_R1.fq.gz", "r/notes.txt"])
    everything = pipe.stream_records()
    assert everything and not any(matches_filter(tracking.STARTER_FILTER_PATTERN, r) for r in everything)
    assert pipe.invoke("starter", {"Records": everything}) == {"batchItemFailures": []}
    assert pipe.fake_sfn.started == []


def test_a_replayed_batch_starts_nothing_twice(pipe):
    pipe.upload(["r/a.ubam", "r/b.ubam"])
    records = queued_records(pipe)
    pipe.invoke("starter", {"Records": records})
    pipe.invoke("starter", {"Records": records})  # replay: same batchId, ExecutionAlreadyExists
    assert len(pipe.fake_sfn.started) == 1


def test_a_split_batch_never_starts_a_read_set_twice(pipe):
    pipe.upload(["r/a.ubam", "r/b.ubam", "r/c.ubam"])
    records = queued_records(pipe)
    pipe.invoke("starter", {"Records": records})
    pipe.invoke("starter", {"Records": records[:1]})  # bisected retry: other batchId
    pipe.invoke("starter", {"Records": records[1:]})
    assert len(pipe.fake_sfn.started) == 1
    claimed = [k for s in pipe.fake_sfn.started for k in s["input"]["readSetKeys"]]
    assert len(claimed) == len(set(claimed)) == 3


def test_batches_are_cut_at_max_sources_per_job():
    from omics_autoload_runtime.domain.options import AssemblyOptions

    with Pipeline(options=AssemblyOptions(max_sources_per_job=2)) as pipe:
        fake = RecordingStepFunctions()
        clients.override("stepfunctions", fake)
        pipe.upload([f"r/s{i}.ubam" for i in range(5)])
        pipe.invoke("starter", {"Records": queued_records(pipe)})
        assert [len(s["input"]["readSetKeys"]) for s in fake.started] == [2, 2, 1]


def test_a_stale_claim_whose_workflow_never_ran_is_taken_over(pipe):
    pipe.upload(["r/a.ubam"])
    records = queued_records(pipe)
    (rs,) = pipe.items(tracking.KIND_READSET)
    tr = tracking.Tracking(TABLE)
    assert tr.claim_for_batch(rs["pk"], 0, "b-dead")[0]
    pipe.invoke("starter", {"Records": records})
    assert pipe.fake_sfn.started == []  # fresh claim of another batch: hands off
    pipe.double.advance(tracking.STALE_CLAIM_SECONDS + 1)
    pipe.fake_sfn.running = {"b-dead"}
    pipe.invoke("starter", {"Records": records})
    assert pipe.fake_sfn.started == []  # its workflow is running: hands off
    pipe.fake_sfn.running = set()
    pipe.invoke("starter", {"Records": records})
    assert len(pipe.fake_sfn.started) == 1


def test_when_the_execution_cannot_start_claims_are_released_and_records_retried(pipe):
    pipe.upload(["r/a.ubam", "r/b.ubam"])
    records = queued_records(pipe)
    pipe.fake_sfn.fail_start = True
    result = pipe.invoke("starter", {"Records": records})
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == sorted(
        r["dynamodb"]["SequenceNumber"] for r in records
    )
    assert {rs["status"] for rs in pipe.items(tracking.KIND_READSET)} == {tracking.QUEUED}
    pipe.fake_sfn.fail_start = False
    assert pipe.invoke("starter", {"Records": records}) == {"batchItemFailures": []}
    assert len(pipe.fake_sfn.started) == 1


def test_an_old_stream_record_of_a_redriven_read_set_claims_nothing(pipe):
    pipe.upload(["r/a.ubam"])
    old_records = queued_records(pipe)
    (rs,) = pipe.items(tracking.KIND_READSET)
    tr = tracking.Tracking(TABLE)
    tr.table.update(rs["pk"], "RS", set={"status": tracking.FAILED})
    assert tr.redrive(rs["pk"])
    pipe.invoke("starter", {"Records": old_records})  # attempt 0: stale
    assert pipe.fake_sfn.started == []
    pipe.invoke("starter", {"Records": queued_records(pipe)})  # attempt 1
    assert len(pipe.fake_sfn.started) == 1
