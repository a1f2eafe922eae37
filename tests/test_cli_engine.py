"""`shoprec train` and `shoprec evaluate` through click's runner on a real store."""

from __future__ import annotations

import json

from click.testing import CliRunner
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
    payload = json.loads(result.output)
    assert set(payload["tasks"]["next_purchase"]) == {
        "popularity",
        "confidence",
        "rules",
        "item-item",
        "content",
        "taste",
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
