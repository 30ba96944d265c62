"""The benchmark of issue 8, in one run: ``./scripts/run-benchmark`` (or ``python -m benchmarks.run``).

1. Orchestration cost per imported file: bursts of 1, 100 and 10,000 paired FASTQ files,
   imports lasting 10 minutes, 1 hour and 24 hours, job events delivered or all lost; our
   figures from the real handlers and the synthesized state machine on the simulated
   clock (``sim``), the baselines from their models (``baselines``).
2. A burst of 10,000 objects created within one minute under the HealthOmics quotas:
   peak API rates, peak concurrent jobs, time to drain against the quota-bound minimum,
   objects lost, duplicates.
3. ``cdk synth`` overhead, handler cold-start import time and asset size.

Prints the tables and writes ``benchmarks/results/latest.json`` (``--out``) and, with
``--write-results-md``, ``benchmarks/RESULTS.md``. Two scenario processes run at once.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks import _paths, aggregate, baselines, prices, report, scenarios, standing, synth_overhead, worker

DURATIONS = [("10 min", 600.0), ("1 h", 3600.0), ("24 h", 86400.0)]
MODES = [("events", True), ("polling", False)]
RESULTS_DIR = _paths.REPO / "benchmarks" / "results"


GIB = 1024**3
THROUGHPUT = 100 * 1024**2  # bytes/s per import job: assumed (AWS publishes no import throughput)
SIZES_GIB = (1, 10, 50)


def plan(size: str) -> list[dict[str, Any]]:
    """Every scenario to run, the longest first (it gets a process of its own).

    ``size``: "full" (``./scripts/run-benchmark``), "interim" (what a shared, loaded machine
    finishes in ~25 minutes: a 1,000-file burst, 24-hour imports with events only, 10,000
    files put together from measured parts), "quick" (a smoke run), "ci" (the test suite's)."""
    ci, quick, interim = size == "ci", size == "quick", size == "interim"
    big = 40 if ci else 1000 if (quick or interim) else 10_000
    small = [1, 4] if ci else [1, 100]
    durations = [DURATIONS[0], DURATIONS[2]] if (quick or ci) else DURATIONS
    modes = MODES
    specs = [
        scenarios.default_spec(
            name=f"burst-{big}", files=big, job_duration_seconds=600.0, wall_timeout=7200.0, concurrency=10
        )
    ]
    for files in small:
        for label, seconds in durations:
            for mode, deliver in modes:
                if interim and seconds > 3600 and not deliver:
                    continue  # a day of polling sweeps: modelled from the measured parts instead
                specs.append(
                    scenarios.default_spec(
                        name=f"{files}-{label}-{mode}",
                        files=files,
                        job_duration_seconds=seconds,
                        deliver_events=deliver,
                    )
                )
    if size == "full":  # per-file figures at a larger scale (flat?), short and long imports; the model's check
        for label, seconds in (DURATIONS[0], DURATIONS[2]):
            specs.append(scenarios.default_spec(name=f"1000-{label}-events", files=1000, job_duration_seconds=seconds))
    specs.append(scenarios.default_spec(name="idle-1 h", files=0, idle_seconds=900.0 if ci else 3600.0))
    throttled = 20 if ci else 200 if interim else 1000
    specs.append(
        scenarios.default_spec(
            name=f"throttled-{throttled}",
            files=throttled,
            job_duration_seconds=600.0,
            concurrency=10,
            throttle_fraction=0.2,
            pipeline_tps=8,  # above the service's 5 TPS: the double's TPS limit throttles too
            kind="throttled",
        )
    )
    size_files = small[-1]
    for gib in SIZES_GIB[1:2] if ci else SIZES_GIB[:2] if interim else SIZES_GIB:
        specs.append(
            scenarios.default_spec(
                name=f"size-{size_files}-{gib}GiB",
                files=size_files,
                job_duration_seconds=300.0,  # the fixed part; the bytes add the rest
                file_bytes=gib * GIB,
                throughput_bytes_per_second=THROUGHPUT,
                kind="size",
            )
        )
    for spec in specs:
        spec.setdefault("kind", "cell")
        spec["duration_label"] = next((lb for lb, s in DURATIONS if s == spec["job_duration_seconds"]), "")
        if spec["kind"] != "cell":
            spec["duration_label"] = ""
        spec["mode"] = "events" if spec["deliver_events"] else "polling"
    return specs


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    import moto

    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "moto": moto.__version__,
        "load_average_at_start": [round(x, 2) for x in load],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (1,000-file burst, fewer cells)")
    parser.add_argument("--ci", action="store_true", help="the test suite's size (tens of files, ~2 minutes)")
    parser.add_argument(
        "--interim", action="store_true", help="what a loaded shared machine finishes (1,000-file burst; see plan)"
    )
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "latest.json")
    parser.add_argument("--write-results-md", action="store_true", help="also write benchmarks/RESULTS.md")
    parser.add_argument("--skip-synth", action="store_true", help="skip the cdk synth / cold-start part")
    parser.add_argument("--render-only", type=Path, help="print the tables of a saved results JSON, run nothing")
    args = parser.parse_args(argv)
    if args.render_only:
        saved = json.loads(args.render_only.read_text())
        # What is derived from the measured scenarios is derived again (the code may be newer).
        size = (saved.get("meta") or {}).get("size", "full")
        saved["modelled"] = _modelled(saved["scenarios"], size)
        counts = (saved.get("standing") or {}).get("counts")
        if counts:
            saved["standing"] = _standing_from_counts(counts, saved["scenarios"])
        saved["targets"] = report.targets(saved)
        saved["table"] = report.render(saved)
        print(saved["table"])
        if args.write_results_md:
            (_paths.REPO / "benchmarks" / "RESULTS.md").write_text(report.results_md(saved))
        return 0
    size = "ci" if args.ci else "quick" if args.quick else "interim" if args.interim else "full"
    if size not in ("full", "interim"):  # a smoke run never replaces the committed results
        args.write_results_md = False
        if args.out == RESULTS_DIR / "latest.json":
            args.out = RESULTS_DIR / f"{size}.json"

    started = time.monotonic()
    started_at = datetime.datetime.now(datetime.UTC)
    meta = {
        "started": started_at.isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": size != "full",
        "size": size,
    }
    _log("synthesizing the example app (the state machine definition under test)")
    from support import synth

    definition = synth.pipeline_definition()
    outdir = synth.example_outdir()
    template = synth.example_template()

    specs = plan(size)
    results: dict[str, Any] = {}
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no jsii or moto state shared
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
        futures: dict[str, Future] = {s["name"]: pool.submit(worker.run_scenario, s, definition) for s in specs}
        longest = specs[0]["name"]
        for name, future in futures.items():
            if name == longest:
                continue
            results[name] = future.result()
            _log(_progress(name, results[name], started))
        synth_results: dict[str, Any] = {}
        if not args.skip_synth:
            _log("timing cdk synth with and without the construct (fresh processes)")
            synth_results["synth"] = synth_overhead.synth_times(repetitions=3)
            _log("timing handler cold-start imports")
            synth_results["cold_start"] = synth_overhead.cold_start(outdir, repetitions=5)
        results[longest] = futures[longest].result()
        _log(_progress(longest, results[longest], started))

    base = _baselines(specs, results)
    out = {
        "meta": {**meta, "runtime_seconds": round(time.monotonic() - started, 1)},
        "prices": prices.describe(),
        "quotas": {
            "service_concurrent_import_jobs": scenarios.SERVICE_CONCURRENT_JOB_QUOTA,
            "service_tps_per_api": scenarios.SERVICE_TPS_QUOTA,
            "pipeline_max_concurrent_import_jobs": scenarios.PIPELINE_MAX_CONCURRENT_IMPORT_JOBS,
            "pipeline_omics_tps": scenarios.PIPELINE_OMICS_TPS,
        },
        "scenarios": results,
        "baselines": base,
        **synth_results,
    }
    out["modelled"] = _modelled(results, size)
    out["standing"] = _standing(template, results)
    out["targets"] = report.targets(out)
    text = report.render(out)
    out["table"] = text
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, default=str))
    if args.write_results_md:
        (_paths.REPO / "benchmarks" / "RESULTS.md").write_text(report.results_md(out))
    print(text)
    print(f"\nwrote {args.out}" + (" and benchmarks/RESULTS.md" if args.write_results_md else ""))
    print(f"benchmark runtime: {out['meta']['runtime_seconds']:.0f} s")
    failed = [n for n, r in results.items() if "error" in r]
    return 1 if failed else 0


def _baselines(specs: list[dict[str, Any]], results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"cells": {}, "burst": None}
    for files in sorted({spec["files"] for spec in specs} | {10_000}):
        if not files:
            continue
        per_read_set = 1 if files == 1 else 2
        for label, seconds in DURATIONS:
            key = f"{files}-{label}"
            out["cells"][key] = {
                "a": baselines.polling_state_machine(seconds, files, per_read_set),
                "b": baselines.fire_and_forget(files, per_read_set),
                "c": baselines.event_driven(files, per_read_set),
            }
    big = specs[0]
    out["burst"] = baselines.under_burst(
        big["files"],
        2,
        big["job_duration_seconds"],
        concurrent_quota=scenarios.SERVICE_CONCURRENT_JOB_QUOTA,
        tps_quota=scenarios.SERVICE_TPS_QUOTA,
        within_seconds=big["within_seconds"],
    )
    return out


def _modelled(results: dict[str, Any], size: str) -> dict[str, Any]:
    """The many-file cells not simulated one by one (see ``aggregate``), and the model's check."""
    samples = [s for r in results.values() if "error" not in r for s in r.get("sweep_samples", [])]
    fit = aggregate.fit_sweep(samples)
    out: dict[str, Any] = {"fit": fit, "cells": {}, "check": None}
    by_name = {name: r for name, r in results.items() if "error" not in r}
    big = next((r for name, r in by_name.items() if name.startswith("burst-")), None)
    small_files = 4 if size == "ci" else 100
    reference = by_name.get(f"{small_files}-10 min-events")
    if not big or not reference:
        return out
    quota = min(scenarios.SERVICE_CONCURRENT_JOB_QUOTA, scenarios.PIPELINE_MAX_CONCURRENT_IMPORT_JOBS)
    sizes = [big["files"]] + ([10_000] if size == "interim" else [])
    for files in sizes:
        for label, _ in DURATIONS:
            for mode, _ in MODES:
                if files == big["files"] and label == "10 min" and mode == "events":
                    continue  # simulated
                small = by_name.get(f"{small_files}-{label}-{mode}")
                if small:
                    out["cells"][f"{files}-{label}-{mode}"] = aggregate.model(
                        files=files, big=big, small=small, small_reference=reference, fit=fit, concurrent_jobs=quota
                    )
    measured, short = by_name.get("1000-24 h-events"), by_name.get("1000-10 min-events")
    small = by_name.get(f"{small_files}-24 h-events")
    if measured and short and small:
        check = aggregate.model(
            files=1000, big=short, small=small, small_reference=reference, fit=fit, concurrent_jobs=quota
        )
        out["check"] = {
            "cell": "1,000 files, 24 h, events",
            "modelled": check["cost_per_1000_files"],
            "measured": measured["cost_per_1000_files"]["total"],
        }
    return out


def _standing(template: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    return _standing_from_counts(standing.template_counts(template), results)


def _standing_from_counts(counts: dict[str, int], results: dict[str, Any]) -> dict[str, Any]:
    ok = {name: r for name, r in results.items() if "error" not in r}
    idle = ok.get("idle-1 h")
    busy = max((r.get("metric_set_count", 0) for r in ok.values()), default=0)
    return standing.monthly(counts, idle, busy, idle.get("metric_set_count", 0) if idle else 0)


def _progress(name: str, result: dict[str, Any], started: float) -> str:
    if "error" in result:
        return f"{name}: ERROR {result['error'].strip().splitlines()[-1]}"
    sim = result.get("sim", {})
    return (
        f"{name}: {result.get('imported', 0)}/{result.get('files', 0)} imported, "
        f"{sim.get('sim_seconds', 0):.0f} s simulated in {result.get('wall_seconds', 0):.0f} s "
        f"(elapsed {time.monotonic() - started:.0f} s)"
    )


def _log(message: str) -> None:
    print(f"[benchmark] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
