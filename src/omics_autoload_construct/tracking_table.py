"""The tracking table: one item per S3 object version, per read set and per import job.

Item keys (``pk`` / ``sk``), statuses and the index names are defined in
``omics_autoload_runtime.contract`` so that the handlers, the CLI and this construct
agree on them.
"""

from __future__ import annotations

from aws_cdk import Annotations, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct
from omics_autoload_runtime.contract import DUE_AT, DUE_INDEX, DUE_INDEX_INCLUDE, DUE_QUEUE, STATUS_INDEX

from . import _nag

UPGRADE_WARNING_ID = "omics-autoload:tracking-index-upgrade"


class TrackingTable(Construct):
    """DynamoDB table that records what happened to every object, with a stream.

    On-demand billing, point-in-time recovery, encryption (customer-managed key when
    given) and one sparse index, ``by-due`` (partition ``dueQ``, sort ``dueAt``, keys plus
    ``dueBatch`` / ``fileCount``): an item is in it only while the sweep, the
    import slots or an operator must find it (an open read set, an import job, a held
    slot, a post-import retry, a FAILED or ORPHANED item), so an ordinary update writes
    no index entry. The stream carries new images; the starter reads it. TTL (attribute
    ``expiresAt``) is set only on internal bookkeeping items, never on the record of an
    object.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        legacy_status_index: bool | None = None,
    ) -> None:
        """
        :param encryption_key: customer-managed KMS key. Default: an AWS managed key.
        :param removal_policy: Default: RETAIN (the table is the audit trail of imports).
        :param legacy_status_index: keep the ``by-status`` index of earlier releases
            (nothing reads it). CloudFormation creates or deletes only one global secondary
            index per stack update, so a table deployed by an earlier release is upgraded
            in two deployments: first with ``True`` (adds ``by-due``), then with ``False``
            (deletes ``by-status``). Default: not kept, with a synth warning that names
            the two steps; give ``False`` for a new table to silence it.
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
        if legacy_status_index:
            # First, as the released layout had it: the one index an upgraded table has.
            self.table.add_global_secondary_index(
                index_name=STATUS_INDEX,
                partition_key=dynamodb.Attribute(name="status", type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name="updatedAt", type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        elif legacy_status_index is None:
            Annotations.of(self).add_warning_v2(
                UPGRADE_WARNING_ID,
                "upgrading a pipeline deployed by a release with the 'by-status' index? Deploy once "
                "with legacy_status_index=True (adds 'by-due'), then with legacy_status_index=False "
                "(deletes 'by-status'): CloudFormation fails an update that creates and deletes an "
                "index at once. A new pipeline: give legacy_status_index=False.",
            )
        self.table.add_global_secondary_index(
            index_name=DUE_INDEX,
            partition_key=dynamodb.Attribute(name=DUE_QUEUE, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=DUE_AT, type=dynamodb.AttributeType.NUMBER),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=list(DUE_INDEX_INCLUDE),
        )
        self.legacy_status_index = bool(legacy_status_index)
        _nag.acknowledge(
            self.table,
            {_nag.HIPAA: ["DynamoDBInBackupPlan"], _nag.NIST: ["DynamoDBInBackupPlan"]},
            "Point-in-time recovery (35 days) is on; organisations attach tables to AWS Backup "
            "centrally (for example by tag), which a library must not decide for them.",
        )
