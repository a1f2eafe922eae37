"""SQL lives in storage/: no other package writes a statement or executes one.

A statement outside storage/ is a second owner of a table's shape. The packages below are
scanned (AST: string constants that start with an SQL keyword, and calls of .execute,
.executemany, .executescript or .query); any statement found outside storage/ fails.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "config", "engine", "serving", "connectors", "email_blocks", "worker", "plugin", "demo",
    "spark_engine",
)  # fmt: skip
STATEMENT = re.compile(
    r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|PRAGMA|REPLACE)\s+\S"
)
EXECUTE = {"execute", "executemany", "executescript", "query"}


def sql_sites(source: str) -> int:
    """How many SQL statements and executions a module holds."""
    count = 0
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            count += bool(STATEMENT.match(node.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            redis_pipeline = isinstance(receiver, ast.Name) and receiver.id in ("pipe", "pipeline")
            count += node.func.attr in EXECUTE and not redis_pipeline
    return count


def sql_outside_storage(root: Path) -> dict[str, int]:
    """Module path -> SQL sites, for every scanned package's module that holds any."""
    found: Counter[str] = Counter()
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            n = sql_sites(path.read_text(encoding="utf-8"))
            if n:
                found[str(path.relative_to(root))] = n
    return dict(found)


def test_no_sql_outside_storage() -> None:
    found = sql_outside_storage(ROOT)
    assert found == {}, "SQL belongs in storage/: add a function there and call it"


def test_a_deliberate_violation_fails(tmp_path: Path) -> None:
    (tmp_path / "worker").mkdir()
    (tmp_path / "storage").mkdir()
    (tmp_path / "storage" / "orders.py").write_text('SQL = "SELECT 1 FROM orders"\n')
    (tmp_path / "worker" / "sneaky.py").write_text(
        'def count(db):\n    return db.execute("SELECT count(*) FROM orders").fetchone()\n'
    )
    assert sql_outside_storage(tmp_path) == {"worker/sneaky.py": 2}


def test_the_scan_sees_a_statement_and_an_execute_but_not_prose() -> None:
    source = 'def f(db):\n    """Delete a login."""\n    return db.execute("SELECT 1")\n'
    assert sql_sites(source) == 2
