"""Secure defaults shared by every construct of the library, kept in one place.

Each helper merges in this order: our defaults, then the user's overrides, then what
the pattern requires (encryption with the user's key, TLS only). A user cannot switch
off what the pattern requires.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.region_info import RegionInfo
from constructs import Construct

DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_YEAR


def secure_bucket(
    scope: Construct,
    id: str,
    *,
    encryption_key: kms.IKey | None,
    removal_policy: RemovalPolicy,
    server_access_logs_bucket: s3.IBucket | None = None,
    overrides: dict[str, Any] | None = None,
) -> s3.Bucket:
    props: dict[str, Any] = {
        "versioned": True,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "removal_policy": removal_policy,
        "auto_delete_objects": False,
    }
    props.update(overrides or {})
    props.update(
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        encryption=s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED,
        encryption_key=encryption_key,
        bucket_key_enabled=bool(encryption_key),
    )
    if server_access_logs_bucket is not None:
        props.setdefault("server_access_logs_bucket", server_access_logs_bucket)
    bucket = s3.Bucket(scope, id, **props)
    acknowledge_no_replication(bucket)
    return bucket


def encryption_key(scope: Construct, id: str, *, removal_policy: RemovalPolicy) -> kms.Key:
    """The customer-managed key made when the user brings none: rotation on."""
    return kms.Key(
        scope,
        id,
        description="omics-autoload-construct: encrypts the bucket, table, queues, topic, logs and stores",
        enable_key_rotation=True,
        removal_policy=removal_policy,
    )


def access_log_bucket(
    scope: Construct, id: str, *, removal_policy: RemovalPolicy
) -> s3.Bucket:
    """Destination of the data bucket's server access logs.

    S3 server access logging can only deliver to SSE-S3 buckets, so this bucket cannot
    use the customer-managed key.
    """
    from . import _nag

    bucket = s3.Bucket(
        scope,
        id,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        encryption=s3.BucketEncryption.S3_MANAGED,
        removal_policy=removal_policy,
    )
    _nag.acknowledge(
        bucket,
        {_nag.AWS_SOLUTIONS: ["S1"], _nag.HIPAA: ["S3BucketLoggingEnabled"], _nag.NIST: ["S3BucketLoggingEnabled"]},
        "This bucket receives the server access logs of the data bucket; logging it too would only log the logging.",
    )
    _nag.acknowledge(
        bucket,
        {_nag.HIPAA: ["S3DefaultEncryptionKMS"], _nag.NIST: ["S3DefaultEncryptionKMS"]},
        "S3 server access log delivery supports only SSE-S3 destination buckets; access logs hold no sequence data.",
    )
    acknowledge_no_replication(bucket)
    return bucket


def acknowledge_no_replication(bucket: s3.IBucket) -> None:
    from . import _nag

    _nag.acknowledge(
        bucket,
        {_nag.HIPAA: ["S3BucketReplicationEnabled"], _nag.NIST: ["S3BucketReplicationEnabled"]},
        "Cross-Region replication of patient data is a residency decision the user makes; "
        "versioning is on and objects are durable in HealthOmics once imported.",
    )


def log_group(
    scope: Construct,
    id: str,
    *,
    encryption_key: kms.IKey | None,
    retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> logs.LogGroup:
    # Every part that encrypts its logs must work alone too (Intake, Starter, ImportWorkflow):
    # CloudWatch Logs refuses a key whose policy does not let it in. Identical statements
    # added by several parts are merged when the key policy is synthesized.
    allow_logs_service(encryption_key, scope)
    return logs.LogGroup(
        scope,
        id,
        retention=retention,
        encryption_key=encryption_key,
        removal_policy=removal_policy,
    )


def allow_logs_service(key: kms.IKey | None, scope: Construct) -> None:
    """CloudWatch Logs encrypts with a key only when the key policy lets it."""
    allow_service_on_key(key, scope, "logs")


def allow_service_on_key(key: kms.IKey | None, scope: Construct, service: str) -> None:
    """Let a service principal use ``key`` (``KEY_SERVICES`` names the statement).

    A key made in CDK gets the statement; an imported key cannot be changed from here,
    so a synth-time warning on the key quotes the statement its owner must add.
    """
    if key is None:
        return
    stack = Stack.of(scope)
    if isinstance(key, kms.Key):
        key.add_to_resource_policy(service_key_statement(service, stack.partition, stack.region, stack.account))
        return

    def literal(value: str, placeholder: str) -> str:
        return placeholder if Token.is_unresolved(value) else value

    region = literal(stack.region, "<region>")
    statement = service_key_statement(
        service,
        # A concrete Region names its partition; CDK leaves the partition a token.
        (RegionInfo.get(region).partition or "<partition>") if region != "<region>" else "<partition>",
        region,
        literal(stack.account, "<account>"),
    )
    Annotations.of(key).add_warning_v2(
        f"omics-autoload:key-policy-{service}",
        f"{IMPORTED_KEY_WARNING} {KEY_SERVICES[service]}: "
        + json.dumps(stack.resolve(statement.to_statement_json()), sort_keys=True),
    )


IMPORTED_KEY_WARNING = "The imported encryption key needs this key policy statement, or"
KEY_SERVICES = {
    "logs": "CloudWatch Logs cannot write the encrypted log groups (the deployment fails)",
    "cloudwatch": "alarm notifications to the encrypted topic are dropped",
    "events": "EventBridge cannot put failed events in the encrypted dead-letter queue",
    "delivery.logs": "Step Functions cannot deliver its execution logs",
    "s3": "S3 cannot send object notifications to the encrypted intake queue (no new file is recorded)",
}


def service_key_statement(service: str, partition: str, region: str, account: str) -> iam.PolicyStatement:
    """The key policy statement a service principal needs, limited to this account."""
    source_account = {"StringEquals": {"aws:SourceAccount": account}}
    if service == "logs":
        return iam.PolicyStatement(
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account}:log-group:*"
                }
            },
        )
    actions = ["kms:Decrypt"] if service == "delivery.logs" else ["kms:Decrypt", "kms:GenerateDataKey*"]
    source_arn = {
        "cloudwatch": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*",
        "events": f"arn:{partition}:events:{region}:{account}:rule/*",
        "delivery.logs": f"arn:{partition}:logs:{region}:{account}:*",
        "s3": f"arn:{partition}:s3:::*",  # bucket ARNs name no account: aws:SourceAccount does
    }[service]
    return iam.PolicyStatement(
        actions=actions,
        principals=[iam.ServicePrincipal(f"{service}.amazonaws.com")],
        resources=["*"],
        conditions={**source_account, "ArnLike": {"aws:SourceArn": source_arn}},
    )


def encrypt_state_machine(
    machine: sfn.CfnStateMachine, role: iam.IRole, key: kms.IKey, *, state_machine_arn: str | None = None
) -> None:
    """Encrypt a logged state machine with ``key``, on the L1.

    CDK's own ``encryption_configuration`` gives ``delivery.logs.amazonaws.com`` the key
    without a source-account condition, and the Provider framework offers no such prop.
    The role uses the key for executions (for this state machine only, when its ARN is
    known before it exists) and for log delivery.
    """
    machine.add_property_override(
        "EncryptionConfiguration",
        {"Type": "CUSTOMER_MANAGED_KMS_KEY", "KmsKeyId": key.key_arn, "KmsDataKeyReusePeriodSeconds": 300},
    )
    stack = Stack.of(machine)
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[key.key_arn],
            conditions=(
                {"StringEquals": {"kms:EncryptionContext:aws:states:stateMachineArn": state_machine_arn}}
                if state_machine_arn
                else None
            ),
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:GenerateDataKey"],
            resources=[key.key_arn],
            conditions={
                "StringEquals": {
                    "kms:EncryptionContext:SourceArn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"
                }
            },
        )
    )
    allow_service_on_key(key, machine, "delivery.logs")


def omics_service_role(scope: Construct, id: str, *, description: str) -> iam.Role:
    """A role only HealthOmics can assume, and only on behalf of this account (confused deputy)."""
    from aws_cdk import Stack

    stack = Stack.of(scope)
    return iam.Role(
        scope,
        id,
        description=description,
        assumed_by=iam.ServicePrincipal(
            "omics.amazonaws.com",
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:omics:{stack.region}:{stack.account}:*"},
            },
        ),
    )


def event_source_queue(
    scope: Construct,
    id: str,
    encryption_key: kms.IKey | None,
    function_timeout: Duration,
    dead_letter_queue: sqs.IQueue,
    retention: Duration | None = None,
) -> sqs.Queue:
    """A queue a function reads through an SQS event source: encrypted, TLS only, and
    dead-lettered after five receives."""
    return sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.KMS if encryption_key else sqs.QueueEncryption.SQS_MANAGED,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=retention,
        # Lambda's advice for an SQS event source: six times the function's timeout.
        visibility_timeout=Duration.seconds(6 * function_timeout.to_seconds()),
        dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=dead_letter_queue),
    )
