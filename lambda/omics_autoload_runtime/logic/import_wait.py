"""WaitForCompletion task (``lambda:invoke.waitForTaskToken``): park the workflow on the job.

Input ``{"taskToken", "jobId", "batchId"}``. Stores the token on the job item (first poll
due after FIRST_POLL_SECONDS), then looks at the job once: if it already finished, it
sends the task success itself. From then on the completion handler wakes the workflow,
on the HealthOmics event or, when events are lost, on its polling sweep. The workflow
costs the same number of state transitions however long the import takes.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import clients, rate_limit
from omics_autoload_runtime.adapters.table import now
from omics_autoload_runtime.adapters.task_tokens import wake
from omics_autoload_runtime.adapters.tracking import Tracking
from omics_autoload_runtime.domain import limits
from omics_autoload_runtime.errors import translate

LOG = logging.getLogger(__name__)



class ImportJobUnknown(Exception):
    """The workflow waits for a job the tracking table does not know."""




def park(cfg: settings.Config, token: str, job_id: str) -> dict[str, Any]:
    """Store the token on the job item, then look at the job once."""
    tr = Tracking(cfg.table_name)
    try:
        stored = tr.store_task_token(job_id, token, now() + cfg.first_poll_seconds)
        if not stored:
            job = tr.get_job(job_id)
            if job is None:
                raise ImportJobUnknown(f"import job {job_id} has no tracking item")
            # DONE already: finalize ran or a sweep resolved it; let the workflow go on.
            wake(token, job_id, str(job.get("jobStatus") or "COMPLETED"))
            return {"jobId": job_id, "stored": False, "woken": True}
    except (ClientError, BotoCoreError) as error:
        raise translate(error, "store task token") from error
    if not rate_limit.try_take("GetReadSetImportJob"):  # no token now: the sweep polls it later
        return {"jobId": job_id, "stored": True, "woken": False}
    try:
        job = clients.client("omics").get_read_set_import_job(id=job_id, sequenceStoreId=cfg.sequence_store_id)
    except (ClientError, BotoCoreError) as error:
        LOG.warning("job %s: first status check failed (%s); the sweep polls it later", job_id, error)
        return {"jobId": job_id, "stored": True, "woken": False}
    status = job.get("status", "")
    if status in limits.IMPORT_JOB_TERMINAL_STATUSES:
        woken = wake(token, job_id, status)
        tr.job_done(job_id, status)
        return {"jobId": job_id, "stored": True, "woken": woken}
    return {"jobId": job_id, "stored": True, "woken": False}
