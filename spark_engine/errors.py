"""Errors of the Spark engine."""


class SparkEngineError(Exception):
    """Base class for Spark engine failures."""


class SparkUnavailable(SparkEngineError):
    """pyspark or Java is missing, or the master cannot be reached."""
