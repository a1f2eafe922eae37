"""`python -m plugin.cli`: the `shoprec` command without the console script."""

from plugin.cli.main import main

main()
