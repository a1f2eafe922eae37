"""`shoprec identity ...`: tokens the API accepts, rotations that end the old credentials."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from plugin.cli.main import cli
from plugin.errors import ForgedShopperToken
from plugin.storefront.shopper_identity import api_key_matches, read_identity_config
from plugin.storefront.shopper_tokens import MAX_TOKEN_TTL_S, verify_shopper_token
from storage.db import open_shop_db


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    open_shop_db(tmp_path, "demo", create=True).close()
    open_shop_db(tmp_path, "other", create=True).close()
    return tmp_path


def run(data_dir: Path, *args: str, shop: str = "demo") -> Result:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "--shop", shop, *args])
    assert result.exit_code == 0, result.output
    return result


def test_token_proves_the_customer_for_its_shop_only(data_dir: Path) -> None:
    token = run(data_dir, "identity", "token", "--customer", "c0165", "--ttl", "600").stdout
    secret = run(data_dir, "identity", "secret").stdout.strip()
    now = time.time()
    assert verify_shopper_token(secret, "demo", token.strip(), now) == "c0165"
    expiry = int(token.split(".")[2])
    assert now + 590 <= expiry <= now + 610
    other = run(data_dir, "identity", "secret", shop="other").stdout.strip()
    assert other != secret
    with pytest.raises(ForgedShopperToken):
        verify_shopper_token(other, "other", token.strip(), now)


def test_rotate_secret_ends_old_tokens_and_the_audit_never_holds_it(data_dir: Path) -> None:
    token = run(data_dir, "identity", "token", "--customer", "c1").stdout.strip()
    old = run(data_dir, "identity", "secret").stdout.strip()
    new = run(data_dir, "identity", "rotate-secret").stdout.strip()
    assert new != old and len(new) == 64
    with pytest.raises(ForgedShopperToken):
        verify_shopper_token(new, "demo", token, time.time())
    db = open_shop_db(data_dir, "demo", create=False)
    audit = " ".join(str(tuple(r)) for r in db.execute("SELECT * FROM settings_changes"))
    db.close()
    assert "identity_secret" in audit and old not in audit and new not in audit


def test_ttl_is_bounded_and_customer_checked(data_dir: Path) -> None:
    too_long = str(MAX_TOKEN_TTL_S + 1)
    runner = CliRunner()
    base = ["--data-dir", str(data_dir), "identity", "token"]
    assert runner.invoke(cli, [*base, "--customer", "c1", "--ttl", too_long]).exit_code == 2
    assert runner.invoke(cli, [*base, "--customer", "c\n1"]).exit_code == 2


def test_api_key_is_stored_hashed_and_rotation_replaces_it(data_dir: Path) -> None:
    assert "no API key" in run(data_dir, "identity", "api-key").stdout
    first = run(data_dir, "identity", "api-key", "--rotate").stdout.strip()
    second = run(data_dir, "identity", "api-key", "--rotate").stdout.strip()
    db = open_shop_db(data_dir, "demo", create=False)
    config = read_identity_config(db)
    stored = " ".join(str(tuple(r)) for r in db.execute("SELECT * FROM shop_settings"))
    audit = " ".join(str(tuple(r)) for r in db.execute("SELECT * FROM settings_changes"))
    db.close()
    assert first not in stored and second not in stored and config.api_key_sha256 not in audit
    assert api_key_matches(config, second) and not api_key_matches(config, first)
    assert second.startswith(f"srk_{config.api_key_id}_")
    assert f"srk_{config.api_key_id}_" in run(data_dir, "identity", "api-key").stdout


def test_mode_shows_and_sets(data_dir: Path) -> None:
    assert run(data_dir, "identity", "mode").stdout.strip() == "signed"
    assert run(data_dir, "identity", "mode", "open").stdout.strip() == "open"
    bad = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "identity", "mode", "wide"])
    assert bad.exit_code == 2
