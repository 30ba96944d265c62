"""The tracking table: keys, statuses and the conditional transitions between them.

One table, three kinds of item (``kind`` attribute):

* object  ``pk=OBJ#s3://bucket/key``  ``sk=V#<versionId or "null">`` - one per object version,
  the audit record of what happened to that file. Never expires.
* readset ``pk=RS#<group_key>``       ``sk=RS`` - one per read set (one file, or two mates).
* job     ``pk=JOB#<importJobId>``    ``sk=JOB`` - bookkeeping of one import job: the task
  token of the waiting workflow and the polling schedule; ``expiresAt`` (TTL) once DONE.

Every write that can race is conditional; nothing holds a lock that could leak. A
transition that loses its race returns False (or raises ``ConditionFailed`` with the
item as it was), and the caller decides what that means. Timestamps are ISO-8601 UTC
strings of fixed width, so they sort as text in the ``by-status`` index.

Used by the handlers and by the ``status`` / ``redrive`` CLI.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from omics_autoload_runtime import contract
from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.contract import KeyPrefix, Kind, SortKey, Status

# The keys, statuses and kinds are the contract's; these names stay for the callers
# that still use them (``tracking.QUEUED``...), typed as the plain strings they were.
STATUS_INDEX: str = contract.STATUS_INDEX

OBJECT_PREFIX: str = KeyPrefix.OBJECT
READSET_PREFIX: str = KeyPrefix.READSET
JOB_PREFIX: str = KeyPrefix.JOB
READSET_SK: str = SortKey.READSET
JOB_SK: str = SortKey.JOB

KIND_OBJECT: str = Kind.OBJECT
KIND_READSET: str = Kind.READSET
KIND_JOB: str = Kind.JOB

SKIPPED: str = Status.SKIPPED
WAITING_FOR_MATE: str = Status.WAITING_FOR_MATE
QUEUED: str = Status.QUEUED
STARTING: str = Status.STARTING
IMPORTING: str = Status.IMPORTING
IMPORTED: str = Status.IMPORTED
FAILED: str = Status.FAILED
ORPHANED: str = Status.ORPHANED
DONE: str = Status.DONE

OBJECT_STATUSES = (SKIPPED, WAITING_FOR_MATE, QUEUED, IMPORTING, IMPORTED, FAILED)
OBJECT_TERMINAL = (SKIPPED, IMPORTED, FAILED)
OPEN_OBJECT_STATUSES = (QUEUED, WAITING_FOR_MATE, IMPORTING)  # a file's import still to be decided
READSET_STATUSES = (WAITING_FOR_MATE, QUEUED, STARTING, IMPORTING, IMPORTED, FAILED, ORPHANED)
JOB_STATUSES = (IMPORTING, DONE)

# A read set claimed by a batch whose workflow never started may be claimed again after this.
STALE_CLAIM_SECONDS = 15 * 60
# Job bookkeeping items disappear this long after the job is DONE (the object items stay).
JOB_RETENTION_SECONDS = 30 * 86400

STARTER_FILTER_PATTERN = contract.STARTER_FILTER_PATTERN


# ------------------------------------------------------------------ keys


def object_key(bucket: str, key: str, version_id: str | None) -> tuple[str, str]:
    return f"{OBJECT_PREFIX}s3://{bucket}/{key}", f"{SortKey.OBJECT_VERSION}{version_id or 'null'}"


def readset_key(group_key: str) -> tuple[str, str]:
    return f"{READSET_PREFIX}{group_key}", READSET_SK


def job_key(job_id: str) -> tuple[str, str]:
    return f"{JOB_PREFIX}{job_id}", JOB_SK


def uri_of_object_pk(pk: str) -> str:
    return pk[len(OBJECT_PREFIX) :]


def readset_files(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The file entries (``file1``, then ``file2``) of a read-set item."""
    return [dict(item[name]) for name in ("file1", "file2") if isinstance(item.get(name), Mapping)]


# ------------------------------------------------------------------ clock

_clock: Callable[[], float] = time.time


def now() -> float:
    """Seconds since the epoch; tests replace the clock with :func:`set_clock`."""
    return _clock()


def set_clock(clock: Callable[[], float] | None) -> None:
    global _clock
    _clock = clock or time.time


def iso(at: float | None = None) -> str:
    """Fixed-width ISO-8601 UTC (microseconds, ``Z``): sorts as text."""
    moment = datetime.fromtimestamp(now() if at is None else at, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str | None) -> float | None:
    """Epoch seconds of an ISO-8601 time (S3 ``eventTime``, our own timestamps), or None."""
    if not text:
        return None
    cleaned = text.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# ------------------------------------------------------------------ (de)serialisation


def _to_ddb(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": repr(round(value, 6))}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {str(k): _to_ddb(v) for k, v in value.items() if v is not None}}
    if isinstance(value, list | tuple):
        return {"L": [_to_ddb(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in the tracking table")


def _number(text: str) -> int | float:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def _from_ddb(value: Mapping[str, Any]) -> Any:
    (kind, inner), *_ = value.items()
    if kind == "S":
        return inner
    if kind == "N":
        return _number(inner)
    if kind == "BOOL":
        return inner
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _from_ddb(v) for k, v in inner.items()}
    if kind == "L":
        return [_from_ddb(v) for v in inner]
    if kind == "SS":
        return set(inner)
    if kind == "NS":
        return {_number(v) for v in inner}
    raise TypeError(f"unsupported DynamoDB type {kind}")


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _to_ddb(v) for k, v in item.items() if v is not None}


def deserialize(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {k: _from_ddb(v) for k, v in item.items()}


# ------------------------------------------------------------------ table access


class ConditionFailed(Exception):
    """A conditional write found the item in another state; ``old`` is that item (or None)."""

    def __init__(self, old: dict[str, Any] | None):
        super().__init__("conditional check failed")
        self.old = old


_NAME = re.compile(r"#(\w+)")


class Table:
    """Thin typed access to the tracking table (low-level client, plain Python values)."""

    def __init__(self, name: str, client: Any = None):
        self.name = name
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or clients.client("dynamodb")

    # -- reads

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.name, Key=serialize({"pk": pk, "sk": sk}), ConsistentRead=consistent
        )
        return deserialize(response.get("Item"))

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Items by (pk, sk), strongly consistent; missing keys are absent from the result."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        pending = [serialize({"pk": pk, "sk": sk}) for pk, sk in dict.fromkeys(keys)]
        attempt = 0
        while pending:
            chunk, pending = pending[:100], pending[100:]
            response = self.client.batch_get_item(RequestItems={self.name: {"Keys": chunk, "ConsistentRead": True}})
            for raw in response.get("Responses", {}).get(self.name, []):
                item = deserialize(raw) or {}
                found[(item["pk"], item["sk"])] = item
            unprocessed = response.get("UnprocessedKeys", {}).get(self.name, {}).get("Keys", [])
            if unprocessed:
                attempt += 1
                time.sleep(min(0.05 * 2**attempt, 1.0))
                pending = list(unprocessed) + pending
        return found

    def query_status(
        self,
        status: str,
        *,
        updated_before: str | None = None,
        kind: str | None = None,
        filter_expression: str | None = None,
        values: Mapping[str, Any] | None = None,
        page_size: int = 100,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Items of one status from the ``by-status`` index, oldest ``updatedAt`` first."""
        names = {"#status": "status"}
        expression_values: dict[str, Any] = {":status": status}
        key_condition = "#status = :status"
        if updated_before is not None:
            key_condition += " AND #updatedAt < :before"
            names["#updatedAt"] = "updatedAt"
            expression_values[":before"] = updated_before
        filters = []
        if kind is not None:
            filters.append("#kind = :kind")
            expression_values[":kind"] = kind
        if filter_expression:
            filters.append(f"({filter_expression})")
        expression_values.update(values or {})
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": key_condition,
            "Limit": page_size,
        }
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        for expression in [key_condition, *filters]:
            names.update({f"#{n}": n for n in _NAME.findall(expression)})
        kwargs["ExpressionAttributeNames"] = names
        kwargs["ExpressionAttributeValues"] = serialize(expression_values)
        pages = 0
        while True:
            response = self.client.query(**kwargs)
            for raw in response.get("Items", []):
                yield deserialize(raw) or {}
            pages += 1
            last = response.get("LastEvaluatedKey")
            if not last or (max_pages is not None and pages >= max_pages):
                return
            kwargs["ExclusiveStartKey"] = last

    # -- writes

    def put_new(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        """Create ``item`` unless its key exists. None when created, else the existing item."""
        try:
            self.client.put_item(
                TableName=self.name,
                Item=serialize(item),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as error:
            return deserialize(error.response.get("Item")) or {}
        return None

    def update(
        self,
        pk: str,
        sk: str,
        *,
        set: Mapping[str, Any] | None = None,
        set_if_absent: Mapping[str, Any] | None = None,
        add: Mapping[str, int] | None = None,
        remove: Iterable[str] = (),
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        return_new: bool = False,
    ) -> dict[str, Any] | None:
        """One UpdateItem. ``None`` values in ``set`` are removed. Raises ConditionFailed.

        Attribute names are written ``#name`` in ``condition``; values ``:name`` come
        from ``values``.
        """
        names: dict[str, str] = {}
        expression_values: dict[str, Any] = {}
        sets: list[str] = []
        removes = list(remove)
        for index, (attribute, value) in enumerate((set or {}).items()):
            if value is None:
                removes.append(attribute)
                continue
            names[f"#{attribute}"] = attribute
            expression_values[f":s{index}"] = value
            sets.append(f"#{attribute} = :s{index}")
        for index, (attribute, value) in enumerate((set_if_absent or {}).items()):
            names[f"#{attribute}"] = attribute
            expression_values[f":n{index}"] = value
            sets.append(f"#{attribute} = if_not_exists(#{attribute}, :n{index})")
        clauses = []
        if sets:
            clauses.append("SET " + ", ".join(sets))
        if add:
            adds = []
            for index, (attribute, amount) in enumerate(add.items()):
                names[f"#{attribute}"] = attribute
                expression_values[f":a{index}"] = amount
                adds.append(f"#{attribute} :a{index}")
            clauses.append("ADD " + ", ".join(adds))
        if removes:
            names.update({f"#{attribute}": attribute for attribute in removes})
            clauses.append("REMOVE " + ", ".join(f"#{attribute}" for attribute in dict.fromkeys(removes)))
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": serialize({"pk": pk, "sk": sk}),
            "UpdateExpression": " ".join(clauses),
            "ReturnValues": "ALL_NEW" if return_new else "NONE",
        }
        if condition:
            names.update({f"#{n}": n for n in _NAME.findall(condition)})
            kwargs["ConditionExpression"] = condition
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        expression_values.update(values or {})
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if expression_values:
            kwargs["ExpressionAttributeValues"] = serialize(expression_values)
        try:
            response = self.client.update_item(**kwargs)
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise ConditionFailed(deserialize(error.response.get("Item"))) from None
        return deserialize(response.get("Attributes")) if return_new else None


# ------------------------------------------------------------------ transitions


def _in(values: Sequence[str], prefix: str) -> tuple[str, dict[str, str]]:
    """``(:p0, :p1)`` and its values, for ``#status IN ...`` conditions."""
    names = {f":{prefix}{i}": v for i, v in enumerate(values)}
    return "(" + ", ".join(names) + ")", names


class Tracking:
    """The transitions the pipeline makes. Each returns False when it lost a race."""

    def __init__(self, table: Table | str):
        self.table = table if isinstance(table, Table) else Table(table)

    # -- objects

    def put_object(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        """Record a new object version; None when new, else the item already there."""
        stamp = iso()
        full = {"kind": KIND_OBJECT, "updatedAt": stamp, "receivedAt": stamp, **item}
        return self.table.put_new(full)

    def set_object(
        self,
        pk: str,
        sk: str,
        status: str,
        *,
        expect: Sequence[str],
        reason: str | None = None,
        read_set_key: str | None = None,
        extra: Mapping[str, Any] | None = None,
        clear_reason: bool = False,
    ) -> bool:
        """Move an object item to ``status`` if it is in one of ``expect`` (and, when
        ``read_set_key`` is given, still belongs to that read set)."""
        return self._move(
            pk, sk, status, expect, {"readSetKey": read_set_key}, reason=reason, extra=extra, clear_reason=clear_reason
        )

    def _move(
        self,
        pk: str,
        sk: str,
        status: str,
        expect: Sequence[str],
        must_equal: Mapping[str, Any],
        *,
        reason: str | None,
        extra: Mapping[str, Any] | None,
        clear_reason: bool,
    ) -> bool:
        """The one conditional status transition: from ``expect``, with ``must_equal``
        attributes (None = not checked) still as the caller saw them."""
        allowed, values = _in(expect, "e")
        condition = f"#status IN {allowed}"
        for index, (name, value) in enumerate(must_equal.items()):
            if value is not None:
                condition += f" AND #{name} = :m{index}"
                values[f":m{index}"] = value
        fields: dict[str, Any] = {"status": status, "updatedAt": iso(), **(extra or {})}
        if reason is not None:
            fields["reason"] = reason
        elif clear_reason:
            fields["reason"] = None
        try:
            self.table.update(pk, sk, set=fields, condition=condition, values=values)
        except ConditionFailed:
            return False
        return True

    def set_objects_of(
        self,
        read_set: Mapping[str, Any],
        status: str,
        *,
        expect: Sequence[str],
        reason: str | None = None,
        extra: Mapping[str, Any] | None = None,
        clear_reason: bool = False,
    ) -> int:
        """:meth:`set_object` for every file of a read set; returns how many moved."""
        moved = 0
        for entry in readset_files(read_set):
            moved += self.set_object(
                entry["pk"],
                entry["sk"],
                status,
                expect=expect,
                reason=reason,
                read_set_key=read_set["pk"],
                extra=extra,
                clear_reason=clear_reason,
            )
        return moved

    # -- read sets

    def get_read_set(self, pk: str) -> dict[str, Any] | None:
        return self.table.get(pk, READSET_SK)

    def put_single(self, pk: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        """Create a one-file read set, QUEUED. None when created, else the existing item."""
        stamp = iso()
        item = {
            "pk": pk,
            "sk": READSET_SK,
            "kind": KIND_READSET,
            "status": QUEUED,
            "attempt": 0,
            "createdAt": stamp,
            "updatedAt": stamp,
            "queuedAt": stamp,
            **fields,
        }
        return self.table.put_new(item)

    def claim_mate(
        self, pk: str, mate: int, fields: Mapping[str, Any], file_entry: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Put one mate into slot ``file<mate>`` of a pair; creates the read set
        WAITING_FOR_MATE. Returns the item after the write (ALL_NEW). Raises
        ConditionFailed (with the item) when the slot is taken or the read set has
        moved on (QUEUED single-end, importing...)."""
        stamp = iso()
        slot = f"file{mate}"
        allowed, values = _in((WAITING_FOR_MATE, ORPHANED), "w")
        return self.table.update(  # type: ignore[return-value]
            pk,
            READSET_SK,
            set={slot: dict(file_entry), f"source{mate}": file_entry["uri"], "updatedAt": stamp},
            set_if_absent={
                "kind": KIND_READSET,
                "status": WAITING_FOR_MATE,
                "attempt": 0,
                "createdAt": stamp,
                **fields,
            },
            condition=(f"attribute_not_exists(#{slot}) AND (attribute_not_exists(#status) OR #status IN {allowed})"),
            values=values,
            return_new=True,
        )

    def queue_pair(self, pk: str) -> bool:
        """WAITING_FOR_MATE (or ORPHANED) -> QUEUED once both mates are in: exactly one
        caller wins, however many complete the pair at once."""
        allowed, values = _in((WAITING_FOR_MATE, ORPHANED), "w")
        stamp = iso()
        try:
            self.table.update(
                pk,
                READSET_SK,
                set={"status": QUEUED, "updatedAt": stamp, "queuedAt": stamp, "reason": None},
                condition=(f"#status IN {allowed} AND attribute_exists(#file1) AND attribute_exists(#file2)"),
                values=values,
            )
        except ConditionFailed:
            return False
        return True

    def claim_for_batch(self, pk: str, attempt: int, batch_id: str) -> tuple[bool, dict[str, Any] | None]:
        """QUEUED (same attempt) -> STARTING for ``batch_id``; also true when this batch
        already holds it. Returns (claimed, item as it was when the claim failed)."""
        stamp = iso()
        try:
            self.table.update(
                pk,
                READSET_SK,
                set={
                    "status": STARTING,
                    "batchId": batch_id,
                    "startingAt": stamp,
                    "updatedAt": stamp,
                },
                condition=(
                    "(#status = :queued AND #attempt = :attempt) OR (#status = :starting AND #batchId = :batch)"
                ),
                values={
                    ":queued": QUEUED,
                    ":starting": STARTING,
                    ":attempt": attempt,
                    ":batch": batch_id,
                },
            )
        except ConditionFailed as lost:
            return False, lost.old
        return True, None

    def reclaim_stale(self, pk: str, old_batch_id: str, batch_id: str) -> bool:
        """STARTING held by ``old_batch_id`` (whose workflow is known not to run) -> ours."""
        stamp = iso()
        try:
            self.table.update(
                pk,
                READSET_SK,
                set={"batchId": batch_id, "startingAt": stamp, "updatedAt": stamp},
                condition="#status = :starting AND #batchId = :old",
                values={":starting": STARTING, ":old": old_batch_id},
            )
        except ConditionFailed:
            return False
        return True

    def release_claim(self, pk: str, batch_id: str) -> bool:
        """STARTING (ours) -> QUEUED, when the workflow could not be started."""
        stamp = iso()
        try:
            self.table.update(
                pk,
                READSET_SK,
                set={"status": QUEUED, "updatedAt": stamp, "batchId": None, "startingAt": None},
                condition="#status = :starting AND #batchId = :batch",
                values={":starting": STARTING, ":batch": batch_id},
            )
        except ConditionFailed:
            return False
        return True

    def set_read_set(
        self,
        pk: str,
        status: str,
        *,
        expect: Sequence[str],
        batch_id: str | None = None,
        job_id: str | None = None,
        reason: str | None = None,
        extra: Mapping[str, Any] | None = None,
        clear_reason: bool = False,
    ) -> bool:
        """Move a read set to ``status`` if it is in ``expect`` (and held by ``batch_id`` /
        imported by ``job_id`` when given)."""
        return self._move(
            pk,
            READSET_SK,
            status,
            expect,
            {"batchId": batch_id, "importJobId": job_id},
            reason=reason,
            extra=extra,
            clear_reason=clear_reason,
        )

    def redrive(self, pk: str) -> bool:
        """FAILED / ORPHANED -> QUEUED with ``attempt`` + 1 (a new import); its files go back
        to QUEUED. An ORPHANED pair is redriven as a single-end read set."""
        item = self.get_read_set(pk)
        if item is None or item.get("status") not in (FAILED, ORPHANED):
            return False
        stamp = iso()
        fields: dict[str, Any] = {
            "status": QUEUED,
            "updatedAt": stamp,
            "queuedAt": stamp,
            "reason": None,
            "batchId": None,
            "importJobId": None,
            "startingAt": None,
        }
        if item["status"] == ORPHANED:
            fields["singleEnd"] = True
        try:
            self.table.update(
                pk,
                READSET_SK,
                set=fields,
                add={"attempt": 1},
                condition="#status = :was AND #attempt = :attempt",
                values={":was": item["status"], ":attempt": item.get("attempt", 0)},
            )
        except ConditionFailed:
            return False
        self.set_objects_of(item, QUEUED, expect=(FAILED, SKIPPED), clear_reason=True)
        return True

    # -- jobs

    def put_job(self, job_id: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        pk, sk = job_key(job_id)
        stamp = iso()
        item = {
            "pk": pk,
            "sk": sk,
            "kind": KIND_JOB,
            "status": IMPORTING,
            "importJobId": job_id,
            "pollCount": 0,
            "createdAt": stamp,
            "updatedAt": stamp,
            **fields,
        }
        return self.table.put_new(item)

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        return self.table.get(*job_key(job_id))

    def store_task_token(self, job_id: str, token: str, next_poll_at: float) -> bool:
        pk, sk = job_key(job_id)
        try:
            self.table.update(
                pk,
                sk,
                set={"taskToken": token, "nextPollAt": int(next_poll_at), "updatedAt": iso()},
                condition="#status = :importing",
                values={":importing": IMPORTING},
            )
        except ConditionFailed:
            return False
        return True

    def reschedule_poll(self, job_id: str, next_poll_at: float, poll_count: int) -> bool:
        pk, sk = job_key(job_id)
        try:
            self.table.update(
                pk,
                sk,
                set={"nextPollAt": int(next_poll_at), "pollCount": poll_count, "updatedAt": iso()},
                condition="#status = :importing",
                values={":importing": IMPORTING},
            )
        except ConditionFailed:
            return False
        return True

    def job_done(self, job_id: str, job_status: str | None = None) -> bool:
        """IMPORTING -> DONE (sets the TTL); False when it was DONE already or is unknown."""
        pk, sk = job_key(job_id)
        try:
            self.table.update(
                pk,
                sk,
                set={
                    "status": DONE,
                    "jobStatus": job_status,
                    "updatedAt": iso(),
                    "expiresAt": int(now() + JOB_RETENTION_SECONDS),
                    "taskToken": None,
                },
                condition="#status = :importing",
                values={":importing": IMPORTING},
            )
        except ConditionFailed:
            return False
        return True
