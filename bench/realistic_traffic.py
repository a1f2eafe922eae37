"""Realistic storefront traffic for the serving benchmarks: seeded sessions and request paths.

The widget sends `session_id` and `visitor_id` with every request, and a real shop's sessions
have views, so a benchmark of the cached product page alone measures the one request that
hardly ever happens. This module seeds a shop's store with SESSIONS browsing sessions (views,
some add-to-carts, a few dismissals; some belonging to known customers) and writes request
paths that draw from them: product pages, home (for_you) and carts mixed as a shop's traffic
is, every path distinct, so no answer or candidate-pool cache can serve a repeat. A logged-in
customer's requests carry the signed `customer_token` the shop's page gives the widget (so
they are served as that customer, not anonymously), and every request carries the headers a
browser sends with the widget's cross-origin fetch (BROWSER_HEADERS).

    python -P bench/realistic_traffic.py DATA_DIR SHOP PATHS_FILE [--requests N] [--seed S]

seeds DATA_DIR's SHOP and writes N paths (one a line) for bench/realistic.lua (wrk) and
bench/profile_request.py, and the browser headers beside them (PATHS_FILE.headers, one
"Name: value" a line, for wrk's -H). Seeding twice adds nothing (event keys are content
hashes).
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from plugin.storefront.shopper_identity import ensure_identity_secret
from plugin.storefront.shopper_tokens import DEFAULT_TOKEN_TTL_S, make_shopper_token
from storage.catalog import unavailable_product_ids
from storage.clock import to_iso
from storage.db import open_shop_db
from storage.events import insert_events

SESSIONS = 20_000
VISITORS = 12_000  # fewer than sessions: a browser comes back for another session
KNOWN_SHARE = 0.3  # sessions of logged-in customers
DISMISS_SHARE = 0.03  # sessions in which the shopper dismissed a recommendation
# A shop's widget traffic: product pages, then home, then the cart.
CONTEXT_MIX = (("product", 0.60), ("home", 0.25), ("cart", 0.15))
# What Chromium sends with the widget's fetch from the shop's pages to shoprec's host.
BROWSER_HEADERS = {
    "Origin": "https://demo-shop.example",
    "Referer": "https://demo-shop.example/",
    "User-Agent": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    ),
    "Accept": "*/*",
    "Accept-Language": "en-GB,en;q=0.9",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "cross-site",
}


@dataclass(frozen=True)
class Session:
    """One seeded browsing session and what the widget would send with it."""

    session_id: str
    visitor_id: str
    customer_id: str | None
    viewed: tuple[str, ...]
    carted: tuple[str, ...]


def seed_sessions(data_dir: Path, shop: str, count: int = SESSIONS, seed: int = 7) -> list[Session]:
    """Store `count` recent sessions with 1-6 views each (most recent within the last hour)."""
    rng = random.Random(seed)
    db = open_shop_db(data_dir, shop, create=False)
    try:
        now = datetime.now(UTC).replace(tzinfo=None)
        gone = unavailable_product_ids(db, now.date().isoformat())
        products = [r[0] for r in db.execute("SELECT product_id FROM products ORDER BY 1")]
        products = [p for p in products if p not in gone]
        customers = [r[0] for r in db.execute("SELECT customer_id FROM customers ORDER BY 1")]
        sessions: list[Session] = []
        events: list[dict[str, object]] = []
        for n in range(count):
            session = f"bench-s{n:06d}"
            visitor = f"bench-v{rng.randrange(VISITORS):06d}"
            customer = rng.choice(customers) if rng.random() < KNOWN_SHARE else None
            viewed = tuple(rng.sample(products, rng.randint(1, 6)))
            carted = viewed[: rng.randint(0, min(3, len(viewed)))]
            start = now - timedelta(minutes=rng.uniform(1, 60))
            # Keys per session and step, not content hashes: the times follow the clock, and
            # a second seeding must add nothing.
            who = {"customer_id": customer, "session_id": session, "visitor_id": visitor}
            for i, pid in enumerate(viewed):
                ts = to_iso(start + timedelta(seconds=40 * i))
                key = f"{session}-view-{i}"
                events.append(
                    {**who, "event_key": key, "ts": ts, "type": "view", "product_id": pid}
                )
            for i, pid in enumerate(carted):
                ts = to_iso(start + timedelta(seconds=300))
                key = f"{session}-cart-{i}"
                events.append(
                    {**who, "event_key": key, "ts": ts, "type": "add_to_cart", "product_id": pid}
                )
            if rng.random() < DISMISS_SHARE:
                ts = to_iso(start + timedelta(seconds=400))
                dismissed = rng.choice(products)
                key = f"{session}-dismiss"
                events.append(
                    {**who, "event_key": key, "ts": ts, "type": "dismiss", "product_id": dismissed}
                )
            sessions.append(Session(session, visitor, customer, viewed, carted))
        insert_events(db, events)
        return sessions
    finally:
        db.close()


def identity_secret(data_dir: Path, shop: str) -> str:
    """The shop's identity secret (made when it has none), as its own server signs with."""
    db = open_shop_db(data_dir, shop, create=False)
    try:
        return ensure_identity_secret(db, "bench")
    finally:
        db.close()


def request_paths(
    shop: str, sessions: list[Session], count: int, seed: int = 11, secret: str | None = None
) -> list[str]:
    """`count` distinct /api/v1/recommendations paths with the widget's parameters; with the
    shop's identity `secret`, a known customer's carry a customer_token valid for an hour."""
    rng = random.Random(seed)
    expiry = int(datetime.now(UTC).timestamp()) + DEFAULT_TOKEN_TTL_S
    contexts = [name for name, _ in CONTEXT_MIX]
    weights = [share for _, share in CONTEXT_MIX]
    paths: list[str] = []
    seen: set[str] = set()
    while len(paths) < count:
        session = rng.choice(sessions)
        context = rng.choices(contexts, weights)[0]
        query: list[tuple[str, str]] = [("shop", shop), ("context", context)]
        if context == "product":
            query.append(("product_id", rng.choice(session.viewed)))
        elif context == "cart":
            for pid in session.carted or session.viewed[:1]:
                query.append(("product_id", pid))
        if session.customer_id:
            query.append(("customer_id", session.customer_id))
            if secret:
                token = make_shopper_token(secret, shop, session.customer_id, expiry)
                query.append(("customer_token", token))
        query += [("session_id", session.session_id), ("visitor_id", session.visitor_id)]
        query.append(("d", "0"))
        path = "/api/v1/recommendations?" + urlencode(query)
        if path in seen:  # distinct parameters: nothing can be a cache hit
            continue
        seen.add(path)
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("shop")
    parser.add_argument("paths_file", type=Path)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sessions = seed_sessions(args.data_dir, args.shop, args.sessions, args.seed)
    secret = identity_secret(args.data_dir, args.shop)
    paths = request_paths(args.shop, sessions, args.requests, args.seed + 1, secret)
    args.paths_file.write_text("\n".join(paths) + "\n")
    headers = "".join(f"{name}: {value}\n" for name, value in BROWSER_HEADERS.items())
    Path(f"{args.paths_file}.headers").write_text(headers)
    sys.stdout.write(
        f"seeded {len(sessions)} sessions in shop {args.shop}; "
        f"wrote {len(paths)} distinct request paths to {args.paths_file}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
