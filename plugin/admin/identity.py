"""Blueprint 'admin_identity': who may name a customer, and the server-to-server API key.

The settings page (plugin.admin.settings) shows the section; these routes change it. An
"open" shop trusts every customer_id it is sent, so every admin page of that shop carries a
warning banner while it is on (the `identity_is_open` Jinja global). A rotated API key is
shown once, in the answer to the POST itself: only its hash is stored, and it never goes into
a flash message (those travel in the session cookie).
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response

from plugin.admin.auth import open_admin_db, register_admin_guards
from plugin.admin.settings import settings_page_with
from plugin.errors import InvalidIdentityMode
from plugin.storefront.shopper_identity import (
    read_identity_config,
    rotate_api_key,
    set_identity_mode,
)

bp = Blueprint("admin_identity", __name__, url_prefix="/admin/<shop>")
register_admin_guards(bp)


def identity_is_open() -> bool:
    """Whether the admin's current shop trusts unsigned customer ids (banner on every page)."""
    if not g.get("admin_shop") or not g.get("admin_user"):
        return False
    return read_identity_config(open_admin_db()).mode == "open"


@bp.record_once
def _register_banner(state: BlueprintSetupState) -> None:
    state.app.jinja_env.globals.update(identity_is_open=identity_is_open)


@bp.post("/identity/mode")
def save_mode(shop: str) -> Response | tuple[str, int]:
    """Store "signed" or "open" (the form's select); anything else is refused, 400."""
    try:
        changed = set_identity_mode(open_admin_db(), request.form.get("identity", ""), g.admin_user)
    except InvalidIdentityMode as exc:
        flash("Not saved: 1 problem in identity, shown below.", "error")
        return settings_page_with(errors={"identity": [str(exc)]}), 400
    if changed:
        flash("Saved identity; it applies from the next request.", "success")
    else:
        flash("identity was already set to that.", "info")
    return redirect(f"/admin/{g.admin_shop}/settings#identity")


@bp.post("/identity/api-key")
def rotate_key(shop: str) -> str:
    """Make a new API key and show it on this answer only (the old one stops working)."""
    key, key_id = rotate_api_key(open_admin_db(), g.admin_user)
    flash(f"New API key {key_id} made; the old one no longer works.", "success")
    return settings_page_with(new_api_key=key)
