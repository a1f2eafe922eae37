"""Errors raised by connectors: file feeds, platform payloads and signatures, platform APIs.

One module so every connector room (shopify/, woocommerce/, feeds/, email/) raises from the
same tree under ConnectorError, and callers catch one base."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class for connector failures."""


class FeedError(ConnectorError):
    """A feed file as a whole cannot be imported (not one bad row: those are rejected)."""


class UnreadableFeed(FeedError):
    """The file is missing, unreadable, corrupt (bad gzip) or empty."""


class UnknownFeedFormat(FeedError):
    """The header matches no format for this kind of data, or not the format asked for."""


class RowRejected(ConnectorError):
    """One row is malformed; the message is the reason shown to the user (without its line)."""


# Platform payloads (webhook bodies, REST objects) and their signatures.


class PayloadError(ConnectorError):
    """A platform payload is malformed; the message says which field and why.

    The receipt processor stores this message on the rejected receipt, so it must be
    precise enough to fix the cause without reading the raw body.
    """


class SignatureMismatch(ConnectorError):
    """A delivery's HMAC is missing, wrong, or there is no secret to check it with."""


# A platform's API as the sync and install flows see it. PlatformAuthError changes what the
# admin shows: a 401/403 that a token refresh could not fix means the shop must reconnect.


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


class ConnectorSetupError(ConnectorError, ValueError):
    """A connector asked to work without what it needs (a key, a valid URL, sane limits)."""
