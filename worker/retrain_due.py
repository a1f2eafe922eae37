"""Whether a shop's models are due for a retrain: decided by the worker, not by a person.

Checked for every shop every RETRAIN_CHECK_EVERY (worker/schedules.py). Due when:
- the shop has data and no models yet;
- the models are older than SHOPREC_RETRAIN_MAX_AGE_HOURS (at least nightly by default);
- the store holds SHOPREC_RETRAIN_GROWTH_PERCENT more orders than the models saw (2%), so a
  busy shop retrains several times a day and a quiet one once a night;
- the product set changed (products created or deleted since training).
A due shop gets one retrain job (worker.queues.enqueue_retrain: one job id per shop, so a
retrain already waiting or running absorbs the request; two never run at once).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from config import Settings
from engine.artifacts import MANIFEST
from storage.catalog import count_products
from storage.db import models_dir, open_shop_db, shop_exists
from storage.errors import UnknownShop
from storage.orders import order_counts


@dataclass(frozen=True)
class RetrainDecision:
    """Whether to retrain now, and why (shown in the job's result and the logs)."""

    due: bool
    reason: str


def read_manifest(models: Path) -> dict[str, Any] | None:
    """The models' manifest, or None when the shop was never trained (or it is unreadable)."""
    try:
        manifest = json.loads((models / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def retrain_decision(
    settings: Settings,
    db: sqlite_utils.Database,
    manifest: Mapping[str, Any] | None,
    now: datetime,
) -> RetrainDecision:
    """Compare the store with what the models were trained on."""
    orders = order_counts(db)["orders"]
    products = count_products(db)
    if manifest is None:
        if orders or products:
            return RetrainDecision(True, "never trained")
        return RetrainDecision(False, "no data yet")
    try:
        trained_at = datetime.fromisoformat(str(manifest["trained_at"]))
    except (KeyError, ValueError):
        return RetrainDecision(True, "the models do not say when they were trained")
    if trained_at.tzinfo is None:
        trained_at = trained_at.replace(tzinfo=UTC)
    age = now - trained_at
    if age >= timedelta(hours=settings.retrain_max_age_hours):
        hours = age.total_seconds() / 3600
        return RetrainDecision(
            True, f"models are {hours:.1f} h old (at most {settings.retrain_max_age_hours} h)"
        )
    trained_orders = manifest.get("orders_at_training")
    if isinstance(trained_orders, int):
        growth = (orders - trained_orders) / max(trained_orders, 1) * 100
        if orders > trained_orders and growth >= settings.retrain_growth_percent:
            return RetrainDecision(
                True,
                f"{orders - trained_orders} orders since training (+{growth:.1f}%, retrain at "
                f"+{settings.retrain_growth_percent:g}%)",
            )
    trained_products = manifest.get("products_at_training")
    if isinstance(trained_products, int) and trained_products != products:
        return RetrainDecision(
            True, f"the product set changed ({trained_products} -> {products} products)"
        )
    return RetrainDecision(False, "models are current")


def shop_retrain_decision(settings: Settings, shop: str, now: datetime) -> RetrainDecision:
    """retrain_decision for a shop named under settings.data_dir, read from its store and
    model folder (the periodic job and `shoprec train --if-due` decide alike).

    Raises UnknownShop for a shop without a store, rather than creating an empty one.
    """
    if not shop_exists(settings.data_dir, shop):
        raise UnknownShop(f"no shop named {shop!r} under {settings.data_dir}")
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        manifest = read_manifest(models_dir(settings, shop))
        return retrain_decision(settings, db, manifest, now)
    finally:
        db.close()
