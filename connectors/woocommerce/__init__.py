"""WooCommerce: REST v3, key exchange, CSV exports and webhook payloads."""
