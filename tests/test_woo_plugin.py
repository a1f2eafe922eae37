"""The WordPress plugin's files: PHP syntax, the zip `make woo-plugin` builds, and the PHP
token and connect signature byte for byte against shoprec's own (php-cli; skips without it).

WordPress coding standards are checked when phpcs has the WordPress standard (Debian ships
phpcs, not WPCS: point SHOPREC_WPCS_PATH at a WordPress-Coding-Standards checkout).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from plugin.storefront.shopper_tokens import make_shopper_token, verify_shopper_token
from worker.woocommerce_key_exchange import connect_signature

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "integrations" / "woocommerce" / "shoprec-for-woocommerce"
PHP_FILES = sorted(PLUGIN.rglob("*.php"))

needs_php = pytest.mark.skipif(
    shutil.which("php") is None, reason="php-cli is absent (apt-get install php-cli)"
)


def php(code: str) -> str:
    """Run PHP code with the plugin's token class loaded; its output."""
    prelude = f"define('ABSPATH', '/'); require '{PLUGIN}/includes/class-shoprec-token.php';"
    done = subprocess.run(
        ["php", "-r", prelude + code], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout


def test_the_plugin_has_its_files() -> None:
    names = {p.relative_to(PLUGIN).as_posix() for p in PHP_FILES}
    assert {
        "shoprec-for-woocommerce.php",
        "uninstall.php",
        "blocks/recommendations/render.php",
    } <= names
    header = (PLUGIN / "shoprec-for-woocommerce.php").read_text()
    assert "License:           GPL-2.0-or-later" in header
    block = json.loads((PLUGIN / "blocks" / "recommendations" / "block.json").read_text())
    assert block["name"] == "shoprec/recommendations"
    assert (
        PLUGIN / "blocks" / "recommendations" / block["render"].removeprefix("file:./")
    ).exists()
    assert "delete_option( 'shoprec_settings' )" in (PLUGIN / "uninstall.php").read_text()


@needs_php
@pytest.mark.parametrize("path", PHP_FILES, ids=lambda p: p.relative_to(PLUGIN).as_posix())
def test_php_lint(path: Path) -> None:
    done = subprocess.run(["php", "-l", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


def test_make_woo_plugin_zips_every_file_under_the_plugin_folder(tmp_path: Path) -> None:
    subprocess.run(
        ["make", "-s", "woo-plugin", f"PYTHON={sys.executable}", f"DIST={tmp_path}"],
        cwd=REPO, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with zipfile.ZipFile(tmp_path / "shoprec-for-woocommerce.zip") as archive:
        names = {n for n in archive.namelist() if not n.endswith("/")}
    expected = {
        f"shoprec-for-woocommerce/{p.relative_to(PLUGIN).as_posix()}"
        for p in PLUGIN.rglob("*")
        if p.is_file()
    }
    assert names == expected


@needs_php
@pytest.mark.parametrize("customer", ["42", "ada@store.test", "Zoë-7"])
def test_php_tokens_are_shoprecs_tokens(customer: str) -> None:
    expiry = 2_000_000_000
    literal = json.dumps(customer, ensure_ascii=False)
    made = php(f"echo Shoprec_Token::make('s3cret', 'wooshop', {literal}, {expiry});")
    assert made == make_shopper_token("s3cret", "wooshop", customer, expiry)
    assert verify_shopper_token("s3cret", "wooshop", made, now=expiry - 60) == customer


@needs_php
def test_php_connect_signature_is_the_one_shoprec_checks() -> None:
    url = "https://store.example/shop"
    made = php(f"echo Shoprec_Token::connect_signature('s3cret', 'wooshop', '{url}', 1999);")
    assert made == connect_signature("s3cret", "wooshop", url, 1999)
    assert made != connect_signature("s3cret", "othershop", url, 1999)


RULESET = PLUGIN.parent / "phpcs.xml.dist"


def _phpcs(path: Path) -> subprocess.CompletedProcess[str]:
    phpcs = shutil.which("phpcs")
    if phpcs is None:
        pytest.skip("PHP_CodeSniffer is not installed (Debian package php-codesniffer)")
    return subprocess.run(
        [phpcs, f"--standard={RULESET}", "--report=full", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_plugin_passes_the_wordpress_rules_phpcs_itself_carries() -> None:
    done = _phpcs(PLUGIN)
    assert done.returncode == 0, done.stdout[-4000:]


def test_the_ruleset_catches_what_wordpress_style_forbids(tmp_path: Path) -> None:
    copy = tmp_path / "shoprec-for-woocommerce"
    shutil.copytree(PLUGIN, copy)
    events = copy / "includes" / "class-shoprec-events.php"
    text = events.read_text()
    text = text.replace("\tconst ID_PATTERN", "    const LIST = [ 1 ];\n\tconst ID_PATTERN", 1)
    events.write_text(text)
    done = _phpcs(copy)
    assert done.returncode != 0
    assert "DisallowSpaceIndent" in done.stdout and "DisallowShortArraySyntax" in done.stdout


def test_wordpress_coding_standards() -> None:
    phpcs = shutil.which("phpcs")
    wpcs = os.environ.get("SHOPREC_WPCS_PATH", "")
    if phpcs is None or not wpcs:
        pytest.skip(
            "phpcs with WordPress-Coding-Standards: set SHOPREC_WPCS_PATH to a WPCS checkout"
        )
    done = subprocess.run(
        [phpcs, "--runtime-set", "installed_paths", wpcs, "--standard=WordPress",
         "--extensions=php", str(PLUGIN)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
