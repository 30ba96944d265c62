"""List prices used to turn counts into dollars (us-east-1, on-demand, no free tier).

Taken from the public AWS pricing pages (read 2026-11-29, standing-cost prices 2026-12-02;
the DynamoDB on-demand prices are the ones in force since 2024-11-01, when AWS halved
them). Free tiers are ignored for per-file costs (marginal costs of a busy account); the
standing cost is shown with and without the dashboard (the first 3 dashboards of an
account are free).
"""

from __future__ import annotations

from typing import Any

PRICES_CHECKED = "2026-11-29 (standing costs, logs, INIT: 2026-12-02)"
REGION = "us-east-1"

LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334
STEP_FUNCTIONS_PER_TRANSITION = 0.025 / 1_000
DYNAMODB_PER_WRU = 0.625 / 1_000_000
DYNAMODB_PER_RRU = 0.125 / 1_000_000
CLOUDWATCH_PER_PUT_METRIC_DATA = 0.01 / 1_000
S3_PER_GET_REQUEST = 0.0004 / 1_000  # GET, HEAD and other read requests (S3 Standard)
S3_PER_PUT_REQUEST = 0.005 / 1_000  # PUT, COPY, POST, LIST, tagging writes, DELETE is free
SQS_PER_REQUEST = 0.40 / 1_000_000  # standard queue, per 64 KB request, beyond the 1M free a month

# Standing costs (per month) and logs.
CLOUDWATCH_PER_METRIC_MONTH = 0.30  # each metric name x dimension set, first 10,000 metrics
CLOUDWATCH_PER_ALARM_MONTH = 0.10  # standard-resolution alarm, per alarm metric
CLOUDWATCH_PER_DASHBOARD_MONTH = 3.00  # beyond the 3 free dashboards of an account
CLOUDWATCH_LOGS_PER_GB_INGESTED = 0.50  # Standard log class (Lambda and Step Functions vended logs: same first tier)
KMS_PER_KEY_MONTH = 1.00  # customer-managed key
KMS_PER_REQUEST = 0.03 / 10_000
SECONDS_PER_MONTH = 30 * 24 * 3600
# Lambda's SQS event source long-polls with 5 pollers, a 20-s wait each, while the queue is empty.
SQS_POLLS_PER_MONTH = 5 * SECONDS_PER_MONTH / 20
# Each AWS service using the key asks KMS for a data key at most every ~5 minutes per
# resource (DynamoDB, SQS data key reuse 300 s, CloudWatch Logs): modelled, not measured.
KMS_REQUEST_INTERVAL_SECONDS = 300.0

# Lambda INIT (billed as duration since 2025-08-01 for on-demand ZIP functions on managed
# runtimes): the runtime with boto3 (not measurable offline: assumed) + the handler
# module's import (measured by the benchmark's cold-start part when it runs).
LAMBDA_INIT_RUNTIME_MS = 250.0
LAMBDA_INIT_HANDLER_MS_DEFAULT = 35.0
# The runtime's own lines per invocation in JSON log format (platform.start,
# platform.report with its metrics): ~0.6 KB; assumed from the documented shapes.
LAMBDA_PLATFORM_LOG_BYTES = 600
# One Step Functions log event per history event (level ALL, no execution data): ~0.35 KB.
STEP_FUNCTIONS_LOG_BYTES_PER_EVENT = 350

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
    "sqs": "https://aws.amazon.com/sqs/pricing/ (standard queue $0.40 per 1M requests; the starter's gather "
    "queue)",
    "s3": "https://aws.amazon.com/s3/pricing/ (S3 Standard: GET-class $0.0004, PUT-class $0.005 per 1,000 "
    "requests; the handlers' own requests only)",
    "healthomics": "https://aws.amazon.com/healthomics/pricing/ (API calls and import jobs are not charged; "
    "storage is, the same for every design)",
    "eventbridge": "AWS service events (aws.omics) and scheduled rules: no charge",
    "cloudwatch_metrics": "https://aws.amazon.com/cloudwatch/pricing/ (custom metrics $0.30 per metric-month "
    "for the first 10,000; alarms $0.10 per standard alarm metric-month; dashboards $3.00 per month beyond 3 "
    "free; Logs Standard ingestion $0.50 per GB)",
    "kms": "https://aws.amazon.com/kms/pricing/ ($1 per customer-managed key-month; $0.03 per 10,000 requests)",
    "lambda_init": "https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/ "
    "(INIT billed as duration from 2025-08-01)",
    "lambda_logs": "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html "
    "(JSON platform lines per invocation)",
}


def logs_cost(log_bytes: float) -> float:
    return log_bytes / 1e9 * CLOUDWATCH_LOGS_PER_GB_INGESTED


def init_cost(cold_starts: float, handler_import_ms: float = LAMBDA_INIT_HANDLER_MS_DEFAULT) -> float:
    seconds = cold_starts * (LAMBDA_INIT_RUNTIME_MS + handler_import_ms) / 1000.0
    return seconds * LAMBDA_MEMORY_GB * LAMBDA_ARM_PER_GB_SECOND


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
    log_bytes: float = 0.0,
    cold_starts: float = 0.0,
    sqs_requests: float = 0.0,
) -> dict[str, float]:
    """Dollars per component and in total (logs ingested and Lambda INIT included)."""
    parts = {
        "lambda_requests": lambda_invocations * LAMBDA_PER_REQUEST,
        "lambda_duration": lambda_ms_total / 1000.0 * LAMBDA_MEMORY_GB * LAMBDA_ARM_PER_GB_SECOND,
        "step_functions": state_transitions * STEP_FUNCTIONS_PER_TRANSITION,
        "dynamodb_writes": wru * DYNAMODB_PER_WRU,
        "dynamodb_reads": rru * DYNAMODB_PER_RRU,
        "cloudwatch_metrics": put_metric_data * CLOUDWATCH_PER_PUT_METRIC_DATA,
        "s3_requests": s3_get * S3_PER_GET_REQUEST + s3_put * S3_PER_PUT_REQUEST,
        "sqs_requests": sqs_requests * SQS_PER_REQUEST,
        "logs_ingested": logs_cost(log_bytes),
        "lambda_init": init_cost(cold_starts),
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
        "cloudwatch_per_metric_month": CLOUDWATCH_PER_METRIC_MONTH,
        "cloudwatch_per_alarm_month": CLOUDWATCH_PER_ALARM_MONTH,
        "cloudwatch_per_dashboard_month": CLOUDWATCH_PER_DASHBOARD_MONTH,
        "logs_per_gb_ingested": CLOUDWATCH_LOGS_PER_GB_INGESTED,
        "kms_per_key_month": KMS_PER_KEY_MONTH,
        "kms_per_request": KMS_PER_REQUEST,
        "lambda_init_model": {
            "runtime_ms": LAMBDA_INIT_RUNTIME_MS,
            "handler_ms_default": LAMBDA_INIT_HANDLER_MS_DEFAULT,
            "note": "INIT = runtime and boto3 (assumed) + handler import (measured); billed as duration",
        },
        "log_model": {
            "lambda_platform_bytes_per_invocation": LAMBDA_PLATFORM_LOG_BYTES,
            "step_functions_bytes_per_history_event": STEP_FUNCTIONS_LOG_BYTES_PER_EVENT,
            "note": "handler log lines measured (formatted as Lambda's JSON format writes them); platform "
            "lines and Step Functions log events assumed per invocation / history event",
        },
        "lambda_duration_model": {
            "memory_gb": LAMBDA_MEMORY_GB,
            "base_ms": LAMBDA_BASE_MS,
            "ms_per_aws_call": LAMBDA_MS_PER_AWS_CALL,
            "note": "billed ms = base + per-call x SDK calls the invocation made (measured) + time it slept "
            "(rate limiter, sweep pacing; measured on the simulated clock)",
        },
        "sources": SOURCES,
    }
