"""The schedule as rows: for the terminal and for CSV."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..dispensing import describe_supply
from ..doses import format_mg, format_percent, plain_number
from ..schedule import Finding, Schedule
from .files import write_atomic

if TYPE_CHECKING:
    from pathlib import Path

#: cells a spreadsheet would run as a formula (OWASP CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading ``'`` before ``=``, ``+``, ``-``, ``@``..."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


_safe = safe_cell


def plan_rows(schedule: Schedule) -> tuple[list[str], list[list[str]]]:
    """Header and one row per step: dates, days, doses, what to take, cut and % of start.

    Each row also names the drug, the starting dose, the cap and the limit per
    administration, so that ``taper check`` can check the file on its own.
    """
    rx = schedule.prescription
    times = rx.times
    header = ["drug", "step", "start_date", "end_date", "days", "daily_dose_mg", "target_dose_mg"]
    for time in times:
        header += [f"{time}_mg", f"{time}_take"]
    header += ["cut_pct", "pct_of_start", "start_dose_mg", "max_cut_pct", "max_units", "products"]
    allowed = products_cell(schedule)
    start = rx.start_dose
    rows = []
    for step in schedule.steps:
        row = [
            rx.drug,
            str(step.number),
            step.start.isoformat(),
            step.end.isoformat(),
            str(step.days),
            plain_number(step.dose),
            plain_number(step.target),
        ]
        for time in times:
            admin = step.at(time)
            if admin is None:
                row += ["0", "none"]
            else:
                row += [plain_number(admin.dose), " + ".join(u.describe() for u in admin.units)]
        row += [
            format_percent(step.cut),
            format_percent(step.dose / start),
            plain_number(start),
            format_percent(schedule.max_cut),
            str(schedule.max_units),
            allowed,
        ]
        rows.append(row)
    if schedule.switch is None:
        return header, rows
    return _with_switch(schedule, header, rows)


def products_cell(schedule: Schedule) -> str:
    """The products the plan may dispense, for a CSV cell: ids, ``/half`` on a tablet halved
    along a break line (off-licence), ``@0.2ml`` on a liquid measured other than its
    catalog's way; separated by spaces."""
    tokens = []
    for product in schedule.products:
        token = product.id
        if product.halved_off_licence:
            token += "/half"
        if product.is_liquid and product.increment_ml is not None and product.default_measure:
            token += f"@{plain_number(product.increment_ml)}ml"
        tokens.append(token)
    return " ".join(tokens)


def _with_switch(
    schedule: Schedule, header: list[str], rows: list[list[str]]
) -> tuple[list[str], list[list[str]]]:
    """A switch's stages before the taper's steps, each row saying which phase it is."""
    switch = schedule.switch
    assert switch is not None
    times = schedule.prescription.times
    out = []
    for stage in switch.stages:
        cells = dict.fromkeys(header, "")
        cells.update(
            {
                "drug": f"{switch.from_drug}+{switch.to_drug}",
                "step": f"S{stage.number}",
                "start_date": stage.start.isoformat(),
                "end_date": stage.end.isoformat(),
                "days": str(stage.days),
            }
        )
        for time in times:
            admin = stage.at(time)
            cells[f"{time}_take"] = (
                " + ".join(u.describe() for u in admin.units) if admin else "none"
            )
        out.append(
            [
                "switch",
                *cells.values(),
                plain_number(stage.dose_of(switch.from_drug)),
                plain_number(stage.dose_of(switch.to_drug)),
                plain_number(stage.equivalent),
            ]
        )
    for row in rows:
        dose = row[header.index("daily_dose_mg")]
        out.append(["taper", *row, "0", dose, dose])
    return ["phase", *header, "from_drug_mg", "to_drug_mg", "equivalent_mg"], out


def csv_text(schedule: Schedule) -> str:
    """The schedule as CSV text (UTF-8, ``\\n`` line ends, ISO dates, ISMP numbers)."""
    import csv  # here, not at the top: the terminal plan writes no CSV

    header, rows = plan_rows(schedule)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_safe(c) for c in row] for row in rows])
    return out.getvalue()


def findings_csv_text(findings: Iterable[Finding]) -> str:
    """Findings as CSV, errors first, with any override and its reason."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["severity", "code", "step", "message", "source", "override"])
    for f in sorted(findings, key=Finding.sort_key):
        row = [
            f.severity,
            f.code,
            "" if f.step is None else str(f.step),
            f.message,
            f.source,
            f.override,
        ]
        writer.writerow([_safe(c) for c in row])
    return out.getvalue()


def write_csv(schedule: Schedule, path: str | Path) -> None:
    """Write the schedule's CSV to ``path`` atomically."""
    write_atomic(path, csv_text(schedule).encode("utf-8"))


def render_text(schedule: Schedule) -> str:
    """The schedule as a terminal table, a summary line, then the findings, errors first."""
    rx = schedule.prescription
    times = rx.times
    lines = []
    if schedule.switch is not None:
        lines += [*_switch_lines(schedule), ""]
    if schedule.replan is not None:
        r = schedule.replan
        hold = f"a hold of {r.hold_days} days, then " if r.hold_days else ""
        lines += [
            f"Re-planned from {r.on.isoformat()}"
            f"{f' ({r.reason})' if r.reason else ''}: steps 1 to {r.history} as first planned "
            f"({r.previous_rule}); from step {r.history + 1}, {hold}{r.rule_name} from "
            f"{format_mg(r.start_dose)}/day.",
            "",
        ]
    lines += [
        f"{schedule.drug_display or rx.drug} {format_mg(rx.start_dose)}/day in {len(times)} "
        f"dose{'s' if len(times) > 1 else ''} ({', '.join(times)}), region {rx.region.upper()}",
        f"Rule: {schedule.rule_name}: {schedule.rule_description}",
        f"Source: {schedule.rule_source}" if schedule.rule_source else "",
        "",
    ]
    header = ["Step", "Dates", "Days", "mg/day", *[t.capitalize() for t in times], "Cut", "% start"]
    body = []
    for step in schedule.steps:
        cells = [
            str(step.number),
            f"{step.start.isoformat()} to {step.end.isoformat()}",
            str(step.days),
            format_mg(step.dose),
        ]
        for time in times:
            admin = step.at(time)
            cells.append(admin.describe(short=True) if admin else "none")
        cells += [f"{format_percent(step.cut)} %", f"{format_percent(step.dose / rx.start_dose)} %"]
        body.append(cells)
    lines += _table(header, body)
    lines += [
        "",
        f"{len(schedule.steps)} step{'s' if len(schedule.steps) != 1 else ''} over "
        f"{schedule.duration_days} days, "
        f"{rx.start_date.isoformat()} to {schedule.steps[-1].end.isoformat()}; "
        f"no dose from {schedule.stop_date.isoformat()}.",
    ]
    supply = ", ".join(describe_supply(p, q) for p, q in schedule.dispensing())
    lines.append(f"Dispense for the whole plan: {supply}.")
    lines += ["", *render_findings(schedule.sorted_findings())]
    return "\n".join(lines) + "\n"


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, ["-" * w for w in widths], *body]
    ]


def _switch_lines(schedule: Schedule) -> list[str]:
    """A switch's stages: both drugs at each time, each drug's daily dose, the equivalent."""
    switch = schedule.switch
    assert switch is not None
    low, high = switch.spread
    lines = [
        f"Switch from {switch.from_drug} {format_mg(switch.from_dose)}/day to {switch.to_drug}, "
        f"one dose at a time: 1 mg {switch.from_drug} is taken as "
        f"{format_mg(switch.factor)} {switch.to_drug} by {switch.table} "
        f"(the tables give {format_mg(low)} to {format_mg(high)}/day in all)",
        f"Source: {switch.source}",
        "",
    ]
    header = [
        "Stage",
        "Dates",
        "Days",
        *[t.capitalize() for t in switch.times],
        switch.from_drug,
        switch.to_drug,
        "Equivalent",
    ]
    body = []
    for stage in switch.stages:
        cells = [
            str(stage.number),
            f"{stage.start.isoformat()} to {stage.end.isoformat()}",
            str(stage.days),
        ]
        for time in switch.times:
            admin = stage.at(time)
            cells.append(admin.describe() if admin else "none")
        cells += [
            format_mg(stage.dose_of(switch.from_drug)),
            format_mg(stage.dose_of(switch.to_drug)),
            format_mg(stage.equivalent),
        ]
        body.append(cells)
    return [*lines, *_table(header, body), "", f"Then the {switch.to_drug} taper:"]


#: information findings of one code shown on the terminal before the rest are counted
SHOW_INFO = 3


def render_findings(findings: Sequence[Finding]) -> list[str]:
    """Findings as terminal lines, errors first; long runs of one kind of note are counted."""
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
        lines.append(f"  {f.severity.upper()} {f.code} ({where}): {f.message}")
        if f.override:
            lines.append(f"    overridden: {f.override}")
        if f.source and f.source != shown:
            lines.append(f"    source: {f.source}")
        shown = f.source
    for code, count in seen.items():
        if count > SHOW_INFO and all(f.severity == "info" for f in findings if f.code == code):
            lines.append(
                f"  ... and {count - SHOW_INFO} more {code} notes (all are in the "
                f"JSON and the CSV findings file)"
            )
    errors = sum(1 for f in findings if f.severity == "error" and not f.override)
    warnings = sum(1 for f in findings if f.severity == "warning")
    notes = sum(1 for f in findings if f.severity == "info")
    overridden = sum(1 for f in findings if f.override)
    tail = f", {overridden} overridden" if overridden else ""
    lines.append(
        f"{_count(errors, 'error')}, {_count(warnings, 'warning')}, {_count(notes, 'note')}{tail}."
    )
    return lines


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
