"""Blueprint 'admin_health': /admin/<shop>/health, is the data flowing and are models fresh?

Platform connection and sync cursors, the webhook inbox (rejected deliveries with their exact
error, and pending ones stuck behind a stopped worker), email pushes parked after a permanent
failure, import runs, and how old the trained models are against the data that arrived since.
Tables of features that may not be installed yet are read defensively (an absent table reads
as empty), so this page is the last one to break.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils
from flask import Blueprint, current_app, render_template

from engine.artifacts import MANIFEST
from plugin.admin.auth import admin_settings, open_admin_db, register_admin_guards
from plugin.storefront.api import SERVICE_KEY
from storage.db import models_dir
from storage.events import events_since
from storage.import_runs import latest_import_runs
from storage.orders import orders_received_since
from storage.receipts import list_receipts, receipt_status_counts
from storage.shop_settings import all_shop_settings
from storage.sync_state import list_sync_states

bp = Blueprint("admin_health", __name__, url_prefix="/admin/<shop>")
register_admin_guards(bp)

ROWS = 50
STUCK_AFTER = timedelta(minutes=10)
# Models count as stale once older than the worker's retrain target plus this grace (a
# retrain check runs every SHOPREC_RETRAIN_CHECK_MINUTES, and a large shop trains for minutes).
STALE_GRACE = timedelta(hours=1)


def retrain_target(max_age_hours: float, growth_percent: float) -> str:
    """What the worker's schedule promises, in the owner's words."""
    every = "daily" if max_age_hours == 24 else f"every {max_age_hours:g} hours"
    return (
        f"retrained at least {every}, and sooner once orders grow {growth_percent:g}% "
        "or products are added or removed (with a worker running)"
    )


_ISO = "%Y-%m-%dT%H:%M:%S"


def _has_table(db: sqlite_utils.Database, name: str) -> bool:
    return bool(db[name].exists())


def inbox(db: sqlite_utils.Database, now: datetime) -> dict[str, Any]:
    """Receipt counts by status, rejected ones with errors, and pending ones older than
    STUCK_AFTER (received but never processed: is the worker running?)."""
    counts = receipt_status_counts(db)
    stuck_before = (now - STUCK_AFTER).strftime(_ISO)
    stuck = [r for r in list_receipts(db, "pending", ROWS) if r["received_at"] < stuck_before]
    return {"counts": counts, "rejected": list_receipts(db, "rejected", ROWS), "stuck": stuck}


def deliveries(db: sqlite_utils.Database) -> dict[str, Any]:
    """Email pushes: counts by status and the parked and failed ones with their errors."""
    if not _has_table(db, "deliveries"):
        return {"counts": {}, "problems": []}
    from storage.deliveries import delivery_counts, list_deliveries

    problems = list_deliveries(db, "parked", ROWS) + list_deliveries(db, "failed", ROWS)
    return {"counts": delivery_counts(db), "problems": problems}


def connections(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Platform connections without credentials (empty before any platform is connected)."""
    if not _has_table(db, "connections"):
        return []
    from storage.connections import PLATFORMS, connection_summary, get_connection

    found = [get_connection(db, p) for p in PLATFORMS]
    return [connection_summary(c) for c in found if c is not None]


def import_runs(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The latest import runs with their first rejection reasons."""
    runs = latest_import_runs(db, ROWS)
    for run in runs:
        try:
            summary = json.loads(run.get("summary") or "{}")
        except json.JSONDecodeError:
            summary = {}
        reasons = summary.get("first_rejections") or []
        run["reasons"] = [str(r) for r in reasons][:5] if isinstance(reasons, list) else []
        run["error"] = summary.get("error") or ""
    return runs


def model_freshness(db: sqlite_utils.Database, shop: str, now: datetime) -> dict[str, Any]:
    """When the models were trained, what arrived since, and each model's trust; stale once
    older than the worker's retrain target (SHOPREC_RETRAIN_MAX_AGE_HOURS) plus a grace."""
    settings = admin_settings()
    max_age = timedelta(hours=settings.retrain_max_age_hours)
    manifest = models_dir(settings, shop) / MANIFEST
    if not manifest.is_file():
        return {"trained_at": None, "models": [], "stale": True}
    trained = datetime.fromtimestamp(manifest.stat().st_mtime, UTC)
    trained_at = trained.strftime(_ISO)
    # orders.updated_at is when the store received the order, so an import of old orders counts.
    orders_since = orders_received_since(db, trained_at)
    new_events = events_since(db, trained_at)
    models = current_app.extensions[SERVICE_KEY].model_cache.get(shop)
    summaries = [asdict(m) for m in models.describe()] if models is not None else []
    return {
        "trained_at": trained_at,
        "age_hours": round((now - trained).total_seconds() / 3600, 1),
        "stale": now - trained > max_age + STALE_GRACE,
        "orders_since": orders_since,
        "events_since": new_events,
        "models": summaries,
    }


def _source_words(slot: dict[str, Any]) -> list[str]:
    """Each source's score alone against a random list, in plain words, with why it got no
    weight when it did not (the validation table `shoprec train` prints)."""
    noise = slot.get("noise")
    dropped = slot.get("dropped") or {}
    words = []
    for row in slot.get("rows") or []:
        name = str(row.get("name", ""))
        if not name.endswith(" alone (its own ranking)"):
            continue
        source = name.split(" ", 1)[0]
        score = next((v for k, v in row.items() if k not in ("name", "weights")), None)
        if not isinstance(score, (int, float)) or not isinstance(noise, (int, float)):
            continue  # a report from another version: show nothing rather than break the page
        line = f"{source.capitalize()}: {score:.3f} alone, random {noise:.3f}"
        if source in dropped:
            line += " — not used: no better than chance on this shop"
        words.append(line)
    return words


def read_manifest(shop: str) -> dict[str, Any]:
    """The shop's model manifest ({} before training or when unreadable)."""
    try:
        data = json.loads((models_dir(admin_settings(), shop) / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def learned_weights(shop: str) -> dict[str, Any]:
    """Per 'context/slot', the weights training chose on this shop's newest orders."""
    learned = read_manifest(shop).get("learned_weights")
    return learned if isinstance(learned, dict) else {}


def blend_weights(shop: str, owner: Any) -> list[dict[str, Any]]:
    """Per validated slot: the weights in effect, where they come from (owner setting >
    learned at training > built-in), and the validation table in plain words."""
    data = read_manifest(shop)
    owner = owner if isinstance(owner, dict) else {}
    learned = data.get("learned_weights") or {}
    validation = data.get("validation") or {}
    slots = []
    for key, slot in sorted(validation.items()):
        if not isinstance(slot, dict):
            continue  # e.g. holdout_from
        mine = owner.get(key) or owner.get(key.split("/")[0])
        if mine:
            weights, origin = mine, "owner setting"
        elif key in learned:
            weights, origin = learned[key], "learned at training"
        else:
            weights, origin = slot.get("weights") or {}, "built-in"
        slots.append(
            {
                "slot": key,
                "weights": weights,
                "origin": origin,
                "why": slot.get("why", ""),
                "sources": _source_words(slot) if slot.get("status") == "validated" else [],
            }
        )
    return slots


@bp.get("/health")
def health_page(shop: str) -> str:
    """Connection, sync, inbox, deliveries, imports and model freshness of the shop."""
    db = open_admin_db()
    now = datetime.now(UTC)
    return render_template(
        "admin/health.html",
        connections=connections(db),
        sync=list_sync_states(db),
        inbox=inbox(db, now),
        deliveries=deliveries(db),
        runs=import_runs(db),
        models=model_freshness(db, shop, now),
        blend=blend_weights(shop, all_shop_settings(db).get("weights")),
        retrain_target=retrain_target(
            admin_settings().retrain_max_age_hours, admin_settings().retrain_growth_percent
        ),
    )
