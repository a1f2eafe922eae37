"""GET /healthz, /livez and /readyz: Redis absent, down and up; the data folder unreadable.

Each test works on its own copy of the trained demo shop (the trained_settings fixture).
The worker heartbeat part of readiness, with a real `shoprec worker`, is in
tests/test_readiness_worker.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from config import Settings, load_settings
from plugin import create_app

DATA_OK = {"data_dir": {"ok": True}}


def _url(redis_conn: Any) -> str:
    kwargs = redis_conn.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"


def test_healthz_without_redis(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "redis": "absent", "shops": 1, "checks": DATA_OK}


def test_healthz_degraded_when_redis_does_not_answer(settings: Settings) -> None:
    dead = load_settings({}, data_dir=settings.data_dir, redis_url="redis://127.0.0.1:1/0")
    body = create_app(dead).test_client().get("/healthz").get_json()
    assert {k: body[k] for k in ("status", "redis", "shops")} == {
        "status": "degraded",
        "redis": "down",
        "shops": 1,
    }
    assert body["checks"]["redis"] == {"ok": False, "state": "down"}
    assert body["checks"]["worker"]["ok"] is False


@pytest.mark.redis
def test_healthz_with_redis(settings: Settings, redis_conn: Any) -> None:
    live = load_settings({}, data_dir=settings.data_dir, redis_url=_url(redis_conn))
    body = create_app(live).test_client().get("/healthz").get_json()
    assert {k: body[k] for k in ("status", "redis", "shops")} == {
        "status": "ok",
        "redis": "ok",
        "shops": 1,
    }
    # No worker runs: the shop still serves (healthz stays "ok"), but readiness says why not.
    assert body["checks"]["worker"] == {
        "ok": False,
        "workers": 0,
        "last_heartbeat_age_s": None,
        "detail": "no worker heartbeat in the last 480 s: run `shoprec worker`",
    }


def test_livez_and_readyz_without_redis(client: FlaskClient) -> None:
    live = client.get("/livez")
    assert (live.status_code, live.get_json()) == (200, {"status": "ok"})
    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_json()) == (200, {"status": "ready", "checks": DATA_OK})
    assert ready.headers["Cache-Control"] == "no-store"


def test_readyz_is_503_when_the_data_folder_cannot_be_read(settings: Settings) -> None:
    missing = load_settings({}, data_dir=settings.data_dir / "nowhere")
    client = create_app(missing).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["data_dir"]["ok"] is False
    assert client.get("/livez").status_code == 200  # alive all the same: no restart


def test_readyz_is_503_when_redis_does_not_answer(settings: Settings) -> None:
    dead = load_settings({}, data_dir=settings.data_dir, redis_url="redis://127.0.0.1:1/0")
    ready = create_app(dead).test_client().get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "not_ready"
    assert body["checks"]["redis"] == {"ok": False, "state": "down"}
