"""Errors from a platform's API (Shopify, WooCommerce), as the sync and install flows see them.

`PlatformAuthError` is the one that changes what the admin shows: a 401/403 that a token
refresh could not fix means the shop must reconnect, so the caller marks the connection
broken with the message (which never holds a token).
"""

from __future__ import annotations

from connectors.errors import ConnectorError


class PlatformError(ConnectorError):
    """The platform answered, but not with what was asked (GraphQL errors, bad shape)."""


class PlatformAuthError(PlatformError):
    """401/403: the credentials are refused or lack a scope; retrying will not help."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class InvalidShopDomain(ConnectorError):
    """A Shopify shop domain that is not '<name>.myshopify.com'."""


class OAuthError(ConnectorError):
    """An install or callback that must be refused (bad HMAC, state, stale timestamp)."""
