"""customer_token: the documented format, and every way a token can fail to prove anything."""

from __future__ import annotations

import base64
import hashlib
import hmac
import textwrap
import types
from pathlib import Path

import pytest

from plugin.errors import (
    ExpiredShopperToken,
    ForgedShopperToken,
    MalformedShopperToken,
    OverlongShopperToken,
)
from plugin.storefront.shopper_tokens import (
    MAX_TOKEN_TTL_S,
    make_shopper_token,
    verify_shopper_token,
)

SECRET = "a" * 64
API_DOCS = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
NOW = 1_800_000_000


def test_the_docs_python_snippet_makes_a_token_the_api_accepts() -> None:
    # Run the docs' own snippet (what a shop's server copies), not a copy of it.
    section = API_DOCS.split("### Shopper identity", 1)[1]
    snippet = textwrap.dedent(section.split("```python", 1)[1].split("```", 1)[0])
    clock = types.SimpleNamespace(time=lambda: NOW)
    names = {"shop": "demo", "customer_id": "c0165 ü", "secret": SECRET, "time": clock}
    exec(snippet, {"hmac": hmac, "hashlib": hashlib, "base64": base64}, names)  # noqa: S102
    assert names["token"] == make_shopper_token(SECRET, "demo", "c0165 ü", NOW + 3600)
    assert verify_shopper_token(SECRET, "demo", names["token"], NOW) == "c0165 ü"


def test_the_longest_customer_id_fits_a_token() -> None:
    longest = "\U0001f600" * 128  # 128 characters of 4 UTF-8 bytes each
    token = make_shopper_token(SECRET, "demo", longest, NOW + 60)
    assert verify_shopper_token(SECRET, "demo", token, NOW) == longest


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
        (make_shopper_token(SECRET, "demo", "c\n1", NOW + 60), MalformedShopperToken),
        (make_shopper_token(SECRET, "demo", "c" * 129, NOW + 60), MalformedShopperToken),
        ("v1." + "A" * 800 + ".1800000060." + "0" * 64, MalformedShopperToken),
    ],
)
def test_tokens_that_prove_nothing(token: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        verify_shopper_token(SECRET, "demo", token, NOW)
