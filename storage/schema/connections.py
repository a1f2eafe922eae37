"""Schema for platform connections, record versions (out-of-order webhooks) and inventory items.

- connections: one row per connected platform of this shop. Credentials (OAuth
  tokens, WooCommerce consumer key/secret) sit in `credentials` as JSON and are never
  returned by an endpoint or logged; `status` is what the admin shows ('broken' after a
  401/403 from the platform, with `status_reason`).
- record_versions: the platform's own updated_at of every product/order/customer we applied,
  so a late webhook or a stale page can be recognised and skipped instead of overwriting a
  newer state (the store's own updated_at is our write time, not the platform's).
- inventory_items / inventory_levels: Shopify's inventory_levels/update names an inventory
  item and a location, not a product; these map it back and hold stock per location.
"""

SQL = """
CREATE TABLE connections (
    platform TEXT PRIMARY KEY CHECK (platform IN ('shopify', 'woocommerce')),
    shop_domain TEXT NOT NULL,                -- x.myshopify.com, or the WooCommerce store URL
    status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'broken', 'uninstalled')),
    status_reason TEXT,
    credentials TEXT NOT NULL DEFAULT '{}',   -- JSON; secret: never logged or returned
    scope TEXT NOT NULL DEFAULT '',
    access_expires_at TEXT,                   -- ISO UTC; NULL: the token does not expire
    connected_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE record_versions (
    kind TEXT NOT NULL CHECK (kind IN ('product', 'order', 'customer')),
    record_id TEXT NOT NULL,
    platform_updated_at TEXT NOT NULL,        -- ISO UTC from the platform's updated_at
    PRIMARY KEY (kind, record_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE inventory_items (
    inventory_item_id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    variant_id TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX inventory_items_product ON inventory_items(product_id);

CREATE TABLE inventory_levels (
    inventory_item_id TEXT NOT NULL,
    location_id TEXT NOT NULL,                -- '': the item's total over all locations
    available INTEGER,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (inventory_item_id, location_id)
) STRICT, WITHOUT ROWID;
"""
