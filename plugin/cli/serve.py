"""`shoprec recommend`, `shoprec serve` and `shoprec demo`: asking for a list, and serving.

`demo` shows the whole product on one machine: the generated shop with simulated widget
traffic (so the admin overview has figures), trained models, the storefront, and the admin
with a 'demo' login whose random password is printed once per start.

`recommend --json` prints exactly what GET /api/v1/recommendations answers, because both go
through serving.service.RecommendationService with the same validation.
"""

from __future__ import annotations

import errno
import gc
import json
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import click
import sqlite_utils
from flask import Flask
from gunicorn.app.base import BaseApplication

from config import Settings
from demo.shop import generate_demo_shop
from demo.traffic import simulate_demo_traffic
from plugin import create_app
from plugin.cli.main import CliContext, pass_cli
from plugin.errors import ApiError
from plugin.serve_metrics import prepare_multiprocess_dir, serve_options
from plugin.storefront.demo import DEMO_SIGNS_CUSTOMERS
from plugin.storefront.request_params import parse_recommendation_query
from plugin.storefront.shop_display import FORMAT_KEY, TITLES_KEY, display_from_settings
from serving.service import FALLBACK_NEWEST, FALLBACK_POPULAR, build_service
from storage.admin_users import has_admin_user, set_admin_password
from storage.catalog import count_products, get_products, sample_product_ids
from storage.db import open_shop_db
from storage.orders import popular_products
from storage.shop_settings import get_shop_setting
from worker.training import train_shop


@click.command()
@click.option(
    "--context", required=True, help="Placement: product, cart, home, email or post_purchase."
)
@click.option("--slot", default=None, help="List within the context (default: the context's).")
@click.option(
    "--product",
    "products",
    multiple=True,
    help="Anchor product id: the viewed product or a cart item (repeatable).",
)
@click.option("--customer", default=None, help="Customer id, for personal lists.")
@click.option(
    "--limit", type=str, default=None, help="Number of items (default SHOPREC_DEFAULT_LIMIT)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the storefront API's JSON object.")
@pass_cli
def recommend(
    cli_ctx: CliContext,
    context: str,
    slot: str | None,
    products: tuple[str, ...],
    customer: str | None,
    limit: str | None,
    as_json: bool,
) -> None:
    """Print one recommendation list, as the storefront API would answer it."""
    service = build_service(cli_ctx.settings)
    args = {
        "shop": cli_ctx.shop,
        "context": context,
        "slot": slot,
        "customer_id": customer,
        "limit": limit,
    }
    try:
        params = parse_recommendation_query(
            args,
            list(products),
            context=None,
            default_limit=cli_ctx.settings.default_limit,
            max_limit=cli_ctx.settings.max_limit,
            shop_exists=service.shop_exists,
        )
    except ApiError as exc:
        hint = " (import data or run `shoprec demo` first)" if exc.code == "unknown_shop" else ""
        raise click.ClickException(f"{exc}{hint}") from exc
    _check_known_products(cli_ctx.settings, params.shop, params.product_ids)
    answer = service.recommend(params)
    answer["widget"] = _widget_display(cli_ctx.settings, params.shop, params.slot)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    _echo_answer(answer)


def _check_known_products(settings: Settings, shop: str, product_ids: tuple[str, ...]) -> None:
    """Refuse product ids the catalog does not hold: the storefront answers them with best
    sellers (a page may show a product shoprec has not synced yet), but at the command line
    that silently hides a typo."""
    if not product_ids:
        return
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        known = get_products(db, list(product_ids))
        sample = sample_product_ids(db, 3)
    finally:
        db.close()
    unknown = [pid for pid in product_ids if pid not in known]
    if unknown:
        raise click.ClickException(
            f"no product {', '.join(repr(p) for p in unknown)} in shop {shop!r}'s catalog. "
            f"Use a product id from the shop's catalog (for example {', '.join(sample)}), or "
            "import or sync the products first."
        )


def _widget_display(settings: Settings, shop: str, slot: str) -> dict[str, str]:
    """The answer's "widget" object, as the storefront adds it (plugin.storefront.api._recommend),
    read on a short-lived connection: a one-shot command keeps no memo open."""
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        display = display_from_settings(
            shop, get_shop_setting(db, TITLES_KEY), get_shop_setting(db, FORMAT_KEY)
        )
    finally:
        db.close()
    return display.widget(slot)


def _echo_answer(answer: dict[str, Any]) -> None:
    click.echo(
        f"shop {answer['shop']} · {answer['context']}/{answer['slot']} · "
        f"request {answer['request_id']}"
    )
    items = answer["items"]
    if not items:
        click.echo("no recommendations (every candidate was excluded or the shop is empty)")
        return
    if items[0]["strategy"] in (FALLBACK_POPULAR[0], FALLBACK_NEWEST[0]):
        click.echo("models not trained yet: showing best sellers (run `shoprec train`)")
    width = max(len(str(item["title"])) for item in items)
    for item in items:
        click.echo(
            f"{item['position']:>3}. {item['title']:<{width}}  {item['price']:>9.2f}  "
            f"{item['reason']}"
        )


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn running an already-built Flask app (no import string, no config file)."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Copy our options into gunicorn's config."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """The WSGI app every worker serves."""
        return self.application


def check_port_free(host: str, port: int) -> None:
    """One clear line when the address is taken, instead of gunicorn's five retries and
    tracebacks. (A race with another program after this check still ends in gunicorn's own
    error: the check is for the usual case, a second `shoprec serve` or a forgotten one.)"""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"port {port} on {host} is already in use (another shoprec serve, or "
                    f"another program): stop it, or serve on a free port with --port"
                ) from None
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def run_server(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    dev: bool,
    app_config: Mapping[str, Any] | None = None,
) -> None:
    """Serve create_app(settings) with gunicorn (counters summed over its workers in
    /metrics), or with werkzeug when `dev` (one process: its own counters)."""
    check_port_free(host, port)
    if not dev:
        prepare_multiprocess_dir()  # before the app's metrics are made
    app = create_app(settings, app_config)
    if dev:
        from werkzeug.serving import run_simple

        run_simple(host, port, app, use_reloader=False, threaded=True)
        return
    # Everything built so far (modules, the app) lives as long as the server: frozen before
    # gunicorn forks, the workers' full collections do not walk it, and its memory pages stay
    # shared with the master instead of being copied when a collection touches them.
    gc.freeze()
    GunicornServer(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "accesslog": "-",
            "errorlog": "-",
            "timeout": 30,
            "graceful_timeout": 10,
            **serve_options(settings.log_format),
        },
    ).run()


def _serve_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--host", default="127.0.0.1", show_default=True, help="Interface to bind."
            ),
            click.option(
                "--port",
                type=click.IntRange(1, 65535),
                default=8000,
                show_default=True,
                help="Port to bind.",
            ),
            click.option(
                "--workers",
                type=click.IntRange(1, 64),
                default=2,
                show_default=True,
                help="gunicorn worker processes.",
            ),
            click.option("--dev", is_flag=True, help="Serve with werkzeug's development server."),
        ]
    ):
        func = option(func)
    return func


@click.command()
@_serve_options
@pass_cli
def serve(cli_ctx: CliContext, host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the web app (storefront API, widget, demo storefront) under gunicorn."""
    click.echo(f"serving http://{host}:{port}/ (data dir {cli_ctx.settings.data_dir})")
    run_server(cli_ctx.settings, host, port, workers, dev)


DEMO_ADMIN_USER = "demo"


@dataclass(frozen=True)
class DemoSetup:
    """What `prepare_demo` left behind: the settings to serve with and what to tell the user.

    settings: the given settings, plus a random per-run secret key when none was set (the
        admin refuses to run without one) and non-Secure cookies (the demo serves plain http).
    admin_password: the demo login's new password ('' when no login was made: see
        prepare_demo); random per run and printed once, never a fixed password.
    lines: the progress report, one line each.
    """

    settings: Settings
    admin_password: str
    lines: list[str] = field(default_factory=list)


def _fill_demo_shop(
    db: sqlite_utils.Database,
    shop: str,
    seed: int,
    sizes: Mapping[str, int],
    traffic: bool,
    lines: list[str],
) -> bool:
    """Generate the demo shop (and its storefront traffic) unless it has data; True if made."""
    existing = count_products(db)
    if existing:
        lines.append(f"shop {shop} already has {existing} products: not generating")
        return False
    # Noon today, so the demo's "recent" and "trending" are recent today, and two runs on the
    # same day generate the same shop.
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    summary = generate_demo_shop(db, seed=seed, now=today, **sizes)
    lines.append(
        f"generated shop {shop}: {summary.products} products, {summary.customers} customers, "
        f"{summary.orders} orders, {summary.events} events"
    )
    if not traffic:
        return True
    made = simulate_demo_traffic(db, seed=seed)
    lines.append(
        f"simulated storefront traffic: {made.impressions} impressions, "
        f"{made.clicks} clicks ({made.driven_clicks} followed by a purchase)"
    )
    return True


def prepare_demo(
    settings: Settings,
    shop: str,
    seed: int = 7,
    sizes: Mapping[str, int] | None = None,
    traffic: bool = True,
) -> DemoSetup:
    """Everything `shoprec demo` does before serving: data, traffic, models, an admin login.

    The shop is generated (with simulated widget traffic) only when it has no products. The
    'demo' login gets a fresh random password on every run, but only in a shop this command
    generated (now or on an earlier run, recognised by its existing 'demo' login), so
    `--shop real demo` never adds a login with a printed password to a real shop.

    Args:
        sizes: generate_demo_shop's size arguments (n_customers, days); its defaults if None.
        traffic: simulate storefront traffic in a newly generated shop.
    """
    lines: list[str] = []
    if not settings.secret_key:
        settings = replace(settings, secret_key=secrets.token_hex(32))
        lines.append("admin sessions: signed with a random key for this run only")
    settings = replace(settings, secure_cookies=False)  # the demo serves plain http
    db = open_shop_db(settings.data_dir, shop)
    try:
        generated = _fill_demo_shop(db, shop, seed, sizes or {}, traffic, lines)
        password = ""
        if generated or has_admin_user(db, DEMO_ADMIN_USER):
            password = secrets.token_urlsafe(12)
            set_admin_password(db, DEMO_ADMIN_USER, password)
        else:
            lines.append(
                f"no demo login added to the existing shop {shop}: use "
                "`shoprec admin set-password --user NAME` (or remove its folder to regenerate)"
            )
    finally:
        db.close()
    report = train_shop(settings, shop)
    lines.extend(report.lines())
    return DemoSetup(settings, password, lines)


def _demo_urls(setup: DemoSetup, shop: str, base: str) -> list[str]:
    db = open_shop_db(setup.settings.data_dir, shop, create=False)
    try:
        top = popular_products(db, limit=2) or ["p001", "p002"]
    finally:
        db.close()
    lines = [
        f"storefront:   {base}/",
        f"product page: {base}/demo/product/{top[0]}",
        f"cart:         {base}/demo/cart?items={','.join(top)}",
        f"API:          {base}/api/v1/recommendations?shop={shop}&context=product"
        f"&product_id={top[0]}",
        f"admin:        {base}/admin/login",
    ]
    if setup.admin_password:
        lines.append(
            f"admin login:  user {DEMO_ADMIN_USER}, password {setup.admin_password} "
            "(new on every start; shown only here)"
        )
    return lines


@click.command()
@_serve_options
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the demo data.")
@click.option("--no-serve", is_flag=True, help="Stop after generating and training.")
@pass_cli
def demo(
    cli_ctx: CliContext, host: str, port: int, workers: int, dev: bool, seed: int, no_serve: bool
) -> None:
    """Generate the demo shop and its traffic (unless it has data), train it, add a 'demo'
    admin login with a random password, and serve the storefront and the admin."""
    setup = prepare_demo(cli_ctx.settings, cli_ctx.shop, seed)
    for line in setup.lines + _demo_urls(setup, cli_ctx.shop, f"http://{host}:{port}"):
        click.echo(line)
    if not no_serve:
        # Only here does the demo storefront sign ?customer=ID for the page (as a shop's own
        # server would for its logged-in customer); a served shop's "/" never does.
        run_server(setup.settings, host, port, workers, dev, {DEMO_SIGNS_CUSTOMERS: True})


COMMANDS: list[click.Command] = [recommend, serve, demo]
