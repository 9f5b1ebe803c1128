"""Exact dose quantities: parsing what a clinician types, printing the ISMP way.

Doses are :class:`decimal.Decimal` milligrams throughout, so that sums of
tablet strengths are exact (no ``0.30000000000000004``). Printing follows the
ISMP List of Error-Prone Abbreviations (ISMP 2021): a leading zero
(``0.5 mg``, never ``.5 mg``), no trailing zero (``1 mg``, never ``1.0 mg``),
``mcg`` rather than ``µg``, and commas in numbers of 1,000 or more.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

from .errors import InputError

#: targets (ideal doses) are kept to a tenth of a microgram
TARGET_QUANTUM = Decimal("0.0001")

_UNITS = {
    "mg": Decimal(1),
    "milligram": Decimal(1),
    "milligrams": Decimal(1),
    "mcg": Decimal("0.001"),
    "microgram": Decimal("0.001"),
    "micrograms": Decimal("0.001"),
    "g": Decimal(1000),
    "gram": Decimal(1000),
    "grams": Decimal(1000),
}
_NUMBER = r"(?P<num>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
_DOSE_RE = re.compile(_NUMBER + r"\s*(?P<unit>[a-z]+)?")
_DURATION_UNITS = {"d": 1, "day": 1, "days": 1, "w": 7, "wk": 7, "week": 7, "weeks": 7}
_PERCENT_RE = re.compile(_NUMBER + r"\s*%")


def _clean(text: str) -> str:
    # NFKC folds full-width digits and non-breaking spaces; anything still
    # outside ASCII (a Cyrillic letter in "mg") is refused below. A superscript, subscript or
    # other such number ("1⁰mg", "0.5₀mg", "½") is kept out of the fold, so it is refused
    # too: folded, "1⁰mg" would read as 10 mg.
    kept = "".join("\ufffd" if unicodedata.category(c) == "No" else c for c in str(text))
    return unicodedata.normalize("NFKC", kept).strip().lower()


def parse_dose(text: str | Decimal, field: str = "dose") -> Decimal:
    """Read a dose such as ``2mg``, ``0.5 mg`` or ``500 mcg`` as exact milligrams.

    Parameters
    ----------
    text
        The dose as typed. A unit is required.
    field
        The name of the input, used in the error message.

    Returns
    -------
    Decimal
        The dose in mg, greater than zero.

    Raises
    ------
    InputError
        For a bare number, an unknown unit, or a dose that is not above zero.

    Examples
    --------
    >>> parse_dose("500 mcg")
    Decimal('0.5')
    >>> format_mg(parse_dose("2mg"))
    '2 mg'
    """
    if isinstance(text, Decimal):
        return _positive(text, field, str(text))
    raw = str(text)
    cleaned = _clean(raw)
    match = _DOSE_RE.fullmatch(cleaned)
    if not cleaned.isascii() or match is None:
        raise InputError(field, raw, "give a dose with a unit, such as 2 mg or 500 mcg")
    unit = match.group("unit")
    number = Decimal(match.group("num"))
    if unit is None:
        if number >= LARGEST_MG:
            raise InputError(field, raw, "a number far too large to be a dose")
        whole = plain_number(number)
        micro = plain_number(number * 1000)
        raise InputError(field, raw, f"give a unit: {whole} mg or {micro} mcg")
    if unit not in _UNITS:
        raise InputError(field, raw, "units allowed: mg, mcg (microgram), g")
    return _positive(number * _UNITS[unit], field, raw)


#: no dose of any drug comes near a kilogram: a bound of sense that keeps numbers exact
LARGEST_MG = Decimal(10) ** 6


def _positive(value: Decimal, field: str, raw: str) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise InputError(field, raw, "a dose must be above zero")
    if value >= LARGEST_MG:
        raise InputError(field, raw, "a number far too large to be a dose")
    return normalize(value)


def parse_days(text: str, field: str = "every") -> int:
    """Read an interval such as ``14d``, ``2w`` or ``14 days`` as a whole number of days.

    Examples
    --------
    >>> parse_days("2w")
    14
    """
    raw = str(text)
    cleaned = _clean(raw)
    match = re.fullmatch(r"(?P<num>[0-9]+)\s*(?P<unit>[a-z]+)", cleaned)
    if not cleaned.isascii() or match is None or match.group("unit") not in _DURATION_UNITS:
        raise InputError(field, raw, "give whole days or weeks, such as 14d or 2w")
    days = int(match.group("num")) * _DURATION_UNITS[match.group("unit")]
    if days < 1:
        raise InputError(field, raw, "an interval must be at least 1 day")
    if days > 3650:
        raise InputError(field, raw, "an interval must be at most 3650 days")
    return days


def parse_percent(text: str, field: str = "reduce") -> Decimal:
    """Read a percentage such as ``10%`` as an exact fraction (``0.1``).

    Examples
    --------
    >>> parse_percent("12.5%")
    Decimal('0.125')
    """
    raw = str(text)
    cleaned = _clean(raw)
    match = _PERCENT_RE.fullmatch(cleaned)
    if not cleaned.isascii() or match is None:
        raise InputError(field, raw, "give a percentage such as 10%")
    value = Decimal(match.group("num"))
    if not value.is_finite() or value <= 0 or value >= 100:
        raise InputError(field, raw, "a cut must be above 0 % and below 100 %")
    return normalize(value / 100)


def normalize(value: Decimal) -> Decimal:
    """An exact decimal with no trailing zeros and no exponent."""
    try:
        value = value.normalize()
    except InvalidOperation:  # pragma: no cover - only for NaN, refused earlier
        return value
    if value == value.to_integral():
        return value.quantize(Decimal(1))
    return value


def quantize_target(value: Decimal) -> Decimal:
    """Round an ideal dose to a tenth of a microgram, half to even."""
    return normalize(value.quantize(TARGET_QUANTUM, rounding=ROUND_HALF_EVEN))


def ceil_int(value: Decimal) -> int:
    """The smallest whole number not below ``value``."""
    return int(value.to_integral_value(rounding=ROUND_CEILING))


@lru_cache(maxsize=4096, typed=True)  # the text depends on the value alone; plans share few
def format_number(value: Decimal) -> str:
    """An exact decimal written the ISMP way, without unit.

    Examples
    --------
    >>> format_number(Decimal("0.50"))
    '0.5'
    >>> format_number(Decimal("1.0"))
    '1'
    """
    value = normalize(value)
    if value == 0:
        return "0"  # never "-0"; and 0 and -0 share one entry in the cache
    text = f"{value:f}"
    if "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0")
    else:
        whole, frac = text, ""
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("-") or "0"
    whole = f"{int(whole):,}"
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


def plain_number(value: Decimal) -> str:
    """An exact decimal for machine-read files: ISMP form without thousands commas.

    Examples
    --------
    >>> plain_number(Decimal("1250.50"))
    '1250.5'
    """
    return format_number(value).replace(",", "")


def format_mg(value: Decimal) -> str:
    """A dose in mg written the ISMP way.

    Examples
    --------
    >>> format_mg(Decimal("0.125"))
    '0.125 mg'
    """
    return f"{format_number(value)} mg"


def format_percent(fraction: Decimal, places: int = 1) -> str:
    """A fraction as a percentage rounded to ``places`` decimals (``0.125`` -> ``12.5``)."""
    quantum = Decimal(1).scaleb(-places)
    return plain_number((fraction * 100).quantize(quantum, rounding=ROUND_HALF_EVEN))
