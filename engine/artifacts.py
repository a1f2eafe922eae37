"""Saving and loading fitted models without pickle: one npz per model plus a JSON manifest.

np.load(..., allow_pickle=False) refuses object arrays, so a tampered or foreign artifact
cannot execute code when a shop's models are loaded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import ArtifactError, ModelsNotTrained

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> int:
    """Write arrays to an npz file (no object arrays allowed); return bytes written."""
    for name, array in arrays.items():
        if np.asarray(array).dtype == object:
            raise ArtifactError(f"array {name!r} has dtype object, which would need pickle")
    with path.open("wb") as handle:
        named: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
        np.savez(handle, **named)
    return path.stat().st_size


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read every array of an npz file with allow_pickle=False."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except FileNotFoundError as exc:
        raise ArtifactError(f"model file {path} is missing") from exc
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"model file {path} cannot be read: {exc}") from exc


def save_manifest(directory: Path, manifest: Mapping[str, Any]) -> int:
    """Write the JSON manifest (format version added); return bytes written."""
    path = directory / MANIFEST
    path.write_text(
        json.dumps({"format_version": FORMAT_VERSION, **manifest}, indent=2, sort_keys=True),
        encoding="utf-8",
    )
    return path.stat().st_size


def load_manifest(directory: Path) -> dict[str, Any]:
    """Read the manifest; ModelsNotTrained when absent, ArtifactError when unreadable."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise ModelsNotTrained(f"no trained models in {directory}: run `shoprec train` first")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"model manifest {path} cannot be read: {exc}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"model format_version must be {FORMAT_VERSION}, got "
            f"{manifest.get('format_version')!r}: retrain with `shoprec train`"
        )
    return manifest
