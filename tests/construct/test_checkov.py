"""checkov on the synthesized templates: every failed check is an accepted finding, with its reason.

checkov lives in its own virtualenv (``.venv-tools/checkov``, made by ``scripts/bootstrap``
from ``requirements-checkov.txt``): its pins conflict with ours. One checkov process reads
every template. Like the cdk-nag acknowledgments, each accepted finding names the check,
the resources it may fail on, and why; a new finding fails the test, and so does an
acceptance no template needs any more.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from support.configurations import configurations
from support.synth import REPO, example_template, maximal_template

CHECKOV = REPO / ".venv-tools" / "checkov" / "bin" / "checkov"

CDK_PROVIDER = (
    "AWS CDK's custom resource Provider framework (and the handlers it calls) runs only during "
    "deployments, invoked synchronously by CloudFormation, which receives every failure. "
)


class Accepted(NamedTuple):
    resource_type: str
    logical_ids: str  # a regular expression the failing resources' logical ids match in full
    reason: str


ACCEPTED: dict[str, Accepted] = {
    "CKV_AWS_115": Accepted(
        "AWS::Lambda::Function", ".*",
        "Reserved concurrency is opt-in (reserved_concurrent_executions): it fails deployment in "
        "accounts whose concurrency limit is low (new accounts have 10); the HealthOmics rate limits "
        "are enforced by the import slots, the workflow's retries and the stream's batching instead.",
    ),
    "CKV_AWS_116": Accepted(
        "AWS::Lambda::Function",
        r"BucketNotificationsHandler\w+|\w*(OnEvent|IsComplete|Providerframework(onEvent|isComplete|onTimeout))"
        r"[0-9A-F]{8}",
        "Only functions invoked synchronously, where a dead-letter queue never receives anything: "
        "CDK's bucket-notifications custom resource handler and " + CDK_PROVIDER,
    ),
    "CKV_AWS_117": Accepted(
        "AWS::Lambda::Function", ".*",
        "The functions call only AWS APIs over TLS with IAM auth; a VPC would add NAT or endpoints "
        "without narrowing what the functions can reach (the cdk-nag LambdaInsideVPC acknowledgment).",
    ),
    "CKV_AWS_111": Accepted(
        "AWS::IAM::Policy", r"\w*ProviderwaiterstatemachineRoleDefaultPolicy[0-9A-F]{8}",
        CDK_PROVIDER + "CDK grants its waiter state machine the Step Functions log-delivery actions, "
        "which support no resource-level permission, on '*'; the policy is generated and cannot be "
        "configured.",
    ),
    "CKV_AWS_18": Accepted(
        "AWS::S3::Bucket", r"\w*(AccessLogs|BatchOperationsBucket)[0-9A-F]{8}",
        "The bucket that receives the data bucket's server access logs (logging it too would only "
        "log the logging), and the backfill manifests and reports bucket next to a brought data "
        "bucket, for which the construct creates no access logs bucket (it logs to the created one).",
    ),
}


def _templates() -> dict[str, dict[str, Any]]:
    """The example app, the maximal app and the evaluated configurations.

    The configurations' Maximal is left out: the maximal app is its twin with the test
    scaffolding (the user's own buckets) hardened and acknowledged.
    """
    out = {"example": example_template(), "maximal": maximal_template()}
    out.update({name: c.template for name, c in configurations().items() if name != "Maximal"})
    return out


@pytest.fixture(scope="module")
def failed_checks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run scripts/bootstrap (it installs requirements-checkov.txt there)")
    folder = tmp_path_factory.mktemp("checkov")
    arguments: list[str] = []
    for name, template in _templates().items():
        path = folder / f"{name}.template.json"
        path.write_text(json.dumps(template))
        arguments += ["-f", str(path)]
    # --skip-download: no guidelines from the vendor's API (offline, and faster).
    command = [str(CHECKOV), *arguments, "--framework", "cloudformation", "-o", "json", "--compact", "--skip-download"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=300)
    assert run.returncode in (0, 1), f"checkov failed to run ({run.returncode}):\n{run.stderr[-3000:]}"
    report = json.loads(run.stdout)
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    assert report["summary"]["resource_count"] > 0, report["summary"]
    return report["results"]["failed_checks"]


def _where(check: dict[str, Any]) -> str:
    return f"{Path(check['file_path']).name}: {check['resource']} ({check['check_name']})"


def test_every_failed_check_is_accepted_with_its_reason(failed_checks):
    unaccepted = []
    for check in failed_checks:
        accepted = ACCEPTED.get(check["check_id"])
        resource_type, logical_id = check["resource"].split(".", 1)
        if (
            accepted is None
            or resource_type != accepted.resource_type
            or not re.fullmatch(accepted.logical_ids, logical_id)
        ):
            unaccepted.append(f"{check['check_id']} {_where(check)}")
    assert not unaccepted, "fix these, or accept them in ACCEPTED with a reason:\n" + "\n".join(unaccepted)


def test_every_accepted_finding_is_still_found(failed_checks):
    assert {check["check_id"] for check in failed_checks} == set(ACCEPTED)
