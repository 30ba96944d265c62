"""Plain models of the two naive designs the public samples use, for comparison.

These are hand-written formulas, on purpose: they are the baselines, not our pipeline
(whose figures always come from running it). Each model counts what its design does per
read set (a FASTQ pair = 2 files here; the 1-file burst is one single-end file) for an
import job lasting ``duration`` seconds, with the same list prices and the same Lambda
duration model as ours (``prices.lambda_ms``).

(a) Polling state machine - the design of aws-samples/amazon-omics-end-to-end-genomics
    (src/cfn_templates/e2e-sfn-stack.yml): one Standard execution and one import job per
    read set; ``IngestFastqToReadSet`` (Lambda: StartReadSetImportJob) ->
    ``WaitForFastqIngest`` (Wait 10 s) -> ``CheckFastqIngest`` (Lambda:
    GetReadSetImportJob) -> ``FastqIngestDone?`` (Choice) -> back to the Wait until
    COMPLETED, then a Succeed state. Assumptions:
    * started by an S3-triggered Lambda: one invocation per object (S3 sends one event per
      object), one StartExecution per read set;
    * polls per job P = ceil(duration / 10 s); state transitions 1 + 3P + 1;
    * history events ~ 9 per loop (Task 5, Wait 2, Choice 2) + 9: an execution stops at
      Step Functions' 25,000-event history limit after ~2,776 loops, i.e. ~7.7 hours at
      10 s; a longer import is never recorded as finished (``history_limit_hit``);
    * no Retry on any task (as in the sample): a ThrottlingException or
      ServiceQuotaExceededException fails the execution - under a burst, every job beyond
      the concurrent-job quota fails;
    * no DynamoDB table and no custom metrics.
(b) Fire-and-forget Lambda - one function that lists new objects and starts import jobs
    of up to 100 read sets (the API's maximum), then returns; nothing checks completion.
    Assumptions:
    * one invocation per job started (e.g. one SQS batch or one scheduled run per 100 read
      sets) plus one ListObjectsV2 per 1,000 keys;
    * one StartReadSetImportJob per 100 read sets, no other HealthOmics call;
    * no state machine, no table, no metrics;
    * failures detected: 0 % - FAILED and COMPLETED_WITH_FAILURES jobs, and starts refused
      by the concurrent-job quota (the SDK's 3 retries span about a second), go unnoticed.
"""

from __future__ import annotations

import math
from typing import Any

from benchmarks import prices

POLL_SECONDS = 10.0
HISTORY_LIMIT = 25_000
EVENTS_PER_LOOP = 9  # Wait (entered, exited) + Lambda task (5) + Choice (entered, exited)
EVENTS_FIXED = 9  # ExecutionStarted, the start task (5), Succeed (2), ExecutionSucceeded
SOURCES_PER_JOB = 100


def polling_state_machine(duration: float, files: int, files_per_read_set: int) -> dict[str, Any]:
    """Baseline (a), for ``files`` files imported by jobs lasting ``duration`` seconds."""
    read_sets = files / files_per_read_set
    polls = math.ceil(duration / POLL_SECONDS)
    max_loops = (HISTORY_LIMIT - EVENTS_FIXED) // EVENTS_PER_LOOP
    transitions = 1 + 3 * polls + 1
    invocations = files + read_sets * (1 + polls)  # trigger per object; start + one check per poll
    omics = read_sets * (1 + polls)
    lambda_ms = (
        files * prices.lambda_ms(1)  # the trigger: StartExecution
        + read_sets * prices.lambda_ms(1)  # StartReadSetImportJob
        + read_sets * polls * prices.lambda_ms(1)  # GetReadSetImportJob
    )
    return _result(
        files,
        invocations=invocations,
        lambda_ms=lambda_ms,
        transitions=read_sets * transitions,
        omics_calls=omics,
        extra={
            "polls_per_job": polls,
            "history_events_per_execution": EVENTS_FIXED + EVENTS_PER_LOOP * polls,
            "history_limit_hit": polls > max_loops,
            "history_limit_after_hours": round(max_loops * POLL_SECONDS / 3600, 1),
            "import_jobs": read_sets,
            "failures_detected": "yes (an execution fails), no retry",
        },
    )


def fire_and_forget(files: int, files_per_read_set: int) -> dict[str, Any]:
    """Baseline (b): start jobs of up to 100 read sets, never look again."""
    read_sets = files / files_per_read_set
    jobs = math.ceil(read_sets / SOURCES_PER_JOB)
    lists = math.ceil(files / 1000)
    invocations = jobs
    lambda_ms = jobs * prices.lambda_ms(1) + lists * prices.LAMBDA_MS_PER_AWS_CALL
    return _result(
        files,
        invocations=invocations,
        lambda_ms=lambda_ms,
        transitions=0,
        omics_calls=jobs,
        s3_put=lists,
        extra={"import_jobs": jobs, "failures_detected": "0 % (never checks)"},
    )


def _result(
    files: int,
    *,
    invocations: float,
    lambda_ms: float,
    transitions: float,
    omics_calls: float,
    extra: dict[str, Any],
    s3_put: float = 0.0,
) -> dict[str, Any]:
    money = prices.cost(
        lambda_invocations=invocations,
        lambda_ms_total=lambda_ms,
        state_transitions=transitions,
        wru=0,
        rru=0,
        put_metric_data=0,
        s3_put=s3_put,
    )
    return {
        "per_file": {
            "lambda_invocations": invocations / files,
            "state_transitions": transitions / files,
            "omics_calls": omics_calls / files,
            "wru": 0.0,
            "rru": 0.0,
            "put_metric_data": 0.0,
            "s3_requests": s3_put / files,
            "lambda_ms": lambda_ms / files,
        },
        "cost_per_1000_files": {k: v / files * 1000 for k, v in money.items()},
        **extra,
    }


def under_burst(
    files: int,
    files_per_read_set: int,
    duration: float,
    *,
    concurrent_quota: int,
    tps_quota: float,
    within_seconds: float,
) -> dict[str, Any]:
    """What each baseline does with a burst under the HealthOmics quotas (modelled)."""
    read_sets = files // files_per_read_set
    jobs_b = math.ceil(read_sets / SOURCES_PER_JOB)
    # (a): one start per read set as its objects arrive; every start beyond the quota is
    # refused and, with no Retry, fails its execution; the survivors poll every 10 s.
    started_a = min(read_sets, concurrent_quota)
    return {
        "a_polling_state_machine": {
            "import_jobs_wanted": read_sets,
            "start_rate_per_second": round(read_sets / within_seconds, 1),
            "poll_rate_per_second": round(started_a / POLL_SECONDS, 1),
            "peak_concurrent_jobs_wanted": read_sets,
            "files_not_imported": (read_sets - started_a) * files_per_read_set,
            "files_reported_failed": (read_sets - started_a) * files_per_read_set,
            "note": "no Retry: starts over the concurrent-job quota fail their executions",
        },
        "b_fire_and_forget": {
            "import_jobs_wanted": jobs_b,
            "start_rate_per_second": "as fast as one loop runs (throttled above "
            f"{tps_quota:g}/s; the SDK retries 3 times)",
            "peak_concurrent_jobs_wanted": jobs_b,
            "files_not_imported": max(0, jobs_b - concurrent_quota) * SOURCES_PER_JOB * files_per_read_set,
            "files_reported_failed": 0,
            "note": "starts refused by the quota are lost silently",
        },
    }
