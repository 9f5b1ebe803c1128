"""The patient's pill card: a dated table of what to take at each time of day.

Each row is a period (from, to); each column a time of day. What to take is drawn as whole
and part tablets, each marked with its product's letter; the products are named once in a
legend, beside how each is taken (an ODT on the tongue, a liquid measured). The last row is
the stop day. reportlab is imported here only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING, Any

from ..catalog import TIMES, Product
from ..doses import format_mg
from ..schedule import Administration, Schedule, Stage, Step
from .table import product_keys

if TYPE_CHECKING:
    from reportlab.graphics.shapes import Drawing
    from reportlab.platypus import Table

#: an icon's size in points: a tablet's diameter, an ODT's side
ICON = 11.0
#: the gap between two icons
GAP = 3.0
#: each product's fill, by its letter's place: tints that still read apart in grey
FILLS = ("#e4e7eb", "#fde68a", "#bfdbfe", "#fecaca", "#bbf7d0", "#e9d5ff", "#fed7aa")
TIME_HEADINGS = {
    "morning": "Morning",
    "midday": "Midday",
    "evening": "Evening",
    "bedtime": "Bedtime",
}


@dataclass(frozen=True)
class Key:
    """A product's letter and fill on the card."""

    letter: str
    fill: str
    product: Product


def keys(schedule: Schedule) -> dict[str, Key]:
    """Each product the patient takes, by id: its letter (as on the terminal) and fill."""
    return {
        pid: Key(letter, FILLS[i % len(FILLS)], product)
        for i, (pid, (letter, product)) in enumerate(product_keys(schedule).items())
    }


def card_times(schedule: Schedule) -> tuple[str, ...]:
    """The card's columns: every time of day any period takes a dose at, in the day's order."""
    used = {a.time for period in schedule.periods() for a in period.administrations}
    return tuple(t for t in TIMES if t in used)


def short_date(day: date) -> str:
    """``Mon 4 Jan 2027``: a date a patient reads at a glance, short enough for a column."""
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b %Y')}"


def advice(product: Product, halves: bool) -> str:
    """How the product is taken, as its form's labelling says, for the legend."""
    if product.is_liquid:
        how = product.measure or "the measure supplied with it"
        return f"Measure it with {how}, exactly as each dose says."
    if product.form == "odt":
        return (
            "Peel open the blister and place it on your tongue, where it dissolves; "
            "do not split it."
        )
    if product.form == "er-tablet":
        return "Swallow it whole; do not break, crush or chew it."
    if product.taken != "swallowed":
        return f"Take it {product.taken}, as its leaflet says; do not split it."
    if halves:
        return "Swallow it. A half is one tablet broken along its line."
    return "Swallow it."


def legend(
    schedule: Schedule, keyed: dict[str, Key], width: float, para: Callable[[str], Any]
) -> Table:
    """The legend: each product's icon, its letter and name, and how it is taken."""
    from reportlab.platypus import Table, TableStyle

    halves = {
        u.product.id
        for period in schedule.periods()
        for a in period.administrations
        for u in a.units
        if u.is_split
    }
    rows = [
        [
            _icons([(key, Decimal(1))], 2 * ICON) if not key.product.is_liquid else para("mL"),
            para(f"<b>{escape(key.letter)}</b>"),
            para(escape(key.product.name)),
            para(escape(advice(key.product, key.product.id in halves))),
        ]
        for key in keyed.values()
    ]
    name = (width - 2 * ICON - 22) * 0.45
    table = Table(
        rows, colWidths=[2 * ICON + 6, 16, name, width - 2 * ICON - 22 - name], splitInRow=1
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, "#9aa5b1"),
            ]
        )
    )
    return table


def card_rows(
    schedule: Schedule,
    keyed: dict[str, Key],
    cell_width: float,
    para: Callable[[str], Any],
) -> tuple[list[list[Any]], list[list[Any]]]:
    """The card's heading row and a row per period (the stop day's row last)."""
    times = card_times(schedule)
    head = [
        para("<b>From</b>"),
        para("<b>To</b>"),
        *[para(f"<b>{TIME_HEADINGS[t]}</b>") for t in times],
    ]
    rows: list[list[Any]] = []
    for period in schedule.periods():
        # a hold keeps the dose before it: the patient is told so beside its dates
        held = "<br/><i>hold: the same dose</i>" if isinstance(period, Step) and period.held else ""
        rows.append(
            [
                para(escape(short_date(period.start)) + held),
                para(escape(short_date(period.end))),
                *[_cell(period, t, keyed, cell_width, para) for t in times],
            ]
        )
    stop = [
        para(f"<b>{escape(short_date(schedule.stop_date))}</b>"),
        para("<b>onwards</b>"),
        para("<b>STOP: take none.</b> This is the day you stop."),
        *[para("") for _ in times[1:]],
    ]
    rows.append(stop)
    return [head], rows


def _cell(
    period: Stage | Step,
    time: str,
    keyed: dict[str, Key],
    width: float,
    para: Callable[[str], Any],
) -> list[Any]:
    """One time of day in one period: the tablets drawn, then in words, then the dose."""
    admin = period.at(time)
    if admin is None:
        return [para("none")]
    solids = [(keyed[u.product.id], u.count) for u in admin.units if not u.product.is_liquid]
    out: list[Any] = []
    if solids:
        out.append(_icons(solids, width))
    out.append(
        para(
            f"{escape(_words(admin, keyed))} <font size=7>({escape(format_mg(admin.dose))})</font>"
        )
    )
    return out


def _words(admin: Administration, keyed: dict[str, Key]) -> str:
    """``1½ A + 2 B``; a liquid as ``0.3 mL C``."""
    return " + ".join(f"{u.amount()} {keyed[u.product.id].letter}" for u in admin.units)


def _icons(solids: Sequence[tuple[Key, Decimal]], width: float) -> Drawing:
    """Whole and part tablets in a row, wrapping to the next where the row is full."""
    from reportlab.graphics.shapes import Drawing

    pieces: list[tuple[Key, Decimal]] = []
    for key, count in solids:
        whole, part = divmod(count, 1)
        pieces += [(key, Decimal(1))] * int(whole)
        if part:
            pieces.append((key, part))
    per_row = max(1, int((width + GAP) // (ICON + GAP)))
    lines = -(-len(pieces) // per_row)
    height = lines * (ICON + GAP) - GAP + 1
    drawing = Drawing(min(width, len(pieces) * (ICON + GAP)), height)
    for i, (key, share) in enumerate(pieces):
        row, col = divmod(i, per_row)
        x = col * (ICON + GAP) + 0.5
        y = height - 0.5 - ICON - row * (ICON + GAP)
        for shape in _icon(key, share, x, y):
            drawing.add(shape)
    return drawing


def _icon(key: Key, share: Decimal, x: float, y: float) -> list[Any]:
    """One piece at (x, y): a round tablet (a wedge for a part of one), a square ODT or film,
    a long capsule; each with its product's letter."""
    from reportlab.graphics.shapes import Circle, Rect, String, Wedge
    from reportlab.lib import colors

    ink, fill = colors.HexColor("#1f2933"), colors.HexColor(key.fill)
    r = ICON / 2
    cx, cy = x + r, y + r
    product = key.product
    shapes: list[Any] = []
    if product.form == "capsule":
        shapes.append(
            Rect(x - 1, y + 2, ICON + 2, ICON - 4, rx=3, ry=3, fillColor=fill, strokeColor=ink)
        )
    elif product.taken != "swallowed":
        shapes.append(Rect(x, y, ICON, ICON, rx=2, ry=2, fillColor=fill, strokeColor=ink))
    elif share == 1:
        shapes.append(Circle(cx, cy, r, fillColor=fill, strokeColor=ink, strokeWidth=0.7))
    else:
        # the part taken, drawn as its share of the tablet; the rest in dashed outline
        shapes.append(
            Circle(
                cx, cy, r, fillColor=None, strokeColor=ink, strokeWidth=0.4, strokeDashArray=[1, 1]
            )
        )
        end = 90 + float(share) * 360
        shapes.append(Wedge(cx, cy, r, 90, end, fillColor=fill, strokeColor=ink, strokeWidth=0.7))
    whole = share == 1 or product.taken != "swallowed"
    # the letter at the centre of a whole piece, in the drawn part of a split one
    at = cx if whole else cx - r * 0.5
    shapes.append(
        String(
            at,
            cy - 2.2,
            key.letter,
            fontName="Helvetica-Bold",
            fontSize=6.5 if whole else 4.5,
            textAnchor="middle",
            fillColor=ink,
        )
    )
    return shapes
