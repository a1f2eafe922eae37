"""The Shopify app files (integrations/shopify/) as the tests read and render them.

Liquid is rendered with python-liquid plus the few things Shopify adds that the blocks use:
the `json` and `asset_url` filters, snippets found by `{% render %}`, and `{% schema %}`
blocks, which Shopify reads as JSON and never outputs (they are cut out before rendering).
Objects are shaped like Shopify's: product with id/handle/title/variants, cart with items
and currency, shop.permanent_domain, block.settings.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from liquid import DictLoader, Environment

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = ROOT / "integrations" / "shopify"
THEME_DIR = APP_DIR / "extensions" / "shoprec-theme"
PIXEL_DIR = APP_DIR / "extensions" / "shoprec-pixel"
SCHEMAS_DIR = Path(__file__).resolve().parent / "shopify_schemas"
_SCHEMA_TAG = re.compile(r"{%-?\s*schema\s*-?%}(.*?){%-?\s*endschema\s*-?%}", re.S)


def read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def json_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


def block_files() -> list[Path]:
    return sorted((THEME_DIR / "blocks").glob("*.liquid"))


def block_schema(path: Path) -> dict[str, Any]:
    """The block's {% schema %} JSON (exactly one per block, as Shopify requires)."""
    found = _SCHEMA_TAG.findall(path.read_text(encoding="utf-8"))
    assert len(found) == 1, f"{path.name} has {len(found)} schema tags"
    return json.loads(found[0])


def block_defaults(path: Path) -> dict[str, Any]:
    """block.settings as the theme editor starts them: each setting's default."""
    return {s["id"]: s.get("default", "") for s in block_schema(path)["settings"] if "id" in s}


def _without_schema(text: str) -> str:
    return _SCHEMA_TAG.sub("", text)


def theme_environment(asset_base: str = "https://cdn.shopify.example/extensions/shoprec") -> Any:
    """A Liquid environment with the extension's snippets and Shopify's filters the blocks use."""
    snippets = {
        path.stem: _without_schema(path.read_text(encoding="utf-8"))
        for path in (THEME_DIR / "snippets").glob("*.liquid")
    }
    env = Environment(loader=DictLoader(snippets))
    env.filters["json"] = lambda value, *_: json.dumps(value)
    env.filters["asset_url"] = lambda name, *_: f"{asset_base.rstrip('/')}/{name}"
    return env


def render_block(name: str, env: Any | None = None, **objects: Any) -> str:
    """Render blocks/<name>.liquid with `objects` as Liquid globals."""
    path = THEME_DIR / "blocks" / f"{name}.liquid"
    template = (env or theme_environment()).from_string(
        _without_schema(path.read_text(encoding="utf-8"))
    )
    return str(template.render(**objects))


def shop_objects(
    *,
    product_id: str | None = None,
    cart_product_ids: tuple[str, ...] = (),
    settings: dict[str, Any] | None = None,
    template: str = "product",
    domain: str = "demo.myshopify.com",
) -> dict[str, Any]:
    """Shopify-shaped globals for one page of the shop."""
    objects: dict[str, Any] = {
        "shop": {
            "permanent_domain": domain,
            "name": "Demo",
            "url": f"https://{domain}",
            "currency": "EUR",
        },
        "cart": {
            "item_count": len(cart_product_ids),
            "items": [
                {"product_id": pid, "variant_id": f"{pid}01", "quantity": 1, "title": f"Item {pid}"}
                for pid in cart_product_ids
            ],
            # The shopper's market: not the currency shoprec's prices are in.
            "currency": {"iso_code": "USD"},
        },
        "template": {"name": template},
        "block": {"settings": settings or {}},
        "customer": None,
    }
    if product_id is not None:
        objects["product"] = {
            "id": product_id,
            "handle": f"product-{product_id}",
            "title": f"Product {product_id}",
            "variants": [{"id": f"{product_id}01"}, {"id": f"{product_id}02"}],
        }
    return objects
