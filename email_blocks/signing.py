"""Per-shop HMAC-SHA256 signatures on email URLs (the pull endpoint and the click redirect).

A block URL names a shopper (email or customer id), so without a signature anyone could read
another shopper's recommendations by editing the URL. Each shop gets its own key, derived
from settings.secret_key, so a signature leaked for one shop is worthless for another.
With no secret_key configured the endpoints refuse everything (fail closed).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlencode

SIGNATURE_PARAM = "sig"
_KEY_PREFIX = b"email-block:"


class SigningUnavailable(Exception):
    """No secret_key is configured, so nothing can be signed or verified."""


def shop_key(secret_key: str, shop: str) -> bytes:
    """The shop's signing key: HMAC(secret_key, 'email-block:' + shop) (HKDF-style derivation)."""
    if not secret_key:
        raise SigningUnavailable(
            "SHOPREC_SECRET_KEY is not set, so email URLs cannot be signed or verified"
        )
    return hmac.new(
        secret_key.encode("utf-8"), _KEY_PREFIX + shop.encode("utf-8"), hashlib.sha256
    ).digest()


def canonical_query(params: Mapping[str, str]) -> str:
    """The signed text: every parameter but `sig`, sorted by name, URL-encoded."""
    return urlencode(sorted((k, v) for k, v in params.items() if k != SIGNATURE_PARAM))


def sign_params(secret_key: str, shop: str, params: Mapping[str, str]) -> str:
    """The hex HMAC-SHA256 of the canonical query under the shop's key."""
    text = canonical_query(params).encode("utf-8")
    return hmac.new(shop_key(secret_key, shop), text, hashlib.sha256).hexdigest()


def verify_params(secret_key: str, shop: str, params: Mapping[str, str]) -> bool:
    """Whether params['sig'] signs the other parameters for this shop (constant-time compare)."""
    given = params.get(SIGNATURE_PARAM) or ""
    expected = sign_params(secret_key, shop, params)
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def signed_url(base_url: str, path: str, secret_key: str, params: Mapping[str, str]) -> str:
    """`base_url + path` with `params` and their signature (params must include 'shop')."""
    clean = {k: v for k, v in params.items() if v not in (None, "") and k != SIGNATURE_PARAM}
    # The signed text is the URL's own query (sorted, encoded), so it is encoded once.
    query = canonical_query(clean)
    key = shop_key(secret_key, clean["shop"])
    sig = hmac.new(key, query.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{base_url.rstrip('/')}{path}?{query}&{SIGNATURE_PARAM}={sig}"
