"""S3 Inventory reports (CSV) as S3 writes them: the manifest, and gzipped rows without a header."""

from __future__ import annotations

import gzip
import json

import pytest
from omics_autoload_runtime.domain import inventory
from omics_autoload_runtime.domain.prefixes import prefix_problems, watched

SCHEMA = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass"


def manifest(**changes):
    body = {
        "sourceBucket": "runs-bucket",
        "destinationBucket": "arn:aws:s3:::inventory-bucket",
        "version": "2016-11-30",
        "creationTimestamp": "1514944800000",
        "fileFormat": "CSV",
        "fileSchema": SCHEMA,
        "files": [{"key": "inv/runs-bucket/daily/data/a.csv.gz", "size": 10, "MD5checksum": "f1"}],
        **changes,
    }
    return json.dumps(body).encode()


def test_the_manifest_names_the_columns_and_files():
    parsed = inventory.parse_manifest(manifest())
    assert parsed.source_bucket == "runs-bucket"
    assert parsed.columns[:3] == ("Bucket", "Key", "VersionId")
    assert parsed.files == ("inv/runs-bucket/daily/data/a.csv.gz",)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (manifest(fileFormat="Parquet"), "set the inventory configuration's output format to CSV"),
        (manifest(fileSchema="Bucket, Size"), "no Key column"),
        (manifest(files=[{"size": 1}]), "no list of files"),
        (b"{not json", "not JSON"),
    ],
)
def test_a_report_it_cannot_read_says_what_to_change(body, fragment):
    with pytest.raises(inventory.InventoryError, match=fragment):
        inventory.parse_manifest(body)


def test_rows_are_decoded_and_typed():
    lines = [
        '"runs-bucket","runs/a+b%2Bc.fastq.gz","v1","true","false","12","2026-01-01T00:00:00.000Z","e1","STANDARD"',
        '"runs-bucket","runs/old.bam","v0","false","false","5","2025-01-01T00:00:00.000Z","e0","STANDARD"',
        '"runs-bucket","runs/gone.bam","v9","true","true","","2026-01-01T00:00:00.000Z","",""',
    ]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    rows = list(inventory.rows(inventory.parse_manifest(manifest()), data))
    assert rows[0].key == "runs/a b+c.fastq.gz"  # URL-encoded in CSV reports
    assert (rows[0].version_id, rows[0].is_latest, rows[0].size, rows[0].etag) == ("v1", True, 12, "e1")
    assert rows[1].is_latest is False
    assert rows[2].is_delete_marker is True and rows[2].size is None


def test_a_report_of_current_versions_has_no_version_column():
    parsed = inventory.parse_manifest(manifest(fileSchema="Bucket, Key, Size, LastModifiedDate, ETag"))
    (row,) = inventory.rows(parsed, gzip.compress(b'"runs-bucket","runs/x.bam","3","2026-01-01T00:00:00Z","e"\n'))
    assert row.version_id is None and row.is_latest is True


def test_a_broken_data_file_is_an_inventory_error():
    with pytest.raises(inventory.InventoryError, match="not gzipped"):
        list(inventory.rows(inventory.parse_manifest(manifest()), b"plain text"))


def test_the_delivery_folders_newest_first():
    folders = ["2026-01-01T01-00Z", "data", "hive", "2026-01-03T01-00Z", "2026-01-02T01-00Z"]
    assert inventory.deliveries(folders) == ["2026-01-03T01-00Z", "2026-01-02T01-00Z", "2026-01-01T01-00Z"]
    assert inventory.deliveries(["data", "hive"]) == []


def test_watched_keys():
    assert watched("runs/a.bam", ("runs/", "aligned/"))
    assert not watched("other/a.bam", ("runs/", "aligned/"))
    assert watched("anything", ())


def test_prefix_problems_name_the_fix():
    assert prefix_problems(["runs/", "aligned/"]) == []
    (string,) = prefix_problems("runs/")
    assert string == "key_prefixes is a list of prefixes: write key_prefixes=['runs/'], not key_prefixes='runs/'"
    (overlap,) = prefix_problems(["runs/2024/", "runs/"])
    assert "keep only 'runs/'" in overlap
    (slash,) = prefix_problems(["/runs/"])
    assert "write 'runs/'" in slash
