"""The fault-injection machinery itself: what the HealthOmics double reads and how it
fails, the in-process Step Functions, and the call-site counting of the fault layer."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from omics_autoload_runtime.adapters import clients, tracking
from support.faults import (
    CRASH,
    REPLY_LOST,
    THROTTLED,
    FaultInjector,
    FaultPipeline,
    LambdaCrash,
    Site,
    broken_promises,
    unmodelled,
)
from support.omics_double import OmicsDouble
from support.pipeline import BUCKET, TABLE, Pipeline

SOURCE = {
    "sourceFileType": "UBAM",
    "subjectId": "s",
    "sampleId": "x",
    "sourceFiles": {"source1": f"s3://{BUCKET}/a.ubam"},
}
ROLE = "arn:aws:iam::123456789012:role/import"


def start(double: OmicsDouble, store: str) -> str:
    return double.client.start_read_set_import_job(sequenceStoreId=store, roleArn=ROLE, sources=[SOURCE])["id"]


def test_a_job_imports_the_version_current_when_it_starts_running():
    with Pipeline() as pipe:
        pipe.double.read_objects_from(pipe.s3)
        first = pipe.put("a.ubam", b"one")
        job = start(pipe.double, pipe.store_id)
        second = pipe.put("a.ubam", b"two")  # before IN_PROGRESS: this is what the job reads
        pipe.double.advance(pipe.double.job_duration_seconds + 10)
        pipe.put("a.ubam", b"three")  # after: too late
        (read_set,) = pipe.double.read_sets.values()
        held = read_set["sourceVersions"]["source1"]
        assert held == {"bucket": BUCKET, "key": "a.ubam", "versionId": second.version_id, "eTag": second.etag}
        assert held["versionId"] != first.version_id and read_set["sourceIndex"] == 0
        assert read_set["creationJobId"] == job


def test_a_source_missing_when_the_job_reads_it_fails():
    with Pipeline() as pipe:
        pipe.double.read_objects_from(pipe.s3)
        job = start(pipe.double, pipe.store_id)  # nothing uploaded
        pipe.double.advance(pipe.double.job_duration_seconds + 10)
        found = pipe.double.client.get_read_set_import_job(id=job, sequenceStoreId=pipe.store_id)
        assert found["status"] == "FAILED" and "Source file not found" in found["sources"][0]["statusMessage"]


def test_throttle_one_api_fail_the_next_calls_lose_a_reply():
    double = OmicsDouble()
    store = double.create_sequence_store()
    double.throttle("ListReadSets")
    with pytest.raises(ClientError, match="ThrottlingException"):
        double.client.list_read_sets(sequenceStoreId=store)
    double.client.get_sequence_store(id=store)  # other APIs are not throttled
    double.throttle("ListReadSets", False)
    double.fail_next("GetSequenceStore", 2, "InternalServerException")
    for _ in range(2):
        with pytest.raises(ClientError, match="InternalServerException"):
            double.client.get_sequence_store(id=store)
    double.client.get_sequence_store(id=store)
    double.lose_next_reply("StartReadSetImportJob")
    with pytest.raises(ReadTimeoutError):
        start(double, store)
    assert double.import_jobs_started() == 1  # the call took effect


def test_sites_are_counted_per_handler_and_a_planned_fault_fires_once():
    faults = FaultInjector(plan={Site("intake", "dynamodb", "PutItem", 1): THROTTLED})
    with FaultPipeline(faults) as pipe:
        pipe.deliver([pipe.put("x/a.ubam")])
        assert faults.fired == [(Site("intake", "dynamodb", "PutItem", 1), THROTTLED)]
        assert Site("intake", "dynamodb", "PutItem", 2) in faults.reached  # the async retry
        assert pipe.status("x/a.ubam") == tracking.QUEUED
        assert not pipe.dead_letters


def test_a_lost_reply_takes_effect_and_a_crash_ends_the_invocation():
    lost = Site("intake", "dynamodb", "PutItem", 1)
    faults = FaultInjector(plan={lost: REPLY_LOST})
    with FaultPipeline(faults) as pipe:
        with faults.running("intake"), pytest.raises(ReadTimeoutError):
            clients.client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": "p"}, "sk": {"S": "s"}})
        assert any(i["pk"] == "p" for i in pipe.items())
    crash = Site("intake", "dynamodb", "GetItem", 1)
    faults = FaultInjector(plan={crash: CRASH})
    with FaultPipeline(faults):
        ddb = clients.client("dynamodb")
        key = {"pk": {"S": "p"}, "sk": {"S": "s"}}
        with faults.running("intake"):
            with pytest.raises(LambdaCrash):
                ddb.get_item(TableName=TABLE, Key=key)
            with pytest.raises(LambdaCrash):  # the process is gone: nothing more reaches AWS
                ddb.get_item(TableName=TABLE, Key=key)
        assert faults.reached == [crash]


def test_the_workflow_runs_in_process_to_the_end():
    with FaultPipeline() as pipe:
        pipe.deliver([pipe.put("wf/a.ubam"), pipe.put("wf/S1_R1.fq.gz"), pipe.put("wf/S1_R2.fq.gz")])
        pipe.settle()
        assert {i["status"] for i in pipe.items(tracking.KIND_OBJECT)} == {tracking.IMPORTED}
        assert [e["status"] for e in pipe.executions()] == ["SUCCEEDED"]
        assert len(pipe.double.read_sets) == 2


def test_a_status_change_outside_the_state_model_breaks_the_promise():
    with FaultPipeline() as pipe:
        pipe.deliver([pipe.put("sm/a.ubam")])
        pipe.settle()
        assert not unmodelled(pipe)
        (read_set,) = pipe.items(tracking.KIND_READSET)
        tracking.ItemTable(TABLE).update(read_set["pk"], read_set["sk"], set={"status": tracking.QUEUED})
        assert unmodelled(pipe) == [(tracking.KIND_READSET, tracking.IMPORTED, tracking.QUEUED)]
        assert "transition not in the state model: readset IMPORTED -> QUEUED" in broken_promises(pipe)
