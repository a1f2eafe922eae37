"""Reading CSV feeds: plain or gzip, UTF-8 or Windows Latin-1, with exact line numbers.

Encoding rule (one pass, no second read of a 50 MB file):
- a UTF-8 byte-order mark makes the file UTF-8;
- otherwise the first line holding non-ASCII bytes decides: if it is valid UTF-8 the file is
  UTF-8, if not the whole file is read as cp1252 (Windows Latin-1, a superset of ISO-8859-1
  for printable text; bytes cp1252 leaves undefined fall back to ISO-8859-1);
- in a UTF-8 file, a later line that is not valid UTF-8 rejects the row it belongs to
  ("not valid UTF-8 ..."), and the rest of the file imports.
So a Latin-1 export with 'Café' reads right, and a UTF-8 export with one corrupt row
loses only that row. (A UTF-8 file whose *first* non-ASCII line is corrupt is read as
cp1252: there is no way to tell the two apart from that line alone.)

Rows come out with the physical line number where the record starts (the header is line 1),
which stays right when a quoted field spans lines (Shopify/Woo HTML descriptions).
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import zlib
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from connectors.errors import UnreadableFeed
from connectors.feeds.feed_records import FeedTally

_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"  # .xlsx and .zip: a common mistake worth naming
_DELIMITERS = (",", ";", "\t")
# Decoding a block at once and letting the csv module split its lines in C is about twice
# as fast as a Python step per line.
_BLOCK_BYTES = 1 << 18


class _LineDecoder:
    """Decodes by the encoding rule above; keeps the reason for each undecodable line.

    Whole blocks are decoded at once when they can be (the fast path: the csv module then
    splits lines in C); a block that is not plain ASCII before the encoding is decided, or
    that fails to decode, is decoded line by line.
    """

    def __init__(self, bom: bool) -> None:
        self.encoding: str | None = "utf-8" if bom else None
        self.evidence = "the file starts with a UTF-8 byte-order mark" if bom else ""
        # (line, reason) in line order, for undecodable lines the csv reader has not passed.
        self.bad_lines: deque[tuple[int, str]] = deque()

    def decode_block(self, block: bytes, first_line: int) -> str:
        """Decode whole lines of bytes whose first line is number `first_line`."""
        try:
            if self.encoding == "utf-8":
                return block.decode("utf-8")
            if self.encoding == "cp1252":
                return block.decode("cp1252")
            if block.isascii():
                return block.decode("ascii")
        except UnicodeDecodeError:
            pass
        return "".join(
            self.decode(raw, line) for line, raw in enumerate(io.BytesIO(block), first_line)
        )

    def decode(self, raw: bytes, line: int) -> str:
        """Decode one physical line (bytes including its newline)."""
        if self.encoding == "utf-8" or (self.encoding is None and not raw.isascii()):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                if self.encoding is None:
                    self.encoding = "cp1252"
                    return self._cp1252(raw)
                byte, column = raw[exc.start], exc.start + 1
                self.bad_lines.append(
                    (
                        line,
                        (
                            f"not valid UTF-8 (byte 0x{byte:02x} at column {column}); "
                            f"the file is read as UTF-8 because {self.evidence}"
                        ),
                    )
                )
                return raw.decode("utf-8", "replace")
            if self.encoding is None:
                self.encoding = "utf-8"
                self.evidence = f"line {line} is valid UTF-8"
            return text
        if self.encoding == "cp1252":
            return self._cp1252(raw)
        return raw.decode("ascii")

    def bad_reason(self, start: int, end: int) -> str | None:
        """The reason a record spanning lines start..end is undecodable, or None.

        Forgets bad lines up to `end`: the reader never goes back.
        """
        reason = None
        while self.bad_lines and self.bad_lines[0][0] <= end:
            line, found = self.bad_lines.popleft()
            if line >= start and reason is None:
                reason = found
        return reason

    @staticmethod
    def _cp1252(raw: bytes) -> str:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


class CsvFeed:
    """An open CSV file: its header, and its data rows with line numbers.

    Use as a context manager. `bytes_read`/`total_bytes` are on-disk (compressed) bytes, for
    a progress bar.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.total_bytes = self.path.stat().st_size
            self._raw: BinaryIO = open(self.path, "rb")  # closed in close()
        except OSError as exc:
            raise UnreadableFeed(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        self._stream: BinaryIO = self._raw
        self._physical = 0
        self._end_line = 0
        try:
            self.header = self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> list[str]:
        """Set up decompression, decoding and the csv reader; return the header row."""
        magic = self._raw.read(4)
        if magic == _ZIP_MAGIC:
            raise UnreadableFeed(
                f"{self.path} is a zip archive (an .xlsx workbook?): export it as CSV first"
            )
        if magic[:2] == _GZIP_MAGIC:
            self._raw.seek(0)
            # GzipFile.readline costs a Python call per line; a BufferedReader over it is C.
            gz = gzip.GzipFile(fileobj=self._raw, mode="rb")
            self._stream = io.BufferedReader(gz, buffer_size=1 << 16)  # type: ignore[arg-type]
        else:
            self._raw.seek(0)
        first = self._read_raw_line()
        bom = first.startswith(_BOM)
        self._decoder = _LineDecoder(bom)
        self._first = first[len(_BOM) :] if bom else first
        self.delimiter = _pick_delimiter(self._first)
        self._reader = csv.reader(
            itertools.chain.from_iterable(self._blocks()), delimiter=self.delimiter
        )
        try:
            header = next(self._reader)
        except StopIteration:
            header = []
        except csv.Error as exc:
            raise UnreadableFeed(f"{self.path}: header row is not valid CSV: {exc}") from exc
        self._end_line = self._reader.line_num
        if not any(h.strip() for h in header):
            raise UnreadableFeed(f"{self.path} is empty: expected a header row")
        return [h.strip().lstrip("\ufeff") for h in header]

    def column(self, *names: str) -> int | None:
        """Index of the first header column matching one of `names` (case-insensitive)."""
        lowered = [h.lower() for h in self.header]
        for name in names:
            if name.lower() in lowered:
                return lowered.index(name.lower())
        return None

    @property
    def encoding(self) -> str:
        """'utf-8' or 'cp1252' once decided; 'ascii' while every line so far was ASCII."""
        return self._decoder.encoding or "ascii"

    @property
    def bytes_read(self) -> int:
        """On-disk bytes consumed so far."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return self.total_bytes

    def _read_raw_line(self) -> bytes:
        try:
            return self._stream.readline()
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFeed(
                f"{self.path}: cannot read past line {self._physical}: {exc}"
            ) from exc

    def _blocks(self) -> Iterator[io.StringIO]:
        """The decoded text in blocks of whole lines, each iterable line by line."""
        decoder = self._decoder
        self._physical = 1
        yield io.StringIO(decoder.decode(self._first, 1), newline="\n")
        while True:
            try:
                block = self._stream.read(_BLOCK_BYTES)
                if block and not block.endswith(b"\n"):
                    block += self._stream.readline()
            except (OSError, EOFError, zlib.error) as exc:
                raise UnreadableFeed(
                    f"{self.path}: cannot read past line {self._physical}: {exc}"
                ) from exc
            if not block:
                return
            text = decoder.decode_block(block, self._physical + 1)
            self._physical += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
            yield io.StringIO(text, newline="\n")

    def rows(self, tally: FeedTally) -> Iterator[tuple[int, list[str]]]:
        """Yield (line, fields) for each data row, padded to the header's width.

        Rows that are not decodable, not valid CSV, or wider than the header are counted in
        `tally` as read and rejected, and not yielded. Blank lines are ignored.
        """
        width = len(self.header)
        reader = self._reader
        while True:
            start = self._end_line + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._end_line = reader.line_num
                tally.rows_read += 1
                tally.reject(start, f"not valid CSV: {exc}")
                continue
            self._end_line = reader.line_num
            if not fields:
                continue
            tally.rows_read += 1
            if self._decoder.bad_lines:
                reason = self._decoder.bad_reason(start, self._end_line)
                if reason is not None:
                    tally.reject(start, reason)
                    continue
            if len(fields) != width:
                if len(fields) < width:
                    fields.extend([""] * (width - len(fields)))
                elif any(f.strip() for f in fields[width:]):
                    tally.reject(start, f"{len(fields)} fields, but the header has {width}")
                    continue
                else:
                    del fields[width:]
            yield start, fields

    def close(self) -> None:
        """Close the file (and the gzip stream over it)."""
        if self._stream is not self._raw:
            self._stream.close()
        self._raw.close()

    def __enter__(self) -> CsvFeed:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _pick_delimiter(header_line: bytes) -> str:
    """The delimiter used most in the header line (',' when none): handles ';' exports."""
    text = header_line.decode("latin-1")
    counts = {d: text.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def open_feed(path: Path) -> CsvFeed:
    """Open a CSV (plain or gzip, by its magic bytes) and read its header.

    Raises UnreadableFeed when the file is missing, unreadable, or has no header.
    A field over the csv module's 128 KiB limit (usually an unbalanced quote swallowing
    the rows after it) rejects its row rather than the file.
    """
    return CsvFeed(path)
