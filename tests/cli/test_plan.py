"""`omics-autoload plan`: what a person sees on the terminal, and exit codes."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from omics_autoload_runtime.cli.main import main
from omics_autoload_runtime.cli.plan import read_listing

from tests.runtime.domain.hts_bytes import SAM, bam_header, bgzf, cram
from tests.runtime.domain.illumina_sheets import V2_BCLCONVERT

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"
RUN = "s3://bucket/run1/"
REFERENCE_ARN = "arn:aws:omics:us-east-1:123456789012:referenceStore/1234567890/reference/1234567890"
LISTING = [
    "# a sequencing run",
    "",
    RUN + "A_S1_L001_R1_001.fastq.gz",
    RUN + "A_S1_L001_R2_001.fastq.gz",
    RUN + "A_S1_L001_I1_001.fastq.gz",
    RUN + "single.fq\t2048",
    RUN + "empty.fq\t0",
    RUN + "B_R1.fastq.gz",
    RUN + "A_S1_L001_R1_001.fastq.gz",
]


@pytest.fixture
def listing(tmp_path):
    path = tmp_path / "listing.txt"
    path.write_text("\n".join(LISTING) + "\n", encoding="utf-8")
    return path


def run(capsys, *argv):
    code = main(["plan", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_output(capsys, listing):
    code, out, err = run(capsys, "--listing", str(listing))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "READ SETS (2)"
    assert lines[1].split() == ["TYPE", "NAME", "SAMPLE", "SUBJECT", "SOURCE1", "SOURCE2"]
    assert lines[2].split() == [
        "FASTQ",
        "A_S1_L001",
        "A",
        "A",
        RUN + "A_S1_L001_R1_001.fastq.gz",
        RUN + "A_S1_L001_R2_001.fastq.gz",
    ]
    assert lines[3].split() == ["FASTQ", "single", "single", "single", RUN + "single.fq", "-"]
    assert "SKIPPED (3)" in lines
    assert any("B_R1.fastq.gz" in line and "without its R2 mate B_R2.fastq.gz" in line for line in lines)
    assert any("empty.fq" in line and "zero-byte" in line for line in lines)
    assert lines[-1] == "2 read sets from 3 files in 1 import job; 3 files skipped."
    # columns are aligned: every SOURCE1 starts at the same offset
    offset = lines[1].index("SOURCE1")
    assert lines[2][offset:].startswith(RUN) and lines[3][offset:].startswith(RUN)


def test_json_output_shape_and_every_uri_once(capsys, listing):
    code, out, _ = run(capsys, "--listing", str(listing), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"readSets", "skipped", "totalBytes", "lateSheets", "waitingForSheet"}
    single = next(rs for rs in data["readSets"] if rs["name"] == "single")
    assert single["source2"] is None
    for read_set in data["readSets"]:
        assert {"sourceFileType", "source1", "source2", "subjectId", "sampleId", "name"} <= set(read_set)
    placed = [rs["source1"] for rs in data["readSets"]]
    placed += [rs["source2"] for rs in data["readSets"] if rs["source2"]]
    placed += [skip["uri"] for skip in data["skipped"]]
    listed = {line.split("\t")[0] for line in LISTING if line.startswith("s3://")}
    assert sorted(placed) == sorted(listed)
    assert all(set(skip) == {"uri", "code", "reason"} for skip in data["skipped"])


def test_options_reach_the_plan(capsys, tmp_path):
    path = tmp_path / "l.txt"
    path.write_text(
        "\n".join(
            [
                RUN + "B_R1.fastq.gz",
                RUN + "Undetermined_S0_R1_001.fastq.gz",
                RUN + "Undetermined_S0_R2_001.fastq.gz",
                RUN + "x.bam",
                RUN + "P01-T7-1.fq",
                RUN + "P01-T7-2.fq",
            ]
        )
    )
    code, out, _ = run(
        capsys,
        "--listing",
        str(path),
        "--orphans",
        "import-single",
        "--include-undetermined",
        "--bam-is-unaligned",
        "--pattern",
        r"(?P<subject>P\d+)-(?P<sample>T\d+)-(?P<mate>[12])",
        "--format",
        "json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["skipped"] == []
    by_name = {rs["name"]: rs for rs in data["readSets"]}
    assert by_name["B"]["source2"] is None
    assert by_name["Undetermined_S0"]["source2"].endswith("R2_001.fastq.gz")
    assert by_name["x"]["sourceFileType"] == "UBAM"
    assert (by_name["T7"]["subjectId"], by_name["T7"]["sampleId"]) == ("P01", "T7")


def test_reference_arn_and_max_sources(capsys, tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("".join(f"{RUN}s{n}.cram\n" for n in range(5)))
    code, out, _ = run(capsys, "--listing", str(path), "--reference-arn", REFERENCE_ARN, "--max-sources", "2")
    assert code == 0
    assert out.splitlines()[-1] == "5 read sets from 5 files in 3 import jobs; 0 files skipped."


def test_sample_sheet_from_a_local_file(capsys, tmp_path):
    listing = tmp_path / "l.txt"
    listing.write_text(f"{RUN}tumor_a.fq.gz\n{RUN}tumor_b.fq.gz\n")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "source1,source2,subject_id,sample_id,name\ntumor_a.fq.gz,tumor_b.fq.gz,PAT1,TUM1,tumor 1\n"
        "missing.fq,,PAT2,X,\n"
    )
    code, out, err = run(
        capsys,
        "--listing",
        str(listing),
        "--sample-sheet",
        str(sheet),
        "--sample-sheet-base",
        RUN,
        "--format",
        "json",
    )
    assert code == 0
    (read_set,) = json.loads(out)["readSets"]
    assert (read_set["source2"], read_set["sampleId"], read_set["name"]) == (
        RUN + "tumor_b.fq.gz",
        "TUM1",
        "tumor 1",
    )
    assert "warning: sample sheet line 3: s3://bucket/run1/missing.fq not in the listing" in err


def test_stdin_listing(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{RUN}x_1.fq\n{RUN}x_2.fq\n"))
    code, out, _ = run(capsys, "--listing", "-", "--format", "json")
    assert code == 0
    assert json.loads(out)["readSets"][0]["name"] == "x"


def test_plain_keys_and_aws_s3_ls_output_with_bucket(capsys, tmp_path):
    path = tmp_path / "ls.txt"
    path.write_text(
        "                           PRE run1/\n"
        "2024-05-01 10:00:00   12345 run1/my sample_R1.fastq.gz\n"
        "2024-05-01 10:00:00       0 run1/my sample_R2.fastq.gz\n"
        "run1/plain.fq\n"
    )
    code, out, _ = run(capsys, "--listing", str(path), "--bucket", "bucket", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [rs["source1"] for rs in data["readSets"]] == [RUN + "plain.fq"]
    reasons = {skip["uri"]: skip["reason"] for skip in data["skipped"]}
    assert "zero-byte" in reasons[RUN + "my sample_R2.fastq.gz"]
    assert "that file was skipped" in reasons[RUN + "my sample_R1.fastq.gz"]


def test_listing_saved_with_a_bom_and_crlf(capsys, tmp_path):
    path = tmp_path / "l.txt"
    path.write_bytes(f"\ufeff{RUN}x.fq\r\n".encode())
    code, out, _ = run(capsys, "--listing", str(path), "--format", "json")
    assert code == 0
    assert json.loads(out)["readSets"][0]["source1"] == RUN + "x.fq"


def test_read_listing_keeps_trailing_spaces_of_keys():
    assert list(read_listing([f"  {RUN}a.fq \n", f"{RUN}b.fq\t7\r\n"])) == [
        (RUN + "a.fq ", None),
        (RUN + "b.fq", 7),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--listing", "LISTING_WITH_PLAIN_KEY"], "line 1: expected an s3:// URI"),
        (
            ["--listing", "/nonexistent/listing.txt"],
            "cannot read --listing /nonexistent/listing.txt",
        ),
        (
            ["--listing", "LISTING", "--pattern", "(", "--max-sources", "0"],
            "--pattern[0] '(' is not a valid",
        ),
        (["--listing", "LISTING", "--pattern", "(?P<mate>1)"], "no (?P<sample>...) group"),
        (
            ["--listing", "LISTING", "--reference-arn", "not-an-arn"],
            "--reference-arn: referenceArn",
        ),
        (["--listing", "LISTING", "--with-tags"], "--with-tags needs an s3:// location"),
        (
            ["--listing", "LISTING", "--sample-sheet", "BAD_SHEET"],
            "missing required column 'sample_id'",
        ),
        (
            ["--listing", "LISTING", "--sample-sheet", "/nonexistent.csv"],
            "cannot read --sample-sheet",
        ),
        (["https://bucket/x"], "is not an s3://bucket/prefix location"),
    ],
)
def test_input_errors_exit_2_with_a_message(capsys, tmp_path, listing, argv, message):
    plain = tmp_path / "plain.txt"
    plain.write_text("run1/x.fq\n")
    bad_sheet = tmp_path / "bad.csv"
    bad_sheet.write_text("source1,source2,subject_id\nx,,P\n")
    names = {
        "LISTING": str(listing),
        "LISTING_WITH_PLAIN_KEY": str(plain),
        "BAD_SHEET": str(bad_sheet),
    }
    code, out, err = run(capsys, *(names.get(arg, arg) for arg in argv))
    assert code == 2
    assert out == ""
    assert err.startswith("omics-autoload plan: error: ")
    assert message in err
    assert "Traceback" not in err


def test_usage_errors_exit_2(capsys):
    assert main(["plan"]) == 2
    assert "one of the arguments location --listing is required" in capsys.readouterr().err
    assert main(["plan", "--listing", "x", "--orphans", "drop"]) == 2
    assert main([]) == 2
    assert main(["plan", "--help"]) == 0


def test_control_characters_in_keys_do_not_reach_the_terminal(capsys, tmp_path):
    path = tmp_path / "l.txt"
    path.write_text(f"{RUN}evil\x1b[2J.fq\n", encoding="utf-8")
    code, out, _ = run(capsys, "--listing", str(path))
    assert code == 0
    assert "\x1b" not in out
    assert "evil\\x1b[2J.fq" in out


# ---------------------------------------------------------------- s3:// listing (moto)


@pytest.fixture
def bucket():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bucket")
        for key, body in [
            ("run1/A_R1.fastq.gz", b"@r\nA\n+\nI\n"),
            ("run1/A_R2.fastq.gz", b"@r\nA\n+\nI\n"),
            ("run1/A.md5", b"x"),
            ("run1/empty_R1.fq", b""),
            ("run2/other.fq", b"x"),
        ]:
            s3.put_object(Bucket="bucket", Key=key, Body=body)
        s3.put_object_tagging(
            Bucket="bucket",
            Key="run1/A_R1.fastq.gz",
            Tagging={"TagSet": [{"Key": "SampleId", "Value": "tagged-A"}, {"Key": "team", "Value": "x"}]},
        )
        s3.put_object(
            Bucket="bucket",
            Key="sheets/sheet.csv",
            Body=b"source1,source2,subject_id,sample_id\ns3://bucket/run1/A_R1.fastq.gz,,P,S\n",
        )
        yield s3


def test_plan_lists_s3_with_sizes_and_tags(capsys, bucket):
    code, out, err = run(capsys, "s3://bucket/run1/", "--with-tags", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    (read_set,) = data["readSets"]
    assert read_set["sampleId"] == "tagged-A"
    reasons = {skip["uri"]: skip["reason"] for skip in data["skipped"]}
    assert set(reasons) == {"s3://bucket/run1/A.md5", "s3://bucket/run1/empty_R1.fq"}
    assert "zero-byte" in reasons["s3://bucket/run1/empty_R1.fq"]


def test_plan_reads_a_sample_sheet_from_s3(capsys, bucket):
    code, out, _ = run(
        capsys,
        "s3://bucket/run1",
        "--sample-sheet",
        "s3://bucket/sheets/sheet.csv",
        "--format",
        "json",
    )
    assert code == 0
    read_sets = json.loads(out)["readSets"]
    assert [(rs["source2"], rs["sampleId"]) for rs in read_sets] == [(None, "S")]


def test_plan_reads_the_runs_illumina_sheets_from_s3(capsys, bucket):
    bucket.put_object(Bucket="bucket", Key="nvx/Reports/SampleSheet.csv", Body=V2_BCLCONVERT.encode())
    bucket.put_object(Bucket="bucket", Key="bad/SampleSheet.csv", Body=b"[Header]\n[Data]\nLane,index\n")
    for key in ("nvx/Fastq/S24-0042-N_S2_L001_R1_001.fastq.gz", "nvx/Fastq/S24-0042-N_S2_L001_R2_001.fastq.gz"):
        bucket.put_object(Bucket="bucket", Key=key, Body=b"@r\nA\n+\nI\n")
    bucket.put_object(Bucket="bucket", Key="bad/X_S1_R1_001.fastq.gz", Body=b"@r\nA\n+\nI\n")
    code, out, err = run(capsys, "s3://bucket/", "--sheet-column", "subject_id=Patient_ID", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    (read_set,) = [rs for rs in data["readSets"] if "nvx/" in rs["source1"]]
    assert (read_set["subjectId"], read_set["sampleId"]) == ("MRN-7731", "S24-0042-N")
    assert read_set["generatedFrom"] == "NVX_20261130_LIMS42"
    reasons = {skip["uri"]: skip["reason"] for skip in data["skipped"]}
    assert reasons["s3://bucket/nvx/Reports/SampleSheet.csv"].startswith("Illumina sample sheet")
    assert "line 3: the [Data] section has no Sample_ID column" in reasons["s3://bucket/bad/X_S1_R1_001.fastq.gz"]


def test_plan_reads_bam_and_cram_headers_from_s3(capsys, bucket):
    bucket.put_object(Bucket="bucket", Key="bams/movie.bam", Body=bgzf(bam_header(b"@RG\tID:a\tSM:NA24385\n", [])))
    bucket.put_object(Bucket="bucket", Key="bams/HG002.dedup.cram", Body=cram(SAM))
    code, out, err = run(capsys, "s3://bucket/bams/", "--reference-arn", REFERENCE_ARN, "--format", "json")
    assert code == 0, err
    found = {rs["source1"]: (rs["sourceFileType"], rs["sampleId"]) for rs in json.loads(out)["readSets"]}
    assert found == {
        "s3://bucket/bams/movie.bam": ("UBAM", "NA24385"),
        "s3://bucket/bams/HG002.dedup.cram": ("CRAM", "PAT-1001"),
    }


def test_illumina_sheets_in_a_listing_file_are_not_read_and_say_so(capsys, tmp_path):
    listing = tmp_path / "listing.txt"
    listing.write_text(RUN + "SampleSheet.csv\n" + RUN + "A.fastq.gz\n", encoding="utf-8")
    code, _, err = run(capsys, "--listing", str(listing))
    assert code == 0 and "1 SampleSheet.csv file(s) listed but not read" in err
    code, _, err = run(capsys, "--listing", str(listing), "--sheet-column", "subject=X")
    assert code == 2 and "unknown sheet column fields ['subject']" in err


def test_aws_errors_exit_1(capsys, bucket):
    code, _, err = run(capsys, "s3://no-such-bucket/")
    assert code == 1
    assert "AWS error: cannot list s3://no-such-bucket/" in err


# ---------------------------------------------------------------- as a process


def test_module_runs_as_a_process(listing):
    env = {**os.environ, "PYTHONPATH": str(LAMBDA_DIR)}
    command = [
        sys.executable,
        "-m",
        "omics_autoload_runtime.cli",
        "plan",
        "--listing",
        str(listing),
    ]
    done = subprocess.run([*command, "--format", "json"], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["readSets"]) == 2
    failed = subprocess.run([*command, "--max-sources", "500"], capture_output=True, text=True, env=env, check=False)
    assert failed.returncode == 2
    assert "--max-sources must be a whole number from 1 to 100" in failed.stderr
    assert "Traceback" not in failed.stderr
