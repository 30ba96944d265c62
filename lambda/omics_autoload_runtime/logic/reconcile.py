"""reconcile: objects in the bucket whose event never came, found and sent through intake.

S3 and EventBridge deliver at least once, yet an event can still be lost on its way (a
notification configuration replaced, a rule disabled, a dead-letter queue nobody drained);
the object is then never seen. A pass compares what is in the bucket under the watched
prefixes with the tracking table and hands every object version with no item to intake,
the same ``Intake.process`` a delivered event takes, so a second pass (or a late event)
changes nothing.

What is in the bucket comes from the S3 Inventory report when one is configured (the newest
complete delivery; it costs nothing per object to read), else from ListObjectVersions. Only
current versions are compared: HealthOmics reads the current version of a key, so an
older version that was never seen could not be imported anyway. An object younger than
``SETTLE_SECONDS`` is left for its event.

Bounded work: a run reads at most ``reconcile_pages_per_run`` pages of 1,000 versions (and
stops early when its Lambda time runs short); where it stopped is stored in the table
(``RECONCILE#<bucket>``), so the next run goes on from there and millions of objects are
covered across runs. Per page: one ListObjectVersions (or 1,000 inventory rows) and ten
BatchGetItem calls of 100 keys.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import contract, settings
from omics_autoload_runtime.adapters import bucket_listing, tracking
from omics_autoload_runtime.adapters.metrics import Metrics
from omics_autoload_runtime.adapters.table import ItemTable, iso, now, parse_iso
from omics_autoload_runtime.contract import Dimension, KeyPrefix, Metric, SortKey
from omics_autoload_runtime.domain import inventory
from omics_autoload_runtime.domain.prefixes import watched
from omics_autoload_runtime.logic.intake import Intake
from omics_autoload_runtime.logic.object_events import ObjectEvent

LOG = logging.getLogger(__name__)

SETTLE_SECONDS = contract.RECONCILE_SETTLE_SECONDS
PAGE_SIZE = bucket_listing.PAGE_SIZE
RESERVE_SECONDS = 120.0  # a run stops before a page when less Lambda time than this is left

Marker = dict[str, Any]


@dataclass(frozen=True)
class Untracked:
    """A current object version under the watched prefixes that has no tracking item."""

    bucket: str
    key: str
    version_id: str | None
    size: int | None
    etag: str | None
    last_modified: str | None
    version_known: bool = True  # False: an inventory of current versions only (no VersionId column)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def event(self) -> ObjectEvent:
        """The event that never came, as intake would have received it."""
        return ObjectEvent(
            bucket=self.bucket,
            key=self.key,
            version_id=self.version_id,
            size=self.size,
            etag=self.etag,
            event_time=self.last_modified,
            source="reconcile",
        )


@dataclass
class Progress:
    source: str  # "inventory" or "listing"
    pages: int = 0
    scanned: int = 0  # current versions compared
    untracked: list[Untracked] = field(default_factory=list)
    marker: Marker | None = None  # where the next run begins; None: a new pass
    complete: bool = False  # this run finished a pass
    note: str = ""  # why the inventory was not used, when it was configured


def marker_key(bucket: str) -> tuple[str, str]:
    return f"{KeyPrefix.RECONCILE}{bucket}", str(SortKey.RECONCILE)


class Reconciler:
    """Compares the bucket with the tracking table, a page at a time."""

    def __init__(self, cfg: settings.Settings, table: ItemTable, *, settle_seconds: float | None = None):
        if not cfg.bucket_name:
            raise settings.ConfigurationError(f"environment variable {contract.Env.BUCKET_NAME} not set")
        self.cfg = cfg
        self.bucket = cfg.bucket_name
        self.table = table
        self.settle_seconds = SETTLE_SECONDS if settle_seconds is None else settle_seconds

    def scan(
        self,
        *,
        marker: Marker | None = None,
        max_pages: int | None = None,
        time_left: Callable[[], float] | None = None,
        on_page: Callable[[list[Untracked], Marker | None], None] | None = None,
    ) -> Progress:
        """Compare from ``marker`` on, page by page; ``on_page`` gets each page's untracked
        objects and the marker after that page (store it once they are handled)."""
        pages, progress = self._pages(marker)
        progress.marker = marker
        for candidates, next_marker in pages:
            untracked = self._untracked([c for c in candidates if self._wanted(c)])
            progress.pages += 1
            progress.scanned += len(candidates)
            progress.untracked += untracked
            if on_page is not None:
                on_page(untracked, next_marker)
            progress.marker = next_marker
            if next_marker is None:
                progress.complete = True
                break
            if max_pages is not None and progress.pages >= max_pages:
                break
            if time_left is not None and time_left() < RESERVE_SECONDS:
                break
        return progress

    # -- what is in the bucket

    def _pages(self, marker: Marker | None) -> tuple[Iterator[tuple[list[Untracked], Marker | None]], Progress]:
        if self.cfg.inventory_bucket and (marker is None or marker.get("source") == "inventory"):
            given = marker or {}
            try:
                manifest_key = str(given.get("manifest") or self._latest_manifest())
                manifest = inventory.parse_manifest(bucket_listing.read_all(self.cfg.inventory_bucket, manifest_key))
                if manifest.source_bucket and manifest.source_bucket != self.bucket:
                    raise inventory.InventoryError(
                        f"the report lists bucket {manifest.source_bucket}, not {self.bucket}"
                    )
                return self._inventory_pages(manifest_key, manifest, given), Progress("inventory")
            except (inventory.InventoryError, ClientError) as error:
                # The listing still finds lost events; the note says why it was used.
                note = f"inventory not used ({error}); listed the bucket instead"
                LOG.warning("reconcile: %s", note)
                return self._listing_pages(None), Progress("listing", note=note)
        return self._listing_pages(marker), Progress("listing")

    def _listing_pages(self, marker: Marker | None) -> Iterator[tuple[list[Untracked], Marker | None]]:
        prefixes = list(self.cfg.key_prefixes) or [""]
        marker = marker if marker and marker.get("source") == "listing" else {}
        index = int(marker.get("prefix", 0))
        key_marker, version_marker = marker.get("keyMarker"), marker.get("versionIdMarker")
        while index < len(prefixes):
            page = bucket_listing.list_versions_page(
                self.bucket, prefixes[index], key_marker, version_marker, page_size=PAGE_SIZE
            )
            key_marker, version_marker = page.next_key_marker, page.next_version_marker
            if key_marker is None:
                index, version_marker = index + 1, None
            candidates = [
                Untracked(self.bucket, v.key, v.version_id, v.size, v.etag, v.last_modified)
                for v in page.versions
                if v.is_latest
            ]
            after: Marker = {"source": "listing", "prefix": index}
            if key_marker is not None:
                after.update(keyMarker=key_marker, versionIdMarker=version_marker)
            yield candidates, (after if index < len(prefixes) else None)

    def _latest_manifest(self) -> str:
        prefix = self.cfg.inventory_prefix.strip("/")
        prefix = f"{prefix}/" if prefix else ""
        for delivery in inventory.deliveries(bucket_listing.folders(self.cfg.inventory_bucket, prefix)):
            # manifest.checksum is written after manifest.json: its presence means complete.
            if bucket_listing.exists(self.cfg.inventory_bucket, f"{prefix}{delivery}/manifest.checksum"):
                return f"{prefix}{delivery}/manifest.json"
        raise inventory.InventoryError(
            f"no complete inventory report under s3://{self.cfg.inventory_bucket}/{prefix}"
            " (a YYYY-MM-DDTHH-MMZ/ folder with manifest.json and manifest.checksum)"
        )

    def _inventory_pages(
        self, manifest_key: str, manifest: inventory.Manifest, marker: Marker
    ) -> Iterator[tuple[list[Untracked], Marker | None]]:
        file_index, row = int(marker.get("file", 0)), int(marker.get("row", 0))
        known = "VersionId" in manifest.columns  # an empty VersionId is the "null" version
        while file_index < len(manifest.files):
            data = bucket_listing.read_all(self.cfg.inventory_bucket, manifest.files[file_index])
            rows = list(inventory.rows(manifest, data))
            for start in range(row, max(len(rows), 1), PAGE_SIZE):
                chunk = rows[start : start + PAGE_SIZE]
                candidates = [
                    Untracked(self.bucket, r.key, r.version_id, r.size, r.etag, r.last_modified, known)
                    for r in chunk
                    if r.is_latest and not r.is_delete_marker and r.bucket in ("", self.bucket)
                ]
                at: Marker = {"source": "inventory", "manifest": manifest_key}
                if start + PAGE_SIZE < len(rows):
                    yield candidates, {**at, "file": file_index, "row": start + PAGE_SIZE}
                elif file_index + 1 < len(manifest.files):
                    yield candidates, {**at, "file": file_index + 1, "row": 0}
                else:
                    yield candidates, None
            file_index, row = file_index + 1, 0

    # -- against the table

    def _wanted(self, candidate: Untracked) -> bool:
        """Under the watched prefixes and suffixes, and old enough for its event to have come."""
        if not watched(candidate.key, self.cfg.key_prefixes):
            return False
        if self.cfg.key_suffixes and not candidate.key.endswith(self.cfg.key_suffixes):
            return False
        modified = parse_iso(candidate.last_modified)
        return modified is None or now() - modified >= self.settle_seconds

    def _untracked(self, candidates: Sequence[Untracked]) -> list[Untracked]:
        # A listing says "null" for the one version of an unversioned bucket; an inventory of
        # current versions only has no VersionId column at all: its rows are checked by key.
        versioned = [c for c in candidates if c.version_known]
        versioned += self._resolve_versions([c for c in candidates if not c.version_known])
        keys = [tracking.object_key(c.bucket, c.key, c.version_id) for c in versioned]
        found = self.table.get_many(keys) if keys else {}
        return [c for c, key in zip(versioned, keys, strict=True) if key not in found]

    def _resolve_versions(self, candidates: Sequence[Untracked]) -> list[Untracked]:
        """Rows without a version: tracked when an item of the key has the same ETag; else
        checked by the version HeadObject names."""
        out = []
        for candidate in candidates:
            pk, _ = tracking.object_key(candidate.bucket, candidate.key, None)
            response = self.table.client.query(
                TableName=self.table.name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": pk}},
                ProjectionExpression="sk, eTag",
            )
            tags = {str(item.get("eTag", {}).get("S", "")).strip('"') for item in response.get("Items", [])}
            if candidate.etag and candidate.etag.strip('"') in tags:
                continue  # that content is tracked, whichever version id it has
            try:
                version = bucket_listing.current_version_id(candidate.bucket, candidate.key)
            except ClientError as error:
                LOG.warning("reconcile: %s is in the inventory but not readable now (%s)", candidate.key, error)
                continue  # deleted since the report: nothing to import
            out.append(
                Untracked(candidate.bucket, candidate.key, version, candidate.size, candidate.etag,
                          candidate.last_modified)
            )
        return out


# ------------------------------------------------------------------ the scheduled run


def run(cfg: settings.Settings, metrics: Metrics, time_left: Callable[[], float] | None = None) -> dict[str, Any]:
    """One scheduled run: go on from the stored marker, send what is untracked through intake."""
    table = ItemTable(cfg.table_name)
    pk, sk = marker_key(cfg.bucket_name)
    state = table.get(pk, sk) or {}
    intake = Intake(cfg, metrics)
    statuses: Counter[str] = Counter()

    def on_page(untracked: list[Untracked], next_marker: Marker | None) -> None:
        for found in untracked:
            event = found.event()
            LOG.info("reconcile: %s has no tracking item: sent through intake", found.uri)
            try:
                statuses[intake.process(event)] += 1
            except (ClientError, BotoCoreError):
                raise  # this page is sent again by the next run: intake is idempotent
            except Exception as error:
                LOG.exception("reconcile: failed to process %s", found.key)
                statuses[intake.record_failure_of(event, error)] += 1
        # Stored only once the page is through intake, so a crash repeats a page, never skips one.
        table.update(
            pk, sk, set={"marker": next_marker, "updatedAt": iso(), "kind": "reconcile"},
            add={"untrackedFound": len(untracked)},
        )

    try:
        progress = Reconciler(cfg, table).scan(
            marker=state.get("marker"),
            max_pages=cfg.reconcile_pages_per_run,
            time_left=time_left,
            on_page=on_page,
        )
    finally:
        metrics.flush()
        intake.notifier.flush()
    found = len(progress.untracked)
    dimensions = {str(Dimension.SEQUENCE_STORE_ID): cfg.sequence_store_id or "unknown"}
    metrics.add(Metric.UNTRACKED_OBJECTS, found, dimensions=dimensions)  # zero too: the alarm sees runs
    if progress.complete:
        table.update(pk, sk, set={"lastPassCompletedAt": iso()}, add={"passes": 1})
    metrics.flush()
    summary = _summary(progress, statuses)
    LOG.info("reconcile: %s", summary)
    return summary


def _summary(progress: Progress, statuses: Mapping[str, int]) -> dict[str, Any]:
    return {
        "source": progress.source,
        "pages": progress.pages,
        "scanned": progress.scanned,
        "untracked": len(progress.untracked),
        "statuses": dict(statuses),
        "passComplete": progress.complete,
        "note": progress.note,
    }
