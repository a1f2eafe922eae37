"""The storefront inside a running experiment: holdout gets nothing, variants their profile.

Each test works on its own copy of the trained demo shop (the trained_settings fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlite_utils
from flask.testing import FlaskClient
from storefront_client import SHOP, ask, ids

from config import Settings
from plugin import create_app
from plugin.admin.experiment_assignment import DEFAULT_SNAPSHOTS
from storage.experiments import (
    HOLDOUT,
    Experiment,
    assign_variant,
    create_experiment,
    start_experiment,
    stop_experiment,
)

CONTENT_ONLY = {"weights": {"product": {"content": 1.0}}}
WIDGET = "/api/v1/widgets/product"


@pytest.fixture
def experiment(db: sqlite_utils.Database) -> Experiment:
    experiment_id = create_experiment(
        db,
        "content only vs the shop's blend",
        "product",
        [
            {"name": "control", "weight": 1},
            {"name": "content", "weight": 1, "profile": CONTENT_ONLY},
        ],
        holdout_share=0.3,
    )
    return start_experiment(db, experiment_id)


@pytest.fixture
def client(settings: Settings, experiment: Experiment) -> FlaskClient:
    return create_app(settings, {"TESTING": True}).test_client()


def visitor_in(experiment: Experiment, variant: str) -> str:
    return next(
        v for v in (f"vis-{i}" for i in range(1000)) if assign_variant(experiment, v) == variant
    )


def widget(client: FlaskClient, **params: Any) -> str:
    response = client.get(WIDGET, query_string={"shop": SHOP, **params})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_holdout_visitor_gets_no_items(
    client: FlaskClient, experiment: Experiment, anchor: str
) -> None:
    visitor = visitor_in(experiment, HOLDOUT)
    body = ask(client, product_id=anchor, visitor_id=visitor).get_json()
    assert body["items"] == []
    assert body["experiment"] == {"id": experiment.experiment_id, "variant": HOLDOUT}
    assert len(body["request_id"]) == 32 and body["slot"] == "frequently_bought_together"
    html = widget(client, product_id=anchor, visitor_id=visitor)
    assert "shoprec-card" not in html and "no recommendations" in html


def test_variant_is_served_with_its_profile_and_named_in_links(
    client: FlaskClient, experiment: Experiment, anchor: str
) -> None:
    treated = visitor_in(experiment, "content")
    body = ask(client, product_id=anchor, visitor_id=treated, limit=4).get_json()
    assert body["experiment"] == {"id": experiment.experiment_id, "variant": "content"}
    assert body["items"] and {i["strategy"] for i in body["items"]} <= {"content"}
    control = ask(client, product_id=anchor, visitor_id=visitor_in(experiment, "control"))
    assert control.get_json()["experiment"]["variant"] == "control"
    html = widget(client, product_id=anchor, visitor_id=treated, limit=4)
    tag = f"{experiment.experiment_id}:content"
    assert f'data-shoprec-experiment="{tag}"' in html
    assert html.count(f"shoprec_exp={experiment.experiment_id}%3Acontent") == 4


def test_no_visitor_means_no_experiment(client: FlaskClient, anchor: str) -> None:
    body = ask(client, product_id=anchor, session_id="s-only").get_json()
    assert "experiment" not in body and body["items"]
    assert "data-shoprec-experiment" not in widget(client, product_id=anchor)


def test_stopped_experiment_is_left_at_once(
    client: FlaskClient, experiment: Experiment, anchor: str, db: sqlite_utils.Database
) -> None:
    visitor = visitor_in(experiment, HOLDOUT)
    assert ids(ask(client, product_id=anchor, visitor_id=visitor)) == []
    stop_experiment(db, experiment.experiment_id)
    # What the admin does after stopping (other workers see it within the snapshot's TTL);
    # the storefront's memoised assignment goes with the write to the store.
    DEFAULT_SNAPSHOTS.clear()
    body = ask(client, product_id=anchor, visitor_id=visitor).get_json()
    assert "experiment" not in body and body["items"]


def test_an_automatic_split_moves_new_visitors_and_keeps_returning_ones(
    client: FlaskClient, db: sqlite_utils.Database, experiment: Experiment, anchor: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from storage.experiment_allocation import record_allocation
    from storage.experiments import bucket_of, get_experiment

    stop_experiment(db, experiment.experiment_id)
    auto_id = create_experiment(
        db,
        "4 or 8, automatic",
        "product",
        [{"name": "four", "profile": {"limit": 4}}, {"name": "eight", "profile": {"limit": 8}}],
        holdout_share=0.1,
        allocation="automatic",
    )
    start_experiment(db, auto_id)
    db.execute(
        "UPDATE experiments SET started_at = '2024-01-01T00:00:00' WHERE experiment_id = ?",
        (auto_id,),
    )
    db.conn.commit()
    # Points in [0.2, 0.55) were "four" under the weights and are "eight" after the move.
    old, new = [
        v for v in (f"auto-{i}" for i in range(2000)) if 0.2 <= bucket_of(auto_id, v) < 0.55
    ][:2]
    beacon = {"shop": SHOP, "type": "impression", "product_id": anchor, "context": "product",
              "visitor_id": old, "ts": "2024-01-02T10:00:00"}  # fmt: skip
    assert client.post("/api/v1/events", json=beacon).status_code == 202
    record_allocation(
        db,
        get_experiment(db, auto_id),
        {HOLDOUT: 0.1, "four": 0.1, "eight": 0.8},
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    DEFAULT_SNAPSHOTS.clear()
    kept = ask(client, product_id=anchor, visitor_id=old).get_json()
    moved = ask(client, product_id=anchor, visitor_id=new).get_json()
    assert kept["experiment"] == {"id": auto_id, "variant": "four"}
    assert moved["experiment"] == {"id": auto_id, "variant": "eight"}
    assert len(kept["items"]) <= 4 < len(moved["items"])
