"""Every package raises its own named errors, never a bare ValueError or RuntimeError.

A caller can then catch what it means (a storage refusal, a connector without its key, an
unknown platform resource) without swallowing an unrelated bug's ValueError. The named
classes subclass ValueError where callers caught ValueError before, so behaviour is kept.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "config", "storage", "engine", "serving", "connectors", "email_blocks", "worker", "plugin",
    "demo", "spark_engine",
)  # fmt: skip
BARE = {"ValueError", "RuntimeError", "Exception"}


def bare_raises(source: str) -> list[int]:
    """Lines that raise ValueError, RuntimeError or Exception themselves."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id in BARE:
                lines.append(node.lineno)
    return lines


def test_no_package_raises_a_bare_builtin_error() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for line in bare_raises(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_scan_sees_a_bare_raise() -> None:
    source = "def f(x):\n    if x:\n        raise ValueError('no')\n    raise KeyError(x)\n"
    assert bare_raises(source) == [3]
