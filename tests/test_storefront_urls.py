"""Product links for CSV shops: the storefront URL and URL template, and the import warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.db import open_shop_db
from storage.shop_settings import get_shop_setting
from worker.imports import import_file
from worker.storefront_urls import (
    StorefrontUrlError,
    StorefrontUrls,
    save_storefront_urls,
    storefront_urls,
)

CSV = (
    "product_id,title,price,url,image_url\n"
    "mug-1,Mug,9.50,,/img/mug.png\n"
    "pot 2,Tea pot,30.00,/products/pot-2,\n"
    "bag-3,Bag,12.00,https://elsewhere.example/bag,https://cdn.example/bag.png\n"
)


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    path = tmp_path / "products.csv"
    path.write_text(CSV)
    return path


def products(tmp_path: Path) -> dict[str, dict]:
    db = open_shop_db(tmp_path / "data", "csvshop")
    try:
        return {row["product_id"]: row for row in db["products"].rows}
    finally:
        db.close()


def test_without_settings_the_import_warns_and_keeps_the_urls_as_given(
    tmp_path: Path, feed: Path
) -> None:
    db = open_shop_db(tmp_path / "data", "csvshop")
    try:
        report = import_file(db, "products", feed)
    finally:
        db.close()
    assert len(report.warnings) == 2
    assert report.warnings[0].startswith("1 of 3 products have no URL")
    assert "--url-template" in report.warnings[0]
    assert "1 products have site-relative URLs" in report.warnings[1]
    assert "warning: " + report.warnings[0] in report.lines()
    stored = products(tmp_path)
    assert stored["mug-1"]["url"] in ("", None)
    assert stored["pot 2"]["url"] == "/products/pot-2"


def test_the_template_and_base_make_every_link_absolute(tmp_path: Path, feed: Path) -> None:
    db = open_shop_db(tmp_path / "data", "csvshop")
    try:
        save_storefront_urls(db, "https://shop.example/", "/products/{handle}", "test")
        report = import_file(db, "products", feed)
        kept = get_shop_setting(db, "product_url_template")
    finally:
        db.close()
    assert report.warnings == []
    assert kept == "/products/{handle}"
    stored = products(tmp_path)
    assert stored["mug-1"]["url"] == "https://shop.example/products/mug-1"
    assert stored["mug-1"]["image_url"] == "https://shop.example/img/mug.png"
    assert stored["pot 2"]["url"] == "https://shop.example/products/pot-2"  # given, joined
    assert stored["bag-3"]["url"] == "https://elsewhere.example/bag"  # absolute: untouched
    assert stored["bag-3"]["image_url"] == "https://cdn.example/bag.png"


def test_ids_are_escaped_in_the_template() -> None:
    urls = StorefrontUrls("", "https://shop.example/p/{product_id}?ref=recs")
    assert urls.product_url("a b/c") == "https://shop.example/p/a%20b%2Fc?ref=recs"


@pytest.mark.parametrize(
    "base, template, reason",
    [
        ("javascript:alert(1)", None, "not an http"),
        ("https://shop.example?x=1", None, "http"),
        ("", "https://shop.example/products", "must contain"),
        ("", "/products/{handle}", "site-relative"),
        ("", "javascript:go({handle})", "not an http"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_stored(
    tmp_path: Path, base: str, template: str | None, reason: str
) -> None:
    db = open_shop_db(tmp_path / "data", "csvshop")
    try:
        with pytest.raises(StorefrontUrlError, match=reason):
            save_storefront_urls(db, base if base else None, template, "test")
        assert storefront_urls(db) == StorefrontUrls()
    finally:
        db.close()


def test_the_import_command_stores_the_template_and_links_products(tmp_path) -> None:
    from click.testing import CliRunner

    from plugin.cli.main import cli
    from storage.catalog import get_products
    from storage.db import open_shop_db

    csv = tmp_path / "products.csv"
    csv.write_text("product_id,title,price\nmug-1,Mug,9.5\n")
    base = ["--data-dir", str(tmp_path / "data"), "--shop", "csvshop", "import", "products"]
    bare = CliRunner().invoke(cli, [*base, str(csv)])
    assert bare.exit_code == 0 and "warning:" in bare.output
    result = CliRunner().invoke(
        cli,
        [*base, str(csv), "--url-template", "https://shop.example/products/{handle}"],
    )
    assert result.exit_code == 0, result.output
    db = open_shop_db(tmp_path / "data", "csvshop", create=False)
    try:
        assert get_products(db, ["mug-1"])["mug-1"]["url"] == "https://shop.example/products/mug-1"
    finally:
        db.close()
    refused = CliRunner().invoke(cli, [*base, str(csv), "--url-template", "javascript:x{handle}"])
    assert refused.exit_code == 1 and "Error:" in refused.output


def test_connect_woocommerce_plugin_prints_what_the_settings_page_asks(tmp_path) -> None:
    from click.testing import CliRunner

    from plugin.cli.main import cli

    args = ["--data-dir", str(tmp_path / "data"), "--shop", "wooshop", "connect"]
    first = CliRunner().invoke(cli, [*args, "woocommerce-plugin"])
    assert first.exit_code == 0, first.output
    assert "shop name:       wooshop" in first.stdout
    secret = first.stdout.split("identity secret:", 1)[1].split()[0]
    assert len(secret) >= 32 and "not https" in first.stderr  # the default URL is http
    again = CliRunner().invoke(cli, [*args, "woocommerce-plugin"])
    assert secret in again.stdout  # the same secret: the plugin keeps working
