"""`shoprec train` and `shoprec evaluate` through click's runner on a real store."""

from __future__ import annotations

import json

from click.testing import CliRunner
from engine_fixtures import catalog
from test_worker_training import seed_store

from plugin.cli.main import cli


def test_train_prints_every_model(settings):
    seed_store(settings)
    result = CliRunner().invoke(
        cli, ["--data-dir", str(settings.data_dir), "--shop", "demo", "train"]
    )
    assert result.exit_code == 0, result.output
    for name in ("popularity", "collaborative", "rules", "content", "taste"):
        assert name in result.output
    assert "trained in" in result.output
    assert (settings.shop_dir("demo") / "models" / "manifest.json").is_file()
    stages = [line.split("] ", 1)[1] for line in result.stderr.splitlines()]
    assert stages[0] == "reading the shop's orders, products and events..."
    assert stages[1].startswith("validating and fitting the models on ")
    assert stages[2] == "saving the models and switching serving to them..."


def test_train_unknown_shop_is_one_line_error(settings):
    result = CliRunner().invoke(
        cli, ["--data-dir", str(settings.data_dir), "--shop", "ghost", "train"]
    )
    assert result.exit_code == 1
    assert "no shop named 'ghost'" in result.output


def test_evaluate_json_and_table(settings):
    seed_store(settings)
    base = ["--data-dir", str(settings.data_dir), "evaluate", "--split-date", "2025-04-01"]
    result = CliRunner().invoke(cli, [*base, "--k", "5", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)  # stage lines go to stderr: stdout stays pure JSON
    assert "fitting every model on the orders before 2025-04-01" in result.stderr
    assert set(payload["tasks"]["next_purchase"]) == {
        "popularity",
        "confidence",
        "rules",
        "item-item",
        "content",
        "taste",
        "sequence",
        "hybrid",
        "hybrid+rules",
        "served",
    }
    # The cost of the business rules: the hybrid's headline metric after rules over before.
    assert set(payload["rules_kept"]) <= {"next_purchase", "fbt"}
    for kept in payload["rules_kept"].values():
        assert 0.0 <= kept <= 1.5
    table = CliRunner().invoke(cli, base)
    assert table.exit_code == 0 and "NDCG@10" in table.output and "hybrid+rules" in table.output


def test_evaluate_rejects_bad_date(settings):
    result = CliRunner().invoke(
        cli, ["--data-dir", str(settings.data_dir), "evaluate", "--split-date", "01/09/2011"]
    )
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_evaluate_after_the_last_order_names_the_range_and_a_date_that_works(settings):
    seed_store(settings)
    base = ["--data-dir", str(settings.data_dir), "evaluate", "--split-date"]
    late = CliRunner().invoke(cli, [*base, "2031-01-01"])
    assert late.exit_code == 1
    assert "--split-date 2031-01-01 is after the last order" in late.output
    suggested = late.output.split("e.g. --split-date ", 1)[1].split(" ", 1)[0]
    early = CliRunner().invoke(cli, [*base, "1999-01-01"])
    assert early.exit_code == 1 and "on or before the first order" in early.output
    works = CliRunner().invoke(cli, [*base, suggested, "--json"])
    assert works.exit_code == 0, works.output


def test_train_if_due_trains_only_when_the_schedule_says_so(settings, tmp_path):
    seed_store(settings)
    base = ["--data-dir", str(settings.data_dir), "--shop", "demo", "train", "--if-due"]
    models = settings.shop_dir("demo") / "models"
    first = CliRunner().invoke(cli, base)
    assert first.exit_code == 0, first.output
    assert first.output.startswith("retrain due: never trained")
    assert "trained in" in first.output
    trained = models.stat().st_ino  # each training swaps a new folder in
    manifest = json.loads((models / "manifest.json").read_text())

    current = CliRunner().invoke(cli, base)
    assert current.exit_code == 0, current.output
    assert current.output.strip() == "retrain not due: models are current"
    assert models.stat().st_ino == trained

    # Enough new orders (the growth the schedule retrains at), delivered as a shop would.
    seen = manifest["orders_at_training"]
    new = int(seen * settings.retrain_growth_percent / 100) + 1
    ids = list(catalog()["product_id"])[:2]
    csv_path = tmp_path / "new-orders.csv"
    rows = ["order_id,customer_id,created_at,product_id,quantity,unit_price"]
    for n in range(new):
        for pid in ids:
            rows.append(f"late-{n},,2025-12-01T10:00:00Z,{pid},1,9.50")
    csv_path.write_text("\n".join(rows) + "\n")
    shop = ["--data-dir", str(settings.data_dir), "--shop", "demo"]
    imported = CliRunner().invoke(cli, [*shop, "import", "orders", str(csv_path)])
    assert imported.exit_code == 0, imported.output

    due = CliRunner().invoke(cli, base)
    assert due.exit_code == 0, due.output
    assert due.output.startswith(f"retrain due: {new} orders since training")
    assert models.stat().st_ino != trained
    retrained = json.loads((models / "manifest.json").read_text())
    assert retrained["orders_at_training"] == seen + new
