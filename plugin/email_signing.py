"""Email URL signing, re-exported for the web app (the code lives in email_blocks.signing so
the worker, which may not import plugin, signs the same URLs)."""

from email_blocks.signing import (
    SIGNATURE_PARAM,
    SigningUnavailable,
    canonical_query,
    shop_key,
    sign_params,
    signed_url,
    verify_params,
)

__all__ = [
    "SIGNATURE_PARAM",
    "SigningUnavailable",
    "canonical_query",
    "shop_key",
    "sign_params",
    "signed_url",
    "verify_params",
]
