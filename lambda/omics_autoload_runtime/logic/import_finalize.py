"""Finalize and RecordFailure tasks of the import workflow.

Finalize, input ``{"batchId", "jobId", "readSetKeys"}``: GetReadSetImportJob, then each
read set and its files end IMPORTED (with the readSetId) or FAILED (with the source's
status message, or the job's when the job FAILED or was CANCELLED). A read set's result is
the job's source at its ``sourceIndex`` (one path may be two sources of a job). An
IMPORTED file whose key now serves another version may hold that version's bytes: its
item gets ``versionUncertain`` and a reason saying what to check. One metric line per
file type (EMF): FilesImported, FilesFailed, BytesImported (unit Bytes),
ImportLatencySeconds (object creation -> now), dimension SequenceStoreId, field FileType.
Each file's outcome is logged (``file_imported`` / ``file_failed``), each failed file is
published to the notification topic, and IMPORTED files get the post-import action
(``post_import``). Marks the job DONE.

RecordFailure, same input plus ``"error": {"Error", "Cause"}`` (a Catch): the batch's read
sets HealthOmics cannot have imported, and their files, end FAILED with a readable
reason; the others stay open for the sweep (see :meth:`Finalize.record_failure`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import clients, objects, rate_limit, tracking
from omics_autoload_runtime.adapters.metrics import Metrics
from omics_autoload_runtime.adapters.notices import (
    FILE_FAILED,
    FILE_IMPORTED,
    identifiers_of,
    log_outcome,
    notifier_for,
)
from omics_autoload_runtime.adapters.table import iso, now, parse_iso
from omics_autoload_runtime.adapters.tracking import Tracking
from omics_autoload_runtime.contract import Dimension, Metric, WorkflowError
from omics_autoload_runtime.domain import limits
from omics_autoload_runtime.errors import ImportNotFinished, translate
from omics_autoload_runtime.logic.post_import import PostImport

LOG = logging.getLogger(__name__)

_OPEN_READ_SET = (tracking.QUEUED, tracking.STARTING, tracking.IMPORTING)
_OPEN_OBJECT = tracking.OPEN_OBJECT_STATUSES


def _source_of(read_set: Mapping[str, Any], sources: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The job's result for a read set: the source at the index StartImport recorded. Not
    by path: a key re-uploaded as another file type can be two sources of one job."""
    index = read_set.get("sourceIndex")
    if isinstance(index, int) and 0 <= index < len(sources):
        return sources[index]
    return None


def _version_doubt(entry: Mapping[str, Any]) -> str | None:
    """Why an imported file's bytes may not be its tracked version's, or None."""
    newer = objects.replacement(entry)
    if newer is None:
        return None
    return (
        f"the key got a newer version ({newer}) while it was being imported: the read set may hold"
        f" that version's bytes rather than this one's ({objects.tracked_version(entry)}); compare"
        " the read set (aws omics get-read-set-metadata) with both versions, and re-upload the one you want"
    )


class Finalize:
    def __init__(self, cfg: settings.Config):
        self.cfg = cfg
        self.tracking = Tracking(cfg.table_name)
        self.metrics = Metrics(cfg.metrics_namespace)
        self.notifier = notifier_for(cfg)
        self.post_import = PostImport(cfg, self.tracking)

    def _flush(self) -> None:
        self.metrics.flush()
        self.notifier.flush()

    def _dims(self, file_type: str | None) -> dict[str, str]:
        return {
            Dimension.SEQUENCE_STORE_ID: self.cfg.sequence_store_id or "unknown",
            Dimension.FILE_TYPE: file_type or "UNKNOWN",
        }

    def _count_files(self, read_set: Mapping[str, Any], imported: bool) -> None:
        moment = now()
        dims = self._dims(read_set.get("fileType"))
        for entry in tracking.readset_files(read_set):
            if imported:
                self.metrics.count(Metric.FILES_IMPORTED, dimensions=dims)
                self.metrics.add(Metric.BYTES_IMPORTED, int(entry.get("size") or 0), unit="Bytes", dimensions=dims)
                created = parse_iso(entry.get("createdAt"))
                if created is not None:
                    self.metrics.add(
                        Metric.IMPORT_LATENCY,
                        max(0.0, round(moment - created, 3)),
                        unit="Seconds",
                        dimensions=dims,
                    )
            else:
                self.metrics.count(Metric.FILES_FAILED, dimensions=dims)

    # ------------------------------------------------------------ success path

    def finalize(self, batch_id: str, job_id: str, keys: Sequence[str]) -> dict[str, Any]:
        rate_limit.take("GetReadSetImportJob")  # client-side quota: raises OmicsThrottled
        try:
            job = clients.client("omics").get_read_set_import_job(id=job_id, sequenceStoreId=self.cfg.sequence_store_id)
        except (ClientError, BotoCoreError) as error:
            raise translate(error, f"GetReadSetImportJob {job_id}") from error
        status = job.get("status", "")
        if status not in limits.IMPORT_JOB_TERMINAL_STATUSES:
            raise ImportNotFinished(f"import job {job_id} is {status}, not finished")
        sources = job.get("sources") or []
        items = self.tracking.table.get_many([(key, tracking.READSET_SK) for key in keys])
        imported = failed = 0
        for key in keys:
            read_set = items.get((key, tracking.READSET_SK))
            if not read_set or read_set.get("importJobId") != job_id or read_set.get("status") != tracking.IMPORTING:
                continue
            source = _source_of(read_set, sources)
            if source and source.get("status") == "FINISHED" and source.get("readSetId"):
                if self._imported(read_set, job_id, source["readSetId"]):
                    imported += 1
                    self._note_version_doubts(read_set)
            elif self._failed(read_set, job_id, self._reason(job, source), atomic=False):
                failed += 1
        self.tracking.job_done(job_id, status)
        self.tracking.imports_settled(job_id)
        self._flush()
        LOG.info("job %s %s: %d read set(s) imported, %d failed", job_id, status, imported, failed)
        return {
            "batchId": batch_id,
            "jobId": job_id,
            "status": status,
            "imported": imported,
            "failed": failed,
        }

    @staticmethod
    def _reason(job: Mapping[str, Any], source: Mapping[str, Any] | None) -> str:
        job_id, status = job.get("id"), job.get("status")
        job_message = job.get("statusMessage")
        if source is not None and source.get("status") == "FAILED" and source.get("statusMessage"):
            text = f"HealthOmics could not import it: {source['statusMessage']}"
        elif status == "CANCELLED":
            text = "the import job was cancelled" + (f": {job_message}" if job_message else "")
        elif job_message:
            text = f"the import job ended {status}: {job_message}"
        elif source is None:
            text = f"the import job ended {status} without a result for this file"
        else:
            text = f"the import job ended {status}; this source is {source.get('status')}"
        return f"{text} (import job {job_id}); fix it, then run `omics-autoload redrive`"

    def _imported(self, read_set: Mapping[str, Any], job_id: str, read_set_id: str) -> bool:
        stamp = iso()
        fields = {"readSetId": read_set_id, "importedAt": stamp}
        moved = self.tracking.move_read_set(
            read_set,
            tracking.IMPORTED,
            expect=(tracking.IMPORTING,),
            job_id=job_id,
            extra=fields,
            clear_reason=True,
            files=tracking.FileMove(
                tracking.IMPORTED, _OPEN_OBJECT, extra={**fields, "importJobId": job_id}, clear_reason=True
            ),
            atomic=False,
        )
        if moved is not None:
            self._count_files(read_set, imported=True)
            for entry in tracking.readset_files(read_set):
                log_outcome(
                    LOG,
                    FILE_IMPORTED,
                    entry["uri"],
                    status=tracking.IMPORTED,
                    import_job_id=job_id,
                    read_set_id=read_set_id,
                    identifiers=identifiers_of(read_set),
                    log_identifiers=self.cfg.log_identifiers,
                )
            self.post_import.after_import(read_set, read_set_id)
        return moved is not None

    def _note_version_doubts(self, read_set: Mapping[str, Any]) -> None:
        for entry in tracking.readset_files(read_set):
            doubt = _version_doubt(entry)
            if doubt is not None and self.tracking.note_version_changed(entry["pk"], entry["sk"], doubt):
                LOG.warning("%s: %s", entry["uri"] if self.cfg.log_identifiers else entry["pk"], doubt)

    def _failed(
        self,
        read_set: Mapping[str, Any],
        job_id: str | None,
        reason: str,
        batch_id: str | None = None,
        expect: Sequence[str] = (tracking.IMPORTING,),
        atomic: bool = True,
    ) -> bool:
        """FAILED with its files. ``atomic=False`` only for the job's own outcome: whoever else
        moves the read set on records the same outcome from the same job, so its files may go
        first (``Tracking.move_read_set``); a failure decided otherwise (RecordFailure's) is
        one transaction, never files FAILED under a read set that another path imports."""
        moved = self.tracking.move_read_set(
            read_set,
            tracking.FAILED,
            expect=expect,
            job_id=job_id,
            batch_id=batch_id,
            reason=reason,
            files=tracking.FileMove(
                tracking.FAILED,
                _OPEN_OBJECT,
                reason=reason,
                extra={"importJobId": job_id or read_set.get("importJobId")},
            ),
            atomic=atomic,
        )
        if moved is not None:
            self._count_files(read_set, imported=False)
            job = job_id or read_set.get("importJobId")
            for entry in tracking.readset_files(read_set):
                log_outcome(
                    LOG,
                    FILE_FAILED,
                    entry["uri"],
                    status=tracking.FAILED,
                    reason=reason,
                    import_job_id=job,
                    identifiers=identifiers_of(read_set),
                    log_identifiers=self.cfg.log_identifiers,
                )
                self.notifier.file_failed(entry["uri"], reason, import_job_id=job)
        return moved is not None

    # ------------------------------------------------------------ failure path

    def record_failure(
        self, batch_id: str, job_id: str | None, keys: Sequence[str], error: Mapping[str, Any]
    ) -> dict[str, Any]:
        """FAILED only what HealthOmics cannot import: a read set of a job (IMPORTING), or
        one whose start may have gone through (STARTING, unless the start was refused),
        is left as it is - the outcome is unknown, and the sweep re-checks it (it finalizes
        IMPORTING read sets from the job, and re-issues the idempotent start of STARTING
        ones: docs/state-model.md). ``open`` in the result counts them: the batch's import
        slot stays held while they may run."""
        reason = failure_reason(error, job_id)
        start_refused = job_id is None and error.get("Error") == WorkflowError.REJECTED
        items = self.tracking.table.get_many([(key, tracking.READSET_SK) for key in keys])
        failed = left_open = 0
        for key in keys:
            read_set = items.get((key, tracking.READSET_SK))
            if not read_set or read_set.get("batchId") != batch_id:
                continue
            status = read_set.get("status")
            if status == tracking.IMPORTING or (status == tracking.STARTING and not start_refused):
                left_open += 1
            elif self._failed(read_set, None, reason, batch_id=batch_id, expect=_OPEN_READ_SET):
                failed += 1
        if job_id and not left_open:
            self.tracking.job_done(job_id, "WORKFLOW_FAILED")
            self.tracking.imports_settled(job_id)
        self._flush()
        LOG.error(
            "batch %s failed (%d read set(s) failed, %d left for the sweep to re-check): %s",
            batch_id,
            failed,
            left_open,
            reason,
        )
        return {"batchId": batch_id, "jobId": job_id, "failed": failed, "open": left_open, "reason": reason}


def _cause_message(cause: Any) -> str:
    """The errorMessage of a Lambda error cause (a JSON string), else the cause itself."""
    if isinstance(cause, str):
        try:
            data = json.loads(cause)
        except ValueError:
            return cause.strip()
        if isinstance(data, Mapping):
            return str(data.get("errorMessage") or data.get("Cause") or cause).strip()
        return cause.strip()
    return "" if cause is None else str(cause)


def failure_reason(error: Mapping[str, Any], job_id: str | None) -> str:
    name = str(error.get("Error") or "States.TaskFailed")
    message = _cause_message(error.get("Cause"))
    detail = f" ({message})" if message else ""
    redrive = "; run `omics-autoload redrive` to try again"
    if name == "OmicsQuotaExceeded":
        return f"HealthOmics import-job quota still exceeded after the workflow's retries{detail}{redrive}"
    if name == "OmicsThrottled":
        return f"HealthOmics kept throttling the import after the workflow's retries{detail}{redrive}"
    if name == "OmicsUnavailable":
        return f"HealthOmics (or AWS) stayed unavailable through the workflow's retries{detail}{redrive}"
    if name == "ImportRejected":
        return f"HealthOmics rejected the import job{detail}; fix the cause, then run `omics-autoload redrive`"
    if name in ("States.Timeout", "States.HeartbeatTimeout"):
        job = f"import job {job_id}" if job_id else "the import"
        return (
            f"{job} did not finish within the workflow's time limit; check it in HealthOmics"
            f" (aws omics get-read-set-import-job){redrive}"
        )
    if name == "ImportJobNotFound":
        return f"HealthOmics no longer knows import job {job_id}{redrive}"
    return f"import workflow failed: {name}{detail}{redrive}"
