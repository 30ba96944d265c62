"""Admission control: at most MAX_CONCURRENT_IMPORT_JOBS import jobs at once, the rest wait in line.

A counting semaphore with a FIFO wait queue, kept in the tracking table. Nothing sleeps
while it waits: the workflow's ``AcquireSlot`` state (``lambda:invoke.waitForTaskToken``)
parks the execution on its task token, and whoever frees a slot hands it to the oldest
waiter with SendTaskSuccess.

Items:

* ``pk=CAPACITY`` ``sk=IMPORT_JOBS`` - ``inFlight``: slots taken.
* ``pk=SLOT#<batchId>`` ``sk=SLOT`` - one per batch holding a slot (``status=SLOT_HELD``; in
  the due index's SLOT queue, due SWEEP_GRACE_SECONDS after it was taken, so the sweep finds
  the holders without reading anything else); ``grantToken`` while a slot handed to a
  waiter is not yet confirmed delivered.
* ``pk=SLOTQ`` ``sk=<enqueuedAt ISO>#<batchId>`` - a waiter and its ``taskToken``; the sort
  key makes the queue first in, first out.

Transactions (TransactWriteItems, all or nothing):

* take:    Put SLOT#b (attribute_not_exists) + Update CAPACITY inFlight+1 if inFlight < max.
  A failed Put means the batch holds its slot already (a retried task): idempotent.
* grant:   Delete waiter (attribute_exists: whoever deletes it owns it) + take. Used by
  ``pump`` and by the acquirer's second try, so a waiter is granted exactly once.
* release: Delete SLOT#b (attribute_exists) + Update inFlight-1: exactly once, however
  often a retried finalize calls it; releasing a slot never taken is a no-op.

Failure cases:

* acquire finds no slot, a release frees one before the waiter is enqueued: the acquirer
  tries once more (a grant of its own waiter) after enqueueing, so no waiter is stranded.
* the waiter's task is gone (timed out, execution stopped): SendTaskSuccess fails with
  TaskTimedOut / InvalidToken / TaskDoesNotExist; the slot taken for it is released and the
  next waiter served.
* a crash between a grant and its SendTaskSuccess: the slot keeps ``grantToken``; the sweep
  sends it again.
* an execution that ends without releasing (stopped, timed out, RecordFailure failing):
  the sweep releases slots whose execution is no longer RUNNING.
* new arrivals take a free slot directly, ahead of the queue, if one is free at that
  instant; a release pumps the queue in the same invocation, so the window is milliseconds.

Cost per import job: the acquire is 1 TransactWriteItems (2 items) when a slot is free,
else 1 PutItem + 1-2 transactions (+1 UpdateItem to confirm the grant); the release is
1 transaction + 1 Query of the queue (the pump), whose grant adds 1 transaction.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from omics_autoload_runtime import contract, settings
from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.adapters.table import ConditionFailed, ItemTable, deserialize, iso, now, serialize
from omics_autoload_runtime.errors import DEAD_TASK_TOKEN, OmicsThrottled, error_code

LOG = logging.getLogger(__name__)

CAPACITY_PK, CAPACITY_SK = "CAPACITY", "IMPORT_JOBS"
SLOT_PREFIX, SLOT_SK = contract.KeyPrefix.SLOT, contract.SortKey.SLOT
QUEUE_PK = contract.SLOT_QUEUE_PK
KIND_SLOT, KIND_WAITER = "slot", "waiter"
HELD = "SLOT_HELD"

TAKEN, HELD_ALREADY, FULL, GONE = "taken", "held", "full", "gone"
# TransactWriteItems cancellation reasons worth another try (DynamoDB's own vocabulary,
# per item, not error codes: the shared table of transient codes does not apply).
RETRYABLE_REASONS = ("TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded")
MAX_TRANSACTION_ATTEMPTS = 6
MAX_GRANTS_PER_PUMP = 50
QUEUE_PAGE = 10
SWEEP_GRACE_SECONDS = 60  # slots younger than this are left alone by the sweep

_sleep: Callable[[float], None] = time.sleep  # tests replace it


class CapacityBusy(Exception):
    """The capacity item stayed contended through every retry (becomes OmicsThrottled)."""




class Capacity:
    def __init__(self, table_name: str, max_jobs: int, *, client: Any = None, stepfunctions: Any = None):
        if max_jobs < 1:
            raise ValueError("max_jobs must be at least 1")
        self.table_name = table_name
        self.max_jobs = max_jobs
        self.table = ItemTable(table_name, client)
        self._client = client
        self._stepfunctions = stepfunctions

    @classmethod
    def from_config(cls, cfg: settings.Config | None = None) -> Capacity:
        cfg = cfg or settings.get()
        cfg.require("table_name")
        return cls(cfg.table_name, cfg.max_concurrent_import_jobs)

    @property
    def client(self) -> Any:
        return self._client or clients.client("dynamodb")

    @property
    def stepfunctions(self) -> Any:
        return self._stepfunctions or clients.client("stepfunctions")

    # ------------------------------------------------------------ transaction items

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return serialize({"pk": pk, "sk": sk})

    def _put_slot(self, batch_id: str, grant_token: str | None = None) -> dict[str, Any]:
        stamp = iso()
        item = {
            "pk": f"{SLOT_PREFIX}{batch_id}",
            "sk": SLOT_SK,
            "kind": KIND_SLOT,
            "status": HELD,
            "batchId": batch_id,
            "takenAt": stamp,
            "updatedAt": stamp,
            "grantToken": grant_token,
            contract.DUE_QUEUE: str(contract.DueQueue.SLOT),
            contract.DUE_BATCH: batch_id,
            contract.DUE_AT: int(now() + SWEEP_GRACE_SECONDS),
        }
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": serialize(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _count(self, delta: int) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self._key(CAPACITY_PK, CAPACITY_SK),
            "ExpressionAttributeNames": {"#n": "inFlight", "#u": "updatedAt"},
        }
        if delta > 0:
            update["UpdateExpression"] = "SET #n = if_not_exists(#n, :zero) + :one, #u = :now"
            update["ConditionExpression"] = "attribute_not_exists(#n) OR #n < :max"
            values = {":zero": 0, ":one": 1, ":max": self.max_jobs, ":now": iso()}
        else:
            update["UpdateExpression"] = "SET #n = #n - :one, #u = :now"
            update["ConditionExpression"] = "#n > :zero"
            values = {":zero": 0, ":one": 1, ":now": iso()}
        update["ExpressionAttributeValues"] = serialize(values)
        return {"Update": update}

    def _transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """None when committed, else each item's cancellation reason code."""
        for attempt in range(MAX_TRANSACTION_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=items)
                return None
            except ClientError as error:
                if error_code(error) != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") or "None" for r in error.response.get("CancellationReasons") or []]
            if "ConditionalCheckFailed" in reasons or not any(r in RETRYABLE_REASONS for r in reasons):
                return reasons
            _sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not secrecy
        raise CapacityBusy(f"import slots: transaction still conflicting after {MAX_TRANSACTION_ATTEMPTS} tries")

    # ------------------------------------------------------------ primitives

    def take(self, batch_id: str) -> str:
        """TAKEN now, HELD_ALREADY by this batch, or FULL."""
        reasons = self._transact([self._put_slot(batch_id), self._count(+1)])
        if reasons is None:
            return TAKEN
        if reasons[0] == "ConditionalCheckFailed":
            return HELD_ALREADY
        return FULL

    def release(self, batch_id: str) -> bool:
        """Give the batch's slot back; False when it holds none (never took one, or released)."""
        delete = {
            "Delete": {
                "TableName": self.table_name,
                "Key": self._key(f"{SLOT_PREFIX}{batch_id}", SLOT_SK),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        reasons = self._transact([delete, self._count(-1)])
        if reasons is None:
            LOG.info("batch %s: import slot released", batch_id)
            return True
        if reasons[0] == "ConditionalCheckFailed":
            return False
        # The slot exists but the counter is already 0: should not happen; free the slot anyway.
        LOG.error("batch %s: slot held while inFlight is 0; removing the slot item", batch_id)
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=delete["Delete"]["Key"],
                ConditionExpression="attribute_exists(pk)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def enqueue(self, batch_id: str, token: str) -> dict[str, Any]:
        stamp = iso()
        waiter = {
            "pk": QUEUE_PK,
            "sk": f"{stamp}#{batch_id}",
            "kind": KIND_WAITER,
            "batchId": batch_id,
            "taskToken": token,
            "enqueuedAt": stamp,
        }
        self.table.put_new(waiter)
        return waiter

    def grant(self, waiter: Mapping[str, Any]) -> str:
        """Hand a slot to ``waiter``: TAKEN (it is ours to notify), GONE (someone else took the
        waiter), HELD_ALREADY (its batch holds a slot; waiter removed) or FULL."""
        batch_id = waiter["batchId"]
        delete = {
            "Delete": {
                "TableName": self.table_name,
                "Key": self._key(QUEUE_PK, waiter["sk"]),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        reasons = self._transact([delete, self._put_slot(batch_id, waiter["taskToken"]), self._count(+1)])
        if reasons is None:
            return TAKEN
        if reasons[0] == "ConditionalCheckFailed":
            return GONE
        if reasons[1] == "ConditionalCheckFailed":
            self._drop_waiter(waiter)
            return HELD_ALREADY
        return FULL

    def _drop_waiter(self, waiter: Mapping[str, Any]) -> bool:
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=self._key(QUEUE_PK, waiter["sk"]),
                ConditionExpression="attribute_exists(pk)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _notify(self, token: str, batch_id: str) -> bool:
        """SendTaskSuccess; False when the task is gone."""
        try:
            self.stepfunctions.send_task_success(
                taskToken=token, output=json.dumps({"batchId": batch_id, "slot": "granted"})
            )
        except ClientError as error:
            code = error_code(error)
            if code in DEAD_TASK_TOKEN:
                LOG.info("batch %s: the workflow no longer waits for its slot (%s)", batch_id, code)
                return False
            raise
        return True

    def _confirm(self, batch_id: str) -> None:
        """The granted workflow was told: forget its token."""
        with contextlib.suppress(ConditionFailed):  # released meanwhile: nothing to forget
            self.table.update(
                f"{SLOT_PREFIX}{batch_id}", SLOT_SK, remove=["grantToken"], condition="attribute_exists(#pk)"
            )

    def _hand_over(self, waiter: Mapping[str, Any]) -> str:
        """grant + SendTaskSuccess; a dead task's slot is released again."""
        outcome = self.grant(waiter)
        batch_id = waiter["batchId"]
        if outcome == TAKEN:
            if self._notify(waiter["taskToken"], batch_id):
                self._confirm(batch_id)
            else:
                self.release(batch_id)
                return GONE
        elif outcome == HELD_ALREADY:
            self._notify(waiter["taskToken"], batch_id)  # a live task of a holder may go on
        return outcome

    # ------------------------------------------------------------ operations

    def acquire(self, batch_id: str, token: str) -> str:
        """AcquireSlot: "granted" (success sent), "held" (the batch had its slot; success
        sent) or "queued" (a release will send it)."""
        outcome = self.take(batch_id)
        if outcome in (TAKEN, HELD_ALREADY):
            if not self._notify(token, batch_id) and outcome == TAKEN:
                self.release(batch_id)
            return "granted" if outcome == TAKEN else "held"
        waiter = self.enqueue(batch_id, token)
        # A release between the failed take and the enqueue found no waiter: try once more.
        again = self._hand_over(waiter)
        if again == TAKEN:
            return "granted"
        if again == HELD_ALREADY:
            return "held"
        LOG.info("batch %s: waiting for an import slot (%d in use)", batch_id, self.max_jobs)
        return "queued"

    def pump(self, limit: int = MAX_GRANTS_PER_PUMP) -> int:
        """Hand free slots to the oldest waiters; returns how many were granted."""
        granted = tried = 0
        while tried < limit:
            waiters = self.waiters(QUEUE_PAGE)
            if not waiters:
                return granted
            for waiter in waiters:
                tried += 1
                outcome = self._hand_over(waiter)
                if outcome == FULL:
                    return granted
                granted += outcome == TAKEN
                if tried >= limit:
                    break
        return granted

    def finish(self, batch_id: str) -> dict[str, Any]:
        """A batch is done (Finalize, RecordFailure, or no job to start): release, then pump."""
        released = self.release(batch_id)
        return {"released": released, "granted": self.pump()}

    def reconcile(
        self, running: Callable[[str], bool], *, grace_seconds: float = SWEEP_GRACE_SECONDS
    ) -> dict[str, int]:
        """The sweep: release slots whose execution no longer runs, resend unconfirmed grants,
        then pump."""
        stats = {"slotsReclaimed": 0, "grantsResent": 0, "slotErrors": 0, "unchanged": 0}
        for slot in self.table.due_items(contract.DueQueue.SLOT, due_by=now() + SWEEP_GRACE_SECONDS - grace_seconds):
            if slot.get("status") != HELD:
                continue
            batch_id = slot["batchId"]
            try:
                stats[self._reconcile_slot(slot, running)] += 1
            except (ClientError, CapacityBusy) as error:  # one slot's trouble: the others still get their turn
                LOG.warning("batch %s: slot not reconciled this sweep (%s)", batch_id, error)
                stats["slotErrors"] += 1
        stats["slotsGranted"] = self.pump()
        return {k: v for k, v in stats.items() if v and k != "unchanged"}

    def _reconcile_slot(self, slot: Mapping[str, Any], running: Callable[[str], bool]) -> str:
        """One held slot: released when its batch no longer runs, its grant resent; the stat."""
        batch_id = slot["batchId"]
        if not running(batch_id):
            if not self.release(batch_id):
                return "unchanged"
            LOG.warning("batch %s: its execution ended without releasing its slot; released", batch_id)
            return "slotsReclaimed"
        token = slot.get("grantToken")
        if not token:
            return "unchanged"
        self._notify(token, batch_id)
        self._confirm(batch_id)
        return "grantsResent"

    # ------------------------------------------------------------ views

    def in_flight(self) -> int:
        item = self.table.get(CAPACITY_PK, CAPACITY_SK)
        return int((item or {}).get("inFlight") or 0)

    def waiters(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The queue, oldest first."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :q",
            "ExpressionAttributeValues": serialize({":q": QUEUE_PK}),
            "ConsistentRead": True,
            "ScanIndexForward": True,
        }
        out: list[dict[str, Any]] = []
        while True:
            if limit is not None:
                kwargs["Limit"] = limit - len(out)
            response = self.client.query(**kwargs)
            out.extend(deserialize(raw) or {} for raw in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last or (limit is not None and len(out) >= limit):
                return out
            kwargs["ExclusiveStartKey"] = last

    def holders(self) -> list[str]:
        """Batches holding a slot (from the due index: eventually consistent)."""
        slots = self.table.query_due(contract.DueQueue.SLOT)
        return [str(slot[contract.DUE_BATCH]) for slot in slots if slot.get(contract.DUE_BATCH)]


def finish(batch_id: str) -> dict[str, Any]:
    """Release the batch's slot (once) and wake the next waiters. For the workflow's handlers."""
    try:
        return Capacity.from_config().finish(batch_id)
    except CapacityBusy as error:
        raise OmicsThrottled(str(error)) from error
