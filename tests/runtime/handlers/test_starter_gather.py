"""starter: while a burst is under way, small batches gather in the queue (issue 14).

A lone file starts at once (the stream's short window); once batches keep being started,
a batch smaller than a job goes to the gather queue instead, and the queue's event source
hands the read sets back in one batch: one job instead of one per read set or two.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types

import boto3
import pytest
from omics_autoload_runtime import contract, settings
from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.handlers import starter as starter_handler
from omics_autoload_runtime.logic import starter
from support.pipeline import REGION, Pipeline, RecordingStepFunctions, matches_filter


@pytest.fixture
def pipe(monkeypatch):
    monkeypatch.setitem(starter._last_started, "at", float("-inf"))  # no burst before the test
    with Pipeline() as pipeline:
        pipeline.fake_sfn = RecordingStepFunctions()
        clients.override("stepfunctions", pipeline.fake_sfn)
        pipeline.sqs = boto3.client("sqs", region_name=REGION)
        pipeline.queue_url = pipeline.sqs.create_queue(QueueName="gather")["QueueUrl"]
        os.environ[contract.Env.GATHER_QUEUE_URL] = pipeline.queue_url
        settings.reset()
        yield pipeline


def _queued(pipe, keys):
    pipe.upload(keys)
    return [r for r in pipe.stream_records() if matches_filter(tracking.STARTER_FILTER_PATTERN, r)]


def _gathered(pipe):
    """The queue's messages as Lambda's SQS event source delivers them."""
    response = pipe.sqs.receive_message(QueueUrl=pipe.queue_url, MaxNumberOfMessages=10)
    return [
        {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"], "eventSource": "aws:sqs"}
        for m in response.get("Messages", [])
    ]


def test_a_lone_file_starts_at_once_and_a_burst_gathers_into_one_job(pipe):
    assert pipe.invoke("starter", {"Records": _queued(pipe, ["r/first.ubam"])}) == {"batchItemFailures": []}
    assert len(pipe.fake_sfn.started) == 1  # nothing was going on: no wait
    pipe.double.advance(3)
    for key in ("r/a.ubam", "r/b.ubam", "r/c.ubam"):  # a run uploading a file every few seconds
        assert pipe.invoke("starter", {"Records": _queued(pipe, [key])}) == {"batchItemFailures": []}
        pipe.double.advance(3)
    assert len(pipe.fake_sfn.started) == 1  # gathered, not started one by one...
    waiting = {rs["pk"]: rs["status"] for rs in pipe.items(tracking.KIND_READSET)}
    assert sorted(waiting.values()) == [tracking.QUEUED] * 3 + [tracking.STARTING]  # ...and not claimed
    messages = _gathered(pipe)
    assert sorted(json.loads(m["body"])["readSet"] for m in messages) == sorted(
        pk for pk, status in waiting.items() if status == tracking.QUEUED
    )
    assert pipe.invoke("starter", {"Records": messages}) == {"batchItemFailures": []}
    assert len(pipe.fake_sfn.started) == 2
    assert len(pipe.fake_sfn.started[1]["input"]["readSetKeys"]) == 3  # one job for the three
    assert {rs["status"] for rs in pipe.items(tracking.KIND_READSET)} == {tracking.STARTING}
    assert pipe.invoke("starter", {"Records": messages}) == {"batchItemFailures": []}  # redelivered
    assert len(pipe.fake_sfn.started) == 2


def test_after_a_quiet_minute_a_file_starts_at_once_again(pipe):
    pipe.invoke("starter", {"Records": _queued(pipe, ["r/first.ubam"])})
    pipe.double.advance(starter.BUSY_SECONDS + 1)
    pipe.invoke("starter", {"Records": _queued(pipe, ["r/later.ubam"])})
    assert len(pipe.fake_sfn.started) == 2 and _gathered(pipe) == []


def test_a_full_job_starts_at_once_even_in_a_burst(pipe, monkeypatch):
    pipe.invoke("starter", {"Records": _queued(pipe, ["r/first.ubam"])})
    cfg = settings.get()
    two = cfg.replace(assembly_options=dataclasses.replace(cfg.assembly_options, max_sources_per_job=2))
    monkeypatch.setattr(starter_handler, "settings", types.SimpleNamespace(get=lambda: two))
    records = _queued(pipe, ["r/a.ubam", "r/b.ubam"])
    pipe.invoke("starter", {"Records": records})
    assert len(pipe.fake_sfn.started) == 2 and _gathered(pipe) == []


def test_a_read_set_the_queue_could_not_take_is_retried_by_the_stream(pipe):
    pipe.invoke("starter", {"Records": _queued(pipe, ["r/first.ubam"])})
    records = _queued(pipe, ["r/a.ubam"])
    real = clients.client("sqs")

    class Refusing:
        def send_message_batch(self, **kwargs):
            return {
                "Successful": [],
                "Failed": [{"Id": e["Id"], "Code": "x", "SenderFault": False} for e in kwargs["Entries"]],
            }

        def __getattr__(self, name):
            return getattr(real, name)

    clients.override("sqs", Refusing())
    out = pipe.invoke("starter", {"Records": records})
    sequence = records[0]["dynamodb"]["SequenceNumber"]
    assert out == {"batchItemFailures": [{"itemIdentifier": sequence}]}
    assert {rs["status"] for rs in pipe.items(tracking.KIND_READSET) if "/r/a#" in rs["pk"]} == {tracking.QUEUED}
