"""`shoprec migrate`: bring every shop's store to the current schema, the step an upgrade runs.

Every store also migrates when it is first opened; running this once after installing a new
version, before starting the web app and the worker, keeps the first requests from waiting
on a migration and tells the operator which stores moved.
"""

from __future__ import annotations

import click

from plugin.cli.main import CliContext, pass_cli
from storage.db import list_shops, upgrade_shop, validate_shop_name
from storage.errors import InvalidShopName


@click.command(name="migrate")
@pass_cli
def migrate_command(cli_ctx: CliContext) -> None:
    """Apply pending schema migrations to every shop's store under the data dir."""
    data_dir = cli_ctx.settings.data_dir
    shops = list_shops(data_dir)
    if not shops:
        click.echo(f"no shops under {data_dir}: nothing to migrate")
        return
    for shop in shops:
        try:
            validate_shop_name(shop)
        except InvalidShopName:
            click.echo(f"{shop}: skipped (not a shop name)")
            continue
        before, after = upgrade_shop(data_dir, shop)
        moved = f"{before} -> {after}" if before != after else f"{after}, already current"
        click.echo(f"{shop}: schema {moved}")


COMMANDS = [migrate_command]
