"""Benchmark `shoprec import orders` on the UCI Online Retail file: lines/s and peak RSS.

Each import runs as its own `shoprec` process (exactly what a user runs), timed by wall
clock, with its peak resident memory taken from os.wait4's rusage. Two runs: into an empty
store, then the same file again (which must store nothing).
Target: the whole file in under 15 s wall and 1 GB peak RSS on 2 cores.

Reproduce:  .venv/bin/python bench/import.py  [--file PATH] [--keep DIR] [--command CMD]
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"
TARGET_WALL_S = 15.0
TARGET_RSS_MB = 1024.0


def _shoprec_command() -> list[str]:
    script = Path(sys.executable).with_name("shoprec")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from plugin.cli.main import main; main()"]


def _run_import(shoprec: list[str], data_dir: Path, path: Path) -> tuple[float, float, str]:
    """One import in a child process: (wall seconds, peak RSS in MiB, its output)."""
    command = [*shoprec, "--data-dir", str(data_dir), "import", "orders", str(path)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert child.stdout is not None
    output = child.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise click.ClickException(f"import failed ({child.returncode}):\n{output}")
    return wall, usage.ru_maxrss / 1024.0, output


def _rows_read(output: str) -> int:
    found = re.search(r"rows read: ([\d,]+)", output)
    return int(found.group(1).replace(",", "")) if found else 0


@click.command()
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_FILE,
    show_default=True,
    help="Online Retail CSV (plain or .gz).",
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data dir to import into and keep (default: a temporary one).",
)
@click.option(
    "--command",
    "command",
    default=None,
    help="The shoprec command to time (default: the venv's shoprec script).",
)
@click.option(
    "--repeat",
    type=click.IntRange(1, 20),
    default=1,
    show_default=True,
    help="Runs of each measurement (each first import into a fresh store); best and all shown.",
)
def main(path: Path, keep: Path | None, command: str | None, repeat: int) -> None:
    """Time a first import and a re-import of the Online Retail file."""
    if keep is not None and repeat > 1:
        raise click.UsageError("--keep needs --repeat 1: later first imports would be re-imports")
    shoprec = shlex.split(command) if command else _shoprec_command()
    click.echo(f"reproduce: {sys.executable} bench/import.py --file {path} --repeat {repeat}")
    click.echo(f"command: {' '.join(shoprec)} --data-dir DIR import orders FILE")
    click.echo(f"file: {path} ({path.stat().st_size:,} bytes on disk), cpus: {os.cpu_count()}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    click.echo(f"load average before: {load:.2f} (other processes slow every figure)")
    with tempfile.TemporaryDirectory() as tmp:
        for label in ("first import", "re-import"):
            runs = []
            for run in range(repeat):
                data_dir = keep or Path(tmp) / f"data{run}"
                runs.append(_run_import(shoprec, data_dir, path))
            _report(label, runs)


def _report(label: str, runs: list[tuple[float, float, str]]) -> None:
    wall, rss, output = min(runs)
    rows = _rows_read(output)
    verdict = "OK" if wall < TARGET_WALL_S and rss < TARGET_RSS_MB else "OVER TARGET"
    click.echo(
        f"\n== {label}: {rows:,} lines in {wall:.2f} s wall = {rows / wall:,.0f} lines/s, "
        f"peak RSS {rss:,.0f} MiB  [{verdict}: target < {TARGET_WALL_S:.0f} s, "
        f"< {TARGET_RSS_MB:,.0f} MiB]"
    )
    if len(runs) > 1:
        click.echo("   all runs: " + ", ".join(f"{w:.2f} s / {r:,.0f} MiB" for w, r, _ in runs))
    for line in output.strip().splitlines():
        click.echo(f"   {line}")


if __name__ == "__main__":
    main()
