"""intake.handler reading the intake queue: one invocation per batch of messages, a failed
message reported alone (partial batch response), the folder's sheets read once per batch."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.handlers import intake as intake_function
from support.pipeline import BUCKET, Pipeline

RUN = "runs/2026-12-01/fastq"


@pytest.fixture
def pipe():
    with Pipeline() as pipeline:
        yield pipeline


def _messages(pipe, stored):
    return [pipe.queue_message({"Records": [pipe.s3_record(s)]}, f"msg-{n}") for n, s in enumerate(stored)]


class _Client:
    """The real client, with one operation counted or failing for chosen keys."""

    def __init__(self, service, operation, fail_for=(), error="ThrottlingException"):
        self.real = clients.client(service)
        self.operation, self.fail_for, self.error = operation, set(fail_for), error
        self.calls: list[dict] = []

    def __getattr__(self, name):
        method = getattr(self.real, name)
        if name != self.operation:
            return method

        def call(**kwargs):
            self.calls.append(kwargs)
            if any(key in json.dumps(kwargs) for key in self.fail_for):
                raise ClientError({"Error": {"Code": self.error, "Message": "Rate exceeded"}}, self.operation)
            return method(**kwargs)

        return call


def test_a_batch_records_every_message_and_reports_only_the_failed_one(pipe):
    stored = [pipe.put(f"{RUN}/S{n}_S{n}_L001_R1_001.fastq.gz") for n in range(1, 4)]
    messages = _messages(pipe, stored)
    throttled = _Client("dynamodb", "put_item", fail_for=[stored[1].key])
    clients.override("dynamodb", throttled)
    try:
        result = pipe.invoke("intake", {"Records": messages})
    finally:
        clients.override("dynamodb", throttled.real)
    # Only the throttled object's message comes back; the others are recorded.
    assert result["batchItemFailures"] == [{"itemIdentifier": "msg-1"}]
    recorded = pipe.objects()
    assert set(recorded) == {stored[0].key, stored[2].key}
    # Its redelivery records it, and nothing else changes.
    assert pipe.invoke("intake", {"Records": [messages[1]]})["batchItemFailures"] == []
    assert set(pipe.objects()) == {s.key for s in stored}
    assert all(i["status"] == tracking.WAITING_FOR_MATE for i in pipe.objects().values())


def test_the_folders_sheets_are_read_once_per_batch(pipe):
    stored = [pipe.put(f"{RUN}/S{n}_S{n}_L001_R{r}_001.fastq.gz") for n in range(1, 6) for r in (1, 2)]
    counting = _Client("s3", "get_object")
    clients.override("s3", counting)
    try:
        pipe.invoke("intake", {"Records": _messages(pipe, stored)})
        batched = len(counting.calls)
        counting.calls.clear()
        for message in _messages(pipe, stored[:2]):  # one object per invocation, as S3 -> Lambda was
            pipe.invoke("intake", {"Records": [message]})
    finally:
        clients.override("s3", counting.real)
    # The folder's sample sheet and the Illumina sheet's places: the same for all ten files.
    assert batched == len(counting.calls) // 2 > 0
    assert all(i["status"] == tracking.QUEUED for i in pipe.objects().values())


def test_near_its_timeout_the_invocation_leaves_the_rest_for_the_next_delivery(pipe):
    stored = [pipe.put(f"{RUN}/S{n}_S{n}_L001_R1_001.fastq.gz") for n in range(1, 5)]
    messages = _messages(pipe, stored)

    class Context:
        left = [60_000, 30_000, intake_function.STOP_BEFORE_TIMEOUT_MS - 1]

        def get_remaining_time_in_millis(self):
            return self.left.pop(0) if len(self.left) > 1 else self.left[0]

    result = intake_function.handler({"Records": messages}, Context())
    assert result["batchItemFailures"] == [{"itemIdentifier": "msg-2"}, {"itemIdentifier": "msg-3"}]
    assert set(pipe.objects()) == {stored[0].key, stored[1].key}
    again = pipe.invoke("intake", {"Records": messages[2:]})
    assert again["batchItemFailures"] == []
    assert set(pipe.objects()) == {s.key for s in stored}


def test_eventbridge_events_test_events_and_malformed_messages_in_the_queue(pipe):
    stored = pipe.put(f"{RUN}/S7_S7_L001_R1_001.fastq.gz")
    messages = [
        pipe.queue_message(pipe.eventbridge_event(stored), "eventbridge"),
        pipe.queue_message({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET}, "test-event"),
        {**pipe.queue_message({}, "not-json"), "body": "{not json"},
    ]
    result = pipe.invoke("intake", {"Records": messages})
    # A malformed message cannot be fixed by a retry: it is logged and counted, not returned.
    assert result["batchItemFailures"] == []
    assert result["statuses"] == {tracking.WAITING_FOR_MATE: 1}
    assert pipe.objects()[stored.key]["status"] == tracking.WAITING_FOR_MATE


def test_a_failing_redelivery_goes_back_until_it_is_recorded(pipe):
    stored = [pipe.put(f"{RUN}/S8_S8_L001_R{r}_001.fastq.gz") for r in (1, 2)]
    flaky = _Client("dynamodb", "put_item", fail_for=[stored[0].key], error="InternalServerError")
    clients.override("dynamodb", flaky)
    try:
        first = pipe.invoke("intake", {"Records": _messages(pipe, stored)})
    finally:
        clients.override("dynamodb", flaky.real)
    assert first["batchItemFailures"] == [{"itemIdentifier": "msg-0"}]
    pipe.receive("intake", [m for m in _messages(pipe, stored) if m["messageId"] == "msg-0"])
    objects = pipe.objects()
    assert {objects[s.key]["status"] for s in stored} == {tracking.QUEUED}
