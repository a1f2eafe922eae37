"""WooCommerce webhook payloads (REST v3 objects, PLATFORMS.md 2.2-2.4) as store records.

Mapping: product_id = the numeric id as text (what order line items carry); price = price
(the current one), compare_at_price = regular_price while on sale; inventory =
stock_quantity when stock is managed, 0 when 'outofstock', else None; status publish ->
active, trash -> archived, others -> draft. Orders: processing/completed -> 'paid',
cancelled/failed/trash -> 'cancelled', refunded -> 'refunded', pending/on-hold/drafts ->
'pending' (not yet a purchase). Times prefer the *_gmt fields (naive UTC). A Woo order
carries refund totals only (no refunded lines), so a partial refund is not a negative line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.errors import PayloadError
from connectors.feeds.feed_records import FeedBatch
from connectors.payload_fields import (
    id_field,
    int_field,
    list_field,
    money_field,
    number_lines,
    object_field,
    object_items,
    text_field,
    timestamp_field,
    url_field,
)
from connectors.platform_update import PlatformUpdate, single

_ORDER_STATUS = {
    "processing": "paid",
    "completed": "paid",
    "cancelled": "cancelled",
    "failed": "cancelled",
    "trash": "cancelled",
    "refunded": "refunded",
    "pending": "pending",
    "on-hold": "pending",
    "checkout-draft": "pending",
    "draft": "pending",
}
_PRODUCT_STATUS = {"publish": "active", "trash": "archived"}


def _order_status(payload: Mapping[str, Any]) -> str:
    status = text_field(payload, "status", "order").lower()
    if status not in _ORDER_STATUS:
        raise PayloadError(f"order.status {status!r} is not one of {sorted(_ORDER_STATUS)}")
    return _ORDER_STATUS[status]


def order_batch(payload: Mapping[str, Any]) -> FeedBatch:
    """order.created / order.updated: header, lines and (registered buyers) a customer stub."""
    where = "order"
    order_id = id_field(payload, "id", where)
    created_at = timestamp_field(payload, ("date_created_gmt", "date_created"), where)
    assert created_at is not None  # required=True
    customer_id = id_field(payload, "customer_id", where, required=False) or None  # 0 = guest
    billing = object_field(payload, "billing", where) or {}
    country = text_field(billing, "country", "order.billing").upper()
    batch = FeedBatch()
    if customer_id:
        # The billing block is what the buyer typed for this order, not the account: it may
        # create a customer the store has not synced yet, never rewrite a known one.
        customer: dict[str, Any] = {
            "customer_id": customer_id,
            "first_name": text_field(billing, "first_name", "order.billing"),
            "last_name": text_field(billing, "last_name", "order.billing"),
        }
        email = text_field(billing, "email", "order.billing")
        if email:
            customer["email"] = email
        if country:
            customer["country"] = country
        batch.order_customers.append(customer)
    batch.orders.append(
        {
            "order_id": order_id,
            "customer_id": customer_id,
            "created_at": created_at,
            "status": _order_status(payload),
            "country": country,
            "source": "woocommerce",
        }
    )
    lines = number_lines(order_id, customer_id, created_at)
    for lwhere, item in object_items(payload, "line_items", where):
        quantity = int_field(item, "quantity", lwhere)
        if quantity is None:
            raise PayloadError(f"{lwhere}.quantity is missing")
        price = money_field(item, "price", lwhere)
        if price is None:
            total = money_field(item, "total", lwhere)
            if total is None:
                raise PayloadError(f"{lwhere} has neither price nor total")
            price = total / quantity if quantity else total
        product_id = id_field(item, "product_id", lwhere, required=False)
        if not product_id:
            continue  # a line whose product was deleted: nothing to recommend
        batch.order_lines.append(lines.line(product_id, quantity, price))
    return batch


def order_deleted_batch(payload: Mapping[str, Any]) -> FeedBatch:
    """order.deleted ({"id": N}, fired on trash): a known order becomes 'cancelled'.

    The record has no created_at, so the store only updates an existing order with it.
    """
    return FeedBatch(orders=[{"order_id": id_field(payload, "id", "order"), "status": "cancelled"}])


def product_record(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A product object as a products row."""
    where = "product"
    record: dict[str, Any] = {"product_id": id_field(payload, "id", where)}
    title = text_field(payload, "name", where)
    if title:
        record["title"] = title
    price = money_field(payload, "price", where)
    regular = money_field(payload, "regular_price", where)
    sale = money_field(payload, "sale_price", where)
    if price is None:
        price = sale if sale is not None else regular
    if price is not None:  # grouped products have none: then an existing row is only updated
        record["price"] = price
    record["compare_at_price"] = regular if sale is not None and regular != price else None
    if payload.get("manage_stock") is True:
        record["inventory"] = int_field(payload, "stock_quantity", where)
    elif text_field(payload, "stock_status", where) == "outofstock":
        record["inventory"] = 0
    else:
        record["inventory"] = None
    status = text_field(payload, "status", where).lower()
    if status:
        record["status"] = _PRODUCT_STATUS.get(status, "draft")
    categories = _names(payload, "categories")
    tags = _names(payload, "tags")
    record["category"] = categories[0] if categories else ""
    record["tags"] = "|".join(tags)
    record["description"] = text_field(payload, "description", where) or text_field(
        payload, "short_description", where
    )
    images = list_field(payload, "images", where)
    first = images[0] if images and isinstance(images[0], dict) else None
    record["image_url"] = url_field(first, "src", "product.images[0]")
    record["url"] = url_field(payload, "permalink", where)
    created = timestamp_field(payload, ("date_created_gmt", "date_created"), where, required=False)
    if created:
        record["created_at"] = created
    return record


def _names(payload: Mapping[str, Any], field: str) -> list[str]:
    names = []
    for i, entry in enumerate(list_field(payload, field, "product")):
        if not isinstance(entry, dict):
            raise PayloadError(f"product.{field}[{i}] must be an object")
        name = text_field(entry, "name", f"product.{field}[{i}]")
        if name:
            names.append(name)
    return names


def is_variation(payload: Mapping[str, Any]) -> bool:
    """product.* also fires for variations; orders name the parent, so those are skipped."""
    return payload.get("type") == "variation"


def product_batch(payload: Mapping[str, Any]) -> FeedBatch:
    """product.created / product.updated / product.restored (variations give no records)."""
    if is_variation(payload):
        return FeedBatch()
    return FeedBatch(products=[product_record(payload)])


def customer_batch(payload: Mapping[str, Any]) -> FeedBatch:
    """customer.created / customer.updated."""
    where = "customer"
    billing = object_field(payload, "billing", where) or {}
    record: dict[str, Any] = {
        "customer_id": id_field(payload, "id", where),
        "email": text_field(payload, "email", where)
        or text_field(billing, "email", "customer.billing")
        or None,
        "first_name": text_field(payload, "first_name", where),
        "last_name": text_field(payload, "last_name", where),
    }
    country = text_field(billing, "country", "customer.billing").upper()
    if country:
        record["country"] = country
    created = timestamp_field(payload, ("date_created_gmt", "date_created"), where, required=False)
    if created:
        record["created_at"] = created
    return FeedBatch(customers=[record])


def _modified_at(payload: Mapping[str, Any], where: str) -> str | None:
    return timestamp_field(payload, ("date_modified_gmt", "date_modified"), where, required=False)


def product_update(payload: Mapping[str, Any]) -> PlatformUpdate:
    """product.created|updated (or a backfilled product) with its date_modified version."""
    batch = product_batch(payload)
    if not batch.products:
        return PlatformUpdate(batch=batch)  # a variation: nothing stored
    product_id = batch.products[0]["product_id"]
    return single(batch, "product", product_id, _modified_at(payload, "product"))


def order_update(payload: Mapping[str, Any]) -> PlatformUpdate:
    """order.created|updated (or a backfilled order) with its date_modified version."""
    batch = order_batch(payload)
    return single(batch, "order", batch.orders[0]["order_id"], _modified_at(payload, "order"))


def customer_update(payload: Mapping[str, Any]) -> PlatformUpdate:
    """customer.created|updated (or a backfilled customer) with its date_modified version."""
    batch = customer_batch(payload)
    if not batch.customers:
        return PlatformUpdate(batch=batch)
    customer_id = batch.customers[0]["customer_id"]
    return single(batch, "customer", customer_id, _modified_at(payload, "customer"))
