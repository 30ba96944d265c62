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
strings of fixed width.

The due index (``contract.DUE_INDEX``) holds an item only while someone must look at it
at a given time (:func:`due_fields`): every status write here sets or removes ``dueQ`` /
``dueAt``, and moves between the open read-set statuses leave them as they are, so the
index is written when an item enters or leaves a queue, not on every update.

Used by the handlers and by the ``status`` / ``redrive`` CLI.
"""

from __future__ import annotations

import base64
import contextlib
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omics_autoload_runtime import contract

# Item access lives in .table; its names stay reachable here for the CLI, tests and benchmarks.
from omics_autoload_runtime.adapters.table import (  # noqa: F401 - re-exported
    ConditionFailed,
    ItemTable,
    deserialize,
    iso,
    now,
    parse_iso,
    serialize,
    set_clock,
)
from omics_autoload_runtime.contract import DUE_AT, DUE_QUEUE, DueQueue, KeyPrefix, Kind, SortKey, Status

# The keys, statuses and kinds are the contract's; these names stay for the callers
# that still use them (``tracking.QUEUED``...), typed as the plain strings they were.
STATUS_INDEX: str = contract.STATUS_INDEX
DUE_INDEX: str = contract.DUE_INDEX

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
SUPERSEDED: str = Status.SUPERSEDED
HELD: str = Status.HELD
WAITING_FOR_SHEET: str = Status.WAITING_FOR_SHEET
DONE: str = Status.DONE

OBJECT_STATUSES = (
    SKIPPED, WAITING_FOR_SHEET, WAITING_FOR_MATE, QUEUED, IMPORTING, IMPORTED, FAILED, SUPERSEDED, HELD
)
OBJECT_TERMINAL = (SKIPPED, IMPORTED, FAILED, SUPERSEDED, HELD)  # HELD: until an operator acts
OPEN_OBJECT_STATUSES = (QUEUED, WAITING_FOR_MATE, IMPORTING)  # a file's import still to be decided
READSET_STATUSES = (WAITING_FOR_MATE, QUEUED, STARTING, IMPORTING, IMPORTED, FAILED, ORPHANED, SUPERSEDED)
JOB_STATUSES = (IMPORTING, DONE)

# The state model (docs/state-model.md): per kind, each status -> the statuses a write may
# move it to; None = the item is new. The fault-injection suite fails on any other move.
NEW = None
TRANSITIONS: dict[str, dict[str | None, frozenset[str]]] = {
    KIND_OBJECT: {
        NEW: frozenset({SKIPPED, WAITING_FOR_MATE, QUEUED, FAILED, HELD, WAITING_FOR_SHEET}),
        WAITING_FOR_SHEET: frozenset({QUEUED, WAITING_FOR_MATE, SKIPPED, FAILED}),
        WAITING_FOR_MATE: frozenset({QUEUED, SKIPPED, FAILED, IMPORTED, SUPERSEDED}),
        QUEUED: frozenset({SKIPPED, FAILED, IMPORTED, SUPERSEDED}),
        IMPORTING: frozenset({IMPORTED, FAILED}),  # files an earlier release moved at the start
        FAILED: frozenset({QUEUED, WAITING_FOR_MATE, SKIPPED, WAITING_FOR_SHEET}),
        SKIPPED: frozenset({QUEUED, WAITING_FOR_MATE, FAILED, WAITING_FOR_SHEET}),
        IMPORTED: frozenset(),
        SUPERSEDED: frozenset(),
        HELD: frozenset({QUEUED}),
    },
    KIND_READSET: {
        NEW: frozenset({WAITING_FOR_MATE, QUEUED}),
        WAITING_FOR_MATE: frozenset({QUEUED, ORPHANED}),
        ORPHANED: frozenset({QUEUED}),
        QUEUED: frozenset({STARTING}),
        STARTING: frozenset({QUEUED, IMPORTING, FAILED, SUPERSEDED}),
        IMPORTING: frozenset({IMPORTED, FAILED}),
        FAILED: frozenset({QUEUED}),
        SUPERSEDED: frozenset({QUEUED}),
        IMPORTED: frozenset(),
    },
    KIND_JOB: {NEW: frozenset({IMPORTING}), IMPORTING: frozenset({DONE}), DONE: frozenset()},
}

# A read set claimed by a batch whose workflow never started may be claimed again after this.
STALE_CLAIM_SECONDS = 15 * 60
# Job bookkeeping items disappear this long after the job is DONE (the object items stay).
JOB_RETENTION_SECONDS = 30 * 86400

STARTER_FILTER_PATTERN = contract.STARTER_FILTER_PATTERN

# Read-set statuses of the READSET due queue: moves among them keep the item's due time.
OPEN_READSET_STATUSES = (WAITING_FOR_MATE, QUEUED, STARTING)
JOB_KEYS_SK = "KEYS"  # the write-once part of a job: its read-set keys (``JOB#<id>``, ``KEYS``)
SENT_SK = "SENT"  # ``SENT#<batchId>``: what the batch's import start sends (``Tracking.put_sent``)


def due_fields(pk: str, status: str, at: float | None = None) -> dict[str, Any]:
    """``dueQ`` / ``dueAt`` of an object or read-set item in ``status`` (None: not in the
    due index). Open read sets are due for the sweep's look STALE_CLAIM_SECONDS later;
    FAILED and ORPHANED items are listed by when. Jobs, slots and post-import markers set
    theirs where they are written."""
    moment = now() if at is None else at
    queue: str | None = None
    due = int(moment)
    if pk.startswith(READSET_PREFIX):
        if status in OPEN_READSET_STATUSES:
            queue, due = DueQueue.READSET, int(moment + STALE_CLAIM_SECONDS)
        elif status == FAILED:
            queue = DueQueue.FAILED
        elif status == ORPHANED:
            queue = DueQueue.ORPHANED
    elif pk.startswith(OBJECT_PREFIX) and status == FAILED:
        queue = DueQueue.FAILED
    elif pk.startswith(OBJECT_PREFIX) and status == WAITING_FOR_SHEET:
        queue = DueQueue.SHEET  # due at ``at``: the item's waitUntil
    if queue is None:
        return {DUE_QUEUE: None, DUE_AT: None}
    return {DUE_QUEUE: str(queue), DUE_AT: due}


def object_due_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """``due_fields`` of a whole object item: a file WAITING_FOR_SHEET is due at its ``waitUntil``."""
    status = str(item.get("status", ""))
    return due_fields(str(item["pk"]), status, item.get("waitUntil") if status == WAITING_FOR_SHEET else None)


def expected_import_seconds(total_bytes: int) -> float:
    """How long an import job of ``total_bytes`` should take at most (contract's throughput)."""
    return contract.IMPORT_STARTUP_SECONDS + total_bytes / contract.IMPORT_BYTES_PER_SECOND


def stuck_at(started: float, total_bytes: int, floor_seconds: int) -> int:
    """When a job started at ``started`` counts as stuck: STUCK_FACTOR times its expected
    duration, and never before the ``stuck_after`` floor."""
    return int(started + max(floor_seconds, contract.STUCK_FACTOR * expected_import_seconds(total_bytes)))


# ------------------------------------------------------------------ keys


def object_key(bucket: str, key: str, version_id: str | None) -> tuple[str, str]:
    return f"{OBJECT_PREFIX}s3://{bucket}/{key}", f"{SortKey.OBJECT_VERSION}{version_id or 'null'}"


def readset_key(group_key: str) -> tuple[str, str]:
    return f"{READSET_PREFIX}{group_key}", READSET_SK


def job_key(job_id: str) -> tuple[str, str]:
    return f"{JOB_PREFIX}{job_id}", JOB_SK


def uri_of_object_pk(pk: str) -> str:
    return pk[len(OBJECT_PREFIX) :]


def waiting_key(bucket: str, run_folder: str, object_pk: str, object_sk: str) -> tuple[str, str]:
    """A waiting file's entry: partition = its run folder (one Query finds them all), sort = the version."""
    return f"{KeyPrefix.WAIT}s3://{bucket}/{run_folder}", f"{object_pk}#{object_sk}"


def readset_files(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The file entries (``file1``, then ``file2``) of a read-set item, as ``readset_file``."""
    return [readset_file(item, name) for name in ("file1", "file2") if isinstance(item.get(name), Mapping)]


# A read set is rewritten about six times, each write billed per started KB: its file entries
# leave out what the read-set key already says (``stored_entry``); these put it back.


def _folder_of(read_set_pk: str) -> str:
    """The folder a read set's key names (its group key up to the last ``/``)."""
    return str(read_set_pk).removeprefix(READSET_PREFIX).rpartition("/")[0]


def readset_file(item: Mapping[str, Any], slot: str) -> dict[str, Any]:
    """The entry in ``slot`` (``file1`` / ``file2``) with its full ``uri`` and its object
    item's ``pk``, or {} when the slot is empty. Entries stored before they were shortened
    have both already."""
    stored = item.get(slot)
    if not isinstance(stored, Mapping):
        return {}
    entry = dict(stored)
    uri = str(entry.get("uri") or "")
    if uri and not uri.startswith("s3://"):
        entry["uri"] = uri = f"{_folder_of(str(item.get('pk', '')))}/{uri}"
    if "pk" not in entry and uri:
        entry["pk"] = f"{OBJECT_PREFIX}{uri}"
    return entry


def stored_entry(read_set_pk: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """A file entry as a read set stores it: no ``pk`` (``OBJ#`` + its URI), and its URI
    relative to the read set's folder when it is in it (exact: ``readset_file`` undoes it
    with the same key)."""
    out = {k: v for k, v in entry.items() if k != "pk"}
    folder = _folder_of(read_set_pk)
    name = str(out.get("uri", "")).removeprefix(f"{folder}/")
    if folder and name != out.get("uri") and name and "/" not in name and not name.startswith("s3://"):
        out["uri"] = name
    return out


def readset_fields(pk: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A new read set's fields without ``groupKey`` when its key says it (``group_key_of``)."""
    out = dict(fields)
    if out.get("groupKey") is not None and pk == f"{READSET_PREFIX}{out['groupKey']}":
        del out["groupKey"]
    return out


def group_key_of(item: Mapping[str, Any]) -> str:
    """The group key of a read set: stored when its key is not ``RS#`` + it (a re-upload's)."""
    return str(item.get("groupKey") or str(item.get("pk", "")).removeprefix(READSET_PREFIX))


def readset_sources(item: Mapping[str, Any]) -> list[str]:
    """The URIs of a read set's files, file1 first."""
    return [str(entry["uri"]) for entry in readset_files(item) if entry.get("uri")]


def _sent_of(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    raw = (item or {}).get("sent")
    if raw is None:
        return None
    value: dict[str, Any] = json.loads(zlib.decompress(base64.b64decode(str(raw))).decode("utf-8"))
    return value


Table = ItemTable  # the CLI's name for it


def queue_items(
    table: ItemTable,
    queue: str,
    *,
    prefix: str | None = None,
    status: str | None = None,
    newest_first: bool = False,
    limit: int = 0,
) -> list[dict[str, Any]]:
    """Items of one due-index queue (FAILED, ORPHANED...) as they are now, by due time:
    those whose ``pk`` starts with ``prefix`` and whose status is still ``status``, at most
    ``limit`` (0: all)."""
    out: list[dict[str, Any]] = []
    entries = table.query_due(queue, newest_first=newest_first)
    while True:
        chunk = []
        for entry in entries:
            if prefix is None or str(entry["pk"]).startswith(prefix):
                chunk.append((entry["pk"], entry["sk"]))
            if len(chunk) >= 100:
                break
        if not chunk:
            return out
        found = table.get_many(chunk)
        for key in chunk:
            item = found.get(key)
            if item is not None and (status is None or item.get("status") == status):
                out.append(item)
                if limit and len(out) >= limit:
                    return out


def open_read_sets(
    table: ItemTable, status: str | None = None, *, updated_before: str | None = None
) -> list[dict[str, Any]]:
    """Read sets of the due index's READSET and MATE queues (WAITING_FOR_MATE, QUEUED,
    STARTING), as they are now: of ``status`` when given, last updated before a time. For
    the CLI: it reads every open read set (its index entries, then the items)."""
    keys = [(e["pk"], e["sk"]) for queue in (DueQueue.READSET, DueQueue.MATE) for e in table.query_due(queue)]
    found = table.get_many(keys)
    out = []
    for key in keys:
        item = found.get(key)
        if item is None or item.get("status") not in OPEN_READSET_STATUSES:
            continue
        if status is not None and item.get("status") != status:
            continue
        if updated_before is not None and str(item.get("updatedAt") or "") >= updated_before:
            continue
        out.append(item)
    return out

# ------------------------------------------------------------------ transitions


@dataclass(frozen=True)
class FileMove:
    """How :meth:`Tracking.move_read_set` moves the files: to ``status`` from ``expect``,
    with ``reason`` (or a file's own in ``reasons``, by URI) and ``extra`` fields."""

    status: str
    expect: Sequence[str]
    reason: str | None = None
    reasons: Mapping[str, str] | None = None
    extra: Mapping[str, Any] | None = None
    clear_reason: bool = False


def _in(values: Sequence[str], prefix: str) -> tuple[str, dict[str, str]]:
    """``(:p0, :p1)`` and its values, for ``#status IN ...`` conditions."""
    names = {f":{prefix}{i}": v for i, v in enumerate(values)}
    return "(" + ", ".join(names) + ")", names


class Tracking:
    """The transitions the pipeline makes. Each returns False when it lost a race."""

    def __init__(self, table: ItemTable | str):
        self.table = table if isinstance(table, ItemTable) else ItemTable(table)

    # -- files waiting for their run's sheet (see logic.intake)

    def add_waiting(self, pk: str, sk: str, fields: Mapping[str, Any], expires_at: float) -> None:
        """Enter a file in its run folder's waiting list (a repeat only rewrites the same entry)."""
        self.table.update(
            pk,
            sk,
            set={**fields, "kind": contract.Kind.WAIT, "expiresAt": int(expires_at)},
            remove=("releasedAt",),
        )

    def waiting_in(self, pk: str) -> list[dict[str, Any]]:
        """The entries of a run folder not yet released, by Query on its partition."""
        kwargs: dict[str, Any] = {
            "TableName": self.table.name,
            "KeyConditionExpression": "#pk = :pk",
            "FilterExpression": "attribute_not_exists(#releasedAt)",
            "ExpressionAttributeNames": {"#pk": "pk", "#releasedAt": "releasedAt"},
            "ExpressionAttributeValues": serialize({":pk": pk}),
            "ConsistentRead": True,
        }
        found: list[dict[str, Any]] = []
        while True:
            response = self.table.client.query(**kwargs)
            found += [deserialize(raw) or {} for raw in response.get("Items", [])]
            if not response.get("LastEvaluatedKey"):
                return found
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def release_waiting(self, pk: str, sk: str, retain_seconds: float) -> None:
        """Mark an entry done (its file moved on); TTL removes it later."""
        self.table.update(pk, sk, set={"releasedAt": iso(), "expiresAt": int(now() + retain_seconds)})

    # -- objects

    def put_object(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        """Record a new object version; None when new, else the item already there."""
        stamp = iso()
        full = {"kind": KIND_OBJECT, "updatedAt": stamp, "receivedAt": stamp, **item}
        full.update(object_due_fields(full))
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

    @staticmethod
    def _move_spec(
        pk: str,
        status: str,
        expect: Sequence[str],
        must_equal: Mapping[str, Any],
        *,
        reason: str | None,
        extra: Mapping[str, Any] | None,
        clear_reason: bool,
        due_queue: str | None = None,
    ) -> dict[str, Any]:
        """The conditional status transition (``ItemTable.update`` keywords): from ``expect``,
        with ``must_equal`` attributes (None = not checked) still as the caller saw them.
        Its due-index attributes follow the status (:func:`due_fields`), except between open
        read-set statuses of an item already in that queue (``due_queue``: the item's as the
        caller saw it; unknown: ``expect`` tells), where its due time stays."""
        allowed, values = _in(expect, "e")
        condition = f"#status IN {allowed}"
        for index, (name, value) in enumerate(must_equal.items()):
            if value is not None:
                condition += f" AND #{name} = :m{index}"
                values[f":m{index}"] = value
        fields: dict[str, Any] = {"status": status, "updatedAt": iso()}
        stays_open = status in OPEN_READSET_STATUSES and (
            due_queue == DueQueue.READSET if due_queue is not None else set(expect) <= set(OPEN_READSET_STATUSES)
        )
        # A file still WAITING_FOR_SHEET keeps its due time (its waitUntil).
        still_waiting = status == WAITING_FOR_SHEET and set(expect) <= {WAITING_FOR_SHEET}
        if not (pk.startswith(READSET_PREFIX) and stays_open) and not still_waiting:
            fields.update(due_fields(pk, status))
        fields.update(extra or {})
        if reason is not None:
            fields["reason"] = reason
        elif clear_reason:
            fields["reason"] = None
        return {"set": fields, "condition": condition, "values": values}

    def _move(
        self, pk: str, sk: str, status: str, expect: Sequence[str], must_equal: Mapping[str, Any], **how: Any
    ) -> bool:
        try:
            self.table.update(pk, sk, **self._move_spec(pk, status, expect, must_equal, **how))
        except ConditionFailed:
            return False
        return True

    def move_read_set(
        self,
        read_set: Mapping[str, Any],
        status: str,
        *,
        expect: Sequence[str],
        files: FileMove | None,
        batch_id: str | None = None,
        job_id: str | None = None,
        reason: str | None = None,
        extra: Mapping[str, Any] | None = None,
        clear_reason: bool = False,
        lacking: str | None = None,
        atomic: bool = True,
    ) -> list[str] | None:
        """A read set and its files moved in ONE transaction (see docs/state-model.md): the
        read set to ``status`` from ``expect`` (held by ``batch_id`` / imported by ``job_id``
        when given), each file as :meth:`set_object` with ``files``. A file whose condition
        fails (already moved by an earlier try, or taken by another read set) is left out
        and the rest committed. ``lacking``: the read set must not have that attribute
        either. Returns the URIs of the files moved, or None
        when the read set itself lost the race (nothing written).

        ``atomic=False`` (the moves every file makes: the pair queued, the import started,
        its outcome): single writes in resumable order instead, at half a transaction's
        write units: each file first, then the read set, whose write commits. Until it does,
        whoever moves the read set on (a retry, a redelivery, the sweep) moves its files
        again, and those already moved fail their condition and are left as they are; so
        a file is never behind a read set that moved. None: the read set lost the race
        (files that the same move had moved stay moved: the winner moves them the same way).

        ``files=None``: the read set alone (the import's start: its files keep their status,
        QUEUED or WAITING_FOR_MATE, until its outcome moves them; a write per file saved)."""
        spec = self._move_spec(
            read_set["pk"],
            status,
            expect,
            {"batchId": batch_id, "importJobId": job_id},
            reason=reason,
            extra=extra,
            clear_reason=clear_reason,
            due_queue=str(read_set.get(DUE_QUEUE) or "") or None,
        )
        if lacking:
            spec["condition"] += f" AND attribute_not_exists(#{lacking})"
        write = self.table.update_request(read_set["pk"], READSET_SK, **spec)
        if files is None:
            return [] if self.table.write_if(write) else None
        if not atomic:
            return self._files_then_read_set(read_set, write, files)
        return self._with_files(read_set, write, files)

    def _file_write(self, read_set: Mapping[str, Any], entry: Mapping[str, Any], files: FileMove) -> dict[str, Any]:
        spec = self._move_spec(
            entry["pk"],
            files.status,
            files.expect,
            {"readSetKey": read_set["pk"]},
            reason=(files.reasons or {}).get(entry["uri"], files.reason),
            extra=files.extra,
            clear_reason=files.clear_reason,
        )
        return self.table.update_request(entry["pk"], entry["sk"], **spec)

    def _files_then_read_set(
        self, read_set: Mapping[str, Any], write: Mapping[str, Any], files: FileMove
    ) -> list[str] | None:
        """``move_read_set(atomic=False)``: each file's write, then the read set's."""
        moved = []
        for entry in readset_files(read_set):
            if self.table.write_if(self._file_write(read_set, entry, files)):
                moved.append(str(entry["uri"]))
        return moved if self.table.write_if(write) else None

    def _with_files(self, read_set: Mapping[str, Any], write: Mapping[str, Any], files: FileMove) -> list[str] | None:
        """``write`` (the read set's) and its files' moves as one transaction; see move_read_set."""
        entries = readset_files(read_set)
        while True:
            writes = [write, *(self._file_write(read_set, entry, files) for entry in entries)]
            try:
                self.table.transact(writes)
            except ConditionFailed as lost:
                if lost.index == 0:
                    return None
                del entries[lost.index - 1]
                continue
            return [entry["uri"] for entry in entries]

    def rejoin(self, pk: str, sk: str, read_set_key: str) -> bool:
        """A QUEUED re-upload moves to the read set of its own version (``readSetKey``)."""
        return self._move(
            pk, sk, QUEUED, (QUEUED,), {}, reason=None, extra={"readSetKey": read_set_key}, clear_reason=False
        )

    def note_superseded(self, pk: str, sk: str, version: str) -> bool:
        """An object version names the newer version that replaced it (``supersededBy``);
        its status is unchanged: its bytes stay where they are."""
        try:
            self.table.update(
                pk, sk, set={"supersededBy": version, "updatedAt": iso()}, condition="attribute_exists(#pk)"
            )
        except ConditionFailed:
            return False
        return True

    def note_version_changed(self, pk: str, sk: str, reason: str) -> bool:
        """An IMPORTED object whose key got a newer version during the import: which
        version's bytes the read set holds is not known (``versionUncertain``)."""
        try:
            self.table.update(
                pk,
                sk,
                set={"versionUncertain": True, "reason": reason, "updatedAt": iso()},
                condition="#status = :imported",
                values={":imported": IMPORTED},
            )
        except ConditionFailed:
            return False
        return True

    # -- read sets

    def object_versions(self, uri: str) -> list[dict[str, Any]]:
        """Every tracked version of one object (a Query of its partition, never a scan)."""
        pk = f"{OBJECT_PREFIX}{uri}"
        pages = self.table.client.get_paginator("query").paginate(
            TableName=self.table.name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ProjectionExpression="pk, sk, #status, readSetKey",
            ConsistentRead=True,  # a mate put a moment ago must be seen
            ExpressionAttributeNames={"#status": "status"},
        )
        return [deserialize(item) or {} for page in pages for item in page.get("Items", [])]

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
            **due_fields(pk, QUEUED),
            **readset_fields(pk, fields),
        }
        if isinstance(item.get("file1"), Mapping):
            item["file1"] = stored_entry(pk, item["file1"])
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
            set={slot: stored_entry(pk, file_entry), "updatedAt": stamp},
            set_if_absent={
                "kind": KIND_READSET,
                "status": WAITING_FOR_MATE,
                "attempt": 0,
                "createdAt": stamp,
                # The first mate puts the read set into the due queue; the second leaves it.
                **due_fields(pk, WAITING_FOR_MATE),
                **readset_fields(pk, fields),
            },
            condition=(f"attribute_not_exists(#{slot}) AND (attribute_not_exists(#status) OR #status IN {allowed})"),
            values=values,
            return_new=True,
        )

    def join_mate(
        self, pk: str, mate: int, fields: Mapping[str, Any], file_entry: Mapping[str, Any], completes: bool = False
    ) -> dict[str, Any] | None:
        """:meth:`claim_mate` for a pair waiting in the RS queue (or a new one), which also
        QUEUES the pair when this mate completes it, in the same write: each mate leaves a
        mark (``q1`` / ``q2``), and the status becomes what the other's mark says, QUEUED,
        or WAITING_FOR_MATE without it. So two mates that arrive at once queue their pair
        with no write of its own, whichever comes second. ``completes``: this mate expects to
        complete it (:meth:`completes_pair`), so the write also stamps ``queuedAt``. Its files
        follow (:meth:`queue_files`); until they do, StartImport moves a file from
        WAITING_FOR_MATE as from QUEUED. None when the read set is not such a pair (taken
        slot, another queue, moved on): then :meth:`claim_mate`."""
        stamp = iso()
        slot = f"file{mate}"
        request = self.table.update_request(
            pk,
            READSET_SK,
            set={
                slot: stored_entry(pk, file_entry),
                f"q{mate}": str(QUEUED),
                "updatedAt": stamp,
                **({"queuedAt": stamp} if completes else {}),
            },
            set_if_absent={
                "kind": KIND_READSET,
                "attempt": 0,
                "createdAt": stamp,
                **due_fields(pk, WAITING_FOR_MATE),
                **readset_fields(pk, fields),
            },
            condition=(
                f"attribute_not_exists(#{slot}) AND (attribute_not_exists(#status)"
                f" OR (#status = :waiting AND #{DUE_QUEUE} = :rs))"
            ),
            values={":waiting": WAITING_FOR_MATE, ":rs": str(DueQueue.READSET)},
        )
        request["UpdateExpression"] = request["UpdateExpression"].replace(
            "SET ", f"SET #status = if_not_exists(#q{3 - mate}, :waiting), ", 1
        )
        request["ExpressionAttributeNames"][f"#q{3 - mate}"] = f"q{3 - mate}"
        request["ReturnValues"] = "ALL_NEW"
        try:
            response = self.table.client.update_item(**request)
        except self.table.client.exceptions.ConditionalCheckFailedException:
            return None
        return deserialize(response.get("Attributes")) or {}

    def completes_pair(self, pk: str, mate: int) -> bool:
        """Whether mate ``mate`` would complete the pair now: its partner waits in the read
        set (WAITING_FOR_MATE, in the RS due queue) and its own slot is free. A hint, read
        consistently: :meth:`join_mate` decides in its write."""
        item = self.table.get(pk, READSET_SK) or {}
        return (
            item.get("status") == WAITING_FOR_MATE
            and item.get(DUE_QUEUE) == DueQueue.READSET
            and isinstance(item.get(f"file{3 - mate}"), Mapping)
            and not item.get(f"file{mate}")
        )

    def queue_files(self, read_set: Mapping[str, Any], but: str | None = None) -> list[str]:
        """The files of a QUEUED pair that still wait (WAITING_FOR_MATE, or SKIPPED as an
        orphan) QUEUED too, except the one at URI ``but``; returns the URIs moved."""
        move = FileMove(QUEUED, (WAITING_FOR_MATE, SKIPPED), clear_reason=True)
        return [
            str(entry["uri"])
            for entry in readset_files(read_set)
            if entry["uri"] != but and self.table.write_if(self._file_write(read_set, entry, move))
        ]

    def queue_pair(self, read_set: Mapping[str, Any]) -> bool:
        """WAITING_FOR_MATE (or ORPHANED) -> QUEUED once both mates are in, its files
        (WAITING_FOR_MATE, or SKIPPED as an orphan) QUEUED first (``atomic=False``): exactly
        one caller moves the read set, however many complete the pair at once."""
        if not (read_set.get("file1") and read_set.get("file2")):
            return False  # mates are never taken out of a read set: this image has them all
        moved = self.move_read_set(
            read_set,
            QUEUED,
            expect=(WAITING_FOR_MATE, ORPHANED),
            extra={"queuedAt": iso()},
            clear_reason=True,
            files=FileMove(QUEUED, (WAITING_FOR_MATE, SKIPPED), clear_reason=True),
            atomic=False,
        )
        return moved is not None

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
                set={
                    "status": QUEUED,
                    "updatedAt": stamp,
                    "batchId": None,
                    "startingAt": None,
                    **due_fields(pk, QUEUED),
                },
                condition="#status = :starting AND #batchId = :batch",
                values={":starting": STARTING, ":batch": batch_id},
            )
        except ConditionFailed:
            return False
        return True

    def redrive(self, pk: str) -> bool:
        """FAILED / ORPHANED -> QUEUED with ``attempt`` + 1 (a new import); its files go back
        to QUEUED in the same transaction. An ORPHANED pair is redriven as a single-end read set."""
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
            **due_fields(pk, QUEUED),
        }
        if item["status"] == ORPHANED:
            fields["singleEnd"] = True
        write = self.table.update_request(
            pk,
            READSET_SK,
            set=fields,
            add={"attempt": 1},
            condition="#status = :was AND #attempt = :attempt",
            values={":was": item["status"], ":attempt": item.get("attempt", 0)},
        )
        return self._with_files(item, write, FileMove(QUEUED, (FAILED, SKIPPED), clear_reason=True)) is not None

    # -- jobs
    # A job is two items: ``JOB`` (small, rewritten at every poll) and ``KEYS`` (its read-set
    # keys, written once: a rewrite costs a write unit per started KB of the item).

    def put_job(self, job_id: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        """Record a started job (IMPORTING, due for its first poll at ``nextPollAt``); its
        ``readSetKeys`` go to the job's KEYS item, put first (a retry puts the same).

        The KEYS item stands in the due index (queue IMP, at the job's ``stuckAt``) for all
        the job's IMPORTING read sets, which are not in it themselves (one index entry per
        job, not two index writes per read set): until :meth:`imports_settled`, the sweep
        finds there the files of a job past its expected end (stuck, or left open by an
        ended workflow)."""
        pk, sk = job_key(job_id)
        stamp = iso()
        fields = dict(fields)
        keys = fields.pop("readSetKeys", None)
        if keys is not None:
            keys_item: dict[str, Any] = {
                "pk": pk,
                "sk": JOB_KEYS_SK,
                "kind": KIND_JOB,
                "readSetKeys": list(keys),
                # It expires a retention after the longest a job may run.
                "expiresAt": int(now() + 2 * JOB_RETENTION_SECONDS),
            }
            if fields.get("stuckAt") is not None:
                keys_item[DUE_QUEUE], keys_item[DUE_AT] = str(DueQueue.IMPORTING), int(fields["stuckAt"])
                keys_item[contract.DUE_FILES] = int(fields.get("fileCount") or len(keys))
                if fields.get("batchId"):
                    keys_item[contract.DUE_BATCH] = fields["batchId"]
            self.table.client.put_item(TableName=self.table.name, Item=serialize(keys_item))
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
        item[DUE_QUEUE], item[DUE_AT] = str(DueQueue.JOB), int(item.get("nextPollAt") or now())
        if item.get("batchId"):
            item[contract.DUE_BATCH] = item["batchId"]
        return self.table.put_new(item)

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        return self.table.get(*job_key(job_id))

    def imports_settled(self, job_id: str) -> None:
        """None of the job's read sets is IMPORTING any more: its KEYS item leaves the due index."""
        # ConditionFailed: settled already, or a job from before KEYS items stood for its read sets.
        with contextlib.suppress(ConditionFailed):
            self.table.update(
                job_key(job_id)[0],
                JOB_KEYS_SK,
                set={DUE_QUEUE: None, DUE_AT: None, contract.DUE_FILES: None, contract.DUE_BATCH: None},
                condition=f"attribute_exists(#{DUE_QUEUE})",
            )

    def job_read_sets(self, job_id: str) -> list[str]:
        """The read-set keys the job was started with (its KEYS item)."""
        item = self.table.get(job_key(job_id)[0], JOB_KEYS_SK)
        return [str(key) for key in (item or {}).get("readSetKeys") or []]

    def store_task_token(self, job_id: str, token: str, next_poll_at: float) -> bool:
        pk, sk = job_key(job_id)
        try:
            self.table.update(
                pk,
                sk,
                set={
                    "taskToken": token,
                    "nextPollAt": int(next_poll_at),
                    DUE_AT: int(next_poll_at),
                    "updatedAt": iso(),
                },
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
                set={
                    "nextPollAt": int(next_poll_at),
                    DUE_AT: int(next_poll_at),
                    "pollCount": poll_count,
                    "updatedAt": iso(),
                },
                condition="#status = :importing",
                values={":importing": IMPORTING},
            )
        except ConditionFailed:
            return False
        return True

    def job_done(self, job_id: str, job_status: str | None = None) -> bool:
        """IMPORTING -> DONE (sets the TTL, leaves the due index); False when it was DONE
        already or is unknown."""
        pk, sk = job_key(job_id)
        expires = int(now() + JOB_RETENTION_SECONDS)
        try:
            self.table.update(
                pk,
                sk,
                set={
                    "status": DONE,
                    "jobStatus": job_status,
                    "updatedAt": iso(),
                    "expiresAt": expires,
                    "taskToken": None,
                    DUE_QUEUE: None,
                    DUE_AT: None,
                },
                condition="#status = :importing",
                values={":importing": IMPORTING},
            )
        except ConditionFailed:
            return False
        return True

    # -- what a batch's import start sends (logic.import_start)
    # One write-once item per batch, compressed: recorded on each read set instead, it made
    # the read-set item pass 1 KB, and every later write of it cost a unit more.

    def put_sent(self, batch_id: str, sent: Mapping[str, Any]) -> dict[str, Any]:
        """Record, before the call, what the batch's start sends (read-set key -> what for
        it); the first record stays: returns the one that holds."""
        text = json.dumps(sent, sort_keys=True, separators=(",", ":")).encode("utf-8")
        body = base64.b64encode(zlib.compress(text)).decode("ascii")  # the table stores no bytes
        existing = self.table.put_new(
            {
                "pk": f"{KeyPrefix.SENT}{batch_id}",
                "sk": SENT_SK,
                "kind": "sent",
                "sent": body,
                "expiresAt": int(now() + 2 * JOB_RETENTION_SECONDS),
            }
        )
        return dict(sent) if existing is None else _sent_of(existing) or dict(sent)

    def sent(self, batch_id: str) -> dict[str, Any] | None:
        """What the batch's start sent, by read-set key (``put_sent``); None before it."""
        return _sent_of(self.table.get(f"{KeyPrefix.SENT}{batch_id}", SENT_SK))
