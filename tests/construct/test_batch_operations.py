"""OmicsAutoLoad(batch_operations=True): the S3 Batch Operations role can do exactly what a
backfill job needs (IAM evaluator over the synthesized maximal template), and the CLI finds
it by its logical ids."""

from __future__ import annotations

import pytest
from omics_autoload_runtime import contract
from omics_autoload_runtime.cli.deployment import deployment_from_resources
from support.iam_eval import ACCOUNT, REGION, Request, Template, service
from support.synth import maximal_template, resources_of_type

from omics_autoload_construct import OmicsAutoLoad

PRINCIPAL = service("batchoperations.s3.amazonaws.com")
JOB = f"arn:aws:s3:{REGION}:{ACCOUNT}:job/f3cc4f60-61f6-4a2b-8a21-d07600c373ce"


@pytest.fixture(scope="module")
def setup():
    raw = maximal_template()
    template = Template(raw)
    (role_id,) = [k for k in resources_of_type(raw, "AWS::IAM::Role") if "BatchOperationsRole" in k]
    (bucket_id,) = [k for k in resources_of_type(raw, "AWS::S3::Bucket") if "BatchOperationsBucket" in k]
    functions = resources_of_type(raw, "AWS::Lambda::Function")
    (intake_id,) = [k for k in functions if "IntakeFunction" in k]
    (start_id,) = [k for k in functions if "StartFunction" in k]
    (data_bucket,) = [k for k in resources_of_type(raw, "AWS::S3::Bucket") if k.startswith("UserBucket")]
    return {
        "template": template,
        "role": template.role_arn(role_id),
        "bucket": template.attribute(bucket_id, "Arn"),
        "intake": template.attribute(intake_id, "Arn"),
        "start": template.attribute(start_id, "Arn"),
        "data": template.attribute(data_bucket, "Arn"),
        "ids": (role_id, bucket_id, intake_id),
    }


def test_only_this_account_s_jobs_assume_the_role(setup):
    template, role = setup["template"], setup["role"]
    ours = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": JOB}
    assert template.decide(Request(PRINCIPAL, "sts:AssumeRole", role, ours)) is None
    theirs = {"aws:SourceAccount": "999999999999", "aws:SourceArn": JOB.replace(ACCOUNT, "999999999999")}
    assert template.decide(Request(PRINCIPAL, "sts:AssumeRole", role, theirs)) is not None
    assert template.decide(Request(service("lambda.amazonaws.com"), "sts:AssumeRole", role, ours)) is not None


def test_the_role_can_do_what_a_backfill_job_needs(setup):
    template, role, bucket = setup["template"], setup["role"], setup["bucket"]
    allowed = [
        ("lambda:InvokeFunction", setup["intake"]),
        ("s3:GetObject", f"{bucket}/{contract.BACKFILL_MANIFEST_PREFIX}0a1b.csv"),
        ("s3:GetObjectVersion", f"{bucket}/{contract.BACKFILL_MANIFEST_PREFIX}0a1b.csv"),
        ("s3:GetObject", f"{bucket}/{contract.BACKFILL_INVENTORY_PREFIX}sequencing/config/manifest.json"),
        ("s3:PutObject", f"{bucket}/{contract.BACKFILL_REPORT_PREFIX}/job-f3cc/results/6217.csv"),
        ("s3:GetBucketLocation", bucket),
    ]
    assert [(a, r) for a, r in allowed if template.decide(Request(role, a, r)) is not None] == []


def test_and_nothing_else(setup):
    template, role, bucket = setup["template"], setup["role"], setup["bucket"]
    refused = [
        ("lambda:InvokeFunction", setup["start"]),  # another of the pipeline's functions
        ("s3:GetObject", f"{setup['data']}/runs/S1_R1.fastq.gz"),  # sequence data: intake reads it, not the job
        ("s3:PutObject", f"{bucket}/{contract.BACKFILL_MANIFEST_PREFIX}forged.csv"),  # manifests are the CLI's
        ("s3:GetObject", f"{bucket}/{contract.BACKFILL_REPORT_PREFIX}/job-f3cc/manifest.json"),
        ("s3:DeleteObject", f"{bucket}/{contract.BACKFILL_REPORT_PREFIX}/job-f3cc/results/6217.csv"),
        ("s3:PutObject", f"{bucket}/elsewhere.csv"),
        ("s3:ListBucket", bucket),
    ]
    assert [(a, r) for a, r in refused if template.decide(Request(role, a, r)) is None] == []


def test_the_cli_finds_the_role_and_bucket_by_logical_id(setup):
    role_id, bucket_id, intake_id = setup["ids"]
    resources = [
        {"LogicalResourceId": logical, "PhysicalResourceId": f"Maximal-{logical}-X1", "ResourceType": kind}
        for logical, kind in (
            (role_id, "AWS::IAM::Role"),
            (bucket_id, "AWS::S3::Bucket"),
            (intake_id, "AWS::Lambda::Function"),
            ("AutoLoadTrackingTable4B714BE7", "AWS::DynamoDB::Table"),
        )
    ]
    deployment = deployment_from_resources(resources, "Maximal")
    assert deployment.batch_role == f"Maximal-{role_id}-X1"
    assert deployment.batch_bucket == f"Maximal-{bucket_id}-X1"


def test_batch_operations_is_a_bool():
    import aws_cdk as cdk

    with pytest.raises(ValueError, match="batch_operations must be True or False, not 'yes'"):
        OmicsAutoLoad(cdk.Stack(cdk.App(), "S"), "AutoLoad", batch_operations="yes")
