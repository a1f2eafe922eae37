"""`shoprec worker run` that survives: Redis outages, a killed predecessor, its own crashes.

RQ's Worker retries a lost connection while it waits for jobs, but quits its work loop on an
error anywhere else (a heartbeat after a job, a maintenance round, a Redis timeout), and its
scheduler process dies with a traceback. `run_until_stopped` is the supervising loop: it
waits for Redis with capped exponential backoff, logs an outage once (and its end once), then
builds a fresh SurvivingWorker and runs it again, until SIGTERM/SIGINT asks it to stop.

SurvivingWorker is RQ's Worker with: a maintenance round every MAINTENANCE_INTERVAL_S (not
every ten minutes) that frees a dead scheduler's lock and starts this worker's scheduler if
none runs, the scheduler being a SurvivingScheduler (worker/scheduler_lock.py), RQ's
per-retry "could not connect" lines folded into one line per outage, and a hook the CLI uses
to keep each shop's periodic chains alive (worker/schedules.py).
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import redis
from rq import SimpleWorker, Worker

from worker.scheduler_lock import SurvivingScheduler, release_stale_scheduler_locks

logger = logging.getLogger(__name__)

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# How often a worker checks for a dead scheduler to replace. RQ runs maintenance only when
# its blocking dequeue returns, so the dequeue wait is capped to the same figure.
MAINTENANCE_INTERVAL_S = 15
MAX_BACKOFF_S = 30.0
_RQ_RETRY_LINE = "could not connect to Redis"


class OutageLog(logging.Filter):
    """One ERROR line when Redis goes away, one WARNING when it is back; RQ's own line per
    retry (filtered out of the `rq.worker` logger) only marks the outage."""

    def __init__(self) -> None:
        super().__init__()
        self.since: float | None = None

    def down(self, reason: object) -> None:
        if self.since is None:
            self.since = time.monotonic()
            logger.error(
                "Redis is unreachable (%s): waiting for it (backoff up to %.0f s)",
                reason,
                MAX_BACKOFF_S,
            )

    def up(self) -> None:
        if self.since is not None:
            logger.warning(
                "Redis is back after %.0f s: resuming work", time.monotonic() - self.since
            )
            self.since = None

    def filter(self, record: logging.LogRecord) -> bool:
        if _RQ_RETRY_LINE in str(record.msg):
            self.down(record.args[1] if isinstance(record.args, tuple) and record.args[1:] else "")
            return False
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, REDIS_DOWN) and "quitting" in str(record.msg):  # + a traceback:
            self.down(error)  # run_until_stopped starts a new worker once Redis is back
            return False
        return True


if TYPE_CHECKING:  # the mixin is only ever mixed into an RQ worker class
    from rq.worker import BaseWorker as _WorkerBase
else:
    _WorkerBase = object


class SurvivalMixin(_WorkerBase):
    """What SurvivingWorker adds to an RQ worker class (also mixed into SimpleWorker)."""

    outage: OutageLog
    on_maintenance: Callable[[redis.Redis], None] | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.outage = kwargs.pop("outage", None) or OutageLog()
        self.on_maintenance = kwargs.pop("on_maintenance", None)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL_S)
        super().__init__(*args, **kwargs)
        self.shutdown_asked = False

    @property
    def dequeue_timeout(self) -> int:
        return MAINTENANCE_INTERVAL_S

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.shutdown_asked = True
        super().request_stop(signum, frame)

    def subscribe(self) -> None:
        """RQ's command channel, polled every second: RQ's 60 s poll can hold a stopping
        worker (its unsubscribe joins the thread) for up to a minute."""
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        thread = self.pubsub.run_in_thread(
            sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler
        )
        # RQ leaves the attribute untyped (set to None in its __init__), so mypy reads it as
        # None only.
        self.pubsub_thread = cast(Any, thread)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        super().heartbeat(timeout, pipeline)
        if pipeline is None:
            self.outage.up()

    def _pubsub_exception_handler(self, exc: Exception, pubsub: Any, pubsub_thread: Any) -> None:
        if isinstance(exc, redis.exceptions.ConnectionError):
            self.outage.down(exc)
            time.sleep(2.0)
            return
        super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)

    def _start_scheduler(
        self, burst: bool = False, logging_level: Any = "INFO", *args: Any
    ) -> None:
        """RQ's start-up, with a SurvivingScheduler and a dead holder's lock freed first."""
        names = self.queue_names()
        release_stale_scheduler_locks(self.connection, names)
        self.scheduler = SurvivingScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            logger.info("scheduler lock held by a live worker: this one will take over if it dies")
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()

    def scheduler_running(self) -> bool:
        process = self.scheduler._process if self.scheduler else None
        return bool(process and process.is_alive())

    def run_maintenance_tasks(self) -> None:
        """Free a dead holder's scheduler lock and start ours if none runs, then RQ's
        registry cleaning and the periodic-chain hook."""
        if self.scheduler is not None and not self.scheduler_running():
            release_stale_scheduler_locks(self.connection, self.queue_names(), self.scheduler.name)
            self.scheduler.acquire_locks(auto_start=True)
        if self.on_maintenance is not None:
            try:
                self.on_maintenance(self.connection)
            except REDIS_DOWN:
                raise
            except Exception:  # a broken shop must not stop the worker; the next round retries
                logger.exception("periodic-job upkeep failed")
        super().run_maintenance_tasks()

    def stop_work_after_crash(self) -> None:  # type: ignore[misc]
        """Stop what a crashed work() left running: the pubsub thread and the scheduler."""
        thread = getattr(self, "pubsub_thread", None)
        if thread is not None:
            thread.stop()
        process = self.scheduler._process if self.scheduler else None
        if process is not None and process.is_alive():
            process.terminate()
            process.join(timeout=10)


class SurvivingWorker(SurvivalMixin, Worker):
    """RQ's Worker whose scheduler starts within a maintenance round of a holder's death."""


class SurvivingSimpleWorker(SurvivalMixin, SimpleWorker):
    """The same, running jobs in its own process (`shoprec worker run --simple`)."""


class _StopFlag:
    def __init__(self) -> None:
        self.asked = False

    def ask(self, signum: int, frame: Any) -> None:
        self.asked = True

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self.ask)
        signal.signal(signal.SIGINT, self.ask)

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.asked and time.monotonic() < end:
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))


def wait_for_redis(connection: redis.Redis, outage: OutageLog, stop: _StopFlag) -> bool:
    """Ping until Redis answers (True) or a stop is asked (False); capped exponential backoff."""
    wait = 1.0
    while not stop.asked:
        try:
            connection.ping()
        except REDIS_DOWN as exc:
            outage.down(exc)
            stop.sleep(wait)
            wait = min(wait * 2, MAX_BACKOFF_S)
            continue
        outage.up()
        return True
    return False


def run_until_stopped(
    make_worker: Callable[[OutageLog], SurvivalMixin],
    connection: redis.Redis,
    *,
    burst: bool = False,
    logging_level: str = "INFO",
    on_connected: Callable[[redis.Redis], object] | None = None,
) -> None:
    """Run workers until a signal asks to stop (or, with `burst`, until the queues are empty).

    Each round waits for Redis, calls `on_connected` (start-up sweeps, periodic chains), and
    runs a fresh worker; a round that ends without a stop request (Redis lost, an unexpected
    error) is followed by another after a backoff, never by an exit.
    """
    outage = OutageLog()
    logging.getLogger("rq.worker").addFilter(outage)
    stop = _StopFlag()
    stop.install()
    pause = 1.0
    while wait_for_redis(connection, outage, stop):
        worker: SurvivalMixin | None = None
        started = time.monotonic()
        try:
            if on_connected is not None:
                try:
                    on_connected(connection)
                except REDIS_DOWN:
                    raise
                except Exception:  # start-up upkeep must never keep the worker from working
                    logger.exception("start-up upkeep failed; the worker starts anyway")
            worker = make_worker(outage)
            if stop.asked:  # asked while starting up: before the worker's own handlers
                return
            worker.work(burst=burst, with_scheduler=True, logging_level=logging_level)
        except REDIS_DOWN as exc:
            outage.down(exc)
        except Exception:
            logger.exception("worker stopped on an unexpected error: starting a new one")
        finally:
            stop.install()  # work() replaced the handlers with the finished worker's
            if worker is not None:
                worker.stop_work_after_crash()
        if burst or stop.asked or (worker is not None and worker.shutdown_asked):
            return
        if time.monotonic() - started > 5 * MAX_BACKOFF_S:
            pause = 1.0  # a worker that ran a while starts the backoff afresh
        stop.sleep(pause)
        pause = min(pause * 2, MAX_BACKOFF_S)
