"""The container stack: the image's entry point (run for real), the Dockerfile and the
compose file (validated by docker-compose where installed). No image is built: there is no
Docker daemon on the test machines."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from storage.migrations import MIGRATIONS

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint.sh"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "deploy" / "compose.yaml"


# The image runs the script with Debian's /bin/sh (dash); bash must read it the same way.
SHELLS = [shell for shell in ("/bin/sh", "/bin/bash") if Path(shell).exists()]


def entrypoint(
    *args: str, dry_run: bool = True, shell: str = "/bin/sh", **env: str
) -> subprocess.CompletedProcess[str]:
    """The entry point under `shell`, with the venv's `shoprec` first on PATH as in the image."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    environ = {**os.environ, "PATH": path, **env}
    environ["SHOPREC_ENTRYPOINT_DRY_RUN"] = "1" if dry_run else ""
    return subprocess.run(
        [shell, str(ENTRYPOINT), *args], capture_output=True, text=True, env=environ, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "command"),
    [
        ((), "shoprec serve --host 0.0.0.0 --port 8000 --workers 2"),
        (("web",), "shoprec serve --host 0.0.0.0 --port 8000 --workers 2"),
        (("worker",), "shoprec worker run"),
        (("migrate",), "shoprec migrate"),
        (("shoprec", "--shop", "s1", "train"), "shoprec --shop s1 train"),
    ],
)
@pytest.mark.parametrize("shell", SHELLS)
def test_each_role_runs_its_command(args: tuple[str, ...], command: str, shell: str) -> None:
    done = entrypoint(*args, shell=shell)
    assert (done.returncode, done.stdout.strip()) == (0, command)


def test_the_web_role_takes_its_port_and_workers_from_the_environment() -> None:
    done = entrypoint("web", SHOPREC_PORT="9000", SHOPREC_WEB_WORKERS="4")
    assert done.stdout.strip() == "shoprec serve --host 0.0.0.0 --port 9000 --workers 4"


@pytest.mark.parametrize("shell", SHELLS)
def test_an_unknown_role_is_refused_by_name(shell: str) -> None:
    done = entrypoint("serve", shell=shell)
    assert done.returncode == 64 and "unknown role 'serve'" in done.stderr and done.stdout == ""


def test_gunicorn_takes_the_trusted_proxy_addresses_from_the_environment() -> None:
    """The web role passes no --forwarded-allow-ips: gunicorn reads FORWARDED_ALLOW_IPS when
    it is imported, and `shoprec serve`'s own options must not override it."""
    probe = (
        "from flask import Flask\n"
        "from plugin.cli.serve import GunicornServer\n"
        "server = GunicornServer(Flask('probe'), {'bind': '127.0.0.1:0', 'workers': 1})\n"
        "print(','.join(server.cfg.forwarded_allow_ips))\n"
    )
    environ = {**os.environ, "FORWARDED_ALLOW_IPS": "10.0.0.0/8,172.16.0.5"}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=environ, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "10.0.0.0/8,172.16.0.5"


def test_the_migrate_role_brings_an_old_store_to_the_current_schema(tmp_path: Path) -> None:
    old = tmp_path / "data" / "oldshop" / "shop.db"
    old.parent.mkdir(parents=True)
    conn = sqlite3.connect(old)
    for number, script in enumerate(MIGRATIONS[:3], start=1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    conn.close()
    done = entrypoint("migrate", dry_run=False, SHOPREC_DATA_DIR=str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"oldshop: schema 3 -> {len(MIGRATIONS)}"
    again = entrypoint("migrate", dry_run=False, SHOPREC_DATA_DIR=str(tmp_path / "data"))
    assert again.stdout.strip() == f"oldshop: schema {len(MIGRATIONS)}, already current"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [tuple(line.split(None, 1)) for line in lines if not line.startswith("#")]  # type: ignore[misc]


def test_the_image_runs_as_a_user_and_starts_through_the_entry_point() -> None:
    steps = _instructions()
    users = [value for op, value in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    copies = [value.split() for op, value in steps if op == "COPY"]
    assert ["deploy/docker/entrypoint.sh", "/usr/local/bin/shoprec-entrypoint"] in copies
    assert ("ENTRYPOINT", '["shoprec-entrypoint"]') in steps and ("CMD", '["web"]') in steps
    assert os.access(ENTRYPOINT, os.X_OK)


def test_the_image_holds_every_package_and_the_templates() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    needed = {name.split(".")[0] for name in setuptools["packages"]} | {"templates"}
    copied = {value.split()[0] for op, value in _instructions() if op == "COPY"}
    assert needed <= copied, needed - copied


def test_the_health_check_asks_the_liveness_route() -> None:
    from config import load_settings
    from plugin import create_app

    check = next(value for op, value in _instructions() if op == "HEALTHCHECK")
    path = re.search(r"127\.0\.0\.1:8000(/[a-z]+)", check)
    assert path is not None
    app = create_app(load_settings({}, data_dir=ROOT / "nonexistent-data"), {"TESTING": True})
    assert app.test_client().get(path.group(1)).status_code == 200


def test_web_and_worker_share_the_data_and_redis_keeps_an_append_only_file() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    for name in ("web", "worker"):
        assert "shoprec-data:/data" in services[name]["volumes"]
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert services["web"]["command"] == ["web"] and services["worker"]["command"] == ["worker"]
    assert "ports" not in services["web"]  # only the TLS proxy is reachable from outside
    assert "--appendonly" in services["redis"]["command"]
    assert (
        services["redis"]["command"][services["redis"]["command"].index("--appendonly") + 1]
        == "yes"
    )
    assert "redis-data:/data" in services["redis"]["volumes"]
    assert "443:443" in services["caddy"]["ports"]
    caddyfile = (COMPOSE.parent / "docker" / "Caddyfile").read_text()
    assert "reverse_proxy web:8000" in caddyfile


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    deploy = tmp_path / "deploy"
    shutil.copytree(COMPOSE.parent / "docker", deploy / "docker")
    shutil.copy(COMPOSE, deploy / "compose.yaml")
    shutil.copy(ROOT / "deploy" / "systemd" / "shoprec.env.example", deploy / "shoprec.env")
    env = {**os.environ, "SHOPREC_DOMAIN": "recs.example.com"}
    done = subprocess.run(
        [tool, "-f", str(deploy / "compose.yaml"), "config"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert resolved["services"]["caddy"]["environment"]["SHOPREC_DOMAIN"] == "recs.example.com"
    # The example env file's secrets reach the app's containers.
    assert resolved["services"]["worker"]["environment"]["SHOPREC_SECRET_KEY"]
