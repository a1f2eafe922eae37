"""The `shoprec` command: a thin click group over the packages.

Each family of commands lives in its own module (cli_import, cli_engine, cli_serve,
cli_worker), loaded lazily, and receives the validated settings and shop name through `CliContext`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import click

from config import ConfigError, Settings, load_settings
from plugin.log_format import configure_logging_once
from storage.db import validate_shop_name
from storage.errors import InvalidShopName


@dataclass(frozen=True)
class CliContext:
    """What every command needs: the settings (read once) and the shop it acts on."""

    settings: Settings
    shop: str


pass_cli = click.make_pass_decorator(CliContext)

# Command name -> module defining it. Modules are imported only when their command runs (or
# for --help), so `shoprec import` does not pay for scikit-learn and Flask at start-up.
COMMAND_MODULES: dict[str, str] = {
    "import": "plugin.cli.imports",
    "train": "plugin.cli.engine_commands",
    "evaluate": "plugin.cli.engine_commands",
    "recommend": "plugin.cli.serve",
    "serve": "plugin.cli.serve",
    "demo": "plugin.cli.serve",
    "worker": "plugin.cli.worker",
    "campaigns": "plugin.cli.worker",
    "connect": "plugin.cli.connect",
    "sync": "plugin.cli.connect",
    "admin": "plugin.cli.admin",
    "privacy": "plugin.cli.privacy",
    "identity": "plugin.cli.identity",
    "schedule": "plugin.cli.schedule",
}


class LazyGroup(click.Group):
    """A click group whose subcommands live in modules loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMAND_MODULES:
            return super().get_command(ctx, cmd_name)
        module = importlib.import_module(COMMAND_MODULES[cmd_name])
        found: click.Command | None = next((c for c in module.COMMANDS if c.name == cmd_name), None)
        return found


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SHOPREC_DATA_DIR",
    default=None,
    help="Folder with one sub-folder per shop [env SHOPREC_DATA_DIR; default ./data].",
)
@click.option(
    "--shop",
    envvar="SHOPREC_SHOP",
    default=None,
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
    configure_logging_once(settings)  # as basicConfig: not over a test runner's capture
    ctx.obj = CliContext(settings=settings, shop=settings.default_shop)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="shoprec")
