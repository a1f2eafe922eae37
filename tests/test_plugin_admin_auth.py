"""Admin access: login, throttle, session flags, CSRF, Shopify session tokens, shop isolation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask import Blueprint, Flask, g

from config import Settings
from plugin import create_app
from plugin.admin.auth import (
    SessionTokenError,
    register_admin_guards,
    verify_shopify_session_token,
)
from storage.admin_users import (
    MAX_FAILED_LOGINS,
    InvalidAdminCredentials,
    check_admin_login,
    set_admin_password,
)
from storage.db import open_shop_db
from tests.admin_client import (
    PASSWORD,
    add_admin_user,
    admin_settings,
    csrf_of,
    log_in,
    make_admin_app,
)

API_KEY = "app-key-123"
API_SECRET = "hush-app-secret"


def _probe_blueprint() -> Blueprint:
    bp = Blueprint("admin_probe", __name__, url_prefix="/admin/<shop>")
    register_admin_guards(bp)

    @bp.route("/probe", methods=["GET", "POST"])
    def probe(shop: str) -> dict[str, str]:
        return {"shop": g.admin_shop, "user": g.admin_user}

    return bp


@pytest.fixture
def app(settings: Settings) -> Flask:
    add_admin_user(settings, "alpha")
    add_admin_user(settings, "beta", user="other")
    settings = admin_settings(settings)
    import dataclasses

    settings = dataclasses.replace(settings, shopify_api_key=API_KEY, shopify_api_secret=API_SECRET)
    application = create_app(settings, test_config={"TESTING": True})
    application.register_blueprint(_probe_blueprint())
    return application


def _jwt(payload: dict[str, object], secret: str = API_SECRET, alg: str = "HS256") -> str:
    def enc(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = enc(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = enc(json.dumps(payload).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{enc(sig)}"


def _claims(shop: str = "alpha", **over: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": f"https://{shop}.myshopify.com/admin",
        "dest": f"https://{shop}.myshopify.com",
        "aud": API_KEY,
        "sub": "42",
        "exp": now + 60,
        "nbf": now - 5,
        "iat": now - 5,
        "jti": "x",
        "sid": "y",
    }
    claims.update(over)
    return claims


def test_not_logged_in_redirects_to_login_with_next(app: Flask) -> None:
    response = app.test_client().get("/admin/alpha/probe")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=/admin/alpha/probe")


def test_login_opens_only_the_users_shops_and_sets_safe_cookie_flags(app: Flask) -> None:
    client = app.test_client()
    response = log_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/alpha/overview"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert client.get("/admin/alpha/probe").get_json() == {"shop": "alpha", "user": "owner"}
    assert client.get("/admin/beta/probe").status_code == 404


def test_secure_flag_can_be_turned_off_for_local_http(settings: Settings) -> None:
    import dataclasses

    add_admin_user(settings, "alpha")
    app = make_admin_app(dataclasses.replace(settings, secure_cookies="false"))
    response = log_in(app.test_client())
    assert "Secure" not in response.headers["Set-Cookie"]


def test_one_login_opens_every_shop_with_that_user_and_password(
    app: Flask, settings: Settings
) -> None:
    add_admin_user(settings, "beta", user="owner")
    client = app.test_client()
    log_in(client)
    assert client.get("/admin/beta/probe").get_json()["shop"] == "beta"
    page = client.get("/admin/login")  # any admin page renders the switcher from the session
    assert page.status_code == 200


def test_wrong_password_is_refused_and_repeated_failures_lock(app: Flask) -> None:
    client = app.test_client()
    for _ in range(MAX_FAILED_LOGINS - 1):
        response = log_in(client, password="wrong password!")
        assert response.status_code == 401 and b"Wrong user name or password" in response.data
    response = log_in(client, password="wrong password!")
    assert response.status_code == 401 and b"Too many failed logins" in response.data
    locked = log_in(client)  # even the right password waits for the lock to end
    assert locked.status_code == 401 and b"Too many failed logins" in locked.data


def test_lock_ends_after_its_time(settings: Settings) -> None:
    db = open_shop_db(settings.data_dir, "demo")
    set_admin_password(db, "owner", PASSWORD)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    for _ in range(MAX_FAILED_LOGINS):
        check_admin_login(db, "owner", "nope-nope-nope", now=start)
    assert check_admin_login(db, "owner", PASSWORD, now=start).status == "locked"
    later = start + timedelta(minutes=16)
    assert check_admin_login(db, "owner", PASSWORD, now=later).status == "ok"
    db.close()


def test_short_password_and_bad_user_names_are_refused(shop_db: object) -> None:
    with pytest.raises(InvalidAdminCredentials, match="at least 10"):
        set_admin_password(shop_db, "owner", "short")  # type: ignore[arg-type]
    with pytest.raises(InvalidAdminCredentials, match="user name"):
        set_admin_password(shop_db, "two words", PASSWORD)  # type: ignore[arg-type]


def test_login_without_csrf_token_is_refused(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/admin/login", data={"user": "owner", "password": PASSWORD})
    assert response.status_code == 400 and b"SHOPREC_SECURE_COOKIES=false" in response.data
    assert client.get("/admin/alpha/probe").status_code == 302


def test_post_without_csrf_token_is_refused_with_400(app: Flask) -> None:
    client = app.test_client()
    log_in(client)
    assert client.post("/admin/alpha/probe").status_code == 400
    assert client.post("/admin/alpha/probe", headers={"X-CSRF-Token": "forged"}).status_code == 400
    ok = client.post("/admin/alpha/probe", data={"csrf_token": csrf_of(client)})
    assert ok.status_code == 200


def test_password_change_ends_open_sessions(app: Flask, settings: Settings) -> None:
    client = app.test_client()
    log_in(client)
    assert client.get("/admin/alpha/probe").status_code == 200
    add_admin_user(settings, "alpha", password="a brand new passphrase")
    assert client.get("/admin/alpha/probe").status_code == 302


def test_logout_needs_csrf_and_ends_the_session(app: Flask) -> None:
    client = app.test_client()
    log_in(client)
    assert client.post("/admin/logout").status_code == 400
    client.post("/admin/logout", data={"csrf_token": csrf_of(client)})
    assert client.get("/admin/alpha/probe").status_code == 302


def test_next_only_redirects_inside_the_admin(app: Flask) -> None:
    client = app.test_client()
    response = client.post(
        "/admin/login",
        data={
            "user": "owner",
            "password": PASSWORD,
            "next": "//evil.example/admin/",
            "csrf_token": csrf_of(client),
        },
    )
    assert response.headers["Location"] == "/admin/alpha/overview"


def test_admin_refuses_to_run_without_secret_key(settings: Settings) -> None:
    app = create_app(settings, test_config={"TESTING": True})
    response = app.test_client().get("/admin/login")
    assert response.status_code == 503 and b"SHOPREC_SECRET_KEY" in response.data


def test_shopify_session_token_opens_that_shop_only(app: Flask) -> None:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {_jwt(_claims())}"}
    assert client.get("/admin/alpha/probe", headers=headers).get_json()["user"] == "shopify:42"
    assert client.get("/admin/beta/probe", headers=headers).status_code == 404
    # The token opened a cookie session for alpha only; POSTs with the token need no CSRF.
    assert client.post("/admin/alpha/probe", headers=headers).status_code == 200
    assert client.get("/admin/beta/probe").status_code == 404


def test_id_token_query_parameter_opens_the_page_it_is_on(app: Flask) -> None:
    client = app.test_client()
    assert client.get(f"/admin/alpha/probe?id_token={_jwt(_claims())}").status_code == 200
    assert client.get(f"/admin/beta/probe?id_token={_jwt(_claims())}").status_code == 404
    forged = _jwt(_claims("beta"), secret="guess")
    assert client.get(f"/admin/beta/probe?id_token={forged}").status_code == 401


def test_shopify_entry_url_opens_the_overview(app: Flask) -> None:
    client = app.test_client()
    response = client.get(f"/admin/shopify?id_token={_jwt(_claims())}")
    assert response.headers["Location"] == "/admin/alpha/overview"
    assert client.get("/admin/alpha/probe").status_code == 200


@pytest.mark.parametrize(
    ("token_args", "message"),
    [
        ({"secret": "wrong-secret"}, "signature"),
        ({"alg": "none"}, "HS256"),
        # Times relative to when the test runs (parametrize runs at collection, minutes earlier).
        ({"seconds_from_now": {"exp": -60}}, "expired"),
        ({"seconds_from_now": {"nbf": 60}}, "not valid yet"),
        ({"claims": {"aud": "another-app"}}, "aud"),
        ({"claims": {"dest": "https://alpha.example.com"}}, "myshopify"),
        ({"claims": {"iss": "https://beta.myshopify.com/admin"}}, "iss"),
    ],
)
def test_bad_session_tokens_are_rejected(token_args: dict[str, object], message: str) -> None:
    claims = dict(token_args.get("claims", {}))  # type: ignore[call-overload]
    for name, offset in token_args.get("seconds_from_now", {}).items():  # type: ignore[attr-defined]
        claims[name] = int(time.time()) + offset
    token = _jwt(
        _claims(**claims),
        secret=str(token_args.get("secret", API_SECRET)),
        alg=str(token_args.get("alg", "HS256")),
    )
    with pytest.raises(SessionTokenError, match=message):
        verify_shopify_session_token(token, API_KEY, API_SECRET)


def test_bad_bearer_token_is_401_and_opens_nothing(app: Flask) -> None:
    client = app.test_client()
    bad = _jwt(_claims(), secret="nope")
    assert (
        client.get("/admin/alpha/probe", headers={"Authorization": f"Bearer {bad}"}).status_code
        == 401
    )
    assert (
        client.get("/admin/alpha/probe", headers={"Authorization": "Bearer a.b"}).status_code == 401
    )
    assert client.get("/admin/alpha/probe").status_code == 302


def test_cli_sets_password_from_stdin(settings: Settings) -> None:
    from click.testing import CliRunner

    from plugin.cli.main import cli

    open_shop_db(settings.data_dir, "alpha").close()
    runner = CliRunner()
    args = ["--data-dir", str(settings.data_dir), "--shop", "alpha", "admin"]
    result = runner.invoke(
        cli, [*args, "set-password", "--user", "boss", "--password-stdin"], input=f"{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "created admin user 'boss'" in result.output
    short = runner.invoke(
        cli, [*args, "set-password", "--user", "boss", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1 and "at least 10" in short.output
    listed = runner.invoke(cli, [*args, "list-users"])
    assert listed.output.split() == ["boss"]
    db = open_shop_db(settings.data_dir, "alpha")
    assert check_admin_login(db, "boss", PASSWORD).status == "ok"
    row = db.execute("SELECT password_hash FROM admin_users").fetchone()[0]
    assert row.startswith("scrypt:") and PASSWORD not in row
    db.close()
    missing = runner.invoke(
        cli, ["--data-dir", str(settings.data_dir), "--shop", "nope", "admin", "list-users"]
    )
    assert missing.exit_code == 1


def test_login_returns_to_the_page_asked_for(app: Flask) -> None:
    client = app.test_client()
    first = client.get("/admin/alpha/probe?x=1")
    next_url = first.headers["Location"].split("next=", 1)[1]
    response = client.post(
        "/admin/login",
        data={"user": "owner", "password": PASSWORD, "next": "/admin/alpha/probe?x=1",
              "csrf_token": csrf_of(client)},
    )  # fmt: skip
    assert next_url.startswith("/admin/alpha/probe")
    assert response.headers["Location"] == "/admin/alpha/probe?x=1"


def test_admin_pages_are_self_contained_and_not_cached(app: Flask) -> None:
    client = app.test_client()
    log_in(client)
    response = client.get("/admin/alpha/probe")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors" in policy
    assert response.headers["Cache-Control"] == "no-store"
    login_page = client.get("/admin/login").get_data(as_text=True)
    assert "http://" not in login_page and "https://" not in login_page  # nothing external
    css = client.get("/admin/static/admin.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
