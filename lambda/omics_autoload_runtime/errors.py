"""The runtime's errors: one way to read an AWS error code, one table of transient codes.

The exception class names are the Step Functions error names the import workflow's
Retry and Catch rules match (``contract.WorkflowError``), so a handler raises and the
state machine decides: ``OmicsThrottled``, ``OmicsQuotaExceeded`` and ``OmicsUnavailable``
are retried with backoff; ``ImportRejected`` fails the batch with its reason.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ParamValidationError, ReadTimeoutError


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


RETRYABLE = ("OmicsThrottled", "OmicsQuotaExceeded", "OmicsUnavailable")
_THROTTLING = {
    "ThrottlingException",
    "TooManyRequestsException",
    "Throttling",
    "ThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
}
_QUOTA = {"ServiceQuotaExceededException"}
_UNAVAILABLE = {
    "InternalServerException",
    "InternalServerError",
    "InternalFailure",
    "RequestTimeoutException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
}


def translate(error: Exception, action: str) -> Exception:
    """The exception to raise for an AWS error during ``action``."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "") or str(error)
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        text = f"{action}: {code}: {message}"
        if code in _THROTTLING or status == 429:
            return OmicsThrottled(text)
        if code in _QUOTA:
            return OmicsQuotaExceeded(text)
        if code in _UNAVAILABLE or status >= 500:
            return OmicsUnavailable(text)
        return ImportRejected(text)
    if isinstance(error, ParamValidationError):
        # The request itself is malformed: the same request fails the same way every time.
        return ImportRejected(f"{action}: {error}")
    if isinstance(error, ConnectionError | ReadTimeoutError | BotoCoreError):
        return OmicsUnavailable(f"{action}: {error}")
    return error


