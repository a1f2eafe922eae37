"""CORS for the storefront routes: each shop may name the origins its pages are served from.

The per-shop setting ``allowed_origins`` (a JSON list such as ``["https://shop.example.com"]``)
restricts who may read answers in a browser and post events: only those origins get
``Access-Control-Allow-Origin``, and an event POST from another Origin is refused with 403.

When a shop sets no list, every origin is answered (the caller's Origin is echoed) and
credentials are never allowed. That is deliberate: recommendations are public catalog data
that any shop page, theme preview or cached copy must be able to read, the widget sends no
cookies (``credentials: "omit"``), and nothing here reads or sets one, so echoing the Origin
grants no more than a plain anonymous GET would. The allow-list is for owners who want their
event stream to come only from their own pages.

Requests without an Origin (servers, curl) are never refused: CORS is a browser protection,
and any non-browser client can send whatever Origin it likes anyway.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storage.db import open_shop_db, shop_exists, validate_shop_name
from storage.errors import InvalidShopName
from storage.shop_settings import get_shop_setting

logger = logging.getLogger(__name__)

SETTING_KEY = "allowed_origins"
# An owner's change shows within this many seconds in every worker, without a DB read per
# request.
ORIGINS_TTL_S = 5.0
MAX_ORIGINS = 50
_ORIGIN_RE = re.compile(
    r"(?P<scheme>https?)://(?P<host>[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}


class OriginSettingError(ValueError):
    """The allowed_origins setting is not a list of scheme://host[:port] origins."""


def normalise_origin(raw: str) -> str | None:
    """The origin as a browser sends it (lower case, default port dropped), or None if invalid."""
    match = _ORIGIN_RE.fullmatch(raw.strip().lower())
    if match is None:
        return None
    port = match["port"]
    if port is not None and not 0 < int(port) < 65536:
        return None
    origin = f"{match['scheme']}://{match['host']}"
    if port is not None and port != _DEFAULT_PORTS[match["scheme"]]:
        origin += f":{port}"
    return origin


def parse_allowed_origins(value: Any) -> tuple[str, ...] | None:
    """The validated allow-list, or None when the setting is absent (every origin answered).

    Raises:
        OriginSettingError: naming each bad entry and the rule
            ("allowed_origins[1] must be an origin scheme://host[:port], got 'shop.com/'").
    """
    if value is None:
        return None
    if not isinstance(value, list):
        raise OriginSettingError(
            f"{SETTING_KEY} must be a list of origins, got {type(value).__name__}"
        )
    if len(value) > MAX_ORIGINS:
        raise OriginSettingError(f"{SETTING_KEY} holds at most {MAX_ORIGINS} origins")
    origins: list[str] = []
    problems: list[str] = []
    for index, entry in enumerate(value):
        origin = normalise_origin(entry) if isinstance(entry, str) else None
        if origin is None:
            problems.append(
                f"{SETTING_KEY}[{index}] must be an origin scheme://host[:port] "
                f"(http or https, no path), got {entry!r:.80}"
            )
        elif origin not in origins:
            origins.append(origin)
    if problems:
        raise OriginSettingError("; ".join(problems))
    return tuple(origins)


def origin_allowed(allowed: tuple[str, ...] | None, origin: str) -> bool:
    """Whether a browser on `origin` may read answers and post events for this shop."""
    if allowed is None:
        return True
    return normalise_origin(origin) in allowed


class ShopOrigins:
    """Each shop's allow-list, read from its store and kept for `ttl_s` seconds.

    Only shops that exist are cached, so junk shop names cannot grow the dict.
    """

    def __init__(
        self,
        data_dir: Path,
        ttl_s: float = ORIGINS_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._data_dir = data_dir
        self._ttl_s = ttl_s
        self._clock = clock
        self._values: dict[str, tuple[float, tuple[str, ...] | None]] = {}
        self._lock = threading.Lock()

    def allowed(self, shop: Any) -> tuple[str, ...] | None:
        """The shop's allow-list; None when unset or the shop is unknown (public behaviour)."""
        if not isinstance(shop, str) or not shop:
            return None
        now = self._clock()
        with self._lock:
            hit = self._values.get(shop)
        if hit is not None and now - hit[0] < self._ttl_s:
            return hit[1]
        try:
            name = validate_shop_name(shop)
        except InvalidShopName:
            return None
        if not shop_exists(self._data_dir, name):
            return None
        value = self._read(name)
        with self._lock:
            self._values[name] = (now, value)
        return value

    def _read(self, shop: str) -> tuple[str, ...] | None:
        db = open_shop_db(self._data_dir, shop, create=False)
        try:
            raw = get_shop_setting(db, SETTING_KEY)
        finally:
            db.close()
        try:
            return parse_allowed_origins(raw)
        except OriginSettingError:
            # The owner asked for a restriction: a typo must not open the shop to every
            # origin, so nothing is allowed until the setting is fixed (the log says why).
            logger.exception(
                "setting %s of shop %s is invalid; no origin is allowed until it is fixed",
                SETTING_KEY,
                shop,
                extra={"shop": shop},
            )
            return ()
