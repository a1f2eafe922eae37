"""WooCommerce's product export CSV (WC_Product_CSV_Exporter columns; PLATFORMS.md 2.5).

Mapping: product_id = ID (what order line items and the REST API call product_id), or SKU
when ID is empty; title = Name; description = Description, else Short description;
category = the first category path as written ('Clothing > Tshirts'); tags = Tags;
price = Sale price when set (then compare_at_price = Regular price), else Regular price;
inventory = Stock, 0 when 'In stock?' is 0, None when stock is not managed;
status from Published (1 -> active, others -> draft); image = the first of Images.
Variations (Type 'variation') fold into their Parent (SKU or 'id:N'): they add their stock
to the parent's and give a variable parent without a price its lowest variation price.
Grouped products have no price of their own and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from connectors.errors import RowRejected
from connectors.feeds.csv_reading import CsvFeed
from connectors.feeds.feed_records import FeedBatch, FeedTally
from connectors.feeds.feed_values import parse_price, parse_stock, parse_url

COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("ID",),
    "type": ("Type",),
    "sku": ("SKU",),
    "name": ("Name",),
    "published": ("Published",),
    "short_description": ("Short description",),
    "description": ("Description",),
    "in_stock": ("In stock?",),
    "stock": ("Stock",),
    "sale_price": ("Sale price",),
    "regular_price": ("Regular price",),
    "categories": ("Categories",),
    "tags": ("Tags",),
    "images": ("Images",),
    "parent": ("Parent",),
}
# Woo escapes a literal comma inside a list item as '\,'.
_LIST_SPLIT = re.compile(r"(?<!\\),")
# Reads one named column of the current row, stripped ("" when the column is absent).
Getter = Callable[[str], str]


def _split_list(text: str) -> list[str]:
    return [p.strip().replace("\\,", ",") for p in _LIST_SPLIT.split(text) if p.strip()]


def _price(text: str, column: str) -> float | None:
    # Exports use the shop's decimal separator: '12,50' is 12.50.
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    return parse_price(text, column, required=False)


def _stock(get: Getter) -> int | None:
    stock_text = get("stock")
    if stock_text.lower() == "parent":
        return None
    stock = parse_stock(stock_text, "Stock")
    if stock is None and get("in_stock") == "0":
        return 0
    return stock


@dataclass
class _Row:
    line: int
    product_id: str
    kind: str
    record: dict[str, Any]
    price: float | None
    stock: int | None
    parent: str


def _read_row(line: int, get: Getter) -> _Row:
    product_id = get("id") or get("sku")
    if not product_id:
        raise RowRejected("ID and SKU are both empty")
    sale = _price(get("sale_price"), "Sale price")
    regular = _price(get("regular_price"), "Regular price")
    categories = _split_list(get("categories"))
    images = _split_list(get("images"))
    record = {
        "product_id": product_id,
        "title": get("name"),
        "description": get("description") or get("short_description"),
        "category": categories[0] if categories else "",
        "tags": "|".join(_split_list(get("tags"))),
        "compare_at_price": regular if sale is not None else None,
        "status": "active" if get("published") in ("1", "") else "draft",
        "image_url": parse_url(images[0], "Images") if images else "",
    }
    kind = get("type").lower()
    price = sale if sale is not None else regular
    return _Row(line, product_id, kind, record, price, _stock(get), get("parent"))


def parse_products(feed: CsvFeed, tally: FeedTally, batch_size: int) -> Iterator[FeedBatch]:
    """Read every row, fold variations into parents, then emit the products."""
    idx = {key: feed.column(*names) for key, names in COLUMNS.items()}
    rows: list[_Row] = []
    variations: list[_Row] = []
    skus: dict[str, _Row] = {}
    for line, fields in feed.rows(tally):

        def get(key: str, fields: list[str] = fields) -> str:
            i = idx[key]
            return fields[i].strip() if i is not None else ""

        try:
            row = _read_row(line, get)
        except RowRejected as exc:
            tally.reject(line, str(exc))
            continue
        if "variation" in row.kind:
            variations.append(row)
            continue
        if get("sku"):
            skus[get("sku")] = row
        rows.append(row)
    by_ref = {**{f"id:{r.product_id}": r for r in rows}, **skus}
    _fold(variations, by_ref, tally)
    yield from _emit(rows, tally, batch_size)


def _fold(variations: list[_Row], by_ref: dict[str, _Row], tally: FeedTally) -> None:
    for variation in variations:
        parent = by_ref.get(variation.parent)
        if parent is None:
            tally.reject(variation.line, f"Parent {variation.parent!r} is not in the file")
            continue
        tally.skipped["variations_folded"] += 1
        if variation.stock is not None:
            parent.stock = (parent.stock or 0) + variation.stock
        if variation.price is not None and "variable" in parent.kind:
            parent.price = (
                variation.price if parent.price is None else min(parent.price, variation.price)
            )


def _emit(rows: list[_Row], tally: FeedTally, batch_size: int) -> Iterator[FeedBatch]:
    batch = FeedBatch()
    for row in rows:
        if "grouped" in row.kind and row.price is None:
            tally.skipped["grouped_without_price"] += 1
            continue
        if not row.record["title"]:
            tally.reject(row.line, "Name is empty")
            continue
        if row.price is None:
            tally.reject(row.line, "Regular price and Sale price are both empty")
            continue
        batch.products.append({**row.record, "price": row.price, "inventory": row.stock})
        tally.accepted["products"] += 1
        if len(batch.products) >= batch_size:
            yield batch
            batch = FeedBatch()
    yield batch
