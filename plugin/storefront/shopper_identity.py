"""Whose request is this? A customer id counts only when the shop vouched for it.

Serving and events ask `ShopperIdentity.resolve` once per request. The answer is one of:

- "customer": the id came with a valid customer_token (plugin.storefront.shopper_tokens), or from a
  server-to-server caller holding the shop's API key (X-Shoprec-Key), or from Shopify's
  signed app proxy (logged_in_customer_id, checked in plugin.storefront.app_proxy);
- "anonymous": no id, or one nobody signed (missing, forged, expired or another shop's
  token). The request is served from its session and visitor signals only, so guessing a
  customer id reads nothing of that shopper's history;
- "open": the shop set `identity` = "open" (it calls the API only from its own server,
  behind its own auth) and every customer_id is taken as given, as before signing existed.

The per-shop identity secret and the API key's hash live in the shop's settings under names
the settings audit redacts (storage.shop_settings.SECRET_SUFFIXES); no route returns them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from plugin.errors import ApiError, InvalidIdentityMode, ShopperTokenError
from plugin.storefront.shopper_tokens import verify_shopper_token
from serving.cache import ShopReaders
from storage.clock import utc_now_iso
from storage.shop_settings import get_shop_setting, set_shop_setting

IDENTITY_KEY = "identity"
IDENTITY_MODES = ("signed", "open")
DEFAULT_IDENTITY_MODE = "signed"
SECRET_KEY = "identity_secret"
API_KEY_KEY = "api_key_hash"
API_KEY_HEADER = "X-Shoprec-Key"
API_KEY_PREFIX = "srk"
CUSTOMER, ANONYMOUS, OPEN = "customer", "anonymous", "open"


@dataclass(frozen=True)
class IdentityConfig:
    """A shop's identity settings as serving needs them (read-only, memoised per store change)."""

    mode: str = DEFAULT_IDENTITY_MODE
    secret: str | None = None
    api_key_sha256: str | None = None
    api_key_id: str | None = None


@dataclass(frozen=True)
class Shopper:
    """Who a request is for: the trusted customer id (None when anonymous) and how we know."""

    customer_id: str | None
    identity: str


def read_identity_config(db: sqlite_utils.Database) -> IdentityConfig:
    """The shop's identity settings; an unknown stored mode counts as the safe default."""
    mode = get_shop_setting(db, IDENTITY_KEY)
    key = get_shop_setting(db, API_KEY_KEY)
    key = key if isinstance(key, dict) else {}
    secret = get_shop_setting(db, SECRET_KEY)
    return IdentityConfig(
        mode=mode if mode in IDENTITY_MODES else DEFAULT_IDENTITY_MODE,
        secret=secret if isinstance(secret, str) and secret else None,
        api_key_sha256=key.get("sha256") or None,
        api_key_id=key.get("id") or None,
    )


def ensure_identity_secret(db: sqlite_utils.Database, changed_by: str) -> str:
    """The shop's identity secret, made on first need (64 hex characters)."""
    secret = get_shop_setting(db, SECRET_KEY)
    if isinstance(secret, str) and secret:
        return secret
    return rotate_identity_secret(db, changed_by)


def rotate_identity_secret(db: sqlite_utils.Database, changed_by: str) -> str:
    """A new identity secret: every token made with the old one stops working at once."""
    secret = secrets.token_hex(32)
    set_shop_setting(db, SECRET_KEY, secret, changed_by=changed_by)
    return secret


def set_identity_mode(db: sqlite_utils.Database, mode: str, changed_by: str) -> bool:
    """Store "signed" (the default) or "open"; return whether it changed.

    Raises:
        InvalidIdentityMode: any other value.
    """
    if mode not in IDENTITY_MODES:
        raise InvalidIdentityMode(
            f"identity must be one of {list(IDENTITY_MODES)}, got {mode!r:.40}"
        )
    return set_shop_setting(db, IDENTITY_KEY, mode, changed_by=changed_by)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rotate_api_key(db: sqlite_utils.Database, changed_by: str) -> tuple[str, str]:
    """A new server-to-server API key; return (key, its id). Only the hash is stored, so
    the key is shown this once; the old key stops working at once."""
    key_id = secrets.token_hex(4)
    key = f"{API_KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    stored = {"id": key_id, "sha256": _sha256(key), "created_at": utc_now_iso()}
    set_shop_setting(db, API_KEY_KEY, stored, changed_by=changed_by)
    return key, key_id


def api_key_matches(config: IdentityConfig, presented: str) -> bool:
    """Whether `presented` is the shop's current API key (constant-time on the hashes)."""
    if not config.api_key_sha256:
        return False
    return hmac.compare_digest(_sha256(presented), config.api_key_sha256)


class ShopperIdentity:
    """Resolves who a request is for, on the serving readers (one settings read per change)."""

    def __init__(self, readers: ShopReaders, clock: Callable[[], float] = time.time) -> None:
        self._readers = readers
        self._clock = clock

    def config(self, shop: str) -> IdentityConfig:
        """The shop's identity settings as of its last store change."""
        found: IdentityConfig = self._readers.read(shop, "identity-config", read_identity_config)
        return found

    def server_caller(self, shop: str, presented: str | None) -> bool:
        """Whether the request carries the shop's API key; a wrong key is a 401, not a
        silent downgrade, so a misconfigured server notices at once."""
        if presented is None:
            return False
        if not api_key_matches(self.config(shop), presented):
            raise ApiError(
                f"{API_KEY_HEADER} is not this shop's API key (rotated?)", 401, "invalid_api_key"
            )
        return True

    def resolve(
        self,
        shop: str,
        claimed: str | None,
        token: Any,
        *,
        trusted_caller: bool = False,
    ) -> Shopper:
        """The shopper of a request that claims customer `claimed` and may carry a token.

        A valid token names the customer itself (a claimed id beside it is ignored); a
        trusted caller (API key) or an open shop is believed; anything else is anonymous.
        """
        config = self.config(shop)
        if isinstance(token, str) and token and config.secret:
            try:
                customer = verify_shopper_token(config.secret, shop, token, self._clock())
            except ShopperTokenError:
                pass
            else:
                return Shopper(customer, OPEN if config.mode == "open" else CUSTOMER)
        if config.mode == "open":
            return Shopper(claimed, OPEN)
        if trusted_caller and claimed:
            return Shopper(claimed, CUSTOMER)
        return Shopper(None, ANONYMOUS)

    def attribute_events(
        self, shop: str, rows: Iterable[dict[str, Any]], *, trusted_caller: bool = False
    ) -> list[dict[str, Any]]:
        """Event rows with customer_id kept only where signed; the token itself is dropped.

        An unsigned event stays, anonymous: tied to its visitor and session ids, so views
        and dismissals still work for the browser that sent them, but it can neither feed
        a customer's history nor start that customer's campaign timers.
        """
        attributed = []
        for row in rows:
            token = row.pop("customer_token", None)
            shopper = self.resolve(
                shop, row.get("customer_id"), token, trusted_caller=trusted_caller
            )
            attributed.append({**row, "customer_id": shopper.customer_id})
        return attributed
