"""`shoprec recommend`, `shoprec serve` and `shoprec demo`."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from live_server import start_server

from config import Settings, load_settings
from plugin import create_app
from plugin.cli import cli
from storage.db import open_shop_db
from storage.orders import popular_products

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
    assert any(p.suffix == ".npz" for p in (data_dir / SHOP).rglob("*"))


def test_demo_generates_the_full_shop(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = run(data_dir, "demo", "--no-serve")
    assert result.exit_code == 0, result.output
    assert "generated shop demo: 306 products, 600 customers, " in result.output
    client = create_app(load_settings({}, data_dir=data_dir)).test_client()
    answer = client.get("/api/v1/recommendations?shop=demo&context=home").get_json()
    assert len(answer["items"]) == 8


@pytest.mark.parametrize("mode", [[], ["--dev"]])
def test_serve_answers_over_http(data_dir: Path, tmp_path: Path, mode: list[str]) -> None:
    server = start_server(data_dir, tmp_path / "serve.log", "--workers", "1", *mode)
    try:
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as response:
            assert json.loads(response.read()) == {"status": "ok", "redis": "absent", "shops": 1}
        api = f"{server.url}/api/v1/recommendations?shop=demo&context=home"
        with urllib.request.urlopen(api, timeout=5) as response:
            assert len(json.loads(response.read())["items"]) == 8
    finally:
        server.stop()
    if not mode:
        assert "Booting worker" in server.log.read_text()  # it was gunicorn, not werkzeug
