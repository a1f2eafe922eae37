"""`shoprec schedule show`: each shop's periodic jobs, when they next run and last ran.

An operator asking "is the sweep still running for this shop?" reads it here instead of
digging through RQ's registries: the next tick is the chain's scheduled job, the last run is
the time the latest tick finished its job (kept by worker.schedules.run_tick).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click
import redis
from rq.registry import ScheduledJobRegistry

from config import Settings
from plugin.cli.main import CliContext, pass_cli
from plugin.cli.worker import connect_redis
from storage.db import list_shops, validate_shop_name
from storage.errors import InvalidShopName
from worker.queues import get_queue
from worker.schedules import PERIODIC_JOBS, PeriodicJob, chain_head, last_run_key, reply_text


def _next_run(connection: redis.Redis, periodic: PeriodicJob, shop: str) -> datetime | None:
    head = chain_head(connection, periodic, shop)
    if head is None:
        return None
    registry = ScheduledJobRegistry(queue=get_queue(periodic.queue, connection))
    try:
        return registry.get_scheduled_time(head)
    except Exception:  # noqa: BLE001 - RQ raises NoSuchJobError or its own lookup error
        return None


def schedule_rows(
    connection: redis.Redis, shops: list[str], settings: Settings | None = None
) -> list[dict[str, Any]]:
    """One row per (shop, periodic job): interval (under `settings`), queue, next and last
    run (ISO or None)."""
    rows = []
    for shop in shops:
        for periodic in PERIODIC_JOBS:
            every = periodic.interval(settings)
            next_at = _next_run(connection, periodic, shop)
            last = connection.get(last_run_key(periodic, shop))
            rows.append(
                {
                    "shop": shop,
                    "job": periodic.short_name,
                    "every": str(every),
                    "every_s": int(every.total_seconds()),
                    "queue": periodic.queue,
                    "next_run": next_at.astimezone(UTC).isoformat() if next_at else None,
                    "last_run": reply_text(last) if last else None,
                }
            )
    return rows


def _valid_shops(cli_ctx: CliContext) -> list[str]:
    shops = []
    for shop in list_shops(cli_ctx.settings.data_dir):
        try:
            shops.append(validate_shop_name(shop))
        except InvalidShopName:
            continue
    return shops


@click.group(name="schedule")
def schedule_group() -> None:
    """Periodic jobs per shop (needs REDIS_URL)."""


@schedule_group.command(name="show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON rows.")
@pass_cli
def show_command(cli_ctx: CliContext, as_json: bool) -> None:
    """Each shop's periodic jobs: interval, queue, next scheduled tick and last run."""
    connection = connect_redis(cli_ctx.settings)
    rows = schedule_rows(connection, _valid_shops(cli_ctx), cli_ctx.settings)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no shops")
        return
    for row in rows:
        click.echo(
            f"{row['shop']}  {row['job']}  every {row['every']}  queue {row['queue']}  "
            f"next {row['next_run'] or 'not scheduled (no worker has started its chain)'}  "
            f"last {row['last_run'] or 'never'}"
        )


COMMANDS = [schedule_group]
