"""The chaos run, shared by the tests that read its figures: both scenarios run at once
(each with its own redis-server, worker and shop), so their recovery waits overlap and the
suite stays within about two and a half minutes (about 30 s when nothing is stranded)."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chaos.processes import kill_every_running_process
from tests.chaos.push_scenario import PushFigures, run_push_chaos
from tests.chaos.webhook_scenario import WebhookFigures, run_webhook_chaos


@dataclass(frozen=True)
class ChaosRun:
    """The figures of one chaos run."""

    webhooks: WebhookFigures
    pushes: PushFigures


def run_chaos(workdir: Path, recovery_s: float = 120.0) -> ChaosRun:
    """Both scenarios side by side in `workdir`, each waiting up to `recovery_s` for the
    work to be done after the last blow; every process is gone when this returns."""
    (workdir / "webhooks").mkdir(parents=True, exist_ok=True)
    (workdir / "pushes").mkdir(parents=True, exist_ok=True)
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        webhooks = pool.submit(run_webhook_chaos, workdir / "webhooks", recovery_s=recovery_s)
        pushes = pool.submit(run_push_chaos, workdir / "pushes", recovery_s=recovery_s)
        limit = recovery_s + 300
        return ChaosRun(webhooks.result(timeout=limit), pushes.result(timeout=limit))
    except BaseException:  # interrupted or stuck: leave nothing running behind
        kill_every_running_process()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


RUN_KEY = pytest.StashKey[ChaosRun]()


@pytest.fixture(scope="session")
def chaos_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ChaosRun:
    """One chaos run per test session; skipped without a redis-server binary."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: the chaos run starts and kills its own")
    run = run_chaos(tmp_path_factory.mktemp("chaos"))
    request.config.stash[RUN_KEY] = run
    return run


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """The figures, printed after every run that included the chaos tests."""
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        terminalreporter.write_line(f"chaos {run.webhooks.summary()}")
        terminalreporter.write_line(f"chaos {run.pushes.summary()}")
