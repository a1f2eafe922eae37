"""customer_token: the documented format, and every way a token can fail to prove anything."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from plugin.errors import (
    ExpiredShopperToken,
    ForgedShopperToken,
    MalformedShopperToken,
    OverlongShopperToken,
)
from plugin.shopper_tokens import MAX_TOKEN_TTL_S, make_shopper_token, verify_shopper_token

SECRET = "a" * 64
NOW = 1_800_000_000


def test_the_documented_recipe_makes_the_same_token() -> None:
    # The README's Python snippet, line for line: what a shop's server runs.
    shop, customer_id, secret, exp = "demo", "c0165 ü", SECRET, NOW + 3600
    sig = hmac.new(
        secret.encode(), f"{shop}\n{customer_id}\n{exp}".encode(), hashlib.sha256
    ).hexdigest()
    token = f"v1.{base64.urlsafe_b64encode(customer_id.encode()).decode().rstrip('=')}.{exp}.{sig}"
    assert token == make_shopper_token(SECRET, "demo", customer_id, exp)
    assert verify_shopper_token(SECRET, "demo", token, NOW) == customer_id


@pytest.mark.parametrize(
    ("token", "error"),
    [
        (make_shopper_token(SECRET, "demo", "c1", NOW - 1), ExpiredShopperToken),
        (make_shopper_token(SECRET, "demo", "c1", NOW + MAX_TOKEN_TTL_S + 5), OverlongShopperToken),
        (make_shopper_token("b" * 64, "demo", "c1", NOW + 60), ForgedShopperToken),
        (make_shopper_token(SECRET, "other", "c1", NOW + 60), ForgedShopperToken),
        (
            make_shopper_token(SECRET, "demo", "c1", NOW + 60).replace("v1.YzE", "v1.YzI"),
            ForgedShopperToken,
        ),
        ("v1.YzE.1800000060." + "0" * 64, ForgedShopperToken),
        ("c1", MalformedShopperToken),
        ("v2.YzE.1800000060." + "0" * 64, MalformedShopperToken),
        ("v1.YzE=.1800000060." + "0" * 64, MalformedShopperToken),
        ("v1.__8.1800000060." + "0" * 64, MalformedShopperToken),  # not UTF-8
        ("v1." + "A" * 400 + ".1800000060." + "0" * 64, MalformedShopperToken),
    ],
)
def test_tokens_that_prove_nothing(token: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        verify_shopper_token(SECRET, "demo", token, NOW)
