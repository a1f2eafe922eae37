"""OAuth 1.0a one-legged signing for WooCommerce over plain http."""

from __future__ import annotations

from connectors.woocommerce.auth import oauth1_params, uses_basic_auth

URL = "http://local.test/wp-json/wc/v3/orders"
PARAMS = {
    "page": 2,
    "per_page": 100,
    "modified_after": "2026-05-01T00:00:00",
    "dates_are_gmt": "true",
    "x": "a b/c+d",
}


def sign(params: dict[str, object]) -> dict[str, str]:
    return oauth1_params(
        "GET", URL, params, "ck_abc", "cs_def", clock=lambda: 1700000000, nonce=lambda: "n0nce"
    )


def test_signature_matches_an_independent_implementation() -> None:
    # Expected value computed with oauthlib 3.2.2 (Client(..., SIGNATURE_HMAC_SHA256,
    # SIGNATURE_TYPE_QUERY, timestamp="1700000000", nonce="n0nce")), which always signs
    # oauth_version=1.0; shoprec omits it (PLATFORMS.md 2.1) but signs it when given.
    signed = sign({**PARAMS, "oauth_version": "1.0"})
    assert signed["oauth_signature"] == "sW/IpOR8K45Ywiwi6vMMG3c/m5aw1VYZPyUzCyrppKY="


def test_signed_params_keep_the_request_and_add_the_oauth_fields() -> None:
    signed = sign(PARAMS)
    assert {k: signed[k] for k in ("page", "per_page", "x")} == {
        "page": "2",
        "per_page": "100",
        "x": "a b/c+d",
    }
    assert signed["oauth_consumer_key"] == "ck_abc"
    assert signed["oauth_signature_method"] == "HMAC-SHA256"
    assert "oauth_version" not in signed and "cs_def" not in signed.values()
    # A stale signature passed back in (WooCommerce's Link header echoes oauth_* params) is
    # replaced, not signed over.
    again = sign({**PARAMS, "oauth_signature": "old", "oauth_nonce": "old"})
    assert again["oauth_signature"] == signed["oauth_signature"]


def test_basic_auth_only_over_https() -> None:
    assert uses_basic_auth("https://shop.example") is True
    assert uses_basic_auth("http://shop.example") is False
