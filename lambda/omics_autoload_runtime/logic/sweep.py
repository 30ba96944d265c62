"""sweep: the completion function's schedule, which keeps the pipeline moving when events do not.

Events are best effort, so every run (at most MAX_FIXES_PER_SWEEP fixes of each kind, and
never past the last RESERVED_MILLIS of the invocation) it reads only what is due, from the
sparse due index (``contract.DUE_INDEX``, Query ``dueAt <= now`` per queue): its read cost
follows the work due, not the files in flight.
- JOB: polls IMPORTING jobs whose ``nextPollAt`` is due (a bounded number per run, each call
  under the shared client-side rate limit); not finished -> next poll after
  min(FIRST_POLL_SECONDS * 2**pollCount, MAX_POLL_SECONDS); finished -> the workflow is
  woken, or, when it no longer waits (stopped by hand, or RecordFailure left the read sets
  open: the job may still import them), each file's outcome is recorded from the job as
  Finalize would have;
- RS: read sets 15 minutes after they arrived: a QUEUED one without a batch (a lost stream
  record) is touched so the stream carries it again; a STARTING one whose batch workflow
  never started goes back to QUEUED, one whose workflow ended (RecordFailure leaves them
  when the start's outcome is unknown) gets the batch's idempotent start re-issued, one
  whose workflow runs (waiting for an import slot) is looked at again later (after as long
  again as it waited); a pair with both mates in yet not queued (an interrupted intake) is
  queued; a lone mate moves to MATE, due when its orphan window ends;
- MATE: orphans: WAITING_FOR_MATE read sets older than ORPHAN_WINDOW_SECONDS are ORPHANED
  (policy REPORT: their file SKIPPED, naming the missing mate) or QUEUED as single-end
  (policy IMPORT_SINGLE);
- IMP: jobs past their expected end (``stuckAt``: STUCK_FACTOR times the duration their
  bytes need, never before STUCK_AFTER_SECONDS) with read sets not settled yet (the job's
  KEYS item stands for its IMPORTING read sets): when their workflow ended without
  Finalize, each file's outcome is recorded from the job; while it runs, stuck;
- POST: retries the post-import action of read sets that were not ACTIVE yet (post_import);
- publishes two gauges, dimension SequenceStoreId: ``ReadSetsWaitingForMate`` (lone mates
  past the first look, the MATE queue) and ``StuckItems`` (files of IMP jobs past
  their expected end, plus read sets STUCK_AFTER_SECONDS past their due time in RS
  or MATE), from the index entries and ``Select=COUNT`` queries, never a scan;
- SHEET: files that waited for their run's sheet (``require_sample_sheet``) past their
  ``waitUntil``: FAILED, with a reason naming the sheet, where, and how to redrive;
- SLOT: releases import slots their ended executions leaked (not while a job of the batch
  is IMPORTING or re-started, nor while a read set of it is STARTING: its job may run, or be
  started by the re-issue), and wakes the waiting batches.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import contract, settings
from omics_autoload_runtime.adapters import clients, import_slots, rate_limit, tracking
from omics_autoload_runtime.adapters.metrics import Metrics
from omics_autoload_runtime.adapters.notices import FILE_FAILED, FILE_ORPHANED, log_outcome, notifier_for
from omics_autoload_runtime.adapters.table import ConditionFailed, iso, now, parse_iso
from omics_autoload_runtime.adapters.task_tokens import wake
from omics_autoload_runtime.adapters.tracking import Tracking
from omics_autoload_runtime.contract import Dimension, DueQueue, Metric, SkipCode, WorkflowError
from omics_autoload_runtime.domain import limits, run_folder
from omics_autoload_runtime.errors import (
    ImportNotFinished,
    ImportRejected,
    OmicsQuotaExceeded,
    OmicsThrottled,
    OmicsUnavailable,
    error_code,
)
from omics_autoload_runtime.logic.import_finalize import Finalize
from omics_autoload_runtime.logic.import_start import ImportStart
from omics_autoload_runtime.logic.post_import import PostImport

LOG = logging.getLogger(__name__)

NEVER_STARTED = "NEVER_STARTED"
MAX_POLLS_PER_SWEEP = 100
MAX_FIXES_PER_SWEEP = 200
RESERVED_MILLIS = 10_000  # stop sweeping when less than this is left of the invocation


class Sweep:
    def __init__(self, cfg: settings.Config, context: Any = None):
        self.cfg = cfg
        self.context = context
        self.tracking = Tracking(cfg.table_name)
        self.stats: dict[str, int] = {}
        self._executions: dict[str, dict[str, Any]] = {}
        self._open_batches: set[str] = set()  # batches with a job that may run
        self._jobs: list[dict[str, Any]] | None = None

    def _bump(self, name: str, amount: int = 1) -> None:
        self.stats[name] = self.stats.get(name, 0) + amount

    def _time_left(self) -> bool:
        getter = getattr(self.context, "get_remaining_time_in_millis", None)
        return getter is None or getter() > RESERVED_MILLIS

    def run(self) -> dict[str, int]:
        self._poll_jobs()
        self._read_sets()
        self._orphans()
        self._sheet_timeouts()
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

    def _open_jobs(self) -> list[dict[str, Any]]:
        """Every JOB entry of the due index (IMPORTING jobs: as many as run at once, not files)."""
        if self._jobs is None:
            self._jobs = list(self.tracking.table.query_due(DueQueue.JOB))
            self._open_batches.update(str(j[contract.DUE_BATCH]) for j in self._jobs if j.get(contract.DUE_BATCH))
        return self._jobs

    def _gauges(self) -> None:
        """ReadSetsWaitingForMate and StuckItems, sampled once per sweep (zero included)."""
        table = self.tracking.table
        moment = now()
        waiting, complete = table.count_due(DueQueue.MATE)
        overdue_imports = table.query_due(DueQueue.IMPORTING, due_by=moment, max_pages=50)
        stuck = sum(int(entry.get(contract.DUE_FILES) or 1) for entry in overdue_imports)
        for queue in (DueQueue.READSET, DueQueue.MATE):
            overdue, whole = table.count_due(queue, due_by=moment - self.cfg.stuck_after_seconds)
            stuck += overdue
            complete = complete and whole
        if not complete:
            LOG.warning("gauges cut short after the page limit: the values are lower bounds")
        dims: dict[str, str] = {Dimension.SEQUENCE_STORE_ID: self.cfg.sequence_store_id or "unknown"}
        metrics = Metrics(self.cfg.metrics_namespace)
        metrics.gauge(Metric.WAITING_FOR_MATE, waiting, dimensions=dims)
        metrics.gauge(Metric.STUCK_ITEMS, stuck, dimensions=dims)
        metrics.flush()
        self.stats["waitingForMate"] = waiting
        self.stats["stuckItems"] = stuck

    def _poll_jobs(self) -> None:
        moment = now()
        due = self.tracking.table.due_items(DueQueue.JOB, due_by=moment, limit=MAX_POLLS_PER_SWEEP + 1)
        omics = clients.client("omics")
        for job in due:
            if self.stats.get("polled", 0) >= MAX_POLLS_PER_SWEEP or not self._time_left():
                self._bump("deferred")
                return
            if job.get("status") != tracking.IMPORTING or job.get("sk") != tracking.JOB_SK:
                continue
            job_id, batch_id = job["importJobId"], str(job.get("batchId") or "")
            if batch_id:
                self._open_batches.add(batch_id)  # its job may run: the batch keeps its slot
            count = int(job.get("pollCount") or 0)
            delay = min(self.cfg.first_poll_seconds * 2**count, self.cfg.max_poll_seconds)
            if not job.get("taskToken") and (not batch_id or self._execution_state(batch_id) == "RUNNING"):
                # Its workflow has not parked yet (import_wait checks the job when it does).
                self.tracking.reschedule_poll(job_id, moment + delay, count)
                continue
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
                self._ended(job, status)
                continue
            if moment >= int(job.get("stuckAt") or 2**62):
                LOG.warning("job %s: still %s past its expected end (stuck)", job_id, status)
            self.tracking.reschedule_poll(job_id, moment + delay, count + 1)

    def _ended(self, job: Mapping[str, Any], status: str) -> None:
        """A job that ended: wake its workflow; when none waits (it was stopped, or
        RecordFailure left read sets open), record each file's outcome from the job as
        Finalize would have, then the job is DONE (Finalize marks it: a failure here leaves
        it due, for the next sweep)."""
        job_id, batch_id = job["importJobId"], str(job.get("batchId") or "")
        token = job.get("taskToken")
        if token and wake(token, job_id, status):
            self.tracking.job_done(job_id, status)
            self._bump("woken")
            return
        if batch_id and self._execution_state(batch_id) == "RUNNING":
            return  # between tasks: its own Finalize (or the next poll) records it
        keys = self.tracking.job_read_sets(job_id) or [str(k) for k in job.get("readSetKeys") or []]
        try:
            result = Finalize(self.cfg).finalize(batch_id, job_id, keys)
        except (ImportNotFinished, OmicsThrottled, OmicsUnavailable) as error:
            LOG.info("job %s of ended workflow %s: not finalized yet (%s)", job_id, batch_id, error)
            return
        self._open_batches.discard(batch_id)
        self._bump("finalized", int(result["imported"]) + int(result["failed"]))

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

    def _read_sets(self) -> None:
        """The RS queue: read sets due for a look (see the module docstring)."""
        moment = now()
        ended: dict[str, list[str]] = {}
        fixed = 0
        for read_set in self.tracking.table.due_items(DueQueue.READSET, due_by=moment, limit=MAX_FIXES_PER_SWEEP):
            if not self._time_left():
                break
            if read_set.get(contract.DUE_QUEUE) != DueQueue.READSET or int(read_set.get(contract.DUE_AT) or 0) > moment:
                continue  # moved on since the index was read
            status, pk = read_set.get("status"), read_set["pk"]
            if status == tracking.WAITING_FOR_MATE:
                self._waiting(read_set, moment)
            elif status == tracking.QUEUED:
                fixed += self._requeue(read_set, moment)
            elif status == tracking.STARTING:
                batch_id = str(read_set.get("batchId") or "")
                since = parse_iso(read_set.get("startingAt")) or moment
                state = self._execution_state(batch_id) if batch_id else NEVER_STARTED
                if state == "RUNNING" or moment - since < tracking.STALE_CLAIM_SECONDS:
                    # Waiting for an import slot: look again after as long again as it waited.
                    self._look_again(read_set, moment + max(tracking.STALE_CLAIM_SECONDS, moment - since))
                elif state == NEVER_STARTED:
                    if self.tracking.release_claim(pk, batch_id):
                        fixed += 1
                        self._bump("released")
                else:
                    # The workflow ran and ended without taking this read set further: whether
                    # its start went through is unknown, so ask again with the same clientToken.
                    ended.setdefault(batch_id, []).append(pk)
        for batch_id, keys in ended.items():
            if self._time_left():
                fixed += self._start_again(batch_id, keys)

    def _abandoned_imports(self) -> None:
        """Jobs past their expected end whose read sets are not all settled (their KEYS
        item, ``Tracking.put_job``): when their workflow ended without Finalize (stopped by
        hand, or RecordFailure left them: the job may still import them), each file's
        outcome is recorded from the job, as Finalize would have, and the entry leaves the
        queue; while the workflow runs, they are stuck (the gauge counts them). Read sets
        started before KEYS items stood for them are in this queue themselves."""
        batches: dict[tuple[str, str], list[str]] = {}
        moment = now()
        for item in self.tracking.table.due_items(DueQueue.IMPORTING, due_by=moment, limit=MAX_FIXES_PER_SWEEP):
            if item.get("sk") == tracking.JOB_KEYS_SK:
                if item.get(contract.DUE_QUEUE) != DueQueue.IMPORTING:
                    continue  # settled since the index was read
                batch_id = str(item.get(contract.DUE_BATCH) or "")
                job_id = str(item["pk"]).removeprefix(tracking.JOB_PREFIX)
                keys = [str(key) for key in item.get("readSetKeys") or []]
            elif item.get("status") == tracking.IMPORTING:
                batch_id, job_id = str(item.get("batchId") or ""), str(item.get("importJobId") or "")
                keys = [item["pk"]]
            else:
                continue
            if batch_id:  # its job may run: the batch keeps its import slot
                self._open_batches.add(str(batch_id))
            if batch_id and job_id:
                batches.setdefault((str(batch_id), str(job_id)), []).extend(keys)
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

    def _look_again(self, read_set: Mapping[str, Any], at: float, queue: str = DueQueue.READSET) -> bool:
        """Due again at ``at`` (in ``queue``), unless it moved meanwhile."""
        try:
            self.tracking.table.update(
                read_set["pk"],
                tracking.READSET_SK,
                set={contract.DUE_QUEUE: str(queue), contract.DUE_AT: int(at)},
                condition="#status = :was AND #dueQ = :queue",
                values={":was": read_set["status"], ":queue": read_set[contract.DUE_QUEUE]},
            )
        except ConditionFailed:
            return False
        return True

    def _requeue(self, read_set: Mapping[str, Any], moment: float) -> int:
        """A QUEUED read set no batch took: touching it puts a new QUEUED image on the stream."""
        updated = parse_iso(read_set.get("updatedAt")) or moment
        if moment - updated < tracking.STALE_CLAIM_SECONDS:  # queued lately: its record may be on its way
            self._look_again(read_set, updated + tracking.STALE_CLAIM_SECONDS)
            return 0
        try:
            self.tracking.table.update(
                read_set["pk"],
                tracking.READSET_SK,
                # Its due time stays: due (and, past stuck_after, stuck) until a batch takes it.
                set={"updatedAt": iso(), "requeuedAt": iso()},
                condition="#status = :queued AND #updatedAt = :was",
                values={":queued": tracking.QUEUED, ":was": read_set["updatedAt"]},
            )
        except ConditionFailed:
            return 0
        self._bump("requeued")
        return 1

    def _waiting(self, read_set: Mapping[str, Any], moment: float) -> None:
        """WAITING_FOR_MATE at its first look: heal a pair whose intake was interrupted; a
        lone mate waits in MATE until its orphan window ends."""
        files = tracking.readset_files(read_set)
        if len(files) == 2:  # both mates in, yet not queued: an interrupted intake
            if self.tracking.queue_pair(read_set):
                self._bump("healed")
            return
        since = parse_iso(read_set.get("updatedAt")) or moment
        if self._look_again(read_set, since + self.cfg.orphan_window_seconds, DueQueue.MATE):
            self._bump("lonelyMates")

    def _orphans(self) -> None:
        window = self.cfg.orphan_window_seconds
        moment = now()
        hours = window / 3600
        waited = f"{hours:g} h" if hours >= 1 else f"{window} s"
        for read_set in self.tracking.table.due_items(DueQueue.MATE, due_by=moment, limit=MAX_FIXES_PER_SWEEP):
            if self.stats.get("orphans", 0) >= MAX_FIXES_PER_SWEEP or not self._time_left():
                return
            if read_set.get("status") != tracking.WAITING_FOR_MATE or read_set.get(contract.DUE_QUEUE) != DueQueue.MATE:
                continue
            files = tracking.readset_files(read_set)
            if len(files) == 2:  # both mates in, yet not queued: an interrupted intake
                if self.tracking.queue_pair(read_set):
                    self._bump("healed")
                continue
            age = moment - (parse_iso(read_set.get("updatedAt")) or moment)
            if len(files) != 1:
                continue
            if age < window:  # a mate re-uploaded meanwhile: its window starts again
                self._look_again(read_set, moment + window - age, DueQueue.MATE)
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
        due = [
            item
            for item in self.tracking.table.due_items(DueQueue.SHEET, due_by=now(), limit=MAX_FIXES_PER_SWEEP)
            if item.get("status") == tracking.WAITING_FOR_SHEET
        ]
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

    def _start_again(self, batch_id: str, keys: list[str]) -> int:
        """Re-issue the ended batch's StartReadSetImportJob, in the import slot the batch kept
        (``_running``). Idempotent: the batch's own read sets in their own order, each sent as
        its first start recorded it (``Tracking.put_sent``), with the clientToken of that request: the
        job that may have started comes back and is recorded IMPORTING (Finalize then runs
        from _abandoned_imports), or the job starts now. Refused -> FAILED: no job exists.
        Throttled -> the next sweep."""
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

    def _running(self, batch_id: str) -> bool:
        """Does the batch hold its import slot rightly: its execution runs, or a job of it may?"""
        state = self._execution_state(batch_id)
        if state == "RUNNING":
            return True
        self._open_jobs()  # an IMPORTING job of the batch may still run
        return batch_id in self._open_batches or (state != NEVER_STARTED and self._start_unknown(batch_id))

    def _start_unknown(self, batch_id: str) -> bool:
        """Is a read set of the ended batch still STARTING? Its start may have gone through (a
        lost reply) or be re-issued: either job runs in this slot, so it is kept until then."""
        keys = self._execution_keys(batch_id)
        items = self.tracking.table.get_many([(key, tracking.READSET_SK) for key in keys]) if keys else {}
        return any(i.get("status") == tracking.STARTING and i.get("batchId") == batch_id for i in items.values())

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
