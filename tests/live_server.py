"""A real `shoprec serve` process on a free port, for tests that talk HTTP or drive a browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A running `shoprec serve` process; its output goes to `log`."""

    url: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Terminate the server and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


def start_server(
    data_dir: Path,
    log: Path,
    *serve_args: str,
    shop: str = "demo",
    env: Mapping[str, str] | None = None,
    timeout_s: float = 30,
) -> LiveServer:
    """Start `shoprec serve` and wait until /healthz answers; fail with its log.

    env: the server's environment on top of this process's; without it, no Redis."""
    port = free_port()
    command = [
        sys.executable, "-c", "from plugin.cli.main import main; main()",
        "--data-dir", str(data_dir), "--shop", shop,
        "serve", "--port", str(port), *serve_args,
    ]  # fmt: skip
    if env is None:
        environ = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    else:
        environ = {**os.environ, **env}
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environ)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return LiveServer(url, data_dir, proc, log)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    proc.wait(timeout=5)
    output = log.read_text(errors="replace")
    raise AssertionError(f"shoprec serve never answered on {url}:\n{output}")
