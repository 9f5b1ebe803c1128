"""The patient's page as a pill card: a dated row per period, a column per time of day, the
tablets drawn whole and in part, each product named once in a legend beside how it is taken,
and the stop day marked."""

from __future__ import annotations

import re
from decimal import Decimal
from io import BytesIO

import pytest
from pypdf import PdfReader
from reportlab.graphics.shapes import Circle, Rect, String, Wedge

import taper
from taper.reports import pillcard
from taper.reports.pdf import pdf_bytes

START = "2027-01-04"


def _patient_text(schedule: taper.Schedule) -> str:
    pages = [p.extract_text() or "" for p in PdfReader(BytesIO(pdf_bytes(schedule))).pages]
    first = next(i for i, text in enumerate(pages) if "Your plan for lowering" in text)
    return "\n".join(pages[first:])


def _shapes(drawing: object) -> list[object]:
    return list(drawing.contents)  # type: ignore[attr-defined]


def test_a_row_per_period_a_column_per_time_and_the_stop_last() -> None:
    schedule = taper.plan("lorazepam", "3 mg", per_day=3, start=START)
    keyed = pillcard.keys(schedule)
    head, rows = pillcard.card_rows(schedule, keyed, 100, lambda text: text)
    assert head == [
        ["<b>From</b>", "<b>To</b>", "<b>Morning</b>", "<b>Midday</b>", "<b>Bedtime</b>"]
    ]
    assert len(rows) == len(schedule.steps) + 1
    for row, step in zip(rows, schedule.steps, strict=False):
        assert row[0] == pillcard.short_date(step.start)
        assert row[1] == pillcard.short_date(step.end)
    stop = rows[-1]
    assert pillcard.short_date(schedule.stop_date) in stop[0]
    assert "STOP: take none" in stop[2]
    # lorazepam 3 mg in three doses: the first row's midday dose is two tablets drawn
    midday = rows[0][3]
    tablets = [s for s in _shapes(midday[0]) if isinstance(s, Circle)]
    assert len(tablets) == schedule.steps[0].at("midday").units[0].count  # type: ignore[union-attr]
    assert midday[1].startswith("2 A")


def test_a_time_with_no_dose_says_none() -> None:
    schedule = taper.plan("lorazepam", "3 mg", per_day=3, start=START)
    keyed = pillcard.keys(schedule)
    _, rows = pillcard.card_rows(schedule, keyed, 100, lambda text: text)
    last = schedule.steps[-1]
    for column, time in enumerate(pillcard.card_times(schedule), start=2):
        if last.at(time) is None:
            assert rows[-2][column] == ["none"]


def test_a_half_tablet_is_drawn_as_half_of_one() -> None:
    schedule = taper.plan("clonazepam", "2 mg", products=["tablet"], start=START)
    keyed = pillcard.keys(schedule)
    key = next(iter(keyed.values()))
    drawing = pillcard._icons([(key, Decimal("1.5"))], 200)
    shapes = _shapes(drawing)
    wedges = [s for s in shapes if isinstance(s, Wedge)]
    assert len(wedges) == 1
    assert wedges[0].endangledegrees - wedges[0].startangledegrees == 180
    # one whole tablet, and the outline of the half not taken
    assert len([s for s in shapes if isinstance(s, Circle)]) == 2
    assert [s.text for s in shapes if isinstance(s, String)] == [key.letter, key.letter]


def test_an_odt_is_drawn_square_and_icons_wrap_in_a_narrow_cell() -> None:
    schedule = taper.plan("clonazepam", "2 mg", products=["odt"], start=START)
    keyed = pillcard.keys(schedule)
    key = next(k for k in keyed.values() if k.product.form == "odt")
    narrow = pillcard._icons([(key, Decimal(5))], 3 * (pillcard.ICON + pillcard.GAP))
    squares = [s for s in _shapes(narrow) if isinstance(s, Rect)]
    assert len(squares) == 5
    assert len({s.y for s in squares}) == 2  # three on the first line, two on the next
    assert narrow.width <= 3 * (pillcard.ICON + pillcard.GAP)


def test_each_product_is_named_once_beside_how_it_is_taken() -> None:
    schedule = taper.plan("clonazepam", "2 mg", start=START)
    text = " ".join(_patient_text(schedule).split())
    assert "Your medicines" in text
    for product, _ in schedule.dispensing():
        assert text.count(product.name) == 1, product.name
    assert "place it on your tongue" in text
    # no step in paragraphs of words any more
    assert not re.search(r"From \w+day \d+ \w+ \d{4} to", text)
    assert "STOP: take none." in text


@pytest.mark.parametrize(
    ("drug", "form", "expected"),
    [
        ("clonazepam", "odt", "place it on your tongue"),
        ("alprazolam-xr", "er-tablet", "Swallow it whole; do not break"),
        ("clobazam", "film", "Take it on the tongue, as its leaflet says"),
        ("clonazepam", "tablet", "Swallow it."),
    ],
)
def test_advice_follows_the_form(drug: str, form: str, expected: str) -> None:
    product = next(p for p in taper.load_catalog().drug(drug).products if p.form == form)
    assert expected in pillcard.advice(product, halves=False)


def test_the_legend_says_how_to_halve_only_where_a_plan_halves() -> None:
    halved = taper.plan("clonazepam", "2 mg", products=["tablet"], start=START)
    tablet = next(p for p, _ in halved.dispensing() if p.split < 1)
    assert "broken along its line" in pillcard.advice(tablet, halves=True)
    assert "broken" not in pillcard.advice(tablet, halves=False)


def test_a_liquid_is_measured_as_its_label_says() -> None:
    schedule = taper.plan("clonazepam", "1 mg", at_low_doses="liquid", region="uk", start=START)
    liquid = next(p for p, _ in schedule.dispensing() if p.is_liquid)
    assert pillcard.advice(liquid, halves=False).startswith(f"Measure it with {liquid.measure}")
    text = " ".join(_patient_text(schedule).split())
    assert re.search(r"\d mL [A-Z] \(0\.\d+ mg\)", text)


def test_a_switch_names_both_drugs_products_once() -> None:
    schedule = taper.plan(
        "alprazolam", "3 mg", switch_to="diazepam", table="va-dod-2021", start=START
    )
    keyed = pillcard.keys(schedule)
    assert {k.product.drug for k in keyed.values()} == {"alprazolam", "diazepam"}
    _, rows = pillcard.card_rows(schedule, keyed, 100, lambda text: text)
    assert len(rows) == len(schedule.periods()) + 1
    assert len({k.letter for k in keyed.values()}) == len(keyed)


def test_a_hold_says_it_keeps_the_dose() -> None:
    first = taper.plan("clonazepam", "2 mg", start=START)
    again = taper.replan(first, "2027-03-01", hold_days=28)
    keyed = pillcard.keys(again)
    _, rows = pillcard.card_rows(again, keyed, 100, lambda text: text)
    marked = [row[0] for row in rows if "hold: the same dose" in row[0]]
    assert len(marked) == sum(step.held for step in again.steps) >= 1
