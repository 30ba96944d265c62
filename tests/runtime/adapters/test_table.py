"""ItemTable's bounded retries: unprocessed keys and conflicting transactions end in a
transient error the workflow retries, never in an endless loop (issue 16)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from omics_autoload_runtime.adapters import table
from omics_autoload_runtime.errors import OmicsThrottled


class Stub:
    def __init__(self, error_code: str = "TransactionCanceledException", reasons: list | None = None):
        self.calls = 0
        self.reasons = reasons or [{"Code": "TransactionConflict"}]
        self.error_code = error_code

    def batch_get_item(self, RequestItems):
        self.calls += 1
        (name, request), *_ = RequestItems.items()
        return {"Responses": {name: []}, "UnprocessedKeys": {name: {"Keys": request["Keys"]}}}

    def transact_write_items(self, TransactItems):
        self.calls += 1
        error = {"Error": {"Code": self.error_code, "Message": "cancelled"}, "CancellationReasons": self.reasons}
        raise ClientError(error, "TransactWriteItems")


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(table.time, "sleep", lambda seconds: None)


def test_keys_left_unprocessed_round_after_round_end_in_a_transient_error():
    stub = Stub()
    with pytest.raises(OmicsThrottled, match="still unprocessed"):
        table.ItemTable("t", client=stub).get_many([("pk", "sk")])
    assert stub.calls == table.MAX_READ_ROUNDS


def test_a_transaction_that_keeps_conflicting_ends_in_a_transient_error():
    stub = Stub()
    with pytest.raises(OmicsThrottled, match="still conflicting"):
        table.ItemTable("t", client=stub).transact([{"TableName": "t"}])
    assert stub.calls == table.MAX_TRANSACTION_ATTEMPTS


def test_a_failed_condition_names_the_write_that_failed():
    stub = Stub(reasons=[{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": {"pk": {"S": "f"}}}])
    with pytest.raises(table.ConditionFailed) as failed:
        table.ItemTable("t", client=stub).transact([{}, {}])
    assert failed.value.index == 1 and failed.value.old == {"pk": "f"} and stub.calls == 1
