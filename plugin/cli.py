"""The `shoprec` command: a thin click group over the packages.

Each family of commands lives in its own module (cli_import, cli_engine, cli_serve,
cli_worker) and receives the validated settings and shop name through `CliContext`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import click

from config import ConfigError, Settings, load_settings
from storage.db import validate_shop_name
from storage.errors import InvalidShopName


@dataclass(frozen=True)
class CliContext:
    """What every command needs: the settings (read once) and the shop it acts on."""

    settings: Settings
    shop: str


pass_cli = click.make_pass_decorator(CliContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SHOPREC_DATA_DIR",
    default=None,
    help="Folder with one sub-folder per shop [env SHOPREC_DATA_DIR; default ./data].",
)
@click.option(
    "--shop", envvar="SHOPREC_SHOP", default=None,
    help="Shop to act on [env SHOPREC_SHOP; default demo].",
)
@click.version_option(package_name="shoprec")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, shop: str | None) -> None:
    """shoprec: self-hosted recommendations for Shopify and WooCommerce shops."""
    try:
        settings = load_settings(data_dir=data_dir, default_shop=shop)
        validate_shop_name(settings.default_shop)
    except (ConfigError, InvalidShopName) as exc:
        raise click.ClickException(str(exc)) from exc
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = CliContext(settings=settings, shop=settings.default_shop)


def _register() -> None:
    from plugin import cli_engine, cli_import, cli_serve, cli_worker

    for module in (cli_import, cli_engine, cli_serve, cli_worker):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="shoprec")
