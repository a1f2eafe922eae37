"""Trained models kept in memory per shop, reloaded when a retrain rewrites the model folder.

Loading a shop's npz artifacts costs tens of milliseconds; a request must not pay it. The
cache is an explicit object (created by create_app or a CLI command and passed along), not a
module global, so tests build their own and two apps never share one.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ModelsNotTrained

# A folder's signature: its inode and mtime plus each file's (name, mtime_ns, size). Training
# renames a fresh folder into place (new inode); a file rewritten in place changes its mtime.
Signature = tuple[Any, ...]


def folder_signature(directory: Path) -> Signature | None:
    """What changes when the model folder is rewritten; None when it does not exist."""
    # Read on every request: os.scandir knows file types without a stat, and each file is
    # stat-ed once (not once per field).
    try:
        stat = directory.stat()
        entries = []
        with os.scandir(directory) as found:
            for entry in found:
                if entry.is_file():
                    info = entry.stat()
                    entries.append((entry.name, info.st_mtime_ns, info.st_size))
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, tuple(sorted(entries)))


@dataclass
class _Entry:
    signature: Signature
    models: Any
    stamp: str = ""  # the cache generation the signature was last checked under


class ModelCache:
    """Loaded ShopModels per shop; `get` reloads when the folder's signature changed.

    Args:
        models_dir_for: shop name -> its model folder (worker.training.models_dir bound to
            the settings).
        loader: model folder -> ShopModels (engine.shop_artifacts.load_shop_models); raises
            ModelsNotTrained when the folder holds no trained models.
    """

    def __init__(
        self, models_dir_for: Callable[[str], Path], loader: Callable[[Path], Any]
    ) -> None:
        self._models_dir_for = models_dir_for
        self._loader = loader
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.loads = 0  # how many times a folder was (re)loaded: lets tests see the caching

    def get(self, shop: str, stamp: str = "") -> Any | None:
        """The shop's ShopModels, or None when it has not been trained yet.

        stamp: the shop's cache generation. Training swaps the model folder and then moves
        the generation, so while the stamp is the one the folder was last checked under the
        folder cannot have changed, and its listing (a stat per file) is skipped. Without a
        stamp the folder is checked on every call.
        """
        if stamp:
            with self._lock:
                entry = self._entries.get(shop)
                if entry is not None and entry.stamp == stamp:
                    return entry.models
        directory = self._models_dir_for(shop)
        signature = folder_signature(directory)
        if signature is None:
            self.forget(shop)
            return None
        with self._lock:
            entry = self._entries.get(shop)
            if entry is not None and entry.signature == signature:
                entry.stamp = stamp
                return entry.models
        try:
            models = self._loader(directory)
        except ModelsNotTrained:
            self.forget(shop)
            return None
        with self._lock:
            self._entries[shop] = _Entry(signature, models, stamp)
            self.loads += 1
        # Loaded models live until the next retrain: out of the cyclic collector's sight, a
        # full collection no longer walks them (~100 ms pauses every thousand requests that
        # showed as the slowest answers). Refcounting still frees them when replaced.
        gc.freeze()
        return models

    def forget(self, shop: str) -> None:
        """Drop a shop's models (the next `get` loads them again)."""
        with self._lock:
            self._entries.pop(shop, None)
