"""The UCI Online Retail layout: one row per invoice line, in its 2010-11 and 2009-11 headers.

2010-11 ("Online Retail"):    InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,
                              CustomerID,Country
2009-11 ("Online Retail II"): Invoice,StockCode,Description,Quantity,InvoiceDate,Price,
                              Customer ID,Country

Every row lands in exactly one category (checked in this order):
- non_product: a stock code that is not 5 digits optionally followed by letters (POST, DOT,
  M, C2, D, S, BANK CHARGES, AMAZONFEE, CRUK, PADS, B, gift_0001_*, DCGS*...). In the 2010-11
  file every such code is postage, fees, manual adjustments, vouchers or samples. Skipped.
- returns_cancellations: an invoice starting with 'C'; stored as negative-quantity lines of an
  order with status 'cancelled', so they never count as purchases.
- adjustments: a negative quantity on a normal invoice, or a price of 0 (stock write-offs,
  "damaged", "found"...). Skipped.
- purchases: everything else.
CustomerID is written as a float ('17850.0' -> '17850'); empty means a guest order.
Products (title = Description, price = the most recent unit price seen) and customers
(with their latest country) are emitted in the last batch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from connectors.errors import RowRejected, UnknownFeedFormat
from connectors.feeds.csv_reading import CsvFeed
from connectors.feeds.feed_records import FeedBatch, FeedTally
from connectors.feeds.feed_values import parse_price, parse_quantity, parse_timestamp

# Each tuple: the accepted spellings of one required column (2010-11 first).
COLUMNS: dict[str, tuple[str, ...]] = {
    "invoice": ("InvoiceNo", "Invoice"),
    "stock_code": ("StockCode",),
    "description": ("Description",),
    "quantity": ("Quantity",),
    "invoice_date": ("InvoiceDate",),
    "price": ("UnitPrice", "Price"),
    "customer": ("CustomerID", "Customer ID"),
    "country": ("Country",),
}
_PRODUCT_CODE = re.compile(r"\d{5}[A-Z]*")


def is_product_code(code: str) -> bool:
    """Whether an (upper-cased) stock code names a product rather than a fee or adjustment."""
    return _PRODUCT_CODE.fullmatch(code) is not None


def _customer_id(raw: str) -> str | None:
    value = raw.strip()
    if value.endswith(".0"):
        value = value[:-2]
    return value or None


class _Catalog:
    """Latest title/price per product and latest country per customer, seen in the file."""

    def __init__(self) -> None:
        self.products: dict[str, tuple[str, str, float]] = {}
        self.customers: dict[str, str] = {}

    def see(self, code: str, created_at: str, title: str, price: float) -> None:
        known = self.products.get(code)
        if known is None or created_at >= known[0]:
            if not title and known is not None:
                title = known[1]
            self.products[code] = (created_at, title, price)

    def records(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        products = [
            {"product_id": code, "title": title or code, "price": price}
            for code, (_, title, price) in self.products.items()
        ]
        customers = [{"customer_id": c, "country": k} for c, k in self.customers.items()]
        return products, customers


def _column_indices(feed: CsvFeed) -> dict[str, int]:
    found = {key: feed.column(*names) for key, names in COLUMNS.items()}
    missing = [COLUMNS[key][0] for key, i in found.items() if i is None]
    if missing:
        raise UnknownFeedFormat(f"online_retail file lacks the columns {missing}")
    return {key: i for key, i in found.items() if i is not None}


def _parse_numbers(quantity: str, price: str, price_column: str) -> tuple[int, float]:
    """Quantity and price the fast way, falling back to the checked parsers for a reason."""
    try:
        number = float(price)
        if number >= 0 and number != math.inf:  # also False for NaN
            return int(quantity), number
    except ValueError:
        pass
    return parse_quantity(quantity, "Quantity"), parse_price(price, price_column) or 0.0


def parse_orders(feed: CsvFeed, tally: FeedTally, batch_size: int) -> Iterator[FeedBatch]:
    """Parse a UCI Online Retail file into orders, lines, products and customers.

    One loop on purpose: at 540k rows every extra Python call per row costs about 0.3 s, and
    the whole file has to import in well under 15 s. Stock codes and timestamps repeat a lot,
    so both are parsed once and looked up after that.
    """
    idx = _column_indices(feed)
    i_inv, i_code, i_desc = idx["invoice"], idx["stock_code"], idx["description"]
    i_qty, i_date, i_price = idx["quantity"], idx["invoice_date"], idx["price"]
    i_cust, i_country = idx["customer"], idx["country"]
    price_column = feed.header[i_price]
    codes: dict[str, tuple[str, bool]] = {}
    stamps: dict[str, str] = {}
    orders: dict[str, tuple[str | None, str, dict[str, int]]] = {}
    catalog = _Catalog()
    counts = dict.fromkeys(("purchases", "returns_cancellations", "non_product", "adjustments"), 0)
    batch = FeedBatch()
    for line, f in feed.rows(tally):
        known = codes.get(f[i_code])
        if known is None:
            upper = f[i_code].strip().upper()
            known = codes[f[i_code]] = (upper, is_product_code(upper))
        code, is_product = known
        if not is_product:
            counts["non_product"] += 1
            continue
        try:
            invoice = f[i_inv].strip()
            if not invoice:
                raise RowRejected(f"{feed.header[i_inv]} is empty")
            quantity, price = _parse_numbers(f[i_qty], f[i_price], price_column)
            created_at = stamps.get(f[i_date])
            if created_at is None:
                created_at = stamps[f[i_date]] = parse_timestamp(f[i_date], "InvoiceDate")
        except RowRejected as exc:
            tally.reject(line, str(exc))
            continue
        cancelled = invoice[0] in "Cc"
        if not cancelled and (quantity <= 0 or not price):
            counts["adjustments"] += 1
            continue
        order = orders.get(invoice)
        if order is None:
            order = orders[invoice] = _new_order(
                batch, catalog, invoice, f[i_cust], f[i_country], created_at, cancelled
            )
        customer, order_created, repeats = order
        n = repeats[code] = repeats.get(code, 0) + 1
        if cancelled:
            quantity = -abs(quantity)
            counts["returns_cancellations"] += 1
        else:
            counts["purchases"] += 1
        batch.order_lines.append(
            (invoice, f"{code}#{n}", code, customer, order_created, quantity, price)
        )
        if price:
            catalog.see(code, created_at, f[i_desc].strip(), price)
        if len(batch.order_lines) >= batch_size:
            _count(tally, counts)
            yield batch
            batch = FeedBatch()
            stamps.clear()
    _count(tally, counts)
    batch.products, batch.customers = catalog.records()
    yield batch


def _new_order(
    batch: FeedBatch,
    catalog: _Catalog,
    invoice: str,
    raw_customer: str,
    raw_country: str,
    created_at: str,
    cancelled: bool,
) -> tuple[str | None, str, dict[str, int]]:
    """Add the order header to the batch (and its customer to the catalog)."""
    customer = _customer_id(raw_customer)
    country = raw_country.strip()
    batch.orders.append(
        {
            "order_id": invoice,
            "customer_id": customer,
            "created_at": created_at,
            "status": "cancelled" if cancelled else "paid",
            "country": country,
            "source": "uci",
        }
    )
    if customer:
        catalog.customers[customer] = country
    return customer, created_at, {}


def _count(tally: FeedTally, counts: dict[str, int]) -> None:
    """Move the loop's local counters into the tally (kept local for speed)."""
    for name in ("purchases", "returns_cancellations"):
        tally.accepted[name] += counts[name]
    for name in ("non_product", "adjustments"):
        tally.skipped[name] += counts[name]
    for name in counts:
        counts[name] = 0
