"""Webhook HMAC: the documented test vector, tampering, rotation, and failing closed."""

from __future__ import annotations

import pytest

from connectors.errors import SignatureMismatch
from connectors.signatures import sign_body, signature_matches, verify_signature

BODY = b'{"id":1,"email":"a@example.com"}'
VECTOR = "SnRPygpSlvOBkfX6XdQZR4cL4GiE8A3prXrBdoz9iBA="  # PLATFORMS.md 1.7, secret 'hush'


def test_sign_body_matches_the_documented_vector() -> None:
    assert sign_body("hush", BODY) == VECTOR


def test_verify_accepts_a_good_signature_and_surrounding_whitespace() -> None:
    verify_signature("hush", BODY, VECTOR)
    verify_signature("hush", BODY, f" {VECTOR} ")


def test_tampered_body_is_refused() -> None:
    with pytest.raises(SignatureMismatch, match="does not match"):
        verify_signature("hush", BODY.replace(b"1", b"2"), VECTOR)


def test_wrong_secret_is_refused() -> None:
    assert not signature_matches("hushh", BODY, VECTOR)


@pytest.mark.parametrize("secret", ["", [], ["", ""]])
def test_empty_secret_fails_closed(secret: str | list[str]) -> None:
    # Even the signature of the body under the empty key must not verify.
    empty_key_signature = sign_body("", BODY)
    assert not signature_matches(secret, BODY, empty_key_signature)
    with pytest.raises(SignatureMismatch, match="no webhook secret"):
        verify_signature(secret, BODY, empty_key_signature)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header_is_refused(header: str | None) -> None:
    with pytest.raises(SignatureMismatch, match="no signature header"):
        verify_signature("hush", BODY, header)


def test_old_secret_is_accepted_during_rotation() -> None:
    verify_signature(["new-secret", "hush"], BODY, VECTOR)


def test_non_ascii_header_does_not_crash() -> None:
    assert not signature_matches("hush", BODY, "sïgnature")


def test_messages_never_hold_the_secret() -> None:
    with pytest.raises(SignatureMismatch) as info:
        verify_signature("top-secret-value", BODY, "bad")
    assert "top-secret-value" not in str(info.value)


# --- Shopify redirects (install/callback) and the app proxy: PLATFORMS.md 1.4 and 1.12 ---

from urllib.parse import parse_qsl  # noqa: E402

from connectors.signatures import (  # noqa: E402
    sign_shopify_proxy,
    sign_shopify_query,
    verify_shopify_proxy,
    verify_shopify_query,
)

OAUTH_QUERY = (
    "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&timestamp=1337178173"
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (OAUTH_QUERY, "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"),
        (
            OAUTH_QUERY + "&state=0.6784241404160823",
            "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf",
        ),
    ],
)
def test_redirect_hmac_matches_the_documented_vectors(query: str, expected: str) -> None:
    pairs = parse_qsl(query)
    assert sign_shopify_query("hush", pairs) == expected
    verify_shopify_query("hush", [*pairs, ("hmac", expected)], expected.upper())


def test_redirect_hmac_refuses_tampering_and_fails_closed() -> None:
    pairs = parse_qsl(OAUTH_QUERY)
    good = sign_shopify_query("hush", pairs)
    tampered = [(k, "evil.myshopify.com" if k == "shop" else v) for k, v in pairs]
    with pytest.raises(SignatureMismatch):
        verify_shopify_query("hush", tampered, good)
    with pytest.raises(SignatureMismatch, match="no app secret"):
        verify_shopify_query("", pairs, good)
    with pytest.raises(SignatureMismatch, match="carries no signature"):
        verify_shopify_query("hush", pairs, None)


def test_proxy_signature_vectors_with_and_without_customer() -> None:
    params = [
        ("extra", "1"),
        ("extra", "2"),
        ("shop", "shop-name.myshopify.com"),
        ("path_prefix", "/apps/awesome_reviews"),
        ("timestamp", "1317327555"),
    ]
    no_customer = "a9718877bea71c2484f91608a7eaea1532bdf71f5c56825065fa4ccabe549ef3"
    assert sign_shopify_proxy("hush", params) == no_customer
    with_customer = [*params, ("logged_in_customer_id", "1")]
    signature = "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"
    verify_shopify_proxy("hush", [*with_customer, ("signature", signature)], signature)
    with pytest.raises(SignatureMismatch):
        verify_shopify_proxy("hush", params, signature)
