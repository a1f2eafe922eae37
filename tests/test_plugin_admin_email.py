"""The admin's Email page: a shopper's block previewed through its own signed pull URL, the
URL to copy, and the Mailchimp merge fields created on the audience at a click."""

from __future__ import annotations

import dataclasses
import json
import re
from html import unescape

import pytest
import responses
from campaign_factories import MAILCHIMP_KEY
from flask.testing import FlaskClient

from config import Settings
from storage.db import open_shop_db
from storage.shop_settings import set_shop_setting
from tests.admin_client import csrf_of, logged_in_client

BASE = "https://us6.api.mailchimp.com/3.0"


@pytest.fixture
def settings(trained_settings: Settings) -> Settings:
    return dataclasses.replace(
        trained_settings,
        secret_key="email-admin-secret",
        public_url="https://recs.example.test",
        mailchimp_api_key=MAILCHIMP_KEY,
    )


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    return logged_in_client(settings)


def a_customer(settings: Settings) -> tuple[str, str]:
    db = open_shop_db(settings.data_dir, "demo", create=False)
    try:
        row = db.execute(
            "SELECT c.customer_id, c.email FROM customers c JOIN order_lines l "
            "ON l.customer_id = c.customer_id WHERE c.email IS NOT NULL LIMIT 1"
        ).fetchone()
    finally:
        db.close()
    return str(row[0]), str(row[1])


def test_a_shoppers_block_is_previewed_through_its_own_pull_url(
    client: FlaskClient, settings: Settings
) -> None:
    customer_id, email = a_customer(settings)
    page = client.get(f"/admin/demo/email?shopper={email}&campaign=win_back").get_data(as_text=True)
    frame = unescape(re.search(r'id="block-preview" src="([^"]+)"', page).group(1))
    copy = unescape(re.search(r'id="pull-url" readonly value="([^"]+)"', page).group(1))
    assert frame.startswith("/email/v1/block?") and f"customer_id={customer_id}" in frame
    assert copy == "https://recs.example.test" + frame  # the same signed URL, absolute
    block = client.get(frame)  # what the frame shows: the block the shopper's email pulls
    assert block.status_code == 200 and block.mimetype == "text/html"
    assert "<table" in block.get_data(as_text=True)
    forged = client.get(frame.replace(f"customer_id={customer_id}", "customer_id=someone-else"))
    assert forged.status_code in (401, 403)


def test_an_unknown_shopper_is_named(client: FlaskClient) -> None:
    page = client.get("/admin/demo/email?shopper=nobody@example.test").get_data(as_text=True)
    assert "no customer with the id or email" in page and 'id="block-preview"' not in page


def test_the_mailchimp_merge_fields_are_created_at_a_click(
    client: FlaskClient, settings: Settings
) -> None:
    db = open_shop_db(settings.data_dir, "demo", create=False)
    try:
        campaigns = {"push": {"provider": "mailchimp", "list_id": "L9"}}
        set_shop_setting(db, "campaigns", campaigns, changed_by="test")
    finally:
        db.close()
    page = client.get("/admin/demo/email").get_data(as_text=True)
    assert "Create the missing merge fields on list L9" in page
    posted: list[str] = []
    with responses.RequestsMock() as rsps:
        rsps.add(
            responses.GET,
            f"{BASE}/lists/L9/merge-fields?count=1000",
            json={"merge_fields": [{"tag": "FNAME"}, {"tag": "RECS_URL"}]},
        )

        def create(request):
            posted.append(json.loads(request.body)["tag"])
            return 200, {}, "{}"

        rsps.add_callback(responses.POST, f"{BASE}/lists/L9/merge-fields", callback=create)
        response = client.post(
            "/admin/demo/email/mailchimp-fields", data={"csrf_token": csrf_of(client)}
        )
    assert response.status_code == 302
    assert len(posted) == 25 and "RECS_URL" not in posted and "REC6_PRC" in posted
    done = client.get("/admin/demo/email").get_data(as_text=True)
    assert "Created 25 merge fields" in done
