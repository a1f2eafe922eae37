"""Who may see a shop's admin pages: the session, the per-shop guard, CSRF, Shopify tokens.

Every admin page blueprint calls `register_admin_guards(bp)`; its before_request is the one
place that decides whether this browser may see `<shop>`:
- a standalone login (plugin/admin/login.py) stores, per shop, a stamp of the password hash in
  the signed session; a stamp that no longer matches (password changed, user removed) is void;
- a Shopify embedded app sends `Authorization: Bearer <session token>` (an HS256 JWT signed
  with SHOPIFY_API_SECRET), verified on every request that carries it;
- a session that is logged in but not for this shop gets 404: it must not learn that the
  other shop even exists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import sqlite_utils
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from config import Settings
from serving.shop_money import shop_money
from storage.admin_users import current_stamp
from storage.db import open_shop_db, validate_shop_name
from storage.errors import StorageError

SESSION_KEY = "admin"
CSRF_SESSION_KEY = "csrf"
SHOPIFY_STAMP = "shopify-session-token"
SESSION_LIFETIME = timedelta(hours=8)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Clock skew allowed on a Shopify session token's exp/nbf (Shopify's own libraries allow ~10 s).
TOKEN_LEEWAY_S = 10
MYSHOPIFY_SUFFIX = ".myshopify.com"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'self' https://admin.shopify.com https://*.myshopify.com"
)
_DB_KEY = "_admin_db"


class SessionTokenError(Exception):
    """A Shopify session token that is malformed, wrongly signed, expired or for another app."""


# --- the session ---------------------------------------------------------------------------


def admin_session() -> dict[str, Any]:
    """The logged-in admin: {"user": name, "shops": {shop: stamp}}; {} when not logged in."""
    value = session.get(SESSION_KEY)
    return value if isinstance(value, dict) and isinstance(value.get("shops"), dict) else {}


def logged_in_shops() -> list[str]:
    """Shops this browser is logged in for, sorted: the shop switcher lists only these."""
    return sorted(admin_session().get("shops", {}))


def log_in(user: str, shop_stamps: dict[str, str]) -> None:
    """Start a fresh signed session for `user` on these shops (replacing any older one)."""
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = {"user": user, "shops": dict(shop_stamps)}
    session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)


def add_shop_to_session(user: str, shop: str, stamp: str) -> None:
    """Add one shop to the current session (Shopify: one token opens one shop)."""
    current = admin_session()
    shops = dict(current.get("shops", {})) if current.get("user") == user else {}
    shops[shop] = stamp
    session.permanent = True
    session[SESSION_KEY] = {"user": user, "shops": shops}
    session.setdefault(CSRF_SESSION_KEY, secrets.token_urlsafe(32))


def log_out() -> None:
    """Forget the admin session (the cookie is rewritten empty)."""
    session.clear()


# --- CSRF ----------------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token, created on first use; every admin form posts it back."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def csrf_is_valid() -> bool:
    """Whether this request carries the session's CSRF token (form field or X-CSRF-Token)."""
    expected = session.get(CSRF_SESSION_KEY)
    given = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not isinstance(expected, str) or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


# --- Shopify session tokens ----------------------------------------------------------------


def _b64url_decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SessionTokenError("token is not base64url") from exc


def shop_from_shopify_domain(url_or_domain: str) -> str:
    """'https://x.myshopify.com' or 'x.myshopify.com' -> 'x' (the connectors' shop name)."""
    host = urlsplit(url_or_domain).hostname if "://" in url_or_domain else url_or_domain
    host = (host or "").lower()
    if not host.endswith(MYSHOPIFY_SUFFIX):
        raise SessionTokenError(f"dest must be a *{MYSHOPIFY_SUFFIX} URL, got {url_or_domain!r}")
    try:
        return validate_shop_name(host[: -len(MYSHOPIFY_SUFFIX)])
    except StorageError as exc:
        raise SessionTokenError(str(exc)) from exc


def verify_shopify_session_token(
    token: str, api_key: str, api_secret: str, now: float | None = None
) -> tuple[str, str]:
    """Verify an App Bridge session token; return (shop, user id).

    Checks (https://shopify.dev/docs/apps/build/authentication-authorization/session-tokens):
    header alg HS256 only (never 'none' or RS*), the HMAC-SHA256 over 'header.payload' with the
    app secret in constant time, exp and nbf within TOKEN_LEEWAY_S, aud == the app's API key,
    and dest a *.myshopify.com URL whose host also matches iss.
    """
    if not api_key or not api_secret:
        raise SessionTokenError("SHOPIFY_API_KEY and SHOPIFY_API_SECRET must be set")
    parts = token.split(".")
    if len(parts) != 3:
        raise SessionTokenError("token must have three dot-separated parts")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        payload = json.loads(_b64url_decode(parts[1]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SessionTokenError("token header or payload is not JSON") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise SessionTokenError("token alg must be HS256")
    signed = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
    expected = hmac.new(api_secret.encode("utf-8"), signed, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _b64url_decode(parts[2])):
        raise SessionTokenError("token signature does not match")
    if not isinstance(payload, dict):
        raise SessionTokenError("token payload must be an object")
    moment = time.time() if now is None else now
    exp, nbf = payload.get("exp"), payload.get("nbf")
    if not isinstance(exp, int | float) or moment > exp + TOKEN_LEEWAY_S:
        raise SessionTokenError("token has expired")
    if not isinstance(nbf, int | float) or moment < nbf - TOKEN_LEEWAY_S:
        raise SessionTokenError("token is not valid yet")
    if payload.get("aud") != api_key:
        raise SessionTokenError("token is for another app (aud)")
    shop = shop_from_shopify_domain(str(payload.get("dest", "")))
    issuer = str(payload.get("iss", ""))
    if urlsplit(issuer).hostname != f"{shop}{MYSHOPIFY_SUFFIX}":
        raise SessionTokenError("token iss and dest name different shops")
    return shop, str(payload.get("sub", ""))


def _session_token() -> str:
    """The App Bridge token: `Authorization: Bearer` (its fetches), or `?id_token=` on a GET
    (Shopify adds it to the embedded app's URL; a one-minute token, and Referrer-Policy keeps
    it from leaving this site)."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.args.get("id_token", "") if request.method == "GET" else ""


# --- the guard -----------------------------------------------------------------------------


def admin_settings() -> Settings:
    """The process settings of the running app."""
    settings: Settings = current_app.extensions["settings"]
    return settings


def admin_unavailable() -> Response | None:
    """A 503 page when SHOPREC_SECRET_KEY is empty: unsigned sessions would be forgeable."""
    if current_app.secret_key:
        return None
    return Response(
        "The admin is disabled: set SHOPREC_SECRET_KEY to a long random value and restart.",
        status=503,
        mimetype="text/plain",
    )


def open_admin_db() -> sqlite_utils.Database:
    """The store of g.admin_shop, opened once per request and closed at its end."""
    db = g.get(_DB_KEY)
    if db is None:
        db = open_shop_db(admin_settings().data_dir, g.admin_shop, create=False)
        setattr(g, _DB_KEY, db)
    return db


def _session_is_valid_for(shop: str) -> str | None:
    """The user name when the cookie session covers `shop` and its stamp is current."""
    current = admin_session()
    stamp = current.get("shops", {}).get(shop)
    user = current.get("user")
    if not isinstance(stamp, str) or not isinstance(user, str):
        return None
    if stamp == SHOPIFY_STAMP:
        return user
    g.admin_shop = shop
    if current_stamp(open_admin_db(), user) != stamp:
        return None
    return user


def _shop_exists(shop: str) -> bool:
    try:
        return (admin_settings().shop_dir(validate_shop_name(shop)) / "shop.db").is_file()
    except StorageError:
        return False


def _guard() -> BaseResponse | None:
    unavailable = admin_unavailable()
    if unavailable is not None:
        return unavailable
    shop = (request.view_args or {}).get("shop", "")
    token = _session_token()
    if token:
        settings = admin_settings()
        try:
            token_shop, user_id = verify_shopify_session_token(
                token, settings.shopify_api_key, settings.shopify_api_secret
            )
        except SessionTokenError:
            abort(401, description="invalid Shopify session token")
        if token_shop != shop or not _shop_exists(shop):
            abort(404)
        user = f"shopify:{user_id}"
        add_shop_to_session(user, shop, SHOPIFY_STAMP)
        g.admin_shop, g.admin_user = shop, user
        return None  # a header a cross-site form cannot send: no CSRF token needed
    if not admin_session():
        return redirect(url_for("admin_login.login", next=request.full_path.rstrip("?")))
    if shop not in admin_session().get("shops", {}) or not _shop_exists(shop):
        abort(404)
    session_user = _session_is_valid_for(shop)
    if session_user is None:
        log_out()
        return redirect(url_for("admin_login.login", next=request.full_path.rstrip("?")))
    if request.method in UNSAFE_METHODS and not csrf_is_valid():
        abort(400, description="missing or wrong CSRF token; reload the page and try again")
    g.admin_shop, g.admin_user = shop, session_user
    return None


def _close_admin_db(_exc: BaseException | None) -> None:
    db = g.pop(_DB_KEY, None)
    if db is not None:
        db.close()


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers["Cache-Control"] = "no-store"
    return response


def configure_admin_app(app: Flask) -> None:
    """App-wide admin setup: signed-cookie flags, session lifetime, the Jinja globals."""
    settings: Settings = app.extensions["settings"]
    app.config.update(
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.jinja_env.globals.update(
        csrf_token=csrf_token, admin_shops=logged_in_shops, money=admin_money
    )


def admin_money(value: float | int | None) -> str:
    """An amount in the shop's currency and locale (its settings), '—' when there is none."""
    if value is None:
        return "—"
    money = getattr(g, "admin_money", None)
    if money is None:
        money = g.admin_money = shop_money(open_admin_db())
    return money(value)


def register_admin_guards(bp: Blueprint) -> None:
    """Protect every route of `bp` (whose URLs carry <shop>): login, shop match, CSRF.

    Sets g.admin_shop and g.admin_user for the views; see the module docstring.
    """
    bp.before_request(_guard)
    bp.teardown_request(_close_admin_db)
    bp.after_request(_security_headers)
    # Blueprints register only on the Flask app; Flask types the state's app as its base.
    bp.record_once(lambda state: configure_admin_app(cast(Flask, state.app)))
