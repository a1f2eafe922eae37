"""Shopify webhook payloads (REST-shaped, PLATFORMS.md 1.7/1.11) as canonical store records.

This is the one Shopify -> store mapping: webhooks arrive in this REST shape, and the
GraphQL backfill translates its nodes into it first (connectors/shopify/graphql.py).

Mapping: product_id = the numeric product id as text, the id space of all API-sourced
data (order line items carry it; the handle stays in the product URL; only the product CSV
importer keys by Handle, for shops without API access); price/compare_at_price from the
first variant; inventory = sum of variant inventory_quantity (None when no variant gives
one); category = product_type, else the first tag; tags 'a, b' -> 'a|b'. Orders: status
'cancelled' when cancelled_at is set or the payment was voided, 'refunded' when fully
refunded, 'pending' while unpaid, else 'paid'; refund_line_items become negative lines
(returns). Only 'paid' orders' positive lines are purchases (storage.orders.read_purchase_lines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
    payload_url,
    text_field,
    timestamp_field,
    url_field,
)
from connectors.platform_update import PlatformUpdate, single

PRODUCT_STATUSES = ("active", "draft", "archived")
_PAID = {"paid", "partially_paid", "partially_refunded", "authorized"}
_PENDING = {"pending", "expired"}


@dataclass(frozen=True)
class InventoryLevel:
    """An inventory_levels/update payload: stock of one inventory item at one location."""

    inventory_item_id: str
    location_id: str
    available: int | None
    updated_at: str | None = None  # platform time: a late delivery must not win


def _country(payload: Mapping[str, Any], where: str) -> str:
    for name in ("billing_address", "shipping_address", "default_address"):
        address = object_field(payload, name, where)
        if address and text_field(address, "country_code", f"{where}.{name}"):
            return text_field(address, "country_code", f"{where}.{name}").upper()
    return ""


def customer_record(customer: Mapping[str, Any], where: str = "customer") -> dict[str, Any]:
    """A Customer object (webhook or an order's `customer`) as a customers row."""
    record: dict[str, Any] = {
        "customer_id": id_field(customer, "id", where),
        "first_name": text_field(customer, "first_name", where),
        "last_name": text_field(customer, "last_name", where),
    }
    email = text_field(customer, "email", where)
    if email:  # absent from some payloads: never blank a stored address
        record["email"] = email
    country = _country(customer, where)
    if country:
        record["country"] = country
    consent = object_field(customer, "email_marketing_consent", where)
    if consent is not None:
        record["accepts_marketing"] = int(text_field(consent, "state", where) == "subscribed")
    elif isinstance(customer.get("accepts_marketing"), bool):
        record["accepts_marketing"] = int(customer["accepts_marketing"])
    created = timestamp_field(customer, ("created_at",), where, required=False)
    if created:
        record["created_at"] = created
    return record


def customer_batch(payload: Mapping[str, Any]) -> FeedBatch:
    """customers/create and customers/update."""
    return FeedBatch(customers=[customer_record(payload)])


def _order_status(payload: Mapping[str, Any]) -> str:
    financial = text_field(payload, "financial_status", "order").lower()
    if payload.get("cancelled_at") or financial == "voided":
        return "cancelled"
    if financial == "refunded":
        return "refunded"
    if financial in _PENDING:
        return "pending"
    if financial in _PAID or not financial:
        return "paid"
    raise PayloadError(f"order.financial_status {financial!r} is not a known Shopify status")


def order_batch(payload: Mapping[str, Any]) -> FeedBatch:
    """orders/create, orders/updated, orders/paid, orders/cancelled: header, lines, customer."""
    order_id = id_field(payload, "id", "order")
    created_at = timestamp_field(payload, ("created_at",), "order")
    assert created_at is not None  # required=True
    customer = object_field(payload, "customer", "order")
    batch = FeedBatch()
    customer_id: str | None = None
    if customer and customer.get("id"):
        # The order's copy of the customer may lack the protected fields (empty names) and
        # is as old as the order: it creates a missing customer, never rewrites a known one.
        record = customer_record(customer, "order.customer")
        customer_id = record["customer_id"]
        batch.order_customers.append(record)
    batch.orders.append(
        {
            "order_id": order_id,
            "customer_id": customer_id,
            "created_at": created_at,
            "status": _order_status(payload),
            "country": _country(payload, "order"),
            "source": "shopify",
        }
    )
    lines = number_lines(order_id, customer_id, created_at)
    product_of_line: dict[str, tuple[str, float]] = {}
    for where, item in object_items(payload, "line_items", "order"):
        product_id = id_field(item, "product_id", where, required=False)
        quantity = int_field(item, "quantity", where)
        if quantity is None:
            raise PayloadError(f"{where}.quantity is missing")
        price = money_field(item, "price", where)
        if price is None:
            raise PayloadError(f"{where}.price is missing")
        if not product_id:
            continue  # custom line item or deleted product: nothing to recommend
        product_of_line[id_field(item, "id", where, required=False)] = (product_id, price)
        batch.order_lines.append(lines.line(product_id, quantity, price))
    for refund_where, refund in object_items(payload, "refunds", "order"):
        for where, item in object_items(refund, "refund_line_items", refund_where):
            known = product_of_line.get(id_field(item, "line_item_id", where))
            quantity = int_field(item, "quantity", where) or 0
            if known is None or quantity <= 0:
                continue
            product_id, price = known
            batch.order_lines.append(lines.line(product_id, -quantity, price))
    return batch


def product_record(payload: Mapping[str, Any], shop_domain: str = "") -> dict[str, Any]:
    """A Product object as a products row (first variant's price, summed variant stock)."""
    where = "product"
    record: dict[str, Any] = {"product_id": id_field(payload, "id", where)}
    title = text_field(payload, "title", where)
    if title:
        record["title"] = title
    variants = list_field(payload, "variants", where)
    stock: list[int] = []
    for i, variant in enumerate(variants):
        vwhere = f"product.variants[{i}]"
        if not isinstance(variant, dict):
            raise PayloadError(f"{vwhere} must be an object")
        if i == 0:
            price = money_field(variant, "price", vwhere)
            if price is not None:
                record["price"] = price
            record["compare_at_price"] = money_field(variant, "compare_at_price", vwhere)
        quantity = int_field(variant, "inventory_quantity", vwhere)
        if quantity is not None:
            stock.append(quantity)
    if variants:
        record["inventory"] = sum(stock) if stock else None
    status = text_field(payload, "status", where).lower()
    if status:
        if status not in PRODUCT_STATUSES:
            raise PayloadError(f"product.status {status!r} is not one of {list(PRODUCT_STATUSES)}")
        record["status"] = status
    tags = [t.strip() for t in text_field(payload, "tags", where).split(",") if t.strip()]
    record["tags"] = "|".join(tags)
    record["vendor"] = text_field(payload, "vendor", where)
    record["description"] = text_field(payload, "body_html", where)
    record["category"] = text_field(payload, "product_type", where) or (tags[0] if tags else "")
    image = object_field(payload, "image", where)
    images = list_field(payload, "images", where)
    if image is None and images and isinstance(images[0], dict):
        image = images[0]
    record["image_url"] = url_field(image, "src", "product.image")
    handle = text_field(payload, "handle", where)
    if handle and shop_domain:
        record["url"] = payload_url(f"https://{shop_domain}/products/{handle}", "product.handle")
    created = timestamp_field(payload, ("created_at",), where, required=False)
    if created:
        record["created_at"] = created
    return record


def product_batch(payload: Mapping[str, Any], shop_domain: str = "") -> FeedBatch:
    """products/create and products/update."""
    return FeedBatch(products=[product_record(payload, shop_domain)])


def inventory_level(payload: Mapping[str, Any]) -> InventoryLevel:
    """inventory_levels/update: keyed by inventory item and location, not by product."""
    where = "inventory_level"
    return InventoryLevel(
        inventory_item_id=id_field(payload, "inventory_item_id", where),
        location_id=id_field(payload, "location_id", where, required=False),
        available=int_field(payload, "available", where),
        updated_at=timestamp_field(payload, ("updated_at",), where, required=False),
    )


@dataclass(frozen=True)
class RedactionRequest:
    """A customers/redact payload: erase this customer (by id and email) and these orders."""

    shop_domain: str
    customer_id: str
    email: str
    order_ids: tuple[str, ...]


def redaction_request(payload: Mapping[str, Any]) -> RedactionRequest:
    """customers/redact (PLATFORMS.md 1.8): the customer may come with only an email."""
    where = "customers_redact"
    customer_id, email = _privacy_customer(payload, where)
    return RedactionRequest(
        shop_domain=shop_domain_of(payload, where),
        customer_id=customer_id,
        email=email,
        order_ids=_privacy_order_ids(payload, "orders_to_redact", where),
    )


def _privacy_customer(payload: Mapping[str, Any], where: str) -> tuple[str, str]:
    """(customer id, email) of a privacy topic; either may be '' but not both."""
    customer = object_field(payload, "customer", where)
    if customer is None:
        raise PayloadError(f"{where}.customer is missing")
    customer_id = id_field(customer, "id", f"{where}.customer", required=False)
    email = text_field(customer, "email", f"{where}.customer")
    if not customer_id and not email:
        raise PayloadError(f"{where}.customer has neither id nor email")
    return customer_id, email


def _privacy_order_ids(payload: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """The order ids listed under `key` (orders_to_redact, orders_requested)."""
    return tuple(
        id_field({"id": value}, "id", f"{where}.{key}[{i}]")
        for i, value in enumerate(list_field(payload, key, where))
    )


def _updated_at(payload: Mapping[str, Any], where: str) -> str | None:
    return timestamp_field(payload, ("updated_at",), where, required=False)


def product_update(payload: Mapping[str, Any], shop_domain: str = "") -> PlatformUpdate:
    """products/create|update (or a backfilled node): the record, its version, its items."""
    batch = product_batch(payload, shop_domain)
    product_id = batch.products[0]["product_id"]
    update = single(batch, "product", product_id, _updated_at(payload, "product"))
    for i, variant in enumerate(list_field(payload, "variants", "product")):
        if not isinstance(variant, dict):
            continue  # product_batch already refused non-objects
        item = id_field(variant, "inventory_item_id", f"product.variants[{i}]", required=False)
        if item:
            variant_id = id_field(variant, "id", f"product.variants[{i}]", required=False)
            update.inventory_items.append((item, product_id, variant_id))
            stock = int_field(variant, "inventory_quantity", f"product.variants[{i}]")
            if stock is not None:
                update.inventory_totals.append((item, stock))
    return update


def order_update(payload: Mapping[str, Any]) -> PlatformUpdate:
    """orders/* (or a backfilled node): the records and the order's version."""
    batch = order_batch(payload)
    return single(batch, "order", batch.orders[0]["order_id"], _updated_at(payload, "order"))


def customer_update(payload: Mapping[str, Any]) -> PlatformUpdate:
    """customers/create|update: the record and its version."""
    batch = customer_batch(payload)
    customer_id = batch.customers[0]["customer_id"]
    return single(batch, "customer", customer_id, _updated_at(payload, "customer"))


@dataclass(frozen=True)
class DataRequest:
    """A customers/data_request payload: export this customer's data for request `request_id`."""

    shop_domain: str
    request_id: str
    customer_id: str
    email: str
    order_ids: tuple[str, ...]


def data_request(payload: Mapping[str, Any]) -> DataRequest:
    """customers/data_request (PLATFORMS.md 1.8): customer, orders_requested, data_request.id."""
    where = "customers_data_request"
    customer_id, email = _privacy_customer(payload, where)
    request = object_field(payload, "data_request", where) or {}
    return DataRequest(
        shop_domain=shop_domain_of(payload, where),
        request_id=id_field(request, "id", f"{where}.data_request", required=False),
        customer_id=customer_id,
        email=email,
        order_ids=_privacy_order_ids(payload, "orders_requested", where),
    )


def shop_domain_of(payload: Mapping[str, Any], where: str) -> str:
    """The payload's shop_domain (shop/redact, privacy topics), lower-cased; '' when absent."""
    return text_field(payload, "shop_domain", where).lower()
