"""Shopify: Admin API (GraphQL), OAuth, CSV exports and webhook payloads."""
