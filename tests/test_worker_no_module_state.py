"""No module of worker/ keeps mutable state at module level.

A worker process runs many jobs (and a SimpleWorker runs them in one process): a dict or
list bound at import time and filled by jobs would carry one job's or one shop's state into
the next. Lookup tables are allowed when they cannot be changed: MappingProxyType, tuple,
frozenset.
"""

from __future__ import annotations

import ast
from pathlib import Path

WORKER = Path(__file__).resolve().parents[1] / "worker"
MUTABLE_DISPLAYS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "deque", "Counter"}


def mutable_bindings(source: str) -> list[tuple[int, str]]:
    """(line, name) of module-level names bound to a mutable container."""
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        call = isinstance(value, ast.Call) and getattr(value.func, "id", None) in MUTABLE_CALLS
        if isinstance(value, MUTABLE_DISPLAYS) or call:
            for target in targets:
                if isinstance(target, ast.Name) and target.id != "__all__":
                    found.append((node.lineno, target.id))
    return found


def test_no_worker_module_binds_a_mutable_container() -> None:
    offenders = [
        f"worker/{path.name}:{line} {name}"
        for path in sorted(WORKER.glob("*.py"))
        for line, name in mutable_bindings(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_check_sees_a_cache_bound_at_import() -> None:
    source = "_CLIENTS: dict[str, object] = {}\nTABLE = MappingProxyType({'a': 1})\nX = dict()\n"
    assert mutable_bindings(source) == [(1, "_CLIENTS"), (3, "X")]
