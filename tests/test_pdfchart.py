"""The PDF's chart: vector shapes and text drawn from the same layers as the PNG and SVG
chart, with ISMP ticks, dates that read as dates and a legend below the lines."""

from __future__ import annotations

import re
from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader
from reportlab.graphics.shapes import Drawing, Group, PolyLine, String

import taper
from taper.reports.chart import IDEAL, REALISED, Line, chart_figure, chart_model
from taper.reports.pdf import pdf_bytes
from taper.reports.pdfchart import date_marks, legend_labels, nice_ticks, pdf_chart

START = "2027-01-04"


def _strings(node: object) -> list[str]:
    if isinstance(node, String):
        return [node.text]
    if isinstance(node, Drawing | Group):
        return [text for child in node.contents for text in _strings(child)]
    return []


def _lines(node: object) -> list[PolyLine]:
    if isinstance(node, PolyLine):
        return [node]
    if isinstance(node, Drawing | Group):
        return [line for child in node.contents for line in _lines(child)]
    return []


def test_the_pdf_chart_is_vector_text_and_lines_not_an_image() -> None:
    schedule = taper.plan("clonazepam", "2 mg", start=START)
    first = PdfReader(BytesIO(pdf_bytes(schedule))).pages[0]
    assert list(first.images) == []
    text = first.extract_text()
    for words in ("mg a day", "% of the starting dose", REALISED, IDEAL, "clonazepam from 2 mg"):
        assert words in text


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (2.16, [0, 0.5, 1, 1.5, 2]),
        (108, [0, 20, 40, 60, 80, 100]),
        (0.54, [0, 0.1, 0.2, 0.3, 0.4, 0.5]),
        (43.2, [0, 10, 20, 30, 40]),
    ],
)
def test_ticks_are_round_numbers_from_zero(top: float, ticks: list[float]) -> None:
    assert nice_ticks(top) == pytest.approx(ticks)


@pytest.mark.parametrize(
    ("first", "last", "pattern"),
    [
        (date(2027, 1, 4), date(2027, 1, 10), r"\d{1,2} Jan"),
        (date(2027, 1, 4), date(2027, 2, 20), r"\d{1,2} (Jan|Feb)|Feb 2027"),
        (date(2027, 1, 4), date(2028, 1, 20), r"[A-Z][a-z]{2} 202[78]"),
        (date(2027, 1, 4), date(2035, 6, 1), r"20\d\d"),
    ],
)
def test_dates_read_as_dates(first: date, last: date, pattern: str) -> None:
    marks = date_marks(first, last)
    assert 2 <= len(marks) <= 9
    assert all(first <= day <= last for day, _ in marks)
    assert [day for day, _ in marks] == sorted(day for day, _ in marks)
    assert all(re.fullmatch(pattern, label) for _, label in marks), marks


@pytest.mark.parametrize(
    "make",
    [
        lambda: taper.plan("zolpidem", "10 mg", start=START),
        lambda: taper.plan(
            "alprazolam", "3 mg", switch_to="diazepam", table="va-dod-2021", start=START
        ),
        lambda: taper.replan(
            taper.plan("clonazepam", "2 mg", start=START), "2027-03-01", hold_days=28
        ),
    ],
    ids=["short", "switch", "re-plan with a hold"],
)
def test_every_line_is_in_the_legend_as_matplotlib_draws_it(make: object) -> None:
    schedule = make()  # type: ignore[operator]
    model = chart_model(schedule)
    assert all(layer.label for layer in model.layers if isinstance(layer, Line))
    labels = [label for _, label in legend_labels(model)]
    drawing = pdf_chart(model, 500, 190)
    texts = _strings(drawing)
    assert all(label in texts for label in labels)
    assert len(_lines(drawing)) == len([x for x in model.layers if isinstance(x, Line)])
    # the PNG's legend names the same layers
    legend = chart_figure(schedule).axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == labels
    # every tick reads the ISMP way: no trailing zero, a leading zero
    numbers = [t for t in texts if re.fullmatch(r"[\d.]+", t)]
    assert numbers and all(re.fullmatch(r"0|0\.\d*[1-9]|[1-9]\d*(\.\d*[1-9])?", n) for n in numbers)


def test_the_legend_sits_below_the_lines() -> None:
    model = chart_model(taper.plan("clonazepam", "0.5 mg", start=START))
    drawing = pdf_chart(model, 500, 190)
    legend = {label for _, label in legend_labels(model)}
    lowest_line = min(y for line in _lines(drawing) for y in line.points[1::2])
    legend_tops = [
        s.y + s.fontSize for s in drawing.contents if isinstance(s, String) and s.text in legend
    ]
    assert legend_tops and max(legend_tops) < lowest_line
