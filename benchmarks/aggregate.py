"""Cells too long to run one by one (10,000 files, imports of 1 h and 24 h), put together
from measured parts instead of simulating every sweep.

A 24-hour 10,000-file run is 5 waves of 10 jobs: 5 simulated days, 1,440 sweeps each
reading thousands of in-flight items through moto - hours of wall time. What such a run
costs is the sum of parts the benchmark measures:

* the files' own path (intake, starter, the state machine, its functions, the completion
  events): measured at 10,000 files with 10-minute jobs, the sweep's invocations taken
  out; plus what a longer import or lost events add to that path per job, measured at
  100 files (one job) for the same duration and completion mode;
* the sweeps: one every 5 minutes from the first upload to the last file recorded; each
  costs what the measured sweeps cost at that many files in flight (a straight line
  fitted to every sweep the benchmark ran that polled nothing: files in flight -> $),
  plus the polls it makes (per poll: the measured sweeps that polled, beyond the line);
  polls per job from the 100-file run of the same duration and mode;
* files in flight over time: all of them until the first wave of jobs ends, then one
  wave fewer after each wave (the wave length measured at 100 files, lateness of the
  polls included).

``check`` applies the same model to a cell that was also simulated and reports both.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from benchmarks import prices

SWEEP_SECONDS = 300.0


def sample_dollars(sample: dict[str, Any]) -> float:
    return prices.cost(
        lambda_invocations=1,
        lambda_ms_total=sample["lambda_ms"],
        state_transitions=0,
        wru=sample["wru"],
        rru=sample["rru"],
        put_metric_data=sample["put_metric_data"],
        log_bytes=sample["log_bytes"] + prices.LAMBDA_PLATFORM_LOG_BYTES,
        cold_starts=0.01,
    )["total"]


def fit_sweep(samples: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Least squares $ = a + b x in_flight over sweeps that polled nothing; $ per poll beyond it."""
    samples = [s for s in samples if s.get("in_flight") is not None]
    quiet = [(s["in_flight"], sample_dollars(s)) for s in samples if not s["polls"]]
    if not quiet:
        return {"a": 0.0, "b": 0.0, "per_poll": 0.0, "samples": 0}
    n = len(quiet)
    mx = sum(x for x, _ in quiet) / n
    my = sum(y for _, y in quiet) / n
    var = sum((x - mx) ** 2 for x, _ in quiet)
    b = sum((x - mx) * (y - my) for x, y in quiet) / var if var else 0.0
    a = my - b * mx
    polled = [s for s in samples if s["polls"]]
    per_poll = (
        sum((sample_dollars(s) - (a + b * s["in_flight"])) / s["polls"] for s in polled) / len(polled)
        if polled
        else 0.0
    )
    return {"a": a, "b": b, "per_poll": max(per_poll, 0.0), "samples": n, "polled_samples": len(polled)}


def _path_dollars(result: dict[str, Any]) -> float:
    """$ of one measured run without its sweep invocations."""
    n = max(result["imported"], 1)
    return (result["cost_per_1000_files"]["total"] - result["sweep_cost_per_1000_files"]["total"]) * n / 1000


def model(
    *,
    files: int,
    big: dict[str, Any],
    small: dict[str, Any],
    small_reference: dict[str, Any],
    fit: dict[str, float],
    concurrent_jobs: int,
) -> dict[str, Any]:
    """$ per 1,000 files of ``files`` files for the duration and mode of ``small``.

    ``big``: the measured many-file run (10-minute jobs, events); ``small_reference``: the
    measured small run with the same files per job as ``small`` and the conditions of ``big``."""
    files_per_job = max(big["imported"], 1) / max(big["import_jobs"], 1)
    path = _path_dollars(big) / max(big["imported"], 1)
    # What the duration or the mode adds to a job's path (events lost: polls finish the jobs)
    path += (_path_dollars(small) - _path_dollars(small_reference)) / max(small["import_jobs"], 1) / files_per_job
    jobs = math.ceil(files / files_per_job)
    waves = math.ceil(jobs / concurrent_jobs)
    per_wave_files = concurrent_jobs * files_per_job
    first = (small["drain"]["first_job_start_s"] or 0.0) if small["drain"] else 0.0
    wave = max(small["drain"]["last_file_terminal_s"] - first, 1.0)
    first = max(first, big["drain"]["first_job_start_s"] or 0.0)
    done_after = first + waves * wave
    sweeps = int(done_after // SWEEP_SECONDS)
    sweep_dollars = 0.0
    for k in range(1, sweeps + 1):
        t = k * SWEEP_SECONDS
        finished_waves = max(0, math.floor((t - first) / wave)) if t > first else 0
        in_flight = max(0.0, files - finished_waves * per_wave_files)
        sweep_dollars += fit["a"] + fit["b"] * in_flight
    polls_per_job = small["omics_calls"].get("GetReadSetImportJob", 0) / max(small["import_jobs"], 1)
    sweep_dollars += jobs * polls_per_job * fit["per_poll"]
    total = path * files + sweep_dollars
    return {
        "files": files,
        "cost_per_1000_files": total / files * 1000,
        "path_per_1000_files": path * 1000,
        "sweep_per_1000_files": sweep_dollars / files * 1000,
        "sweeps": sweeps,
        "jobs": jobs,
        "waves": waves,
        "wave_seconds": round(wave, 1),
        "done_after_s": round(done_after, 1),
        "polls_per_job": polls_per_job,
        "per_file_transitions": big["per_file"]["state_transitions"],  # per job, the same whatever its length
    }
