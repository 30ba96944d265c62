"""End to end: S3 events -> intake -> stream -> starter -> the synthesized import state machine
(run by moto) -> HealthOmics double -> completion -> finalize. Every file must end in the
right terminal state, and nothing may be imported twice.

Each scenario prints its counts (Lambda invocations per handler, state transitions, omics
API calls, per imported file); set PIPELINE_COUNTS_FILE to also collect them as JSON.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter

import pytest
from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.handlers import intake as intake_function
from support.pipeline import Pipeline, run_demo

COUNTS: dict[str, dict] = {}


def report(name: str, pipe: Pipeline) -> None:
    summary = pipe.collect().summary()
    COUNTS[name] = summary
    print(f"\n[{name}] {json.dumps(summary, sort_keys=True)}")
    path = os.environ.get("PIPELINE_COUNTS_FILE")
    if path:
        existing = json.loads(open(path).read()) if os.path.exists(path) else {}  # noqa: SIM115
        existing[name] = summary
        with open(path, "w") as handle:
            json.dump(existing, handle, indent=1, sort_keys=True)


def check(pipe: Pipeline, expected: dict[str, str]) -> dict[str, dict]:
    objects = pipe.objects()
    got = {key: objects[key]["status"] for key in expected}
    assert got == expected, {k: (objects[k]["status"], objects[k].get("reason")) for k in expected}
    assert pipe.all_terminal()
    assert not pipe.handler_failures, pipe.handler_failures
    # Nothing imported twice: one read set per source file set, and every IMPORTED file's
    # read set exists in the store.
    sources = Counter(tuple(sorted(rs["sourceFiles"].values())) for rs in pipe.double.read_sets.values())
    assert all(n == 1 for n in sources.values()), sources
    imported_ids = {o["readSetId"] for o in objects.values() if o["status"] == tracking.IMPORTED}
    assert imported_ids <= set(pipe.double.read_sets)
    assert len(pipe.double.read_sets) == len(imported_ids)
    return objects


ILLUMINA = [
    f"runs/240101_A01/{s}_S{n}_L00{lane}_R{r}_001.fastq.gz"
    for n, s in ((1, "NA12878"), (2, "NA12891"))
    for lane in (1, 2)
    for r in (1, 2)
]


def test_paired_illumina_run_with_lanes():
    with Pipeline(state_machine=True) as pipe:
        sheet = b"[Header]\nFileFormatVersion,2\n[BCLConvert_Data]\nSample_ID,Index\nNA12878,ACGT\nNA12891,TGCA\n"
        pipe.upload(["runs/240101_A01/SampleSheet.csv"], body=sheet)
        extra = [
            "runs/240101_A01/NA12878_S1_L001_I1_001.fastq.gz",
            "runs/240101_A01/Undetermined_S0_L001_R1_001.fastq.gz",
        ]
        pipe.upload(ILLUMINA + extra)
        extra.append("runs/240101_A01/SampleSheet.csv")
        pipe.run()
        objects = check(pipe, {**{k: tracking.IMPORTED for k in ILLUMINA}, **{k: tracking.SKIPPED for k in extra}})
        assert len(pipe.double.read_sets) == 4
        names = sorted(rs["name"] for rs in pipe.double.read_sets.values())
        assert names == ["NA12878_S1_L001", "NA12878_S1_L002", "NA12891_S2_L001", "NA12891_S2_L002"]
        assert objects[ILLUMINA[0]]["readSetId"] == objects[ILLUMINA[1]]["readSetId"]
        assert pipe.counts.executions == 1  # the mapping's batch: one job for all four
        report("illumina_lanes", pipe)


def test_sra_pairs_and_single_end():
    files = [
        "sra/SRR1001_1.fastq.gz",
        "sra/SRR1001_2.fastq.gz",
        "sra/SRR1002_1.fq",
        "sra/SRR1002_2.fq",
        "sra/ERR2003.fastq.gz",
    ]
    with Pipeline(state_machine=True) as pipe:
        pipe.upload(files)
        pipe.run()
        check(pipe, dict.fromkeys(files, tracking.IMPORTED))
        assert sorted(rs["sampleId"] for rs in pipe.double.read_sets.values()) == ["ERR2003", "SRR1001", "SRR1002"]
        report("sra_pairs", pipe)


def test_bam_cram_with_reference_and_ubam():
    files = ["aligned/NA1.bam", "aligned/NA2.cram", "unaligned/NA3.ubam", "unaligned/NA4.unmapped.bam"]
    with Pipeline(state_machine=True) as pipe:
        pipe.upload([*files, "aligned/NA1.bam.bai"])
        pipe.run()
        check(pipe, {**dict.fromkeys(files, tracking.IMPORTED), "aligned/NA1.bam.bai": tracking.SKIPPED})
        types = {rs["name"]: (rs["fileType"], rs.get("referenceArn")) for rs in pipe.double.read_sets.values()}
        assert types["NA1"] == ("BAM", pipe.reference_arn) and types["NA2"] == ("CRAM", pipe.reference_arn)
        assert types["NA3"] == ("UBAM", None) and types["NA4"] == ("UBAM", None)
        report("bam_cram_ubam", pipe)


def test_duplicate_deliveries_of_every_event():
    files = [*ILLUMINA[:4], "dup/x.ubam"]
    with Pipeline(state_machine=True) as pipe:
        stored = [pipe.put(key) for key in files]
        pipe.deliver(stored, duplicates=True)
        pipe.deliver(stored[::-1], per_event=1)  # and once more, one by one, in reverse
        original = pipe.deliver_job_events

        def twice() -> int:
            events = pipe.double.take_events()
            pipe.double._events.extend(events + events)
            return original()

        pipe.deliver_job_events = twice
        records = pipe.stream_records()
        pipe.reread_stream()  # the starter sees the whole stream twice
        pipe.run()
        pipe.invoke("starter", {"Records": [r for r in records if r["eventName"] in ("INSERT", "MODIFY")]})
        check(pipe, dict.fromkeys(files, tracking.IMPORTED))
        assert pipe.double.import_jobs_started("readSet") == 1
        report("duplicates", pipe)


def test_mates_in_reverse_order_and_concurrently():
    with Pipeline(state_machine=True) as pipe:
        pipe.upload(["rev/A_S1_L001_R2_001.fastq.gz"])
        pipe.upload(["rev/A_S1_L001_R1_001.fastq.gz"])
        r1, r2 = pipe.put("conc/B_R1.fastq.gz"), pipe.put("conc/B_R2.fastq.gz")
        barrier = threading.Barrier(2)

        def deliver(stored):
            barrier.wait()
            intake_function.handler({"Records": [pipe.s3_record(stored)]})
            pipe.counts.invocations["intake"] += 1

        threads = [threading.Thread(target=deliver, args=(s,)) for s in (r1, r2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        pipe.run()
        files = ["rev/A_S1_L001_R1_001.fastq.gz", "rev/A_S1_L001_R2_001.fastq.gz", r1.key, r2.key]
        check(pipe, dict.fromkeys(files, tracking.IMPORTED))
        assert len(pipe.double.read_sets) == 2
        report("reverse_and_concurrent_mates", pipe)


def test_thirty_percent_of_omics_calls_throttled():
    from omics_autoload_runtime.domain.options import AssemblyOptions
    from support.omics_double import OmicsDouble

    files = [*(f"thr/s{i}.ubam" for i in range(8)), *ILLUMINA[:2]]
    double = OmicsDouble(job_duration_seconds=600, throttle_fraction=0.3, seed=7)
    with Pipeline(state_machine=True, double=double, options=AssemblyOptions(max_sources_per_job=1)) as pipe:
        pipe.upload(files)
        pipe.run(timeout=240, max_steps=80)
        check(pipe, dict.fromkeys(files, tracking.IMPORTED))
        assert pipe.double.import_jobs_started("readSet") == 9  # one per read set, none twice
        assert sum(pipe.counts.errors.values()) > 0  # throttles really happened and were retried
        report("throttled_30pct", pipe)


def test_a_job_that_fails():
    files = ["fail/a.ubam", "fail/b.ubam"]
    with Pipeline(state_machine=True) as pipe:
        pipe.double.fail_next_job("Insufficient permissions to read s3://sequencing-runs/fail/")
        pipe.upload(files)
        pipe.run()
        objects = check(pipe, dict.fromkeys(files, tracking.FAILED))
        assert all("Insufficient permissions" in objects[k]["reason"] for k in files)
        report("job_fails", pipe)


def test_partial_failure_each_source_its_own_outcome():
    files = ["part/good.ubam", "part/bad.ubam", "part/P_R1.fq.gz", "part/P_R2.fq.gz"]
    with Pipeline(state_machine=True) as pipe:
        pipe.double.fail_source("bad.ubam", "Invalid BAM: EOF marker missing")
        pipe.upload(files)
        pipe.run()
        objects = check(
            pipe,
            {
                "part/good.ubam": tracking.IMPORTED,
                "part/bad.ubam": tracking.FAILED,
                "part/P_R1.fq.gz": tracking.IMPORTED,
                "part/P_R2.fq.gz": tracking.IMPORTED,
            },
        )
        assert "Invalid BAM: EOF marker missing" in objects["part/bad.ubam"]["reason"]
        report("partial_failure", pipe)


def test_all_completion_events_lost_the_sweep_finishes():
    files = ["lost/a.ubam", *ILLUMINA[:2]]
    with Pipeline(state_machine=True) as pipe:
        pipe.upload(files)
        pipe.run(deliver_events=False, max_steps=80)
        check(pipe, dict.fromkeys(files, tracking.IMPORTED))
        assert pipe.counts.invocations["completion"] >= 1
        report("events_lost", pipe)


def test_a_workflow_failure_is_recorded_on_every_file():
    files = ["wf/a.ubam", "wf/b.ubam"]
    with Pipeline(state_machine=True, env={"IMPORT_ROLE_ARN": "arn:aws:iam::123456789012:user/not-a-role"}) as pipe:
        pipe.upload(files)
        pipe.run()
        objects = check(pipe, dict.fromkeys(files, tracking.FAILED))
        assert all("rejected the import job" in objects[k]["reason"] for k in files)
        (execution,) = pipe.executions()
        assert execution["status"] == "FAILED"
        report("workflow_failure", pipe)


@pytest.mark.parametrize("state_machine", [False, True])
def test_run_demo(state_machine):
    rows = run_demo(
        ["demo/S1_S1_L001_R1_001.fastq.gz", "demo/S1_S1_L001_R2_001.fastq.gz", "demo/notes.txt"],
        state_machine=state_machine,
    )
    assert [(key, status) for key, status, _ in rows] == [
        ("demo/S1_S1_L001_R1_001.fastq.gz", "IMPORTED"),
        ("demo/S1_S1_L001_R2_001.fastq.gz", "IMPORTED"),
        ("demo/notes.txt", "SKIPPED"),
    ]
    assert rows[0][2] == rows[1][2] and "not a sequence file" in rows[2][2]


def _slot_state(pipe: Pipeline) -> tuple[int, list, list]:
    from omics_autoload_runtime.adapters.import_slots import Capacity
    from support.pipeline import TABLE

    c = Capacity(TABLE, 1)
    return c.in_flight(), c.holders(), c.waiters()


def test_a_burst_never_runs_more_import_jobs_than_configured():
    """15 jobs for a quota of 3: waiting batches queue for a slot instead of hitting the
    quota; every slot is reused as soon as its job is finalized."""
    from omics_autoload_runtime.domain.options import AssemblyOptions
    from support.omics_double import OmicsDouble
    from support.pipeline import peak_tps

    files = [f"burst/s{i:02d}.ubam" for i in range(30)]
    double = OmicsDouble(job_duration_seconds=300, max_concurrent_import_jobs=3, tps_limit=5)
    with Pipeline(
        state_machine=True,
        double=double,
        options=AssemblyOptions(max_sources_per_job=2),
        env={"MAX_CONCURRENT_IMPORT_JOBS": "3"},
    ) as pipe:
        pipe.upload(files)
        pipe.run(timeout=300, max_steps=120, step_seconds=60)
        check(pipe, dict.fromkeys(files, tracking.IMPORTED))
        assert double.peak_concurrent_jobs == 3  # full use of the quota, never above it
        # No ServiceQuotaExceeded and no throttling: one call per job, no handler errors.
        assert double.import_jobs_started("readSet") == 15
        assert double.api_calls("StartReadSetImportJob") == 15
        assert sum(pipe.counts.errors.values()) == 0, pipe.counts.errors
        assert peak_tps(double, "StartReadSetImportJob") <= 5
        assert peak_tps(double, "GetReadSetImportJob") <= 5
        # Close to the quota-bound minimum: 5 waves of 300 s jobs, each wave started within
        # one drive step (60 s) of the previous one's completion events.
        jobs = [j for j in double.jobs.values() if j["kind"] == "readSet"]
        span = max(j["completionTime"] for j in jobs) - min(j["creationTime"] for j in jobs)
        assert 5 * 300 <= span <= 5 * (300 + 60 + 10), span
        assert _slot_state(pipe) == (0, [], [])  # every slot released, nobody left waiting
        executions = pipe.executions()
        assert len(executions) == 15 and {e["status"] for e in executions} == {"SUCCEEDED"}
        # Transitions per job stay constant (AcquireSlot, StartImport, HasJob, WaitForCompletion,
        # Finalize): waiting in the queue costs none.
        assert pipe.counts.state_transitions == 15 * 5, pipe.counts.state_transitions
        report("burst_quota_3", pipe)


def test_a_burst_of_starts_stays_under_the_tps_quota():
    """8 slots free at once: 8 StartReadSetImportJob calls would come in the same instant;
    the rate limit spaces them so the service's 5 TPS quota never throttles one."""
    from omics_autoload_runtime.domain.options import AssemblyOptions
    from support.omics_double import OmicsDouble
    from support.pipeline import peak_tps

    files = [f"tps/s{i:02d}.ubam" for i in range(16)]
    double = OmicsDouble(job_duration_seconds=300, max_concurrent_import_jobs=8, tps_limit=5)
    with Pipeline(
        state_machine=True,
        double=double,
        options=AssemblyOptions(max_sources_per_job=2),
        env={"MAX_CONCURRENT_IMPORT_JOBS": "8"},
    ) as pipe:
        pipe.upload(files)
        pipe.run(timeout=240, max_steps=60, step_seconds=60)
        check(pipe, dict.fromkeys(files, tracking.IMPORTED))
        assert double.api_calls("StartReadSetImportJob") == 8  # none throttled
        assert sum(pipe.counts.errors.values()) == 0, pipe.counts.errors
        assert peak_tps(double, "StartReadSetImportJob") <= 5
        assert peak_tps(double, "GetReadSetImportJob") <= 5
        assert double.peak_concurrent_jobs == 8
        report("burst_tps", pipe)
