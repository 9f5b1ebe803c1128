"""Intervals and percentages as a clinician types them: the bounds and the exact refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from taper.doses import parse_days, parse_percent
from taper.errors import InputError


def test_the_longest_interval_is_ten_years() -> None:
    assert parse_days("3650d") == 3650
    assert parse_days("521w") == 3647
    with pytest.raises(InputError) as caught:
        parse_days("3651d")
    assert str(caught.value) == "--every: got '3651d'; an interval must be at most 3650 days"
    with pytest.raises(InputError) as caught:
        parse_days("522 weeks", "--hold")
    assert str(caught.value) == "--hold: got '522 weeks'; an interval must be at most 3650 days"


@pytest.mark.parametrize(
    "text", ["14", "fortnight", "14 months", "1.5w", "\uff11\uff14\uff44 \u0445"]
)
def test_an_interval_without_days_or_weeks_is_refused(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_days(text)
    assert (
        str(caught.value) == f"--every: got {text!r}; give whole days or weeks, such as 14d or 2w"
    )


@pytest.mark.parametrize("text", ["10", "ten %", "%", "10 percent", "1\u041e%"])
def test_a_cut_without_a_percent_sign_is_refused(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_percent(text)
    assert str(caught.value) == f"--reduce: got {text!r}; give a percentage such as 10%"


def test_percentages_are_exact_fractions() -> None:
    assert parse_percent("12.5%") == Decimal("0.125")
    assert parse_percent(" 99.9 % ") == Decimal("0.999")
    assert parse_days("\uff12w") == 14  # full-width digits fold to ASCII
