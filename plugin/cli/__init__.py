"""The `shoprec` command line: one module per command group, `main` in plugin.cli.main."""

from plugin.cli.main import main

__all__ = ["main"]
