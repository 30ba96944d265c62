"""The end-to-end harness of the test suite on a simulated clock, with every cost metered.

``SimPipeline`` subclasses ``tests/support/pipeline.Pipeline`` (nothing there is edited):
the REAL handlers run in-process, moto runs the SYNTHESIZED state machine definition for
real (with its real retry intervals: no ``fast_definition``), and the HealthOmics double
runs import jobs on its simulated clock. What this module adds:

* Virtual time. Nothing waits in wall-clock time. A Step Functions retry's sleep (moto's
  retrier) blocks its execution thread until the driver moves the simulated clock past
  its due time; a sleep inside a handler (the HealthOmics rate limiter, the sweep's
  pacing, transaction back-off) advances the clock at once. The driver advances the clock
  only when everything is blocked: no handler running, every RUNNING execution parked on
  a task token or sleeping in a retry. It then jumps to the next thing due: an upload, a
  retry, a job status change, the next sweep (every 5 minutes, as the construct's rule)
  or the end of the stream batching window.
* Event sources as AWS runs them: one S3 event (one record) per object and intake
  invocation; the stream's QUEUED read-set records batched like the event source mapping
  (100 records or 30 s, whichever comes first); terminal job events delivered to the
  completion function when they happen (or all dropped: then only the sweep's polling
  finishes the jobs).
* Metering of the handlers' own AWS calls (the harness's setup and inspection calls are
  not counted): Lambda invocations per function, SDK calls per operation and per
  invocation, DynamoDB request units computed from item sizes (``ddb_capacity``),
  HealthOmics calls, throttles and peak rates, PutMetricData requests, and state
  transitions from the executions' histories (``*StateEntered`` events plus retries,
  which Step Functions bills as transitions too).
* moto speed-ups that change no answer (``BENCH_VERIFY_QUERIES=1`` checks the first two
  against moto's own code on every call): queries read only the candidate items (the
  due index is kept as the keys of each of its partitions, updated on every write; table
  queries read their partition); DynamoDB data-plane responses are dumped as the JSON they
  already are instead of walking the output shape; each UpdateExpression text is parsed
  once; TransactWriteItems backs up only the items it touches instead of deep-copying the
  whole table (and rolls their stream records back with them).

Where the harness offers no hook, this module reaches into it and into moto: the
harness's ``_DDB_WRITE_LOCK``, ``_in_flight`` and ``_create_state_machine``; the double's
``_timeline``; moto's retrier sleep, Wait states, callback endpoints, Table.query and
TransactWriteItems.
"""

from __future__ import annotations

import contextlib
import copy
import heapq
import itertools
import json
import os
import threading
import time
import types
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from omics_autoload_runtime import contract
from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.domain import limits
from support import pipeline as harness
from support.omics_double import OmicsDouble

from benchmarks import ddb_capacity, prices

ACCOUNT, REGION, TABLE = harness.ACCOUNT, harness.REGION, harness.TABLE
DUE_INDEX = contract.DUE_INDEX
SWEEP_SECONDS = 300.0  # the construct's default sweep_interval (EventBridge rate(5 minutes))
BATCH_SIZE = 100  # the starter's event source mapping: max_sources_per_job records...
BATCH_WINDOW_SECONDS = 30.0  # ...or 30 s (batching_window), whichever comes first

VERIFY_QUERIES = os.environ.get("BENCH_VERIFY_QUERIES") == "1"  # check every fast query against moto's

_tl = threading.local()  # .invocation (the handler invocation running in this thread), .query_sizes


# --------------------------------------------------------------------------- metering


@dataclass
class Invocation:
    function: str
    calls: Counter = field(default_factory=Counter)  # "service.Operation" -> n
    slept: float = 0.0  # simulated seconds slept inside the handler
    rru: float = 0.0
    wru: float = 0.0


@dataclass
class Meter:
    invocations: Counter = field(default_factory=Counter)  # function -> invocations
    lambda_ms: Counter = field(default_factory=Counter)  # function -> modelled billed ms
    api_calls: Counter = field(default_factory=Counter)  # "service.Operation" -> calls by handlers
    rru: Counter = field(default_factory=Counter)  # function -> read request units
    wru: Counter = field(default_factory=Counter)  # function -> write request units
    wru_index: float = 0.0  # the share of WRU spent on the table's secondary indexes
    slept: Counter = field(default_factory=Counter)
    omics_outcomes: list[tuple[float, str, str]] = field(default_factory=list)  # (time, op, error or "")

    def record(self, inv: Invocation) -> None:
        self.invocations[inv.function] += 1
        calls = sum(inv.calls.values())
        self.lambda_ms[inv.function] += prices.lambda_ms(calls, inv.slept)
        self.api_calls.update(inv.calls)
        self.rru[inv.function] += inv.rru
        self.wru[inv.function] += inv.wru
        self.slept[inv.function] += inv.slept


def _function_name(module: str, event: Any) -> str:
    """Handler module, with the completion function's two triggers told apart."""
    if module == "completion" and isinstance(event, Mapping):
        kind = event.get("detail-type")
        return "completion:sweep" if kind == "Scheduled Event" or event.get("sweep") else "completion:event"
    return module


# --------------------------------------------------------------------------- the index


class PartitionIndex:
    """The due GSI's partitions (hash ``dueQ``) as sets of item keys, refreshed after every
    write to the table: a query of one partition gives moto only that partition's items
    (moto then sorts, pages, filters and projects them as it always does)."""

    def __init__(self, name: str = DUE_INDEX, hash_attr: str = contract.DUE_QUEUE) -> None:
        self.name, self.hash_attr = name, hash_attr
        self.keys: dict[str, set[tuple[str, str]]] = defaultdict(set)
        self.where: dict[tuple[str, str], str] = {}

    def refresh(self, table: Any, pk: str, sk: str) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        old = self.where.pop((pk, sk), None)
        if old is not None:
            self.keys[old].discard((pk, sk))
        item = table.items.get(DynamoType({"S": pk}), {}).get(DynamoType({"S": sk}))
        if item is None:
            return
        value = item.attrs.get(self.hash_attr)
        if value is None or value.type != "S":
            return
        self.keys[value.value].add((pk, sk))
        self.where[(pk, sk)] = value.value


def _key_of(table: Any, attrs: Mapping[str, Any]) -> tuple[str, str] | None:
    try:
        return attrs[table.hash_key_attr]["S"], attrs[table.range_key_attr]["S"]
    except (KeyError, TypeError):
        return None


# --------------------------------------------------------------------------- virtual time


class VirtualClock:
    """The simulated clock (the double's) and who is blocked on it."""

    def __init__(self, double: OmicsDouble):
        self.double = double
        self.lock = threading.Lock()
        self.sleepers: list[tuple[float, int, threading.Event]] = []
        self.parked: set[int] = set()  # callback endpoints (task tokens) being waited on
        self._seq = itertools.count()

    def now(self) -> float:
        return self.double.now()

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, float(seconds))
        invocation = getattr(_tl, "invocation", None)
        if invocation is not None or getattr(_tl, "driver", False):
            # Inside a handler (or the driver): the world waits with it.
            if seconds:
                self.double.advance(seconds)
            if invocation is not None:
                invocation.slept += seconds
            return
        event = threading.Event()
        with self.lock:
            heapq.heappush(self.sleepers, (self.now() + seconds, next(self._seq), event))
        event.wait()

    def next_due(self) -> float | None:
        with self.lock:
            return self.sleepers[0][0] if self.sleepers else None

    def release_due(self) -> int:
        now = self.now() + 1e-9
        released = 0
        with self.lock:
            while self.sleepers and self.sleepers[0][0] <= now:
                heapq.heappop(self.sleepers)[2].set()
                released += 1
        return released

    def blocked(self) -> int:
        with self.lock:
            return len(self.sleepers) + len(self.parked)


# --------------------------------------------------------------------------- the pipeline


class SimPipeline(harness.Pipeline):
    """The harness's Pipeline, driven on the simulated clock and metered (context manager)."""

    def __init__(
        self,
        *,
        definition: str,
        double: OmicsDouble,
        env: Mapping[str, str] | None = None,
        deliver_events: bool = True,
        sweep_seconds: float = SWEEP_SECONDS,
        first_poll_seconds: int = 300,
    ):
        kwargs: dict[str, Any] = {
            "state_machine": True,
            "definition": definition,
            "env": dict(env or {}),
            "double": double,
            "first_poll_seconds": first_poll_seconds,
        }
        super().__init__(**kwargs)
        self.deliver_events_live = deliver_events
        self.sweep_seconds = sweep_seconds
        self.meter = Meter()
        self.index = PartitionIndex()
        self.vt = VirtualClock(double)
        self.events_delivered = 0
        self.events_dropped = 0
        self.first_start_at: float | None = None

    # ------------------------------------------------------------------ setup

    def __enter__(self) -> SimPipeline:
        super().__enter__()
        stack = self._stack
        try:
            self._patch_moto_time(stack)
            self._patch_moto_dynamodb(stack)
            self._patch_runtime_clocks(stack)
            self._instrument_clients(stack)
        except BaseException:
            stack.close()
            raise
        return self

    def _create_state_machine(self) -> None:
        """The synthesized definition as it is: real retry intervals (sleeps are simulated)."""
        definition = self.definition if self.definition is not None else harness.synthesized_definition()
        self.sfn.create_state_machine(
            name=harness.STATE_MACHINE_NAME,
            definition=definition if isinstance(definition, str) else json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
            type="STANDARD",
        )

    def _patch_moto_time(self, stack: contextlib.ExitStack) -> None:
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function
        from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint

        vt = self.vt
        stack.enter_context(mock.patch.object(retrier_decl, "time", types.SimpleNamespace(sleep=vt.sleep)))

        def wait_interval(self_: Any, env: Any, wait_seconds: int) -> None:
            vt.sleep(wait_seconds)

        stack.enter_context(mock.patch.object(wait_function.WaitFunction, "_wait_interval", wait_interval))
        original_wait, original_notify = CallbackEndpoint.wait, CallbackEndpoint.notify
        original_interrupt = CallbackEndpoint.interrupt_all

        def wait(endpoint: Any, timeout: float | None = None) -> Any:
            with vt.lock:
                if endpoint._outcome is None and not endpoint._notify_event.is_set():
                    vt.parked.add(id(endpoint))
            try:
                return original_wait(endpoint, timeout)
            finally:
                with vt.lock:
                    vt.parked.discard(id(endpoint))

        def notify(endpoint: Any, outcome: Any) -> None:
            with vt.lock:
                vt.parked.discard(id(endpoint))
            original_notify(endpoint, outcome)

        def interrupt_all(endpoint: Any) -> None:
            with vt.lock:
                vt.parked.discard(id(endpoint))
            original_interrupt(endpoint)

        stack.enter_context(mock.patch.object(CallbackEndpoint, "wait", wait))
        stack.enter_context(mock.patch.object(CallbackEndpoint, "notify", notify))
        stack.enter_context(mock.patch.object(CallbackEndpoint, "interrupt_all", interrupt_all))

    def _patch_runtime_clocks(self, stack: contextlib.ExitStack) -> None:
        """Every clock and sleep hook the handlers expose, on the simulated clock."""
        vt = self.vt
        from omics_autoload_runtime.adapters import import_slots, rate_limit

        rate_limit.forget()
        rate_limit.set_clock(vt.now, vt.sleep)
        stack.callback(rate_limit.set_clock, None)
        stack.callback(rate_limit.forget)
        if hasattr(import_slots, "_sleep"):
            stack.enter_context(mock.patch.object(import_slots, "_sleep", vt.sleep))

    # ------------------------------------------------------------------ moto DynamoDB

    def _table(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[ACCOUNT][REGION].get_table(TABLE)

    def _patch_moto_dynamodb(self, stack: contextlib.ExitStack) -> None:
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import Table

        index = self.index

        def refreshing(name: str, key_of: Callable[..., Mapping[str, Any] | None]) -> None:
            original = getattr(DynamoDBBackend, name)

            def write(backend: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
                try:
                    return original(backend, table_name, *args, **kwargs)
                finally:
                    table = backend.tables.get(table_name)
                    attrs = key_of(*args, **kwargs)
                    key = _key_of(table, attrs) if table is not None and attrs else None
                    if table is not None and table.name == TABLE and key:
                        index.refresh(table, *key)

            stack.enter_context(mock.patch.object(DynamoDBBackend, name, write))

        refreshing("put_item", lambda item_attrs, *a, **k: item_attrs)
        refreshing("update_item", lambda key, *a, **k: key)
        refreshing("delete_item", lambda key, *a, **k: key)
        stack.enter_context(mock.patch.object(DynamoDBBackend, "transact_write_items", _transact_write_items(index)))

        original_all_items, original_query = Table.all_items, Table.query

        def all_items(table: Any) -> list[Any]:
            candidates = getattr(_tl, "candidates", None)
            return candidates if candidates is not None else original_all_items(table)

        def query(
            table: Any,
            hash_key: Any,
            range_comparison: Any,
            range_objs: Any,
            limit: Any,
            exclusive_start_key: Any,
            scan_index_forward: bool,
            projection_expressions: Any,
            index_name: str | None = None,
            consistent_read: bool = False,
            filter_expression: Any = None,
            **kwargs: Any,
        ) -> Any:
            return _fast_query(
                index,
                original_query,
                table,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                exclusive_start_key,
                scan_index_forward,
                projection_expressions,
                index_name,
                consistent_read,
                filter_expression,
                kwargs,
            )

        stack.enter_context(mock.patch.object(Table, "all_items", all_items))
        stack.enter_context(mock.patch.object(Table, "query", query))
        stack.enter_context(_fast_json_responses())
        stack.enter_context(_cached_update_expressions())

    # ------------------------------------------------------------------ metering hooks

    def _instrument_clients(self, stack: contextlib.ExitStack) -> None:
        """Hook every client the handlers get from ``clients.client`` (the omics double's too)."""
        original_client = clients.client
        instrumented: dict[int, Any] = {}
        pipeline = self

        def client(service_name: str) -> Any:
            made = original_client(service_name)
            if id(made) not in instrumented:
                instrumented[id(made)] = made
                pipeline._instrument(made, service_name)
            return made

        stack.enter_context(mock.patch.object(clients, "client", client))

    def _instrument(self, client: Any, service_name: str) -> None:
        events = client.meta.events
        meter = self.meter

        def count(model: Any, context: Any, **_: Any) -> None:
            invocation = getattr(_tl, "invocation", None)
            if invocation is not None:
                invocation.calls[f"{service_name}.{model.name}"] += 1
            context["bench_counted"] = invocation is not None

        # On the service's own node, first: the omics double answers from "before-call.omics".
        service_id = client.meta.service_model.service_id.hyphenize()
        events.register_first(f"before-call.{service_id}", count, unique_id=f"bench-count-{id(client)}")
        if service_name == "omics":

            def outcome(http_response: Any, parsed: Any, model: Any, context: Any, **_: Any) -> None:
                if context.get("bench_counted"):
                    code = (parsed or {}).get("Error", {}).get("Code", "") if http_response.status_code >= 300 else ""
                    meter.omics_outcomes.append((self.double.now(), model.name, code))

            events.register_first(f"after-call.{service_id}", outcome, unique_id=f"bench-omics-{id(client)}")
        if service_name == "dynamodb":
            meterer = _DynamoDBMeter(self)
            events.register("provide-client-params.dynamodb", meterer.params, unique_id=f"bench-ddb-p-{id(client)}")
            events.register("before-call.dynamodb", meterer.before, unique_id=f"bench-ddb-b-{id(client)}")
            events.register("after-call.dynamodb", meterer.after, unique_id=f"bench-ddb-a-{id(client)}")

    # ------------------------------------------------------------------ invoking handlers

    def invoke(self, module: str, event: Any) -> Any:
        invocation = Invocation(_function_name(module, event))
        previous = getattr(_tl, "invocation", None)
        _tl.invocation = invocation
        try:
            return super().invoke(module, event)
        finally:
            _tl.invocation = previous
            self.meter.record(invocation)

    # ------------------------------------------------------------------ quiescence

    def running_executions(self) -> int:
        count = 0
        for page in self.sfn.get_paginator("list_executions").paginate(
            stateMachineArn=harness.STATE_MACHINE_ARN, statusFilter="RUNNING"
        ):
            count += len(page["executions"])
        return count

    def settle(self, timeout: float = 300.0) -> int:
        """Wait (wall clock) until no handler runs and every RUNNING execution is blocked on
        the simulated clock (parked on a task token or sleeping in a retry)."""
        deadline = time.monotonic() + timeout
        while True:
            if self._in_flight == 0:
                running = self.running_executions()
                if self._in_flight == 0 and running <= self.vt.blocked():
                    return running
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"executions did not settle: in flight {self._in_flight}, blocked {self.vt.blocked()}"
                )
            time.sleep(0.002)

    # ------------------------------------------------------------------ the drive loop

    def _next_job_change(self) -> float | None:
        timeline = self.double._timeline  # (due, seq, job id) heap of the double's job clock
        return timeline[0][0] if timeline else None

    def _deliver_job_events(self) -> None:
        events = self.double.take_events()
        wanted = [
            e
            for e in events
            if e["detail-type"] == contract.IMPORT_JOB_EVENT
            and e["detail"].get("status") in limits.IMPORT_JOB_TERMINAL_STATUSES
        ]
        if not self.deliver_events_live:
            self.events_dropped += len(wanted)
            return
        for event in wanted:
            self.invoke("completion", event)
            self.events_delivered += 1

    def drive(
        self,
        uploads: Sequence[tuple[float, str]],
        *,
        max_sim_seconds: float,
        wall_timeout: float,
        on_idle: Callable[[], bool] | None = None,
    ) -> dict[str, Any]:
        """Upload ``(offset seconds, key)`` objects and run everything until every object is
        terminal (or the limits). Returns timing facts of the run."""
        _tl.driver = True
        started_wall = time.monotonic()
        started_cpu = time.process_time()
        t0 = self.vt.now()
        next_sweep = t0 + self.sweep_seconds
        pending: list[tuple[float, dict[str, Any]]] = []  # (arrival, stream record)
        position = 0
        steps = sweeps = starter_batches = 0
        finished = False
        spent: Counter = Counter()  # wall seconds per phase of the loop (where the benchmark's time goes)

        def lap(phase: str, since: float) -> float:
            moment = time.monotonic()
            spent[phase] += moment - since
            return moment

        try:
            while True:
                steps += 1
                mark = time.monotonic()
                now = self.vt.now()
                # Objects created now (up to a second ahead: the stream is polled ~1/s).
                horizon = now + 1.0
                while position < len(uploads) and t0 + uploads[position][0] <= horizon:
                    due = t0 + uploads[position][0]
                    if due > self.vt.now():
                        self.double.advance(due - self.vt.now())
                    stored = self.put(uploads[position][1])
                    self.invoke("intake", {"Records": [self.s3_record(stored)]})
                    position += 1
                mark = lap("uploads", mark)
                self.settle()
                mark = lap("settle", mark)
                now = self.vt.now()
                pattern = tracking.STARTER_FILTER_PATTERN
                pending.extend((now, r) for r in self.stream_records() if harness.matches_filter(pattern, r))
                while pending and (len(pending) >= BATCH_SIZE or now >= pending[0][0] + BATCH_WINDOW_SECONDS):
                    chunk, pending = pending[:BATCH_SIZE], pending[BATCH_SIZE:]
                    result = self.invoke("starter", {"Records": [r for _, r in chunk]})
                    starter_batches += 1
                    if result and result.get("batchItemFailures"):
                        raise AssertionError(f"starter reported failures: {result}")
                    self.settle()
                    more = self.stream_records()
                    pending.extend((now, r) for r in more if harness.matches_filter(tracking.STARTER_FILTER_PATTERN, r))
                mark = lap("stream", mark)
                idle = (
                    position >= len(uploads)
                    and not pending
                    and self.running_executions() == 0
                    and self.double.active_jobs() == 0
                )
                if idle and self.all_terminal():
                    finished = True
                    break
                mark = lap("checks", mark)
                if idle and on_idle is not None and on_idle():
                    break
                if now - t0 > max_sim_seconds or time.monotonic() - started_wall > wall_timeout:
                    break
                due = [next_sweep]
                if position < len(uploads):
                    due.append(t0 + uploads[position][0])
                if pending:
                    due.append(pending[0][0] + BATCH_WINDOW_SECONDS)
                for candidate in (self.vt.next_due(), self._next_job_change()):
                    if candidate is not None:
                        due.append(candidate)
                target = max(min(due), now)
                if target > now:
                    self.double.advance(target - now)
                self.vt.release_due()
                self._deliver_job_events()
                mark = lap("job_events", mark)
                if self.vt.now() >= next_sweep:
                    self.sweep()
                    sweeps += 1
                    while next_sweep <= self.vt.now():
                        next_sweep += self.sweep_seconds
                    mark = lap("sweeps", mark)
            self.settle()
        finally:
            _tl.driver = False
        return {
            "finished": finished,
            "sim_seconds": self.vt.now() - t0,
            "t0": t0,
            "wall_seconds": time.monotonic() - started_wall,
            "steps": steps,
            "sweeps": sweeps,
            "starter_batches": starter_batches,
            "wall_by_phase": {k: round(v, 1) for k, v in spent.items()},
            "cpu_seconds": round(time.process_time() - started_cpu, 1),
        }

    # ------------------------------------------------------------------ results

    def transitions(self) -> dict[str, Any]:
        """State transitions as Step Functions bills them: every state entered, plus every
        retry attempt (a Lambda task scheduled again inside the same state)."""
        entered = retries = executions = 0
        by_state: Counter = Counter()
        statuses: Counter = Counter()
        history_events = longest = 0
        for execution in self.executions():
            executions += 1
            statuses[execution["status"]] += 1
            events: list[dict[str, Any]] = []
            for page in self.sfn.get_paginator("get_execution_history").paginate(
                executionArn=execution["executionArn"]
            ):
                events.extend(page["events"])
            history_events += len(events)
            longest = max(longest, len(events))
            tasks_entered = scheduled = 0
            for event in events:
                kind = event["type"]
                if kind.endswith("StateEntered"):
                    entered += 1
                    by_state[event["stateEnteredEventDetails"]["name"]] += 1
                    if kind == "TaskStateEntered":
                        tasks_entered += 1
                elif kind in ("LambdaFunctionScheduled", "TaskScheduled"):
                    scheduled += 1
            retries += max(0, scheduled - tasks_entered)
        return {
            "executions": executions,
            "statuses": dict(statuses),
            "states_entered": entered,
            "retries": retries,
            "billed_transitions": entered + retries,
            "by_state": dict(by_state),
            "history_events": history_events,
            "max_history_events": longest,
        }


# --------------------------------------------------------------------------- DynamoDB meter


class _DynamoDBMeter:
    """Request units of the handlers' DynamoDB calls, from item sizes (see ddb_capacity)."""

    def __init__(self, pipeline: SimPipeline):
        self.pipeline = pipeline

    def _current(self, table_name: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = dynamodb_backends[ACCOUNT][REGION].tables.get(table_name)
        if table is None:
            return None
        try:
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        except KeyError:
            return None
        bucket = table.items.get(hash_value)
        if bucket is None:
            return None
        item = bucket.get(range_value) if range_value is not None else bucket
        return item.to_json()["Attributes"] if item is not None else None

    def _indexes(self, table_name: str) -> list[dict[str, Any]]:
        """Each GSI of the table as ``index_write_units`` keywords (keys and projection)."""
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[ACCOUNT][REGION].tables.get(table_name)
        out = []
        for gsi in getattr(table, "global_indexes", []) or []:
            keys = {k["KeyType"]: k["AttributeName"] for k in gsi.schema}
            projection = gsi.projection or {}
            out.append(
                {
                    "hash_attr": keys["HASH"],
                    "range_attr": keys.get("RANGE"),
                    "projection": projection.get("ProjectionType", "ALL"),
                    "include": tuple(projection.get("NonKeyAttributes", ())),
                    "table_keys": (table.hash_key_attr, table.range_key_attr),
                }
            )
        return out

    @staticmethod
    def _key(table_name: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        return {name: attrs[name] for name in ("pk", "sk") if name in attrs}

    def params(self, params: Mapping[str, Any], context: Any, **_: Any) -> None:
        context["bench_params"] = params

    def _writes(self, operation: str, params: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], int]]:
        """(table, key, multiplier) of each item a write touches."""
        if operation == "PutItem":
            return [(params["TableName"], self._key(params["TableName"], params["Item"]), 1)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], dict(params["Key"]), 1)]
        if operation == "TransactWriteItems":
            out = []
            for entry in params["TransactItems"]:
                (kind, op), *_ = entry.items()
                key = self._key(op["TableName"], op["Item"]) if kind == "Put" else dict(op["Key"])
                out.append((op["TableName"], key, 2))
            return out
        return []

    def before(self, model: Any, context: Any, **_: Any) -> None:
        _tl.query_sizes = None
        params = context.get("bench_params") or {}
        writes = self._writes(model.name, params)
        context["bench_old"] = [self._current(table, key) for table, key, _ in writes]

    def after(self, http_response: Any, parsed: Any, model: Any, context: Any, **_: Any) -> None:
        invocation = getattr(_tl, "invocation", None)
        if invocation is None:
            return
        operation, params = model.name, context.get("bench_params") or {}
        ok = http_response.status_code < 300
        rru = wru = index_wru = 0.0
        if operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"):
            code = (parsed or {}).get("Error", {}).get("Code", "")
            billed = ok or code in ("ConditionalCheckFailedException", "TransactionCanceledException")
            writes = self._writes(operation, params)
            for (table, key, multiplier), old in zip(writes, context["bench_old"], strict=True):
                old_size = ddb_capacity.item_size(old)
                if not ok:
                    if billed:
                        wru += multiplier * ddb_capacity.write_units(old_size, 0)
                    continue
                new = self._current(table, key)
                wru += multiplier * ddb_capacity.write_units(old_size, ddb_capacity.item_size(new))
                if table == TABLE:
                    for gsi in self._indexes(table):
                        index_wru += ddb_capacity.index_write_units(old, new, **gsi)
        elif operation == "GetItem" and ok:
            item = (parsed or {}).get("Item")
            size = ddb_capacity.item_size(_raw(item)) if item else 0
            rru += ddb_capacity.read_units(size, consistent=bool(params.get("ConsistentRead")))
        elif operation == "BatchGetItem" and ok:
            for table_name, request in params.get("RequestItems", {}).items():
                for key in request.get("Keys", []):
                    size = ddb_capacity.item_size(self._current(table_name, key))
                    rru += ddb_capacity.read_units(size, consistent=bool(request.get("ConsistentRead")))
        elif operation in ("Query", "Scan") and ok:
            sizes = getattr(_tl, "query_sizes", None)
            if sizes is None:  # not measured by the query path: items returned as a lower bound
                sizes = [ddb_capacity.item_size(_raw(i)) for i in (parsed or {}).get("Items", [])]
            consistent = bool(params.get("ConsistentRead")) and not params.get("IndexName")
            rru += ddb_capacity.query_units(sum(sizes), consistent=consistent)
        _tl.query_sizes = None
        invocation.rru += rru
        invocation.wru += wru + index_wru
        self.pipeline.meter.wru_index += index_wru


def _raw(item: Mapping[str, Any]) -> dict[str, Any]:
    """botocore parses DynamoDB JSON values as they are (no TypeDeserializer on the client)."""
    return dict(item)


# --------------------------------------------------------------------------- moto speed-ups


def _fast_query(
    index: PartitionIndex,
    original: Callable[..., Any],
    table: Any,
    hash_key: Any,
    range_comparison: Any,
    range_objs: Any,
    limit: Any,
    exclusive_start_key: Any,
    scan_index_forward: bool,
    projection_expressions: Any,
    index_name: str | None,
    consistent_read: bool,
    filter_expression: Any,
    kwargs: dict[str, Any],
) -> Any:
    """moto's Table.query over the candidate items only; records the sizes of the items the
    query evaluated (before its filter) for the read units."""
    if kwargs.get("hash_key_conditions") and len(kwargs["hash_key_conditions"]) > 1:
        fast = False
    elif any(k not in ("hash_key_conditions", "range_key_conditions") for k in kwargs):
        fast = False  # legacy QueryFilter
    else:
        fast = hash_key is not None and (index_name is None or (index_name == index.name and table.name == TABLE))

    def run(candidates: list[Any] | None) -> tuple[list[Any], int, Any]:
        _tl.candidates = candidates
        try:
            return original(
                table,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                exclusive_start_key,
                scan_index_forward,
                None,
                index_name,
                consistent_read,
                None,
                **kwargs,
            )
        finally:
            _tl.candidates = None

    if not fast:
        results, scanned, last = run(None)
    elif index_name is None:
        partition = table.items.get(hash_key, {})
        values = list(partition.values()) if table.range_key_attr else [partition]
        results, scanned, last = run(values)
    else:
        from moto.dynamodb.models.dynamo_type import DynamoType

        keys = index.keys.get(hash_key.value, set()) if hash_key.type == "S" else set()
        items = [table.items.get(DynamoType({"S": pk}), {}).get(DynamoType({"S": sk})) for pk, sk in keys]
        results, scanned, last = run([item for item in items if item is not None])
    if VERIFY_QUERIES and fast:
        slow = run(None)
        mine = ([(r.hash_key, r.range_key) for r in results], scanned, last)
        theirs = ([(r.hash_key, r.range_key) for r in slow[0]], slow[1], slow[2])
        if mine != theirs:
            raise AssertionError(f"fast query differs from moto's: {index_name} {hash_key}: {mine} != {theirs}")
    _tl.query_sizes = [ddb_capacity.item_size(r.to_json()["Attributes"]) for r in results]
    if filter_expression is not None:
        results = [r for r in results if filter_expression.expr(r)]
    if projection_expressions:
        results = [r.project(projection_expressions) for r in results]
    return results, scanned, last


@contextlib.contextmanager
def _cached_update_expressions() -> Iterator[None]:
    """Parse each UpdateExpression text once: moto's validator deep-copies the tree it is
    given before touching it, so the parsed tree can be shared."""
    import functools

    from moto.dynamodb import models

    original = models.UpdateExpressionParser.make
    cached = functools.lru_cache(maxsize=4096)(original)
    with mock.patch.object(models.UpdateExpressionParser, "make", staticmethod(cached)):
        yield


_FAST_JSON_OPERATIONS = {
    "dynamodb": {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "TransactGetItems",
    },
    "dynamodbstreams": {"GetRecords", "GetShardIterator"},
}


def _json_default(value: Any) -> Any:
    import base64
    import datetime

    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(type(value).__name__)


def _same_json(slow: Any, fast: Any) -> bool:
    """What moto's serializer wrote equals the fast dump (which may carry more keys and
    more timestamp digits; botocore ignores the first and parses both)."""
    if isinstance(slow, dict):
        return isinstance(fast, dict) and all(k in fast and _same_json(v, fast[k]) for k, v in slow.items())
    if isinstance(slow, list):
        return isinstance(fast, list) and len(slow) == len(fast) and all(map(_same_json, slow, fast))
    if isinstance(slow, float) or isinstance(fast, float):
        return abs(float(slow) - float(fast)) < 1e-2
    return bool(slow == fast)


@contextlib.contextmanager
def _fast_json_responses() -> Iterator[None]:
    """DynamoDB and DynamoDB Streams results are already wire-shaped JSON: dump them as they
    are instead of walking the output shape (moto's serializer is most of moto's time).
    A result that is not plain JSON, or an error, goes through moto's serializer."""
    from moto.core.responses import ActionResult

    original = ActionResult.execute_result

    def execute_result(action: Any, context: Any) -> Any:
        result = action.result
        fast = context.operation_model.name in _FAST_JSON_OPERATIONS.get(context.service_model.service_name, ())
        if not fast or not isinstance(result, dict):
            return original(action, context)
        try:
            body = json.dumps(result, default=_json_default)
        except TypeError:
            return original(action, context)
        if VERIFY_QUERIES:
            _, _, slow = original(action, context)
            if not _same_json(json.loads(slow), json.loads(body)):
                raise AssertionError(f"fast response differs: {context.operation_model.name}")
        status = context.operation_model.http.get("responseCode", 200)
        version = context.service_model.metadata.get("jsonVersion", "1.0")
        return status, {"Content-Type": f"application/x-amz-json-{version}"}, body

    with mock.patch.object(ActionResult, "execute_result", execute_result):
        yield


def _transact_write_items(index: PartitionIndex) -> Callable[..., None]:
    """moto's TransactWriteItems with an item-level backup (same checks, same errors)."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models.dynamo_type import DynamoType

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        with harness._DDB_WRITE_LOCK:
            if len(transact_items) > 100:
                raise TooManyTransactionsException()
            backups: list[tuple[Any, Any, Any, Any]] = []  # (table, hash, range, item copy or None)
            shards: dict[str, int] = {}
            touched: list[tuple[Any, str, str]] = []
            for entry in transact_items:
                _, op = next(iter(entry.items()))
                table = backend.tables.get(op.get("TableName"))
                if table is None:
                    continue
                attrs = op.get("Item") or op.get("Key") or {}
                try:
                    hash_value = DynamoType(attrs[table.hash_key_attr])
                    range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
                except KeyError:
                    continue
                bucket = table.items.get(hash_value, {})
                current = bucket.get(range_value) if range_value is not None else bucket or None
                backups.append((table, hash_value, range_value, copy.deepcopy(current)))
                if table.stream_shard is not None and table.name not in shards:
                    shards[table.name] = len(table.stream_shard.items)
                key = _key_of(table, attrs)
                if key:
                    touched.append((table, *key))

            def rollback() -> None:
                for table, hash_value, range_value, item in reversed(backups):
                    if range_value is None:
                        if item is None:
                            table.items.pop(hash_value, None)
                        else:
                            table.items[hash_value] = item
                    elif item is None:
                        table.items.get(hash_value, {}).pop(range_value, None)
                    else:
                        table.items[hash_value][range_value] = item
                for name, length in shards.items():
                    del backend.tables[name].stream_shard.items[length:]
                for table, pk, sk in touched:
                    if table.name == TABLE:
                        index.refresh(table, pk, sk)

            target_items: set[tuple[str, str]] = set()
            errors: list[tuple[Any, Any, Any]] = []
            for item in transact_items:
                original_item = None
                if len(list(item.keys())) > 1:
                    raise TransactWriteSingleOpException
                try:
                    op_type, op = next(iter(item.items()))
                    if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                        raise ValueError("Unsupported transaction operation")
                    table_name = op["TableName"]
                    condition_expression = op.get("ConditionExpression")
                    names = op.get("ExpressionAttributeNames")
                    values = op.get("ExpressionAttributeValues")
                    if op_type == "Put":
                        attrs = op["Item"]
                        table = backend.get_table(table_name)
                        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                        if table.range_key_attr is not None:
                            key[table.range_key_attr] = attrs[table.range_key_attr]
                    else:
                        key = op["Key"]
                    unique = (str(table_name), str(dict(sorted(key.items()))))
                    if unique in target_items:
                        raise MultipleTransactionsException()
                    target_items.add(unique)
                    current = backend.get_item(table_name, key)
                    if condition_expression is not None:
                        condition = get_filter_expression(condition_expression, names, values)
                        if not condition.expr(current):
                            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                                original_item = current.to_json()["Attributes"]
                            raise ConditionalCheckFailed(item=original_item)
                    if op_type == "Put":
                        backend.put_item(
                            table_name,
                            op["Item"],
                            condition_expression=condition_expression,
                            expression_attribute_names=names,
                            expression_attribute_values=values,
                        )
                    elif op_type == "Delete":
                        backend.delete_item(
                            table_name,
                            key,
                            condition_expression=condition_expression,
                            expression_attribute_names=names,
                            expression_attribute_values=values,
                        )
                    elif op_type == "Update":
                        backend.update_item(
                            table_name,
                            key,
                            update_expression=op["UpdateExpression"],
                            condition_expression=condition_expression,
                            expression_attribute_names=names,
                            expression_attribute_values=values,
                        )
                    errors.append((None, None, None))
                except (MultipleTransactionsException, MockValidationException):
                    rollback()
                    raise
                except ConditionalCheckFailed as error:
                    errors.append(("ConditionalCheckFailed", str(error.message), original_item))
                except Exception as error:  # as moto: every error cancels the transaction
                    errors.append((type(error).__name__, str(error), original_item))
            if any(code is not None for code, _, _ in errors):
                rollback()
                raise TransactionCanceledException(errors)

    return transact_write_items


# --------------------------------------------------------------------------- workloads


def paired_fastq_keys(files: int, prefix: str = "runs/bench") -> list[str]:
    """``files`` Illumina FASTQ names, R1 and R2 of each sample next to each other."""
    if files <= 0:
        return []
    samples = max(1, files // 2)
    keys = [f"{prefix}/S{n:05d}_S{n % 96 + 1}_L001_R{read}_001.fastq.gz" for n in range(samples) for read in (1, 2)]
    return keys[:files] if files > 1 else keys[:1]


def burst(keys: Sequence[str], within_seconds: float = 60.0) -> list[tuple[float, str]]:
    """The objects created evenly within ``within_seconds``."""
    if len(keys) <= 1:
        return [(0.0, k) for k in keys]
    step = within_seconds / len(keys)
    return [(i * step, key) for i, key in enumerate(keys)]


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """The handlers log every file at INFO; a benchmark of 10,000 files should not print them."""
    import logging

    names = [n for n in list(logging.root.manager.loggerDict) if n.startswith("omics_autoload_runtime")]
    loggers = [logging.getLogger(n) for n in ["omics_autoload_runtime", *names]]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
