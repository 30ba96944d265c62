"""Offline AWS HealthOmics (storage) test double behind a real boto3 ``omics`` client.

``OmicsDouble().client`` is a genuine botocore client: botocore itself checks required
keys, types, unknown keys and minimum lengths. The double hooks the client's event
system, so no request ever leaves the process, and adds what botocore does not check:
enums, maximum lengths, numeric ranges and the model's (Java) regex patterns, applied
recursively from ``client.meta.service_model``, plus the service's semantic rules.
Every response is checked against the operation's output shape before it is returned.

Import jobs run on a simulated clock (``advance()``): SUBMITTED -> IN_PROGRESS -> a
terminal status, emitting EventBridge-shaped events on every change. A job ends
``job_duration_seconds`` after its creation, plus, with ``throughput_bytes_per_second``,
the bytes of all its source files (``source_bytes(uri)``) at that rate: a read set import
job of 100 30-GB files takes longer than a job of one. AWS publishes no import throughput for
HealthOmics storage; the benchmark states the rate it assumes. Throttling and
event loss are deterministic pseudo-random functions of ``seed``.

What an import reads: with ``read_objects_from(s3_client)`` the double looks each source
file up in S3 (no version in the URI, as HealthOmics reads it) when the job moves to
IN_PROGRESS: that is the content the job imports, whatever is uploaded later. Each
read set records it in ``sourceVersions`` ({"source1": {bucket, key, versionId, eTag}})
and the index of its source in the job (``sourceIndex``); a source file missing at that
moment fails its source ("Source file not found").

Faults a test sets on one operation: ``throttle(op)`` (every call throttled until
``throttle(op, False)``), ``fail_next(op, n, code)`` (the next n calls answer ``code``
without taking effect) and ``lose_next_reply(op, n)`` (the next n calls take effect, then
the caller gets botocore's ReadTimeoutError, as when the reply is lost on the way back).

Event ``detail`` shapes follow the EventBridge schema published for ``aws.omics``
(see the CDK ``aws_omics.events`` pattern classes, e.g.
https://docs.aws.amazon.com/cdk/api/v2/docs/@aws-cdk_mixins-preview.aws_omics.events.SequenceStoreEvents.ReadSetImportJobStatusChange.ReadSetImportJobStatusChangeProps.html):
  Read Set Import Job Status Change  {omicsVersion, id, sequenceStoreId, status[, statusMessage]}
  Reference Import Job Status Change {omicsVersion, id, referenceStoreId, status[, statusMessage]}
  Read Set Status Change             {omicsVersion, id, arn, sequenceStoreId, status, creationJobId}
  Reference Status Change            {omicsVersion, id, arn, referenceStoreId, status,
                                      creationJobId}
``id`` is the job id (the read-set / reference id for the last two); omicsVersion
"1.0.0" is assumed.
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import random
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import boto3
import regex
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from botocore.utils import parse_to_aware_datetime

EPOCH = 1_704_067_200.0  # 2024-01-01T00:00:00Z: the default simulated clock starts here
ACTIVE_JOB = ("SUBMITTED", "IN_PROGRESS", "CANCELLING")
ROLE_ARN = regex.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
SERVED = {
    "StartReadSetImportJob",
    "GetReadSetImportJob",
    "ListReadSetImportJobs",
    "GetReadSetMetadata",
    "ListReadSets",
    "BatchDeleteReadSet",
    "StartReferenceImportJob",
    "GetReferenceImportJob",
    "ListReferenceImportJobs",
    "GetReferenceMetadata",
    "ListReferences",
    "DeleteReference",
    "GetSequenceStore",
    "GetReferenceStore",
}


class ServiceError(Exception):
    """An error the simulated service answers with (becomes a botocore ClientError)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


# --------------------------------------------------------------------------- validation
_PATTERNS: dict[str, Any] = {}


def _pattern(p: str):
    if p not in _PATTERNS:
        _PATTERNS[p] = regex.compile(p)  # V0: "||" in a class is a literal "|", as in Java
    return _PATTERNS[p]


def _show(value: Any) -> str:
    """The value as the error message quotes it: control characters escaped, long cut."""
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in str(value))
    return text if len(text) <= 200 else text[:200] + "..."


def shape_errors(shape, value: Any, path: str = "", *, output: bool = False) -> list[str]:
    """Constraint violations of ``value`` against a botocore shape, in the service's
    Coral wording (``Value 'x' at 'sources.1.member.sampleId' failed to satisfy ...``):
    required members, unknown members, container/string/number types, enums, lengths,
    ranges and patterns. ``output=True`` also demands datetimes/bools where the model
    says timestamp/boolean (input timestamps may be strings or numbers)."""
    errors: list[str] = []

    def fail(rule: str) -> None:
        errors.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: {rule}")

    md, kind = shape.metadata, shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"'{path}' must be a structure, got {type(value).__name__}"]
        for key in value:
            if key not in shape.members:
                errors.append(f"'{path}' has unknown member '{key}'")
        for name in shape.required_members:
            if value.get(name) is None:
                errors.append(f"'{path}.{name}' is required".replace("'.", "'"))
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                sub = f"{path}.{name}" if path else name
                errors += shape_errors(member, value[name], sub, output=output)
        return errors
    if kind in ("list", "map", "string"):
        expected: Any = {"list": (list, tuple), "map": dict, "string": str}[kind]
        if not isinstance(value, expected):
            return [f"'{path}' must be a {kind}, got {type(value).__name__}"]
        if "min" in md and len(value) < md["min"]:
            fail(f"Member must have length greater than or equal to {md['min']}")
        if "max" in md and len(value) > md["max"]:
            fail(f"Member must have length less than or equal to {md['max']}")
    if kind == "list":
        for i, item in enumerate(value, start=1):
            errors += shape_errors(shape.member, item, f"{path}.{i}.member", output=output)
    elif kind == "map":
        for key, item in value.items():
            errors += shape_errors(shape.key, key, f"{path}.{key}.key", output=output)
            errors += shape_errors(shape.value, item, f"{path}.{key}.value", output=output)
    elif kind == "string":
        if shape.enum and value not in shape.enum:
            fail(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        if "pattern" in md and not _pattern(md["pattern"]).fullmatch(value):
            fail(f"Member must satisfy regular expression pattern: {md['pattern']}")
    elif kind in ("integer", "long", "float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"'{path}' must be a number, got {type(value).__name__}"]
        if "min" in md and value < md["min"]:
            fail(f"Member must have value greater than or equal to {md['min']}")
        if "max" in md and value > md["max"]:
            fail(f"Member must have value less than or equal to {md['max']}")
    elif kind == "timestamp" and output and not isinstance(value, datetime):
        errors.append(f"'{path}' must be a datetime, got {type(value).__name__}")
    elif kind == "boolean" and output and not isinstance(value, bool):
        errors.append(f"'{path}' must be a boolean, got {type(value).__name__}")
    return errors


def _pick(shape, record: dict) -> dict:
    """The members of ``record`` that the (structure) output shape knows, minus Nones."""
    return {k: v for k, v in record.items() if k in shape.members and v is not None}


# --------------------------------------------------------------------------- the double
class OmicsDouble:
    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
        clock: Callable[[], float] | None = None,
        seed: int = 0,
        throttle_fraction: float = 0.0,
        max_concurrent_import_jobs: int | None = None,
        job_duration_seconds: float = 60.0,
        drop_event_fraction: float = 0.0,
        tps_limit: float | None = None,
        throughput_bytes_per_second: float | None = None,
        source_bytes: Callable[[str], int] | None = None,
    ):
        """See the module docstring. Additions to the agreed API: ``tps_limit`` (per
        operation, over any 1 s of simulated time; above it -> ThrottlingException, like
        the service's per-API TPS quotas), ``attach()``, ``patch_boto3()``, ``now()``,
        ``jobs``, ``dropped_events``, ``active_jobs()``, ``sequence_stores``,
        ``reference_stores``."""
        self.region, self.account = region, account
        self._clock = clock or (lambda: EPOCH)
        self._offset = 0.0
        self.throttle_fraction = throttle_fraction
        self.tps_limit = tps_limit
        self.max_concurrent_import_jobs = max_concurrent_import_jobs
        self.job_duration_seconds = job_duration_seconds
        self.throughput_bytes_per_second = throughput_bytes_per_second
        self.source_bytes = source_bytes
        self.drop_event_fraction = drop_event_fraction
        self._throttle_rng = random.Random(f"{seed}:throttle")
        self._drop_rng = random.Random(f"{seed}:drop")
        self._id_rng = random.Random(f"{seed}:ids")
        self._counter = 0
        self.calls: list[tuple[str, dict]] = []
        self._call_times: list[float] = []
        self._recent: dict[str, deque[float]] = {}  # per-operation call times, last second
        self._active: set[str] = set()  # ids of SUBMITTED / IN_PROGRESS / CANCELLING jobs
        self._events: list[dict] = []
        self.dropped_events: list[dict] = []
        self.sequence_stores: dict[str, dict] = {}
        self.reference_stores: dict[str, dict] = {}
        self.jobs: dict[str, dict] = {}  # read-set and reference import jobs, by id
        self._read_sets: dict[str, dict] = {}
        self._references: dict[str, dict] = {}
        self._tokens: dict[tuple[str, str, str], str] = {}  # (kind, store, clientToken) -> job id
        self._failures: list[tuple[Callable[[dict], bool], str]] = []
        self._fail_next: list[str] = []
        self._timeline: list[tuple[float, int, str]] = []  # heap of (due, seq, job id)
        self._s3: Any = None  # read_objects_from(): where a job reads its sources
        self._throttled: set[str] = set()
        self._fail_calls: dict[str, list[str]] = {}  # operation -> error codes, next call first
        self._lost_replies: dict[str, int] = {}  # operation -> replies still to lose
        self.peak_concurrent_jobs = 0
        self._lock = threading.RLock()  # handlers may call from several threads

        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        self.client = session.client("omics")
        self.attach(self.client)

    def attach(self, client) -> None:
        """Serve another ``omics`` client (e.g. one the code under test created itself)."""
        events, tag = client.meta.events, f"omics-double-{id(self)}"
        events.register("before-parameter-build.omics", self._capture, unique_id=tag + "-in")
        events.register("before-call.omics", self._serve, unique_id=tag + "-call")

    @contextmanager
    def patch_boto3(self) -> Iterator[OmicsDouble]:
        """Within the block every new boto3 ``omics`` client (``boto3.client("omics")``,
        ``Session().client("omics")``) is served by this double."""
        original = boto3.session.Session.client

        def client(session, service_name, *args, **kwargs):
            made = original(session, service_name, *args, **kwargs)
            if service_name == "omics":
                self.attach(made)
            return made

        with mock.patch.object(boto3.session.Session, "client", client):
            yield self

    # ----------------------------------------------------------------- public helpers
    def now(self) -> float:
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._offset += seconds
            self._sync()

    @property
    def events(self) -> list[dict]:
        self._sync()
        return self._events

    def take_events(self) -> list[dict]:
        with self._lock:
            self._sync()
            taken, self._events = self._events, []
            return taken

    @property
    def read_sets(self) -> dict[str, dict]:
        self._sync()
        return self._read_sets

    @property
    def references(self) -> dict[str, dict]:
        self._sync()
        return self._references

    def create_sequence_store(self, name: str = "store") -> str:
        sid = self._new_id()
        self.sequence_stores[sid] = {
            "id": sid,
            "name": name,
            "creationTime": self.now(),
            "status": "ACTIVE",
            "arn": f"arn:aws:omics:{self.region}:{self.account}:sequenceStore/{sid}",
        }
        return sid

    def create_reference_store(self, name: str = "refs") -> str:
        rid = self._new_id()
        self.reference_stores[rid] = {
            "id": rid,
            "name": name,
            "creationTime": self.now(),
            "arn": f"arn:aws:omics:{self.region}:{self.account}:referenceStore/{rid}",
        }
        return rid

    def fail_source(self, predicate: Callable[[dict], bool] | str, message: str) -> None:
        """Sources matching ``predicate`` (a request source item) end FAILED with
        ``message``; a string matches as a substring of source1 / sourceFile."""
        self._check_message(message)
        if isinstance(predicate, str):
            needle = predicate
            predicate = lambda src: needle in _source_uri(src)  # noqa: E731
        self._failures.append((predicate, message))

    def fail_next_job(self, message: str) -> None:
        """The next job started (read set or reference) ends FAILED with ``message``."""
        self._check_message(message)
        self._fail_next.append(message)

    def read_objects_from(self, s3_client: Any) -> None:
        """Jobs read their source files from this (moto) S3 client when they start running."""
        self._s3 = s3_client

    def throttle(self, operation: str, on: bool = True) -> None:
        """Every call of ``operation`` is throttled (ThrottlingException) until turned off."""
        (self._throttled.add if on else self._throttled.discard)(operation)

    def fail_next(self, operation: str, n: int = 1, code: str = "InternalServerException") -> None:
        """The next ``n`` calls of ``operation`` answer the error ``code`` (a modelled
        omics error: ThrottlingException, InternalServerException...) and do nothing."""
        with self._lock:
            self._fail_calls.setdefault(operation, []).extend([code] * n)

    def lose_next_reply(self, operation: str, n: int = 1) -> None:
        """The next ``n`` calls of ``operation`` take effect; their callers get ReadTimeoutError."""
        with self._lock:
            self._lost_replies[operation] = self._lost_replies.get(operation, 0) + n

    def _check_message(self, message: str) -> None:
        shape = self.client.meta.service_model.shape_for("JobStatusMessage")
        if errors := shape_errors(shape, message, "statusMessage"):
            raise ValueError(f"the service could not report this message: {errors}")

    def cancel_job(self, job_id: str) -> None:
        """CANCELLING now, CANCELLED one simulated second later (no-op once terminal)."""
        with self._lock:
            self._sync()
            job = self.jobs[job_id]
            if job["status"] in ("SUBMITTED", "IN_PROGRESS"):
                self._set_status(job, "CANCELLING", self.now())
                self._schedule(job, self.now() + 1.0)

    def import_jobs_started(self, kind: str | None = None) -> int:
        """Import jobs created (idempotent replays excluded); kind: "readSet"/"reference"."""
        return sum(1 for j in self.jobs.values() if kind in (None, j["kind"]))

    def api_calls(self, operation: str | None = None) -> int:
        return sum(1 for op, _ in self.calls if operation in (None, op))

    @property
    def peak_tps(self) -> int:
        times, best, lo = sorted(self._call_times), 0, 0
        for hi, t in enumerate(times):
            while times[lo] <= t - 1.0:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def active_jobs(self) -> int:
        """Import jobs (read set + reference: one shared quota) not yet terminal."""
        return len(self._active)

    # ----------------------------------------------------------------- botocore hooks
    def _capture(self, params, model, context, **_):
        context["omics_double_params"] = params  # the caller's params, before serialization

    def _serve(self, model, context, **_):
        op = model.name
        if op not in SERVED:
            raise NotImplementedError(f"OmicsDouble does not implement omics.{op}")
        params = copy.deepcopy(context.pop("omics_double_params"))
        with self._lock:
            answer = self._answer(model, op, params)
            if self._lost_replies.get(op):
                self._lost_replies[op] -= 1
                raise ReadTimeoutError(endpoint_url=f"https://omics.{self.region}.amazonaws.com/")
            return answer

    def _answer(self, model, op: str, params: dict):
        self._sync()
        self.calls.append((op, params))
        now = self.now()
        self._call_times.append(now)
        try:
            if self._fail_calls.get(op):
                code = self._fail_calls[op].pop(0)
                raise ServiceError(code, f"{code} (injected)")
            throttled = op in self._throttled or self._throttle_rng.random() < self.throttle_fraction
            if throttled or self._over_tps(op, now):
                raise ServiceError("ThrottlingException", "Rate exceeded")
            errors = shape_errors(model.input_shape, params)
            if errors:
                n = len(errors)
                head = f"{n} validation error{'s' if n > 1 else ''} detected: "
                raise ServiceError("ValidationException", head + "; ".join(errors))
            body = getattr(self, "_op_" + op)(params, model.output_shape)
        except ServiceError as err:
            status = model.service_model.shape_for(err.code).metadata["error"]["httpStatusCode"]
            parsed = {"Error": {"Code": err.code, "Message": err.message}, "message": err.message}
            return self._http(status, parsed, err.code)
        problems = shape_errors(model.output_shape, body, output=True)
        assert not problems, f"OmicsDouble built an invalid {op} response: {problems}"
        return self._http(200, body)

    def _over_tps(self, op: str, now: float) -> bool:
        if self.tps_limit is None:
            return False
        recent = self._recent.setdefault(op, deque())
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= self.tps_limit:
            return True
        recent.append(now)  # only accepted calls count against the quota
        return False

    def _http(self, status: int, parsed: dict, error_code: str | None = None):
        headers = {"x-amzn-requestid": str(uuid.UUID(int=self._id_rng.getrandbits(128)))}
        if error_code:
            headers["x-amzn-errortype"] = error_code
        parsed["ResponseMetadata"] = {
            "RequestId": headers["x-amzn-requestid"],
            "HTTPStatusCode": status,
            "HTTPHeaders": headers,
            "RetryAttempts": 0,
        }
        return AWSResponse("https://omics.invalid/", status, headers, None), parsed

    # ----------------------------------------------------------------- state helpers
    def _new_id(self) -> str:
        self._counter += 1
        return f"{self._id_rng.randrange(1, 10)}{self._counter:09d}"  # 10 digits, unique

    def _ts(self, t: float | None) -> datetime | None:
        return None if t is None else datetime.fromtimestamp(t, tz=UTC)

    def _store(self, stores: dict, sid: str, what: str) -> dict:
        if sid not in stores:
            raise ServiceError("ResourceNotFoundException", f"{what} {sid} not found")
        return stores[sid]

    def _job(self, params: dict, kind: str) -> dict:
        store_key = "sequenceStoreId" if kind == "readSet" else "referenceStoreId"
        stores = self.sequence_stores if kind == "readSet" else self.reference_stores
        self._store(stores, params[store_key], store_key[:-2])
        job = self.jobs.get(params["id"])
        if job is None or job["kind"] != kind or job["storeId"] != params[store_key]:
            raise ServiceError("ResourceNotFoundException", f"Import job {params['id']} not found")
        return job

    def _reference_by_arn(self, arn: str) -> dict | None:
        ref = next((r for r in self._references.values() if r["arn"] == arn), None)
        return ref if ref and ref["status"] == "ACTIVE" else None

    def _emit(self, detail_type: str, t: float, detail: dict) -> None:
        event: dict[str, Any] = {
            "version": "0",
            "id": str(uuid.UUID(int=self._id_rng.getrandbits(128), version=4)),
            "detail-type": detail_type,
            "source": "aws.omics",
            "account": self.account,
            "time": datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [],
            "detail": {"omicsVersion": "1.0.0", **detail},
        }
        if self._drop_rng.random() < self.drop_event_fraction:
            self.dropped_events.append(event)
        else:
            self._events.append(event)

    def _set_status(self, job: dict, status: str, t: float, message: str | None = None) -> None:
        job["status"], job["statusMessage"] = status, message
        if status in ACTIVE_JOB:
            self._active.add(job["id"])
        else:
            self._active.discard(job["id"])
            job["completionTime"] = t
        store_key = "sequenceStoreId" if job["kind"] == "readSet" else "referenceStoreId"
        detail = {"id": job["id"], store_key: job["storeId"], "status": status}
        if message:
            detail["statusMessage"] = message
        kind = "Read Set" if job["kind"] == "readSet" else "Reference"
        self._emit(f"{kind} Import Job Status Change", t, detail)
        self.peak_concurrent_jobs = max(self.peak_concurrent_jobs, self.active_jobs())

    def job_seconds(self, job: dict) -> float:
        """How long ``job`` runs from its creation to its terminal status."""
        rate = self.throughput_bytes_per_second
        if not rate or self.source_bytes is None or job["kind"] != "readSet":
            return self.job_duration_seconds
        total = 0
        for src in job["sources"]:
            request = src["_request"]
            for uri in (request.get("sourceFiles") or {"sourceFile": request.get("sourceFile", "")}).values():
                total += self.source_bytes(uri)
        return self.job_duration_seconds + total / rate

    def _schedule(self, job: dict, due: float) -> None:
        job["_due"] = due
        self._counter += 1
        heapq.heappush(self._timeline, (due, self._counter, job["id"]))

    def _sync(self) -> None:
        """Apply every job transition that is due at the current simulated time."""
        with self._lock:
            self._apply_due(self.now())

    def _apply_due(self, now: float) -> None:
        while self._timeline and self._timeline[0][0] <= now:
            due, _, job_id = heapq.heappop(self._timeline)
            job = self.jobs[job_id]
            if job.get("_due") != due or job["status"] not in ACTIVE_JOB:
                continue  # superseded (e.g. cancelled)
            if job["status"] == "SUBMITTED":
                for src in job["sources"]:
                    src["status"] = "IN_PROGRESS"
                    src["_read"] = self._read_sources(src["_request"])
                self._set_status(job, "IN_PROGRESS", due)
                self._schedule(job, job["creationTime"] + self.job_seconds(job))
            elif job["status"] == "CANCELLING":
                for src in job["sources"]:
                    if src["status"] != "FINISHED":
                        src.update(status="FAILED", statusMessage="Import job cancelled")
                self._set_status(job, "CANCELLED", due)
            else:
                self._finish(job, due)

    def _finish(self, job: dict, t: float) -> None:
        for src in job["sources"]:
            if job["failMessage"]:
                src.update(status="FAILED", statusMessage=job["failMessage"])
                continue
            message = next((m for pred, m in self._failures if pred(src["_request"])), None)
            missing = [uri for uri, found in (src.get("_read") or {}).values() if found is None]
            if missing:
                message = f"Source file not found: {missing[0]}"
            if message:
                src.update(status="FAILED", statusMessage=message)
            else:
                src["status"] = "FINISHED"
                self._create_output(job, src, t)
        failed = sum(1 for s in job["sources"] if s["status"] == "FAILED")
        if job["failMessage"]:
            self._set_status(job, "FAILED", t, job["failMessage"])
        elif failed == len(job["sources"]):
            self._set_status(job, "FAILED", t, "All sources failed to import")
        elif failed:
            msg = f"{failed} of {len(job['sources'])} sources failed to import"
            self._set_status(job, "COMPLETED_WITH_FAILURES", t, msg)
        else:
            self._set_status(job, "COMPLETED", t)

    def _read_sources(self, request: dict) -> dict[str, tuple[str, dict | None]] | None:
        """Per source file (source1, source2 / sourceFile): its URI and the S3 object
        version current now ({bucket, key, versionId, eTag}), None when it is missing."""
        if self._s3 is None:
            return None
        files = request.get("sourceFiles") or {"sourceFile": request.get("sourceFile", "")}
        out: dict[str, tuple[str, dict | None]] = {}
        for name, uri in files.items():
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            try:
                head = self._s3.head_object(Bucket=bucket, Key=key)
            except self._s3.exceptions.ClientError:
                out[name] = (uri, None)
                continue
            version = {
                "bucket": bucket,
                "key": key,
                "versionId": head.get("VersionId"),
                "eTag": head["ETag"].strip('"'),
            }
            out[name] = (uri, version)
        return out

    def _create_output(self, job: dict, src: dict, t: float) -> None:
        new_id, store = self._new_id(), job["storeId"]
        req = src["_request"]
        read = {name: version for name, (_, version) in (src.get("_read") or {}).items()}
        if job["kind"] == "readSet":
            arn = f"{self.sequence_stores[store]['arn']}/readSet/{new_id}"
            ref = req.get("referenceArn") if req["sourceFileType"] in ("BAM", "CRAM") else None
            self._read_sets[new_id] = {
                "id": new_id,
                "arn": arn,
                "sequenceStoreId": store,
                "subjectId": req["subjectId"],
                "sampleId": req["sampleId"],
                "name": req.get("name"),
                "description": req.get("description"),
                "fileType": req["sourceFileType"],
                "referenceArn": ref,
                "status": "ACTIVE",
                "creationType": "IMPORT",
                "creationJobId": job["id"],
                "creationTime": t,
                "sourceFiles": dict(req["sourceFiles"]),
                "generatedFrom": req.get("generatedFrom"),
                "tags": dict(req.get("tags", {})),
                "sourceIndex": job["sources"].index(src),
                "sourceVersions": read,
            }
            src["readSetId"] = new_id
            self._emit(
                "Read Set Status Change",
                t,
                {"id": new_id, "arn": arn, "sequenceStoreId": store, "status": "ACTIVE", "creationJobId": job["id"]},
            )
        else:
            arn = f"{self.reference_stores[store]['arn']}/reference/{new_id}"
            self._references[new_id] = {
                "id": new_id,
                "arn": arn,
                "referenceStoreId": store,
                "status": "ACTIVE",
                "name": req["name"],
                "description": req.get("description"),
                "md5": hashlib.md5(req["sourceFile"].encode()).hexdigest(),
                "creationTime": t,
                "updateTime": t,
                "creationType": "IMPORT",
                "creationJobId": job["id"],
                "sourceFile": req["sourceFile"],
                "tags": dict(req.get("tags", {})),
            }
            src["referenceId"] = new_id
            self._emit(
                "Reference Status Change",
                t,
                {"id": new_id, "arn": arn, "referenceStoreId": store, "status": "ACTIVE", "creationJobId": job["id"]},
            )

    def _start_job(self, params: dict, kind: str, out_shape) -> dict:
        store_key = "sequenceStoreId" if kind == "readSet" else "referenceStoreId"
        store = params[store_key]
        token_key = (kind, store, params.get("clientToken", ""))
        if params.get("clientToken") and token_key in self._tokens:
            return self._job_summary(self.jobs[self._tokens[token_key]], out_shape)
        quota = self.max_concurrent_import_jobs
        if quota is not None and self.active_jobs() >= quota:
            raise ServiceError("ServiceQuotaExceededException", f"Concurrent import jobs quota exceeded ({quota})")
        if kind == "reference" and any(
            self.jobs[j]["kind"] == "reference" and self.jobs[j]["storeId"] == store for j in self._active
        ):
            raise ServiceError(
                "ServiceQuotaExceededException",
                f"Reference store {store} already has an import job in progress; "
                "only one reference import job can run at a time per reference store",
            )
        job_id, now = self._new_id(), self.now()
        sources = []
        for req in params["sources"]:  # "_request": what fail_source predicates see
            sources.append({**copy.deepcopy(req), "status": "NOT_STARTED", "_request": req})
        job = {
            "id": job_id,
            "kind": kind,
            "storeId": store,
            "roleArn": params["roleArn"],
            "status": "SUBMITTED",
            "statusMessage": None,
            "creationTime": now,
            "completionTime": None,
            "sources": sources,
            "failMessage": self._fail_next.pop(0) if self._fail_next else None,
        }
        self.jobs[job_id] = job
        if params.get("clientToken"):
            self._tokens[token_key] = job_id
        self._set_status(job, "SUBMITTED", now)
        self._schedule(job, now + min(5.0, self.job_duration_seconds / 2))
        return self._job_summary(job, out_shape)

    def _job_summary(self, job: dict, shape) -> dict:
        store_key = "sequenceStoreId" if job["kind"] == "readSet" else "referenceStoreId"
        record = {
            "id": job["id"],
            store_key: job["storeId"],
            "roleArn": job["roleArn"],
            "status": job["status"],
            "statusMessage": job["statusMessage"],
            "creationTime": self._ts(job["creationTime"]),
            "completionTime": self._ts(job["completionTime"]),
        }
        if "sources" in shape.members:
            item_shape = shape.members["sources"].member
            record["sources"] = [_pick(item_shape, s) for s in job["sources"]]
        return _pick(shape, record)

    def _page(self, items: list, params: dict, key: str, shape) -> dict:
        token, size = params.get("nextToken"), params.get("maxResults", 100)
        if token is not None and (not token.isdigit() or int(token) > len(items)):
            raise ServiceError("ValidationException", f"Invalid nextToken '{_show(token)}'")
        start = int(token or 0)
        out: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            out["nextToken"] = str(start + size)
        return out

    def _list_jobs(self, params: dict, kind: str, shape) -> dict:
        store_key = "sequenceStoreId" if kind == "readSet" else "referenceStoreId"
        stores = self.sequence_stores if kind == "readSet" else self.reference_stores
        self._store(stores, params[store_key], store_key[:-2])
        flt = params.get("filter", {})
        item_shape = shape.members["importJobs"].member
        jobs = [
            self._job_summary(j, item_shape)
            for j in self.jobs.values()
            if j["kind"] == kind
            and j["storeId"] == params[store_key]
            and flt.get("status") in (None, j["status"])
            and _in_window(j["creationTime"], flt)
        ]
        return self._page(jobs, params, "importJobs", shape)

    # ----------------------------------------------------------------- operations
    def _op_StartReadSetImportJob(self, params: dict, shape) -> dict:
        self._store(self.sequence_stores, params["sequenceStoreId"], "Sequence store")
        _check_role(params["roleArn"])
        for i, src in enumerate(params["sources"], start=1):
            at, ftype = f"sources.{i}.member", src["sourceFileType"]
            if "source2" in src["sourceFiles"] and ftype != "FASTQ":
                raise ServiceError(
                    "ValidationException", f"{at}.sourceFiles.source2 is only supported for FASTQ, not {ftype}"
                )
            if ftype in ("BAM", "CRAM"):
                arn = src.get("referenceArn")
                if not arn:
                    raise ServiceError("ValidationException", f"{at}.referenceArn is required for {ftype} sources")
                if not self._reference_by_arn(arn):
                    raise ServiceError(
                        "ValidationException", f"{at}.referenceArn '{_show(arn)}' is not an existing reference"
                    )
        return self._start_job(params, "readSet", shape)

    def _op_StartReferenceImportJob(self, params: dict, shape) -> dict:
        self._store(self.reference_stores, params["referenceStoreId"], "Reference store")
        _check_role(params["roleArn"])
        return self._start_job(params, "reference", shape)

    def _op_GetReadSetImportJob(self, params: dict, shape) -> dict:
        return self._job_summary(self._job(params, "readSet"), shape)

    def _op_GetReferenceImportJob(self, params: dict, shape) -> dict:
        return self._job_summary(self._job(params, "reference"), shape)

    def _op_ListReadSetImportJobs(self, params: dict, shape) -> dict:
        return self._list_jobs(params, "readSet", shape)

    def _op_ListReferenceImportJobs(self, params: dict, shape) -> dict:
        return self._list_jobs(params, "reference", shape)

    def _read_set(self, params: dict) -> dict:
        self._store(self.sequence_stores, params["sequenceStoreId"], "Sequence store")
        rs = self._read_sets.get(params["id"])
        if rs is None or rs["sequenceStoreId"] != params["sequenceStoreId"]:
            raise ServiceError("ResourceNotFoundException", f"Read set {params['id']} not found")
        return rs

    def _read_set_out(self, rs: dict, shape) -> dict:
        record = {**rs, "creationTime": self._ts(rs["creationTime"])}
        if rs.get("generatedFrom"):
            record["sequenceInformation"] = {"generatedFrom": rs["generatedFrom"]}
        return _pick(shape, record)

    def _op_GetReadSetMetadata(self, params: dict, shape) -> dict:
        return self._read_set_out(self._read_set(params), shape)

    def _op_ListReadSets(self, params: dict, shape) -> dict:
        store = params["sequenceStoreId"]
        self._store(self.sequence_stores, store, "Sequence store")
        flt = params.get("filter", {})
        keys = ("name", "status", "sampleId", "subjectId", "generatedFrom", "creationType")
        item_shape = shape.members["readSets"].member
        found = [
            self._read_set_out(rs, item_shape)
            for rs in self._read_sets.values()
            if rs["sequenceStoreId"] == store
            and _in_window(rs["creationTime"], flt)
            and all(flt.get(k) in (None, rs.get(k)) for k in keys)
            and flt.get("referenceArn") in (None, "", rs.get("referenceArn"))
        ]
        return self._page(found, params, "readSets", shape)

    def _op_BatchDeleteReadSet(self, params: dict, shape) -> dict:
        store = params["sequenceStoreId"]
        self._store(self.sequence_stores, store, "Sequence store")
        errors = []
        for rid in params["ids"]:
            rs = self._read_sets.get(rid)
            if rs is None or rs["sequenceStoreId"] != store:
                errors.append({"id": rid, "code": "NotFound", "message": f"Read set {rid} not found"})
                continue
            del self._read_sets[rid]
            self._emit(
                "Read Set Status Change",
                self.now(),
                {
                    "id": rid,
                    "arn": rs["arn"],
                    "sequenceStoreId": store,
                    "status": "DELETED",
                    "creationJobId": rs["creationJobId"],
                },
            )
        return {"errors": errors} if errors else {}

    def _reference(self, params: dict) -> dict:
        self._store(self.reference_stores, params["referenceStoreId"], "Reference store")
        ref = self._references.get(params["id"])
        if ref is None or ref["referenceStoreId"] != params["referenceStoreId"]:
            raise ServiceError("ResourceNotFoundException", f"Reference {params['id']} not found")
        return ref

    def _reference_out(self, ref: dict, shape) -> dict:
        times = {"creationTime": self._ts(ref["creationTime"]), "updateTime": self._ts(ref["updateTime"])}
        return _pick(shape, {**ref, **times})

    def _op_GetReferenceMetadata(self, params: dict, shape) -> dict:
        return self._reference_out(self._reference(params), shape)

    def _op_ListReferences(self, params: dict, shape) -> dict:
        store = params["referenceStoreId"]
        self._store(self.reference_stores, store, "Reference store")
        flt = params.get("filter", {})
        item_shape = shape.members["references"].member
        found = [
            self._reference_out(r, item_shape)
            for r in self._references.values()
            if r["referenceStoreId"] == store
            and _in_window(r["creationTime"], flt)
            and all(flt.get(k) in (None, r.get(k)) for k in ("name", "md5"))
        ]
        return self._page(found, params, "references", shape)

    def _op_DeleteReference(self, params: dict, shape) -> dict:
        ref = self._reference(params)
        users = [r for r in self._read_sets.values() if r.get("referenceArn") == ref["arn"]]
        if users:
            raise ServiceError("ConflictException", f"Reference {ref['id']} is used by {len(users)} read set(s)")
        del self._references[ref["id"]]
        self._emit(
            "Reference Status Change",
            self.now(),
            {
                "id": ref["id"],
                "arn": ref["arn"],
                "referenceStoreId": ref["referenceStoreId"],
                "status": "DELETED",
                "creationJobId": ref["creationJobId"],
            },
        )
        return {}

    def _op_GetSequenceStore(self, params: dict, shape) -> dict:
        store = self._store(self.sequence_stores, params["id"], "Sequence store")
        return _pick(shape, {**store, "creationTime": self._ts(store["creationTime"])})

    def _op_GetReferenceStore(self, params: dict, shape) -> dict:
        store = self._store(self.reference_stores, params["id"], "Reference store")
        return _pick(shape, {**store, "creationTime": self._ts(store["creationTime"])})


def _check_role(arn: str) -> None:
    if not ROLE_ARN.fullmatch(arn):
        raise ServiceError(
            "ValidationException",
            f"Value '{_show(arn)}' at 'roleArn' failed to satisfy constraint: "
            "Member must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
        )


def _source_uri(src: dict) -> str:
    return src.get("sourceFiles", {}).get("source1") or src.get("sourceFile", "")


def _in_window(t: float, flt: dict) -> bool:
    when = datetime.fromtimestamp(t, tz=UTC)
    after, before = flt.get("createdAfter"), flt.get("createdBefore")
    if after is not None and when < parse_to_aware_datetime(after):
        return False
    return before is None or when <= parse_to_aware_datetime(before)
