"""The Spark session and the demo shop's Parquet export, shared by every Spark test module
(one JVM start per run)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SHOP = "demo"


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java 17 (apt-get install openjdk-17-jre-headless)")
    pytest.importorskip("pyspark", reason="the Spark engine needs pip install 'shoprec[spark]'")
    from spark_engine.session import spark_session

    session = spark_session("local[2]", "shoprec-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def exported(trained_demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pyarrow", reason="the Parquet export needs pip install 'shoprec[spark]'")
    out = tmp_path_factory.mktemp("export")
    done = subprocess.run(
        [sys.executable, "-m", "plugin.cli", "--data-dir", str(trained_demo_data),
         "--shop", SHOP, "export", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"exported shop {SHOP} to {out}" in done.stdout
    assert (out / "purchases" / f"shop={SHOP}").is_dir()
    return out
