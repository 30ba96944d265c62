"""`omics-autoload plan` as the deployed pipeline: settings from the synthesized template or
the stack, skip codes and total bytes in JSON, sheets that came after their files, and a
sample-sheet base that matches nothing."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.cli.main import main
from omics_autoload_runtime.domain.options import AssemblyOptions
from omics_autoload_runtime.settings import Settings

from tests.runtime.domain.illumina_sheets import V2_BCLCONVERT

REFERENCE_ARN = "arn:aws:omics:us-east-1:123456789012:referenceStore/1234567890/reference/1234567890"
DEPLOYED = Settings(
    table_name="t",
    assembly_options=AssemblyOptions(
        read_set_patterns=(r"^(?P<sample>[A-Z]{2}\d+)-(?P<mate>[12])\.fq\.gz$",), orphan_policy="IMPORT_SINGLE"
    ),
    reference_arn=REFERENCE_ARN,
    require_sheet_prefixes=("runs/",),
)
LISTING = "\n".join(
    [
        "2026-11-30 09:00:00       1000 runs/NVX/Fastq/S24-0042-T_S1_L001_R1_001.fastq.gz",
        "2026-11-30 09:00:01       1000 runs/NVX/Fastq/S24-0042-T_S1_L001_R2_001.fastq.gz",
        "2026-11-30 09:30:00       4000 runs/NVX/Reports/SampleSheet.csv",
        "2026-11-30 10:00:00        500 runs/NVX/Fastq/S24-0042-T_S1_L002_R1_001.fastq.gz",
        "2026-11-30 10:00:00        500 runs/NVX/Fastq/S24-0042-T_S1_L002_R2_001.fastq.gz",
        "2026-11-30 10:00:00          0 runs/NVX/CopyComplete.txt",
        "2026-11-30 10:00:00         12 other/NA12-1.fq.gz",
        "2026-11-30 10:00:00        200 other/sample.bam",
    ]
)


def _template(tmp_path, settings=DEPLOYED, extra=None):
    env = {**settings.to_environment(), **(extra or {})}
    template = {
        "Resources": {
            "AutoLoadIntakeFunction1A2B3C": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Environment": {"Variables": env}},
            },
            "AutoLoadStartFunction9": {"Type": "AWS::Lambda::Function", "Properties": {}},
        }
    }
    path = tmp_path / "Stack.template.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    return path


@pytest.fixture
def listing(tmp_path):
    path = tmp_path / "listing.txt"
    path.write_text(LISTING + "\n", encoding="utf-8")
    return path


def run(capsys, *argv):
    code = main(["plan", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_settings_come_from_the_synthesized_template(capsys, tmp_path, listing):
    argv = ["--listing", str(listing), "--bucket", "seqcore", "--format", "json"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    plain = json.loads(out)
    code, out, err = run(capsys, *argv, "--template", str(_template(tmp_path)))
    assert code == 0, err
    deployed = json.loads(out)
    names = {rs["name"] for rs in deployed["readSets"]}
    # The template's own pattern pairs NA12-1 (a flag-less plan skips it) and its reference admits the BAM.
    assert "NA12" in names and "sample" in names
    assert "NA12" not in {rs["name"] for rs in plain["readSets"]}
    (bam,) = [rs for rs in deployed["readSets"] if rs["name"] == "sample"]
    assert bam["referenceArn"] == REFERENCE_ARN
    # A flag still overrides what the template says.
    code, out, _ = run(
        capsys, *argv, "--template", str(_template(tmp_path)), "--reference-arn", REFERENCE_ARN[:-1] + "9"
    )
    assert {rs.get("referenceArn") for rs in json.loads(out)["readSets"] if rs["name"] == "sample"} == {
        REFERENCE_ARN[:-1] + "9"
    }


def test_json_gives_each_skip_its_code_and_the_total_bytes(capsys, tmp_path, listing):
    code, out, err = run(
        capsys,
        "--listing",
        str(listing),
        "--bucket",
        "seqcore",
        "--format",
        "json",
        "--template",
        str(_template(tmp_path)),
    )
    assert code == 0, err
    data = json.loads(out)
    codes = {skip["uri"]: skip["code"] for skip in data["skipped"]}
    assert codes["s3://seqcore/runs/NVX/CopyComplete.txt"] == "RunMarker"
    assert data["totalBytes"] == 1000 + 1000 + 500 + 500 + 12 + 200
    code, out, _ = run(capsys, "--listing", str(listing), "--bucket", "seqcore", "--template", str(_template(tmp_path)))
    assert "(3.1 KiB)" in out.splitlines()[-1]
    assert "RunMarker" in out


def test_a_sheet_that_arrived_after_files_it_covers_is_reported(capsys, tmp_path, listing):
    code, out, err = run(capsys, "--listing", str(listing), "--bucket", "seqcore", "--format", "json")
    assert code == 0, err
    (late,) = json.loads(out)["lateSheets"]
    assert late == {
        "sheet": "s3://seqcore/runs/NVX/Reports/SampleSheet.csv",
        "lastModified": "2026-11-30 09:30:00",
        "filesBefore": [
            "s3://seqcore/runs/NVX/Fastq/S24-0042-T_S1_L001_R1_001.fastq.gz",
            "s3://seqcore/runs/NVX/Fastq/S24-0042-T_S1_L001_R2_001.fastq.gz",
        ],
    }
    assert "arrived after 2 of the files it covers" in err and "name-based ids" in err
    # Deployed with require_sample_sheet over runs/: those files waited for it.
    _, _, err = run(capsys, "--listing", str(listing), "--bucket", "seqcore", "--template", str(_template(tmp_path)))
    assert "they waited for it (require_sample_sheet)" in err


def test_a_sample_sheet_base_that_matches_no_listed_file_is_an_error(capsys, tmp_path, listing):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("source1,source2,subject_id,sample_id\nNA12-1.fq.gz,,P1,S1\n", encoding="utf-8")
    argv = ["--listing", str(listing), "--bucket", "seqcore", "--sample-sheet", str(sheet)]
    code, _, err = run(capsys, *argv, "--sample-sheet-base", "s3://seqcore/runs/")
    assert code == 2
    assert "none of its 1 row(s) names a listed file" in err and "s3://seqcore/runs/NA12-1.fq.gz" in err
    code, _, err = run(capsys, *argv, "--sample-sheet-base", "s3://seqcore/other/")
    assert code == 0, err


def test_a_template_without_one_intake_function_is_an_error(capsys, tmp_path, listing):
    path = tmp_path / "empty.template.json"
    path.write_text(json.dumps({"Resources": {}}), encoding="utf-8")
    code, _, err = run(capsys, "--listing", str(listing), "--bucket", "seqcore", "--template", str(path))
    assert code == 2 and "expected one intake function" in err


class _Fake:
    def __init__(self, **answers):
        self.answers = answers

    def __getattr__(self, name):
        return self.answers[name]


class _Paginator:
    def __init__(self, pages):
        self.pages = pages

    def paginate(self, **_):
        return iter(self.pages)


def test_settings_come_from_the_deployed_stack_and_its_reference_parameter(capsys, listing):
    settings = DEPLOYED.replace(reference_arn="", reference_parameter_name="/omics/reference")
    resources = [
        {
            "ResourceType": "AWS::DynamoDB::Table",
            "LogicalResourceId": "AutoLoadTrackingTable1",
            "PhysicalResourceId": "t",
        },
        {
            "ResourceType": "AWS::Lambda::Function",
            "LogicalResourceId": "AutoLoadIntakeFunction1A2B3C",
            "PhysicalResourceId": "stack-intake",
        },
    ]
    asked = []

    def configuration(FunctionName):
        asked.append(FunctionName)
        return {"Environment": {"Variables": settings.to_environment()}}

    clients.override(
        "cloudformation",
        _Fake(get_paginator=lambda name: _Paginator([{"StackResourceSummaries": resources}])),
    )
    clients.override("lambda", _Fake(get_function_configuration=configuration))
    clients.override("ssm", _Fake(get_parameter=lambda Name: {"Parameter": {"Value": REFERENCE_ARN}}))
    try:
        code, out, err = run(
            capsys, "--listing", str(listing), "--bucket", "seqcore", "--stack", "Seq", "--format", "json"
        )
    finally:
        clients.reset()
    assert code == 0, err
    assert asked == ["stack-intake"]
    (bam,) = [rs for rs in json.loads(out)["readSets"] if rs["name"] == "sample"]
    assert bam["referenceArn"] == REFERENCE_ARN


def test_plan_reads_last_modified_from_s3(capsys):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bucket")
        s3.put_object(Bucket="bucket", Key="nvx/SampleSheet.csv", Body=V2_BCLCONVERT.encode())
        for mate in (1, 2):
            key = f"nvx/Fastq/S24-0042-N_S2_L001_R{mate}_001.fastq.gz"
            s3.put_object(Bucket="bucket", Key=key, Body=b"@r\nA\n+\nI\n")
        code, out, err = run(capsys, "s3://bucket/nvx/", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["totalBytes"] == 2 * len(b"@r\nA\n+\nI\n")
    # The sheet came first (at most in the same second: LastModified has whole seconds).
    assert data["lateSheets"] == []
    assert {s["code"] for s in data["skipped"]} == {"SampleSheet"}


def test_plan_reads_a_template_that_cdk_synthesized(capsys, tmp_path):
    from support.synth import maximal_outdir

    listing = tmp_path / "listing.txt"
    listing.write_text(
        "2026-11-30 09:00:00 10 runs/novaseq/R1/NA12-1.fq.gz\n2026-11-30 09:10:00 10 runs/novaseq/R1/SampleSheet.csv\n",
        encoding="utf-8",
    )
    template = maximal_outdir() / "Maximal.template.json"
    code, out, err = run(
        capsys, "--listing", str(listing), "--bucket", "seqcore", "--template", str(template), "--format", "json"
    )
    assert code == 0, err
    (read_set,) = json.loads(out)["readSets"]
    # The maximal app's own pattern, and its orphan policy IMPORT_SINGLE: the lone R1 is imported.
    assert (read_set["name"], read_set["source2"]) == ("NA12", None)
    assert "they waited for it (require_sample_sheet)" in err
    assert "reference genome's ARN is known once deployed" in err


def test_files_the_deployed_pipeline_would_hold_for_their_sheet_are_listed(capsys, tmp_path):
    listing = tmp_path / "listing.txt"
    listing.write_text(
        "".join(
            f"2026-11-30 09:00:00 10 {key}\n"
            for key in (
                "runs/A/Fastq/LIB-1_S1_L001_R1_001.fastq.gz",
                "runs/A/Fastq/LIB-1_S1_L001_R2_001.fastq.gz",
                "runs/B/Fastq/LIB-2_S1_L001_R1_001.fastq.gz",
                "runs/B/Fastq/LIB-2_S1_L001_R2_001.fastq.gz",
                "runs/B/Reports/SampleSheet.csv",
                "other/LIB-3_S1_L001_R1_001.fastq.gz",
                "other/LIB-3_S1_L001_R2_001.fastq.gz",
            )
        ),
        encoding="utf-8",
    )
    argv = ["--listing", str(listing), "--bucket", "seqcore", "--format", "json"]
    code, out, err = run(capsys, *argv, "--template", str(_template(tmp_path)))
    assert code == 0, err
    assert json.loads(out)["waitingForSheet"] == [
        "s3://seqcore/runs/A/Fastq/LIB-1_S1_L001_R1_001.fastq.gz",
        "s3://seqcore/runs/A/Fastq/LIB-1_S1_L001_R2_001.fastq.gz",
    ]
    assert "holds them WAITING_FOR_SHEET until it arrives, and fails them after 24 h" in err
    _, out, _ = run(capsys, *argv)  # without the deployment's require_sample_sheet: nothing waits
    assert json.loads(out)["waitingForSheet"] == []
