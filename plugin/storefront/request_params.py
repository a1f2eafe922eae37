"""Validation of storefront query parameters and event payloads.

Everything a browser sends is untrusted: each value is checked against a rule and every
problem is collected, so one 400 names them all ("limit must be an integer between 1 and 50,
got 'abc'; slot must be one of [...]"). Nothing here touches the store except through the
`shop_exists` callable it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from engine.base import CONTEXT_SLOTS, DEFAULT_SLOT
from plugin.errors import ApiError
from serving.params import RecommendationParams
from storage.checkouts import CHECKOUT
from storage.clock import to_iso, utc_now_iso
from storage.db import validate_shop_name
from storage.errors import InvalidShopName
from storage.events import EVENT_TYPES

MAX_ID_LENGTH = 128
MAX_ANCHOR_PRODUCTS = 50
MAX_EXCLUDE_IDS = 100
MAX_EVENT_BATCH = 100
# A completed checkout (storage.checkouts): not a product event, it ties an order id to the
# visitor who placed it, so it needs both and no product.
ACCEPTED_EVENT_TYPES: tuple[str, ...] = (*EVENT_TYPES, CHECKOUT)
MAX_POSITION = 1000
# Ids are opaque text from shops and browsers; control characters and oversized values are
# never legitimate and would end up in logs and SQL parameters. Lone surrogates (JSON allows
# "\ud800") are not text at all: they cannot be encoded to UTF-8 for hashing or SQLite.
_ID_RE = re.compile(rf"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{{1,{MAX_ID_LENGTH}}}")
_TOKEN_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _shown(value: object) -> str:
    """A bad value as it appears in a message: repr, cut short so junk never floods a body."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_id(name: str, value: Any, problems: list[str], required: bool = False) -> str | None:
    """An id as clean text, or None when absent; a bad one adds a message to `problems`."""
    if value is None or value == "":
        if required:
            problems.append(f"{name} is required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        problems.append(
            f"{name} must be 1-{MAX_ID_LENGTH} characters without control characters, "
            f"got {_shown(value)}"
        )
        return None
    return value


def check_context_slot(context: Any, slot: Any, problems: list[str]) -> tuple[str, str]:
    """A known context and one of its slots (the context's default slot when none is given)."""
    if context not in CONTEXT_SLOTS:
        problems.append(f"context must be one of {sorted(CONTEXT_SLOTS)}, got {_shown(context)}")
        return "", ""
    if slot in (None, ""):
        return context, DEFAULT_SLOT[context]
    if slot not in CONTEXT_SLOTS[context]:
        problems.append(
            f"slot must be one of {list(CONTEXT_SLOTS[context])} for context {context!r}, "
            f"got {_shown(slot)}"
        )
        return context, ""
    return context, slot


def check_limit(raw: str | None, default: int, maximum: int, problems: list[str]) -> int:
    """The list length: an integer in 1..maximum, `default` when absent."""
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= maximum:
        problems.append(f"limit must be an integer between 1 and {maximum}, got {_shown(raw)}")
        return default
    return int(text)


def check_id_list(
    name: str, values: Sequence[Any], maximum: int, problems: list[str]
) -> tuple[str, ...]:
    """Ids from repeated and/or comma-separated values, deduplicated, at most `maximum`."""
    found: list[str] = []
    for raw in values:
        for part in str(raw).split(","):
            value = check_id(name, part.strip(), problems)
            if value is not None and value not in found:
                found.append(value)
    if len(found) > maximum:
        problems.append(f"at most {maximum} {name} values, got {len(found)}")
    return tuple(found)


def check_shop(raw: Any, shop_exists: Callable[[str], bool]) -> str:
    """A shop that has a store; anything else (absent, malformed, unknown) is a 404 or 400."""
    if raw is None or raw == "":
        raise ApiError("shop is required", 400, "invalid_parameter")
    try:
        shop = validate_shop_name(raw)
    except InvalidShopName as exc:
        raise ApiError(f"unknown shop {_shown(raw)}: {exc}", 404, "unknown_shop") from exc
    if not shop_exists(shop):
        raise ApiError(f"unknown shop {shop!r}", 404, "unknown_shop")
    return shop


def parse_recommendation_query(
    args: Mapping[str, Any],
    product_ids: Sequence[str],
    *,
    context: str | None,
    exclude: Sequence[str] | None = None,
    default_limit: int,
    max_limit: int,
    shop_exists: Callable[[str], bool],
) -> RecommendationParams:
    """Validate the recommendation query; raise ApiError (400 or 404) naming every problem.

    Args:
        args: the single-valued query parameters (shop, context, slot, customer_id, ...).
        product_ids: every `product_id` value (it may repeat for a cart).
        context: the context from the URL path (widget route), overriding args['context'].
        exclude: every `exclude` value (ids never to show in this list: already on the page);
            when None, args['exclude'] (or args.getlist('exclude') on a multi-dict) is read.
    """
    problems: list[str] = []
    ctx, slot = check_context_slot(context or args.get("context"), args.get("slot"), problems)
    limit = check_limit(args.get("limit"), default_limit, max_limit, problems)
    customer_id = check_id("customer_id", args.get("customer_id"), problems)
    session_id = check_id("session_id", args.get("session_id"), problems)
    visitor_id = check_id("visitor_id", args.get("visitor_id"), problems)
    anchors: list[str] = []
    for raw in product_ids:
        # "p1,p2" in one value is accepted too: cart placeholders write the list that way.
        for part in str(raw).split(","):
            value = check_id("product_id", part.strip(), problems)
            if value is not None and value not in anchors:
                anchors.append(value)
    if len(anchors) > MAX_ANCHOR_PRODUCTS:
        problems.append(f"at most {MAX_ANCHOR_PRODUCTS} product_id values, got {len(anchors)}")
    if exclude is None:
        getlist = getattr(args, "getlist", None)
        exclude = getlist("exclude") if getlist else [v for v in [args.get("exclude")] if v]
    exclude_ids = check_id_list("exclude", exclude, MAX_EXCLUDE_IDS, problems)
    if problems:
        raise ApiError(problems, 400, "invalid_parameter")
    shop = check_shop(args.get("shop"), shop_exists)
    return RecommendationParams(
        shop=shop,
        context=ctx,
        slot=slot,
        product_ids=tuple(anchors),
        customer_id=customer_id,
        session_id=session_id,
        limit=limit,
        exclude_ids=exclude_ids,
        visitor_id=visitor_id,
    )


def _check_ts(raw: Any, where: str, problems: list[str]) -> str:
    if raw is None or raw == "":
        return utc_now_iso()
    if isinstance(raw, str) and len(raw) <= 40:
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return to_iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    problems.append(f"{where}.ts must be an ISO-8601 date-time, got {_shown(raw)}")
    return ""


def _check_event(item: Any, where: str, problems: list[str]) -> dict[str, Any]:
    """One event as a row for storage.events.insert_events (problems appended, not raised)."""
    if not isinstance(item, dict):
        problems.append(f"{where} must be a JSON object, got {type(item).__name__}")
        return {}
    kind = item.get("type")
    if kind not in ACCEPTED_EVENT_TYPES:
        problems.append(
            f"{where}.type must be one of {list(ACCEPTED_EVENT_TYPES)}, got {_shown(kind)}"
        )
    row: dict[str, Any] = {"type": kind, "ts": _check_ts(item.get("ts"), where, problems)}
    if kind == CHECKOUT:
        return _check_checkout(item, row, where, problems)
    row["product_id"] = check_id(f"{where}.product_id", item.get("product_id"), problems, True)
    for name in ("customer_id", "session_id", "visitor_id", "request_id"):
        row[name] = check_id(f"{where}.{name}", item.get(name), problems)
    # Checked for shape only; plugin.storefront.shopper_identity decides what it proves and
    # drops it.
    token = item.get("customer_token")
    if token not in (None, "") and not isinstance(token, str):
        problems.append(f"{where}.customer_token must be a string, got {_shown(token)}")
    row["customer_token"] = token if isinstance(token, str) and token else None
    for name in ("context", "slot", "strategy"):
        value = item.get(name)
        if value in (None, ""):
            row[name] = None
        elif isinstance(value, str) and _TOKEN_RE.fullmatch(value):
            row[name] = value
        else:
            problems.append(
                f"{where}.{name} must be a short name of [A-Za-z0-9_.:-], got {_shown(value)}"
            )
    _check_experiment_tag(item, where, problems)
    position = item.get("position")
    if position is None or position == "":
        row["position"] = None
    elif (
        isinstance(position, int)
        and not isinstance(position, bool)
        and 0 <= position <= MAX_POSITION
    ):
        row["position"] = position
    else:
        problems.append(
            f"{where}.position must be an integer between 0 and {MAX_POSITION}, "
            f"got {_shown(position)}"
        )
    return row


def _check_checkout(
    item: dict[str, Any], row: dict[str, Any], where: str, problems: list[str]
) -> dict[str, Any]:
    """A checkout row: the order and the visitor are required, a customer id is never kept
    (a checkout report proves no identity; the order webhook names the customer)."""
    row["order_id"] = check_id(f"{where}.order_id", item.get("order_id"), problems, True)
    row["visitor_id"] = check_id(f"{where}.visitor_id", item.get("visitor_id"), problems, True)
    row["session_id"] = check_id(f"{where}.session_id", item.get("session_id"), problems)
    return row


def _check_experiment_tag(item: dict[str, Any], where: str, problems: list[str]) -> None:
    """The widget's experiment_id and variant: checked, not stored (attribution recomputes
    the variant from the visitor id, so a forged beacon cannot move an experiment's figures)."""
    experiment_id = item.get("experiment_id")
    if experiment_id not in (None, "") and not (
        isinstance(experiment_id, int) and not isinstance(experiment_id, bool) and experiment_id > 0
    ):
        problems.append(
            f"{where}.experiment_id must be a positive integer, got {_shown(experiment_id)}"
        )
    # Variant names are the owner's free text (1-40 characters), so the id rule applies.
    check_id(f"{where}.variant", item.get("variant"), problems)


def parse_event_payload(
    payload: Any, shop_exists: Callable[[str], bool]
) -> tuple[str, list[dict[str, Any]]]:
    """Validate one event or a list of them; return (shop, rows ready to insert).

    Every event names the same `shop`. Problems are reported with the item index
    ("events[3].type must be one of ..."). A batch over MAX_EVENT_BATCH is a 413.
    """
    single = isinstance(payload, dict)
    items = [payload] if single else payload
    if not isinstance(items, list):
        raise ApiError(
            f"body must be an event object or a list of events, got {type(payload).__name__}",
            400,
            "invalid_body",
        )
    if not items:
        raise ApiError("body must hold at least one event", 400, "invalid_body")
    if len(items) > MAX_EVENT_BATCH:
        raise ApiError(
            f"at most {MAX_EVENT_BATCH} events per request, got {len(items)}",
            413,
            "batch_too_large",
        )
    problems: list[str] = []
    rows = []
    shops: set[Any] = set()
    for index, item in enumerate(items):
        where = "event" if single else f"events[{index}]"
        rows.append(_check_event(item, where, problems))
        if isinstance(item, dict):
            shop = item.get("shop")
            if not isinstance(shop, str) or not shop:
                problems.append(f"{where}.shop is required")
            else:
                shops.add(shop)
    if len(shops) > 1:
        problems.append(f"every event of a batch must name the same shop, got {sorted(shops)}")
    if problems:
        raise ApiError(problems, 400, "invalid_event")
    return check_shop(shops.pop(), shop_exists), rows
