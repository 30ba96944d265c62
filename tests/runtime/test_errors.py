"""errors: one way to read an AWS error code, one table of transient codes."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from omics_autoload_runtime import errors


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


def test_error_code_of_a_client_error_and_of_anything_else():
    assert errors.error_code(client_error("ThrottlingException")) == "ThrottlingException"
    assert errors.error_code(ClientError({}, "Op")) == ""
    assert errors.error_code(ValueError("x")) == "ValueError"


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (client_error("ThrottlingException"), True),
        (client_error("SlowDown", 503), True),
        (client_error("Whatever", 429), True),
        (client_error("Whatever", 500), True),
        (client_error("AccessDenied", 403), False),
        (EndpointConnectionError(endpoint_url="https://x"), True),
        (ValueError("x"), False),
    ],
)
def test_is_transient(error, transient):
    assert errors.is_transient(error) is transient


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (client_error("ThrottlingException"), errors.OmicsThrottled),
        (client_error("ServiceQuotaExceededException", 402), errors.OmicsQuotaExceeded),
        (client_error("InternalServerException", 500), errors.OmicsUnavailable),
        (client_error("ValidationException"), errors.ImportRejected),
        (EndpointConnectionError(endpoint_url="https://x"), errors.OmicsUnavailable),
    ],
)
def test_translate_names_the_step_functions_error(error, raised):
    translated = errors.translate(error, "StartReadSetImportJob")
    assert isinstance(translated, raised) and "StartReadSetImportJob" in str(translated)
