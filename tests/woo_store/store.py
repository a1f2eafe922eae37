"""A real WooCommerce 7.8.2 store on this machine, for the woo_store tests.

Debian's WordPress, PHP-FPM and nginx, the MariaDB already running on 127.0.0.1:3306, and
WooCommerce plus wp-cli from /work/shared/platforms/woocommerce (its README is the recipe).
Everything lives in one scratch folder: the WordPress copy, the configs, the logs, a
self-signed certificate, and its own database woo_<random>. nginx serves the store over
plain http and, over https, proxies to the shoprec server under test (WooCommerce's key
exchange posts keys only to an https callback). The two processes started here are
stopped by PID in `stop()`, and the database is dropped.

The test store's mu-plugin (never shipped) lets WordPress call loopback hosts on any port,
turns TLS verification off for the self-signed certificate, delivers webhooks at once
instead of through Action Scheduler, and swallows mail (no sendmail here).
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import signal
import struct
import subprocess
import tarfile
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import requests

from connectors.woocommerce.auth import oauth1_params

SHARED = Path(os.environ.get("SHOPREC_WOO_PLATFORM_DIR", "/work/shared/platforms/woocommerce"))
WOOCOMMERCE_TAR = SHARED / "woocommerce-7.8.2.tar.gz"
WP_CLI = SHARED / "wp-cli-2.10.0.phar"
WORDPRESS = Path("/usr/share/wordpress")
NGINX = Path("/usr/sbin/nginx")
ADMIN_USER, ADMIN_PASSWORD = "shopadmin", "admin-pass-1234"
DB_HOST = "127.0.0.1"

MU_PLUGIN = r"""<?php
/* Test store only: loopback receivers on any port, a self-signed certificate, synchronous
 * webhooks, no mail. */
add_filter( 'http_request_host_is_external', '__return_true' );
add_filter( 'http_allowed_safe_ports', function () { return range( 1, 65535 ); } );
add_filter( 'https_ssl_verify', '__return_false' );
add_filter( 'https_local_ssl_verify', '__return_false' );
add_filter( 'woocommerce_webhook_deliver_async', '__return_false' );
add_filter( 'pre_wp_mail', '__return_true' );
"""

WP_CONFIG = """<?php
define( 'DB_NAME', '{db}' );
define( 'DB_USER', 'root' );
define( 'DB_PASSWORD', '' );
define( 'DB_HOST', '{db_host}' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
{salts}
$table_prefix = 'wp_';
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_LOG', '{root}/debug.log' );
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'WP_ACCESSIBLE_HOSTS', '127.0.0.1,localhost' );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_AUTO_UPDATE_CORE', false );
define( 'DISABLE_WP_CRON', true );
define( 'FS_METHOD', 'direct' );
if ( ! defined( 'ABSPATH' ) ) {{
    define( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
"""

NGINX_CONF = """worker_processes 2;
user root;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {root}/nginx-access.log;
    client_body_temp_path {root}/tmp/body;
    fastcgi_temp_path {root}/tmp/fastcgi;
    proxy_temp_path {root}/tmp/proxy;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    client_max_body_size 20m;
    fastcgi_buffers 16 16k;
    fastcgi_buffer_size 32k;
    server {{
        listen 127.0.0.1:{http_port};
        root {wp};
        index index.php;
        location / {{ try_files $uri $uri/ /index.php?$args; }}
        location ~ \\.php$ {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_param HTTP_HOST $host:$server_port;
            fastcgi_param HTTP_AUTHORIZATION $http_authorization;
            fastcgi_pass unix:{root}/php-fpm.sock;
        }}
    }}
    server {{
        listen 127.0.0.1:{https_port} ssl;
        ssl_certificate {root}/tls.crt;
        ssl_certificate_key {root}/tls.key;
        location / {{
            proxy_pass http://127.0.0.1:{shoprec_port};
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Forwarded-Proto https;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""

FPM_CONF = """[global]
pid = {root}/php-fpm.pid
error_log = {root}/php-fpm.log
daemonize = no
[store]
user = root
group = root
listen = {root}/php-fpm.sock
pm = static
pm.max_children = 6
catch_workers_output = yes
php_admin_value[error_log] = {root}/php-errors.log
php_admin_value[memory_limit] = 256M
"""


class StoreUnavailable(RuntimeError):
    """Something the real store needs is not installed here (the tests skip with this text)."""


def missing_parts() -> list[str]:
    """What this machine lacks for the store, in words an operator can act on."""
    missing = []
    if not glob.glob("/usr/sbin/php-fpm*"):
        missing.append("php-fpm (apt-get install php-fpm)")
    if not shutil.which("php"):
        missing.append("php (apt-get install php-cli)")
    if not NGINX.exists():
        missing.append("nginx (apt-get install nginx)")
    if not (WORDPRESS / "wp-settings.php").exists():
        missing.append("wordpress (apt-get install wordpress)")
    if not shutil.which("mariadb") and not shutil.which("mysql"):
        missing.append("mariadb-client (apt-get install mariadb-client)")
    if not shutil.which("openssl"):
        missing.append("openssl")
    for part in (WOOCOMMERCE_TAR, WP_CLI):
        if not part.exists():
            missing.append(str(part))
    return missing


def _sql(statement: str) -> None:
    client = shutil.which("mariadb") or shutil.which("mysql") or "mysql"
    subprocess.run(
        [client, "-h", DB_HOST, "-u", "root", "-e", statement],
        check=True,
        capture_output=True,
        timeout=30,
    )


def png(rgb: tuple[int, int, int], size: int = 64) -> bytes:
    """A plain square PNG of one colour (product photos for the test catalog)."""
    row = b"\x00" + bytes(rgb) * size
    raw = row * size

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@dataclass
class WooStore:
    """A running store: its URLs, folder and processes; REST calls signed with test keys."""

    root: Path
    url: str
    https_port: int
    db: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    key: str = ""
    secret: str = ""

    @property
    def wp(self) -> Path:
        return self.root / "wp"

    def wp_cli(self, *args: str, check: bool = True) -> str:
        """Run wp-cli on the store as its admin; its stdout."""
        done = subprocess.run(
            ["php", "-d", "memory_limit=512M", str(WP_CLI), f"--path={self.wp}", "--allow-root",
             f"--user={ADMIN_USER}", *args],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(f"wp {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def rest(self, method: str, path: str, body: object = None, **params: object) -> object:
        """A WooCommerce REST v3 call with the test's own keys (OAuth 1.0a over http)."""
        url = f"{self.url}/wp-json/wc/v3/{path.lstrip('/')}"
        signed = oauth1_params(method, url, params, self.key, self.secret)
        answer = requests.request(method, url, params=signed, json=body, timeout=60)
        if answer.status_code >= 400:
            raise AssertionError(f"{method} {path}: {answer.status_code} {answer.text[:500]}")
        return answer.json()

    def logs(self) -> str:
        """The store's error logs, for failure messages."""
        parts = []
        for name in ("php-errors.log", "php-fpm.log", "nginx-error.log", "debug.log"):
            path = self.root / name
            if path.exists():
                parts.append(f"== {name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop the processes started here (by PID) and drop the database."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGQUIT if "nginx" in str(proc.args) else signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        try:
            _sql(f"DROP DATABASE IF EXISTS `{self.db}`")
        except (subprocess.SubprocessError, OSError):
            pass


def make_certificate(root: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (nginx's https port); its path."""
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(root / "tls.key"), "-out", str(root / "tls.crt")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return root / "tls.crt"


def _wait_http(url: str, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return  # it answers; the status is the application's business
        except OSError:
            time.sleep(0.1)
    text = log.read_text(errors="replace") if log.exists() else ""
    raise AssertionError(f"{what} never answered on {url}:\n{text[-3000:]}")


def start_store(root: Path, http_port: int, https_port: int, shoprec_port: int) -> WooStore:
    """Install and start the store in `root`; the caller stops it (also when this raises)."""
    missing = missing_parts()
    if missing:
        raise StoreUnavailable("the real WooCommerce store needs " + ", ".join(missing))
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("body", "fastcgi", "proxy", "uwsgi", "scgi"):
        (root / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    db = f"woo_{secrets.token_hex(4)}"
    store = WooStore(root=root, url=f"http://127.0.0.1:{http_port}", https_port=https_port, db=db)
    _sql(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4")
    shutil.copytree(WORDPRESS, store.wp, symlinks=False)
    (store.wp / "wp-config.php").unlink(missing_ok=True)
    salts = "\n".join(
        f"define( '{name}', '{secrets.token_hex(24)}' );"
        for name in ("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
                     "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT")
    )  # fmt: skip
    (store.wp / "wp-config.php").write_text(
        WP_CONFIG.format(db=db, db_host=DB_HOST, salts=salts, root=root)
    )
    with tarfile.open(WOOCOMMERCE_TAR) as tar:
        tar.extractall(root / "woo-src", filter="fully_trusted")
    shutil.move(
        str(root / "woo-src" / "wp-content" / "plugins" / "woocommerce"),
        str(store.wp / "wp-content" / "plugins" / "woocommerce"),
    )
    mu = store.wp / "wp-content" / "mu-plugins"
    mu.mkdir(exist_ok=True)
    (mu / "test-store.php").write_text(MU_PLUGIN)
    if not (root / "tls.crt").exists():
        make_certificate(root)
    fpm_conf = root / "php-fpm.conf"
    fpm_conf.write_text(FPM_CONF.format(root=root))
    nginx_conf = root / "nginx.conf"
    nginx_conf.write_text(
        NGINX_CONF.format(
            root=root,
            wp=store.wp,
            http_port=http_port,
            https_port=https_port,
            shoprec_port=shoprec_port,
        )
    )
    fpm = sorted(glob.glob("/usr/sbin/php-fpm*"))[-1]
    with (root / "php-fpm.out").open("wb") as out:
        store.procs.append(
            subprocess.Popen([fpm, "-F", "-R", "-y", str(fpm_conf)], stdout=out, stderr=out)
        )
    with (root / "nginx.out").open("wb") as out:
        store.procs.append(
            subprocess.Popen(
                [str(NGINX), "-c", str(nginx_conf), "-p", str(root), "-g", "daemon off;"],
                stdout=out,
                stderr=out,
            )
        )
    for _ in range(100):
        if (root / "php-fpm.sock").exists():
            break
        time.sleep(0.05)
    store.wp_cli(
        "core", "install", f"--url={store.url}", "--title=Test Store",
        f"--admin_user={ADMIN_USER}", f"--admin_password={ADMIN_PASSWORD}",
        "--admin_email=owner@store.test", "--skip-email",
    )  # fmt: skip
    store.wp_cli("rewrite", "structure", "/%postname%/")
    store.wp_cli("plugin", "activate", "woocommerce")
    _wait_http(store.url + "/", store.procs[-1], "the store", root / "nginx-error.log")
    # Images the catalog's products are created from (WordPress downloads them itself).
    images = store.wp / "test-images"
    images.mkdir()
    for index in range(12):
        colour = ((index * 53) % 256, (index * 97 + 60) % 256, (index * 31 + 120) % 256)
        (images / f"p{index}.png").write_bytes(png(colour))
    setup = root / "setup.php"
    setup.write_text(STORE_SETUP)
    keys = json.loads(store.wp_cli("eval-file", str(setup)).strip().splitlines()[-1])
    store.key, store.secret = keys["consumer_key"], keys["consumer_secret"]
    return store


# One wp-cli run for the store's settings (each wp-cli start costs a second or two): the
# cheque gateway on, WooCommerce's onboarding out of the way, and the test's own REST keys.
STORE_SETUP = r"""<?php
update_option( 'woocommerce_cheque_settings', array( 'enabled' => 'yes', 'title' => 'Cheque' ) );
update_option( 'woocommerce_currency', 'EUR' );
update_option( 'woocommerce_onboarding_profile', array( 'skipped' => true ) );
update_option( 'woocommerce_task_list_hidden', 'yes' );
update_option( 'woocommerce_coming_soon', 'no' );
update_option( 'woocommerce_enable_guest_checkout', 'yes' );
global $wpdb;
$key    = 'ck_' . wc_rand_hash();
$secret = 'cs_' . wc_rand_hash();
$wpdb->insert(
	$wpdb->prefix . 'woocommerce_api_keys',
	array(
		'user_id'         => 1,
		'description'     => 'woo_store tests',
		'permissions'     => 'read_write',
		'consumer_key'    => wc_api_hash( $key ),
		'consumer_secret' => $secret,
		'truncated_key'   => substr( $key, -7 ),
	)
);
echo wp_json_encode( array( 'consumer_key' => $key, 'consumer_secret' => $secret ) ) . "\n";
"""
