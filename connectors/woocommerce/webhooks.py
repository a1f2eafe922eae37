"""Keeping a store's shoprec webhooks right: one active webhook per topic, at today's URL.

WooCommerce disables a webhook after a few failed deliveries and never retries them
(PLATFORMS.md 2.4), so this runs at connect and with each sync. A webhook is shoprec's for
this shop when its delivery URL's path ends in `/webhooks/woocommerce/<shop>`, whatever the
host: after SHOPREC_PUBLIC_URL changes, the old webhooks still carry the old host and would
keep firing at a dead URL (or at another server). Those are re-pointed, and duplicates are
deleted. The name ("shoprec <topic>") alone is not enough to claim a webhook: another
shoprec shop connected to the same store names its webhooks the same way.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from connectors.woocommerce.api import WEBHOOK_TOPICS, WooCommerceClient

ACTIONS = ("created", "reactivated", "moved", "updated", "removed", "ok", "not_active")


def shop_webhook_path(shop: str) -> str:
    """The path every delivery URL of this shop's webhooks ends with."""
    return f"/webhooks/woocommerce/{shop}"


def _is_ours(hook: dict[str, Any], path: str) -> bool:
    url = str(hook.get("delivery_url") or "")
    return hook.get("topic") in WEBHOOK_TOPICS and urlsplit(url).path.rstrip("/").endswith(path)


def _keeper(hooks: list[dict[str, Any]], delivery_url: str) -> dict[str, Any] | None:
    """The webhook to keep for a topic: at today's URL and active first."""

    def rank(hook: dict[str, Any]) -> tuple[bool, bool, int]:
        return (
            hook.get("delivery_url") != delivery_url,
            hook.get("status") != "active",
            int(hook.get("id") or 0),
        )

    return min(hooks, key=rank) if hooks else None


def reconcile_webhooks(
    client: WooCommerceClient,
    delivery_url: str,
    secret: str,
    *,
    shop_path: str,
    new_secret: bool = False,
) -> dict[str, list[str]]:
    """Make every shoprec topic have exactly one active webhook to `delivery_url`.

    Missing ones are created; disabled or paused ones re-activated; ones pointing elsewhere
    (an old public URL) re-pointed; extra ones for a topic deleted. With `new_secret`
    (the shop's webhook secret was just made) every kept webhook is given it. Returns the
    topics per action; `not_active` lists topics whose webhook the store did not leave
    active after our call (WooCommerce disables one whose ping failed).
    """
    actions: dict[str, list[str]] = {name: [] for name in ACTIONS}
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for hook in client.list_webhooks():
        if _is_ours(hook, shop_path):
            by_topic.setdefault(str(hook["topic"]), []).append(hook)
    for topic in WEBHOOK_TOPICS:
        hooks = by_topic.get(topic, [])
        keep = _keeper(hooks, delivery_url)
        for extra in hooks:
            if extra is not keep:
                client.delete_webhook(int(extra["id"]))
                actions["removed"].append(topic)
        if keep is None:
            answer = client.create_webhook(topic, delivery_url, secret)
            actions["created"].append(topic)
        else:
            answer, action = _bring_up_to_date(client, keep, delivery_url, secret, new_secret)
            actions[action].append(topic)
        if answer.get("status", "active") != "active":
            actions["not_active"].append(topic)
    return actions


def _bring_up_to_date(
    client: WooCommerceClient,
    hook: dict[str, Any],
    delivery_url: str,
    secret: str,
    new_secret: bool,
) -> tuple[dict[str, Any], str]:
    """PUT what differs on a kept webhook; return the store's answer and the action name."""
    changes: dict[str, Any] = {}
    action = "ok"
    if hook.get("delivery_url") != delivery_url:
        changes["delivery_url"] = delivery_url
        action = "moved"
    elif hook.get("status") != "active":
        action = "reactivated"
    elif new_secret:
        action = "updated"
    if action == "ok":
        return hook, action
    changes.update(status="active", secret=secret)
    return client.update_webhook(int(hook["id"]), changes), action
