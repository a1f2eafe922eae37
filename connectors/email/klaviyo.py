"""Klaviyo: a "shoprec recommendations" event on the shopper's profile (Create Event API).

Per ../shared/PLATFORMS.md 3.1-3.3: POST https://a.klaviyo.com/api/events with
`Authorization: Klaviyo-API-Key <key>`, the required `revision` header and JSON:API content
type; 202 with an empty body on success. `unique_id` is Klaviyo's idempotency key (a repeat
for the same profile and metric is recorded once), so we send our delivery's key there too:
a push re-driven after its sender died mid-request can send the event again safely.
The items go in `properties.Items` (a flow triggered by the metric loops over them); the
rendered HTML and text are not segmentable, so they go under `$extra` (PLATFORMS.md 3.3).
Limits: 350/s burst, 3500/min steady on this endpoint; 429 carries Retry-After in seconds,
which send_with_retry honours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from connectors.email.push import (
    DEFAULT_PUSH_POLICY,
    SLEEP,
    ProviderClient,
    PushItem,
    PushStep,
    SentCheck,
)
from connectors.errors import ConnectorSetupError
from connectors.http_client import Attempt, RetryPolicy

BASE_URL = "https://a.klaviyo.com"
REVISION = "2026-07-15"
EVENTS_PATH = "/api/events"
JSON_API = "application/vnd.api+json"
MAX_STRING_BYTES = 100 * 1024  # Klaviyo's per-string limit on event properties


def event_step(
    *,
    metric: str,
    email: str,
    external_id: str,
    first_name: str,
    campaign: str,
    heading: str,
    items: list[PushItem],
    html: str,
    text: str,
    block_url: str,
    unique_id: str,
    time: str,
) -> PushStep:
    """The Create Event call for one block (PLATFORMS.md 3.3 shape)."""
    if len(html.encode("utf-8")) > MAX_STRING_BYTES:
        raise ConnectorSetupError(
            f"block HTML is over Klaviyo's {MAX_STRING_BYTES}-byte string limit"
        )
    profile: dict[str, Any] = {"email": email, "external_id": external_id}
    if first_name:
        profile["first_name"] = first_name
    properties: dict[str, Any] = {
        "Campaign": campaign,
        "Heading": heading,
        "ItemCount": len(items),
        "Items": [
            {
                "ProductID": item.product_id,
                "ProductName": item.title,
                "URL": item.url,
                "ImageURL": item.image_url,
                "Price": item.price,
                "Reason": item.reason,
            }
            for item in items
        ],
        "BlockURL": block_url,
        "$extra": {"html": html, "text": text},
    }
    body = {
        "data": {
            "type": "event",
            "attributes": {
                "properties": properties,
                "time": time,
                "unique_id": unique_id,
                "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
                "profile": {"data": {"type": "profile", "attributes": profile}},
            },
        }
    }
    return PushStep("POST", EVENTS_PATH, body)


class KlaviyoClient(ProviderClient):
    """Sends planned steps to Klaviyo with the private key and the pinned revision."""

    provider = "klaviyo"

    def __init__(
        self,
        api_key: str,
        *,
        session: requests.Session | None = None,
        base_url: str = BASE_URL,
        timeout_s: float = 10.0,
    ) -> None:
        if not api_key:
            raise ConnectorSetupError("KLAVIYO_API_KEY is not set")
        super().__init__(session, base_url, timeout_s)
        self._headers = {
            "Authorization": f"Klaviyo-API-Key {api_key}",
            "revision": REVISION,
            "Content-Type": JSON_API,
            "Accept": JSON_API,
        }

    def send(
        self,
        step: PushStep,
        *,
        policy: RetryPolicy = DEFAULT_PUSH_POLICY,
        sleep: Callable[[float], None] = SLEEP,
        on_attempt: Callable[[Attempt], None] | None = None,
    ) -> requests.Response:
        """Send one step; HTTPCallError on a 4xx (at once) or when retries run out."""
        return self._send(step, policy, sleep, on_attempt, json=step.body, headers=self._headers)

    def check_sent(
        self,
        step: PushStep,
        key: str,
        *,
        policy: RetryPolicy = DEFAULT_PUSH_POLICY,
        sleep: Callable[[float], None] = SLEEP,
    ) -> SentCheck:
        """An event carrying `unique_id` may be sent again: Klaviyo records the first event
        for that profile, metric and unique_id only (PLATFORMS.md 3.3)."""
        attributes = step.body.get("data", {}).get("attributes", {})
        if step.path == EVENTS_PATH and attributes.get("unique_id"):
            return SentCheck.RESEND_SAFE
        return SentCheck.UNKNOWN
