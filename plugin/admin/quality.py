"""Blueprint 'admin_quality': /admin/<shop>/quality, what shoppers were shown and what was not.

Coverage, diversity and newness are read from impression events over a chosen window; the
"kept out" list joins the catalog's own exclusions (draft, archived, out of stock, expired)
with the owner's rules (blocked products and categories, out-of-season items), each with its
reason, so an owner who wonders "why is X never recommended?" finds the answer here.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlite_utils
from flask import Blueprint, render_template, request

from engine.base import CONTEXT_SLOTS
from engine.rule_context import facts_from_row
from engine.rule_settings import RuleSettingsError, rule_settings_for
from engine.seasons import in_season
from plugin.admin.auth import open_admin_db, register_admin_guards
from storage.orders import orders_holding_since
from storage.quality import (
    category_counts,
    clicks_outside_session_categories,
    impressions_per_context,
    impressions_per_product,
    recommendable_products,
    store_excluded_products,
)
from storage.shop_settings import get_shop_setting

bp = Blueprint("admin_quality", __name__, url_prefix="/admin/<shop>")
register_admin_guards(bp)

DEFAULT_DAYS = 30
MAX_DAYS = 365
NEW_ITEM_DAYS = 30
TOP_N = 10
MAX_EXCLUDED_ROWS = 200


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _entropy(counts: list[int]) -> float | None:
    """Shannon entropy of the counts over log(len): 0 = one category, 1 = perfectly even."""
    total = sum(counts)
    if len(counts) < 2 or not total:
        return None
    entropy = -sum(c / total * math.log(c / total) for c in counts if c)
    return entropy / math.log(len(counts))


def _novelty(shown: list[dict[str, Any]], orders: int, holding: dict[str, int]) -> float | None:
    """How far the lists reach past the best sellers: the average shown item is bought in one
    of this many orders (the impression-weighted geometric mean of orders / orders holding it,
    2 to the mean self-information; a product bought in none counts as one order in orders+1).
    """
    total = sum(r["impressions"] for r in shown)
    if not total or not orders:
        return None
    bits = sum(
        r["impressions"] * math.log2((orders + 1) / max(holding.get(r["product_id"], 0), 1))
        for r in shown
    )
    return float(2 ** (bits / total))


def rule_exclusions(
    products: list[dict[str, Any]], rules_raw: Any, today: date
) -> list[dict[str, Any]]:
    """Recommendable products the owner's rules still keep out, with the reasons and contexts.

    Rules may differ per context (sections), so each reason says where it applies.
    """
    try:
        per_context = {c: rule_settings_for(rules_raw, c) for c in CONTEXT_SLOTS}
    except RuleSettingsError as exc:
        return [{"product_id": "", "title": "", "category": "", "reasons": [f"rules: {exc}"]}]
    found: list[dict[str, Any]] = []
    for row in products:
        facts = facts_from_row(row)
        reasons: dict[str, list[str]] = {}
        for context, s in per_context.items():
            pid, category = row["product_id"], facts.category
            if any(b.value == pid and b.window.active(today) for b in s.blocked_products):
                reasons.setdefault("blocked product", []).append(context)
            if any(b.value == category and b.window.active(today) for b in s.blocked_categories):
                reasons.setdefault("blocked category", []).append(context)
            if s.seasonal_exclusion and not in_season(
                facts.season_tags, today, s.hemisphere, s.season_lead_days
            ):
                reasons.setdefault("out of season", []).append(context)
        if reasons:
            texts = [
                reason if len(ctxs) == len(per_context) else f"{reason} ({', '.join(ctxs)})"
                for reason, ctxs in reasons.items()
            ]
            found.append({**row, "reasons": texts})
    return found


def quality_report(db: sqlite_utils.Database, now: datetime, days: int) -> dict[str, Any]:
    """Every figure of the page for the `days` before `now` (UTC)."""
    since = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")
    new_since = (now - timedelta(days=NEW_ITEM_DAYS)).strftime("%Y-%m-%dT%H:%M:%S")
    today = now.date()
    shown = impressions_per_product(db, since)
    recommendable = recommendable_products(db, today.isoformat())
    total = sum(r["impressions"] for r in shown)
    shown_ids = {r["product_id"] for r in shown}
    # Category figures count named categories only: an uncategorised product is not a
    # category of its own, and a catalog without categories has no spread to show.
    by_category = Counter[str]()
    for r in shown:
        if r["category"]:
            by_category[r["category"]] += r["impressions"]
    catalog_categories = {c: n for c, n in category_counts(db).items() if c}
    recommendable_ids = {p["product_id"] for p in recommendable}
    new_impressions = sum(
        r["impressions"] for r in shown if r["created_at"] and r["created_at"] >= new_since
    )
    never = [p for p in recommendable if p["product_id"] not in shown_ids]
    store_excluded = store_excluded_products(db, today.isoformat())
    ruled_out = rule_exclusions(recommendable, get_shop_setting(db, "rules"), today)
    reason_counts = Counter(
        reason for row in store_excluded + ruled_out for reason in row["reasons"]
    )
    clicks, surprising = clicks_outside_session_categories(db, since)
    return {
        "novelty_one_in": _novelty(shown, *orders_holding_since(db, since)),
        "serendipity": _share(surprising, clicks),
        "serendipity_clicks": clicks,
        "days": days,
        "since": since,
        "impressions": total,
        "products_shown": len(shown_ids),
        # Coverage is over what can be recommended today: products shown in the window that
        # are no longer recommendable (sold out, archived, expired) are counted apart.
        "recommendable_shown": len(shown_ids & recommendable_ids),
        "shown_not_recommendable": len(shown_ids - recommendable_ids),
        "recommendable": len(recommendable),
        "coverage": _share(len(shown_ids & recommendable_ids), len(recommendable)),
        "categories_shown": len(by_category),
        "categories_in_catalog": len(catalog_categories),
        "category_entropy": _entropy(list(by_category.values())),
        "top_category": by_category.most_common(1)[0] if by_category else None,
        "top_category_share": _share(by_category.most_common(1)[0][1], sum(by_category.values()))
        if by_category
        else None,
        "new_share": _share(new_impressions, total),
        "new_item_days": NEW_ITEM_DAYS,
        "most": shown[:TOP_N],
        # The tail after the most-shown ones, fewest first (no row in both tables).
        "least": list(reversed(shown[max(TOP_N, len(shown) - TOP_N) :])),
        "never_count": len(never),
        "never": never[:TOP_N],
        "per_context": impressions_per_context(db, since),
        "excluded": (store_excluded + ruled_out)[:MAX_EXCLUDED_ROWS],
        "excluded_total": len(store_excluded) + len(ruled_out),
        "reason_counts": sorted(reason_counts.items(), key=lambda kv: (-kv[1], kv[0])),
    }


@bp.get("/quality")
def quality_page(shop: str) -> str:
    """The quality figures for ?days=N (1-365, default 30)."""
    raw = request.args.get("days", "")
    days = int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_DAYS else DEFAULT_DAYS
    report = quality_report(open_admin_db(), datetime.now(UTC), days)
    return render_template("admin/quality.html", r=report, day_choices=(7, 30, 90, 365))
