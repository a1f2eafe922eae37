"""What one list is asked with: the validated parameters every surface hands the service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecommendationParams:
    """A validated ask for one list (the query string of /api/v1/recommendations)."""

    shop: str
    context: str
    slot: str
    product_ids: tuple[str, ...] = ()
    customer_id: str | None = None
    session_id: str | None = None
    limit: int = 8
    exclude_ids: tuple[str, ...] = ()
    # The widget's first-party browser id (localStorage): outlives session_id, so an
    # anonymous shopper's dismissals last across visits; also the experiments' unit.
    visitor_id: str | None = None
    # How customer_id is known (plugin.storefront.shopper_identity): "customer" (signed),
    # "anonymous" or "open"; None for in-process callers (CLI, admin preview, email blocks),
    # which are trusted and named by whether they give a customer.
    identity: str | None = None

    @property
    def identity_label(self) -> str:
        """The answer's "identity" field."""
        if self.identity:
            return self.identity
        return "customer" if self.customer_id else "anonymous"
