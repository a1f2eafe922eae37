"""Platform signatures: webhook bodies, Shopify OAuth redirects and app-proxy queries.

Webhooks: base64(HMAC-SHA256(secret, raw body)), as Shopify and WooCommerce sign.
Redirects and the app proxy: lowercase hex HMAC-SHA256 over the sorted query (PLATFORMS.md
1.4 and 1.12, whose test vectors tests/test_connectors_signatures.py checks).

Always computed over the raw request bytes (never re-serialized JSON, whose spacing and key
order differ from what was signed) and compared in constant time. Fails closed: an empty
secret or an empty header never verifies, so a missing configuration cannot open the inbox.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlencode

from connectors.errors import SignatureMismatch


def sign_body(secret: str, body: bytes) -> str:
    """The base64 HMAC-SHA256 of `body` under `secret` (what the platform sends in its header)."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(secrets: str | Iterable[str], body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `body` under any non-empty secret in `secrets`.

    Several secrets are accepted so a rotation (Shopify keeps signing with the old secret for
    up to an hour) does not reject good deliveries. Every candidate is compared, without
    stopping at the first match, so timing does not tell which secret matched.
    """
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    given = (header or "").strip().encode("ascii", "replace")
    if not given:
        return False
    matched = False
    for secret in candidates:
        if not secret:
            continue
        expected = sign_body(secret, body).encode("ascii")
        matched = hmac.compare_digest(expected, given) or matched
    return matched


def verify_signature(secrets: str | Iterable[str], body: bytes, header: str | None) -> None:
    """Raise SignatureMismatch unless `header` signs `body`; the message never holds a secret."""
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    if not any(candidates):
        raise SignatureMismatch("no webhook secret is configured, so no delivery can be verified")
    if not (header or "").strip():
        raise SignatureMismatch("the delivery carries no signature header")
    if not signature_matches(candidates, body, header):
        raise SignatureMismatch("the signature does not match the body")


def _hex_hmac(secret: str, message: str) -> str:
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def shopify_query_message(params: Iterable[tuple[str, str]]) -> str:
    """The message Shopify signs on an OAuth redirect (PLATFORMS.md 1.4): every decoded
    parameter but `hmac`/`signature`, sorted by key, re-encoded and joined with '&'."""
    kept = sorted((k, v) for k, v in params if k not in ("hmac", "signature"))
    return urlencode(kept)


def shopify_proxy_message(params: Iterable[tuple[str, str]]) -> str:
    """The message Shopify signs on an app-proxy request (PLATFORMS.md 1.12): decoded values,
    a repeated key's values joined with ',', sorted by key, 'k=v' pieces with no separator."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key in ("signature", "hmac"):
            continue
        grouped.setdefault(key, []).append(value)
    return "".join(f"{key}={','.join(values)}" for key, values in sorted(grouped.items()))


def sign_shopify_query(secret: str, params: Iterable[tuple[str, str]]) -> str:
    """The lowercase hex `hmac` of an install/callback query."""
    return _hex_hmac(secret, shopify_query_message(params))


def sign_shopify_proxy(secret: str, params: Iterable[tuple[str, str]]) -> str:
    """The lowercase hex `signature` of an app-proxy query."""
    return _hex_hmac(secret, shopify_proxy_message(params))


def _verify_hex(secret: str, message: str, given: str | None, what: str) -> None:
    if not secret:
        raise SignatureMismatch(f"no app secret is configured, so no {what} can be verified")
    provided = (given or "").strip().lower()
    if not provided:
        raise SignatureMismatch(f"the {what} carries no signature")
    expected = _hex_hmac(secret, message)
    if not hmac.compare_digest(expected.encode("ascii"), provided.encode("ascii", "replace")):
        raise SignatureMismatch(f"the {what} signature does not match its parameters")


def verify_shopify_query(secret: str, params: Iterable[tuple[str, str]], given: str | None) -> None:
    """Raise SignatureMismatch unless `given` is the `hmac` of an install/callback query."""
    _verify_hex(secret, shopify_query_message(params), given, "Shopify redirect")


def verify_shopify_proxy(secret: str, params: Iterable[tuple[str, str]], given: str | None) -> None:
    """Raise SignatureMismatch unless `given` is the `signature` of an app-proxy query."""
    _verify_hex(secret, shopify_proxy_message(params), given, "app proxy request")
