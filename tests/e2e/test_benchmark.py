"""The benchmark at CI size (``python -m benchmarks.run --ci``: tens of files, fixed seed).

The full run is ``./scripts/run-benchmark``; this keeps every part of it working and
checks what its reader relies on: the three designs users would write instead next to
ours in one table with the ratio to (c), (a) failing at the history limit instead of being
priced as if it succeeded, the standing cost from the template, the sweep measured by
the files in flight, import jobs that take longer with more bytes, a throttled burst.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from support import sdk_speed

    from benchmarks import run, worker

    out = tmp_path_factory.mktemp("bench") / "ci.json"
    # The scenarios run in spawned processes: the suite's faster SDK goes with them.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(worker, "run_scenario", sdk_speed.run_scenario)
        code = run.main(["--ci", "--skip-synth", "--out", str(out)])
    results = json.loads(out.read_text())
    results["exit_code"] = code
    return results


def test_every_scenario_ran_and_imported_every_file(ci_run: dict) -> None:
    assert ci_run["exit_code"] == 0
    for name, result in ci_run["scenarios"].items():
        assert "error" not in result, f"{name}: {result.get('error')}"
        assert result["lost"] == 0 and result["handler_failures"] == 0, name
        assert result["duplicate_read_sets"] == 0, name


def test_one_table_with_the_hand_written_importer_and_the_ratio(ci_run: dict) -> None:
    table = ci_run["table"]
    assert "| ours | ours, events lost | (a) polling | (b) fire-and-forget | (c) event-driven | ours ÷ (c) |" in table
    c = ci_run["baselines"]["cells"]["4-10 min"]["c"]
    # (c) has its own DynamoDB item per file (3 writes of < 1 KB) and one job per read set
    assert c["per_file"]["wru"] == 3.0
    assert c["per_file"]["omics_calls"] == 1.0
    assert c["cost_per_1000_files"]["total"] > 0
    ours = ci_run["scenarios"]["4-10 min-events"]["cost_per_1000_files"]["total"]
    assert f"{ours / c['cost_per_1000_files']['total']:.1f}x" in table


def test_polling_design_fails_at_the_history_limit_instead_of_being_priced_as_a_success(ci_run: dict) -> None:
    a24 = ci_run["baselines"]["cells"]["4-24 h"]["a"]
    assert a24["history_limit_hit"] and a24["imported_fraction"] == 0.0
    assert a24["history_limit_after_hours"] == pytest.approx(7.7, abs=0.1)
    assert "fails after 7.7 h" in ci_run["table"]
    a10 = ci_run["baselines"]["cells"]["4-10 min"]["a"]
    assert not a10["history_limit_hit"] and a10["imported_fraction"] == 1.0


def test_long_cells_are_put_together_from_measured_parts(ci_run: dict) -> None:
    cells = ci_run["modelled"]["cells"]
    assert set(cells) == {"40-10 min-polling", "40-24 h-events", "40-24 h-polling"}
    day = cells["40-24 h-events"]
    assert day["sweeps"] >= 24 * 12  # one every 5 minutes until the last file is recorded
    assert day["cost_per_1000_files"] > ci_run["scenarios"]["burst-40"]["cost_per_1000_files"]["total"]


def test_standing_cost_counts_the_dashboard_the_key_and_the_metrics(ci_run: dict) -> None:
    standing = ci_run["standing"]
    assert standing["counts"]["dashboards"] == 1 and standing["counts"]["kms_keys"] >= 1
    assert standing["parts"]["dashboard"] == 3.0 and standing["parts"]["kms_keys"] >= 1.0
    assert standing["metric_sets"]["busy"] > 0
    assert standing["idle_month"] - standing["idle_month_without_dashboard"] == pytest.approx(3.0)
    assert standing["parts"]["sweep"] > 0


def test_sweeps_are_measured_by_the_files_in_flight(ci_run: dict) -> None:
    idle = ci_run["scenarios"]["idle-1 h"]["sweep_samples"]
    assert idle and all(s["in_flight"] == 0 for s in idle)
    burst = ci_run["scenarios"]["burst-40"]["sweep_samples"]
    assert burst[0]["in_flight"] == 40  # the first sweep, 5 minutes in: nothing finished yet
    assert "| files in flight | RRU |" in ci_run["table"]


def test_a_job_of_bigger_files_takes_longer(ci_run: dict) -> None:
    size = ci_run["scenarios"]["size-4-10GiB"]
    ran = size["drain"]["last_file_terminal_s"] - size["drain"]["first_job_start_s"]
    # Two pairs of 10-GiB files, a job each (the first pair starts at once, the second is
    # gathered): 20 GiB at 100 MiB/s is 205 s beyond a job's fixed 300 s.
    assert size["import_jobs"] == 2
    assert ran > 300 + 200


def test_cost_against_import_length_takes_out_only_the_sweeps_that_run_anyway(ci_run: dict) -> None:
    from benchmarks import report

    size, idle = ci_run["scenarios"]["size-4-10GiB"], ci_run["scenarios"]["idle-1 h"]
    per_idle_sweep = idle["sweep_cost_per_1000_files"]["total"] / 1000 / idle["sim"]["sweeps"]
    beyond = report.beyond_standing_sweeps(ci_run, size)
    total = size["cost_per_1000_files"]["total"]
    assert size["sim"]["sweeps"] > 0 and per_idle_sweep > 0
    assert beyond == pytest.approx(total - size["sim"]["sweeps"] * per_idle_sweep * 1000 / size["imported"])
    # Only what an idle sweep costs comes out: the sweeps' work for the files in flight stays.
    assert total - size["sweep_cost_per_1000_files"]["total"] < beyond < total
    assert "| beyond the standing sweep |" in ci_run["table"]


def test_throttled_burst_with_concurrent_handlers_loses_nothing(ci_run: dict) -> None:
    throttled = ci_run["scenarios"]["throttled-20"]
    assert sum(throttled["omics_throttled"].values()) > 0
    assert throttled["imported"] == 20
    assert ci_run["targets"]["throttled_burst_safety"]["met"]


def test_logs_and_init_are_priced(ci_run: dict) -> None:
    cost = ci_run["scenarios"]["4-10 min-events"]["cost_per_1000_files"]
    assert cost["logs_ingested"] > 0 and cost["lambda_init"] > 0
    assert ci_run["scenarios"]["4-10 min-events"]["per_file"]["log_bytes"] > 600


def test_index_writes_follow_each_index_definition() -> None:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from benchmarks import ddb_capacity

    table_keys = ["pk", "sk"]
    old = {"pk": {"S": "a"}, "sk": {"S": "b"}, "status": {"S": "IMPORTING"}, "dueAt": {"S": "1"}, "blob": {"S": "x"}}
    touched = {**old, "blob": {"S": "y" * 3000}}
    include = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]}
    # a sparse index keyed by the due time, INCLUDE status: rewriting another attribute costs nothing there
    assert ddb_capacity.gsi_write_units(old, touched, keys=["dueAt"], table_keys=table_keys, projection=include) == 0
    # ...moving the due time is a delete and a put; leaving the index (no due time) one write
    moved = {**old, "dueAt": {"S": "2"}}
    assert ddb_capacity.gsi_write_units(old, moved, keys=["dueAt"], table_keys=table_keys, projection=include) == 2
    gone = {k: v for k, v in old.items() if k != "dueAt"}
    assert ddb_capacity.gsi_write_units(old, gone, keys=["dueAt"], table_keys=table_keys, projection=include) == 1
    # projection ALL: the whole item is the entry (3 KB -> 3 WRU)
    every = {"ProjectionType": "ALL"}
    assert ddb_capacity.gsi_write_units(old, touched, keys=["status"], table_keys=table_keys, projection=every) == 3
