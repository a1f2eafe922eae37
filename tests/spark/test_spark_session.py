"""Spark's local Python workers run the same interpreter as the driver (the venv's)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from spark_engine.session import use_own_python

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java 17 (apt-get install openjdk-17-jre-headless)")
    pytest.importorskip("pyspark", reason="the Spark engine needs pip install 'shoprec[spark]'")
    from spark_engine.session import spark_session

    session = spark_session("local[2]", "shoprec-session-tests")
    yield session
    session.stop()


def test_workers_run_the_driver_interpreter(spark: Any) -> None:
    # A lambda travels by value; a module-level function would need this test module
    # importable on the worker.
    rdd = spark.sparkContext.parallelize(range(4), 2)
    seen = set(rdd.map(lambda _: __import__("sys").executable).collect())
    assert seen == {sys.executable}


def test_a_user_choice_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/other/python3")
    monkeypatch.delenv("PYSPARK_DRIVER_PYTHON", raising=False)
    use_own_python("local[2]")
    assert os.environ["PYSPARK_PYTHON"] == "/opt/other/python3"
    assert os.environ["PYSPARK_DRIVER_PYTHON"] == sys.executable


def test_cluster_masters_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
    use_own_python("spark://cluster:7077")
    assert "PYSPARK_PYTHON" not in os.environ
