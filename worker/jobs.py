"""RQ job entry points. Their dotted paths are stored in Redis: never rename one.

Each job takes only JSON-able ids and primitives, reads the process settings itself (a job
is a process entry point, like the CLI), loads what it needs from storage, and returns a
JSON-able summary that RQ keeps as the job's result. Unexpected errors are left to reach
RQ, so the job lands in FailedJobRegistry with its traceback instead of vanishing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from config import load_settings
from storage import catalog
from storage.db import open_shop_db, shop_exists
from storage.errors import UnknownShop
from worker.queues import enqueue_retrain

# Enqueue helpers live in worker.queues (callers should not import this module); the name is
# re-exported because it was first announced here.
__all__ = ["count_products", "enqueue_retrain", "retrain_shop", "to_jsonable"]

logger = logging.getLogger(__name__)


def retrain_shop(shop: str) -> dict[str, Any]:
    """Fit every model of `shop` from its store and save them; return the training report."""
    settings = load_settings()
    if not shop_exists(settings.data_dir, shop):
        # Checked here so a mistyped shop fails loudly instead of training an empty new store.
        raise UnknownShop(f"no shop named {shop!r} under {settings.data_dir}")
    # Imported here: training pulls in the whole engine (numpy, scikit-learn, mlxtend), which
    # enqueuing code and other jobs should not pay for.
    from worker.training import train_shop

    logger.info("retraining shop %s", shop, extra={"shop": shop})
    report = train_shop(settings, shop)
    result = to_jsonable(report)
    return result if isinstance(result, dict) else {"shop": shop, "report": result}


def count_products(shop: str) -> dict[str, Any]:
    """The shop's product count: a cheap job that proves a worker can reach the store."""
    settings = load_settings()
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        return {"shop": shop, "products": catalog.count_products(db)}
    finally:
        db.close()


def to_jsonable(value: Any) -> Any:
    """Dataclasses, mappings, sequences, paths and dates as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((to_jsonable(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return to_jsonable(value.tolist())
    return str(value)


def process_receipt_job(shop: str, receipt_id: int) -> dict[str, Any]:
    """Apply one stored webhook receipt of `shop` (enqueued by plugin/webhooks.py)."""
    from worker.receipts import process_receipt

    return process_receipt(load_settings(), shop, int(receipt_id))
