"""The one reader of the text files a user gives taper: protocols, catalogs, formularies,
rosters and schedules.

Each is read the same way: a regular file, of at most :data:`MAX_BYTES`, UTF-8 with or without
a byte-order mark, with no NUL byte. What is wrong is said in one line naming the file; a CSV
whose columns are not separated by commas is told so (:func:`one_column_header`).
"""

from __future__ import annotations

import codecs
import tomllib
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from .doses import LARGEST_MG, normalize
from .errors import InputError, TaperError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

#: characters that move a terminal's cursor or turn its text (bidirectional overrides)
_TURNS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def printable(text: str) -> str:
    """``text`` for a terminal: control characters (an escape sequence in a rule's name, a
    carriage return) and bidirectional overrides removed; line breaks and tabs kept."""
    import unicodedata

    return "".join(
        c for c in text if c in "\n\t" or (unicodedata.category(c) != "Cc" and c not in _TURNS)
    )


#: dates taper reads and writes: bounds of sense, not clinical figures, that keep every date
#: a plan prints a real one
EARLIEST, LATEST = date(1970, 1, 1), date(2200, 12, 31)

#: a file larger than this is not one taper reads (the largest catalog is under 200 kB):
#: taper's own bound, so that a wrong file is refused rather than read into memory
MAX_BYTES = 5_000_000


def read_text(
    path: str | Path,
    field: str,
    kind: str = "text",
    error: Callable[[str, str, str], TaperError] = InputError,
    limit: int = MAX_BYTES,
) -> str:
    """The text of the file at ``path``, or ``error(field, path, why)``.

    ``kind`` says what the file should be (``CSV``, ``TOML``), in the messages.
    """
    import os
    import stat

    name = str(path)
    try:
        # opened without waiting, so that a pipe with no writer is refused rather than read
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise error(field, name, f"a {kind} file; this is not a regular file")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise error(field, name, f"cannot read the file ({exc.strerror})") from None
    if len(data) > limit:
        raise error(field, name, f"a {kind} file of at most {limit} bytes")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise error(field, name, f"UTF-16 text; save it as {kind} in UTF-8")
    if b"\x00" in data:
        raise error(field, name, f"not a {kind} file (it holds binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            field,
            name,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}); "
            f"save it as {kind} in UTF-8",
        ) from None


def read_toml(
    path: str | Path, field: str, error: Callable[[str, str, str], TaperError] = InputError
) -> dict[str, Any]:
    """A TOML file the user gives (a protocol, a catalog, a formulary), parsed."""
    text = read_text(path, field, "TOML", error)
    return parse_toml(text, str(path), error)


def parse_toml(
    text: str, origin: str, error: Callable[[str, str, str], TaperError] = InputError
) -> dict[str, Any]:
    """TOML text parsed, or ``error(origin, "", why)``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(origin, "", f"not valid TOML: {exc}") from None
    except ValueError:  # a whole number of thousands of digits, past what int reads
        raise error(origin, "", "not valid TOML: a number far too long") from None
    except RecursionError:
        raise error(origin, "", "not valid TOML: nested too deeply") from None


def csv_records(text: str, fail: Callable[[str], Exception]) -> list[list[str]]:
    """Every record of a CSV text, a blank line as an empty one (so that a record's place
    is its line's; a lone carriage return ends a row, as in a file); ``fail(why)`` is raised
    for text the csv module cannot read (a cell past its size limit, a stray NUL)."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return list(reader)
    except csv.Error as exc:
        raise fail(f"not a readable CSV file (line {reader.line_num}: {exc})") from None


def one_column_header(header: Sequence[str]) -> str | None:
    """The separator a CSV's header seems to use in place of commas (``;``, a tab or ``|``),
    where the header reads as a single column; else ``None``."""
    if len(header) != 1:
        return None
    return next((sep for sep in ";\t|" if sep in header[0]), None)


def comma_hint(header: Sequence[str]) -> str:
    """What to say of a header that reads as one column: separate the columns with commas."""
    return f"the header is one column {header[0].strip()!r}; separate the columns with commas"


def digits(text: str) -> bool:
    """Whether ``text`` is a whole number in ASCII digits (``"²"`` is a digit to Python), of
    at most 18 of them: no count, day or limit in a file comes near, and the bound keeps a
    number of thousands of digits from ``int``, which refuses them."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def number(raw: object, where: str, allow_zero: bool = False) -> Decimal:
    """A number of mg as a file writes it (``0.5``; not ``5e-1``), or an error at ``where``."""
    text = str(raw).strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero) or "e" in text.lower():
        raise InputError(where, text, "a number of mg such as 0.5")
    if value >= LARGEST_MG:
        raise InputError(where, text, "a number far too large to be a dose")
    return normalize(value)


def day(raw: object, where: str) -> date:
    """A date written YYYY-MM-DD, within the dates taper accepts, or an error at ``where``."""
    try:
        value = date.fromisoformat(str(raw).strip())
    except ValueError:
        raise InputError(where, str(raw), "a date written YYYY-MM-DD") from None
    if not EARLIEST <= value <= LATEST:
        raise InputError(
            where, str(raw), f"a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}"
        )
    return value


def percent_cap(raw: object, where: str) -> Decimal:
    """A cap written in percent (``25``), as a fraction."""
    text = str(raw).strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 < value < 100:
        raise InputError(where, text, "a cap above 0 and below 100 (per cent)")
    return normalize(value / 100)
