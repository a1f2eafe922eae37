"""MkDocs hook: pages that must not drift from the code are filled in at build time.

- the settings table (configuration.md) from config.SETTINGS_SPEC: every env var with its
  default and help, as `load_settings` reads them;
- the HTTP API reference (api-reference.md) from the app's OpenAPI document;
- the contexts and slots (api.md) from the slot table, engine.slot_specs.SLOTS;
- the shop settings the admin's settings page writes (admin.md), from its table
  plugin.admin.settings_forms.SHOP_SETTINGS.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SETTINGS_MARK = "<!-- settings-table: generated from config.Settings at build time -->"
OPENAPI_MARK = "<!-- openapi: generated from the app's OpenAPI document at build time -->"
SLOTS_MARK = "<!-- slots-table: generated from engine.slot_specs.SLOTS at build time -->"
SHOP_SETTINGS_MARK = (
    "<!-- shop-settings: generated from the settings page's table at build time -->"
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    """Markdown table of every setting: env var, default, meaning."""
    from config import SETTINGS_SPEC

    rows = ["| env var | default | meaning |", "|---|---|---|"]
    for _name, env, default, help_text in SETTINGS_SPEC:
        shown = "(empty)" if default in ("", None) else f"`{default}`"
        rows.append(f"| `{env}` | {_cell(shown)} | {_cell(help_text)} |")
    return "\n".join(rows)


def openapi_reference() -> str:
    """Every path and method of the OpenAPI document with its summary, then the document."""
    from config import load_settings
    from plugin.openapi import build_openapi

    document: dict[str, Any] = build_openapi(load_settings({}))
    rows = ["| method | path | what |", "|---|---|---|"]
    for path, methods in sorted(document.get("paths", {}).items()):
        for method, spec in methods.items():
            if isinstance(spec, dict):
                what = spec.get("summary") or spec.get("description", "").split("\n")[0]
                rows.append(f"| {method.upper()} | `{path}` | {_cell(what)} |")
    body = json.dumps(document, indent=2, sort_keys=False)
    return (
        "\n".join(rows)
        + '\n\n??? note "The OpenAPI document"\n\n    ```json\n'
        + ("\n".join("    " + line for line in body.splitlines()))
        + "\n    ```\n"
    )


def slots_table() -> str:
    """Markdown table of every slot: context, slot, default title, default blend, and whether
    a request naming only the context gets it."""
    from engine.slot_specs import SLOTS

    rows = ["| context | slot | default title | default blend | context's default |"]
    rows.append("|---|---|---|---|---|")
    for spec in SLOTS:
        blend = ", ".join(f"{source} {weight:g}" for source, weight in spec.weights.items())
        default = "yes" if spec.default else ""
        rows.append(
            f"| `{spec.context}` | `{spec.slot}` | {_cell(spec.title)} | {blend} | {default} |"
        )
    return "\n".join(rows)


def shop_settings_list() -> str:
    """The shop settings the admin's settings page writes, each with what it holds."""
    from plugin.admin.settings_forms import SHOP_SETTINGS

    return ", ".join(
        f"`{spec.key}`" + (f" ({spec.holds})" if spec.holds else "") for spec in SHOP_SETTINGS
    )


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Fill the generated parts of a page."""
    if SETTINGS_MARK in markdown:
        markdown = markdown.replace(SETTINGS_MARK, settings_table())
    if OPENAPI_MARK in markdown:
        markdown = markdown.replace(OPENAPI_MARK, openapi_reference())
    if SLOTS_MARK in markdown:
        markdown = markdown.replace(SLOTS_MARK, slots_table())
    if SHOP_SETTINGS_MARK in markdown:
        markdown = markdown.replace(SHOP_SETTINGS_MARK, shop_settings_list())
    return markdown
