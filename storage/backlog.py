"""What is waiting in one shop's store, for /metrics: pending webhook receipts (and the oldest
one's age) and email deliveries not sent yet.

One statement over the status indexes (webhook_receipts_status, deliveries_status), on a
read-only connection that neither creates nor migrates anything: a scrape must stay cheap
and must never write to a shop's store.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_BACKLOG_SQL = """
SELECT
    (SELECT count(*) FROM webhook_receipts WHERE status = 'pending'),
    (SELECT min(received_at) FROM webhook_receipts WHERE status = 'pending'),
    (SELECT count(*) FROM deliveries WHERE status = 'pending'),
    (SELECT count(*) FROM deliveries WHERE status = 'failed'),
    (SELECT count(*) FROM deliveries WHERE status = 'parked')
"""


@dataclass(frozen=True)
class ShopBacklog:
    """One shop's waiting work.

    oldest_pending_receipt: when the oldest pending receipt was received (None: none pending).
    deliveries: {'pending'|'failed'|'parked': count}; failed ones are retried, parked ones
        wait for someone to fix their cause and replay them.
    """

    pending_receipts: int
    oldest_pending_receipt: datetime | None
    deliveries: dict[str, int]


def read_backlog(db_path: Path, timeout_s: float = 1.0) -> ShopBacklog:
    """The shop's backlog, read with one query on a read-only connection.

    Raises sqlite3.Error when the store cannot be read (locked past timeout_s, missing).
    """
    uri = f"{Path(db_path).resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout_s)
    try:
        receipts, oldest, pending, failed, parked = conn.execute(_BACKLOG_SQL).fetchone()
    finally:
        conn.close()
    oldest_at = datetime.fromisoformat(oldest).replace(tzinfo=UTC) if oldest else None
    return ShopBacklog(
        int(receipts), oldest_at, {"pending": pending, "failed": failed, "parked": parked}
    )
