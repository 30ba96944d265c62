"""What every command prints with: the program's name, one table renderer, a guard
against control characters, and progress lines on stderr.

Commands build their lines from these and print them, so ``plan``, ``status`` and
``redrive`` look alike and none of them lets an S3 key drive the terminal.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

PROG = "omics-autoload"


def printable(text: Any) -> str:
    """S3 keys and reasons may hold control characters: never let one drive the terminal."""
    text = "" if text is None else str(text)
    if text.isprintable():
        return text
    return "".join(
        char if char == " " or unicodedata.category(char)[0] != "C" else char.encode("unicode_escape").decode()
        for char in text
    )


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()) -> list[str]:
    """Columns as wide as their widest cell, two spaces apart; ``right`` columns (numbers)
    are right-aligned; ``(none)`` for no rows."""
    if not rows:
        return ["(none)"]
    cells = [list(headers)] + [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return lines


class Progress:
    """``redriven 250/1,000`` on stderr every ``every`` items (and at the end of long runs)."""

    def __init__(self, verb: str, total: int | None, every: int, stream: TextIO | None = None):
        self.verb, self.total, self.every = verb, total, every
        self.stream = stream or sys.stderr
        self.done = 0
        self.printed = False

    def step(self, amount: int = 1) -> None:
        before = self.done
        self.done += amount
        if self.every > 0 and self.done // self.every > before // self.every:
            self._print()

    def finish(self) -> None:
        if self.printed and self.done % max(self.every, 1):
            self._print()

    def _print(self) -> None:
        total = f"/{self.total:,}" if self.total is not None else ""
        print(f"{self.verb} {self.done:,}{total}", file=self.stream, flush=True)
        self.printed = True
