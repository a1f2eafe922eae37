"""`shoprec train` and `shoprec evaluate`: fit a shop's models, and measure them offline."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from engine.errors import EngineError
from plugin.cli.main import CliContext, pass_cli
from storage.errors import UnknownShop
from worker.errors import SplitOutsideOrders, TrainingError
from worker.evaluation import evaluate_shop
from worker.retrain_due import shop_retrain_decision
from worker.training import ENGINES, LOCAL_ENGINE, train_shop


class StageLines:
    """Prints each stage of a long command to stderr as it starts, with the time since the
    command began, so a minute of training is not a minute of silence (stdout stays the
    report, so `--json` output can still be piped)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self, stage: str) -> None:
        click.echo(f"[{time.perf_counter() - self.start:6.1f} s] {stage}...", err=True)


@click.command(name="train")
@click.option(
    "--if-due",
    is_flag=True,
    help="Train only when the retrain schedule says the models are due (never trained, too "
    "old, enough new orders, or the product set changed); else print why not. For cron on a "
    "shop without a worker.",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default=LOCAL_ENGINE,
    show_default=True,
    help="spark: export the shop, run the Spark steps (pairs, content neighbours, popularity, "
    "EASE's Gram matrix) on SHOPREC_SPARK_MASTER (local[N] or a cluster URL; needs the spark "
    "extra and Java 17) and fit from their tables, for shops too large for one host; the "
    "models written are the same.",
)
@click.option(
    "--tables",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --engine spark: fit from the tables a Spark job submitted separately wrote "
    "(spark-submit spark_engine/job.py over `shoprec export`'s files) instead of running one; "
    "refused when they were made from other data than the shop holds now.",
)
@pass_cli
def train_command(cli_ctx: CliContext, if_due: bool, engine: str, tables: Path | None) -> None:
    """Fit every model for the shop; print per-model time, size, and whether it is trusted.

    A model without the data it needs (e.g. orders with 2+ items for frequently bought
    together) is marked NO with the reason; its blend weight moves to content and trending.
    """
    if if_due:
        due, reason = _due(cli_ctx)
        click.echo(f"retrain {'due' if due else 'not due'}: {reason}")
        if not due:
            return
    try:
        report = train_shop(
            cli_ctx.settings, cli_ctx.shop, progress=StageLines(), engine=engine, tables=tables
        )
    except (UnknownShop, EngineError, TrainingError) as exc:
        raise click.ClickException(str(exc)) from exc
    for line in report.lines():
        click.echo(line)


def _due(cli_ctx: CliContext) -> tuple[bool, str]:
    """The worker's retrain decision for the shop, now (worker.retrain_due)."""
    try:
        decision = shop_retrain_decision(cli_ctx.settings, cli_ctx.shop, datetime.now(UTC))
    except UnknownShop as exc:
        raise click.ClickException(str(exc)) from exc
    return decision.due, decision.reason


def _parse_date(ctx: click.Context, param: click.Parameter, value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise click.BadParameter(f"must be a date as YYYY-MM-DD, got {value!r}") from exc


@click.command(name="evaluate")
@click.option(
    "--split-date",
    required=True,
    callback=_parse_date,
    help="Fit on orders before this date (YYYY-MM-DD), test on the orders after it.",
)
@click.option(
    "--k",
    "k",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="Length of each recommended list.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@pass_cli
def evaluate_command(cli_ctx: CliContext, split_date: datetime, k: int, as_json: bool) -> None:
    """Temporal split of the shop's orders: metrics for every strategy side by side.

    Next purchase (home/for_you): HR, Recall and NDCG@K for customers buying something new
    after the split. Frequently bought together (product page): HR@K on later orders with
    2+ items. Both: catalog coverage, category diversity, novelty (mean popularity rank).
    """
    try:
        report = evaluate_shop(cli_ctx.settings, cli_ctx.shop, split_date, k, progress=StageLines())
    except (UnknownShop, EngineError, SplitOutsideOrders) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
        return
    for line in report.lines():
        click.echo(line)


COMMANDS: list[click.Command] = [train_command, evaluate_command]
