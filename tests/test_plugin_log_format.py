"""Log formats: the text line keeps the fields a logger was given; request ids for answers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from plugin.log_format import (
    ContextFilter,
    TextFormatter,
    answer_request_id,
    bind_request_id,
    json_formatter,
    unbind_request_id,
)


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("shoprec.test.format")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def test_text_lines_keep_the_shop_and_other_extras(
    logged: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = logged
    handler.setFormatter(TextFormatter())
    logger.info("receipt %s processed", 7, extra={"shop": "demo", "receipt_id": 7})
    try:
        raise KeyError("boom")
    except KeyError:
        logger.exception("failed", extra={"shop": "demo"})
    first, second, *trace = stream.getvalue().splitlines()
    assert first.endswith("INFO shoprec.test.format: receipt 7 processed [shop=demo receipt_id=7]")
    assert second.endswith("ERROR shoprec.test.format: failed [shop=demo]")
    assert trace[0] == "Traceback (most recent call last):"  # below the line, as before


def test_json_lines_carry_the_request_id_of_the_answer(
    logged: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = logged
    handler.setFormatter(json_formatter())
    token = bind_request_id()
    try:
        first = answer_request_id()
        logger.info("one", extra={"shop": "demo"})
        second = answer_request_id()  # a second list in the same request: its own id
        logger.info("two")
    finally:
        unbind_request_id(token)
    logger.info("outside")
    one, two, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert list(one)[:4] == ["ts", "level", "logger", "message"]
    assert one["shop"] == "demo" and one["request_id"] == first
    assert second != first and two["request_id"] == second
    assert "request_id" not in outside and "job_id" not in outside
    assert answer_request_id() != answer_request_id()  # outside a request: always fresh
