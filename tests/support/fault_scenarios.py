"""Scenarios for fault injection, and the runner that tries each one under faults.

A scenario is a script against a ``FaultPipeline``: uploads, deliveries (duplicated,
reordered, late), re-uploads, the operator's steps, and ``settle()`` to let the pipeline
finish. ``clean(scenario)`` runs it without faults and records every call site it reaches;
``run_with(scenario, plan)`` runs it again with a fault plan and returns what broke the
promise (``faults.broken_promises``, compared with the clean run's outcomes).

Small scenarios cover the product's shapes one each (lanes, pairs, aligned, duplicates,
re-upload, sample sheet after files, redrive) so that every call site of every handler is
reached; ``storm(seed)`` is a large random one with random faults at many sites.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omics_autoload_runtime.domain.options import AssemblyOptions

from support.faults import KINDS, FaultInjector, FaultPipeline, Site, broken_promises, outcomes

SHEET = "omics-samplesheet.csv"


@dataclass(frozen=True)
class Scenario:
    name: str
    script: Callable[[FaultPipeline], None]
    options: Mapping[str, Any] | None = None  # FaultPipeline keyword arguments

    def pipeline(self, faults: FaultInjector) -> FaultPipeline:
        return FaultPipeline(faults, **dict(self.options or {}))


def _upload(pipe: FaultPipeline, keys: Iterable[str], **deliver: Any) -> None:
    pipe.deliver([pipe.put(key) for key in keys], **deliver)


def lanes(pipe: FaultPipeline) -> None:
    """One Illumina sample, two lanes, paired: two read sets in one job."""
    _upload(pipe, [f"runs/A01/NA1_S1_L00{lane}_R{r}_001.fastq.gz" for lane in (1, 2) for r in (1, 2)])
    pipe.settle()


def pairs(pipe: FaultPipeline) -> None:
    """An SRA pair, R2 first, one event each, and a single-end run."""
    _upload(pipe, ["sra/SRR1_2.fastq.gz", "sra/SRR1_1.fastq.gz", "sra/ERR2.fastq.gz"], per_event=1)
    pipe.settle()


def aligned(pipe: FaultPipeline) -> None:
    """BAM and CRAM against the reference, and an unaligned BAM."""
    _upload(pipe, ["aligned/NA1.bam", "aligned/NA2.cram", "unaligned/NA3.ubam"])
    pipe.settle()


def duplicates(pipe: FaultPipeline) -> None:
    """Every S3 event twice, then again one by one in reverse; job events twice."""
    stored = [pipe.put(key) for key in ("dup/S1_R1.fq.gz", "dup/S1_R2.fq.gz", "dup/x.ubam")]
    pipe.deliver(stored, duplicates=True)
    pipe.deliver(stored[::-1], per_event=1)
    pipe.event_copies = 2
    pipe.settle()


def reupload(pipe: FaultPipeline) -> None:
    """A new version between intake and the job's read (its event late), and one after
    the import: each version gets its own outcome."""
    first = pipe.put("re/a.ubam", b"version one")
    pipe.deliver([first])
    second = pipe.put("re/a.ubam", b"version two")
    pipe.step(120, sweep=False)  # the job starts, and reads what is there now: version two
    pipe.deliver([second])
    pipe.settle()
    pipe.deliver([pipe.put("re/a.ubam", b"version three")])
    pipe.settle()


def sheet_after_files(pipe: FaultPipeline) -> None:
    """Two files imported single-end; then a sample sheet pairing them, then their S3
    events once more (redelivered): nothing may change."""
    files = [pipe.put(key) for key in ("sheet/left.fq.gz", "sheet/right.fq.gz")]
    pipe.deliver(files)
    pipe.settle()
    body = b"source1,source2,subject_id,sample_id\nleft.fq.gz,right.fq.gz,P1,S1\n"
    pipe.deliver([pipe.put(f"sheet/{SHEET}", body)])
    pipe.deliver(files, per_event=1)
    pipe.settle()


# A BCL Convert (v2) sheet as NovaSeq X writes it: lanes, dual index, a project.
V2_SHEET = b"""[Header]
FileFormatVersion,2
RunName,NVX_20261201_RUN7

[Reads]
Read1Cycles,151
Read2Cycles,151
Index1Cycles,10
Index2Cycles,10

[BCLConvert_Data]
Lane,Sample_ID,Index,Index2
1,LIB-7,GAACTGAGCG,TCGTGGAGCG
2,LIB-7,GAACTGAGCG,TCGTGGAGCG

[Cloud_Data]
Sample_ID,ProjectName
LIB-7,ONCO-2026
"""


def sheet_required(pipe: FaultPipeline) -> None:
    """``require_sample_sheet``: lane 1 arrives before the run's sheet (it waits), the sheet
    (its event twice), then lane 2: all four imported, none with name-based ids."""
    _upload(pipe, [f"nvx/RUN7/Fastq/LIB-7_S1_L001_R{r}_001.fastq.gz" for r in (1, 2)], per_event=1)
    pipe.step(120, sweep=True)
    pipe.deliver([pipe.put("nvx/RUN7/SampleSheet.csv", V2_SHEET)], duplicates=True)
    _upload(pipe, [f"nvx/RUN7/Fastq/LIB-7_S1_L002_R{r}_001.fastq.gz" for r in (1, 2)])
    pipe.settle()


def redrive(pipe: FaultPipeline) -> None:
    """The job fails; the ImportFailures alarm fires and the operator runs
    ``omics-autoload redrive`` (``settle`` does, as the README says): imported then."""
    pipe.double.fail_next_job("Insufficient permissions to read s3://sequencing-runs/rd/")
    _upload(pipe, ["rd/a.ubam", "rd/S2_R1.fq.gz", "rd/S2_R2.fq.gz"])
    pipe.settle()


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("lanes", lanes),
        Scenario("pairs", pairs),
        Scenario("aligned", aligned),
        Scenario("duplicates", duplicates),
        Scenario("reupload", reupload),
        Scenario("sheet_after_files", sheet_after_files),
        Scenario("redrive", redrive),
        Scenario("sheet-required", sheet_required, {"env": {"REQUIRE_SHEET_PREFIXES": '["nvx/"]'}}),
    )
}


# --------------------------------------------------------------------------- storms

STORM_OBJECTS = 200  # the benchmark's storms (CI runs a smaller one)


def storm_script(seed: int, objects: int) -> Callable[[FaultPipeline], None]:
    """Hundreds of objects: pairs, singles, aligned files, sheets before and after their
    files; deliveries shuffled and duplicated, late mates, re-uploads and deletions."""

    def script(pipe: FaultPipeline) -> None:
        rng = random.Random(f"storm:{seed}")
        keys: list[str] = []
        while len(keys) < objects:
            n = len(keys)
            shape = rng.choice(("pair", "pair", "single", "bam", "sheet"))
            if shape == "pair":
                keys += [f"st/p{n}/S{n}_L001_R1_001.fastq.gz", f"st/p{n}/S{n}_L001_R2_001.fastq.gz"]
            elif shape == "single":
                keys.append(f"st/s/ERR{n}.fastq.gz")
            elif shape == "bam":
                keys.append(f"st/b/NA{n}.{rng.choice(('bam', 'cram', 'ubam'))}")
            else:
                keys += [f"st/h{n}/left.fq.gz", f"st/h{n}/right.fq.gz"]
        rng.shuffle(keys)
        late = set(rng.sample(keys, len(keys) // 10))
        early = [k for k in keys if k not in late]
        sheets = sorted({k.rsplit("/", 1)[0] for k in keys if "/h" in k})
        body = b"source1,source2,subject_id,sample_id\nleft.fq.gz,right.fq.gz,P,S\n"
        for folder in sheets[: len(sheets) // 2]:  # half the sheets before their files
            pipe.deliver([pipe.put(f"{folder}/{SHEET}", body)])
        stored = [pipe.put(key) for key in early]
        batch = stored + rng.sample(stored, len(stored) // 5)  # a fifth delivered twice
        rng.shuffle(batch)
        pipe.deliver(batch, per_event=rng.choice((1, 5, 10)))
        for victim in rng.sample(stored, len(stored) // 20):
            if rng.random() < 0.5:
                pipe.deliver([pipe.put(victim.key, b"a new version")])
            else:
                pipe.s3.delete_object(Bucket="sequencing-runs", Key=victim.key)
        pipe.step(120, sweep=False)
        for folder in sheets[len(sheets) // 2 :]:
            pipe.deliver([pipe.put(f"{folder}/{SHEET}", body)])
        pipe.run(max_steps=6)
        _upload(pipe, sorted(late), per_event=3)
        pipe.settle()

    return script


def storm(seed: int, objects: int = STORM_OBJECTS) -> Scenario:
    options = {"options": AssemblyOptions(max_sources_per_job=20)}
    return Scenario(f"storm-{seed}", storm_script(seed, objects), options)


# --------------------------------------------------------------------------- running


@dataclass
class Clean:
    """The fault-free run of a scenario: its outcomes, call sites and own problems."""

    outcomes: dict[tuple[str, int], str]
    sites: list[Site]
    problems: list[str]

    def to_json(self) -> str:
        return json.dumps(
            {
                "outcomes": [[key, n, status] for (key, n), status in sorted(self.outcomes.items())],
                "sites": [str(site) for site in self.sites],
                "problems": self.problems,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Clean:
        data = json.loads(text)
        outcomes = {(key, n): status for key, n, status in data["outcomes"]}
        return cls(outcomes, [Site.parse(site) for site in data["sites"]], data["problems"])


def run_clean(name: str) -> Clean:
    scenario = SCENARIOS[name]
    faults = FaultInjector()
    with scenario.pipeline(faults) as pipe:
        scenario.script(pipe)
        return Clean(outcomes(pipe), sorted(set(faults.reached)), broken_promises(pipe))


# A directory that the processes of one test session share (tests/conftest.py sets it): the
# clean runs take about a minute together, and every xdist worker needs them to collect the
# cases; the first process to get a scenario's lock runs it, the others read its result.
SHARED_ENV = "OMICS_FAULT_CLEAN_RUNS"
_CLEAN: dict[str, Clean] = {}


@functools.cache
def _digest() -> str:
    """What a clean run depends on: the runtime, the harness, and the libraries that answer it."""
    import botocore
    import moto

    tests = Path(__file__).resolve().parents[1]
    files = sorted((tests.parent / "lambda" / "omics_autoload_runtime").rglob("*.py")) + sorted(
        (tests / "support").glob("*.py")
    )
    digest = hashlib.sha256(f"{moto.__version__} {botocore.__version__}".encode())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _shared(name: str, directory: Path, *, wait: bool) -> Clean | None:
    """The clean run from ``directory``, run here if no other process has it; None when
    another process is running it and ``wait`` is false."""
    path = directory / f"{name}-{_digest()}.json"
    with (directory / f"{name}.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return None
        if not path.exists():
            partial = path.with_suffix(f".{os.getpid()}")
            partial.write_text(run_clean(name).to_json())
            partial.replace(path)
        return Clean.from_json(path.read_text())


def clean_all(names: Iterable[str]) -> None:
    """Fill the process's cache with the clean runs of ``names``: with a shared directory,
    the ones no other process is running first, then wait for the rest."""
    todo = [name for name in names if name not in _CLEAN]
    shared = os.environ.get(SHARED_ENV)
    if not shared:
        _CLEAN.update((name, run_clean(name)) for name in todo)
        return
    directory = Path(shared)
    directory.mkdir(parents=True, exist_ok=True)
    for wait in (False, True):
        for name in list(todo):
            found = _shared(name, directory, wait=wait)
            if found is not None:
                _CLEAN[name] = found
                todo.remove(name)


def clean(name: str) -> Clean:
    """The clean run of scenario ``name`` (once per test session, see ``SHARED_ENV``)."""
    clean_all([name])
    return _CLEAN[name]


def run_with(scenario: Scenario, faults: FaultInjector, expected: Mapping[tuple[str, int], str] | None) -> list[str]:
    with scenario.pipeline(faults) as pipe:
        scenario.script(pipe)
        return broken_promises(pipe, expected)


def single_fault(name: str, site: Site, kind: str) -> tuple[list[str], bool]:
    """The scenario with one fault at ``site``; (problems, whether the fault fired)."""
    faults = FaultInjector(plan={site: kind})
    problems = run_with(SCENARIOS[name], faults, clean(name).outcomes)
    return problems, bool(faults.fired)


def cases(names: Iterable[str]) -> list[tuple[str, Site, str]]:
    """Every (scenario, site, kind) of the clean runs of ``names``."""
    names = list(names)
    clean_all(names)
    return [(name, site, kind) for name in names for site in clean(name).sites for kind in KINDS]


# CI's share, fixed whatever the handlers' call sites: PER_SCENARIO distinct sites of each
# scenario drawn with a seed of the scenario's own, each kind in turn.
PER_SCENARIO = 12


def ci_cases() -> list[tuple[str, Site, str]]:
    clean_all(SCENARIOS)
    chosen = []
    for name in SCENARIOS:
        sites = clean(name).sites
        drawn = random.Random(f"ci:{name}").sample(sites, min(PER_SCENARIO, len(sites)))
        chosen += sorted((name, site, KINDS[i % len(KINDS)]) for i, site in enumerate(drawn))
    return chosen


def storm_problems(seed: int, objects: int = STORM_OBJECTS, chance: float = 0.02) -> list[str]:
    """A storm run with a fault at ``chance`` of every call (any kind, seeded), compared
    with the same storm without faults."""
    scenario = storm(seed, objects)
    with scenario.pipeline(FaultInjector()) as pipe:
        scenario.script(pipe)
        expected = outcomes(pipe)
    return run_with(scenario, FaultInjector(storm=(random.Random(f"faults:{seed}"), chance)), expected)
