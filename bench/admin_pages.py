"""Benchmark: server time per admin page on a freshly generated and trained demo shop.

Run: .venv/bin/python -P bench/admin_pages.py [--customers 150] [--days 180] [--repeat 10]
     [--no-traffic]

Builds the shop exactly as `shoprec demo` does (plugin.cli.serve.prepare_demo: generate,
simulate storefront traffic, train, add the 'demo' login), logs in through the real login
form, then requests every admin page through Flask's test client: one warm-up request, then
`--repeat` timed ones, and prints the median and the slowest per page. The test client runs
the whole app (guard, session check, queries, templates) in-process, without a socket, so the
figures are the server's own work. Also prints the cost of one password check (scrypt), the
price of every login attempt.
(-P: bench/ is not put on sys.path, so no file there can shadow a standard module.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from flask.testing import FlaskClient
from werkzeug.security import check_password_hash, generate_password_hash

from config import load_settings
from plugin import create_app
from plugin.cli.serve import DEMO_ADMIN_USER, prepare_demo
from storage.db import open_shop_db
from storage.orders import popular_products

SHOP = "demo"


def _log_in(client: FlaskClient, password: str) -> None:
    """Log in through the form, as a browser does (the CSRF token comes with the session)."""
    client.get("/admin/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    response = client.post(
        "/admin/login",
        data={"user": DEMO_ADMIN_USER, "password": password, "csrf_token": token},
    )
    if response.status_code != 302:
        sys.exit(f"login failed with {response.status_code}")


def _pages(data_dir: Path) -> list[str]:
    """Every admin page, with the explore page on the best seller and a deep rules page."""
    db = open_shop_db(data_dir, SHOP, create=False)
    try:
        anchor = popular_products(db, limit=1)[0]
        experiment = db.execute("SELECT max(experiment_id) FROM experiments").fetchone()[0]
    finally:
        db.close()
    pages = [
        "overview",
        "quality",
        "settings",
        f"explore?product_id={anchor}",
        "explore?sort=lift&page=3",
        "health",
        "experiments",
    ]
    if experiment is not None:
        pages.append(f"experiments/{experiment}")
    return [f"/admin/{SHOP}/{page}" for page in pages]


def _time_page(client: FlaskClient, url: str, repeat: int) -> list[float]:
    """Milliseconds of `repeat` requests after one warm-up (which fills the model cache)."""
    client.get(url)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            sys.exit(f"{url} answered {response.status_code}")
    return times


def _scrypt_ms(rounds: int = 5) -> float:
    hashed = generate_password_hash("x" * 12, method="scrypt")
    started = time.perf_counter()
    for _ in range(rounds):
        check_password_hash(hashed, "y" * 12)
    return (time.perf_counter() - started) / rounds * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=150, help="Demo shop customers.")
    parser.add_argument("--days", type=int, default=180, help="Days of demo orders.")
    parser.add_argument("--repeat", type=int, default=10, help="Timed requests per page.")
    parser.add_argument("--no-traffic", action="store_true", help="Skip the simulated traffic.")
    args = parser.parse_args()
    print(f"command: .venv/bin/python -P bench/admin_pages.py {' '.join(sys.argv[1:])}".rstrip())

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        sizes = {"n_customers": args.customers, "days": args.days}
        started = time.perf_counter()
        setup = prepare_demo(
            load_settings({}, data_dir=data_dir), SHOP, sizes=sizes, traffic=not args.no_traffic
        )
        print(f"demo shop ready in {time.perf_counter() - started:.1f} s:")
        for line in setup.lines:
            print(f"  {line}")
        app = create_app(setup.settings, test_config={"TESTING": True})
        client = app.test_client()
        _log_in(client, setup.admin_password)
        print(f"password check (scrypt): {_scrypt_ms():.0f} ms per login attempt")
        print(f"{'page':<46} {'median ms':>9} {'max ms':>7}  (n={args.repeat})")
        for url in _pages(data_dir):
            times = _time_page(client, url, args.repeat)
            print(f"{url:<46} {statistics.median(times):>9.1f} {max(times):>7.1f}")


if __name__ == "__main__":
    main()
