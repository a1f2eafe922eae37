"""The real store, the shoprec server it talks to, and the plugin installed from its zip.

One session builds it all (about half a minute): shoprec under gunicorn on a free port,
with nginx's https port in front of it as SHOPREC_PUBLIC_URL; the WooCommerce store of
tests/woo_store/store.py; `make woo-plugin`'s zip installed with wp-cli and configured with
the shop's identity secret. Skips with the missing package's name when the machine has no
PHP, nginx or WordPress (.ci/run installs them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import free_port
from tests.woo_store.store import (
    StoreUnavailable,
    WooStore,
    make_certificate,
    missing_parts,
    start_store,
)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "woo_store"
SHOP = "wooshop"
CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class WooEnv:
    """The store, shoprec's process and folder, and how to run shoprec's CLI on it."""

    store: WooStore
    shoprec_url: str
    public_url: str
    data_dir: Path
    identity_secret: str
    server: subprocess.Popen[bytes]
    server_log: Path

    def cli(self, *args: str) -> str:
        """`shoprec --data-dir D --shop wooshop ARGS`; its stdout (fails with its output)."""
        return run_cli(self.data_dir, self.public_url, *args)


def run_cli(data_dir: Path, public_url: str, *args: str) -> str:
    """Run shoprec's CLI on the test's data dir; its stdout (fails with its output)."""
    done = subprocess.run(
        [sys.executable, "-c", "from plugin.cli.main import main; main()",
         "--data-dir", str(data_dir), "--shop", SHOP, *args],
        capture_output=True, text=True, timeout=300, env=_server_env(public_url),
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"shoprec {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _server_env(public_url: str, certificate: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["SHOPREC_PUBLIC_URL"] = public_url
    if certificate is not None:  # shoprec trusts its own https front (the /healthz check)
        env["REQUESTS_CA_BUNDLE"] = str(certificate)
    env["PYTHONPATH"] = str(REPO)
    return env


def _start_shoprec(
    data_dir: Path, port: int, public_url: str, log: Path, certificate: Path
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-c", "from plugin.cli.main import main; main()",
        "--data-dir", str(data_dir), "--shop", SHOP,
        "serve", "--port", str(port), "--workers", "3",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=_server_env(public_url, certificate)
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    proc.wait(timeout=5)
    raise AssertionError(f"shoprec never answered:\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def build_plugin_zip(dest: Path) -> Path:
    """`make woo-plugin` into `dest`: the zip a shop owner uploads."""
    subprocess.run(
        ["make", "-s", "woo-plugin", f"PYTHON={sys.executable}", f"DIST={dest}"],
        cwd=REPO, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return dest / "shoprec-for-woocommerce.zip"


@pytest.fixture(scope="session")
def woo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WooEnv]:
    missing = missing_parts()
    if missing:
        pytest.skip("the real WooCommerce store needs " + ", ".join(missing))
    root = tmp_path_factory.mktemp("woo_store")
    data_dir = root / "shoprec-data"
    shoprec_port, http_port, https_port = free_port(), free_port(), free_port()
    public_url = f"https://127.0.0.1:{https_port}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "shoprec-server.log"
    started: list[Any] = []
    try:
        # The owner prepares the shop for the plugin: the command prints the three values.
        printed = run_cli(data_dir, public_url, "connect", "woocommerce-plugin")
        secret = printed.split("identity secret:", 1)[1].strip().split()[0]
        certificate = make_certificate(root / "store")
        server = _start_shoprec(data_dir, shoprec_port, public_url, log, certificate)
        started.append(server)
        try:
            store = start_store(root / "store", http_port, https_port, shoprec_port)
        except StoreUnavailable as exc:
            pytest.skip(str(exc))
        started.append(store)
        env = WooEnv(
            store=store,
            shoprec_url=f"http://127.0.0.1:{shoprec_port}",
            public_url=public_url,
            data_dir=data_dir,
            identity_secret=secret,
            server=server,
            server_log=log,
        )
        plugin_zip = build_plugin_zip(root / "dist")
        store.wp_cli("plugin", "install", str(plugin_zip), "--activate")
        yield env
    finally:
        for part in reversed(started):
            if isinstance(part, WooStore):
                (ARTIFACTS / "store-logs.txt").write_text(part.logs())
                part.stop()
            else:
                _stop(part)


@pytest.fixture(scope="session")
def woo_browser(browser: Any) -> Any:
    """The session's headless Chromium (tests/conftest.py); contexts accept the test's
    self-signed shoprec certificate (woo_page)."""
    return browser


@pytest.fixture
def woo_page(woo_browser: Any) -> Iterator[Any]:
    """A fresh context (own cookies and storage) and page; page errors are collected."""
    context = woo_browser.new_context(
        viewport={"width": 1280, "height": 1000}, ignore_https_errors=True
    )
    page = context.new_page()
    page.page_errors = []
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))
    yield page
    context.close()
