"""The one rule for product and image URLs: http(s) or site-relative, nothing else.

Product URLs and image URLs are untrusted text from CSV files and platform payloads; a
`javascript:` link or a `data:` image served to a storefront or an email is an attack on the
shop's customers. Every importer and payload mapper checks them here when a product enters
the store, and serving checks again (`safe_url`) for rows stored before this rule existed.

Accepted: `http://host/...`, `https://host/...`, a site-relative path `/products/x`, and a
protocol-relative `//host/...` (stored as `https://host/...`). Refused: any other scheme,
a host-less `http:x`, control characters and backslashes (browsers read `/\\evil.example`
as `//evil.example`).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from connectors.errors import ConnectorError

_SHOWN = 60  # how much of a refused URL a message repeats (a data: URL can be megabytes)


class UnsafeUrl(ConnectorError):
    """A URL that is neither http(s) nor site-relative; the message names the field."""


def checked_url(text: str | None, field: str) -> str:
    """`text` stripped ('' stays ''), protocol-relative made https; UnsafeUrl otherwise."""
    url = (text or "").strip()
    if not url:
        return ""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url) or "\\" in url:
        raise UnsafeUrl(f"{field} {url[:_SHOWN]!r} contains control characters or backslashes")
    if url.startswith("//"):
        url = "https:" + url
    elif url.startswith("/"):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced [ in the host
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise UnsafeUrl(f"{field} {url[:_SHOWN]!r} is not an http(s) or site-relative URL")
    return url


@lru_cache(maxsize=32_768)
def safe_url(text: str | None) -> str:
    """The URL if `checked_url` accepts it, else '' (for serving: never raises).

    Memoised (a pure function of the text): serving checks every item's two URLs on every
    request, and the character scan cost more than the catalog read.
    """
    try:
        return checked_url(text, "url")
    except UnsafeUrl:
        return ""
