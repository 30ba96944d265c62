"""The import workflow's parked task tokens: wake a waiting execution with its job's outcome."""

from __future__ import annotations

import json
import logging

from botocore.exceptions import ClientError

from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.errors import DEAD_TASK_TOKEN, error_code

LOG = logging.getLogger(__name__)


def wake(token: str, job_id: str, status: str) -> bool:
    """SendTaskSuccess with ``{"jobId", "status"}``; False when the task is gone already."""
    try:
        clients.client("stepfunctions").send_task_success(
            taskToken=token, output=json.dumps({"jobId": job_id, "status": status})
        )
    except ClientError as error:
        code = error_code(error)
        if code in DEAD_TASK_TOKEN:
            LOG.info("job %s: the workflow no longer waits (%s)", job_id, code)
            return False
        raise
    return True
