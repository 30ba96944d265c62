"""What a sweep reads: only what is due, however many files are in flight (issue 14).

The sweep finds its work by Query ``dueAt <= now`` on the due index; an item in flight
that is not due yet is never read. Counted here as items DynamoDB evaluates (each Query's
ScannedCount, each key read) on moto, which does not meter capacity units.
"""

from __future__ import annotations

import math
from typing import Any

from omics_autoload_runtime import contract
from omics_autoload_runtime.adapters import clients, tracking
from support.pipeline import TABLE


class CountingDynamoDB:
    """The handlers' DynamoDB client, counting the items each read evaluates."""

    def __init__(self, real: Any):
        self.real, self.items_read, self.requests, self.read_units = real, 0, 0, 0.0

    def _read(self, items: int, size: int, consistent: bool) -> None:
        self.items_read += items
        self.requests += 1
        self.read_units += max(1, math.ceil(size / 4096)) * (1 if consistent else 0.5)

    def query(self, **kwargs: Any) -> dict[str, Any]:
        response = self.real.query(**kwargs)
        size = sum(len(str(item)) for item in response.get("Items", []))  # an upper bound of the item sizes
        self._read(int(response.get("ScannedCount", 0)), size, bool(kwargs.get("ConsistentRead")))
        return response

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        response = self.real.batch_get_item(**kwargs)
        for request in kwargs["RequestItems"].values():
            self.items_read += len(request["Keys"])
            self.requests += 1
            self.read_units += len(request["Keys"])
        return response

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self._read(1, 0, True)
        return self.real.get_item(**kwargs)

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("the sweep never scans")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _in_flight(pipe, files: int) -> None:
    """``files`` files importing (pairs), in jobs of 100: nothing due for days."""
    now = pipe.double.now()
    later = int(now + 86400)
    requests = []
    for pair in range(files // 2):
        rs_pk = f"{tracking.READSET_PREFIX}s3://b/run/S{pair}#FASTQ#PAIRED"
        job_id = str(7_000_000 + pair // 50)
        entries = []
        for mate in (1, 2):
            pk, sk = tracking.object_key("b", f"run/S{pair}_R{mate}.fastq.gz", "v1")
            entries.append({"pk": pk, "sk": sk, "uri": pk[len(tracking.OBJECT_PREFIX) :], "size": 10**9})
            requests.append({"pk": pk, "sk": sk, "kind": "object", "status": tracking.IMPORTING, "readSetKey": rs_pk})
        requests.append(
            {
                "pk": rs_pk,
                "sk": tracking.READSET_SK,
                "kind": "readset",
                "status": tracking.IMPORTING,
                "file1": entries[0],
                "file2": entries[1],
                "batchId": f"b-{job_id}",
                "importJobId": job_id,
            }
        )
        if pair % 50 == 0:
            pk, sk = tracking.job_key(job_id)
            requests.append(  # the job's KEYS item stands in the IMP queue for its read sets
                {
                    "pk": pk,
                    "sk": tracking.JOB_KEYS_SK,
                    "kind": "job",
                    "readSetKeys": [rs_pk],
                    contract.DUE_QUEUE: contract.DueQueue.IMPORTING,
                    contract.DUE_AT: later,
                    contract.DUE_FILES: 100,
                    contract.DUE_BATCH: f"b-{job_id}",
                }
            )
            requests.append(
                {
                    "pk": pk,
                    "sk": sk,
                    "kind": "job",
                    "status": tracking.IMPORTING,
                    "importJobId": job_id,
                    "batchId": f"b-{job_id}",
                    "taskToken": "tok",
                    "nextPollAt": later,
                    contract.DUE_QUEUE: contract.DueQueue.JOB,
                    contract.DUE_AT: later,
                    contract.DUE_BATCH: f"b-{job_id}",
                }
            )
    for start in range(0, len(requests), 25):
        chunk = requests[start : start + 25]
        pipe.ddb.batch_write_item(
            RequestItems={TABLE: [{"PutRequest": {"Item": tracking.serialize(i)}} for i in chunk]}
        )


def _idle_sweep(pipe) -> CountingDynamoDB:
    counting = CountingDynamoDB(pipe.ddb)
    clients.override("dynamodb", counting)
    try:
        pipe.sweep()
    finally:
        clients.override("dynamodb", pipe.ddb)
    return counting


def test_a_sweep_reads_the_same_with_2000_files_in_flight_as_with_none(pipe):
    pipe.sweep()  # first run: nothing in the table but the sweep's own bookkeeping
    empty = _idle_sweep(pipe)
    _in_flight(pipe, 2000)
    busy = _idle_sweep(pipe)
    assert busy.items_read == empty.items_read  # no item in flight was read...
    assert busy.read_units == empty.read_units  # ...so the read cost stayed what it was idle
    assert empty.read_units <= 8


def test_what_is_due_is_read_and_nothing_more(pipe):
    _in_flight(pipe, 200)
    idle = _idle_sweep(pipe)
    due = tracking.job_key("7000000")
    pipe.ddb.update_item(
        TableName=TABLE,
        Key=tracking.serialize({"pk": due[0], "sk": due[1]}),
        UpdateExpression="SET #at = :now",
        ExpressionAttributeNames={"#at": contract.DUE_AT},
        ExpressionAttributeValues=tracking.serialize({":now": int(pipe.double.now())}),
    )
    one_due = _idle_sweep(pipe)
    # The due job: its index entry, then the job item (the poll finds it unknown to HealthOmics).
    assert one_due.items_read - idle.items_read <= 3
