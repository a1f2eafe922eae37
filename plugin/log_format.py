"""Log lines an operator can search: text or JSON (SHOPREC_LOG_FORMAT), with their context.

Loggers across the packages pass what an event concerns as `extra` ({"shop": ...,
"receipt_id": ...}); both formats print every such field. Two fields are added where the
code logging does not know them: `request_id` (the web request being answered: the same id
the storefront returns in its answer, see answer_request_id) and `job_id` (the RQ job being
run). Configured once per process by the CLI (serve, worker, one-shot commands) and by
create_app, so a worker's forked job process inherits it.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from rq import get_current_job

from config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes of every LogRecord (plus the ones formatting adds): anything else came as extra.
_STANDARD = frozenset(RESERVED_ATTRS) | {"message", "asctime", "taskName"}
_HANDLER_MARK = "_shoprec_handler"


@dataclass
class _RequestIds:
    """The id bound to the current web request, and whether an answer has used it yet."""

    request_id: str
    claimed: bool = False


_request_ids: contextvars.ContextVar[_RequestIds | None] = contextvars.ContextVar(
    "shoprec_request_id", default=None
)


def bind_request_id() -> contextvars.Token[_RequestIds | None]:
    """Give the current request a fresh id for its log lines (reset with the token after)."""
    return _request_ids.set(_RequestIds(uuid.uuid4().hex))


def unbind_request_id(token: contextvars.Token[_RequestIds | None]) -> None:
    """Forget the request's id (the next request on this thread gets its own)."""
    _request_ids.reset(token)


def current_request_id() -> str | None:
    """The id of the request being answered, or None outside a request."""
    ids = _request_ids.get()
    return ids.request_id if ids is not None else None


def answer_request_id() -> str:
    """The request_id of a recommendation answer: the request's own id for its first answer,
    so the answer and the request's log lines share it; a fresh id for any other answer
    (outside a request, or a second list in one request), which later lines then carry."""
    ids = _request_ids.get()
    if ids is not None and not ids.claimed:
        ids.claimed = True
        return ids.request_id
    fresh = uuid.uuid4().hex
    if ids is not None:
        ids.request_id = fresh
    return fresh


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
