"""Reading JSON an owner typed into an admin form, where json.loads alone is not enough.

json.loads lets three kinds of junk escape as something other than JSONDecodeError: nesting
deep enough to hit the recursion limit (RecursionError), integers longer than Python's
int_max_str_digits (a plain ValueError), and "\\ud800"-style escapes that decode to lone
surrogates, which later fail when the page echoing them is encoded as UTF-8. Each admin form
turns OwnerJSONError into its own 400 with the form kept.
"""

from __future__ import annotations

import json
from typing import Any


class OwnerJSONError(ValueError):
    """The text is not JSON the admin can store and show again; the message says why."""


def parse_owner_json(text: str) -> Any:
    """The value of `text`, or OwnerJSONError with a message fit for the form."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OwnerJSONError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise OwnerJSONError("not valid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer past int_max_str_digits
        raise OwnerJSONError(f"not valid JSON: {exc}") from None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise OwnerJSONError("not valid JSON: a string holds an unpaired surrogate") from None
    except (RecursionError, ValueError) as exc:
        raise OwnerJSONError(f"not valid JSON: {exc}") from None
    return value
