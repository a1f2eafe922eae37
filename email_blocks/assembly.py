"""Assembling a shopper's block from recommendation lists: one code path for the pull
endpoint (plugin/storefront/email_pull.py, over the web app's RecommendationService) and
the campaign worker (worker/campaigns.py, over the trained models), so both show the same
kind of block.

Pure: the caller reads the shopper, the anchor product and what is unavailable *now* from the
store, and passes a `recommend` callable; this module picks, dedupes, tops up from trending
and builds tracked, signed links.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from email_blocks.blocks import (
    FALLBACK_LIST,
    MAX_ITEMS,
    MIN_ITEMS,
    BlockKind,
    EmailBlock,
    EmailItem,
    ListSpec,
)
from email_blocks.signing import signed_url
from engine.money import MoneyFormat

BLOCK_PATH = "/email/v1/block"
CLICK_PATH = "/email/v1/click"

# (list, anchor product id, customer id, ids to exclude, limit) -> (items, request_id).
# Items are dicts with product_id, title, price, compare_at_price, url, image_url, reason.
Recommend = Callable[
    [ListSpec, str | None, str | None, tuple[str, ...], int], tuple[list[dict[str, Any]], str]
]


@dataclass(frozen=True)
class BlockContext:
    """Who and what a block is for, read from the store by the caller at build time."""

    shop: str
    kind: BlockKind
    customer: Mapping[str, Any] | None
    anchor: Mapping[str, Any] | None  # the product bought or viewed last; None if none
    unavailable: frozenset[str]  # out of stock, inactive or expired right now
    money: MoneyFormat = field(default_factory=MoneyFormat)  # the shop's currency and locale


def absolute_url(url: str | None, base: str) -> str:
    """An http(s) URL for an email (site-relative ones joined to `base`); '' if unsafe.

    The same rule as connectors.product_urls (which this pure package may not import): no
    other scheme, no host-less URL, no control characters or backslashes.
    """
    url = (url or "").strip()
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url) or "\\" in url:
        return ""
    if url.startswith("//"):
        url = "https:" + url
    elif url.startswith("/"):
        url = urljoin(base.rstrip("/") + "/", url.lstrip("/"))
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def with_utm(url: str, campaign: str) -> str:
    """`url` with utm_source=shoprec, utm_medium=email and utm_campaign=<campaign> added."""
    query = urlencode({"utm_source": "shoprec", "utm_medium": "email", "utm_campaign": campaign})
    head, _, fragment = url.partition("#")
    joined = f"{head}{'&' if '?' in head else '?'}{query}"
    return f"{joined}#{fragment}" if fragment else joined


def block_url(
    public_url: str, secret_key: str, shop: str, campaign: str, customer_id: str, fmt: str = "html"
) -> str:
    """The signed pull URL of a shopper's block (GET /email/v1/block)."""
    params = {"shop": shop, "campaign": campaign, "customer_id": customer_id, "format": fmt}
    return signed_url(public_url, BLOCK_PATH, secret_key, params)


def _collect(
    ctx: BlockContext, lists: list[ListSpec], recommend: Recommend
) -> list[tuple[dict[str, Any], str, str]]:
    """Up to MAX_ITEMS (item, slot, request_id) from `lists` in order, deduplicated."""
    customer_id = ctx.customer["customer_id"] if ctx.customer else None
    anchor_id = ctx.anchor["product_id"] if ctx.anchor else None
    found: list[tuple[dict[str, Any], str, str]] = []
    seen: set[str] = {anchor_id} if anchor_id else set()
    for spec in lists:
        if len(found) >= MAX_ITEMS:
            break
        exclude = tuple(sorted(seen | ctx.unavailable))
        items, request_id = recommend(spec, anchor_id, customer_id, exclude, MAX_ITEMS)
        for item in items:
            if item["product_id"] in seen | ctx.unavailable or len(found) >= MAX_ITEMS:
                continue
            seen.add(item["product_id"])
            found.append((item, spec.slot, request_id))
    return found


def assemble_block(
    ctx: BlockContext, recommend: Recommend, public_url: str, secret_key: str
) -> tuple[EmailBlock, list[dict[str, Any]]]:
    """The block for this shopper, plus the raw items (with slot, request id and link).

    A known shopper with an anchor gets the campaign's lists; anyone else (unknown shopper,
    no purchase or view yet) gets trending items under the fallback heading. Lists short of
    MIN_ITEMS are topped up from trending. Links are signed click redirects carrying UTM.
    """
    kind, shop = ctx.kind, ctx.shop
    customer_id = ctx.customer["customer_id"] if ctx.customer else None
    if customer_id and (kind.anchor is None or ctx.anchor is not None):
        heading = kind.heading.format(product=ctx.anchor["title"] if ctx.anchor else "")
        lists = list(kind.lists)
    else:
        heading, lists = kind.fallback_heading, [FALLBACK_LIST]
    found = _collect(ctx, lists, recommend)
    if len(found) < MIN_ITEMS and FALLBACK_LIST not in lists:
        have = {item["product_id"] for item, _, _ in found}
        more = _collect(ctx, [FALLBACK_LIST], recommend)
        found += [f for f in more if f[0]["product_id"] not in have][: MAX_ITEMS - len(found)]
    items, raw = [], []
    for position, (item, slot, request_id) in enumerate(found, start=1):
        click = signed_url(
            public_url,
            CLICK_PATH,
            secret_key,
            {
                "shop": shop,
                "product_id": item["product_id"],
                "campaign": kind.name,
                "slot": slot,
                "request_id": request_id,
                "position": str(position),
                "customer_id": customer_id or "",
            },
        )
        items.append(
            EmailItem(
                product_id=item["product_id"],
                title=item["title"],
                url=click,
                image_url=absolute_url(item["image_url"], public_url),
                price=ctx.money.plain(item["price"]),
                reason=item["reason"] or "",
                compare_at_price=ctx.money.plain(item["compare_at_price"]),
            )
        )
        raw.append(dict(item, position=position, slot=slot, request_id=request_id, link=click))
    block = EmailBlock(
        kind=kind.name,
        heading=heading,
        items=items,
        shop_name=shop,
        first_name=(ctx.customer or {}).get("first_name") or "",
    )
    return block, raw
