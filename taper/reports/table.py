"""The schedule as rows: for the terminal and for CSV."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..dispensing import describe_supply
from ..doses import format_mg, format_percent
from ..schedule import Finding, Schedule
from ..schedule_csv import csv_text
from .files import write_atomic

if TYPE_CHECKING:
    from pathlib import Path


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
