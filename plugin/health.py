"""Blueprint 'health': /livez (the process answers), /readyz (it can do its work) and the
older /healthz (both in one, always 200 unless the process is down).

Readiness is what a load balancer or an orchestrator should route on: the data folder is
readable; Redis answers when REDIS_URL is set; and, since REDIS_URL means work is queued
(webhook receipts, email timers), an RQ worker has sent a heartbeat within
SHOPREC_WORKER_HEARTBEAT_MAX_AGE seconds: without one, deliveries are stored but wait.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Blueprint, Response, current_app, jsonify
from rq.utils import utcparse
from rq.worker_registration import get_keys

from config import Settings
from plugin.queue_connection import queue_redis
from plugin.storefront.api import SERVICE_KEY
from storage.db import list_shops

bp = Blueprint("health", __name__)

REDIS_TIMEOUT_S = 0.5


def redis_state(url: str) -> str:
    """'absent' without REDIS_URL, else 'ok' or 'down' after one short ping."""
    if not url:
        return "absent"
    conn = redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
    )
    try:
        conn.ping()
    except (redis.RedisError, OSError):
        return "down"
    finally:
        conn.close()
    return "ok"


def _redis_state(settings: Settings) -> str:
    """Through the serving cache's breaker when there is one: a dead Redis is reported at
    once instead of costing a timeout per probe."""
    service = current_app.extensions.get(SERVICE_KEY)
    cache = getattr(service, "serving_cache", None)
    return cache.redis_state() if cache is not None else redis_state(settings.redis_url)


def _data_dir_check(settings: Settings) -> dict[str, Any]:
    try:
        os.listdir(settings.data_dir)
    except OSError as exc:
        return {"ok": False, "detail": f"cannot read {settings.data_dir}: {exc.strerror}"}
    return {"ok": True}


def _heartbeat_ages_s(connection: redis.Redis) -> list[float | None]:
    """Seconds since each registered RQ worker's last heartbeat (None: never beat).

    Reads rq's own registry (the set of worker keys, each worker's 'last_heartbeat') in two
    round trips. Not through rq.Worker.all: building Worker objects raises the socket
    timeout of the connection's pool to the worker's blocking-dequeue timeout (minutes),
    which would take the short timeouts away from the app's enqueueing client.
    """
    keys = sorted(get_keys(connection=connection))
    pipe = connection.pipeline(transaction=False)
    for key in keys:
        pipe.hget(key, "last_heartbeat")
    now = datetime.now(UTC)
    ages: list[float | None] = []
    for raw in pipe.execute() if keys else []:
        try:
            beat = utcparse(raw.decode() if isinstance(raw, bytes) else raw) if raw else None
        except ValueError:
            beat = None
        ages.append(max(0.0, (now - beat).total_seconds()) if beat is not None else None)
    return ages


def _worker_check(settings: Settings, redis_ok: bool) -> dict[str, Any]:
    """Whether a registered RQ worker beat within the allowed age."""
    max_age = settings.worker_heartbeat_max_age_s
    connection = queue_redis(settings)
    if not redis_ok or connection is None:
        return {"ok": False, "detail": "Redis does not answer: no worker can be seen"}
    try:
        all_ages = _heartbeat_ages_s(connection)
    except (redis.RedisError, OSError) as exc:
        return {"ok": False, "detail": f"cannot list workers: {exc}"}
    ages = [age for age in all_ages if age is not None]
    youngest = min(ages) if ages else None
    check: dict[str, Any] = {
        "ok": youngest is not None and youngest <= max_age,
        "workers": len(all_ages),
        "last_heartbeat_age_s": round(youngest, 1) if youngest is not None else None,
    }
    if not check["ok"]:
        check["detail"] = f"no worker heartbeat in the last {max_age} s: run `shoprec worker`"
    return check


def readiness_checks(settings: Settings) -> tuple[str, dict[str, Any]]:
    """(Redis state, {check name: {"ok": bool, ...}}) of everything serving depends on."""
    state = _redis_state(settings)
    checks: dict[str, Any] = {"data_dir": _data_dir_check(settings)}
    if settings.redis_url:
        checks["redis"] = {"ok": state == "ok", "state": state}
        checks["worker"] = _worker_check(settings, state == "ok")
    return state, checks


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/livez")
def livez() -> Response:
    """The process is up and answering (no I/O: a slow disk or Redis must not restart it)."""
    return _no_store(jsonify({"status": "ok"}))


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when every check passes, else 503 with the failing checks' details."""
    _, checks = readiness_checks(current_app.extensions["settings"])
    ready = all(check["ok"] for check in checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return _no_store(jsonify(body)), 200 if ready else 503


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness plus the state of what serving depends on: "degraded" only when Redis is
    configured but down (as documented); the readiness checks in "checks"."""
    settings: Settings = current_app.extensions["settings"]
    state, checks = readiness_checks(settings)
    body = {
        "status": "degraded" if state == "down" else "ok",
        "redis": state,
        "shops": len(list_shops(settings.data_dir)),
        "checks": checks,
    }
    return _no_store(jsonify(body))
