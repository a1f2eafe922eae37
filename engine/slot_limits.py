"""How many items each placement shows: a range per context, and its default.

A product page has room for a row of 4 to 8 cards, a cart drawer for 2 to 4, an email for
4 to 6. A request may ask for fewer than the range (a narrow widget); it never gets more
than the context's maximum, whatever it asks, so one badly configured widget cannot turn a
cart drawer into a catalog page. The minimum is the length below which the business rules
fill the list with best sellers (engine.rules, setting min_items). The defaults are what a
request without a limit gets with SHOPREC_DEFAULT_LIMIT at its default of 8, cut to each
context's maximum.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SlotLimits:
    """The list lengths of one context: fewest worth showing, default, and most."""

    minimum: int
    default: int
    maximum: int


CONTEXT_LIMITS: dict[str, SlotLimits] = {
    "product": SlotLimits(minimum=4, default=8, maximum=8),
    "cart": SlotLimits(minimum=2, default=4, maximum=4),
    "home": SlotLimits(minimum=6, default=8, maximum=12),
    "email": SlotLimits(minimum=4, default=6, maximum=6),
    "post_purchase": SlotLimits(minimum=3, default=6, maximum=6),
}


def limits_for(context: str) -> SlotLimits:
    """The lengths of `context` (an unknown context gets the product page's)."""
    return CONTEXT_LIMITS.get(context, CONTEXT_LIMITS["product"])


def clamp_limit(context: str, requested: int) -> int:
    """The length to serve: the request's, cut to the context's maximum (at least 1)."""
    return max(1, min(int(requested), limits_for(context).maximum))
