"""How WooCommerce REST v3 requests are authenticated (PLATFORMS.md 2.1, 2.5b).

Over https: HTTP Basic with the consumer key and secret. Over plain http WooCommerce only
accepts OAuth 1.0a "one-legged" signing in the query string (Basic and query keys get 401
there): HMAC-SHA256 over METHOD & encoded URL & encoded sorted parameters, keyed by the
consumer secret + '&', with a fresh timestamp and nonce per request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

_OAUTH_PARAMS = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature_method",
    "oauth_signature",
)


def _pct(value: str) -> str:
    return quote(value, safe="~-._")


def oauth1_params(
    method: str,
    url: str,
    params: Mapping[str, Any],
    consumer_key: str,
    consumer_secret: str,
    *,
    clock: Callable[[], float] = time.time,
    nonce: Callable[[], str] = lambda: secrets.token_hex(16),
) -> dict[str, str]:
    """`params` plus the oauth_* parameters that sign this request."""
    split = urlsplit(url)
    base_url = urlunsplit((split.scheme, split.netloc, split.path, "", ""))
    signed: dict[str, str] = {
        k: str(v) for k, v in params.items() if v is not None and k not in _OAUTH_PARAMS
    }
    signed.update(
        {
            "oauth_consumer_key": consumer_key,
            "oauth_timestamp": str(int(clock())),
            "oauth_nonce": nonce(),
            "oauth_signature_method": "HMAC-SHA256",
        }
    )
    pairs = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(signed.items()))
    base = "&".join((method.upper(), _pct(base_url), _pct(pairs)))
    digest = hmac.new(f"{consumer_secret}&".encode(), base.encode(), hashlib.sha256).digest()
    signed["oauth_signature"] = base64.b64encode(digest).decode("ascii")
    return signed


def uses_basic_auth(store_url: str) -> bool:
    """Basic auth over https; OAuth 1.0a query signing over plain http."""
    return urlsplit(store_url).scheme == "https"
