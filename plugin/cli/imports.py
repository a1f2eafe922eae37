"""`shoprec import products|orders|events FILE [--format ...]`: load a CSV feed into a shop."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlite_utils

from connectors.errors import FeedError
from connectors.feeds.feed_formats import FORMAT_NAMES, KINDS
from plugin.cli.main import CliContext, pass_cli
from storage.db import open_shop_db
from worker.imports import ImportReport, import_file
from worker.storefront_urls import StorefrontUrlError, save_storefront_urls

# Files above this size get a progress bar (fed from on-disk bytes read).
PROGRESS_MIN_BYTES = 5 * 1024 * 1024


@click.command(name="import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("auto", *FORMAT_NAMES)),
    default="auto",
    show_default=True,
    help="Layout of FILE; auto detects it from the header row.",
)
@click.option(
    "--storefront-url",
    default=None,
    help="The shop's storefront (https://shop.example): site-relative product links are "
    "joined to it. Kept for later imports.",
)
@click.option(
    "--url-template",
    default=None,
    help="Product link for products without one, e.g. "
    "'https://shop.example/products/{handle}' ({handle} or {product_id} is the product id; "
    "a template starting with / is joined to the storefront URL). Kept for later imports.",
)
@pass_cli
def import_command(
    cli_ctx: CliContext,
    kind: str,
    file: Path,
    fmt: str,
    storefront_url: str | None,
    url_template: str | None,
) -> None:
    """Import a CSV (plain or .gz) of products, orders or events into the shop.

    Prints rows read, stored (new or changed), rejected (with the first reasons) and
    skipped. Malformed rows are rejected one by one; the rest of the file still imports.
    """
    if not file.is_file():
        raise click.ClickException(f"no such file: {file}")
    db = open_shop_db(cli_ctx.settings.data_dir, cli_ctx.shop)
    try:
        if storefront_url is not None or url_template is not None:
            save_storefront_urls(db, storefront_url, url_template, "cli (import)")
        report = _run(db, kind, file, fmt)
    except (FeedError, StorefrontUrlError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.close()
    click.echo(f"shop: {cli_ctx.shop}")
    for line in report.lines():
        click.echo(line)


def _run(db: sqlite_utils.Database, kind: str, file: Path, fmt: str) -> ImportReport:
    size = file.stat().st_size
    if size < PROGRESS_MIN_BYTES:
        return import_file(db, kind, file, fmt)
    # On stderr, so stdout carries only the report (and stays parseable).
    with click.progressbar(length=size, label=f"importing {file.name}", file=sys.stderr) as bar:
        return import_file(db, kind, file, fmt, progress=bar.update)


COMMANDS: list[click.Command] = [import_command]
