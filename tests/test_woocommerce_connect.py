"""Connecting WooCommerce again, to a new public URL or after a failure (`responses`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from config import Settings, load_settings
from connectors.http_client import new_session
from connectors.reachability import public_url_warnings
from connectors.woocommerce.api import WEBHOOK_TOPICS
from plugin.cli.main import cli
from storage.connections import get_connection
from storage.db import open_shop_db, shop_dir
from storage.shop_settings import get_shop_setting
from tests.woocommerce_platform import STORE, FakeWooCommerce, order, product, serve_healthz
from worker.woocommerce_sync import WEBHOOK_SECRET_KEY, connect_woocommerce

SHOP = "coffee"
OLD = "https://old-recs.example.test"
NEW = "https://recs.example.test"


def no_dns(host: str) -> list[str]:
    return []


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({}, data_dir=tmp_path / "data", public_url=NEW)


@pytest.fixture
def fake() -> Iterator[FakeWooCommerce]:
    store = FakeWooCommerce(products=[product(n) for n in range(5)], orders=[order(1, [1, 2])])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        store.install(rsps)
        serve_healthz(rsps, NEW)
        serve_healthz(rsps, OLD)
        yield store


def connect(settings: Settings) -> dict:
    db = open_shop_db(settings.data_dir, SHOP)
    try:
        return connect_woocommerce(settings, db, SHOP, STORE, "ck", "cs", resolve=no_dns)
    finally:
        db.close()


def test_reconnect_with_a_new_public_url_repoints_the_old_webhooks(
    settings: Settings, fake: FakeWooCommerce
) -> None:
    connect(dataclasses.replace(settings, public_url=OLD))
    fake.add_webhook("order.created", f"{OLD}/webhooks/woocommerce/{SHOP}")  # a duplicate
    others = [
        fake.add_webhook("order.created", f"{OLD}/webhooks/woocommerce/tea"),  # another shop
        {**fake.add_webhook("order.created", "https://erp.example.test/hook"), "name": "ERP"},
    ]
    result = connect(settings)
    hooks = result["webhooks"]
    assert sorted(hooks["moved"]) == sorted(WEBHOOK_TOPICS)
    assert hooks["removed"] == ["order.created"] and hooks["created"] == []
    ours = [h for h in fake.webhooks if h["delivery_url"].endswith(f"/woocommerce/{SHOP}")]
    assert sorted(h["topic"] for h in ours) == sorted(WEBHOOK_TOPICS)  # one per topic
    assert {h["delivery_url"] for h in ours} == {f"{NEW}/webhooks/woocommerce/{SHOP}"}
    assert {h["status"] for h in ours} == {"active"}
    untouched = [h for h in fake.webhooks if h not in ours]
    assert [h["delivery_url"] for h in untouched] == [o["delivery_url"] for o in others]
    assert result["warnings"] == []


def test_webhooks_left_from_a_lost_shop_get_the_new_secret(
    settings: Settings, fake: FakeWooCommerce
) -> None:
    for topic in WEBHOOK_TOPICS:  # the shop's folder was lost; its webhooks were not
        fake.add_webhook(topic, f"{NEW}/webhooks/woocommerce/{SHOP}")
    result = connect(settings)
    assert sorted(result["webhooks"]["updated"]) == sorted(WEBHOOK_TOPICS)
    db = open_shop_db(settings.data_dir, SHOP)
    secret = get_shop_setting(db, WEBHOOK_SECRET_KEY)
    db.close()
    assert {h["secret_seen"] for h in fake.webhooks} == {secret}
    assert len(fake.webhooks) == len(WEBHOOK_TOPICS)


def test_webhooks_the_store_disables_at_once_are_reported(
    settings: Settings, fake: FakeWooCommerce
) -> None:
    fake.ping_status = "disabled"  # the store's ping to the delivery URL failed
    result = connect(settings)
    assert sorted(result["webhooks"]["not_active"]) == sorted(WEBHOOK_TOPICS)
    assert len(result["warnings"]) == 1 and "did not leave the webhooks" in result["warnings"][0]
    db = open_shop_db(settings.data_dir, SHOP)
    connection = get_connection(db, "woocommerce")
    db.close()
    assert connection is not None and connection.status == "active"
    assert "did not leave the webhooks" in (connection.status_reason or "")


def test_unreachable_loopback_public_url_is_warned_in_the_cli_and_kept_as_a_note(
    settings: Settings, fake: FakeWooCommerce
) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(settings.data_dir), "--shop", SHOP]
    dead = "http://127.0.0.1:9"  # nothing answers there (and `responses` lets nothing out)
    args = [*base, "connect", "woocommerce", "--url", STORE, "--key", "ck", "--secret", "cs"]
    result = runner.invoke(cli, [*args, "--no-backfill"], env={"SHOPREC_PUBLIC_URL": dead})
    assert result.exit_code == 0, result.output
    assert f"warning: SHOPREC_PUBLIC_URL {dead} looks unreachable: {dead}/healthz" in result.output
    assert f"warning: SHOPREC_PUBLIC_URL {dead} is a loopback address" in result.output
    db = open_shop_db(settings.data_dir, SHOP)
    connection = get_connection(db, "woocommerce")
    db.close()
    assert connection is not None and connection.status == "active"
    assert "looks unreachable" in (connection.status_reason or "")
    again = runner.invoke(cli, [*args, "--no-backfill"], env={"SHOPREC_PUBLIC_URL": NEW})
    assert again.exit_code == 0 and "warning" not in again.output, again.output
    db = open_shop_db(settings.data_dir, SHOP)
    connection = get_connection(db, "woocommerce")
    db.close()
    assert connection is not None and connection.status_reason is None


@pytest.mark.parametrize(
    ("public", "store", "dns", "warned"),
    [
        ("https://recs.internal", "https://shop.example", {"recs.internal": ["10.0.0.5"]}, True),
        ("http://localhost:8000", "https://shop.example", {}, True),
        ("http://[::1]:8000", "https://shop.example", {}, True),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8080", {}, False),  # same machine
        ("http://10.0.0.5:8000", "http://192.168.1.20", {}, False),  # same private network
        (
            "https://recs.example",
            "https://shop.example",
            {"recs.example": ["93.184.216.34"]},
            False,
        ),
    ],
)
def test_public_url_address_the_store_cannot_reach(
    public: str, store: str, dns: dict[str, list[str]], warned: bool
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve_healthz(rsps, public)
        warnings = public_url_warnings(
            new_session(), public, store, resolve=lambda host: dns.get(host, [])
        )
    assert bool(warnings) is warned, warnings
    assert all("cannot deliver webhooks" in w for w in warnings)


def test_a_failed_connect_or_first_import_keeps_no_new_shop_folder(
    settings: Settings, fake: FakeWooCommerce
) -> None:
    runner = CliRunner()
    env = {"SHOPREC_PUBLIC_URL": NEW}
    args = ["connect", "woocommerce", "--url", STORE, "--key", "ck", "--secret", "cs"]
    fake.faults.append("401")  # bad keys
    result = runner.invoke(
        cli, ["--data-dir", str(settings.data_dir), "--shop", "a", *args], env=env
    )
    assert result.exit_code == 1 and "cannot list resources" in result.output
    assert "was not kept" in result.output
    assert not shop_dir(settings.data_dir, "a").exists()
    fake.faults.extend(["ok", "401"])  # the keys pass, the first page of the backfill fails
    result = runner.invoke(
        cli, ["--data-dir", str(settings.data_dir), "--shop", "b", *args], env=env
    )
    assert result.exit_code == 1 and "connection is broken" in result.output
    assert not shop_dir(settings.data_dir, "b").exists()
    # An existing shop's data is never removed, whatever fails.
    db = open_shop_db(settings.data_dir, SHOP)
    db.conn.execute("CREATE TABLE keep_me (x)")
    db.close()
    fake.faults.append("401")
    result = runner.invoke(
        cli, ["--data-dir", str(settings.data_dir), "--shop", SHOP, *args], env=env
    )
    assert result.exit_code == 1 and "was not kept" not in result.output
    db = open_shop_db(settings.data_dir, SHOP)
    assert db["keep_me"].exists()
    db.close()
