"""Blueprint 'admin_explore': /admin/<shop>/explore, what a shopper or product would get, and the
frequently-bought-together pairs behind it.

The preview asks the same RecommendationService the storefront asks (rules, stock, dismissals
and all), so it shows exactly what the widget would; each item's per-model scores come from a
second, unfiltered look at the models with the shop's weights, joined by product id. Nothing
here records an impression or a click.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import Blueprint, current_app, render_template, request

from engine.association import PAIR_STATS
from engine.base import CONTEXT_SLOTS, RecommendationRequest
from engine.blend import SOURCES
from engine.errors import EngineError
from plugin.admin.auth import open_admin_db, register_admin_guards
from plugin.storefront.api import EXPERIMENTS_KEY, SERVICE_KEY
from plugin.storefront.experiments import ExperimentServing
from plugin.storefront.request_params import RecommendationParams, check_id
from serving.service import RecommendationService
from storage.catalog import product_titles
from storage.orders import customer_orders
from storage.shop_settings import get_shop_setting

bp = Blueprint("admin_explore", __name__, url_prefix="/admin/<shop>")
register_admin_guards(bp)

PREVIEW_LIMIT = 8
HISTORY_ORDERS = 10  # the customer's latest orders shown beside their lists
SCORE_POOL = 200  # how deep the unfiltered look goes to find each shown item's scores
PAIRS_PER_PAGE = 50
PAIR_SORTS = ("score", *PAIR_STATS)
MAX_SEARCH_CHARS = 100
# Contexts whose lists hang on products (the viewed one, the cart, the last order).
ANCHORED = ("product", "cart", "post_purchase")


def _service() -> RecommendationService:
    service: RecommendationService = current_app.extensions[SERVICE_KEY]
    return service


def _scores_by_product(
    models: Any, weights: Any, context: str, slot: str, anchors: tuple[str, ...], customer: str
) -> dict[str, dict[str, float]]:
    """Product id -> each model's normalized score for this list, with the shop's weights."""
    if models is None:
        return {}
    try:
        if weights:
            models = models.with_weights(weights)
        recs = models.recommend(
            RecommendationRequest(
                context=context,
                slot=slot,
                product_ids=anchors,
                customer_id=customer or None,
                limit=SCORE_POOL,
            )
        )
    except EngineError:
        return {}
    return {r.product_id: {"blend": r.score, **dict(r.scores)} for r in recs}


def last_order_products(history: list[dict[str, Any]]) -> tuple[str, ...]:
    """The products of the customer's latest paid order (what a thank-you page, a cart
    rebuilt from it, or its product pages would be anchored on)."""
    for order in history:
        bought = [line["product_id"] for line in order["lines"] if line["quantity"] > 0]
        if order["status"] == "paid" and bought:
            return tuple(dict.fromkeys(bought))
    return ()


def preview(
    shop: str,
    product_id: str,
    customer_id: str,
    visitor_id: str,
    last_order: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Every context and slot as the storefront would answer it, with per-model scores.

    Without a product id, the product-anchored lists of a customer hang on their last order
    (`last_order`): the cart and thank-you page on all of it, the product page on its first
    product."""
    service = _service()
    experiments: ExperimentServing = current_app.extensions[EXPERIMENTS_KEY]
    models = service.model_cache.get(shop)
    weights = get_shop_setting(open_admin_db(), "weights")
    anchors = (product_id,) if product_id else ()
    lists = []
    for context, slots in CONTEXT_SLOTS.items():
        for slot in slots:
            entry: dict[str, Any] = {"context": context, "slot": slot, "items": []}
            own = anchors or (last_order[:1] if context == "product" else last_order)
            entry["needs_product"] = context in ANCHORED and not own
            entry["anchored_on_last_order"] = context in ANCHORED and not anchors and bool(own)
            entry["experiment"] = ""
            if entry["needs_product"]:
                lists.append(entry)
                continue
            params = RecommendationParams(
                shop=shop,
                context=context,
                slot=slot,
                product_ids=own if context in ANCHORED else (),
                customer_id=customer_id or None,
                visitor_id=visitor_id or None,
                limit=PREVIEW_LIMIT,
            )
            # Through the storefront's own experiment hook: a visitor in a running experiment
            # sees their variant's list (or none, in the holdout), as on the shop.
            assignment = experiments.assignment(params)
            answer = experiments.recommend(service, params)
            mix = dict(weights or {})
            if assignment is not None and assignment.profile:
                mix.update(assignment.profile.get("weights") or {})
            if assignment is not None:
                entry["experiment"] = (
                    f"in experiment {assignment.experiment_id}: "
                    + ("holdout, shown no recommendations" if assignment.holdout
                       else f"variant {assignment.variant}")
                )  # fmt: skip
            scores = _scores_by_product(models, mix, context, slot, params.product_ids, customer_id)
            for item in answer["items"]:
                item["scores"] = scores.get(item["product_id"], {})
            entry["items"] = answer["items"]
            lists.append(entry)
    return lists


def fbt_pairs(
    models: Any, titles: dict[str, str], search: str, sort: str, page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of (product -> bought with) pairs, sorted by `sort` descending, filtered by a
    case-insensitive title or id search on either side; returns (rows, total matching)."""
    if models is None:
        return [], 0
    rules = models.rules
    item_ids = models.item_ids
    ant, col = np.nonzero(rules.pair_indices >= 0)
    cons = rules.pair_indices[ant, col]
    if search:
        needle = search.lower()
        hit = np.fromiter(
            (needle in pid.lower() or needle in titles.get(pid, "").lower() for pid in item_ids),
            dtype=bool,
            count=item_ids.size,
        )
        keep = hit[ant] | hit[cons]
        ant, col, cons = ant[keep], col[keep], cons[keep]
    if sort == "score":
        key = rules.pair_score[ant, col]
    else:
        key = rules.pair_stats[ant, col, PAIR_STATS.index(sort)]
    order = np.argsort(-key, kind="stable")
    chosen = order[page * PAIRS_PER_PAGE : (page + 1) * PAIRS_PER_PAGE]
    rows = []
    for i in chosen:
        a, b, c = int(ant[i]), int(cons[i]), int(col[i])
        stats = rules.pair_stats[a, c]
        rows.append(
            {
                "product_id": str(item_ids[a]),
                "title": titles.get(str(item_ids[a]), ""),
                "with_id": str(item_ids[b]),
                "with_title": titles.get(str(item_ids[b]), ""),
                "score": float(rules.pair_score[a, c]),
                **{name: float(stats[k]) for k, name in enumerate(PAIR_STATS)},
            }
        )
    return rows, int(ant.size)


def _arg_id(name: str, problems: list[str]) -> str:
    return check_id(name, request.args.get(name, "").strip() or None, problems) or ""


@bp.get("/explore")
def explore_page(shop: str) -> tuple[str, int] | str:
    """The preview form and result, and the FBT pairs browser (?q=, ?sort=, ?page=)."""
    problems: list[str] = []
    product_id = _arg_id("product_id", problems)
    customer_id = _arg_id("customer_id", problems)
    visitor_id = _arg_id("visitor_id", problems)
    sort = request.args.get("sort", "score")
    if sort not in PAIR_SORTS:
        problems.append(f"sort must be one of {list(PAIR_SORTS)}, got {sort[:30]!r}")
        sort = "score"
    raw_page = request.args.get("page", "1")
    page = int(raw_page) - 1 if raw_page.isdigit() and int(raw_page) >= 1 else 0
    search = request.args.get("q", "").strip()[:MAX_SEARCH_CHARS]
    db = open_admin_db()
    wanted = bool(product_id or customer_id or visitor_id or request.args.get("preview"))
    history = customer_orders(db, customer_id, HISTORY_ORDERS) if customer_id else []
    last_order = last_order_products(history)
    lists = (
        preview(shop, product_id, customer_id, visitor_id, last_order)
        if wanted and not problems
        else []
    )
    titles = product_titles(db)
    models = _service().model_cache.get(shop)
    pairs, total = fbt_pairs(models, titles, search, sort, page)
    return render_template(
        "admin/explore.html",
        problems=problems,
        product_id=product_id,
        customer_id=customer_id,
        visitor_id=visitor_id,
        lists=lists,
        history=history,
        last_order=last_order,
        titles=titles,
        sources=("blend", *SOURCES),
        trained=models is not None,
        pairs=pairs,
        pairs_total=total,
        page=page + 1,
        pages=max(1, -(-total // PAIRS_PER_PAGE)),
        sort=sort,
        sorts=PAIR_SORTS,
        q=search,
    ), (400 if problems else 200)
