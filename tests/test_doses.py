from __future__ import annotations

import re
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
from taper.errors import InputError, TaperError

#: a number as a message writes it: 2, 0.125, 20,000, or a date, 2027-01-10
_NUMBER = re.compile(r"\d{4}-\d{2}-\d{2}|(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?")


def numbers(text: str) -> list[str]:
    """The numbers a message states, in order: its doses, percentages, days, counts and dates."""
    return _NUMBER.findall(text)


def refusal(error: TaperError) -> tuple[str, object, list[str]]:
    """What a refusal says: the field it names, what was given and the numbers it allows."""
    return error.field, error.given, numbers(f"{error.allowed} {error.hint}")


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


def test_an_interval_is_at_most_ten_years() -> None:
    assert parse_days("3650d") == 3650
    assert parse_days("521w") == 3647
    with pytest.raises(InputError) as caught:
        parse_days("3651d")
    assert refusal(caught.value) == ("every", "3651d", ["3650"])
    assert caught.value.allowed == "an interval must be at most 3650 days"
    with pytest.raises(InputError) as caught:
        parse_days("522 weeks", "--hold")
    assert refusal(caught.value) == ("--hold", "522 weeks", ["3650"])


@pytest.mark.parametrize("text", ["0d", "14", "two weeks", "1.5w", "-3d", "5y", "9999d"])
def test_bad_intervals_are_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"^every: got "):
        parse_days(text)


@pytest.mark.parametrize(
    "text", ["14", "fortnight", "14 months", "1.5w", "\uff11\uff14\uff44 \u0445"]
)
def test_an_interval_without_days_or_weeks_is_refused(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_days(text)
    # the example it gives: 14d or 2w
    assert refusal(caught.value) == ("every", text, ["14", "2"])


def test_parse_percent() -> None:
    assert parse_percent("10%") == Decimal("0.1")
    assert parse_percent("12.5 %") == Decimal("0.125")


def test_percentages_are_exact_fractions() -> None:
    assert parse_percent("12.5%") == Decimal("0.125")
    assert parse_percent(" 99.9 % ") == Decimal("0.999")
    assert parse_days("\uff12w") == 14  # full-width digits fold to ASCII


@pytest.mark.parametrize("text", ["0%", "100%", "150%", "10", "-5%", "ten%"])
def test_bad_percentages_are_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"^reduce: got "):
        parse_percent(text)


@pytest.mark.parametrize("text", ["10", "ten %", "%", "10 percent", "1\u041e%"])
def test_a_cut_without_a_percent_sign_is_refused(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_percent(text)
    # the example it gives: 10%
    assert refusal(caught.value) == ("reduce", text, ["10"])


def test_format_percent_rounds_to_one_decimal() -> None:
    assert format_percent(Decimal(1) / 3) == "33.3"
    assert format_percent(Decimal("0.125")) == "12.5"
    assert format_percent(Decimal("0.25")) == "25"
