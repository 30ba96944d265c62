"""The example app's CloudFormation logical ids and types do not move.

A changed logical id makes CloudFormation replace the resource: a new table (the audit
trail left behind), a new bucket, a new sequence store. Refactoring the construct must
keep every construct id where it was; ``tests/data/example_logical_ids.json`` is the record.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.synth import example_template

RECORD = Path(__file__).resolve().parent / "data" / "example_logical_ids.json"


def test_the_example_template_keeps_every_logical_id_and_type():
    resources = example_template()["Resources"]
    synthesized = {logical_id: resource["Type"] for logical_id, resource in resources.items()}
    assert synthesized == json.loads(RECORD.read_text())
