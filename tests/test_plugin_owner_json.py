"""Owner-typed JSON: every kind of junk json.loads lets escape becomes one clear error."""

from __future__ import annotations

import pytest

from plugin.admin.owner_json import OwnerJSONError, parse_owner_json


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{'single': 1}", "line 1"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("9" * 5_000, "not valid JSON"),
        ('{"\\ud800": 1}', "unpaired surrogate"),
        ('["ok", "\\udfff"]', "unpaired surrogate"),
    ],
)
def test_junk_is_one_error_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(OwnerJSONError, match=why):
        parse_owner_json(text)


def test_valid_json_including_paired_surrogates_comes_back() -> None:
    assert parse_owner_json('{"emoji": "\\ud83d\\ude00", "n": [1, 2.5]}') == {
        "emoji": "\U0001f600",
        "n": [1, 2.5],
    }
