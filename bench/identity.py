"""Benchmark: what deciding whose request it is costs a served request.

Run: nice -n 10 .venv/bin/python -P bench/identity.py [--calls 20000]

On a small generated shop: plugin.storefront.shopper_identity.ShopperIdentity.resolve per call (the
shop's identity settings memoised on the serving reader, one PRAGMA data_version per call)
for an anonymous request, an unsigned customer_id, a forged token and a valid token (one
HMAC-SHA256 and a base64 decode), and the token check alone. Prints p50/p99 in microseconds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from plugin.storefront.shopper_identity import ShopperIdentity, ensure_identity_secret
from plugin.storefront.shopper_tokens import make_shopper_token, verify_shopper_token
from serving.cache import ShopReaders
from storage.db import open_shop_db


def _percentiles(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - start) / 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        db = open_shop_db(data_dir, "bench", create=True)
        secret = ensure_identity_secret(db, "bench")
        db.close()
        identity = ShopperIdentity(ShopReaders(data_dir, 300.0))
        now = int(time.time())
        valid = make_shopper_token(secret, "bench", "c0165", now + 3600)
        forged = make_shopper_token("f" * 64, "bench", "c0165", now + 3600)
        cases: dict[str, Callable[[], object]] = {
            "anonymous": lambda: identity.resolve("bench", None, None),
            "unsigned customer_id": lambda: identity.resolve("bench", "c0165", None),
            "forged token": lambda: identity.resolve("bench", "c0165", forged),
            "valid token": lambda: identity.resolve("bench", None, valid),
            "token check alone": lambda: verify_shopper_token(secret, "bench", valid, now),
        }
        print(f"{args.calls} calls each; microseconds per call")
        for name, fn in cases.items():
            p50, p99 = _percentiles(fn, args.calls)
            print(f"  {name:<22} p50 {p50:6.1f}  p99 {p99:6.1f}")
    print("reproduce: nice -n 10 .venv/bin/python -P bench/identity.py")


if __name__ == "__main__":
    main()
