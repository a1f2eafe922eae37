"""Processing stored webhook receipts: parse the raw body, apply it to the store, record why.

A receipt is written by plugin/webhooks.py before anything else happens to it (STYLE.md 4).
Here its body is parsed and applied; a malformed payload marks the receipt 'rejected' with
the precise reason and keeps the row for a replay, it never raises. An unexpected error (a
broken store) is counted on the receipt (tries, next_try_at: record_failed_try), which stays
'pending' for the sweep (worker.receipt_sweep); process_receipt then re-raises it, while a
drain (worker.receipt_batch) goes on with the next receipt.

Records go through worker.platform_apply, which skips a stale update (one whose platform
updated_at is older than what was applied). Topic handling:
- orders/*, products/*, customers/create|update (Shopify); order.*, product.*, customer.*
  (WooCommerce): mapped once per platform in connectors/*_payloads.py and applied.
- inventory_levels/update: the item is mapped to its product (inventory_items, filled by the
  backfill and product webhooks); an unknown item stays 'pending' with a note, for a replay
  once the sync has seen its product.
- customers/redact: the customer is erased (worker.privacy.erase_customer), and logged.
- customers/data_request: the customer's data is written as JSON under the shop folder
  (worker.privacy.export_customer), logged for the admin's privacy page to offer it.
- shop/redact: the whole shop folder is deleted, after the db is closed (`delete_shop`).
- app/uninstalled: the connection is marked uninstalled and its tokens dropped.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import sqlite_utils

from config import Settings
from connectors import platforms
from connectors.errors import PayloadError
from connectors.payload_fields import parse_json_object
from connectors.platforms import shopify_domain
from connectors.shopify import payloads as shopify_payloads
from serving.generations import bump_db_generation
from storage.catalog import set_inventory
from storage.connections import mark_uninstalled
from storage.db import open_shop_db, shop_exists
from storage.inventory_items import product_of_item, product_stock, set_inventory_level
from storage.receipts import defer_receipt, get_receipt, mark_receipt
from worker.platform_apply import apply_batch, apply_update
from worker.privacy import delete_shop_data, erase_customer, export_customer
from worker.receipt_dispatch import RECEIPT_RETRY, enqueue_receipt, receipt_job_id

__all__ = (
    "RECEIPT_RETRY",
    "apply_batch",
    "enqueue_receipt",
    "process_receipt",
    "process_stored_receipt",
    "receipt_job_id",
)

logger = logging.getLogger(__name__)

# A receipt left pending (an inventory item of a product not yet synced) or whose processing
# raised is dispatched again by the sweep after RETRY_BASE_S, doubling per try up to
# RETRY_MAX_S: it waits for the sync without being re-run in a loop.
RETRY_BASE_S = 300
RETRY_MAX_S = 6 * 3600


def _check_domain(shop: str, given: str, where: str) -> None:
    if given and given not in (shop, shopify_domain(shop)):
        raise PayloadError(f"{where}.shop_domain {given!r} is not this shop ({shop!r})")


def process_stored_receipt(
    db: sqlite_utils.Database, shop: str, receipt: Mapping[str, Any]
) -> dict[str, Any]:
    """Apply one receipt row to `db` and record its outcome; return a JSON-able summary.

    A summary with `delete_shop: True` (shop/redact) asks the caller to call
    `finish_receipt` once `db` is closed.
    """
    receipt_id = int(receipt["receipt_id"])
    platform, topic = receipt["platform"], receipt["topic"]
    summary: dict[str, Any] = {"shop": shop, "receipt_id": receipt_id, "topic": topic}
    log_extra = {"shop": shop, "receipt_id": receipt_id}
    try:
        payload = parse_json_object(bytes(receipt["body"]))
        special = _SPECIAL.get((platform, topic))
        if special is not None:
            outcome = special(db, shop, payload, receipt_id)
        else:
            known = platforms.PLATFORMS.get(platform)
            mapper = known.mappers.get(topic) if known is not None else None
            if known is None or mapper is None:
                raise PayloadError(f"{platform} topic {topic!r} is not handled")
            update = mapper(payload, known.domain_of(shop))
            outcome = {"status": "processed", "changed": apply_update(db, update)}
            if update.batch.orders:  # start/cancel campaign timers; never raises
                from worker.timers import schedule_after_stored_orders

                outcome["campaigns"] = schedule_after_stored_orders(db, shop, update.batch.orders)
    except (PayloadError, RecursionError) as exc:
        # RecursionError: a signed body nested deeper than Python can walk (thousands of '[').
        # Retrying the same bytes can never succeed, so it is rejected like any bad payload.
        reason = str(exc) if isinstance(exc, PayloadError) else "payload nests too deeply"
        mark_receipt(db, receipt_id, "rejected", reason)
        logger.warning("receipt %s rejected: %s", receipt_id, reason, extra=log_extra)
        return {**summary, "status": "rejected", "error": reason}
    if outcome["status"] == "pending":
        # Only a receipt left pending keeps a note (why, and what to do), and a next try.
        tries = int(receipt.get("tries") or 0) + 1
        defer_receipt(db, receipt_id, str(outcome.get("note") or ""), next_try_after(tries))
    else:
        mark_receipt(db, receipt_id, outcome["status"], None)
    logger.info("receipt %s (%s): %s", receipt_id, topic, outcome["status"], extra=log_extra)
    return {**summary, **outcome}


def next_try_after(tries: int, now: datetime | None = None) -> datetime:
    """When a receipt that has been tried `tries` times may be dispatched again."""
    delay = min(RETRY_BASE_S * 2 ** max(tries - 1, 0), RETRY_MAX_S)
    return (now or datetime.now(UTC)) + timedelta(seconds=delay)


def record_failed_try(
    db: sqlite_utils.Database, receipt: Mapping[str, Any], exc: BaseException
) -> None:
    """Count a processing run that raised, and push the sweep's next try back; never raises
    (the store may be what failed), so the caller can re-raise the original error."""
    tries = int(receipt.get("tries") or 0) + 1
    try:
        defer_receipt(
            db,
            int(receipt["receipt_id"]),
            f"processing failed: {exc!r:.300}",
            next_try_after(tries),
        )
    except Exception:  # noqa: BLE001 - the original error is what matters
        logger.exception("could not record the failed try of receipt %s", receipt["receipt_id"])


def _inventory(
    db: sqlite_utils.Database, shop: str, payload: Mapping[str, Any], receipt_id: int
) -> dict[str, Any]:
    level = shopify_payloads.inventory_level(payload)
    product_id = product_of_item(db, level.inventory_item_id)
    if product_id is None:
        note = (
            f"inventory item {level.inventory_item_id} belongs to no known product yet: "
            "replay after the next sync"
        )
        return {"status": "pending", "note": note}
    applied = set_inventory_level(
        db, level.inventory_item_id, level.location_id, level.available, level.updated_at
    )
    if not applied:
        return {"status": "processed", "product_id": product_id, "stale_skipped": 1}
    stock = product_stock(db, product_id)
    set_inventory(db, product_id, stock)
    bump_db_generation(db)
    return {"status": "processed", "product_id": product_id, "inventory": stock}


def _redact(
    db: sqlite_utils.Database, shop: str, payload: Mapping[str, Any], receipt_id: int
) -> dict[str, Any]:
    request = shopify_payloads.redaction_request(payload)
    _check_domain(shop, request.shop_domain, "customers_redact")
    counts = erase_customer(
        db,
        source="shopify",
        external_id=f"receipt-{receipt_id}",
        customer_id=request.customer_id,
        email=request.email,
        order_ids=request.order_ids,
    )
    return {"status": "processed", "redacted": dataclasses.asdict(counts)}


def _data_request(
    db: sqlite_utils.Database, shop: str, payload: Mapping[str, Any], receipt_id: int
) -> dict[str, Any]:
    request = shopify_payloads.data_request(payload)
    _check_domain(shop, request.shop_domain, "customers_data_request")
    export = export_customer(
        db,
        source="shopify",
        external_id=request.request_id or f"receipt-{receipt_id}",
        customer_id=request.customer_id,
        email=request.email,
        order_ids=request.order_ids,
    )
    return {"status": "processed", "export": export.path.name}


def _shop_redact(
    db: sqlite_utils.Database, shop: str, payload: Mapping[str, Any], receipt_id: int
) -> dict[str, Any]:
    _check_domain(shop, shopify_payloads.shop_domain_of(payload, "shop_redact"), "shop_redact")
    return {"status": "processed", "delete_shop": True}


def _uninstalled(
    db: sqlite_utils.Database, shop: str, payload: Mapping[str, Any], receipt_id: int
) -> dict[str, Any]:
    known = mark_uninstalled(db, "shopify", "app/uninstalled received: the app was removed")
    return {"status": "processed", "connection_known": known}


_SPECIAL: Mapping[tuple[str, str], Callable[..., dict[str, Any]]] = MappingProxyType(
    {
        ("shopify", "inventory_levels/update"): _inventory,
        ("shopify", "customers/redact"): _redact,
        ("shopify", "customers/data_request"): _data_request,
        ("shopify", "shop/redact"): _shop_redact,
        ("shopify", "app/uninstalled"): _uninstalled,
    }
)


def finish_receipt(settings: Settings, shop: str, summary: dict[str, Any]) -> dict[str, Any]:
    """What must happen after the shop's db is closed: shop/redact deletes the folder."""
    if summary.get("delete_shop"):
        summary = {**summary, "deleted": delete_shop_data(settings, shop)["deleted"]}
    return summary


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
        try:
            result = process_stored_receipt(db, shop, receipt)
        except Exception as exc:
            record_failed_try(db, receipt, exc)
            raise
    finally:
        db.close()
    return finish_receipt(settings, shop, result)
