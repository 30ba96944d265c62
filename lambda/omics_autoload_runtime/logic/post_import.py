"""The post-import action on source objects (``POST_IMPORT_ACTION``), once their read set is ACTIVE.

* KEEP (default): nothing.
* TAG / TRANSITION: merge ``omics-autoload:read-set-id=<id>`` and
  ``omics-autoload:imported=true`` into the tags of the imported object VERSION (a
  lifecycle rule on the second tag moves objects for TRANSITION). S3 allows 10 tags per
  object: when the merge would need more, nothing is changed (the user's tags are never
  dropped) and the object item says so.
* DELETE: ``DeleteObject`` of the key (a delete marker on a versioned bucket), unless the
  table knows a newer version of the key (that one is someone's new upload).

Only for IMPORTED files, never for FAILED ones, and only once ``GetReadSetMetadata``
says the read set is ACTIVE. When it is not ACTIVE yet (or the call is throttled), the
object items record ``postImport: PENDING`` and a bookkeeping item (``kind`` postimport,
status ``POST_IMPORT_PENDING``, in the due index's POST queue, so the sweep finds it cheaply) lets the
sweep try again, at most :data:`MAX_ATTEMPTS` times. Every outcome is recorded on the
object item: ``postImportAction``, ``postImport`` (DONE, PENDING, SKIPPED, FAILED),
``postImportAt`` and, unless DONE, ``postImportNote``. Nothing here ever fails the
import: the read set exists, whatever happens to its source.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import contract, settings
from omics_autoload_runtime.adapters import clients, rate_limit, tracking
from omics_autoload_runtime.adapters.notices import POST_IMPORT, log_outcome
from omics_autoload_runtime.adapters.table import ConditionFailed, deserialize, iso, now, serialize
from omics_autoload_runtime.errors import error_code, is_transient

LOG = logging.getLogger(__name__)

KEEP, TAG, TRANSITION, DELETE = tuple(contract.PostImportAction)
READ_SET_ID_TAG = "omics-autoload:read-set-id"
IMPORTED_TAG = "omics-autoload:imported"
MAX_TAGS = 10  # S3 limit per object

KIND_POST_IMPORT = "postimport"
PENDING_STATUS = "POST_IMPORT_PENDING"
PENDING_PREFIX, PENDING_SK = contract.KeyPrefix.POST_IMPORT, contract.SortKey.POST_IMPORT
MAX_ATTEMPTS = 48  # with the default 5-minute sweep: four hours
DONE, PENDING, SKIPPED, FAILED = "DONE", "PENDING", "SKIPPED", "FAILED"

_GONE_READ_SET = {"DELETING", "DELETED", "UPLOAD_FAILED"}
def _location(entry: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(bucket, key, version id or None) of a read set's file entry."""
    bucket, _, key = str(entry["uri"])[len("s3://") :].partition("/")
    version = str(entry.get("sk", ""))[2:]
    return bucket, key, None if version in ("", "null") else version


class PostImport:
    def __init__(self, cfg: settings.Config, tr: tracking.Tracking | None = None):
        self.cfg = cfg
        self.action = cfg.post_import_action
        self.tracking = tr or tracking.Tracking(cfg.table_name)
        self.stats: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self.action != KEEP

    def _bump(self, name: str) -> None:
        self.stats[name] = self.stats.get(name, 0) + 1

    # ------------------------------------------------------------ entry points

    def after_import(self, read_set: Mapping[str, Any], read_set_id: str) -> str:
        """Finalize calls this for each read set it recorded IMPORTED."""
        if not self.enabled:
            return KEEP
        files = [
            {"pk": e["pk"], "sk": e["sk"], "uri": e["uri"], "createdAt": e.get("createdAt")}
            for e in tracking.readset_files(read_set)
        ]
        return self._attempt(read_set["pk"], read_set_id, files, attempts=0, marker=None)

    def retry_pending(self, *, limit: int = 100, keep_going: Callable[[], bool] = lambda: True) -> int:
        """The sweep: try again for read sets left PENDING; returns how many were tried."""
        if not self.enabled:
            return 0
        tried = 0
        for marker in self.tracking.table.due_items(contract.DueQueue.POST_IMPORT, due_by=now(), limit=limit):
            if tried >= limit or not keep_going():
                break
            if marker.get("status") != PENDING_STATUS:
                continue
            attempts = int(marker.get("attempts") or 0)
            try:  # claim this try: two sweeps never act on one read set at once
                self.tracking.table.update(
                    marker["pk"],
                    PENDING_SK,
                    set={"updatedAt": iso()},
                    add={"attempts": 1},
                    condition="#status = :pending AND #attempts = :seen",
                    values={":pending": PENDING_STATUS, ":seen": attempts},
                )
            except ConditionFailed:
                continue
            tried += 1
            self._attempt(
                marker["readSetKey"], marker["readSetId"], list(marker.get("files") or []), attempts + 1, marker
            )
        return tried

    # ------------------------------------------------------------ one try

    def _attempt(
        self,
        read_set_pk: str,
        read_set_id: str,
        files: Sequence[Mapping[str, Any]],
        attempts: int,
        marker: Mapping[str, Any] | None,
    ) -> str:
        status, note = self._read_set_status(read_set_id)
        if status == "ACTIVE":
            for entry in files:
                self._apply(entry, read_set_id)
            outcome = DONE
        elif status in _GONE_READ_SET or status == "NOT_FOUND":
            for entry in files:
                self._record(entry, SKIPPED, f"read set {read_set_id} is {status}: the source object was left alone")
            outcome = SKIPPED
        elif attempts + 1 >= MAX_ATTEMPTS:
            for entry in files:
                self._record(entry, FAILED, f"gave up after {attempts + 1} tries: {note}; the object was left alone")
            outcome = FAILED
        else:
            for entry in files:
                self._record(entry, PENDING, note)
            self._keep_pending(read_set_pk, read_set_id, files, marker)
            self._bump("pending")
            return PENDING
        if marker is not None:
            self._forget(marker["pk"])
        return outcome

    def _read_set_status(self, read_set_id: str) -> tuple[str, str]:
        # Finalize calls this once per imported read set (up to 100 back to back): take a
        # token of the shared client-side limit first, or leave it to the sweep.
        if not rate_limit.try_take("GetReadSetMetadata"):
            return "UNKNOWN", "GetReadSetMetadata skipped (client-side rate limit); will try again"
        try:
            found = clients.client("omics").get_read_set_metadata(
                id=read_set_id, sequenceStoreId=self.cfg.sequence_store_id
            )
        except (ClientError, BotoCoreError) as error:
            if error_code(error) == "ResourceNotFoundException":
                return "NOT_FOUND", f"read set {read_set_id} not found"
            return "UNKNOWN", f"GetReadSetMetadata failed ({error_code(error)}); will try again"
        status = str(found.get("status") or "UNKNOWN")
        return status, f"read set {read_set_id} is {status}, not ACTIVE yet; will try again"

    def _keep_pending(
        self,
        read_set_pk: str,
        read_set_id: str,
        files: Sequence[Mapping[str, Any]],
        marker: Mapping[str, Any] | None,
    ) -> None:
        if marker is not None:
            return  # the claim already counted this try
        stamp = iso()
        self.tracking.table.client.put_item(
            TableName=self.tracking.table.name,
            Item=serialize(
                {
                    "pk": f"{PENDING_PREFIX}{read_set_pk}",
                    "sk": PENDING_SK,
                    "kind": KIND_POST_IMPORT,
                    "status": PENDING_STATUS,
                    "readSetKey": read_set_pk,
                    "readSetId": read_set_id,
                    "action": self.action,
                    "files": [dict(entry) for entry in files],
                    "attempts": 1,
                    "createdAt": stamp,
                    "updatedAt": stamp,
                    contract.DUE_QUEUE: str(contract.DueQueue.POST_IMPORT),
                    contract.DUE_AT: int(now()),
                }
            ),
        )

    def _forget(self, marker_pk: str) -> None:
        self.tracking.table.client.delete_item(
            TableName=self.tracking.table.name,
            Key=serialize({"pk": marker_pk, "sk": PENDING_SK}),
        )

    # ------------------------------------------------------------ the action on one object

    def _apply(self, entry: Mapping[str, Any], read_set_id: str) -> None:
        try:
            if self.action == DELETE:
                outcome, note = self._delete(entry)
            else:
                outcome, note = self._tag(entry, read_set_id)
        except (ClientError, BotoCoreError) as error:
            code = error_code(error)
            if isinstance(error, ClientError) and code in ("NoSuchKey", "NoSuchVersion", "404"):
                outcome, note = SKIPPED, "the object no longer exists"
            elif is_transient(error):
                outcome, note = FAILED, f"S3 kept failing ({code}); the object was left alone"
            else:
                outcome, note = FAILED, f"S3 refused ({code}); the object was left alone"
        self._record(entry, outcome, note, read_set_id=read_set_id)

    def _tag(self, entry: Mapping[str, Any], read_set_id: str) -> tuple[str, str | None]:
        bucket, key, version = _location(entry)
        s3 = clients.client("s3")
        target: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            target["VersionId"] = version
        existing = {t["Key"]: t["Value"] for t in s3.get_object_tagging(**target).get("TagSet", [])}
        merged = {**existing, READ_SET_ID_TAG: read_set_id, IMPORTED_TAG: "true"}
        if merged == existing:
            return DONE, None
        if len(merged) > MAX_TAGS:
            return SKIPPED, (
                f"the object has {len(existing)} tags and S3 allows {MAX_TAGS}: not tagged, its own tags were kept"
            )
        s3.put_object_tagging(**target, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in merged.items()]})
        return DONE, None

    def _delete(self, entry: Mapping[str, Any]) -> tuple[str, str | None]:
        bucket, key, _ = _location(entry)
        newer = self._newer_version(entry)
        if newer:
            return SKIPPED, f"a newer version of the key ({newer}) was uploaded since: not deleted"
        clients.client("s3").delete_object(Bucket=bucket, Key=key)
        return DONE, None

    def _newer_version(self, entry: Mapping[str, Any]) -> str | None:
        """Another version of the same key that the table saw created after this one."""
        ours = str(entry.get("createdAt") or "")
        response = self.tracking.table.client.query(
            TableName=self.tracking.table.name,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": "pk"},
            ExpressionAttributeValues=serialize({":pk": entry["pk"]}),
        )
        for raw in response.get("Items", []):
            item = deserialize(raw) or {}
            if item.get("sk") != entry["sk"] and str(item.get("createdAt") or "") > ours:
                return str(item.get("versionId") or item["sk"][2:])
        return None

    def _record(
        self, entry: Mapping[str, Any], outcome: str, note: str | None, *, read_set_id: str | None = None
    ) -> None:
        self._bump(outcome.lower())
        with contextlib.suppress(ConditionFailed):  # the object item moved on (a redrive)
            self.tracking.table.update(
                entry["pk"],
                entry["sk"],
                set={
                    "postImportAction": self.action,
                    "postImport": outcome,
                    "postImportAt": iso(),
                    "postImportNote": note,
                },
                add={"postImportAttempts": 1},
                condition="#status = :imported",
                values={":imported": tracking.IMPORTED},
            )
        log_outcome(
            LOG,
            POST_IMPORT,
            str(entry["uri"]),
            status=outcome,
            reason=note,
            read_set_id=read_set_id,
            action=self.action,
            level=logging.INFO if outcome in (DONE, PENDING) else logging.WARNING,
        )
