"""RQ's scheduler lock, freed as soon as its holder is gone, and a scheduler that rides out
a Redis outage.

RQ runs the scheduler (what releases `enqueue_in`/`enqueue_at` jobs: campaign timers, push
retries, periodic sweeps) in one process per queue set, guarded by a Redis lock per queue
(`rq:scheduler-lock:<queue>`, value = the scheduler's name, TTL 61 s, refreshed every second).
A worker that starts while the lock is held does not try again until its next maintenance
round, ten minutes later by default: after a kill -9 the restarted worker ran without a
scheduler for 10-14 minutes. Here:

- `release_stale_scheduler_locks` deletes a lock whose holder is provably gone: its metadata
  hash has expired, its process is dead on this host, or its heartbeat is older than
  STALE_AFTER_S (any host). The delete is RQ's compare-and-delete, so a lock a live scheduler
  has just refreshed or re-taken is left alone.
- `SurvivingScheduler` stops when the worker that forked it dies (an orphan would hold the
  lock forever), and survives Redis errors instead of dying with a traceback per outage.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterable
from datetime import UTC, datetime

import redis
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.scripts import release_lock

from worker.process_claims import pid_alive

logger = logging.getLogger(__name__)

STALE_AFTER_S = 15.0  # a live scheduler heartbeats every second
_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def holder_gone(connection: redis.Redis, holder: str, now: datetime | None = None) -> str | None:
    """Why the scheduler named `holder` is gone (None: it may be alive)."""
    raw = connection.hgetall(SCHEDULER_KEY_TEMPLATE % holder)
    if not raw:
        return "its scheduler record has expired"
    data = {_text(k): _text(v) for k, v in raw.items()}
    pid = int(data.get("pid") or 0)
    if data.get("hostname") == socket.gethostname() and not pid_alive(pid):
        return f"its process {pid} on this host is dead"
    beat = data.get("last_heartbeat")
    if beat:
        last = datetime.fromisoformat(beat.replace("Z", "+00:00"))
        if last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        age = ((now or datetime.now(UTC)) - last).total_seconds()
        if age > STALE_AFTER_S:
            return f"its last heartbeat was {age:.0f} s ago"
    return None


def release_stale_scheduler_locks(
    connection: redis.Redis, queue_names: Iterable[str], own_name: str | None = None
) -> list[str]:
    """Free each queue's scheduler lock whose holder is gone; return the queues freed."""
    freed = []
    for name in queue_names:
        key = RQScheduler.get_locking_key(name)
        holder = _text(connection.get(key))
        if not holder or holder == own_name:
            continue
        reason = holder_gone(connection, holder)
        if reason and release_lock(connection, key, holder):
            logger.warning(
                "freed the scheduler lock of queue %s held by %s: %s", name, holder, reason
            )
            freed.append(name)
    return freed


class SurvivingScheduler(RQScheduler):
    """RQ's scheduler, ending with the worker that forked it and riding out Redis outages."""

    def start(self):  # type: ignore[no-untyped-def]
        self._parent_pid = os.getpid()  # read in the child after the fork
        return super().start()

    def _parent_gone(self) -> bool:
        parent = getattr(self, "_parent_pid", None)
        return parent is not None and os.getppid() != parent

    def work(self) -> None:
        """RQ's loop, but a Redis error waits and retries (logged once per outage) and a dead
        parent stops it, releasing its locks so the next worker's scheduler starts at once."""
        self._install_signal_handlers()
        down_since: float | None = None
        wait = 1.0
        registered = False
        while True:
            try:
                if not registered:  # again after an outage: a restarted Redis lost it
                    self.register_birth()
                    registered = True
                if self._stop_requested or self._parent_gone():
                    self.stop()
                    return
                if self.should_reacquire_locks:
                    self.acquire_locks()
                self.heartbeat()
                self.enqueue_scheduled_jobs()
                if down_since is not None:
                    logger.warning(
                        "scheduler: Redis is back after %.0f s", time.monotonic() - down_since
                    )
                    down_since, wait = None, 1.0
                time.sleep(self.interval)
            except _REDIS_DOWN as exc:
                registered = False
                if down_since is None:
                    down_since = time.monotonic()
                    logger.error("scheduler: Redis is unreachable (%s); retrying with backoff", exc)
                if self._stop_requested or self._parent_gone():
                    return
                time.sleep(wait)
                wait = min(wait * 2, 30.0)
