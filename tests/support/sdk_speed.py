"""The AWS SDK and moto made faster for the whole suite, without changing what they return.

* botocore parses a service's JSON model again for every new session; the models are only
  read, so one parse per process serves them all. The e2e and CLI tests create a few
  sessions per pipeline and spent about a second a test there.
* moto 5 serializes every response from the botocore model, and for each member of each
  structure asks six alias providers which attribute names to look under: a DynamoDB item
  costs ten such questions per attribute value, so a scan of a few hundred items took ~1 s
  and the e2e tests spent a third of their time there. The answer depends only on the
  object's class, the member's shape (and the structure it sits in) and the key, so it is
  asked once per combination. Objects with their own ``Meta`` aliases and responses with
  key-path transformers go the original way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from unittest import mock

from botocore.loaders import JSONFileLoader
from moto.core import serialize
from moto.core.utils import MISSING
from moto.core.utils import get_value as _pick

_MODELS: dict[str, Any] = {}
_load_model = JSONFileLoader.load_file


def load_model_once(loader: JSONFileLoader, file_path: str) -> Any:
    if file_path not in _MODELS:
        _MODELS[file_path] = _load_model(loader, file_path)
    return _MODELS[file_path]


_original_get_value = serialize.ResponseSerializer.get_value
# (class, id(shape), id(parent), key) -> (possible keys, shape, parent): the shapes are kept
# alive so that their ids are never reused while the entry stands.
_KEYS: dict[tuple[type, int, int, str], tuple[tuple[str, ...], Any, Any]] = {}


def _get_value(self: Any, value: Any, key: str, shape: Any) -> Any:
    picker = self._value_picker
    if (
        type(picker) is not serialize.XFormedAttributePicker
        or picker.response_transformers
        or picker.alias_providers is not serialize.DEFAULT_ALIAS_PROVIDERS
        or hasattr(value, "Meta")
    ):
        return _original_get_value(self, value, key, shape)
    parent = getattr(shape, "parent", None)
    cache_key = (value.__class__, id(shape), id(parent), key)
    entry = _KEYS.get(cache_key)
    if entry is None:
        context = serialize.AttributePickerContext(obj=value, key=key, shape=shape)
        entry = _KEYS[cache_key] = (tuple(picker.get_possible_keys(context)), shape, parent)
    for possible_key in entry[0]:
        found = _pick(value, possible_key, MISSING)
        if found is not MISSING:
            return found
    return None


@contextlib.contextmanager
def faster_sdk() -> Iterator[None]:
    with (
        mock.patch.object(JSONFileLoader, "load_file", load_model_once),
        mock.patch.object(serialize.ResponseSerializer, "get_value", _get_value),
    ):
        yield


def run_scenario(spec: dict[str, Any], definition: str) -> dict[str, Any]:
    """``benchmarks.worker.run_scenario`` in a faster SDK: the benchmark's scenario processes
    are spawned, so the session's patches do not reach them; this reaches them by name."""
    from benchmarks import worker

    with faster_sdk():
        return worker.run_scenario(spec, definition)
