"""Item access to the tracking table: plain Python values in, plain Python values out.

What every user of the table needs below the transitions of :mod:`.tracking`: the
DynamoDB (de)serialisation, one class for reads, conditional writes and due-index
queries (``ItemTable``), ``ConditionFailed`` for a write that lost its race, and the clock
the timestamps come from (tests and benchmarks replace it with :func:`set_clock`).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.contract import DUE_AT, DUE_INDEX, DUE_QUEUE
from omics_autoload_runtime.errors import OmicsThrottled, error_code

# BatchGetItem rounds that may leave keys unprocessed, and transactions cancelled by a
# conflicting write, before the caller gets a transient error (the workflow retries it).
MAX_READ_ROUNDS = 8
MAX_TRANSACTION_ATTEMPTS = 4

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
    """A conditional write found the item in another state; ``old`` is that item (or None).
    For a transaction, ``index`` is the position of the first write whose condition failed."""

    def __init__(self, old: dict[str, Any] | None, index: int = 0):
        super().__init__("conditional check failed")
        self.old = old
        self.index = index


_NAME = re.compile(r"#(\w+)")


class ItemTable:
    """Thin typed access to the tracking table's items (low-level client, plain Python values)."""

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
                if attempt >= MAX_READ_ROUNDS:  # the table stays throttled: let the caller's retry wait longer
                    raise OmicsThrottled(
                        f"BatchGetItem on {self.name}: {len(unprocessed)} key(s) still unprocessed"
                        f" after {attempt} rounds (the table is throttled)"
                    )
                time.sleep(min(0.05 * 2**attempt, 1.0))
                pending = list(unprocessed) + pending
        return found

    def query_due(
        self,
        queue: str,
        *,
        due_by: float | None = None,
        newest_first: bool = False,
        page_size: int = 100,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Index entries (keys, ``dueQ``, ``dueAt`` and DUE_INDEX_INCLUDE) of one queue of the
        due index, due by ``due_by`` (epoch seconds) when given, earliest first. Eventually
        consistent: read the item (:meth:`get_many`) before acting on it."""
        kwargs = self._due_query(queue, due_by)
        kwargs["Limit"] = page_size
        kwargs["ScanIndexForward"] = not newest_first
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

    def due_items(self, queue: str, *, due_by: float | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The items (strongly consistent, as they are now) of up to ``limit`` entries of
        ``queue`` due by ``due_by``, earliest due first. An item that left the queue since
        the index was written is still returned: callers check its status."""
        keys = []
        for entry in self.query_due(queue, due_by=due_by, page_size=min(limit, 100)):
            keys.append((entry["pk"], entry["sk"]))
            if len(keys) >= limit:
                break
        found = self.get_many(keys)
        return [found[key] for key in keys if key in found]

    def count_due(self, queue: str, *, due_by: float | None = None, max_pages: int | None = 50) -> tuple[int, bool]:
        """(entries of ``queue`` due by ``due_by``, complete?) with ``Select=COUNT``."""
        kwargs = self._due_query(queue, due_by)
        kwargs["Select"] = "COUNT"
        total = pages = 0
        while True:
            response = self.client.query(**kwargs)
            total += int(response.get("Count", 0))
            pages += 1
            last = response.get("LastEvaluatedKey")
            if not last:
                return total, True
            if max_pages is not None and pages >= max_pages:
                return total, False
            kwargs["ExclusiveStartKey"] = last

    def _due_query(self, queue: str, due_by: float | None) -> dict[str, Any]:
        names = {"#q": DUE_QUEUE}
        values: dict[str, Any] = {":q": queue}
        condition = "#q = :q"
        if due_by is not None:
            condition += " AND #at <= :by"
            names["#at"] = DUE_AT
            values[":by"] = int(due_by)
        return {
            "TableName": self.name,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
        }

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
        kwargs = self.update_request(
            pk, sk, set=set, set_if_absent=set_if_absent, add=add, remove=remove, condition=condition, values=values
        )
        kwargs["ReturnValues"] = "ALL_NEW" if return_new else "NONE"
        try:
            response = self.client.update_item(**kwargs)
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise ConditionFailed(deserialize(error.response.get("Item"))) from None
        return deserialize(response.get("Attributes")) if return_new else None

    def write_if(self, request: Mapping[str, Any]) -> bool:
        """One :meth:`update_request` write; False when its condition failed."""
        try:
            self.client.update_item(**request)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def transact(self, updates: Sequence[Mapping[str, Any]]) -> None:
        """Several :meth:`update_request` writes as one TransactWriteItems: all or none.

        Raises ConditionFailed (``index`` = the first write whose condition failed, ``old``
        = that item) when a condition fails; a transaction cancelled by conflicting writes
        is tried again, then raised as OmicsThrottled (transient: the caller retries)."""
        items = [{"Update": dict(update)} for update in updates]
        for attempt in range(MAX_TRANSACTION_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                if error_code(error) != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons") or []
            for index, reason in enumerate(reasons):
                if reason.get("Code") == "ConditionalCheckFailed":
                    raise ConditionFailed(deserialize(reason.get("Item")), index) from None
            time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not secrecy
        raise OmicsThrottled(
            f"TransactWriteItems on {self.name}: still conflicting after {MAX_TRANSACTION_ATTEMPTS} tries"
        )

    def update_request(
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
    ) -> dict[str, Any]:
        """The parameters of one UpdateItem (also one write of :meth:`transact`)."""
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
        return kwargs
