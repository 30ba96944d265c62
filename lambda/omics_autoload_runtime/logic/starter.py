"""starter: QUEUED read sets from the table's stream become one import workflow execution per batch.

The event source mapping filters to read-set items whose new image is QUEUED
(``tracking.STARTER_FILTER_PATTERN``); the handler checks again. For a batch:

1. ``batchId`` = ``b-`` + 128 bits of the sha256 of the sorted (pk, attempt) pairs: the same records give
   the same id, whatever their order, so a replayed batch names the same execution.
2. Each read set is claimed with a conditional QUEUED -> STARTING (batchId). A claim
   succeeds again for the same batchId (replay) and takes over a claim older than 15
   minutes only when that batch's execution is not running (a batch that died between
   claim and start). So a replayed or split batch never starts a read set twice.
3. ONE execution, ``name=batchId``; ExecutionAlreadyExists means a replay: success. A
   StartExecution that fails (a lost reply included) is checked with DescribeExecution:
   an execution that exists keeps the claims.

When the execution cannot be started, the claims are released and the records reported
in ``batchItemFailures`` (the mapping must enable ReportBatchItemFailures), so Lambda
retries them.

The batching window grows with load (issue 14). The stream's window is short (2 s), so a
file that comes alone starts its import at once; but sequencing runs upload for minutes
or hours, one file completing every few seconds, and a short window alone would make one
small job (and workflow execution) per read set or two. So while a burst is under way (this
container started a batch less than ``BUSY_SECONDS`` ago), a batch smaller than a full job
is not started: its read sets go to the gather queue (SQS), whose event source waits up to
its own window (60 s) or until a full job's worth has arrived, and the same handler starts
them from there. Nothing is claimed before that, so nothing can be lost in between: a read
set stays QUEUED, and one whose message never makes it is touched again by the sweep.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.adapters.table import deserialize, now, parse_iso
from omics_autoload_runtime.adapters.tracking import Tracking
from omics_autoload_runtime.errors import error_code
from omics_autoload_runtime.logic import import_start

LOG = logging.getLogger(__name__)

# A burst is under way while batches keep being started: then small batches gather (see
# above). Kept in the container (a cold one starts its first batch at once: one smaller
# job, no harm), not in the table: a read and a write per batch for a hint is not worth it.
BUSY_SECONDS = 60.0
_last_started = {"at": float("-inf")}


def batch_id_for(pairs: Sequence[tuple[str, int]]) -> str:
    """Deterministic execution name (34 characters: ``b-`` + 32 hex digits; every read set
    carries it on each write, and 128 bits are as unique as 256 here)."""
    text = "\n".join(f"{pk}\t{attempt}" for pk, attempt in sorted(set(pairs)))
    return "b-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def matches(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The new image of a stream record that is a QUEUED read set, else None."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return None
    image = deserialize((record.get("dynamodb") or {}).get("NewImage"))
    if not image or image.get("kind") != tracking.KIND_READSET or image.get("status") != tracking.QUEUED:
        return None
    return image


def _execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


class Starter:
    def __init__(self, cfg: settings.Config):
        self.cfg = cfg
        self.tracking = Tracking(cfg.table_name)

    def _workflow_status(self, batch_id: str) -> str | None:
        """The execution's status; None when it does not exist."""
        try:
            response = clients.client("stepfunctions").describe_execution(
                executionArn=_execution_arn(self.cfg.state_machine_arn, batch_id)
            )
        except ClientError as error:
            if error_code(error) == "ExecutionDoesNotExist":
                return None
            raise
        return str(response.get("status"))

    def _workflow_running(self, batch_id: str) -> bool:
        return self._workflow_status(batch_id) == "RUNNING"

    def _started_after_all(self, batch_id: str) -> bool:
        """After a failed StartExecution: did it start anyway (the reply was lost)? Then
        the claims stay with the running workflow; releasing them would leave it nothing."""
        try:
            return self._workflow_status(batch_id) is not None
        except (ClientError, BotoCoreError):
            return False  # cannot tell: release, the retry's ExecutionAlreadyExists is a replay

    def _claim(self, pk: str, attempt: int, batch_id: str) -> bool:
        claimed, old = self.tracking.claim_for_batch(pk, attempt, batch_id)
        if claimed or not old or old.get("status") != tracking.STARTING:
            return claimed
        started = parse_iso(old.get("startingAt")) or 0.0
        old_batch = old.get("batchId")
        if not old_batch or now() - started < tracking.STALE_CLAIM_SECONDS:
            return False
        if self._workflow_running(old_batch):
            return False
        if import_start.sent_before(self.tracking, old, old_batch) is not None:
            return False  # its start may have gone through: the sweep re-issues it, in its batch
        LOG.warning(
            "taking over %s from batch %s, whose workflow never started or ended without it",
            pk,
            old_batch,
        )
        return self.tracking.reclaim_stale(pk, old_batch, batch_id)

    def busy(self) -> bool:
        """Whether a burst is under way: a batch was started lately (see ``BUSY_SECONDS``)."""
        return bool(self.cfg.gather_queue_url) and 0 <= now() - _last_started["at"] < BUSY_SECONDS

    def gather(self, candidates: Sequence[tuple[str, str, int]]) -> list[str]:
        """Send the read sets to the gather queue instead of starting them now; returns the
        identifiers of those not sent (Lambda retries them; a duplicate is harmless)."""
        failed: list[str] = []
        sqs = clients.client("sqs")
        for start in range(0, len(candidates), 10):  # SendMessageBatch takes 10
            chunk = candidates[start : start + 10]
            entries = [
                {"Id": str(index), "MessageBody": json.dumps({"readSet": pk, "attempt": attempt})}
                for index, (_, pk, attempt) in enumerate(chunk)
            ]
            try:
                response = sqs.send_message_batch(QueueUrl=self.cfg.gather_queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as error:
                LOG.warning("could not gather %d read set(s) (%s): the stream retries them", len(chunk), error)
                failed += [identifier for identifier, _, _ in chunk]
                continue
            failed += [chunk[int(entry["Id"])][0] for entry in response.get("Failed") or []]
        LOG.info("a burst is under way: %d read set(s) gather for a fuller job", len(candidates) - len(failed))
        return failed

    def start_batch(self, chunk: Sequence[tuple[str, str, int]]) -> list[str]:
        """Claim and start one batch; returns the sequence numbers that must be retried."""
        batch_id = batch_id_for([(pk, attempt) for _, pk, attempt in chunk])
        claimed: list[str] = []
        try:
            for _, pk, attempt in chunk:
                if self._claim(pk, attempt, batch_id):
                    claimed.append(pk)
            if not claimed:
                LOG.info("batch %s: nothing to start (every read set is held elsewhere)", batch_id)
                return []
            payload = json.dumps({"batchId": batch_id, "readSetKeys": sorted(claimed)}, ensure_ascii=False)
            try:
                clients.client("stepfunctions").start_execution(
                    stateMachineArn=self.cfg.state_machine_arn, name=batch_id, input=payload
                )
            except ClientError as error:
                if error_code(error) != "ExecutionAlreadyExists":
                    raise
                LOG.info("batch %s: execution already exists (replayed batch)", batch_id)
            LOG.info("batch %s: started with %d read set(s)", batch_id, len(claimed))
            _last_started["at"] = now()
            return []
        except (ClientError, BotoCoreError) as error:
            if claimed and self._started_after_all(batch_id):
                LOG.info("batch %s: StartExecution failed (%s) but the execution exists", batch_id, error)
                return []
            LOG.error(
                "batch %s: could not start (%s); releasing %d claim(s) for a retry",
                batch_id,
                error,
                len(claimed),
            )
            for pk in claimed:
                try:
                    self.tracking.release_claim(pk, batch_id)
                except (ClientError, BotoCoreError):
                    LOG.exception("could not release %s; the sweep frees it after 15 minutes", pk)
            return [sequence for sequence, _, _ in chunk]
