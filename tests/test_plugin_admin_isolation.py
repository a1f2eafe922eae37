"""One shop never sees another's data: every /admin/<shop>/ route, read and write, as a user of
shop A against shop B. The routes are read from the app's URL map, so a page added later
(by any blueprint) is covered without touching this test."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from werkzeug.routing import Rule

from config import Settings
from storage.catalog import upsert_products
from storage.db import open_shop_db
from storage.experiments import create_experiment
from storage.shop_settings import set_shop_setting
from tests.admin_client import add_admin_user, csrf_of, log_in, make_admin_app

SECRET_TITLE = "Shop B secret product"
# Values for URL arguments other than <shop>, per converter.
_ARG_VALUES = {"integer": 1, "unicode": "weights", "path": "x"}


@pytest.fixture
def app(settings: Settings) -> Flask:
    add_admin_user(settings, "shop-a", user="alice")
    add_admin_user(settings, "shop-b", user="bob")
    db = open_shop_db(settings.data_dir, "shop-b")
    upsert_products(db, [{"product_id": "b-1", "title": SECRET_TITLE, "price": 5.0}])
    set_shop_setting(db, "rules", {"default": {"exploration": 0.05}}, changed_by="bob")
    variants = [{"name": "control", "weight": 1, "profile": {}}, {"name": "b", "weight": 1}]
    create_experiment(db, SECRET_TITLE, "product", variants, created_by="bob")  # id 1
    db.close()
    return make_admin_app(settings)


def _shop_rules(app: Flask) -> list[Rule]:
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin/<shop>/")]
    assert len(rules) >= 5, [r.rule for r in rules]
    return rules


def _url(app: Flask, rule: Rule, shop: str) -> str:
    values: dict[str, object] = {"shop": shop}
    for arg in rule.arguments - {"shop"}:
        converter = type(rule._converters[arg]).__name__.replace("Converter", "").lower()
        values[arg] = _ARG_VALUES.get(converter, "x")
    adapter = app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, values)


def _b_state(settings: Settings) -> tuple[object, ...]:
    db = open_shop_db(settings.data_dir, "shop-b")
    try:
        return tuple(
            json.dumps(list(db.query(f"SELECT * FROM {table}")), sort_keys=True, default=str)
            for table in db.table_names()
            if table not in ("admin_users",)
        )
    finally:
        db.close()


def test_every_admin_route_of_shop_b_is_404_for_a_user_of_shop_a(
    app: Flask, settings: Settings
) -> None:
    client = app.test_client()
    assert log_in(client, user="alice").headers["Location"] == "/admin/shop-a/overview"
    before = _b_state(settings)
    token = csrf_of(client)
    checked = []
    for rule in _shop_rules(app):
        url = _url(app, rule, "shop-b")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            form = {"csrf_token": token, "key": "rules", "json": "{}", "value": "b-1", "name": "x"}
            response = client.open(url, method=method, data=form if method != "GET" else None)
            body = response.get_data(as_text=True)
            assert response.status_code == 404, (method, url, response.status_code)
            assert SECRET_TITLE not in body and "bob" not in body, (method, url)
            checked.append((method, rule.rule))
    assert any(m == "POST" for m, _ in checked)
    # Bob himself does see his experiment 1: the 404s above are isolation, not a missing row.
    bob = app.test_client()
    log_in(bob, user="bob")
    experiment = [r for r in _shop_rules(app) if "experiment_id" in r.arguments]
    for rule in experiment:
        if "GET" in rule.methods:
            assert SECRET_TITLE in bob.get(_url(app, rule, "shop-b")).get_data(as_text=True)
    assert _b_state(settings) == before


def test_the_same_routes_of_shop_a_do_answer_alice(app: Flask) -> None:
    client = app.test_client()
    log_in(client, user="alice")
    for rule in _shop_rules(app):
        if "GET" in rule.methods and not (rule.arguments - {"shop"}):
            url = _url(app, rule, "shop-a")
            assert client.get(url).status_code == 200, url


def test_anonymous_requests_are_sent_to_login_and_change_nothing(
    app: Flask, settings: Settings
) -> None:
    client = app.test_client()
    before = _b_state(settings)
    for rule in _shop_rules(app):
        url = _url(app, rule, "shop-b")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"key": "rules", "json": "{}"})
            assert response.status_code == 302, (method, url)
            assert response.headers["Location"].startswith("/admin/login")
    assert _b_state(settings) == before


def test_unknown_shop_is_404_like_a_foreign_one(app: Flask) -> None:
    client = app.test_client()
    log_in(client, user="alice")
    assert client.get("/admin/no-such-shop/settings").status_code == 404
    assert client.get("/admin/..%2F..%2Fetc/settings").status_code == 404


def test_switcher_lists_only_the_users_shops(app: Flask, settings: Settings) -> None:
    add_admin_user(settings, "shop-c", user="alice")
    client = app.test_client()
    log_in(client, user="alice")
    page = client.get("/admin/shop-a/settings").get_data(as_text=True)
    assert 'href="/admin/shop-c/overview"' in page and "shop-b" not in page
    assert client.get("/admin/?shop=shop-b").headers["Location"] == "/admin/shop-a/overview"
    assert client.get("/admin/?shop=shop-c").headers["Location"] == "/admin/shop-c/overview"
