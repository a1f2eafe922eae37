"""A mapped platform record plus what the store needs to apply it safely.

`versions` holds the platform's own updated_at per record (kind -> record id -> ISO UTC), so
the worker can skip a stale update that arrives after a newer one; `inventory_items` maps
Shopify inventory items to their product for inventory_levels/update, and `inventory_totals`
holds each item's stock over all locations as the payload gave it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.feeds.feed_records import FeedBatch


@dataclass
class PlatformUpdate:
    """Canonical records from one payload or one page, with their platform versions."""

    batch: FeedBatch = field(default_factory=FeedBatch)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    inventory_items: list[tuple[str, str, str]] = field(default_factory=list)
    inventory_totals: list[tuple[str, int | None]] = field(default_factory=list)

    def add_version(self, kind: str, record_id: str, updated_at: str | None) -> None:
        """Note the platform's updated_at of one record (ignored when the payload had none)."""
        if updated_at:
            self.versions.setdefault(kind, {})[record_id] = updated_at

    def extend(self, other: PlatformUpdate) -> None:
        """Merge another update into this one (a page is many payloads)."""
        for name in ("products", "customers", "order_customers", "orders", "order_lines", "events"):
            getattr(self.batch, name).extend(getattr(other.batch, name))
        for kind, versions in other.versions.items():
            mine = self.versions.setdefault(kind, {})
            for record_id, stamp in versions.items():
                if stamp > mine.get(record_id, ""):
                    mine[record_id] = stamp
        self.inventory_items.extend(other.inventory_items)
        self.inventory_totals.extend(other.inventory_totals)


def single(batch: FeedBatch, kind: str, record_id: str, updated_at: str | None) -> PlatformUpdate:
    """An update holding one record's batch and its version."""
    update = PlatformUpdate(batch=batch)
    update.add_version(kind, record_id, updated_at)
    return update
