"""Shared fixtures: real SQLite files in tmp dirs, a real Redis flushed around each test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlite_utils

from config import Settings, load_settings
from storage.db import open_shop_db

PG_ADMIN_URL = os.environ.get("SHOPREC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The storage suite runs on both store backends: SQLite files and PostgreSQL schemas."""
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "store_url" in metafunc.fixturenames and module.startswith("test_storage"):
        metafunc.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def store_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """'' (SQLite files) unless parametrized to 'postgresql': then a fresh database on the
    local PostgreSQL, dropped afterwards (skipped when none is reachable, outside CI)."""
    if getattr(request, "param", "sqlite") != "postgresql":
        yield ""
        return
    import uuid

    import psycopg
    from psycopg import sql as pgsql

    name = f"shoprec_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL at {PG_ADMIN_URL} for the PostgreSQL store: {exc}")
    admin.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(
            pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name))
        )
        admin.close()


@pytest.fixture
def settings(tmp_path: Path, store_url: str) -> Iterator[Settings]:
    """Settings on an empty data dir, read from an environment naming only the store."""
    from storage.db import bind_store

    loaded = load_settings({"SHOPREC_STORE_URL": store_url}, data_dir=tmp_path / "data")
    bind_store(loaded.data_dir, loaded.store_url)
    yield loaded
    bind_store(loaded.data_dir, "")  # SQLite again should the path be reused


@pytest.fixture
def shop_db(settings: Settings) -> Iterator[sqlite_utils.Database]:
    """The 'demo' shop's real SQLite file, migrated and empty."""
    db = open_shop_db(settings.data_dir, "demo")
    yield db
    db.close()


@pytest.fixture
def redis_conn() -> Iterator[redis.Redis]:
    """A real Redis DB (SHOPREC_TEST_REDIS_URL or 127.0.0.1:6379/15), flushed before and after."""
    url = os.environ.get("SHOPREC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    conn = redis.Redis.from_url(url)
    try:
        conn.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {url}: {exc}")
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


@pytest.fixture(scope="session")
def trained_demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with a small demo shop (150 customers, 180 days), generated and trained once
    per run. Tests that write must work on a copy (shutil.copytree)."""
    from demo.shop import generate_demo_shop
    from worker.training import train_shop

    data_dir = tmp_path_factory.mktemp("trained-demo") / "data"
    db = open_shop_db(data_dir, "demo")
    generate_demo_shop(db, seed=7, n_customers=150, days=180)
    db.close()
    train_shop(load_settings({}, data_dir=data_dir), "demo")
    return data_dir


@pytest.fixture
def trained_settings(trained_demo_data: Path, tmp_path: Path) -> Settings:
    """Settings on this test's own copy of the trained demo shop (free to write to)."""
    data_dir = tmp_path / "trained"
    shutil.copytree(trained_demo_data, data_dir)
    return load_settings({}, data_dir=data_dir)


@pytest.fixture
def db(settings: Settings) -> Iterator[sqlite_utils.Database]:
    """The existing 'demo' shop under whatever `settings` the test module defines (a module
    that overrides `settings` with `trained_settings` gets the trained shop)."""
    database = open_shop_db(settings.data_dir, "demo", create=False)
    yield database
    database.close()


@pytest.fixture
def anchor(db: sqlite_utils.Database) -> str:
    """The best-selling product: the engine has plenty to say about it."""
    from storage.orders import popular_products

    return popular_products(db, limit=1)[0]


# Headless Debian Chromium, one Playwright instance per test session (its sync API allows no
# second one in the process), shared by tests/browser and tests/woo_store.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium to run the browser tests")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield instance
        instance.close()
