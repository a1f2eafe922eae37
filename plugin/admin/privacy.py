"""Blueprint 'admin_privacy': /admin/<shop>/privacy, the shop's data subject requests and the
retention of raw storefront events.

Lists every export (Shopify customers/data_request, `shoprec privacy export`) with a download
of its file, every erasure with what it removed, the event retention period, the oldest event
still kept and the last purge. The download is served by the same per-shop guard as every
admin page, so only a login of this shop gets the file; the file is found through the shop's
own log row, never from a name in the URL.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, send_file
from werkzeug.wrappers import Response

from plugin.admin.auth import open_admin_db, register_admin_guards
from storage.errors import RetentionSettingError
from storage.privacy_requests import get_privacy_request, list_privacy_requests
from storage.retention import (
    DEFAULT_RETENTION_MONTHS,
    RETENTION_SETTING,
    last_event_purge,
    oldest_event_ts,
    retention_months,
)
from storage.shop_settings import get_shop_setting
from worker.privacy import export_file_path

bp = Blueprint("admin_privacy", __name__, url_prefix="/admin/<shop>")
register_admin_guards(bp)

ROWS = 100


def _retention() -> dict[str, Any]:
    """The period in effect (or why the stored one is refused), oldest event, last purge."""
    db = open_admin_db()
    try:
        months: int | None = retention_months(db)
        problem = ""
    except RetentionSettingError as exc:
        months, problem = None, str(exc)
    oldest, last = oldest_event_ts(db), last_event_purge(db)
    return {
        "months": months,
        "is_default": get_shop_setting(db, RETENTION_SETTING) is None,
        "default_months": DEFAULT_RETENTION_MONTHS,
        "problem": problem,
        "oldest_event": oldest,
        "last_purge": last,
        # A run stopped by its time budget: the next one goes on.
        "behind": bool(last and oldest and oldest < last.cutoff),
    }


@bp.get("/privacy")
def privacy_page(shop: str) -> str:
    """Data requests with their exports, erasures with their counts, and event retention."""
    db = open_admin_db()
    return render_template(
        "admin/privacy.html",
        exports=list_privacy_requests(db, "export", ROWS),
        erasures=list_privacy_requests(db, "erasure", ROWS),
        retention=_retention(),
    )


@bp.get("/privacy/exports/<int:request_id>")
def download_export(shop: str, request_id: int) -> Response:
    """The JSON file of one export of this shop, as a download that no cache keeps."""
    db = open_admin_db()
    export = get_privacy_request(db, request_id)
    if export is None or export.kind != "export" or not export.export_file:
        abort(404)
    path = export_file_path(db, export.export_file)
    if path is None or not path.is_file():
        abort(404)
    response = send_file(
        path, mimetype="application/json", as_attachment=True, download_name=path.name
    )
    response.headers["Cache-Control"] = "no-store"
    return response
