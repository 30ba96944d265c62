"""sweep: the completion function's schedule, which keeps the pipeline moving when events do not.

Events are best effort, so every run (at most MAX_FIXES_PER_SWEEP fixes of each kind, and
never past the last RESERVED_MILLIS of the invocation) it
- polls IMPORTING jobs whose ``nextPollAt`` is due (a bounded number per run, each call
  under the shared client-side rate limit); not finished -> next poll after
  min(FIRST_POLL_SECONDS * 2**pollCount, MAX_POLL_SECONDS);
- resolves orphans: WAITING_FOR_MATE read sets older than ORPHAN_WINDOW_SECONDS are
  ORPHANED (policy REPORT: their file SKIPPED, naming the missing mate) or QUEUED as
  single-end (policy IMPORT_SINGLE);
- un-sticks read sets: QUEUED for 15 minutes without a batch (a lost stream record) are
  touched so the stream carries them again; STARTING for 15 minutes whose batch workflow
  never started go back to QUEUED, and those whose workflow ended (RecordFailure leaves
  them when the start's outcome is unknown) get the batch's idempotent start re-issued;
- finalizes IMPORTING read sets whose workflow ended without Finalize (stopped by hand,
  or RecordFailure left them: the job may still import them);
- retries the post-import action of read sets that were not ACTIVE yet (post_import);
- ends the wait of files that waited for their run's sheet (``require_sample_sheet``) past
  their ``waitUntil``: FAILED, with a reason naming the sheet, where, and how to redrive;
- publishes two gauges, dimension SequenceStoreId: ``ReadSetsWaitingForMate`` (read sets
  in WAITING_FOR_MATE) and ``StuckItems`` (files in a non-final status not updated for
  STUCK_AFTER_SECONDS; mates only after the orphan window too), counted with
  ``Select=COUNT`` queries of the by-status index (status_counts), never a scan;
- releases import slots their ended executions leaked (not while a read set of the batch
  is IMPORTING or re-started: its job may run), and wakes the waiting batches.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import clients, import_slots, rate_limit, status_counts, tracking
from omics_autoload_runtime.adapters.metrics import Metrics
from omics_autoload_runtime.adapters.notices import FILE_FAILED, FILE_ORPHANED, log_outcome, notifier_for
from omics_autoload_runtime.adapters.table import ConditionFailed, iso, now, parse_iso
from omics_autoload_runtime.adapters.tracking import Tracking
from omics_autoload_runtime.contract import Dimension, Metric, SkipCode, WorkflowError
from omics_autoload_runtime.domain import limits, run_folder
from omics_autoload_runtime.errors import (
    ImportNotFinished,
    ImportRejected,
    OmicsQuotaExceeded,
    OmicsThrottled,
    OmicsUnavailable,
    error_code,
)
from omics_autoload_runtime.logic.completion import resolve
from omics_autoload_runtime.logic.import_finalize import Finalize
from omics_autoload_runtime.logic.import_start import ImportStart
from omics_autoload_runtime.logic.post_import import PostImport

LOG = logging.getLogger(__name__)

NEVER_STARTED = "NEVER_STARTED"
MAX_POLLS_PER_SWEEP = 100
MAX_FIXES_PER_SWEEP = 200
RESERVED_MILLIS = 10_000  # stop sweeping when less than this is left of the invocation
HEAL_AFTER_SECONDS = 60  # a WAITING_FOR_MATE pair with both files older than this is re-queued


class Sweep:
    def __init__(self, cfg: settings.Config, context: Any = None):
        self.cfg = cfg
        self.context = context
        self.tracking = Tracking(cfg.table_name)
        self.stats: dict[str, int] = {}
        self._executions: dict[str, dict[str, Any]] = {}
        self._open_batches: set[str] = set()  # batches with a read set whose job may run

    def _bump(self, name: str, amount: int = 1) -> None:
        self.stats[name] = self.stats.get(name, 0) + amount

    def _time_left(self) -> bool:
        getter = getattr(self.context, "get_remaining_time_in_millis", None)
        return getter is None or getter() > RESERVED_MILLIS

    def run(self) -> dict[str, int]:
        self._poll_jobs()
        self._orphans()
        self._sheet_timeouts()
        self._stuck()
        self._abandoned_imports()
        self._post_import()
        self._gauges()
        for name, count in import_slots.Capacity.from_config(self.cfg).reconcile(self._running).items():
            self._bump(name, count)  # leaked import slots released, waiting batches woken
        return self.stats

    def _post_import(self) -> None:
        post = PostImport(self.cfg, self.tracking)
        tried = post.retry_pending(limit=MAX_FIXES_PER_SWEEP, keep_going=self._time_left)
        if tried:
            self._bump("postImportTried", tried)

    def _gauges(self) -> None:
        """ReadSetsWaitingForMate and StuckItems, sampled once per sweep (zero included)."""
        table = self.tracking.table
        waiting = status_counts.count(table, tracking.WAITING_FOR_MATE, kind=tracking.KIND_READSET)
        cutoffs = status_counts.stuck_cutoffs(
            now(), self.cfg.stuck_after_seconds, self.cfg.orphan_window_seconds
        )
        stuck = [
            status_counts.count(table, status, kind=tracking.KIND_OBJECT, updated_before=cutoff)
            for status, cutoff in cutoffs.items()
        ]
        if not waiting.complete or not all(c.complete for c in stuck):
            LOG.warning("gauges cut short after the page limit: the values are lower bounds")
        dims: dict[str, str] = {Dimension.SEQUENCE_STORE_ID: self.cfg.sequence_store_id or "unknown"}
        metrics = Metrics(self.cfg.metrics_namespace)
        metrics.gauge(Metric.WAITING_FOR_MATE, waiting.count, dimensions=dims)
        metrics.gauge(Metric.STUCK_ITEMS, sum(c.count for c in stuck), dimensions=dims)
        metrics.flush()
        self.stats["waitingForMate"] = waiting.count
        self.stats["stuckItems"] = sum(c.count for c in stuck)

    def _poll_jobs(self) -> None:
        moment = now()
        due = self.tracking.table.query_status(
            tracking.IMPORTING,
            kind=tracking.KIND_JOB,
            filter_expression="#nextPollAt <= :now",
            values={":now": int(moment)},
        )
        omics = clients.client("omics")
        for job in due:
            if self.stats.get("polled", 0) >= MAX_POLLS_PER_SWEEP or not self._time_left():
                self._bump("deferred")
                return
            if not job.get("taskToken"):
                continue
            job_id = job["importJobId"]
            # Waits for its turn at the shared per-API rate; False: the budget is spent.
            if not rate_limit.try_take("GetReadSetImportJob"):
                self._bump("pollsDeferred")
                return
            self._bump("polled")
            try:
                found = omics.get_read_set_import_job(id=job_id, sequenceStoreId=self.cfg.sequence_store_id)
            except ClientError as error:
                code = error_code(error)
                if code == "ResourceNotFoundException":
                    self._vanished(job)
                    continue
                LOG.warning("job %s: poll failed (%s); stopping this sweep's polls", job_id, code)
                self._bump("pollErrors")
                return
            except BotoCoreError as error:
                LOG.warning("job %s: poll failed (%s)", job_id, error)
                self._bump("pollErrors")
                return
            status = found.get("status", "")
            if status in limits.IMPORT_JOB_TERMINAL_STATUSES:
                self._bump("woken" if resolve(self.tracking, job, status) else "gone")
                continue
            count = int(job.get("pollCount") or 0)
            delay = min(self.cfg.first_poll_seconds * 2**count, self.cfg.max_poll_seconds)
            self.tracking.reschedule_poll(job_id, moment + delay, count + 1)

    def _vanished(self, job: Mapping[str, Any]) -> None:
        job_id = job["importJobId"]
        try:
            clients.client("stepfunctions").send_task_failure(
                taskToken=job["taskToken"],
                error="ImportJobNotFound",
                cause=f"HealthOmics no longer knows import job {job_id}",
            )
        except ClientError as error:
            LOG.info("job %s: could not fail the task (%s)", job_id, error)
        self.tracking.job_done(job_id, "NOT_FOUND")
        self._bump("vanished")

    def _orphans(self) -> None:
        window = self.cfg.orphan_window_seconds
        moment = now()
        hours = window / 3600
        waited = f"{hours:g} h" if hours >= 1 else f"{window} s"
        waiting = self.tracking.table.query_status(
            tracking.WAITING_FOR_MATE,
            updated_before=iso(moment - HEAL_AFTER_SECONDS),
            kind=tracking.KIND_READSET,
        )
        for read_set in waiting:
            if self.stats.get("orphans", 0) >= MAX_FIXES_PER_SWEEP or not self._time_left():
                return
            files = tracking.readset_files(read_set)
            if len(files) == 2:  # both mates in, yet not queued: an interrupted intake
                if self.tracking.queue_pair(read_set):
                    self._bump("healed")
                continue
            age = moment - (parse_iso(read_set.get("updatedAt")) or moment)
            if len(files) != 1 or age < window:
                continue
            entry = files[0]
            present = 1 if read_set.get("file1") else 2
            missing = 3 - present
            try:
                role = json.loads(entry.get("role") or "{}")
            except ValueError:
                role = {}
            partner = (role.get("partner_uri") or "").rpartition("/")[2] or f"its R{missing} file"
            head = f"R{present} without its R{missing} mate {partner} after {waited}"
            self._bump("orphans")
            if self.cfg.assembly_options.orphan_policy == "IMPORT_SINGLE":
                self._import_single(read_set, missing, f"{head}: imported single-end (orphan policy IMPORT_SINGLE)")
            else:
                self._report_orphan(
                    read_set,
                    missing,
                    f"{head}: not imported; upload the mate (the pair is then imported)"
                    " or set the orphan policy IMPORT_SINGLE",
                )

    def _sheet_timeouts(self) -> None:
        """WAITING_FOR_SHEET files past ``waitUntil`` (set by intake): FAILED. A sheet that
        comes later does not import them by itself: the reason says to redrive."""
        due = self.tracking.table.query_status(
            tracking.WAITING_FOR_SHEET,
            kind=tracking.KIND_OBJECT,
            filter_expression="#waitUntil <= :now",
            values={":now": int(now())},
        )
        notifier = notifier_for(self.cfg)
        metrics = Metrics(self.cfg.metrics_namespace)
        dims: dict[str, str] = {
            Dimension.SEQUENCE_STORE_ID: self.cfg.sequence_store_id or "unknown",
            Dimension.FILE_TYPE: "UNKNOWN",
        }
        for item in due:
            if self.stats.get("sheetTimeouts", 0) >= MAX_FIXES_PER_SWEEP or not self._time_left():
                return
            reason = run_folder.timeout_reason(
                item["uri"], str(item.get("awaiting") or "its run's sample sheet"), self.cfg.sheet_wait_seconds
            )
            if self.tracking.set_object(
                item["pk"], item["sk"], tracking.FAILED, expect=(tracking.WAITING_FOR_SHEET,), reason=reason
            ):
                self._bump("sheetTimeouts")
                log_outcome(LOG, FILE_FAILED, item["uri"], status=tracking.FAILED, reason=reason)
                notifier.file_failed(item["uri"], reason)
                metrics.count(Metric.FILES_FAILED, dimensions=dims)
        notifier.flush()
        metrics.flush()

    def _orphan_move(
        self, read_set: Mapping[str, Any], missing: int, status: str, file_status: str, reason: str, **extra: Any
    ) -> list[str] | None:
        """The orphan and its file in one transaction, unless its mate arrived meanwhile."""
        return self.tracking.move_read_set(
            read_set,
            status,
            expect=(tracking.WAITING_FOR_MATE,),
            reason=reason,
            extra=extra,
            lacking=f"file{missing}",
            files=tracking.FileMove(file_status, (tracking.WAITING_FOR_MATE,), reason=reason),
        )

    def _import_single(self, read_set: Mapping[str, Any], missing: int, reason: str) -> None:
        if self._orphan_move(
            read_set, missing, tracking.QUEUED, tracking.QUEUED, reason, singleEnd=True, queuedAt=iso()
        ) is not None:
            LOG.info("%s: orphan queued single-end", read_set["pk"])

    def _report_orphan(self, read_set: Mapping[str, Any], missing: int, reason: str) -> None:
        moved = self._orphan_move(read_set, missing, tracking.ORPHANED, tracking.SKIPPED, reason)
        if moved is not None:
            notifier = notifier_for(self.cfg)
            for uri in moved:
                log_outcome(LOG, FILE_ORPHANED, uri, status=tracking.SKIPPED, reason=reason)
                notifier.file_failed(uri, reason, status=tracking.SKIPPED, event=FILE_ORPHANED)
            notifier.flush()
            metrics = Metrics(self.cfg.metrics_namespace)
            metrics.count(
                Metric.FILES_SKIPPED,
                len(moved),
                dimensions={
                    Dimension.SEQUENCE_STORE_ID: self.cfg.sequence_store_id or "unknown",
                    Dimension.REASON: SkipCode.ORPHAN,
                },
            )
            metrics.flush()
            LOG.info("%s: ORPHANED: %s", read_set["pk"], reason)

    def _stuck(self) -> None:
        cutoff = iso(now() - tracking.STALE_CLAIM_SECONDS)
        fixed = 0
        ended: dict[str, list[str]] = {}
        for read_set in self.tracking.table.query_status(
            tracking.QUEUED, updated_before=cutoff, kind=tracking.KIND_READSET
        ):
            if fixed >= MAX_FIXES_PER_SWEEP or not self._time_left():
                return
            try:  # touching it puts a new QUEUED image on the stream
                self.tracking.table.update(
                    read_set["pk"],
                    tracking.READSET_SK,
                    set={"updatedAt": iso(), "requeuedAt": iso()},
                    condition="#status = :queued AND #updatedAt = :was",
                    values={":queued": tracking.QUEUED, ":was": read_set["updatedAt"]},
                )
            except ConditionFailed:
                continue
            fixed += 1
            self._bump("requeued")
        for read_set in self.tracking.table.query_status(
            tracking.STARTING, updated_before=cutoff, kind=tracking.KIND_READSET
        ):
            if fixed >= MAX_FIXES_PER_SWEEP or not self._time_left():
                break
            batch_id = read_set.get("batchId")
            if not batch_id:
                continue
            state = self._execution_state(batch_id)
            if state == "RUNNING":
                continue
            if state == NEVER_STARTED:
                if self.tracking.release_claim(read_set["pk"], batch_id):
                    fixed += 1
                    self._bump("released")
                continue
            # The workflow ran and ended without taking this read set further: whether its
            # start went through is unknown, so ask again with the same clientToken (below).
            ended.setdefault(batch_id, []).append(read_set["pk"])
        for batch_id, keys in ended.items():
            if self._time_left():
                fixed += self._start_again(batch_id, keys)

    def _start_again(self, batch_id: str, keys: list[str]) -> int:
        """Re-issue the ended batch's StartReadSetImportJob (idempotent: clientToken = batchId,
        the batch's own read sets in their own order): the job that may have started comes
        back and is recorded IMPORTING (Finalize then runs from _abandoned_imports), or the
        job starts now. Refused -> FAILED: no job exists. Throttled -> the next sweep."""
        order = self._execution_keys(batch_id) or sorted(keys)  # the starter sends them sorted
        start = ImportStart(self.cfg)
        try:
            result = start.run(batch_id, order)
        except (ClientError, BotoCoreError) as error:  # the table's: try again next sweep
            LOG.info("batch %s: start not re-checked yet (%s)", batch_id, error)
            self._open_batches.add(batch_id)
            return 0
        except ImportRejected as error:
            outcome = Finalize(self.cfg).record_failure(
                batch_id, None, keys, {"Error": WorkflowError.REJECTED, "Cause": str(error)}
            )
            self._bump("abandoned", int(outcome["failed"]))
            return int(outcome["failed"])
        except (OmicsThrottled, OmicsQuotaExceeded, OmicsUnavailable) as error:
            LOG.info("batch %s: start not re-checked yet (%s)", batch_id, error)
            self._open_batches.add(batch_id)
            return 0
        finally:
            start.flush()
        self._open_batches.add(batch_id)
        LOG.warning("batch %s: its workflow ended before its start was known; job %s", batch_id, result["jobId"])
        self._bump("restarted", len(result["readSetKeys"]))
        return len(result["readSetKeys"])

    def _abandoned_imports(self) -> None:
        """IMPORTING read sets whose workflow ended without Finalize (stopped by hand):
        record each file's outcome from the job itself, as Finalize would have."""
        cutoff = iso(now() - self.cfg.stuck_after_seconds)
        batches: dict[tuple[str, str], list[str]] = {}
        for read_set in self.tracking.table.query_status(tracking.IMPORTING, kind=tracking.KIND_READSET):
            batch_id, job_id = read_set.get("batchId"), read_set.get("importJobId")
            if batch_id:  # its job may run: the batch keeps its import slot
                self._open_batches.add(str(batch_id))
            if batch_id and job_id and read_set["updatedAt"] < cutoff:
                batches.setdefault((str(batch_id), str(job_id)), []).append(read_set["pk"])
        for (batch_id, job_id), keys in list(batches.items())[:MAX_POLLS_PER_SWEEP]:
            if not self._time_left() or self._execution_state(batch_id) in ("RUNNING", NEVER_STARTED):
                continue
            try:
                result = Finalize(self.cfg).finalize(batch_id, job_id, keys)
            except (ImportNotFinished, OmicsThrottled, OmicsUnavailable) as error:
                LOG.info("job %s of ended workflow %s: not finalized yet (%s)", job_id, batch_id, error)
                continue
            self._open_batches.discard(batch_id)
            self._bump("finalized", int(result["imported"]) + int(result["failed"]))

    def _running(self, batch_id: str) -> bool:
        """Does the batch hold its import slot rightly: its execution runs, or a job of it may?"""
        return self._execution_state(batch_id) == "RUNNING" or batch_id in self._open_batches

    def _execution_state(self, batch_id: str) -> str:
        """RUNNING, an ended status, or NEVER_STARTED; asked once per batch and sweep."""
        return str(self._execution(batch_id).get("status") or "RUNNING")

    def _execution_keys(self, batch_id: str) -> list[str]:
        """The read-set keys the batch's execution was started with (its own order)."""
        try:
            return list(json.loads(self._execution(batch_id).get("input") or "{}").get("readSetKeys") or [])
        except ValueError:
            return []

    def _execution(self, batch_id: str) -> dict[str, Any]:
        if batch_id not in self._executions:
            self._executions[batch_id] = self._describe(batch_id)
        return self._executions[batch_id]

    def _describe(self, batch_id: str) -> dict[str, Any]:
        arn = self.cfg.state_machine_arn
        if not arn:
            return {"status": "RUNNING"}  # cannot tell: leave it alone
        execution = arn.replace(":stateMachine:", ":execution:", 1) + ":" + batch_id
        try:
            return dict(clients.client("stepfunctions").describe_execution(executionArn=execution))
        except ClientError as error:
            return {"status": NEVER_STARTED if error_code(error) == "ExecutionDoesNotExist" else "RUNNING"}
