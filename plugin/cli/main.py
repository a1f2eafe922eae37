"""The `shoprec` command: a thin click group over the packages.

Each family of commands lives in its own module of plugin/cli/, imported only when its command
runs, and receives the validated settings and shop name through `CliContext`. `shoprec --help`
imports none of them (their one-line help is listed here, and a test keeps the two equal), so
asking for help costs click and the settings, not pandas, scikit-learn and Flask.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import click

from config import ConfigError, Settings, load_settings


@dataclass(frozen=True)
class CliContext:
    """What every command needs: the settings (read once) and the shop it acts on."""

    settings: Settings
    shop: str


pass_cli = click.make_pass_decorator(CliContext)

# Command name -> (module defining it, its one-line help as `shoprec --help` lists it). Modules
# are imported only when their command runs, so `shoprec import` does not pay for scikit-learn
# and Flask, and `shoprec --help` pays for none of them.
COMMAND_MODULES: dict[str, tuple[str, str]] = {
    "admin": ("plugin.cli.admin", "Admin dashboard logins of the shop (--shop)."),
    "campaigns": (
        "plugin.cli.worker",
        "Email campaign timers and deliveries: see what is pending or parked, re-drive.",
    ),
    "connect": (
        "plugin.cli.connect",
        "Connect the shop to a platform (WooCommerce; Shopify installs via /shopify/install).",
    ),
    "demo": (
        "plugin.cli.serve",
        "Generate the demo shop and its traffic (unless it has data), train it, add a 'demo'...",
    ),
    "evaluate": (
        "plugin.cli.engine_commands",
        "Temporal split of the shop's orders: metrics for every strategy side by side.",
    ),
    "export": (
        "plugin.cli.export",
        "Write the shop's products, purchase lines and events as Parquet (by shop and month).",
    ),
    "identity": (
        "plugin.cli.identity",
        "Signed shopper identity of the shop (--shop): tokens, secret, API key, mode.",
    ),
    "import": (
        "plugin.cli.imports",
        "Import a CSV (plain or .gz) of products, orders or events into the shop.",
    ),
    "migrate": (
        "plugin.cli.migrate",
        "Apply pending schema migrations to every shop's store under the data dir.",
    ),
    "privacy": (
        "plugin.cli.privacy",
        "Data subject requests (export, erase) and event retention of the shop (--shop).",
    ),
    "recommend": (
        "plugin.cli.serve",
        "Print one recommendation list, as the storefront API would answer it.",
    ),
    "schedule": ("plugin.cli.schedule", "Periodic jobs per shop (needs REDIS_URL)."),
    "serve": (
        "plugin.cli.serve",
        "Serve the web app (storefront API, widget, demo storefront) under gunicorn.",
    ),
    "sync": (
        "plugin.cli.connect",
        "Incremental/reconciliation sync of every platform the shop is connected to (the...",
    ),
    "train": (
        "plugin.cli.engine_commands",
        "Fit every model for the shop; print per-model time, size, and whether it is trusted.",
    ),
    "worker": (
        "plugin.cli.worker",
        "Run the RQ worker (with the scheduler) on the default, sync and email queues.",
    ),
}


class LazyGroup(click.Group):
    """A click group whose subcommands live in modules loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMAND_MODULES:
            return super().get_command(ctx, cmd_name)
        module = importlib.import_module(COMMAND_MODULES[cmd_name][0])
        found: click.Command | None = next((c for c in module.COMMANDS if c.name == cmd_name), None)
        return found

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from COMMAND_MODULES' help lines, importing no command module."""
        rows = [(name, COMMAND_MODULES[name][1]) for name in sorted(COMMAND_MODULES)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


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
    from plugin.log_format import configure_logging_once
    from storage.db import validate_shop_name
    from storage.errors import InvalidShopName

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
