"""Acknowledgments of cdk-nag findings that the construct accepts by design.

Every acknowledgment names the rule in each pack that raises it and says why. Users who
run cdk-nag on their app see none of these findings; they see everything else.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

AWS_SOLUTIONS = "AwsSolutions"
HIPAA = "HIPAA.Security"
NIST = "NIST.800.53.R5"


def acknowledge(scope: IConstruct, rules: dict[str, list[str]], reason: str) -> None:
    """``rules`` maps a pack name to the rule ids (``S1``, ``S3BucketLoggingEnabled``...)."""
    for pack, ids in rules.items():
        for rule in ids:
            Validations.of(scope).acknowledge(Acknowledgment(id=f"{pack}::{pack}-{rule}", reason=reason))
