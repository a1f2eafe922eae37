"""Importing a CSV feed into a shop's store: parse with connectors, upsert batch by batch.

"Stored" counts rows the store reports as new or changed, so importing the same file twice
stores nothing the second time. Every run is recorded in import_runs with its counts and
first rejection reasons, including a run that fails part-way.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import sqlite_utils

from connectors.feeds.csv_reading import open_feed
from connectors.feeds.feed_formats import choose_format
from connectors.feeds.feed_records import FeedBatch, FeedTally
from serving.generations import bump_db_generation
from storage.catalog import upsert_products
from storage.customers import add_missing_customers, upsert_customers
from storage.db import larger_page_cache
from storage.events import insert_events
from storage.import_runs import finish_import_run, start_import_run
from storage.orders import upsert_order_lines, upsert_orders
from worker.storefront_urls import StorefrontUrls, storefront_urls

DEFAULT_BATCH_SIZE = 50_000
IMPORT_CACHE_KIB = 64 * 1024
# The table whose stored count is "rows stored" for each kind.
_MAIN_TABLE = MappingProxyType(
    {"products": "products", "orders": "order_lines", "events": "events"}
)
_LABELS = MappingProxyType(
    {
        "purchases": "purchases",
        "returns": "return lines",
        "returns_cancellations": "returns/cancellations",
        "non_product": "non-product lines",
        "adjustments": "adjustments",
        "variant_or_image_rows": "extra variant/image rows",
        "variations_folded": "variations folded into parents",
        "grouped_without_price": "grouped products without price",
    }
)

Progress = Callable[[int], None]


@dataclass
class ImportReport:
    """What one import did: counts, categories, first rejections, timing."""

    kind: str
    format: str
    detected: bool
    source: str
    encoding: str = ""
    rows_read: int = 0
    rows_stored: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    accepted: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    stored_by_table: dict[str, int] = field(default_factory=dict)
    first_rejections: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    run_id: int = 0
    error: str = ""
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """The JSON-able summary kept in import_runs.summary."""
        return {
            "encoding": self.encoding,
            "detected": self.detected,
            "accepted": self.accepted,
            "skipped": self.skipped,
            "stored_by_table": self.stored_by_table,
            "first_rejections": self.first_rejections,
            "error": self.error,
            "warnings": self.warnings,
            "elapsed_s": round(self.elapsed_s, 3),
        }

    def lines(self) -> list[str]:
        """The human summary the CLI prints, one line per entry."""
        how = "detected" if self.detected else "given"
        out = [
            f"format: {self.format} ({how}), encoding: {self.encoding}",
            f"rows read: {self.rows_read:,}  stored: {self.rows_stored:,}  "
            f"rejected: {self.rows_rejected:,}  skipped: {self.rows_skipped:,}",
        ]
        counts = {**self.accepted, **self.skipped}
        if counts:
            out.append("  ".join(f"{_LABELS.get(k, k)}: {v:,}" for k, v in counts.items()))
        tables = "  ".join(f"{t}: {n:,}" for t, n in self.stored_by_table.items())
        out.append(f"new or changed by table: {tables}")
        if self.first_rejections:
            shown = len(self.first_rejections)
            more = (
                f" (first {shown} of {self.rows_rejected:,})" if shown < self.rows_rejected else ""
            )
            out.append(f"first rejections{more}:")
            out.extend(f"  {reason}" for reason in self.first_rejections)
        out.extend(f"warning: {warning}" for warning in self.warnings)
        out.append(f"took {self.elapsed_s:.1f} s")
        return out


@dataclass
class UrlTally:
    """Imported products left without a usable link (after the shop's storefront URLs)."""

    products: int = 0
    without_url: int = 0
    relative: int = 0

    def warnings(self, urls: StorefrontUrls) -> list[str]:
        """What the owner should fix so every product's card links to the shop."""
        out = []
        if self.without_url:
            out.append(
                f"{self.without_url:,} of {self.products:,} products have no URL and the shop "
                "has no URL template: the widget shows them without a link. Set one with "
                "--url-template 'https://shop.example/products/{handle}'"
            )
        if self.relative and not urls.base:
            out.append(
                f"{self.relative:,} products have site-relative URLs: set the shop's address "
                "with --storefront-url https://shop.example so links point at the shop"
            )
        return out


def write_batch(
    db: sqlite_utils.Database,
    batch: FeedBatch,
    stored: Counter[str],
    urls: StorefrontUrls | None = None,
    url_tally: UrlTally | None = None,
) -> None:
    """Upsert one batch into the store, adding what changed per table to `stored`.

    Products get the shop's storefront URLs first (worker.storefront_urls) when `urls` is
    given; `url_tally` counts those still without an absolute link."""
    if batch.products and urls is not None:
        batch.products = [urls.fill(p) for p in batch.products]
    if batch.products and url_tally is not None:
        url_tally.products += len(batch.products)
        for product in batch.products:
            link = str(product.get("url") or "")
            url_tally.without_url += not link
            url_tally.relative += link.startswith("/") and not link.startswith("//")
    if batch.products:
        stored["products"] += upsert_products(db, batch.products)
        # Served answers holding these products must not outlive the import.
        bump_db_generation(db)
    if batch.customers:
        stored["customers"] += upsert_customers(db, batch.customers)
    if batch.order_customers:
        stored["customers"] += add_missing_customers(db, batch.order_customers)
    if batch.orders:
        stored["orders"] += upsert_orders(db, batch.orders)
    if batch.order_lines:
        stored["order_lines"] += upsert_order_lines(db, batch.order_lines)
    if batch.events:
        stored["events"] += insert_events(db, batch.events)


def import_file(
    db: sqlite_utils.Database,
    kind: str,
    path: Path,
    fmt: str = "auto",
    *,
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ImportReport:
    """Import one CSV (plain or gzip) of `kind` into `db` and record the run.

    Raises UnreadableFeed (missing, unreadable, empty, corrupt file) or UnknownFeedFormat
    (header matches no format for the kind, or not the one asked for). Malformed rows never
    raise: they are counted and their first reasons kept in the report.
    `progress`, when given, is called with the on-disk bytes consumed since its last call.
    """
    started = time.perf_counter()
    with open_feed(path) as feed:
        chosen = choose_format(kind, feed.header, fmt)
        report = ImportReport(
            kind=kind, format=chosen.name, detected=fmt == "auto", source=str(path)
        )
        report.run_id = start_import_run(db, kind, chosen.name, str(path))
        tally = FeedTally()
        stored: Counter[str] = Counter()
        urls = storefront_urls(db)
        url_tally = UrlTally()
        reported = 0
        # A bigger page cache while bulk-writing: random inserts into the product and
        # customer indexes then hit memory, about 20% faster on the Online Retail file.
        with larger_page_cache(db, IMPORT_CACHE_KIB):
            try:
                for batch in chosen.parse(feed, tally, batch_size):
                    write_batch(db, batch, stored, urls, url_tally)
                    if progress is not None:
                        now = feed.bytes_read
                        progress(now - reported)
                        reported = now
            except BaseException as exc:
                _fill(report, tally, stored, feed.encoding, started)
                report.error = f"import stopped after {tally.rows_read:,} rows: {exc!r}"
                _finish(db, report)
                raise
        _fill(report, tally, stored, feed.encoding, started)
        report.warnings = url_tally.warnings(urls)
    _finish(db, report)
    return report


def _fill(
    report: ImportReport, tally: FeedTally, stored: Counter[str], encoding: str, started: float
) -> None:
    report.encoding = encoding
    report.rows_read = tally.rows_read
    report.rows_rejected = tally.rows_rejected
    report.rows_skipped = tally.rows_skipped
    report.accepted = {k: v for k, v in tally.accepted.items() if v}
    report.skipped = {k: v for k, v in tally.skipped.items() if v}
    report.first_rejections = list(tally.first_rejections)
    tables = [_MAIN_TABLE[report.kind]] + [t for t in stored if t != _MAIN_TABLE[report.kind]]
    report.stored_by_table = {t: stored.get(t, 0) for t in tables}
    report.rows_stored = stored.get(_MAIN_TABLE[report.kind], 0)
    report.elapsed_s = time.perf_counter() - started


def _finish(db: sqlite_utils.Database, report: ImportReport) -> None:
    finish_import_run(
        db,
        report.run_id,
        rows_read=report.rows_read,
        rows_stored=report.rows_stored,
        rows_rejected=report.rows_rejected,
        rows_skipped=report.rows_skipped,
        summary=report.summary(),
    )
