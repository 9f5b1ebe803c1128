"""Schedules made elsewhere: read a CSV or a taper-plan JSON file for checking.

A CSV needs ``start_date``, either ``days`` or ``end_date``, and
``daily_dose_mg``; it may give the dose at each time (``morning_mg``,
``midday_mg``, ``evening_mg``, ``bedtime_mg``), a ``step`` number and a
``drug`` column. A row of 0 mg marks the stop and must come last.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

from .catalog import TIMES, Catalog, Drug, Product, load_catalog
from .dispensing import DEFAULT_MAX_UNITS, MAX_UNITS_LIMIT, Unit
from .doses import ceil_int, format_mg, normalize, plain_number
from .errors import InputError
from .rules import GUIDELINE_CAP, GUIDELINE_SOURCE
from .schedule import Administration, Finding, Patient, Stage, Switch
from .textfile import comma_hint, one_column_header, read_text
from .validation import (
    Period,
    Timeline,
    apply_overrides,
    check_prescription,
    check_switch,
    check_timeline,
    rule_is_faster,
    switch_course,
    switch_dates,
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


def _digits(text: str) -> bool:
    """Whether ``text`` is a whole number in ASCII digits (``"²"`` is a digit to Python)."""
    return text.isascii() and text.isdigit()


def _number(raw: object, where: str, allow_zero: bool = False) -> Decimal:
    text = str(raw).strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero) or "e" in text.lower():
        raise InputError(where, text, "a number of mg such as 0.5")
    return normalize(value)


def _date(raw: object, where: str) -> date:
    try:
        day = date.fromisoformat(str(raw).strip())
    except ValueError:
        raise InputError(where, str(raw), "a date written YYYY-MM-DD") from None
    if not date(1970, 1, 1) <= day <= date(2200, 12, 31):
        raise InputError(where, str(raw), "a date from 1970-01-01 to 2200-12-31")
    return day


def _read_text(path: str | Path) -> str:
    return read_text(path, "FILE", "schedule")


def read_schedule(
    path: str | Path, options: ExternalOptions, catalog: Catalog | None = None
) -> tuple[Timeline, list[Finding]]:
    """Read a CSV or taper-plan JSON schedule as a :class:`Timeline`, with reading notes."""
    cat = catalog or load_catalog()
    text = _read_text(path)
    if not text.strip():
        raise InputError("FILE", str(path), "the file is empty")
    if str(path).lower().endswith(".json") or text.lstrip().startswith("{"):
        return _from_json(text, str(path), options, cat)
    return _from_csv(text, str(path), options, cat)


def _drug(cat: Catalog, name: object, options: ExternalOptions) -> Drug:
    chosen = options.drug or name
    if not chosen:
        raise InputError("{drug}", "", "name the drug with {drug} or a drug column")
    return cat.drug(str(chosen))


def _products(drug: Drug, region: str) -> tuple[Product, ...]:
    """The products a schedule that names none is held to: the region's tablets and
    capsules, as a plan uses by default (a liquid only when asked for)."""
    return tuple(p for p in drug.products_in(region) if p.usable and p.is_solid)


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
        dose = _number(row["daily_dose_mg"], f"{where}, daily_dose_mg", allow_zero=True)
        start = _date(row["start_date"], f"{where}, start_date")
        if stop_seen:
            raise InputError(f"{where}", row["daily_dose_mg"], "no row may follow the 0 mg stop")
        if dose == 0:
            stop_seen = True
            continue
        if row.get("days", ""):
            days_text = row["days"]
            if not _digits(days_text) or not 1 <= int(days_text) <= 3650:
                raise InputError(f"{where}, days", days_text, "whole days, 1 to 3650")
            days = int(days_text)
        else:
            end = _date(row.get("end_date", ""), f"{where}, end_date")
            days = (end - start).days + 1
            if days < 1:
                raise InputError(
                    f"{where}, end_date", row["end_date"], "a day on or after start_date"
                )
        shares = tuple(
            (t, _number(row[f"{t}_mg"] or "0", f"{where}, {t}_mg", allow_zero=True)) for t in times
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
            Finding(
                "info",
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
        else _products(drug, options.region)
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
        start = _date(row["start_date"], f"{where}, start_date")
        days = str(row.get("days", ""))
        if not _digits(days) or not 1 <= int(days) <= 3650:
            raise InputError(f"{where}, days", days, "whole days, 1 to 3650")
        equivalent = _number(row["equivalent_mg"], f"{where}, equivalent_mg")
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
        Finding(
            "info",
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
            out[column] = _cap(raw, f"{origin}: {column}")
        elif column == "max_units":
            if not _digits(raw) or not 1 <= int(raw) <= 20:
                raise InputError(f"{origin}: {column}", raw, "1 to 20")
            out[column] = Decimal(raw)
        else:
            out[column] = _number(raw, f"{origin}: {column}")
    return out


def _cap(raw: object, where: str) -> Decimal:
    """A cap written in percent (``25``), as a fraction."""
    text = str(raw).strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 < value < 100:
        raise InputError(where, text, "a cap above 0 and below 100 (per cent)")
    return normalize(value / 100)


def _get(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise InputError(f"{where}.{key}", "", "the key is required by the taper-plan/1 format")
    return data[key]


def _from_json(
    text: str, origin: str, options: ExternalOptions, cat: Catalog
) -> tuple[Timeline, list[Finding]]:
    try:
        data = json.loads(text, parse_float=str, parse_int=str)
    except json.JSONDecodeError as exc:
        raise InputError(origin, "", f"not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise InputError(origin, "", "JSON nested too deeply to be a taper plan") from None
    if not isinstance(data, dict) or data.get("format") != "taper-plan/1":
        raise InputError(
            f"{origin}: format",
            str(data.get("format") if isinstance(data, dict) else type(data).__name__),
            "a taper-plan/1 JSON file",
        )
    drug = _drug(cat, data.get("drug"), options)
    start_dose = options.start_dose or _number(
        _get(data, "start_dose_mg", origin), f"{origin}: start_dose_mg"
    )
    limits = data.get("limits") or {}
    cap = options.max_cut
    if isinstance(limits, dict):
        # the plan's cap (cap_pct); max_cut_pct also counts the cuts the products forced
        caps = {
            key: _cap(limits[key], f"{origin}: limits.{key}")
            for key in ("max_cut_pct", "cap_pct")
            if limits.get(key) is not None
        }
        if cap is None:
            cap = caps.get("cap_pct", caps.get("max_cut_pct"))
    units_limit = options.max_units
    if options.max_units_given is False and isinstance(limits, dict):
        stated = str(limits.get("max_units_per_administration", ""))
        if _digits(stated) and int(stated) > 0:
            units_limit = int(stated)
    steps = _get(data, "steps", origin)
    if not isinstance(steps, list) or not steps:
        raise InputError(f"{origin}: steps", "", "a list of at least one step")
    region = str(data.get("region") or options.region)
    if region not in ("us", "uk"):
        raise InputError(f"{origin}: region", region, "us or uk")
    products = plan_products(data, drug, region, origin)
    periods = [_json_period(s, i, origin, products) for i, s in enumerate(steps, start=1)]
    per_day_raw = data.get("doses_per_day", drug.default_doses_per_day)
    per_day = options.per_day or (int(str(per_day_raw)) if _digits(str(per_day_raw)) else 0)
    if not 1 <= per_day <= len(TIMES):
        raise InputError(f"{origin}: doses_per_day", str(per_day_raw), "1 to 4")
    restart = None
    record = data.get("replan")
    if isinstance(record, dict):
        try:
            restart = (
                int(str(record["history_steps"])) + 1,
                _number(record["current_dose_mg"], f"{origin}: replan.current_dose_mg"),
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


def plan_products(
    data: Mapping[str, Any], drug: Drug, region: str, origin: str
) -> tuple[Product, ...]:
    """The products a plan's JSON allows, split and measured as the plan says (``products``);
    without that list, the catalog's products for the region.

    A tablet may be halved only along a break line the catalog records (or its own score),
    and only a liquid on taper's default measure may carry other marks.
    """
    listed = data.get("products")
    if listed is None:
        return _products(drug, region)
    if not isinstance(listed, list) or not listed:
        raise InputError(f"{origin}: products", "", "a list of the plan's products")
    by_id = {p.id: p for p in drug.products if p.usable}
    out = []
    for i, entry in enumerate(listed, start=1):
        where = f"{origin}: products[{i}]"
        entry = _object(entry, where)
        product = by_id.get(str(entry.get("id")))
        if product is None:
            raise InputError(
                f"{where}.id", str(entry.get("id")), f"a product of {drug.name} in the catalog"
            )
        if product.is_liquid and entry.get("increment_ml") is not None:
            increment = _number(entry["increment_ml"], f"{where}.increment_ml")
            if increment != product.increment_ml:
                if (
                    not product.default_measure
                    or product.max_ml is None
                    or (product.max_ml % increment)
                ):
                    raise InputError(
                        f"{where}.increment_ml",
                        str(entry["increment_ml"]),
                        f"the measure of {product.name}: {product.measure or 'its label'}",
                    )
                product = replace(product, increment_ml=increment)
        elif not product.is_liquid and entry.get("split") is not None:
            split = _number(entry["split"], f"{where}.split")
            if split != product.split:
                if not (product.break_line and split == Decimal("0.5")):
                    raise InputError(
                        f"{where}.split",
                        str(entry["split"]),
                        f"{plain_number(product.split)}: how far {product.name} may be split",
                    )
                product = replace(product, split=split)
        out.append(product)
    return tuple(out)


def recorded_overrides(path: str | Path) -> dict[str, str]:
    """The overrides a plan records: in a taper-plan JSON file's findings, or in the
    findings file taper writes beside a CSV schedule (``plan.findings.csv``)."""
    target = Path(path)
    side = target.with_name(f"{target.stem}.findings.csv")
    if not str(path).lower().endswith(".json") and side.exists():
        try:
            rows = csv.DictReader(io.StringIO(_read_text(side)))
            return {r["code"]: r["override"] for r in rows if r.get("code") and r.get("override")}
        except (InputError, KeyError, csv.Error):
            return {}
    try:
        data = json.loads(_read_text(path))
    except (InputError, ValueError):
        return {}
    found = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(found, list):
        return {}
    return {
        str(f["code"]): str(f["override"])
        for f in found
        if isinstance(f, dict) and f.get("code") and f.get("override")
    }


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(where, type(value).__name__, "an object")
    return value


def _days(entry: Mapping[str, Any], where: str) -> int:
    days = str(_get(entry, "days", where))
    if not _digits(days) or not 1 <= int(days) <= 3650:
        raise InputError(f"{where}.days", days, "whole days, 1 to 3650")
    return int(days)


def _units(admin: Mapping[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each unit of an administration, with where it is in the file."""
    for k, unit in enumerate(admin.get("units") or [], start=1):
        uw = f"{where}.units[{k}]"
        yield uw, _object(unit, uw)


def _product(
    unit: Mapping[str, Any], by_id: Mapping[str, Product], by_name: Mapping[str, Product]
) -> Product | None:
    """The catalog product a unit names, by its id or else its name."""
    return by_id.get(str(unit.get("product_id"))) or by_name.get(str(unit.get("product")))


def _json_period(step: object, i: int, origin: str, products: Sequence[Product]) -> Period:
    where = f"{origin}: steps[{i}]"
    step = _object(step, where)
    start = _date(_get(step, "start_date", where), f"{where}.start_date")
    days = _days(step, where)
    dose = _number(_get(step, "daily_dose_mg", where), f"{where}.daily_dose_mg")
    admins = step.get("administrations") or []
    if not isinstance(admins, list):
        raise InputError(f"{where}.administrations", "", "a list")
    shares, pieces, made = [], [], []
    allowed = True
    by_id = {p.id: p for p in products}
    by_name = {p.name: p for p in products}
    for j, admin in enumerate(admins, start=1):
        aw = f"{where}.administrations[{j}]"
        admin = _object(admin, aw)
        shares.append(
            (str(admin.get("time", j)), _number(_get(admin, "dose_mg", aw), f"{aw}.dose_mg"))
        )
        total, count_pieces = Decimal(0), 0
        for uw, unit in _units(admin, aw):
            product = _product(unit, by_id, by_name)
            if unit.get("form") == "solution":
                volume = _number(_get(unit, "volume_ml", uw), f"{uw}.volume_ml")
                concentration = _number(_get(unit, "mg_per_ml", uw), f"{uw}.mg_per_ml")
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
            count = _number(_get(unit, "count", uw), f"{uw}.count")
            if product is None or product.is_liquid or count % product.split != 0:
                allowed = False
            strength = (
                product.strength_mg
                if product and product.strength_mg is not None
                else _number(unit.get("strength_mg", "0"), f"{uw}.strength_mg", allow_zero=True)
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


def _times(data: Mapping[str, Any]) -> tuple[str, ...]:
    """A plan's administration times, as it states them (``times``)."""
    times = data.get("times")
    return tuple(str(t) for t in times) if isinstance(times, list) else ()


def read_switch(
    raw: object,
    cat: Catalog,
    region: str,
    origin: str = "plan",
    plan_times: Sequence[str] = (),
) -> tuple[Switch, list[Finding]]:
    """A plan's ``switch`` block (docs/plan-json.md) as a :class:`~taper.schedule.Switch`.

    What a checker must see rather than refuse comes back as findings: a unit whose product
    the catalog does not list (left out of its stage), a stage whose stated doses or end date
    disagree with its units or its days.
    """
    where = f"{origin}: switch"
    raw = _object(raw, where)
    source = cat.drug(str(_get(raw, "from_drug", where)))
    target = cat.drug(str(_get(raw, "to_drug", where)))
    from_dose = _number(_get(raw, "from_dose_mg", where), f"{where}.from_dose_mg")
    factor = _number(_get(raw, "to_mg_per_from_mg", where), f"{where}.to_mg_per_from_mg")
    ratio = None
    if raw.get("ratio_mg") is not None:
        pair = _object(raw["ratio_mg"], f"{where}.ratio_mg")
        ratio = Fraction(_number(pair.get("to"), f"{where}.ratio_mg.to")) / Fraction(
            _number(pair.get("from"), f"{where}.ratio_mg.from")
        )
        said = Decimal(ratio.numerator) / Decimal(ratio.denominator)
        if normalize(said.quantize(Decimal("0.001"))) != factor:
            raise InputError(
                f"{where}.to_mg_per_from_mg",
                str(factor),
                f"the ratio_mg's {pair.get('to')!s} to {pair.get('from')!s}, to the microgram",
            )
    limit = str(raw.get("max_units_per_administration", DEFAULT_MAX_UNITS))
    if not _digits(limit) or not 1 <= int(limit) <= MAX_UNITS_LIMIT:
        raise InputError(f"{where}.max_units_per_administration", limit, "a whole number")
    spread = raw.get("equivalent_range_mg")
    if spread is not None and (not isinstance(spread, list) or len(spread) != 2):
        raise InputError(f"{where}.equivalent_range_mg", str(spread), "two numbers, low and high")
    low_high = tuple(_number(v, f"{where}.equivalent_range_mg") for v in spread or ("0", "0"))
    stages_raw = _get(raw, "stages", where)
    if not isinstance(stages_raw, list) or not stages_raw:
        raise InputError(f"{where}.stages", "", "a list of at least one stage")
    products = {p.id: p for d in (source, target) for p in d.products}
    names = {p.name: p for p in products.values()}
    notes: list[Finding] = []
    stages = []
    times: list[str] = []
    for i, stage in enumerate(stages_raw, start=1):
        sw = f"{where}.stages[{i}]"
        stage = _object(stage, sw)
        start = _date(_get(stage, "start_date", sw), f"{sw}.start_date")
        days = _days(stage, sw)
        administrations: list[Administration] = []
        for j, admin in enumerate(stage.get("administrations") or [], start=1):
            aw = f"{sw}.administrations[{j}]"
            admin = _object(admin, aw)
            units = []
            for uw, unit in _units(admin, aw):
                product = _product(unit, products, names)
                if product is None:
                    notes.append(
                        Finding(
                            "error",
                            "not-dispensable",
                            f"Switch stage {i}: {unit.get('product')!s} is not a product of "
                            f"{source.name} or {target.name} in the catalog.",
                            "the catalog's products",
                        )
                    )
                    continue
                if product.is_liquid and product.increment_ml:
                    volume = _number(_get(unit, "volume_ml", uw), f"{uw}.volume_ml")
                    count = volume / product.increment_ml
                else:
                    count = _number(_get(unit, "count", uw), f"{uw}.count")
                units.append(Unit(product, normalize(count)))
            time = str(_get(admin, "time", aw))
            if time not in TIMES:
                raise InputError(f"{aw}.time", time, f"one of {', '.join(TIMES)}")
            if any(a.time == time for a in administrations):
                raise InputError(f"{aw}.time", time, "each time once in a stage")
            if time not in times:
                times.append(time)
            administrations.append(Administration(time, tuple(units)))
        equivalent = _number(
            _get(stage, "equivalent_mg", sw), f"{sw}.equivalent_mg", allow_zero=True
        )
        made = Stage(i, start, days, tuple(administrations), equivalent)
        stated = stage.get("daily_dose_mg")
        if isinstance(stated, dict):
            for drug in (source.name, target.name):
                value = _number(stated.get(drug, "0"), f"{sw}.daily_dose_mg", allow_zero=True)
                if value != made.dose_of(drug):
                    notes.append(
                        Finding(
                            "error",
                            "dose-mismatch",
                            f"Switch stage {i} states {format_mg(value)}/day of {drug} but its "
                            f"units make {format_mg(made.dose_of(drug))}.",
                            "taper plan contract: one truth",
                        )
                    )
        end = stage.get("end_date")
        if end is not None and _date(end, f"{sw}.end_date") != made.end:
            notes.append(
                Finding(
                    "error",
                    "gap-or-overlap",
                    f"Switch stage {i} ends {end!s} by its end_date but "
                    f"{made.end.isoformat()} by its {days} days.",
                    "taper plan contract: steps are contiguous",
                )
            )
        stages.append(made)
    # the plan's own times where it gives them: a stage may leave a time with no dose
    order = [t for t in TIMES if t in times or t in plan_times]
    switch = Switch(
        from_drug=source.name,
        to_drug=target.name,
        from_dose=from_dose,
        factor=factor,
        table=str(raw.get("table", "")),
        table_title=str(raw.get("table_title", "")),
        source=str(raw.get("source", "")),
        spread=(low_high[0], low_high[1]),
        stages=tuple(stages),
        times=tuple(order),
        ratio=ratio,
        max_units=int(limit),
    )
    return switch, notes


def check_file(
    path: str | Path,
    options: ExternalOptions,
    catalog: Catalog | None = None,
    overrides: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Read a schedule made elsewhere and check it as a plan of taper's own would be.

    Raises
    ------
    InputError
        When the file cannot be read as a schedule (a usage error, not a finding).
    """
    cat = catalog or load_catalog()
    timeline, notes = read_schedule(path, options, cat)
    switch = None
    text = _read_text(path)
    if str(path).lower().endswith(".json") or text.lstrip().startswith("{"):
        data = json.loads(text, parse_float=str, parse_int=str)
        if isinstance(data, dict) and data.get("switch") is not None:
            switch, more = read_switch(
                data["switch"], cat, timeline.region, str(path), _times(data)
            )
            notes = [*notes, *more]
    accepted = recorded_overrides(path)
    accepted.update(overrides or {})
    start = timeline.start_dose
    found = check_prescription(
        timeline.drug, cat, start, timeline.doses_per_day, timeline.patient, timeline.region
    )
    found += check_timeline(timeline, cat)
    found += notes
    if switch is not None:
        found += check_switch(switch, cat, timeline)
    return sorted(apply_overrides(found, accepted), key=Finding.sort_key)
