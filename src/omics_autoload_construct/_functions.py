"""One way to make the construct's Lambda functions: same asset, runtime and safeguards."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from omics_autoload_runtime import contract
from omics_autoload_runtime.settings import Settings

from . import _defaults, _lambda_code, _nag

BASIC_EXECUTION_ROLE_FINDING = (
    "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"
)


def handler_function(
    scope: Construct,
    id: str,
    *,
    module: str,
    entry: str = "handler",
    description: str,
    settings: Settings,
    encryption_key: kms.IKey | None,
    log_retention: logs.RetentionDays,
    dead_letter_queue: sqs.IQueue,
    timeout: Duration = Duration.seconds(60),
    memory_size: int = 256,
) -> lambda_.Function:
    log_group = _defaults.log_group(
        scope,
        f"{id}Logs",
        encryption_key=encryption_key,
        retention=log_retention,
        removal_policy=RemovalPolicy.RETAIN,
    )
    function = lambda_.Function(
        scope,
        id,
        runtime=_lambda_code.PYTHON_RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        code=_lambda_code.handler_code(),
        handler=f"{_lambda_code.RUNTIME_PACKAGE}.handlers.{module}.{entry}",
        description=description,
        # The handlers read every setting back with settings.get(): no name is spelt twice.
        environment=settings.to_environment(),
        environment_encryption=encryption_key,
        timeout=timeout,
        memory_size=memory_size,
        log_group=log_group,
        logging_format=lambda_.LoggingFormat.JSON,
        dead_letter_queue=dead_letter_queue,
    )
    acknowledge_function_findings(function)
    return function


def acknowledge_function_findings(function: lambda_.Function) -> None:
    _nag.acknowledge(
        function.role or function,
        {
            _nag.HIPAA: ["IAMNoInlinePolicy"],
            _nag.NIST: ["IAMNoInlinePolicy"],
        },
        "Each function has its own role whose policy is written for that function only; "
        "an inline policy lives and dies with the role, so it cannot be attached elsewhere.",
    )
    _nag.acknowledge(
        function,
        {_nag.HIPAA: ["LambdaInsideVPC"], _nag.NIST: ["LambdaInsideVPC"]},
        "The functions call only AWS APIs (S3, DynamoDB, HealthOmics, Step Functions, "
        "CloudWatch Logs) over TLS with IAM auth; a VPC would add NAT or endpoints without "
        "narrowing what the functions can reach.",
    )
    _nag.acknowledge(
        function,
        {_nag.HIPAA: ["LambdaConcurrency"], _nag.NIST: ["LambdaConcurrency"]},
        "Reserved concurrency fails deployment in accounts whose concurrency limit is low "
        "(new accounts have 10); the HealthOmics rate limits are enforced by the workflow's "
        "retries and the stream's batching instead.",
    )
    role = function.role
    if role is not None:
        _nag.acknowledge(
            role,
            {_nag.AWS_SOLUTIONS: [BASIC_EXECUTION_ROLE_FINDING]},
            "The AWS managed basic execution policy only allows writing to CloudWatch Logs.",
        )


def execution_arns(scope: Construct, state_machine_name: str) -> str:
    """The ARN pattern of a state machine's executions (their names are made at run time)."""
    return Stack.of(scope).format_arn(
        service="states",
        resource="execution",
        resource_name=f"{state_machine_name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


TABLE_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]
TABLE_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
KMS_USE = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]


def grant_table(function: lambda_.Function, table: dynamodb.ITable, *, write: bool = True) -> None:
    """The item actions the handlers use, on the table and the index they read; no wildcards."""
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=TABLE_READ + (TABLE_WRITE if write else []),
            resources=[table.table_arn, f"{table.table_arn}/index/{contract.DUE_INDEX}"],
        )
    )
    if table.encryption_key is not None:
        function.add_to_role_policy(
            iam.PolicyStatement(actions=KMS_USE, resources=[table.encryption_key.key_arn])
        )


Prefixes = str | Sequence[str] | None  # one prefix (the former prop), several, or the whole bucket


def prefix_list(key_prefixes: Prefixes) -> list[str]:
    """The watched prefixes as a list; ``[""]`` is the whole bucket."""
    if key_prefixes is None or isinstance(key_prefixes, str):
        return [key_prefixes or ""]
    return list(key_prefixes) or [""]


def object_arns(bucket: s3.IBucket, key_prefixes: Prefixes) -> list[str]:
    """``arn:...:bucket/<prefix>*`` for each watched prefix: the only objects a grant names."""
    return [bucket.arn_for_objects(f"{prefix}*") for prefix in prefix_list(key_prefixes)]


def grant_read_objects(grantee: iam.IGrantable, bucket: s3.IBucket, key_prefixes: Prefixes) -> None:
    """Read the objects under the prefixes (and decrypt them), nothing else in the bucket."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"],
            resources=object_arns(bucket, key_prefixes),
        )
    )
    if bucket.encryption_key is not None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt"], resources=[bucket.encryption_key.key_arn])
        )


def grant_version_check(function: lambda_.Function, bucket: s3.IBucket, key_prefixes: Prefixes) -> None:
    """HeadObject of a source's key without a version: which version HealthOmics reads now."""
    function.add_to_role_policy(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=object_arns(bucket, key_prefixes))
    )
    acknowledge_object_wildcard(function, bucket, key_prefixes)


def grant_bucket_location(grantee: iam.IGrantable, bucket: s3.IBucket) -> None:
    """HealthOmics asks where the bucket is before reading (AWS's example service role grants it)."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:GetBucketLocation"], resources=[bucket.bucket_arn])
    )


def acknowledge_object_wildcard(grantee: iam.IGrantable, bucket: s3.IBucket, key_prefixes: Prefixes) -> None:
    scope = grantee.role if isinstance(grantee, lambda_.Function) and grantee.role else grantee
    objects = [_nag.rendered(bucket, arn) for arn in object_arns(bucket, key_prefixes)]
    _nag.acknowledge(
        scope,  # type: ignore[arg-type]
        {_nag.AWS_SOLUTIONS: [f"IAM5[Resource::{arn}]" for arn in objects]},
        "Sequencing files are not known at deployment; read access is limited to objects "
        "of the watched bucket (and key prefix), read actions only.",
    )


def acknowledge_queue_grant(function: lambda_.Function) -> None:
    _nag.acknowledge(
        function.role or function,
        {_nag.AWS_SOLUTIONS: ["IAM5[Action::kms:GenerateDataKey*]", "IAM5[Action::kms:ReEncrypt*]"]},
        "CDK's grant to send failed events to the KMS-encrypted dead-letter queue; the "
        "statement names only that queue's key.",
    )
