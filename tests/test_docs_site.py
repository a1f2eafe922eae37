"""The documentation site builds in MkDocs' strict mode (a broken link or missing page fails
it), with the pages generated from the code filled in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine.slot_specs import SLOTS
from plugin.admin.settings_forms import SHOP_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = Path(sys.executable).with_name("mkdocs")


def test_the_docs_site_builds_strictly_with_its_generated_pages(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for page in ("getting-started", "configuration", "api-reference", "performance", "email"):
        assert (site / page / "index.html").is_file(), page
    configuration = (site / "configuration" / "index.html").read_text(encoding="utf-8")
    assert "SHOPREC_SECURE_COOKIES" in configuration and "settings-table" not in configuration
    reference = (site / "api-reference" / "index.html").read_text(encoding="utf-8")
    assert "/api/v1/recommendations" in reference and "/api/v1/events" in reference
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "slots-table" not in api
    for spec in SLOTS:  # every slot of the slot table, with its title
        assert f"<code>{spec.slot}</code>" in api and spec.title in api
    admin = (site / "admin" / "index.html").read_text(encoding="utf-8")
    assert "shop-settings" not in admin
    for setting in SHOP_SETTINGS:  # every setting the settings page writes
        assert f"<code>{setting.key}</code>" in admin
    for page in site.rglob("*.html"):
        assert "issue" not in page.read_text(encoding="utf-8").lower().replace("issuer", ""), page
