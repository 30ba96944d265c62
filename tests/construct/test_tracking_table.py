"""The tracking table's indexes: one sparse due index, and an upgrade CloudFormation accepts.

CloudFormation (DynamoDB UpdateTable) creates or deletes at most one global secondary index
per stack update ("Cannot perform more than one GSI creation or deletion in a single
update"). The released layout had only ``by-status``; the two deployments of the README's
"Upgrading" each change one index.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk.assertions import Annotations, Match
from omics_autoload_runtime import contract
from support.synth import resources_of_type

from omics_autoload_construct import TrackingTable
from omics_autoload_construct.tracking_table import UPGRADE_WARNING_ID

# The released layout (git show v-before-issue-14:src/omics_autoload_construct/tracking_table.py).
RELEASED = {"by-status"}


def _stack(**props) -> cdk.Stack:
    app = cdk.App()
    stack = cdk.Stack(app, "Tables")
    TrackingTable(stack, "Tracking", **props)
    return stack


def _indexes(stack: cdk.Stack) -> dict[str, dict]:
    template = cdk.assertions.Template.from_stack(stack).to_json()
    (table,) = resources_of_type(template, "AWS::DynamoDB::Table").values()
    return {index["IndexName"]: index for index in table["Properties"]["GlobalSecondaryIndexes"]}


def _changes(before: set[str], after: set[str]) -> int:
    """Index creations plus deletions one stack update would make."""
    return len(after - before) + len(before - after)


def test_the_due_index_is_sparse_and_projects_only_what_its_readers_need():
    index = _indexes(_stack(legacy_status_index=False))[contract.DUE_INDEX]
    assert [k["AttributeName"] for k in index["KeySchema"]] == [contract.DUE_QUEUE, contract.DUE_AT]
    # Neither status nor updatedAt: an ordinary update of an item rewrites no index entry.
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["dueBatch", "fileCount"]}


def test_each_upgrade_step_creates_or_deletes_one_index_at_most():
    step1 = set(_indexes(_stack(legacy_status_index=True)))
    step2 = set(_indexes(_stack(legacy_status_index=False)))
    assert step1 == {contract.STATUS_INDEX, contract.DUE_INDEX} and step2 == {contract.DUE_INDEX}
    assert _changes(RELEASED, step1) == 1  # released -> step 1: by-due added
    assert _changes(step1, step2) == 1  # step 1 -> step 2: by-status deleted
    assert _changes(RELEASED, step2) == 2  # what the two steps avoid: CloudFormation fails this update


def test_the_kept_status_index_is_the_released_one_unchanged():
    # Any change to it (keys, projection) would be a deletion plus a creation.
    index = _indexes(_stack(legacy_status_index=True))[contract.STATUS_INDEX]
    assert index["KeySchema"] == [
        {"AttributeName": "status", "KeyType": "HASH"},
        {"AttributeName": "updatedAt", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}


def test_not_saying_warns_at_synth_with_the_two_steps():
    warning = Match.string_like_regexp("legacy_status_index=True .* then with legacy_status_index=False")
    Annotations.from_stack(_stack()).has_warning("*", warning)
    for given in (True, False):
        assert not Annotations.from_stack(_stack(legacy_status_index=given)).find_warning("*", warning)
    assert UPGRADE_WARNING_ID in str(Annotations.from_stack(_stack()).find_warning("*", warning))
