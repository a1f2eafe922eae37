"""Backfill and incremental sync from a platform API, resumable page by page.

One engine for both platforms. A `Source` fetches one page of a resource ('products',
'customers', 'orders') from a cursor, already mapped to a PlatformUpdate. After each page
is applied, its cursor is saved in sync_state, so a crash (or a kill) resumes from the last
applied page: a page applied but not yet acknowledged is applied again, which the
idempotent upserts and record versions make harmless - no duplicates, no gaps.

Per resource, sync_state holds:
- cursor: where the next page starts ('' = from the beginning);
- last_synced_at: the watermark of the last completed pass (None = backfill not finished);
- status: 'backfilling' / 'syncing' while a pass runs, 'idle' after, 'failed' with error.
A pass after the backfill asks only for records updated since the watermark minus an
overlap (clock skew, records updated during the previous pass): that is the periodic
incremental sync, and it is also the reconciliation that catches what webhooks missed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import sqlite_utils

from connectors.errors import PlatformAuthError
from connectors.platform_update import PlatformUpdate
from storage.clock import to_iso
from storage.connections import set_connection_status
from storage.sync_state import get_sync_state, save_sync_state
from worker.platform_apply import apply_update

logger = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class FetchedPage:
    """One page, mapped: its records and where the next page starts (None = last page)."""

    update: PlatformUpdate
    next_cursor: str | None
    records: int


class Source(Protocol):
    """A platform's pages of one resource; `since` (store UTC text) asks for updates only."""

    platform: str

    def fetch(self, resource: str, cursor: str | None, since: str | None) -> FetchedPage:
        """Fetch the page at `cursor` (None = first page)."""
        ...


@dataclass
class ResourceReport:
    """What one pass over a resource did."""

    resource: str
    mode: str
    pages: int = 0
    records: int = 0
    changed: dict[str, int] = field(default_factory=dict)
    stale_skipped: int = 0
    resumed_from: str | None = None


def _state_key(platform: str, resource: str) -> str:
    return f"{platform}:{resource}"


def sync_resource(
    db: sqlite_utils.Database,
    source: Source,
    resource: str,
    *,
    now: datetime,
    on_page: Callable[[int], None] | None = None,
) -> ResourceReport:
    """Run one pass (backfill or incremental) over `resource`, resuming a broken one.

    Raises whatever the source raises, after recording it in sync_state; the cursor of the
    last applied page is kept, so the next call resumes there.
    """
    key = _state_key(source.platform, resource)
    state = get_sync_state(db, key) or {}
    watermark = state.get("last_synced_at")
    mode = "incremental" if watermark else "backfill"
    running = "syncing" if watermark else "backfilling"
    cursor = state.get("cursor") or None
    since = None
    if watermark:
        since = to_iso(datetime.fromisoformat(watermark).replace(tzinfo=UTC) - OVERLAP)
    report = ResourceReport(resource, mode, resumed_from=cursor)
    started = to_iso(now)
    save_sync_state(db, key, status=running)
    while True:
        try:
            page = source.fetch(resource, cursor, since)
        except Exception as exc:
            save_sync_state(db, key, status="failed", error=f"{type(exc).__name__}: {exc}"[:500])
            raise
        changed = apply_update(db, page.update)
        report.pages += 1
        report.records += page.records
        report.stale_skipped += int(changed.pop("stale_skipped", 0))
        for name, count in changed.items():
            report.changed[name] = report.changed.get(name, 0) + int(count)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        # Saved only after the page is applied: a crash re-fetches at most this one page.
        save_sync_state(db, key, cursor=cursor, status=running)
        if on_page is not None:
            on_page(report.pages)
    # A new pass starts from the beginning; its watermark is when this one started.
    save_sync_state(db, key, cursor="", last_synced_at=started, status="idle")
    return report


def sync_all(
    db: sqlite_utils.Database,
    source: Source,
    resources: tuple[str, ...],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Sync every resource in order; a 401/403 marks the connection broken and stops.

    Returns a JSON-able report. Other errors propagate (the job is retried by RQ and
    resumes from the saved cursors).
    """
    now = now or datetime.now(UTC)
    reports: list[dict[str, Any]] = []
    for resource in resources:
        try:
            report = sync_resource(db, source, resource, now=now)
        except PlatformAuthError as exc:
            set_connection_status(db, source.platform, "broken", str(exc))
            logger.warning("%s connection broken: %s", source.platform, exc)
            return {"status": "broken", "error": str(exc), "resources": reports}
        reports.append(report.__dict__)
    return {"status": "ok", "resources": reports}


@dataclass(frozen=True)
class PreparedSync:
    """A platform's source for one shop's sync, the resources to walk, and what its set-up
    reported (webhooks reconciled, pixel activated...), merged into the sync's result."""

    source: Any
    resources: tuple[str, ...]
    report: dict[str, Any]
