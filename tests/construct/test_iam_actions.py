"""Every IAM action in the synthesized templates exists in the IAM action database.

policy_sentry ships the AWS Service Authorization Reference offline; a misspelled or
invented action (which IAM would accept silently and never match) fails here.
"""

from __future__ import annotations

import fnmatch
import functools

import pytest
from support.synth import example_template, maximal_template


@functools.cache
def _known_actions(service: str) -> frozenset[str]:
    from policy_sentry.querying.actions import get_actions_for_service

    return frozenset(a.lower() for a in get_actions_for_service(service))


def _actions_in(template: dict) -> set[str]:
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("Action", "NotAction"):
                    found.update([value] if isinstance(value, str) else [v for v in value if isinstance(v, str)])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(template["Resources"])
    return found


def _unknown(actions: set[str]) -> list[str]:
    unknown = []
    for action in sorted(actions):
        service, _, name = action.partition(":")
        known = _known_actions(service.lower())
        if not known or not fnmatch.filter(known, f"{service.lower()}:{name.lower()}"):
            unknown.append(action)
    return unknown


@pytest.mark.parametrize("template_of", [example_template, maximal_template], ids=["example", "maximal"])
def test_every_action_is_a_real_iam_action(template_of):
    actions = _actions_in(template_of())
    assert any(a.startswith("omics:") for a in actions)
    assert _unknown(actions) == []


def test_the_check_catches_a_misspelled_action():
    assert _unknown({"omics:StartReadSetImportJobs", "dynamodb:GetItem", "s3:GetObjekt"}) == [
        "omics:StartReadSetImportJobs",
        "s3:GetObjekt",
    ]
