"""A stand-in Shopify storefront for browser tests of the theme app extension and the pixel.

It plays the shop's domain: theme pages rendered from the extension's Liquid blocks, the
extension's assets, /cart/add(.js) as Shopify answers it, and the app proxy: /apps/shoprec/...
is forwarded to a live shoprec with the parameters Shopify adds (shop, logged_in_customer_id,
path_prefix, timestamp) and its signature (connectors.signatures, PLATFORMS.md 1.12). Like
Shopify, it knows the logged-in customer from the shop's own session cookie (here the cookie
`customer_id`), and drops cookies before forwarding. Every forwarded request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from shopify_theme import PIXEL_DIR, THEME_DIR

from connectors.signatures import sign_shopify_proxy

PROXY_PREFIX = "/apps/shoprec"
SHOP_DOMAIN = "demo.myshopify.com"


@dataclass
class Forwarded:
    """One request the stand-in proxied to shoprec, with the query it signed."""

    method: str
    path: str
    params: dict[str, str]
    product_ids: list[str]
    status: int


@dataclass
class StandInShop:
    url: str
    secret: str
    upstream: str
    pages: dict[str, Callable[[], str]] = field(default_factory=dict)
    variants: dict[str, str] = field(default_factory=dict)  # variant id -> product id
    forwarded: list[Forwarded] = field(default_factory=list)
    cart_adds: list[str] = field(default_factory=list)

    def publish(self, path: str, render: Callable[[], str]) -> str:
        self.pages[path] = render
        return self.url + path

    def proxied(self, suffix: str) -> list[Forwarded]:
        return [f for f in self.forwarded if f.path == PROXY_PREFIX + suffix]


def _handler(shop: StandInShop) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _customer(self) -> str:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            return cookie["customer_id"].value if "customer_id" in cookie else ""

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _proxy(self, method: str) -> None:
            parts = urlsplit(self.path)
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            added = [
                ("shop", SHOP_DOMAIN),
                ("logged_in_customer_id", self._customer()),
                ("path_prefix", PROXY_PREFIX),
                ("timestamp", str(int(time.time()))),
            ]
            signed = [*pairs, *added]
            query = urlencode([*signed, ("signature", sign_shopify_proxy(shop.secret, signed))])
            request = urllib.request.Request(
                f"{shop.upstream}{parts.path}?{query}",
                data=self._body() if method == "POST" else None,
                method=method,
                headers={"Content-Type": self.headers.get("Content-Type", "text/plain")},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    status, body = answer.status, answer.read()
                    kind = answer.headers.get("Content-Type", "application/json")
            except urllib.error.HTTPError as exc:
                status, body, kind = exc.code, exc.read(), "application/json"
            shop.forwarded.append(
                Forwarded(
                    method,
                    parts.path,
                    dict(added),
                    [v for k, v in pairs if k == "product_id"],
                    status,
                )
            )
            self._send(status, body, kind)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = urlsplit(self.path).path
            if path.startswith(PROXY_PREFIX + "/"):
                return self._proxy("GET")
            if path.startswith("/assets/"):
                asset = THEME_DIR / "assets" / Path(path).name
                return self._send(200, asset.read_bytes(), "text/javascript")
            if path.startswith("/pixel/"):
                source = PIXEL_DIR / "src" / Path(path).name
                return self._send(200, source.read_bytes(), "text/javascript")
            if path == "/pixel-shim.js":
                shim = b"export function register(extension) { window.__shoprecPixel = extension; }"
                return self._send(200, shim, "text/javascript")
            if path.startswith("/demo/static/"):
                # The demo catalog's site-relative images live on shoprec (a real Shopify
                # catalog's are absolute CDN URLs): fetched from there, unsigned.
                with urllib.request.urlopen(shop.upstream + path, timeout=10) as answer:
                    kind = answer.headers.get("Content-Type", "image/svg+xml")
                    return self._send(200, answer.read(), kind)
            render = shop.pages.get(path)
            if render is None:
                return self._send(404, b"not found", "text/plain")
            return self._send(200, render().encode("utf-8"), "text/html; charset=utf-8")

        def do_POST(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            if path.startswith(PROXY_PREFIX + "/"):
                return self._proxy("POST")
            if path in ("/cart/add", "/cart/add.js"):
                raw = self._body().decode("utf-8")
                if path.endswith(".js"):
                    variant = str(json.loads(raw)["id"])
                else:
                    variant = dict(parse_qsl(raw))["id"]
                product = shop.variants[variant]
                shop.cart_adds.append(product)
                if path.endswith(".js"):
                    line = {"id": variant, "variant_id": variant, "quantity": 1}
                    body = json.dumps({**line, "product_id": product}).encode()
                    return self._send(200, body, "application/json")
                return self._send(302, b"", "text/plain", Location="/cart")
            return self._send(404, b"not found", "text/plain")

        def log_message(self, *args: Any) -> None:
            return

    return Handler


@contextmanager
def stand_in_shop(upstream: str, secret: str) -> Iterator[StandInShop]:
    """The stand-in shop on a free loopback port, forwarding its app proxy to `upstream`."""
    shop = StandInShop(url="", secret=secret, upstream=upstream.rstrip("/"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(shop))
    shop.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield shop
    finally:
        server.shutdown()
        server.server_close()
