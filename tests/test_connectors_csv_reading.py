"""Reading CSV feeds: gzip, the encoding rule, exact line numbers, malformed rows."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from connectors.errors import UnreadableFeed
from connectors.feeds.csv_reading import open_feed
from connectors.feeds.feed_records import FeedTally

FIXTURES = Path(__file__).parent / "fixtures" / "csv"


def _read(path: Path) -> tuple[list[tuple[int, list[str]]], FeedTally, str]:
    tally = FeedTally()
    with open_feed(path) as feed:
        rows = list(feed.rows(tally))
        return rows, tally, feed.encoding


def test_latin1_file_is_read_as_cp1252(tmp_path: Path) -> None:
    rows, tally, encoding = _read(FIXTURES / "products_latin1.csv")
    assert encoding == "cp1252"
    assert rows[0] == (2, ["P1", "Café crème", "3.5", "Boissons"])
    assert rows[1][1][1] == "Thé vert"
    assert tally.rows_rejected == 0


def test_utf8_bom_is_stripped_from_the_header() -> None:
    with open_feed(FIXTURES / "products_utf8_bom.csv") as feed:
        assert feed.header[0] == "product_id"
        assert feed.column("PRODUCT_ID") == 0
        rows = list(feed.rows(FeedTally()))
        assert feed.encoding == "utf-8"
    assert rows[0][1][1] == "Café crème"


def test_undecodable_row_in_utf8_file_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"a,b\n1,caf\xc3\xa9\n2,ok\n3,caf\xe9\n4,fine\n")
    rows, tally, encoding = _read(path)
    assert encoding == "utf-8"
    assert [r[0] for r in rows] == [2, 3, 5]
    assert tally.rows_read == 4 and tally.rows_rejected == 1
    assert tally.first_rejections[0].startswith("line 4: not valid UTF-8 (byte 0xe9 at column 6)")
    assert "because line 2 is valid UTF-8" in tally.first_rejections[0]


def test_gzip_is_read_directly_and_quoted_newlines_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "feed.csv.gz"
    text = 'id,body\n1,"<p>one\ntwo\nthree</p>"\n\n2,plain\n3,"x\r\ny"\n4,last\n'
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    rows, tally, _ = _read(path)
    assert [r[0] for r in rows] == [2, 6, 7, 9]
    assert rows[0][1][1] == "<p>one\ntwo\nthree</p>"
    assert tally.rows_read == 4


def test_short_rows_are_padded_and_wide_rows_rejected(tmp_path: Path) -> None:
    path = tmp_path / "widths.csv"
    path.write_text("a,b,c\n1,2\n1,2,3,,\n1,2,3,4\n")
    rows, tally, _ = _read(path)
    assert rows == [(2, ["1", "2", ""]), (3, ["1", "2", "3"])]
    assert tally.first_rejections == ["line 4: 4 fields, but the header has 3"]


def test_semicolon_delimited_export(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("product_id;title;price\nP1;Mug, large;4,50\n")
    with open_feed(path) as feed:
        assert feed.delimiter == ";"
        assert list(feed.rows(FeedTally())) == [(2, ["P1", "Mug, large", "4,50"])]


def test_rejection_reasons_beyond_the_limit_are_only_counted(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("a\n" + "1,2\n" * 50)
    _, tally, _ = _read(path)
    assert tally.rows_rejected == 50
    assert len(tally.first_rejections) == 10


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_empty_file_is_unreadable(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFeed, match="empty"):
        open_feed(path)


def test_missing_and_corrupt_files_are_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFeed, match="cannot read"):
        open_feed(tmp_path / "absent.csv")
    corrupt = tmp_path / "bad.csv.gz"
    whole = gzip.compress("".join(f"{i},{i * 7919 % 10007}\n" for i in range(5000)).encode())
    corrupt.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UnreadableFeed):
        with open_feed(corrupt) as feed:
            list(feed.rows(FeedTally()))


def test_oversized_field_rejects_its_row_only(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text("a,b\n1,ok\n2," + "x" * 200_000 + "\n3,ok\n")
    rows, tally, _ = _read(path)
    assert [r[0] for r in rows] == [2, 4]
    assert tally.first_rejections[0].startswith("line 3: not valid CSV: field larger than")


def test_excel_workbook_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(UnreadableFeed, match="zip archive"):
        open_feed(path)


def test_every_undecodable_line_is_rejected_even_inside_a_quoted_field(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    body = b"".join(b"%d,ok\n" % i if i % 3 else b"%d,bad\xff\n" % i for i in range(3, 3000))
    path.write_bytes(b'a,b\n1,\xc3\xa9\n2,"multi\nline \xfe"\n' + body)
    rows, tally, _ = _read(path)
    assert tally.first_rejections[0].startswith("line 3: not valid UTF-8 (byte 0xfe at column 6)")
    assert tally.rows_rejected == 1 + 999
    assert len(rows) == 1 + 1998
    assert rows[1] == (6, ["4", "ok"]) and tally.first_rejections[1].startswith("line 5: ")
