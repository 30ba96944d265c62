"""The tracking table: one item per S3 object version, per read set and per import job.

Item keys (``pk`` / ``sk``), statuses and the index name are defined in
``omics_autoload_runtime.contract`` so that the handlers, the CLI and this construct
agree on them.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct
from omics_autoload_runtime.contract import STATUS_INDEX

from . import _nag


class TrackingTable(Construct):
    """DynamoDB table that records what happened to every object, with a stream.

    On-demand billing, point-in-time recovery, encryption (customer-managed key when
    given) and a ``by-status`` index (partition ``status``, sort ``updatedAt``) to find
    stuck or failed items. The stream carries new images; the starter reads it.
    TTL (attribute ``expiresAt``) is set only on internal bookkeeping items, never on
    the record of an object.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param encryption_key: customer-managed KMS key. Default: an AWS managed key.
        :param removal_policy: Default: RETAIN (the table is the audit trail of imports).
        """
        super().__init__(scope, id)
        # Table (not TableV2): TableV2 cannot render a customer-managed key in a
        # Region-agnostic stack, and users' stacks often are.
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED
                if encryption_key
                else dynamodb.TableEncryption.AWS_MANAGED
            ),
            encryption_key=encryption_key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            stream=dynamodb.StreamViewType.NEW_IMAGE,
            time_to_live_attribute="expiresAt",
            deletion_protection=removal_policy == RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )
        self.table.add_global_secondary_index(
            index_name=STATUS_INDEX,
            partition_key=dynamodb.Attribute(name="status", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="updatedAt", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        _nag.acknowledge(
            self.table,
            {_nag.HIPAA: ["DynamoDBInBackupPlan"], _nag.NIST: ["DynamoDBInBackupPlan"]},
            "Point-in-time recovery (35 days) is on; organisations attach tables to AWS Backup "
            "centrally (for example by tag), which a library must not decide for them.",
        )
