"""Blueprint 'admin_overview': /admin/<shop>/overview, what the recommendations earn.

Per context and in total over ?from=&to= (dates, inclusive, UTC): impressions, clicks, CTR,
conversions (clicks credited with a purchase), conversion rate (per click), attributed revenue
(last click, net of returns: storage.attribution), revenue per thousand impressions, and the
revenue lift against an experiment's holdout group; daily SVG charts of CTR and revenue.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import sqlite_utils
from flask import Blueprint, current_app, flash, render_template, request

from config import Settings
from engine.base import CONTEXT_SLOTS
from engine.experiment_stats import Lift, relative_lift
from plugin.admin.auth import open_admin_db, register_admin_guards
from plugin.admin.charts import Point, daily_chart
from serving.shop_money import shop_money
from storage.attribution import AttributedLine, attributed_lines, attribution_window_hours
from storage.experiments import HOLDOUT, list_experiments
from storage.orders import order_totals
from storage.performance import latest_activity, overlapping, revenue_per_visitor, traffic_cells

bp = Blueprint("admin_overview", __name__, url_prefix="/admin/<shop>")
register_admin_guards(bp)

CONTEXTS: tuple[str, ...] = tuple(CONTEXT_SLOTS)
TOTAL = "total"
DEFAULT_DAYS = 30
MAX_DAYS = 366


def parse_range(
    raw_from: str | None, raw_to: str | None, latest: date
) -> tuple[date, date, list[str]]:
    """The inclusive date range asked for, or the DEFAULT_DAYS ending at `latest`; problems
    are returned (to be flashed), never raised: a bad link still shows a page."""
    problems: list[str] = []

    def parse(raw: str | None, name: str) -> date | None:
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            problems.append(f"{name} must be a date like 2026-03-31, got {raw[:40]!r}")
            return None

    end = parse(raw_to, "to") or latest
    start = parse(raw_from, "from") or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        problems.append(f"from ({start}) is after to ({end}); showing {DEFAULT_DAYS} days")
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if (end - start).days + 1 > MAX_DAYS:
        problems.append(f"a range is at most {MAX_DAYS} days; showing the last {MAX_DAYS}")
        start = end - timedelta(days=MAX_DAYS - 1)
    return start, end, problems


def _row(impressions: int, clicks: int, lines: list[AttributedLine]) -> dict[str, Any]:
    revenue = sum(line.revenue for line in lines)
    conversions = len({line.click_event_id for line in lines})
    return {
        "impressions": impressions,
        "clicks": clicks,
        "ctr": clicks / impressions if impressions else None,
        "conversions": conversions,
        "conversion_rate": conversions / clicks if clicks else None,
        "revenue": revenue,
        "rpm": 1000 * revenue / impressions if impressions else None,
        "lift": None,
    }


def holdout_lifts(db: sqlite_utils.Database, start: str, end: str) -> dict[str, dict[str, Any]]:
    """Per overview row ('total' for experiments on every context), the newest experiment with
    a holdout that ran in the range: revenue per visitor, treatment against holdout."""
    lifts: dict[str, dict[str, Any]] = {}
    for experiment in overlapping(list_experiments(db), start, end):
        row = TOTAL if experiment.context == "all" else experiment.context
        if experiment.holdout_share <= 0 or row in lifts:
            continue
        arms = revenue_per_visitor(db, experiment, start, end)
        treated = [v for name, v in arms.items() if name != HOLDOUT]
        lift: Lift = relative_lift(
            np.concatenate(treated) if treated else np.zeros(0), arms.get(HOLDOUT, np.zeros(0))
        )
        lifts[row] = {"experiment": experiment, "lift": lift}
    return lifts


def slot_rows(cells: list[dict[str, Any]], lines: list[AttributedLine]) -> list[dict[str, Any]]:
    """Per (context, slot, strategy), most shown first: the per-context figures, finer, for the
    owner who wants to know which list and which model earn the money."""
    shown: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for cell in cells:
        totals = shown[(cell["context"], cell["slot"], cell["strategy"])]
        totals[0] += cell["impressions"]
        totals[1] += cell["clicks"]
    credited: dict[tuple[str, str, str], list[AttributedLine]] = defaultdict(list)
    for line in lines:
        credited[(line.context or "(none)", line.slot or "", line.strategy or "")].append(line)
    keys = sorted(set(shown) | set(credited), key=lambda k: (-shown.get(k, [0])[0], k))
    rows = []
    for key in keys:
        impressions, clicks = shown.get(key, [0, 0])
        row = _row(impressions, clicks, credited.get(key, []))
        rows.append({"context": key[0], "slot": key[1], "strategy": key[2], **row})
    return rows


def store_figures(totals: dict[str, float], lines: list[AttributedLine]) -> dict[str, Any]:
    """The shop's own revenue in the range, the share credited to recommendations, and the
    average order value of orders with a credited line against orders without one."""
    revenue = sum(totals.values())
    credited = sum(line.revenue for line in lines)
    with_recs = {line.order_id for line in lines if line.order_id in totals}
    helped = [totals[o] for o in with_recs]
    others = [v for o, v in totals.items() if o not in with_recs]
    return {
        "revenue": revenue,
        "orders": len(totals),
        "share": credited / revenue if revenue > 0 else None,
        "aov_with": sum(helped) / len(helped) if helped else None,
        "aov_without": sum(others) / len(others) if others else None,
        "orders_with": len(helped),
    }


def overview_report(
    db: sqlite_utils.Database, first: date, last: date, window_hours: int
) -> dict[str, Any]:
    """Every figure of the page for the days first..last (inclusive)."""
    start, end = (
        f"{first.isoformat()}T00:00:00",
        f"{(last + timedelta(days=1)).isoformat()}T00:00:00",
    )
    traffic = traffic_cells(db, first, last)
    lines = attributed_lines(db, start, end, window_hours)
    shown: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_day: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for t in traffic:
        shown[t["context"]][0] += t["impressions"]
        shown[t["context"]][1] += t["clicks"]
        per_day[t["day"]][0] += t["impressions"]
        per_day[t["day"]][1] += t["clicks"]
    credited: dict[str, list[AttributedLine]] = defaultdict(list)
    for line in lines:
        credited[line.context or "(none)"].append(line)
        per_day[line.purchased_at[:10]][2] += line.revenue
    rows = {c: _row(shown[c][0], shown[c][1], credited[c]) for c in CONTEXTS}
    rows[TOTAL] = _row(sum(v[0] for v in shown.values()), sum(v[1] for v in shown.values()), lines)
    for row, found in holdout_lifts(db, start, end).items():
        if row in rows:
            rows[row]["lift"] = found
    by_slot = slot_rows(traffic, lines)
    store = store_figures(order_totals(db, start, end), lines)
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    ctr = [Point(d, per_day[d][1] / per_day[d][0] if per_day[d][0] else None) for d in days]
    revenue = [Point(d, per_day[d][2]) for d in days]
    return {
        "first": first,
        "last": last,
        "window_hours": window_hours,
        "rows": rows,
        "store": store,
        "by_slot": by_slot,
        "ctr_chart": daily_chart(
            ctr, "Click-through rate per day", lambda v: f"{100 * v:.1f}%", chart_id="ctr-chart"
        ),
        "revenue_chart": daily_chart(
            revenue, "Attributed revenue per day", shop_money(db), "bar", "revenue-chart"
        ),
    }


@bp.get("/overview")
def overview_page(shop: str) -> str:
    """The overview for ?from=YYYY-MM-DD&to=YYYY-MM-DD (default: the last 30 days with data)."""
    db = open_admin_db()
    settings: Settings = current_app.extensions["settings"]
    newest = latest_activity(db)
    latest = date.fromisoformat(newest[:10]) if newest else datetime.now(UTC).date()
    first, last, problems = parse_range(request.args.get("from"), request.args.get("to"), latest)
    for problem in problems:
        flash(problem, "error")
    window = attribution_window_hours(db, settings.attribution_window_hours)
    report = overview_report(db, first, last, window)
    return render_template("admin/overview.html", r=report, contexts=CONTEXTS, total=TOTAL)
