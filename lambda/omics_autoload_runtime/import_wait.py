"""WaitForCompletion task (``lambda:invoke.waitForTaskToken``): park the workflow on the job.

Input ``{"taskToken", "jobId", "batchId"}``. Stores the token on the job item (first poll
due after FIRST_POLL_SECONDS), then looks at the job once: if it already finished, it
sends the task success itself. From then on the completion handler wakes the workflow,
on the HealthOmics event or, when events are lost, on its polling sweep. The workflow
costs the same number of state transitions however long the import takes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import aws, config, limits, rate_limit, tracking
from .import_start import translate
from .tracking import Tracking

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

IGNORED_TOKEN_ERRORS = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


class ImportJobUnknown(Exception):
    """The workflow waits for a job the tracking table does not know."""


def wake(token: str, job_id: str, status: str) -> bool:
    """SendTaskSuccess with ``{"jobId", "status"}``; False when the task is gone already."""
    try:
        aws.client("stepfunctions").send_task_success(
            taskToken=token, output=json.dumps({"jobId": job_id, "status": status})
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in IGNORED_TOKEN_ERRORS:
            LOG.info("job %s: the workflow no longer waits (%s)", job_id, code)
            return False
        raise
    return True


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    cfg = config.get()
    cfg.require("table_name", "sequence_store_id")
    token, job_id = event["taskToken"], event["jobId"]
    tr = Tracking(cfg.table_name)
    try:
        stored = tr.store_task_token(job_id, token, tracking.now() + cfg.first_poll_seconds)
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
        job = aws.client("omics").get_read_set_import_job(id=job_id, sequenceStoreId=cfg.sequence_store_id)
    except (ClientError, BotoCoreError) as error:
        LOG.warning("job %s: first status check failed (%s); the sweep polls it later", job_id, error)
        return {"jobId": job_id, "stored": True, "woken": False}
    status = job.get("status", "")
    if status in limits.IMPORT_JOB_TERMINAL_STATUSES:
        woken = wake(token, job_id, status)
        tr.job_done(job_id, status)
        return {"jobId": job_id, "stored": True, "woken": woken}
    return {"jobId": job_id, "stored": True, "woken": False}
