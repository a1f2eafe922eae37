"""Processing stored webhook receipts: parse the raw body, apply it to the store, record why.

A receipt is written by plugin/webhooks.py before anything else happens to it (STYLE.md 4).
Here its body is parsed and applied; a malformed payload marks the receipt 'rejected' with
the precise reason and keeps the row for a replay, it never raises. Unexpected errors (a
broken store) are left to reach RQ so the job lands in FailedJobRegistry.

customers/redact erases the customer (storage.redaction). Topics not applied yet stay
'pending' with a note in `error` rather than being marked processed: inventory_levels/update
(the store keeps no Shopify inventory-item -> product map), customers/data_request,
shop/redact (deleting the shop folder is left to an operator for now) and app/uninstalled.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

import sqlite_utils
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job

from config import Settings
from connectors import shopify_payloads, woocommerce_payloads
from connectors.feed_records import FeedBatch
from connectors.payload_errors import PayloadError
from connectors.payload_fields import parse_json_object, product_deleted_batch
from storage.catalog import upsert_products
from storage.customers import upsert_customers
from storage.db import open_shop_db, shop_exists, validate_shop_name
from storage.orders import upsert_order_lines, upsert_orders
from storage.receipts import get_receipt, mark_receipt
from storage.redaction import redact_customer
from worker.cache_invalidation import bump_db_generation

logger = logging.getLogger(__name__)

RECEIPT_JOB = "worker.jobs.process_receipt_job"
RECEIPT_RESULT_TTL_S = 3600

Mapper = Callable[[Mapping[str, Any], str], FeedBatch]

_SHOPIFY: dict[str, Mapper] = {
    "orders/create": lambda p, shop: shopify_payloads.order_batch(p),
    "orders/updated": lambda p, shop: shopify_payloads.order_batch(p),
    "orders/paid": lambda p, shop: shopify_payloads.order_batch(p),
    "orders/cancelled": lambda p, shop: shopify_payloads.order_batch(p),
    "products/create": shopify_payloads.product_batch,
    "products/update": shopify_payloads.product_batch,
    "products/delete": lambda p, shop: product_deleted_batch(p),
    "customers/create": lambda p, shop: shopify_payloads.customer_batch(p),
    "customers/update": lambda p, shop: shopify_payloads.customer_batch(p),
}
_WOOCOMMERCE: dict[str, Mapper] = {
    "order.created": lambda p, shop: woocommerce_payloads.order_batch(p),
    "order.updated": lambda p, shop: woocommerce_payloads.order_batch(p),
    "order.restored": lambda p, shop: woocommerce_payloads.order_batch(p),
    "order.deleted": lambda p, shop: woocommerce_payloads.order_deleted_batch(p),
    "product.created": lambda p, shop: woocommerce_payloads.product_batch(p),
    "product.updated": lambda p, shop: woocommerce_payloads.product_batch(p),
    "product.restored": lambda p, shop: woocommerce_payloads.product_batch(p),
    "product.deleted": lambda p, shop: product_deleted_batch(p),
    "customer.created": lambda p, shop: woocommerce_payloads.customer_batch(p),
    "customer.updated": lambda p, shop: woocommerce_payloads.customer_batch(p),
}
_MAPPERS = {"shopify": _SHOPIFY, "woocommerce": _WOOCOMMERCE}
# Received and kept, but not applied yet: the note is what the admin sees on the receipt.
_NOT_YET = {
    ("shopify", "customers/data_request"): "privacy request not automated yet: answer manually",
    ("shopify", "shop/redact"): "shop redaction not automated yet: delete the shop folder",
    ("shopify", "app/uninstalled"): "uninstall handling not implemented yet",
}


def receipt_job_id(shop: str, receipt_id: int) -> str:
    """The job id of one receipt's processing; RQ ids allow no '.', so dots become '_'."""
    return f"receipt-{validate_shop_name(shop).replace('.', '_')}-{int(receipt_id)}"


def enqueue_receipt(queue: Queue, shop: str, receipt_id: int) -> Job:
    """Enqueue process_receipt_job(shop, receipt_id) once; a second enqueue returns the first."""
    job_id = receipt_job_id(shop, receipt_id)
    try:
        return queue.enqueue_call(
            RECEIPT_JOB,
            args=(shop, int(receipt_id)),
            job_id=job_id,
            result_ttl=RECEIPT_RESULT_TTL_S,
            description=f"webhook receipt {receipt_id} of {shop}",
            unique=True,
        )
    except DuplicateJobError:
        try:
            return Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
        except NoSuchJobError:
            raise DuplicateJobError(f"job {job_id} vanished while enqueueing") from None


def apply_batch(db: sqlite_utils.Database, batch: FeedBatch) -> dict[str, int]:
    """Upsert a batch's records (customers, products, orders, lines); return rows changed."""
    return {
        "customers": upsert_customers(db, batch.customers) if batch.customers else 0,
        "products": upsert_products(db, batch.products) if batch.products else 0,
        "orders": upsert_orders(db, batch.orders) if batch.orders else 0,
        "order_lines": upsert_order_lines(db, batch.order_lines) if batch.order_lines else 0,
    }


def process_stored_receipt(
    db: sqlite_utils.Database, shop: str, receipt: Mapping[str, Any]
) -> dict[str, Any]:
    """Apply one receipt row to `db` and record its outcome; return a JSON-able summary."""
    receipt_id = int(receipt["receipt_id"])
    platform, topic = receipt["platform"], receipt["topic"]
    summary: dict[str, Any] = {"shop": shop, "receipt_id": receipt_id, "topic": topic}
    log_extra = {"shop": shop, "receipt_id": receipt_id}
    try:
        payload = parse_json_object(bytes(receipt["body"]))
        note = _NOT_YET.get((platform, topic))
        if note is None and (platform, topic) == ("shopify", "inventory_levels/update"):
            level = shopify_payloads.inventory_level(payload)
            note = (
                f"inventory item {level.inventory_item_id} not applied: the store keeps no "
                "Shopify inventory-item -> product map yet"
            )
        if note is not None:
            mark_receipt(db, receipt_id, "pending", note)
            logger.info(
                "receipt %s (%s) left pending: %s", receipt_id, topic, note, extra=log_extra
            )
            return {**summary, "status": "pending", "note": note}
        if (platform, topic) == ("shopify", "customers/redact"):
            return {**summary, **_redact(db, shop, receipt_id, payload)}
        mapper = _MAPPERS.get(platform, {}).get(topic)
        if mapper is None:
            raise PayloadError(f"{platform} topic {topic!r} is not handled")
        batch = mapper(payload, shop)
    except PayloadError as exc:
        mark_receipt(db, receipt_id, "rejected", str(exc))
        logger.warning("receipt %s rejected: %s", receipt_id, exc, extra=log_extra)
        return {**summary, "status": "rejected", "error": str(exc)}
    changed = apply_batch(db, batch)
    if changed["products"]:
        # Served answers that held these products (price, stock, status) must go now.
        bump_db_generation(db)
    mark_receipt(db, receipt_id, "processed")
    return {**summary, "status": "processed", "changed": changed}


def _redact(
    db: sqlite_utils.Database, shop: str, receipt_id: int, payload: Mapping[str, Any]
) -> dict[str, Any]:
    request = shopify_payloads.redaction_request(payload)
    if request.shop_domain and request.shop_domain != shop:
        raise PayloadError(
            f"customers_redact.shop_domain {request.shop_domain!r} is not this shop ({shop!r})"
        )
    counts = redact_customer(db, request.customer_id, request.email, request.order_ids)
    mark_receipt(db, receipt_id, "processed")
    logger.info(
        "receipt %s: customer redacted (%s)",
        receipt_id,
        counts,
        extra={"shop": shop, "receipt_id": receipt_id},
    )
    return {"status": "processed", "redacted": dataclasses.asdict(counts)}


def process_receipt(
    settings: Settings, shop: str, receipt_id: int, *, force: bool = False
) -> dict[str, Any]:
    """Process receipt `receipt_id` of `shop`; a receipt already processed is left alone
    unless `force` (a replay). A missing shop or receipt is reported, not raised: the
    delivery it referred to is gone and a retry cannot bring it back."""
    summary: dict[str, Any] = {"shop": shop, "receipt_id": int(receipt_id)}
    if not shop_exists(settings.data_dir, shop):
        logger.warning("receipt %s: no shop %s", receipt_id, shop, extra={"shop": shop})
        return {**summary, "status": "missing", "error": f"no shop named {shop!r}"}
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        receipt = get_receipt(db, int(receipt_id))
        if receipt is None:
            return {**summary, "status": "missing", "error": f"no receipt {receipt_id}"}
        if receipt["status"] == "processed" and not force:
            return {**summary, "topic": receipt["topic"], "status": "processed", "skipped": True}
        return process_stored_receipt(db, shop, receipt)
    finally:
        db.close()
