"""Shopify's mandatory privacy topics that act on files: data requests and shop redaction.

customers/data_request: the customer's data is written as one JSON file under the shop's
folder (privacy/), for the merchant to hand over; the receipt names the file. shop/redact
(48 h after uninstall): the shop's whole folder - its SQLite file, models and exports - is
deleted, which is why each shop has a file of its own (DESIGN.md).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import sqlite_utils

from config import Settings
from storage.db import shop_dir
from storage.redaction import export_customer_data

logger = logging.getLogger(__name__)

EXPORT_DIR = "privacy"


def db_folder(db: sqlite_utils.Database) -> Path:
    """The folder of the shop whose store `db` is."""
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]).parent


def write_data_export(
    db: sqlite_utils.Database,
    request_id: str,
    customer_id: str | None,
    email: str | None,
    order_ids: tuple[str, ...],
) -> Path:
    """Write the customer's data as JSON; return the file (name from the request id only)."""
    data = export_customer_data(db, customer_id, email, order_ids)
    folder = db_folder(db) / EXPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    safe_id = "".join(ch for ch in request_id if ch.isalnum() or ch in "-_")[:64] or "request"
    path = folder / f"data_request-{safe_id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


def delete_shop_data(settings: Settings, shop: str) -> dict[str, Any]:
    """Delete the shop's folder (store, models, exports); report what went."""
    folder = shop_dir(settings.data_dir, shop)
    existed = folder.is_dir()
    if existed:
        shutil.rmtree(folder)
    logger.info(
        "shop %s redacted: folder %s deleted=%s", shop, folder, existed, extra={"shop": shop}
    )
    return {"shop": shop, "deleted": existed}
