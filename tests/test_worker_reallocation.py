"""Automatic allocation rounds on a running experiment whose better variant is known."""

from __future__ import annotations

from datetime import UTC, datetime

from experiment_traffic import simulate_running_automatic

from storage.experiments import HOLDOUT, create_experiment, get_experiment, start_experiment
from worker.reallocation import evidence, reallocate
from worker.schedules import periodic_job


def test_a_round_moves_traffic_to_the_variant_earning_more_and_keeps_the_holdout(shop_db):
    experiment_id = simulate_running_automatic(shop_db)
    fixed_id = create_experiment(shop_db, "fixed", "cart", [{"name": "x"}, {"name": "y"}])
    start_experiment(shop_db, fixed_id)
    arms = evidence(shop_db, get_experiment(shop_db, experiment_id), 24, "2024-03-04T00:00:00")
    assert [(a.name, a.sessions, a.conversions) for a in arms] == [("a", 300, 15), ("b", 300, 45)]
    assert arms[1].revenue == 45 * 40.0

    done = reallocate(shop_db, 24, now=datetime(2024, 3, 3, tzinfo=UTC))
    assert [d["experiment_id"] for d in done] == [experiment_id]  # the fixed one is left alone
    shares = done[0]["shares"]
    assert shares[HOLDOUT] == 0.1
    assert shares["b"] > 0.75 and shares["a"] >= 0.09 - 1e-12
    assert abs(sum(shares.values()) - 1.0) < 1e-12

    reallocate(shop_db, 24, now=datetime(2024, 3, 3, 1, tzinfo=UTC))
    history = get_experiment(shop_db, experiment_id).allocations
    assert [a.effective_from for a in history] == ["2024-03-03T00:01:00", "2024-03-03T01:01:00"]
    assert get_experiment(shop_db, fixed_id).allocations == ()


def test_the_round_is_on_the_workers_schedule():
    job = periodic_job("worker.jobs.reallocate_experiments_job")
    assert job is not None and job.every.total_seconds() == 3600
