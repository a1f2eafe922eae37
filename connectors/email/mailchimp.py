"""Mailchimp: the Marketing API (merge fields + a journey trigger or member event) and
Mailchimp Transactional (Mandrill) send-template with Handlebars merge vars.

Marketing (PLATFORMS.md 4.1-4.3): https://<dc>.api.mailchimp.com/3.0, HTTP Basic with the API
key as password, dc = the part of the key after its last '-'. Merge tags are at most 10
characters and text values at most 255, so the block goes in as REC1_TTL/REC1_URL/... fields
plus RECS_URL (the signed pull URL), not as HTML. We PATCH the member (update only: a block
must never subscribe anyone) and then trigger the journey step or post a member event, so the
email renders with fresh values. Mailchimp allows 10 simultaneous connections per key and
sends no Retry-After; a worker sends one call at a time, and 429/5xx back off.
Transactional (4.5): POST https://mandrillapp.com/api/1.3/messages/send-template.json with the
key in the JSON body; a 200 carries one status per recipient, and 'rejected'/'invalid' is a
permanent refusal (PushRejected). Neither API has an idempotency key; ours is the
deliveries row, and each send carries it where it can be looked up again, for a push
re-driven after its sender died mid-request (`check_sent`): the member event's properties
(GET .../members/<hash>/events lists them) and the Mandrill message's metadata
(messages/search with `u_shoprec_delivery:<key>`; index the field once in Mandrill's
Settings > Custom Metadata). The member PATCH is idempotent; a journey trigger can be
neither repeated safely nor looked up, so such a delivery is parked for the owner.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import requests

from connectors.email.push import (
    DEFAULT_PUSH_POLICY,
    DELIVERY_KEY_FIELD,
    SLEEP,
    ProviderClient,
    PushItem,
    PushRejected,
    PushStep,
    SentCheck,
)
from connectors.errors import ConnectorError, ConnectorSetupError
from connectors.http_client import (
    Attempt,
    HTTPCallError,
    RetryPolicy,
)

TRANSACTIONAL_URL = "https://mandrillapp.com/api/1.3"
SEND_TEMPLATE_PATH = "/messages/send-template.json"
MAX_MERGE_ITEMS = 6
MAX_FIELDS_LISTED = 1000  # Mailchimp's page size cap; an audience has at most 80 fields
MAX_TEXT = 255  # Mailchimp's text merge field limit
DEFAULT_EVENT = "shoprec_recs"
RECENT_EVENTS = 100  # member events read back when checking whether one was already posted
SEARCH_PATH = "/messages/search.json"


class InvalidMailchimpKey(ConnectorError):
    """The Marketing API key does not end in '-<data center>'."""


def server_prefix(api_key: str) -> str:
    """The data center of a Marketing key ('...-us6' -> 'us6')."""
    parts = api_key.strip().split("-")
    if len(parts) != 2 or not parts[0] or not parts[1].isalnum():
        raise InvalidMailchimpKey("MAILCHIMP_API_KEY must look like '<key>-<dc>', e.g. '...-us6'")
    return parts[1]


def subscriber_hash(email: str) -> str:
    """MD5 of the lowercased email, the member id in list URLs."""
    return hashlib.md5(email.strip().lower().encode("utf-8")).hexdigest()  # noqa: S324


def merge_fields(items: list[PushItem], block_url: str, heading: str) -> dict[str, str]:
    """REC<n>_TTL/_URL/_IMG/_PRC for up to 6 items, RECS_HEAD and RECS_URL; values <= 255."""
    fields = {"RECS_HEAD": heading[:MAX_TEXT], "RECS_URL": block_url[:MAX_TEXT]}
    for n, item in enumerate(items[:MAX_MERGE_ITEMS], start=1):
        fields[f"REC{n}_TTL"] = item.title[:MAX_TEXT]
        fields[f"REC{n}_URL"] = item.url[:MAX_TEXT]
        fields[f"REC{n}_IMG"] = item.image_url[:MAX_TEXT]
        fields[f"REC{n}_PRC"] = item.price[:MAX_TEXT]
    return fields


def merge_field_specs() -> list[dict[str, Any]]:
    """The audience merge fields merge_fields() fills: (tag, name, type) as Mailchimp's
    POST /lists/{list_id}/merge-fields takes them; hidden from signup forms."""
    specs = [
        {"tag": "RECS_HEAD", "name": "Recommendations heading", "type": "text"},
        {"tag": "RECS_URL", "name": "Recommendations block URL", "type": "url"},
    ]
    for n in range(1, MAX_MERGE_ITEMS + 1):
        specs += [
            {"tag": f"REC{n}_TTL", "name": f"Recommendation {n} title", "type": "text"},
            {"tag": f"REC{n}_URL", "name": f"Recommendation {n} link", "type": "url"},
            {"tag": f"REC{n}_IMG", "name": f"Recommendation {n} image", "type": "imageurl"},
            {"tag": f"REC{n}_PRC", "name": f"Recommendation {n} price", "type": "text"},
        ]
    return [{**spec, "public": False, "required": False} for spec in specs]


def missing_merge_fields(existing_tags: set[str]) -> list[dict[str, Any]]:
    """The specs of merge fields the audience lacks (tags compare case-insensitively)."""
    have = {tag.upper() for tag in existing_tags}
    return [spec for spec in merge_field_specs() if spec["tag"] not in have]


def marketing_steps(
    *,
    list_id: str,
    email: str,
    fields: dict[str, str],
    journey_id: str | None = None,
    step_id: str | None = None,
    event_name: str | None = None,
    campaign: str = "",
    delivery_key: str = "",
) -> list[PushStep]:
    """PATCH the member's merge fields, then trigger the journey step (or post an event)."""
    email = email.strip()
    member = f"/lists/{list_id}/members/{subscriber_hash(email)}"
    steps = [PushStep("PATCH", member, {"merge_fields": fields})]
    if journey_id and step_id:
        path = f"/customer-journeys/journeys/{journey_id}/steps/{step_id}/actions/trigger"
        steps.append(PushStep("POST", path, {"email_address": email}))
    else:
        properties = {"campaign": campaign, "block_url": fields["RECS_URL"]}
        if delivery_key:
            properties[DELIVERY_KEY_FIELD] = delivery_key
        steps.append(
            PushStep(
                "POST",
                f"{member}/events",
                {"name": event_name or DEFAULT_EVENT, "properties": properties},
            )
        )
    return steps


def send_template_step(
    *,
    template_name: str,
    from_email: str,
    subject: str,
    email: str,
    first_name: str,
    campaign: str,
    heading: str,
    items: list[PushItem],
    html: str,
    block_url: str,
    delivery_key: str = "",
) -> PushStep:
    """messages/send-template with Handlebars merge vars (products array, block HTML); the
    delivery key goes in the message metadata, where messages/search finds it again."""
    products = [
        {
            "id": i.product_id,
            "title": i.title,
            "url": i.url,
            "image": i.image_url,
            "price": i.price,
            "reason": i.reason,
        }
        for i in items
    ]
    message = {
        "subject": subject,
        "from_email": from_email,
        "to": [{"email": email, "name": first_name, "type": "to"}],
        "merge_language": "handlebars",
        "merge_vars": [
            {
                "rcpt": email,
                "vars": [
                    {"name": "first_name", "content": first_name},
                    {"name": "heading", "content": heading},
                    {"name": "products", "content": products},
                    {"name": "recs_html", "content": html},
                    {"name": "recs_url", "content": block_url},
                ],
            }
        ],
        "tags": ["shoprec", campaign],
        "track_clicks": False,  # our links already go through shoprec's click redirect
    }
    if delivery_key:
        message["metadata"] = {DELIVERY_KEY_FIELD: delivery_key}
    body = {"template_name": template_name, "template_content": [], "message": message}
    return PushStep("POST", SEND_TEMPLATE_PATH, body)


class MailchimpMarketingClient(ProviderClient):
    """The Marketing API on the key's data center, with HTTP Basic auth."""

    provider = "mailchimp"

    def __init__(
        self,
        api_key: str,
        *,
        session: requests.Session | None = None,
        base_url: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if not api_key:
            raise ConnectorSetupError("MAILCHIMP_API_KEY is not set")
        url = base_url or f"https://{server_prefix(api_key)}.api.mailchimp.com/3.0"
        super().__init__(session, url, timeout_s)
        self._auth = ("shoprec", api_key)

    def send(
        self,
        step: PushStep,
        *,
        policy: RetryPolicy = DEFAULT_PUSH_POLICY,
        sleep: Callable[[float], None] = SLEEP,
        on_attempt: Callable[[Attempt], None] | None = None,
    ) -> requests.Response:
        """Send one step; HTTPCallError on a 4xx (at once) or when retries run out.

        Under heavy load Mailchimp answers a bare 403 "Request Blocked" HTML page instead of
        its problem+json errors (PLATFORMS.md 4.1): that one is throttling, so it comes back
        as retryable and the delivery is tried again later instead of being parked.
        """
        try:
            return self._send(step, policy, sleep, on_attempt, json=step.body, auth=self._auth)
        except HTTPCallError as exc:
            if exc.status == 403 and not exc.body.lstrip().startswith("{"):
                raise HTTPCallError(
                    f"{exc.message} (Mailchimp's 'Request Blocked' page: throttled)",
                    status=exc.status,
                    body=exc.body,
                    retryable=True,
                    attempts=exc.attempts,
                ) from exc
            raise

    def merge_field_tags(self, list_id: str) -> set[str]:
        """The tags of the audience's merge fields (GET /lists/{list_id}/merge-fields)."""
        step = PushStep("GET", f"/lists/{list_id}/merge-fields?count={MAX_FIELDS_LISTED}", {})
        response = self._send(step, DEFAULT_PUSH_POLICY, SLEEP, None, auth=self._auth)
        fields = (response.json() or {}).get("merge_fields") or []
        return {str(f.get("tag", "")) for f in fields if isinstance(f, dict)}

    def ensure_merge_fields(self, list_id: str) -> tuple[list[str], list[str]]:
        """Create the merge fields shoprec fills that the audience lacks; return (created,
        already there) tags. Running it again creates nothing."""
        existing = self.merge_field_tags(list_id)
        created = []
        for spec in missing_merge_fields(existing):
            self.send(PushStep("POST", f"/lists/{list_id}/merge-fields", spec))
            created.append(spec["tag"])
        kept = [s["tag"] for s in merge_field_specs() if s["tag"] not in created]
        return created, kept

    def check_sent(
        self,
        step: PushStep,
        key: str,
        *,
        policy: RetryPolicy = DEFAULT_PUSH_POLICY,
        sleep: Callable[[float], None] = SLEEP,
    ) -> SentCheck:
        """The member PATCH is idempotent; a member event is looked up among the member's
        recent events by its delivery key; a journey trigger cannot be checked."""
        if step.method in ("PATCH", "PUT"):
            return SentCheck.RESEND_SAFE
        properties = step.body.get("properties") or {}
        if not (step.path.endswith("/events") and properties.get(DELIVERY_KEY_FIELD) == key):
            return SentCheck.UNKNOWN
        lookup = PushStep("GET", f"{step.path}?count={RECENT_EVENTS}", {})
        response = self._send(lookup, policy, sleep, None, auth=self._auth)
        events = (response.json() or {}).get("events") or []
        found = any(
            isinstance(e, dict) and (e.get("properties") or {}).get(DELIVERY_KEY_FIELD) == key
            for e in events
        )
        return SentCheck.SENT if found else SentCheck.NOT_SENT


class MailchimpTransactionalClient(ProviderClient):
    """Mandrill: every call a POST whose JSON body carries the key."""

    provider = "mailchimp_transactional"

    def __init__(
        self,
        api_key: str,
        *,
        session: requests.Session | None = None,
        base_url: str = TRANSACTIONAL_URL,
        timeout_s: float = 10.0,
    ) -> None:
        if not api_key:
            raise ConnectorSetupError("MAILCHIMP_TRANSACTIONAL_KEY is not set")
        super().__init__(session, base_url, timeout_s)
        self._key = api_key

    def send(
        self,
        step: PushStep,
        *,
        policy: RetryPolicy = DEFAULT_PUSH_POLICY,
        sleep: Callable[[float], None] = SLEEP,
        on_attempt: Callable[[Attempt], None] | None = None,
    ) -> requests.Response:
        """Send one step; PushRejected when Mandrill refuses the recipient."""
        body = {"key": self._key, **step.body}
        response = self._send(step, policy, sleep, on_attempt, json=body)
        try:
            results = response.json()
        except ValueError as exc:
            raise PushRejected(f"Mandrill answered {response.status_code} without JSON") from exc
        if not isinstance(results, list):
            raise PushRejected(f"Mandrill answered an unexpected body: {str(results)[:200]}")
        refused = [
            f"{r.get('email')}: {r.get('status')} ({r.get('reject_reason')})"
            for r in results
            if isinstance(r, dict) and r.get("status") in ("rejected", "invalid")
        ]
        if refused:
            raise PushRejected("Mandrill refused the message: " + "; ".join(refused))
        return response

    def check_sent(
        self,
        step: PushStep,
        key: str,
        *,
        policy: RetryPolicy = DEFAULT_PUSH_POLICY,
        sleep: Callable[[float], None] = SLEEP,
    ) -> SentCheck:
        """Search Mandrill's recent messages for the delivery key in their metadata."""
        metadata = (step.body.get("message") or {}).get("metadata") or {}
        if metadata.get(DELIVERY_KEY_FIELD) != key:
            return SentCheck.UNKNOWN  # planned before the key was sent along: cannot look up
        query = {"key": self._key, "query": f"u_{DELIVERY_KEY_FIELD}:{key}", "limit": 10}
        lookup = PushStep("POST", SEARCH_PATH, {})
        response = self._send(lookup, policy, sleep, None, json=query)
        results = response.json()
        found = isinstance(results, list) and any(
            isinstance(r, dict) and (r.get("metadata") or {}).get(DELIVERY_KEY_FIELD) == key
            for r in results
        )
        return SentCheck.SENT if found else SentCheck.NOT_SENT
