"""The key prefixes a pipeline watches: checked once for the construct, matched per key at run time.

S3 refuses a bucket notification configuration whose filters overlap (one prefix the start
of another, for the same event and suffix), and two overlapping prefixes would also list
and reconcile the same objects twice; so overlapping prefixes are refused here, early,
with the fix in the message. No prefix at all means the whole bucket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def prefix_problems(value: object, name: str = "key_prefixes") -> list[str]:
    """Everything wrong with a ``key_prefixes`` value, each message naming the fix."""
    if isinstance(value, str):
        return [f"{name} is a list of prefixes: write {name}=[{value!r}], not {name}={value!r}"]
    if not isinstance(value, Sequence):
        return [f"{name} must be a list of strings such as ['runs/'], not {type(value).__name__}"]
    problems: list[str] = []
    for item in value:
        if not isinstance(item, str):
            problems.append(f"{name} holds {item!r} ({type(item).__name__}): every prefix must be a string")
        elif not item:
            problems.append(f"{name} holds an empty prefix: leave {name} out to watch the whole bucket")
        elif item.startswith("/") or "*" in item:
            problems.append(
                f"{name} holds {item!r}: a prefix must not start with '/' or contain '*'"
                f" (S3 keys have no leading slash: write {item.lstrip('/').replace('*', '')!r})"
            )
    prefixes = [item for item in value if isinstance(item, str) and item]
    for index, first in enumerate(prefixes):
        for second in prefixes[index + 1 :]:
            if first.startswith(second) or second.startswith(first):
                shorter, longer = sorted((first, second), key=len)
                problems.append(
                    f"{name} {shorter!r} and {longer!r} overlap (S3 refuses overlapping notification"
                    f" filters): keep only {shorter!r}"
                )
    return problems


def watched(key: str, prefixes: Iterable[str]) -> bool:
    """Whether ``key`` is under one of ``prefixes`` (no prefixes: every key)."""
    prefixes = tuple(prefixes)
    return not prefixes or key.startswith(prefixes)
