"""Signed shopper identity: the short-lived token a shop's own server makes for its customer.

A customer id from a browser is a claim anyone can type, so serving trusts one only when the
shop signed it (as Algolia's secured API keys do). The format is plain so any language makes
it in three lines (docs, HTTP API, "Shopper identity"):

    v1.<customer_id as base64url, no padding>.<expiry, unix seconds>.<hex HMAC-SHA256>

The HMAC is keyed by the shop's identity secret (plugin.storefront.shopper_identity) over
"<shop>\\n<customer_id>\\n<expiry>": the shop name in it makes a token of one shop worthless
at another even if two secrets were ever equal. Expiry is bounded (MAX_TOKEN_TTL_S ahead of
now) so a leaked token cannot be made to live for years. The comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from plugin.errors import (
    ExpiredShopperToken,
    ForgedShopperToken,
    MalformedShopperToken,
    OverlongShopperToken,
)
from plugin.storefront.request_params import check_id

TOKEN_VERSION = "v1"
DEFAULT_TOKEN_TTL_S = 3600
# A token is made per page view or login; a day covers a long session without letting a
# leaked one outlive the customer's next visit by much.
MAX_TOKEN_TTL_S = 86_400
# base64 of a 128-character id (the id limit of request_params; up to 512 UTF-8 bytes, so
# 683 characters) plus the version, expiry and hex HMAC.
MAX_TOKEN_LENGTH = 800
_TOKEN_RE = re.compile(r"v1\.([A-Za-z0-9_-]{1,700})\.([0-9]{1,12})\.([0-9a-f]{64})")


def _mac(secret: str, shop: str, customer_id: str, expiry: int) -> str:
    message = f"{shop}\n{customer_id}\n{expiry}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def make_shopper_token(secret: str, shop: str, customer_id: str, expiry: int) -> str:
    """The token proving `customer_id` of `shop` until `expiry` (unix seconds)."""
    encoded = _b64url(customer_id)
    return f"{TOKEN_VERSION}.{encoded}.{int(expiry)}.{_mac(secret, shop, customer_id, expiry)}"


def verify_shopper_token(secret: str, shop: str, token: str, now: float) -> str:
    """The customer id the token proves for `shop` at `now`; a ShopperTokenError otherwise.

    Raises:
        MalformedShopperToken: not the v1 format, or the customer id is not UTF-8 text.
        ForgedShopperToken: the HMAC is not this shop's (wrong secret, other shop, edited id).
        ExpiredShopperToken: valid, but its expiry has passed.
        OverlongShopperToken: valid, but it expires more than MAX_TOKEN_TTL_S from now.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise MalformedShopperToken("customer_token is not a v1 token")
    found = _TOKEN_RE.fullmatch(token)
    if found is None:
        raise MalformedShopperToken("customer_token is not a v1 token")
    encoded, expiry_text, mac = found.groups()
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        customer_id = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise MalformedShopperToken("customer_token names no readable customer id") from None
    if _b64url(customer_id) != encoded or check_id("customer_id", customer_id, []) is None:
        # The same rule as a customer_id parameter: 1-128 characters, no control characters.
        raise MalformedShopperToken("customer_token names no readable customer id")
    expiry = int(expiry_text)
    if not hmac.compare_digest(_mac(secret, shop, customer_id, expiry), mac):
        raise ForgedShopperToken("customer_token was not signed with this shop's secret")
    if expiry <= now:
        raise ExpiredShopperToken("customer_token has expired")
    if expiry > now + MAX_TOKEN_TTL_S:
        raise OverlongShopperToken(
            f"customer_token lives longer than the {MAX_TOKEN_TTL_S} s a token may"
        )
    return customer_id
