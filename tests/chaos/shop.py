"""A real shop folder for a chaos run: a small catalog imported with `shoprec import`."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

from tests.chaos.processes import SHOPREC

PRODUCTS = [str(1000 + n) for n in range(1, 21)]


def import_catalog(shop: str, env: dict[str, str], workdir: Path) -> list[str]:
    """Write a 20-product CSV and import it through the CLI; return the product ids."""
    catalog = workdir / f"{shop}-products.csv"
    with catalog.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["product_id", "title", "price", "category"])
        for n, product_id in enumerate(PRODUCTS):
            writer.writerow([product_id, f"Chaos product {n}", f"{10 + n}.00", f"cat-{n % 4}"])
    command = [*SHOPREC, "--shop", shop, "import", "products", str(catalog)]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    return list(PRODUCTS)
