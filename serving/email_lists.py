"""The lists of an email block, asked of the same service as every storefront list.

A pulled block (the signed URL an email platform fetches) and a pushed one (a campaign timer
sending to Klaviyo or Mailchimp) both build their lists here, through RecommendationService:
the owner's weights and rules, the shopper's exclusions and the fallback are the storefront's,
so the two blocks of one shopper at one moment are the same block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from serving.params import RecommendationParams
from serving.service import RecommendationService


class ListAsk(Protocol):
    """What a block asks of one list (email_blocks.blocks.ListSpec has this shape)."""

    @property
    def context(self) -> str: ...

    @property
    def slot(self) -> str: ...

    @property
    def anchored(self) -> bool: ...


# (list, anchor product, customer, ids to leave out, length) -> (items, request id)
ListRecommender = Callable[
    [ListAsk, str | None, str | None, tuple[str, ...], int], tuple[list[dict[str, Any]], str]
]


def service_recommender(service: RecommendationService, shop: str) -> ListRecommender:
    """A block's `recommend` answered by `service` for `shop`."""

    def recommend(
        spec: ListAsk,
        anchor_id: str | None,
        customer_id: str | None,
        exclude: tuple[str, ...],
        limit: int,
    ) -> tuple[list[dict[str, Any]], str]:
        params = RecommendationParams(
            shop=shop,
            context=spec.context,
            slot=spec.slot,
            product_ids=(anchor_id,) if spec.anchored and anchor_id else (),
            customer_id=customer_id,
            limit=limit,
            exclude_ids=exclude,
        )
        answer = service.recommend(params)
        return answer["items"], answer["request_id"]

    return recommend
