"""The OpenAPI document matches what the app routes and accepts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from config import Settings
from plugin import create_app


@pytest.fixture
def settings(trained_settings: Settings) -> Settings:
    return trained_settings


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    return create_app(settings, {"TESTING": True}).test_client()


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.get_json()
    return doc


def test_every_documented_path_is_routed_with_its_method(
    client: FlaskClient, document: dict[str, Any]
) -> None:
    rules = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule): rule.methods
        for rule in client.application.url_map.iter_rules()
    }
    for path, operations in document["paths"].items():
        assert path in rules, f"{path} is documented but not routed"
        for method in operations:
            assert method.upper() in rules[path], f"{method} {path} is not routed"


def test_documented_parameters_are_accepted_and_enums_are_exact(
    client: FlaskClient, document: dict[str, Any], anchor: str
) -> None:
    get = document["paths"]["/api/v1/recommendations"]["get"]
    params = {p["name"]: p for p in get["parameters"]}
    assert set(params) == {
        "shop", "context", "slot", "product_id", "customer_id", "session_id", "visitor_id", "limit",
        "exclude", "customer_token", "X-Shoprec-Key",
    }  # fmt: skip
    assert params["X-Shoprec-Key"]["in"] == "header"
    for context in params["context"]["schema"]["enum"]:
        assert client.get(f"/api/v1/recommendations?shop=demo&context={context}").status_code == 200
    assert client.get("/api/v1/recommendations?shop=demo&context=nope").status_code == 400
    top = params["limit"]["schema"]["maximum"]
    query = f"/api/v1/recommendations?shop=demo&context=product&product_id={anchor}"
    assert (
        client.get(f"{query}&limit={top}&exclude=x&session_id=s1&visitor_id=v1").status_code == 200
    )
    assert client.get(f"{query}&limit={top + 1}").status_code == 400


def test_answer_matches_the_documented_schema(
    client: FlaskClient, document: dict[str, Any], anchor: str
) -> None:
    schema = document["components"]["schemas"]["Recommendations"]
    answer = client.get(
        f"/api/v1/recommendations?shop=demo&context=product&product_id={anchor}"
    ).get_json()
    assert set(schema["required"]) <= set(answer)
    item_schema = schema["properties"]["items"]["items"]
    for item in answer["items"]:
        assert set(item_schema["required"]) <= set(item) <= set(item_schema["properties"])


def test_extensions_are_documented(document: dict[str, Any]) -> None:
    answer = document["components"]["schemas"]["Recommendations"]["properties"]
    assert set(answer["experiment"]["required"]) == {"id", "variant"}
    assert answer["widget"]["properties"]["format"]["enum"] == ["scroll", "grid", "carousel"]
    post = document["paths"]["/api/v1/events"]["post"]
    event = post["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert {"visitor_id", "experiment_id", "variant"} <= set(event["properties"])
    assert {"202", "400", "403", "413", "429"} <= set(post["responses"])
    assert "Retry-After" in post["responses"]["429"]["headers"]
