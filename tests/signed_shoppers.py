"""Test helpers for signed shopper identity: tokens as a shop's server makes them."""

from __future__ import annotations

import time

from config import Settings
from plugin.storefront.shopper_identity import ensure_identity_secret, set_identity_mode
from plugin.storefront.shopper_tokens import make_shopper_token
from storage.db import open_shop_db


def customer_token(settings: Settings, customer: str, shop: str = "demo", ttl: int = 3600) -> str:
    """A valid customer_token for `customer` of `shop` (its secret made on first need)."""
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        secret = ensure_identity_secret(db, changed_by="test")
    finally:
        db.close()
    return make_shopper_token(secret, shop, customer, int(time.time()) + ttl)


def set_identity_open(settings: Settings, shop: str = "demo") -> None:
    """Trust every customer_id of `shop` (the server-to-server "open" mode)."""
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        set_identity_mode(db, "open", changed_by="test")
    finally:
        db.close()
