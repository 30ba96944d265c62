"""The whole fault-injection enumeration (issue 16), beyond what CI runs.

Every scenario of ``tests/support/fault_scenarios.py`` x every call site its clean run
reaches x every fault kind, plus seeded storms; the cases run in worker processes.
Prints a summary per scenario and per symptom and writes one JSON line per case::

    python -m benchmarks.faults [--workers 2] [--scenario NAME ...] [--storms N] [--storm-objects M] [--out PATH]

(``./scripts/run-benchmark --faults`` passes its options here.)
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks import _paths  # noqa: F401  (import paths and the offline AWS environment)


def _case(case: tuple[str, str, str]) -> dict[str, Any]:
    from support import fault_scenarios as fs
    from support.faults import Site

    name, site, kind = case
    started = time.monotonic()
    try:
        problems, fired = fs.single_fault(name, Site.parse(site), kind)
    except Exception as error:
        problems, fired = [f"harness error: {type(error).__name__}: {error}"], True
    seconds = round(time.monotonic() - started, 2)
    return {"scenario": name, "site": site, "kind": kind, "fired": fired, "problems": problems, "seconds": seconds}


def _storm(seed_and_objects: tuple[int, int]) -> dict[str, Any]:
    from support import fault_scenarios as fs

    seed, objects = seed_and_objects
    started = time.monotonic()
    problems = fs.storm_problems(seed, objects)
    return {
        "scenario": f"storm-{seed}",
        "objects": objects,
        "problems": problems,
        "seconds": round(time.monotonic() - started, 2),
    }


def symptom(problem: str) -> str:
    """A problem line without the names that differ per case (keys, ids, counts)."""
    head = problem.split(":", 1)[0]
    return re.sub(r"\d+", "N", head)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scenario", action="append", help="only these scenarios (repeatable)")
    parser.add_argument("--storms", type=int, default=3, help="seeded storms to run (seeds 1..N)")
    parser.add_argument("--ci", action="store_true", help="only the cases CI runs")
    parser.add_argument("--out", default="benchmarks/results/faults.jsonl")
    from support import fault_scenarios as fs

    parser.add_argument(
        "--storm-objects", type=int, default=fs.STORM_OBJECTS, help="objects in each storm (default %(default)s)"
    )
    args = parser.parse_args(argv)

    names = args.scenario or list(fs.SCENARIOS)
    chosen = fs.ci_cases() if args.ci else fs.cases(names)
    cases = [(name, str(site), kind) for name, site, kind in chosen]
    print(
        f"{len(cases)} single-fault cases in {len(names)} scenarios,"
        f" {args.storms} storms of {args.storm_objects} objects",
        flush=True,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    failing: Counter = Counter()
    symptoms: Counter = Counter()
    with out.open("w") as sink, multiprocessing.Pool(args.workers) as pool:
        results = pool.imap_unordered(_case, cases, chunksize=2)
        storms = pool.imap_unordered(_storm, [(seed, args.storm_objects) for seed in range(1, args.storms + 1)])
        for result in itertools.chain(results, storms):
            sink.write(json.dumps(result) + "\n")
            sink.flush()
            if result["problems"]:
                failing[result["scenario"]] += 1
                symptoms.update({symptom(p) for p in result["problems"]})
    per_scenario = Counter(name for name, _, _ in cases)
    for name in per_scenario:
        print(f"{name:20} {per_scenario[name]:5} cases, {failing[name]:5} broke the promise")
    for name, count in symptoms.most_common():
        print(f"  {count:5} x {name}")
    print(f"{time.monotonic() - started:.0f} s; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
