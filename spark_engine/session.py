"""One SparkSession per process, from SHOPREC_SPARK_MASTER (`local[N]` or a cluster URL)."""

from __future__ import annotations

import os
import sys
from typing import Any

from spark_engine.errors import SparkUnavailable

MASTER_ENV = "SHOPREC_SPARK_MASTER"
DEFAULT_MASTER = "local[2]"
# Deep query plans (many joins over many months) overflow the JVM's default thread stack.
JVM_OPTIONS = "-Xss64m"
PYTHON_ENVS = ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")


def use_this_python(master: str) -> None:
    """For a local master, make Spark's Python workers run this interpreter (the venv's, with
    pandas and numpy) rather than the first `python3` on PATH; a value the user set is kept.
    Must run before the JVM starts: it reads these when it launches workers."""
    if not master.startswith("local"):
        return  # a cluster's workers have their own Python, set by its deployment
    for name in PYTHON_ENVS:
        os.environ.setdefault(name, sys.executable)


def spark_session(master: str | None = None, app_name: str = "shoprec") -> Any:
    """A SparkSession on `master` (default: SHOPREC_SPARK_MASTER, else local[2]); raises
    SparkUnavailable naming what to install when pyspark or Java is missing."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            "the Spark engine needs pyspark: pip install 'shoprec[spark]' (and Java 17)"
        ) from None
    chosen = master or os.environ.get(MASTER_ENV) or DEFAULT_MASTER
    use_this_python(chosen)
    try:
        return (
            SparkSession.builder.master(chosen)
            .appName(app_name)
            .config("spark.driver.extraJavaOptions", JVM_OPTIONS)
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
    except Exception as exc:  # noqa: BLE001 - py4j raises its own errors when Java is missing
        raise SparkUnavailable(
            f"Spark could not start on {chosen!r} (the Spark engine needs Java 17 and "
            f"pip install 'shoprec[spark]'): {exc}"
        ) from exc
