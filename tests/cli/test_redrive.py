"""`omics-autoload redrive` of items: FAILED (or selected) read sets and files that failed at intake."""

from __future__ import annotations

from omics_autoload_runtime.adapters import tracking
from support.pipeline import BUCKET, TABLE, Pipeline, _starter_inputs, run_without_state_machine

from cli.deployed import INTAKE, cli, snapshot


def test_redrive_dry_run_changes_nothing(pipe, capsys):
    before = snapshot(pipe)
    code, out, err = cli(capsys, "redrive", "--table", TABLE, "--dry-run")
    assert code == 0, err
    assert f"would redrive s3://{BUCKET}/run/bad.ubam (read set -> QUEUED)" in out
    assert "1 would be redriven" in out
    assert snapshot(pipe) == before


def test_redrive_is_idempotent(pipe, capsys):
    code, out, err = cli(capsys, "redrive", "--table", TABLE)
    assert code == 0, err
    assert f"redriven      s3://{BUCKET}/run/bad.ubam" in out and "1 redriven" in out
    code, out, err = cli(capsys, "redrive", "--table", TABLE)  # finds nothing FAILED any more
    assert code == 0, err and "0 redriven" in out
    code, out, err = cli(capsys, "redrive", "--table", TABLE, "--key", f"s3://{BUCKET}/run/bad.ubam")
    assert code == 0 and "unchanged" in out and "read set is QUEUED" in out
    (read_set,) = [rs for rs in pipe.items(tracking.KIND_READSET) if "bad" in rs["pk"]]
    assert read_set["status"] == tracking.QUEUED and read_set["attempt"] == 1
    assert pipe.objects()["run/bad.ubam"]["status"] == tracking.QUEUED
    assert "reason" not in pipe.objects()["run/bad.ubam"]
    # queued once: the whole stream again, and only that read set (attempt 1) can be claimed
    pipe.reread_stream()
    (batch,) = _starter_inputs(pipe)
    assert batch["readSetKeys"] == [read_set["pk"]]


def test_redrive_by_key_and_status_orphaned(pipe, capsys):
    pipe.upload(["orph/A_R1.fq.gz"])
    pipe.double.advance(86401)
    pipe.sweep()
    assert pipe.objects()["orph/A_R1.fq.gz"]["status"] == tracking.SKIPPED
    code, out, _ = cli(capsys, "redrive", "--table", TABLE)  # default: FAILED only
    assert "orph/A_R1" not in out
    code, out, err = cli(capsys, "redrive", "--table", TABLE, "--status", "ORPHANED")
    assert code == 0, err and "1 redriven" in out
    (orphan,) = [rs for rs in pipe.items(tracking.KIND_READSET) if "orph" in rs["pk"]]
    assert orphan["status"] == tracking.QUEUED and orphan["singleEnd"] is True
    code, out, err = cli(capsys, "redrive", "--table", TABLE, "--key", f"s3://{BUCKET}/nope.ubam")
    assert code == 2 and "not found" in out


def test_redrive_shows_progress_on_stderr(pipe, capsys):
    for index in range(4):
        pipe.double.fail_source(f"p{index}.ubam", "Invalid BAM")
    pipe.upload([f"prog/p{index}.ubam" for index in range(4)])
    run_without_state_machine(pipe)
    code, out, err = cli(capsys, "redrive", "--table", TABLE, "--progress-every", "2")
    assert code == 0
    assert err.splitlines() == ["redriven 2/5", "redriven 4/5", "redriven 5/5"]
    assert out.count("redriven      ") == 5


def test_a_file_that_failed_at_intake_is_sent_to_intake_again(pipe, capsys, monkeypatch):
    from omics_autoload_runtime.logic import intake as intake_module

    def broken(self, event, uri):
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(intake_module.Intake, "_classify", broken)
        pipe.upload(["in/c.ubam"])
    item = pipe.objects()["in/c.ubam"]
    assert item["status"] == tracking.FAILED and "readSetKey" not in item
    code, out, _ = cli(capsys, "redrive", "--table", TABLE, "--key", f"s3://{BUCKET}/in/c.ubam")
    assert code == 1 and "give --intake-function" in out
    # the asynchronous Invoke reaches moto, whose Lambda the Pipeline routes to the real handler
    code, out, err = cli(
        capsys, "redrive", "--table", TABLE, "--key", f"s3://{BUCKET}/in/c.ubam", "--intake-function", INTAKE
    )
    assert code == 0, (out, err)
    item = pipe.objects()["in/c.ubam"]
    assert item["status"] == tracking.QUEUED and item["attempt"] == 1 and item["readSetKey"]
    assert pipe.counts.invocations["intake"] >= 2


def test_new_version_imports_a_held_reupload_as_a_new_read_set(capsys):
    with Pipeline(env={"REUPLOAD_POLICY": "HOLD"}) as pipe:
        uri = f"s3://{BUCKET}/re/a.ubam"
        pipe.upload(["re/a.ubam"])
        run_without_state_machine(pipe)
        code, _, err = cli(capsys, "redrive", "--table", TABLE, "--new-version")
        assert code == 2 and "give --key" in err
        code, out, _ = cli(capsys, "redrive", "--table", TABLE, "--key", uri, "--new-version")
        assert code == 0 and "its newest version is IMPORTED, not HELD: nothing to import" in out
        pipe.upload(["re/a.ubam"], body=b"corrected")
        run_without_state_machine(pipe)
        assert pipe.objects()["re/a.ubam"]["status"] == tracking.HELD
        args = ("redrive", "--table", TABLE, "--key", uri, "--new-version", "--intake-function", INTAKE)
        code, out, err = cli(capsys, *args)
        assert code == 0, (out, err)
        assert f"redriven      {uri} (import as a new read set)" in out
        run_without_state_machine(pipe)
        assert [i["status"] for i in pipe.items(tracking.KIND_OBJECT)] == [tracking.IMPORTED] * 2
        assert len(pipe.double.read_sets) == 2
        code, out, _ = cli(capsys, *args)  # a second run finds nothing held
        assert code == 0 and "0 redriven, 1 unchanged" in out


def test_a_read_set_whose_earlier_job_may_still_run_is_not_redriven(pipe, capsys):
    # FAILED although its job is not known to have ended (an older release's RecordFailure):
    # a new import could import its files twice (issue 16).
    tr = tracking.Tracking(TABLE)
    (read_set,) = [rs for rs in pipe.items(tracking.KIND_READSET) if "bad" in rs["pk"]]
    tr.put_job("1234567890", {"batchId": "b-x", "readSetKeys": [read_set["pk"]]})
    tr.table.update(read_set["pk"], tracking.READSET_SK, set={"importJobId": "1234567890"})
    code, out, _ = cli(capsys, "redrive", "--table", TABLE)
    assert code == 1 and "not redriven" in out and "import job 1234567890 may still be running" in out
    tr.job_done("1234567890", "WORKFLOW_FAILED")
    code, out, _ = cli(capsys, "redrive", "--table", TABLE)
    assert code == 1 and "aws omics get-read-set-import-job --id 1234567890" in out
    assert pipe.objects()["run/bad.ubam"]["status"] == tracking.FAILED
