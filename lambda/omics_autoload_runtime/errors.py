"""The runtime's errors: one way to read an AWS error code, one table of transient codes.

The exception class names are the Step Functions error names the import workflow's
Retry and Catch rules match (``contract.WorkflowError``), so a handler raises and the
state machine decides: ``OmicsThrottled``, ``OmicsQuotaExceeded`` and ``OmicsUnavailable``
are retried with backoff; ``ImportRejected`` fails the batch with its reason.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError


class OmicsThrottled(Exception):
    """HealthOmics (or SSM / DynamoDB on the way) throttled the call: retry with backoff."""


class OmicsQuotaExceeded(Exception):
    """Too many concurrent import jobs (ServiceQuotaExceededException): retry later."""


class OmicsUnavailable(Exception):
    """A transient server-side or network error: retry."""


class ImportRejected(Exception):
    """HealthOmics refused the job for a reason a retry will not fix."""


class ImportNotFinished(Exception):
    """Finalize ran for a job that is not in a terminal status (should not happen)."""


#: AWS error codes that mean "not now": the one table of transient codes. A status of
#: 429 or 5xx means the same whatever the code (:func:`is_transient`).
THROTTLING = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "Throttling",
        "ThrottledException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)
QUOTA = frozenset({"ServiceQuotaExceededException"})
UNAVAILABLE = frozenset(
    {
        "InternalServerException",
        "InternalServerError",
        "InternalFailure",
        "InternalError",  # S3's spellings: sent with a 500 / 503 status
        "SlowDown",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
    }
)
TRANSIENT = THROTTLING | QUOTA | UNAVAILABLE

#: SendTaskSuccess / SendTaskFailure codes for a task that no longer waits (timed out,
#: execution stopped): nothing to wake, not an error.
DEAD_TASK_TOKEN = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


def error_code(error: BaseException) -> str:
    """The AWS error code of a ``ClientError``; the class name of anything else (for messages)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def is_transient(error: BaseException) -> bool:
    """Would the same call succeed later? Transient codes, 429 and 5xx, and botocore's own
    (network, timeout) errors."""
    if isinstance(error, ClientError):
        status = http_status(error)
        return error_code(error) in TRANSIENT or status == 429 or status >= 500
    return isinstance(error, BotoCoreError)


def translate(error: Exception, action: str) -> Exception:
    """The exception to raise for an AWS error during ``action``."""
    if isinstance(error, ClientError):
        code = error_code(error)
        status = http_status(error)
        text = f"{action}: {code}: {error_message(error) or error}"
        if code in THROTTLING or status == 429:
            return OmicsThrottled(text)
        if code in QUOTA:
            return OmicsQuotaExceeded(text)
        if code in UNAVAILABLE or status >= 500:
            return OmicsUnavailable(text)
        return ImportRejected(text)
    if isinstance(error, ParamValidationError):
        # The request itself is malformed: the same request fails the same way every time.
        return ImportRejected(f"{action}: {error}")
    if isinstance(error, BotoCoreError):  # network errors and timeouts included
        return OmicsUnavailable(f"{action}: {error}")
    return error
