"""The Compose stack's TLS proxy, run for real: Debian's caddy serves deploy/docker/Caddyfile
over plain http on a free port (no certificate to get), in front of a stand-in for gunicorn.
Skipped where caddy is not installed (CI installs it, .ci/run)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CADDYFILE = Path(__file__).resolve().parent.parent / "deploy" / "docker" / "Caddyfile"


class _App(BaseHTTPRequestHandler):
    """Answers every path with 200 and remembers what reached it."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.seen.append((self.path, self.headers.get("X-Forwarded-Proto")))
        body = f"app saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (Debian package caddy)")
    app = ThreadingHTTPServer(("127.0.0.1", 0), type("App", (_App,), {"seen": []}))
    threading.Thread(target=app.serve_forever, daemon=True).start()
    port = _free_port()
    # Only the upstream's address changes; no admin endpoint, so nothing else is bound.
    text = CADDYFILE.read_text().replace("web:8000", f"127.0.0.1:{app.server_port}")
    config = tmp_path / "Caddyfile"
    config.write_text("{\n\tadmin off\n}\n" + text)
    env = {
        **os.environ,
        "SHOPREC_DOMAIN": f"http://127.0.0.1:{port}",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    log = tmp_path / "caddy.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [caddy, "run", "--config", str(config), "--adapter", "caddyfile"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                _get(f"{base}/livez")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    server.wait(timeout=10)
                    pytest.fail(f"caddy did not start:\n{log.read_text()}")
                time.sleep(0.1)
        yield base, app.RequestHandlerClass.seen  # type: ignore[attr-defined]
    finally:
        server.terminate()
        server.wait(timeout=10)
        app.shutdown()
        app.server_close()


def test_the_proxy_passes_the_app_through_with_the_scheme(proxy) -> None:
    base, seen = proxy
    assert _get(f"{base}/api/v1/recommendations?shop=s1") == (
        200,
        "app saw /api/v1/recommendations?shop=s1",
    )
    assert ("/api/v1/recommendations?shop=s1", "http") in seen  # gunicorn's X-Forwarded-Proto


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/METRICS", "//metrics"])
def test_the_metrics_of_every_shop_stay_inside_the_stack(proxy, path: str) -> None:
    base, seen = proxy
    status, _ = _get(f"{base}{path}")
    assert status == 404
    assert not [p for p, _ in seen if "metrics" in p.lower()]
