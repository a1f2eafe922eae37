"""The README starts with the two fresh-machine entry points and fits on a screen; the docs
document every command."""

from __future__ import annotations

from pathlib import Path

import click

from plugin.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = "\n".join(page.read_text(encoding="utf-8") for page in (ROOT / "docs").glob("*.md"))


def test_readme_starts_with_demo_and_test_commands() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "make demo" in first_block and "make test" in first_block
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\ndemo:" in makefile and "\ntest:" in makefile


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_command_is_documented_and_has_help() -> None:
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None and command.help, f"shoprec {name} has no help text"
        assert f"`shoprec {name}" in DOCS, f"docs/ does not document `shoprec {name}`"


def test_the_readme_fits_on_a_screen_and_names_no_issue() -> None:
    assert len(README.splitlines()) <= 40
    assert "issue" not in README.lower()
