"""Data subject requests and Shopify's shop redaction, acted on and logged in one place.

`export_customer` and `erase_customer` are what Shopify's customers/data_request and
customers/redact webhooks (worker.receipts) and `shoprec privacy export|erase` (CSV and
WooCommerce shops) all call, so every request is carried out the same way and lands in the
same log (storage.privacy_requests) the owner reads on the admin's privacy page.

An export is one JSON file under the shop's folder (privacy/), named from the request's id,
for the owner to download and hand over. An erasure deletes the customer's earlier export
files first, then their data (storage.redaction); if it is interrupted, running it again
finishes the job. shop/redact (48 h after uninstall) deletes the shop's whole folder - its
SQLite file, models and exports - which is why each shop has a file of its own (DESIGN.md).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import sqlite_utils

from config import Settings
from storage.db import drop_shop_store, shop_dir, store_folder
from storage.privacy_requests import (
    exports_of_customers,
    mark_export_erased,
    record_privacy_request,
)
from storage.redaction import (
    RedactionCounts,
    export_customer_data,
    redact_customer,
    resolve_customer_ids,
)

logger = logging.getLogger(__name__)

EXPORT_DIR = "privacy"
EXPORT_NAME = re.compile(r"data_request-[A-Za-z0-9_-]{1,64}\.json")


@dataclasses.dataclass(frozen=True)
class ExportOutcome:
    """A written export: its log row, its file and what it holds."""

    request_id: int
    path: Path
    counts: dict[str, int]


def export_file_path(db: sqlite_utils.Database, name: str) -> Path | None:
    """The file of a logged export, or None when the name is not one this module writes
    (a log row is never trusted to point outside the shop's privacy folder)."""
    if not EXPORT_NAME.fullmatch(name):
        return None
    return store_folder(db) / EXPORT_DIR / name


def _write_export(db: sqlite_utils.Database, request_id: str, data: dict[str, Any]) -> Path:
    folder = store_folder(db) / EXPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    safe_id = "".join(ch for ch in request_id if ch.isalnum() or ch in "-_")[:64] or "request"
    path = folder / f"data_request-{safe_id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


def export_customer(
    db: sqlite_utils.Database,
    *,
    source: str,
    external_id: str,
    customer_id: str | None,
    email: str | None,
    order_ids: tuple[str, ...] = (),
) -> ExportOutcome:
    """Write the customer's data export and log it (a replay of the same request rewrites
    the file and updates its row)."""
    data = export_customer_data(db, customer_id, email, order_ids)
    path = _write_export(db, external_id, data)
    counts = {key: len(data[key]) for key in ("customers", "orders", "events")}
    known = [c["customer_id"] for c in data["customers"]]
    request_id = record_privacy_request(
        db,
        kind="export",
        source=source,
        external_id=external_id,
        customer_id=customer_id or (known[0] if known else ""),
        email=email,
        status="exported",
        counts=counts,
        export_file=path.name,
    )
    logger.info("data export %s written (%s)", path.name, source)
    return ExportOutcome(request_id, path, counts)


def erase_customer(
    db: sqlite_utils.Database,
    *,
    source: str,
    external_id: str,
    customer_id: str | None,
    email: str | None,
    order_ids: tuple[str, ...] = (),
) -> RedactionCounts:
    """Erase the customer (storage.redaction: their row, events, and the link from their
    orders, which stay as guest history) and the export files made for them; log it."""
    ids = resolve_customer_ids(db, customer_id, email)
    exports_deleted = 0
    for export in exports_of_customers(db, ids):
        path = export_file_path(db, export.export_file or "")
        if path is not None:
            path.unlink(missing_ok=True)
        mark_export_erased(db, export.request_id)
        exports_deleted += 1
    counts = redact_customer(db, customer_id, email, order_ids)
    record_privacy_request(
        db,
        kind="erasure",
        source=source,
        external_id=external_id,
        customer_id=customer_id or (ids[0] if ids else ""),
        email=email,
        status="erased",
        counts={**dataclasses.asdict(counts), "exports": exports_deleted},
    )
    logger.info("customer erased (%s): %s", source, counts)
    return counts


def delete_shop_data(settings: Settings, shop: str) -> dict[str, Any]:
    """Delete the shop's folder (store, models, exports); report what went."""
    folder = shop_dir(settings.data_dir, shop)
    existed = drop_shop_store(settings.data_dir, shop)  # PostgreSQL: the shop's schema
    if folder.is_dir():
        existed = True
        shutil.rmtree(folder)
    logger.info(
        "shop %s redacted: folder %s deleted=%s", shop, folder, existed, extra={"shop": shop}
    )
    return {"shop": shop, "deleted": existed}
