"""`shoprec worker`: run the RQ worker on shoprec's queues, and enqueue jobs by hand.

Plain `shoprec worker` is `shoprec worker run`: an RQ worker with the scheduler on the
default, sync and email queues, using the JSON serializer, connected through REDIS_URL. It
runs until SIGTERM/SIGINT, riding out Redis outages (worker/supervisor.py); at each start it
queues the start-up sweeps and makes sure every shop's periodic chains exist
(worker/schedules.py).
"""

from __future__ import annotations

import click
import redis
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq.serializers import JSONSerializer

from config import ConfigError, Settings, load_settings
from plugin.cli.main import CliContext, pass_cli
from storage.db import shop_exists
from storage.errors import InvalidShopName, UnknownShop
from worker.errors import RedisNotConfigured
from worker.queues import QUEUE_NAMES, enqueue_retrain, get_queue, get_queues, get_redis
from worker.redis_connection import redact_redis_url
from worker.schedules import chain_keeper, ensure_chains
from worker.supervisor import (
    OutageLog,
    SurvivalMixin,
    SurvivingSimpleWorker,
    SurvivingWorker,
    run_until_stopped,
)

_BURST_HELP = "Process the jobs already queued (and due), then exit."


def connect_redis(settings: Settings) -> redis.Redis:
    """A live Redis connection, or a one-line ClickException saying what to fix."""
    try:
        connection = get_redis(settings)
        connection.ping()
    except RedisNotConfigured as exc:
        raise click.ClickException(str(exc)) from exc
    except redis.RedisError as exc:
        url = redact_redis_url(settings.redis_url)
        raise click.ClickException(f"cannot reach Redis at {url}: {exc}") from exc
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(connection.close)  # its socket is closed with the command
    return connection


def _check_jobs_see_same_data_dir(settings: Settings) -> None:
    """Jobs read settings from the environment; refuse a --data-dir they would not see."""
    try:
        job_settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if job_settings.data_dir.resolve() != settings.data_dir.resolve():
        raise click.ClickException(
            f"jobs read SHOPREC_DATA_DIR from the environment ({job_settings.data_dir}), not "
            f"--data-dir ({settings.data_dir}): set SHOPREC_DATA_DIR={settings.data_dir} instead"
        )


@click.group(name="worker", invoke_without_command=True)
@click.option("--burst", is_flag=True, help=_BURST_HELP)
@click.pass_context
def worker_group(ctx: click.Context, burst: bool) -> None:
    """Run the RQ worker (with the scheduler) on the default, sync and email queues.

    Needs REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379/0). Without a subcommand this is
    `shoprec worker run`.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(run_command, burst=burst)


@worker_group.command(name="run")
@click.option("--burst", is_flag=True, help=_BURST_HELP)
@click.option(
    "--queue",
    "queue_names",
    multiple=True,
    type=click.Choice(QUEUE_NAMES),
    help="Queue to listen on (repeatable; default: default, sync and email, in that order).",
)
@click.option(
    "--simple",
    is_flag=True,
    help="Run jobs in this process instead of a forked child (for debugging; no job timeouts).",
)
@pass_cli
def run_command(
    cli_ctx: CliContext,
    burst: bool = False,
    queue_names: tuple[str, ...] = (),
    simple: bool = False,
) -> None:
    """Run an RQ worker with the scheduler on shoprec's queues (JSON serializer).

    Without --burst it runs until SIGTERM (warm: the running job finishes) or SIGINT, waits
    out Redis outages, and keeps each shop's periodic jobs scheduled.
    """
    settings = cli_ctx.settings
    if burst:
        connection = connect_redis(settings)
    else:
        try:
            connection = get_redis(settings)
        except RedisNotConfigured as exc:
            raise click.ClickException(str(exc)) from exc
    _check_jobs_see_same_data_dir(settings)
    names = queue_names or QUEUE_NAMES
    worker_class = SurvivingSimpleWorker if simple else SurvivingWorker
    level = settings.log_level.upper()
    keeper = None if burst else chain_keeper(settings.data_dir, settings)

    def make_worker(outage: OutageLog) -> SurvivalMixin:
        queues = get_queues(connection, names)
        worker = worker_class(
            queues,
            connection=connection,
            serializer=JSONSerializer,
            outage=outage,
            on_maintenance=keeper,
        )
        click.echo(
            f"worker {worker.name} on {', '.join(q.name for q in queues)} at "
            f"{redact_redis_url(settings.redis_url)}{' (burst)' if burst else ''}"
        )
        return worker

    if burst:
        make_worker(OutageLog()).work(burst=True, with_scheduler=True, logging_level=level)
        return
    run_until_stopped(
        make_worker,
        connection,
        logging_level=level,
        on_connected=lambda conn: ensure_chains(
            settings.data_dir, conn, at_start=True, settings=settings
        ),
    )


@worker_group.command(name="enqueue-retrain")
@click.option("--shop", default=None, help="Shop to retrain [default: the global --shop].")
@pass_cli
def enqueue_retrain_command(cli_ctx: CliContext, shop: str | None) -> None:
    """Queue a retrain of the shop's models (a retrain already waiting is reused)."""
    name = shop or cli_ctx.shop
    try:
        if not shop_exists(cli_ctx.settings.data_dir, name):
            raise click.ClickException(f"no shop named {name!r} under {cli_ctx.settings.data_dir}")
    except InvalidShopName as exc:
        raise click.ClickException(str(exc)) from exc
    connection = connect_redis(cli_ctx.settings)
    job = enqueue_retrain(get_queue("default", connection), name)
    click.echo(f"{job.id}: {job.get_status().value} on queue {job.origin}")


@worker_group.command(name="info")
@pass_cli
def info_command(cli_ctx: CliContext) -> None:
    """Show each queue's waiting, scheduled and failed job counts."""
    connection = connect_redis(cli_ctx.settings)
    for queue in get_queues(connection):
        click.echo(
            f"{queue.name}: {queue.count} queued, "
            f"{ScheduledJobRegistry(queue=queue).count} scheduled, "
            f"{FailedJobRegistry(queue=queue).count} failed"
        )


@worker_group.command(name="reprocess")
@click.option("--receipt-id", type=int, default=None, help="The webhook receipt to replay.")
@click.option(
    "--pending",
    is_flag=True,
    help="Apply every receipt of the shop still pending (a lost queue, a stopped worker).",
)
@pass_cli
def reprocess_command(cli_ctx: CliContext, receipt_id: int | None, pending: bool) -> None:
    """Replay one stored webhook receipt now (after a fix), whatever its status, or apply all
    pending ones with --pending; in this process, no Redis needed."""
    if (receipt_id is None) == (not pending):
        raise click.UsageError("give either --receipt-id N or --pending")
    if pending:
        _reprocess_pending(cli_ctx)
        return
    from worker.receipts import process_receipt

    result = process_receipt(cli_ctx.settings, cli_ctx.shop, int(receipt_id or 0), force=True)
    click.echo(" ".join(f"{key}={value}" for key, value in result.items()))
    if result.get("status") in ("missing", "rejected"):
        raise click.ClickException(str(result.get("error", result["status"])))


def _reprocess_pending(cli_ctx: CliContext) -> None:
    """Apply all pending receipts of the shop, oldest first, and print the counts."""
    from storage.db import open_shop_db
    from storage.receipts import due_pending_receipt_ids
    from worker.receipt_batch import apply_receipts
    from worker.receipts import finish_receipt

    try:
        db = open_shop_db(cli_ctx.settings.data_dir, cli_ctx.shop, create=False)
    except (InvalidShopName, UnknownShop) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        pending = due_pending_receipt_ids(db, limit=1_000_000)
        outcome = apply_receipts(db, cli_ctx.shop, pending)
    finally:
        db.close()
    if outcome.finish is not None:
        finish_receipt(cli_ctx.settings, cli_ctx.shop, outcome.finish)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(outcome.counts.items()))
    click.echo(f"{len(pending)} pending receipts of {cli_ctx.shop}: {counts or 'nothing to do'}")
    if outcome.counts.get("failed"):
        raise click.ClickException(f"{outcome.counts['failed']} receipts failed: see the log")


@click.group(name="campaigns")
def campaigns_group() -> None:
    """Email campaign timers and deliveries: see what is pending or parked, re-drive."""


@campaigns_group.command(name="status")
@click.option("--limit", type=click.IntRange(1, 500), default=10, show_default=True)
@pass_cli
def campaigns_status_command(cli_ctx: CliContext, limit: int) -> None:
    """Show timers by campaign and status, the next due ones, and parked deliveries."""
    import json

    from email_blocks.campaign_settings import CampaignSettingsError
    from storage.campaign_timers import next_due, timer_counts
    from storage.db import open_shop_db
    from storage.deliveries import delivery_counts, list_deliveries
    from worker.timers import shop_campaign_settings

    try:
        db = open_shop_db(cli_ctx.settings.data_dir, cli_ctx.shop, create=False)
    except (InvalidShopName, UnknownShop) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        try:
            push = shop_campaign_settings(db).push
            click.echo(f"provider: {push.provider}")
        except CampaignSettingsError as exc:
            click.echo(f"provider: campaigns setting is invalid: {exc}")
        for campaign, counts in sorted(timer_counts(db).items()):
            parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            click.echo(f"{campaign}: {parts}")
        for timer in next_due(db, limit):
            click.echo(
                f"due {timer['due_at']}: {timer['campaign']} for {timer['customer_id']} "
                f"(timer {timer['timer_id']})"
            )
        counts = delivery_counts(db)
        click.echo("deliveries: " + (json.dumps(counts, sort_keys=True) if counts else "none"))
        for row in list_deliveries(db, "parked", limit):
            click.echo(
                f"parked {row['delivery_id']} ({row['provider']}, {row['campaign']}, "
                f"{row['attempts']} tries, last {row['last_status_code']}): {row['error']}"
            )
    finally:
        db.close()


@campaigns_group.command(name="sweep")
@click.option("--hours", type=click.IntRange(1, 24 * 30), default=24, show_default=True)
@pass_cli
def campaigns_sweep_command(cli_ctx: CliContext, hours: int) -> None:
    """Set browse timers for shoppers who viewed products in the last HOURS (needs Redis)."""
    from datetime import UTC, datetime, timedelta

    from storage.db import open_shop_db
    from worker.timers import schedule_browse_from_views

    connection = connect_redis(cli_ctx.settings)
    try:
        db = open_shop_db(cli_ctx.settings.data_dir, cli_ctx.shop, create=False)
    except (InvalidShopName, UnknownShop) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        since = datetime.now(UTC) - timedelta(hours=hours)
        queue = get_queue("email", connection)
        count = schedule_browse_from_views(db, queue, cli_ctx.shop, since)
    finally:
        db.close()
    click.echo(f"{count} shoppers with views in the last {hours} h have a browse timer")


@campaigns_group.command(name="push")
@click.option("--delivery-id", type=int, required=True, help="The delivery to send now.")
@click.option(
    "--replay-parked",
    is_flag=True,
    help="Send a parked delivery again (after fixing its cause); a sent one never is.",
)
@pass_cli
def campaigns_push_command(cli_ctx: CliContext, delivery_id: int, replay_parked: bool) -> None:
    """Send one stored delivery now, in this process (no Redis needed); exits 1 unless sent."""
    from storage.db import open_shop_db
    from storage.deliveries import get_delivery, set_delivery_status
    from worker.push import push_delivery

    try:
        db = open_shop_db(cli_ctx.settings.data_dir, cli_ctx.shop, create=False)
    except (InvalidShopName, UnknownShop) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        row = get_delivery(db, delivery_id)
        if row is not None and row["status"] == "parked" and replay_parked:
            set_delivery_status(db, delivery_id, "pending", row["error"])
        result = push_delivery(cli_ctx.settings, db, delivery_id)
    finally:
        db.close()
    click.echo(" ".join(f"{key}={value}" for key, value in result.items()))
    if result["status"] != "sent" or result.get("skipped"):
        raise click.ClickException(str(result.get("error") or f"delivery is {result['status']}"))


@campaigns_group.command(name="redrive")
@click.option(
    "--older-than",
    "minutes",
    type=click.IntRange(0, 24 * 60),
    default=10,
    show_default=True,
    help="Minutes a pending, failed or sending delivery must have been untouched.",
)
@click.option(
    "--here", is_flag=True, help="Push them in this process now instead of queueing (no Redis)."
)
@pass_cli
def campaigns_redrive_command(cli_ctx: CliContext, minutes: int, here: bool) -> None:
    """Push again the deliveries nothing will push (a sender died, a job was lost).

    Safe to repeat: a delivery is claimed by one sender at a time, and one whose sender died
    mid-request is re-sent only when the platform dedupes it or says it never got it.
    """
    from datetime import timedelta

    from storage.db import open_shop_db
    from storage.delivery_claims import stuck_deliveries
    from worker.delivery_sweep import sweep_deliveries
    from worker.push import push_delivery

    try:
        db = open_shop_db(cli_ctx.settings.data_dir, cli_ctx.shop, create=False)
    except (InvalidShopName, UnknownShop) as exc:
        raise click.ClickException(str(exc)) from exc
    older_than = timedelta(minutes=minutes)
    try:
        if here:
            for row in stuck_deliveries(db, older_than):
                result = push_delivery(cli_ctx.settings, db, int(row["delivery_id"]))
                click.echo(" ".join(f"{key}={value}" for key, value in result.items()))
            return
        queue = get_queue("email", connect_redis(cli_ctx.settings))
        summary = sweep_deliveries(db, queue, cli_ctx.shop, older_than=older_than)
    finally:
        db.close()
    click.echo(
        f"{summary['stuck']} stuck deliveries: {len(summary['redriven'])} queued again "
        f"{summary['redriven']}, {summary['job_waiting']} already have a job waiting"
    )


COMMANDS: list[click.Command] = [worker_group, campaigns_group]
