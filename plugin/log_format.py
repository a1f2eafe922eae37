"""Log lines an operator can search: text or JSON (SHOPREC_LOG_FORMAT), with their context.

Loggers across the packages pass what an event concerns as `extra` ({"shop": ...,
"receipt_id": ...}); both formats print every such field. Two fields are added where the
code logging does not know them: `request_id` (the web request being answered: the same id
the storefront returns in its answer, see answer_request_id) and `job_id` (the RQ job being
run). Configured once per process by the CLI (serve, worker, one-shot commands) and by
create_app, so a worker's forked job process inherits it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from rq import get_current_job

from config import Settings
from serving.request_ids import (  # noqa: F401 (re-exported: the app binds them per request)
    answer_request_id,
    bind_request_id,
    current_request_id,
    unbind_request_id,
)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes of every LogRecord (plus the ones formatting adds): anything else came as extra.
_STANDARD = frozenset(RESERVED_ATTRS) | {"message", "asctime", "taskName"}
_HANDLER_MARK = "_shoprec_handler"


class ContextFilter(logging.Filter):
    """Adds request_id (inside a web request) and job_id (inside an RQ job) to each record,
    unless the caller gave them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = current_request_id()
            if request_id is not None:
                record.request_id = request_id
        if not hasattr(record, "job_id"):
            job = get_current_job()
            if job is not None:
                record.job_id = job.id
        return True


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record carries beyond the standard ones (its `extra` and context)."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k[:1] != "_"}


class TextFormatter(logging.Formatter):
    """The readable line, followed by every extra field as key=value."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = extra_fields(record)
        if not fields:
            return line
        tail = " ".join(f"{key}={value}" for key, value in fields.items())
        head, newline, trace = line.partition("\n")  # keep a traceback below the line
        return f"{head} [{tail}]{newline}{trace}"


class _JsonLines(JsonFormatter):
    """python-json-logger's formatter with the timestamp first, where eyes look for it."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {"ts": log_data.pop("ts", None), **log_data}


def json_formatter() -> logging.Formatter:
    """One JSON object per line: ts (UTC ISO-8601), level, logger, message, then extras."""
    return _JsonLines(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="ts",
        json_ensure_ascii=False,
    )


def make_formatter(log_format: str) -> logging.Formatter:
    """The formatter of a SHOPREC_LOG_FORMAT value ('json' or 'text')."""
    return json_formatter() if log_format == "json" else TextFormatter()


def configure_logging_once(settings: Settings) -> None:
    """configure_logging unless the process already has root handlers (the CLI set them up,
    or a test runner captures logs): for create_app served by a bare WSGI server."""
    if not logging.getLogger().handlers:
        configure_logging(settings)


def configure_logging(settings: Settings) -> None:
    """Send the root logger's records to stderr in the configured format and level.

    Idempotent: a second call (create_app after the CLI) replaces shoprec's own handler
    rather than adding one, and leaves handlers others installed (pytest's capture) alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(make_formatter(settings.log_format))
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
