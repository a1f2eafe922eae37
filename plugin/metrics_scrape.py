"""GET /metrics: the Prometheus text of every counter (summed over gunicorn's workers in
multiprocess mode) plus gauges read at scrape time from the shops' stores and Redis.

Scrape-time gauges, per shop: webhook receipts pending and the oldest one's age (inbox lag),
email deliveries pending/failed/parked, the model's age and its last training's duration
(both from the manifest training writes, so they survive restarts and need nothing from the
worker, which serves no HTTP). Per RQ queue: jobs waiting and failed, only when REDIS_URL is
set, with a short timeout so a Redis outage cannot hang a scrape. Everything read is kept
for TTL_S, so scrapes from several Prometheus servers cost one read.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import redis
from flask import Blueprint, Response, current_app
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from rq.registry import FailedJobRegistry

from config import Settings
from engine.artifacts import MANIFEST
from storage.backlog import ShopBacklog, read_backlog
from storage.db import list_shops, models_dir, shop_db_path
from worker.queues import QUEUE_NAMES, get_queue

logger = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

TTL_S = 5.0
REDIS_TIMEOUT_S = 0.5
COLLECTOR_KEY = "shoprec.metrics_collector"


def multiprocess_dir() -> str | None:
    """The folder gunicorn's workers write their counters to, when multiprocess mode is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _TimedValue:
    """One value recomputed at most every TTL_S seconds (thread-safe)."""

    def __init__(self, compute: Callable[[], list[Metric]], clock: Callable[[], float]) -> None:
        self._compute = compute
        self._clock = clock
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._value: list[Metric] = []

    def get(self) -> list[Metric]:
        with self._lock:
            if self._clock() - self._at >= TTL_S:
                self._value = self._compute()
                self._at = self._clock()
            return self._value


def _manifest_facts(
    settings: Settings, shop: str, now: datetime
) -> tuple[float, float | None] | None:
    """(model age s, last training s or None) from the manifest; None when never trained.

    A manifest written before trained_at was recorded dates from its file's mtime.
    """
    path = models_dir(settings, shop) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        trained = manifest.get("trained_at")
        if trained:
            trained_at = datetime.fromisoformat(trained)
        else:
            trained_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except (OSError, ValueError, AttributeError):
        return None
    seconds = manifest.get("training_seconds")
    duration = float(seconds) if isinstance(seconds, (int, float)) else None
    return max(0.0, (now - trained_at).total_seconds()), duration


class ShopStoreCollector(Collector):
    """Per-shop gauges from each store (one indexed query) and each model manifest."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._value = _TimedValue(self._read, clock)

    def collect(self) -> Iterator[Metric]:
        yield from self._value.get()

    def _read(self) -> list[Metric]:
        pending = GaugeMetricFamily(
            "shoprec_webhook_receipts_pending",
            "Webhook receipts stored but not processed yet.",
            labels=["shop"],
        )
        lag = GaugeMetricFamily(
            "shoprec_webhook_inbox_lag_seconds",
            "Age of the oldest pending webhook receipt (0 when none is pending).",
            labels=["shop"],
        )
        deliveries = GaugeMetricFamily(
            "shoprec_email_deliveries",
            "Email deliveries not sent yet, by status (pending, failed: retried, parked: "
            "waiting for a fix and a replay).",
            labels=["shop", "status"],
        )
        age = GaugeMetricFamily(
            "shoprec_model_age_seconds",
            "Seconds since the shop's models were trained.",
            labels=["shop"],
        )
        training = GaugeMetricFamily(
            "shoprec_model_training_seconds",
            "How long the shop's last training took (load, fit and save).",
            labels=["shop"],
        )
        unreadable = GaugeMetricFamily(
            "shoprec_shop_store_unreadable",
            "1 when the shop's store could not be read at the last scrape.",
            labels=["shop"],
        )
        now = datetime.now(UTC)
        for shop in list_shops(self._settings.data_dir):
            backlog = self._backlog(shop)
            unreadable.add_metric([shop], 1.0 if backlog is None else 0.0)
            if backlog is not None:
                pending.add_metric([shop], backlog.pending_receipts)
                oldest = backlog.oldest_pending_receipt
                lag.add_metric([shop], (now - oldest).total_seconds() if oldest else 0.0)
                for status, count in backlog.deliveries.items():
                    deliveries.add_metric([shop, status], count)
            facts = _manifest_facts(self._settings, shop, now)
            if facts is not None:
                age.add_metric([shop], facts[0])
                if facts[1] is not None:
                    training.add_metric([shop], facts[1])
        return [pending, lag, deliveries, age, training, unreadable]

    def _backlog(self, shop: str) -> ShopBacklog | None:
        try:
            return read_backlog(shop_db_path(self._settings.data_dir, shop))
        except sqlite3.Error as exc:
            logger.warning("metrics: cannot read the store: %s", exc, extra={"shop": shop})
            return None


class QueueCollector(Collector):
    """Jobs waiting and failed per RQ queue, read in one round trip with a short timeout."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
        )
        self._value = _TimedValue(self._read, clock)

    def collect(self) -> Iterator[Metric]:
        yield from self._value.get()

    def _read(self) -> list[Metric]:
        up = GaugeMetricFamily("shoprec_redis_up", "1 when Redis answered the last scrape.")
        waiting = GaugeMetricFamily(
            "shoprec_queue_jobs", "Jobs waiting in each RQ queue.", labels=["queue"]
        )
        failed = GaugeMetricFamily(
            "shoprec_queue_failed_jobs",
            "Jobs in each RQ queue's failed registry.",
            labels=["queue"],
        )
        try:
            pipe = self._client.pipeline(transaction=False)
            for name in QUEUE_NAMES:
                queue = get_queue(name, self._client)
                pipe.llen(queue.key)
                pipe.zcard(FailedJobRegistry(queue=queue).key)
            counts = pipe.execute()
        except (redis.RedisError, OSError) as exc:
            logger.warning("metrics: Redis did not answer: %s", exc)
            up.add_metric([], 0.0)
            return [up]
        up.add_metric([], 1.0)
        for i, name in enumerate(QUEUE_NAMES):
            waiting.add_metric([name], counts[2 * i])
            failed.add_metric([name], counts[2 * i + 1])
        return [up, waiting, failed]


class _Counters(Collector):
    """This process's counters, or every gunicorn worker's summed in multiprocess mode."""

    def collect(self) -> Iterator[Metric]:
        folder = multiprocess_dir()
        if folder is None:
            yield from REGISTRY.collect()
            return
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
        yield from registry.collect()


def _scrape_registry(settings: Settings) -> CollectorRegistry:
    """The app's registry: counters plus its scrape-time collectors (built once per app)."""
    registry: CollectorRegistry | None = current_app.extensions.get(COLLECTOR_KEY)
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Counters())
        registry.register(ShopStoreCollector(settings))
        if settings.redis_url:
            registry.register(QueueCollector(settings))
        current_app.extensions[COLLECTOR_KEY] = registry
    return registry


@bp.get("/metrics")
def metrics() -> Response:
    """The Prometheus text exposition of everything above."""
    settings: Settings = current_app.extensions["settings"]
    body = generate_latest(_scrape_registry(settings))
    response = Response(body, mimetype="text/plain")
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    response.headers["Cache-Control"] = "no-store"
    return response
