"""JSON answers written by orjson: the storefront's answers are the app's hottest output.

Flask's own provider (the standard library's json) took about a tenth of an uncached
recommendation request's time; orjson writes the same JSON several times faster. Values orjson
leaves to Flask (dates, dataclasses, Decimals, objects with __html__) are converted by Flask's
own rules, so every answer says what it said before; pretty-printing (debug) and anything
orjson refuses (integers beyond 64 bits) go to the standard provider unchanged. Output is
UTF-8 rather than \\u-escaped: the same JSON to every parser.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask
from flask.json.provider import DefaultJSONProvider

OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON provider with orjson writing compact, unsorted output."""

    sort_keys = False  # keys in the order the contract lists them (product_id, title, ...)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Compact JSON text; the standard provider for indenting, sorting or other options."""
        if set(kwargs) - {"separators"} or self.sort_keys:
            return super().dumps(obj, **kwargs)
        try:
            return orjson.dumps(obj, default=self.default, option=OPTIONS).decode()
        except TypeError:
            # orjson.JSONEncodeError is a TypeError: it is what the standard library would
            # raise for an unknown type, or a value orjson alone refuses (a 65-bit integer).
            return super().dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parsed JSON; the standard library where options ask for its behaviour."""
        if kwargs:
            return super().loads(s, **kwargs)
        return orjson.loads(s)


class OrjsonFlask(Flask):
    """The Flask app class with OrjsonProvider for its JSON."""

    json_provider_class = OrjsonProvider
