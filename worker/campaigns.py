"""Firing a campaign timer: re-check, build the block from current stock, plan the push.

`fire_timer` runs when RQ's scheduler releases a timer's job. It claims the timer (one UPDATE
scheduled -> fired, so two runs cannot both go on), re-checks the condition the timer was set
for (a purchase since the views, a newer order, an unsubscribe or a redaction each skip it
with the reason), builds the block from the catalog as it is *now* (email_blocks.assembly
over the serving package's service, as a pulled block is), renders it, stores one delivery
under an idempotency key and pushes it (worker/push.py), scheduling a retry job only when
the platform is throttling or down. The provider and its options come from the shop's
"campaigns" setting; the keys from Settings.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils
from rq import Queue, Retry

from config import Settings
from connectors.email.klaviyo import event_step
from connectors.email.mailchimp import marketing_steps, merge_fields, send_template_step
from connectors.email.push import PushItem, PushStep
from email_blocks.assembly import BlockContext, assemble_block, block_url
from email_blocks.blocks import EmailBlock, block_kind
from email_blocks.campaign_settings import CampaignSettings, CampaignSettingsError, PushSettings
from email_blocks.render import build_environment, render_block_html, render_block_text
from email_blocks.signing import SigningUnavailable, shop_key
from serving.email_lists import service_recommender
from serving.service import build_service
from serving.shop_money import shop_money
from storage.campaign_timers import firing, get_timer, skip_fired_timer_in
from storage.catalog import get_products, unavailable_product_ids
from storage.clock import to_iso
from storage.customers import get_customer
from storage.deliveries import create_delivery_in
from storage.events import last_viewed_product
from storage.orders import (
    get_order_header,
    largest_line_product,
    newer_paid_order,
    paid_order_since,
)
from worker.push import (
    PUSH_JOB,
    PUSH_RETRY_INTERVALS_S,
    DeliveryRetryLater,
    push_delivery,
    push_job_id,
    push_rate_limit,
)
from worker.timers import shop_campaign_settings

logger = logging.getLogger(__name__)

PUSH_RESULT_TTL_S = 86_400


class CampaignConfigError(RuntimeError):
    """The process cannot build blocks at all (no SHOPREC_SECRET_KEY): the job fails loudly
    and the timer stays scheduled, so it can run again once this is fixed."""


def recheck(
    db: sqlite_utils.Database,
    timer: Mapping[str, Any],
    customer: Mapping[str, Any] | None,
    settings: CampaignSettings,
) -> str | None:
    """Why the timer must not send now (None: send). Checked when it fires, not when set."""
    campaign, customer_id = timer["campaign"], timer["customer_id"]
    if customer is None:
        return "shopper unknown or redacted"
    if not customer.get("email"):
        return "shopper has no email address"
    if not customer.get("accepts_marketing"):
        return "shopper does not accept marketing (unsubscribed)"
    if settings.active(campaign) is None:
        return f"campaign {campaign} is disabled or no provider is configured"
    if campaign == "browse":
        bought = paid_order_since(db, customer_id, timer["since"])
        return "purchased since the views" if bought else None
    order_id = str(timer["anchor_id"])
    order = get_order_header(db, order_id)
    if order is None or order["status"] != "paid":
        return f"order {order_id} is no longer paid"
    if newer_paid_order(db, customer_id, order_id):
        return "a newer order has its own timer"
    return None


def _anchor(db: sqlite_utils.Database, timer: Mapping[str, Any]) -> dict[str, Any] | None:
    """The product a block is about: the order's first line, or the last viewed product."""
    if timer["campaign"] == "post_purchase":
        product_id = largest_line_product(db, timer["anchor_id"])
    elif timer["campaign"] == "browse":
        product_id = last_viewed_product(db, timer["customer_id"]) or timer["anchor_id"]
    else:
        return None
    return get_products(db, [product_id]).get(product_id) if product_id else None


def idempotency_key(shop: str, timer: Mapping[str, Any], provider: str) -> str:
    """One key per (shop, campaign, shopper, window, provider): the platforms' dedupe key too."""
    text = f"{shop}|{timer['campaign']}|{timer['customer_id']}|{timer['window_key']}|{provider}"
    return "shoprec-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def plan_push(
    push: PushSettings,
    *,
    block: EmailBlock,
    customer: Mapping[str, Any],
    html: str,
    text: str,
    pull_url: str,
    key: str,
    now: datetime,
) -> list[PushStep]:
    """The provider's steps for one block (connectors build the exact request shapes)."""
    items = [
        PushItem(i.product_id, i.title, i.url, i.image_url, i.price, i.reason) for i in block.items
    ]
    email, first_name = str(customer["email"]), customer.get("first_name") or ""
    options = push.options
    if push.provider == "klaviyo":
        step = event_step(
            metric=str(options["metric"]),
            email=email,
            external_id=str(customer["customer_id"]),
            first_name=first_name,
            campaign=block.kind,
            heading=block.heading,
            items=items,
            html=html,
            text=text,
            block_url=pull_url,
            unique_id=key,
            time=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        return [step]
    if push.provider == "mailchimp":
        return marketing_steps(
            list_id=str(options["list_id"]),
            email=email,
            fields=merge_fields(items, pull_url, block.heading),
            journey_id=str(options["journey_id"]) if "journey_id" in options else None,
            step_id=str(options["step_id"]) if "step_id" in options else None,
            event_name=options.get("event_name"),
            campaign=block.kind,
            delivery_key=key,
        )
    subject = str(options.get("subject") or block.heading)
    step = send_template_step(
        template_name=str(options["template_name"]),
        from_email=str(options["from_email"]),
        subject=subject,
        email=email,
        first_name=first_name,
        campaign=block.kind,
        heading=block.heading,
        items=items,
        html=html,
        block_url=pull_url,
        delivery_key=key,
    )
    return [step]


def fire_timer(
    settings: Settings,
    db: sqlite_utils.Database,
    shop: str,
    timer_id: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Fire one timer: claim, re-check, build and record the delivery (not sent yet).

    Claim, skip or delivery commit together (campaign_timers.firing): an exception while
    building leaves the timer scheduled and reaches RQ, which keeps the traceback.
    """
    now = now or datetime.now(UTC)
    summary: dict[str, Any] = {"shop": shop, "timer_id": timer_id}
    try:
        shop_key(settings.secret_key, shop)
    except SigningUnavailable as exc:
        raise CampaignConfigError(str(exc)) from exc
    with firing(db, timer_id) as timer:
        if timer is None:
            current = get_timer(db, timer_id)
            return {
                **summary,
                "status": current["status"] if current else "missing",
                "skipped": True,
            }
        customer = get_customer(db, timer["customer_id"])
        try:
            campaign_settings = shop_campaign_settings(db)
        except CampaignSettingsError as exc:
            skip_fired_timer_in(db, timer_id, f"campaigns setting is invalid: {exc}")
            return {**summary, "status": "skipped", "reason": str(exc)}
        reason = recheck(db, timer, customer, campaign_settings)
        if reason is not None or customer is None:
            skip_fired_timer_in(db, timer_id, reason or "shopper unknown")
            return {**summary, "status": "skipped", "reason": reason}
        result = build_delivery(settings, db, shop, timer, customer, campaign_settings.push, now)
    return {**summary, "status": "fired", "provider": campaign_settings.push.provider, **result}


def build_delivery(
    settings: Settings,
    db: sqlite_utils.Database,
    shop: str,
    timer: Mapping[str, Any],
    customer: Mapping[str, Any],
    push: PushSettings,
    now: datetime,
) -> dict[str, Any]:
    """Build and render the block now, plan the push, store it as one delivery row (inside
    the caller's `firing` transaction)."""
    kind = block_kind(timer["campaign"])
    unavailable = frozenset(unavailable_product_ids(db, to_iso(now)[:10]))
    ctx = BlockContext(shop, kind, customer, _anchor(db, timer), unavailable, shop_money(db))
    # The storefront's own service, at the timer's moment: a pushed block is the block the
    # same shopper's signed pull URL would give (owner's weights, rules, exclusions).
    with closing(build_service(settings, now=now, shared_cache=False)) as service:
        recommend = service_recommender(service, shop)
        block, _ = assemble_block(ctx, recommend, settings.public_url, settings.secret_key)
    env = build_environment()  # one job, one block: nothing kept per process
    html = render_block_html(block, env)
    text = render_block_text(block, env)
    pull_url = block_url(
        settings.public_url, settings.secret_key, shop, kind.name, customer["customer_id"]
    )
    key = idempotency_key(shop, timer, push.provider)
    steps = plan_push(
        push,
        block=block,
        customer=customer,
        html=html,
        text=text,
        pull_url=pull_url,
        key=key,
        now=now,
    )
    block_summary = {
        "heading": block.heading,
        "items": [i.product_id for i in block.items],
        "html_bytes": len(html.encode("utf-8")),
        "html_sha256": hashlib.sha256(html.encode("utf-8")).hexdigest(),
    }
    delivery, created = create_delivery_in(
        db,
        idempotency_key=key,
        provider=push.provider,
        campaign=kind.name,
        customer_id=customer["customer_id"],
        timer_id=int(timer["timer_id"]),
        summary=block_summary,
        payload={"provider": push.provider, "steps": [s.to_json() for s in steps]},
    )
    return {
        "delivery_id": int(delivery["delivery_id"]),
        "created": created,
        "items": len(block.items),
    }


def fire_and_push(
    settings: Settings,
    db: sqlite_utils.Database,
    queue: Queue,
    shop: str,
    timer_id: int,
) -> dict[str, Any]:
    """The timer job: fire, then push at once (one RQ job per block, not two).

    When 429/5xx/timeouts outlast the in-process retries, a push job is scheduled for later
    (worker.jobs.push_delivery_job, with RQ's Retry); its last try parks the delivery.
    """
    result = fire_timer(settings, db, shop, timer_id)
    if result["status"] != "fired" or not result["created"]:
        return result
    try:
        pushed = push_delivery(settings, db, result["delivery_id"], last_try=False)
    except DeliveryRetryLater as exc:
        enqueue_push_retry(queue, shop, result["delivery_id"], result["provider"])
        return {**result, "push": "retry scheduled", "error": str(exc)}
    except Exception:
        # Unexpected: RQ keeps this job's traceback, and the stored delivery (the timer has
        # fired) still gets its later push instead of waiting forever as 'pending'.
        enqueue_push_retry(queue, shop, result["delivery_id"], result["provider"])
        raise
    return {**result, "push": pushed["status"]}


def enqueue_push_retry(queue: Queue, shop: str, delivery_id: int, provider: str) -> None:
    """Schedule the push of one delivery again later, with RQ retries after that one."""
    first, *later = PUSH_RETRY_INTERVALS_S
    queue.enqueue_in(
        timedelta(seconds=first),
        PUSH_JOB,
        shop,
        int(delivery_id),
        job_id=push_job_id(shop, delivery_id),
        result_ttl=PUSH_RESULT_TTL_S,
        retry=Retry(max=len(later), interval=later),
        description=f"push delivery {delivery_id} of {shop}",
        rate_limit=push_rate_limit(provider),
    )
