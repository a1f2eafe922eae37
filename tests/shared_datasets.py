"""Where the public datasets live (../shared/datasets beside the checkout), for the tests.

A module of its own, not conftest.py: pytest imports every conftest.py as `conftest`, so a
name imported from it would depend on which conftest was loaded last.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def dataset_path(*parts: str) -> Path:
    """A file under ../shared/datasets, or skip the test saying it is absent."""
    path = SHARED_DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared dataset {path} is absent (it lives beside the checkout in ../shared)")
    return path
