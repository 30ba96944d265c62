"""End-to-end harness: the real handlers, in-process, against moto and the HealthOmics double.

``Pipeline`` sets up (inside one ``mock_aws``): the S3 bucket, the tracking table (the
schema of the synthesized example app, with its stream), the SSM parameter holding the reference ARN, the
sequence store and reference in the omics double, and, when asked, the import state
machine from the SYNTHESIZED example app (retry intervals shortened). moto runs the
state machine; its ``lambda:invoke`` calls run OUR handlers in-process (a raised
exception becomes a FunctionError whose ``errorType`` is the exception's class name, so
Retry/Catch by error name behaves as on AWS).

Drive loop (``run``): S3 events -> intake; stream (filtered like the event source
mapping) -> starter; omics clock advanced; job events -> completion; the scheduled
sweep now and then; until every object item is terminal.

Counts are kept per scenario: Lambda invocations per handler, state transitions
(``*StateEntered`` history events), omics API calls per operation.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import quote_plus

import boto3
from moto import mock_aws
from omics_autoload_runtime import contract, settings
from omics_autoload_runtime.adapters import clients, metrics, tracking
from omics_autoload_runtime.domain import limits
from omics_autoload_runtime.domain.options import AssemblyOptions
from omics_autoload_runtime.logic import starter

from support import synth
from support.emf import EmfLog
from support.omics_double import EPOCH, OmicsDouble

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = "omics-autoload-tracking"
BUCKET = "sequencing-runs"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/omics-autoload-import"
REFERENCE_PARAMETER = "/omics-autoload/reference-arn"
STATE_MACHINE_NAME = "omics-autoload-import"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}"

# Harness name -> the function's entry point (``omics_autoload_runtime.handlers.<module>``).
HANDLERS: dict[str, Callable[..., Any]] = {
    name: importlib.import_module(f"omics_autoload_runtime.handlers.{module}").handler
    for name, module in {
        "intake": "intake",
        "starter": "starter",
        "import_start": "import_start",
        "import_wait": "import_wait",
        "import_finalize": "import_finalize",
        "completion": "completion",
        "capacity": "import_slot",
        "reconcile": "reconcile",
    }.items()
}
# Errors handlers raise on purpose (Step Functions retries or catches them by name).
EXPECTED_ERRORS = {"OmicsThrottled", "OmicsQuotaExceeded", "OmicsUnavailable", "ImportRejected"}
# Function names in the synthesized definition (logical ids) -> handler module.
FUNCTION_ALIASES = {
    "StartFunction": "import_start",
    "WaitFunction": "import_wait",
    "FinalizeFunction": "import_finalize",
    "CompletionFunction": "completion",
    "StarterFunction": "starter",
    "IntakeFunction": "intake",
}


def module_for_function(function_name: str) -> str:
    name = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
    if name in HANDLERS:
        return name
    for alias, module in FUNCTION_ALIASES.items():
        if alias in name:
            return module
    raise KeyError(f"no handler for Lambda function {function_name!r}")


def _json_default(value: Any) -> Any:
    """What Lambda's JSON has for values boto3 parses (stream record times are epoch seconds)."""
    if hasattr(value, "timestamp"):
        return int(value.timestamp())
    raise TypeError(f"{type(value).__name__} is not JSON")


# --------------------------------------------------------------------------- table


def create_table(client: Any, name: str = TABLE) -> str:
    """The tracking table as the SYNTHESIZED example app declares it; returns the stream ARN."""
    (table,) = synth.resources_of_type(synth.example_template(), "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    response = client.create_table(
        TableName=name,
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        BillingMode=props["BillingMode"],
        GlobalSecondaryIndexes=[
            {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
            for index in props["GlobalSecondaryIndexes"]
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": props["StreamSpecification"]["StreamViewType"]},
    )
    return response["TableDescription"]["LatestStreamArn"]


def passes_stream_filter(record: Mapping[str, Any]) -> bool:
    """The record reaches the starter: the SYNTHESIZED event source mapping's filters let it through."""
    return any(matches_filter(pattern, record) for pattern in synth.stream_filter_patterns())


def matches_filter(pattern: Any, value: Any) -> bool:
    """EventBridge-style filter matching (lists of allowed literals, nested objects)."""
    if isinstance(pattern, Mapping):
        return isinstance(value, Mapping) and all(
            k in value and matches_filter(p, value[k]) for k, p in pattern.items()
        )
    if isinstance(pattern, list):
        return value in pattern
    return pattern == value


_DDB_WRITE_LOCK = threading.RLock()


def _serialize_dynamodb_writes(stack: contextlib.ExitStack) -> None:
    """DynamoDB applies writes to one item atomically, one after the other; moto's backend
    does not lock, so two threads can both read an item before either writes it. Tests of
    concurrent deliveries need the real guarantee, so each write runs under one lock."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _DDB_WRITE_LOCK:
                return __original(self, *args, **kwargs)

        stack.enter_context(mock.patch.object(DynamoDBBackend, name, locked))


# --------------------------------------------------------------------------- definition


def synthesized_definition() -> str:
    """The import state machine of the example app, Lambda ARNs rendered (one synth per process)."""
    return synth.pipeline_definition()


def fast_definition(definition: str | Mapping[str, Any], max_interval: int = 1, max_delay: int = 2) -> str:
    """The definition with every Retry interval shortened (moto really sleeps)."""
    data = json.loads(definition) if isinstance(definition, str) else json.loads(json.dumps(definition))

    def visit(states: Mapping[str, Any]) -> None:
        for state in states.values():
            for retry in state.get("Retry", []):
                retry["IntervalSeconds"] = min(retry.get("IntervalSeconds", 1), max_interval)
                retry["MaxDelaySeconds"] = max_delay
            for branch in state.get("Branches", []):
                visit(branch["States"])
            if "Iterator" in state:
                visit(state["Iterator"]["States"])
            if "ItemProcessor" in state:
                visit(state["ItemProcessor"]["States"])

    visit(data["States"])
    return json.dumps(data)


# --------------------------------------------------------------------------- harness


@dataclass
class Stored:
    key: str
    version_id: str | None
    size: int
    etag: str
    time: str


@dataclass
class Counts:
    invocations: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    state_transitions: int = 0
    omics_calls: Counter = field(default_factory=Counter)
    executions: int = 0
    imported_files: int = 0
    files: int = 0

    def per_imported_file(self) -> dict[str, float]:
        n = max(self.imported_files, 1)
        return {
            "lambda_invocations": round(sum(self.invocations.values()) / n, 3),
            "state_transitions": round(self.state_transitions / n, 3),
            "omics_calls": round(sum(self.omics_calls.values()) / n, 3),
        }

    def summary(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "imported_files": self.imported_files,
            "executions": self.executions,
            "lambda_invocations": dict(self.invocations),
            "handler_errors": dict(self.errors),
            "state_transitions": self.state_transitions,
            "omics_calls": dict(self.omics_calls),
            "per_imported_file": self.per_imported_file(),
        }


class Pipeline:
    """One isolated pipeline (use as a context manager)."""

    def __init__(
        self,
        *,
        options: AssemblyOptions | None = None,
        reference: bool = True,
        state_machine: bool = False,
        definition: str | Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        double: OmicsDouble | None = None,
        job_duration_seconds: float = 600.0,
        first_poll_seconds: int = 300,
        simulated_rate_limit: bool = True,
    ):
        self.options = options or AssemblyOptions()
        self.with_reference = reference
        self.with_state_machine = state_machine
        self.definition = definition
        self.extra_env = dict(env or {})
        self.double = double or OmicsDouble(job_duration_seconds=job_duration_seconds)
        self.first_poll_seconds = first_poll_seconds
        self.simulated_rate_limit = simulated_rate_limit
        self.counts = Counts()
        self.lock = threading.RLock()
        self.batch_phase: dict[str, str] = {}
        self.handler_failures: list[str] = []
        self._stack = contextlib.ExitStack()
        self._in_flight = 0
        self._last_activity = time.monotonic()
        self._stored: list[Stored] = []
        self._last_sequence: str | None = None

    # ------------------------------------------------------------------ setup

    def __enter__(self) -> Pipeline:
        stack = self._stack
        stack.enter_context(mock.patch.dict(os.environ, {}))
        stack.enter_context(
            mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
        )
        from moto.awslambda_simple.models import LambdaSimpleBackend

        def moto_invoke(backend: Any, *args: Any) -> bytes:  # a function, so it binds like a method
            return self._moto_invoke(backend, *args)

        stack.enter_context(mock.patch.object(LambdaSimpleBackend, "invoke", moto_invoke))
        _serialize_dynamodb_writes(stack)
        stack.callback(self._teardown)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.streams = boto3.client("dynamodbstreams", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.s3.create_bucket(Bucket=BUCKET)
        self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.stream_arn = create_table(self.ddb)
        self.store_id = self.double.create_sequence_store("autoload")
        self.reference_arn = ""
        if self.with_reference:
            self.reference_arn = self._make_reference()
        self.ssm.put_parameter(Name=REFERENCE_PARAMETER, Type="String", Value=self.reference_arn or "NONE")
        # The variables the construct writes, from the same typed settings.
        env = settings.Settings(
            table_name=TABLE,
            sequence_store_id=self.store_id,
            import_role_arn=ROLE_ARN,
            reference_parameter_name=REFERENCE_PARAMETER if self.with_reference else "",
            assembly_options=self.options,
            state_machine_arn=STATE_MACHINE_ARN,
            metrics_namespace="OmicsAutoLoadTest",
            first_poll_seconds=self.first_poll_seconds,
            bucket_name=BUCKET,
        ).to_environment()
        env["AWS_DEFAULT_REGION"] = REGION
        env.update(self.extra_env)
        os.environ.update(env)
        settings.reset()
        clients.reset()
        clients.override("omics", self.double.client)
        tracking.set_clock(self.double.now)
        if self.simulated_rate_limit:
            stack.enter_context(simulated_rate_limit(self.double))
        if self.with_state_machine:
            self._create_state_machine()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()

    def _teardown(self) -> None:
        with contextlib.suppress(Exception):
            for execution in self.executions():
                if execution["status"] == "RUNNING":
                    self.sfn.stop_execution(executionArn=execution["executionArn"])
        clients.reset()
        settings.reset()
        tracking.set_clock(None)
        metrics.set_output(None)

    def _make_reference(self) -> str:
        ref_store = self.double.create_reference_store("refs")
        client = self.double.client
        throttle, self.double.throttle_fraction = self.double.throttle_fraction, 0.0
        job = client.start_reference_import_job(
            referenceStoreId=ref_store,
            roleArn=ROLE_ARN,
            sources=[{"sourceFile": "s3://references-bucket/GRCh38.fa", "name": "GRCh38"}],
        )
        self.double.advance(self.double.job_duration_seconds + 10)
        ref_id = client.get_reference_import_job(id=job["id"], referenceStoreId=ref_store)["sources"][0]["referenceId"]
        self.double.take_events()
        self.double.calls.clear()
        self.double.throttle_fraction = throttle
        return self.double.references[ref_id]["arn"]

    def _create_state_machine(self) -> None:
        definition = self.definition
        if definition is None:
            definition = synthesized_definition()
        role = f"arn:aws:iam::{ACCOUNT}:role/sfn"
        self.sfn.create_state_machine(
            name=STATE_MACHINE_NAME, definition=fast_definition(definition), roleArn=role, type="STANDARD"
        )

    # ------------------------------------------------------------------ invoking handlers

    def invoke(self, module: str, event: Any) -> Any:
        """Run one handler as Lambda would (counted; serialized with the other handlers)."""
        with self.lock:
            self._in_flight += 1
            self.counts.invocations[module] += 1
            self._last_activity = time.monotonic()
            try:
                payload = json.loads(json.dumps(event, default=_json_default))
                self._note_phase(module, payload, "enter")
                result = HANDLERS[module](payload, None)
                self._note_phase(module, payload, "exit")
                return json.loads(json.dumps(result)) if result is not None else None
            except Exception:
                self.counts.errors[module] += 1
                self._note_phase(module, event if isinstance(event, dict) else {}, "error")
                raise
            finally:
                self._in_flight -= 1
                self._last_activity = time.monotonic()

    def _note_phase(self, module: str, event: Mapping[str, Any], when: str) -> None:
        batch = event.get("batchId") if isinstance(event, Mapping) else None
        if not batch:
            return
        if module in ("import_wait", "capacity") and when == "exit":
            self.batch_phase[batch] = "waiting"
        elif module in ("import_start", "import_finalize") or (module == "import_wait" and when != "exit"):
            self.batch_phase[batch] = f"{module}:{when}"

    def _moto_invoke(
        self,
        backend: Any,
        function_name: str,
        qualifier: Any,
        body: Any,
        headers: Any,
        response_headers: dict[str, Any],
    ) -> bytes:
        module = module_for_function(function_name)
        event = json.loads(body) if body else {}
        try:
            result = self.invoke(module, event)
        except Exception as error:
            response_headers["x-amz-function-error"] = "Unhandled"
            if type(error).__name__ not in EXPECTED_ERRORS:
                self.handler_failures.append(f"{module}: {traceback.format_exc()}")
            return json.dumps(
                {"errorType": type(error).__name__, "errorMessage": str(error), "stackTrace": []}
            ).encode()
        return json.dumps(result).encode()

    # ------------------------------------------------------------------ S3 side

    def put(self, key: str, body: bytes = b"@r1\nACGT\n+\nIIII\n", tags: Mapping[str, str] | None = None) -> Stored:
        kwargs: dict[str, Any] = {"Bucket": BUCKET, "Key": key, "Body": body}
        if tags:
            kwargs["Tagging"] = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in tags.items())
        response = self.s3.put_object(**kwargs)
        stored = Stored(
            key=key,
            version_id=response.get("VersionId"),
            size=len(body),
            etag=response["ETag"].strip('"'),
            time=tracking.iso(),
        )
        self._stored.append(stored)
        self.counts.files += 1
        return stored

    @staticmethod
    def s3_record(stored: Stored, bucket: str = BUCKET) -> dict[str, Any]:
        """An S3 event notification record, key URL-encoded as S3 does ('+' for spaces)."""
        obj: dict[str, Any] = {
            "key": quote_plus(stored.key, safe="/"),
            "size": stored.size,
            "eTag": stored.etag,
            "sequencer": "0055AED6DCD90281E5",
        }
        if stored.version_id:
            obj["versionId"] = stored.version_id
        return {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventTime": stored.time,
            "eventName": "ObjectCreated:Put",
            "s3": {
                "s3SchemaVersion": "1.0",
                "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                "object": obj,
            },
        }

    @staticmethod
    def eventbridge_event(stored: Stored, *, encode: bool = False, bucket: str = BUCKET) -> dict[str, Any]:
        return {
            "version": "0",
            "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": ACCOUNT,
            "time": stored.time,
            "region": REGION,
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket},
                "object": {
                    "key": quote_plus(stored.key, safe="/") if encode else stored.key,
                    "size": stored.size,
                    "etag": stored.etag,
                    "version-id": stored.version_id,
                    "sequencer": "00617F08299329D189",
                },
                "request-id": "N4N7GDK58NMKJ12R",
                "requester": ACCOUNT,
                "reason": "PutObject",
            },
        }

    @staticmethod
    def queue_message(body: Mapping[str, Any], message_id: str) -> dict[str, Any]:
        """One intake-queue message as Lambda's SQS event source hands it to the function."""
        return {
            "messageId": message_id,
            "receiptHandle": f"rh-{message_id}",
            "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:intake",
            "awsRegion": REGION,
        }

    def deliver(self, stored: Sequence[Stored], *, duplicates: bool = False, per_event: int = 10) -> None:
        """S3 -> intake queue -> intake, as AWS runs it: one notification (one record) per
        object, one message each, ``per_event`` messages per invocation; each twice with
        ``duplicates``. A message the function reports failed comes back (five receives)."""
        messages = [self.queue_message({"Records": [self.s3_record(s)]}, f"{s.key}#{s.version_id}") for s in stored]
        for start in range(0, len(messages), per_event):
            for _ in range(2 if duplicates else 1):
                self.receive("intake", messages[start : start + per_event])

    def receive(self, module: str, messages: Sequence[Mapping[str, Any]], receives: int = 5) -> None:
        """An SQS event source's batch: the failed messages are received again, up to ``receives`` times."""
        batch = list(messages)
        for _ in range(receives):
            failed = {f["itemIdentifier"] for f in self.invoke(module, {"Records": batch}).get("batchItemFailures", [])}
            batch = [m for m in batch if m["messageId"] in failed]
            if not batch:
                return
        raise AssertionError(f"{len(batch)} message(s) of {module} would go to its dead-letter queue")

    def upload(self, keys: Iterable[str], *, duplicates: bool = False, body: bytes | None = None) -> list[Stored]:
        stored = [self.put(key) if body is None else self.put(key, body) for key in keys]
        self.deliver(stored, duplicates=duplicates)
        return stored

    # ------------------------------------------------------------------ stream side

    def stream_records(self) -> list[dict[str, Any]]:
        """New records on the table's stream since the last call.

        The iterator is opened afresh after the last sequence number read, every call:
        moto replaces a table (and its stream object) with a saved copy when a
        transaction fails, and an old iterator would then read a stream nobody writes to.
        """
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        shard = description["Shards"][0]["ShardId"]
        position: dict[str, str] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last_sequence}
            if self._last_sequence
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        opened = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard, **position)
        iterator = opened["ShardIterator"]
        records: list[dict[str, Any]] = []
        while True:
            response = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            iterator = response["NextShardIterator"]
            records.extend(response["Records"])
            if response["Records"]:
                self._last_sequence = response["Records"][-1]["dynamodb"]["SequenceNumber"]
            else:
                return records

    def reread_stream(self) -> None:
        """The next ``stream_records`` starts again from the oldest record."""
        self._last_sequence = None

    def drain_stream(self) -> int:
        """Stream -> starter, filtered like the event source mapping; returns batches fed."""
        wanted = [r for r in self.stream_records() if passes_stream_filter(r)]
        size = self.options.max_sources_per_job
        batches = 0
        for start in range(0, len(wanted), size):
            result = self.invoke("starter", {"Records": wanted[start : start + size]})
            batches += 1
            assert not result["batchItemFailures"], result
        return batches

    # ------------------------------------------------------------------ executions

    def executions(self) -> list[dict[str, Any]]:
        if not self.with_state_machine:
            return []
        arn = STATE_MACHINE_ARN
        out = []
        for page in self.sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            out.extend(page["executions"])
        return out

    def _quiet(self) -> bool:
        """Every execution finished or parked on its task token, and no handler running."""
        if self._in_flight or time.monotonic() - self._last_activity < 0.05:
            return False
        for execution in self.executions():
            if execution["status"] != "RUNNING":
                continue
            if self.batch_phase.get(execution["name"]) != "waiting":
                return False
        return True

    def _wait_for_executions(self, timeout: float = 60.0, quiet_only: bool = True) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if quiet_only and self._quiet():
                return
            if not quiet_only and all(e["status"] != "RUNNING" for e in self.executions()):
                return
            time.sleep(0.02)
        if quiet_only:
            raise TimeoutError(f"executions did not settle in {timeout} s: {self.batch_phase}")

    # ------------------------------------------------------------------ completion side

    def deliver_job_events(self) -> int:
        # The construct's rule: source clients.omics, this detail-type, terminal statuses only.
        events = [
            e
            for e in self.double.take_events()
            if e["detail-type"] == contract.IMPORT_JOB_EVENT
            and e["detail"].get("status") in limits.IMPORT_JOB_TERMINAL_STATUSES
        ]
        for event in events:
            self.invoke("completion", event)
        return len(events)

    def sweep(self) -> dict[str, Any]:
        return self.invoke(
            "completion",
            {
                "version": "0",
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "detail": {},
                "time": tracking.iso(),
            },
        )

    def reconcile(self) -> dict[str, Any]:
        """One scheduled reconciliation run (the objects whose events were dropped)."""
        return self.invoke(
            "reconcile",
            {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}},
        )

    def settle(self, seconds: float = 2 * 3600) -> None:
        """Move the simulated clock past the objects' real S3 times (reconciliation waits for
        events of young objects)."""
        with self.lock:
            self.double.advance(max(0.0, time.time() - self.double.now()) + seconds)

    # ------------------------------------------------------------------ table views

    def items(self, kind: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in self.ddb.get_paginator("scan").paginate(TableName=TABLE):
            out.extend(tracking.deserialize(item) or {} for item in page["Items"])
        return [item for item in out if kind is None or item.get("kind") == kind]

    def objects(self) -> dict[str, dict[str, Any]]:
        """Object items by S3 key (the newest version wins when a key has several)."""
        out = {}
        for item in sorted(self.items(tracking.KIND_OBJECT), key=lambda i: i.get("receivedAt", "")):
            out[item["key"]] = item
        return out

    def status(self, key: str) -> str | None:
        return self.objects().get(key, {}).get("status")

    def all_terminal(self) -> bool:
        objects = self.items(tracking.KIND_OBJECT)
        return bool(objects) and all(item["status"] in tracking.OBJECT_TERMINAL for item in objects)

    # ------------------------------------------------------------------ drive loop

    def run(
        self,
        *,
        max_steps: int = 60,
        step_seconds: float = 120.0,
        sweep_every: int = 3,
        deliver_events: bool = True,
        timeout: float = 120.0,
    ) -> Counts:
        """Drive everything until every object item is terminal (or max_steps)."""
        deadline = time.monotonic() + timeout
        for step in range(max_steps):
            self.drain_stream()
            if self.with_state_machine:
                self._wait_for_executions(timeout=max(1.0, deadline - time.monotonic()))
            if self.all_terminal() and self._settled():
                break
            with self.lock:
                self.double.advance(step_seconds)
            if deliver_events:
                self.deliver_job_events()
            else:
                self.double.take_events()
            if step % sweep_every == sweep_every - 1:
                self.sweep()
            if time.monotonic() > deadline:
                break
        if self.with_state_machine:
            self._wait_for_executions(timeout=30, quiet_only=False)
        self.collect()
        return self.counts

    def _settled(self) -> bool:
        return all(execution["status"] != "RUNNING" for execution in self.executions())

    def collect(self) -> Counts:
        """Fill in state transitions, executions, omics calls and imported files."""
        transitions = 0
        executions = self.executions()
        for execution in executions:
            history = self.sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
            transitions += sum(1 for e in history["events"] if e["type"].endswith("StateEntered"))
        self.counts.state_transitions = transitions
        self.counts.executions = len(executions)
        self.counts.omics_calls = Counter(op for op, _ in self.double.calls)
        self.counts.imported_files = sum(1 for i in self.items(tracking.KIND_OBJECT) if i["status"] == "IMPORTED")
        return self.counts


# --------------------------------------------------------------------------- demo


def run_demo(
    files: Sequence[str], *, options: AssemblyOptions | None = None, reference: bool = True, state_machine: bool = True
) -> list[tuple[str, str, str]]:
    """Upload ``files`` (keys) to a simulated bucket, run the whole pipeline, and return
    ``(key, status, detail)`` per object: the readSetId when IMPORTED, else the reason."""
    with Pipeline(options=options, reference=reference, state_machine=state_machine) as pipeline:
        pipeline.upload(files)
        if state_machine:
            pipeline.run()
        else:
            run_without_state_machine(pipeline)
        rows = []
        for key, item in sorted(pipeline.objects().items()):
            detail = item.get("readSetId") if item["status"] == "IMPORTED" else item.get("reason", "")
            rows.append((key, item["status"], detail or ""))
        return rows


def run_without_state_machine(pipeline: Pipeline, max_steps: int = 30) -> None:
    """The workflow's steps called directly (no moto executions): fast, for unit-level flows."""
    for _ in range(max_steps):
        for record_batch in _starter_inputs(pipeline):
            out = pipeline.invoke("import_start", record_batch)
            if out["jobId"]:
                pipeline.double.advance(pipeline.double.job_duration_seconds + 10)
                pipeline.invoke("import_finalize", out)
        if pipeline.all_terminal():
            return
        pipeline.double.advance(3600)


def _starter_inputs(pipeline: Pipeline) -> list[dict[str, Any]]:
    """What the starter would hand to executions: claims made directly (no Step Functions)."""
    wanted = [r for r in pipeline.stream_records() if passes_stream_filter(r)]
    inputs = []
    cfg = settings.get()
    tr = tracking.Tracking(cfg.table_name)
    pairs = []
    for record in wanted:
        image = tracking.deserialize(record["dynamodb"]["NewImage"]) or {}
        pairs.append((image["pk"], int(image.get("attempt", 0))))
    pairs = sorted(set(pairs))
    size = cfg.assembly_options.max_sources_per_job
    for start in range(0, len(pairs), size):
        chunk = pairs[start : start + size]
        batch_id = starter.batch_id_for(chunk)
        claimed = [pk for pk, attempt in chunk if tr.claim_for_batch(pk, attempt, batch_id)[0]]
        if claimed:
            inputs.append({"batchId": batch_id, "readSetKeys": sorted(claimed)})
    return inputs


class RecordingStepFunctions:
    """A stand-in Step Functions client for handler unit tests: records callbacks."""

    def __init__(self, *, gone_tokens: Iterable[str] = (), running: Iterable[str] = (), fail_start: bool = False):
        self.gone_tokens = set(gone_tokens)
        self.running = set(running)
        self.fail_start = fail_start
        self.successes: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[tuple[str, str, str]] = []
        self.started: list[dict[str, Any]] = []

    @staticmethod
    def _error(code: str, operation: str) -> Exception:
        from botocore.exceptions import ClientError

        return ClientError({"Error": {"Code": code, "Message": code}}, operation)

    def send_task_success(self, taskToken: str, output: str) -> dict[str, Any]:
        if taskToken in self.gone_tokens:
            raise self._error("TaskTimedOut", "SendTaskSuccess")
        self.successes.append((taskToken, json.loads(output)))
        return {}

    def send_task_failure(self, taskToken: str, error: str = "", cause: str = "") -> dict[str, Any]:
        self.failures.append((taskToken, error, cause))
        return {}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        name = executionArn.rsplit(":", 1)[-1]
        if name in self.running:
            return {"status": "RUNNING"}
        if any(started["name"] == name for started in self.started):
            return {"status": "SUCCEEDED"}
        raise self._error("ExecutionDoesNotExist", "DescribeExecution")

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        if self.fail_start:
            raise self._error("ThrottlingException", "StartExecution")
        if any(started["name"] == name for started in self.started):
            raise self._error("ExecutionAlreadyExists", "StartExecution")
        self.started.append({"name": name, "input": json.loads(input)})
        return {"executionArn": f"{stateMachineArn}:{name}"}


__all__ = [
    "EPOCH",
    "Counts",
    "EmfLog",
    "Pipeline",
    "RecordingStepFunctions",
    "run_demo",
    "run_without_state_machine",
]


# --------------------------------------------------------------------------- admission control


@contextlib.contextmanager
def simulated_rate_limit(double: OmicsDouble) -> Any:
    """The HealthOmics rate limit on the double's clock: a wait for a token advances it."""
    from omics_autoload_runtime.adapters import rate_limit

    rate_limit.forget()
    rate_limit.set_clock(double.now, double.advance)
    try:
        yield
    finally:
        rate_limit.set_clock(None)
        rate_limit.forget()


def peak_tps(double: OmicsDouble, operation: str) -> int:
    """Most calls of one operation within any second of simulated time (the double's
    ``peak_tps`` counts every operation together)."""
    # calls and _call_times grow together; calls may have been cleared since (setup calls)
    stamps = double._call_times[len(double._call_times) - len(double.calls) :]
    times = sorted(t for (op, _), t in zip(double.calls, stamps, strict=True) if op == operation)
    best = lo = 0
    for hi, moment in enumerate(times):
        while times[lo] <= moment - 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


# The AcquireSlot task's function (``CapacityFunction``) runs the import-slot handler.
FUNCTION_ALIASES["CapacityFunction"] = "capacity"


# --------------------------------------------------------------------------- metrics (issue 6)


def exact_total(recorder: EmfLog, name: str, **dimensions: str) -> float:
    """Sum of one metric's values whose dimension set is exactly ``dimensions``: what an
    alarm on that metric sees (``EmfLog.total`` also matches the lines' detail fields)."""
    return sum(recorder.exact(name, **dimensions))
