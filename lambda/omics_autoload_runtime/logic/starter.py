"""starter: QUEUED read sets from the table's stream become one import workflow execution per batch.

The event source mapping filters to read-set items whose new image is QUEUED
(``tracking.STARTER_FILTER_PATTERN``); the handler checks again. For a batch:

1. ``batchId`` = ``b-`` + sha256 of the sorted (pk, attempt) pairs: the same records give
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


def batch_id_for(pairs: Sequence[tuple[str, int]]) -> str:
    """Deterministic execution name (66 characters: ``b-`` + 64 hex digits)."""
    text = "\n".join(f"{pk}\t{attempt}" for pk, attempt in sorted(set(pairs)))
    return "b-" + hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        if import_start.sent_before(old, old_batch) is not None:
            return False  # its start may have gone through: the sweep re-issues it, in its batch
        LOG.warning(
            "taking over %s from batch %s, whose workflow never started or ended without it",
            pk,
            old_batch,
        )
        return self.tracking.reclaim_stale(pk, old_batch, batch_id)

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
