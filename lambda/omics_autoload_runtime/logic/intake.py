"""intake: every new S3 object version gets a tracking item, and joins (or forms) its read set.

One ``ObjectEvent`` (``logic.object_events``) at a time; the S3 reads of the object (its
header, tags, the folder's sample sheet) go through ``adapters.objects``.

Idempotent: a duplicate delivery finds the object item already there and changes nothing
(it only completes a step an interrupted earlier delivery left undone). A mate completes
its pair with one conditional transition, so two mates arriving at once in two Lambdas
queue the read set exactly once. Bad input never fails the batch: that object is recorded
FAILED with the reason; only infrastructure errors (DynamoDB, S3 throttling) raise, so the
event is delivered again.

Redrive: an event with a top-level ``"redrive": true`` (sent only by ``omics-autoload
redrive``, never by S3 or EventBridge) may replace an object item that ended FAILED or
SKIPPED here, before it joined a read set; the object is then processed as if new.
With ``"newVersion": true`` as well (``redrive --key KEY --new-version``) a HELD re-upload
is imported as a new read set.

Re-uploads (README, "Re-uploads"): a new version of a key whose read set holds an earlier
version takes the read set's place when that one was SUPERSEDED (replaced before its
import started) or FAILED; else it follows ``reupload_policy``: IMPORT_AS_NEW gives it a
read set of its own (``<read set key>@<version>``) and the earlier version's item names
it in ``supersededBy``; HOLD records it HELD for an operator. Never a silent conflict.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import objects, tracking
from omics_autoload_runtime.adapters.metrics import Metrics
from omics_autoload_runtime.adapters.notices import (
    FILE_FAILED,
    FILE_RECEIVED,
    FILE_SKIPPED,
    log_outcome,
    notifier_for,
)
from omics_autoload_runtime.adapters.table import ConditionFailed, iso, now, parse_iso, serialize
from omics_autoload_runtime.adapters.tracking import Tracking
from omics_autoload_runtime.contract import Dimension, Metric, ReuploadPolicy, SkipCode, SortKey
from omics_autoload_runtime.domain import limits, run_folder
from omics_autoload_runtime.domain.bam_header import HEADER_BYTES, HeaderFacts, read_header
from omics_autoload_runtime.domain.classify import (
    FileRole,
    Skip,
    classify,
    classify_sheet_file,
    needs_header,
    with_header,
)
from omics_autoload_runtime.domain.illumina_sheet import IlluminaSheet, lane_of, sheet_keys, sheet_or_error
from omics_autoload_runtime.domain.prefixes import watched
from omics_autoload_runtime.domain.read_sets import overrides_from_tags
from omics_autoload_runtime.domain.sample_sheet import (
    MAX_SHEET_BYTES,
    SampleSheet,
    SampleSheetError,
    SampleSheetRow,
)
from omics_autoload_runtime.domain.validation import file_problems
from omics_autoload_runtime.logic.object_events import ObjectEvent

LOG = logging.getLogger(__name__)
OPTIONAL_ROLE_FIELDS = frozenset(f.name for f in fields(FileRole) if f.default is None)
# A file entry's role leaves out what its read set's fields say (``import_start.roles_of``).
STORED_ELSEWHERE = frozenset({"uri", "file_type", "group_key", "name", "partner_uri"})

RELEASED_ENTRY_SECONDS = 7 * 86400  # a released waiting entry stays this long (TTL), for a look


@dataclass(frozen=True)
class Wait:
    """The file must wait for its run's sheet or completion marker (``require_sample_sheet``)."""

    run: str  # the run folder, a key prefix
    awaiting: str  # what it waits for, and where (``run_folder.awaited``)

NO_REFERENCE = (
    "no reference genome configured: {file_type} files need one to be imported;"
    " give OmicsAutoLoad a reference genome (or import this file as uBAM if it is unaligned),"
    " then run `omics-autoload redrive`"
)


# ------------------------------------------------------------------ per object


def _object_item(event: ObjectEvent, created: str) -> dict[str, Any]:
    """The fields every tracking item of an object version starts with."""
    pk, sk = tracking.object_key(event.bucket, event.key, event.version_id)
    return {
        "pk": pk,
        "sk": sk,
        "uri": f"s3://{event.bucket}/{event.key}",
        "bucket": event.bucket,
        "key": event.key,
        "versionId": event.version_id or "null",
        "size": event.size,
        "createdAt": created,
    }


class Intake:
    def __init__(self, cfg: settings.Config, metrics: Metrics):
        self.cfg = cfg
        self.metrics = metrics
        self.tracking = Tracking(cfg.table_name)
        self.dimensions: dict[str, str] = {Dimension.SEQUENCE_STORE_ID: cfg.sequence_store_id or "unknown"}
        self.notifier = notifier_for(cfg)
        self.redrive = False  # see the module docstring
        self.new_version = False  # redrive --new-version: a HELD re-upload is imported
        self._sheets: dict[str, SampleSheet | str | None] = {}  # folder -> sheet, its error, or none
        self._sheet_rows: dict[str, SampleSheetRow] = {}  # uri -> the row that names it
        self._notes: dict[str, str] = {}  # uri -> why its metadata is not what the folder's sheet says
        self._illumina_sheets: dict[str, IlluminaSheet | str | None] = {}  # run -> sheet, its error, or none
        # uri -> metadata from the file's header, then its run's Illumina sheet (which wins)
        self._file_fields: dict[str, dict[str, str]] = {}
        self._header_facts: dict[str, dict[str, Any]] = {}  # uri -> @SQ/AS/@HD facts of its header
        self._markers: dict[str, bool] = {}  # key -> the run-completion marker is there
        self._released = False  # the last _put replaced a WAITING_FOR_SHEET item: received before

    # -- entry

    def process(self, event: ObjectEvent) -> str:
        created = iso(parse_iso(event.event_time)) if event.event_time else iso()
        base = dict(_object_item(event, created), eTag=event.etag)
        uri = base["uri"]
        if not watched(event.key, self.cfg.key_prefixes):
            # A notification someone else added, or a rule widened by hand: not ours to read.
            watched_list = ", ".join(self.cfg.key_prefixes)
            reason = (
                f"outside the watched key prefixes ({watched_list}): not read and not imported;"
                " add its prefix to key_prefixes to import such files"
            )
            return self._record_skip(base, reason, SkipCode.OUTSIDE_PREFIX)
        try:
            outcome = self._classify(event, uri)
        except (ClientError, BotoCoreError):
            raise
        except SampleSheetError as error:  # a broken sheet must not fall back to guessed ids
            return self._record_failure(base, f"{error}; then run `omics-autoload redrive --key {uri}`")
        except Exception as error:  # bad input or a bug: record it, go on with the batch
            LOG.exception("could not classify %s", uri)
            return self._record_failure(
                base, f"internal error while classifying this file ({type(error).__name__}: {error})"
            )
        if isinstance(outcome, Skip):
            return self._record_skip(base, outcome.reason, outcome.code)
        if isinstance(outcome, Wait):
            return self._wait(base, outcome, event)
        role = outcome
        item = dict(base, fileType=role.file_type, mate=role.mate)
        if uri in self._notes:
            item["metadataNote"] = self._notes[uri]
        if role.file_type in limits.ALIGNED_FILE_TYPES and not self.cfg.reference_configured:
            return self._record_skip(item, NO_REFERENCE.format(file_type=role.file_type), SkipCode.NO_REFERENCE)
        rs_pk, _ = tracking.readset_key(role.group_key)
        # The mate that completes a pair (its partner already waits) is recorded QUEUED and
        # queues the pair with its own join: two writes fewer than a join, then a move.
        completes = bool(role.mate) and self.tracking.completes_pair(rs_pk, int(role.mate or 1))
        waits = role.mate and not completes
        item.update(readSetKey=rs_pk, status=tracking.WAITING_FOR_MATE if waits else tracking.QUEUED)
        existing = self._put(item)
        if existing is not None:
            return self._duplicate(existing, item, role, event)
        self._count_received()
        self._log(uri, str(item["status"]), None)
        return self._join(item, role, event, completes=completes)

    # -- classification (+ optional BAM header sniff)

    def _classify(self, event: ObjectEvent, uri: str) -> FileRole | Skip | Wait:
        options = self.cfg.assembly_options
        folder, _, name = event.key.rpartition("/")
        if self.cfg.sample_sheet_name and name == self.cfg.sample_sheet_name:
            return self._sheet_itself(event, uri)
        if self.cfg.illumina_sheet_name and name == self.cfg.illumina_sheet_name:
            return self._illumina_sheet_itself(event, uri)
        marked = run_folder.marker_run_folder(event.key, self.cfg.run_complete_marker)
        if marked is not None and self.cfg.require_sheet_prefixes:
            return self._marker_itself(event, uri, marked)
        sheet = self._sheet(event.bucket, f"{folder}/" if folder else "")
        if isinstance(sheet, str):
            raise SampleSheetError(sheet)
        row = sheet.row_for(uri) if sheet is not None else None
        if row is not None and self._mate_taken(row, uri):
            LOG.warning("the sample sheet arrived after this file's mate was tracked: both keep name-based read sets")
            self._notes[uri] = (
                f"metadata from the file name, not from the sample sheet s3://{event.bucket}/"
                f"{f'{folder}/' if folder else ''}{self.cfg.sample_sheet_name}: the sheet arrived"
                " after this file's mate was tracked, so both keep their name-based read sets (as for any"
                " file that arrived before its sheet: `omics-autoload redrive --key` for each)"
            )
            row = None
        if row is not None:
            self._sheet_rows[uri] = row
            return classify_sheet_file(uri, row, size=event.size, options=options)
        outcome = classify(uri, size=event.size, options=options)
        if isinstance(outcome, FileRole) and (needs_header(outcome, options) or self._reference_by_header(outcome)):
            facts = self._sniff(event)
            outcome, self._file_fields[uri] = with_header(outcome, facts, size=event.size, options=options)
            self._header_facts[uri] = facts.record()
        if isinstance(outcome, FileRole) and self.cfg.illumina_sheet_name:
            found = self._match_illumina_sheet(event, outcome)
            return self._must_wait(event, found is None) or outcome
        return outcome

    # -- sample sheet: a CSV in the files' folder names their read sets and metadata

    def _sheet(self, bucket: str, folder: str) -> SampleSheet | str | None:
        """The folder's sheet (read once per invocation), an error message, or None."""
        if not self.cfg.sample_sheet_name:
            return None
        if folder not in self._sheets:
            key = f"{folder}{self.cfg.sample_sheet_name}"
            try:
                body = objects.read(bucket, key, MAX_SHEET_BYTES + 1)
                self._sheets[folder] = SampleSheet.from_bytes(body, base_uri=f"s3://{bucket}/{key}")
            except objects.Unreadable as error:
                # The function may list the bucket, so a missing sheet answers NoSuchKey: an
                # AccessDenied is a real refusal, and falling back to file names would hide it.
                self._sheets[folder] = None if error.code in ("NoSuchKey", "404") else str(error)
            except SampleSheetError as error:
                self._sheets[folder] = f"the sample sheet s3://{bucket}/{key} is invalid: {error}"
        return self._sheets[folder]

    def _mate_taken(self, row: SampleSheetRow, uri: str) -> bool:
        """The row pairs this file with a mate already tracked without the sheet (it arrived
        between them): pairing this one would wait for a mate that never joins (ORPHANED), so
        it keeps its name-based read set as its mate did."""
        if row.source2 is None:
            return False
        mate = row.source2 if uri == row.source1 else row.source1
        prefix = f"{tracking.READSET_PREFIX}{row.source1}#"  # the row's read set (sheet_group_key)
        versions = self.tracking.object_versions(mate)
        return bool(versions) and not any(str(v.get("readSetKey") or "").startswith(prefix) for v in versions)

    def _sheet_itself(self, event: ObjectEvent, uri: str) -> Skip:
        folder = event.key.rpartition("/")[0]
        self._sheets.pop(f"{folder}/" if folder else "", None)
        sheet = self._sheet(event.bucket, f"{folder}/" if folder else "")
        if isinstance(sheet, str):
            raise SampleSheetError(f"{sheet}; fix it before uploading the files it names")
        return Skip(
            uri,
            "sample sheet: its rows name the read sets of files uploaded to this folder after it;"
            " files that arrived earlier keep their name-based metadata"
            " (run `omics-autoload redrive --key` for them)",
            SkipCode.SAMPLE_SHEET,
        )

    # -- Illumina sample sheet: the instrument's SampleSheet.csv in the run folder sets metadata

    def _match_illumina_sheet(self, event: ObjectEvent, role: FileRole) -> IlluminaSheet | None:
        run_key = sheet_keys(event.key, self.cfg.illumina_sheet_name)[0]  # names the run folder
        if run_key not in self._illumina_sheets:
            self._illumina_sheets[run_key] = self._read_illumina_sheet(event.bucket, event.key)
        sheet = self._illumina_sheets[run_key]
        if isinstance(sheet, str):
            raise SampleSheetError(sheet)
        lane = lane_of(event.key.rpartition("/")[2])
        found = sheet.overrides_for(role.sample_id, lane, self.cfg.illumina_sheet_columns) if sheet else None
        if found:
            self._file_fields.setdefault(role.uri, {}).update(found)
        return sheet

    def _read_illumina_sheet(self, bucket: str, key: str) -> IlluminaSheet | str | None:
        """The first sheet found where labs keep it (see ``sheet_keys``), an error message, or None."""
        for sheet_key in sheet_keys(key, self.cfg.illumina_sheet_name):
            try:
                body = objects.read(bucket, sheet_key, MAX_SHEET_BYTES + 1)
                return sheet_or_error(f"s3://{bucket}/{sheet_key}", body)
            except objects.Unreadable as error:
                if error.code not in ("NoSuchKey", "404"):  # as for the CSV sheet: a refusal is not "none"
                    return str(error)
        return None

    def _illumina_sheet_itself(self, event: ObjectEvent, uri: str) -> Skip:
        try:
            sheet = sheet_or_error(uri, objects.read(event.bucket, event.key, MAX_SHEET_BYTES + 1))
        except objects.Unreadable as error:
            sheet = f"cannot read the Illumina sample sheet {uri}: {error}"
        self._illumina_sheets.pop(sheet_keys(event.key, self.cfg.illumina_sheet_name)[0], None)
        # Files waiting for this sheet go on now, also when it is malformed (they fail with its line).
        self._release(event.bucket, run_folder.run_folder(event.key, self.cfg.illumina_sheet_name))
        if isinstance(sheet, str):
            raise SampleSheetError(f"{sheet}; fix it before uploading the files it names")
        return Skip(
            uri,
            "Illumina sample sheet: its rows set the metadata of this run's files uploaded after it"
            " (and of those waiting for it, with require_sample_sheet); files that arrived earlier"
            " keep their name-based metadata (run `omics-autoload redrive --key` for them)",
            SkipCode.SAMPLE_SHEET,
        )

    # -- require_sample_sheet: files wait for their run's sheet (and completion marker)
    #
    # Each waiting file has an entry in its run folder's partition (``tracking.waiting_key``),
    # so the sheet's or marker's own event finds them with one Query: no scan, no index to
    # keep in step. Order: the object item (WAITING_FOR_SHEET), then its entry, then one more
    # look for the sheet, which closes the race with a sheet whose event read the list
    # before the entry was in it (S3 reads are strongly consistent). A release re-processes
    # each entry as if the file arrived now: ``_put`` replaces the waiting item exactly once
    # (conditional), so a repeated or concurrent release changes nothing.

    def _must_wait(self, event: ObjectEvent, sheet_missing: bool) -> Wait | None:
        if not run_folder.must_wait(event.key, self.cfg.require_sheet_prefixes):
            return None
        run = run_folder.run_folder(event.key, self.cfg.illumina_sheet_name)
        marker = self.cfg.run_complete_marker
        marker_missing = bool(marker) and not self._marker_present(event.bucket, f"{run}{marker}")
        if not (sheet_missing or marker_missing):
            return None
        awaiting = run_folder.awaited(
            event.bucket,
            run,
            self.cfg.illumina_sheet_name,
            sheet=sheet_missing,
            marker=marker if marker_missing else "",
        )
        return Wait(run, awaiting)

    def _marker_present(self, bucket: str, key: str) -> bool:
        if key not in self._markers:
            self._markers[key] = objects.exists(bucket, key, None)
        return self._markers[key]

    def _wait(self, base: dict[str, Any], wait: Wait, event: ObjectEvent) -> str:
        item = dict(
            base,
            status=tracking.WAITING_FOR_SHEET,
            reason=run_folder.waiting_reason(wait.awaiting, self.cfg.sheet_wait_seconds),
            awaiting=wait.awaiting,
            waitUntil=int(now() + self.cfg.sheet_wait_seconds),
        )
        existing = self._put(item)
        if existing is not None and existing.get("status") != tracking.WAITING_FOR_SHEET:
            return "DUPLICATE"
        if existing is not None and existing.get("awaiting") != wait.awaiting:  # e.g. the sheet came, not the marker
            self.tracking.set_object(
                base["pk"],
                base["sk"],
                tracking.WAITING_FOR_SHEET,
                expect=(tracking.WAITING_FOR_SHEET,),
                reason=item["reason"],
                extra={"awaiting": wait.awaiting},
            )
        if existing is None:
            self._count_received()
            self._log(base["uri"], tracking.WAITING_FOR_SHEET, item["reason"])
        pk, sk = tracking.waiting_key(event.bucket, wait.run, base["pk"], base["sk"])
        fields = {
            "bucket": event.bucket,
            "key": event.key,
            "versionId": event.version_id,
            "size": event.size,
            "eTag": event.etag,
            "eventTime": event.event_time,
            "source": event.source,
        }
        until = (existing or item).get("waitUntil") or item["waitUntil"]
        self.tracking.add_waiting(pk, sk, fields, float(until) + RELEASED_ENTRY_SECONDS)
        # One more look: the sheet (or marker) may have arrived, and read the list, meanwhile.
        self._illumina_sheets.pop(sheet_keys(event.key, self.cfg.illumina_sheet_name)[0], None)
        self._markers.clear()
        if self._looks_ready(event):
            return self._process_released(event, pk, sk)
        return tracking.WAITING_FOR_SHEET

    def _looks_ready(self, event: ObjectEvent) -> bool:
        try:
            return not isinstance(self._classify(event, f"s3://{event.bucket}/{event.key}"), Wait)
        except (ClientError, BotoCoreError):
            raise
        except Exception:  # a broken sheet also ends the wait: process records how
            return True

    def _process_released(self, event: ObjectEvent, pk: str, sk: str) -> str:
        status = self.process(event)
        if status != tracking.WAITING_FOR_SHEET:
            self.tracking.release_waiting(pk, sk, RELEASED_ENTRY_SECONDS)
        return status

    def _release(self, bucket: str, run: str) -> None:
        """Every file of the run folder that waits: processed again, now that its sheet or marker is here."""
        if not self.cfg.require_sheet_prefixes:
            return
        pk = f"{tracking.waiting_key(bucket, run, '', '')[0]}"
        for entry in self.tracking.waiting_in(pk):
            waiting = ObjectEvent(
                bucket=entry["bucket"],
                key=entry["key"],
                version_id=entry.get("versionId"),
                size=entry.get("size"),
                etag=entry.get("eTag"),
                event_time=entry.get("eventTime"),
                source=entry.get("source") or "s3",
            )
            self._process_released(waiting, pk, entry["sk"])

    def _marker_itself(self, event: ObjectEvent, uri: str, run: str) -> Skip:
        self._markers[event.key] = True
        self._release(event.bucket, run)
        return Skip(
            uri,
            f"run-completion marker {self.cfg.run_complete_marker}: it releases the files of its run"
            " that wait for it (require_sample_sheet); nothing to import",
            SkipCode.RUN_MARKER,
        )

    def _reference_by_header(self, role: FileRole) -> bool:
        """StartImport chooses the reference of an aligned file by its header's @SQ lines
        (``domain.references``): read it, and keep what it says on the file's entry."""
        return role.file_type in limits.ALIGNED_FILE_TYPES and self.cfg.reference_set().reads_headers

    def _sniff(self, event: ObjectEvent) -> HeaderFacts:
        try:
            body = objects.first_bytes(event.bucket, event.key, event.version_id, HEADER_BYTES)
        except objects.Unreadable as error:
            LOG.warning("could not read the header of %s (%s): its name decides", event.key, error)
            return HeaderFacts(None)
        return read_header(body)

    def _overrides(self, event: ObjectEvent) -> dict[str, str]:
        try:
            tags = objects.tags(event.bucket, event.key, event.version_id)
        except objects.Unreadable as error:
            LOG.warning(
                "could not read the tags of %s (%s): metadata from the file name only",
                event.key,
                error,
            )
            return {}
        return overrides_from_tags(tags)

    # -- outcomes

    def _put(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        """put_object; on a redrive, an item that ended here (no read set) is replaced."""
        self._released = False
        existing = self.tracking.put_object(item)
        if existing is None or existing.get("readSetKey"):
            return existing
        redriven = self.redrive and existing.get("status") in (tracking.FAILED, tracking.SKIPPED)
        # A file that waited for its run's sheet goes on as if it had arrived now.
        released = existing.get("status") == tracking.WAITING_FOR_SHEET != item.get("status")
        if not (redriven or released):
            return existing
        self._released = released
        stamp = iso()
        full = {
            "kind": tracking.KIND_OBJECT,
            **item,
            "updatedAt": stamp,
            "receivedAt": existing.get("receivedAt") or stamp,
            **(
                {"redrivenAt": stamp, "attempt": int(existing.get("attempt") or 0) + 1}
                if redriven
                else {"releasedAt": stamp}
            ),
        }
        full.update(tracking.object_due_fields(full))
        table = self.tracking.table
        try:
            table.client.put_item(
                TableName=table.name,
                Item=serialize(full),
                ConditionExpression="#status = :was AND #updatedAt = :stamp AND attribute_not_exists(#readSetKey)",
                ExpressionAttributeNames={"#status": "status", "#updatedAt": "updatedAt", "#readSetKey": "readSetKey"},
                ExpressionAttributeValues=serialize(
                    {":was": existing["status"], ":stamp": existing.get("updatedAt", "")}
                ),
            )
        except table.client.exceptions.ConditionalCheckFailedException:
            return existing  # another redrive won
        return None

    def _count_received(self) -> None:
        if not self._released:  # a released file was counted when it began to wait
            self.metrics.count(Metric.FILES_RECEIVED, dimensions=self.dimensions)

    def _record_skip(self, item: dict[str, Any], reason: str, code: SkipCode) -> str:
        existing = self._put(dict(item, status=tracking.SKIPPED, reason=reason))
        if existing is not None:
            return "DUPLICATE"
        self._count_received()
        self.metrics.count(Metric.FILES_SKIPPED, dimensions={**self.dimensions, Dimension.REASON: code})
        self._log(item["uri"], tracking.SKIPPED, reason)
        return tracking.SKIPPED

    def _record_failure(self, item: dict[str, Any], reason: str) -> str:
        existing = self._put(dict(item, status=tracking.FAILED, reason=reason))
        if existing is not None:
            return "DUPLICATE"
        self._count_received()
        self.metrics.count(Metric.FILES_FAILED, dimensions={**self.dimensions, Dimension.FILE_TYPE: "UNKNOWN"})
        self._log(item["uri"], tracking.FAILED, reason)
        return tracking.FAILED

    def _reject(self, item: Mapping[str, Any], reason: str) -> str:
        """A sequence file HealthOmics would refuse as it is: FAILED now, with the reason."""
        return self._settle(item, tracking.FAILED, reason)

    def _conflict(self, item: Mapping[str, Any], reason: str, code: SkipCode) -> str:
        return self._settle(item, tracking.SKIPPED, reason, code)

    def _settle(self, item: Mapping[str, Any], status: str, reason: str, code: SkipCode = SkipCode.OTHER) -> str:
        """End an object already recorded as waiting or queued, before it joins a read set.

        `code` is the FilesSkipped Reason when `status` is SKIPPED.
        """
        moved = self.tracking.set_object(
            item["pk"], item["sk"], status, expect=(tracking.WAITING_FOR_MATE, tracking.QUEUED), reason=reason
        )
        if moved and status == tracking.FAILED:
            self.metrics.count(
                Metric.FILES_FAILED, dimensions={**self.dimensions, Dimension.FILE_TYPE: str(item.get("fileType"))}
            )
        elif moved:
            self.metrics.count(Metric.FILES_SKIPPED, dimensions={**self.dimensions, Dimension.REASON: code})
        if moved:
            self._log(item["uri"], status, reason)
        return status

    def _log(self, uri: str, status: str, reason: str | None) -> None:
        event = {tracking.SKIPPED: FILE_SKIPPED, tracking.FAILED: FILE_FAILED}.get(status, FILE_RECEIVED)
        log_outcome(LOG, event, uri, status=status, reason=reason, log_identifiers=self.cfg.log_identifiers)
        if status == tracking.FAILED:  # every file that fails here is one notice
            self.notifier.file_failed(uri, reason or "failed at intake")

    # -- read sets

    def _entry(self, item: Mapping[str, Any], role: FileRole, event: ObjectEvent) -> dict[str, Any]:
        # The read set carries this on every write (a write unit per started KB, and it is
        # written about six times): nothing the read set or the URI already says (see
        # ``tracking.stored_entry`` and ``import_start.roles_of``), no unset fields, no spaces.
        role_data = {
            k: v
            for k, v in asdict(role).items()
            if k not in STORED_ELSEWHERE and not (v is None and k in OPTIONAL_ROLE_FIELDS)
        }
        if role.partner_uri:  # only explains an orphan: its file name is enough
            role_data["partner_uri"] = role.partner_uri.rpartition("/")[2]
        entry = {
            "sk": item["sk"],
            "uri": item["uri"],
            "size": item.get("size"),
            "createdAt": item["createdAt"],
            "role": json.dumps(role_data, ensure_ascii=False, separators=(",", ":")),
        }
        if item.get("eTag") and item["sk"] == f"{SortKey.OBJECT_VERSION}null":
            entry["eTag"] = item["eTag"]  # the version check before the import, without versioning
        overrides = dict(self._file_fields.get(item["uri"], {}))
        overrides.update(self._overrides(event))  # tags win over the Illumina sheet and the header
        row = self._sheet_rows.get(item["uri"])
        if row is not None:  # the sheet wins over tags
            overrides.update(row.overrides())
        if overrides:
            entry["overrides"] = overrides
        if self._header_facts.get(item["uri"]):
            entry["header"] = self._header_facts[item["uri"]]
        if self.cfg.log_identifiers:  # opted in: the ids of the file (overrides applied later)
            log_outcome(
                LOG,
                "file_identified",
                item["uri"],
                identifiers={"sampleId": role.sample_id, "subjectId": role.subject_id},
                log_identifiers=True,
            )
        return entry

    def _join(self, item: Mapping[str, Any], role: FileRole, event: ObjectEvent, completes: bool = False) -> str:
        entry = self._entry(item, role, event)
        problems = file_problems(role, entry.get("overrides"))
        if problems:
            return self._reject(item, "; ".join(problems))
        fields = {"groupKey": role.group_key, "fileType": role.file_type, "name": role.name}
        if role.mate:
            return self._join_pair(item, role, entry, fields, completes)
        return self._join_single(item, entry, fields)

    def _join_single(self, item: Mapping[str, Any], entry: dict[str, Any], fields: dict[str, Any]) -> str:
        rs_pk = item["readSetKey"]
        existing = self.tracking.put_single(rs_pk, dict(fields, file1=entry))
        if existing is None:
            return tracking.QUEUED
        held = tracking.readset_file(existing, "file1")
        if (held.get("pk"), held.get("sk")) == (item["pk"], item["sk"]):
            return tracking.QUEUED  # our own earlier delivery
        if existing.get("status") in (tracking.FAILED, tracking.SUPERSEDED) and self._replace_failed(existing, entry):
            return tracking.QUEUED
        if held.get("pk") == item["pk"]:
            return self._reupload(item, entry, fields, existing)
        other = held.get("uri", "another file")
        reason = (
            f"conflict: read set {fields['name']!r} already comes from {other}"
            f" (status {existing.get('status')}); this file was not imported:"
            " remove or rename one of them"
        )
        return self._conflict(item, reason, SkipCode.CONFLICT)

    def _reupload(
        self, item: Mapping[str, Any], entry: dict[str, Any], fields: dict[str, Any], read_set: Mapping[str, Any]
    ) -> str:
        """A new version of the object an existing read set comes from: ``reupload_policy``."""
        held = tracking.readset_file(read_set, "file1")
        earlier = str(held.get("sk", "")).removeprefix(SortKey.OBJECT_VERSION)
        version = objects.tracked_version(item)
        started = read_set.get("status") in (tracking.IMPORTING, tracking.IMPORTED)
        if started and self.cfg.reupload_policy is ReuploadPolicy.HOLD and not self.new_version:
            reason = (
                f"a new version of a file already imported (read set {read_set.get('readSetId') or read_set['pk']}"
                f" holds version {earlier}): held by reupload_policy HOLD; run"
                f" `omics-autoload redrive --key {item['uri']} --new-version` to import it as a new read set"
            )
            return self._settle(item, tracking.HELD, reason, SkipCode.REUPLOAD)
        # Its own read set: an earlier version not yet started is superseded by the version
        # check before its import, so the two never share a job's read of the key.
        rs_pk = f"{read_set['pk']}@{version}"
        self.tracking.rejoin(item["pk"], item["sk"], rs_pk)
        self.tracking.put_single(rs_pk, dict(fields, file1=entry))  # or ours, from before
        self.tracking.note_superseded(held["pk"], held["sk"], version)
        return tracking.QUEUED

    def _replace_failed(self, existing: Mapping[str, Any], entry: dict[str, Any]) -> bool:
        """A new upload for a read set whose import FAILED, or whose file was SUPERSEDED
        before its import, takes its place (a new attempt)."""
        stamp = iso()
        try:
            self.tracking.table.update(
                existing["pk"],
                tracking.READSET_SK,
                set={
                    "file1": tracking.stored_entry(existing["pk"], entry),
                    "status": tracking.QUEUED,
                    "updatedAt": stamp,
                    "queuedAt": stamp,
                    "reason": None,
                    "batchId": None,
                    "importJobId": None,
                    "readSetId": None,
                    **tracking.due_fields(existing["pk"], tracking.QUEUED),
                },
                add={"attempt": 1},
                condition="#status = :was AND #attempt = :attempt",
                values={":was": existing["status"], ":attempt": existing.get("attempt", 0)},
            )
        except ConditionFailed:
            return False
        return True

    def _join_pair(
        self, item: Mapping[str, Any], role: FileRole, entry: dict[str, Any], fields: dict[str, Any], completes: bool
    ) -> str:
        rs_pk = item["readSetKey"]
        mate = int(role.mate or 1)
        joined = self.tracking.join_mate(rs_pk, mate, fields, entry, completes=completes)
        if joined is not None and joined.get("status") == tracking.QUEUED:
            # This mate completed it; when it expected to, its own item was put QUEUED already.
            self.tracking.queue_files(joined, but=item["uri"] if completes else None)
            return tracking.QUEUED
        if joined is not None and joined.get("file1") and joined.get("file2"):
            self._complete(joined)  # its partner joined before marks were kept: queue it as before
            return tracking.QUEUED
        if joined is not None:
            return tracking.WAITING_FOR_MATE
        try:
            read_set = self.tracking.claim_mate(rs_pk, mate, fields, entry)
        except ConditionFailed as lost:
            return self._mate_lost(item, role, mate, lost.old or {})
        if read_set.get("file1") and read_set.get("file2"):
            self._complete(read_set)
            return tracking.QUEUED
        return tracking.WAITING_FOR_MATE

    def _mate_lost(self, item: Mapping[str, Any], role: FileRole, mate: int, old: Mapping[str, Any]) -> str:
        held = tracking.readset_file(old, f"file{mate}")
        if (held.get("pk"), held.get("sk")) == (item["pk"], item["sk"]):
            # Our own earlier delivery holds the slot; finish what it may have left undone.
            if (
                old.get("file1")
                and old.get("file2")
                and old.get("status") in (tracking.WAITING_FOR_MATE, tracking.ORPHANED)
            ):
                self._complete(old)
                return tracking.QUEUED
            return str(old.get("status", tracking.WAITING_FOR_MATE))
        if held.get("pk") == item["pk"]:
            code = SkipCode.CONFLICT
            reason = (
                f"conflict: R{mate} of read set {role.name!r} is an earlier version of this object"
                f" ({str(held.get('sk', '')).removeprefix(SortKey.OBJECT_VERSION)}, read set {old.get('status')});"
                " a re-uploaded mate is not paired again: this version was not imported"
            )
        elif held:
            code = SkipCode.CONFLICT
            reason = (
                f"conflict: R{mate} of read set {role.name!r} is already {held.get('uri')};"
                " nothing is guessed: remove or rename one of them,"
                " or pair files with a sample sheet"
            )
        else:
            code = SkipCode.DUPLICATE
            reason = (
                f"its R{3 - mate} mate was already imported single-end"
                f" (orphan policy IMPORT_SINGLE, read set {role.name!r} is {old.get('status')});"
                f" this late R{mate} was not imported"
            )
        return self._conflict(item, reason, code)

    def _complete(self, read_set: Mapping[str, Any]) -> None:
        self.tracking.queue_pair(read_set)  # its files, then the read set (resumable order)

    def _duplicate(
        self,
        existing: Mapping[str, Any],
        item: Mapping[str, Any],
        role: FileRole,
        event: ObjectEvent,
    ) -> str:
        """A second delivery: change nothing, unless the first stopped half-way."""
        status = existing.get("status")
        if status == tracking.HELD and self.new_version:
            released = self.tracking.set_object(
                item["pk"], item["sk"], tracking.QUEUED, expect=(tracking.HELD,), clear_reason=True
            )
            if released:
                self._join(item, role, event)
            return tracking.QUEUED
        if status not in (tracking.WAITING_FOR_MATE, tracking.QUEUED) or not existing.get("readSetKey"):
            return "DUPLICATE"
        read_set = self.tracking.get_read_set(existing["readSetKey"])
        slot = f"file{role.mate or 1}"
        held = tracking.readset_file(read_set or {}, slot)
        if (held.get("pk"), held.get("sk")) == (item["pk"], item["sk"]):
            pair_complete = bool(read_set and read_set.get("file1") and read_set.get("file2"))
            waiting = (read_set or {}).get("status") in (
                tracking.WAITING_FOR_MATE,
                tracking.ORPHANED,
            )
            if role.mate and pair_complete and waiting:
                self._complete(read_set or {})
            elif role.mate and pair_complete and (read_set or {}).get("status") == tracking.QUEUED:
                self.tracking.queue_files(read_set or {})  # an earlier try may have stopped before them
            return "DUPLICATE"
        self._join(item, role, event)  # every step of _join is conditional: safe to repeat
        return "DUPLICATE"

    def _in_its_read_set(self, existing: Mapping[str, Any]) -> bool:
        read_set = self.tracking.get_read_set(str(existing["readSetKey"])) if existing.get("readSetKey") else None
        return any(
            (entry.get("pk"), entry.get("sk")) == (existing["pk"], existing["sk"])
            for entry in tracking.readset_files(read_set or {})
        )

    def record_failure_of(self, event: ObjectEvent, error: Exception) -> str:
        reason = f"internal error while recording this file ({type(error).__name__}: {error})"
        item = _object_item(event, iso())
        uri = item["uri"]
        existing = self.tracking.put_object(dict(item, status=tracking.FAILED, reason=reason))
        failed = existing is None
        if existing is not None and self._in_its_read_set(existing):
            # Its read set holds it (queued or importing; the file's item says QUEUED until the
            # outcome): the read set decides; failing the file here would contradict an import.
            LOG.warning("intake failed again on %s, already in its read set: left to it", item["pk"])
            return "DUPLICATE"
        if not failed:
            failed = self.tracking.set_object(
                item["pk"],
                item["sk"],
                tracking.FAILED,
                expect=(tracking.WAITING_FOR_MATE, tracking.QUEUED),
                reason=reason,
            )
        log_outcome(LOG, FILE_FAILED, uri, status=tracking.FAILED, reason=reason, level=logging.ERROR)
        if failed:
            self.metrics.count(Metric.FILES_FAILED, dimensions={**self.dimensions, Dimension.FILE_TYPE: "UNKNOWN"})
            self.notifier.file_failed(uri, reason)
        return tracking.FAILED
