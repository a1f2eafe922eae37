"""GraphQL Admin API documents and their nodes translated into REST-shaped payloads.

Why translate instead of mapping twice: webhooks deliver REST-shaped objects (PLATFORMS.md
1.7) and connectors/shopify/payloads.py already maps those to canonical records. Turning a
GraphQL node into the same shape keeps one mapping per platform, so a product read by the
backfill and the same product delivered by products/update become identical rows.

Page sizes keep each query's requested cost under Shopify's 1000-point cap (a connection
costs about `first` x its child cost, PLATFORMS.md 1.10): 20 products x (3 + 20 variants x 2)
= 860, and 10 orders x (3 + 25 lines x 3) = 780.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.errors import PayloadError

PRODUCTS_PAGE = 20
VARIANTS_PER_PRODUCT = 20
ORDERS_PAGE = 10
LINES_PER_ORDER = 25

PRODUCTS_QUERY = """
query ShoprecProducts($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId title handle descriptionHtml vendor productType tags status
      createdAt updatedAt onlineStoreUrl
      featuredMedia { preview { image { url } } }
      variants(first: VARIANTS_FIRST) {
        nodes { id legacyResourceId sku price compareAtPrice inventoryQuantity
                inventoryItem { id legacyResourceId } }
      }
    }
  }
}
""".replace("VARIANTS_FIRST", str(VARIANTS_PER_PRODUCT))

ORDERS_QUERY = """
query ShoprecOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId name createdAt updatedAt cancelledAt displayFinancialStatus
      customer { id legacyResourceId email firstName lastName }
      billingAddress { countryCodeV2 }
      lineItems(first: LINES_FIRST) {
        pageInfo { hasNextPage endCursor }
        nodes { id quantity sku title
                product { legacyResourceId } variant { legacyResourceId }
                originalUnitPriceSet { shopMoney { amount currencyCode } } }
      }
    }
  }
}
""".replace("LINES_FIRST", str(LINES_PER_ORDER))

# The rest of a big order's lines (more than LINES_PER_ORDER): 100 lines x 3 = 300 points.
ORDER_LINES_QUERY = """
query ShoprecOrderLines($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id quantity sku title
              product { legacyResourceId } variant { legacyResourceId }
              originalUnitPriceSet { shopMoney { amount currencyCode } } }
    }
  }
}
"""

WEBHOOK_CREATE_MUTATION = """
mutation ShoprecWebhook($topic: WebhookSubscriptionTopic!, $callbackUrl: URL!) {
  webhookSubscriptionCreate(topic: $topic,
                            webhookSubscription: {callbackUrl: $callbackUrl, format: JSON}) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
"""

# The app's web pixel extension is activated per shop by creating its record with settings
# that match the extension's TOML; a shop that has it already answers TAKEN, and the record
# (one per app and shop) is then updated in place.
WEB_PIXEL_CREATE_MUTATION = """
mutation ShoprecWebPixelCreate($settings: JSON!) {
  webPixelCreate(webPixel: {settings: $settings}) {
    webPixel { id settings }
    userErrors { code field message }
  }
}
"""
WEB_PIXEL_QUERY = """
query ShoprecWebPixel { webPixel { id settings } }
"""
WEB_PIXEL_UPDATE_MUTATION = """
mutation ShoprecWebPixelUpdate($id: ID!, $settings: JSON!) {
  webPixelUpdate(id: $id, webPixel: {settings: $settings}) {
    webPixel { id settings }
    userErrors { code field message }
  }
}
"""

# Shop-specific subscriptions registered on install. The privacy topics (customers/redact,
# customers/data_request, shop/redact) are configured in the Partner dashboard instead:
# PLATFORMS.md 1.8 says they cannot be created through the Admin API.
WEBHOOK_TOPICS = (
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "PRODUCTS_CREATE",
    "PRODUCTS_UPDATE",
    "PRODUCTS_DELETE",
    "INVENTORY_LEVELS_UPDATE",
    "CUSTOMERS_CREATE",
    "CUSTOMERS_UPDATE",
    "APP_UNINSTALLED",
)

_FINANCIAL = {
    "PENDING": "pending",
    "AUTHORIZED": "authorized",
    "PARTIALLY_PAID": "partially_paid",
    "PAID": "paid",
    "PARTIALLY_REFUNDED": "partially_refunded",
    "REFUNDED": "refunded",
    "VOIDED": "voided",
    "EXPIRED": "expired",
}


def legacy_id(node: Mapping[str, Any] | None, where: str) -> str | None:
    """The numeric id of a node: legacyResourceId, else the tail of its gid."""
    if not node:
        return None
    value = node.get("legacyResourceId")
    if value not in (None, ""):
        return str(value)
    gid = node.get("id")
    if isinstance(gid, str) and gid.startswith("gid://shopify/"):
        tail = gid.rsplit("/", 1)[-1].split("?", 1)[0]
        if tail.isdigit():
            return tail
    raise PayloadError(f"{where} has neither legacyResourceId nor a gid id")


def _nodes(connection: Any, where: str) -> list[dict[str, Any]]:
    if connection is None:
        return []
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
        raise PayloadError(f"{where}.nodes must be a list of objects")
    return nodes


def rest_product(node: Mapping[str, Any]) -> dict[str, Any]:
    """A GraphQL Product node as the REST Product shape products/update delivers."""
    where = f"product {node.get('id')!r}"
    image = ((node.get("featuredMedia") or {}).get("preview") or {}).get("image") or {}
    tags = node.get("tags") or []
    variants = []
    for variant in _nodes(node.get("variants"), f"{where}.variants"):
        item = variant.get("inventoryItem")
        variants.append(
            {
                "id": legacy_id(variant, f"{where}.variant"),
                "sku": variant.get("sku"),
                "price": variant.get("price"),
                "compare_at_price": variant.get("compareAtPrice"),
                "inventory_quantity": variant.get("inventoryQuantity"),
                "inventory_item_id": legacy_id(item, f"{where}.variant.inventoryItem"),
            }
        )
    return {
        "id": legacy_id(node, where),
        "admin_graphql_api_id": node.get("id"),
        "title": node.get("title"),
        "handle": node.get("handle"),
        "body_html": node.get("descriptionHtml") or "",
        "vendor": node.get("vendor") or "",
        "product_type": node.get("productType") or "",
        "tags": ", ".join(tags) if isinstance(tags, list) else str(tags),
        "status": str(node.get("status") or "").lower(),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "variants": variants,
        "image": {"src": image["url"]} if image.get("url") else None,
    }


def rest_order(node: Mapping[str, Any]) -> dict[str, Any]:
    """A GraphQL Order node as the REST Order shape orders/create delivers."""
    where = f"order {node.get('id')!r}"
    customer = node.get("customer")
    rest_customer = None
    if customer:
        rest_customer = {
            "id": legacy_id(customer, f"{where}.customer"),
            "email": customer.get("email"),
            "first_name": customer.get("firstName") or "",
            "last_name": customer.get("lastName") or "",
        }
    lines = []
    for line in _nodes(node.get("lineItems"), f"{where}.lineItems"):
        money = ((line.get("originalUnitPriceSet") or {}).get("shopMoney")) or {}
        lines.append(
            {
                "id": legacy_id(line, f"{where}.lineItem"),
                "product_id": legacy_id(line.get("product"), f"{where}.lineItem.product"),
                "variant_id": legacy_id(line.get("variant"), f"{where}.lineItem.variant"),
                "quantity": line.get("quantity"),
                "price": money.get("amount"),
                "sku": line.get("sku"),
                "title": line.get("title"),
            }
        )
    billing = node.get("billingAddress") or {}
    status = str(node.get("displayFinancialStatus") or "")
    return {
        "id": legacy_id(node, where),
        "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "financial_status": _FINANCIAL.get(status, status.lower()),
        "customer": rest_customer,
        "billing_address": {"country_code": billing.get("countryCodeV2")} if billing else None,
        "line_items": lines,
    }
