"""docs/state-model.md and ``tracking.TRANSITIONS`` list the same moves (issue 16). The
fault-injection suite checks the moves each run makes against ``TRANSITIONS``."""

from __future__ import annotations

import re
from pathlib import Path

from omics_autoload_runtime.adapters import tracking

DOC = Path(__file__).resolve().parents[2] / "docs" / "state-model.md"
_SECTION = re.compile(r"^## (\w+) \(", re.MULTILINE)
_ROW = re.compile(r"^\| (new|[A-Z_]+) -> ([A-Z_, ]+) \|", re.MULTILINE)


def _documented() -> dict[str, set[tuple[str | None, str]]]:
    text = DOC.read_text()
    starts = [(m.group(1), m.end()) for m in _SECTION.finditer(text)]
    out: dict[str, set[tuple[str | None, str]]] = {}
    for index, (kind, start) in enumerate(starts):
        end = starts[index + 1][1] if index + 1 < len(starts) else len(text)
        for source, targets in _ROW.findall(text[start:end]):
            for target in targets.split(","):
                out.setdefault(kind, set()).add((None if source == "new" else source, target.strip()))
    return out


def _modelled() -> dict[str, set[tuple[str | None, str]]]:
    return {
        kind: {(source, target) for source, targets in moves.items() for target in targets}
        for kind, moves in tracking.TRANSITIONS.items()
    }


def test_the_documented_state_model_is_the_one_the_suite_checks():
    assert _documented() == _modelled()


def test_every_status_of_a_kind_is_in_the_model():
    for kind, statuses in (
        (tracking.KIND_OBJECT, tracking.OBJECT_STATUSES),
        (tracking.KIND_READSET, tracking.READSET_STATUSES),
        (tracking.KIND_JOB, tracking.JOB_STATUSES),
    ):
        assert set(tracking.TRANSITIONS[kind]) - {tracking.NEW} == set(statuses), kind
