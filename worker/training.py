"""Training a shop's models: load from storage, fit every engine model, save atomically."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config import Settings
from engine.shop_artifacts import save_shop_models
from engine.shop_fit import fit_shop_models
from engine.shop_models import ModelSummary
from engine.training_data import TrainingData, latest_timestamp
from serving.generations import bump_generation
from storage.catalog import read_products_frame
from storage.db import models_dir, open_shop_db
from storage.events import read_events_frame
from storage.orders import read_purchase_lines
from storage.shared_models import publish_models
from worker.errors import TrainingError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainReport:
    """What one training run did: data seen, per-model figures, files written."""

    shop: str
    products: int
    purchase_lines: int
    events: int
    now: datetime
    seconds: float
    models: tuple[ModelSummary, ...]
    files: dict[str, int]
    load_seconds: float = 0.0
    save_seconds: float = 0.0
    validation: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Human-readable lines for `shoprec train`."""
        out = [
            f"shop {self.shop}: {self.products} products, {self.purchase_lines} purchase lines, "
            f"{self.events} events; present = {self.now.isoformat()}"
        ]
        out.append(f"{'model':<14}{'trusted':<9}{'seconds':>9}{'size':>12}  why")
        for m in self.models:
            out.append(
                f"{m.name:<14}{'yes' if m.trusted else 'NO':<9}{m.fit_seconds:>9.2f}"
                f"{_size(m.size_bytes):>12}  {m.why}"
            )
        out.extend(validation_lines(self.validation))
        out.append(
            f"trained in {self.seconds:.1f} s (load from the store {self.load_seconds:.1f} s, "
            f"fit {self.seconds - self.load_seconds - self.save_seconds:.1f} s, save "
            f"{self.save_seconds:.1f} s); {_size(sum(self.files.values()))} written "
            f"in {len(self.files)} files"
        )
        return out


def validation_lines(report: dict[str, Any]) -> list[str]:
    """The weights training chose per slot on the shop's newest orders, and why."""
    if not report or report.get("status") == "not validated":
        return []
    if "holdout_from" in report:
        out = [
            f"blend weights chosen on the orders from {report['holdout_from']} "
            f"(held out, {report.get('seconds', 0):.1f} s)"
        ]
    else:
        out = ["blend weights: the built-in ones (too little data to validate)"]
    content = report.get("content_model")
    if isinstance(content, dict):
        tried = "; ".join(
            f"{row['model']}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "model")
            for row in content["tried"]
        )
        chosen = ", ".join(f"{k} {v}" for k, v in content["chosen"].items())
        out.append(f"  content model per slot: {chosen} (best mix per slot: {tried})")
    for key, slot in report.items():
        if not isinstance(slot, dict) or "weights" not in slot:
            continue
        mix = ", ".join(f"{s} {w:.2f}" for s, w in slot["weights"].items())
        if slot.get("status") != "validated":
            out.append(f"  {key}: {mix} ({slot.get('why', 'built-in weights')})")
            continue
        metric = slot["metric"]
        out.append(f"  {key}: {mix} ({slot['queries']} held-out cases, {metric})")
        floor = slot.get("support_floor")
        if floor:
            tried = ", ".join(
                f"{row['floor']}: {next(v for k, v in row.items() if k != 'floor'):.3f}"
                for row in floor["tried"]
            )
            out.append(f"    support floor {floor['chosen']} (best mix per floor: {tried})")
        cover = slot.get("cover_discount")
        if cover:
            tried = ", ".join(
                f"{row['discount']}: {next(v for k, v in row.items() if k != 'discount'):.3f}"
                for row in cover["tried"]
            )
            out.append(
                f"    co-purchase ranking: soft basket cover discount {cover['chosen']} "
                f"(1.0 = plain confidence; best mix per discount: {tried})"
            )
        for row in slot["rows"]:
            value = next(v for k, v in row.items() if k not in ("name", "weights", "coverage"))
            cover = f"  coverage {row['coverage']:.3f}" if "coverage" in row else ""
            out.append(f"    {row['name']:<34}{metric} {value:.3f}{cover}")
        for source, why in slot.get("dropped", {}).items():
            out.append(f"    {source} weight 0: {why}")
        sequence = slot.get("sequence")
        if isinstance(sequence, dict) and "dropped" not in sequence:
            said = f": {sequence['why']}" if sequence.get("why") else ""
            out.append(f"    sequence model weight {sequence.get('weight', 0.0):.2f}{said}")
    return out


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n:.1f} GB"


def load_training_data(
    settings: Settings, shop: str, before: str | None = None, now: datetime | None = None
) -> TrainingData:
    """A shop's products, purchases and events from storage (only rows before `before`)."""
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        products = read_products_frame(db)
        purchases = read_purchase_lines(db, before=before)
        events = read_events_frame(db, before=before)
    finally:
        db.close()
    data = TrainingData(products, purchases, events, now or datetime.now(UTC))
    if now is None:
        latest = latest_timestamp(data)
        data = TrainingData(products, purchases, events, latest or datetime.now(UTC))
    return data


LOCAL_ENGINE, SPARK_ENGINE = "local", "spark"
ENGINES = (LOCAL_ENGINE, SPARK_ENGINE)


def train_shop(
    settings: Settings,
    shop: str,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
    engine: str = LOCAL_ENGINE,
    tables: Path | None = None,
) -> TrainReport:
    """Fit every model on the shop's store and swap the new artifacts in atomically.

    Files are written to a temp folder beside models/ and renamed into place, so a server
    loading models never sees half a set. progress: told each stage as it starts (the CLI
    prints them, since training a large shop takes a minute or more). engine: "local", or
    "spark" to export the shop, run every Spark step (spark_engine.job) on
    SHOPREC_SPARK_MASTER and fit from its tables (worker.spark_training); validation, EASE's
    inversion and the artifacts stay the local path's, so serving does not know which
    engine trained. tables: with "spark", the folder of a separately submitted Spark job to
    fit from instead of running one (worker.spark_training.check_job_record).
    """
    if engine not in ENGINES:
        raise TrainingError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if tables is not None and engine != SPARK_ENGINE:
        raise TrainingError("tables of a Spark job are read by the spark engine only")
    say = progress or (lambda _stage: None)
    start = time.perf_counter()
    say("reading the shop's orders, products and events")
    data = load_training_data(settings, shop, now=now)
    loaded = time.perf_counter()
    say(
        f"validating and fitting the models on {len(data.purchases):,} order lines and "
        f"{len(data.products):,} products"
    )
    if engine == SPARK_ENGINE:
        from worker.spark_training import fit_on_spark

        models = fit_on_spark(settings, shop, data, say, tables)
    else:
        models = fit_shop_models(data)
    fitted = time.perf_counter()
    say("saving the models and switching serving to them")
    target = models_dir(settings, shop)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".models-", dir=target.parent))
    try:
        run = {
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            # The newest order or event the models saw, and the moment their decayed counts
            # are measured from: serving folds in orders after it (serving.live_popularity,
            # serving.recent_pairs).
            "data_until": data.now.astimezone(UTC).isoformat(timespec="seconds"),
            "training_seconds": round(time.perf_counter() - start, 3),
            # What the models were trained on: the retrain schedule compares the store with
            # it (worker.retrain_due).
            "orders_at_training": int(data.purchases["order_id"].nunique())
            if len(data.purchases)
            else 0,
            "products_at_training": len(data.products),
            "engine": engine,
        }
        files = save_shop_models(models, staging, run)
        old = target.with_name(f".models-old-{time.time_ns()}")
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if settings.shared_models_dir:
        # Other hosts pull this version when they see the generation move.
        publish_models(Path(settings.shared_models_dir), shop, target)
        if not settings.redis_url:
            # Only this host's marker moves: the others keep their copy of the old models.
            logger.warning(
                "shop %s: models published to the shared folder without REDIS_URL; other "
                "hosts serve the new version only once the shop's Redis generation moves",
                shop,
                extra={"shop": shop},
            )
    # Cached answers and candidate pools of the old models must not outlive them.
    bump_generation(settings, shop)
    report = TrainReport(
        shop,
        len(data.products),
        len(data.purchases),
        len(data.events),
        data.now,
        time.perf_counter() - start,
        tuple(models.describe()),
        files,
        load_seconds=loaded - start,
        save_seconds=time.perf_counter() - fitted,
        validation=models.validation,
    )
    logger.info("trained %s in %.1f s", shop, report.seconds, extra={"shop": shop})
    return report
