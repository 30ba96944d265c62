"""Secure defaults shared by every construct of the library, kept in one place.

Each helper merges in this order: our defaults, then the user's overrides, then what
the pattern requires (encryption with the user's key, TLS only). A user cannot switch
off what the pattern requires.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
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
    if isinstance(key, kms.Key):
        from aws_cdk import Stack

        stack = Stack.of(scope)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                        )
                    }
                },
            )
        )


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
