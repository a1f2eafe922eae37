"""CORS and caching headers of the storefront routes.

Each test works on its own copy of the trained demo shop (the trained_settings fixture).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlite_utils
from flask.testing import FlaskClient
from storefront_client import API, SHOP, assert_canonical_error

from config import Settings
from plugin import create_app
from plugin.storefront.cors import (
    SETTING_KEY,
    OriginSettingError,
    ShopOrigins,
    parse_allowed_origins,
)
from storage.shop_settings import set_shop_setting


def test_cors_echoes_origin_and_answers_preflight(client: FlaskClient, anchor: str) -> None:
    origin = "https://shop.example.com"
    response = client.get(
        API, query_string={"shop": SHOP, "context": "home"}, headers={"Origin": origin}
    )
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in response.headers["Vary"]
    preflight = client.options(
        "/api/v1/events", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in client.get(API).headers


SHOP_ORIGIN = "https://shop.example.com"
OTHER_ORIGIN = "https://evil.example.net"
EVENTS = "/api/v1/events"


def view_event(session_id: str) -> dict[str, str]:
    return {"shop": SHOP, "type": "view", "product_id": "p001", "session_id": session_id}


@pytest.fixture
def locked_client(settings: Settings, db: sqlite_utils.Database) -> FlaskClient:
    """A client of an app whose shop lists its own origins (one with its default port)."""
    set_shop_setting(db, SETTING_KEY, [SHOP_ORIGIN + ":443", "http://localhost:8080"], "test")
    return create_app(settings, {"TESTING": True}).test_client()


def stored_sessions(db: sqlite_utils.Database) -> set[str]:
    return {r["session_id"] for r in db.query("SELECT session_id FROM events")}


def test_listed_origin_is_allowed_and_others_are_not(locked_client: FlaskClient) -> None:
    query = {"shop": SHOP, "context": "home"}
    allowed = locked_client.get(API, query_string=query, headers={"Origin": SHOP_ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    other = locked_client.get(API, query_string=query, headers={"Origin": OTHER_ORIGIN})
    # The answer is public data: no 403, but a browser on another origin cannot read it.
    assert other.status_code == 200
    assert "Access-Control-Allow-Origin" not in other.headers
    for response in (allowed, other):
        assert "Origin" in response.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in response.headers
    widget = locked_client.get(
        "/api/v1/widgets/home", query_string={"shop": SHOP}, headers={"Origin": OTHER_ORIGIN}
    )
    assert "Access-Control-Allow-Origin" not in widget.headers


def test_preflight_follows_the_allow_list(locked_client: FlaskClient) -> None:
    def preflight(origin: str) -> Any:
        return locked_client.options(
            f"{EVENTS}?shop={SHOP}",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )

    ok = preflight("http://localhost:8080")
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    refused = preflight(OTHER_ORIGIN)
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert "Access-Control-Allow-Methods" not in refused.headers


def test_event_post_from_another_origin_is_403_and_stores_nothing(
    locked_client: FlaskClient, db: sqlite_utils.Database
) -> None:
    refused = locked_client.post(
        EVENTS, json=view_event("cors-evil"), headers={"Origin": OTHER_ORIGIN}
    )
    body = assert_canonical_error(refused, 403, "allowed_origins")
    assert body["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in refused.headers
    own = locked_client.post(EVENTS, json=view_event("cors-own"), headers={"Origin": SHOP_ORIGIN})
    assert own.status_code == 202
    assert own.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    # No Origin: not a browser, so CORS has nothing to say (any client can forge one anyway).
    assert locked_client.post(EVENTS, json=view_event("cors-none")).status_code == 202
    sessions = stored_sessions(db)
    assert {"cors-own", "cors-none"} <= sessions and "cors-evil" not in sessions


def test_invalid_setting_allows_no_origin_and_is_logged(
    settings: Settings, db: sqlite_utils.Database, caplog: pytest.LogCaptureFixture
) -> None:
    set_shop_setting(db, SETTING_KEY, ["shop.example.com"], "test")  # no scheme: invalid
    client = create_app(settings, {"TESTING": True}).test_client()
    response = client.post(EVENTS, json=view_event("cors-x"), headers={"Origin": SHOP_ORIGIN})
    assert_canonical_error(response, 403)
    assert "allowed_origins[0] must be an origin" in caplog.text


def test_setting_change_is_seen_after_the_ttl(
    settings: Settings, db: sqlite_utils.Database
) -> None:
    now = [100.0]
    origins = ShopOrigins(settings.data_dir, ttl_s=5.0, clock=lambda: now[0])
    assert origins.allowed(SHOP) is None
    set_shop_setting(db, SETTING_KEY, [SHOP_ORIGIN], "test")
    assert origins.allowed(SHOP) is None  # still the cached answer
    now[0] += 6
    assert origins.allowed(SHOP) == (SHOP_ORIGIN,)
    assert origins.allowed("nosuchshop") is None and origins.allowed("../x") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ([], ()),
        (["HTTPS://Shop.Example.com"], ("https://shop.example.com",)),
        (
            ["http://localhost:80", "http://localhost:8080"],
            ("http://localhost", "http://localhost:8080"),
        ),
        (["https://[::1]:8443"], ("https://[::1]:8443",)),
    ],
)
def test_allowed_origins_are_normalised(value: Any, expected: Any) -> None:
    assert parse_allowed_origins(value) == expected


@pytest.mark.parametrize(
    ("value", "word"),
    [
        ("https://shop.example.com", "must be a list"),
        (["https://shop.example.com/"], "allowed_origins[0]"),
        (["https://ok.example.com", "ftp://x.example.com"], "allowed_origins[1]"),
        (["*"], "allowed_origins[0]"),
        (["https://x.example.com:99999"], "allowed_origins[0]"),
        (["https://user@x.example.com"], "allowed_origins[0]"),
        ([42], "allowed_origins[0]"),
        (["https://a.example.com"] * 51, "at most 50"),
    ],
)
def test_bad_allowed_origins_name_the_entry(value: Any, word: str) -> None:
    with pytest.raises(OriginSettingError, match=re.escape(word)):
        parse_allowed_origins(value)
