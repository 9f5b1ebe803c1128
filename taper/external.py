"""Schedules made elsewhere: read a CSV or a taper-plan JSON file for checking.

A CSV needs ``start_date``, either ``days`` or ``end_date``, and
``daily_dose_mg``; it may give the dose at each time (``morning_mg``,
``midday_mg``, ``evening_mg``, ``bedtime_mg``), a ``step`` number and a
``drug`` column. A row of 0 mg marks the stop and must come last.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from .catalog import TIMES, Catalog, Drug, Product, load_catalog
from .doses import ceil_int, normalize
from .errors import InputError
from .plan_json import (
    default_products,
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
from .schedule import Finding, Patient, Schedule, Stage, Switch
from .textfile import comma_hint, day, digits, number, one_column_header, percent_cap, read_text
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
    switch_course,
    switch_dates,
    timeline_of,
)

#: a schedule longer than this is not one a clinician wrote (taper's own bound)
MAX_ROWS = 5000


@dataclass(frozen=True)
class ExternalOptions:
    """What the command line adds to a schedule read from a file."""

    drug: str | None = None
    start_dose: Decimal | None = None
    per_day: int | None = None
    max_cut: Decimal | None = None
    max_units: int = 4
    max_units_given: bool = False
    region: str = "us"
    patient: Patient = field(default_factory=Patient)

    @property
    def reads_as_written(self) -> bool:
        """Whether a plan's JSON is read as it was written: nothing given here changes its
        drug, starting dose, doses a day, cap or unit limit."""
        return (
            self.drug is None
            and self.start_dose is None
            and self.per_day is None
            and self.max_cut is None
            and not self.max_units_given
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
        timeline, notes = _from_csv(text, origin, options, catalog)
        return Read(timeline, notes, overrides=_sidecar_overrides(path))
    data = parse(text, origin)
    if options.reads_as_written:
        try:
            schedule = load_plan(data, catalog, origin)
        except InputError:
            schedule = None  # checked as a schedule made elsewhere: each problem a finding
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
    switch = None
    if data.get("switch") is not None:
        switch, more = read_switch(
            data["switch"], catalog, timeline.region, origin, stated_times(data)
        )
        notes = [*notes, *more]
    return Read(timeline, notes, None, switch, overrides_of(data, origin))


def _drug(cat: Catalog, name: object, options: ExternalOptions) -> Drug:
    chosen = options.drug or name
    if not chosen:
        raise InputError("{drug}", "", "name the drug with {drug} or a drug column")
    return cat.drug(str(chosen))


def _from_csv(
    text: str, origin: str, options: ExternalOptions, cat: Catalog
) -> tuple[Timeline, list[Finding]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))  # a lone \r ends a row, as in a file
    header = [h.strip() for h in (reader.fieldnames or [])]
    if one_column_header(header):
        raise InputError(f"{origin}: columns", header[0], comma_hint(header).split("; ", 1)[1])
    if len(set(header)) != len(header):
        repeated = sorted({h for h in header if header.count(h) > 1})
        raise InputError(f"{origin}: columns", repeated[0], "each column once")
    missing = [c for c in ("start_date", "daily_dose_mg") if c not in header]
    if missing or ("days" not in header and "end_date" not in header):
        need = missing[0] if missing else "days or end_date"
        raise InputError(
            f"{origin}: columns",
            ",".join(header),
            f"a {need} column is required (start_date, days or end_date, daily_dose_mg)",
        )
    times = [t for t in TIMES if f"{t}_mg" in header]
    rows: list[dict[str, str]] = []
    switch_rows: list[tuple[int, dict[str, str]]] = []
    for i, raw in enumerate(reader, start=2):
        if i - 1 > MAX_ROWS:
            raise InputError(origin, f"{i - 1} rows", f"at most {MAX_ROWS} rows")
        if None in raw or any(v is None for v in raw.values()):
            raise InputError(f"{origin}: row {i}", "", "every row needs one cell per column")
        row = {k.strip(): (v or "").strip() for k, v in raw.items()}
        if row.get("phase", "taper") == "switch":
            switch_rows.append((i, row))
        else:
            rows.append(row)
    if not rows:
        raise InputError(origin, "", "the file has no rows")
    if switch_rows and "equivalent_mg" not in header:
        raise InputError(f"{origin}: columns", ",".join(header), "an equivalent_mg column")
    named = {r.get("drug", "") for r in rows} - {""}
    drugs = {cat.drug(n).name for n in named}
    if len(drugs) > 1:
        raise InputError(f"{origin}: drug", ", ".join(sorted(named)), "one drug per schedule")
    if options.drug and drugs and cat.drug(options.drug).name not in drugs:
        raise InputError("{drug}", options.drug, f"the file's drug column says {drugs.pop()}")
    drug = _drug(cat, next(iter(drugs), None), options)
    stated = _stated_limits(rows, origin)
    periods: list[Period] = []
    stop_seen = False
    for i, row in enumerate(rows, start=2):
        where = f"{origin}: row {i}"
        dose = number(row["daily_dose_mg"], f"{where}, daily_dose_mg", allow_zero=True)
        start = day(row["start_date"], f"{where}, start_date")
        if stop_seen:
            raise InputError(f"{where}", row["daily_dose_mg"], "no row may follow the 0 mg stop")
        if dose == 0:
            stop_seen = True
            continue
        if row.get("days", ""):
            days_text = row["days"]
            if not digits(days_text) or not 1 <= int(days_text) <= 3650:
                raise InputError(f"{where}, days", days_text, "whole days, 1 to 3650")
            days = int(days_text)
        else:
            end = day(row.get("end_date", ""), f"{where}, end_date")
            days = (end - start).days + 1
            if days < 1:
                raise InputError(
                    f"{where}, end_date", row["end_date"], "a day on or after start_date"
                )
        shares = tuple(
            (t, number(row[f"{t}_mg"] or "0", f"{where}, {t}_mg", allow_zero=True)) for t in times
        )
        periods.append(
            Period(len(periods) + 1, start, days, dose, tuple(s for s in shares if s[1] > 0))
        )
    if not periods:
        raise InputError(origin, "", "the schedule has no dose above 0 mg")
    per_day = options.per_day or (len(times) if times else drug.default_doses_per_day)
    notes: list[Finding] = []
    start_dose = options.start_dose or stated.get("start_dose_mg")
    cap = options.max_cut or stated.get("max_cut_pct")
    units = (
        options.max_units
        if options.max_units_given
        else int(stated.get("max_units", options.max_units))
    )
    first_is_start = start_dose is None
    if first_is_start:
        notes.append(
            finding(
                "no-start-dose",
                f"No starting dose was given (--start-dose), so the first row "
                f"({periods[0].dose} mg/day) is taken as the dose before the first cut.",
                "taper check",
            )
        )
    listed = {r.get("products", "") for r in rows} - {""}
    if len(listed) > 1:
        raise InputError(f"{origin}: products", "; ".join(sorted(listed)), "one value for all rows")
    products = (
        plan_products(
            {"products": _product_tokens(listed.pop(), origin)}, drug, options.region, origin
        )
        if listed
        else default_products(drug, options.region)
    )
    timeline = Timeline(
        drug=drug,
        start_dose=start_dose or periods[0].dose,
        doses_per_day=per_day,
        periods=tuple(periods),
        products=products,
        max_cut=cap or GUIDELINE_CAP,
        max_units=units,
        region=options.region,
        patient=options.patient,
        first_is_start=first_is_start,
        cap_source=GUIDELINE_SOURCE if cap is None else "the stated cap (--max-cut or max_cut_pct)",
    )
    if switch_rows:
        notes += _csv_switch(switch_rows, origin, timeline)
    return timeline, notes


def _product_tokens(cell: str, origin: str) -> list[dict[str, str]]:
    """A CSV's ``products`` cell (``diazepam-tab-2/half diazepam-solution-1-mg-ml@0.2ml``) as
    the JSON's ``products`` entries."""
    entries = []
    for token in cell.split():
        pid, _, measure = token.partition("@")
        pid, _, half = pid.partition("/")
        entry = {"id": pid}
        if half:
            if half != "half":
                raise InputError(f"{origin}: products", token, "a product id, with /half or @0.2ml")
            entry["split"] = "0.5"
        if measure:
            if not measure.lower().endswith("ml"):
                raise InputError(f"{origin}: products", token, "a product id, with /half or @0.2ml")
            entry["increment_ml"] = measure[:-2]
        entries.append(entry)
    return entries


def _csv_switch(
    rows: list[tuple[int, dict[str, str]]], origin: str, timeline: Timeline
) -> list[Finding]:
    """A CSV's switch rows: their dates and the equivalent's course from the first stage on.

    The CSV carries neither the units by drug nor the equivalence ratio, so those are
    checked in the plan's JSON; a note says so.
    """
    stages = []
    for k, (i, row) in enumerate(rows, start=1):
        where = f"{origin}: row {i}"
        start = day(row["start_date"], f"{where}, start_date")
        days = str(row.get("days", ""))
        if not digits(days) or not 1 <= int(days) <= 3650:
            raise InputError(f"{where}, days", days, "whole days, 1 to 3650")
        equivalent = number(row["equivalent_mg"], f"{where}, equivalent_mg")
        stages.append(Stage(k, start, int(days), (), equivalent))
    first = stages[0].equivalent
    switch = Switch(
        from_drug=timeline.drug.name,
        to_drug=timeline.drug.name,
        from_dose=first,
        factor=Decimal(1),
        table="",
        table_title="",
        source="the schedule's equivalent_mg column",
        spread=(first, first),
        stages=tuple(stages),
        times=(),
    )
    return [
        *switch_dates(switch, timeline),
        *switch_course(switch, timeline),
        finding(
            "switch-checked-in-part",
            f"The {len(stages)} switch rows were checked for their dates and for the course of "
            f"equivalent_mg from the first stage on; a CSV carries neither each drug's units nor "
            f"the equivalence ratio, so check the plan's JSON for those.",
            "taper check",
        ),
    ]


def _stated_limits(rows: list[dict[str, str]], origin: str) -> dict[str, Decimal]:
    """The starting dose, cap and unit limit a CSV states in its own columns, if any."""
    out: dict[str, Decimal] = {}
    for column in ("start_dose_mg", "max_cut_pct", "max_units"):
        values = {r.get(column, "") for r in rows} - {""}
        if not values:
            continue
        if len(values) > 1:
            raise InputError(
                f"{origin}: {column}", ", ".join(sorted(values)), "one value for all rows"
            )
        raw = values.pop()
        if column == "max_cut_pct":
            out[column] = percent_cap(raw, f"{origin}: {column}")
        elif column == "max_units":
            if not digits(raw) or not 1 <= int(raw) <= 20:
                raise InputError(f"{origin}: {column}", raw, "1 to 20")
            out[column] = Decimal(raw)
        else:
            out[column] = number(raw, f"{origin}: {column}")
    return out


def _from_json(
    data: dict[str, Any], origin: str, options: ExternalOptions, cat: Catalog
) -> tuple[Timeline, list[Finding]]:
    drug = _drug(cat, data.get("drug"), options)
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

    rule = PRESETS.get(str((data.get("rule") or {}).get("name", "")))
    if rule is None or not rule_is_faster(rule, start, sum(p.days for p in periods)):
        return ""
    return f"{rule.name}: {rule.source}"


def recorded_overrides(path: str | Path) -> dict[str, str]:
    """The overrides a schedule file records: a plan's JSON in its own ``overrides``, a CSV
    schedule in the findings file taper writes beside it (``plan.findings.csv``)."""
    if str(path).lower().endswith(".json"):
        return overrides_of(parse(_read_text(path), str(path)), str(path))
    return _sidecar_overrides(path)


def _sidecar_overrides(path: str | Path) -> dict[str, str]:
    """The overrides in the findings file beside a CSV schedule, if there is one."""
    target = Path(path)
    side = target.with_name(f"{target.stem}.findings.csv")
    if not side.exists():
        return {}
    try:
        rows = csv.DictReader(io.StringIO(_read_text(side)))
        return {r["code"]: r["override"] for r in rows if r.get("code") and r.get("override")}
    except (InputError, KeyError, csv.Error):
        return {}


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
