"""Running a shop's sync as one unit: open its store, build the platform's source, sync.

Also what enqueues it: one sync job per shop and platform at a time (a fixed job id), so
the install flow, `shoprec sync` and a periodic trigger never run two passes over the same
cursors at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import requests
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job

from config import Settings
from connectors.errors import PlatformAuthError
from storage.connections import get_connection, set_connection_status
from storage.db import open_shop_db, validate_shop_name
from worker import shopify_sync, woocommerce_sync
from worker.errors import UnknownPlatformResource
from worker.sync import sync_all

SYNC_JOB = "worker.jobs.sync_shop_job"
# Each platform's sync set-up: its source for the shop, the resources to walk, and the
# reconciliation it runs first. A new platform adds one line here (and its connector room).
SYNC_PLATFORMS = MappingProxyType(
    {"shopify": shopify_sync.prepare_sync, "woocommerce": woocommerce_sync.prepare_sync}
)
# A network failure after the client's own retries: try the job again later; it resumes
# from the last saved cursor.
SYNC_RETRY = Retry(max=3, interval=[60, 300, 900])
SYNC_TIMEOUT_S = 3 * 3600


def sync_job_id(shop: str, platform: str) -> str:
    """The fixed job id of one shop's sync on one platform ('.' is not allowed by RQ)."""
    return f"sync-{platform}-{validate_shop_name(shop).replace('.', '_')}"


def enqueue_sync(queue: Queue, shop: str, platform: str) -> Job:
    """Enqueue sync_shop_job(shop, platform) unless one is already queued or running."""
    job_id = sync_job_id(shop, platform)
    try:
        return queue.enqueue_call(
            SYNC_JOB,
            args=(shop, platform),
            job_id=job_id,
            unique=True,
            retry=SYNC_RETRY,
            timeout=SYNC_TIMEOUT_S,
            description=f"{platform} sync of {shop}",
        )
    except DuplicateJobError:
        try:
            return Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
        except NoSuchJobError:
            raise DuplicateJobError(f"job {job_id} vanished while enqueueing") from None


def run_shop_sync(
    settings: Settings,
    shop: str,
    platform: str,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Backfill (or resume it), else sync incrementally, every resource of `platform`.

    The webhooks are reconciled first (Shopify: re-subscribed, WooCommerce: re-created or
    re-activated), since both platforms drop them after failed deliveries. A
    401/403 marks the connection broken and is reported, not raised: retrying cannot help.
    """
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        result: dict[str, Any] = {"shop": shop, "platform": platform}
        connection = get_connection(db, platform)
        if connection is not None and connection.status == "uninstalled":
            # The merchant removed the app: no token, nothing to sync, nothing to mark.
            return {**result, "status": "uninstalled", "error": connection.status_reason}
        prepare = SYNC_PLATFORMS.get(platform)
        if prepare is None:
            raise UnknownPlatformResource(
                f"platform must be one of {sorted(SYNC_PLATFORMS)}, got {platform!r}"
            )
        try:
            prepared = prepare(settings, db, shop, session=session, sleep=sleep)
        except PlatformAuthError as exc:
            if connection is not None:
                set_connection_status(db, platform, "broken", str(exc))
            return {**result, "status": "broken", "error": str(exc)}
        result.update(prepared.report)
        source, resources = prepared.source, prepared.resources
        report = sync_all(db, source, resources)
        report["rejected"] = len(source.rejected)
        report["first_rejections"] = source.rejected[:5]
        return {**result, **report}
    finally:
        db.close()
