"""Plain models of the designs users would write instead of ours, for comparison.

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
(c) Hand-written event-driven importer - what a careful user writes in an afternoon: an S3
    ObjectCreated notification invokes ``on_upload`` (one invocation per object), which
    records the file in its own DynamoDB table (one item per file) and, once a read set's
    files are all there, calls StartReadSetImportJob for that read set alone (one read set
    per job, clientToken = the read set's id, so a race of two mates starts one job); an
    EventBridge rule on ``Read Set Import Job Status Change`` (terminal statuses) invokes
    ``on_job_event``, which calls GetReadSetImportJob (the event carries no read-set ids or
    per-source status) and records each file's outcome. Per read set of ``k`` files:
    * ``on_upload`` per file: PutItem of its item (conditional: not there yet), then a
      consistent GetItem of each mate's item; the last file's invocation also calls
      StartReadSetImportJob and marks each of the ``k`` items IMPORTING with the job id
      (UpdateItem each);
    * ``on_job_event``: GetReadSetImportJob, then UpdateItem of each of the ``k`` items
      (IMPORTED with the read-set id, or FAILED with the reason);
    * items are sized with the same rules as ours (``ddb_capacity``), from the item such a
      function writes (below); no index; AWS-owned keys; no custom metrics, no dashboard;
      one alarm on its failure destination;
    * one log line per invocation besides the runtime's platform lines;
    * what it gives up: a lost job event leaves the files IMPORTING forever (nothing
      polls); over the concurrent-job quota a start fails, Lambda retries the S3 event
      twice (async invocation) and then sends it to the failure destination: the file is
      not imported (recorded only there); no batching, so a burst of 5,000 read sets wants
      5,000 jobs.
"""

from __future__ import annotations

import math
from typing import Any

from benchmarks import ddb_capacity, prices

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
    dies = polls > max_loops
    if dies:  # the execution fails at the history limit: priced up to then, nothing imported
        polls = max_loops
    transitions = 1 + 3 * polls + (0 if dies else 1)
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
            "events_per_poll": EVENTS_PER_LOOP,
            "history_limit_hit": dies,
            "history_limit_after_hours": round(max_loops * POLL_SECONDS / 3600, 1),
            "imported_fraction": 0.0 if dies else 1.0,
            "import_jobs": read_sets,
            "failures_detected": "yes (an execution fails), no retry",
        },
    )


# The item ``on_upload`` writes for one file (what such a function records), and the same
# item after each later write; sizes by ddb_capacity.
def _c_item(key: str, **extra: dict[str, str]) -> dict[str, dict[str, str]]:
    item = {
        "pk": {"S": f"s3://sequencing-bucket/{key}"},
        "readSet": {"S": key.rsplit("_R", 1)[0]},
        "status": {"S": "RECEIVED"},
        "versionId": {"S": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"},
        "size": {"N": "48318382080"},
        "receivedAt": {"S": "2026-12-02T00:00:00.000000+00:00"},
    }
    item.update(extra)
    return item


_C_KEY = "runs/2026-12-01/fastq/S00042_S43_L001_R1_001.fastq.gz"
_C_RECEIVED = ddb_capacity.item_size(_c_item(_C_KEY))
_C_IMPORTING = ddb_capacity.item_size(
    _c_item(_C_KEY, status={"S": "IMPORTING"}, importJobId={"S": "4827361540"}, updatedAt={"S": "x" * 32})
)
_C_DONE = ddb_capacity.item_size(
    _c_item(
        _C_KEY,
        status={"S": "IMPORTED"},
        importJobId={"S": "4827361540"},
        readSetId={"S": "1234567890"},
        updatedAt={"S": "x" * 32},
    )
)
C_LOG_LINE_BYTES = 250  # one JSON line per invocation (the key, the job id, the outcome)


def event_driven(files: int, files_per_read_set: int) -> dict[str, Any]:
    """Baseline (c): S3 event -> Lambda starts one job per read set; job event -> Lambda records."""
    k = files_per_read_set
    read_sets = files / k
    wru = read_sets * (
        k * ddb_capacity.write_units(0, _C_RECEIVED)  # PutItem per file
        + k * ddb_capacity.write_units(_C_RECEIVED, _C_IMPORTING)  # IMPORTING + job id
        + k * ddb_capacity.write_units(_C_IMPORTING, _C_DONE)  # outcome
    )
    mates_read = k * (k - 1)  # each file's invocation reads each mate's item
    rru = read_sets * mates_read * ddb_capacity.read_units(_C_RECEIVED, consistent=True)
    invocations = files + read_sets  # on_upload per object, on_job_event per job
    calls_upload = read_sets * (k + mates_read + 1 + k)  # Put, Get mates, Start, Update x k
    calls_event = read_sets * (1 + k)
    lambda_ms = invocations * prices.LAMBDA_BASE_MS + (calls_upload + calls_event) * prices.LAMBDA_MS_PER_AWS_CALL
    log_bytes = invocations * (prices.LAMBDA_PLATFORM_LOG_BYTES + C_LOG_LINE_BYTES)
    return _result(
        files,
        invocations=invocations,
        lambda_ms=lambda_ms,
        transitions=0,
        omics_calls=read_sets * 2,
        wru=wru,
        rru=rru,
        log_bytes=log_bytes,
        cold_starts=0.01 * invocations + 2,  # AWS: INIT in under 1 % of invocations; 2 functions
        extra={
            "import_jobs": read_sets,
            "item_bytes": {"received": _C_RECEIVED, "importing": _C_IMPORTING, "done": _C_DONE},
            "failures_detected": "job outcomes yes; lost events and quota refusals: no (files left IMPORTING "
            "or only in the failure destination)",
            "standing_per_month": {"alarms": 1, "total": prices.CLOUDWATCH_PER_ALARM_MONTH},
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
    wru: float = 0.0,
    rru: float = 0.0,
    log_bytes: float | None = None,
    cold_starts: float | None = None,
) -> dict[str, Any]:
    if log_bytes is None:  # the runtime's lines only
        log_bytes = invocations * prices.LAMBDA_PLATFORM_LOG_BYTES
    if cold_starts is None:
        cold_starts = 0.01 * invocations + 1
    money = prices.cost(
        lambda_invocations=invocations,
        lambda_ms_total=lambda_ms,
        state_transitions=transitions,
        wru=wru,
        rru=rru,
        put_metric_data=0,
        s3_put=s3_put,
        log_bytes=log_bytes,
        cold_starts=cold_starts,
    )
    return {
        "per_file": {
            "lambda_invocations": invocations / files,
            "state_transitions": transitions / files,
            "omics_calls": omics_calls / files,
            "wru": wru / files,
            "rru": rru / files,
            "put_metric_data": 0.0,
            "s3_requests": s3_put / files,
            "lambda_ms": lambda_ms / files,
            "log_bytes": log_bytes / files,
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
        "c_event_driven": {
            "import_jobs_wanted": read_sets,
            "start_rate_per_second": round(read_sets / within_seconds, 1),
            "peak_concurrent_jobs_wanted": read_sets,
            "files_not_imported": (read_sets - started_a) * files_per_read_set,
            "files_reported_failed": 0,
            "note": "one job per read set: starts over the quota fail 3 times (async retries) and go to the "
            "failure destination; no one re-starts them",
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
