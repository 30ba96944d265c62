"""Props that changed name or shape: the old one still works, with a warning, until removed.

Each deprecation warns twice: ``warnings.warn`` for the Python user who runs the app, and
a CDK warning annotation that ``cdk synth`` prints (and ``--strict`` turns into an error).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TypeVar

from aws_cdk import Annotations
from constructs import Construct
from omics_autoload_runtime.domain.prefixes import prefix_problems
from omics_autoload_runtime.settings import Settings

T = TypeVar("T")


def deprecated(scope: Construct, old_name: str, message: str) -> None:
    text = f"{old_name} is deprecated: {message}"
    warnings.warn(text, DeprecationWarning, stacklevel=4)
    Annotations.of(scope).add_warning_v2(f"omics-autoload:deprecated-{old_name}", text)


def renamed(scope: Construct, old_name: str, old: T | None, new_name: str, new: T | None, default: T) -> T:
    """The value of a prop renamed from ``old_name`` to ``new_name``; giving both is an error."""
    if old is None:
        return default if new is None else new
    if new is not None:
        raise ValueError(f"give {new_name} or its deprecated name {old_name}, not both")
    deprecated(scope, old_name, f"use {new_name}")
    return old


def settings_of(scope: Construct, settings: Settings | None, environment: Mapping[str, str] | None) -> Settings:
    """The part's settings: ``settings``, or the deprecated hand-built ``environment`` read back."""
    if environment is None:
        return settings or Settings()
    if settings is not None:
        raise ValueError("give settings or the deprecated environment, not both")
    deprecated(scope, "environment", "pass settings=Settings(...) (omics_autoload_construct.Settings)")
    return Settings.from_environment(environment)


def key_prefixes_of(
    scope: Construct, key_prefix: str | None, key_prefixes: Sequence[str] | None
) -> tuple[tuple[str, ...], list[str]]:
    """The watched prefixes from ``key_prefixes`` or the deprecated single ``key_prefix``,
    and every problem with them (the caller raises them with its others)."""
    if key_prefix is not None and key_prefixes is not None:
        return (), ["give key_prefixes or its deprecated single form key_prefix, not both"]
    if key_prefix is not None:
        if not isinstance(key_prefix, str):
            return (), [f"key_prefix must be a string, not {type(key_prefix).__name__}: give key_prefixes=[...]"]
        problems = prefix_problems([key_prefix], "key_prefix")
        if not problems:
            deprecated(scope, "key_prefix", f"use key_prefixes=[{key_prefix!r}]")
        return (key_prefix,), problems
    if key_prefixes is None:
        return (), []
    problems = prefix_problems(key_prefixes)
    return (() if problems else tuple(key_prefixes)), problems
