"""The plan as an iCalendar file: one all-day event at each step's start.

The icalendar package is imported here only. Event ids and the stamp are
derived from the plan, so the same plan gives the same bytes.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from .. import __version__
from ..doses import format_mg
from ..schedule import Schedule
from .files import write_atomic
from .plan_json import to_json


def _instructions(schedule: Schedule, number: int) -> str:
    step = schedule.steps[number - 1]
    lines = [
        f"Step {step.number} of {len(schedule.steps)}: {format_mg(step.dose)} a day "
        f"for {step.days} days, to {step.end.isoformat()}."
    ]
    for admin in step.administrations:
        lines.append(f"{admin.time.capitalize()}: {admin.describe()}")
    if number == len(schedule.steps):
        lines.append(f"From {schedule.stop_date.isoformat()}: no dose.")
    lines.append(
        "If withdrawal symptoms become hard to bear, contact your prescriber; never stop suddenly."
    )
    return "\n".join(lines)


def ics_bytes(schedule: Schedule) -> bytes:
    """The plan as iCalendar (RFC 5545) bytes."""
    from icalendar import Calendar, Event

    plan_id = hashlib.sha256(to_json(schedule).encode("utf-8")).hexdigest()[:16]
    stamp = datetime.combine(schedule.first_day, time(0, 0), tzinfo=UTC)
    cal = Calendar()
    cal.add("prodid", f"-//taper {__version__}//taper plan//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    who = schedule.identity
    named = f"{who.name}: " if who.name else (f"{who.reference}: " if who.reference else "")
    cal.add("x-wr-calname", f"{named}{schedule.prescription.drug} taper")
    drug = schedule.prescription.drug
    switch = schedule.switch
    stages = switch.stages if switch is not None else ()
    for stage in stages:
        assert switch is not None
        event = Event()
        event.add("uid", f"{plan_id}-stage-{stage.number}@taper")
        event.add("dtstamp", stamp)
        event.add("dtstart", stage.start)
        event.add("dtend", stage.start + timedelta(days=1))
        event.add(
            "summary",
            f"{switch.from_drug} to {switch.to_drug}: stage {stage.number} "
            f"of {len(switch.stages)} from today",
        )
        lines = [
            f"Stage {stage.number} of the switch, {stage.days} days, to {stage.end.isoformat()}."
        ]
        lines += [f"{a.time.capitalize()}: {a.describe()}" for a in stage.administrations]
        lines.append(
            "If withdrawal symptoms become hard to bear, contact your prescriber; "
            "never stop suddenly."
        )
        event.add("description", "\n".join(lines))
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    for step in schedule.steps:
        event = Event()
        event.add("uid", f"{plan_id}-step-{step.number}@taper")
        event.add("dtstamp", stamp)
        event.add("dtstart", step.start)
        event.add("dtend", step.start + timedelta(days=1))
        event.add("summary", f"{drug}: {format_mg(step.dose)} a day from today")
        event.add("description", _instructions(schedule, step.number))
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    stop = Event()
    stop.add("uid", f"{plan_id}-stop@taper")
    stop.add("dtstamp", stamp)
    stop.add("dtstart", schedule.stop_date)
    stop.add("dtend", schedule.stop_date + timedelta(days=1))
    stop.add("summary", f"{drug}: no dose from today")
    stop.add(
        "description",
        "The taper is complete. If withdrawal symptoms become hard to bear, "
        "contact your prescriber.",
    )
    stop.add("transp", "TRANSPARENT")
    cal.add_component(stop)
    return bytes(cal.to_ical())


def write_ics(schedule: Schedule, path: str | Path) -> None:
    """Write the plan's calendar to ``path`` atomically."""
    write_atomic(path, ics_bytes(schedule))
