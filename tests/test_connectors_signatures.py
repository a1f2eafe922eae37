"""Webhook HMAC: the documented test vector, tampering, rotation, and failing closed."""

from __future__ import annotations

import pytest

from connectors.payload_errors import SignatureMismatch
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
