"""Shopify OAuth: shop domains, the authorize URL, code exchange and token refresh.

Tokens are expiring offline tokens (PLATFORMS.md 1.6): 60 minutes of access plus a refresh
token that rotates on every use, so every exchange returns a whole new `TokenSet` that the
caller must store before using it. No function here logs a token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests

from connectors.errors import (
    InvalidShopDomain,
    OAuthError,
    PlatformAuthError,
    PlatformError,
)
from connectors.http_client import HTTPCallError, RetryPolicy, send_with_retry

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
DOMAIN_SUFFIX = ".myshopify.com"
# Refresh this long before the access token's end, so a page fetched at minute 59 is not lost.
REFRESH_MARGIN = timedelta(minutes=5)


def validate_shop_domain(raw: object) -> str:
    """The domain, lower-cased, if it is exactly '<name>.myshopify.com'; else InvalidShopDomain."""
    domain = raw.strip().lower() if isinstance(raw, str) else ""
    if not SHOP_DOMAIN.match(domain) or len(domain) > 100 + len(DOMAIN_SUFFIX):
        shown = repr(raw)[:80]
        raise InvalidShopDomain(f"shop must be '<name>.myshopify.com', got {shown}")
    return domain


def shop_name_for_domain(domain: str) -> str:
    """The shoprec shop name of a Shopify shop: its domain without '.myshopify.com'.

    The one mapping used by the install flow, the webhook inbox and the app proxy, so all
    three open the same shop file.
    """
    return validate_shop_domain(domain)[: -len(DOMAIN_SUFFIX)]


def domain_for_shop_name(shop: str) -> str:
    """The inverse of shop_name_for_domain."""
    return validate_shop_domain(f"{shop}{DOMAIN_SUFFIX}")


@dataclass(frozen=True)
class TokenSet:
    """An access token with its refresh token and both deadlines (ISO UTC, None = never)."""

    access_token: str = field(repr=False)
    scope: str = ""
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: str | None = None
    refresh_expires_at: str | None = None

    def needs_refresh(self, now: datetime) -> bool:
        """Whether the access token ends within REFRESH_MARGIN (and can be refreshed)."""
        if not self.expires_at or not self.refresh_token:
            return False
        ends = datetime.fromisoformat(self.expires_at).replace(tzinfo=UTC)
        return now + REFRESH_MARGIN >= ends

    def as_credentials(self) -> dict[str, Any]:
        """The JSON stored in connections.credentials."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "refresh_expires_at": self.refresh_expires_at,
        }

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any], scope: str = "") -> TokenSet:
        """The inverse of as_credentials."""
        token = credentials.get("access_token")
        if not token:
            raise PlatformAuthError("no Shopify access token is stored: reinstall the app")
        return cls(
            access_token=str(token),
            scope=scope,
            refresh_token=credentials.get("refresh_token"),
            expires_at=credentials.get("expires_at"),
            refresh_expires_at=credentials.get("refresh_expires_at"),
        )


def authorize_url(domain: str, api_key: str, scopes: str, redirect_uri: str, state: str) -> str:
    """Where to send the merchant to grant the app (offline token: no grant_options)."""
    query = urlencode(
        {"client_id": api_key, "scope": scopes, "redirect_uri": redirect_uri, "state": state}
    )
    return f"https://{validate_shop_domain(domain)}/admin/oauth/authorize?{query}"


def _deadline(now: datetime, seconds: Any) -> str | None:
    if seconds in (None, ""):
        return None
    try:
        delta = timedelta(seconds=float(seconds))
    except (TypeError, ValueError):
        return None
    return (now + delta).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def token_set_from_answer(answer: Any, now: datetime) -> TokenSet:
    """Parse an access_token answer (code exchange or refresh) into a TokenSet."""
    if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
        raise OAuthError("Shopify's token answer holds no access_token")
    return TokenSet(
        access_token=answer["access_token"],
        scope=str(answer.get("scope") or ""),
        refresh_token=answer.get("refresh_token"),
        expires_at=_deadline(now, answer.get("expires_in")),
        refresh_expires_at=_deadline(now, answer.get("refresh_token_expires_in")),
    )


def _post_token(
    session: requests.Session, domain: str, body: dict[str, str], timeout_s: float
) -> Any:
    url = f"https://{validate_shop_domain(domain)}/admin/oauth/access_token"
    try:
        response = send_with_retry(
            session,
            "POST",
            url,
            json=body,
            headers={"Accept": "application/json"},
            timeout_s=timeout_s,
            policy=RetryPolicy(max_attempts=3),
        )
    except HTTPCallError as exc:
        if exc.status in (400, 401, 403):
            raise PlatformAuthError(
                f"Shopify refused the token request ({exc.status})", exc.status
            ) from exc
        # Unreachable or failing after retries: a platform problem the install reports (502).
        raise PlatformError(f"Shopify's token endpoint failed: {exc}") from exc
    try:
        return response.json()
    except ValueError as exc:
        raise OAuthError("Shopify's token answer is not JSON") from exc


def exchange_code(
    session: requests.Session,
    domain: str,
    api_key: str,
    api_secret: str,
    code: str,
    *,
    now: datetime,
    timeout_s: float = 10.0,
) -> TokenSet:
    """Trade the callback's code for an expiring offline token (`expiring=1`)."""
    body = {"client_id": api_key, "client_secret": api_secret, "code": code, "expiring": "1"}
    return token_set_from_answer(_post_token(session, domain, body, timeout_s), now)


def refresh_tokens(
    session: requests.Session,
    domain: str,
    api_key: str,
    api_secret: str,
    refresh_token: str,
    *,
    now: datetime,
    timeout_s: float = 10.0,
) -> TokenSet:
    """Trade the refresh token for a new pair (the old refresh token is then spent)."""
    body = {
        "client_id": api_key,
        "client_secret": api_secret,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    return token_set_from_answer(_post_token(session, domain, body, timeout_s), now)
