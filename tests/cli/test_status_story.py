"""`omics-autoload status --key / --prefix / --read-set`: one file's story, on the demo
pipeline of the CLI tests (good and bad uBAMs, a FASTQ pair, a text file)."""

from __future__ import annotations

import json

from omics_autoload_runtime.adapters import tracking
from support.pipeline import BUCKET, TABLE, run_without_state_machine

from cli.deployed import cli


def test_key_tells_an_imported_file_s_story(pipe, capsys):
    uri = f"s3://{BUCKET}/run/good.ubam"
    code, out, err = cli(capsys, "status", "--table", TABLE, "--key", uri)
    assert code == 0, err
    item = pipe.objects()["run/good.ubam"]
    lines = out.splitlines()
    assert lines[0] == f"{uri}  (version {item['versionId']})"
    assert "  status         IMPORTED" in lines
    assert f"  read set       {item['readSetId']} good (IMPORTED, sample good)" in lines
    assert f"  import job     {item['importJobId']}" in lines
    for label in ("created", "received", "queued", "import started", "imported", "last change"):
        assert any(line.startswith(f"  {label} ") for line in lines), label


def test_a_failed_file_shows_its_reason_and_json_has_the_same(pipe, capsys):
    uri = f"s3://{BUCKET}/run/bad.ubam"
    code, out, _ = cli(capsys, "status", "--table", TABLE, "--key", uri, "--format", "json")
    assert code == 0
    (story,) = json.loads(out)["objects"]
    assert story["status"] == "FAILED" and "Invalid BAM: EOF marker missing" in story["reason"]
    assert story["readSet"]["status"] == "FAILED" and story["importJobId"]
    code, out, _ = cli(capsys, "status", "--table", TABLE, "--key", f"s3://{BUCKET}/run/never.ubam")
    assert code == 2 and "not in the tracking table" in out


def test_prefix_lists_the_run_folder_and_queries_each_key(pipe, capsys):
    pipe.put("run/late.ubam")  # in S3, its event never came
    code, out, _ = cli(capsys, "status", "--table", TABLE, "--prefix", f"s3://{BUCKET}/run/", "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert {s["key"].rsplit("/", 1)[1]: s["status"] for s in report["objects"]} == {
        "good.ubam": "IMPORTED",
        "bad.ubam": "FAILED",
        "S1_R1.fq.gz": "IMPORTED",
        "S1_R2.fq.gz": "IMPORTED",
        "notes.txt": "SKIPPED",
    }
    assert report["notTracked"] == [f"s3://{BUCKET}/run/late.ubam"]


def test_read_set_finds_the_files_it_came_from(pipe, capsys):
    pair = pipe.objects()["run/S1_R1.fq.gz"]
    code, out, err = cli(
        capsys,
        "status",
        "--table",
        TABLE,
        "--read-set",
        pair["readSetId"],
        "--sequence-store-id",
        pipe.store_id,
        "--format",
        "json",
    )
    assert code == 0, err
    stories = json.loads(out)["objects"]
    assert [s["key"] for s in stories] == [f"s3://{BUCKET}/run/S1_R1.fq.gz", f"s3://{BUCKET}/run/S1_R2.fq.gz"]
    assert {s["readSet"]["readSetId"] for s in stories} == {pair["readSetId"]}
    code, _, err = cli(capsys, "status", "--table", TABLE, "--read-set", pair["readSetId"])
    assert code == 2 and "--sequence-store-id" in err


def test_watch_follows_a_folder_until_every_file_is_final(pipe, capsys, monkeypatch):
    from omics_autoload_runtime.cli import story

    pipe.upload(["new/a.ubam", "new/b.ubam"])
    prefix = ("status", "--table", TABLE, "--prefix", f"s3://{BUCKET}/new/", "--watch", "--interval", "5")
    code, out, _ = cli(capsys, *prefix, "--timeout", "0")
    assert code == 1 and "2 not final after 0 s" in out and "status         QUEUED" in out
    calls = []

    def sleep(seconds):  # the pipeline moves on while the command waits
        calls.append(seconds)
        run_without_state_machine(pipe)

    monkeypatch.setattr(story.time, "sleep", sleep)
    code, out, _ = cli(capsys, *prefix, "--timeout", "600")
    assert code == 0 and calls == [5.0]
    assert out.count("status         QUEUED") == 2 and out.count("status         IMPORTED") == 2
    assert {o["status"] for k, o in pipe.objects().items() if k.startswith("new/")} == {tracking.IMPORTED}


def test_a_file_whose_metadata_did_not_come_from_its_sheet_says_why(pipe, capsys):
    """Intake keeps that note on the file's item (a sheet that arrived between two mates)."""
    uri = f"s3://{BUCKET}/run/good.ubam"
    item = pipe.objects()["run/good.ubam"]
    note = "metadata from the file name, not from the sample sheet s3://b/run/sheet.csv: ..."
    tracking.Tracking(TABLE).table.update(item["pk"], item["sk"], set={"metadataNote": note})
    code, out, _ = cli(capsys, "status", "--table", TABLE, "--key", uri)
    assert code == 0 and f"  metadata       {note}" in out.splitlines()
