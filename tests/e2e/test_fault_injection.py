"""Nothing lost, nothing imported twice - under every single fault (issue 16).

For each scenario of ``support.fault_scenarios`` the clean run records every AWS call site
its handlers reach; each case re-runs the scenario with ONE of those calls failing (one
of ``support.faults.KINDS``), lets the pipeline run on (Lambda and Step Functions retries,
the sweep, the operator's documented ``redrive``) and checks per object version: exactly
one terminal state, the clean run's outcome, IMPORTED = exactly one read set in the store
holding that version's bytes, and no read set in the store that no item names.

CI runs a fixed number of cases per scenario (``fs.PER_SCENARIO`` sites drawn with a fixed
seed, every kind among them), so that more call sites do not make CI slower, plus one small
storm; ``python -m benchmarks.faults`` (``./scripts/run-benchmark --faults``) runs every case.
The clean runs are made once per test session, by whichever xdist worker gets to each first
(``fs.clean_all``).

Cases that fail today are ``xfail(strict=True)`` under the root cause diagnosed for them
(``KNOWN``): a fix turns its cases into passes, and strict xfail then asks for the entry
to be removed.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models import dynamodb_backends
from support import fault_scenarios as fs
from support.faults import CRASH, REPLY_LOST, SERVER_ERROR, THROTTLED, Site, light_transactions
from support.pipeline import ACCOUNT, REGION, TABLE, Pipeline

STORM_SEED, STORM_OBJECTS = 1, 40


# Root causes diagnosed from the cases that fail today (scenario/kind/site ids below).
# Fixed (issue 16): a crashed task ending in RecordFailure, which failed read sets
# HealthOmics imported (Lambda.Unknown is retried; RecordFailure leaves open what may be
# imported, the sweep re-checks it); WaitForCompletion's token store not retried; a read
# set moved before its files (one transaction now: docs/state-model.md).
# Fixed (issue 16): a new object version confused with the tracked one (the version is
# checked before the start and after completion, results are matched by source index, and a
# re-upload has the outcome ``reupload_policy`` gives it).
REASONS: dict[str, str] = {}
KNOWN_CASES: dict[str, tuple[str, ...]] = {}
CAUSE_OF = {case: cause for cause, cases in KNOWN_CASES.items() for case in cases}


def _param(scenario: str, site: Site, kind: str) -> object:
    case = f"{scenario}/{kind}/{site}"
    cause = CAUSE_OF.get(case)
    marks = [pytest.mark.xfail(strict=True, reason=f"{cause}: {REASONS[cause]}")] if cause else []
    return pytest.param(scenario, site, kind, id=case, marks=marks)


@pytest.mark.parametrize(("scenario", "site", "kind"), [_param(*case) for case in fs.ci_cases()])
def test_one_fault(scenario: str, site: Site, kind: str) -> None:
    problems, fired = fs.single_fault(scenario, site, kind)
    assert fired, f"{site} was not reached: the run is not the clean run's"
    assert not problems, problems


CLEAN_KNOWN: dict[str, str] = {}


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(
            name, marks=[pytest.mark.xfail(strict=True, reason=CLEAN_KNOWN[name])] if name in CLEAN_KNOWN else []
        )
        for name in fs.SCENARIOS
    ],
)
def test_clean_run_keeps_the_promise(scenario: str) -> None:
    clean = fs.clean(scenario)
    assert clean.sites, "no call site reached"
    assert not clean.problems, clean.problems


def test_a_seeded_storm_of_faults() -> None:
    """Fixed (issue 16) after it found: a sample sheet arriving between two mates (the second
    waited for a first that never joined), and a multi-record intake event that one throttled
    record failed on every try (dead-lettered: its versions had no item at all)."""
    problems = fs.storm_problems(STORM_SEED, STORM_OBJECTS)
    assert not problems, problems[:20]


def test_every_kind_is_exercised() -> None:
    """In every scenario, by CI's sample too."""
    tried = {(scenario, kind) for scenario, _, kind in fs.ci_cases()}
    assert tried == {(name, kind) for name in fs.SCENARIOS for kind in (THROTTLED, SERVER_ERROR, REPLY_LOST, CRASH)}


def test_a_cancelled_transaction_leaves_no_trace_with_the_light_backup() -> None:
    """``light_transactions`` (on for the whole suite) rolls back as moto's full copy does:
    the items and the stream as they were, on the same table."""
    item = {"pk": {"S": "OBJ#a"}, "sk": {"S": "V#1"}, "status": {"S": "QUEUED"}}
    put_b = {"Put": {"TableName": TABLE, "Item": {**item, "pk": {"S": "OBJ#b"}}}}
    with light_transactions(), Pipeline() as pipe:
        pipe.ddb.put_item(TableName=TABLE, Item=item)
        table = dynamodb_backends[ACCOUNT][REGION].get_table(TABLE)
        before = (pipe.items(), len(table.stream_shard.items))
        update_a = {"TableName": TABLE, "Key": {"pk": item["pk"], "sk": item["sk"]}, "UpdateExpression": "SET #s = :s"}
        update_a |= {"ExpressionAttributeNames": {"#s": "status"}, "ExpressionAttributeValues": {":s": {"S": "DONE"}}}
        missing = {"TableName": TABLE, "Key": {"pk": {"S": "OBJ#c"}, "sk": {"S": "V#1"}}}
        missing["ConditionExpression"] = "attribute_exists(pk)"
        with pytest.raises(ClientError, match="TransactionCanceled"):
            pipe.ddb.transact_write_items(TransactItems=[put_b, {"Update": update_a}, {"ConditionCheck": missing}])
        assert dynamodb_backends[ACCOUNT][REGION].get_table(TABLE) is table
        assert (pipe.items(), len(table.stream_shard.items)) == before
        pipe.ddb.transact_write_items(TransactItems=[put_b, {"Update": update_a}])
        assert sorted((i["pk"], i["status"]) for i in pipe.items()) == [("OBJ#a", "DONE"), ("OBJ#b", "QUEUED")]
        assert len(table.stream_shard.items) == before[1] + 2
