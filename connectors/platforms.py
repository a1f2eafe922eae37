"""The shop platforms shoprec takes webhooks from, in one table.

Each entry says what the rest of shoprec needs to know of a platform's deliveries: which
headers of a delivery are kept on its stored receipt (and which one carries the signature,
never kept), which names the delivery for deduplication, and how each topic's payload
becomes canonical records (a PlatformUpdate). The receipt worker, the webhook routes' header
filter and the metrics' platform labels are read from it; the platforms' clients, auth and
payload mappers stay in their own packages (connectors/shopify, connectors/woocommerce).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from connectors.payload_fields import product_deleted_batch
from connectors.platform_update import PlatformUpdate
from connectors.shopify import payloads as shopify_payloads
from connectors.woocommerce import payloads as woocommerce_payloads

# A topic's payload and the shop's platform domain ("" where payloads name none) -> records.
Mapper = Callable[[Mapping[str, Any], str], PlatformUpdate]


@dataclass(frozen=True)
class Platform:
    """One platform's webhook deliveries.

    header_prefix: headers starting with it are kept on a receipt (lower case).
    signature_header: the delivery's signature, checked on arrival and never stored.
    delivery_id_header: the platform's id of a delivery (a repeat carries the same one).
    mappers: topic -> Mapper, for the topics stored receipts are applied from.
    domain_of: a shop name -> the domain the platform's payloads name the shop by.
    """

    name: str
    header_prefix: str
    signature_header: str
    delivery_id_header: str
    mappers: Mapping[str, Mapper]
    domain_of: Callable[[str], str] = lambda shop: ""


def _plain(update: Callable[[Mapping[str, Any]], PlatformUpdate]) -> Mapper:
    return lambda payload, domain: update(payload)


def _deleted(payload: Mapping[str, Any], domain: str) -> PlatformUpdate:
    return PlatformUpdate(batch=product_deleted_batch(payload))


def shopify_domain(shop: str) -> str:
    """The Shopify domain of a shop name (shop names are the domain minus .myshopify.com)."""
    return shop if shop.endswith(".myshopify.com") else f"{shop}.myshopify.com"


SHOPIFY = Platform(
    name="shopify",
    header_prefix="x-shopify-",
    signature_header="x-shopify-hmac-sha256",
    delivery_id_header="X-Shopify-Webhook-Id",
    mappers=MappingProxyType(
        {
            "orders/create": _plain(shopify_payloads.order_update),
            "orders/updated": _plain(shopify_payloads.order_update),
            "orders/paid": _plain(shopify_payloads.order_update),
            "orders/cancelled": _plain(shopify_payloads.order_update),
            "products/create": shopify_payloads.product_update,
            "products/update": shopify_payloads.product_update,
            "products/delete": _deleted,
            "customers/create": _plain(shopify_payloads.customer_update),
            "customers/update": _plain(shopify_payloads.customer_update),
        }
    ),
    domain_of=shopify_domain,
)

WOOCOMMERCE = Platform(
    name="woocommerce",
    header_prefix="x-wc-webhook-",
    signature_header="x-wc-webhook-signature",
    delivery_id_header="X-WC-Webhook-Delivery-ID",
    mappers=MappingProxyType(
        {
            "order.created": _plain(woocommerce_payloads.order_update),
            "order.updated": _plain(woocommerce_payloads.order_update),
            "order.restored": _plain(woocommerce_payloads.order_update),
            "order.deleted": lambda p, d: PlatformUpdate(
                batch=woocommerce_payloads.order_deleted_batch(p)
            ),
            "product.created": _plain(woocommerce_payloads.product_update),
            "product.updated": _plain(woocommerce_payloads.product_update),
            "product.restored": _plain(woocommerce_payloads.product_update),
            "product.deleted": _deleted,
            "customer.created": _plain(woocommerce_payloads.customer_update),
            "customer.updated": _plain(woocommerce_payloads.customer_update),
        }
    ),
)

PLATFORMS: Mapping[str, Platform] = MappingProxyType({p.name: p for p in (SHOPIFY, WOOCOMMERCE)})


def kept_header_prefixes() -> tuple[str, ...]:
    """The header prefixes a stored receipt keeps, one per platform."""
    return tuple(p.header_prefix for p in PLATFORMS.values())


def signature_headers() -> frozenset[str]:
    """Every platform's signature header (lower case): never stored."""
    return frozenset(p.signature_header.lower() for p in PLATFORMS.values())
