"""mypy passes over every package (configuration in pyproject.toml [tool.mypy]: the settings
and the serving package's contracts fully typed; modules still listed under ignore_errors
are the ones left to fix)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "config", "storage", "engine", "serving", "connectors", "email_blocks", "worker", "plugin",
    "demo", "spark_engine",
)  # fmt: skip


def run_mypy(*paths: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", *paths],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_packages_type_check() -> None:
    result = run_mypy(*PACKAGES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_type_error_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    package = tmp_path / "config"
    package.mkdir()
    (package / "__init__.py").write_text("def limit() -> int:\n    return 'eight'\n")
    result = run_mypy("config", cwd=tmp_path)
    assert result.returncode != 0 and "Incompatible return value type" in result.stdout
