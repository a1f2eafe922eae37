"""Applying many stored receipts of one shop on one connection: the drain, the sweep's inline
path and `shoprec worker reprocess --pending`.

Why a drain: through RQ one receipt per job ran at ~4/s (a forked work-horse per job that
imports the apply path again, opens the store and sets up RQ's bookkeeping) while applying
one takes a few ms in-process. So a receipt's job (worker.jobs.process_receipt_job) drains
every due pending receipt of its shop, in claimed batches, on one connection; the intake
enqueues a new job only when the shop has none waiting (worker.receipt_dispatch).

Each receipt is re-read before it is applied and skipped unless still 'pending', so a receipt
applied meanwhile (by its own job, or another drain) is never applied twice; each gets its own
outcome (processed, rejected with the reason, or pending with a next try) exactly as when it
is applied alone. A receipt whose processing raises is counted as failed, keeps 'pending'
with a backed-off next try, and the batch goes on: a crash of the whole process leaves every
receipt not yet reached 'pending' for the sweep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from config import Settings
from serving.generations import bumps_deferred
from storage.db import open_shop_db, shop_exists
from storage.receipts import (
    claim_due_receipts,
    get_receipt,
    receipt_claim_holders,
    receipt_status,
)
from worker.process_claims import claim_holder_gone, new_claim_token
from worker.receipts import finish_receipt, process_stored_receipt, record_failed_try

logger = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    """What a batch did: counts by outcome, and the shop/redact summary to finish, if any."""

    counts: dict[str, int] = field(default_factory=dict)
    finish: dict[str, Any] | None = None  # a summary with delete_shop: run finish_receipt

    def add(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + n

    def merge(self, other: BatchOutcome) -> None:
        for outcome, n in other.counts.items():
            self.add(outcome, n)
        self.finish = self.finish or other.finish

    def as_dict(self) -> dict[str, Any]:
        return {**self.counts, "delete_shop": bool(self.finish)}


def apply_receipts(
    db: sqlite_utils.Database, shop: str, receipt_ids: Iterable[int]
) -> BatchOutcome:
    """Apply each listed receipt that is still pending, in the order given (oldest first keeps
    a resource's updates in arrival order; stale ones are skipped by worker.platform_apply)."""
    outcome = BatchOutcome()
    with bumps_deferred():  # served answers move on once per batch, not per receipt
        for receipt_id in receipt_ids:
            receipt = get_receipt(db, int(receipt_id))
            if receipt is None or receipt["status"] != "pending":
                outcome.add("skipped")
                continue
            try:
                summary = process_stored_receipt(db, shop, receipt)
            except Exception as exc:
                extra = {"shop": shop, "receipt_id": receipt_id}
                logger.exception("receipt %s failed; left pending", receipt_id, extra=extra)
                record_failed_try(db, receipt, exc)
                outcome.add("failed")
                continue
            outcome.add(str(summary["status"]))
            if summary.get("delete_shop"):
                # shop/redact: the store is about to be deleted; nothing after it matters.
                outcome.finish = summary
                break
    return outcome


BATCH_SIZE = 500
# Longer than a batch of BATCH_SIZE takes (about a second; a minute would be 8 receipts/s): a
# claimed receipt is skipped by others until then, and falls due for the sweep if the batch
# died. Kept short so a SIGKILLed worker's batch is applied again within a minute or two; a
# batch that did overrun it could meet another drain, whose keyed upserts store nothing twice.
LEASE_S = 60
# A drain hands over after this long so one busy shop cannot hold a worker for ever; what is
# left is dispatched again (the caller enqueues a follow-up job).
DRAIN_BUDGET_S = 60.0


def released_claims(db: sqlite_utils.Database, now: datetime) -> list[str]:
    """Claim tokens on pending receipts whose process is gone (a worker killed mid-batch):
    their receipts are due at once, not when the lease runs out."""
    return [token for token in receipt_claim_holders(db, now) if claim_holder_gone(token)]


def drain_receipts(
    db: sqlite_utils.Database,
    shop: str,
    *,
    received_before: datetime | None = None,
    now: datetime | None = None,
    budget_s: float = DRAIN_BUDGET_S,
    batch_size: int = BATCH_SIZE,
) -> tuple[BatchOutcome, bool]:
    """Claim and apply due pending receipts of `shop` batch by batch until none is left, the
    budget is spent or a shop/redact ends the store; return (outcome, more_left). `now`
    fixes the clock that decides what is due (tests); by default it is read per batch."""
    outcome = BatchOutcome()
    started = time.monotonic()
    token = new_claim_token()
    released = released_claims(db, now or datetime.now(UTC))
    while True:
        moment = now or datetime.now(UTC)
        claimed = claim_due_receipts(
            db,
            now=moment,
            lease_until=moment + timedelta(seconds=LEASE_S),
            limit=batch_size,
            received_before=received_before,
            claimed_by=token,
            released=released,
        )
        if not claimed:
            return outcome, False
        outcome.merge(apply_receipts(db, shop, claimed))
        if outcome.finish is not None:
            return outcome, False
        if time.monotonic() - started >= budget_s:
            return outcome, True


def drain_shop_receipts(settings: Settings, shop: str, receipt_id: int) -> dict[str, Any]:
    """The job of receipt `receipt_id`: drain the shop's due receipts (its own among them);
    return the receipt's status and the batch's counts (JSON-able, for RQ)."""
    summary: dict[str, Any] = {"shop": shop, "receipt_id": int(receipt_id)}
    if not shop_exists(settings.data_dir, shop):
        logger.warning("receipt %s: no shop %s", receipt_id, shop, extra={"shop": shop})
        return {**summary, "status": "missing", "error": f"no shop named {shop!r}"}
    db = open_shop_db(settings.data_dir, shop, create=False)
    try:
        outcome, more = drain_receipts(db, shop)
        status = receipt_status(db, int(receipt_id)) if outcome.finish is None else "processed"
    finally:
        db.close()
    if outcome.finish is not None:
        finish_receipt(settings, shop, outcome.finish)
    summary.update(status=status or "missing", batch=outcome.counts, more_left=more)
    if status is None:
        summary["error"] = f"no receipt {receipt_id}"
    return summary
