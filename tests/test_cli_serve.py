"""`shoprec recommend`, `shoprec serve` and `shoprec demo`."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from live_server import start_server

from config import Settings, load_settings
from plugin import create_app
from plugin.cli.main import cli
from plugin.cli.serve import DEMO_ADMIN_USER, prepare_demo
from storage.admin_users import list_admin_users
from storage.db import open_shop_db
from storage.orders import popular_products
from tests.admin_client import log_in

SHOP = "demo"


@pytest.fixture
def data_dir(trained_settings: Settings) -> Path:
    return trained_settings.data_dir


@pytest.fixture
def anchor(data_dir: Path) -> str:
    db = open_shop_db(data_dir, SHOP, create=False)
    try:
        return popular_products(db, limit=1)[0]
    finally:
        db.close()


def run(data_dir: Path, *args: str) -> Any:
    return CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), "--shop", SHOP, *args], catch_exceptions=False
    )


def test_recommend_json_is_the_api_object(data_dir: Path, anchor: str) -> None:
    result = run(
        data_dir,
        "recommend",
        "--context",
        "product",
        "--slot",
        "similar",
        "--product",
        anchor,
        "--limit",
        "5",
        "--json",
    )
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.output)
    client = create_app(load_settings({}, data_dir=data_dir)).test_client()
    from_api = client.get(
        "/api/v1/recommendations",
        query_string={
            "shop": SHOP,
            "context": "product",
            "slot": "similar",
            "product_id": anchor,
            "limit": 5,
        },
    ).get_json()
    assert from_cli.pop("request_id") != from_api.pop("request_id")
    assert from_cli == from_api
    assert len(from_cli["items"]) == 5


def test_recommend_prints_a_readable_list(data_dir: Path, anchor: str) -> None:
    result = run(
        data_dir,
        "recommend",
        "--context",
        "cart",
        "--product",
        anchor,
        "--product",
        "p002",
        "--limit",
        "3",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"shop {SHOP} · cart/complete_the_look")
    assert [line.split(".")[0].strip() for line in lines[1:]] == ["1", "2", "3"]
    assert all(len(line) > 20 for line in lines[1:])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--context", "checkout"], ["context must be one of", "'cart'", "'product'"]),
        (
            ["--context", "home", "--slot", "similar"],
            ["slot must be one of", "'for_you'", "'trending'"],
        ),
        (["--context", "home", "--limit", "0"], ["limit must be an integer between 1 and 50"]),
    ],
)
def test_recommend_bad_input_names_the_valid_values(
    data_dir: Path, args: list[str], words: list[str]
) -> None:
    result = run(data_dir, "recommend", *args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    for word in words:
        assert word in result.output


def test_recommend_unknown_shop(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path), "--shop", "nope", "recommend", "--context", "home"]
    )
    assert result.exit_code == 1 and "unknown shop 'nope'" in result.output
    assert "shoprec demo" in result.output


def test_demo_trains_an_existing_shop_and_prints_urls(data_dir: Path, anchor: str) -> None:
    shutil.rmtree(data_dir / SHOP / "models", ignore_errors=True)
    result = run(data_dir, "demo", "--no-serve", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert "shop demo already has 306 products: not generating" in result.output
    assert "generated" not in result.output
    for model in ("popularity", "collaborative", "rules", "content", "taste"):
        assert model in result.output
    assert "storefront:   http://127.0.0.1:8123/" in result.output
    assert f"product page: http://127.0.0.1:8123/demo/product/{anchor}" in result.output
    assert f"http://127.0.0.1:8123/demo/cart?items={anchor},p" in result.output
    assert f"/api/v1/recommendations?shop=demo&context=product&product_id={anchor}" in result.output
    assert "admin:        http://127.0.0.1:8123/admin/login" in result.output
    assert "admin login:" not in result.output  # a shop the demo did not generate
    assert any(p.suffix == ".npz" for p in (data_dir / SHOP).rglob("*"))


def test_demo_generates_the_full_shop(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = run(data_dir, "demo", "--no-serve")
    assert result.exit_code == 0, result.output
    assert "generated shop demo: 306 products, 600 customers, " in result.output
    assert "simulated storefront traffic: " in result.output
    passwords = re.findall(r"admin login:  user demo, password (\S+) ", result.output)
    assert len(passwords) == 1 and len(passwords[0]) >= 16
    client = create_app(load_settings({}, data_dir=data_dir)).test_client()
    answer = client.get("/api/v1/recommendations?shop=demo&context=home").get_json()
    assert len(answer["items"]) == 8


@pytest.mark.parametrize("mode", [[], ["--dev"]])
def test_serve_answers_over_http(data_dir: Path, tmp_path: Path, mode: list[str]) -> None:
    server = start_server(data_dir, tmp_path / "serve.log", "--workers", "1", *mode)
    try:
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as response:
            assert json.loads(response.read()) == {
                "status": "ok",
                "redis": "absent",
                "shops": 1,
                "checks": {"data_dir": {"ok": True}},
            }
        api = f"{server.url}/api/v1/recommendations?shop=demo&context=home"
        with urllib.request.urlopen(api, timeout=5) as response:
            assert len(json.loads(response.read())["items"]) == 8
    finally:
        server.stop()
    if not mode:
        assert "Booting worker" in server.log.read_text()  # it was gunicorn, not werkzeug


# --- the demo's setup step: traffic for the overview, a usable admin login ----------------

SMALL = {"n_customers": 150, "days": 180}


def _overview_metric(client: Any, name: str) -> float:
    page = client.get(f"/admin/{SHOP}/overview").get_data(as_text=True)
    match = re.search(rf'data-metric="{name}">([^<]+)<', page)
    assert match, page[:500]
    return float(re.sub(r"[^0-9.]", "", match.group(1)) or 0)


def test_demo_setup_leaves_a_working_admin_login_and_traffic(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data")
    setup = prepare_demo(settings, SHOP, seed=3, sizes=SMALL)
    assert any(line.startswith("simulated storefront traffic: ") for line in setup.lines)
    assert len(setup.admin_password) >= 16 and setup.settings.secret_key
    app = create_app(setup.settings, test_config={"TESTING": True})
    client = app.test_client()
    assert log_in(client, "demo", "wrong password!").status_code == 401
    response = log_in(client, DEMO_ADMIN_USER, setup.admin_password)
    assert response.status_code == 302 and response.location.endswith(f"/admin/{SHOP}/overview")
    for metric in ("impressions", "clicks", "conversions", "revenue"):
        assert _overview_metric(client, metric) > 0, metric

    again = prepare_demo(settings, SHOP, seed=3, sizes=SMALL)
    assert again.admin_password and again.admin_password != setup.admin_password
    assert f"shop {SHOP} already has" in again.lines[1]
    assert not any(line.startswith("simulated") for line in again.lines)  # traffic added once
    client = create_app(again.settings, test_config={"TESTING": True}).test_client()
    assert log_in(client, DEMO_ADMIN_USER, setup.admin_password).status_code == 401
    assert log_in(client, DEMO_ADMIN_USER, again.admin_password).status_code == 302


def test_demo_setup_adds_no_login_to_a_shop_it_did_not_make(trained_settings: Settings) -> None:
    setup = prepare_demo(trained_settings, SHOP)
    assert setup.admin_password == ""
    assert any("no demo login added" in line for line in setup.lines)
    db = open_shop_db(trained_settings.data_dir, SHOP, create=False)
    try:
        assert list_admin_users(db) == []
    finally:
        db.close()


def test_demo_keeps_a_configured_secret_key(trained_settings: Settings) -> None:
    configured = dataclasses.replace(trained_settings, secret_key="k" * 40)
    assert prepare_demo(configured, SHOP).settings.secret_key == "k" * 40
