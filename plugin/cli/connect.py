"""`shoprec connect woocommerce` and `shoprec sync` (DESIGN.md CLI contract).

Shopify connects through its OAuth install in the web app (/shopify/install); these
commands cover WooCommerce's key-based connect and the sync of any connected platform.
Secrets are never printed.
"""

from __future__ import annotations

import json
import shutil

import click

from connectors.errors import PlatformAuthError, PlatformError
from connectors.http_client import HTTPCallError
from plugin.cli.main import CliContext, pass_cli
from storage.connections import PLATFORMS, Connection, connection_summary, get_connection
from storage.db import list_shops, open_shop_db, shop_dir, shop_exists
from storage.sync_state import reset_sync_state
from worker.sync_run import run_shop_sync
from worker.woocommerce_sync import connect_woocommerce


@click.group(name="connect")
def connect_group() -> None:
    """Connect the shop to a platform (WooCommerce; Shopify installs via /shopify/install)."""


@connect_group.command(name="woocommerce")
@click.option("--url", "store_url", required=True, help="The store's URL (https://shop.example).")
@click.option("--key", "consumer_key", required=True, help="REST API consumer key (ck_...).")
@click.option(
    "--secret",
    "consumer_secret",
    required=True,
    envvar="SHOPREC_WOO_CONSUMER_SECRET",
    help="REST API consumer secret (cs_...) [env SHOPREC_WOO_CONSUMER_SECRET].",
)
@click.option("--no-backfill", is_flag=True, help="Connect and register webhooks only.")
@pass_cli
def connect_woocommerce_command(
    cli_ctx: CliContext, store_url: str, consumer_key: str, consumer_secret: str, no_backfill: bool
) -> None:
    """Check the keys, register webhooks to SHOPREC_PUBLIC_URL, then backfill the store."""
    settings, shop = cli_ctx.settings, cli_ctx.shop
    folder = shop_dir(settings.data_dir, shop)
    new_shop = not folder.exists()
    try:
        _connect_and_backfill(cli_ctx, store_url, consumer_key, consumer_secret, no_backfill)
    except Exception as exc:
        if not new_shop:
            raise
        # Nothing of this shop existed before: leave no half-made folder behind (an
        # existing shop's data is never touched here).
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, click.ClickException):
            raise click.ClickException(
                f"{exc.message}; the new shop {shop} was not kept (run connect again)"
            ) from exc
        raise


def _connect_and_backfill(
    cli_ctx: CliContext, store_url: str, consumer_key: str, consumer_secret: str, no_backfill: bool
) -> None:
    settings, shop = cli_ctx.settings, cli_ctx.shop
    db = open_shop_db(settings.data_dir, shop)
    try:
        result = connect_woocommerce(settings, db, shop, store_url, consumer_key, consumer_secret)
    except (PlatformAuthError, PlatformError, HTTPCallError, ValueError) as exc:
        raise click.ClickException(f"could not connect to {store_url}: {exc}") from exc
    finally:
        db.close()
    hooks = result["webhooks"]
    click.echo(
        f"connected shop {shop} to {result['store_url']}: webhooks created "
        f"{len(hooks['created'])}, re-activated {len(hooks['reactivated'])}, "
        f"re-pointed {len(hooks['moved'])}, removed {len(hooks['removed'])}, "
        f"already fine {len(hooks['ok'])}"
    )
    for warning in result["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    if not no_backfill:
        _sync_and_print(cli_ctx, "woocommerce", as_json=False)


def _sync_and_print(cli_ctx: CliContext, platform: str, *, as_json: bool) -> None:
    try:
        report = run_shop_sync(cli_ctx.settings, cli_ctx.shop, platform)
    except (PlatformError, HTTPCallError) as exc:
        raise click.ClickException(
            f"{platform} sync of {cli_ctx.shop} stopped: {exc} (run it again: it resumes)"
        ) from exc
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
        return
    if report.get("status") == "broken":
        raise click.ClickException(f"{platform} connection is broken: {report.get('error')}")
    for res in report.get("resources", []):
        changed = ", ".join(f"{k} {v}" for k, v in sorted(res["changed"].items()))
        click.echo(
            f"{platform} {res['resource']}: {res['mode']}, {res['pages']} pages, "
            f"{res['records']} records ({changed}; stale skipped {res['stale_skipped']})"
        )
    if report.get("rejected"):
        click.echo(f"rejected {report['rejected']}: {'; '.join(report['first_rejections'])}")


def _connections(cli_ctx: CliContext, shop: str) -> list[Connection]:
    db = open_shop_db(cli_ctx.settings.data_dir, shop, create=False)
    try:
        found = [c for c in (get_connection(db, p) for p in PLATFORMS) if c is not None]
    finally:
        db.close()
    return [c for c in found if c.status != "uninstalled"]


@connect_group.command(name="woocommerce-plugin")
@pass_cli
def connect_woocommerce_plugin(cli_ctx: CliContext) -> None:
    """Prepare the shop for the WordPress plugin: print the three values its settings page asks.

    Creates the shop if it is new and its identity secret if it has none; the plugin's Connect
    button then hands shoprec the store's REST keys (WooCommerce's key exchange).
    """
    from plugin.storefront.shopper_identity import ensure_identity_secret

    settings = cli_ctx.settings
    db = open_shop_db(settings.data_dir, cli_ctx.shop)
    try:
        secret = ensure_identity_secret(db, "cli (connect woocommerce-plugin)")
    finally:
        db.close()
    if not settings.public_url.startswith("https://"):
        click.echo(
            "warning: SHOPREC_PUBLIC_URL is not https; WooCommerce only posts its keys to an "
            "https callback",
            err=True,
        )
    click.echo("In WordPress: WooCommerce > shoprec, then Save and Connect to shoprec.")
    click.echo(f"shoprec URL:     {settings.public_url}")
    click.echo(f"shop name:       {cli_ctx.shop}")
    click.echo(f"identity secret: {secret}")


@click.command(name="sync")
@click.option("--json", "as_json", is_flag=True, help="Print each platform's report as JSON.")
@click.option(
    "--all-shops", is_flag=True, help="Every connected shop under the data dir, not just --shop."
)
@click.option(
    "--full", is_flag=True, help="Forget the cursors and watermarks first: a full backfill."
)
@pass_cli
def sync_command(cli_ctx: CliContext, as_json: bool, all_shops: bool, full: bool) -> None:
    """Incremental/reconciliation sync of every platform the shop is connected to
    (the backfill, resumed, if it never finished). Run it periodically (cron)."""
    settings = cli_ctx.settings
    if all_shops:
        shops = list_shops(settings.data_dir)
    else:
        if not shop_exists(settings.data_dir, cli_ctx.shop):
            raise click.ClickException(f"no shop named {cli_ctx.shop!r} under {settings.data_dir}")
        shops = [cli_ctx.shop]
    synced = 0
    for shop in shops:
        shop_ctx = CliContext(settings=settings, shop=shop)
        for connection in _connections(shop_ctx, shop):
            if full:
                db = open_shop_db(settings.data_dir, shop, create=False)
                try:
                    reset_sync_state(db, connection.platform)
                finally:
                    db.close()
            if not as_json:
                summary = connection_summary(connection)
                click.echo(
                    f"{shop}: {summary['platform']} ({summary['shop_domain']}), {summary['status']}"
                )
            _sync_and_print(shop_ctx, connection.platform, as_json=as_json)
            synced += 1
    if not synced:
        raise click.ClickException(
            "no shop is connected to a platform"
            if all_shops
            else f"shop {cli_ctx.shop} is connected to no platform"
        )


COMMANDS: list[click.Command] = [connect_group, sync_command]
