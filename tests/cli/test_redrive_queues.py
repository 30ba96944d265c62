"""`omics-autoload redrive --dlq`: dead letters go back where they came from; only what was re-submitted is deleted."""

from __future__ import annotations

import json

import boto3
from omics_autoload_runtime.adapters import tracking
from support.pipeline import ACCOUNT, BUCKET, REGION, TABLE, _starter_inputs

from cli.deployed import COMPLETION, INTAKE, cli, snapshot, stack_resources, stub_stack


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
