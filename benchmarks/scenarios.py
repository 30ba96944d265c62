"""One benchmark scenario: a burst of files through the real pipeline, measured.

``run(spec)`` builds the harness (``sim.SimPipeline``) around a HealthOmics double with the
service's quotas, uploads the burst, drives everything on the simulated clock until every
file is terminal, and returns what was counted (JSON-ready).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import Any

from omics_autoload_runtime.adapters import tracking
from support.omics_double import OmicsDouble

from benchmarks import prices, sim

# What the pipeline is configured with (the construct's defaults) and what the double
# enforces (the service's default quotas; the concurrent-job quota is adjustable).
PIPELINE_MAX_CONCURRENT_IMPORT_JOBS = 10
PIPELINE_OMICS_TPS = 4
SERVICE_CONCURRENT_JOB_QUOTA = 10
SERVICE_TPS_QUOTA = 5
SOURCES_PER_JOB = 100


def default_spec(**overrides: Any) -> dict[str, Any]:
    spec = {
        "name": "burst",
        "files": 100,
        "job_duration_seconds": 600.0,
        "deliver_events": True,
        "within_seconds": 60.0,
        "service_concurrent_jobs": SERVICE_CONCURRENT_JOB_QUOTA,
        "service_tps": SERVICE_TPS_QUOTA,
        "pipeline_concurrent_jobs": PIPELINE_MAX_CONCURRENT_IMPORT_JOBS,
        "pipeline_tps": PIPELINE_OMICS_TPS,
        "seed": 1,
        "wall_timeout": 1500.0,
    }
    spec.update(overrides)
    return spec


def _s3_read(call: str) -> bool:
    """GET-class S3 requests (priced lower than PUT-class; DELETE requests are free)."""
    operation = call.split(".", 1)[1]
    return operation.startswith(("Get", "Head")) or operation == "SelectObjectContent"


def _peak_per_second(times: list[float]) -> int:
    times = sorted(times)
    best = lo = 0
    for hi, moment in enumerate(times):
        while times[lo] <= moment - 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def run(spec: dict[str, Any], definition: str) -> dict[str, Any]:
    import random

    random.seed(spec["seed"])  # moto's retry jitter
    file_bytes = spec.get("file_bytes") or 0
    double = OmicsDouble(
        job_duration_seconds=spec["job_duration_seconds"],
        max_concurrent_import_jobs=spec["service_concurrent_jobs"],
        tps_limit=spec["service_tps"],
        seed=spec["seed"],
        throttle_fraction=spec.get("throttle_fraction", 0.0),
        throughput_bytes_per_second=spec.get("throughput_bytes_per_second") if file_bytes else None,
        source_bytes=(lambda uri: file_bytes) if file_bytes else None,
    )
    env = {
        "MAX_CONCURRENT_IMPORT_JOBS": str(spec["pipeline_concurrent_jobs"]),
        "OMICS_CALLS_PER_SECOND": str(spec["pipeline_tps"]),
    }
    # One file: a single-end run (an R1 alone would wait for its mate).
    keys = ["runs/bench/ERR0000001.fastq.gz"] if spec["files"] == 1 else sim.paired_fastq_keys(spec["files"])
    uploads = sim.burst(keys, spec["within_seconds"])
    idle = spec.get("idle_seconds")
    started = time.monotonic()
    with sim.SimPipeline(
        definition=definition,
        double=double,
        env=env,
        deliver_events=spec["deliver_events"],
        concurrency=spec.get("concurrency", 1),
    ) as pipe:
        facts = pipe.drive(
            uploads,
            max_sim_seconds=idle if idle else max(7 * 86400.0, 20 * spec["job_duration_seconds"]),
            wall_timeout=spec["wall_timeout"],
        )
        transitions = pipe.transitions()
        objects = pipe.items(tracking.KIND_OBJECT)
        result = _summarise(spec, pipe, facts, transitions, objects, len(keys))
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    return result


def _summarise(
    spec: dict[str, Any],
    pipe: sim.SimPipeline,
    facts: dict[str, Any],
    transitions: dict[str, Any],
    objects: list[dict[str, Any]],
    files: int,
) -> dict[str, Any]:
    meter, double = pipe.meter, pipe.double
    t0 = facts["t0"]
    statuses = Counter(o["status"] for o in objects)
    imported = statuses.get(tracking.IMPORTED, 0)
    # Nothing lost: every uploaded object has an item, and it is IMPORTED.
    lost = files - imported
    # Nothing twice: one read set per source file set, one job per batch.
    sources = Counter(tuple(sorted(rs["sourceFiles"].values())) for rs in double.read_sets.values())
    duplicate_read_sets = sum(n - 1 for n in sources.values() if n > 1)
    omics_calls = Counter(op for op, _ in double.calls)
    throttled = Counter(op for _, op, code in meter.omics_outcomes if code == "ThrottlingException")
    quota_refused = Counter(op for _, op, code in meter.omics_outcomes if code == "ServiceQuotaExceededException")
    attempts_by_op: dict[str, list[float]] = {}
    accepted_by_op: dict[str, list[float]] = {}
    for moment, op, code in meter.omics_outcomes:
        attempts_by_op.setdefault(op, []).append(moment)
        if not code:
            accepted_by_op.setdefault(op, []).append(moment)
    starts = sorted(t for t, op, code in meter.omics_outcomes if op == "StartReadSetImportJob" and not code)
    terminal_times = [tracking.parse_iso(o.get("updatedAt")) or t0 for o in objects]
    last_terminal = max(terminal_times) if terminal_times else t0
    jobs = double.import_jobs_started("readSet")
    quota = min(spec["service_concurrent_jobs"] or jobs or 1, spec["pipeline_concurrent_jobs"] or jobs or 1)
    waves = math.ceil(jobs / quota) if jobs else 0
    first_start = (starts[0] - t0) if starts else None
    minimum = (first_start or 0.0) + waves * spec["job_duration_seconds"]
    invocations = dict(meter.invocations)
    total_invocations = sum(invocations.values())
    lambda_ms = sum(meter.lambda_ms.values())
    wru, rru = sum(meter.wru.values()), sum(meter.rru.values())
    put_metric_data = meter.api_calls.get("cloudwatch.PutMetricData", 0)
    billed = transitions["billed_transitions"]
    sfn_log_bytes = transitions["history_events"] * prices.STEP_FUNCTIONS_LOG_BYTES_PER_EVENT
    cold_starts = sum(max(meter.peak_running[f], 1) + 0.01 * n for f, n in invocations.items())
    money = _money(meter, set(invocations), billed, sfn_log_bytes, cold_starts)
    sweep_fns = {f for f in invocations if f == "completion:sweep"}
    money_sweep = _money(meter, sweep_fns, 0, 0, sum(0.01 * invocations[f] for f in sweep_fns))
    log_bytes = sum(meter.log_bytes.values()) + total_invocations * prices.LAMBDA_PLATFORM_LOG_BYTES + sfn_log_bytes
    n = max(imported, 1)
    return {
        "spec": spec,
        "files": files,
        "statuses": dict(statuses),
        "imported": imported,
        "lost": lost,
        "duplicate_read_sets": duplicate_read_sets,
        "finished": facts["finished"],
        "handler_failures": len(pipe.handler_failures),
        "handler_failure_samples": [f[:400] for f in pipe.handler_failures[:3]],
        "lambda_invocations": invocations,
        "lambda_ms": {k: round(v, 1) for k, v in meter.lambda_ms.items()},
        "slept_seconds": {k: round(v, 2) for k, v in meter.slept.items() if v},
        "api_calls": dict(sorted(meter.api_calls.items())),
        "omics_calls": dict(omics_calls),
        "omics_throttled": dict(throttled),
        "omics_quota_refused": dict(quota_refused),
        "omics_peak_attempts_per_second": {op: _peak_per_second(t) for op, t in attempts_by_op.items()},
        "omics_peak_accepted_per_second": {op: _peak_per_second(t) for op, t in accepted_by_op.items()},
        "peak_concurrent_jobs": double.peak_concurrent_jobs,
        "import_jobs": jobs,
        "job_events": {"delivered": pipe.events_delivered, "dropped": pipe.events_dropped},
        "wru": round(wru, 2),
        "wru_index": round(meter.wru_index, 2),
        "rru": round(rru, 2),
        "wru_by_function": {k: round(v, 1) for k, v in meter.wru.items()},
        "rru_by_function": {k: round(v, 1) for k, v in meter.rru.items()},
        "put_metric_data": put_metric_data,
        "log_bytes_by_function": dict(meter.log_bytes),
        "log_bytes": log_bytes,
        "emf_lines": meter.emf_lines,
        "metric_sets": [[ns, name, dict(dims)] for ns, name, dims in sorted(meter.metric_sets)],
        "metric_set_count": len(meter.metric_sets),
        "sweep_samples": meter.sweep_samples,
        "peak_running": dict(meter.peak_running),
        "cold_starts": cold_starts,
        "transitions": transitions,
        "drain": {
            "first_job_start_s": round(first_start, 1) if first_start is not None else None,
            "last_file_terminal_s": round(last_terminal - t0, 1),
            "jobs": jobs,
            "quota": quota,
            "waves": waves,
            "quota_bound_minimum_s": round(minimum, 1),
            "over_minimum_pct": round(100.0 * ((last_terminal - t0) / minimum - 1.0), 2) if minimum else None,
        },
        "sim": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in facts.items() if k != "t0"},
        "per_file": {
            "lambda_invocations": total_invocations / n,
            "state_transitions": billed / n,
            "omics_calls": sum(omics_calls.values()) / n,
            "wru": wru / n,
            "rru": rru / n,
            "put_metric_data": put_metric_data / n,
            "lambda_ms": lambda_ms / n,
            "log_bytes": log_bytes / n,
        },
        "cost_per_1000_files": {k: v / n * 1000 for k, v in money.items()},
        # What the sweep invocations cost (the rest is what the files' own path costs).
        "sweep_cost_per_1000_files": {k: v / n * 1000 for k, v in money_sweep.items()},
    }


def _money(
    meter: sim.Meter, functions: set[str], transitions: float, extra_log_bytes: float, cold_starts: float
) -> dict[str, float]:
    """Dollars of the invocations of ``functions`` (and the given transitions and logs)."""
    calls: Counter = Counter()
    for (function, call), count in meter.api_by_function.items():
        if function in functions:
            calls[call] += count
    invocations = sum(meter.invocations[f] for f in functions)
    s3_get = sum(n for call, n in calls.items() if call.startswith("s3.") and _s3_read(call))
    s3_put = sum(
        n
        for call, n in calls.items()
        if call.startswith("s3.") and not _s3_read(call) and not call.startswith("s3.Delete")
    )
    return prices.cost(
        lambda_invocations=invocations,
        lambda_ms_total=sum(meter.lambda_ms[f] for f in functions),
        state_transitions=transitions,
        wru=sum(meter.wru[f] for f in functions),
        rru=sum(meter.rru[f] for f in functions),
        put_metric_data=calls.get("cloudwatch.PutMetricData", 0),
        s3_get=s3_get,
        s3_put=s3_put,
        log_bytes=sum(meter.log_bytes[f] for f in functions)
        + invocations * prices.LAMBDA_PLATFORM_LOG_BYTES
        + extra_log_bytes,
        cold_starts=cold_starts,
        sqs_requests=sum(n for call, n in calls.items() if call.startswith("sqs.")),
    )
