"""The chart drawn for the PDF: the same layers as the PNG and SVG chart
(:func:`taper.reports.chart.chart_model`), as vector shapes in reportlab's graphics, so the
page holds lines and text at any zoom, made in a fraction of matplotlib's time.

Ticks the ISMP way (no trailing zero), dates that read as dates, the legend below the axes
where it hides no line. reportlab is imported here only.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from .chart import Line, Marks, Model, Rule, Span, ismp_tick

if TYPE_CHECKING:
    from reportlab.graphics.shapes import Drawing

#: the type size of ticks and the legend, and of the title, in points
SMALL, TITLE = 7.0, 8.5
#: a legend row's height, in points
ROW = 10.0
#: the most date ticks along the axis
MOST_DATES = 9
INK = "#1f2933"
FONT = "Helvetica"


def nice_ticks(top: float, most: int = 6) -> list[float]:
    """Ticks from 0 to at most ``top`` at a round step (1, 2, 2.5 or 5 times a power of ten),
    at most ``most`` of them past 0."""
    if top <= 0:
        return [0.0]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [k * step for k in range(int(top / step + 1e-9) + 1)]


def date_marks(first: date, last: date, most: int = MOST_DATES) -> list[tuple[date, str]]:
    """Dates to tick between ``first`` and ``last``: days or weeks (``4 Jan``, with a month's
    first day as ``Feb 2027``), months (``Feb 2027``) or years (``2028``), the finest that
    gives at most ``most`` ticks."""
    span = (last - first).days
    for days in (1, 2, 7, 14):
        if span // days + 1 <= most:
            ticks = [first + timedelta(days=k) for k in range(0, span + 1, days)]
            if days == 7:
                ticks = [d for d in _every_day(first, last) if d.weekday() == 0]
            elif days == 14:
                ticks = [d for d in _every_day(first, last) if d.day in (1, 15)]
            return [(d, _day_label(d)) for d in ticks]
    for months in (1, 2, 3, 6):
        ticks = _month_starts(first, last, months)
        if len(ticks) <= most:
            return [(d, f"{d.strftime('%b')} {d.year}") for d in ticks]
    years = 1
    while len(_year_starts(first, last, years)) > most:
        years += 1
    return [(d, str(d.year)) for d in _year_starts(first, last, years)]


def _every_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def _day_label(day: date) -> str:
    return f"{day.strftime('%b')} {day.year}" if day.day == 1 else f"{day.day} {day.strftime('%b')}"


def _month_starts(first: date, last: date, every: int) -> list[date]:
    out: list[date] = []
    year, month = first.year, first.month
    while True:
        day = date(year, month, 1)
        if day > last:
            return out
        if day >= first and (month - 1) % every == 0:
            out.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _year_starts(first: date, last: date, every: int) -> list[date]:
    return [
        date(y, 1, 1)
        for y in range(first.year + 1, last.year + 1)
        if y % every == 0 and date(y, 1, 1) <= last
    ]


def legend_labels(model: Model) -> list[tuple[Line | Span | Marks | Rule, str]]:
    """Each labelled layer, in the order drawn: the legend's entries."""
    return [(layer, layer.label) for layer in model.layers if layer.label]


def pdf_chart(model: Model, width: float, height: float) -> Drawing:
    """The chart as a reportlab drawing ``width`` by ``height`` points."""
    from reportlab.graphics.shapes import Drawing, Group, Rect, String
    from reportlab.graphics.shapes import Line as Stroke
    from reportlab.lib import colors

    ink = colors.HexColor(INK)
    drawing = Drawing(width, height)
    entries = legend_labels(model)
    legend_rows = -(-len(entries) // 2)
    left, right = 34.0, 40.0
    bottom = 14.0 + legend_rows * ROW + 4
    top = 16.0
    plot_w, plot_h = width - left - right, height - bottom - top
    y_top = model.top * 1.08
    # a little room past the stop, so its mark sits clear of the right axis
    span_days = max(1, (model.last - model.first).days) * 1.03

    def x_of(day: date) -> float:
        return left + plot_w * ((day - model.first).days / span_days)

    def y_of(value: float) -> float:
        return bottom + plot_h * (value / y_top)

    from .glyphs import in_font

    drawing.add(
        String(
            left, height - TITLE - 2, in_font(model.title), fontName=FONT, fontSize=TITLE,
            fillColor=ink,
        )
    )  # fmt: skip
    grey = colors.HexColor("#e0e0e0")
    for value in nice_ticks(y_top):
        y = y_of(value)
        drawing.add(Stroke(left, y, left + plot_w, y, strokeColor=grey, strokeWidth=0.5))
        drawing.add(
            String(
                left - 3,
                y - 2.4,
                ismp_tick(value),
                fontName=FONT,
                fontSize=SMALL,
                textAnchor="end",
                fillColor=ink,
            )
        )
    # the right axis: % of the starting dose
    for pct in nice_ticks(y_top / model.start_dose * 100):
        y = y_of(pct * model.start_dose / 100)
        drawing.add(
            Stroke(left + plot_w, y, left + plot_w + 3, y, strokeColor=ink, strokeWidth=0.5)
        )
        drawing.add(
            String(
                left + plot_w + 5,
                y - 2.4,
                ismp_tick(pct),
                fontName=FONT,
                fontSize=SMALL,
                fillColor=ink,
            )
        )
    _axis_label(drawing, "mg a day", 8, bottom + plot_h / 2, ink)
    _axis_label(drawing, "% of the starting dose", width - 6, bottom + plot_h / 2, ink)
    plot = Group()
    for layer in model.layers:
        plot.add(_layer(layer, x_of, y_of, bottom, plot_h))
    drawing.add(plot)
    # the frame: left, bottom and right axes
    drawing.add(
        Rect(left, bottom, plot_w, plot_h, fillColor=None, strokeColor=ink, strokeWidth=0.6)
    )
    for day, label in date_marks(model.first, model.last):
        x = x_of(day)
        drawing.add(Stroke(x, bottom, x, bottom - 3, strokeColor=ink, strokeWidth=0.5))
        drawing.add(
            String(
                x,
                bottom - 10,
                label,
                fontName=FONT,
                fontSize=SMALL,
                textAnchor="middle",
                fillColor=ink,
            )
        )
    # the legend, in two columns below the dates
    column = (width - left - right) / 2
    for i, (layer, label) in enumerate(entries):
        row, col = divmod(i, 2)
        x = left + col * column
        y = bottom - 22 - row * ROW
        drawing.add(_key(layer, x, y + 2.5))
        drawing.add(String(x + 20, y, in_font(label), fontName=FONT, fontSize=SMALL, fillColor=ink))
    return drawing


def _axis_label(drawing: Drawing, text: str, x: float, y: float, ink: Any) -> None:
    from reportlab.graphics.shapes import Group, String

    label = Group(
        String(0, 0, text, fontName=FONT, fontSize=SMALL, textAnchor="middle", fillColor=ink)
    )
    label.translate(x, y)
    label.rotate(90)
    drawing.add(label)


def _layer(
    layer: Line | Span | Marks | Rule,
    x_of: Any,
    y_of: Any,
    bottom: float,
    plot_h: float,
) -> Any:
    from reportlab.graphics.shapes import Group, PolyLine, Rect
    from reportlab.graphics.shapes import Line as Stroke
    from reportlab.lib import colors

    colour = colors.HexColor(layer.color)
    if isinstance(layer, Span):
        x0, x1 = x_of(layer.first), x_of(layer.end)
        return Rect(
            x0,
            bottom,
            x1 - x0,
            plot_h,
            fillColor=colour,
            fillOpacity=layer.alpha,
            strokeColor=None,
            strokeWidth=0,
        )
    if isinstance(layer, Rule):
        x = x_of(layer.day)
        return Stroke(
            x, bottom, x, bottom + plot_h, strokeColor=colour, strokeWidth=1, strokeDashArray=[1, 2]
        )
    if isinstance(layer, Line):
        points: list[float] = []
        pairs = list(zip(layer.days, layer.values, strict=True))
        for k, (day, value) in enumerate(pairs):
            points += [x_of(day), y_of(value)]
            if layer.steps and k + 1 < len(pairs):
                points += [x_of(pairs[k + 1][0]), y_of(value)]
        return PolyLine(
            points,
            strokeColor=colour,
            strokeWidth=layer.width * 0.75,
            strokeOpacity=layer.alpha,
            strokeDashArray=[3, 2] if layer.dash else None,
            strokeLineJoin=1,
        )
    group = Group()
    for day, value in zip(layer.days, layer.values, strict=True):
        group.add(_marker(layer.marker, layer.size * 0.75, x_of(day), y_of(value), colour))
    return group


def _marker(kind: str, size: float, x: float, y: float, colour: Any) -> Any:
    """A circle (``o``), a triangle pointing down (``v``) or a cross (``X``) at (x, y)."""
    from reportlab.graphics.shapes import Circle, Group, Polygon
    from reportlab.graphics.shapes import Line as Stroke

    r = size / 2
    if kind == "o":
        return Circle(x, y, r, fillColor=colour, strokeColor=None)
    if kind == "v":
        return Polygon([x - r, y + r, x + r, y + r, x, y - r], fillColor=colour, strokeColor=None)
    return Group(
        Stroke(x - r, y - r, x + r, y + r, strokeColor=colour, strokeWidth=1.6),
        Stroke(x - r, y + r, x + r, y - r, strokeColor=colour, strokeWidth=1.6),
    )


def _key(layer: Line | Span | Marks | Rule, x: float, y: float) -> Any:
    """A legend's sample of ``layer``: a short line, a swatch or a marker."""
    from reportlab.graphics.shapes import Line as Stroke
    from reportlab.graphics.shapes import Rect
    from reportlab.lib import colors

    colour = colors.HexColor(layer.color)
    if isinstance(layer, Span):
        return Rect(x, y - 3, 16, 6, fillColor=colour, fillOpacity=layer.alpha, strokeColor=None)
    if isinstance(layer, Marks):
        return _marker(layer.marker, layer.size * 0.75, x + 8, y, colour)
    if isinstance(layer, Rule):
        return Stroke(x, y, x + 16, y, strokeColor=colour, strokeWidth=1, strokeDashArray=[1, 2])
    return Stroke(
        x,
        y,
        x + 16,
        y,
        strokeColor=colour,
        strokeWidth=layer.width * 0.75,
        strokeOpacity=layer.alpha,
        strokeDashArray=[3, 2] if layer.dash else None,
    )
