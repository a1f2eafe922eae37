"""One request, one state of the store: what a request's reads may share.

A request reads a shop's store in several places (the shop's existence, memoised reads,
the list's inputs). Inside `one_store_state` they see the store as it was when the request
first looked: memoised reads check SQLite's `PRAGMA data_version` once per reader
connection, not once per read, and whether the shop exists is asked once (on the shared
PostgreSQL store a round trip, which the API's check and the connection pool each made).
A write by anyone is seen by the next request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class _State:
    # (id of the reader object, shop) -> its connection's data_version at the first read
    versions: dict[tuple[int, str], int] = field(default_factory=dict)
    # shop -> whether it exists
    shops: dict[str, bool] = field(default_factory=dict)


_STATE: ContextVar[_State | None] = ContextVar("shoprec_store_state", default=None)


@contextmanager
def one_store_state() -> Iterator[None]:
    """The span of one request's reads; nested blocks share the outer one's state."""
    if _STATE.get() is not None:
        yield
        return
    token = _STATE.set(_State())
    try:
        yield
    finally:
        _STATE.reset(token)


def data_version_once(owner: object, shop: str, read: Callable[[], int]) -> int:
    """`read()` (a connection's data_version) once per block for `owner`'s connection to
    `shop`; every call outside a block reads."""
    state = _STATE.get()
    if state is None:
        return read()
    key = (id(owner), shop)
    version = state.versions.get(key)
    if version is None:
        version = state.versions[key] = read()
    return version


def shop_exists_once(shop: str, ask: Callable[[], bool]) -> bool:
    """`ask()` (whether the shop has a store) once per block; every call outside a block asks."""
    state = _STATE.get()
    if state is None:
        return ask()
    known = state.shops.get(shop)
    if known is None:
        known = state.shops[shop] = ask()
    return known
