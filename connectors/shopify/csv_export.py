"""Shopify's product export CSV: one row per variant (and per extra image), grouped by Handle.

Both header sets are accepted: the legacy one (Handle, Body (HTML), Variant Price, ...) and
the renamed one (URL handle, Description, Price, ...); see PLATFORMS.md 1.14.
Mapping: product_id = Handle; title/description/vendor/tags from the handle's first row;
price = first variant's price; inventory = sum of variant quantities (None when no variant
gives one); category = Type, else first tag, else (Google) product category; status = Status
when present, else Published (true -> active, false -> draft); image = first image.
The HTML description is kept as is (the engine strips tags).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from connectors.errors import RowRejected
from connectors.feeds.csv_reading import CsvFeed
from connectors.feeds.feed_records import FeedBatch, FeedTally
from connectors.feeds.feed_values import parse_price, parse_stock, parse_url

COLUMNS: dict[str, tuple[str, ...]] = {
    "handle": ("Handle", "URL handle"),
    "title": ("Title",),
    "body": ("Body (HTML)", "Description"),
    "vendor": ("Vendor",),
    "type": ("Type",),
    "tags": ("Tags",),
    "published": ("Published", "Published on online store"),
    "status": ("Status",),
    "price": ("Variant Price", "Price"),
    "compare_at": ("Variant Compare At Price", "Compare-at price"),
    "inventory": ("Variant Inventory Qty", "Inventory quantity"),
    "image": ("Image Src", "Product image URL"),
    "product_category": ("Product Category", "Product category"),
    "google_category": ("Google Shopping / Google Product Category",),
}
_STATUSES = ("active", "draft", "archived")

# Reads one named column of the current row, stripped ("" when the column is absent).
Getter = Callable[[str], str]


@dataclass
class _Product:
    line: int
    record: dict[str, Any]
    price: float | None = None
    compare_at: float | None = None
    inventory: int | None = None
    image: str = ""


def _split_tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _status(get: Getter) -> str:
    status = get("status").lower()
    if status:
        if status not in _STATUSES:
            raise RowRejected(f"Status {status!r} is not one of {list(_STATUSES)}")
        return status
    published = get("published").lower()
    return "draft" if published in ("false", "0", "no") else "active"


def _new_product(line: int, handle: str, get: Getter) -> _Product:
    title = get("title")
    if not title:
        raise RowRejected(f"Title is empty on the first row of handle {handle!r}")
    tags = _split_tags(get("tags"))
    category = (
        get("type")
        or (tags[0] if tags else "")
        or get("product_category")
        or get("google_category")
    )
    record = {
        "product_id": handle,
        "title": title,
        "description": get("body"),
        "vendor": get("vendor"),
        "category": category,
        "tags": "|".join(tags),
        "status": _status(get),
    }
    return _Product(line=line, record=record)


def _add_variant(product: _Product, get: Getter) -> None:
    price_text = get("price")
    if price_text:
        price = parse_price(price_text, "Variant Price")
        if product.price is None:
            product.price = price
            product.compare_at = parse_price(
                get("compare_at"), "Variant Compare At Price", required=False
            )
        stock = parse_stock(get("inventory"), "Variant Inventory Qty")
        if stock is not None:
            product.inventory = (product.inventory or 0) + stock
    image = parse_url(get("image"), COLUMNS["image"][0])
    if not product.image:
        product.image = image


def parse_products(feed: CsvFeed, tally: FeedTally, batch_size: int) -> Iterator[FeedBatch]:
    """Fold the rows of each handle into one product; emit them once the file is read.

    A row with a bad price or stock is rejected alone; a handle whose first row has no
    title, or with no priced variant, is rejected at its first row's line.
    """
    idx = {key: feed.column(*names) for key, names in COLUMNS.items()}
    products: dict[str, _Product] = {}
    for line, fields in feed.rows(tally):

        def get(key: str, fields: list[str] = fields) -> str:
            i = idx[key]
            return fields[i].strip() if i is not None else ""

        try:
            handle = get("handle")
            if not handle:
                raise RowRejected(f"{COLUMNS['handle'][0]} is empty")
            product = products.get(handle)
            if product is None:
                product = _new_product(line, handle, get)
            _add_variant(product, get)
        except RowRejected as exc:
            tally.reject(line, str(exc))
            continue
        if handle not in products:
            products[handle] = product
            tally.accepted["products"] += 1
        else:
            tally.skipped["variant_or_image_rows"] += 1
    batch = FeedBatch()
    for handle, product in products.items():
        if product.price is None:
            tally.reject(product.line, f"handle {handle!r} has no variant with a price")
            tally.accepted["products"] -= 1
            continue
        batch.products.append(
            {
                **product.record,
                "price": product.price,
                "compare_at_price": product.compare_at,
                "inventory": product.inventory,
                "image_url": product.image,
            }
        )
        if len(batch.products) >= batch_size:
            yield batch
            batch = FeedBatch()
    yield batch
