"""Props that changed name or shape: the old one still works, with a warning, until removed.

Each deprecation warns twice: ``warnings.warn`` for the Python user who runs the app, and
a CDK warning annotation that ``cdk synth`` prints (and ``--strict`` turns into an error).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TypeVar

from aws_cdk import Annotations
from constructs import Construct
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
