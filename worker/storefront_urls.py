"""Product links for shops fed by CSV: a storefront base URL and a product URL template.

A platform payload always carries the product's permalink; a CSV often does not (a catalog
export from an ERP, the Online Retail file) or carries site-relative links (`/products/x`).
The widget resolves a relative link against shoprec's own origin, and shows a product with
no link as a card nobody can click. So each shop may set, once:

- `storefront_url`: the shop's own address (`https://shop.example`), which site-relative
  product and image URLs are joined to at import;
- `product_url_template`: the link of a product that has none, with `{handle}` or
  `{product_id}` standing for the product id (a Shopify export's handle is its id), e.g.
  `https://shop.example/products/{handle}` or `/products/{handle}` (joined to the base).

Both are applied when products are imported (and kept, so later imports use them too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import sqlite_utils

from connectors.product_urls import UnsafeUrl, checked_url
from storage.shop_settings import get_shop_setting, set_shop_setting
from worker.errors import WorkerError

STOREFRONT_URL_KEY = "storefront_url"
URL_TEMPLATE_KEY = "product_url_template"
PLACEHOLDERS = ("{handle}", "{product_id}")


class StorefrontUrlError(WorkerError):
    """A storefront URL or product URL template that cannot make a safe absolute link."""


@dataclass(frozen=True)
class StorefrontUrls:
    """A shop's base URL and template ('' when unset)."""

    base: str = ""
    template: str = ""

    def absolute(self, url: str) -> str:
        """A site-relative URL joined to the base; any other URL as it is."""
        if url.startswith("/") and not url.startswith("//") and self.base:
            return self.base + url
        return url

    def product_url(self, product_id: str) -> str:
        """The template's link for `product_id`, or '' without a template."""
        if not self.template:
            return ""
        slug = quote(str(product_id), safe="")
        url = self.template
        for placeholder in PLACEHOLDERS:
            url = url.replace(placeholder, slug)
        return self.absolute(url)

    def fill(self, product: dict[str, Any]) -> dict[str, Any]:
        """The product with its missing link made and relative links made absolute."""
        url = str(product.get("url") or "")
        filled = self.absolute(url) if url else self.product_url(str(product["product_id"]))
        image = str(product.get("image_url") or "")
        if filled == url and (not image or self.absolute(image) == image):
            return product
        out = dict(product)
        out["url"] = filled
        if image:
            out["image_url"] = self.absolute(image)
        return out


def check_storefront_url(raw: str) -> str:
    """`raw` as a base URL: http(s) with a host, no trailing slash, no query."""
    url = (raw or "").strip().rstrip("/")
    try:
        checked = checked_url(url, "storefront URL")
    except UnsafeUrl as exc:
        raise StorefrontUrlError(str(exc)) from None
    if not checked.startswith(("http://", "https://")) or "?" in checked or "#" in checked:
        raise StorefrontUrlError(
            f"storefront URL must be the shop's http(s) address (https://shop.example), got {raw!r}"
        )
    return checked


def check_url_template(raw: str, base: str) -> str:
    """`raw` as a product URL template: one of PLACEHOLDERS, and an absolute safe link once
    filled (a site-relative template needs the storefront URL)."""
    template = (raw or "").strip()
    if not any(p in template for p in PLACEHOLDERS):
        raise StorefrontUrlError(
            f"the URL template must contain {{handle}} or {{product_id}}, got {raw!r}"
        )
    sample = StorefrontUrls(base, template).product_url("sample-1")
    try:
        checked = checked_url(sample, "URL template")
    except UnsafeUrl as exc:
        raise StorefrontUrlError(str(exc)) from None
    if not checked.startswith(("http://", "https://")):
        raise StorefrontUrlError(
            f"the URL template {raw!r} is site-relative: set the storefront URL too"
        )
    return template


def storefront_urls(db: sqlite_utils.Database) -> StorefrontUrls:
    """The shop's stored base URL and template."""
    return StorefrontUrls(
        str(get_shop_setting(db, STOREFRONT_URL_KEY, "") or ""),
        str(get_shop_setting(db, URL_TEMPLATE_KEY, "") or ""),
    )


def save_storefront_urls(
    db: sqlite_utils.Database, base: str | None, template: str | None, changed_by: str
) -> StorefrontUrls:
    """Check and store what is given (None keeps the stored value); the shop's settings."""
    current = storefront_urls(db)
    new_base = check_storefront_url(base) if base is not None else current.base
    new_template = (
        check_url_template(template, new_base) if template is not None else current.template
    )
    if template is None and new_template:
        check_url_template(new_template, new_base)  # a relative template needs a base
    if base is not None:
        set_shop_setting(db, STOREFRONT_URL_KEY, new_base, changed_by)
    if template is not None:
        set_shop_setting(db, URL_TEMPLATE_KEY, new_template, changed_by)
    return StorefrontUrls(new_base, new_template)
