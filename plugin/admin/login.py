"""Blueprint 'admin_login': the standalone login and logout, and the Shopify embedded entry.

A login names a user and a password only: every shop of the installation that has that user
with that password is opened in one session, so one owner of several shops logs in once and
the shop switcher lists exactly those shops. Passwords are set with
`shoprec admin set-password`; there is no sign-up page.
"""

from __future__ import annotations

from typing import cast

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from plugin.admin.auth import (
    CONTENT_SECURITY_POLICY,
    SHOPIFY_STAMP,
    SessionTokenError,
    add_shop_to_session,
    admin_session,
    admin_settings,
    admin_unavailable,
    configure_admin_app,
    csrf_is_valid,
    log_in,
    log_out,
    logged_in_shops,
    verify_shopify_session_token,
)
from storage.admin_users import check_admin_login, has_admin_user, spend_password_check
from storage.db import list_shops, open_shop_db

bp = Blueprint("admin_login", __name__, url_prefix="/admin")
# Blueprints register only on the Flask app; Flask types the setup state's app as its base.
bp.record_once(lambda state: configure_admin_app(cast(Flask, state.app)))

MAX_FIELD_LENGTH = 256


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path inside /admin/ of this site (no open redirect)."""
    if (
        target
        and target.startswith("/admin/")
        and "//" not in target
        and "\\" not in target
        and target.isprintable()  # no CR/LF: a header value may not hold them
    ):
        return target
    return ""


def _home_of(shop: str) -> str:
    return f"/admin/{shop}/overview"


def _attempt_login(user: str, password: str) -> tuple[dict[str, str], str]:
    """Check the password in every shop that has the user; return (shop -> stamp, error)."""
    data_dir = admin_settings().data_dir
    opened: dict[str, str] = {}
    locked_until = ""
    checked = False
    for shop in list_shops(data_dir):
        db = open_shop_db(data_dir, shop, create=False)
        try:
            if not has_admin_user(db, user):
                continue
            checked = True
            outcome = check_admin_login(db, user, password)
        finally:
            db.close()
        if outcome.status == "ok":
            opened[shop] = outcome.stamp
        elif outcome.status == "locked":
            locked_until = max(locked_until, outcome.locked_until)
    if opened:
        return opened, ""
    if locked_until:
        return {}, f"Too many failed logins: try again after {locked_until} UTC."
    if not checked:
        spend_password_check(password)  # a wrong user name costs as long as a wrong password
    return {}, "Wrong user name or password."


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | str | tuple[str, int]:
    """The login form; POST checks the password and opens every shop that has the user."""
    unavailable = admin_unavailable()
    if unavailable is not None:
        return unavailable
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("admin/login.html", next_url=next_url, error="", user="")
    if not csrf_is_valid():
        error = "The form expired; please try again."
        if current_app.config["SESSION_COOKIE_SECURE"] and not request.is_secure:
            # The browser drops a Secure cookie on plain http, so every try would end here.
            error += " (On plain http, set SHOPREC_SECURE_COOKIES=false.)"
        return render_template("admin/login.html", next_url=next_url, error=error, user=""), 400
    user = request.form.get("user", "").strip()[:MAX_FIELD_LENGTH]
    password = request.form.get("password", "")[:MAX_FIELD_LENGTH]
    opened, error = _attempt_login(user, password) if user and password else ({}, "")
    if not opened:
        error = error or "Enter your user name and password."
        return render_template("admin/login.html", next_url=next_url, error=error, user=user), 401
    log_in(user, opened)
    wanted_shop = next_url.split("/")[2] if next_url else ""
    return redirect(next_url if wanted_shop in opened else _home_of(min(opened)))


@bp.post("/logout")
def logout() -> BaseResponse:
    """End the session (POST with the CSRF token, so another site cannot log you out)."""
    if not csrf_is_valid():
        abort(400, description="missing or wrong CSRF token")
    log_out()
    return redirect(url_for("admin_login.login"))


@bp.get("/")
def index() -> BaseResponse:
    """The shop picked in the switcher (?shop=), else the first of the session, else login."""
    shops = logged_in_shops()
    if not shops:
        return redirect(url_for("admin_login.login"))
    wanted = request.args.get("shop", "")
    return redirect(_home_of(wanted if wanted in shops else shops[0]))


@bp.get("/shopify")
def shopify_entry() -> BaseResponse:
    """Shopify's embedded-app entry: `?id_token=` (the App Bridge session token) opens that
    shop's session and goes to its overview. Shopify's install request arrives here too (the
    app URL of integrations/shopify/shopify.app.toml), signed with `hmac` and no token: it
    goes on, query untouched so its signature still holds, to the OAuth install."""
    if not request.args.get("id_token") and request.args.get("hmac"):
        return redirect(f"/shopify/install?{request.query_string.decode('ascii', 'replace')}")
    unavailable = admin_unavailable()
    if unavailable is not None:
        return unavailable
    settings = admin_settings()
    try:
        shop, user_id = verify_shopify_session_token(
            request.args.get("id_token", ""), settings.shopify_api_key, settings.shopify_api_secret
        )
    except SessionTokenError:
        abort(401, description="invalid Shopify session token")
    if shop not in list_shops(settings.data_dir):
        abort(404, description="this shop has no shoprec store yet")
    user = f"shopify:{user_id}"
    if admin_session().get("user") != user:
        log_out()
    add_shop_to_session(user, shop, SHOPIFY_STAMP)
    return redirect(_home_of(shop))


@bp.get("/static/admin.css")
def stylesheet() -> Response:
    """The admin's one stylesheet, served from this site so the CSP can forbid others."""
    body = render_template("admin/admin.css")
    response = current_app.response_class(body, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
