"""Fault injection for the e2e harness: every AWS call a handler makes is a numbered call
site, and a fault plan makes one (or several) of them fail the way AWS calls fail.

A call site is ``Site(handler, service, operation, n)``: the n-th call (1-based, counted
over the whole run) of ``operation`` on ``service`` made while ``handler`` runs. Sites are
counted on every client the handlers get from ``adapters.clients.client`` (moto's and the
HealthOmics double's alike) through botocore's ``before-call`` / ``after-call`` events, so
paginated and internal calls count too. A fault at a site is what the handler sees after
the SDK's own retries:

* ``throttled``: the service's throttling error (ClientError), the call not performed;
* ``server_error``: a 5xx (ClientError), not performed;
* ``reply_lost``: performed, then botocore's ReadTimeoutError (the reply never arrived);
* ``crash``: performed, then the Lambda function dies (``LambdaCrash``, a BaseException so
  no ``except Exception`` in a handler catches it; every later call of that invocation dies
  too, so ``finally`` blocks cannot talk to AWS either).

``FaultPipeline`` is the harness the faults run in: ``support.pipeline.Pipeline`` (moto,
the double, the real handlers) with the import workflow run by ``LocalStepFunctions``
(deterministic, so the n-th call is the same call in every run) and each trigger failing
as Lambda makes it fail: the intake queue's batches come back (a failed message, or the
whole batch of a failed invocation) five times, then dead-letter; asynchronous invocations
(EventBridge -> completion, the schedule -> sweep, ``redrive``) are tried three times, then
dead-lettered; a stream batch is retried from its first failed record; a task's error goes
to the state machine's Retry / Catch by its name, a crash as ``Lambda.Unknown``.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import io
import json
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from unittest import mock

import boto3
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.loaders import JSONFileLoader
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table
from omics_autoload_runtime import cli, contract
from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.domain import limits

from support.omics_double import OmicsDouble
from support.pipeline import (
    ACCOUNT,
    REGION,
    STATE_MACHINE_ARN,
    TABLE,
    Pipeline,
    Stored,
    matches_filter,
    module_for_function,
)
from support.sdk_speed import load_model_once
from support.step_functions import LocalStepFunctions, TaskFailed

THROTTLED, SERVER_ERROR, REPLY_LOST, CRASH = "throttled", "server_error", "reply_lost", "crash"
KINDS = (THROTTLED, SERVER_ERROR, REPLY_LOST, CRASH)

# (error code, HTTP status) per botocore service event name; the rest use the default.
THROTTLE_CODES = {
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
    "s3": ("SlowDown", 503),
    "sns": ("Throttling", 400),
    "cloudwatch": ("Throttling", 400),
}
SERVER_CODES = {
    "dynamodb": ("InternalServerError", 500),
    "s3": ("InternalError", 500),
    "omics": ("InternalServerException", 500),
}
DEFAULT_THROTTLE = ("ThrottlingException", 400)
INTAKE_VISIBILITY_SECONDS = 360  # the intake queue's visibility timeout (six times the function's)
# A read set at rest: nothing in the pipeline moves it on by itself.
READ_SET_TERMINAL = (
    contract.Status.IMPORTED,
    contract.Status.FAILED,
    contract.Status.ORPHANED,
    contract.Status.SUPERSEDED,
)
DEFAULT_SERVER = ("ServiceUnavailable", 503)


class _TablesKept:
    """The ``copy`` module as moto's DynamoDB backend sees it under ``light_transactions``:
    a table is its own backup (taken before, see there); anything else is copied."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> Any:
    names = {op.get("TableName") for item in transact_items for op in item.values() if isinstance(op, dict)}
    saved = [
        (table, copy.deepcopy(table.items), list(table.stream_shard.items) if table.stream_shard else None)
        for table in (backend.tables.get(name) for name in names)
        if table is not None
    ]
    try:
        return _moto_transact(backend, transact_items)
    except BaseException:
        for table, items, records in saved:
            table.items = items
            if records is not None:
                table.stream_shard.items = records
        raise


_moto_transact = DynamoDBBackend.transact_write_items
_LIGHT: list[bool] = []


@contextlib.contextmanager
def light_transactions() -> Iterator[None]:
    """moto backs a table up before every TransactWriteItems with a deep copy of all of it,
    stream records included: ~1 s a call once a run has written a few thousand records, most
    of an e2e run's time. Its rollback needs only the items and the stream's records as they
    were (a record never changes once written), so this keeps just those. Nestable."""
    if _LIGHT:
        yield
        return
    with (
        mock.patch.object(dynamodb_models, "copy", _TablesKept()),
        mock.patch.object(DynamoDBBackend, "transact_write_items", _transact_write_items),
    ):
        _LIGHT.append(True)
        try:
            yield
        finally:
            _LIGHT.pop()


class LambdaCrash(BaseException):
    """The function died right after an AWS call took effect (out of memory, timeout...)."""


class Site(NamedTuple):
    handler: str
    service: str
    operation: str
    n: int

    def __str__(self) -> str:
        return f"{self.handler}.{self.service}.{self.operation}.{self.n}"

    @classmethod
    def parse(cls, text: str) -> Site:
        handler, service, operation, n = text.rsplit(".", 3)
        return cls(handler, service, operation, int(n))


@dataclass
class FaultInjector:
    """Counts call sites; injects ``plan`` (site -> kind). One per run."""

    plan: Mapping[Site, str] = field(default_factory=dict)
    storm: tuple[random.Random, float] | None = None  # (rng, chance): any call may fail, any kind
    reached: list[Site] = field(default_factory=list)
    fired: list[tuple[Site, str]] = field(default_factory=list)
    _counts: Counter = field(default_factory=Counter)
    _handler: contextvars.ContextVar = field(default_factory=lambda: contextvars.ContextVar("handler", default=None))
    _dead: contextvars.ContextVar = field(default_factory=lambda: contextvars.ContextVar("dead", default=False))

    @contextlib.contextmanager
    def running(self, handler: str) -> Iterator[None]:
        """Calls made inside are ``handler``'s (a new invocation: alive)."""
        names, dead = self._handler.set(handler), self._dead.set(False)
        try:
            yield
        finally:
            self._handler.reset(names)
            self._dead.reset(dead)

    def _before(self, model: Any, context: dict, **_: Any) -> None:
        handler = self._handler.get()
        if handler is None:
            return  # the harness's or the operator's own call
        if self._dead.get():
            raise LambdaCrash("the function is gone")
        service = model.service_model.service_id.hyphenize()
        counter = (handler, service, model.name)
        self._counts[counter] += 1
        site = Site(handler, service, model.name, self._counts[counter])
        self.reached.append(site)
        kind = self.plan.get(site)
        if kind is None and self.storm is not None and self.storm[0].random() < self.storm[1]:
            kind = self.storm[0].choice(KINDS)
        context["fault"] = (site, kind)
        if kind in (THROTTLED, SERVER_ERROR):
            self.fired.append((site, kind))
            table = THROTTLE_CODES if kind == THROTTLED else SERVER_CODES
            code, status = table.get(service, DEFAULT_THROTTLE if kind == THROTTLED else DEFAULT_SERVER)
            response = {
                "Error": {"Code": code, "Message": f"{kind} (injected at {site})"},
                "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 3},
            }
            raise ClientError(response, model.name)

    def _after(self, model: Any, context: dict, **_: Any) -> None:
        site, kind = context.get("fault", (None, None))
        if kind == REPLY_LOST:
            self.fired.append((site, kind))
            raise ReadTimeoutError(endpoint_url=f"https://{site.service}.us-east-1.amazonaws.com/")
        if kind == CRASH:
            self.fired.append((site, kind))
            self._dead.set(True)
            raise LambdaCrash(f"crashed after {site}")


_ACTIVE: list[FaultInjector] = []  # the injector of the run in progress (clients outlive runs)


def _before_call(**kwargs: Any) -> None:
    if _ACTIVE:
        _ACTIVE[-1]._before(**kwargs)


def _after_call(**kwargs: Any) -> None:
    if _ACTIVE:
        _ACTIVE[-1]._after(**kwargs)


def attach(client: Any) -> Any:
    """Count and fault ``client``'s calls (once per client; idempotent)."""
    service = client.meta.service_model.service_id.hyphenize()
    events = client.meta.events
    # first: before the HealthOmics double / the local Step Functions answer the call
    events.register_first(f"before-call.{service}", _before_call, unique_id="fault-injection-before")
    events.register_first(f"after-call.{service}", _after_call, unique_id="fault-injection-after")
    return client


_CLIENTS: dict[tuple[Any, ...], Any] = {}
_new_client = boto3.client


def _client_once(service_name: str, *args: Any, **kwargs: Any) -> Any:
    """One boto3 client per service and options for the whole process: creating one
    costs ~0.1 s, and moto serves any client while a mock is active."""
    key = (service_name, args, tuple(sorted(kwargs.items())))
    if key not in _CLIENTS:
        _CLIENTS[key] = _new_client(service_name, *args, **kwargs)
    return _CLIENTS[key]


class _OperatorLambda:
    """The ``lambda`` client the CLI gets: ``redrive`` re-sends failed intakes asynchronously."""

    def __init__(self, pipeline: FaultPipeline):
        self.pipeline = pipeline

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        self.pipeline.pending.append((module_for_function(FunctionName), json.loads(Payload)))
        return {"StatusCode": 202}


class FaultPipeline(Pipeline):
    """The e2e harness with call sites counted, faults injected, Lambda's failure semantics
    and the import workflow run in-process (see the module docstring)."""

    def __init__(self, faults: FaultInjector | None = None, **options: Any):
        with mock.patch.object(JSONFileLoader, "load_file", load_model_once):
            options.setdefault("double", OmicsDouble(job_duration_seconds=options.pop("job_duration_seconds", 600.0)))
        super().__init__(state_machine=False, **options)
        self.faults = faults or FaultInjector()
        self.dead_letters: list[tuple[str, Any]] = []
        self.pending: list[tuple[str, Any]] = []  # asynchronous invocations not yet run
        self.operator_redrives = 0
        self.event_copies = 1  # HealthOmics job events delivered this many times each

    def __enter__(self) -> FaultPipeline:
        from moto.moto_api._internal import mock_random

        from support.pipeline import synthesized_definition

        mock_random.seed(0)  # S3 version ids and the like: the same in every run
        self._stack.enter_context(mock.patch.object(JSONFileLoader, "load_file", load_model_once))
        self._stack.enter_context(mock.patch.object(boto3, "client", _client_once))
        self._stack.enter_context(light_transactions())
        _ACTIVE.append(self.faults)
        self._stack.callback(_ACTIVE.remove, self.faults)
        super().__enter__()
        self._stream_position = 0

        self.double.read_objects_from(self.s3)
        self.sfn_local = LocalStepFunctions(
            STATE_MACHINE_ARN,
            synthesized_definition(),
            invoke=self._run_task,
            now=self.double.now,
            sleep=self.double.advance,
        )
        clients.override("stepfunctions", self.sfn_local.client)
        clients.override("lambda", _OperatorLambda(self))
        original = clients.client

        def client(service_name: str) -> Any:
            made = original(service_name)
            return made if isinstance(made, _OperatorLambda) else attach(made)

        self._stack.enter_context(mock.patch.object(clients, "client", client))
        return self

    # ------------------------------------------------------------------ invocations

    def invoke(self, module: str, event: Any) -> Any:
        with self.faults.running(module):
            return super().invoke(module, event)

    def _run_task(self, function: str, payload: Any) -> Any:
        """A task's Lambda invocation, its failure named as Step Functions names it."""
        try:
            return self.invoke(module_for_function(function), payload)
        except LambdaCrash as crash:
            raise TaskFailed("Lambda.Unknown", json.dumps({"errorMessage": str(crash)})) from None
        except Exception as error:
            cause = {"errorType": type(error).__name__, "errorMessage": str(error)}
            raise TaskFailed(type(error).__name__, json.dumps(cause)) from None

    def invoke_async(self, module: str, event: Any) -> None:
        """An asynchronous invocation: three tries (a minute, then two, apart), then the DLQ."""
        for pause in (60, 120, None):
            try:
                self.invoke(module, event)
                return
            except (Exception, LambdaCrash):
                if pause is None:
                    self.dead_letters.append((module, event))
                    return
                self.double.advance(pause)

    def run_pending(self) -> None:
        while self.pending:
            self.invoke_async(*self.pending.pop(0))

    def deliver(self, stored: Sequence[Stored], *, duplicates: bool = False, per_event: int = 10) -> None:
        messages = [self.queue_message({"Records": [self.s3_record(s)]}, f"{s.key}#{s.version_id}") for s in stored]
        for start in range(0, len(messages), per_event):
            for _ in range(2 if duplicates else 1):
                self.receive("intake", messages[start : start + per_event])

    def receive(self, module: str, messages: Sequence[Mapping[str, Any]], receives: int = 5) -> None:
        """The intake queue's event source: a message reported failed, or all of a batch
        whose invocation failed or crashed, comes back after the visibility timeout; after
        five receives its body goes to the dead-letter queue (``redrive --dlq`` re-sends it)."""
        batch = list(messages)
        for _ in range(receives):
            try:
                failures = self.invoke(module, {"Records": batch}).get("batchItemFailures", [])
                failed = {f["itemIdentifier"] for f in failures}
            except (Exception, LambdaCrash):
                failed = {m["messageId"] for m in batch}
            batch = [m for m in batch if m["messageId"] in failed]
            if not batch:
                return
            self.double.advance(INTAKE_VISIBILITY_SECONDS)
        self.dead_letters += [(module, json.loads(m["body"])) for m in batch]

    def drain_stream(self) -> int:
        """Stream -> starter as the event source mapping does: a failed batch is retried
        from its first failed record (ten times, then its records are dead-lettered)."""
        wanted = [r for r in self.stream_records() if matches_filter(tracking.STARTER_FILTER_PATTERN, r)]
        size = self.options.max_sources_per_job
        for start in range(0, len(wanted), size):
            batch = wanted[start : start + size]
            for _ in range(10):
                try:
                    failures = self.invoke("starter", {"Records": batch})["batchItemFailures"]
                except (Exception, LambdaCrash):
                    continue
                if not failures:
                    break
                first = {f["itemIdentifier"] for f in failures}
                index = next(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in first)
                batch = batch[index:]
            else:
                self.dead_letters.append(("starter", {"Records": batch}))
        return len(wanted)

    def deliver_job_events(self) -> int:
        events = [
            e
            for e in self.double.take_events()
            if e["detail-type"] == contract.IMPORT_JOB_EVENT
            and e["detail"].get("status") in limits.IMPORT_JOB_TERMINAL_STATUSES
        ]
        for event in events * self.event_copies:
            self.invoke_async("completion", event)
        return len(events)

    def sweep(self) -> dict[str, Any]:
        event = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
        self.invoke_async("completion", {**event, "time": tracking.iso()})
        return {}

    # ------------------------------------------------------------------ table views

    def items(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The table's items, read from moto's backend (a Scan through moto's serializer
        costs more than the handler calls of a step)."""
        table = dynamodb_backends[ACCOUNT][REGION].get_table(TABLE)
        out = [tracking.deserialize(item.to_json()["Attributes"]) or {} for item in table.all_items()]
        return [item for item in out if kind is None or item.get("kind") == kind]

    def stream_records(self) -> list[dict[str, Any]]:
        """New stream records since the last call, from moto's backend (see ``items``)."""
        shard = dynamodb_backends[ACCOUNT][REGION].get_table(TABLE).stream_shard
        assert shard is not None, "the tracking table has its stream"
        records = [
            copy.deepcopy(r.to_json())
            for r in shard.items
            if int(r.to_json()["dynamodb"]["SequenceNumber"]) > self._stream_position
        ]
        if records:
            self._stream_position = int(records[-1]["dynamodb"]["SequenceNumber"])
        return records

    # ------------------------------------------------------------------ driving

    def executions(self) -> list[dict[str, Any]]:
        return [{"name": e.name, "executionArn": e.arn, "status": e.status} for e in self.sfn_local.executions.values()]

    def _settled(self) -> bool:
        return not self.sfn_local.running()

    def step(self, seconds: float, *, sweep: bool) -> None:
        """One round: pending invocations, the stream, the workflows; then time passes,
        job events are delivered, and (when asked) the sweep runs."""
        self.run_pending()
        self.drain_stream()
        self.sfn_local.run_ready()
        self.double.advance(seconds)
        self.deliver_job_events()
        self.sfn_local.run_ready()
        if sweep:
            self.sweep()
            self.sfn_local.run_ready()

    def run(self, *, max_steps: int = 40, step_seconds: float = 120.0, sweep_every: int = 3, **_: Any) -> Any:
        for number in range(max_steps):
            if self.all_terminal() and self._settled() and not self.pending:
                break
            self.step(step_seconds, sweep=number % sweep_every == sweep_every - 1)
        return self.counts

    def quiescent(self) -> bool:
        """Nothing left that could move: every object and read set final, no workflow
        running, no invocation pending."""
        final = {tracking.KIND_OBJECT: tracking.OBJECT_TERMINAL, tracking.KIND_READSET: READ_SET_TERMINAL}
        items = self.items()
        return (
            not self.pending
            and self._settled()
            and all(i.get("status") in final[i["kind"]] for i in items if i.get("kind") in final)
        )

    def run_on(self) -> None:
        """Let the pipeline recover by itself: steps, then hours and days pass (stale
        claims, stuck items, the orphan window, the workflow's task timeouts), each
        followed by the sweep and more steps, until nothing is left that could move."""
        self.run()
        for jump in (1800, 7200, 26 * 3600, 8 * 86400):
            if self.quiescent():
                return
            self.double.advance(jump)
            self.sweep()
            self.run(max_steps=12)

    def operator(self) -> bool:
        """What the README tells a person to do when an alarm fires: dead letters ->
        ``redrive --dlq`` (here: each re-sent to its function); FAILED files ->
        ``omics-autoload redrive``. True when something was done."""
        failed = any(i["status"] == tracking.FAILED for i in self.items(tracking.KIND_OBJECT))
        letters, self.dead_letters = self.dead_letters, []
        for module, payload in letters:
            if module == "starter":
                self.invoke("starter", payload)
            else:
                self.pending.append((module, payload))
        if failed:
            self.operator_redrives += 1
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                cli.main(["redrive", "--table", TABLE, "--intake-function", "IntakeFunction"])
        return failed or bool(letters)

    def settle(self, *, operator_rounds: int = 2) -> None:
        """Run on, then the operator's documented remedies, then run on again."""
        self.run_on()
        for _ in range(operator_rounds):
            if not self.operator():
                return
            self.run_on()


# --------------------------------------------------------------------------- the promise


def _ordinals(pipe: Pipeline) -> dict[tuple[str, str], int]:
    """(key, versionId) -> 1, 2... in upload order: the same in every run of a script."""
    out: dict[tuple[str, str], int] = {}
    per_key: Counter = Counter()
    for stored in pipe._stored:
        per_key[stored.key] += 1
        out[(stored.key, str(stored.version_id))] = per_key[stored.key]
    return out


def outcomes(pipe: Pipeline) -> dict[tuple[str, int], str]:
    """Each object version's final status, by (key, upload ordinal)."""
    ordinal = _ordinals(pipe)
    return {
        (i["key"], ordinal.get((i["key"], str(i.get("versionId"))), 0)): i["status"]
        for i in pipe.items(tracking.KIND_OBJECT)
    }


def transitions(pipe: Pipeline) -> set[tuple[str, str | None, str]]:
    """Every status change a write made, as (kind, from, to), from the table's stream: each
    write (a transaction's too) leaves one NEW_IMAGE record, in order per item."""
    shard = dynamodb_backends[ACCOUNT][REGION].get_table(TABLE).stream_shard
    last: dict[tuple[str, str], str | None] = {}
    out = set()
    for record in shard.items if shard else ():
        data = record.to_json()
        if data["eventName"] == "REMOVE":
            continue
        image = tracking.deserialize(data["dynamodb"]["NewImage"]) or {}
        key = (image["pk"], image["sk"])
        old, new = last.get(key), image.get("status")
        last[key] = new
        if new != old and image.get("kind") in tracking.TRANSITIONS:
            out.add((image["kind"], old, new))
    return out


def unmodelled(pipe: Pipeline) -> list[tuple[str, str | None, str]]:
    """The transitions the run made that ``tracking.TRANSITIONS`` does not allow."""
    return sorted((t for t in transitions(pipe) if t[2] not in tracking.TRANSITIONS[t[0]].get(t[1], ())), key=str)


def broken_promises(pipe: Pipeline, expected: Mapping[tuple[str, int], str] | None = None) -> list[str]:
    """What breaks "nothing lost, nothing imported twice", per object version: not
    exactly one terminal state; IMPORTED without exactly one read set in the store that
    holds this version's bytes (or naming another read set); a read set in the store that
    no tracking item names; and, given the clean run's ``expected`` outcomes, any other
    outcome (a file the clean run imported that ended otherwise is lost); and any status
    change that the state model (``tracking.TRANSITIONS``) does not allow."""
    problems: list[str] = []
    store = list(pipe.double.read_sets.values())
    objects = pipe.items(tracking.KIND_OBJECT)
    named = {i.get("readSetId") for i in pipe.items() if i.get("readSetId")}

    def holders(bucket: str, key: str, version: str) -> list[dict[str, Any]]:
        return [
            rs
            for rs in store
            if any(
                v and (v["bucket"], v["key"], v.get("versionId") or "null") == (bucket, key, version)
                for v in (rs.get("sourceVersions") or {}).values()
            )
        ]

    ordinal = _ordinals(pipe)
    seen: Counter = Counter()
    for item in objects:
        version = (item["key"], ordinal.get((item["key"], str(item.get("versionId"))), 0))
        seen[version] += 1
        label = f"{item['key']}#v{version[1]}"
        status = item.get("status")
        if status not in tracking.OBJECT_TERMINAL:
            problems.append(f"not terminal: {label} is {status}")
        held = holders(item["bucket"], item["key"], str(item.get("versionId")))
        if status == tracking.IMPORTED:
            if len(held) != 1:
                problems.append(f"imported {len(held)} times: {label} ({sorted(r['id'] for r in held)})")
            elif held[0]["id"] != item.get("readSetId"):
                problems.append(
                    f"wrong read set: {label} names {item.get('readSetId')}, its bytes are in {held[0]['id']}"
                )
        elif held:
            problems.append(f"in the store but {status}: {label} ({sorted(r['id'] for r in held)})")
        if expected is not None and version in expected and expected[version] != status:
            problems.append(f"outcome changed: {label} {expected[version]} -> {status}")
    if expected is not None:  # a version the clean run tracked that has no item at all is lost
        problems += [
            f"lost: {key}#v{n} has no item (the clean run: {expected[(key, n)]})"
            for key, n in sorted(expected)
            if (key, n) not in seen
        ]
    problems += [f"two items for one version: {v}" for v, n in seen.items() if n > 1]
    problems += [f"transition not in the state model: {kind} {old} -> {new}" for kind, old, new in unmodelled(pipe)]
    problems += [f"untracked read set {rs['id']} ({rs.get('name')})" for rs in store if rs["id"] not in named]
    return problems
