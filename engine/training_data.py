"""What the models learn from, and its translation into the engine's integer id space.

`TrainingData` holds plain frames as storage reads them. `prepare_interactions` turns them
into sparse matrices indexed by item (0..n_items-1 into `ItemSpace.item_ids`), which every
model then shares, so all models speak about the same items.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.errors import ModelFitError

PURCHASE_COLUMNS = ("order_id", "customer_id", "product_id", "quantity", "unit_price", "created_at")
EVENT_COLUMNS = ("ts", "customer_id", "session_id", "type", "product_id")
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class TrainingData:
    """A shop's catalog, purchase lines and storefront events, plus the 'present' moment.

    products: columns of storage.catalog.PRODUCT_COLUMNS (tags '|'-separated).
    purchases: order_id, customer_id (None for guests), product_id, quantity, unit_price,
        created_at (ISO text).
    events: ts, customer_id, session_id, type ('view' | 'add_to_cart'), product_id.
    now: the present for time decay (latest timestamp in the data, or the wall clock).
    """

    products: pd.DataFrame
    purchases: pd.DataFrame
    events: pd.DataFrame
    now: datetime


@dataclass(frozen=True)
class ItemSpace:
    """The items every model indexes: ids, and the display facts reasons need.

    item_ids: unicode array (n_items,), sorted; titles: unicode (n_items,);
    category_codes: int32 (n_items,), -1 = none, into category_names;
    prices: float64 (n_items,), NaN = unknown.
    """

    item_ids: np.ndarray
    titles: np.ndarray
    category_codes: np.ndarray
    category_names: np.ndarray
    prices: np.ndarray

    @property
    def n_items(self) -> int:
        """Number of items in the space."""
        return int(self.item_ids.shape[0])

    # Derived once per loaded model instead of on every personal request (engine.taste's
    # affinity): over a catalog of 100,000 items each costs a pass over every item.
    @cached_property
    def categorised(self) -> np.ndarray:
        """Bool (n_items,): the items that have a category."""
        return np.asarray(self.category_codes >= 0)

    @cached_property
    def priced(self) -> np.ndarray:
        """Bool (n_items,): the items with a known, positive price."""
        return np.asarray(np.isfinite(self.prices) & (self.prices > 0))

    @cached_property
    def log_prices(self) -> np.ndarray:
        """Float64: the log price of each priced item, in item order."""
        return np.asarray(np.log(self.prices[self.priced]))


@dataclass(frozen=True)
class Interactions:
    """Purchases and views as sparse matrices over the item space.

    baskets: CSR (n_orders, n_items), 1.0 where the order holds the item.
    basket_age_days: float64 (n_orders,), days between the order and `now`.
    basket_customer: int32 (n_orders,), row in customer_ids, -1 for guest orders.
    customer_items: CSR (n_customers, n_items), time-decayed count of orders holding the item.
    customer_views: CSR (n_customers, n_items), time-decayed views and add-to-carts.
    session_views: CSR (n_sessions, n_items), 1.0 where the session viewed the item.
    view_age_days: float64 (n_view_events,) ages of view events, view_items int32 their items.
    customer_ids: unicode (n_customers,), sorted, the row space of the customer matrices.
    """

    baskets: sp.csr_matrix
    basket_age_days: np.ndarray
    basket_customer: np.ndarray
    customer_items: sp.csr_matrix
    customer_views: sp.csr_matrix
    session_views: sp.csr_matrix
    view_items: np.ndarray
    view_age_days: np.ndarray
    customer_ids: np.ndarray


def utc(moment: datetime) -> datetime:
    """The same moment as an aware UTC datetime (naive input is taken to be UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def strip_html(text: str) -> str:
    """Text without tags and entities, for TF-IDF and for reason sentences."""
    return html.unescape(_TAGS.sub(" ", text or ""))


def _ages_days(column: pd.Series, now: datetime) -> np.ndarray:
    stamps = pd.to_datetime(column, utc=True, format="ISO8601", errors="coerce")
    if stamps.isna().any():
        bad = column[stamps.isna()].iloc[0]
        raise ModelFitError(f"timestamps must be ISO-8601, got {bad!r}")
    ages = (pd.Timestamp(utc(now)) - stamps).dt.total_seconds().to_numpy() / 86400.0
    return np.maximum(ages, 0.0)


def latest_timestamp(data: TrainingData) -> datetime | None:
    """The newest purchase or event time in the data, or None when there is none."""
    stamps = [data.purchases["created_at"], data.events["ts"]]
    parsed = [pd.to_datetime(s, utc=True, format="ISO8601") for s in stamps if len(s)]
    if not parsed:  # a catalog with no orders or events yet
        return None
    values = pd.concat(parsed)
    return None if values.empty else values.max().to_pydatetime()


def build_item_space(data: TrainingData) -> ItemSpace:
    """Items = catalog products plus any product id seen in purchases or events, sorted."""
    parts = [
        data.products["product_id"],
        data.purchases["product_id"],
        data.events["product_id"].dropna(),
    ]
    item_ids = np.unique(np.concatenate([p.astype(str).to_numpy() for p in parts]).astype(str))
    products = (
        data.products.drop_duplicates("product_id")
        .set_index(data.products.drop_duplicates("product_id")["product_id"].astype(str))
        .reindex(item_ids)
    )
    titles = products["title"].fillna("").astype(str).to_numpy()
    if len(data.purchases):  # products known only from orders: name them by their last line
        missing = titles == ""
        if missing.any() and "title" in data.purchases:
            named = data.purchases.dropna(subset=["title"]).groupby("product_id")["title"].last()
            titles[missing] = named.reindex(item_ids[missing]).fillna("").to_numpy()
    categories = products["category"].fillna("").astype(str)
    category_names = np.asarray(sorted(c for c in categories.unique() if c), dtype=str)
    lookup = {name: i for i, name in enumerate(category_names)}
    codes = np.asarray([lookup.get(c, -1) for c in categories], dtype=np.int32)
    prices = pd.to_numeric(products["price"], errors="coerce").to_numpy(dtype=np.float64)
    if len(data.purchases):
        unit = data.purchases.groupby(data.purchases["product_id"].astype(str))[
            "unit_price"
        ].median()
        fill = unit.reindex(item_ids).to_numpy(dtype=np.float64)
        prices = np.where(np.isnan(prices), fill, prices)
    return ItemSpace(
        np.asarray(item_ids, dtype=str),
        np.asarray(titles, dtype=str),
        codes,
        category_names,
        prices,
    )


def _codes(values: pd.Series, space: np.ndarray) -> np.ndarray:
    return np.searchsorted(space, values.astype(str).to_numpy()).astype(np.int32)


def _decayed(
    rows: np.ndarray,
    cols: np.ndarray,
    ages: np.ndarray,
    shape: tuple[int, int],
    half_life_days: float,
) -> sp.csr_matrix:
    weights = np.power(0.5, ages / half_life_days).astype(np.float32)
    matrix = sp.csr_matrix((weights, (rows, cols)), shape=shape, dtype=np.float32)
    matrix.sum_duplicates()
    return matrix


def prepare_interactions(
    data: TrainingData, items: ItemSpace, half_life_days: float = 180.0
) -> Interactions:
    """Purchases and views in the item space; time decay halves a signal every half_life_days."""
    purchases = data.purchases
    if len(purchases) and purchases["product_id"].isna().any():
        raise ModelFitError("purchase lines must all have a product_id")
    events = data.events.dropna(subset=["product_id"])
    known = [
        purchases["customer_id"].dropna().astype(str),
        events["customer_id"].dropna().astype(str),
    ]
    customer_ids = np.asarray(sorted(set(known[0]) | set(known[1])), dtype=str)
    n_items, n_customers = items.n_items, len(customer_ids)

    orders = purchases.drop_duplicates(["order_id", "product_id"])
    order_codes, order_index = pd.factorize(orders["order_id"].astype(str), sort=True)
    item_codes = _codes(orders["product_id"], items.item_ids)
    baskets = sp.csr_matrix(
        (np.ones(len(orders), np.float32), (order_codes, item_codes)),
        shape=(len(order_index), n_items),
    )
    baskets.data[:] = 1.0
    line_ages = _ages_days(orders["created_at"], data.now) if len(orders) else np.zeros(0)
    basket_age = np.zeros(len(order_index))
    if len(orders):
        basket_age[order_codes] = line_ages

    named = orders["customer_id"].notna().to_numpy()
    cust_codes = np.searchsorted(customer_ids, orders["customer_id"][named].astype(str).to_numpy())
    basket_customer = np.full(len(order_index), -1, np.int32)
    basket_customer[order_codes[named]] = cust_codes
    customer_items = _decayed(
        cust_codes, item_codes[named], line_ages[named], (n_customers, n_items), half_life_days
    )

    view_ages = _ages_days(events["ts"], data.now) if len(events) else np.zeros(0)
    view_items = _codes(events["product_id"], items.item_ids)
    has_customer = events["customer_id"].notna().to_numpy()
    view_cust = np.searchsorted(
        customer_ids, events["customer_id"][has_customer].astype(str).to_numpy()
    )
    customer_views = _decayed(
        view_cust,
        view_items[has_customer],
        view_ages[has_customer],
        (n_customers, n_items),
        half_life_days,
    )
    session_keys = events["session_id"].fillna(events["customer_id"]).fillna("").astype(str)
    session_codes, session_index = pd.factorize(session_keys, sort=True)
    session_views = sp.csr_matrix(
        (np.ones(len(events), np.float32), (session_codes, view_items)),
        shape=(len(session_index), n_items),
    )
    session_views.sum_duplicates()
    session_views.data[:] = 1.0
    return Interactions(
        baskets,
        basket_age,
        basket_customer,
        customer_items,
        customer_views,
        session_views,
        view_items,
        view_ages,
        customer_ids,
    )
