"""S3 Inventory reports (CSV): the manifest and the rows of its gzipped CSV files.

A report lands under ``<destination prefix>/<source bucket>/<inventory id>/``: one folder per
delivery named by its time (``YYYY-MM-DDTHH-MMZ/``) holding ``manifest.json`` (with
``manifest.checksum``, written after it), and ``data/*.csv.gz``. The manifest names the
source bucket, the ``fileFormat`` and the ``fileSchema`` (the CSV's columns, in order; the
files have no header row) and lists the data files. In CSV reports, keys are URL-encoded.
Only the CSV format is read here (ORC and Parquet would need a library the Lambda runtime
does not carry); the parser stays pure so the CLI and the function read reports alike.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from omics_autoload_runtime.domain.s3_uri import decode_s3_event_key

# The delivery folders' names: the time the report's scan began.
DELIVERY = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z$")
REQUIRED_COLUMNS = ("Bucket", "Key")


class InventoryError(ValueError):
    """A report this reader cannot use, with what to change."""


@dataclass(frozen=True)
class Manifest:
    source_bucket: str
    file_format: str
    columns: tuple[str, ...]
    files: tuple[str, ...]  # keys of the data files in the destination bucket


@dataclass(frozen=True)
class InventoryRow:
    bucket: str
    key: str  # decoded
    version_id: str | None
    is_latest: bool
    is_delete_marker: bool
    size: int | None
    last_modified: str | None
    etag: str | None


def parse_manifest(body: bytes) -> Manifest:
    try:
        data = json.loads(body)
    except ValueError as error:
        raise InventoryError(f"manifest.json is not JSON ({error})") from None
    if not isinstance(data, dict):
        raise InventoryError("manifest.json is not a JSON object")
    file_format = str(data.get("fileFormat", ""))
    if file_format.upper() != "CSV":
        raise InventoryError(
            f"the inventory's format is {file_format or 'unknown'}: reconciliation reads CSV reports;"
            " set the inventory configuration's output format to CSV"
        )
    columns = tuple(name.strip() for name in str(data.get("fileSchema", "")).split(","))
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise InventoryError(f"the inventory's fileSchema has no {', '.join(missing)} column")
    files = data.get("files")
    if not isinstance(files, list) or not all(isinstance(f, dict) and f.get("key") for f in files):
        raise InventoryError("manifest.json has no list of files with keys")
    return Manifest(
        source_bucket=str(data.get("sourceBucket", "")),
        file_format=file_format,
        columns=columns,
        files=tuple(str(f["key"]) for f in files),
    )


def deliveries(folders: Sequence[str]) -> list[str]:
    """The delivery folders among ``folders`` (names without slashes), newest first."""
    return sorted((name for name in folders if DELIVERY.match(name)), reverse=True)


def rows(manifest: Manifest, gzipped_csv: bytes) -> Iterator[InventoryRow]:
    """The rows of one data file of the report, in order."""
    index = {name: position for position, name in enumerate(manifest.columns)}

    def field(row: list[str], name: str) -> str | None:
        position = index.get(name)
        value = row[position] if position is not None and position < len(row) else ""
        return value or None

    try:
        text = gzip.decompress(gzipped_csv).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise InventoryError(f"an inventory data file is not gzipped UTF-8 CSV ({error})") from None
    for row in csv.reader(io.StringIO(text)):
        if not row:
            continue
        size = field(row, "Size")
        yield InventoryRow(
            bucket=field(row, "Bucket") or "",
            key=decode_s3_event_key(field(row, "Key") or ""),
            version_id=field(row, "VersionId"),
            # Reports of current versions only have no IsLatest column: every row is current.
            is_latest=(field(row, "IsLatest") or "true").lower() == "true",
            is_delete_marker=(field(row, "IsDeleteMarker") or "false").lower() == "true",
            size=int(size) if size and size.isdigit() else None,
            last_modified=field(row, "LastModifiedDate"),
            etag=field(row, "ETag"),
        )
