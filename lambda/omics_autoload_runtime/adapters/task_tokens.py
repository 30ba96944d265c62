"""The import workflow's parked task tokens: wake a waiting execution with its job's outcome."""

from __future__ import annotations

import json
import logging

from botocore.exceptions import ClientError

from omics_autoload_runtime.adapters import clients

LOG = logging.getLogger(__name__)

IGNORED_TOKEN_ERRORS = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


def wake(token: str, job_id: str, status: str) -> bool:
    """SendTaskSuccess with ``{"jobId", "status"}``; False when the task is gone already."""
    try:
        clients.client("stepfunctions").send_task_success(
            taskToken=token, output=json.dumps({"jobId": job_id, "status": status})
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in IGNORED_TOKEN_ERRORS:
            LOG.info("job %s: the workflow no longer waits (%s)", job_id, code)
            return False
        raise
    return True
