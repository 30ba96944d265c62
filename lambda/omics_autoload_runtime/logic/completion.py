"""completion: wakes the waiting workflow when its import job ends (a HealthOmics job event).

``Read Set Import Job Status Change`` (source ``aws.omics``) with a terminal status: the
job item gives the task token; SendTaskSuccess ``{"jobId", "status"}``; job DONE. Unknown
jobs (not ours), DONE jobs and vanished tasks are ignored: duplicate and late events are
harmless. Events are best effort: the scheduled sweep (``logic.sweep``) polls the jobs whose
event never came and resolves them with :func:`resolve` too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.adapters.task_tokens import wake
from omics_autoload_runtime.adapters.tracking import Tracking
from omics_autoload_runtime.domain import limits

LOG = logging.getLogger(__name__)



def resolve(table: Tracking, job: Mapping[str, Any], status: str) -> bool:
    """Wake the job's workflow with its final status and mark the job DONE; False when the
    workflow no longer waited."""
    job_id = job["importJobId"]
    woken = wake(job["taskToken"], job_id, status)
    table.job_done(job_id, status)
    LOG.info("job %s %s: workflow %s", job_id, status, "woken" if woken else "already gone")
    return woken


class Completion:
    def __init__(self, cfg: settings.Config):
        self.cfg = cfg
        self.tracking = Tracking(cfg.table_name)

    def on_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        detail = event.get("detail") or {}
        job_id = str(detail.get("id") or detail.get("importJobId") or "")
        status = str(detail.get("status") or "")
        store = detail.get("sequenceStoreId")
        if status not in limits.IMPORT_JOB_TERMINAL_STATUSES or not job_id:
            return {"ignored": f"status {status or 'missing'}"}
        if store and self.cfg.sequence_store_id and store != self.cfg.sequence_store_id:
            return {"ignored": "another sequence store"}
        job = self.tracking.get_job(job_id)
        if job is None:
            return {"ignored": "not a job of this pipeline"}
        if job.get("status") != tracking.IMPORTING:
            return {"ignored": "job already resolved"}
        if not job.get("taskToken"):
            # The workflow has not parked yet; import_wait checks the job right after parking.
            return {"ignored": "workflow not waiting yet"}
        resolve(self.tracking, job, status)
        return {"jobId": job_id, "status": status}
