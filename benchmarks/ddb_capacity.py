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
* global secondary indexes: each table write that changes an indexed item adds index
  writes: item enters the index 1, leaves it 1, changes its index key 2 (delete + put),
  changes a projected attribute 1 (none when no projected attribute changed); 1 WRU per
  started KB of the index entry (the table and index keys plus the projected attributes:
  the whole item for projection ALL). An item lacking an index key attribute is not in
  the index (a sparse index).
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


def _index_key(item: Mapping[str, Any] | None, hash_attr: str, range_attr: str | None) -> tuple[Any, Any] | None:
    """The item's key in the index, or None when it is not in the index."""
    if not item or hash_attr not in item or (range_attr is not None and range_attr not in item):
        return None
    return (repr(item[hash_attr]), repr(item[range_attr]) if range_attr else None)


def index_entry(
    item: Mapping[str, Any],
    *,
    hash_attr: str,
    range_attr: str | None,
    projection: str = "ALL",
    include: tuple[str, ...] = (),
    table_keys: tuple[str, str | None] = ("pk", "sk"),
) -> dict[str, Any]:
    """The attributes of ``item`` the index stores (its projection)."""
    if projection == "ALL":
        return dict(item)
    names = {hash_attr, *(a for a in (range_attr, *table_keys) if a)}
    if projection == "INCLUDE":
        names.update(include)
    return {name: value for name, value in item.items() if name in names}


def index_write_units(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    *,
    hash_attr: str,
    range_attr: str | None,
    projection: str = "ALL",
    include: tuple[str, ...] = (),
    table_keys: tuple[str, str | None] = ("pk", "sk"),
) -> int:
    """Index WRU of one table write that turned ``old`` into ``new``."""
    shape = {"hash_attr": hash_attr, "range_attr": range_attr, "projection": projection, "include": include}
    old_key = _index_key(old, hash_attr, range_attr)
    new_key = _index_key(new, hash_attr, range_attr)
    if old_key is None and new_key is None:
        return 0
    old_entry = index_entry(old, table_keys=table_keys, **shape) if old_key is not None and old else {}
    new_entry = index_entry(new, table_keys=table_keys, **shape) if new_key is not None and new else {}
    if old_key is None:
        return write_units(0, item_size(new_entry))
    if new_key is None:
        return write_units(item_size(old_entry), 0)
    if old_key != new_key:
        return write_units(item_size(old_entry), 0) + write_units(0, item_size(new_entry))
    if old_entry == new_entry:
        return 0
    return write_units(0, item_size(new_entry))
