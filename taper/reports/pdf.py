"""The plan as a PDF a clinician reads, signs and hands on.

Page 1: the prescription, the rule and its source, the dates, the chart and
the findings. Then the schedule table (its header on every page), the
dispensing totals, a page for the patient in plain words, and a sign-off
block. Every page has a footer: taper and catalog versions, the date it was
made, and page x of y. reportlab is imported here only.

With SOURCE_DATE_EPOCH set, the same plan gives the same bytes.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..catalog import Product
from ..dispensing import supply_unit
from ..doses import format_mg, format_number, format_percent
from ..schedule import Administration, Finding, Prescription, Schedule, Step
from .files import write_atomic

if TYPE_CHECKING:
    from reportlab.platypus import Flowable, Paragraph, Table

PAPERS = ("a4", "letter")
TIME_WORDS = {
    "morning": "in the morning",
    "midday": "at midday",
    "evening": "in the evening",
    "bedtime": "at bedtime",
}
INK = "#1f2933"
RULE_COLOUR = "#9aa5b1"


def generation_date() -> date:
    """SOURCE_DATE_EPOCH's date when it is set (reproducible builds), else today (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isascii() and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=UTC).date()
    return datetime.now(tz=UTC).date()


def _long_date(day: date) -> str:
    return f"{day.strftime('%A')} {day.day} {day.strftime('%B %Y')}"


def _admin_cell(admin: Administration | None) -> str:
    """An administration for a table cell: its dose, then its units, each unit kept whole on
    a line (``1 x 0.125 mg ODT`` never wraps its form away from its strength)."""
    if admin is None:
        return "none"
    units = " + ".join(escape(u.describe(short=True)).replace(" ", "&nbsp;") for u in admin.units)
    return f"<b>{escape(format_mg(admin.dose))}</b><br/>{units}"


def _patient_take(admin: Administration, named: bool = False) -> str:
    """What to take at one time in plain words; ``named`` puts the drug's name in
    (a switch holds two drugs)."""
    parts = []
    for unit in admin.units:
        drug = f"{unit.product.drug} " if named else ""
        if unit.product.is_liquid:
            parts.append(f"{unit.amount()} of the {drug}{unit.product.short}")
            continue
        count = unit.amount()
        noun = drug + unit.product.short.replace("ODT", "orally disintegrating tablet")
        whole = unit.count == 1 or (unit.count < 1)
        plural = "" if whole else "s"
        parts.append(f"{count} of the {noun}{plural}" if unit.count != 1 else f"one {noun}")
    return f"{' and '.join(parts)} ({format_mg(admin.dose)})"


def _supply_header(product: Product, named: bool = False) -> str:
    """A dispensing column's heading; ``named`` puts the drug first (a switch has two)."""
    what = f"{product.drug} {product.short}" if named else product.short
    if product.is_liquid:
        return f"{what} ({supply_unit(product)}s)" if product.pack_ml else f"{what} (mL)"
    return what


def _condensed(findings: list[Finding]) -> list[tuple[Finding, list[int]]]:
    """Findings for page 1: notes of one code are gathered into one line listing their steps."""
    out: list[tuple[Finding, list[int]]] = []
    notes: dict[str, tuple[Finding, list[int]]] = {}
    for f in findings:
        if f.severity == "info" and f.code == "target-adjusted":
            if f.code not in notes:
                notes[f.code] = (f, [])
                out.append(notes[f.code])
            if f.step is not None:
                notes[f.code][1].append(f.step)
        else:
            out.append((f, []))
    return out


class _Styles:
    def __init__(self) -> None:
        from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

        base = getSampleStyleSheet()
        self.title = ParagraphStyle(
            "t",
            parent=base["Title"],
            fontSize=17,
            leading=21,
            alignment=0,
            spaceAfter=2,
            textColor=INK,
        )
        self.h2 = ParagraphStyle(
            "h2",
            parent=base["Heading2"],
            fontSize=12,
            leading=15,
            spaceBefore=8,
            spaceAfter=4,
            textColor=INK,
        )
        self.body = ParagraphStyle(
            "b", parent=base["BodyText"], fontSize=9, leading=11.5, textColor=INK
        )
        self.small = ParagraphStyle("s", parent=self.body, fontSize=7.5, leading=9.5)
        self.cell = ParagraphStyle("c", parent=self.body, fontSize=8, leading=10)
        self.card = ParagraphStyle("k", parent=self.cell, spaceBefore=0, spaceAfter=0)
        self.big = ParagraphStyle("p", parent=self.body, fontSize=11, leading=15)


def pdf_bytes(
    schedule: Schedule,
    *,
    paper: str = "a4",
    fill_days: int = 28,
    generated: date | None = None,
) -> bytes:
    """The plan as PDF bytes (``paper`` ``a4`` or ``letter``; supplies per ``fill_days``)."""
    from reportlab.lib.pagesizes import A4, LETTER

    if paper not in PAPERS:
        raise ValueError(f"paper: got {paper!r}; one of {', '.join(PAPERS)}")
    size = A4 if paper == "a4" else LETTER
    made = generated or generation_date()
    doc = _Doc(schedule, _Styles(), _frame_width(size), fill_days, _frame_height(size))
    story = [flowable for section in _SECTIONS for flowable in section(doc)]
    return _render(story, schedule, size, made)


#: reportlab's padding inside a page's frame, on every side, in points
FRAME_PADDING = 6


def _frame_width(size: tuple[float, float]) -> float:
    """The width of a page's frame: the page less its side margins and the frame's padding,
    so that a table or chart the full width ends at the right margin, not in it."""
    return float(size[0] - 2 * _margin() - 2 * FRAME_PADDING)


def _frame_height(size: tuple[float, float]) -> float:
    """The height of a page's frame: the page less its margins, the footer's room and the
    frame's padding above and below."""
    from reportlab.lib.units import mm

    return float(size[1] - 2 * _margin() - 6 * mm - 2 * FRAME_PADDING)


def _margin() -> float:
    """The page margin on every side (the bottom has room for the footer besides)."""
    from reportlab.lib.units import mm

    return float(16 * mm)


@dataclass(frozen=True)
class _Doc:
    """What every section reads: the plan, the styles, the text width and the supply period."""

    schedule: Schedule
    st: _Styles
    width: float
    fill_days: int
    #: the height of a page's frame: what fits on one page
    height: float = 0.0

    @property
    def rx(self) -> Prescription:
        """The plan's prescription."""
        return self.schedule.prescription

    @property
    def drug(self) -> str:
        """The drug's name as the document shows it (tall-man letters where there are)."""
        return self.schedule.drug_tall_man or self.schedule.drug_display or self.rx.drug

    def para(self, text: str, style: Any = None) -> Paragraph:
        """A paragraph of ``text`` (reportlab's mini-HTML) in ``style``, body text by default."""
        from reportlab.platypus import Paragraph

        from .glyphs import in_font

        return Paragraph(in_font(text), style or self.st.body)

    def grid(
        self, rows: list[list[Any]], widths: list[float], header: bool = False, zebra: bool = False
    ) -> Table:
        """A ruled table; ``header`` repeats and shades row one, ``zebra`` stripes the rest."""
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        # a row taller than a page (a long reason or source) splits across pages
        table = Table(
            rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT", splitInRow=1
        )
        commands: list[Any] = [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor(RULE_COLOUR)),
        ]
        if header:
            commands += [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e7eb")),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor(INK)),
            ]
        if zebra:
            commands += [
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f5f7fa")])
            ]
        table.setStyle(TableStyle(commands))
        return table


# --- page 1: what the clinician signs ---------------------------------------------------------


def _title_block(doc: _Doc) -> list[Flowable]:
    """Page 1's title (the drug, or the switch's two drugs) and the planning-aid notice."""
    from reportlab.platypus import Spacer

    schedule, st = doc.schedule, doc.st
    drug = doc.drug
    title = drug if schedule.switch is None else (f"{schedule.switch.from_drug} to {drug}")
    from .glyphs import MISSING, unprintable

    missing = (
        [
            doc.para(
                f"Some characters of the names, reasons or sources given cannot be printed in "
                f"this document's font and are shown as {MISSING}; the plan's JSON and CSV "
                f"hold them as given.",
                st.small,
            )
        ]
        if unprintable(schedule)
        else []
    )
    return [
        doc.para(f"Benzodiazepine taper plan: {escape(title)}", st.title),
        doc.para(
            "For review and signature by the prescriber. A planning aid: it does not "
            "replace clinical judgement or the product labelling.",
            st.small,
        ),
        *missing,
        Spacer(1, 4),
    ]


def _facts_table(doc: _Doc) -> list[Flowable]:
    """Page 1's table of facts: the prescription, any switch or re-plan, the rule, the dates."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    schedule, st, rx = doc.schedule, doc.st, doc.rx
    drug = doc.drug
    times = ", ".join(rx.times)
    facts = [
        ["Drug", f"{escape(drug)} ({escape(rx.drug)})"],
        [
            "Starting dose" if schedule.switch is None else f"{rx.drug.capitalize()} taper from",
            f"{escape(format_mg(rx.start_dose))} a day in {rx.doses_per_day} "
            f"dose{'s' if rx.doses_per_day > 1 else ''} ({escape(times)})",
        ],
    ]
    if schedule.replan is not None:
        r = schedule.replan
        hold = f"a hold of {r.hold_days} days, then " if r.hold_days else ""
        facts.insert(
            1,
            [
                "Re-planned",
                f"from <b>{escape(_long_date(r.on))}</b>"
                f"{f' ({escape(r.reason)})' if r.reason else ''}: steps 1 to {r.history} as first "
                f"planned ({escape(r.previous_rule)}); from step {r.history + 1}, {escape(hold)}"
                f"{escape(r.rule_name)} from {escape(format_mg(r.start_dose))} a day",
            ],
        )
    switch = schedule.switch
    if switch is not None:
        low, high = switch.spread
        facts.insert(
            1,
            [
                "Switch",
                f"from <b>{escape(switch.from_drug)} "
                f"{escape(format_mg(switch.from_dose))} a day</b>, one dose at a time over "
                f"{len(switch.stages)} stages of {switch.stages[0].days} days "
                f"from {escape(_long_date(switch.start_date))}; 1 mg {escape(switch.from_drug)} is "
                f"taken as {escape(format_mg(switch.factor))} {escape(switch.to_drug)} by the "
                f"{escape(switch.table_title)}; the tables give {escape(format_mg(low))} to "
                f"{escape(format_mg(high))} a day in all. <i>Source: {escape(switch.source)}</i>",
            ],
        )
    patient = rx.patient
    about = []
    if patient.indication:
        about.append(f"taken for {patient.indication.replace('-', ' ')}")
    if patient.age is not None:
        about.append(f"age {patient.age}")
    if patient.weight_kg is not None:
        about.append(f"{format_number(patient.weight_kg)} kg")
    if patient.use_months is not None:
        about.append(f"taken for {patient.use_months} months")
    if about:
        facts.append(["Patient", escape(", ".join(about))])
    facts += [
        [
            "Products",
            # what the plan dispenses, a switch's first drug's products among them
            escape(", ".join(p.name for p, _ in schedule.dispensing())) + f" ({rx.region.upper()})",
        ],
        ["Rule", f"<b>{escape(schedule.rule_name)}</b>: {escape(schedule.rule_description)}"],
        ["Rule's source", escape(schedule.rule_source or "the clinician")],
        [
            "Dates",
            f"first cut {escape(_long_date(rx.start_date))}; last dose "
            f"{escape(_long_date(schedule.steps[-1].end))}; no dose from "
            f"{escape(_long_date(schedule.stop_date))}",
        ],
        [
            "Duration",
            f"{schedule.duration_days} days ({schedule.duration_days / 7:.1f} weeks) "
            f"in {len(schedule.steps)} step{'s' if len(schedule.steps) != 1 else ''}; "
            + _cuts_line(schedule),
        ],
        ["Stop", escape(_stop_line(schedule))],
    ]
    return [
        doc.grid(
            [[doc.para(f"<b>{k}</b>", st.cell), doc.para(v, st.cell)] for k, v in facts],
            [30 * mm, doc.width - 30 * mm],
        ),
        Spacer(1, 6),
    ]


def _chart(doc: _Doc) -> list[Flowable]:
    """Page 1's chart of the daily dose over the plan, the full text width, drawn in vector
    shapes from the same layers as the PNG and SVG chart."""
    from reportlab.lib.units import mm

    from .chart import chart_model
    from .pdfchart import pdf_chart

    return [pdf_chart(chart_model(doc.schedule), doc.width, 66 * mm)]


def _findings(doc: _Doc) -> list[Flowable]:
    """Page 1's findings: each warning and note with its step, source and any override."""
    from reportlab.lib.units import mm

    st, para = doc.st, doc.para
    story: list[Flowable] = [para("Findings", st.h2)]
    findings = doc.schedule.sorted_findings()
    if not findings:
        story.append(
            para("None: the plan keeps within the documented ranges and guideline limits checked.")
        )
    rows: list[list[Any]] = [
        [para("<b>Finding</b>", st.small), para("<b>What and why</b>", st.small)]
    ]
    for f, steps in _condensed(findings):
        where = (
            f"steps {', '.join(map(str, steps))}"
            if steps
            else f"step {f.step}"
            if f.step is not None
            else "plan"
        )
        text = escape(f.message)
        if steps:
            text = (
                f"The products could not make the rule's ideal dose at {len(steps)} "
                f"step{'s' if len(steps) != 1 else ''}; "
                f"the table shows the ideal beside the dose taken, and steps were lengthened "
                f"where a cut was steeper, to keep the rule's pace. First: {text}"
            )
        if f.source:
            text += f"<br/><i>Source: {escape(f.source)}</i>"
        if f.override:
            text += f"<br/><b>Overridden by the clinician:</b> {escape(f.override)}"
        rows.append(
            [
                para(f"<b>{f.severity.upper()}</b><br/>{escape(f.code)}<br/>{where}", st.small),
                para(text, st.small),
            ]
        )
    if findings:
        story.append(doc.grid(rows, [34 * mm, doc.width - 34 * mm], header=True))
    return story


# --- the schedule -----------------------------------------------------------------------------


def _schedule_heading(doc: _Doc) -> list[Flowable]:
    """The schedule's new page, its heading and the note on how its doses read."""
    from reportlab.platypus import PageBreak, Spacer

    return [
        PageBreak(),
        doc.para("Schedule", doc.st.h2),
        doc.para(
            "Doses in mg; what to take at each time, in tablets. Half tablets are "
            "halves of scored tablets, split along the score. Ideal: the rule's dose "
            "before it was made from real products.",
            doc.st.small,
        ),
        Spacer(1, 3),
    ]


def _switch_stages(doc: _Doc) -> list[Flowable]:
    """A switch's stages table, each dose at each time, and the heading of the taper after it."""
    from reportlab.lib.units import mm

    switch, st, para = doc.schedule.switch, doc.st, doc.para
    if switch is None:
        return []
    story: list[Flowable] = [
        para(f"Switch from {escape(switch.from_drug)} to {escape(switch.to_drug)}", st.h2)
    ]
    head = [
        "Stage",
        "Dates",
        "Days",
        *[t.capitalize() for t in switch.times],
        f"{switch.from_drug} mg a day",
        f"{switch.to_drug} mg a day",
        "Equivalent",
    ]
    stage_rows: list[list[Any]] = [[para(f"<b>{escape(h)}</b>", st.cell) for h in head]]
    for stage in switch.stages:
        stage_rows.append(
            [
                para(str(stage.number), st.cell),
                para(f"{stage.start.isoformat()}<br/>to {stage.end.isoformat()}", st.cell),
                para(str(stage.days), st.cell),
                *[
                    para(escape(a.describe()) if (a := stage.at(t)) else "none", st.cell)
                    for t in switch.times
                ],
                para(format_number(stage.dose_of(switch.from_drug)), st.cell),
                para(format_number(stage.dose_of(switch.to_drug)), st.cell),
                para(format_number(stage.equivalent), st.cell),
            ]
        )
    fixed = [11 * mm, 24 * mm, 10 * mm, 18 * mm, 18 * mm, 18 * mm]
    each = (doc.width - sum(fixed)) / len(switch.times)
    story.append(
        doc.grid(
            stage_rows,
            [*fixed[:3], *([each] * len(switch.times)), *fixed[3:]],
            header=True,
            zebra=True,
        )
    )
    story.append(para(f"Then the {escape(switch.to_drug)} taper:", st.h2))
    return story


def _step_table(doc: _Doc) -> list[Flowable]:
    """The taper's steps table: dates, days, the day's dose and what to take at each time."""
    from reportlab.lib.units import mm

    schedule, rx = doc.schedule, doc.rx
    head = ["Step", "Dates", "Days", "mg a day (ideal)", *[t.capitalize() for t in rx.times], "Cut"]
    table_rows: list[list[Any]] = [[doc.para(f"<b>{h}</b>", doc.st.cell) for h in head]]
    for step in schedule.steps:
        kept = schedule.replan.history if schedule.replan is not None else None
        table_rows.append(_step_row(step, rx.times, doc.para, doc.st.cell, kept))
    fixed = [11 * mm, 24 * mm, 10 * mm, 20 * mm, 13 * mm]
    each = (doc.width - sum(fixed)) / len(rx.times)
    widths = [*fixed[:4], *([each] * len(rx.times)), fixed[4]]
    return [doc.grid(table_rows, widths, header=True, zebra=True)]


# --- dispensing -------------------------------------------------------------------------------


def _dispensing(doc: _Doc) -> list[Flowable]:
    """The dispensing table: whole units to supply per fill period and for the whole plan."""
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, Spacer

    schedule, st, para, fill_days = doc.schedule, doc.st, doc.para, doc.fill_days
    supplied = [p for p, _ in schedule.dispensing()]
    what = "Whole tablets"
    if any(p.is_liquid for p in supplied):
        what = (
            "Millilitres of a liquid"
            if all(p.is_liquid for p in supplied)
            else ("Whole tablets, and millilitres of a liquid,")
        )
    halves = (
        " A half tablet is half of a tablet supplied whole."
        if any(u.is_split for s in schedule.periods() for a in s.administrations for u in a.units)
        else ""
    )
    story: list[Flowable] = [
        CondPageBreak(60 * mm),
        para("Dispensing", st.h2),
        para(f"{what} to supply, for every {fill_days} days and in all.{halves}", st.small),
        Spacer(1, 3),
    ]
    fill_rows: list[list[Any]] = [
        [
            para("<b>Supply for</b>", st.cell),
            para("<b>Days</b>", st.cell),
            *[
                para(
                    f"<b>{escape(_supply_header(p, len({q.drug for q in supplied}) > 1))}</b>",
                    st.cell,
                )
                for p in supplied
            ],
        ]
    ]
    for first, last, supply in schedule.fills(fill_days):
        counts = {p.id: q for p, q in supply}
        fill_rows.append(
            [
                para(f"{first.isoformat()} to {last.isoformat()}", st.cell),
                para(str((last - first).days + 1), st.cell),
                *[
                    para(format_number(counts[p.id]) if p.id in counts else "-", st.cell)
                    for p in supplied
                ],
            ]
        )
    fill_rows.append(
        [
            para("<b>Whole plan</b>", st.cell),
            para(f"<b>{schedule.duration_days}</b>", st.cell),
            *[para(f"<b>{format_number(q)}</b>", st.cell) for _, q in schedule.dispensing()],
        ]
    )
    first_cols = [44 * mm, 12 * mm]
    per_product = (doc.width - sum(first_cols)) / max(1, len(supplied))
    story.append(
        doc.grid(
            fill_rows, [*first_cols, *([per_product] * len(supplied))], header=True, zebra=True
        )
    )
    return story


# --- the patient's page -----------------------------------------------------------------------


def _patient_page(doc: _Doc) -> list[Flowable]:
    """The patient's page: what they take now, then a pill card of every period's doses, the
    products named once beside how each is taken, and the stop day."""
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, PageBreak, Spacer

    from . import pillcard

    schedule, st, para, rx = doc.schedule, doc.st, doc.para, doc.rx
    switch = schedule.switch
    lowering = switch.from_drug if switch is not None else rx.drug
    story: list[Flowable] = [
        PageBreak(),
        para(f"Your plan for lowering {escape(lowering)}", st.title),
        para(
            (
                f"You take {escape(format_mg(switch.from_dose))} of {escape(switch.from_drug)} a "
                f"day now. First it is changed to {escape(switch.to_drug)}, one dose at a time; "
                f"then "
                if switch is not None
                else f"You take {escape(format_mg(rx.start_dose))} of {escape(rx.drug)} a day now. "
            )
            + f"{'your' if switch is not None else 'Your'} dose goes down slowly, step by step, "
            f"until you stop on "
            f"<b>{escape(_long_date(schedule.stop_date))}</b>. On each day, take what its row "
            f"shows at each time: a drawn tablet is one tablet, a half drawn is half a tablet.",
            st.big,
        ),
        Spacer(1, 4),
    ]
    keyed = pillcard.keys(schedule)
    cell = lambda text: para(text, st.card)  # noqa: E731
    story += [
        para("Your medicines", st.h2),
        pillcard.legend(schedule, keyed, doc.width, cell),
        Spacer(1, 4),
    ]
    times = pillcard.card_times(schedule)
    dates = 25 * mm
    each = (doc.width - 2 * dates) / len(times)
    head, rows = pillcard.card_rows(schedule, keyed, each - 6, cell)
    widths = [dates, dates, *([each] * len(times))]
    closing = [Spacer(1, 6), *_stop_advice(doc), *_sign_off(doc)]

    def card(body: list[list[Any]]) -> Table:
        table = doc.grid(head + body, widths, header=True, zebra=True)
        last = len(body)
        table.setStyle(
            [
                ("SPAN", (2, last), (-1, last)),
                ("BACKGROUND", (0, last), (-1, last), "#fde2e2"),
                ("LINEABOVE", (0, last), (-1, last), 0.8, INK),
            ]
        )
        return table

    whole = [card(rows), *closing]
    if _height(whole, doc.width) <= doc.height:
        # the card, the "Important" lines and the sign-off fit on one page: kept on one
        return [*story, KeepTogether(whole)]
    # a card longer than a page: its last rows and the stop stay with the "Important" lines and
    # the sign-off, so none of them is left alone on a page of its own
    body, tail = rows[:-KEEP_WITH_ADVICE], rows[-KEEP_WITH_ADVICE:]
    top = doc.grid(head + body, widths, header=True, zebra=True)
    return [*story, top, KeepTogether([card(tail), *closing])]


def _height(flowables: list[Flowable], width: float) -> float:
    """The height ``flowables`` take laid out at ``width``."""
    return float(
        sum(f.wrap(width, 1e6)[1] + f.getSpaceBefore() + f.getSpaceAfter() for f in flowables)
    )


#: the patient's last rows (the stop's among them) kept on the page of the "Important" lines
KEEP_WITH_ADVICE = 3


def _stop_advice(doc: _Doc) -> list[Flowable]:
    """The patient's 'Important' box: how the plan stops, withdrawal, tablets, this page."""

    from ..validation import stop_of

    schedule = doc.schedule
    stop = stop_of(schedule)
    final = format_mg(stop.from_mg)
    stopping = (
        f"Your last dose, {final} a day, is the smallest your medicine comes in; the plan stops "
        f"from there on {_long_date(schedule.stop_date)}. Do not stop sooner, and do not change "
        f"your dose on your own."
        if not stop.above_terminal
        else f"The plan stops from {final} a day on {_long_date(schedule.stop_date)}, as your "
        f"prescriber planned. Do not stop sooner, and do not change your dose on your own."
    )
    advice = [
        stopping,
        "Some unpleasant feelings can come after a lower dose and may take up to a week to show. "
        "If withdrawal symptoms become hard to bear, contact your prescriber: the plan can pause "
        "or slow down.",
        "Keep your tablets in their packs. How to take each one is beside it under "
        '"Your medicines".',
        "Bring this page to every appointment and to your pharmacy.",
    ]
    return [
        doc.para("Important", doc.st.h2),
        *[doc.para(f"&bull; {escape(a)}", doc.st.big) for a in advice],
    ]


# --- sign-off ---------------------------------------------------------------------------------


def _sign_off(doc: _Doc) -> list[Flowable]:
    """The sign-off block: lines for the prescriber, signature, date and pharmacist check."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    st, para = doc.st, doc.para
    line = "_" * 40
    prescriber = escape(doc.schedule.identity.prescriber) or line
    sign = [
        [para("<b>Prescriber</b>", st.body), para(prescriber, st.body)],
        [para("<b>Registration number</b>", st.body), para(line, st.body)],
        [para("<b>Signature</b>", st.body), para(line, st.body)],
        [para("<b>Date</b>", st.body), para(line, st.body)],
        [para("<b>Pharmacist check</b>", st.body), para(line, st.body)],
    ]
    return [
        Spacer(1, 10),
        para("Sign-off", st.h2),
        doc.grid(sign, [40 * mm, doc.width - 40 * mm]),
    ]


#: the document's sections, in the order they are laid out
_SECTIONS: tuple[Callable[[_Doc], list[Flowable]], ...] = (
    _title_block,
    _facts_table,
    _chart,
    _findings,
    _schedule_heading,
    _switch_stages,
    _step_table,
    _dispensing,
    _patient_page,
)


def _render(
    story: list[Flowable], schedule: Schedule, size: tuple[float, float], made: date
) -> bytes:
    """Lay the sections out on pages of ``size``, with the footer, and return the PDF's bytes."""
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    margin = _margin()
    footer = (
        f"taper {__version__}  |  catalog: {schedule.catalog_version}  |  made {made.isoformat()}"
    )
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=size,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin + 6 * mm,
        title=f"Taper plan: {schedule.prescription.drug}",
        author="taper",
        creator=f"taper {__version__}",
        subject=schedule.rule_name,
        invariant=1,
    )
    doc.build(story, canvasmaker=_numbered_canvas(footer, size, margin, _header(schedule)))
    return out.getvalue()


def _header(schedule: Schedule) -> list[str]:
    """Who the plan is for, for the top of every page: lines to write on where not given."""
    who = schedule.identity
    blank = "_" * 24
    born = who.born.isoformat() if who.born else blank
    lines = [
        f"Patient: {who.name or blank}    Date of birth: {born}    "
        f"Record or NHS number: {who.record or blank}",
        f"Prescriber: {who.prescriber or blank}"
        + (f"    Roster reference: {who.reference}" if who.reference else ""),
    ]
    return lines


def _cuts_line(schedule: Schedule) -> str:
    """The cap, and the cuts above it the products force, for the facts table."""
    from ..validation import forced_steps

    forced = [s for s in schedule.steps if s.number in forced_steps(schedule)]
    cap = f"no cut above {format_percent(schedule.max_cut)} %"
    if not forced:
        return f"{cap} before the stop"
    cuts = ", ".join(f"step {s.number} ({format_percent(s.cut)} %)" for s in forced)
    return f"{cap} but {len(forced)} the products force: {cuts}"


def _stop_line(schedule: Schedule) -> str:
    """How the plan stops, as its findings say it, for the facts table."""
    from ..validation import stop_of

    stop = stop_of(schedule)
    where = (
        "the smallest daily dose its products make"
        if not stop.above_terminal
        else f"above the smallest its products make ({format_mg(stop.terminal_mg or Decimal(0))}"
        f"/day){'; ' + stop.asked if stop.asked else ''}"
    )
    return (
        f"from {format_mg(stop.from_mg)}/day after {stop.after_days} days at it "
        f"({stop.equivalent}), {where}"
    )


def _step_row(
    step: Step, times: tuple[str, ...], para: Any, style: Any, history: int | None = None
) -> list[Any]:
    ideal = format_number(max(step.target, Decimal(0))) if step.target != step.dose else ""
    dose = f"<b>{escape(format_number(step.dose))}</b>" + (f" ({ideal})" if ideal else "")
    held = "<br/>hold" if step.held else ""
    # the mark of a kept step goes with its dates, where it has room: not in the narrow Days
    kept = "<br/><i>as first planned</i>" if history is not None and step.number <= history else ""
    return [
        para(str(step.number), style),
        para(f"{step.start.isoformat()}<br/>to {step.end.isoformat()}{kept}", style),
        para(f"{step.days}{held}", style),
        para(dose, style),
        *[para(_admin_cell(step.at(t)), style) for t in times],
        para(f"{format_percent(step.cut)} %", style),
    ]


def _numbered_canvas(
    footer: str, size: tuple[float, float], margin: float, header: Sequence[str] = ()
) -> Any:
    from reportlab.pdfgen.canvas import Canvas

    from .glyphs import in_font

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        """Holds each page until the end, so every footer can say 'page x of y'."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont("Helvetica", 7)
                self.setFillColorRGB(0.35, 0.4, 0.45)
                self.drawString(margin, margin * 0.6, footer)
                top = size[1] - margin * 0.45
                for k, text in enumerate(in_font(line) for line in header):
                    size_pt = 8.0
                    room = size[0] - 2 * margin
                    while size_pt > 5 and self.stringWidth(text, "Helvetica", size_pt) > room:
                        size_pt -= 0.5  # a long name in a smaller type, never off the page
                    while self.stringWidth(text, "Helvetica", size_pt) > room and len(text) > 1:
                        text = text[: int(len(text) * 0.9)].rstrip() + "…"  # cut, marked
                    self.setFont("Helvetica", size_pt)
                    self.setFillColorRGB(0.1, 0.1, 0.1)
                    self.drawString(margin, top - k * 10, text)
                self.drawRightString(size[0] - margin, margin * 0.6, f"page {number} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def write_pdf(schedule: Schedule, path: str | Path, **options: Any) -> None:
    """Write the plan's PDF to ``path`` atomically."""
    write_atomic(path, pdf_bytes(schedule, **options))
