"""email_blocks: every template renders with a minimal context, escaping, inlining, size."""

from __future__ import annotations

import dataclasses
import time
from html.parser import HTMLParser

import jinja2
import pytest

from email_blocks.assembly import absolute_url
from email_blocks.blocks import (
    BLOCK_KINDS,
    GMAIL_CLIP_BYTES,
    MAX_ITEMS,
    EmailBlock,
    EmailItem,
    block_kind,
)
from email_blocks.errors import BlockRenderError, UnknownBlockKind
from email_blocks.render import (
    TEMPLATES_DIR,
    build_environment,
    render_block_html,
    render_block_text,
)
from engine.money import MoneyFormat

NASTY = 'Mug <script>alert("x")</script> & "quotes" \'single\''


def make_item(n: int, title: str = "") -> EmailItem:
    return EmailItem(
        product_id=f"p{n}",
        title=title or f"Product {n}",
        url=f"https://shoprec.example/email/v1/click?product_id=p{n}&sig=abc",
        image_url=f"https://shop.example/img/p{n}.jpg",
        price=MoneyFormat().plain(10 + n),
        reason="Because you bought a kettle",
        compare_at_price=MoneyFormat().plain(20 + n) if n == 1 else "",
    )


def make_block(
    kind: str = "post_purchase", n_items: int = MAX_ITEMS, title: str = ""
) -> EmailBlock:
    return EmailBlock(
        kind=kind,
        heading=f"Because you bought {title or 'a kettle'}",
        items=[make_item(i, title if i == 1 else "") for i in range(1, n_items + 1)],
        shop_name="demo",
        first_name="Ada",
    )


@pytest.fixture
def env() -> jinja2.Environment:
    return build_environment()


@pytest.mark.parametrize("kind", sorted(BLOCK_KINDS))
@pytest.mark.parametrize("document", [False, True])
def test_every_kind_renders_html_and_text(
    env: jinja2.Environment, kind: str, document: bool
) -> None:
    block = make_block(kind)
    html = render_block_html(block, env, document=document)
    text = render_block_text(block, env)
    assert block.heading in html and block.heading in text
    for item in block.items:
        assert item.title in html and item.title in text
        assert item.price in text
    assert ("<!DOCTYPE html>" in html) is document
    if document:
        assert "Hi Ada," in html and 'name="color-scheme"' in html


def test_every_template_file_is_covered(env: jinja2.Environment) -> None:
    """A new template file without a registry entry or test would go unrendered."""
    names = {p.name for p in TEMPLATES_DIR.iterdir()}
    assert names == {"base.html", "block.html", "block.txt", "block.css"}
    assert {k.template for k in BLOCK_KINDS.values()} == {"block"}


def test_strict_undefined_catches_a_missing_variable(env: jinja2.Environment) -> None:
    template = env.from_string("{{ block.headng }}")
    with pytest.raises(jinja2.UndefinedError):
        template.render(block={"heading": "x"})


class _Parsed(HTMLParser):
    """Tags, alt attributes and text of an HTML string, as a browser would see them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.alts: list[str] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.alts += [v or "" for k, v in attrs if k == "alt"]

    def handle_data(self, data: str) -> None:
        self.text.append(data.strip())


def test_title_with_script_and_quotes_is_escaped_in_html_and_plain_in_text(
    env: jinja2.Environment,
) -> None:
    block = make_block(title=NASTY)
    html = render_block_html(block, env)
    text = render_block_text(block, env)
    parsed = _Parsed(html)
    assert "script" not in parsed.tags  # no element was injected
    assert parsed.alts[0] == NASTY  # the quotes did not end the alt attribute
    assert NASTY in parsed.text  # shown as text, not markup
    assert "&lt;script&gt;" in html and "&quot;quotes&quot;" in html
    assert NASTY in text  # the text part is not HTML: shown as typed


def test_styles_are_inlined_and_no_style_tag_is_left(env: jinja2.Environment) -> None:
    html = render_block_html(make_block(), env, document=True)
    assert "<style" not in html
    assert '<table class="shoprec-block"' in html
    table = html[html.index('<table class="shoprec-block"') :]
    assert 'style="width: 600px;' in table.split(">", 1)[0]
    assert '<td class="shoprec-item"' in html
    td = html[html.index('<td class="shoprec-item"') :].split(">", 1)[0]
    assert "style=" in td and "padding: 12px" in td


def test_images_have_fixed_width_and_alt_text(env: jinja2.Environment) -> None:
    html = render_block_html(make_block(), env)
    images = html.split("<img ")[1:]
    assert len(images) == MAX_ITEMS
    for i, img in enumerate(images, start=1):
        tag = img.split(">", 1)[0]
        assert 'width="176"' in tag and "width: 176px" in tag
        assert f'alt="Product {i}"' in tag


def test_item_without_image_gets_a_grey_box_not_an_empty_src(env: jinja2.Environment) -> None:
    block = make_block()
    block.items[1] = dataclasses.replace(block.items[1], image_url="")
    html = render_block_html(block, env)
    assert 'src=""' not in html
    assert html.count("<img ") == MAX_ITEMS - 1
    box = html[html.index('class="shoprec-noimage"') :].split(">", 1)[0]
    assert "width: 176px" in box and "height: 176px" in box
    assert 'aria-label="Product 2"' in box


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/img/a.jpg", "https://shoprec.example/img/a.jpg"),
        ("//cdn.example/a.jpg", "https://cdn.example/a.jpg"),
        ("https://cdn.example/a.jpg", "https://cdn.example/a.jpg"),
        ("", ""),
        ("javascript:alert(1)", ""),
        ("java\tscript:alert(1)", ""),
        ("data:image/png;base64,AAAA", ""),
        ("/\\evil.example/a.jpg", ""),
        ("http:no-host", ""),
    ],
)
def test_email_urls_are_http_only(url: str, expected: str) -> None:
    assert absolute_url(url, "https://shoprec.example") == expected


def test_links_are_the_given_click_urls(env: jinja2.Environment) -> None:
    html = render_block_html(make_block(), env)
    assert (
        html.count('href="https://shoprec.example/email/v1/click?product_id=p1&amp;sig=abc"') == 3
    )


def test_block_is_far_under_gmail_clipping_and_fast(env: jinja2.Environment) -> None:
    block = make_block(title="A rather long product title " * 4)
    started = time.perf_counter()
    html = render_block_html(block, env, document=True)
    elapsed = time.perf_counter() - started
    size = len(html.encode("utf-8"))
    assert size < GMAIL_CLIP_BYTES / 4, f"block is {size / 1024:.1f} KB"
    assert elapsed < 0.5


def test_unknown_kind_is_a_named_error(env: jinja2.Environment) -> None:
    with pytest.raises(UnknownBlockKind, match="campaign must be one of"):
        block_kind("newsletter")
    with pytest.raises(UnknownBlockKind):
        render_block_html(make_block(kind="newsletter"), env)


def test_a_broken_template_is_a_render_error(tmp_path, env: jinja2.Environment) -> None:  # noqa: ANN001
    (tmp_path / "block.html").write_text("{{ block.nope }}")
    (tmp_path / "block.css").write_text("")
    with pytest.raises(BlockRenderError, match="post_purchase"):
        render_block_html(make_block(), build_environment(tmp_path))


def test_prices_follow_the_shops_currency_and_locale() -> None:
    plain = MoneyFormat()
    assert plain.plain(3) == "3.00" and plain.plain(None) == "" and plain.plain(2.499) == "2.50"
    assert MoneyFormat("EUR", "de_DE").plain(1234.5) == "1.234,50\xa0€"
    assert MoneyFormat("GBP", "en_GB").plain(24.5) == "£24.50"
    assert MoneyFormat("JPY", "ja_JP")(2450) == "￥2,450"
