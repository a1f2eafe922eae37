"""`shoprec import`: the printed counts, exit codes and one-line errors."""

from __future__ import annotations

import gzip
from pathlib import Path

from click.testing import CliRunner

from plugin.cli.main import cli
from storage.db import open_shop_db

FIXTURES = Path(__file__).parent / "fixtures" / "csv"


def _invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), *args])
    return result.exit_code, result.output


def test_import_prints_counts_and_first_rejections(tmp_path: Path) -> None:
    code, out = _invoke(tmp_path, "import", "orders", str(FIXTURES / "orders_bad_rows.csv"))
    assert code == 0, out
    assert "format: canonical (detected), encoding: utf-8" in out
    assert "rows read: 9  stored: 5  rejected: 4  skipped: 0" in out
    assert "  line 6: unit_price '-3.0' is negative" in out
    db = open_shop_db(tmp_path / "data", "demo")
    assert db.execute("SELECT count(*) FROM order_lines").fetchone()[0] == 5
    db.close()
    code, out = _invoke(tmp_path, "import", "orders", str(FIXTURES / "orders_bad_rows.csv"))
    assert code == 0 and "rows read: 9  stored: 0  rejected: 4" in out


def test_online_retail_counts_by_category_from_gzip(tmp_path: Path) -> None:
    path = tmp_path / "retail.csv.gz"
    path.write_bytes(gzip.compress((FIXTURES / "online_retail_2010.csv").read_bytes()))
    code, out = _invoke(tmp_path, "--shop", "gifts", "import", "orders", str(path))
    assert code == 0, out
    assert "shop: gifts" in out
    assert "purchases: 5  returns/cancellations: 1  non-product lines: 3  adjustments: 2" in out
    assert (tmp_path / "data" / "gifts" / "shop.db").is_file()


def test_format_option_overrides_detection(tmp_path: Path) -> None:
    code, out = _invoke(
        tmp_path,
        "import",
        "products",
        str(FIXTURES / "shopify_products.csv"),
        "--format",
        "shopify",
    )
    assert code == 0 and "format: shopify (given)" in out
    code, out = _invoke(
        tmp_path,
        "import",
        "products",
        str(FIXTURES / "shopify_products.csv"),
        "--format",
        "woocommerce",
    )
    assert code == 1
    assert out.startswith("Error: the header lacks the woocommerce products columns ['ID'")
    assert len(out.strip().splitlines()) == 1


def test_unknown_header_and_missing_file_are_one_line_errors(tmp_path: Path) -> None:
    code, out = _invoke(tmp_path, "import", "events", str(FIXTURES / "shopify_products.csv"))
    assert (
        code == 1 and "matches no events format: expected canonical (ts, type, product_id)" in out
    )
    assert len(out.strip().splitlines()) == 1
    code, out = _invoke(tmp_path, "import", "orders", str(tmp_path / "nope.csv"))
    assert code == 1 and out.strip() == f"Error: no such file: {tmp_path / 'nope.csv'}"


def test_help_lists_kinds_and_formats(tmp_path: Path) -> None:
    code, out = _invoke(tmp_path, "import", "--help")
    assert code == 0
    assert "{products|orders|events} FILE" in out
    assert "auto|canonical|shopify|woocommerce|online_retail" in out
