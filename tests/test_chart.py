"""The chart reads as the table does: ISMP numbers, dates that read as dates, a legend that
hides no line, every segment labelled."""

from __future__ import annotations

import re

import pytest

import taper
from taper.reports.chart import BEFORE, chart_figure

START = "2027-01-04"
SHORT = {
    "clonazepam 0.5 mg": lambda: taper.plan("clonazepam", "0.5 mg", start=START),
    "zolpidem": lambda: taper.plan("zolpidem", "10 mg", start=START),
    "a switch": lambda: taper.plan(
        "alprazolam", "3 mg", switch_to="diazepam", table="va-dod-2021", start=START
    ),
}


def _drawn(make: object):  # type: ignore[no-untyped-def]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = chart_figure(make())  # type: ignore[operator]
    FigureCanvasAgg(figure).draw()
    return figure, figure.axes[0]


@pytest.mark.parametrize("name", SHORT)
def test_ticks_are_ismp_numbers_and_dates(name: str) -> None:
    _, ax = _drawn(SHORT[name])
    numbers = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert numbers and all(re.fullmatch(r"0|0\.\d*[1-9]|[1-9]\d*(\.\d*[1-9])?", n) for n in numbers)
    dates = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    # "4 Jan", "Feb 2027", "2027": never a bare day number such as "08"
    assert dates and all(
        re.fullmatch(r"\d{1,2} [A-Z][a-z]{2}|[A-Z][a-z]{2} \d{4}|\d{4}", d) for d in dates
    )


@pytest.mark.parametrize("name", SHORT)
def test_the_legend_is_below_the_lines_and_every_segment_is_named(name: str) -> None:
    figure, ax = _drawn(SHORT[name])
    renderer = figure.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.y1 <= ax.get_window_extent(renderer).y0  # wholly below the plotting area
    assert legend.x0 >= 0 and legend.x1 <= figure.bbox.x1  # and within the figure
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert all(not label.startswith("_") for label in labels)
    named = {line.get_label() for line in ax.get_lines()}
    assert all(not label.startswith("_") for label in named)
    if name != "a switch":
        assert BEFORE in labels
