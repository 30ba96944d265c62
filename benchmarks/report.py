"""Tables (Markdown) and target checks from the results of ``run.py``."""

from __future__ import annotations

from typing import Any

DURATIONS = ["10 min", "1 h", "24 h"]
MODES = ["events", "polling"]
BURSTS = [1, 100, 10_000]


def fmt(value: float | None, money: bool = False) -> str:
    if value is None:
        return "-"
    if money:
        return f"${value:.4f}" if value >= 0.001 else f"${value:.6f}"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    if magnitude >= 0.01:
        return f"{value:.3f}"
    return f"{value:.2g}"


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    r = a / b
    return f"{r:,.0f}x" if r >= 10 else f"{r:.1f}x"


def _cells(results: dict[str, Any]) -> dict[tuple[int, str, str], dict[str, Any]]:
    """Measured scenarios by (files, duration label, mode)."""
    out = {}
    for result in results["scenarios"].values():
        spec = result.get("spec") or {}
        if "error" in result or not spec.get("files"):
            continue
        out[(spec["files"], spec.get("duration_label", ""), spec.get("mode", ""))] = result
    return out


def _sweep_share(result: dict[str, Any]) -> float:
    n = max(result["imported"], 1)
    return result["lambda_invocations"].get("completion:sweep", 0) / n


def targets(results: dict[str, Any]) -> dict[str, Any]:
    cells = _cells(results)
    out: dict[str, Any] = {}
    # 1. transitions per file independent of import duration
    flat = {}
    for files in sorted({k[0] for k in cells}):
        for mode in MODES:
            values = [
                cells[(files, d, mode)]["per_file"]["state_transitions"] for d in DURATIONS if (files, d, mode) in cells
            ]
            if len(values) >= 2:
                flat[f"{files:,} file(s), {mode}"] = {"per_file": values, "equal": max(values) == min(values)}
    out["transitions_independent_of_duration"] = {
        "met": bool(flat) and all(v["equal"] for v in flat.values()),
        "cells": flat,
    }
    # 2. >= 100x fewer transitions than baseline (a) for a 24-hour import
    fewer = {}
    for files in BURSTS:
        ours = cells.get((files, "24 h", "events"))
        source = "measured at 24 h"
        if ours is None:  # not simulated: transitions per file do not depend on duration (target 1)
            ours = cells.get((files, "10 min", "events"))
            source = "measured at 10 min (duration-independent)"
        base = results["baselines"]["cells"].get(f"{files}-24 h")
        if ours and base:
            mine = ours["per_file"]["state_transitions"]
            theirs = base["a"]["per_file"]["state_transitions"]
            fewer[f"{files:,} file{'s' if files > 1 else ''}"] = {
                "ours": mine,
                "a": theirs,
                "times_fewer": theirs / mine,
                "ours_from": source,
            }
    out["100x_fewer_transitions_than_a_at_24h"] = {
        "met": bool(fewer) and all(v["times_fewer"] >= 100 for v in fewer.values()),
        "cells": fewer,
    }
    # 3. drain within 10 % of the quota-bound minimum
    burst = _burst(results)
    if burst:
        over = burst["drain"]["over_minimum_pct"]
        out["drain_within_10pct"] = {"met": over is not None and over <= 10.0, "over_minimum_pct": over}
        out["burst_safety"] = {
            "objects_lost": burst["lost"],
            "duplicate_read_sets": burst["duplicate_read_sets"],
            "peak_concurrent_jobs": burst["peak_concurrent_jobs"],
            "concurrent_quota": burst["spec"]["service_concurrent_jobs"],
            "peak_attempts_per_second": burst["omics_peak_attempts_per_second"],
            "throttled": burst["omics_throttled"],
            "met": burst["lost"] == 0
            and burst["duplicate_read_sets"] == 0
            and burst["peak_concurrent_jobs"] <= burst["spec"]["service_concurrent_jobs"]
            and all(v < burst["spec"]["service_tps"] + 1 for v in burst["omics_peak_attempts_per_second"].values()),
        }
    return out


def _duration(seconds: float) -> str:
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


def _idle_sweep_cost(results: dict[str, Any]) -> float:
    """Dollars of one sweep with nothing to import (0 when not measured)."""
    idle = results["scenarios"].get("idle-1 h")
    if not idle or "error" in idle:
        return 0.0
    sweeps = idle["lambda_invocations"].get("completion:sweep", 0)
    return idle["cost_per_1000_files"]["total"] / 1000 / sweeps if sweeps else 0.0


def _burst(results: dict[str, Any]) -> dict[str, Any] | None:
    for name, result in results["scenarios"].items():
        if name.startswith("burst-") and "error" not in result:
            return result
    return None


def render(results: dict[str, Any]) -> str:
    p = results["prices"]
    cells = _cells(results)
    lines: list[str] = []
    add = lines.append
    add("## Orchestration cost per imported file — our pipeline (measured)")
    add("")
    add(
        "Real handlers + the synthesized state machine, run by moto on a simulated clock; HealthOmics double "
        f"with the service's quotas ({results['quotas']['service_concurrent_import_jobs']} concurrent import jobs, "
        f"{results['quotas']['service_tps_per_api']} TPS per API). Bursts of paired FASTQ files created within one "
        "minute (the 1-file burst: one single-end file). `events`: every job status event delivered; "
        "`polling`: all events lost, the sweep's polling finishes the jobs."
    )
    add("")
    idle_sweep = _idle_sweep_cost(results)
    add(
        "| files | import | completion | Lambda invocations (sweep) | state transitions | HealthOmics calls "
        "| DynamoDB WRU | DynamoDB RRU | PutMetricData | $ per 1,000 files | same, less the idle sweep ³ "
        "| all files done after ⁴ |"
    )
    add("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = [(files, duration, mode) for files in BURSTS for duration in DURATIONS for mode in MODES]
    rows += sorted(k for k in cells if k[0] not in BURSTS)
    for files, duration, mode in rows:
        r = cells.get((files, duration, mode))
        if r is None:
            carried = cells.get((files, "10 min", mode)) or cells.get((files, "10 min", "events"))
            moved = fmt(carried["per_file"]["state_transitions"]) + " ¹" if carried else "-"
            add(f"| {files:,} | {duration} | {mode} | not simulated ¹ | {moved} | | | | | | | |")
            continue
        f = r["per_file"]
        sweeps = r["lambda_invocations"].get("completion:sweep", 0)
        marginal = r["cost_per_1000_files"]["total"] - idle_sweep * sweeps * 1000 / max(r["imported"], 1)
        add(
            f"| {files:,} | {duration} | {mode} | {fmt(f['lambda_invocations'])} ({fmt(_sweep_share(r))}) "
            f"| {fmt(f['state_transitions'])} | {fmt(f['omics_calls'])} | {fmt(f['wru'])} | {fmt(f['rru'])} "
            f"| {fmt(f['put_metric_data'])} | {fmt(r['cost_per_1000_files']['total'], money=True)} "
            f"| {fmt(marginal, money=True) if idle_sweep else '-'} | {_duration(r['drain']['last_file_terminal_s'])} |"
        )
    add("")
    add(
        "¹ Not simulated (time budget): one 10,000-file run takes most of the benchmark's ~10 minutes, so only "
        "the burst below (10-minute jobs, events delivered) runs at 10,000. State transitions per file are "
        "measured identical for every import duration and both completion modes at 1, 100 and 1,000 files, "
        "so the 10,000-file figure of the 10-minute run is carried over (marked ¹); the other columns are "
        "not extrapolated. What grows with duration is only the sweep: 12 invocations an hour whatever the "
        "number of files, a read of the in-flight items each time, and polls of jobs whose events are lost "
        "(a handful per job): compare the 1,000-file rows, where it is already small per file."
    )
    add("")
    idle = results["scenarios"].get("idle-1 h")
    if idle_sweep and idle:
        sweeps = max(idle["lambda_invocations"].get("completion:sweep", 0), 1)
        month = 30 * 24 * 12
        add(
            f"³ The sweep runs every 5 minutes whether or not anything is imported. Measured with nothing to "
            f"import: {fmt(idle['rru'] / sweeps)} RRU and {fmt(idle['put_metric_data'] / sweeps)} PutMetricData "
            f"per sweep, {fmt(idle_sweep * month, money=True)} a month ({month:,} invocations): a standing cost "
            "of the deployment, not of the files. The last column takes it out (what the sweep does beyond "
            "that, polls and reading in-flight items, stays in)."
        )
        add("")
    add(
        "⁴ From the first object created to the last file recorded IMPORTED. With every job event lost, the "
        "sweep's polls (after 5 min, then doubling up to 6 h) find finished jobs later: up to "
        "`max_poll_interval` late."
    )
    add("")
    add("## Against the naive designs (modelled), per imported file")
    add("")
    add(
        "(a) one import job and one Standard execution per read set, polling every 10 s in the state machine "
        "(aws-samples/amazon-omics-end-to-end-genomics); (b) one Lambda starting jobs of 100 read sets, never "
        "checking completion. Our figures: `events` rows above."
    )
    add("")
    add(
        "| files | import | (a) transitions | (a) Lambda | (a) HealthOmics calls | (a) $ per 1,000 "
        "| (b) Lambda | (b) HealthOmics calls | (b) $ per 1,000 | (a) ÷ ours: transitions | (a) ÷ ours: $ "
        "| ours ÷ (b): $ |"
    )
    add("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for files in BURSTS:
        for duration in DURATIONS:
            base = results["baselines"]["cells"].get(f"{files}-{duration}")
            if not base:
                continue
            a, b = base["a"], base["b"]
            ours = cells.get((files, duration, "events"))
            note = " ²" if a.get("history_limit_hit") else ""
            mine_c = ours["cost_per_1000_files"]["total"] if ours else None
            carried = ours or cells.get((files, "10 min", "events"))
            mine_t = carried["per_file"]["state_transitions"] if carried else None
            mark = "" if ours else " ¹"
            add(
                f"| {files:,} | {duration} | {fmt(a['per_file']['state_transitions'])}{note} "
                f"| {fmt(a['per_file']['lambda_invocations'])} | {fmt(a['per_file']['omics_calls'])} "
                f"| {fmt(a['cost_per_1000_files']['total'], money=True)} | {fmt(b['per_file']['lambda_invocations'])} "
                f"| {fmt(b['per_file']['omics_calls'])} | {fmt(b['cost_per_1000_files']['total'], money=True)} "
                f"| {ratio(a['per_file']['state_transitions'], mine_t)}{mark if mine_t else ''} "
                f"| {ratio(a['cost_per_1000_files']['total'], mine_c)} "
                f"| {ratio(mine_c, b['cost_per_1000_files']['total'])} |"
            )
    a24 = results["baselines"]["cells"].get("100-24 h", {}).get("a", {})
    if a24:
        add("")
        add(
            f"² (a) exceeds Step Functions' 25,000-event execution history after "
            f"~{a24['history_limit_after_hours']} h of 10-s polling: the execution fails and the import is never "
            "recorded (cost shown as if it could go on). (b) is the cheapest and blind: failures detected 0 %."
        )
    add("")
    burst = _burst(results)
    if burst:
        d, q = burst["drain"], results["quotas"]
        add(f"## Burst: {burst['files']:,} objects created within one minute")
        add("")
        add(
            f"HealthOmics double: {q['service_concurrent_import_jobs']} concurrent import jobs, "
            f"{q['service_tps_per_api']} TPS per API; pipeline: max_concurrent_import_jobs "
            f"{q['pipeline_max_concurrent_import_jobs']}, OMICS_TPS {q['pipeline_omics_tps']}; jobs of "
            f"{burst['spec']['job_duration_seconds'] / 60:.0f} minutes; events delivered."
        )
        add("")
        add("| measure | ours (measured) | limit / target |")
        add("|---|---:|---:|")
        peaks = burst["omics_peak_attempts_per_second"]
        for op in sorted(peaks):
            add(
                f"| peak {op} calls in any second (attempts) | {peaks[op]} | < {q['service_tps_per_api'] + 1} "
                f"(quota {q['service_tps_per_api']}) |"
            )
        add(f"| throttled HealthOmics calls | {sum(burst['omics_throttled'].values())} | 0 |")
        add(f"| refused by the concurrent-job quota | {sum(burst['omics_quota_refused'].values())} | 0 |")
        quota = q["service_concurrent_import_jobs"]
        add(f"| peak concurrent import jobs | {burst['peak_concurrent_jobs']} | <= {quota} |")
        add(f"| import jobs | {d['jobs']} ({d['waves']} wave(s) of <= {d['quota']}) | |")
        add(f"| first job started | {d['first_job_start_s']} s | |")
        add(f"| last file terminal (time to drain) | {d['last_file_terminal_s']:,.0f} s | |")
        add(f"| quota-bound minimum (first start + waves x job duration) | {d['quota_bound_minimum_s']:,.0f} s | |")
        add(f"| over the minimum | {d['over_minimum_pct']} % | <= 10 % |")
        add(f"| objects lost | {burst['lost']} | 0 |")
        add(f"| duplicate read sets | {burst['duplicate_read_sets']} | 0 |")
        add(
            f"| per file: Lambda / transitions / HealthOmics / WRU / RRU | "
            f"{fmt(burst['per_file']['lambda_invocations'])} / {fmt(burst['per_file']['state_transitions'])} / "
            f"{fmt(burst['per_file']['omics_calls'])} / {fmt(burst['per_file']['wru'])} / "
            f"{fmt(burst['per_file']['rru'])} | |"
        )
        add(f"| $ per 1,000 files | {fmt(burst['cost_per_1000_files']['total'], money=True)} | |")
        add(
            f"| simulated / wall-clock time of this run | {burst['sim']['sim_seconds']:,.0f} s / "
            f"{burst['wall_seconds']:,.0f} s | |"
        )
        c = burst["cost_per_1000_files"]
        wru_fn = burst.get("wru_by_function", {})
        top = sorted(wru_fn.items(), key=lambda kv: -kv[1])[:3]
        add("")
        add(
            f"Where the {fmt(c['total'], money=True)} per 1,000 files goes: DynamoDB writes "
            f"{fmt(c['dynamodb_writes'], money=True)} ({100 * burst['wru_index'] / max(burst['wru'], 1):.0f} % of the "
            f"WRU are the secondary index; most from "
            + ", ".join(f"{k} {fmt(v / max(burst['imported'], 1))}" for k, v in top)
            + " WRU per file), CloudWatch PutMetricData "
            f"{fmt(c['cloudwatch_metrics'], money=True)}, S3 requests {fmt(c.get('s3_requests', 0), money=True)}, "
            f"Step Functions {fmt(c['step_functions'], money=True)}, "
            f"Lambda {fmt(c['lambda_requests'] + c['lambda_duration'], money=True)}, DynamoDB reads "
            f"{fmt(c['dynamodb_reads'], money=True)}."
        )
        nb = results["baselines"].get("burst") or {}
        if nb:
            a, b = nb["a_polling_state_machine"], nb["b_fire_and_forget"]
            add("")
            add(
                f"Same burst, modelled: (a) wants {a['import_jobs_wanted']:,} concurrent jobs and "
                f"{a['start_rate_per_second']} starts/s (quota {q['service_concurrent_import_jobs']} jobs, "
                f"{q['service_tps_per_api']} TPS): {a['files_not_imported']:,} files not imported (no Retry); "
                f"(b) starts {b['import_jobs_wanted']} jobs at once: {b['files_not_imported']:,} files not imported, "
                "none reported."
            )
        add("")
    synth, cold = results.get("synth"), results.get("cold_start")
    if synth:
        add("## cdk synth and cold start")
        add("")
        add("| example app, fresh process (median of 3) | seconds |")
        add("|---|---:|")
        add(f"| empty stack + cdk-nag packs | {synth['without_construct_s']} |")
        add(f"| with OmicsAutoLoad + cdk-nag packs | {synth['with_construct_s']} |")
        add(f"| difference | +{synth['difference_s']} ({synth['ratio']}x) |")
        add("")
    if cold:
        add("| function | handler module import, ms (package / all beyond boto3) | asset (zip) |")
        add("|---|---:|---:|")
        for logical_id, info in cold["functions"].items():
            name = logical_id.replace("AutoLoad", "").rstrip("0123456789ABCDEF")
            add(
                f"| {name} | {info['import_ms_package']} / {info['import_ms_beyond_boto3']} "
                f"| {info['asset_bytes'] / 1024:.0f} KiB ({info['asset_zip_bytes'] / 1024:.0f} KiB) |"
            )
        add("")
        shared = "All functions share one asset" if cold["shared_asset"] else "Assets differ per function"
        add(
            f"{shared} (the `omics_autoload_runtime` package). Import times: median of {cold['repetitions']} "
            f"fresh imports from the staged asset with boto3 already loaded, Python {cold['python']} (Lambda: "
            "3.14), no bytecode cache (as in a cold start: the asset has none)."
        )
        add("")
    t = results.get("targets", {})
    add("## Targets")
    add("")
    for name, label in (
        ("transitions_independent_of_duration", "state transitions per file independent of import duration"),
        ("100x_fewer_transitions_than_a_at_24h", ">= 100x fewer state transitions than (a) for a 24-hour import"),
        ("drain_within_10pct", "burst drained within 10 % of the quota-bound minimum"),
        ("burst_safety", "burst: under 5 TPS, <= quota concurrent jobs, 0 lost, 0 duplicates"),
    ):
        if name in t:
            detail = ""
            if name == "100x_fewer_transitions_than_a_at_24h":
                detail = ", ".join(f"{k}: {v['times_fewer']:,.0f}x" for k, v in t[name]["cells"].items())
            elif name == "drain_within_10pct":
                detail = f"{t[name]['over_minimum_pct']} % over"
            add(f"- {'MET' if t[name]['met'] else 'MISSED'}: {label}{' (' + detail + ')' if detail else ''}")
    add("")
    add(
        f"Prices ({p['region']}, list, read {p['checked']}): Lambda ${p['lambda_per_request'] * 1e6:.2f} per 1M "
        f"requests + ${p['lambda_arm_per_gb_second']} per GB-s (arm64, 256 MB; duration modelled: "
        f"{p['lambda_duration_model']['base_ms']:.0f} ms + {p['lambda_duration_model']['ms_per_aws_call']:.0f} ms "
        "per SDK call made + time slept); Step Functions Standard "
        f"${p['step_functions_per_transition'] * 1000:.3f} per 1,000 transitions (retries included); DynamoDB "
        f"on-demand ${p['dynamodb_per_wru'] * 1e6:.3f} per 1M WRU, ${p['dynamodb_per_rru'] * 1e6:.3f} per 1M RRU "
        "(units computed from item sizes, the secondary index included); CloudWatch PutMetricData "
        f"${p['cloudwatch_per_put_metric_data'] * 1000:.2f} per 1,000; S3 requests the handlers make "
        f"${p.get('s3_per_get_request', 0) * 1000:.4f} (GET) / ${p.get('s3_per_put_request', 0) * 1000:.3f} (PUT) "
        "per 1,000; HealthOmics API calls, EventBridge AWS-service events and schedules, Lambda stream reads: "
        "no charge. Not included: CloudWatch Logs, KMS, the S3 reads HealthOmics makes, storage (the same for "
        "every design)."
    )
    return "\n".join(lines)


def results_md(results: dict[str, Any]) -> str:
    meta = results["meta"]
    m = meta["machine"]
    head = [
        "# Benchmark results",
        "",
        "Issue 8: orchestration cost per imported file, burst drain under the HealthOmics quotas, and synthesis "
        "overhead, against the naive designs. Produced by `./scripts/run-benchmark` (see `benchmarks/run.py`; "
        "the full figures are in `benchmarks/results/latest.json`, not committed).",
        "",
        f"- run: {meta['started']}, {meta['runtime_seconds'] / 60:.1f} minutes"
        f"{' (quick)' if meta.get('quick') else ''}",
        f"- machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, moto {m['moto']}; load average at "
        f"start {m['load_average_at_start']}",
        "",
    ]
    return "\n".join(head) + "\n" + results["table"] + "\n"
