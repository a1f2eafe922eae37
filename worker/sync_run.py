"""Running a shop's sync as one unit: open its store, build the platform's source, sync.

Also what enqueues it: one sync job per shop and platform at a time (a fixed job id), so
the install flow, `shoprec sync` and a periodic trigger never run two passes over the same
cursors at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job

from config import Settings
from connectors.errors import PlatformAuthError
from storage.connections import get_connection, set_connection_status
from storage.db import open_shop_db, validate_shop_name
from worker.errors import UnknownPlatformResource
from worker.shopify_sync import RESOURCES as SHOPIFY_RESOURCES
from worker.shopify_sync import (
    ShopifySource,
    ensure_web_pixel,
    ensure_webhooks,
    shopify_client_for,
)
from worker.sync import sync_all
from worker.woocommerce_sync import RESOURCES as WOO_RESOURCES
from worker.woocommerce_sync import (
    WooCommerceSource,
    reconcile_shop_webhooks,
    woocommerce_source_for,
)

SYNC_JOB = "worker.jobs.sync_shop_job"
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
        source: ShopifySource | WooCommerceSource
        try:
            if platform == "shopify":
                client = shopify_client_for(settings, db, session=session, sleep=sleep)
                source = ShopifySource(client)
                resources = SHOPIFY_RESOURCES
                result["webhooks"] = ensure_webhooks(client, settings)
                result["web_pixel"] = ensure_web_pixel(client, settings, shop)
            elif platform == "woocommerce":
                source = woocommerce_source_for(settings, db, session=session, sleep=sleep)
                resources = WOO_RESOURCES
                result["webhooks"] = reconcile_shop_webhooks(settings, db, shop, source.client)
            else:
                raise UnknownPlatformResource(
                    f"platform must be 'shopify' or 'woocommerce', got {platform!r}"
                )
        except PlatformAuthError as exc:
            if connection is not None:
                set_connection_status(db, platform, "broken", str(exc))
            return {**result, "status": "broken", "error": str(exc)}
        report = sync_all(db, source, resources)
        report["rejected"] = len(source.rejected)
        report["first_rejections"] = source.rejected[:5]
        return {**result, **report}
    finally:
        db.close()
