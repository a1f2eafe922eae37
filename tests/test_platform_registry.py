"""One table of platforms (connectors.platforms): the receipt worker, the webhook header
filter and the metrics labels read it, so a platform added there reaches all three."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest
import sqlite_utils

from config import Settings
from connectors import platforms
from connectors.payload_fields import product_deleted_batch
from connectors.platform_update import PlatformUpdate
from plugin import create_app
from plugin.webhooks import kept_headers
from storage import connections
from storage.catalog import get_products
from storage.orders import popular_products
from storage.receipts import get_receipt, store_receipt
from worker.receipts import process_stored_receipt


@pytest.fixture
def settings(trained_settings: Settings) -> Settings:
    return trained_settings


def test_the_stores_platform_names_are_the_registrys() -> None:
    """storage/ may import no connector, so it names the platforms itself: the same ones."""
    assert tuple(connections.PLATFORMS) == tuple(platforms.PLATFORMS)


def test_every_platform_has_a_webhook_route_and_a_metrics_label(settings: Settings) -> None:
    from plugin import metrics

    endpoints = {rule.endpoint for rule in create_app(settings).url_map.iter_rules()}
    for name in platforms.PLATFORMS:
        assert f"webhooks.{name}_webhook" in endpoints
        assert metrics._WEBHOOK_ENDPOINTS[f"webhooks.{name}_webhook"] == name


def test_a_platform_added_to_the_registry_is_applied_and_its_headers_filtered(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[Mapping[str, Any], str]] = []

    def deleted(payload: Mapping[str, Any], domain: str) -> PlatformUpdate:
        seen.append((payload, domain))
        return PlatformUpdate(batch=product_deleted_batch(payload))

    acme = platforms.Platform(
        name="acme",
        header_prefix="x-acme-",
        signature_header="X-Acme-Signature",
        delivery_id_header="X-Acme-Delivery",
        mappers=MappingProxyType({"item.gone": deleted}),
        domain_of=lambda shop: f"{shop}.acme.example",
    )
    monkeypatch.setattr(
        platforms, "PLATFORMS", MappingProxyType({**platforms.PLATFORMS, "acme": acme})
    )

    kept = kept_headers({"X-Acme-Topic": "item.gone", "X-Acme-Signature": "s", "Cookie": "c"})
    assert kept == {"x-acme-topic": "item.gone"}

    product = popular_products(db, limit=1)[0]
    receipt_id, _ = store_receipt(
        db, "acme", "item.gone", "d-1", {}, f'{{"id": "{product}"}}'.encode()
    )
    outcome = process_stored_receipt(db, "demo", get_receipt(db, receipt_id))
    assert outcome["status"] == "processed", outcome
    assert seen == [({"id": product}, "demo.acme.example")]
    row = get_products(db, [product]).get(product)
    assert row is None or row["status"] != "active"

    receipt_id, _ = store_receipt(db, "acme", "item.renamed", "d-2", {}, b"{}")
    outcome = process_stored_receipt(db, "demo", get_receipt(db, receipt_id))
    assert outcome["status"] != "processed"  # a topic the platform does not map is refused
