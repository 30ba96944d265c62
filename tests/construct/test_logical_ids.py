"""The example app's CloudFormation logical ids and types do not move.

A changed logical id makes CloudFormation replace the resource: a new table (the audit
trail left behind), a new bucket, a new sequence store. Refactoring the construct must
keep every construct id where it was; ``tests/data/example_logical_ids.json`` is the record.
New resources may be added (they are created, nothing is replaced); a recorded one may
not move or change its type.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.synth import example_template

RECORD = Path(__file__).resolve().parent / "data" / "example_logical_ids.json"


def test_the_example_template_keeps_every_logical_id_and_type():
    resources = example_template()["Resources"]
    synthesized = {logical_id: resource["Type"] for logical_id, resource in resources.items()}
    recorded = json.loads(RECORD.read_text())
    moved = {logical_id: kind for logical_id, kind in recorded.items() if synthesized.get(logical_id) != kind}
    assert not moved, f"these resources would be replaced or deleted on update: {moved}"
