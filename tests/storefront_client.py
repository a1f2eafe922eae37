"""How the storefront tests call the API and check its answers (shared by the split files)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

SHOP = "demo"
API = "/api/v1/recommendations"
ERROR_KEYS = {"ok", "error", "errors", "status", "code"}
ITEM_KEYS = {"product_id", "title", "price", "url", "image_url", "reason"}
NASTY_TITLE = "<script>alert(1)</script> \"quoted\" & 'single'"


def ask(client: FlaskClient, **params: Any) -> Any:
    """A recommendations request that must answer 200 (the body is shown when it does not)."""
    query = {"shop": SHOP, "context": "product", **params}
    response = client.get(API, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def ids(response: Any) -> list[str]:
    """The product ids of a recommendations answer, in order."""
    return [item["product_id"] for item in response.get_json()["items"]]


def assert_canonical_error(response: Any, status: int, *words: str) -> dict[str, Any]:
    """Check the one JSON error shape (plugin/errors.py) and that each word is in the message."""
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == ERROR_KEYS
    assert body["ok"] is False and body["status"] == status and body["errors"]
    assert body["error"] == "; ".join(body["errors"])
    for word in words:
        assert word in body["error"]
    return body
