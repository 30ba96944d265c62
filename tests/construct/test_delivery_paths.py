"""Every service-to-service path, evaluated against the synthesized policies as AWS would.

The table of paths is the library's own (``omics_autoload_construct._delivery_paths``);
each row is resolved against its configuration's template and decided by the identity
policy of its principal, the resource policy of its resource and the key policy of its
key. A missing statement fails here instead of in a real account.
"""

from __future__ import annotations

import json

import pytest
from support.configurations import NAMES, configurations
from support.iam_eval import ACCOUNT, Request, denied

# Path kinds every pipeline configuration must have (a table that lost a row fails too).
PIPELINE_PATHS = ("-> dead-letter queue", "event source mapping", "Step Functions ->", "import role")


@pytest.mark.parametrize("name", NAMES)
def test_every_delivery_path_is_allowed(name):
    configuration = configurations()[name]
    template = configuration.evaluator()
    requests = configuration.requests(template)
    assert requests
    assert denied(template, (request for _, request in requests)) == []


@pytest.mark.parametrize("name", [n for n in NAMES if n != "ReferenceWithKey"])
def test_every_pipeline_configuration_has_the_whole_table(name):
    names = [path["name"] for path in configurations()[name].paths]
    for kind in PIPELINE_PATHS:
        assert any(kind in path for path in names), kind


@pytest.mark.parametrize("name", NAMES)
def test_service_paths_admit_this_account_only(name):
    # Nothing wider: the same service request on behalf of another account's resource
    # (its alarm, rule, bucket, log group) is refused: no confused deputy.
    configuration = configurations()[name]
    template = configuration.evaluator()
    others = [
        Request(r.principal, r.action, r.resource, json.loads(json.dumps(r.context).replace(ACCOUNT, "999999999999")))
        for _, r in configuration.requests(template)
        if r.principal.startswith("service:") and r.context
    ]
    assert others
    assert [r.describe() for r in others if template.decide(r) is None] == []


def test_an_imported_key_is_told_exactly_which_statements_it_needs():
    configuration = configurations()["ImportedKey"]
    principals = sorted(
        str(s["Principal"]["Service"]) for s in configuration.key_policy_warned()
    )
    assert principals == [
        "cloudwatch.amazonaws.com",
        "delivery.logs.amazonaws.com",
        "events.amazonaws.com",
        "logs.us-east-1.amazonaws.com",
    ]
    # Without them, the paths through the key are refused: the warning is what makes them work.
    template = configuration.evaluator()
    template.external_key_policies = {k: v[:1] for k, v in template.external_key_policies.items()}
    refused = denied(template, (r for _, r in configuration.requests(template)))
    assert any("logs.us-east-1" in line for line in refused)
    assert any("cloudwatch.amazonaws.com" in line for line in refused)
