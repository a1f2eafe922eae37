"""`shoprec identity ...`: the shop's signed shopper identity, managed on the server only.

Whoever runs the CLI on the server controls the shop's data already, so this is where the
identity secret is shown (for the shop's own server to make tokens with) and where it and
the server-to-server API key are rotated. No HTTP route ever returns either.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import click
import sqlite_utils

from plugin.cli.main import CliContext, pass_cli
from plugin.errors import InvalidIdentityMode
from plugin.storefront.request_params import check_id
from plugin.storefront.shopper_identity import (
    IDENTITY_MODES,
    ensure_identity_secret,
    read_identity_config,
    rotate_api_key,
    rotate_identity_secret,
    set_identity_mode,
)
from plugin.storefront.shopper_tokens import (
    DEFAULT_TOKEN_TTL_S,
    MAX_TOKEN_TTL_S,
    make_shopper_token,
)
from storage.db import open_shop_db
from storage.errors import UnknownShop

CHANGED_BY = "cli"


@contextmanager
def _shop_db(cli_ctx: CliContext) -> Iterator[sqlite_utils.Database]:
    try:
        db = open_shop_db(cli_ctx.settings.data_dir, cli_ctx.shop, create=False)
    except UnknownShop as exc:
        raise click.ClickException(f"{exc}; import or generate the shop first") from exc
    try:
        yield db
    finally:
        db.close()


@click.group(name="identity")
def identity_group() -> None:
    """Signed shopper identity of the shop (--shop): tokens, secret, API key, mode."""


@identity_group.command(name="token")
@click.option("--customer", required=True, help="The customer id the token proves.")
@click.option(
    "--ttl",
    type=click.IntRange(1, MAX_TOKEN_TTL_S),
    default=DEFAULT_TOKEN_TTL_S,
    show_default=True,
    help=f"Seconds the token stays valid (at most {MAX_TOKEN_TTL_S}).",
)
@pass_cli
def token_command(cli_ctx: CliContext, customer: str, ttl: int) -> None:
    """Print a customer_token for one customer (the secret is made on first need)."""
    problems: list[str] = []
    if check_id("--customer", customer, problems) is None:
        raise click.BadParameter("; ".join(problems), param_hint="--customer")
    with _shop_db(cli_ctx) as db:
        secret = ensure_identity_secret(db, CHANGED_BY)
    click.echo(make_shopper_token(secret, cli_ctx.shop, customer, int(time.time()) + ttl))


@identity_group.command(name="secret")
@pass_cli
def secret_command(cli_ctx: CliContext) -> None:
    """Print the shop's identity secret, for its own server to sign tokens with."""
    with _shop_db(cli_ctx) as db:
        click.echo(ensure_identity_secret(db, CHANGED_BY))


@identity_group.command(name="rotate-secret")
@pass_cli
def rotate_secret_command(cli_ctx: CliContext) -> None:
    """Make a new identity secret and print it; tokens of the old one stop working now."""
    with _shop_db(cli_ctx) as db:
        click.echo(rotate_identity_secret(db, CHANGED_BY))


@identity_group.command(name="api-key")
@click.option("--rotate", is_flag=True, help="Make a new key (the old one stops working).")
@pass_cli
def api_key_command(cli_ctx: CliContext, rotate: bool) -> None:
    """Show the id of the server-to-server API key, or --rotate to make and print a new one.

    The key goes in the X-Shoprec-Key header; with it, customer_id is trusted as given.
    Only its SHA-256 is stored, so a new key is printed this once.
    """
    with _shop_db(cli_ctx) as db:
        if rotate:
            key, key_id = rotate_api_key(db, CHANGED_BY)
            click.echo(key)
            click.echo(f"key id {key_id}: store it now, it is not shown again", err=True)
            return
        config = read_identity_config(db)
    if config.api_key_id:
        click.echo(f"srk_{config.api_key_id}_… (only its hash is stored)")
    else:
        click.echo("no API key; make one with `shoprec identity api-key --rotate`")


@identity_group.command(name="mode")
@click.argument("mode", required=False, type=click.Choice(IDENTITY_MODES))
@pass_cli
def mode_command(cli_ctx: CliContext, mode: str | None) -> None:
    """Show or set who may name a customer: "signed" (default) or "open" (any caller)."""
    with _shop_db(cli_ctx) as db:
        if mode is not None:
            try:
                set_identity_mode(db, mode, CHANGED_BY)
            except InvalidIdentityMode as exc:
                raise click.ClickException(str(exc)) from exc
        click.echo(read_identity_config(db).mode)


COMMANDS: list[click.Command] = [identity_group]
