"""List prices used to turn counts into dollars (us-east-1, on-demand, no free tier).

Taken from the public AWS pricing pages (read 2026-11-29; the DynamoDB on-demand prices
are the ones in force since 2024-11-01, when AWS halved them). Free tiers are ignored: the
figures are marginal costs of a busy account.
"""

from __future__ import annotations

from typing import Any

PRICES_CHECKED = "2026-11-29"
REGION = "us-east-1"

LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334
STEP_FUNCTIONS_PER_TRANSITION = 0.025 / 1_000
DYNAMODB_PER_WRU = 0.625 / 1_000_000
DYNAMODB_PER_RRU = 0.125 / 1_000_000
CLOUDWATCH_PER_PUT_METRIC_DATA = 0.01 / 1_000
S3_PER_GET_REQUEST = 0.0004 / 1_000  # GET, HEAD and other read requests (S3 Standard)
S3_PER_PUT_REQUEST = 0.005 / 1_000  # PUT, COPY, POST, LIST, tagging writes, DELETE is free

# Lambda duration is not measurable offline: it is modelled, the same way for our
# handlers and for the baselines, from what each invocation did (measured).
LAMBDA_MEMORY_GB = 256 / 1024  # the construct's functions: 256 MB, arm64
LAMBDA_BASE_MS = 20.0  # runtime overhead and the handler's own work
LAMBDA_MS_PER_AWS_CALL = 10.0  # one in-Region SDK call (DynamoDB, Step Functions, HealthOmics...)

SOURCES = {
    "lambda": "https://aws.amazon.com/lambda/pricing/ ($0.20 per 1M requests; Arm $0.0000133334 per GB-s)",
    "step_functions": "https://aws.amazon.com/step-functions/pricing/ (Standard: $0.025 per 1,000 state "
    "transitions, retries included)",
    "dynamodb": "https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.625 per 1M WRU, $0.125 per 1M RRU, "
    "since 2024-11-01)",
    "cloudwatch": "https://aws.amazon.com/cloudwatch/pricing/ (PutMetricData $0.01 per 1,000 requests)",
    "s3": "https://aws.amazon.com/s3/pricing/ (S3 Standard: GET-class $0.0004, PUT-class $0.005 per 1,000 "
    "requests; the handlers' own requests only)",
    "healthomics": "https://aws.amazon.com/healthomics/pricing/ (API calls and import jobs are not charged; "
    "storage is, the same for every design)",
    "eventbridge": "AWS service events (aws.omics) and scheduled rules: no charge",
}


def lambda_ms(aws_calls: int, slept_seconds: float = 0.0) -> float:
    """Modelled billed duration of one invocation."""
    return LAMBDA_BASE_MS + LAMBDA_MS_PER_AWS_CALL * aws_calls + 1000.0 * slept_seconds


def cost(
    *,
    lambda_invocations: float,
    lambda_ms_total: float,
    state_transitions: float,
    wru: float,
    rru: float,
    put_metric_data: float,
    s3_get: float = 0.0,
    s3_put: float = 0.0,
) -> dict[str, float]:
    """Dollars per component and in total."""
    parts = {
        "lambda_requests": lambda_invocations * LAMBDA_PER_REQUEST,
        "lambda_duration": lambda_ms_total / 1000.0 * LAMBDA_MEMORY_GB * LAMBDA_ARM_PER_GB_SECOND,
        "step_functions": state_transitions * STEP_FUNCTIONS_PER_TRANSITION,
        "dynamodb_writes": wru * DYNAMODB_PER_WRU,
        "dynamodb_reads": rru * DYNAMODB_PER_RRU,
        "cloudwatch_metrics": put_metric_data * CLOUDWATCH_PER_PUT_METRIC_DATA,
        "s3_requests": s3_get * S3_PER_GET_REQUEST + s3_put * S3_PER_PUT_REQUEST,
    }
    parts["total"] = sum(parts.values())
    return parts


def describe() -> dict[str, Any]:
    return {
        "checked": PRICES_CHECKED,
        "region": REGION,
        "lambda_per_request": LAMBDA_PER_REQUEST,
        "lambda_arm_per_gb_second": LAMBDA_ARM_PER_GB_SECOND,
        "step_functions_per_transition": STEP_FUNCTIONS_PER_TRANSITION,
        "dynamodb_per_wru": DYNAMODB_PER_WRU,
        "dynamodb_per_rru": DYNAMODB_PER_RRU,
        "cloudwatch_per_put_metric_data": CLOUDWATCH_PER_PUT_METRIC_DATA,
        "s3_per_get_request": S3_PER_GET_REQUEST,
        "s3_per_put_request": S3_PER_PUT_REQUEST,
        "lambda_duration_model": {
            "memory_gb": LAMBDA_MEMORY_GB,
            "base_ms": LAMBDA_BASE_MS,
            "ms_per_aws_call": LAMBDA_MS_PER_AWS_CALL,
            "note": "billed ms = base + per-call x SDK calls the invocation made (measured) + time it slept "
            "(rate limiter, sweep pacing; measured on the simulated clock)",
        },
        "sources": SOURCES,
    }
