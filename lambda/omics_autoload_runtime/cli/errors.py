"""The CLI's errors, one hierarchy for every command.

``main`` turns each into one line on stderr, ``omics-autoload COMMAND: <label><message>``,
and the error's exit code; a botocore error that no command caught becomes an
``AwsError`` the same way (``aws_error``), so an operator never sees a traceback.
boto3 is optional (``plan --listing`` runs without it): botocore is imported only when
an error needs it.
"""

from __future__ import annotations


class CliError(Exception):
    """The work failed or was incomplete: exit code 1, the message as it is."""

    exit_code = 1
    label = ""


class Usage(CliError):
    """Bad arguments or input, or a stack that does not hold what is needed: exit code 2."""

    exit_code = 2
    label = "error: "


class AwsError(CliError):
    """An AWS call failed: exit code 1."""

    label = "AWS error: "


NEEDS_BOTO3 = "needs boto3: pip install 'omics-autoload-construct[cli]'"


def require_boto3(message: str) -> None:
    """A Usage error with ``message`` when boto3 is not installed."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise Usage(message) from None


def botocore_errors() -> tuple[type[BaseException], ...]:
    """The base classes of botocore's errors, for ``except``; none without botocore."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        return ()
    return (BotoCoreError, ClientError)


def aws_error(error: BaseException) -> AwsError | None:
    """A botocore error as an AwsError whose message says what to do; None for others."""
    if not isinstance(error, botocore_errors()):
        return None
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    if isinstance(error, NoCredentialsError):
        return AwsError("no AWS credentials found (set AWS_PROFILE, or run `aws configure`)")
    if isinstance(error, NoRegionError):
        return AwsError("no AWS region set (set AWS_REGION)")
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        operation = getattr(error, "operation_name", "")
        return AwsError(f"{operation}: {info.get('Code', '')}: {info.get('Message', '')}".strip(": "))
    return AwsError(str(error))
