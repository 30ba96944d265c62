"""import_slots: the import-slot semaphore with its FIFO wait queue (moto DynamoDB, recording Step Functions)."""

from __future__ import annotations

import json
import random
import threading
import time

import pytest
from botocore.exceptions import ClientError
from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import clients, import_slots
from omics_autoload_runtime.adapters.import_slots import Capacity
from support.pipeline import TABLE, EmfLog, Pipeline, RecordingStepFunctions


class SignallingStepFunctions(RecordingStepFunctions):
    """Records SendTaskSuccess in order and wakes whoever waits on that token; thread-safe."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self.events: dict[str, threading.Event] = {}
        self.fail_next_success: list[str] = []

    def event(self, token: str) -> threading.Event:
        with self._lock:
            return self.events.setdefault(token, threading.Event())

    def send_task_success(self, taskToken: str, output: str):
        with self._lock:
            if self.fail_next_success:
                raise self._error(self.fail_next_success.pop(0), "SendTaskSuccess")
            result = super().send_task_success(taskToken, output)
        self.event(taskToken).set()
        return result

    @property
    def woken(self) -> list[str]:
        return [token for token, _ in self.successes]


@pytest.fixture
def pipe():
    with Pipeline(env={"MAX_CONCURRENT_IMPORT_JOBS": "3"}) as pipeline:
        pipeline.fake_sfn = SignallingStepFunctions()
        clients.override("stepfunctions", pipeline.fake_sfn)
        EmfLog().install()
        yield pipeline


def cap(max_jobs: int = 3) -> Capacity:
    return Capacity(TABLE, max_jobs)


def batch(n: int) -> str:
    return f"b-{n:064d}"


def token(n: int) -> str:
    return f"token-{n}"


def test_slots_are_taken_up_to_the_maximum_then_batches_queue(pipe):
    c = cap()
    outcomes = [c.acquire(batch(i), token(i)) for i in range(5)]
    assert outcomes == ["granted"] * 3 + ["queued"] * 2
    assert c.in_flight() == 3
    assert sorted(c.holders()) == [batch(0), batch(1), batch(2)]
    assert [w["batchId"] for w in c.waiters()] == [batch(3), batch(4)]
    assert pipe.fake_sfn.woken == [token(0), token(1), token(2)]


def test_concurrent_acquires_never_hold_more_than_the_maximum(pipe):
    """20 workflows at once: each waits for its slot, runs, finishes; never more than 3 run."""
    c = cap()
    sfn = pipe.fake_sfn
    active = peak = 0
    lock = threading.Lock()
    ran: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def workflow(n: int) -> None:
        nonlocal active, peak
        try:
            start.wait()
            Capacity(TABLE, 3).acquire(batch(n), token(n))
            assert sfn.event(token(n)).wait(timeout=30), f"batch {n} never got a slot"
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(random.uniform(0, 0.01))
            with lock:
                active -= 1
                ran.append(batch(n))
            Capacity(TABLE, 3).finish(batch(n))
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=workflow, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(ran) == sorted(batch(n) for n in range(20))
    assert peak <= 3
    assert len(sfn.successes) == 20  # each workflow told exactly once
    assert c.in_flight() == 0 and c.holders() == [] and c.waiters() == []


def test_waiters_are_woken_first_in_first_out(pipe):
    c = cap(1)
    assert c.acquire(batch(0), token(0)) == "granted"
    order = [7, 3, 9, 1]  # batch ids sort differently from arrival
    for n in order:
        pipe.double.advance(1)
        assert c.acquire(batch(n), token(n)) == "queued"
    holder = 0
    for n in order:
        c.finish(batch(holder))
        assert pipe.fake_sfn.woken[-1] == token(n)
        holder = n
    assert pipe.fake_sfn.woken == [token(0)] + [token(n) for n in order]
    c.finish(batch(holder))
    assert c.in_flight() == 0


def test_a_retried_acquire_keeps_its_one_slot(pipe):
    c = cap(2)
    assert c.acquire(batch(0), "first-attempt") == "granted"
    assert c.acquire(batch(0), "second-attempt") == "held"  # Step Functions retried the task
    assert c.in_flight() == 1
    assert pipe.fake_sfn.woken == ["first-attempt", "second-attempt"]


def test_release_is_exactly_once_when_finalize_is_retried(pipe):
    c = cap()
    c.acquire(batch(0), token(0))
    c.acquire(batch(1), token(1))
    record_failure = {
        "batchId": batch(0),
        "readSetKeys": [],
        "error": {"Error": "States.TaskFailed", "Cause": "boom"},
    }
    pipe.invoke("import_finalize", record_failure)
    pipe.invoke("import_finalize", record_failure)  # retried
    assert c.in_flight() == 1 and c.holders() == [batch(1)]
    assert c.release(batch(0)) is False
    assert c.release(batch(42)) is False  # never took one: a no-op
    assert c.in_flight() == 1


def test_a_dead_waiter_is_skipped_and_its_slot_goes_to_the_next(pipe):
    c = cap(1)
    c.acquire(batch(0), token(0))
    pipe.double.advance(1)
    c.acquire(batch(1), "timed-out")
    pipe.double.advance(1)
    c.acquire(batch(2), token(2))
    pipe.fake_sfn.gone_tokens = {"timed-out"}
    assert c.finish(batch(0)) == {"released": True, "granted": 1}
    assert pipe.fake_sfn.woken == [token(0), token(2)]
    assert c.holders() == [batch(2)] and c.in_flight() == 1 and c.waiters() == []


def test_the_sweep_reclaims_a_slot_whose_execution_ended(pipe):
    c = cap()  # the sweep uses the configured maximum, 3
    for n in range(4):
        c.acquire(batch(n), token(n))  # 0 will end without releasing; 3 is queued
    pipe.fake_sfn.running = {batch(1), batch(2), batch(3)}
    assert "slotsReclaimed" not in pipe.sweep()["sweep"]  # too young: left alone
    pipe.double.advance(import_slots.SWEEP_GRACE_SECONDS + 1)
    stats = pipe.sweep()["sweep"]
    assert stats["slotsReclaimed"] == 1 and stats["slotsGranted"] == 1
    assert sorted(c.holders()) == [batch(1), batch(2), batch(3)] and c.in_flight() == 3
    assert pipe.fake_sfn.woken[-1] == token(3)
    pipe.double.advance(import_slots.SWEEP_GRACE_SECONDS + 1)
    assert "slotsReclaimed" not in pipe.sweep()["sweep"]  # running executions keep theirs


def test_a_grant_whose_notice_failed_is_sent_again_by_the_sweep(pipe):
    c = cap(1)
    c.acquire(batch(0), token(0))
    c.acquire(batch(1), token(1))
    pipe.fake_sfn.fail_next_success = ["ThrottlingException"]
    with pytest.raises(ClientError):
        c.finish(batch(0))  # slot granted to batch 1, then SendTaskSuccess failed
    assert c.holders() == [batch(1)] and token(1) not in pipe.fake_sfn.woken
    pipe.fake_sfn.running = {batch(1)}
    pipe.double.advance(import_slots.SWEEP_GRACE_SECONDS + 1)
    assert pipe.sweep()["sweep"]["grantsResent"] == 1
    assert pipe.fake_sfn.woken[-1] == token(1)
    pipe.double.advance(import_slots.SWEEP_GRACE_SECONDS + 1)
    assert "grantsResent" not in pipe.sweep()["sweep"]  # confirmed: not sent twice


def test_a_release_between_the_failed_take_and_the_enqueue_strands_no_waiter(pipe, monkeypatch):
    c = cap(1)
    c.acquire(batch(0), token(0))
    enqueue = Capacity.enqueue

    def release_first(self, batch_id, task_token):
        Capacity(TABLE, 1).finish(batch(0))  # finds no waiter yet: nothing to hand over
        return enqueue(self, batch_id, task_token)

    monkeypatch.setattr(Capacity, "enqueue", release_first)
    assert c.acquire(batch(1), token(1)) == "granted"  # the second try took the freed slot
    assert pipe.fake_sfn.woken == [token(0), token(1)]
    assert c.waiters() == [] and c.holders() == [batch(1)] and c.in_flight() == 1


def test_a_waiter_granted_by_a_release_in_between_is_told_once(pipe, monkeypatch):
    c = cap(1)
    c.acquire(batch(0), token(0))
    grant = Capacity.grant
    calls = {"n": 0}

    def release_then_grant(self, waiter):
        calls["n"] += 1
        if calls["n"] == 1:  # the acquirer's second try: a release (and its pump) came first
            Capacity(TABLE, 1).finish(batch(0))
        return grant(self, waiter)

    monkeypatch.setattr(Capacity, "grant", release_then_grant)
    assert c.acquire(batch(1), token(1)) == "queued"  # the pump granted it
    assert pipe.fake_sfn.woken == [token(0), token(1)]
    assert c.holders() == [batch(1)] and c.in_flight() == 1


def test_acquire_handler_and_configuration(pipe):
    out = pipe.invoke("capacity", {"taskToken": token(5), "batchId": batch(5)})
    assert out == {"batchId": batch(5), "slot": "granted"}
    assert json.loads(json.dumps(pipe.fake_sfn.successes[-1][1]))["slot"] == "granted"
    assert settings.get().max_concurrent_import_jobs == 3
    with pytest.raises(ValueError):
        Capacity(TABLE, 0)


def test_one_slot_whose_grant_cannot_be_resent_does_not_stop_the_sweep(pipe):
    c = cap(1)
    c.acquire(batch(0), token(0))
    c.acquire(batch(1), token(1))
    pipe.fake_sfn.fail_next_success = ["ThrottlingException"]
    with pytest.raises(ClientError):
        c.finish(batch(0))  # batch 1 holds the slot, its grant not yet told
    pipe.fake_sfn.running = {batch(1)}
    pipe.fake_sfn.fail_next_success = ["AccessDeniedException"]  # not a dead token: an error
    pipe.double.advance(import_slots.SWEEP_GRACE_SECONDS + 1)
    stats = c.reconcile(lambda batch_id: batch_id in pipe.fake_sfn.running)
    assert stats == {"slotErrors": 1}  # contained: reported, the pump still ran
    assert c.reconcile(lambda batch_id: True)["grantsResent"] == 1
