"""The id of the web request being answered, shared by its answer and its log lines.

Lives in serving/ because the service stamps every answer with it, while the web app binds
it per request and the log formatter prints it; all three see one context variable.
"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass


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
