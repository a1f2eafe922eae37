"""Serving a storefront answer inside a running experiment (the A/B hook of serving).

For a request with a visitor id, plugin.admin.experiment_assignment says which variant of the
experiment running for the context the visitor is in. A holdout visitor gets no items at all
(the widget then shows nothing: the baseline of the lift figure); any other variant is served
with its profile over the shop's own settings: weights and rules (an algorithm test), an item
count (a volume test: "limit", within the context's range) and a widget layout (a display
test: "format", which the answer carries as "widget_format" and the widget obeys over the
page's own data-format) and a position on the page (a placement test: "placement", which the
answer carries as experiment.placement; of the page's candidate positions, each marked
data-placement="<name>", only the assigned one shows the list). The answer names the
experiment, so the widget's links and beacons can carry the variant.

Requests without a visitor id are never in an experiment (the variant could not be sticky)
and cost nothing here.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import Any

import sqlite_utils

from engine.errors import InputError
from engine.slot_limits import clamp_limit
from plugin.admin.experiment_assignment import Assignment, assignment_for
from plugin.storefront.request_params import RecommendationParams
from serving.cache import ShopReaders
from serving.service import RecommendationService

logger = logging.getLogger(__name__)


class ExperimentServing:
    """Asks for assignments on one long-lived read connection per shop.

    The connection must outlive the request: the running-experiments snapshot of
    plugin.admin.experiment_assignment is kept per Database object. A memoised assignment is
    dropped by any write to the store (SQLite data_version), so a started or stopped
    experiment is seen at once.
    """

    def __init__(self, readers: ShopReaders) -> None:
        self._readers = readers

    def assignment(self, params: RecommendationParams) -> Assignment | None:
        """The visitor's assignment for this request's context, or None (no experiment)."""
        visitor = params.visitor_id
        if not visitor:
            return None
        context = params.context

        def assign(db: sqlite_utils.Database) -> Assignment | None:
            return assignment_for(db, visitor, context)

        found: Assignment | None = self._readers.read(
            params.shop, f"assignment\x1f{context}\x1f{visitor}", assign
        )
        return found

    def recommend(
        self, service: RecommendationService, params: RecommendationParams
    ) -> dict[str, Any]:
        """The answer for this request, with "experiment": {"id", "variant"} when in one."""
        assignment = self.assignment(params)
        if assignment is None:
            return service.recommend(params)
        placement = None  # a placement test's position (the holdout is shown nothing)
        if assignment.holdout:
            answer = holdout_answer(params)
        else:
            profile = dict(assignment.profile or {})
            limit = profile.pop("limit", None)
            layout = profile.pop("format", None)
            placement = profile.pop("placement", None)
            if isinstance(limit, int) and not isinstance(limit, bool):
                params = dataclasses.replace(params, limit=clamp_limit(params.context, limit))
            try:
                answer = service.recommend(params, profile=profile or None)
            except InputError:
                # A variant whose profile no longer validates must not take the widgets down;
                # the visitor gets the shop's own list and is left out of the experiment.
                logger.exception(
                    "experiment %s variant %s has an invalid profile; serving without it",
                    assignment.experiment_id,
                    assignment.variant,
                    extra={"shop": params.shop},
                )
                return service.recommend(params)
            if isinstance(layout, str):
                answer["widget_format"] = layout
        tag: dict[str, Any] = {"id": assignment.experiment_id, "variant": assignment.variant}
        if isinstance(placement, str):
            tag["placement"] = placement
        answer["experiment"] = tag
        return answer


def holdout_answer(params: RecommendationParams) -> dict[str, Any]:
    """The contract's answer with no items: what a holdout visitor is served."""
    return {
        "shop": params.shop,
        "context": params.context,
        "slot": params.slot,
        "request_id": uuid.uuid4().hex,
        "identity": params.identity_label,
        "items": [],
    }
