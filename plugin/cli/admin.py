"""`shoprec admin ...`: the shop owner's admin logins, managed on the server only.

There is no sign-up page on purpose: whoever can run the CLI on the server already controls
the shop's data, so that is where a login is created.
"""

from __future__ import annotations

import sys

import click

from plugin.cli.main import CliContext, pass_cli
from storage.admin_users import (
    InvalidAdminCredentials,
    list_admin_users,
    remove_admin_user,
    set_admin_password,
)
from storage.db import open_shop_db
from storage.errors import UnknownShop


@click.group(name="admin")
def admin_group() -> None:
    """Admin dashboard logins of the shop (--shop)."""


@admin_group.command(name="set-password")
@click.option("--user", "username", required=True, help="Login name (created if new).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin instead of prompting.",
)
@pass_cli
def set_password_command(cli_ctx: CliContext, username: str, password_stdin: bool) -> None:
    """Create a login or change its password (and lift a failed-login lock).

    Open sessions of that user end at their next request, since they carry the old hash's stamp.
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        db = open_shop_db(cli_ctx.settings.data_dir, cli_ctx.shop, create=False)
    except UnknownShop as exc:
        raise click.ClickException(f"{exc}; import or generate the shop first") from exc
    try:
        created = set_admin_password(db, username, password)
    except InvalidAdminCredentials as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.close()
    verb = "created" if created else "password changed for"
    click.echo(f"{verb} admin user {username!r} of shop {cli_ctx.shop!r}")


@admin_group.command(name="list-users")
@pass_cli
def list_users_command(cli_ctx: CliContext) -> None:
    """Print the shop's login names, one per line."""
    try:
        db = open_shop_db(cli_ctx.settings.data_dir, cli_ctx.shop, create=False)
    except UnknownShop as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        for name in list_admin_users(db):
            click.echo(name)
    finally:
        db.close()


@admin_group.command(name="remove-user")
@click.option("--user", "username", required=True, help="Login name to delete.")
@pass_cli
def remove_user_command(cli_ctx: CliContext, username: str) -> None:
    """Delete a login; its open sessions end at their next request."""
    try:
        db = open_shop_db(cli_ctx.settings.data_dir, cli_ctx.shop, create=False)
    except UnknownShop as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        if not remove_admin_user(db, username):
            raise click.ClickException(f"shop {cli_ctx.shop!r} has no admin user {username!r}")
    finally:
        db.close()
    click.echo(f"removed admin user {username!r} of shop {cli_ctx.shop!r}")


COMMANDS = [admin_group]
