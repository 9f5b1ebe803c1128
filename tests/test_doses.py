from __future__ import annotations

from decimal import Decimal

import pytest

from taper.doses import (
    format_mg,
    format_number,
    format_percent,
    parse_days,
    parse_dose,
    parse_percent,
    plain_number,
)
from taper.errors import InputError


@pytest.mark.parametrize(
    ("text", "mg"),
    [
        ("2mg", "2"),
        ("2 mg", "2"),
        ("0.5 mg", "0.5"),
        (".5 mg", "0.5"),
        ("500 mcg", "0.5"),
        ("500 microgram", "0.5"),
        ("500 micrograms", "0.5"),
        ("125mcg", "0.125"),
        ("2 MG", "2"),
        ("2\u00a0mg", "2"),  # a non-breaking space
        ("\uff12 mg", "2"),  # a full-width digit
        ("1 g", "1000"),
        ("0.1 milligrams", "0.1"),
    ],
)
def test_parse_dose_reads_units_exactly(text: str, mg: str) -> None:
    assert parse_dose(text) == Decimal(mg)


def test_bare_number_is_refused_with_a_hint() -> None:
    with pytest.raises(InputError) as info:
        parse_dose("2")
    assert str(info.value) == "dose: got '2'; give a unit: 2 mg or 2000 mcg"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "mg",
        "2 m\u03b3",
        "2 \u043cg",
        "-1 mg",
        "two mg",
        "2 mg mg",
        "nan mg",
        "inf mg",
        "1e3 mg",
    ],
)
def test_malformed_doses_are_refused(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_dose(text, "dose")
    assert str(info.value).startswith("dose: got ")


@pytest.mark.parametrize("text", ["0 mg", "0.0 mg", "0 mcg"])
def test_zero_dose_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="above zero"):
        parse_dose(text)


def test_unknown_unit_names_the_allowed_ones() -> None:
    with pytest.raises(InputError, match="units allowed: mg, mcg"):
        parse_dose("2 ml")


def test_sums_are_exact() -> None:
    total = parse_dose("0.1 mg") + parse_dose("0.2 mg")
    assert total == Decimal("0.3")
    assert format_mg(total) == "0.3 mg"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.5", "0.5"),
        ("0.50", "0.5"),
        ("1.0", "1"),
        ("1", "1"),
        ("10", "10"),
        ("100", "100"),
        ("0.125", "0.125"),
        ("1E+1", "10"),
        ("1250.5", "1,250.5"),
        ("0.0001", "0.0001"),
    ],
)
def test_ismp_number_format(value: str, text: str) -> None:
    assert format_number(Decimal(value)) == text


def test_plain_number_has_no_thousands_comma() -> None:
    assert plain_number(Decimal("1250.50")) == "1250.5"


def test_format_mg_never_writes_a_naked_decimal_or_trailing_zero() -> None:
    assert format_mg(Decimal(".5")) == "0.5 mg"
    assert format_mg(Decimal("1.000")) == "1 mg"


@pytest.mark.parametrize(
    ("text", "days"), [("14d", 14), ("14 days", 14), ("2w", 14), ("1 week", 7)]
)
def test_parse_days(text: str, days: int) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize("text", ["0d", "14", "two weeks", "1.5w", "-3d", "5y", "9999d"])
def test_bad_intervals_are_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"^--every: got "):
        parse_days(text)


def test_parse_percent() -> None:
    assert parse_percent("10%") == Decimal("0.1")
    assert parse_percent("12.5 %") == Decimal("0.125")


@pytest.mark.parametrize("text", ["0%", "100%", "150%", "10", "-5%", "ten%"])
def test_bad_percentages_are_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"^--reduce: got "):
        parse_percent(text)


def test_format_percent_rounds_to_one_decimal() -> None:
    assert format_percent(Decimal(1) / 3) == "33.3"
    assert format_percent(Decimal("0.125")) == "12.5"
    assert format_percent(Decimal("0.25")) == "25"
