"""The one JSON error shape of the HTTP API, and the handlers that produce it.

Every JSON route answers a failure with the same body (datasette's canonical error), so a
client parses one shape whatever went wrong:
`{"ok": false, "error": "a; b", "errors": ["a", "b"], "status": 400, "code": "..."}`.
HTML widget routes never show this body: they render templates/widgets/error.html instead,
so a broken widget can never break the shop page that embeds it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from gunicorn.http import errors as gunicorn_errors
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)

# What gunicorn raises while a route reads a malformed body (werkzeug's own ClientDisconnected
# is already a 400 HTTPException).
BODY_READ_ERRORS: tuple[type[Exception], ...] = (
    gunicorn_errors.ParseException,
    gunicorn_errors.NoMoreData,
)

WIDGET_PATH_PREFIX = "/api/v1/widgets/"
_HTML_PATH_PREFIXES = ("/demo",)


class ApiError(Exception):
    """A request the API refuses, with the HTTP status and a stable machine code.

    Args:
        errors: one message per problem; each names the parameter, the rule and the value.
        status: the HTTP status (400 bad input, 404 unknown shop, 413 batch too large...).
        code: stable machine-readable code ('invalid_parameter', 'unknown_shop', ...).
        headers: extra response headers (Retry-After of a 429).
    """

    def __init__(
        self,
        errors: str | Sequence[str],
        status: int = 400,
        code: str = "invalid",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        self.status = status
        self.code = code
        self.headers = dict(headers or {})
        super().__init__("; ".join(self.errors))


def error_body(errors: Sequence[str], status: int, code: str) -> dict[str, Any]:
    """The canonical error object (see the module docstring)."""
    return {
        "ok": False,
        "error": "; ".join(errors),
        "errors": list(errors),
        "status": status,
        "code": code,
    }


def error_response(errors: Sequence[str], status: int, code: str) -> Response:
    """The canonical error body as a JSON response with `status`."""
    response = jsonify(error_body(errors, status, code))
    response.status_code = status
    return response


def widget_error_response(status: int) -> Response:
    """A harmless, empty HTML fragment for a widget route that cannot answer."""
    response = Response(render_template("widgets/error.html"), status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _wants_html_page(path: str) -> bool:
    return path == "/" or path.startswith(_HTML_PATH_PREFIXES)


def register_error_handlers(app: Flask) -> None:
    """Turn ApiError, HTTP errors and unexpected exceptions into the one shape per route kind."""

    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError) -> Response:
        if request.path.startswith(WIDGET_PATH_PREFIX):
            response = widget_error_response(exc.status)
        else:
            response = error_response(exc.errors, exc.status, exc.code)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException) -> Response | HTTPException:
        status = exc.code or 500
        if request.path.startswith(WIDGET_PATH_PREFIX):
            return widget_error_response(status)
        if _wants_html_page(request.path):
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response([exc.description or exc.name], status, code)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> Response:
        if isinstance(exc, BODY_READ_ERRORS):
            # A malformed body (bad chunk size, cut short) surfaces only when a route reads
            # it; it is the client's fault on every route, so one answer here.
            logger.warning("unreadable body on %s %s: %r", request.method, request.path, exc)
            if request.path.startswith(WIDGET_PATH_PREFIX):
                return widget_error_response(400)
            return error_response(["could not read the request body"], 400, "bad_body")
        # The traceback goes to the log, never to the client (no stack trace in a response).
        logger.exception("unhandled error on %s %s", request.method, request.path)
        if request.path.startswith(WIDGET_PATH_PREFIX):
            return widget_error_response(500)
        return error_response(["internal error; see the server log"], 500, "internal_error")


class ShopperTokenError(Exception):
    """A customer_token that proves nothing: the request is served as an anonymous visitor."""


class MalformedShopperToken(ShopperTokenError):
    """Not a `v1.<customer>.<expiry>.<hmac>` token (or longer than any real one)."""


class ExpiredShopperToken(ShopperTokenError):
    """Its expiry has passed."""


class OverlongShopperToken(ShopperTokenError):
    """Its expiry lies further ahead than the longest lifetime a token may have."""


class ForgedShopperToken(ShopperTokenError):
    """Its HMAC does not match: made without this shop's identity secret (or for another shop)."""


class InvalidIdentityMode(Exception):
    """An `identity` setting other than "signed" or "open"."""


class ChartError(ValueError):
    """An admin chart asked for with an unknown kind."""
