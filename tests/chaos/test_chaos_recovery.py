"""Nothing is lost or doubled when the worker, gunicorn and Redis die mid-burst, and no
email block is sent twice or never when the worker dies mid-push (figures: conftest.py;
`pytest -m chaos -s` or `python bench/chaos.py` prints them)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.chaos, pytest.mark.redis, pytest.mark.slow]


def test_the_chaos_happened_and_every_delivery_was_acknowledged(chaos_run) -> None:
    hooks, pushes = chaos_run.webhooks, chaos_run.pushes
    assert hooks.error == "" and pushes.error == ""
    assert hooks.chaos[:6] == [
        "worker SIGKILL after batch 1",
        "redis restarted empty (worker down, batch 2 queued)",
        "worker restarted",
        "redis restarted empty under the running worker",
        "gunicorn SIGKILL mid-batch",
        "gunicorn restarted",
    ]
    assert hooks.failed_posts > 0 and hooks.posts > hooks.sent  # the outage was felt, resent
    assert hooks.unacknowledged == 0
    assert pushes.chaos[:4] == [
        "worker SIGKILL while a block was throttled",
        "worker restarted",
        "worker SIGKILL while a block was accepted, answer held",
        "worker restarted",
    ]


def test_no_order_line_is_applied_twice(chaos_run) -> None:
    assert chaos_run.webhooks.duplicates == 0


def test_every_sent_order_is_stored_in_the_inbox(chaos_run) -> None:
    figures = chaos_run.webhooks
    assert figures.stored == figures.sent, figures.summary()


def test_every_sent_order_is_applied_and_nothing_is_left_pending(chaos_run) -> None:
    figures = chaos_run.webhooks
    assert (figures.applied, figures.pending) == (figures.sent, 0), figures.missing


def test_the_worker_outlives_a_redis_restart(chaos_run) -> None:
    assert chaos_run.webhooks.worker_exits == 0, chaos_run.webhooks.timeline


def test_no_block_is_recorded_twice_for_one_shopper(chaos_run) -> None:
    assert chaos_run.pushes.duplicates == 0


def test_every_due_block_is_accepted_once_and_recorded_sent(chaos_run) -> None:
    figures = chaos_run.pushes
    assert figures.due == 6
    assert (figures.accepted, figures.missing) == (figures.due, 0), figures.summary()
    assert figures.deliveries == {"sent": figures.due}, figures.summary()
