"""The container stack: the image's entry point (run for real), the Dockerfile and the
compose file (validated by docker-compose where installed). No image is built: there is no
Docker daemon on the test machines."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
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
        (
            ("healthcheck",),
            "python -c import sys, urllib.request as r; r.urlopen(sys.argv[1], timeout=4) "
            "http://127.0.0.1:8000/livez",
        ),
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


def test_the_health_check_is_the_entry_points_own() -> None:
    check = next(value for op, value in _instructions() if op == "HEALTHCHECK")
    assert check.endswith('CMD ["shoprec-entrypoint", "healthcheck"]'), check


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_health_check_passes_on_a_serving_web_role_and_fails_without_one(
    tmp_path: Path,
) -> None:
    """The web role for real (gunicorn on a free SHOPREC_PORT), then the health check: 0 while
    it serves, non-zero once it is gone."""
    port = str(_free_port())
    env = {"SHOPREC_PORT": port, "SHOPREC_WEB_WORKERS": "1", "SHOPREC_DATA_DIR": str(tmp_path)}
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    web_env = {**os.environ, **env, "PATH": path, "SHOPREC_ENTRYPOINT_DRY_RUN": ""}
    log = tmp_path / "web.log"
    with log.open("w") as out:
        web = subprocess.Popen(
            ["/bin/sh", str(ENTRYPOINT), "web"], env=web_env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while (check := entrypoint("healthcheck", dry_run=False, **env)).returncode != 0:
            assert web.poll() is None, f"the web role exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"never healthy:\n{check.stderr}{log.read_text()}"
            time.sleep(0.2)
    finally:
        web.terminate()
        web.wait(timeout=30)
    assert entrypoint("healthcheck", dry_run=False, **env).returncode != 0


def test_web_and_worker_share_the_data_and_redis_keeps_an_append_only_file() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    for name in ("web", "worker"):
        assert "shoprec-data:/data" in services[name]["volumes"]
        assert services[name]["environment"]["SHOPREC_DATA_DIR"] == "/data"
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert services[name]["env_file"] == ".env"
    assert services["web"]["command"] == ["web"] and services["worker"]["command"] == ["worker"]
    assert "ports" not in services["web"]  # only the TLS proxy is reachable from outside
    assert services["web"]["environment"]["FORWARDED_ALLOW_IPS"] == "*"
    assert "--appendonly" in services["redis"]["command"]
    assert (
        services["redis"]["command"][services["redis"]["command"].index("--appendonly") + 1]
        == "yes"
    )
    assert "redis-data:/data" in services["redis"]["volumes"]
    assert "443:443" in services["caddy"]["ports"]
    caddyfile = (COMPOSE.parent / "docker" / "Caddyfile").read_text()
    assert "reverse_proxy web:8000" in caddyfile


def test_the_worker_is_not_judged_by_the_web_health_check_and_may_finish_its_job() -> None:
    """The image's HEALTHCHECK asks :8000/livez, which only the web role serves; Docker's
    default 10 s stop would kill a retrain that the worker's warm shutdown lets finish."""
    worker = yaml.safe_load(COMPOSE.read_text())["services"]["worker"]
    assert worker["healthcheck"] == {"disable": True}
    grace = re.fullmatch(r"(\d+)m", worker["stop_grace_period"])
    assert grace is not None and int(grace.group(1)) >= 5
    assert worker["init"] is True


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore patterns exclude `path` or a folder above it (Go's path.Match
    with `**`, as Docker reads them; no `!` exceptions are used)."""

    def regex(pattern: str) -> str:
        out = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        return out.replace(r"\?", "[^/]")

    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(re.fullmatch(regex(p), prefix) for p in patterns for prefix in prefixes)


def test_the_build_context_leaves_out_secrets_and_data_but_not_what_the_image_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for secret in ("deploy/.env", "deploy/systemd/shoprec.env", "data/s1/shop.db", ".venv/bin"):
        assert _ignored(secret, patterns), secret
    for op, value in _instructions():
        if op != "COPY":
            continue
        source = value.split()[0]
        files = [source] if (ROOT / source).is_file() else [
            str(f.relative_to(ROOT)) for f in (ROOT / source).rglob("*")
            if f.is_file() and "__pycache__" not in f.parts
        ]  # fmt: skip
        kept = [f for f in files if not _ignored(f, patterns)]
        assert kept == files, f"COPY {source} loses {set(files) - set(kept)}"


def test_the_compose_settings_file_is_never_committed() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", "deploy/.env"], timeout=30)
    assert done.returncode == 0, "deploy/.env holds secrets: .gitignore must exclude it"


def _compose_config(deploy: Path, **env: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SHOPREC_")}
    return subprocess.run(
        [tool, "-f", str(deploy / "compose.yaml"), "config"],
        capture_output=True, text=True, timeout=60, env={**environ, **env},
    )  # fmt: skip


def _deploy_copy(tmp_path: Path, env_text: str) -> Path:
    deploy = tmp_path / "deploy"
    shutil.copytree(COMPOSE.parent / "docker", deploy / "docker")
    shutil.copy(COMPOSE, deploy / "compose.yaml")
    (deploy / ".env").write_text(env_text)
    return deploy


def test_docker_compose_accepts_the_file_with_the_example_settings(tmp_path: Path) -> None:
    done = _compose_config(_deploy_copy(tmp_path, (COMPOSE.parent / ".env.example").read_text()))
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert services["caddy"]["environment"]["SHOPREC_DOMAIN"] == "recs.example.com"
    for name in ("web", "worker"):
        environment = services[name]["environment"]
        assert environment["SHOPREC_PUBLIC_URL"] == "https://recs.example.com"
        # The example file's secrets reach the app's containers; the stack's own values win.
        assert environment["SHOPREC_SECRET_KEY"]
        assert environment["SHOPREC_DATA_DIR"] == "/data"


def test_docker_compose_refuses_to_start_without_a_domain(tmp_path: Path) -> None:
    done = _compose_config(_deploy_copy(tmp_path, "SHOPREC_SECRET_KEY=s3cret\n"))
    assert done.returncode != 0
    assert "set SHOPREC_DOMAIN in deploy/.env" in done.stderr


# Read by compose.yaml or the entry point, not by config.Settings.
STACK_VARIABLES = {"SHOPREC_DOMAIN", "SHOPREC_WEB_WORKERS", "SHOPREC_PORT"}


def test_the_example_settings_name_only_variables_something_reads() -> None:
    """A misspelt name in deploy/.env is silently ignored: the template must not teach one."""
    from config.settings import SETTINGS_SPEC

    known = {env for _name, env, _default, _help in SETTINGS_SPEC} | STACK_VARIABLES
    text = (COMPOSE.parent / ".env.example").read_text()
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert {"SHOPREC_DOMAIN", "SHOPREC_SECRET_KEY"} <= named
    assert named <= known, named - known


def test_the_deployment_page_names_every_secret_setting() -> None:
    from dataclasses import fields

    from config.settings import Settings

    secrets = {f.metadata["env"] for f in fields(Settings) if f.metadata.get("secret")}
    page = (ROOT / "docs" / "deployment.md").read_text()
    section = page[page.index("## Secrets") :]
    assert {name for name in secrets if f"`{name}`" not in section} == set()
