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

from benchmarks import _paths, baselines, prices, report, scenarios, synth_overhead, worker

DURATIONS = [("10 min", 600.0), ("1 h", 3600.0), ("24 h", 86400.0)]
MODES = [("events", True), ("polling", False)]
RESULTS_DIR = _paths.REPO / "benchmarks" / "results"


def plan(quick: bool) -> list[dict[str, Any]]:
    """Every scenario to run, the longest first (it gets a process of its own)."""
    big = 1000 if quick else 10_000
    durations = [DURATIONS[0], DURATIONS[2]] if quick else DURATIONS
    modes = MODES[:1] if quick else MODES
    specs = [scenarios.default_spec(name=f"burst-{big}", files=big, job_duration_seconds=600.0, wall_timeout=3000.0)]
    for files in (1, 100):
        for label, seconds in durations:
            for mode, deliver in modes:
                specs.append(
                    scenarios.default_spec(
                        name=f"{files}-{label}-{mode}",
                        files=files,
                        job_duration_seconds=seconds,
                        deliver_events=deliver,
                    )
                )
    if not quick:  # per-file figures at a larger scale (flat?), short and long imports
        for label, seconds in (DURATIONS[0], DURATIONS[2]):
            specs.append(scenarios.default_spec(name=f"1000-{label}-events", files=1000, job_duration_seconds=seconds))
    specs.append(scenarios.default_spec(name="idle-1 h", files=0, idle_seconds=3600.0))
    for spec in specs:
        spec["duration_label"] = next((lb for lb, s in DURATIONS if s == spec["job_duration_seconds"]), "")
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
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "latest.json")
    parser.add_argument("--write-results-md", action="store_true", help="also write benchmarks/RESULTS.md")
    parser.add_argument("--skip-synth", action="store_true", help="skip the cdk synth / cold-start part")
    parser.add_argument("--render-only", type=Path, help="print the tables of a saved results JSON, run nothing")
    args = parser.parse_args(argv)
    if args.render_only:
        saved = json.loads(args.render_only.read_text())
        saved["targets"] = report.targets(saved)
        saved["table"] = report.render(saved)
        print(saved["table"])
        if args.write_results_md:
            (_paths.REPO / "benchmarks" / "RESULTS.md").write_text(report.results_md(saved))
        return 0
    if args.quick:  # a smoke run never replaces the committed results
        args.write_results_md = False
        if args.out == RESULTS_DIR / "latest.json":
            args.out = RESULTS_DIR / "quick.json"

    started = time.monotonic()
    started_at = datetime.datetime.now(datetime.UTC)
    meta = {"started": started_at.isoformat(timespec="seconds"), "machine": machine(), "quick": args.quick}
    _log("synthesizing the example app (the state machine definition under test)")
    from support import synth

    definition = synth.pipeline_definition()
    outdir = synth.example_outdir()

    specs = plan(args.quick)
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
    for spec in specs:
        files = spec["files"]
        if not files:
            continue
        per_read_set = 1 if files == 1 else 2
        for label, seconds in DURATIONS:
            key = f"{files}-{label}"
            out["cells"][key] = {
                "a": baselines.polling_state_machine(seconds, files, per_read_set),
                "b": baselines.fire_and_forget(files, per_read_set),
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
