"""`shoprec export`: a shop's training data as Parquet, for a Spark cluster (spark_engine)."""

from __future__ import annotations

from pathlib import Path

import click

from plugin.cli.main import CliContext, pass_cli
from storage.db import open_shop_db
from storage.errors import ExportError, UnknownShop
from storage.parquet_export import export_shop


@click.command(name="export")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder (local, or mounted shared storage) to write products/, purchases/, events/.",
)
@pass_cli
def export_command(cli_ctx: CliContext, out: Path) -> None:
    """Write the shop's products, purchase lines and events as Parquet (by shop and month)."""
    try:
        db = open_shop_db(cli_ctx.settings.data_dir, cli_ctx.shop, create=False)
    except UnknownShop as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        counts = export_shop(db, cli_ctx.shop, out)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.close()
    span = f"{counts.months[0]}..{counts.months[-1]}" if counts.months else "no months"
    click.echo(
        f"exported shop {cli_ctx.shop} to {out}: {counts.products} products, "
        f"{counts.purchases} purchase lines, {counts.events} events ({span})"
    )


COMMANDS = [export_command]
