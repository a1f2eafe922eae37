"""Webhook signatures: base64(HMAC-SHA256(secret, raw body)), as Shopify and WooCommerce sign.

Always computed over the raw request bytes (never re-serialized JSON, whose spacing and key
order differ from what was signed) and compared in constant time. Fails closed: an empty
secret or an empty header never verifies, so a missing configuration cannot open the inbox.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from connectors.payload_errors import SignatureMismatch


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
