"""DynamoDB read/write request units, computed from item sizes (moto does not meter them).

moto answers ``ReturnConsumedCapacity`` with constants, so the benchmark computes the units
of every request the handlers make itself, from the sizes of the items involved, with
the on-demand rules of the DynamoDB Developer Guide ("Read/write capacity mode", "Item
sizes", "Managing settings on global secondary indexes"):

* item size: attribute name (UTF-8 bytes) + value; String / Binary: their bytes; Number:
  1 byte per 2 significant digits + 1; Boolean / Null: 1; List / Map: 3 bytes + 1 byte per
  element + the elements.
* writes (PutItem, UpdateItem, DeleteItem): 1 WRU per started KB of the larger of the item
  before and after; a failed condition still costs the units of the item as it is (min 1).
  TransactWriteItems: 2 WRU per started KB of each item, also when the transaction is
  cancelled (the prepare phase is billed).
* global secondary indexes (each index the table really has, read from its definition:
  key schema and projection): each table write that changes an item's index entry adds
  index writes: the entry appears 1, disappears 1, changes its index key 2 (delete +
  put), changes a projected attribute 1, changes nothing projected 0; 1 WRU per started
  KB of the index entry (its keys and projected attributes; with projection ALL, the item).
* reads: GetItem / each BatchGetItem key: 1 RRU per started 4 KB, min 1 even when absent;
  Query: the sizes of all items evaluated (before the filter, ``Select=COUNT`` included)
  summed, then 1 RRU per started 4 KB; eventually consistent reads (every index query)
  half of that.
* DynamoDB Streams reads by Lambda event source mappings and TTL deletes are free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

KB = 1024
READ_BLOCK = 4 * KB


def value_size(value: Mapping[str, Any]) -> int:
    """Size in bytes of one DynamoDB-JSON value (``{"S": "..."}``...)."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(str(inner))
    if kind == "N":
        digits = Decimal(str(inner)).normalize().as_tuple().digits
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode("utf-8")) for v in inner)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in inner)
    if kind == "BS":
        return sum(len(v) for v in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: Mapping[str, Any] | None) -> int:
    """Size in bytes of an item in DynamoDB JSON (0 for no item)."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def write_units(old: int, new: int) -> int:
    return max(1, math.ceil(max(old, new) / KB))


def read_units(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_BLOCK))
    return float(units) if consistent else units / 2


def query_units(total_size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(total_size / READ_BLOCK))
    return float(units) if consistent else units / 2


def _index_key(item: Mapping[str, Any] | None, hash_attr: str, range_attr: str) -> tuple[Any, Any] | None:
    """The item's key in the index, or None when it is not in the index."""
    if not item or hash_attr not in item or range_attr not in item:
        return None
    return (repr(item[hash_attr]), repr(item[range_attr]))


def index_entry(
    item: Mapping[str, Any] | None, keys: list[str], table_keys: list[str], projection: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The item's entry in an index (None when the item is not in it: a sparse index)."""
    if not item or any(k not in item for k in keys):
        return None
    kind = projection.get("ProjectionType", "ALL")
    if kind == "ALL":
        return dict(item)
    wanted = set(keys) | set(table_keys)
    if kind == "INCLUDE":
        wanted |= set(projection.get("NonKeyAttributes", []))
    return {k: v for k, v in item.items() if k in wanted}


def gsi_write_units(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    *,
    keys: list[str],
    table_keys: list[str],
    projection: Mapping[str, Any],
) -> int:
    """WRU one table write costs in one index."""
    before = index_entry(old, keys, table_keys, projection)
    after = index_entry(new, keys, table_keys, projection)
    if before is None and after is None:
        return 0
    if before is None:
        return write_units(0, item_size(after))
    if after is None:
        return write_units(item_size(before), 0)
    if any(before[k] != after[k] for k in keys):
        return write_units(item_size(before), 0) + write_units(0, item_size(after))
    if before == after:
        return 0
    return write_units(0, item_size(after))


def index_write_units(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, *, hash_attr: str, range_attr: str
) -> int:
    """Index WRU of one table write that turned ``old`` into ``new`` (projection ALL)."""
    old_key = _index_key(old, hash_attr, range_attr)
    new_key = _index_key(new, hash_attr, range_attr)
    if old_key is None and new_key is None:
        return 0
    if old_key is None:
        return write_units(0, item_size(new))
    if new_key is None:
        return write_units(item_size(old), 0)
    if old_key != new_key:
        return write_units(item_size(old), 0) + write_units(0, item_size(new))
    if old == new:
        return 0
    return write_units(0, item_size(new))
