"""Batch operations: what an S3 Batch Operations job needs to send the objects already in
the bucket through the intake function (``omics-autoload backfill --batch-operations``)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct
from omics_autoload_runtime import contract

from . import _defaults, _nag

SERVICE_PRINCIPAL = "batchoperations.s3.amazonaws.com"


class BatchOperations(Construct):
    """A bucket for backfill manifests and completion reports, and the role a Batch
    Operations job runs as: trusted by ``batchoperations.s3.amazonaws.com`` for jobs of
    this account only, allowed to invoke the intake function, read the manifests the CLI
    writes (and S3 Inventory reports delivered under ``omics-autoload/backfill/inventory/``)
    and write completion reports under ``omics-autoload/backfill/reports``, nothing else.

    The job invokes intake with the role's credentials: the function needs no resource
    policy. Its objects are read by intake's own role, as for any event. ``omics-autoload
    backfill --stack`` finds the role and bucket by their logical ids.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        intake_function: lambda_.IFunction,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        server_access_logs_bucket: s3.IBucket | None = None,
        expire_after: Duration = Duration.days(90),
    ) -> None:
        """
        :param intake_function: the function the jobs invoke.
        :param removal_policy: of the bucket. Default: RETAIN.
        :param server_access_logs_bucket: where the bucket logs its access. Default: none.
        :param expire_after: manifests and reports are deleted this long after they are
            written. Default: 90 days.
        """
        super().__init__(scope, id)
        stack = Stack.of(self)
        # Batch Operations writes completion reports with SSE-S3 whatever the bucket's
        # default (AWS: "Completion reports are always encrypted with SSE-S3"), so a KMS
        # default would only mislead; the bucket holds object keys and statuses, no data.
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=server_access_logs_bucket,
            server_access_logs_prefix="batch-operations/" if server_access_logs_bucket else None,
            lifecycle_rules=[s3.LifecycleRule(expiration=expire_after, noncurrent_version_expiration=Duration.days(1))],
            removal_policy=removal_policy,
        )
        _nag.acknowledge(
            self.bucket,
            {_nag.HIPAA: ["S3DefaultEncryptionKMS"], _nag.NIST: ["S3DefaultEncryptionKMS"]},
            "S3 Batch Operations writes completion reports with SSE-S3 only; the bucket holds "
            "manifests and reports (object keys and statuses), never sequence data.",
        )
        _defaults.acknowledge_no_replication(self.bucket)
        if server_access_logs_bucket is None:
            _nag.acknowledge(
                self.bucket,
                {
                    _nag.AWS_SOLUTIONS: ["S1"],
                    _nag.HIPAA: ["S3BucketLoggingEnabled"],
                    _nag.NIST: ["S3BucketLoggingEnabled"],
                },
                "No access logs bucket was created for a brought data bucket; this one holds "
                "only backfill manifests and reports, written by the CLI and Batch Operations.",
            )
        self.role = iam.Role(
            self,
            "Role",
            description="omics-autoload: S3 Batch Operations jobs that send existing objects to intake",
            assumed_by=iam.ServicePrincipal(
                SERVICE_PRINCIPAL,
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:s3:{stack.region}:{stack.account}:job/*"},
                },
            ),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[intake_function.function_arn])
        )
        readable = [
            self.bucket.arn_for_objects(f"{contract.BACKFILL_MANIFEST_PREFIX}*"),
            self.bucket.arn_for_objects(f"{contract.BACKFILL_INVENTORY_PREFIX}*"),
        ]
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject", "s3:GetObjectVersion"], resources=readable)
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{contract.BACKFILL_REPORT_PREFIX}/*")],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetBucketLocation"], resources=[self.bucket.bucket_arn])
        )
        _nag.acknowledge(
            self.role,
            {_nag.HIPAA: ["IAMNoInlinePolicy"], _nag.NIST: ["IAMNoInlinePolicy"]},
            "The role's policy is written for backfill jobs only; an inline policy lives and dies "
            "with the role, so it cannot be attached elsewhere.",
        )
        _nag.acknowledge(
            self.role,
            {
                _nag.AWS_SOLUTIONS: [
                    f"IAM5[Resource::<{_logical(self.bucket)}.Arn>/{contract.BACKFILL_MANIFEST_PREFIX}*]",
                    f"IAM5[Resource::<{_logical(self.bucket)}.Arn>/{contract.BACKFILL_INVENTORY_PREFIX}*]",
                    f"IAM5[Resource::<{_logical(self.bucket)}.Arn>/{contract.BACKFILL_REPORT_PREFIX}/*]",
                ]
            },
            "Manifests and reports get new keys for every job; the role reads and writes only "
            "under the backfill prefixes of its own bucket.",
        )


def _logical(resource: Construct) -> str:
    cfn = resource.node.default_child
    assert cfn is not None
    return str(Stack.of(resource).get_logical_id(cfn))  # type: ignore[arg-type]
