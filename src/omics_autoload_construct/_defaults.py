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
    return s3.Bucket(scope, id, **props)


def log_group(
    scope: Construct,
    id: str,
    *,
    encryption_key: kms.IKey | None,
    retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> logs.LogGroup:
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
                        "kms:EncryptionContext:aws:logs:arn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    }
                },
            )
        )
