"""Errors raised by the worker layer (queues, jobs, orchestration)."""


class WorkerError(Exception):
    """Base class for worker failures."""


class RedisNotConfigured(WorkerError):
    """REDIS_URL is empty, so there are no queues to enqueue to or work on."""


class UnknownQueue(WorkerError, ValueError):
    """A queue name that is not one of shoprec's queues."""


class SplitOutsideOrders(WorkerError, ValueError):
    """An evaluation split date that leaves no orders to fit on or none to test on."""


class UnknownProvider(WorkerError, ValueError):
    """A delivery's email provider that shoprec has no client for."""


class UnknownPlatformResource(WorkerError, ValueError):
    """A platform or a platform resource that shoprec does not sync."""


class TrainingError(WorkerError):
    """Training cannot run as asked (an unknown engine, or Spark unavailable for it)."""
