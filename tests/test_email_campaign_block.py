"""A block built by the campaign worker, checked by parsing it: product count, escaped
titles, absolute image URLs, signed click links that redirect with UTM, size limits."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlite_utils
from campaign_factories import PUBLIC_URL, SECRET, add_order, add_shopper, days, use_provider
from rq import Queue

from config import Settings
from email_blocks.blocks import GMAIL_CLIP_BYTES, MAX_ITEMS, MIN_ITEMS
from email_blocks.signing import verify_params
from storage.db import open_shop_db
from storage.deliveries import get_delivery
from worker.campaigns import fire_timer
from worker.timers import schedule_after_order

NASTY = '<script>alert(1)</script> & "Mug"'
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class BlockParser(HTMLParser):
    """Collects images, links and the text of title links."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.titles: list[str] = []
        self.tags: set[str] = set()
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        found = dict(attrs)
        if tag == "img":
            self.images.append(found)
        if tag == "a":
            self.links.append(found.get("href") or "")
            self._in_title = "shoprec-title" in (found.get("class") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.titles.append(data)


@pytest.fixture
def settings(trained_settings: Settings) -> Settings:
    return dataclasses.replace(trained_settings, secret_key=SECRET, public_url=PUBLIC_URL)


@pytest.fixture
def fired(settings: Settings, redis_conn) -> dict:
    """A post-purchase timer fired with every product title made hostile."""
    from worker.queues import QUEUE_EMAIL, get_queue

    db = open_shop_db(settings.data_dir, "demo", create=False)
    add_shopper(db)
    use_provider(db, {"provider": "klaviyo"})
    with db.conn:
        db.conn.execute("UPDATE products SET title = ? || title", (NASTY,))
        db.conn.execute("UPDATE products SET image_url = '/img/' || product_id || '.jpg'")
    placed = NOW - days(7)
    order = add_order(db, "o-1", placed)
    done = schedule_after_order(db, get_queue(QUEUE_EMAIL, redis_conn), "demo", order, now=placed)
    result = fire_timer(settings, db, "demo", done["scheduled"][0], now=NOW)
    delivery = get_delivery(db, result["delivery_id"])
    db.close()
    body = json.loads(delivery["payload"])["steps"][0]["body"]
    return body["data"]["attributes"]["properties"]


def test_the_rendered_block_parses_with_the_right_items(fired: dict) -> None:
    html = fired["$extra"]["html"]
    parser = BlockParser()
    parser.feed(html)
    assert MIN_ITEMS <= len(parser.images) <= MAX_ITEMS
    assert len(parser.images) == len(fired["Items"])
    assert "script" not in parser.tags  # the title was escaped, not run
    assert all(title.startswith(NASTY) for title in parser.titles)
    assert len(parser.titles) == len(fired["Items"])
    for image in parser.images:
        assert (image["src"] or "").startswith(f"{PUBLIC_URL}/img/")
        assert image["width"] == "176" and (image["alt"] or "").startswith(NASTY)
    assert len(html.encode("utf-8")) < 100 * 1024 < GMAIL_CLIP_BYTES
    assert "<style" not in html  # css inlined by css_inline
    # the plain-text part names every item, and the heading names the bought product
    assert fired["$extra"]["text"].count(NASTY) == len(fired["Items"]) + 1
    assert fired["Heading"].startswith(f"Because you bought {NASTY}")


def test_every_link_is_a_signed_click_redirect_that_adds_utm(
    fired: dict, settings: Settings
) -> None:
    from plugin import create_app

    parser = BlockParser()
    parser.feed(fired["$extra"]["html"])
    assert parser.links and all(
        link.startswith(f"{PUBLIC_URL}/email/v1/click?") for link in parser.links
    )
    client = create_app(settings=settings, test_config={"TESTING": True}).test_client()
    for link in dict.fromkeys(parser.links):
        params = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
        assert params["campaign"] == "post_purchase" and params["customer_id"] == "cust-ada"
        assert verify_params(SECRET, "demo", params)
        response = client.get(link.removeprefix(PUBLIC_URL))
        assert response.status_code == 302
        target = parse_qs(urlsplit(response.headers["Location"]).query)
        assert target["utm_source"] == ["shoprec"] and target["utm_medium"] == ["email"]
        assert target["utm_campaign"] == ["post_purchase"]
    pull = fired["BlockURL"]
    pull_params = {k: v[0] for k, v in parse_qs(urlsplit(pull).query).items()}
    assert verify_params(SECRET, "demo", pull_params)


def _block_items(
    settings: Settings, db: sqlite_utils.Database, queue: Queue, order_id: str, placed: datetime
) -> list[str]:
    """Ids in the post-purchase block fired at NOW for a new order of the test shopper."""
    order = add_order(db, order_id, placed)
    timer = schedule_after_order(db, queue, "demo", order, now=placed)["scheduled"][0]
    fired = fire_timer(settings, db, "demo", timer, now=NOW)
    return json.loads(get_delivery(db, fired["delivery_id"])["summary"])["items"]


def _subscribed(settings: Settings) -> sqlite_utils.Database:
    """The demo shop's store with the test shopper subscribed and a Klaviyo push target."""
    db = open_shop_db(settings.data_dir, "demo", create=False)
    add_shopper(db)
    use_provider(db, {"provider": "klaviyo"})
    return db


def test_the_owners_blocked_products_never_reach_a_campaign_block(
    settings: Settings, redis_conn
) -> None:
    from engine.rule_settings import SETTING_KEY
    from storage.shop_settings import set_shop_setting
    from worker.queues import QUEUE_EMAIL, get_queue

    db, queue, placed = _subscribed(settings), get_queue(QUEUE_EMAIL, redis_conn), NOW - days(7)
    items = _block_items(settings, db, queue, "o-1", placed)
    set_shop_setting(db, SETTING_KEY, {"default": {"blocked_products": items}})
    later = _block_items(settings, db, queue, "o-2", placed + days(0.01))
    db.close()
    assert len(later) >= 4 and not set(later) & set(items)


def test_a_timer_fires_once_and_a_failed_build_leaves_it_scheduled(
    settings: Settings, redis_conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import worker.campaigns
    from email_blocks.errors import BlockRenderError
    from storage.campaign_timers import get_timer
    from worker.queues import QUEUE_EMAIL, get_queue

    db = open_shop_db(settings.data_dir, "demo", create=False)
    add_shopper(db)
    use_provider(db, {"provider": "klaviyo"})
    placed = NOW - days(7)
    order = add_order(db, "o-1", placed)
    queue = get_queue(QUEUE_EMAIL, redis_conn)
    timer_id = schedule_after_order(db, queue, "demo", order, now=placed)["scheduled"][0]

    def broken(*args: object, **kwargs: object) -> str:
        raise BlockRenderError("cannot render email block 'post_purchase': boom")

    with monkeypatch.context() as patch:
        patch.setattr(worker.campaigns, "render_block_html", broken)
        with pytest.raises(BlockRenderError):
            fire_timer(settings, db, "demo", timer_id, now=NOW)
    assert get_timer(db, timer_id)["status"] == "scheduled"  # rolled back with the claim

    assert fire_timer(settings, db, "demo", timer_id, now=NOW)["status"] == "fired"
    again = fire_timer(settings, db, "demo", timer_id, now=NOW)
    count = db.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    db.close()
    assert again == {"shop": "demo", "timer_id": timer_id, "status": "fired", "skipped": True}
    assert count == 1


def test_a_pushed_block_keeps_the_owners_pin_and_the_category_spread(
    settings: Settings, redis_conn
) -> None:
    from engine.rule_settings import SETTING_KEY
    from storage.catalog import get_products
    from storage.shop_settings import set_shop_setting
    from worker.queues import QUEUE_EMAIL, get_queue

    db, queue, placed = _subscribed(settings), get_queue(QUEUE_EMAIL, redis_conn), NOW - days(7)
    before = _block_items(settings, db, queue, "o-1", placed)
    # The owner pins a product the block did not show to the top of every email list.
    pinned = db.execute(
        "SELECT product_id FROM products WHERE status = 'active' AND inventory > 0 "
        f"AND product_id NOT IN ({', '.join('?' for _ in before)}) ORDER BY product_id LIMIT 1",
        before,
    ).fetchone()[0]
    set_shop_setting(db, SETTING_KEY, {"email": {"pins": [{"product_id": pinned, "position": 1}]}})
    after = _block_items(settings, db, queue, "o-2", placed + days(0.01))
    categories = [row["category"] for row in get_products(db, after).values()]
    db.close()
    assert after[0] == pinned  # a soft rule: the worker used to apply only the hard ones
    assert len(set(categories)) >= 3 and len(after) >= 4


def _pulled_items(settings: Settings, customer_id: str) -> list[str]:
    """The ids in the shopper's pulled post-purchase block (the signed URL an email platform
    fetches), asked of the web app now."""
    from email_blocks.assembly import block_url
    from plugin import create_app

    client = create_app(settings=settings, test_config={"TESTING": True}).test_client()
    path = block_url("", settings.secret_key, "demo", "post_purchase", customer_id, fmt="json")
    answer = client.get(path)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return [item["product_id"] for item in answer.get_json()["items"]]


def test_a_pushed_block_is_the_pulled_block_and_both_follow_the_owners_weights(
    settings: Settings, redis_conn
) -> None:
    from campaign_factories import CUSTOMER

    from storage.shop_settings import set_shop_setting
    from worker.queues import QUEUE_EMAIL, get_queue

    now = datetime.now(UTC).replace(microsecond=0)
    db, queue = _subscribed(settings), get_queue(QUEUE_EMAIL, redis_conn)

    def pushed(order_id: str) -> list[str]:
        order = add_order(db, order_id, now - days(7))
        timer = schedule_after_order(db, queue, "demo", order, now=now - days(7))["scheduled"][0]
        fired = fire_timer(settings, db, "demo", timer, now=now)
        return json.loads(get_delivery(db, fired["delivery_id"])["summary"])["items"]

    first = pushed("o-1")
    assert first == _pulled_items(settings, CUSTOMER)
    # The owner's weights reach both (a pushed block used to ignore them).
    set_shop_setting(
        db, "weights", {"email/because_you_bought": {"popularity": 1.0}}, changed_by="test"
    )
    weighted = pushed("o-2")
    db.close()
    assert weighted != first
    assert weighted == _pulled_items(settings, CUSTOMER)
