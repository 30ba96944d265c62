"""What a ``redrive`` run did, counted as it goes.

Both kinds of redrive, items (``redrive``) and dead letters (``redrive_queues``), add to
one tally; its counts make the summary line and the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tally:
    redriven: int = 0
    unchanged: int = 0
    problems: int = 0
    not_found: int = 0
    lines: list[str] = field(default_factory=list)  # printed before the items are redriven
