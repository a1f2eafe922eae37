"""Junk-input sweep over every HTTP route of create_app: never a 5xx, never a traceback.

Cases are generated from `app.url_map`, so a route added later is swept without editing this
file: for every rule and method it sends missing, repeated and junk query parameters (huge,
NUL and control characters, unicode, traversal, wrong types), junk in every URL converter,
junk bodies (not JSON, deeply nested, huge, wrong Content-Type, forms) and, for webhooks,
both bad signatures and correctly signed junk, so the handlers behind the HMAC check run too.
Admin routes are requested with a logged-in session and a valid CSRF token, so the view
itself runs, not only the guard.

Each case is its own test id, e.g. `GET /api/v1/recommendations limit=bigint`. A real 5xx
goes into KNOWN_SERVER_ERRORS (strict xfail: the test fails once it is fixed, so the list
stays current) with the file:line to fix in the reason.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from config import load_settings
from connectors.signatures import sign_body, sign_shopify_proxy
from email_blocks.signing import signed_url
from plugin import create_app
from storage.connections import WOOCOMMERCE_WEBHOOK_SECRET_KEY
from storage.db import open_shop_db
from storage.shop_settings import set_shop_setting
from tests.admin_client import TEST_SECRET, add_admin_user, csrf_of, log_in

SHOP = "demo"
SHOPIFY_KEY = "junk-test-api-key"
SHOPIFY_SECRET = "junk-test-shopify-secret"
WOO_SECRET = "junk-test-woo-secret"
ANCHOR = "p001"

# Case id -> why it answers 500 and where to fix it. Strict xfail: remove the entry once fixed.
KNOWN_SERVER_ERRORS: dict[str, str] = {}

# 5xx answers that are documented behaviour, not bugs: (path prefix, status, why).
DOCUMENTED_5XX = (
    ("/admin", 503, "the admin refuses to run without SHOPREC_SECRET_KEY"),
    ("/shopify/", 503, "the Shopify install needs SHOPIFY_API_KEY/SECRET"),
)
# Under these prefixes an error must be the canonical JSON body (DESIGN.md, plugin/errors.py).
JSON_ERROR_PREFIXES = ("/api/", "/webhooks/", "/email/")
# ...except the widget fragments, which answer errors with an empty HTML fragment by design,
# and the widget script itself.
HTML_ERROR_PREFIXES = ("/api/v1/widgets/", "/api/v1/widget.js")
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', "werkzeug.debug")

JUNK: dict[str, str] = {
    "empty": "",
    "huge": "x" * 100_000,
    "nul": "a\x00b",
    "control": "\x01\x02\x1b[31m\r\n\t\x7f",
    "unicode": "шоп-😀-\u202e-\ufeff-\ud7ff",
    "traversal": "../../../../etc/passwd",
    "negative": "-1",
    "bigint": "9" * 40,
    "float": "1e309",
    "nan": "NaN",
    "sql": "' OR 1=1 --",
    "html": "<script>alert(1)</script>",
    "json": '{"a": [1, {"b": null}]}',
    "spaces": "   ",
}
QUERY_NAMES = (
    "shop context slot product_id customer_id session_id visitor_id limit page sort q metric "
    "days from to format campaign email request_id position items exclude next id_token hmac "
    "signature timestamp code state host preview variant sig logged_in_customer_id customer "
    "section"
).split()
FORM_NAMES = [
    *QUERY_NAMES,
    *(
        "user password key json kind value action remove cache_ttl_s widget_format "
        "allowed_origins name holdout_percent mde_percent variant1_name variant1_profile "
        "variant1_weight variant2_name variant2_profile variant2_weight w.product.content "
        "w.product.collaborative r.max_per_category t.for_you c.abandoned_cart.enabled "
        "c.abandoned_cart.delay_hours"
    ).split(),
]
# Valid values for URL converters, so the other junk reaches the view.
VALID_ARGUMENTS = {
    "shop": SHOP,
    "experiment_id": "1",
    "section": "weights",
    "context": "product",
    "product_id": ANCHOR,
    "slug": "tops",
    "filename": "widget.js",
}
VALID_QUERY = [("shop", SHOP), ("context", "product"), ("product_id", ANCHOR), ("limit", "5")]
CONVERTER_JUNK = {
    "unknown": "no-such-thing",
    "traversal": "..%2F..%2F..%2Fetc%2Fpasswd",
    "dotdot": "..",
    "nul": "%00",
    "huge": "x" * 5_000,
    "unicode": quote("шоп-😀"),
    "bigint": "9" * 40,
    "zero": "0",
    "control": "%01%1b%7f",
}
SHOPIFY_HEADERS = {
    "X-Shopify-Topic": "orders/create",
    "X-Shopify-Shop-Domain": f"{SHOP}.myshopify.com",
    "X-Shopify-Webhook-Id": "junk-delivery",
}
WOO_HEADERS = {"X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Delivery-ID": "junk-1"}


@dataclasses.dataclass(frozen=True)
class Case:
    """One junk request. `signer` names how to sign it ('' = unsigned, as the junk came)."""

    id: str
    method: str
    path: str
    query: str = ""
    body: bytes | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    signer: str = ""
    logged_in: bool = True
    app: str = "main"


def _route_rules() -> list[Rule]:
    """The app's rules, read from a throwaway app (collection happens before any fixture)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(load_settings({}, data_dir=Path(tmp)))
        return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, sorted(r.methods or ())))


def _path(rule: Rule, overrides: dict[str, str] | None = None) -> str:
    """The rule's URL with valid converter values, or the given (already URL-safe) ones."""
    values = {**VALID_ARGUMENTS, **(overrides or {})}
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values.get(m.group(1), "x"), rule.rule)


def _q(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)


def _query_cases(rule: Rule, method: str) -> Iterator[Case]:
    name = f"{method} {rule.rule}"
    path = _path(rule)
    admin = rule.rule.startswith("/admin/<")
    yield Case(f"{name} no-params", method, path)
    yield Case(f"{name} valid-params", method, path, _q(VALID_QUERY))
    for kind, value in JUNK.items():
        yield Case(f"{name} all-params={kind}", method, path, _q([(n, value) for n in QUERY_NAMES]))
    repeated = [(n, v) for n in QUERY_NAMES for v in ("1", "", "x" * 300, "-5")]
    yield Case(f"{name} repeated-params", method, path, _q(repeated))
    yield Case(f"{name} raw-bad-percent", method, path, "shop=%ZZ&limit=%&%00=%FF%FE")
    if admin:
        return  # admin pages render fully per request; the per-kind sweep above is enough
    kinds = list(JUNK)
    for index, param in enumerate(QUERY_NAMES):
        for kind in (kinds[index % len(kinds)], kinds[(index + 7) % len(kinds)]):
            pairs = [(n, v) for n, v in VALID_QUERY if n != param] + [(param, JUNK[kind])]
            yield Case(f"{name} {param}={kind}", method, path, _q(pairs))


def _converter_cases(rule: Rule, method: str) -> Iterator[Case]:
    for argument in rule.arguments:
        for kind, value in CONVERTER_JUNK.items():
            path = _path(rule, {argument: value})
            yield Case(f"{method} {rule.rule} <{argument}>={kind}", method, path, _q(VALID_QUERY))


def _deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _event(**fields: Any) -> dict[str, Any]:
    return {
        "shop": SHOP,
        "ts": "2026-01-01T00:00:00Z",
        "type": "view",
        "product_id": ANCHOR,
        "session_id": "s1",
        **fields,
    }


JSON_BODIES: dict[str, bytes] = {
    "json-null": b"null",
    "json-number": b"12345678901234567890123456789",
    "json-string": b'"hello"',
    "json-true": b"true",
    "json-list-of-numbers": b"[1, 2, 3]",
    "json-empty-object": b"{}",
    "json-empty-list": b"[]",
    "json-wrong-types": json.dumps(
        _event(shop=["demo"], ts=5, type={"a": 1}, product_id=[ANCHOR], customer_id=1e308)
    ).encode(),
    "json-nan": b'{"shop": "demo", "ts": NaN, "type": "view", "product_id": Infinity}',
    "json-deep": _deep_json(50_000),
    "json-deep-objects": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "json-many-events": json.dumps([_event(product_id=f"p{i}") for i in range(5_000)]).encode(),
    "json-duplicate-keys": b'{"shop": "demo", "shop": "other", "type": "view", "type": 1}',
    "json-bom": b"\xef\xbb\xbf" + json.dumps(_event()).encode(),
    "json-lone-surrogate": b'{"shop": "demo", "product_id": "\\ud800", "type": "view"}',
    "json-utf16": json.dumps(_event()).encode("utf-16"),
}
for _kind, _value in JUNK.items():
    JSON_BODIES[f"json-fields={_kind}"] = json.dumps(
        _event(
            shop=_value,
            ts=_value,
            type=_value,
            product_id=_value,
            customer_id=_value,
            session_id=_value,
            visitor_id=_value,
            context=_value,
            slot=_value,
            request_id=_value,
            position=_value,
            id=_value,
            line_items=_value,
        )
    ).encode()


def _form_body(value: str) -> bytes:
    return urlencode([(n, value) for n in FORM_NAMES]).encode()


def _body_cases(rule: Rule, method: str) -> Iterator[Case]:
    name = f"{method} {rule.rule}"
    path = _path(rule)
    webhook = rule.rule.startswith("/webhooks/")
    signer = ("shopify" if "shopify" in rule.rule else "woo") if webhook else ""
    bodies: list[tuple[str, bytes, str | None]] = [
        ("empty-body", b"", None),
        ("not-json", b"\xff\xfe{not json", "application/json"),
        ("over-cap-body", b"a" * (6 * 1024 * 1024), "application/json"),
        ("json-as-text-plain", json.dumps(_event()).encode(), "text/plain"),
        ("json-as-form-type", json.dumps(_event()).encode(), "application/x-www-form-urlencoded"),
        ("bad-utf8-form", b"user=\xff\xfe&password=\xc3&csrf_token=\x00", None),
        ("multipart-junk", b"--x\r\nContent-Disposition: form-data\r\n\r\n\xff--", None),
    ]
    bodies += [(kind, body, "application/json") for kind, body in JSON_BODIES.items()]
    bodies += [(f"form={kind}", _form_body(v), None) for kind, v in JUNK.items()]
    for kind, body, ctype in bodies:
        if ctype is None and not kind.startswith("multipart"):
            ctype = "application/x-www-form-urlencoded"
        if kind.startswith("multipart"):
            ctype = "multipart/form-data; boundary=x"
        yield Case(f"{name} {kind}", method, path, body=body, content_type=ctype)
        if webhook:
            yield Case(f"{name} signed {kind}", method, path, "", body, ctype, signer=signer)
    if webhook:
        yield from _webhook_header_cases(rule, method, path, signer)


def _webhook_header_cases(rule: Rule, method: str, path: str, signer: str) -> Iterator[Case]:
    """Junk in each platform header, with a correctly signed (valid) order body."""
    name = f"{method} {rule.rule}"
    body = json.dumps({"id": 1, "line_items": []}).encode()
    base = SHOPIFY_HEADERS if signer == "shopify" else WOO_HEADERS
    for header in base:
        for kind in ("huge", "nul", "unicode", "traversal", "empty"):
            headers = {**base, header: JUNK[kind].replace("\x00", "%00")}
            yield Case(
                f"{name} header {header}={kind}",
                method,
                path,
                body=body,
                content_type="application/json",
                headers=tuple(headers.items()),
                signer=signer,
            )
    for kind, value in (("garbage", "not base64!"), ("empty", ""), ("huge", "A" * 10_000)):
        headers = {**base, "X-Shopify-Hmac-Sha256": value, "X-WC-Webhook-Signature": value}
        yield Case(
            f"{name} bad-signature={kind}",
            method,
            path,
            body=body,
            content_type="application/json",
            headers=tuple(headers.items()),
        )


def _signed_get_cases(rule: Rule) -> Iterator[Case]:
    """Correctly signed email and app-proxy URLs carrying junk, so the views behind run."""
    name = f"GET {rule.rule}"
    if rule.rule.startswith("/email/"):
        for kind, value in JUNK.items():
            if kind == "huge":
                value = "x" * 3_000
            params = {
                "shop": SHOP,
                "campaign": value,
                "customer_id": value,
                "email": value,
                "format": value,
                "product_id": value,
                "request_id": value,
                "position": value,
                "slot": value,
            }
            url = signed_url("", rule.rule, TEST_SECRET, params)
            path, _, query = url.partition("?")
            yield Case(f"{name} signed all={kind}", "GET", path, query)
    if rule.rule.startswith("/apps/"):
        for kind in JUNK:
            yield Case(f"{name} signed all={kind}", "GET", rule.rule, signer=f"proxy:{kind}")


def _build_cases() -> list[Case]:
    cases: list[Case] = []
    for rule in _route_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            cases += _query_cases(rule, method)
            cases += _converter_cases(rule, method)
            if method == "POST":
                cases += _body_cases(rule, method)
            elif rule.rule.startswith(("/email/", "/apps/")):
                cases += _signed_get_cases(rule)
        if rule.rule.startswith("/admin"):
            method = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})[0]
            path = _path(rule)
            cases.append(Case(f"{method} {rule.rule} anonymous", method, path, logged_in=False))
            cases.append(Case(f"{method} {rule.rule} no-secret-key", method, path, app="nosecret"))
        cases.append(Case(f"PATCH {rule.rule} wrong-method", "PATCH", _path(rule), body=b"{}"))
    unique: dict[str, Case] = {}
    for case in cases:
        unique.setdefault(case.id, case)
    return list(unique.values())


CASES = _build_cases()


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = []
        if case.id in KNOWN_SERVER_ERRORS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_SERVER_ERRORS[case.id]))
        params.append(pytest.param(case, id=case.id[:180], marks=marks))
    return params


# --- the apps and clients --------------------------------------------------------------------


@dataclasses.dataclass
class Harness:
    """The apps under test and the logged-in session cookie to reuse per case."""

    main: Flask
    no_secret: Flask
    session_cookie: str
    csrf: str


@pytest.fixture(scope="module")
def harness(trained_demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Harness:
    """One copy of the trained demo shop for the whole sweep (cases may write to it)."""
    data_dir = tmp_path_factory.mktemp("junk") / "data"
    shutil.copytree(trained_demo_data, data_dir)
    settings = dataclasses.replace(
        load_settings({}, data_dir=data_dir),
        secret_key=TEST_SECRET,
        shopify_api_key=SHOPIFY_KEY,
        shopify_api_secret=SHOPIFY_SECRET,
        secure_cookies="false",
    )
    add_admin_user(settings, SHOP)
    db = open_shop_db(data_dir, SHOP, create=False)
    try:
        set_shop_setting(db, WOOCOMMERCE_WEBHOOK_SECRET_KEY, WOO_SECRET)
    finally:
        db.close()
    main = create_app(settings, test_config={"TESTING": True})
    client = main.test_client()
    assert log_in(client).status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None
    no_secret = create_app(
        dataclasses.replace(settings, secret_key=""), test_config={"TESTING": True}
    )
    return Harness(main, no_secret, cookie.value, csrf_of(client))


@pytest.fixture(scope="module", autouse=True)
def no_outside_http() -> Iterator[responses.RequestsMock]:
    """Any outbound HTTP call a junk request provokes fails (nothing is registered)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def _client(harness: Harness, case: Case) -> FlaskClient:
    app = harness.no_secret if case.app == "nosecret" else harness.main
    client = app.test_client()
    if case.logged_in and case.app == "main":
        client.set_cookie("session", harness.session_cookie)
    return client


def _signed(case: Case) -> tuple[str, dict[str, str], bytes | None]:
    """(query, extra headers, body) of the case once signed as its platform would."""
    headers = dict(case.headers)
    body = case.body
    query = case.query
    if case.signer == "shopify":
        headers = {**SHOPIFY_HEADERS, **headers}
        headers["X-Shopify-Hmac-Sha256"] = sign_body(SHOPIFY_SECRET, body or b"")
    elif case.signer == "woo":
        headers = {**WOO_HEADERS, **headers}
        headers["X-WC-Webhook-Signature"] = sign_body(WOO_SECRET, body or b"")
    elif case.signer.startswith("proxy:"):
        value = JUNK[case.signer.split(":", 1)[1]]
        pairs = [
            ("shop", f"{SHOP}.myshopify.com"),
            ("path_prefix", "/apps/shoprec"),
            ("timestamp", "9999999999"),
            ("logged_in_customer_id", value),
            ("context", value),
            ("product_id", value),
            ("limit", value),
        ]
        pairs.append(("signature", sign_shopify_proxy(SHOPIFY_SECRET, pairs)))
        query = urlencode(pairs)
    return query, headers, body


def _send(harness: Harness, case: Case) -> Any:
    client = _client(harness, case)
    query, headers, body = _signed(case)
    is_admin_write = case.path.startswith("/admin") and case.method != "GET"
    if is_admin_write and case.logged_in and case.app == "main":
        headers.setdefault("X-CSRF-Token", harness.csrf)
        if body is not None and case.content_type == "application/x-www-form-urlencoded":
            body = body + b"&" + urlencode([("csrf_token", harness.csrf)]).encode()
    return client.open(
        case.path,
        method=case.method,
        query_string=query,
        data=body,
        content_type=case.content_type,
        headers=headers,
    )


def _documented_5xx(case: Case, status: int) -> bool:
    return any(case.path.startswith(p) and status == s for p, s, _ in DOCUMENTED_5XX)


@pytest.mark.parametrize("case", _params())
def test_junk_never_breaks_the_server(
    harness: Harness, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    """No 5xx (unless documented), no traceback text, and the canonical JSON error on APIs."""
    caplog.set_level(logging.ERROR)
    response = _send(harness, case)
    body = response.get_data()
    logged = "\n".join(r.getMessage() + "\n" + (r.exc_text or "") for r in caplog.records)
    if response.status_code >= 500 and not _documented_5xx(case, response.status_code):
        tail = "\n".join(logged.strip().splitlines()[-8:])
        pytest.fail(f"{case.method} {case.path} answered {response.status_code}:\n{tail}")
    text = body.decode("utf-8", "replace")
    for marker in TRACEBACK_MARKERS:
        assert marker not in text, f"traceback text in the body: {text[:500]}"
    wants_json = case.path.startswith(JSON_ERROR_PREFIXES) and not case.path.startswith(
        HTML_ERROR_PREFIXES
    )
    if wants_json and response.status_code >= 400:
        assert response.is_json, (response.status_code, response.content_type, text[:300])
        error = response.get_json().get("error")
        assert isinstance(error, str) and error, text[:300]


def test_every_rule_is_swept() -> None:
    """Each rule of the URL map has cases (a route added later is swept automatically)."""
    swept = {case.id.split(" ")[1] for case in CASES}
    assert {rule.rule for rule in _route_rules()} <= swept


def test_no_secret_key_admin_answers_the_documented_503(harness: Harness) -> None:
    """The one admin 5xx allowed above is really the documented plain-text 503."""
    response = harness.no_secret.test_client().get(f"/admin/{SHOP}/overview")
    assert response.status_code == 503
    assert "SHOPREC_SECRET_KEY" in response.get_data(as_text=True)
