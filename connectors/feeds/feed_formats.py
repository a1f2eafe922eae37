"""The registry of CSV feed formats, and telling them apart by their header.

A format is known by a signature: the columns it must have (each with its accepted
spellings). Detection takes the first format for the kind whose signature the header
satisfies; formats of one kind share no signature column, so order only matters for
files carrying two formats' columns at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from connectors.errors import UnknownFeedFormat
from connectors.feeds import canonical_csv, online_retail
from connectors.feeds.csv_reading import CsvFeed
from connectors.feeds.feed_records import FeedBatch, FeedTally
from connectors.shopify import csv_export as shopify_csv
from connectors.woocommerce import csv_export as woocommerce_csv

KINDS: tuple[str, ...] = ("products", "orders", "events")
FORMAT_NAMES: tuple[str, ...] = ("canonical", "shopify", "woocommerce", "online_retail")

Parser = Callable[[CsvFeed, FeedTally, int], Iterator[FeedBatch]]


@dataclass(frozen=True)
class FeedFormat:
    """One CSV layout for one kind of data, and the parser that reads it."""

    name: str
    kind: str
    signature: tuple[tuple[str, ...], ...]
    parse: Parser

    def missing_columns(self, header: Sequence[str]) -> list[str]:
        """Signature columns absent from `header` (by their first spelling)."""
        present = {h.strip().lower() for h in header}
        return [
            names[0] for names in self.signature if not any(n.lower() in present for n in names)
        ]

    def describe(self) -> str:
        """The signature as text, e.g. 'InvoiceNo/Invoice, StockCode, ...'."""
        return ", ".join("/".join(names) for names in self.signature)


def _alone(*names: str) -> tuple[tuple[str, ...], ...]:
    return tuple((n,) for n in names)


FORMATS: tuple[FeedFormat, ...] = (
    FeedFormat(
        "canonical",
        "products",
        _alone(*canonical_csv.PRODUCT_REQUIRED),
        canonical_csv.parse_products,
    ),
    FeedFormat(
        "shopify",
        "products",
        (shopify_csv.COLUMNS["handle"], shopify_csv.COLUMNS["title"], shopify_csv.COLUMNS["price"]),
        shopify_csv.parse_products,
    ),
    FeedFormat(
        "woocommerce",
        "products",
        _alone("ID", "Type", "SKU", "Name", "Regular price"),
        woocommerce_csv.parse_products,
    ),
    FeedFormat(
        "canonical", "orders", _alone(*canonical_csv.ORDER_REQUIRED), canonical_csv.parse_orders
    ),
    FeedFormat(
        "online_retail",
        "orders",
        tuple(
            online_retail.COLUMNS[k]
            for k in (
                "invoice",
                "stock_code",
                "description",
                "quantity",
                "invoice_date",
                "price",
                "customer",
                "country",
            )
        ),
        online_retail.parse_orders,
    ),
    FeedFormat(
        "canonical", "events", _alone(*canonical_csv.EVENT_REQUIRED), canonical_csv.parse_events
    ),
)


def formats_for(kind: str) -> list[FeedFormat]:
    """The formats that can carry `kind` (products, orders or events)."""
    if kind not in KINDS:
        raise UnknownFeedFormat(f"kind must be one of {list(KINDS)}, got {kind!r}")
    return [f for f in FORMATS if f.kind == kind]


def choose_format(kind: str, header: Sequence[str], requested: str = "auto") -> FeedFormat:
    """The format to read a file with: `requested`, or detected from the header for 'auto'.

    Raises UnknownFeedFormat naming the expected columns when nothing fits.
    """
    candidates = formats_for(kind)
    if requested != "auto":
        chosen = [f for f in candidates if f.name == requested]
        if not chosen:
            names = [f.name for f in candidates]
            raise UnknownFeedFormat(
                f"format {requested!r} cannot carry {kind}; for {kind} use one of {names}"
            )
        missing = chosen[0].missing_columns(header)
        if missing:
            raise UnknownFeedFormat(
                f"the header lacks the {requested} {kind} columns {missing} "
                f"(expected {chosen[0].describe()})"
            )
        return chosen[0]
    for fmt in candidates:
        if not fmt.missing_columns(header):
            return fmt
    expected = "; or ".join(f"{f.name} ({f.describe()})" for f in candidates)
    shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
    raise UnknownFeedFormat(
        f"the header matches no {kind} format: expected {expected}; got columns: {shown}"
    )
