"""boto3 clients for the handlers: created lazily, cached, replaceable in tests.

Handlers call ``aws.client("omics")`` at request time (never at import time), so a
test can inject a double first::

    from omics_autoload_runtime import aws
    aws.override("omics", double.client)
    ...
    aws.reset()
"""

from __future__ import annotations

from typing import Any

_overrides: dict[str, Any] = {}
_cache: dict[str, Any] = {}


def client(service_name: str) -> Any:
    """The boto3 client for ``service_name``: a test override, else one cached client."""
    if service_name in _overrides:
        return _overrides[service_name]
    if service_name not in _cache:
        import boto3  # in the Lambda runtime; imported late so tests need no credentials

        _cache[service_name] = boto3.client(service_name)
    return _cache[service_name]


def override(service_name: str, service_client: Any) -> None:
    """Make :func:`client` return ``service_client`` for ``service_name`` (tests)."""
    _overrides[service_name] = service_client


def reset() -> None:
    """Forget every override and every cached client."""
    _overrides.clear()
    _cache.clear()
