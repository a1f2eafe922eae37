"""`shoprec privacy ...`: data subject requests and event retention from the server.

For CSV and WooCommerce shops (Shopify sends its requests as webhooks): `export` and `erase`
call the very functions the Shopify webhooks do (worker.privacy), so the request is carried
out the same way and appears in the admin's privacy page. `purge-events` runs the retention
job once.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import shutil
import sys
from pathlib import Path

import click
import sqlite_utils

from plugin.cli.main import CliContext, pass_cli
from storage.clock import utc_now_iso
from storage.db import open_shop_db
from storage.errors import RetentionSettingError, UnknownShop
from worker.privacy import erase_customer, export_customer
from worker.retention import purge_old_events


def _open(cli_ctx: CliContext) -> sqlite_utils.Database:
    try:
        return open_shop_db(cli_ctx.settings.data_dir, cli_ctx.shop, create=False)
    except UnknownShop as exc:
        raise click.ClickException(str(exc)) from exc


def _run_id() -> str:
    """A request id of its own for each CLI run (names the export file, keys the log row)."""
    stamp = utc_now_iso().replace("-", "").replace(":", "")
    return f"cli-{stamp}-{secrets.token_hex(3)}"


def _who(customer: str | None, email: str | None) -> tuple[str | None, str | None]:
    customer, email = (customer or "").strip() or None, (email or "").strip() or None
    if not customer and not email:
        raise click.UsageError("give --customer, --email or both")
    return customer, email


_customer_option = click.option(
    "--customer", "customer", default=None, help="The customer's id in the shop's data."
)
_email_option = click.option(
    "--email", default=None, help="The customer's email (also finds ids stored with it)."
)


@click.group(name="privacy")
def privacy_group() -> None:
    """Data subject requests (export, erase) and event retention of the shop (--shop)."""


@privacy_group.command(name="export")
@_customer_option
@_email_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="Also write the export to this file ('-' for stdout).",
)
@pass_cli
def export_command(
    cli_ctx: CliContext, customer: str | None, email: str | None, out: Path | None
) -> None:
    """Export everything the shop's store holds about a customer, as JSON.

    The file is kept under the shop folder (privacy/) and offered on the admin's privacy page.
    """
    customer, email = _who(customer, email)
    db = _open(cli_ctx)
    try:
        outcome = export_customer(
            db, source="cli", external_id=_run_id(), customer_id=customer, email=email
        )
    finally:
        db.close()
    if out is not None and str(out) == "-":
        sys.stdout.write(outcome.path.read_text(encoding="utf-8") + "\n")
        return
    if out is not None:
        shutil.copyfile(outcome.path, out)
    counts = ", ".join(f"{n} {kind}" for kind, n in outcome.counts.items())
    click.echo(f"export written: {out or outcome.path} ({counts})")


@privacy_group.command(name="erase")
@_customer_option
@_email_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_cli
def erase_command(cli_ctx: CliContext, customer: str | None, email: str | None, yes: bool) -> None:
    """Erase a customer: their record, events and exports; their orders stay as guest orders."""
    customer, email = _who(customer, email)
    db = _open(cli_ctx)
    try:
        if not yes:
            who = " / ".join(x for x in (customer, email) if x)
            question = f"Erase {who} from shop {cli_ctx.shop!r}? This cannot be undone"
            click.confirm(question, abort=True)
        counts = erase_customer(
            db, source="cli", external_id=_run_id(), customer_id=customer, email=email
        )
    finally:
        db.close()
    done = ", ".join(f"{n} {kind}" for kind, n in dataclasses.asdict(counts).items())
    click.echo(f"erased: {done}")


@privacy_group.command(name="purge-events")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@pass_cli
def purge_events_command(cli_ctx: CliContext, as_json: bool) -> None:
    """Delete storefront events older than the shop's event_retention_months (default 13)."""
    db = _open(cli_ctx)
    try:
        purge = purge_old_events(db)
    except RetentionSettingError as exc:
        raise click.ClickException(f"{exc}; nothing was deleted") from exc
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(purge)))
        return
    click.echo(
        f"removed {purge.events_removed} events before {purge.cutoff} "
        f"(kept {purge.retention_months} months)"
    )


COMMANDS: list[click.Command] = [privacy_group]
