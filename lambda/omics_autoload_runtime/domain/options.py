"""AssemblyOptions: the user's choices for turning files into read sets.

The construct validates and serializes them at synth time (``ASSEMBLY_OPTIONS``), the
handlers read them back, the CLI builds them from flags; one class keeps the three in step.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any

from omics_autoload_runtime.domain import limits

ORPHAN_POLICIES = ("REPORT", "IMPORT_SINGLE")


@dataclass(frozen=True)
class AssemblyOptions:
    read_set_patterns: tuple[str, ...] = ()
    include_undetermined: bool = False
    orphan_policy: str = "REPORT"
    bam_is_unaligned: bool = False
    sample_from_header: bool = True  # a BAM/CRAM's one @RG SM: value is its sample id
    max_sources_per_job: int = 100

    def __post_init__(self) -> None:
        # Lists come from JSON and from CDK users; a tuple keeps the options hashable.
        if isinstance(self.read_set_patterns, list):
            object.__setattr__(self, "read_set_patterns", tuple(self.read_set_patterns))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> AssemblyOptions:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("AssemblyOptions JSON must be an object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown AssemblyOptions keys {unknown}; known keys: {sorted(known)}")
        return cls(**data)

    def problems(self) -> list[str]:
        found = _pattern_problems(self.read_set_patterns)
        for name in ("include_undetermined", "bam_is_unaligned", "sample_from_header"):
            if not isinstance(getattr(self, name), bool):
                found.append(f"{name} must be true or false, not {getattr(self, name)!r}")
        if self.orphan_policy not in ORPHAN_POLICIES:
            found.append(f"orphan_policy {self.orphan_policy!r} is not one of {', '.join(ORPHAN_POLICIES)}")
        low, high = limits.SOURCES_PER_IMPORT_JOB
        value = self.max_sources_per_job
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            found.append(f"max_sources_per_job must be a whole number from {low} to {high}, not {value!r}")
        return found


def _pattern_problems(patterns: Any) -> list[str]:
    if isinstance(patterns, str) or not isinstance(patterns, tuple):
        return [f"read_set_patterns must be a list of regular expressions, not {patterns!r}"]
    found = []
    for index, pattern in enumerate(patterns):
        label = f"read_set_patterns[{index}] {pattern!r}"
        if not isinstance(pattern, str):
            found.append(f"{label} is not a string")
            continue
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            found.append(f"{label} is not a valid regular expression: {error}")
            continue
        if "sample" not in compiled.groupindex:
            found.append(f"{label} has no (?P<sample>...) group; it is needed to set the sampleId")
    return found


@lru_cache(maxsize=64)
def user_patterns(options: AssemblyOptions) -> tuple[re.Pattern[str], ...]:
    """The compiled read_set_patterns; raises ValueError for invalid options."""
    problems = options.problems()
    if problems:
        raise ValueError("invalid AssemblyOptions: " + "; ".join(problems))
    return tuple(re.compile(p, re.IGNORECASE) for p in options.read_set_patterns)
