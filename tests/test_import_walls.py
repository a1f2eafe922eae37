"""The package walls of DESIGN.md hold, and the check that enforces them would catch a breach.

The contracts live in pyproject.toml ([tool.importlinter]); `lint-imports` follows indirect
imports too, so a wall cannot be bypassed through a third module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "config", "storage", "engine", "serving", "demo", "connectors", "email_blocks", "worker",
    "plugin", "spark_engine",
)  # fmt: skip
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def run_contracts(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run the import contracts of `tree`'s pyproject.toml over `tree`'s packages."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_tree(target: Path) -> Path:
    """The packages and pyproject.toml, without caches, in `target`."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_every_wall_of_the_layout_holds() -> None:
    result = run_contracts(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
    assert result.stdout.count("KEPT") == 9


def test_an_engine_module_importing_storage_breaks_the_build(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    base = tree / "engine" / "base.py"
    base.write_text(base.read_text() + "\n\nfrom storage.db import shop_exists  # noqa\n")
    result = run_contracts(tree)
    assert result.returncode != 0
    assert "engine imports nothing of ours but its own modules BROKEN" in result.stdout
    assert "engine.base -> storage.db" in result.stdout


def test_a_worker_importing_the_web_app_through_serving_is_caught(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    probe = tree / "serving" / "params.py"
    probe.write_text(probe.read_text() + "\n\nimport plugin.errors  # noqa\n")
    result = run_contracts(tree)
    assert result.returncode != 0
    assert "serving imports only config, storage and engine BROKEN" in result.stdout
    # worker reaches plugin only indirectly (worker -> serving -> plugin): still a breach
    assert "nothing imports plugin (worker reaches the web app over queues only) BROKEN" in (
        result.stdout
    )
