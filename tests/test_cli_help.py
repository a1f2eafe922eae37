"""`shoprec --help` answers without importing the heavy stack, and lists what the commands say."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli.main import COMMAND_MODULES, cli

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "sklearn", "flask", "numpy", "scipy", "mlxtend", "rq", "sqlite_utils")


def test_help_imports_none_of_the_heavy_packages() -> None:
    probe = (
        "import json, sys\n"
        "from plugin.cli.main import main\n"
        "sys.argv = ['shoprec', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    help_text, loaded = out.stdout.rsplit("\n", 2)[0], json.loads(out.stdout.rsplit("\n", 2)[1])
    assert loaded == []
    for name in COMMAND_MODULES:
        assert f"  {name} " in help_text


@pytest.mark.parametrize("name", sorted(COMMAND_MODULES))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    module_name, listed = COMMAND_MODULES[name]
    module = importlib.import_module(module_name)
    command = next(c for c in module.COMMANDS if c.name == name)
    assert listed == command.get_short_help_str(limit=90)


def test_every_command_module_is_listed() -> None:
    listed = {(module, name) for name, (module, _) in COMMAND_MODULES.items()}
    for module_name in {module for module, _ in COMMAND_MODULES.values()}:
        for command in importlib.import_module(module_name).COMMANDS:
            assert (module_name, command.name) in listed


def test_a_command_still_shows_its_own_help() -> None:
    result = CliRunner().invoke(cli, ["train", "--help"])
    assert result.exit_code == 0 and "Fit every model for the shop" in result.output
