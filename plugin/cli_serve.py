"""`shoprec recommend`, `shoprec serve` and `shoprec demo`: asking for a list, and serving.

`recommend --json` prints exactly what GET /api/v1/recommendations answers, because both go
through plugin.recommendations.RecommendationService with the same validation.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click
from flask import Flask
from gunicorn.app.base import BaseApplication

from config import Settings
from plugin import create_app
from plugin.cli import CliContext, pass_cli
from plugin.errors import ApiError
from plugin.recommendations import FALLBACK_NEWEST, FALLBACK_POPULAR, build_service
from plugin.request_params import parse_recommendation_query
from storage.catalog import count_products
from storage.db import open_shop_db
from storage.demo_shop import generate_demo_shop
from storage.orders import popular_products
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
    answer = service.recommend(params)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    _echo_answer(answer)


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


def run_server(settings: Settings, host: str, port: int, workers: int, dev: bool) -> None:
    """Serve create_app(settings) with gunicorn, or with werkzeug when `dev`."""
    app = create_app(settings)
    if dev:
        from werkzeug.serving import run_simple

        run_simple(host, port, app, use_reloader=False, threaded=True)
        return
    GunicornServer(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "accesslog": "-",
            "errorlog": "-",
            "timeout": 30,
            "graceful_timeout": 10,
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


@click.command()
@_serve_options
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the demo data.")
@click.option("--no-serve", is_flag=True, help="Stop after generating and training.")
@pass_cli
def demo(
    cli_ctx: CliContext, host: str, port: int, workers: int, dev: bool, seed: int, no_serve: bool
) -> None:
    """Generate the demo shop (unless it has data), train it, and serve the demo storefront."""
    settings, shop = cli_ctx.settings, cli_ctx.shop
    db = open_shop_db(settings.data_dir, shop)
    try:
        existing = count_products(db)
        if existing:
            click.echo(f"shop {shop} already has {existing} products: not generating")
        else:
            # Noon today, so the demo's "recent" and "trending" are recent today, and two
            # runs on the same day generate the same shop.
            today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
            summary = generate_demo_shop(db, seed=seed, now=today)
            click.echo(
                f"generated shop {shop}: {summary.products} products, "
                f"{summary.customers} customers, {summary.orders} orders, "
                f"{summary.events} events"
            )
        top = popular_products(db, limit=2) or ["p001", "p002"]
    finally:
        db.close()
    report = train_shop(settings, shop)
    for line in report.lines():
        click.echo(line)
    base = f"http://{host}:{port}"
    click.echo(f"storefront:   {base}/")
    click.echo(f"product page: {base}/demo/product/{top[0]}")
    click.echo(f"cart:         {base}/demo/cart?items={','.join(top)}")
    click.echo(
        f"API:          {base}/api/v1/recommendations?shop={shop}&context=product"
        f"&product_id={top[0]}"
    )
    if not no_serve:
        run_server(settings, host, port, workers, dev)


COMMANDS: list[click.Command] = [recommend, serve, demo]
