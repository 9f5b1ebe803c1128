"""Schedules for checking: a file read once, a plan taper wrote read back whole, any other
schedule (a CSV, a plan changed by hand) read as a timeline for the checks. The formats are
:mod:`taper.plan_json`'s and :mod:`taper.schedule_csv`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from .catalog import TIMES, Catalog, Product, load_catalog
from .doses import ceil_int, normalize
from .errors import InputError
from .plan_json import (
    load_plan,
    obj,
    overrides_of,
    parse,
    plan_products,
    product_of,
    read_switch,
    required,
    stated_times,
    units_of,
    whole_days,
)
from .rules import GUIDELINE_CAP, GUIDELINE_SOURCE
from .schedule import Finding, Schedule, Switch
from .schedule_csv import ExternalOptions, drug_of, read_csv, sidecar_overrides
from .textfile import day, digits, number, percent_cap, read_text
from .validation import (
    Period,
    Timeline,
    apply_overrides,
    check,
    check_prescription,
    check_switch,
    check_timeline,
    finding,
    rule_is_faster,
    timeline_of,
)


def _read_text(path: str | Path) -> str:
    return read_text(path, "FILE", "schedule")


def read_schedule(
    path: str | Path, options: ExternalOptions, catalog: Catalog | None = None
) -> tuple[Timeline, list[Finding]]:
    """Read a CSV or taper-plan JSON schedule as a :class:`Timeline`, with reading notes."""
    read = read_file(path, options, catalog or load_catalog())
    return read.timeline, read.notes


@dataclass(frozen=True)
class Read:
    """A schedule file, read once: the plan taper wrote (where it is one, read back whole),
    and what the checks need of any schedule."""

    timeline: Timeline
    #: what reading found that the checks must report (a switch unit no catalog lists...)
    notes: list[Finding]
    #: the plan taper wrote, where the file is one that disagrees with itself nowhere and
    #: nothing on the command line changes how it is read
    schedule: Schedule | None = None
    #: a JSON plan's switch, read for the checks where the plan is not read back whole
    switch: Switch | None = None
    #: the codes the file records as accepted, with their reasons
    overrides: dict[str, str] = field(default_factory=dict)


def read_file(path: str | Path, options: ExternalOptions, catalog: Catalog) -> Read:
    """Read a schedule file (CSV, or a plan's JSON) once, for checking."""
    text = _read_text(path)
    origin = str(path)
    if not text.strip():
        raise InputError("FILE", origin, "the file is empty")
    if not (origin.lower().endswith(".json") or text.lstrip().startswith("{")):
        timeline, notes = read_csv(text, origin, options, catalog)
        return Read(timeline, notes, overrides=sidecar_overrides(path))
    data = parse(text, origin)
    unread: InputError | None = None
    if options.reads_as_written:
        try:
            schedule = load_plan(data, catalog, origin)
        except InputError as exc:
            schedule, unread = None, exc  # checked as a schedule made elsewhere
        if schedule is not None:
            rx = schedule.prescription
            patient = options.patient.merged(rx.patient)
            schedule = replace(schedule, prescription=replace(rx, patient=patient))
            drug = catalog.drug(rx.drug)
            return Read(
                timeline_of(schedule, drug, schedule.cap_source),
                [],
                schedule,
                schedule.switch,
                dict(schedule.overrides),
            )
    timeline, notes = _from_json(data, origin, options, catalog)
    if unread is not None:
        # what taper would not read back is said, not passed over: a re-plan refuses it
        notes = [
            finding(
                "not-as-written",
                f"The file is not a plan as taper writes it ({unread}); it is checked as a "
                f"schedule made elsewhere, from its dates and doses.",
                "taper: the plan JSON format (taper-plan/1, docs/plan-json.md)",
            ),
            *notes,
        ]
    switch = None
    if data.get("switch") is not None:
        switch, more = read_switch(
            data["switch"], catalog, timeline.region, origin, stated_times(data)
        )
        notes = [*notes, *more]
    return Read(timeline, notes, None, switch, overrides_of(data, origin))


def _from_json(
    data: dict[str, Any], origin: str, options: ExternalOptions, cat: Catalog
) -> tuple[Timeline, list[Finding]]:
    drug = drug_of(cat, data.get("drug"), options)
    start_dose = options.start_dose or number(
        required(data, "start_dose_mg", origin), f"{origin}: start_dose_mg"
    )
    limits = data.get("limits") or {}
    cap = options.max_cut
    if isinstance(limits, dict):
        # the plan's cap (cap_pct); max_cut_pct also counts the cuts the products forced
        caps = {
            key: percent_cap(limits[key], f"{origin}: limits.{key}")
            for key in ("max_cut_pct", "cap_pct")
            if limits.get(key) is not None
        }
        if cap is None:
            cap = caps.get("cap_pct", caps.get("max_cut_pct"))
    units_limit = options.max_units
    if options.max_units_given is False and isinstance(limits, dict):
        stated = str(limits.get("max_units_per_administration", ""))
        if digits(stated) and int(stated) > 0:
            units_limit = int(stated)
    steps = required(data, "steps", origin)
    if not isinstance(steps, list) or not steps:
        raise InputError(f"{origin}: steps", "", "a list of at least one step")
    region = str(data.get("region") or options.region)
    if region not in ("us", "uk"):
        raise InputError(f"{origin}: region", region, "us or uk")
    products = plan_products(data, drug, region, origin)
    periods = [_json_period(s, i, origin, products) for i, s in enumerate(steps, start=1)]
    per_day_raw = data.get("doses_per_day", drug.default_doses_per_day)
    per_day = options.per_day or (int(str(per_day_raw)) if digits(str(per_day_raw)) else 0)
    if not 1 <= per_day <= len(TIMES):
        raise InputError(f"{origin}: doses_per_day", str(per_day_raw), "1 to 4")
    restart = None
    record = data.get("replan")
    if isinstance(record, dict):
        try:
            restart = (
                int(str(record["history_steps"])) + 1,
                number(record["current_dose_mg"], f"{origin}: replan.current_dose_mg"),
                record.get("reinstate_mg") is not None,
            )
        except (KeyError, ValueError):
            raise InputError(f"{origin}: replan", "", "history_steps and current_dose_mg") from None
    stop = data.get("stop")
    asked = stop.get("asked") if isinstance(stop, dict) else None
    used = {
        p.id: p
        for s in steps
        if isinstance(s, dict)
        for a in s.get("administrations") or []
        if isinstance(a, dict)
        for u in a.get("units") or []
        if isinstance(u, dict)
        for p in products
        if p.id == u.get("product_id")
    }
    timeline = Timeline(
        drug=drug,
        start_dose=start_dose,
        doses_per_day=per_day,
        periods=tuple(periods),
        products=products,
        max_cut=cap or GUIDELINE_CAP,
        restart=restart,
        max_units=units_limit,
        region=region,
        patient=options.patient,
        cap_source=GUIDELINE_SOURCE if cap is None else "the plan's stated cap (limits.cap_pct)",
        used=tuple(used.values()),
        stop_asked=str(asked) if isinstance(asked, str) else "",
        faster_rule=_faster_preset(data, start_dose, periods),
    )
    return timeline, []


def _faster_preset(data: Mapping[str, Any], start: Decimal, periods: Sequence[Period]) -> str:
    """The plan's rule, where it is a preset whose own doses go faster than the guideline."""
    from .rules import PRESETS

    stated = data.get("rule")
    rule = PRESETS.get(str(stated.get("name", ""))) if isinstance(stated, dict) else None
    if rule is None or not rule_is_faster(rule, start, sum(p.days for p in periods)):
        return ""
    return f"{rule.name}: {rule.source}"


def recorded_overrides(path: str | Path) -> dict[str, str]:
    """The overrides a schedule file records: a plan's JSON in its own ``overrides``, a CSV
    schedule in the findings file taper writes beside it (``plan.findings.csv``)."""
    if str(path).lower().endswith(".json"):
        return overrides_of(parse(_read_text(path), str(path)), str(path))
    return sidecar_overrides(path)


def _json_period(step: object, i: int, origin: str, products: Sequence[Product]) -> Period:
    where = f"{origin}: steps[{i}]"
    step = obj(step, where)
    start = day(required(step, "start_date", where), f"{where}.start_date")
    days = whole_days(step, where)
    dose = number(required(step, "daily_dose_mg", where), f"{where}.daily_dose_mg")
    admins = step.get("administrations") or []
    if not isinstance(admins, list):
        raise InputError(f"{where}.administrations", "", "a list")
    shares, pieces, made = [], [], []
    allowed = True
    by_id = {p.id: p for p in products}
    by_name = {p.name: p for p in products}
    for j, admin in enumerate(admins, start=1):
        aw = f"{where}.administrations[{j}]"
        admin = obj(admin, aw)
        shares.append(
            (str(admin.get("time", j)), number(required(admin, "dose_mg", aw), f"{aw}.dose_mg"))
        )
        total, count_pieces = Decimal(0), 0
        for uw, unit in units_of(admin, aw):
            product = product_of(unit, by_id, by_name)
            if unit.get("form") == "solution":
                volume = number(required(unit, "volume_ml", uw), f"{uw}.volume_ml")
                concentration = number(required(unit, "mg_per_ml", uw), f"{uw}.mg_per_ml")
                measure = product.increment_ml if product and product.is_liquid else None
                if (
                    product is None
                    or measure is None
                    or volume % measure
                    or product.mg_per_ml != concentration
                ):
                    allowed = False
                total += concentration * volume
                if product is not None and product.max_ml:
                    count_pieces += ceil_int(volume / product.max_ml)
                else:
                    count_pieces += 1
                continue
            count = number(required(unit, "count", uw), f"{uw}.count")
            if product is None or product.is_liquid or count % product.split != 0:
                allowed = False
            strength = (
                product.strength_mg
                if product and product.strength_mg is not None
                else number(unit.get("strength_mg", "0"), f"{uw}.strength_mg", allow_zero=True)
            )
            total += strength * count
            count_pieces += ceil_int(count)
        pieces.append(count_pieces)
        made.append(normalize(total))
    return Period(
        i,
        start,
        days,
        dose,
        tuple(shares),
        tuple(pieces) if admins else None,
        tuple(made) if admins else None,
        allowed,
    )


def check_file(
    path: str | Path,
    options: ExternalOptions,
    catalog: Catalog | None = None,
    overrides: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Read a schedule file and check it as a plan of taper's own would be: a plan taper
    wrote by the very checks that made it (:func:`taper.validation.check`).

    Raises
    ------
    InputError
        When the file cannot be read as a schedule (a usage error, not a finding).
    """
    cat = catalog or load_catalog()
    return check_read(read_file(path, options, cat), cat, overrides)


def check_read(
    read: Read, catalog: Catalog, overrides: Mapping[str, str] | None = None
) -> list[Finding]:
    """The findings of a schedule file once read (:func:`read_file`)."""
    accepted = {**read.overrides, **(overrides or {})}
    if read.schedule is not None:
        return check(read.schedule, catalog=catalog, overrides=accepted)
    timeline = read.timeline
    found = check_prescription(
        timeline.drug,
        catalog,
        timeline.start_dose,
        timeline.doses_per_day,
        timeline.patient,
        timeline.region,
    )
    found += check_timeline(timeline, catalog)
    found += read.notes
    if read.switch is not None:
        found += check_switch(read.switch, catalog, timeline)
    return sorted(apply_overrides(found, accepted), key=Finding.sort_key)
