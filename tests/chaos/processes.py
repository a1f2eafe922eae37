"""The real processes a chaos run starts, kills with SIGKILL and starts again.

Each process gets its own session (process group), so a kill takes its children with it:
gunicorn's workers, RQ's work-horse. That is what `kill -9` of a service's cgroup does, and
it leaves nothing running after a test. Every wait here is bounded in time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
SHOPREC = [sys.executable, "-c", "from plugin.cli.main import main; main()"]


# Every process a chaos run has running, so an interrupted run (Ctrl-C, SIGTERM) can still
# kill them all: the scenarios run in threads whose own `finally` would come too late.
RUNNING: set[Managed] = set()
ABORTED = threading.Event()  # set by an interrupted run: nothing starts again, loops end


class ChaosSetupError(RuntimeError):
    """A process the run needs did not come up in time (its log is in the message)."""


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(eq=False)
class Managed:
    """One started process (and its group), appending its output to `log`."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    def start(self) -> None:
        """Start (again); the log is appended to, so restarts keep earlier output."""
        if ABORTED.is_set():
            raise ChaosSetupError(f"the chaos run was interrupted: {self.name} not started")
        with self.log.open("ab") as out:
            out.write(f"\n--- start {self.starts + 1} of {self.name} ---\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=ROOT,
                start_new_session=True,
            )
        RUNNING.add(self)
        self.starts += 1

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the process group and every descendant (RQ's work-horse calls setsid, so
        it has a group of its own), then reap the leader (bounded)."""
        if self.proc is None:
            return
        doomed = [self.proc.pid, *descendants(self.proc.pid)]
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.kills += 1
        self.proc = None
        RUNNING.discard(self)

    def tail(self, chars: int = 3000) -> str:
        """The end of the process's log, for failure messages."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait_for(check: object, timeout_s: float, what: str, proc: Managed) -> None:
    """Poll `check()` every 0.1 s until true; ChaosSetupError with the log otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.proc is not None and proc.proc.poll() is not None:
            break
        try:
            if check():  # type: ignore[operator]
                return
        except (OSError, redis.RedisError):
            pass
        time.sleep(0.1)
    raise ChaosSetupError(f"{what} did not come up within {timeout_s} s:\n{proc.tail()}")


def redis_server(port: int, log: Path) -> Managed:
    """A private redis-server on loopback without persistence: a restart loses every key."""
    command = [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--daemonize", "no", "--dir", str(log.parent),
    ]  # fmt: skip
    return Managed("redis", command, dict(os.environ), log)


def start_redis(server: Managed, port: int) -> None:
    """Start the redis-server and wait until it answers PING."""
    server.start()
    client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
    try:
        wait_for(client.ping, 15, f"redis-server on port {port}", server)
    finally:
        client.close()


def shoprec_env(data_dir: Path, redis_url: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment shoprec processes read their settings from."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPREC_", "REDIS_URL"))}
    env.update(
        PYTHONPATH=str(ROOT),
        SHOPREC_DATA_DIR=str(data_dir),
        REDIS_URL=redis_url,
        SHOPREC_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def gunicorn_server(env: dict[str, str], port: int, log: Path, shop: str) -> Managed:
    """`shoprec serve` (gunicorn, 2 workers) on a loopback port."""
    command = [*SHOPREC, "--shop", shop, "serve", "--port", str(port), "--workers", "2"]
    return Managed("gunicorn", command, env, log)


def start_server(server: Managed, port: int) -> None:
    """Start `shoprec serve` and wait until /healthz answers."""
    server.start()

    def answers() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return bool(response.status == 200)

    wait_for(answers, 45, f"shoprec serve on port {port}", server)


def rq_worker(env: dict[str, str], log: Path) -> Managed:
    """`shoprec worker` (RQ worker with its scheduler, forking a work-horse per job)."""
    return Managed("worker", [*SHOPREC, "worker"], env, log)


def start_worker(worker: Managed, redis_port: int) -> None:
    """Start `shoprec worker` and wait until it has registered itself in Redis."""
    worker.start()
    client = redis.Redis(port=redis_port, socket_timeout=1, socket_connect_timeout=1)
    pid = worker.proc.pid if worker.proc else -1

    def registered() -> bool:
        keys = client.smembers("rq:workers")
        return any(client.hget(key, "pid") == str(pid).encode() for key in keys)

    try:
        wait_for(registered, 45, "shoprec worker", worker)
    finally:
        client.close()


def kill_every_running_process() -> None:
    """SIGKILL whatever any chaos run still has running (an interrupted run's clean-up)."""
    ABORTED.set()
    for process in list(RUNNING):
        process.kill()


def stop_all(*processes: Managed | None) -> None:
    """Kill every process still running (fixture teardown / finally)."""
    for process in processes:
        if process is not None and process.proc is not None:
            process.kill()
