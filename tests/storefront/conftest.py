"""Storefront API tests: each test works on its own copy of the trained demo shop."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from config import Settings
from plugin import create_app


@pytest.fixture
def settings(trained_settings: Settings) -> Settings:
    """This test's own copy of the trained demo shop (overrides the empty-shop settings)."""
    return trained_settings


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings, {"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
