"""Reference genome custom resource: the CDK Provider framework's onEvent and isComplete functions."""

from __future__ import annotations

from typing import Any

from omics_autoload_runtime.logic import reference_import


def on_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return reference_import.on_event(event)


def is_complete(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return reference_import.is_complete(event)
