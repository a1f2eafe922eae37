"""The signed email pull endpoint and its click redirect, on a trained demo shop copy."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from config import Settings
from email_blocks.signing import signed_url
from plugin import create_app
from storage.catalog import get_products, set_inventory
from storage.db import open_shop_db

SECRET = "test-secret"
BLOCK = "/email/v1/block"


@pytest.fixture
def settings(trained_settings: Settings) -> Settings:
    return dataclasses.replace(trained_settings, secret_key=SECRET)


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    return create_app(settings=settings, test_config={"TESTING": True}).test_client()


@pytest.fixture
def customer(settings: Settings) -> Iterator[dict[str, str]]:
    """A demo customer with a purchase (so every campaign has its anchor)."""
    db = open_shop_db(settings.data_dir, "demo", create=False)
    row = next(
        iter(
            db.query(
                "SELECT c.customer_id, c.email FROM customers c JOIN order_lines l "
                "ON l.customer_id = c.customer_id ORDER BY c.customer_id LIMIT 1"
            )
        )
    )
    db.close()
    yield row


def url(campaign: str = "post_purchase", secret: str = SECRET, **params: str) -> str:
    """A signed block URL (path only, as the test client wants it)."""
    return signed_url("", BLOCK, secret, {"shop": "demo", "campaign": campaign, **params})


@pytest.mark.parametrize("campaign", ["post_purchase", "browse", "win_back"])
def test_json_block_for_a_known_shopper(
    client: FlaskClient, customer: dict[str, str], campaign: str
) -> None:
    response = client.get(url(campaign, email=customer["email"], format="json"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["shopper"] == "known" and body["customer_id"] == customer["customer_id"]
    assert 4 <= len(body["items"]) <= 6
    assert body["html"].startswith("<table") and "<style" not in body["html"]
    assert body["heading"] in body["text"]
    for item in body["items"]:
        assert item["title"] in body["text"]
    assert len(body["html"].encode()) < 102 * 1024 / 4
    assert response.headers["Cache-Control"] == "no-store"
    if campaign == "post_purchase":
        assert body["heading"].startswith("Because you bought ")


def test_html_format_and_customer_id(client: FlaskClient, customer: dict[str, str]) -> None:
    response = client.get(url("win_back", customer_id=customer["customer_id"]))
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'style="' in html and "<img " in html and 'alt="' in html


def test_unknown_shopper_gets_trending_not_an_error(client: FlaskClient) -> None:
    response = client.get(url("post_purchase", email="nobody@example.com", format="json"))
    body = response.get_json()
    assert response.status_code == 200
    assert body["shopper"] == "unknown" and body["customer_id"] is None
    assert body["heading"] == "Recommended for you"
    assert len(body["items"]) >= 4 and {i["slot"] for i in body["items"]} == {"trending"}


def test_links_carry_signed_click_urls_that_redirect_with_utm(
    client: FlaskClient, settings: Settings, customer: dict[str, str]
) -> None:
    body = client.get(url("browse", email=customer["email"], format="json")).get_json()
    first = body["items"][0]
    link = urlsplit(first["link"])
    assert (
        link.path == "/email/v1/click"
        and f'href="{first["link"].replace("&", "&amp;")}"' in (body["html"])
    )
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert query["campaign"] == "browse" and query["position"] == "1" and query["sig"]

    redirect = client.get(f"{link.path}?{link.query}")
    assert redirect.status_code == 302
    target = urlsplit(redirect.headers["Location"])
    db = open_shop_db(settings.data_dir, "demo", create=False)
    stored_url = get_products(db, [first["product_id"]])[first["product_id"]]["url"]
    assert target.path == stored_url
    assert parse_qs(target.query) == {
        "utm_source": ["shoprec"],
        "utm_medium": ["email"],
        "utm_campaign": ["browse"],
    }
    events = list(db.query("SELECT * FROM events WHERE type = 'click' AND context = 'email'"))
    db.close()
    assert len(events) == 1
    event = events[0]
    assert event["product_id"] == first["product_id"]
    assert event["customer_id"] == customer["customer_id"]
    assert event["slot"] == first["slot"] and event["request_id"] == first["request_id"]
    assert event["position"] == 1


def test_click_cannot_be_pointed_elsewhere(client: FlaskClient) -> None:
    """An added `url` or edited product id breaks the signature: no open redirect, no fake event."""
    params = {"shop": "demo", "product_id": "p001", "campaign": "browse", "slot": "similar"}
    good = signed_url("", "/email/v1/click", SECRET, params)
    assert client.get(good).status_code == 302
    assert client.get(good + "&url=https://evil.example/").status_code == 403
    assert client.get(good.replace("p001", "p002")).status_code == 403
    assert urlsplit(client.get(good).headers["Location"]).netloc == "127.0.0.1:8000"


def test_signature_is_required_and_per_shop(
    client: FlaskClient, settings: Settings, customer: dict[str, str]
) -> None:
    email = customer["email"]
    unsigned = f"{BLOCK}?shop=demo&campaign=browse&email={email}"
    missing = client.get(unsigned)
    assert missing.status_code == 403
    assert missing.get_json() == {
        "ok": False,
        "error": "sig is missing",
        "errors": ["sig is missing"],
        "status": 403,
        "code": "invalid_signature",
    }
    tampered = url("browse", email=email).replace("email=", "email=x")
    assert client.get(tampered).get_json()["code"] == "invalid_signature"
    assert client.get(url("browse", secret="other", email=email)).status_code == 403

    # A second shop, and a signature made for shop A used on shop B.
    shutil.copytree(settings.data_dir / "demo", settings.data_dir / "other")
    sig_a = parse_qs(urlsplit(url("browse", email=email)).query)["sig"][0]
    on_b = f"{BLOCK}?campaign=browse&email={email}&shop=other&sig={sig_a}"
    assert client.get(on_b).status_code == 403
    own_b = signed_url("", BLOCK, SECRET, {"shop": "other", "campaign": "browse", "email": email})
    assert client.get(own_b).status_code == 200


def test_fails_closed_without_a_secret_key(settings: Settings, customer: dict[str, str]) -> None:
    app = create_app(
        settings=dataclasses.replace(settings, secret_key=""), test_config={"TESTING": True}
    )
    response = app.test_client().get(url("browse", email=customer["email"]))
    assert response.status_code == 403
    assert response.get_json()["code"] == "signing_disabled"
    assert "SHOPREC_SECRET_KEY" in response.get_json()["error"]


def test_unknown_shop_and_bad_campaign(client: FlaskClient, customer: dict[str, str]) -> None:
    nowhere = signed_url(
        "", BLOCK, SECRET, {"shop": "nowhere", "campaign": "browse", "email": "a@b.c"}
    )
    assert client.get(nowhere).status_code == 404
    assert client.get(nowhere).get_json()["code"] == "unknown_shop"
    bad = client.get(url("newsletter", email=customer["email"]))
    assert bad.status_code == 400
    assert (
        "campaign must be one of ['browse', 'post_purchase', 'win_back']"
        in (bad.get_json()["error"])
    )
    neither = client.get(url("browse", format="pdf"))
    assert neither.status_code == 400
    assert set(neither.get_json()["errors"]) == {
        "format must be one of ['html', 'json'], got 'pdf'",
        "email or customer_id is required",
    }


def test_item_sold_out_after_a_fetch_is_gone_on_the_next(
    client: FlaskClient, settings: Settings, customer: dict[str, str]
) -> None:
    """The block is rendered at request time: no stale stock even seconds later."""
    first = client.get(url("win_back", email=customer["email"], format="json")).get_json()
    sold_out = first["items"][0]["product_id"]
    db = open_shop_db(settings.data_dir, "demo", create=False)
    assert set_inventory(db, sold_out, 0)
    db.close()
    second = client.get(url("win_back", email=customer["email"], format="json")).get_json()
    ids = [i["product_id"] for i in second["items"]]
    assert sold_out not in ids and len(ids) >= 4
    assert f"product_id={sold_out}&" not in second["html"]
