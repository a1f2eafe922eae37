"""Spark's local Python workers run the driver's interpreter (the venv, with pandas), not
whichever `python3` comes first on PATH."""

from __future__ import annotations

import sys
from typing import Any

import pytest

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def test_local_workers_run_the_drivers_python(spark: Any) -> None:
    # A lambda travels by value (a test module is not importable on the worker).
    tasks = spark.sparkContext.parallelize([0, 1], 2)
    ran = tasks.map(lambda _: __import__("sys").executable).collect()
    assert ran == [sys.executable, sys.executable]
