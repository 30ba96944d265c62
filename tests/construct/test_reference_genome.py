"""ReferenceGenome, SequenceStore and ReferenceStore: the templates they make and the props
they refuse.

One app is synthesized for the whole module (with the three cdk-nag packs): each stack
below is one way to use the constructs.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks
from constructs import Construct
from support.synth import render_definition, resources_of_type

from omics_autoload_construct import _lambda_code, _nag
from omics_autoload_construct.reference_genome import (
    IReferenceGenome,
    ReferenceGenome,
    _default_parameter_name,
)
from omics_autoload_construct.stores import (
    IReferenceStore,
    ISequenceStore,
    ReferenceStore,
    SequenceStore,
)

FASTA_KEY = "references/GRCh38/Homo_sapiens_assembly38.fasta.gz"
STORE_ID = "1234567890"
ARN = f"arn:aws:omics:us-east-1:123456789012:referenceStore/{STORE_ID}/reference/9876543210"


class Built:
    """The synthesized app: templates by stack name, and the constructs themselves."""

    def __init__(self) -> None:
        app = cdk.App()
        env = cdk.Environment(account="123456789012", region="us-east-1")

        # Defaults: a new reference store, a bucket in the stack, RETAIN.
        default = cdk.Stack(app, "Default", env=env)
        bucket = s3.Bucket.from_bucket_name(default, "Genomes", "genomes-bucket")
        self.default = ReferenceGenome(default, "GRCh38", fasta_bucket=bucket, fasta_key=FASTA_KEY)

        # Everything given: a key, an existing store, a KMS bucket, DESTROY, own timing.
        custom = cdk.Stack(app, "Custom", env=env)
        key = kms.Key(custom, "Key", enable_key_rotation=True)
        kms_bucket = s3.Bucket.from_bucket_attributes(
            custom, "KmsGenomes", bucket_name="kms-genomes", encryption_key=key
        )
        self.custom = ReferenceGenome(
            custom,
            "Hg19",
            fasta_bucket=kms_bucket,
            fasta_key="hg19.fa",
            reference_store=ReferenceStore.from_reference_store_id(custom, "Refs", STORE_ID),
            reference_name="hg19-ucsc",
            description="UCSC hg19",
            parameter_name="/genomics/hg19/arn",
            removal_policy=cdk.RemovalPolicy.DESTROY,
            encryption_key=key,
            total_timeout=cdk.Duration.hours(1),
            query_interval=cdk.Duration.minutes(1),
        )

        # No import: an ARN given as it is, or read from an existing parameter.
        existing = cdk.Stack(app, "Existing", env=env)
        self.by_arn = ReferenceGenome.from_reference_arn(existing, "ByArn", ARN)
        self.by_arn_published = ReferenceGenome.from_reference_arn(
            existing, "Published", ARN, parameter_name="/genomics/published/arn"
        )
        self.by_parameter = ReferenceGenome.from_parameter_name(existing, "ByParameter", "/genomics/current/arn")
        for n, ref in enumerate((self.by_arn, self.by_arn_published, self.by_parameter)):
            reader = iam.Role(existing, f"Reader{n}", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
            ref.grant_read(reader)

        stores = cdk.Stack(app, "Stores", env=env)
        store_key = kms.Key(stores, "Key", enable_key_rotation=True)
        self.sequence_store = SequenceStore(
            stores,
            "Sequences",
            sequence_store_name="ingest",
            description="reads from the sequencers",
            encryption_key=store_key,
            fallback_location="s3://fallback-bucket/unimported/",
            e_tag_algorithm_family="SHA256up",
            access_log_location="s3://access-logs-bucket/omics/",
            propagated_set_level_tags=["project"],
        )
        SequenceStore(stores, "PlainSequences", removal_policy=cdk.RemovalPolicy.DESTROY)
        ReferenceStore(stores, "References", encryption_key=store_key)
        self.imported_sequences = SequenceStore.from_sequence_store_id(stores, "OldSeq", STORE_ID)
        self.imported_references = ReferenceStore.from_reference_store_id(stores, "OldRef", STORE_ID)

        # What the tests themselves add, and what only the user can decide.
        for n in range(3):
            _nag.acknowledge(
                existing.node.find_child(f"Reader{n}"),
                {_nag.HIPAA: ["IAMNoInlinePolicy"], _nag.NIST: ["IAMNoInlinePolicy"]},
                "test scaffolding",
            )
        for pack in (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks):
            cdk.Validations.of(app).add_plugins(pack(app))
        assembly = app.synth()  # a nag finding would raise here
        self.templates = {
            name: Template.from_json(assembly.get_stack_by_name(name).template)
            for name in ("Default", "Custom", "Existing", "Stores")
        }
        self.raw = {name: t.to_json() for name, t in self.templates.items()}
        self.stacks = {"Default": default, "Custom": custom, "Existing": existing, "Stores": stores}


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


def one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    found = resources_of_type(template, kind)
    assert len(found) == 1, f"expected one {kind}, found {list(found)}"
    return next(iter(found.items()))


def logical_id(built: Built, stack: str, construct: Any) -> str:
    return built.stacks[stack].get_logical_id(construct.node.default_child)


def statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every (policy logical id, statement) of the stack's IAM policies."""
    out = []
    for lid, policy in resources_of_type(template, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            out.append((lid, statement))
    return out


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- provider
def test_provider_runs_the_two_python_handlers(built):
    for name in ("on_event", "is_complete"):
        built.templates["Default"].has_resource_properties(
            "AWS::Lambda::Function",
            {
                "Handler": f"omics_autoload_runtime.handlers.reference_provider.{name}",
                "Runtime": _lambda_code.PYTHON_RUNTIME.name,
                "LoggingConfig": Match.object_like({"LogFormat": "JSON"}),
            },
        )
        assert callable(getattr(importlib.import_module("omics_autoload_runtime.handlers.reference_provider"), name))
    framework = [
        f
        for f in resources_of_type(built.raw["Default"], "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"].startswith("framework.")
    ]
    assert sorted(f["Properties"]["Handler"] for f in framework) == [
        "framework.isComplete",
        "framework.onEvent",
        "framework.onTimeout",
    ]


@pytest.mark.parametrize(
    ("stack", "interval", "attempts"),
    [("Default", 30, 110), ("Custom", 60, 60)],  # 55 min / 30 s; 60 min / 1 min
)
def test_waiter_polls_every_query_interval_until_the_total_timeout(built, stack, interval, attempts):
    _, machine = one(built.raw[stack], "AWS::StepFunctions::StateMachine")
    definition = json.loads(render_definition(machine["Properties"]["DefinitionString"]))
    retry = definition["States"]["framework-isComplete-task"]["Retry"][0]
    assert (retry["IntervalSeconds"], retry["MaxAttempts"], retry["BackoffRate"]) == (interval, attempts, 1)
    logging = machine["Properties"]["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is False


# --------------------------------------------------------------------------- custom resource
def test_custom_resource_properties_and_retain_by_default(built):
    lid, resource = one(built.raw["Default"], "Custom::OmicsReference")
    store = logical_id(built, "Default", built.default.reference_store)
    role = logical_id(built, "Default", built.default.import_role)
    props = dict(resource["Properties"])
    framework, attribute = props.pop("ServiceToken")["Fn::GetAtt"]
    assert (framework.startswith("GRCh38Providerframework"), attribute) == (True, "Arn")
    assert props == {
        "ReferenceStoreId": {"Fn::GetAtt": [store, "ReferenceStoreId"]},
        "SourceFile": f"s3://genomes-bucket/{FASTA_KEY}",
        "ReferenceName": "Homo_sapiens_assembly38",  # derived from the key
        "RoleArn": {"Fn::GetAtt": [role, "Arn"]},
        "RemovalPolicy": "retain",
    }
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")
    # HealthOmics assumes the role as soon as the job starts: its policy exists first.
    assert any(d.startswith("GRCh38ImportRoleDefaultPolicy") for d in resource["DependsOn"])
    assert lid.startswith("GRCh38")


def test_custom_resource_with_every_prop(built):
    _, resource = one(built.raw["Custom"], "Custom::OmicsReference")
    props = resource["Properties"]
    assert props["ReferenceStoreId"] == STORE_ID
    assert props["SourceFile"] == "s3://kms-genomes/hg19.fa"
    assert (props["ReferenceName"], props["Description"]) == ("hg19-ucsc", "UCSC hg19")
    assert props["RemovalPolicy"] == "destroy"
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Delete", "Delete")
    assert not resources_of_type(built.raw["Custom"], "AWS::Omics::ReferenceStore")


def test_parameter_holds_the_reference_arn_attribute(built):
    lid, _ = one(built.raw["Default"], "Custom::OmicsReference")
    built.templates["Default"].has_resource_properties(
        "AWS::SSM::Parameter",
        {
            "Name": "/omics-autoload/Default/GRCh38/reference-arn",
            "Type": "String",
            "Value": {"Fn::GetAtt": [lid, "ReferenceArn"]},
        },
    )
    built.templates["Custom"].has_resource_properties(
        "AWS::SSM::Parameter",
        {"Name": "/genomics/hg19/arn", "Value": Match.object_like({"Fn::GetAtt": Match.any_value()})},
    )
    assert built.default.parameter_name == "/omics-autoload/Default/GRCh38/reference-arn"
    assert isinstance(built.default, IReferenceGenome)
    assert cdk.Token.is_unresolved(built.default.reference_arn)


# --------------------------------------------------------------------------- stores
def test_new_reference_store_is_encrypted_and_retained(built):
    _, store = one(built.raw["Default"], "AWS::Omics::ReferenceStore")
    key_id, _ = one(built.raw["Default"], "AWS::KMS::Key")
    assert store["Properties"]["SseConfig"] == {"Type": "KMS", "KeyArn": {"Fn::GetAtt": [key_id, "Arn"]}}
    assert store["DeletionPolicy"] == "Retain"
    assert store["Properties"]["Name"] == "Default-GRCh38-ReferenceStore"
    key_id = next(iter(resources_of_type(built.raw["Stores"], "AWS::KMS::Key")))
    built.templates["Stores"].has_resource_properties(
        "AWS::Omics::ReferenceStore",
        {"SseConfig": {"Type": "KMS", "KeyArn": {"Fn::GetAtt": [key_id, "Arn"]}}},
    )


def test_sequence_stores(built):
    key_id = next(iter(resources_of_type(built.raw["Stores"], "AWS::KMS::Key")))
    built.templates["Stores"].has_resource(
        "AWS::Omics::SequenceStore",
        {
            "Properties": {
                "Name": "ingest",
                "Description": "reads from the sequencers",
                "SseConfig": {"Type": "KMS", "KeyArn": {"Fn::GetAtt": [key_id, "Arn"]}},
                "FallbackLocation": "s3://fallback-bucket/unimported/",
                "ETagAlgorithmFamily": "SHA256up",
                "AccessLogLocation": "s3://access-logs-bucket/omics/",
                "PropagatedSetLevelTags": ["project"],
            },
            "DeletionPolicy": "Retain",
        },
    )
    built.templates["Stores"].has_resource(
        "AWS::Omics::SequenceStore",
        {
            "Properties": {"Name": "Stores-PlainSequences", "SseConfig": {"Type": "KMS"}},
            "DeletionPolicy": "Delete",
        },
    )


def test_stores_imported_by_id(built):
    assert isinstance(built.imported_sequences, ISequenceStore)
    assert isinstance(built.imported_references, IReferenceStore)
    assert isinstance(built.sequence_store, ISequenceStore)
    assert built.imported_sequences.sequence_store_id == STORE_ID
    stack = built.stacks["Stores"]
    assert stack.resolve(built.imported_sequences.sequence_store_arn) == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":omics:us-east-1:123456789012:sequenceStore/{STORE_ID}"]]
    }
    assert stack.resolve(built.imported_references.reference_store_arn) == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, f":omics:us-east-1:123456789012:referenceStore/{STORE_ID}"],
        ]
    }


# --------------------------------------------------------------------------- IAM
@pytest.mark.parametrize("stack", ["Default", "Custom"])
def test_omics_actions_are_scoped_to_the_reference_store(built, stack):
    template = built.raw[stack]
    genome = built.default if stack == "Default" else built.custom
    store_arn = genome.reference_store_arn
    allowed = [built.stacks[stack].resolve(arn) for arn in (store_arn, f"{store_arn}/reference/*")]
    omics = [(lid, s) for lid, s in statements(template) if any(a.startswith("omics:") for a in as_list(s["Action"]))]
    assert len(omics) == 4  # two per handler
    for _, statement in omics:
        for resource in as_list(statement["Resource"]):
            assert resource in allowed, resource
    actions = sorted(a for _, s in omics for a in as_list(s["Action"]))
    expected = {
        "omics:StartReferenceImportJob",
        "omics:GetReferenceImportJob",
        "omics:ListReferenceImportJobs",
        "omics:GetReferenceMetadata",
    }
    assert set(actions) - {"omics:DeleteReference"} == expected
    # DeleteReference only with DESTROY, and only for the onEvent handler.
    assert actions.count("omics:DeleteReference") == (1 if stack == "Custom" else 0)


@pytest.mark.parametrize("stack", ["Default", "Custom"])
def test_handlers_may_pass_only_the_import_role_to_omics(built, stack):
    genome = built.default if stack == "Default" else built.custom
    role = logical_id(built, stack, genome.import_role)
    passes = [s for _, s in statements(built.raw[stack]) if "iam:PassRole" in as_list(s["Action"])]
    assert len(passes) == 2  # onEvent and isComplete
    for statement in passes:
        assert statement["Resource"] == {"Fn::GetAtt": [role, "Arn"]}
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "omics.amazonaws.com"}}


def test_import_role_trust_policy_names_the_account_and_omics(built):
    genome = built.default
    _, role = next(
        (lid, r)
        for lid, r in resources_of_type(built.raw["Default"], "AWS::IAM::Role").items()
        if lid == logical_id(built, "Default", genome.import_role)
    )
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "omics.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": "123456789012"},
                "ArnLike": {
                    "aws:SourceArn": {
                        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":omics:us-east-1:123456789012:*"]]
                    }
                },
            },
        }
    ]


def test_import_role_reads_only_the_fasta_object(built):
    role = logical_id(built, "Default", built.default.import_role)
    policies = [
        p
        for p in resources_of_type(built.raw["Default"], "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
    ]
    assert [p["Properties"]["PolicyDocument"]["Statement"] for p in policies] == [
        [
            {
                "Action": "s3:GetObject",
                "Effect": "Allow",
                "Resource": {
                    "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::genomes-bucket/{FASTA_KEY}"]]
                },
            },
            {
                # HealthOmics locates the bucket first (AWS's example service role grants it).
                "Action": "s3:GetBucketLocation",
                "Effect": "Allow",
                "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::genomes-bucket"]]},
            },
        ]
    ]


def test_import_role_may_decrypt_with_the_bucket_key(built):
    stack = built.stacks["Custom"]
    role = logical_id(built, "Custom", built.custom.import_role)
    key = stack.get_logical_id(stack.node.find_child("Key").node.default_child)
    (policy,) = [
        p
        for p in resources_of_type(built.raw["Custom"], "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
    ]
    statement = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement[0]["Resource"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::kms-genomes/hg19.fa"]]
    }
    assert statement[1] == {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": {"Fn::GetAtt": [key, "Arn"]}}


def test_log_groups_use_the_key(built):
    key = next(iter(resources_of_type(built.raw["Custom"], "AWS::KMS::Key")))
    groups = resources_of_type(built.raw["Custom"], "AWS::Logs::LogGroup")
    assert len(groups) == 3  # handlers, provider framework, waiter
    for group in groups.values():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
        assert group["Properties"]["RetentionInDays"] == 365
    built.templates["Custom"].has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "logs.us-east-1.amazonaws.com"}})]
                )
            }
        },
    )


def test_without_a_key_one_customer_managed_key_with_rotation_encrypts_everything(built):
    # Secure by default like OmicsAutoLoad: no AWS-managed key for logs, environments or the waiter.
    template = built.raw["Default"]
    key_id, key = one(template, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    assert logical_id(built, "Default", built.default.encryption_key) == key_id
    key_arn = {"Fn::GetAtt": [key_id, "Arn"]}
    groups = resources_of_type(template, "AWS::Logs::LogGroup")
    assert [g["Properties"]["KmsKeyId"] for g in groups.values()] == [key_arn] * 3
    functions = resources_of_type(template, "AWS::Lambda::Function")
    assert [f["Properties"].get("KmsKeyArn") for f in functions.values()] == [key_arn] * len(functions)
    _, waiter = one(template, "AWS::StepFunctions::StateMachine")
    assert waiter["Properties"]["EncryptionConfiguration"]["KmsKeyId"] == key_arn


def test_every_action_exists(built):
    from policy_sentry.querying.actions import get_actions_for_service

    for name, template in built.raw.items():
        for _, statement in statements(template):
            for action in as_list(statement["Action"]):
                service = action.split(":")[0]
                known = {a.lower() for a in get_actions_for_service(service)}
                assert action.lower() in known or action.endswith("*"), (name, action)


def test_no_statement_grants_everything(built):
    for name, template in built.raw.items():
        for lid, statement in statements(template):
            if statement["Resource"] == "*":
                # Only Step Functions log delivery, which has no resource-level permission.
                assert all(a.startswith("logs:") for a in as_list(statement["Action"])), (name, lid)


# --------------------------------------------------------------------------- no import
def test_from_reference_arn_without_parameter(built):
    ref = built.by_arn
    assert ref.reference_arn == ARN
    assert ref.reference_store_arn == f"arn:aws:omics:us-east-1:123456789012:referenceStore/{STORE_ID}"
    assert (ref.parameter, ref.parameter_name) == (None, None)


def test_from_reference_arn_publishes_the_arn_when_asked(built):
    ref = built.by_arn_published
    assert ref.parameter_name == "/genomics/published/arn"
    built.templates["Existing"].has_resource_properties(
        "AWS::SSM::Parameter", {"Name": "/genomics/published/arn", "Value": ARN}
    )


def test_from_parameter_name_reads_the_existing_parameter(built):
    ref = built.by_parameter
    assert ref.parameter_name == "/genomics/current/arn"
    assert ref.reference_store_arn is None
    # Resolved by CloudFormation at deployment; no template parameter left unreferenced.
    assert built.stacks["Existing"].resolve(ref.reference_arn) == "{{resolve:ssm:/genomics/current/arn}}"
    parameters = built.raw["Existing"].get("Parameters", {}).values()
    assert not [p for p in parameters if p["Default"] == "/genomics/current/arn"]


def test_grant_read_reads_the_parameter_and_nothing_else(built):
    template, stack = built.raw["Existing"], built.stacks["Existing"]
    grants = {}
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        (role,) = policy["Properties"]["Roles"]
        grants[role["Ref"]] = policy["Properties"]["PolicyDocument"]["Statement"]
    # The reference given by ARN alone has no parameter: its grant adds nothing.
    readers = {stack.get_logical_id(stack.node.find_child(f"Reader{n}").node.default_child): n for n in range(3)}
    assert sorted(readers[r] for r in grants) == [1, 2]
    for reader, statement_list in grants.items():
        ref = (built.by_arn, built.by_arn_published, built.by_parameter)[readers[reader]]
        assert ref.parameter is not None
        (statement,) = statement_list
        assert set(as_list(statement["Action"])) <= {
            "ssm:DescribeParameters",
            "ssm:GetParameters",
            "ssm:GetParameter",
            "ssm:GetParameterHistory",
        }
        assert statement["Resource"] == stack.resolve(ref.parameter.parameter_arn)


def test_everything_passes_cdk_nag(built):
    # Synthesis raised on any finding; the constructs acknowledge theirs with reasons.
    assert set(built.templates) == {"Default", "Custom", "Existing", "Stores"}


# --------------------------------------------------------------------------- validation
@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Check")


def bucket_in(stack: cdk.Stack) -> s3.IBucket:
    return s3.Bucket.from_bucket_name(stack, "B", "genomes-bucket")


def test_every_problem_is_listed_in_one_error(stack):
    with pytest.raises(ValueError, match="invalid ReferenceGenome props") as excinfo:
        ReferenceGenome(
            stack,
            "Bad",
            fasta_bucket=bucket_in(stack),
            fasta_key="reads/sample.fastq.gz",
            reference_name="ab",
            description="x" * 256,
            parameter_name="aws/reference arn",
            total_timeout=cdk.Duration.hours(2),
            query_interval=cdk.Duration.seconds(7),
            removal_policy=cdk.RemovalPolicy.SNAPSHOT,
        )
    message = str(excinfo.value)
    for expected in (
        "fasta_key 'reads/sample.fastq.gz' must end in .fa, .fasta, .fa.gz or .fasta.gz",
        "reference_name 'ab' must be 3-255 characters long",
        "description 'xxx",
        "parameter_name 'aws/reference arn' may only contain",
        "must start with '/'",
        "must not start with 'aws' or 'ssm'",
        "total_timeout 2 hours exceeds 1 hour",
        "must be a whole multiple of query_interval 7 seconds",
        "removal_policy SNAPSHOT",
    ):
        assert expected in message, expected
    assert message.count("\n- ") == 9


def test_derived_name_must_be_long_enough(stack):
    with pytest.raises(ValueError, match=r"(?s)derived from fasta_key 'refs/hg\.fa'.*give reference_name"):
        ReferenceGenome(stack, "Short", fasta_bucket=bucket_in(stack), fasta_key="refs/hg.fa")


def test_name_cannot_be_derived_from_a_token_key(stack):
    key = cdk.Fn.ref("FastaKeyParameter")
    with pytest.raises(ValueError, match="reference_name is required when fasta_key is a token"):
        ReferenceGenome(stack, "Token", fasta_bucket=bucket_in(stack), fasta_key=key)


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("GRCh38.FA", "GRCh38"),
        ("refs/GRCh38_full_analysis_set.fasta", "GRCh38_full_analysis_set"),
        ("a/b/chm13v2.0.fa.gz", "chm13v2.0"),
    ],
)
def test_reference_name_defaults_to_the_file_name(stack, key, name):
    genome = ReferenceGenome(
        stack,
        "Ok",
        fasta_bucket=bucket_in(stack),
        fasta_key=key,
        reference_store=ReferenceStore.from_reference_store_id(stack, "R", STORE_ID),
    )
    assert genome.reference_name == name


def test_timing_problems(stack):
    with pytest.raises(ValueError) as excinfo:
        ReferenceGenome(
            stack,
            "Timing",
            fasta_bucket=bucket_in(stack),
            fasta_key="GRCh38.fa",
            total_timeout=cdk.Duration.seconds(20),
            query_interval=cdk.Duration.millis(1500),
        )
    message = str(excinfo.value)
    assert "query_interval 1 second 500 millis must be a whole number of seconds" in message
    # The timeout is shorter than the interval: nothing else to say about it.
    assert "must be a whole multiple" not in message


def test_bad_reference_arn_and_parameter_name(stack):
    with pytest.raises(ValueError, match="reference_arn 'arn:aws:s3:::bucket/key' must look like"):
        ReferenceGenome.from_reference_arn(stack, "A", "arn:aws:s3:::bucket/key")
    with pytest.raises(ValueError, match="more than 15 levels"):
        ReferenceGenome.from_parameter_name(stack, "P", "/a" * 16)


def test_default_parameter_name_is_a_valid_ssm_name():
    app = cdk.App()
    scope: Construct = Construct(cdk.Stack(app, "MyStack"), "My Genomes")
    for n in range(16):
        scope = Construct(scope, f"Level {n}!")
    name = _default_parameter_name(scope)
    assert name.startswith("/omics-autoload/MyStack/My-Genomes/Level-0/")
    assert name.endswith("/Level-15/reference-arn")
    assert re.fullmatch(r"[A-Za-z0-9_.\-/]+", name)
    assert name.count("/") <= 15


def test_sequence_store_lists_every_problem(stack):
    with pytest.raises(ValueError, match="invalid SequenceStore props") as excinfo:
        SequenceStore(
            stack,
            "Bad",
            sequence_store_name="tab\there",
            description="",
            e_tag_algorithm_family="MD5",
            fallback_location="s3://fallback-bucket/no-trailing-slash",
            access_log_location="https://example.com/logs/",
            propagated_set_level_tags=[f"t{n}" for n in range(51)],
            removal_policy=cdk.RemovalPolicy.SNAPSHOT,
        )
    message = str(excinfo.value)
    for expected in (
        "sequence_store_name 'tab\\there' must not contain control characters",
        "description '' must be 1-255 characters long",
        "e_tag_algorithm_family 'MD5' must be one of MD5up, SHA256up, SHA512up",
        "fallback_location 's3://fallback-bucket/no-trailing-slash' must be s3://<bucket>/",
        "access_log_location 'https://example.com/logs/' must be s3://<bucket>/",
        "propagated_set_level_tags has 51 keys",
        "removal_policy SNAPSHOT",
    ):
        assert expected in message, expected


def test_reference_store_lists_every_problem(stack):
    with pytest.raises(ValueError, match="invalid ReferenceStore props") as excinfo:
        ReferenceStore(stack, "Bad", reference_store_name="r" * 128, description="d" * 256)
    assert "reference_store_name" in str(excinfo.value) and "description" in str(excinfo.value)


def test_store_ids_are_checked(stack):
    with pytest.raises(ValueError, match="sequence_store_id 'seq-store' must be 10-36 digits"):
        SequenceStore.from_sequence_store_id(stack, "S", "seq-store")
    with pytest.raises(ValueError, match="reference_store_id '123' must be 10-36 digits"):
        ReferenceStore.from_reference_store_id(stack, "R", "123")
