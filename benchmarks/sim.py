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
* Event sources as AWS runs them: one S3 event (one record) per object, one intake-queue
  message each, taken by the queue's event source as Lambda does (five pollers share the
  messages, each invoking with up to 100 or what its 3-s window gathered); the stream's
  QUEUED read-set records batched like the event source mapping (100 records or 2 s,
  whichever comes first), small batches of a burst through the gather queue (60 s);
  terminal job events delivered to the completion function when they happen (or all
  dropped: then only the sweep's polling finishes the jobs).
* Metering of the handlers' own AWS calls (the harness's setup and inspection calls are
  not counted): Lambda invocations per function, SDK calls per operation and per
  invocation, DynamoDB request units computed from item sizes (``ddb_capacity``),
  HealthOmics calls, throttles and peak rates, PutMetricData requests, and state
  transitions from the executions' histories (``*StateEntered`` events plus retries,
  which Step Functions bills as transitions too).
* moto speed-ups that change no answer (``BENCH_VERIFY_QUERIES=1`` checks the first two
  against moto's own code on every call): queries read only the candidate items (the
  ``by-status`` index is kept as sorted keys per status, updated on every write; table
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

import bisect
import contextlib
import copy
import heapq
import itertools
import json
import logging
import os
import sys
import threading
import time
import types
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
from omics_autoload_runtime import contract, settings
from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.domain import limits
from omics_autoload_runtime.logic import starter as starter_logic
from support import pipeline as harness
from support.omics_double import OmicsDouble

from benchmarks import ddb_capacity, prices

ACCOUNT, REGION, TABLE = harness.ACCOUNT, harness.REGION, harness.TABLE
STATUS_INDEX = tracking.STATUS_INDEX
SWEEP_SECONDS = 300.0  # the construct's default sweep_interval (EventBridge rate(5 minutes))
BATCH_SIZE = 100  # the starter's event source mappings: max_sources_per_job records...
BATCH_WINDOW_SECONDS = float(contract.STREAM_BATCHING_WINDOW_SECONDS)  # ...or the stream's window
GATHER_WINDOW_SECONDS = float(contract.GATHER_WINDOW_SECONDS)  # ...or the gather queue's
INTAKE_BATCH_SIZE = contract.INTAKE_BATCH_SIZE  # the intake queue's event source...
INTAKE_WINDOW_SECONDS = float(contract.INTAKE_BATCHING_WINDOW_SECONDS)  # ...its window...
INTAKE_POLLERS = 5  # ...and Lambda's pollers of a standard queue (AWS: five batches at a time to start)
INTAKE_VISIBILITY_SECONDS = 360.0  # a message reported failed is received again after this

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
    log_bytes: int = 0  # what the handler wrote to its log (Lambda's JSON format), EMF included
    in_flight: int | None = None  # sweeps: object items not terminal when it started


@dataclass
class Meter:
    invocations: Counter = field(default_factory=Counter)  # function -> invocations
    lambda_ms: Counter = field(default_factory=Counter)  # function -> modelled billed ms
    api_calls: Counter = field(default_factory=Counter)  # "service.Operation" -> calls by handlers
    rru: Counter = field(default_factory=Counter)  # function -> read request units
    wru: Counter = field(default_factory=Counter)  # function -> write request units
    wru_index: float = 0.0  # the share of WRU spent on the table's indexes
    slept: Counter = field(default_factory=Counter)
    omics_outcomes: list[tuple[float, str, str]] = field(default_factory=list)  # (time, op, error or "")
    log_bytes: Counter = field(default_factory=Counter)  # function -> bytes of handler log lines
    api_by_function: Counter = field(default_factory=Counter)  # (function, "service.Operation") -> calls
    # Distinct custom metrics a run created: (namespace, metric name, ((dimension, value), ...)),
    # from PutMetricData requests and from Embedded Metric Format log lines alike.
    metric_sets: set[tuple[str, str, tuple[tuple[str, str], ...]]] = field(default_factory=set)
    emf_lines: int = 0
    sweep_samples: list[dict[str, Any]] = field(default_factory=list)
    running: Counter = field(default_factory=Counter)  # function -> invocations running now
    peak_running: Counter = field(default_factory=Counter)  # function -> most at once
    lock: Any = field(default_factory=threading.Lock)

    def started(self, function: str) -> None:
        with self.lock:
            self.running[function] += 1
            self.peak_running[function] = max(self.peak_running[function], self.running[function])

    def record(self, inv: Invocation) -> None:
        calls = sum(inv.calls.values())
        ms = prices.lambda_ms(calls, inv.slept)
        with self.lock:
            self.running[inv.function] -= 1
            self.invocations[inv.function] += 1
            self.lambda_ms[inv.function] += ms
            self.api_calls.update(inv.calls)
            self.api_by_function.update({(inv.function, call): n for call, n in inv.calls.items()})
            self.rru[inv.function] += inv.rru
            self.wru[inv.function] += inv.wru
            self.slept[inv.function] += inv.slept
            self.log_bytes[inv.function] += inv.log_bytes
            if inv.function == "completion:sweep":
                self.sweep_samples.append(
                    {
                        "in_flight": inv.in_flight,
                        "rru": inv.rru,
                        "wru": inv.wru,
                        "lambda_ms": ms,
                        "calls": sum(inv.calls.values()),
                        "polls": inv.calls.get("omics.GetReadSetImportJob", 0),
                        "put_metric_data": inv.calls.get("cloudwatch.PutMetricData", 0),
                        "log_bytes": inv.log_bytes,
                    }
                )

    def add_calls(self, *calls: str, function: str = "starter") -> None:
        """Requests an AWS service makes for a function (an event source's poller)."""
        with self.lock:
            self.api_calls.update(calls)
            self.api_by_function.update((function, call) for call in calls)

    def add_metric(self, namespace: str, name: str, dimensions: Mapping[str, str]) -> None:
        with self.lock:
            self.metric_sets.add((namespace, name, tuple(sorted((str(k), str(v)) for k, v in dimensions.items()))))


# --------------------------------------------------------------------------- logs

# LogRecord attributes that are not the caller's ``extra`` fields.
_RECORD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _emf_metrics(meter: Meter, text: str) -> bool:
    """Record the metrics of one Embedded Metric Format line; False when it is not one."""
    if '"_aws"' not in text:
        return False
    try:
        document = json.loads(text)
        directives = document["_aws"]["CloudWatchMetrics"]
    except (ValueError, KeyError, TypeError):
        return False
    for directive in directives:
        namespace = directive.get("Namespace", "")
        for dimension_set in directive.get("Dimensions") or [[]]:
            dims = {name: document.get(name, "") for name in dimension_set}
            for metric in directive.get("Metrics", []):
                meter.add_metric(namespace, metric.get("Name", ""), dims)
    meter.emf_lines += 1
    return True


class _LogMeter(logging.Handler):
    """Every log record a handler emits, sized as Lambda's JSON log format writes it
    (timestamp, level, message, logger, requestId, the ``extra`` fields); nothing printed."""

    def __init__(self, meter: Meter):
        super().__init__(level=0)
        self.meter = meter

    def emit(self, record: Any) -> None:
        invocation = getattr(_tl, "invocation", None)
        if invocation is None:
            return
        try:
            message = record.getMessage()
        except Exception:  # a bad format string still reaches the log in Lambda
            message = str(record.msg)
        line: dict[str, Any] = {
            "timestamp": "2026-12-02T00:00:00.000Z",
            "level": record.levelname,
            "message": message,
            "logger": record.name,
            "requestId": "00000000-0000-0000-0000-000000000000",
        }
        line.update({k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS})
        if record.exc_info:
            line["stackTrace"] = self.format(record)
        text = json.dumps(line, default=str)
        invocation.log_bytes += len(text.encode("utf-8")) + 1
        _emf_metrics(self.meter, message)


class _StdoutMeter:
    """sys.stdout while the benchmark runs: what a handler prints (an EMF line, say) is
    counted as log bytes and not shown; everything else passes through."""

    def __init__(self, meter: Meter, stream: Any):
        self.meter, self.stream = meter, stream

    def write(self, text: str) -> int:
        invocation = getattr(_tl, "invocation", None)
        if invocation is None:
            return int(self.stream.write(text))
        invocation.log_bytes += len(text.encode("utf-8"))
        for line in text.splitlines():
            _emf_metrics(self.meter, line)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _function_name(module: str, event: Any) -> str:
    """Handler module, with the completion function's two triggers told apart."""
    if module == "completion" and isinstance(event, Mapping):
        kind = event.get("detail-type")
        return "completion:sweep" if kind == "Scheduled Event" or event.get("sweep") else "completion:event"
    return module


# --------------------------------------------------------------------------- the index


class StatusIndex:
    """The ``by-status`` GSI (hash ``status``, range ``updatedAt``, projection ALL) as sorted
    ``(updatedAt, pk, sk)`` keys per status, refreshed after every write to the table."""

    def __init__(self) -> None:
        self.keys: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        self.where: dict[tuple[str, str], tuple[str, tuple[str, str, str]]] = {}

    def refresh(self, table: Any, pk: str, sk: str) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        old = self.where.pop((pk, sk), None)
        if old is not None:
            status, entry = old
            keys = self.keys[status]
            at = bisect.bisect_left(keys, entry)
            if at < len(keys) and keys[at] == entry:
                del keys[at]
        item = table.items.get(DynamoType({"S": pk}), {}).get(DynamoType({"S": sk}))
        if item is None:
            return
        status_value, updated = item.attrs.get("status"), item.attrs.get("updatedAt")
        if status_value is None or updated is None or status_value.type != "S" or updated.type != "S":
            return
        entry = (updated.value, pk, sk)
        bisect.insort(self.keys[status_value.value], entry)
        self.where[(pk, sk)] = (status_value.value, entry)


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
        concurrency: int = 1,
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
        self.index = StatusIndex()
        self.vt = VirtualClock(double)
        self.events_delivered = 0
        self.events_dropped = 0
        self.first_start_at: float | None = None
        # Handlers running at once (S3 events and job events invoke Lambda concurrently;
        # 1: one at a time, under the harness's lock).
        self.concurrency = max(1, concurrency)
        self._running = 0
        self._running_lock = threading.Lock()

    # ------------------------------------------------------------------ setup

    def __enter__(self) -> SimPipeline:
        super().__enter__()
        stack = self._stack
        try:
            # The starter's gather queue (``logic.starter``), as the construct makes it.
            self.sqs = boto3.client("sqs", region_name=REGION)
            self.gather_queue_url = self.sqs.create_queue(QueueName="gather")["QueueUrl"]
            os.environ[contract.Env.GATHER_QUEUE_URL] = self.gather_queue_url
            settings.reset()
            starter_logic._last_started["at"] = float("-inf")  # no burst from an earlier scenario
            self._patch_moto_time(stack)
            self._patch_moto_dynamodb(stack)
            self._patch_runtime_clocks(stack)
            self._instrument_clients(stack)
            self._meter_logs(stack)
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

    def _meter_logs(self, stack: contextlib.ExitStack) -> None:
        """The handlers' logs at Lambda's default level (INFO), sized, not printed."""
        package = logging.getLogger("omics_autoload_runtime")
        handler = _LogMeter(self.meter)
        saved = (package.level, package.propagate)
        package.setLevel(logging.INFO)
        package.propagate = False
        package.addHandler(handler)
        names = [n for n in list(logging.root.manager.loggerDict) if n.startswith("omics_autoload_runtime.")]
        levels = {n: logging.getLogger(n).level for n in names}
        for name in names:
            logging.getLogger(name).setLevel(logging.NOTSET)

        def restore() -> None:
            package.removeHandler(handler)
            package.setLevel(saved[0])
            package.propagate = saved[1]
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)

        stack.callback(restore)
        stack.enter_context(mock.patch.object(sys, "stdout", _StdoutMeter(self.meter, sys.stdout)))

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
                with harness._DDB_WRITE_LOCK:  # the index moves with the item (handlers may run at once)
                    return _write(backend, table_name, *args, **kwargs)

            def _write(backend: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
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
        if service_name == "cloudwatch":

            def metric_data(params: Mapping[str, Any], **_: Any) -> None:
                if getattr(_tl, "invocation", None) is None:
                    return
                for datum in params.get("MetricData", []):
                    dims = {d["Name"]: d["Value"] for d in datum.get("Dimensions", [])}
                    meter.add_metric(params.get("Namespace", ""), datum.get("MetricName", ""), dims)

            events.register(
                "provide-client-params.cloudwatch.PutMetricData", metric_data, unique_id=f"bench-cw-{id(client)}"
            )
        if service_name == "dynamodb":
            meterer = _DynamoDBMeter(self)
            events.register("provide-client-params.dynamodb", meterer.params, unique_id=f"bench-ddb-p-{id(client)}")
            events.register("before-call.dynamodb", meterer.before, unique_id=f"bench-ddb-b-{id(client)}")
            events.register("after-call.dynamodb", meterer.after, unique_id=f"bench-ddb-a-{id(client)}")

    # ------------------------------------------------------------------ invoking handlers

    def invoke(self, module: str, event: Any) -> Any:
        invocation = Invocation(_function_name(module, event))
        if invocation.function == "completion:sweep":
            invocation.in_flight = self.in_flight_objects()
        previous = getattr(_tl, "invocation", None)
        _tl.invocation = invocation
        self.meter.started(invocation.function)
        try:
            if self.concurrency == 1:
                return super().invoke(module, event)
            return self._invoke_concurrently(module, event)
        finally:
            _tl.invocation = previous
            self.meter.record(invocation)

    def _invoke_concurrently(self, module: str, event: Any) -> Any:
        """The harness's invoke without its lock (handlers run at once, as Lambda runs them)."""
        with self._running_lock:
            self._running += 1
            self.counts.invocations[module] += 1
        try:
            payload = json.loads(json.dumps(event, default=harness._json_default))
            with self.lock:
                self._note_phase(module, payload, "enter")
            result = harness.HANDLERS[module](payload, None)
            with self.lock:
                self._note_phase(module, payload, "exit")
            return json.loads(json.dumps(result)) if result is not None else None
        except Exception:
            with self._running_lock:
                self.counts.errors[module] += 1
            raise
        finally:
            with self._running_lock:
                self._running -= 1

    def _invoke_all(self, module: str, events: Sequence[Any]) -> None:
        """One invocation per event, up to ``concurrency`` at once."""
        if self.concurrency == 1 or len(events) <= 1:
            for event in events:
                self.invoke(module, event)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for future in [pool.submit(self.invoke, module, event) for event in events]:
                future.result()

    def in_flight_objects(self) -> int:
        """Object items not in a terminal state (read from moto's table, not metered)."""
        table = self._table()
        terminal = set(tracking.OBJECT_TERMINAL)
        count = 0
        with harness._DDB_WRITE_LOCK:
            for bucket in table.items.values():
                for item in bucket.values() if isinstance(bucket, dict) else [bucket]:
                    attrs = item.attrs
                    kind, status = attrs.get("kind"), attrs.get("status")
                    if kind is not None and kind.value == tracking.KIND_OBJECT and status is not None:
                        count += status.value not in terminal
        return count

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
            if self._in_flight == 0 and self._running == 0:
                running = self.running_executions()
                if self._in_flight == 0 and self._running == 0 and running <= self.vt.blocked():
                    return running
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"executions did not settle: in flight {self._in_flight + self._running}, "
                    f"blocked {self.vt.blocked()}"
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
        self._invoke_all("completion", wanted)
        self.events_delivered += len(wanted)

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
        pollers: list[list[tuple[float, dict[str, Any]]]] = [[] for _ in range(INTAKE_POLLERS)]  # intake queue
        gathered: list[tuple[float, dict[str, Any]]] = []  # (arrival, gather queue message)
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
                    message = self.queue_message({"Records": [self.s3_record(stored)]}, f"m{position}")
                    pollers[position % INTAKE_POLLERS].append((self.vt.now(), message))
                    self.meter.add_calls("sqs.SendMessage", function="intake")  # S3's, billed to the queue
                    position += 1
                self._run_intake(pollers, self.vt.now())
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
                # The gather queue's event source: up to BATCH_SIZE messages, or its window.
                gathered.extend((now, m) for m in self._receive_gathered())
                while gathered and (len(gathered) >= BATCH_SIZE or now >= gathered[0][0] + GATHER_WINDOW_SECONDS):
                    chunk, gathered = gathered[:BATCH_SIZE], gathered[BATCH_SIZE:]
                    result = self.invoke("starter", {"Records": [_sqs_record(m) for _, m in chunk]})
                    starter_batches += 1
                    if result and result.get("batchItemFailures"):
                        raise AssertionError(f"starter reported failures: {result}")
                    self.meter.add_calls("sqs.ReceiveMessage", "sqs.DeleteMessageBatch")  # Lambda's poller
                    for start in range(0, len(chunk), 10):
                        self.sqs.delete_message_batch(
                            QueueUrl=self.gather_queue_url,
                            Entries=[
                                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                for i, (_, m) in enumerate(chunk[start : start + 10])
                            ],
                        )
                    self.settle()
                    more = self.stream_records()
                    pending.extend((now, r) for r in more if harness.matches_filter(tracking.STARTER_FILTER_PATTERN, r))
                mark = lap("stream", mark)
                idle = (
                    position >= len(uploads)
                    and not any(pollers)
                    and not pending
                    and not gathered
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
                due += [min(at for at, _ in poller) + INTAKE_WINDOW_SECONDS for poller in pollers if poller]
                if pending:
                    due.append(pending[0][0] + BATCH_WINDOW_SECONDS)
                if gathered:
                    due.append(gathered[0][0] + GATHER_WINDOW_SECONDS)
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

    def _run_intake(self, pollers: list[list[tuple[float, dict[str, Any]]]], now: float) -> None:
        """Each poller whose batch is full or whose window is over invokes intake with it
        (up to ``concurrency`` at once); a message reported failed is received again later."""
        batches = []
        for poller in pollers:
            ready = [(at, m) for at, m in poller if at <= now]
            if ready and (len(ready) >= INTAKE_BATCH_SIZE or now >= ready[0][0] + INTAKE_WINDOW_SECONDS):
                batch = [m for _, m in ready[:INTAKE_BATCH_SIZE]]
                taken = {m["messageId"] for m in batch}
                poller[:] = [(at, m) for at, m in poller if m["messageId"] not in taken]
                batches.append((poller, batch))
                self.meter.add_calls("sqs.ReceiveMessage", "sqs.DeleteMessageBatch", function="intake")
        results: list[Any] = []
        if self.concurrency == 1:
            results = [self.invoke("intake", {"Records": batch}) for _, batch in batches]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                futures = [pool.submit(self.invoke, "intake", {"Records": batch}) for _, batch in batches]
                results = [f.result() for f in futures]
        for (poller, batch), result in zip(batches, results, strict=True):
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            poller += [(now + INTAKE_VISIBILITY_SECONDS, m) for m in batch if m["messageId"] in failed]

    def _receive_gathered(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.gather_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=43200
            )
            if not response.get("Messages"):
                return messages
            messages += response["Messages"]

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
        self.hash_attr, self.range_attr = "status", "updatedAt"  # the by-status index key

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

    def _indexes(self, table_name: str) -> list[tuple[list[str], list[str], dict[str, Any]]]:
        """(index key attributes, table key attributes, projection) of each GSI of the table, as created."""
        cached = getattr(self, "_gsi", None)
        if cached is None:
            from moto.dynamodb.models import dynamodb_backends

            table = dynamodb_backends[ACCOUNT][REGION].tables.get(table_name)
            cached = [
                (list(index.schema_key_attrs), list(index.table_key_attrs), dict(index.projection or {}))
                for index in (table.global_indexes if table is not None else [])
            ]
            self._gsi = cached
        return cached

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
                    for keys, table_keys, projection in self._indexes(table):
                        index_wru += ddb_capacity.gsi_write_units(
                            old, new, keys=keys, table_keys=table_keys, projection=projection
                        )
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


def _sqs_record(message: Mapping[str, Any]) -> dict[str, Any]:
    """One SQS message as Lambda's SQS event source hands it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:gather",
        "awsRegion": REGION,
    }


# --------------------------------------------------------------------------- moto speed-ups


def _fast_query(
    index: StatusIndex,
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
        fast = hash_key is not None and (
            index_name is None or (index_name == STATUS_INDEX and table.name == TABLE and _mirrored(table))
        )

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
        results, scanned, last = _index_window(
            index, table, hash_key, limit, exclusive_start_key, scan_index_forward, run
        )
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


def _mirrored(table: Any) -> bool:
    """The by-status index is keyed (status, updatedAt), as ``StatusIndex`` mirrors it (else moto's own query)."""
    index = next((i for i in table.global_indexes if i.name == STATUS_INDEX), None)
    return index is not None and list(index.schema_key_attrs) == ["status", "updatedAt"]


def _index_window(
    index: StatusIndex,
    table: Any,
    hash_key: Any,
    limit: Any,
    exclusive_start_key: Any,
    scan_index_forward: bool,
    run: Callable[[list[Any] | None], tuple[list[Any], int, Any]],
) -> tuple[list[Any], int, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    keys = index.keys.get(hash_key.value, []) if hash_key.type == "S" else []
    if not scan_index_forward:
        return run(None)
    start = 0
    if exclusive_start_key:
        try:
            marker = (
                exclusive_start_key["updatedAt"]["S"],
                exclusive_start_key[table.hash_key_attr]["S"],
                exclusive_start_key[table.range_key_attr]["S"],
            )
        except KeyError:
            return run(None)
        start = bisect.bisect_right(keys, marker)
    size = len(keys) - start if not limit else max(4 * int(limit), 256)
    while True:
        window = keys[start : start + size]
        truncated = start + size < len(keys)
        items = []
        for _, pk, sk in window:
            item = table.items.get(DynamoType({"S": pk}), {}).get(DynamoType({"S": sk}))
            if item is not None:
                items.append(item)
        results, scanned, last = run(items)
        if truncated and last is None and (not limit or len(results) < int(limit)):
            size *= 4
            continue
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


def _transact_write_items(index: StatusIndex) -> Callable[..., None]:
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
