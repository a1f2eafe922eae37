"""The block registry: which recommendation lists and copy each campaign kind uses.

email_blocks stays pure (jinja2 and plain data): the web app or worker asks the recommendation
service for the lists named here and hands the results back as an `EmailBlock`.
"""

from __future__ import annotations

from dataclasses import dataclass

from email_blocks.errors import UnknownBlockKind

# Gmail clips a message body past 102 KB ("[Message clipped]"), hiding the rest and the
# unsubscribe link; a block must leave the marketer's template most of that room.
GMAIL_CLIP_BYTES = 102 * 1024
MIN_ITEMS = 4
MAX_ITEMS = 6


@dataclass(frozen=True)
class ListSpec:
    """One recommendation list a block draws on: (context, slot) of engine.base.CONTEXT_SLOTS.

    `anchored` lists need the campaign's anchor product (the one bought or viewed last).
    """

    context: str
    slot: str
    anchored: bool = False


@dataclass(frozen=True)
class BlockKind:
    """A campaign kind: the template, the headings and the lists to fill it from, in order.

    `heading` may hold `{product}` (the anchor's title); `fallback_heading` is used when the
    shopper or the anchor is unknown and the block shows trending items instead.
    """

    name: str
    template: str
    heading: str
    fallback_heading: str
    lists: tuple[ListSpec, ...]
    anchor: str | None = None  # 'bought' or 'viewed'


BLOCK_KINDS: dict[str, BlockKind] = {
    "post_purchase": BlockKind(
        name="post_purchase",
        template="block",
        heading="Because you bought {product}",
        fallback_heading="Recommended for you",
        lists=(
            ListSpec("email", "because_you_bought", anchored=True),
            ListSpec("post_purchase", "complete_the_set", anchored=True),
        ),
        anchor="bought",
    ),
    "browse": BlockKind(
        name="browse",
        template="block",
        heading="Still thinking about {product}?",
        fallback_heading="Trending now",
        lists=(ListSpec("product", "similar", anchored=True),),
        anchor="viewed",
    ),
    "win_back": BlockKind(
        name="win_back",
        template="block",
        heading="Recommended for you",
        fallback_heading="Recommended for you",
        lists=(ListSpec("email", "for_you"), ListSpec("email", "new_in_favourites")),
    ),
}
# What an unknown shopper or a shopper without an anchor gets: a marketer's feed must not break.
FALLBACK_LIST = ListSpec("home", "trending")


def block_kind(name: str) -> BlockKind:
    """The registered kind called `name`; UnknownBlockKind names the valid ones otherwise."""
    try:
        return BLOCK_KINDS[name]
    except KeyError:
        raise UnknownBlockKind(
            f"campaign must be one of {sorted(BLOCK_KINDS)}, got {name!r}"
        ) from None


@dataclass(frozen=True)
class EmailItem:
    """One product as the email shows it; `url` is already the tracked click link."""

    product_id: str
    title: str
    url: str
    image_url: str
    price: str
    reason: str = ""
    compare_at_price: str = ""


@dataclass(frozen=True)
class EmailBlock:
    """Everything a block template needs, as plain data."""

    kind: str
    heading: str
    items: list[EmailItem]
    shop_name: str
    first_name: str = ""
    intro: str = ""
    shop_url: str = ""
