"""Per-shop cache generations: bumping one makes every cached answer of the shop unreachable.

Two stamps make up a shop's generation, and a serving-cache key carries both:
- a marker file beside the shop's SQLite file, rewritten (temp file + rename) on each bump.
  Every process that writes the store can reach it, with or without Redis, so an import run
  from the CLI or a retrain invalidates the in-process caches of every gunicorn worker;
- the Redis counter `shoprec:{shop}:gen` (INCR), when the process has a Redis URL, so caches
  on other hosts sharing the Redis see the bump too: training and admin changes bump it with
  their settings, and writes made with only the store in hand (webhook receipts, syncs,
  imports) with the process's configured REDIS_URL.
Settings need no bump: serving adds a third stamp, the id of the shop's latest settings
change (storage.shop_settings.settings_stamp), so a "rules" or "weights" change written by
anyone (admin, CLI, experiments) shows on the next request.
A bump that cannot reach Redis is logged, not raised: the marker file still moved, and a
failed data write must not be reported for a cache that merely goes stale by TTL.

It lives with serving, whose caches read the two stamps; the worker, the CLI and the admin
bump them after writes.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import redis
import sqlite_utils

from config import ConfigError, Settings, load_settings
from storage.db import database_file, shop_dir

logger = logging.getLogger(__name__)

MARKER_NAME = "cache-generation"
REDIS_TIMEOUT_S = 0.1
# Shop folders whose bump waits for the end of the current batch (bumps_deferred).
_DEFERRED: ContextVar[set[Path] | None] = ContextVar("shoprec_deferred_bumps", default=None)


def generation_key(shop: str) -> str:
    """The Redis counter of a shop's generation."""
    return f"shoprec:{shop}:gen"


def marker_path(directory: Path) -> Path:
    """The generation marker file inside a shop's folder."""
    return directory / MARKER_NAME


def read_marker(directory: Path) -> str:
    """The shop folder's marker stamp; '0' before the first bump."""
    try:
        return marker_path(directory).read_text(encoding="ascii").strip() or "0"
    except FileNotFoundError:
        return "0"


def marker_stamp(directory: Path) -> str:
    """A cheap token of the marker (one stat, no read): each bump renames a new file in, so
    its inode and mtime change; '0' before the first bump."""
    try:
        stat = marker_path(directory).stat()
    except FileNotFoundError:
        return "0"
    return f"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}"


def bump_marker(directory: Path) -> str:
    """Write a fresh stamp into the shop folder's marker atomically; return it."""
    stamp = uuid.uuid4().hex[:16]
    if not directory.is_dir():
        return stamp
    fd, tmp = tempfile.mkstemp(prefix=".cache-gen-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(stamp)
        os.replace(tmp, marker_path(directory))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return stamp


def bump_db_generation(db: sqlite_utils.Database) -> None:
    """Bump the generation of the shop whose store `db` is (for code that holds only the db:
    webhook receipts, syncs, imports); inside bumps_deferred, only note it."""
    path = database_file(db)
    if path is not None:
        deferred = _DEFERRED.get()
        if deferred is not None:
            deferred.add(path.parent)
        else:
            _bump_folder(path.parent)


def _bump_folder(directory: Path) -> None:
    """The marker in the shop's folder, and the shop's Redis counter when the process is
    configured with Redis (REDIS_URL, as every worker and web host sharing a store is): the
    marker reaches this host's processes, the counter every host's caches."""
    bump_marker(directory)
    try:
        redis_url = load_settings().redis_url
    except ConfigError as exc:  # the write is done; only other hosts' caches wait for the TTL
        logger.warning("cache generation of shop %s not bumped in Redis: %s", directory.name, exc)
        return
    if redis_url:
        bump_redis_generation(redis_url, directory.name)


@contextmanager
def bumps_deferred() -> Iterator[None]:
    """Within the block, bump_db_generation notes the shop, and each noted shop is bumped
    once when the block ends (also when it raises). A batch of webhook receipts then moves
    the generation once instead of once per product receipt (a bump writes and renames a
    file: it cost ~2.6 ms of a product receipt's ~3.4 ms)."""
    noted: set[Path] = set()
    token = _DEFERRED.set(noted)
    try:
        yield
    finally:
        _DEFERRED.reset(token)
        for directory in noted:
            _bump_folder(directory)


def bump_generation(settings: Settings, shop: str) -> None:
    """Invalidate every cached answer of `shop`: the marker file, and Redis when configured."""
    bump_marker(shop_dir(settings.data_dir, shop))
    if settings.redis_url:
        bump_redis_generation(settings.redis_url, shop)


def bump_redis_generation(redis_url: str, shop: str) -> None:
    """INCR the shop's Redis counter; an unreachable Redis is logged, not raised."""
    conn = redis.Redis.from_url(
        redis_url,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
    )
    try:
        conn.incr(generation_key(shop))
    except (redis.RedisError, OSError) as exc:
        logger.warning(
            "cache generation of shop %s not bumped in Redis: %s", shop, exc, extra={"shop": shop}
        )
    finally:
        conn.close()
