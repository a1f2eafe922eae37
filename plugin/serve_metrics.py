"""What `shoprec serve` sets up so gunicorn's workers are observable as one server.

prometheus-client's multiprocess mode: each worker writes its counters to files in
PROMETHEUS_MULTIPROC_DIR and /metrics (any worker) sums them. The folder is a fresh one per
run unless the operator set it, and is emptied at start either way (counters of an earlier
run would otherwise be summed in); a worker that exits is marked dead so its gauges go.
gunicorn's own error and access logs get the same format as shoprec's (SHOPREC_LOG_FORMAT).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger
from prometheus_client import multiprocess, values

from plugin.log_format import ContextFilter, make_formatter

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir() -> Path:
    """Point PROMETHEUS_MULTIPROC_DIR at an empty folder and switch multiprocess mode on.

    Must run before the app is built and gunicorn forks. A folder made here is removed when
    this (master) process exits.
    """
    given = os.environ.get(ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
    else:
        folder = Path(tempfile.mkdtemp(prefix="shoprec-metrics-"))
        os.environ[ENV] = str(folder)
        owner = os.getpid()

        def remove_folder() -> None:
            # gunicorn's workers are forks of this process: only the master removes it.
            if os.getpid() == owner:
                shutil.rmtree(folder, True)

        atexit.register(remove_folder)
    # prometheus-client picks its value class when first imported, which may have happened
    # before the variable was set: choose again (metric values are made at first use).
    values.ValueClass = values.get_value_class()
    return folder


def child_exit(_server: Any, worker: Any) -> None:
    """gunicorn hook (master): a worker is gone; its live gauges must not be summed in."""
    multiprocess.mark_process_dead(worker.pid)


def gunicorn_logger_class(log_format: str) -> type[GunicornLogger]:
    """A gunicorn logger whose handlers print shoprec's format (text or JSON lines)."""

    class ShoprecGunicornLogger(GunicornLogger):  # type: ignore[misc]
        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(make_formatter(log_format))
                    handler.addFilter(ContextFilter())

    return ShoprecGunicornLogger


def serve_options(log_format: str) -> dict[str, Any]:
    """gunicorn options for metrics and logs (merged into run_server's own)."""
    return {"child_exit": child_exit, "logger_class": gunicorn_logger_class(log_format)}
