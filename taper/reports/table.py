"""The schedule as rows: for the terminal and for CSV."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..catalog import Product
from ..dispensing import describe_supply
from ..doses import format_mg, format_percent
from ..schedule import Administration, Finding, Schedule
from ..schedule_csv import csv_text
from .files import write_atomic

if TYPE_CHECKING:
    from pathlib import Path


def write_csv(schedule: Schedule, path: str | Path) -> None:
    """Write the schedule's CSV to ``path`` atomically."""
    write_atomic(path, csv_text(schedule).encode("utf-8"))


#: the width the terminal table is made to where the terminal's is not known
WIDTH = 80


def render_text(schedule: Schedule, width: int = WIDTH) -> str:
    """The schedule for a terminal ``width`` columns wide: a header, a table with a letter for
    each product (named once in a legend), a summary line, then the findings, errors first.
    Every line fits the width; a long line wraps with an indent."""
    width = max(width, 40)
    rx = schedule.prescription
    times = rx.times
    keys = product_keys(schedule)
    lines: list[str] = []
    if schedule.switch is not None:
        lines += [*_switch_lines(schedule, keys, width), ""]
    if schedule.replan is not None:
        r = schedule.replan
        hold = f"a hold of {r.hold_days} days, then " if r.hold_days else ""
        lines += [
            *_wrap(
                f"Re-planned from {r.on.isoformat()}"
                f"{f' ({r.reason})' if r.reason else ''}: steps 1 to {r.history} as first "
                f"planned ({r.previous_rule}); from step {r.history + 1}, {hold}{r.rule_name} "
                f"from {format_mg(r.start_dose)}/day.",
                width,
            ),
            "",
        ]
    lines += _wrap(
        f"{schedule.drug_display or rx.drug} {format_mg(rx.start_dose)}/day in {len(times)} "
        f"dose{'s' if len(times) > 1 else ''} ({', '.join(times)}), region {rx.region.upper()}",
        width,
    )
    lines += _wrap(f"Rule: {schedule.rule_name}: {schedule.rule_description}", width)
    if schedule.rule_source:
        lines += _wrap(f"Source: {schedule.rule_source}", width)
    lines.append("")
    columns = ["Step", "From", "To", "Days", "mg/day", *[t.capitalize() for t in times], "Cut"]
    columns.append("% start")
    body = []
    for step in schedule.steps:
        cells = [str(step.number), step.start.isoformat(), step.end.isoformat(), str(step.days)]
        cells.append(format_mg(step.dose))
        for time in times:
            admin = step.at(time)
            cells.append(_compact(admin, keys) if admin else "none")
        cells += [f"{format_percent(step.cut)} %", f"{format_percent(step.dose / rx.start_dose)} %"]
        body.append(cells)
    lines += _fitted(columns, body, width, optional=("% start", "To"))
    lines += ["", *_legend(keys, width), ""]
    lines += _wrap(
        f"{len(schedule.steps)} step{'s' if len(schedule.steps) != 1 else ''} over "
        f"{schedule.duration_days} days, "
        f"{rx.start_date.isoformat()} to {schedule.steps[-1].end.isoformat()}; "
        f"no dose from {schedule.stop_date.isoformat()}.",
        width,
    )
    supply = ", ".join(describe_supply(p, q) for p, q in schedule.dispensing())
    lines += _wrap(f"Dispense for the whole plan: {supply}.", width)
    lines += ["", *render_findings(schedule.sorted_findings(), width)]
    return "\n".join(lines) + "\n"


def product_keys(schedule: Schedule) -> dict[str, tuple[str, Product]]:
    """A letter for each product the plan (and its switch) dispenses, in the order first taken."""
    keys: dict[str, tuple[str, Product]] = {}
    stages = schedule.switch.stages if schedule.switch else ()
    periods = [s.administrations for s in stages] + [s.administrations for s in schedule.steps]
    for administrations in periods:
        for admin in administrations:
            for unit in admin.units:
                if unit.product.id not in keys:
                    keys[unit.product.id] = (_letter(len(keys)), unit.product)
    return keys


def _letter(i: int) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O, which read as 1 and 0
    return letters[i] if i < len(letters) else f"P{i + 1}"


def _compact(admin: Administration, keys: dict[str, tuple[str, Product]]) -> str:
    """What an administration takes, each product by its letter: ``1½ A + 1 B``."""
    return " + ".join(f"{u.amount()} {keys[u.product.id][0]}" for u in admin.units)


def _legend(keys: dict[str, tuple[str, Product]], width: int) -> list[str]:
    lines = ["Products:"]
    for letter, product in keys.values():
        lines += _wrap(f"  {letter}  {product.name}", width, "     ")
    return lines


def _wrap(text: str, width: int, indent: str = "    ") -> list[str]:
    """``text`` in lines of at most ``width``, those after the first indented; a word longer
    than a line is broken rather than left to run past it."""
    import textwrap

    return textwrap.wrap(
        text, width, subsequent_indent=indent, break_on_hyphens=False, break_long_words=True
    ) or [""]


def _fitted(
    header: list[str], body: list[list[str]], width: int, optional: Sequence[str] = ()
) -> list[str]:
    """The table at ``width``: the ``optional`` columns left out, in turn, while it is wider;
    a table still too wide has its widest cells wrapped within their column."""
    columns = list(range(len(header)))
    for name in optional:
        if _table_width(header, body, columns) <= width:
            break
        columns.remove(header.index(name))
    head = [header[i] for i in columns]
    rows = [[row[i] for i in columns] for row in body]
    return _table(head, rows, width)


def _table_width(header: list[str], body: list[list[str]], columns: Sequence[int]) -> int:
    return sum(max(len(r[i]) for r in [header, *body]) for i in columns) + 2 * (len(columns) - 1)


def _table(header: list[str], body: list[list[str]], width: int = WIDTH) -> list[str]:
    """The rows in columns two spaces apart, or one where two do not fit ``width``; a table
    still too wide wraps its widest column whose cells wrap between words (a heading may
    break; a date, a number or a product's letter only where no column wraps so)."""
    rows = [header, *body]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    gap = 2 if sum(widths) + 2 * (len(widths) - 1) <= width else 1
    words = [max(len(w) for r in body for w in r[i].split() or [""]) for i in range(len(header))]
    while sum(widths) + gap * (len(widths) - 1) > width and max(widths) > 8:
        wraps = [i for i, w in enumerate(widths) if words[i] < w]
        i = max(wraps or range(len(widths)), key=lambda i: widths[i])
        widths[i] -= 1  # the column wraps its cells
    import textwrap

    out = []
    for row in [header, ["-" * w for w in widths], *body]:
        cells = [
            textwrap.wrap(c, w, break_on_hyphens=False) or [""]
            for c, w in zip(row, widths, strict=True)
        ]
        for k in range(max(len(c) for c in cells)):
            parts = [
                (c[k] if k < len(c) else "").ljust(w) for c, w in zip(cells, widths, strict=True)
            ]
            out.append((" " * gap).join(parts).rstrip())
    return out


def _switch_lines(
    schedule: Schedule, keys: dict[str, tuple[str, Product]], width: int
) -> list[str]:
    """A switch's stages: both drugs at each time, each drug's daily dose, the equivalent."""
    switch = schedule.switch
    assert switch is not None
    low, high = switch.spread
    lines = [
        *_wrap(
            f"Switch from {switch.from_drug} {format_mg(switch.from_dose)}/day to "
            f"{switch.to_drug}, one dose at a time: 1 mg {switch.from_drug} is taken as "
            f"{format_mg(switch.factor)} {switch.to_drug} by {switch.table} "
            f"(the tables give {format_mg(low)} to {format_mg(high)}/day in all)",
            width,
        ),
        *_wrap(f"Source: {switch.source}", width),
        "",
    ]
    header = [
        "Stage",
        "From",
        "To",
        "Days",
        *[t.capitalize() for t in switch.times],
        switch.from_drug,
        switch.to_drug,
        "Equivalent",
    ]
    body = []
    for stage in switch.stages:
        cells = [str(stage.number), stage.start.isoformat(), stage.end.isoformat(), str(stage.days)]
        for time in switch.times:
            admin = stage.at(time)
            cells.append(_compact(admin, keys) if admin else "none")
        cells += [
            format_mg(stage.dose_of(switch.from_drug)),
            format_mg(stage.dose_of(switch.to_drug)),
            format_mg(stage.equivalent),
        ]
        body.append(cells)
    table = _fitted(header, body, width, optional=("To",))
    return [*lines, *table, "", *_wrap(f"Then the {switch.to_drug} taper:", width)]


#: information findings of one code shown on the terminal before the rest are counted
SHOW_INFO = 3


def render_findings(findings: Sequence[Finding], width: int = WIDTH) -> list[str]:
    """Findings as terminal lines of at most ``width``, errors first, each wrapped with an
    indent; long runs of one kind of note are counted."""
    if not findings:
        return ["Findings: none."]
    lines = ["Findings:"]
    shown = ""
    seen: dict[str, int] = {}
    for f in sorted(findings, key=Finding.sort_key):
        seen[f.code] = seen.get(f.code, 0) + 1
        if f.severity == "info" and seen[f.code] > SHOW_INFO:
            continue
        where = f"step {f.step}" if f.step is not None else "plan"
        lines += _wrap(f"  {f.severity.upper()} {f.code} ({where}): {f.message}", width)
        if f.override:
            lines += _wrap(f"    overridden: {f.override}", width, "      ")
        if f.source and f.source != shown:
            lines += _wrap(f"    source: {f.source}", width, "      ")
        shown = f.source
    for code, count in seen.items():
        if count > SHOW_INFO and all(f.severity == "info" for f in findings if f.code == code):
            lines += _wrap(
                f"  ... and {count - SHOW_INFO} more {code} notes (all are in the "
                f"JSON and the CSV findings file)",
                width,
            )
    errors = sum(1 for f in findings if f.severity == "error" and not f.override)
    warnings = sum(1 for f in findings if f.severity == "warning")
    notes = sum(1 for f in findings if f.severity == "info")
    overridden = sum(1 for f in findings if f.override)
    tail = f", {overridden} overridden" if overridden else ""
    lines += _wrap(
        f"{_count(errors, 'error')}, {_count(warnings, 'warning')}, {_count(notes, 'note')}{tail}.",
        width,
    )
    return lines


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
