"""``OmicsAutoLoad``: every object that lands in a bucket becomes a HealthOmics read set."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import _defaults
from .stores import SequenceStore
from .tracking_table import TrackingTable


class OmicsAutoLoad(Construct):
    """Automatic, monitored, secure import of sequencing files from S3 into HealthOmics.

    Example::

        OmicsAutoLoad(stack, "AutoLoad")

    creates a private, encrypted, versioned bucket, a sequence store and the import
    pipeline; every FASTQ / BAM / CRAM / uBAM object written to the bucket becomes a
    read set, or is recorded in the tracking table with the reason why not.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket | None = None,
        bucket_props: dict[str, Any] | None = None,
        sequence_store: SequenceStore | None = None,
        server_access_logs_bucket: s3.IBucket | None = None,
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param bucket: an existing bucket to watch. Default: a new bucket is created
            (versioned, KMS or S3-managed encryption, TLS only, public access blocked,
            object ownership enforced).
        :param bucket_props: overrides for the bucket this construct creates (keyword
            arguments of ``aws_s3.Bucket``). Cannot be combined with ``bucket``.
            Default: none.
        :param sequence_store: the store that receives the read sets. Default: a new
            ``SequenceStore``.
        :param server_access_logs_bucket: where the created bucket writes its S3 server
            access logs. Default: a new SSE-S3 bucket (log delivery cannot use KMS keys).
            Ignored with ``bucket``.
        :param encryption_key: customer-managed KMS key for everything this construct
            creates. Default: a new customer-managed key with yearly rotation.
        :param removal_policy: applied to the stateful resources this construct creates
            (bucket, table, sequence store). Default: RETAIN.
        """
        super().__init__(scope, id)
        # Log delivery by bucket policy, not the legacy LogDeliveryWrite ACL, whatever the
        # user's app flags say (set before any child exists, as CDK requires).
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        problems = []
        if bucket is not None and bucket_props is not None:
            problems.append("give either bucket (bring your own) or bucket_props (override our defaults), not both")
        if problems:
            raise ValueError("invalid OmicsAutoLoad props:\n- " + "\n- ".join(problems))

        self.encryption_key: kms.IKey = encryption_key or _defaults.encryption_key(
            self, "Key", removal_policy=removal_policy
        )
        _defaults.allow_logs_service(self.encryption_key, self)
        self.access_logs_bucket: s3.IBucket | None = None
        if bucket is None:
            self.access_logs_bucket = server_access_logs_bucket or _defaults.access_log_bucket(
                self, "AccessLogs", removal_policy=removal_policy
            )
        self.bucket: s3.IBucket = bucket or _defaults.secure_bucket(
            self,
            "Bucket",
            encryption_key=self.encryption_key,
            removal_policy=removal_policy,
            server_access_logs_bucket=self.access_logs_bucket,
            overrides=bucket_props,
        )
        self.sequence_store = sequence_store or SequenceStore(
            self, "SequenceStore", encryption_key=self.encryption_key, removal_policy=removal_policy
        )
        self.tracking = TrackingTable(
            self, "Tracking", encryption_key=self.encryption_key, removal_policy=removal_policy
        )
        self.table = self.tracking.table
