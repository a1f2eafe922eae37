"""Reading fields of a platform's JSON payload, raising PayloadError naming the field.

Shared by the Shopify and WooCommerce payload mappers. Timestamps become the store's UTC
text 'YYYY-MM-DDTHH:MM:SS' (the same rule as CSV feeds: connectors.feeds.feed_values).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

from connectors.errors import PayloadError, RowRejected
from connectors.feeds.feed_records import FeedBatch
from connectors.feeds.feed_values import parse_timestamp
from connectors.product_urls import UnsafeUrl, checked_url


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or PayloadError saying why it is not one."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not UTF-8 (byte {exc.start})") from exc
    if not text.strip():
        raise PayloadError("body is empty")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError:
        # json's parser recurses per '[' or '{': thousands of them exhaust the stack. No
        # platform nests that deep, and retrying the same bytes never succeeds.
        raise PayloadError("body nests JSON arrays/objects too deeply to parse") from None
    if not isinstance(value, dict):
        raise PayloadError(f"body must be a JSON object, got a JSON {type(value).__name__}")
    return value


def object_field(payload: Mapping[str, Any], name: str, where: str) -> dict[str, Any] | None:
    """An optional nested object (None when absent or null)."""
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PayloadError(f"{where}.{name} must be an object, got {value!r:.60}")
    return value


def list_field(payload: Mapping[str, Any], name: str, where: str) -> list[Any]:
    """An optional list ([] when absent or null)."""
    value = payload.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{where}.{name} must be a list, got {value!r:.60}")
    return value


def object_items(
    payload: Mapping[str, Any], name: str, where: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each element of an optional list of objects, with its path ('order.line_items[2]')."""
    for i, item in enumerate(list_field(payload, name, where)):
        path = f"{where}.{name}[{i}]"
        if not isinstance(item, dict):
            raise PayloadError(f"{path} must be an object")
        yield path, item


def id_field(payload: Mapping[str, Any], name: str, where: str, *, required: bool = True) -> str:
    """A platform id (a positive integer or a non-empty string) as text; '' when optional+absent.

    Ids are stored as text so Shopify's 64-bit ids and Woo's small ones share one column.
    """
    value = payload.get(name)
    if value is None or value == "" or value == 0:
        if required:
            raise PayloadError(f"{where}.{name} is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError(f"{where}.{name} must be an id, got {value!r:.60}")
    text = str(value).strip()
    if isinstance(value, int) and value < 0:
        raise PayloadError(f"{where}.{name} must be a positive id, got {value}")
    if not text:
        raise PayloadError(f"{where}.{name} is empty")
    return text


def text_field(payload: Mapping[str, Any], name: str, where: str) -> str:
    """An optional text field ('' when absent or null)."""
    value = payload.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"{where}.{name} must be text, got {value!r:.60}")
    return value.strip()


def url_field(payload: Mapping[str, Any] | None, name: str, where: str) -> str:
    """An optional product or image URL: http(s) or site-relative (connectors.product_urls)."""
    if payload is None:
        return ""
    return payload_url(text_field(payload, name, where), f"{where}.{name}")


def payload_url(text: str, label: str) -> str:
    """`text` checked as a product or image URL; PayloadError naming `label` if unsafe."""
    try:
        return checked_url(text, label)
    except UnsafeUrl as exc:
        raise PayloadError(str(exc)) from None


def money_field(payload: Mapping[str, Any], name: str, where: str) -> float | None:
    """A non-negative price given as a decimal string or a number; None when absent or ''."""
    value = payload.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PayloadError(f"{where}.{name} must be a price, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PayloadError(f"{where}.{name} {value!r:.60} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise PayloadError(f"{where}.{name} {value!r} is not a non-negative finite number")
    return number


def int_field(payload: Mapping[str, Any], name: str, where: str) -> int | None:
    """A whole number (int or integral string); None when absent or null."""
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise PayloadError(f"{where}.{name} must be a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PayloadError(f"{where}.{name} {value!r:.60} is not a whole number") from None
    if not math.isfinite(number) or number != int(number):
        raise PayloadError(f"{where}.{name} {value!r:.60} is not a whole number")
    return int(number)


def timestamp_field(
    payload: Mapping[str, Any], names: tuple[str, ...], where: str, *, required: bool = True
) -> str | None:
    """The first present of `names` as store UTC text (naive values are taken as UTC)."""
    for name in names:
        value = payload.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise PayloadError(f"{where}.{name} must be an ISO-8601 text, got {value!r:.60}")
        try:
            return parse_timestamp(value, f"{where}.{name}")
        except RowRejected as exc:
            raise PayloadError(str(exc)) from exc
    if required:
        raise PayloadError(f"{where} has none of {list(names)}")
    return None


def number_lines(order_id: str, customer_id: str | None, created_at: str) -> LineNumberer:
    """A builder of order-line tuples with stable '<product_id>#<n>' keys for one order."""
    return LineNumberer(order_id, customer_id, created_at)


class LineNumberer:
    """Counts each product's repeats within one order so line keys stay stable on replay."""

    def __init__(self, order_id: str, customer_id: str | None, created_at: str) -> None:
        self.order_id = order_id
        self.customer_id = customer_id
        self.created_at = created_at
        self._seen: dict[str, int] = {}

    def line(self, product_id: str, quantity: int, unit_price: float) -> tuple[Any, ...]:
        """One tuple ordered as storage.orders.LINE_COLUMNS."""
        n = self._seen.get(product_id, 0) + 1
        self._seen[product_id] = n
        return (
            self.order_id,
            f"{product_id}#{n}",
            product_id,
            self.customer_id,
            self.created_at,
            quantity,
            unit_price,
        )


def product_deleted_batch(payload: Mapping[str, Any]) -> FeedBatch:
    """A product delete ({"id": N} from Shopify's products/delete and WooCommerce's
    product.deleted alike): archived, so it is never recommended but its history stays."""
    return FeedBatch(
        products=[{"product_id": id_field(payload, "id", "product"), "status": "archived"}]
    )
