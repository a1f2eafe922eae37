"""WooCommerce's key exchange (/wc-auth/v1/authorize, PLATFORMS.md 2.1) as shoprec's side runs it.

1. The shop owner's browser arrives from the WordPress plugin with a connect request signed
   by the shop's identity secret (HMAC-SHA256 over "connect\\n<shop>\\n<store URL>\\n<expires>",
   valid a few minutes): only someone holding that secret can start a connect of the shop.
2. shoprec issues a one-time state bound to that store URL (storage.connect_states) and sends
   the browser to the store's /wc-auth/v1/authorize with user_id = the state, the callback at
   shoprec's public https URL (WooCommerce refuses any other) and a return page.
3. The owner approves; WooCommerce posts {key_id, user_id, consumer_key, consumer_secret,
   key_permissions} to the callback. The state is taken back once, and the keys go through
   the same connect as `shoprec connect woocommerce` (checked against the store the state
   names, stored, webhooks registered). A stranger without the secret cannot get a state,
   and a state cannot be replayed or pointed at another store.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from hashlib import sha256
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import sqlite_utils

from config import Settings
from connectors.errors import PlatformAuthError, PlatformError
from connectors.http_client import HTTPCallError
from storage.connect_states import put_connect_result, put_connect_state, take_connect_state
from storage.shop_settings import get_shop_setting
from worker.errors import WorkerError
from worker.woocommerce_sync import connect_woocommerce

logger = logging.getLogger(__name__)

# The plugin signs a connect request valid 10 minutes; allow a little clock drift on top.
MAX_REQUEST_AHEAD_S = 900
# Time for the owner to log in to WordPress and approve.
STATE_TTL_S = 1800
CHANGED_BY = "woocommerce key exchange"
APP_NAME = "shoprec"
SCOPE = "read_write"  # shoprec registers its own webhooks
IDENTITY_SECRET_KEY = "identity_secret"  # plugin.storefront.shopper_identity.SECRET_KEY


class KeyExchangeError(WorkerError):
    """Base class of refused key-exchange steps."""


class ConnectRequestRefused(KeyExchangeError):
    """The signed connect request is missing, expired, forged or names no usable store."""


class CallbackRefused(KeyExchangeError):
    """The callback's body is malformed, or its state is unknown, used or expired."""


class CallbackConnectFailed(KeyExchangeError):
    """The keys arrived with a valid state but the store refused them or could not be reached."""


@dataclass(frozen=True)
class Callback:
    """The parts of WooCommerce's callback body shoprec uses."""

    state: str
    consumer_key: str
    consumer_secret: str
    key_permissions: str


def connect_signature(secret: str, shop: str, store_url: str, expires: int) -> str:
    """The plugin's signature of a connect request (Shoprec_Token::connect_signature)."""
    message = f"connect\n{shop}\n{store_url}\n{int(expires)}".encode()
    return hmac.new(secret.encode("utf-8"), message, sha256).hexdigest()


def _store_url(raw: str) -> str:
    url = (raw or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConnectRequestRefused(f"store_url must be the store's http(s) address, got {raw!r}")
    return url


def verify_connect_request(
    db: sqlite_utils.Database,
    shop: str,
    store_url: str,
    expires: str,
    signature: str,
    now: float,
) -> str:
    """The store URL of a connect request the shop's identity secret signed.

    Raises:
        ConnectRequestRefused: no secret set, expired, too far ahead, or a wrong signature.
    """
    secret = str(get_shop_setting(db, IDENTITY_SECRET_KEY, "") or "")
    if not secret:
        raise ConnectRequestRefused(
            f"shop {shop} has no identity secret yet: print it with "
            f"`shoprec --shop {shop} identity secret` and save it in the plugin"
        )
    url = _store_url(store_url)
    if not (expires or "").isdigit() or len(expires) > 12:
        raise ConnectRequestRefused("expires must be unix seconds")
    expiry = int(expires)
    if expiry <= now:
        raise ConnectRequestRefused("the connect request has expired: click Connect again")
    if expiry > now + MAX_REQUEST_AHEAD_S:
        raise ConnectRequestRefused("the connect request lives too long to be the plugin's")
    expected = connect_signature(secret, shop, url, expiry)
    if not hmac.compare_digest(expected, (signature or "").strip().lower()):
        raise ConnectRequestRefused(
            "the connect request was not signed with this shop's identity secret"
        )
    return url


def start_key_exchange(
    settings: Settings,
    db: sqlite_utils.Database,
    shop: str,
    store_url: str,
    expires: str,
    signature: str,
    *,
    now: float | None = None,
) -> str:
    """Verify the plugin's request, issue a state, return the store's authorize URL."""
    moment = time.time() if now is None else now
    url = verify_connect_request(db, shop, store_url, expires, signature, moment)
    public = settings.public_url.rstrip("/")
    if not public.startswith("https://"):
        raise ConnectRequestRefused(
            f"SHOPREC_PUBLIC_URL is {public!r}: WooCommerce posts keys only to an https callback"
        )
    state = secrets.token_urlsafe(32)
    put_connect_state(db, state, url, moment + STATE_TTL_S, CHANGED_BY)
    query = urlencode(
        {
            "app_name": APP_NAME,
            "scope": SCOPE,
            "user_id": state,
            "return_url": f"{public}/woocommerce/connect/{shop}/done",
            "callback_url": f"{public}/woocommerce/connect/{shop}/callback",
        }
    )
    return f"{url}/wc-auth/v1/authorize?{query}"


def parse_callback(body: bytes) -> Callback:
    """WooCommerce's JSON callback body (read raw: it is not a form)."""
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CallbackRefused("the callback body must be WooCommerce's JSON") from None
    if not isinstance(data, dict):
        raise CallbackRefused("the callback body must be a JSON object")
    fields = {}
    for name in ("user_id", "consumer_key", "consumer_secret", "key_permissions"):
        value = data.get(name)
        if not isinstance(value, str | int) or not str(value).strip() or len(str(value)) > 200:
            raise CallbackRefused(f"the callback has no usable {name}")
        fields[name] = str(value).strip()
    if not fields["consumer_key"].startswith("ck_") or not fields["consumer_secret"].startswith(
        "cs_"
    ):
        raise CallbackRefused("the callback's keys are not WooCommerce REST keys")
    return Callback(
        fields["user_id"],
        fields["consumer_key"],
        fields["consumer_secret"],
        fields["key_permissions"],
    )


def finish_key_exchange(
    settings: Settings,
    db: sqlite_utils.Database,
    shop: str,
    body: bytes,
    *,
    now: float | None = None,
    **connect_options: Any,
) -> dict[str, Any]:
    """Take the callback's state, then connect with its keys; the connect's result.

    Raises:
        CallbackRefused: bad body, or a state that is not this shop's pending one.
        CallbackConnectFailed: the keys do not work on the store the state names.
    """
    callback = parse_callback(body)
    issued = take_connect_state(db, callback.state, time.time() if now is None else now, CHANGED_BY)
    if issued is None:
        raise CallbackRefused("unknown, used or expired connect state")
    if callback.key_permissions != SCOPE:
        message = f"the keys are {callback.key_permissions!r}; shoprec needs {SCOPE!r}"
        put_connect_result(db, callback.state, False, message, issued.store_url)
        raise CallbackConnectFailed(message)
    try:
        result = connect_woocommerce(
            settings,
            db,
            shop,
            issued.store_url,
            callback.consumer_key,
            callback.consumer_secret,
            **connect_options,
        )
    except (
        PlatformAuthError,
        PlatformError,
        HTTPCallError,
        ValueError,
        requests.RequestException,
    ) as exc:
        message = f"the store refused the new keys or could not be reached: {exc}"
        put_connect_result(db, callback.state, False, message, issued.store_url)
        logger.warning("woocommerce key exchange of %s failed: %s", shop, exc, extra={"shop": shop})
        raise CallbackConnectFailed(message) from exc
    note = "; ".join(result["warnings"])
    put_connect_result(db, callback.state, True, note, issued.store_url)
    logger.info(
        "woocommerce key exchange connected %s to %s", shop, issued.store_url, extra={"shop": shop}
    )
    return result
