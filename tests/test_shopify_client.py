"""The GraphQL client alone: cost-based throttle, GraphQL errors, shop domains and names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from connectors.errors import InvalidShopDomain, PlatformAuthError, PlatformError
from connectors.http_client import new_session
from connectors.shopify.api import MAX_THROTTLE_WAITS, ShopifyClient, updated_since_query
from connectors.shopify.auth import (
    TokenSet,
    authorize_url,
    domain_for_shop_name,
    shop_name_for_domain,
    validate_shop_domain,
)
from tests.shopify_platform import API_VERSION, DOMAIN, GRAPHQL_URL, cost, throttled


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def make_client(waits: list[float], token: str = "shpat_x") -> ShopifyClient:
    return ShopifyClient(
        new_session(),
        DOMAIN,
        API_VERSION,
        TokenSet(token),
        api_key="k",
        api_secret="s",
        on_tokens=lambda t: None,
        sleep=waits.append,
    )


def answer(data: dict[str, Any], requested: int = 50, available: float = 1900) -> dict[str, Any]:
    return {"data": data, "extensions": cost(requested, available)}


def test_low_budget_waits_before_the_next_query(rsps: responses.RequestsMock) -> None:
    rsps.post(GRAPHQL_URL, json=answer({"shop": {}}, requested=500, available=100))
    rsps.post(GRAPHQL_URL, json=answer({"shop": {}}))
    waits: list[float] = []
    client = make_client(waits)
    client.graphql("{ shop { id } }")
    assert waits == []
    client.graphql("{ shop { id } }")
    # 500 points wanted, ~100 there, 100 come back per second: about 4 s.
    assert len(waits) == 1 and 3.9 < waits[0] <= 4.0


def test_throttled_answers_are_waited_out_and_retried(rsps: responses.RequestsMock) -> None:
    rsps.post(GRAPHQL_URL, json=throttled(70))
    rsps.post(GRAPHQL_URL, json=throttled(470))
    rsps.post(GRAPHQL_URL, json=answer({"shop": {"id": "gid://shopify/Shop/1"}}))
    waits: list[float] = []
    data = make_client(waits).graphql("{ shop { id } }")
    assert data == {"shop": {"id": "gid://shopify/Shop/1"}}
    assert waits == [8.0, 4.0]  # each throttled answer waited out once


def test_endless_throttling_gives_up_with_a_clear_error(rsps: responses.RequestsMock) -> None:
    for _ in range(MAX_THROTTLE_WAITS + 1):
        rsps.post(GRAPHQL_URL, json=throttled(860))
    with pytest.raises(PlatformError, match="still throttled"):
        make_client([]).graphql("{ shop { id } }")


def test_graphql_errors_and_access_denied(rsps: responses.RequestsMock) -> None:
    rsps.post(GRAPHQL_URL, json={"errors": [{"message": "Field 'nope' doesn't exist"}]})
    rsps.post(
        GRAPHQL_URL,
        json={"errors": [{"message": "Access denied", "extensions": {"code": "ACCESS_DENIED"}}]},
    )
    client = make_client([])
    with pytest.raises(PlatformError, match="doesn't exist"):
        client.graphql("{ nope }")
    with pytest.raises(PlatformAuthError, match="denied"):
        client.graphql("{ orders(first: 1) { nodes { id } } }")


def test_401_without_refresh_token_is_an_auth_error(rsps: responses.RequestsMock) -> None:
    rsps.post(GRAPHQL_URL, status=401, json={"errors": "[API] Invalid API key or access token"})
    with pytest.raises(PlatformAuthError, match="no refresh token"):
        make_client([]).graphql("{ shop { id } }")


def test_the_token_is_sent_and_never_in_errors(rsps: responses.RequestsMock) -> None:
    rsps.post(
        GRAPHQL_URL,
        status=403,
        json={"errors": "Forbidden"},
        match=[responses.matchers.header_matcher({"X-Shopify-Access-Token": "shpat_secret"})],
    )
    with pytest.raises(PlatformAuthError) as info:
        make_client([], token="shpat_secret").graphql("{ shop { id } }")
    assert "shpat_secret" not in str(info.value)
    assert "shpat_secret" not in repr(TokenSet("shpat_secret", refresh_token="shprt_secret"))


def test_pages_read_page_info(rsps: responses.RequestsMock) -> None:
    nodes = [{"id": "gid://shopify/Product/1"}]
    page = {"products": {"pageInfo": {"hasNextPage": True, "endCursor": "abc"}, "nodes": nodes}}
    rsps.post(GRAPHQL_URL, json=answer(page))
    result = make_client([]).products_page(updated_since="2026-05-01T00:00:00")
    assert (result.nodes, result.end_cursor, result.has_next) == (nodes, "abc", True)
    sent = json.loads(rsps.calls[0].request.body)
    assert sent["variables"]["query"] == "updated_at:>'2026-05-01T00:00:00Z'"
    assert sent["variables"]["first"] == 20 and sent["variables"]["after"] is None


def test_updated_since_query_is_absent_for_a_backfill() -> None:
    assert updated_since_query(None) is None


@pytest.mark.parametrize(
    "raw",
    ["shop.com", "a.myshopify.com.evil", "A_B.myshopify.com", "-a.myshopify.com", "", None, 5],
)
def test_foreign_shop_domains_are_refused(raw: Any) -> None:
    with pytest.raises(InvalidShopDomain):
        validate_shop_domain(raw)


def test_shop_names_and_domains_map_both_ways() -> None:
    assert shop_name_for_domain(" Test-Shop.MyShopify.com ") == "test-shop"
    assert domain_for_shop_name("test-shop") == "test-shop.myshopify.com"
    url = authorize_url(DOMAIN, "key", "read_orders", "https://x.test/cb", "abc")
    assert url.startswith(f"https://{DOMAIN}/admin/oauth/authorize?client_id=key&scope=read_orders")
