"""`omics-autoload status` and `omics-autoload redrive` against a moto-backed pipeline.

The pipeline runs without a state machine here (the workflow's steps are called
directly, see ``run_without_state_machine``); ``tests/test_operations_e2e.py`` redrives
through the synthesized state machine.
"""

from __future__ import annotations

import json

import boto3
import pytest
from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.cli import operations
from omics_autoload_runtime.cli.main import main
from support.pipeline import (
    ACCOUNT,
    BUCKET,
    REGION,
    TABLE,
    Pipeline,
    RecordingCloudWatch,
    _starter_inputs,
    run_without_state_machine,
)

INTAKE = "SequencingIngest-AutoLoadIntakeFunction4FF13CEC-Ab12Cd34"
COMPLETION = "SequencingIngest-AutoLoadImportWorkflowCompletionFunction0A1B2C3D-Ef56Gh78"
FILES = ["run/good.ubam", "run/bad.ubam", "run/S1_R1.fq.gz", "run/S1_R2.fq.gz", "run/notes.txt"]


@pytest.fixture
def pipe():
    with Pipeline() as pipeline:
        clients.override("cloudwatch", RecordingCloudWatch())
        pipeline.double.fail_source("bad.ubam", "Invalid BAM: EOF marker missing")
        pipeline.upload(FILES)
        run_without_state_machine(pipeline)
        yield pipeline


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(pipe):
    return sorted(json.dumps(item, sort_keys=True, default=str) for item in pipe.items())


# ------------------------------------------------------------------ status


def test_status_counts_and_failed_reasons(pipe, capsys):
    code, out, err = cli(capsys, "status", "--table", TABLE)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"Tracking table {TABLE} at ")
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:12] if line.strip()}
    assert rows["STATUS"] == ["FILES", "READ", "SETS"]
    assert rows["IMPORTED"] == ["3", "2"] and rows["FAILED"] == ["1", "1"] and rows["SKIPPED"] == ["1", "-"]
    assert rows["TOTAL"] == ["5", "3"]
    assert "FAILED FILES (1)" in lines
    (failed,) = [line for line in lines if line.startswith(f"s3://{BUCKET}/run/bad.ubam")]
    assert "Invalid BAM: EOF marker missing" in failed
    assert "STUCK FILES (not final after 24 h: 0)" in lines


def test_status_json_for_scripts(pipe, capsys):
    pipe.upload(["late/x_R1.fq.gz"])  # waits for its mate...
    pipe.double.advance(3 * 3600)  # ...for three hours
    code, out, err = cli(capsys, "status", "--table", TABLE, "--format", "json", "--stuck-after", "2")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) >= {"counts", "failed", "stuck"}
    assert report["counts"]["objects"]["IMPORTED"] == 3
    assert report["counts"]["readSets"]["WAITING_FOR_MATE"] == 1
    (failed,) = report["failed"]
    assert failed["key"] == f"s3://{BUCKET}/run/bad.ubam"
    assert "EOF marker missing" in failed["reason"]
    assert failed["importJobId"] and failed["updatedAt"]
    (stuck,) = report["stuck"]
    assert stuck["key"] == f"s3://{BUCKET}/late/x_R1.fq.gz" and stuck["status"] == tracking.WAITING_FOR_MATE
    assert report["stuckTotal"] == 1


def test_status_pages_through_large_tables(pipe, capsys, monkeypatch):
    calls = []
    original = tracking.Table.client.fget

    class Paging:
        def __init__(self, real):
            self.real = real

        def query(self, **kwargs):
            calls.append(kwargs.get("ExclusiveStartKey") is not None)
            return self.real.query(**dict(kwargs, Limit=1))

        def __getattr__(self, name):
            return getattr(self.real, name)

    monkeypatch.setattr(tracking.Table, "client", property(lambda self: Paging(original(self))))
    code, out, err = cli(capsys, "status", "--table", TABLE, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["counts"]["totalObjects"] == 5
    assert any(calls)  # later pages were asked for


def stack_resources(sqs_urls):
    """ListStackResources of a deployed example stack (logical ids as the construct names them)."""
    from datetime import UTC, datetime

    rows = [
        ("AutoLoadTrackingTable4B714BE7", TABLE, "AWS::DynamoDB::Table"),
        ("AutoLoadIntakeFunction4FF13CEC", INTAKE, "AWS::Lambda::Function"),
        ("AutoLoadImportWorkflowCompletionFunction6D5E8E5B", COMPLETION, "AWS::Lambda::Function"),
        ("AutoLoadImportWorkflowStartFunction9A0B1C2D", "start-fn", "AWS::Lambda::Function"),
        ("AutoLoadIntakeDeadLetterQueueC71C3DE8", sqs_urls["intake"], "AWS::SQS::Queue"),
        ("AutoLoadStarterDeadLetterQueueCFD8B592", sqs_urls["starter"], "AWS::SQS::Queue"),
        ("AutoLoadImportWorkflowDeadLetterQueue6B6ED1ED", sqs_urls["workflow"], "AWS::SQS::Queue"),
        ("AutoLoadBucketF98E59DC", "sequencing-runs", "AWS::S3::Bucket"),
    ]
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        {
            "LogicalResourceId": logical,
            "PhysicalResourceId": physical,
            "ResourceType": kind,
            "LastUpdatedTimestamp": stamp,
            "ResourceStatus": "CREATE_COMPLETE",
        }
        for logical, physical, kind in rows
    ]


def stub_stack(resources, stack="SequencingIngest"):
    """CloudFormation answers as for a deployed stack (moto cannot deploy the construct's
    template); the Stubber checks the request and response shapes against the service model."""
    from botocore.stub import Stubber

    client = boto3.client("cloudformation", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_response(
        "list_stack_resources", {"StackResourceSummaries": resources[:5], "NextToken": "page-2"}, {"StackName": stack}
    )
    stubber.add_response(
        "list_stack_resources", {"StackResourceSummaries": resources[5:]}, {"StackName": stack, "NextToken": "page-2"}
    )
    stubber.add_client_error(
        "list_stack_resources", "ValidationError", "Stack with id NoSuchStack does not exist", 400,
        expected_params={"StackName": "NoSuchStack"},
    )
    stubber.activate()
    clients.override("cloudformation", client)
    return stubber


def test_status_finds_the_table_of_a_stack(pipe, capsys):
    stub_stack(stack_resources({"intake": "https://q/i", "starter": "https://q/s", "workflow": "https://q/w"}))
    code, out, err = cli(capsys, "status", "--stack", "SequencingIngest", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["table"] == TABLE and report["counts"]["totalObjects"] == 5
    code, _, err = cli(capsys, "status", "--stack", "NoSuchStack")
    assert code == 1 and err.strip() == (
        "omics-autoload status: AWS error: ListStackResources: ValidationError:"
        " Stack with id NoSuchStack does not exist"
    )


def test_deployment_from_resources_pairs_queues_with_functions():
    resources = [
        {"LogicalResourceId": lid, "PhysicalResourceId": pid, "ResourceType": kind}
        for lid, pid, kind in (
            ("AutoLoadTrackingTable4B714BE7", "tbl", "AWS::DynamoDB::Table"),
            ("AutoLoadIntakeFunction4FF13CEC", INTAKE, "AWS::Lambda::Function"),
            ("AutoLoadImportWorkflowCompletionFunctionAB12", COMPLETION, "AWS::Lambda::Function"),
            ("AutoLoadImportWorkflowStartFunctionCD34", "start", "AWS::Lambda::Function"),
            ("AutoLoadIntakeDeadLetterQueueC71C3DE8", "https://q/intake", "AWS::SQS::Queue"),
            ("AutoLoadImportWorkflowDeadLetterQueue6B6ED1ED", "https://q/wf", "AWS::SQS::Queue"),
        )
    ]
    deployment = operations.deployment_from_resources(resources)
    assert deployment.table == "tbl"
    assert deployment.intake_function == INTAKE and deployment.completion_function == COMPLETION
    assert {q.role: q.function for q in deployment.queues} == {"intake": INTAKE, "workflow": COMPLETION}
    with pytest.raises(operations.Usage, match="2 tracking tables"):
        operations.deployment_from_resources(
            [*resources, {**resources[0], "LogicalResourceId": "OtherTrackingTable", "PhysicalResourceId": "t2"}]
        )


def test_usage_and_aws_errors_are_one_line(pipe, capsys):
    code, _, err = cli(capsys, "status")
    assert code == 2 and "--stack" in err
    code, _, err = cli(capsys, "status", "--table", "no-such-table")
    assert code == 1
    assert err.startswith("omics-autoload status: AWS error: Query: ResourceNotFoundException")
    assert "Traceback" not in err
    code, _, err = cli(capsys, "redrive", "--table", TABLE, "--key", "not-a-uri")
    assert code == 2 and "not an s3://bucket/key URI" in err
    code, _, err = cli(capsys, "redrive", "--table", TABLE, "--dlq")
    assert code == 2 and "--queue-url" in err


# ------------------------------------------------------------------ redrive: items


def test_redrive_dry_run_changes_nothing(pipe, capsys):
    before = snapshot(pipe)
    code, out, err = cli(capsys, "redrive", "--table", TABLE, "--dry-run")
    assert code == 0, err
    assert f"would redrive s3://{BUCKET}/run/bad.ubam (read set -> QUEUED)" in out
    assert "1 would be redriven" in out
    assert snapshot(pipe) == before


def test_redrive_is_idempotent(pipe, capsys):
    code, out, err = cli(capsys, "redrive", "--table", TABLE)
    assert code == 0, err
    assert f"redriven      s3://{BUCKET}/run/bad.ubam" in out and "1 redriven" in out
    code, out, err = cli(capsys, "redrive", "--table", TABLE)  # finds nothing FAILED any more
    assert code == 0, err and "0 redriven" in out
    code, out, err = cli(capsys, "redrive", "--table", TABLE, "--key", f"s3://{BUCKET}/run/bad.ubam")
    assert code == 0 and "unchanged" in out and "read set is QUEUED" in out
    (read_set,) = [rs for rs in pipe.items(tracking.KIND_READSET) if "bad" in rs["pk"]]
    assert read_set["status"] == tracking.QUEUED and read_set["attempt"] == 1
    assert pipe.objects()["run/bad.ubam"]["status"] == tracking.QUEUED
    assert "reason" not in pipe.objects()["run/bad.ubam"]
    # queued once: the whole stream again, and only that read set (attempt 1) can be claimed
    pipe.reread_stream()
    (batch,) = _starter_inputs(pipe)
    assert batch["readSetKeys"] == [read_set["pk"]]


def test_redrive_by_key_and_status_orphaned(pipe, capsys):
    pipe.upload(["orph/A_R1.fq.gz"])
    pipe.double.advance(86401)
    pipe.sweep()
    assert pipe.objects()["orph/A_R1.fq.gz"]["status"] == tracking.SKIPPED
    code, out, _ = cli(capsys, "redrive", "--table", TABLE)  # default: FAILED only
    assert "orph/A_R1" not in out
    code, out, err = cli(capsys, "redrive", "--table", TABLE, "--status", "ORPHANED")
    assert code == 0, err and "1 redriven" in out
    (orphan,) = [rs for rs in pipe.items(tracking.KIND_READSET) if "orph" in rs["pk"]]
    assert orphan["status"] == tracking.QUEUED and orphan["singleEnd"] is True
    code, out, err = cli(capsys, "redrive", "--table", TABLE, "--key", f"s3://{BUCKET}/nope.ubam")
    assert code == 2 and "not found" in out


def test_redrive_shows_progress_on_stderr(pipe, capsys):
    for index in range(4):
        pipe.double.fail_source(f"p{index}.ubam", "Invalid BAM")
    pipe.upload([f"prog/p{index}.ubam" for index in range(4)])
    run_without_state_machine(pipe)
    code, out, err = cli(capsys, "redrive", "--table", TABLE, "--progress-every", "2")
    assert code == 0
    assert err.splitlines() == ["redriven 2/5", "redriven 4/5", "redriven 5/5"]
    assert out.count("redriven      ") == 5


def test_a_file_that_failed_at_intake_is_sent_to_intake_again(pipe, capsys, monkeypatch):
    from omics_autoload_runtime.logic import intake as intake_module

    def broken(self, event, uri):
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(intake_module.Intake, "_classify", broken)
        pipe.upload(["in/c.ubam"])
    item = pipe.objects()["in/c.ubam"]
    assert item["status"] == tracking.FAILED and "readSetKey" not in item
    code, out, _ = cli(capsys, "redrive", "--table", TABLE, "--key", f"s3://{BUCKET}/in/c.ubam")
    assert code == 1 and "give --intake-function" in out
    # the asynchronous Invoke reaches moto, whose Lambda the Pipeline routes to the real handler
    code, out, err = cli(
        capsys, "redrive", "--table", TABLE, "--key", f"s3://{BUCKET}/in/c.ubam", "--intake-function", INTAKE
    )
    assert code == 0, (out, err)
    item = pipe.objects()["in/c.ubam"]
    assert item["status"] == tracking.QUEUED and item["attempt"] == 1 and item["readSetKey"]
    assert pipe.counts.invocations["intake"] >= 2


# ------------------------------------------------------------------ redrive: dead-letter queues


def destination_record(pipe, key):
    stored = pipe.put(key)
    return {
        "version": "1.0",
        "timestamp": tracking.iso(),
        "requestContext": {
            "requestId": "c2a6f2f4",
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{INTAKE}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"Records": [pipe.s3_record(stored)]},
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
    }


def queue_with(bodies, name="SequencingIngest-AutoLoadIntakeDeadLetterQueueC71C3DE8-X"):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body if isinstance(body, str) else json.dumps(body))
    return sqs, url


def bodies_left(url):
    """Every message still in the queue, visible or not (moto's backend, nothing received)."""
    import moto.sqs.models as sqs_models

    queue = sqs_models.sqs_backends[ACCOUNT][REGION].queues[url.rsplit("/", 1)[-1]]
    return [message.body for message in queue._messages]


def visible(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_dlq_drain_deletes_only_what_was_resubmitted(pipe, capsys):
    raw = {"Records": [pipe.s3_record(pipe.put("dlq/raw.ubam"))]}  # a function's own dead letter
    sqs, url = queue_with([destination_record(pipe, "dlq/a.ubam"), raw, "not json", {"something": "else"}])
    before = snapshot(pipe)
    argv = ["redrive", "--table", TABLE, "--queue-url", url, "--intake-function", INTAKE]
    code, out, err = cli(capsys, *argv, "--dry-run")
    assert code == 1, err  # two messages could not be re-sent
    assert out.count("would re-send") == 2 and out.count("  left  ") == 2
    assert f"S3 event s3://{BUCKET}/dlq/a.ubam -> {INTAKE}" in out
    assert snapshot(pipe) == before
    assert visible(sqs, url) == 4  # the dry run made them visible again at once
    code, out, err = cli(capsys, *argv)
    assert code == 1 and out.count("re-sent") == 2 and out.count("  left  ") == 2
    assert "2 redriven, 0 unchanged, 2 not redriven" in out
    objects = pipe.objects()
    assert objects["dlq/a.ubam"]["status"] == tracking.QUEUED and objects["dlq/raw.ubam"]["status"] == tracking.QUEUED
    assert sorted(bodies_left(url)) == sorted(["not json", json.dumps({"something": "else"})])
    assert visible(sqs, url) == 2


def test_dlq_stream_batch_requeues_the_read_sets_still_queued(pipe, capsys):
    pipe.reread_stream()
    pipe.stream_records()
    pipe.upload(["st/x.ubam", "st/y.ubam"])
    records = [
        r for r in pipe.stream_records() if r["eventName"] == "INSERT" and "RS#" in json.dumps(r["dynamodb"]["Keys"])
    ]
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    shard = pipe.streams.describe_stream(StreamArn=pipe.stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    failure = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": "arn:aws:lambda:x:1:function:starter"},
        "version": "1.0",
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "batchSize": len(records),
            "streamArn": pipe.stream_arn,
        },
    }
    _, url = queue_with([failure], name="SequencingIngest-AutoLoadStarterDeadLetterQueueCFD8B592-Y")
    code, out, err = cli(capsys, "redrive", "--table", TABLE, "--queue-url", url)
    assert code == 0, (out, err)
    assert "re-queued 2 of 2 read set(s)" in out
    assert bodies_left(url) == []
    pipe.reread_stream()
    (batch,) = _starter_inputs(pipe)  # both back on the stream, for the starter
    assert len(batch["readSetKeys"]) == 2


def test_redrive_dlq_of_a_stack_sends_each_event_back_where_it_came_from(pipe, capsys):
    intake_sqs, intake_url = queue_with(
        [{"Records": [pipe.s3_record(pipe.put("stack/s.ubam"))]}],
        name="SequencingIngest-AutoLoadIntakeDeadLetterQueueC71C3DE8-A",
    )
    job_event = {
        "version": "0",
        "detail-type": "Read Set Import Job Status Change",
        "source": "aws.omics",
        "detail": {"id": "9999999999", "status": "COMPLETED", "sequenceStoreId": pipe.store_id},
    }
    _, workflow_url = queue_with([job_event], name="SequencingIngest-AutoLoadImportWorkflowDeadLetterQueue6B6ED1ED-B")
    _, starter_url = queue_with([], name="SequencingIngest-AutoLoadStarterDeadLetterQueueCFD8B592-C")
    stub_stack(stack_resources({"intake": intake_url, "starter": starter_url, "workflow": workflow_url}))
    before = dict(pipe.counts.invocations)
    code, out, err = cli(capsys, "redrive", "--stack", "SequencingIngest", "--dlq")
    assert code == 0, (out, err)
    assert f"S3 event s3://{BUCKET}/stack/s.ubam -> {INTAKE}" in out
    assert f"Read Set Import Job Status Change 9999999999 -> {COMPLETION}" in out
    assert "redriven      " not in out  # --dlq alone: the FAILED read set is left alone
    assert pipe.objects()["stack/s.ubam"]["status"] == tracking.QUEUED
    assert pipe.counts.invocations["completion"] == before.get("completion", 0) + 1
    assert bodies_left(intake_url) == bodies_left(workflow_url) == []
    assert visible(intake_sqs, intake_url) == 0
