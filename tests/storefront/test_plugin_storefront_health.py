"""GET /healthz: Redis absent, down and up.

Each test works on its own copy of the trained demo shop (the trained_settings fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from config import Settings, load_settings
from plugin import create_app


def test_healthz_without_redis(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "redis": "absent", "shops": 1}


def test_healthz_degraded_when_redis_does_not_answer(settings: Settings) -> None:
    dead = load_settings({}, data_dir=settings.data_dir, redis_url="redis://127.0.0.1:1/0")
    body = create_app(dead).test_client().get("/healthz").get_json()
    assert body == {"status": "degraded", "redis": "down", "shops": 1}


@pytest.mark.redis
def test_healthz_with_redis(settings: Settings, redis_conn: Any) -> None:
    kwargs = redis_conn.connection_pool.connection_kwargs
    url = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"
    live = load_settings({}, data_dir=settings.data_dir, redis_url=url)
    body = create_app(live).test_client().get("/healthz").get_json()
    assert body == {"status": "ok", "redis": "ok", "shops": 1}
