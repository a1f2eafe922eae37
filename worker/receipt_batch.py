"""Applying many stored receipts of one shop on one connection: the drain, the sweep's inline
path and `shoprec worker reprocess --pending`.

Each receipt is re-read before it is applied and skipped unless still 'pending', so a receipt
applied meanwhile (by its own job, or another drain) is never applied twice; each gets its own
outcome (processed, rejected with the reason, or pending with a next try) exactly as when it
is applied alone. A receipt whose processing raises is counted as failed, keeps 'pending'
with a backed-off next try, and the batch goes on: a crash of the whole process leaves every
receipt not yet reached 'pending' for the sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from storage.receipts import get_receipt
from worker.receipts import process_stored_receipt, record_failed_try

logger = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    """What a batch did: counts by outcome, and the shop/redact summary to finish, if any."""

    counts: dict[str, int] = field(default_factory=dict)
    finish: dict[str, Any] | None = None  # a summary with delete_shop: run finish_receipt

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {**self.counts, "delete_shop": bool(self.finish)}


def apply_receipts(
    db: sqlite_utils.Database, shop: str, receipt_ids: Iterable[int]
) -> BatchOutcome:
    """Apply each listed receipt that is still pending, in the order given (oldest first keeps
    a resource's updates in arrival order; stale ones are skipped by worker.platform_apply)."""
    outcome = BatchOutcome()
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
