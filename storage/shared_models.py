"""Model folders shared between hosts that share no disk, through one shared folder.

Training publishes the folder it just swapped in to `<shared>/<shop>/<version>/` and then
names that version in `<shared>/<shop>/CURRENT` (written by rename, so a reader sees the old
name or the new one, never half). A serving host asks for a shop's model folder; when the
shared CURRENT names a version its local cache does not hold, it copies that version into
its own data dir (staged, then swapped in by rename, as training does) before answering.
The shared folder is any path every host mounts (NFS, EFS, a bind mount); no copy is read
from it while serving, only pulled.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path

CURRENT = "CURRENT"
PULLED = "models.version"  # beside the local models folder: the version it holds
KEEP_VERSIONS = 2


def _current(shop_root: Path) -> str:
    try:
        return (shop_root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


def publish_models(shared_dir: Path, shop: str, local_models: Path) -> str:
    """Copy a shop's freshly trained model folder to the shared folder; return its version."""
    shop_root = Path(shared_dir) / shop
    shop_root.mkdir(parents=True, exist_ok=True)
    version = str(time.time_ns())
    staging = Path(tempfile.mkdtemp(prefix=".publish-", dir=shop_root))
    try:
        shutil.copytree(local_models, staging / "models")
        (staging / "models").rename(shop_root / version)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    tmp = shop_root / f".{CURRENT}.{version}"
    tmp.write_text(version, encoding="utf-8")
    os.replace(tmp, shop_root / CURRENT)
    (local_models.parent / PULLED).write_text(version, encoding="utf-8")
    versions = sorted(p for p in shop_root.iterdir() if p.is_dir() and p.name.isdigit())
    for old in versions[:-KEEP_VERSIONS]:
        shutil.rmtree(old, ignore_errors=True)
    return version


def pull_models(shared_dir: Path, shop: str, local_models: Path) -> bool:
    """Bring the shared current version into `local_models` if it is not there yet; return
    whether a copy was made. Processes of one host take turns (a lock file beside it)."""
    shop_root = Path(shared_dir) / shop
    version = _current(shop_root)
    if not version:
        return False
    marker = local_models.parent / PULLED
    if _read(marker) == version:
        return False
    local_models.parent.mkdir(parents=True, exist_ok=True)
    with open(local_models.parent / ".models.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _read(marker) == version:
            return False
        staging = Path(tempfile.mkdtemp(prefix=".models-pull-", dir=local_models.parent))
        try:
            shutil.copytree(shop_root / version, staging / "models")
            old = local_models.with_name(f".models-old-{time.time_ns()}")
            if local_models.exists():
                local_models.rename(old)
            (staging / "models").rename(local_models)
            shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:
            return False  # a newer publish removed it meanwhile: the next call takes that
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        marker.write_text(version, encoding="utf-8")
    return True


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
