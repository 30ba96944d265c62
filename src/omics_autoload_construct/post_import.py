"""Post-import: what the pipeline may do to a source object once its read set is ACTIVE.

Runtime: ``omics_autoload_runtime.logic.post_import``. Finalize acts on the imported
objects; the sweep retries those whose read set was not ACTIVE yet and deletes the
bookkeeping item (``POST#...``) of each it resolved. ``KEEP`` grants nothing.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from omics_autoload_runtime import contract
from omics_autoload_runtime.contract import PostImportAction

from . import _functions, _nag
from .stores import ISequenceStore

__all__ = ["PostImportAction", "grant_marker_deletes", "grant_post_import_action"]


def grant_post_import_action(
    action: PostImportAction,
    function: lambda_.Function,
    *,
    bucket: s3.IBucket,
    key_prefix: _functions.Prefixes,
    store: ISequenceStore,
) -> None:
    """What ``action`` needs: read the read set's status, then tag or delete its sources."""
    if action is PostImportAction.KEEP:
        return
    # The read set must be ACTIVE before its sources are touched.
    function.add_to_role_policy(
        iam.PolicyStatement(actions=["omics:GetReadSetMetadata"], resources=[f"{store.sequence_store_arn}/readSet/*"])
    )
    object_actions = (
        ["s3:DeleteObject"]
        if action is PostImportAction.DELETE
        else [
            "s3:PutObjectTagging",
            "s3:PutObjectVersionTagging",
            "s3:GetObjectTagging",
            "s3:GetObjectVersionTagging",
        ]
    )
    function.add_to_role_policy(
        iam.PolicyStatement(actions=object_actions, resources=_functions.object_arns(bucket, key_prefix))
    )
    _functions.acknowledge_object_wildcard(function, bucket, key_prefix)
    _nag.acknowledge(
        function.role or function,
        {_nag.AWS_SOLUTIONS: [f"IAM5[Resource::{_nag.rendered(function, store.sequence_store_arn)}/readSet/*]"]},
        "Read sets are created by the imports; reading their metadata is limited to this sequence store.",
    )


def grant_marker_deletes(function: lambda_.Function, table: dynamodb.ITable) -> None:
    """DeleteItem on the bookkeeping items of post-import actions only (``dynamodb:LeadingKeys``)."""
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=["dynamodb:DeleteItem"],
            resources=[table.table_arn],
            conditions={
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(contract.POST_IMPORT_DELETABLE_KEYS)}
            },
        )
    )
