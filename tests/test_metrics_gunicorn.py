"""A real `shoprec serve` (gunicorn, 2 workers): /metrics sums both workers' counters, an
earlier run's counters are not summed in, and SHOPREC_LOG_FORMAT=json lines carry the shop
and the request_id the storefront returned."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from tests.live_server import start_server
from tests.metrics_text import Samples, delta, parse_samples
from worker.training import models_dir

LATENCY = "shoprec_http_request_duration_seconds_count"
ANSWERS = "shoprec_recommendation_answers_total"
REQUESTS = 300


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def _scrape(base: str) -> Samples:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        return parse_samples(response.read().decode())


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


@pytest.fixture
def data_dir(trained_settings: Settings) -> Path:
    """The trained demo shop, plus 'broken': a copy whose models cannot be read (it serves
    the fallback and logs an error with its shop, a real log line to look at)."""
    shutil.copytree(trained_settings.data_dir / "demo", trained_settings.data_dir / "broken")
    (models_dir(trained_settings, "broken") / "manifest.json").write_text("{not json")
    return trained_settings.data_dir


def test_two_workers_are_summed_and_json_lines_carry_shop_and_request_id(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics_dir = tmp_path / "prometheus"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    monkeypatch.setenv("SHOPREC_LOG_FORMAT", "json")
    home = "/api/v1/recommendations?shop=demo&context=home"
    earlier = start_server(data_dir, tmp_path / "earlier.log", "--workers", "2")
    try:
        for _ in range(5):
            _get(earlier.url + home)
    finally:
        earlier.stop()

    server = start_server(data_dir, tmp_path / "serve.log", "--workers", "2")
    try:
        before = _scrape(server.url)
        # Concurrent clients, so both sync workers take requests.
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda _: _get(server.url + home), range(REQUESTS)))
        assert all(len(a["items"]) == 8 for a in answers)
        after = _scrape(server.url)
        broken = _get(f"{server.url}/api/v1/recommendations?shop=broken&context=home")
        assert _post(f"{server.url}/webhooks/woocommerce/demo", b"webhook_id=1") == 200
    finally:
        server.stop()

    labels = {"endpoint": "storefront.recommendations", "context": "home", "status": "200"}
    assert delta(before, after, LATENCY, **labels) == REQUESTS
    # Exactly this run's: the earlier run's 5 were cleared at start, not summed in.
    assert after[(LATENCY, frozenset(labels.items()))] == REQUESTS
    assert delta(before, after, ANSWERS, shop="demo", context="home", empty="false") == REQUESTS
    workers = {path.stem.rsplit("_", 1)[1] for path in metrics_dir.glob("histogram_*.db")}
    assert len(workers) == 2, workers  # both workers served, and /metrics summed them

    lines = [
        json.loads(line)
        for line in server.log.read_text(errors="replace").splitlines()
        if line.startswith("{")
    ]
    error = next(line for line in lines if line["message"].startswith("models of shop broken"))
    assert error["level"] == "ERROR" and error["logger"] == "serving.service"
    assert error["shop"] == "broken"
    assert error["request_id"] == broken["request_id"]  # the id the answer carried
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", error["ts"])
    ping = next(line for line in lines if line["message"] == "woocommerce ping for demo")
    assert ping["shop"] == "demo" and re.fullmatch(r"[0-9a-f]{32}", ping["request_id"])
    assert ping["request_id"] != error["request_id"]
    # gunicorn's own lines are JSON too.
    assert any(line["logger"] == "gunicorn.error" for line in lines)
