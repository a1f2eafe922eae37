"""The canonical CSV files of DESIGN.md: products, orders (one row per line) and events.

products: product_id,title,description,category,tags,vendor,price,compare_at_price,inventory,
          status,image_url,url,created_at   (only product_id,title,price required)
orders:   order_id,customer_id,created_at,product_id,quantity,unit_price
          (a negative quantity is a return line; a negative unit_price is malformed)
events:   ts,customer_id,session_id,type,product_id
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connectors.errors import RowRejected
from connectors.feeds.csv_reading import CsvFeed
from connectors.feeds.feed_records import FeedBatch, FeedTally
from connectors.feeds.feed_values import (
    parse_price,
    parse_quantity,
    parse_stock,
    parse_timestamp,
    parse_url,
    require,
)

PRODUCT_REQUIRED = ("product_id", "title", "price")
ORDER_REQUIRED = ("order_id", "created_at", "product_id", "quantity", "unit_price")
EVENT_REQUIRED = ("ts", "type", "product_id")
EVENT_TYPES = ("view", "add_to_cart", "impression", "click", "dismiss")
PRODUCT_STATUSES = ("active", "draft", "archived")
_TEXT_COLUMNS = ("description", "category", "vendor")
_URL_COLUMNS = ("image_url", "url")


def _indices(feed: CsvFeed, names: tuple[str, ...]) -> dict[str, int]:
    found = {name: feed.column(name) for name in names}
    return {name: i for name, i in found.items() if i is not None}


def _product(fields: list[str], cols: dict[str, int]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "product_id": require(fields[cols["product_id"]], "product_id"),
        "title": require(fields[cols["title"]], "title"),
        "price": parse_price(fields[cols["price"]], "price"),
    }
    for name in _TEXT_COLUMNS:
        if name in cols:
            record[name] = fields[cols[name]].strip()
    for name in _URL_COLUMNS:
        if name in cols:
            record[name] = parse_url(fields[cols[name]], name)
    if "tags" in cols:
        tags = [t.strip() for t in fields[cols["tags"]].split("|")]
        record["tags"] = "|".join(t for t in tags if t)
    if "compare_at_price" in cols:
        record["compare_at_price"] = parse_price(
            fields[cols["compare_at_price"]], "compare_at_price", required=False
        )
    if "inventory" in cols:
        record["inventory"] = parse_stock(fields[cols["inventory"]], "inventory")
    if "status" in cols:
        status = fields[cols["status"]].strip().lower() or "active"
        if status not in PRODUCT_STATUSES:
            raise RowRejected(f"status {status!r} is not one of {list(PRODUCT_STATUSES)}")
        record["status"] = status
    if "created_at" in cols:
        raw = fields[cols["created_at"]]
        record["created_at"] = parse_timestamp(raw, "created_at") if raw.strip() else None
    return record


def parse_products(feed: CsvFeed, tally: FeedTally, batch_size: int) -> Iterator[FeedBatch]:
    """Canonical products CSV: one product per row; a repeated product_id: the last row wins."""
    cols = _indices(
        feed,
        PRODUCT_REQUIRED
        + _TEXT_COLUMNS
        + _URL_COLUMNS
        + ("tags", "compare_at_price", "inventory", "status", "created_at"),
    )
    batch = FeedBatch()
    for line, fields in feed.rows(tally):
        try:
            batch.products.append(_product(fields, cols))
        except RowRejected as exc:
            tally.reject(line, str(exc))
            continue
        tally.accepted["products"] += 1
        if len(batch.products) >= batch_size:
            yield batch
            batch = FeedBatch()
    yield batch


def parse_orders(feed: CsvFeed, tally: FeedTally, batch_size: int) -> Iterator[FeedBatch]:
    """Canonical orders CSV: one row per order line.

    The first row of an order sets its customer and time (copied onto every line). line_key
    is '<product_id>#<n>', n counting that product's repeats in the order in file order, so
    a re-import of the same file updates the same lines.
    """
    cols = _indices(feed, ORDER_REQUIRED + ("customer_id",))
    i_order, i_product = cols["order_id"], cols["product_id"]
    i_created, i_qty, i_price = cols["created_at"], cols["quantity"], cols["unit_price"]
    i_customer = cols.get("customer_id")
    orders: dict[str, tuple[str | None, str]] = {}
    repeats: dict[str, dict[str, int]] = {}
    customers: set[str] = set()
    batch = FeedBatch()
    for line, fields in feed.rows(tally):
        try:
            order_id = require(fields[i_order], "order_id")
            product_id = require(fields[i_product], "product_id")
            created_at = parse_timestamp(fields[i_created], "created_at")
            quantity = parse_quantity(fields[i_qty], "quantity")
            unit_price = parse_price(fields[i_price], "unit_price")
            if quantity == 0:
                raise RowRejected("quantity is 0")
        except RowRejected as exc:
            tally.reject(line, str(exc))
            continue
        customer_id = fields[i_customer].strip() or None if i_customer is not None else None
        if order_id not in orders:
            orders[order_id] = (customer_id, created_at)
            repeats[order_id] = {}
            batch.orders.append(
                {
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "created_at": created_at,
                    "status": "paid",
                    "source": "csv",
                }
            )
            if customer_id and customer_id not in customers:
                customers.add(customer_id)
                batch.customers.append({"customer_id": customer_id})
        order_customer, order_created = orders[order_id]
        seen = repeats[order_id]
        n = seen.get(product_id, 0) + 1
        seen[product_id] = n
        batch.order_lines.append(
            (
                order_id,
                f"{product_id}#{n}",
                product_id,
                order_customer,
                order_created,
                quantity,
                unit_price,
            )
        )
        tally.accepted["purchases" if quantity > 0 else "returns"] += 1
        if len(batch.order_lines) >= batch_size:
            yield batch
            batch = FeedBatch()
    yield batch


def parse_events(feed: CsvFeed, tally: FeedTally, batch_size: int) -> Iterator[FeedBatch]:
    """Canonical events CSV; a repeated identical event is stored once (content hash)."""
    cols = _indices(feed, EVENT_REQUIRED + ("customer_id", "session_id"))
    i_customer, i_session = cols.get("customer_id"), cols.get("session_id")
    batch = FeedBatch()
    for line, fields in feed.rows(tally):
        try:
            ts = parse_timestamp(fields[cols["ts"]], "ts")
            kind = fields[cols["type"]].strip().lower()
            if kind not in EVENT_TYPES:
                raise RowRejected(f"type {kind!r} is not one of {list(EVENT_TYPES)}")
            product_id = require(fields[cols["product_id"]], "product_id")
        except RowRejected as exc:
            tally.reject(line, str(exc))
            continue
        customer_id = fields[i_customer].strip() or None if i_customer is not None else None
        session_id = fields[i_session].strip() or None if i_session is not None else None
        batch.events.append(
            {
                "ts": ts,
                "customer_id": customer_id,
                "session_id": session_id,
                "type": kind,
                "product_id": product_id,
            }
        )
        tally.accepted[kind] += 1
        if len(batch.events) >= batch_size:
            yield batch
            batch = FeedBatch()
    yield batch
