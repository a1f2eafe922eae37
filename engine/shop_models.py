"""The public facade: fit every model for a shop, recommend for any context, save and load.

All models share one item space (ShopModels.item_ids); recommend() turns product and
customer ids into indexes, asks each model in the slot's blend for a dense score vector,
and blends (engine.blend). No pandas on the request path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from typing import Any

import numpy as np

from engine import slots
from engine.association import AssociationRules
from engine.base import CONTEXT_SLOTS, Recommendation, RecommendationRequest
from engine.blend import base_weights, blend_scores, plan_weights, validate_weights
from engine.collaborative import Collaborative
from engine.content import ContentModel
from engine.deferred import DeferredReason, ScoreRow
from engine.errors import InputError
from engine.evidence import Evidence, PairSource
from engine.lookalikes import DEFAULT_LOOKALIKES, find_lookalikes, title_words
from engine.neighbours import Neighbours
from engine.popularity import Popularity
from engine.reasons import item_reason
from engine.sequence import SequenceModel
from engine.slot_specs import slot_has
from engine.taste import Taste
from engine.training_data import ItemSpace

MAX_ANCHORS = 20
FULL_EVIDENCE_ITEMS = 3  # a shopper with 3+ known items gets the personal blend unshifted
# A product with no pairs of its own (new, or first sold after training) borrows the pairs of
# its BORROW_NEIGHBOURS most similar products, weighted by similarity, and that borrowed
# evidence keeps BORROWED_TRUST of the rules' weight (the rest goes to content and trending).
# On held-out FBT queries for such products: demo shop HR@10 0.20 -> 0.35, Online Retail
# unchanged (0.66-0.67), where new lines sell with other new lines more than with old pairs.
BORROW_NEIGHBOURS = 10
BORROWED_TRUST = 0.5
# Sources that read the shopper's history or session, in their scores (taste, sequence) or
# their reasons (newness names what it is new next to, history included). Every other
# source starts from the request's seeds: the page's products when it has them.
PERSONAL_SOURCES = ("taste", "sequence", "newness")


@dataclass(frozen=True)
class ModelSummary:
    """What `shoprec train` prints per model."""

    name: str
    trusted: bool
    why: str
    fit_seconds: float
    size_bytes: int


@dataclass(frozen=True)
class Prepared:
    """One request's evidence, allowed items (bool (n_items,)), per-source trust and how much
    history anchors it (0..1; engine.blend.plan_weights)."""

    evidence: Evidence
    allowed: np.ndarray
    trust: dict[str, float]
    strength: float


@dataclass(frozen=True)
class ShopModels:
    """Every fitted model of one shop over one item space."""

    items: ItemSpace
    popularity: Popularity
    collaborative: Collaborative
    rules: AssociationRules
    content: ContentModel
    taste: Taste
    summaries: tuple[ModelSummary, ...]
    weights: dict[str, dict[str, float]] = field(default_factory=dict)
    adaptive: bool = True
    # What validation chose for this shop (engine.blend_search): the slot's defaults under
    # the owner's weights, and the table that says why.
    learned: dict[str, dict[str, float]] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    # Optional (PyTorch at training): empty when not fitted, and then never trusted.
    sequence: SequenceModel = field(default_factory=lambda: SequenceModel.empty("not fitted"))

    @property
    def item_ids(self) -> np.ndarray:
        """Product ids (unicode (n_items,), sorted): the index space of every model."""
        return self.items.item_ids

    def with_weights(
        self, weights: Mapping[str, Mapping[str, float]] | None, adaptive: bool = True
    ) -> ShopModels:
        """The same models blended with other weights (adaptive=False: exactly these)."""
        return replace(self, weights=validate_weights(weights), adaptive=adaptive)

    def trusted(self) -> dict[str, bool]:
        """Per blend source, whether its model had the data it needs."""
        return dict(self._trusted)

    @cached_property
    def _trusted(self) -> dict[str, bool]:
        # Computed once per loaded model set: counting pairs per request cost ~0.3 ms.
        return {
            "rules": self.rules.trusted,
            "confidence": self.rules.plain_trusted,
            "taste": self.taste.trusted,
            "collaborative": self.collaborative.purchase_trusted or self.collaborative.view_trusted,
            "content": self.content.trusted,
            "popularity": True,
            "trending": True,
            "sequence": self.sequence.trusted,
        }

    def describe(self) -> list[ModelSummary]:
        """Per model: name, trusted, why, fit seconds and size."""
        return list(self.summaries)

    def _indexes(self, ids: tuple[str, ...]) -> np.ndarray:
        """Positions of the known ids in the item space, in first-seen order."""
        if not ids or self.item_ids.size == 0:
            return np.zeros(0, np.int32)
        position = self._position
        wanted = map(str, dict.fromkeys(ids))
        return np.array([position[i] for i in wanted if i in position], np.int32)

    @cached_property
    def _position(self) -> dict[str, int]:
        # Built once per loaded model set: a request asks positions of its anchors, session
        # views and every excluded id, and a dict beats a string array search at that size.
        return {pid: i for i, pid in enumerate(self._id_list)}

    @cached_property
    def _id_list(self) -> list[str]:
        # The ids as Python strings, once: every answer names its items, and a string taken
        # from a numpy array is a new object each time.
        return [str(pid) for pid in self.item_ids.tolist()]

    def recommend(self, request: RecommendationRequest) -> list[Recommendation]:
        """Up to request.limit recommendations; never the request's products or excluded ids."""
        slots = CONTEXT_SLOTS.get(request.context)
        if slots is None or request.slot not in slots:
            raise InputError(
                f"context/slot must be one of {sorted(CONTEXT_SLOTS.items())}, got "
                f"{request.context!r}/{request.slot!r}"
            )
        if request.limit < 1 or self.items.n_items == 0:
            return []
        prepared = self.prepare(request)
        evidence_in = prepared.evidence
        plan = plan_weights(
            request.context,
            request.slot,
            self.weights,
            prepared.trust,
            prepared.strength,
            self.adaptive,
            self.learned,
        )
        vectors = {s: self._source(s)(evidence_in) for s in plan.weights}
        chosen, totals, labels, parts = blend_scores(
            vectors, plan, prepared.allowed, request.limit, self.popularity.popular
        )
        bought = self._bought(evidence_in)
        lookups: dict[str, dict[int, int]] = {}  # per table: item -> anchor, built once
        out: list[Recommendation] = []
        ids = self._id_list
        rows = zip(chosen.tolist(), totals.tolist(), labels, strict=True)
        for pos, (item, total, label) in enumerate(rows):
            explain = partial(
                item_reason, self, label, request.slot, item, evidence_in, bought, lookups
            )
            out.append(DeferredReason(ids[item], total, label, explain, ScoreRow(parts, pos)))
        return out

    def _bought(self, ev: Evidence) -> bool:
        """Whether reasons may say "you bought": the shopper has purchases the models know."""
        return bool(self.collaborative.purchase_users > 0 and ev.history.size > 0)

    def explainer(self, request: RecommendationRequest) -> Callable[[str, str], str]:
        """(product_id, strategy) -> the reason recommend(request) gives that item.

        For a list kept without its reasons (serving's shared pools): the request's evidence
        is prepared once, when the first reason is asked, and only shown items are asked.
        """
        state: dict[str, Any] = {}

        def explain(product_id: str, strategy: str) -> str:
            if not state:
                ev = self.prepare(request).evidence
                state.update(ev=ev, bought=self._bought(ev), lookups={})
            item = self._position[product_id]
            return item_reason(
                self, strategy, request.slot, item, state["ev"], state["bought"], state["lookups"]
            )

        return explain

    def prepare(self, request: RecommendationRequest) -> Prepared:
        """What a request tells the models, decided once: evidence, allowed items, per-source
        trust and evidence strength. recommend() blends from it; validation scores many
        weight mixes from one (engine.blend_search), through the same steps."""
        anchors = self._indexes(request.product_ids)[:MAX_ANCHORS]
        session = self._indexes(request.session_product_ids)[:MAX_ANCHORS]
        hist_items, hist_weights = self.taste.history_of(
            self.taste.customer_row(request.customer_id)
        )
        allowed = self._allowed(request, anchors)
        if slot_has(request.slot, "exclude_owned"):
            # What the shopper already owns is not a discovery (engine.taste.Taste.bought).
            allowed[self.taste.bought_by(self.taste.customer_row(request.customer_id))] = False
        if slot_has(request.slot, "last_order_seed") and not anchors.size:
            # Complements of the LAST order, not of everything ever bought.
            last = self.taste.last_order_of(self.taste.customer_row(request.customer_id))
            if last.size:
                anchors = last[:MAX_ANCHORS]
                allowed[anchors] = False
        # A product newer than the models: its look-alikes speak for it.
        lenders = self._indexes(request.lookalike_ids)[:MAX_ANCHORS]
        lent = bool(request.product_ids) and not anchors.size and lenders.size > 0
        if lent:
            seeds, seed_weights = lenders, np.ones(lenders.size, np.float32)
        else:
            seeds, seed_weights = self._seeds(request, anchors, session, hist_items, hist_weights)
        # A page's own product is full evidence; a history is, from FULL_EVIDENCE_ITEMS items.
        strength = 1.0 if anchors.size or lent else min(1.0, seeds.size / FULL_EVIDENCE_ITEMS)
        evidence_in = Evidence(
            request.slot,
            seeds,
            seed_weights,
            hist_items,
            hist_weights,
            session,
            lent,
            sequence_row=self.sequence.customer_row(request.customer_id),
        )
        evidence_in = replace(evidence_in, pairs=self._pair_source(evidence_in))
        return Prepared(evidence_in, allowed, self._request_trust(evidence_in), strength)

    def source_scores(self, source: str, prepared: Prepared) -> np.ndarray:
        """One source's raw float32 (n_items,) scores for a prepared request."""
        return self._source(source)(prepared.evidence)

    def pool_is_shared(self, request: RecommendationRequest) -> bool:
        """Whether this request's pool can be computed once for every shopper who asks it:
        longer, without the shopper's own exclusions, which the caller then drops.

        Not in a slot whose filter is kept or dropped by how many items pass it
        (slots.limit_bound: the shopper's exclusions and the pool's length decide). A
        customer's history and a session's views reach a pool only through the sources that
        read them (PERSONAL_SOURCES: their scores, or their reasons) and through slots that
        drop what the customer owns; item-item sources start from the page's products when
        the models know them. So a shopper's request is shared only when anchored on known
        products, in a slot whose mix gives those sources no weight and that keeps owned
        products (a product page, a cart); an anonymous request with no views always is.
        """
        if slots.limit_bound(request.slot):
            return False
        if not request.customer_id and not request.session_product_ids:
            return True
        if request.lookalike_ids or not self.knows_any(request.product_ids):
            return False
        if request.customer_id and slot_has(request.slot, "exclude_owned"):
            return False
        mix = base_weights(request.context, request.slot, self.weights, self.learned)
        return not any(mix.get(source, 0.0) > 0 for source in PERSONAL_SOURCES)

    def knows_any(self, product_ids: tuple[str, ...]) -> bool:
        """Whether any of these products is in the models' item space."""
        return self._indexes(product_ids).size > 0

    def lookalikes(self, title: str, category: str, k: int = DEFAULT_LOOKALIKES) -> tuple[str, ...]:
        """Ids of the trained products most like a catalog row the models do not know."""
        found = find_lookalikes(
            self.items, self._title_words, self.popularity.popular, title, category, k
        )
        return tuple(str(self.item_ids[i]) for i in found)

    @cached_property
    def _title_words(self) -> list[frozenset[str]]:
        return [title_words(t) for t in self.items.titles]

    def category_shares(
        self, customer_id: str | None, session_product_ids: tuple[str, ...] = ()
    ) -> dict[str, float]:
        """Category name -> share of a shopper's history (purchases, views, this session).

        What the rules calibrate a personal list's category caps to; empty for a shopper the
        models do not know, or a catalog without categories.
        """
        items, weights = self.taste.history_of(self.taste.customer_row(customer_id))
        session = self._indexes(session_product_ids)
        items = np.concatenate([items, session]).astype(np.int32)
        weights = np.concatenate([weights, np.full(session.size, 0.5, np.float32)])
        codes = self.items.category_codes[items]
        named = codes >= 0
        total = float(weights[named].sum())
        if total <= 0:
            return {}
        mass = np.bincount(codes[named], weights=weights[named])
        return {
            str(self.items.category_names[code]): float(mass[code] / total)
            for code in np.flatnonzero(mass)
        }

    def _request_trust(self, ev: Evidence) -> dict[str, float]:
        """Per source, trusted for the shop AND with something to say about this request.

        A product first sold after the last training has no pairs and no co-purchase
        neighbours; those models then hand their weight to content and trending (plan_weights)
        instead of leaving a product page to the thin popularity fill. Rules keep part of
        theirs when similar products have pairs to lend (_borrowed_seeds).
        """
        trusted: dict[str, float] = {s: float(t) for s, t in self._trusted.items()}
        seeds = ev.seeds
        pairs = self.pairs_for(ev)
        if not self._trusted["rules"] or not _has_rows(self.rules.pair_indices, pairs.lenders):
            trusted["rules"] = 0.0
        else:
            trusted["rules"] = BORROWED_TRUST if pairs.borrowed else 1.0
        trusted["confidence"] = float(
            self._trusted["confidence"] and _has_rows(self.rules.plain.indices, seeds)
        )
        c = self.collaborative
        trusted["collaborative"] = float(
            self._trusted["collaborative"]
            and (_has_rows(c.purchase.indices, seeds) or _has_rows(c.view.indices, seeds))
        ) * (BORROWED_TRUST if ev.lent else 1.0)
        known = np.concatenate([ev.history, ev.session]).astype(np.int32)
        trusted["taste"] = float(self._trusted["taste"] and self.taste.knows_any(known))
        trusted["sequence"] = float(ev.sequence_row >= 0)
        return trusted

    def _pair_source(self, ev: Evidence) -> PairSource:
        """The seeds' own pairs when they have any (lent ones when the seeds are look-alikes),
        else those of their most similar products (_borrowed_seeds)."""
        # Seeds with co-purchases of their own, if all under the rules' support floor, keep
        # them (plain co-purchase takes the rules' weight) rather than borrow look-alikes'.
        own = self.rules.plain.indices
        if _has_rows(self.rules.pair_indices, ev.seeds) or _has_rows(own, ev.seeds):
            return PairSource(ev.seeds, ev.seed_weights, ev.lent)
        return PairSource(*self._borrowed_seeds(ev.seeds), borrowed=True)

    def pairs_for(self, ev: Evidence) -> PairSource:
        return ev.pairs if ev.pairs is not None else self._pair_source(ev)

    def _borrowed_seeds(self, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The most similar products of `seeds` that have pairs, with their similarity.

        How a product without sales of its own gets a "bought together" list: what shoppers
        buy with the products most like it (engine.content neighbours).
        """
        if seeds.size == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        table = self.content.neighbours
        idx = table.indices[seeds][:, :BORROW_NEIGHBOURS].ravel()
        sim = table.scores[seeds][:, :BORROW_NEIGHBOURS].ravel()
        keep = idx >= 0
        idx, sim = idx[keep], sim[keep]
        keep = self.rules.pair_indices[idx, 0] >= 0
        return idx[keep].astype(np.int32), sim[keep].astype(np.float32)

    def _allowed(self, request: RecommendationRequest, anchors: np.ndarray) -> np.ndarray:
        """Bool (n_items,): False for anchors and excluded ids, then the slot's filter."""
        allowed = np.ones(self.items.n_items, bool)
        allowed[anchors] = False
        allowed[self._indexes(tuple(sorted(request.exclude_ids)))] = False
        new_items = self.popularity.new_items()
        return slots.slot_allowed(
            request.slot, self.items, anchors, allowed, new_items, request.limit
        )

    def _seeds(
        self,
        request: RecommendationRequest,
        anchors: np.ndarray,
        session: np.ndarray,
        hist_items: np.ndarray,
        hist_weights: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Items the item-item models start from: anchors, else session views, else history."""
        if anchors.size:
            return anchors, np.ones(anchors.size, np.float32)
        parts = [session, hist_items]
        weights = [np.full(session.size, 0.5, np.float32), hist_weights.astype(np.float32)]
        items = np.concatenate(parts).astype(np.int32)
        if items.size == 0:
            return items, np.zeros(0, np.float32)
        merged = np.bincount(items, weights=np.concatenate(weights), minlength=self.items.n_items)
        unique = np.unique(items)
        weight = merged[unique].astype(np.float32)
        top = np.lexsort((unique, -weight))[:50]
        return unique[top], weight[top]

    def _source(self, name: str) -> Callable[[Evidence], np.ndarray]:
        return getattr(self, f"_score_{name}")  # type: ignore[no-any-return]

    def _score_rules(self, ev: Evidence) -> np.ndarray:
        n = self.items.n_items
        pairs = self.pairs_for(ev)
        if pairs.borrowed:
            return self.pairs_table.aggregate(pairs.lenders, pairs.weights, n)
        whole = slot_has(ev.slot, "whole_cart")
        return self.rules.score_for(ev.seeds, n, whole_set=whole)

    def _score_confidence(self, ev: Evidence) -> np.ndarray:
        return self.rules.plain.aggregate(ev.seeds, ev.seed_weights, self.items.n_items)

    @cached_property
    def pairs_table(self) -> Neighbours:
        return Neighbours(self.rules.pair_indices, self.rules.pair_score)

    def _score_collaborative(self, ev: Evidence) -> np.ndarray:
        n = self.items.n_items
        bought = self.collaborative.purchase.aggregate(ev.seeds, ev.seed_weights, n)
        viewed = self.collaborative.view.aggregate(ev.seeds, ev.seed_weights, n)
        view_share = 0.7 if slot_has(ev.slot, "view_led") else 0.3
        if not self.collaborative.view_trusted:
            view_share = 0.0 if self.collaborative.purchase_trusted else 1.0
        return (1 - view_share) * _unit(bought) + view_share * _unit(viewed)

    def _score_content(self, ev: Evidence) -> np.ndarray:
        table = self.content.neighbours
        if slot_has(ev.slot, "personal_content") and self.content.personal is not None:
            table = self.content.personal
        scores = table.aggregate(ev.seeds, ev.seed_weights, self.items.n_items)
        if slot_has(ev.slot, "category_boost"):
            scores = scores * slots.similar_boost(self.items, ev.seeds)
        return scores

    def _score_taste(self, ev: Evidence) -> np.ndarray:
        items = np.concatenate([ev.history, ev.session]).astype(np.int32)
        w = np.concatenate([ev.history_weights, np.full(ev.session.size, 0.5, np.float32)])
        # Taste says what suits the shopper; momentum, what of that the shop sells now.
        return self.taste.score(items, w.astype(np.float32), self.items) * self.popularity.momentum

    def _score_sequence(self, ev: Evidence) -> np.ndarray:
        return self.sequence.score(ev.sequence_row, self.items.n_items)

    def _score_popularity(self, ev: Evidence) -> np.ndarray:
        return self.popularity.popular

    def _score_trending(self, ev: Evidence) -> np.ndarray:
        if not slot_has(ev.slot, "shopper_categories"):
            return self.popularity.trending
        return self._in_shopper_categories(ev, self.popularity.trending)

    def _score_newness(self, ev: Evidence) -> np.ndarray:
        newness = self.popularity.newness
        if newness is None:
            return np.zeros(self.items.n_items, np.float32)
        return self._in_shopper_categories(ev, newness)

    def _in_shopper_categories(self, ev: Evidence, scores: np.ndarray) -> np.ndarray:
        """Scores tilted toward the categories of the shopper's seeds (history, cart, page)."""
        share = slots.category_share(self.items, ev.seeds, ev.seed_weights)
        tilt = slots.category_tilt(self.items, share)
        return scores if tilt is None else scores * tilt


def _has_rows(indices: np.ndarray, items: np.ndarray) -> bool:
    """Whether any of `items` has a neighbour in an (n_items, k) -1-padded table."""
    return bool(items.size) and bool((indices[items, 0] >= 0).any())


def _unit(vec: np.ndarray) -> np.ndarray:
    top = float(vec.max()) if vec.size else 0.0
    return vec / top if top > 0 else vec
