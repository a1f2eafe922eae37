"""The app's JSON answers (orjson) say what Flask's standard provider says, value for value."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from config import Settings
from plugin import create_app


@dataclass
class Point:
    x: int
    label: str


VALUES = {
    "title": 'Café "Crème" <b>&</b> 🍰',
    "price": 12.5,
    "ints": [0, -3, 2**63 - 1],
    "moment": datetime(2026, 12, 5, 18, 0, tzinfo=UTC),
    "day": date(2026, 12, 5),
    "money": Decimal("19.99"),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "point": Point(1, "p"),
    "html": Markup("<i>x</i>"),
    7: "a non-string key",
    "nested": {"none": None, "flag": True, "empty": []},
}


@pytest.fixture
def app(settings: Settings):
    return create_app(settings, {"TESTING": True})


@pytest.mark.parametrize(
    "value", [VALUES, {"huge": 2**70}, [1.0, 1e-7, 123456789.125]], ids=["mixed", "big", "floats"]
)
def test_the_same_json_as_flasks_own_provider(app, value) -> None:
    standard = DefaultJSONProvider(app)
    standard.sort_keys = False
    ours = app.json.dumps(value)
    assert json.loads(ours) == json.loads(standard.dumps(value))
    assert list(json.loads(ours)) == list(json.loads(standard.dumps(value)))  # key order kept


def test_unknown_types_still_refused(app) -> None:
    with pytest.raises(TypeError):
        app.json.dumps({"x": object()})


def test_answers_parse_and_keep_the_contract_order(app) -> None:
    with app.test_request_context():
        response = app.json.response({"shop": "demo", "context": "product", "items": []})
    assert response.mimetype == "application/json"
    assert response.get_data(as_text=True) == '{"shop":"demo","context":"product","items":[]}\n'
    assert app.json.loads(b'{"a": [1, "\\u00e9"]}') == {"a": [1, "é"]}
