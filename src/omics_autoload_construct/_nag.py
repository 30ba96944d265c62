"""Acknowledgments of cdk-nag findings that the construct accepts by design.

Every acknowledgment names the rule in each pack that raises it and says why. Users who
run cdk-nag on their app see none of these findings; they see everything else.
"""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

AWS_SOLUTIONS = "AwsSolutions"
HIPAA = "HIPAA.Security"
NIST = "NIST.800.53.R5"


def acknowledge(scope: IConstruct, rules: dict[str, list[str]], reason: str) -> None:
    """``rules`` maps a pack name to the rule ids (``S1``, ``S3BucketLoggingEnabled``...)."""
    for pack, ids in rules.items():
        for rule in ids:
            Validations.of(scope).acknowledge(Acknowledgment(id=f"{pack}::{pack}-{rule}", reason=reason))


def rendered(scope: IConstruct, value: str) -> str:
    """A token rendered the way cdk-nag names it in a granular finding id."""

    def render(node: object) -> str:
        if isinstance(node, str):
            return node
        if isinstance(node, dict) and "Ref" in node:
            return f"<{node['Ref']}>"
        if isinstance(node, dict) and "Fn::GetAtt" in node:
            return "<" + ".".join(node["Fn::GetAtt"]) + ">"
        if isinstance(node, dict) and "Fn::Join" in node:
            separator, parts = node["Fn::Join"]
            return str(separator).join(render(part) for part in parts)
        # cdk-nag's own fallback for other intrinsics (Fn::Select, Fn::Split...): JSON.stringify.
        return json.dumps(node, separators=(",", ":"), ensure_ascii=False)

    return render(Stack.of(scope).resolve(value))
