"""The systemd units in deploy/systemd keep the worker and the web app running: restarted
when they die, stopped warmly, never as root, secrets from an EnvironmentFile."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parent.parent / "deploy" / "systemd"
PUSH_JOB_TIMEOUT_S = 180  # RQ's default job timeout, which push and sync jobs run under


def service(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(UNITS / name)
    return parser["Service"]


@pytest.mark.parametrize(
    ("name", "command"),
    [("shoprec-worker.service", "shoprec worker run"), ("shoprec-web.service", "shoprec serve")],
)
def test_unit_restarts_and_stops_warmly(name: str, command: str) -> None:
    unit = service(name)
    assert command in unit["ExecStart"]
    assert unit["ExecStart"].startswith("/")  # systemd needs an absolute path
    assert unit["Restart"] == "always"
    assert int(unit["RestartSec"]) >= 1  # no restart storm against a Redis that is down
    assert unit["User"] not in ("", "root")
    assert unit["EnvironmentFile"].startswith("/etc/")
    assert unit["KillSignal"] == "SIGTERM"


def test_worker_gets_time_to_finish_its_job_and_only_it_gets_sigterm() -> None:
    unit = service("shoprec-worker.service")
    assert int(unit["TimeoutStopSec"]) > PUSH_JOB_TIMEOUT_S
    # mixed: SIGTERM to the worker alone (the job's process would die of it), SIGKILL later
    assert unit["KillMode"] == "mixed"


def test_env_example_names_what_the_worker_needs() -> None:
    example = (UNITS / "shoprec.env.example").read_text()
    for name in ("REDIS_URL=", "SHOPREC_DATA_DIR=", "SHOPREC_SECRET_KEY="):
        assert name in example


@pytest.mark.parametrize("name", ["shoprec-worker.service", "shoprec-web.service"])
def test_systemd_analyze_verifies_the_unit(name: str, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the units were only parsed")
    # verify insists the ExecStart binary exists: point it at this environment's shoprec
    shoprec = Path(sys.executable).parent / "shoprec"
    if not shoprec.exists():
        pytest.skip(f"no shoprec script next to {sys.executable} to verify ExecStart with")
    text = (UNITS / name).read_text().replace("/opt/shoprec/.venv/bin/shoprec", str(shoprec))
    copy = tmp_path / name
    copy.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert name not in result.stderr, result.stderr  # no warning about our unit either
