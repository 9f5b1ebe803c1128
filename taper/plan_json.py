"""The plan as JSON (format ``taper-plan/1``, docs/plan-json.md): its one writer and reader."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from . import __version__
from .catalog import TIMES, Catalog, Drug, Product
from .dispensing import DEFAULT_MAX_UNITS, MAX_UNITS_LIMIT, Unit, supply_unit
from .doses import format_mg, format_percent, normalize, plain_number
from .errors import InputError
from .schedule import (
    FILL_DAYS,
    MOST_FILL_DAYS,
    SEVERITIES,
    Administration,
    Finding,
    Prescription,
    Replan,
    Schedule,
    Stage,
    Step,
    Switch,
)
from .textfile import day, digits, number, percent_cap
from .validation import CODES, finding

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

FORMAT = "taper-plan/1"


def _unit(unit: Unit) -> dict[str, Any]:
    product = unit.product
    if product.is_liquid:
        assert product.mg_per_ml is not None and product.increment_ml is not None
        liquid: dict[str, Any] = {
            "product": product.name,
            "product_id": product.id,
            "form": "solution",
            "mg_per_ml": plain_number(product.mg_per_ml),
            "volume_ml": plain_number(unit.volume_ml),
            "increment_ml": plain_number(product.increment_ml),
        }
        if product.drops_per_ml:
            liquid["drops"] = unit.drops
        return liquid
    assert product.strength_mg is not None
    return {
        "product": product.name,
        "product_id": product.id,
        "form": product.form,
        "strength_mg": plain_number(product.strength_mg),
        "count": plain_number(unit.count),
        "split": plain_number(product.split),
    }


def _administrations(administrations: Iterable[Administration]) -> list[dict[str, Any]]:
    return [
        {"time": a.time, "dose_mg": plain_number(a.dose), "units": [_unit(u) for u in a.units]}
        for a in administrations
    ]


def _switch(schedule: Schedule) -> dict[str, Any]:
    """The stages of a switch, both drugs at each administration (docs/plan-json.md)."""
    switch = schedule.switch
    assert switch is not None
    stages = []
    for stage in switch.stages:
        stages.append(
            {
                "stage": stage.number,
                "start_date": stage.start.isoformat(),
                "end_date": stage.end.isoformat(),
                "days": stage.days,
                "equivalent_mg": plain_number(stage.equivalent),
                "daily_dose_mg": {
                    switch.from_drug: plain_number(stage.dose_of(switch.from_drug)),
                    switch.to_drug: plain_number(stage.dose_of(switch.to_drug)),
                },
                "administrations": [
                    {
                        "time": a.time,
                        "dose_mg": {
                            drug: plain_number(
                                sum((u.dose for u in a.units if u.product.drug == drug), Decimal(0))
                            )
                            for drug in (switch.from_drug, switch.to_drug)
                        },
                        "units": [{**_unit(u), "drug": u.product.drug} for u in a.units],
                    }
                    for a in stage.administrations
                ],
            }
        )
    return {
        "from_drug": switch.from_drug,
        "from_dose_mg": plain_number(switch.from_dose),
        "to_drug": switch.to_drug,
        "table": switch.table,
        "table_title": switch.table_title,
        "source": switch.source,
        "to_mg_per_from_mg": plain_number(switch.factor),
        "ratio_mg": {
            "from": str(switch.exact_ratio.denominator),
            "to": str(switch.exact_ratio.numerator),
        },
        "start_equivalent_mg": plain_number(switch.start_equivalent),
        "equivalent_range_mg": [plain_number(v) for v in switch.spread],
        "max_units_per_administration": switch.max_units,
        "start_date": switch.start_date.isoformat(),
        "stages": stages,
    }


def _product(product: Product) -> dict[str, Any]:
    """A product the plan may dispense, with how it is split or measured in this plan."""
    entry: dict[str, Any] = {"id": product.id, "name": product.name, "form": product.form}
    if product.is_liquid:
        assert product.increment_ml is not None
        entry["increment_ml"] = plain_number(product.increment_ml)
        if product.measure:
            entry["measure"] = product.measure
    else:
        entry["split"] = plain_number(product.split)
        if product.halved_off_licence:
            entry["halved_off_licence"] = True
    return entry


def _stop(schedule: Schedule) -> dict[str, Any]:
    """How the plan stops (docs/plan-json.md)."""
    from .validation import diazepam_range, stop_of

    stop = stop_of(schedule)
    found = diazepam_range(schedule.prescription.drug, stop.from_mg)
    return {
        "from_mg": plain_number(stop.from_mg),
        "after_days": stop.after_days,
        "terminal_mg": plain_number(stop.terminal_mg) if stop.terminal_mg is not None else None,
        "above_terminal": stop.above_terminal,
        "asked": stop.asked or None,
        "diazepam_equivalent_mg": (
            [plain_number(found[0]), plain_number(found[1])] if found is not None else None
        ),
    }


def plan_to_dict(schedule: Schedule, fill_days: int = FILL_DAYS) -> dict[str, Any]:
    """The plan as plain data in the ``taper-plan/1`` layout."""
    from .validation import forced_steps

    rx = schedule.prescription
    forced = set(forced_steps(schedule))
    steps = []
    for step in schedule.steps:
        steps.append(
            {
                "step": step.number,
                "start_date": step.start.isoformat(),
                "end_date": step.end.isoformat(),
                "days": step.days,
                "daily_dose_mg": plain_number(step.dose),
                "target_dose_mg": plain_number(max(step.target, Decimal(0))),
                "cut_pct": format_percent(step.cut),
                **({"forced_cut": True} if step.number in forced else {}),
                **({"held": True} if step.held else {}),
                "administrations": _administrations(step.administrations),
            }
        )
    # the largest cut a step may make: the cap, or a larger cut the products force
    effective = max([schedule.max_cut, *(s.cut for s in schedule.steps if s.number in forced)])
    return {
        "format": FORMAT,
        "taper_version": __version__,
        "catalog": schedule.catalog_version,
        "drug": rx.drug,
        "region": rx.region,
        "start_dose_mg": plain_number(rx.start_dose),
        "doses_per_day": rx.doses_per_day,
        "times": list(rx.times),
        **({"patient": patient} if (patient := _patient(schedule)) else {}),
        **({"identity": identity} if (identity := _identity(schedule)) else {}),
        "rule": {
            "name": schedule.rule_name,
            "description": schedule.rule_description,
            "source": schedule.rule_source,
        },
        "limits": {
            "max_cut_pct": _percent(effective),
            "cap_pct": format_percent(schedule.max_cut),
            "max_units_per_administration": schedule.max_units,
            **(
                {"longest_step_days": schedule.longest_step_days}
                if schedule.longest_step_days is not None
                else {}
            ),
            "at_low_doses": schedule.at_low_doses,
            **({"cap_source": schedule.cap_source} if _own_cap_source(schedule) else {}),
        },
        "products": [_product(p) for p in schedule.products],
        "start_date": rx.start_date.isoformat(),
        "stop_date": schedule.stop_date.isoformat(),
        "duration_days": schedule.duration_days,
        "steps": steps,
        "dispensing": [
            {
                "product": p.name,
                "product_id": p.id,
                "quantity": plain_number(q),
                "unit": supply_unit(p),
            }
            for p, q in schedule.dispensing()
        ],
        "fill_days": fill_days,
        "fills": [
            {
                "start_date": first.isoformat(),
                "end_date": last.isoformat(),
                "supply": [
                    {
                        "product": p.name,
                        "product_id": p.id,
                        "quantity": plain_number(q),
                        "unit": supply_unit(p),
                    }
                    for p, q in supply
                ],
            }
            for first, last, supply in schedule.fills(fill_days)
        ],
        "stop": _stop(schedule),
        **(
            {"overrides": [{"code": c, "reason": r} for c, r in schedule.overrides]}
            if schedule.overrides
            else {}
        ),
        "findings": _findings(schedule.sorted_findings()),
        **({"switch": _switch(schedule)} if schedule.switch is not None else {}),
        **({"replan": _replan(schedule)} if schedule.replan is not None else {}),
    }


def _patient(schedule: Schedule) -> dict[str, Any]:
    """The patient facts the plan was checked against, those that were given."""
    patient = schedule.prescription.patient
    facts = {
        "indication": patient.indication,
        "age": patient.age,
        "weight_kg": None if patient.weight_kg is None else plain_number(patient.weight_kg),
        "use_months": patient.use_months,
    }
    return {k: v for k, v in facts.items() if v is not None}


def _identity(schedule: Schedule) -> dict[str, str]:
    """Who the plan is for and who prescribes it, those parts that were given."""
    who = schedule.identity
    parts = {
        "name": who.name,
        "record": who.record,
        "date_of_birth": who.born.isoformat() if who.born else "",
        "prescriber": who.prescriber,
        "reference": who.reference,
    }
    return {k: v for k, v in parts.items() if v}


def _own_cap_source(schedule: Schedule) -> bool:
    """Whether the cap's source is not the one its preset's name gives (a reader finds that
    one again): a protocol's, or a preset's cap changed by the clinician."""
    from .rules import PRESETS, cap_source

    preset = PRESETS.get(schedule.rule_name)
    own = preset is None or cap_source(preset) != schedule.cap_source
    return bool(schedule.cap_source) and own


def _percent(fraction: Decimal) -> str:
    """A cut in percent, rounded up to one decimal: a limit no cut it allows goes over."""
    return plain_number(
        normalize((fraction * 100).quantize(Decimal("0.1"), rounding=ROUND_CEILING))
    )


def _replan(schedule: Schedule) -> dict[str, Any]:
    """What stayed and what changed when the plan was re-planned (docs/plan-json.md)."""
    r = schedule.replan
    assert r is not None
    return {
        "on": r.on.isoformat(),
        "reason": r.reason,
        "history_steps": r.history,
        "history_rule": r.previous_rule,
        "current_dose_mg": plain_number(r.current_dose),
        "reinstate_mg": plain_number(r.reinstate) if r.reinstate is not None else None,
        "hold_days": r.hold_days,
        "rule": {"name": r.rule_name, "description": r.rule_description},
    }


def _findings(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    return [
        {
            "severity": f.severity,
            "code": f.code,
            "step": f.step,
            "message": f.message,
            "source": f.source,
            "override": f.override or None,
        }
        for f in findings
    ]


def findings_json(findings: Iterable[Finding], checked: str = "") -> str:
    """Findings of ``taper check`` as JSON text."""
    import json  # here, not at the top: the terminal plan needs no JSON

    items = _findings(sorted(findings, key=Finding.sort_key))
    errors = sum(1 for f in items if f["severity"] == "error" and not f["override"])
    body = {
        "format": "taper-findings/1",
        "taper_version": __version__,
        "checked": checked,
        "errors": errors,
        "findings": items,
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def to_json(schedule: Schedule, fill_days: int = FILL_DAYS) -> str:
    """The plan as JSON text: stable key order, two-space indent, a final newline; the supply
    of each fill of ``fill_days`` days."""
    import json

    return json.dumps(plan_to_dict(schedule, fill_days), indent=2, ensure_ascii=False) + "\n"


# ---- the parts of a plan, read ----------------------------------------------------------------


def required(data: Mapping[str, Any], key: str, where: str) -> Any:
    """``data[key]``, which the format requires."""
    if key not in data:
        raise InputError(f"{where}.{key}", "", "the key is required by the taper-plan/1 format")
    return data[key]


class Number(str):
    """A JSON number, kept as written: text, so that no dose passes through a float, but
    known from a string."""


def kind(value: object) -> str:
    """What a JSON value is, in the format's words, for an error about it."""
    if isinstance(value, Number):
        return f"the number {value}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return "an object"


def _said(value: object) -> str:
    """A value as given, where it is text; else what kind of JSON value it is."""
    return value if isinstance(value, str) and not isinstance(value, Number) else kind(value)


def obj(value: object, where: str) -> dict[str, Any]:
    """``value``, which must be a JSON object."""
    if not isinstance(value, dict):
        raise InputError(where, kind(value), "an object")
    return value


def optional_obj(value: object, where: str) -> dict[str, Any]:
    """An optional object: absent (``null``) is empty; anything but an object is refused
    (an empty list or ``false`` is not read as an empty object)."""
    return {} if value is None else obj(value, where)


def listed(value: object, where: str) -> list[Any]:
    """An optional list: absent (``null``) is empty; anything but a list is refused."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(where, kind(value), "a list")
    return value


def whole_days(entry: Mapping[str, Any], where: str) -> int:
    """A step's or a stage's ``days``: whole days, 1 to 3650."""
    raw = required(entry, "days", where)
    days = str(raw)
    if not digits(days) or not 1 <= int(days) <= 3650:
        raise InputError(f"{where}.days", _said(raw), "whole days, 1 to 3650")
    return int(days)


def units_of(admin: Mapping[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each unit of an administration, with where it is in the file."""
    for k, unit in enumerate(listed(admin.get("units"), f"{where}.units"), start=1):
        uw = f"{where}.units[{k}]"
        yield uw, obj(unit, uw)


def product_of(
    unit: Mapping[str, Any], by_id: Mapping[str, Product], by_name: Mapping[str, Product]
) -> Product | None:
    """The catalog product a unit names, by its id or else its name."""
    return by_id.get(str(unit.get("product_id"))) or by_name.get(str(unit.get("product")))


def stated_times(data: Mapping[str, Any]) -> tuple[str, ...]:
    """A plan's administration times, as it states them (``times``)."""
    times = data.get("times")
    return tuple(str(t) for t in times) if isinstance(times, list) else ()


def default_products(drug: Drug, region: str) -> tuple[Product, ...]:
    """The products a schedule that names none is held to: the region's tablets and
    capsules, as a plan uses by default (a liquid only when asked for)."""
    return tuple(p for p in drug.products_in(region) if p.usable and p.is_solid)


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
        return default_products(drug, region)
    if not isinstance(listed, list) or not listed:
        raise InputError(f"{origin}: products", "", "a list of the plan's products")
    by_id = {p.id: p for p in drug.products if p.usable}
    out = []
    for i, entry in enumerate(listed, start=1):
        where = f"{origin}: products[{i}]"
        entry = obj(entry, where)
        product = by_id.get(str(entry.get("id")))
        if product is None:
            raise InputError(
                f"{where}.id", str(entry.get("id")), f"a product of {drug.name} in the catalog"
            )
        if product.is_liquid and entry.get("increment_ml") is not None:
            increment = number(entry["increment_ml"], f"{where}.increment_ml")
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
                product = product.remeasured(increment)
        elif not product.is_liquid and entry.get("split") is not None:
            split = number(entry["split"], f"{where}.split")
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
    raw = obj(raw, where)
    source = cat.drug(str(required(raw, "from_drug", where)))
    target = cat.drug(str(required(raw, "to_drug", where)))
    from_dose = number(required(raw, "from_dose_mg", where), f"{where}.from_dose_mg")
    factor = number(required(raw, "to_mg_per_from_mg", where), f"{where}.to_mg_per_from_mg")
    ratio = None
    if raw.get("ratio_mg") is not None:
        pair = obj(raw["ratio_mg"], f"{where}.ratio_mg")
        ratio = Fraction(number(pair.get("to"), f"{where}.ratio_mg.to")) / Fraction(
            number(pair.get("from"), f"{where}.ratio_mg.from")
        )
        said = Decimal(ratio.numerator) / Decimal(ratio.denominator)
        if normalize(said.quantize(Decimal("0.001"))) != factor:
            raise InputError(
                f"{where}.to_mg_per_from_mg",
                str(factor),
                f"the ratio_mg's {pair.get('to')!s} to {pair.get('from')!s}, to the microgram",
            )
    limit = str(raw.get("max_units_per_administration", DEFAULT_MAX_UNITS))
    if not digits(limit) or not 1 <= int(limit) <= MAX_UNITS_LIMIT:
        raise InputError(f"{where}.max_units_per_administration", limit, "a whole number")
    spread = raw.get("equivalent_range_mg")
    if spread is not None and (not isinstance(spread, list) or len(spread) != 2):
        raise InputError(f"{where}.equivalent_range_mg", str(spread), "two numbers, low and high")
    low_high = tuple(number(v, f"{where}.equivalent_range_mg") for v in spread or ("0", "0"))
    stages_raw = required(raw, "stages", where)
    if not isinstance(stages_raw, list) or not stages_raw:
        raise InputError(f"{where}.stages", "", "a list of at least one stage")
    products = {p.id: p for d in (source, target) for p in d.products}
    names = {p.name: p for p in products.values()}
    notes: list[Finding] = []
    stages = []
    times: list[str] = []
    for i, stage in enumerate(stages_raw, start=1):
        sw = f"{where}.stages[{i}]"
        stage = obj(stage, sw)
        start = day(required(stage, "start_date", sw), f"{sw}.start_date")
        days = whole_days(stage, sw)
        administrations: list[Administration] = []
        for j, admin in enumerate(
            listed(stage.get("administrations"), f"{sw}.administrations"), start=1
        ):
            aw = f"{sw}.administrations[{j}]"
            admin = obj(admin, aw)
            units = []
            for uw, unit in units_of(admin, aw):
                product = product_of(unit, products, names)
                if product is None:
                    notes.append(
                        finding(
                            "not-dispensable",
                            f"Switch stage {i}: {unit.get('product')!s} is not a product of "
                            f"{source.name} or {target.name} in the catalog.",
                            "the catalog's products",
                        )
                    )
                    continue
                if product.is_liquid and product.increment_ml:
                    volume = number(required(unit, "volume_ml", uw), f"{uw}.volume_ml")
                    count = volume / product.increment_ml
                else:
                    count = number(required(unit, "count", uw), f"{uw}.count")
                    if (
                        str(unit.get("split")) == "0.5"
                        and product.break_line
                        and product.split == 1
                    ):
                        # a tablet the plan halves along its break line, as it states
                        product = replace(product, split=Decimal("0.5"))
                units.append(Unit(product, normalize(count)))
            time = str(required(admin, "time", aw))
            if time not in TIMES:
                raise InputError(f"{aw}.time", time, f"one of {', '.join(TIMES)}")
            if any(a.time == time for a in administrations):
                raise InputError(f"{aw}.time", time, "each time once in a stage")
            if time not in times:
                times.append(time)
            administrations.append(Administration(time, tuple(units)))
        equivalent = number(
            required(stage, "equivalent_mg", sw), f"{sw}.equivalent_mg", allow_zero=True
        )
        made = Stage(i, start, days, tuple(administrations), equivalent)
        stated = stage.get("daily_dose_mg")
        if isinstance(stated, dict):
            for drug in (source.name, target.name):
                value = number(stated.get(drug, "0"), f"{sw}.daily_dose_mg", allow_zero=True)
                if value != made.dose_of(drug):
                    notes.append(
                        finding(
                            "dose-mismatch",
                            f"Switch stage {i} states {format_mg(value)}/day of {drug} but its "
                            f"units make {format_mg(made.dose_of(drug))}.",
                            "taper plan contract: one truth",
                        )
                    )
        end = stage.get("end_date")
        if end is not None and day(end, f"{sw}.end_date") != made.end:
            notes.append(
                finding(
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


# ---- the reader ------------------------------------------------------------------------------


def parse(text: str, origin: str) -> dict[str, Any]:
    """The one parse of a plan's JSON text: numbers kept as written (as strings, so that no
    dose passes through a float), the format checked."""
    import json

    def constant(name: str) -> object:
        raise InputError(origin, name, "a JSON file: NaN and Infinity are not JSON numbers")

    try:
        data = json.loads(text, parse_float=Number, parse_int=Number, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise InputError(origin, "", f"not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise InputError(origin, "", "JSON nested too deeply to be a taper plan") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(
            f"{origin}: format",
            _said(data.get("format")) if isinstance(data, dict) else kind(data),
            "a taper-plan/1 JSON file",
        )
    return data


def read_plan(
    path: str | Path, catalog: Catalog | None = None, formulary: str | Path | None = None
) -> Schedule:
    """Read a plan taper wrote as JSON back into the :class:`~taper.schedule.Schedule` it was
    written from: its steps, products, findings, patient facts, overrides, switch and
    re-plan.

    Raises
    ------
    InputError
        When the file is not a plan taper would write, or disagrees with itself (a step whose
        stated dose is not what its units make, steps that are not contiguous...).
    """
    from .catalog import load_catalog, load_formulary
    from .textfile import read_text

    cat = catalog or load_catalog()
    if formulary is not None:
        cat = load_formulary(cat, formulary)
    origin = str(path)
    return load_plan(parse(read_text(path, "FILE", "JSON"), origin), cat, origin)


def load_plan(data: Mapping[str, Any], catalog: Catalog, origin: str = "plan") -> Schedule:
    """The :class:`~taper.schedule.Schedule` a parsed plan (:func:`parse`) was written from,
    its every stated figure checked against what its units make."""
    from .request import make_identity, make_patient
    from .rules import PRESETS, cap_source

    drug = catalog.drug(str(required(data, "drug", origin)))
    region = str(data.get("region", "us"))
    if region not in ("us", "uk"):
        raise InputError(f"{origin}: region", region, "us or uk")
    allowed = plan_products(data, drug, region, origin)
    times = stated_times(data)
    if not times or len(set(times)) != len(times) or any(t not in TIMES for t in times):
        raise InputError(f"{origin}: times", ", ".join(times), f"each once, of {', '.join(TIMES)}")
    stated_per_day = required(data, "doses_per_day", origin)
    per_day = str(stated_per_day)
    if not digits(per_day) or int(per_day) != len(times):
        raise InputError(
            f"{origin}: doses_per_day", _said(stated_per_day), f"{len(times)}, one dose a time"
        )
    patient_data = optional_obj(data.get("patient"), f"{origin}: patient")
    patient = make_patient(
        drug,
        _text_or_none(patient_data.get("indication")),
        _whole_or_none(patient_data.get("age"), f"{origin}: patient.age"),
        _text_or_none(patient_data.get("weight_kg")),
        _whole_or_none(patient_data.get("use_months"), f"{origin}: patient.use_months"),
    )
    rx = Prescription(
        drug.name,
        number(required(data, "start_dose_mg", origin), f"{origin}: start_dose_mg"),
        len(times),
        times,
        day(required(data, "start_date", origin), f"{origin}: start_date"),
        region,
        patient,
    )
    who = optional_obj(data.get("identity"), f"{origin}: identity")
    identity = make_identity(
        _text_or_none(who.get("name")),
        _text_or_none(who.get("record")),
        _text_or_none(who.get("date_of_birth")),
        _text_or_none(who.get("prescriber")),
        reference=str(_text_or_none(who.get("reference")) or ""),
    )
    record = _replan_of(data.get("replan"), origin)
    products = {p.id: p for p in drug.products}
    products.update({p.id: p for p in allowed})
    steps = _steps(required(data, "steps", origin), rx, products, record, origin)
    limits = optional_obj(data.get("limits"), f"{origin}: limits")
    rule_data = optional_obj(data.get("rule"), f"{origin}: rule")
    name = str(rule_data.get("name", ""))
    rule = PRESETS.get(name)
    longest = str(limits.get("longest_step_days", ""))
    if rule is not None and digits(longest) and int(longest) > 0:
        rule = replace(rule, longest_step_days=int(longest))
    strategy = str(limits.get("at_low_doses", "stretch"))
    if strategy not in ("stretch", "liquid", "stop"):
        raise InputError(f"{origin}: limits.at_low_doses", strategy, "stretch, liquid or stop")
    units_limit = str(limits.get("max_units_per_administration", DEFAULT_MAX_UNITS))
    if not digits(units_limit) or not 1 <= int(units_limit) <= MAX_UNITS_LIMIT:
        raise InputError(
            f"{origin}: limits.max_units_per_administration",
            units_limit,
            f"1 to {MAX_UNITS_LIMIT} pieces",
        )
    for key in ("max_cut_pct", "cap_pct"):  # the largest cut made, and the rule's cap
        if limits.get(key) is not None:
            percent_cap(limits[key], f"{origin}: limits.{key}")
    cap = percent_cap(
        limits.get("cap_pct", limits.get("max_cut_pct", "25")), f"{origin}: limits.cap_pct"
    )
    stated_source = limits.get("cap_source")
    if isinstance(stated_source, str) and stated_source:
        source = stated_source
    elif rule is not None:
        source = cap_source(rule)
    else:
        source = "the plan's stated cap (limits.cap_pct)"
    switch = None
    if data.get("switch") is not None:
        switch, problems = read_switch(data["switch"], catalog, region, origin, times)
        if problems:
            raise InputError(f"{origin}: switch", "", problems[0].message)
    used = [u.product for s in steps for a in s.administrations for u in a.units]
    stop = data.get("stop")
    asked = stop.get("asked") if isinstance(stop, dict) else None
    loaded = Schedule(
        prescription=rx,
        rule_name=name,
        rule_description=str(rule_data.get("description", "")),
        rule_source=str(rule_data.get("source", "")),
        max_cut=cap,
        steps=steps,
        findings=_findings_of(data.get("findings"), origin),
        products=allowed
        if "products" in data
        else tuple(p for p in drug.products if p in used) or drug.products,
        catalog_version=str(data.get("catalog", "")),
        drug_display=drug.display,
        drug_tall_man=drug.tall_man,
        max_units=int(units_limit),
        cap_source=source,
        overrides=tuple(sorted(overrides_of(data, origin).items())),
        rule=rule,
        switch=switch,
        replan=record,
        at_low_doses=strategy,
        stated_longest_step=int(longest) if digits(longest) and int(longest) > 0 else None,
        stated_stop_asked=asked if isinstance(asked, str) else "",
        identity=identity,
    )
    schedule = _known_rule(loaded, stated_source)
    fill = str(data.get("fill_days", FILL_DAYS))
    if not digits(fill) or not 1 <= int(fill) <= MOST_FILL_DAYS:
        raise InputError(
            f"{origin}: fill_days", _said(data.get("fill_days")), f"1 to {MOST_FILL_DAYS} days"
        )
    import json

    # what taper writes for it, its numbers kept as text as the file's are
    written = json.loads(to_json(schedule, int(fill)), parse_float=Number, parse_int=Number)
    _as_written(data, written, origin)
    return schedule


def _as_written(data: object, written: object, origin: str, path: str = "") -> None:
    """Refuse a plan whose JSON is not what taper writes for the schedule it describes: a
    field taper does not write, or one whose value is not what the plan's own steps, products
    and findings make (a duration, a stop date, a quantity to supply). A field the file leaves
    out is let be (a plan written before the field was)."""
    if isinstance(data, dict) and isinstance(written, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in written:
                raise InputError(f"{origin}: {where}", _said(value), "no such field in a plan")
            _as_written(value, written[key], origin, where)
        return
    if isinstance(data, list) and isinstance(written, list) and len(data) == len(written):
        for i, (value, made) in enumerate(zip(data, written, strict=True), 1):
            _as_written(value, made, origin, f"{path}[{i}]")
        return
    if data != written or type(data) is not type(written):
        raise InputError(
            f"{origin}: {path}",
            _said(data),
            f"{_said(written)}, as the plan's own steps and products make it",
        )


def _known_rule(loaded: Schedule, stated_source: object) -> Schedule:
    """The plan with its preset as its rule only where the plan says what the preset says:
    a preset the clinician changed (its cap, its final dose) is not known from its name."""
    from .validation import stop_asked

    rule = loaded.rule
    if rule is None:
        return loaded
    same = (
        not stated_source
        and rule.max_cut == loaded.max_cut
        and stop_asked(loaded) == loaded.stated_stop_asked
    )
    return loaded if same else replace(loaded, rule=None)


def overrides_of(data: Mapping[str, Any], origin: str = "plan") -> dict[str, str]:
    """The codes a plan's clinician accepted, each with its reason: the plan's ``overrides``,
    or, in a plan written before it had them, the reasons its findings record."""
    listed = data.get("overrides")
    if listed is not None:
        if not isinstance(listed, list):
            raise InputError(f"{origin}: overrides", "", "a list of codes with their reasons")
        out = {}
        for i, entry in enumerate(listed, start=1):
            entry = obj(entry, f"{origin}: overrides[{i}]")
            code, reason = entry.get("code"), entry.get("reason")
            if not isinstance(code, str) or not isinstance(reason, str) or not reason.strip():
                raise InputError(f"{origin}: overrides[{i}]", "", "a code and a reason")
            out[code] = reason
        return out
    found = data.get("findings")
    if not isinstance(found, list):
        return {}
    return {
        str(f["code"]): str(f["override"])
        for f in found
        if isinstance(f, dict)
        and f.get("code")
        and f.get("override")
        and f["code"] in CODES
        and CODES[str(f["code"])].overridable
    }


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _whole_or_none(value: object, where: str) -> int | None:
    if value is None:
        return None
    if not digits(str(value)):
        raise InputError(where, str(value), "a whole number")
    return int(str(value))


def _replan_of(raw: object, origin: str) -> Replan | None:
    """The plan's ``replan`` record, if it was re-planned."""
    if raw is None:
        return None
    where = f"{origin}: replan"
    entry = obj(raw, where)
    history = str(required(entry, "history_steps", where))
    hold = str(entry.get("hold_days", "0"))
    if not digits(history) or not digits(hold):
        raise InputError(f"{where}.history_steps", history, "whole numbers of steps and days")
    back = entry.get("reinstate_mg")
    rule = optional_obj(entry.get("rule"), f"{where}.rule")
    return Replan(
        on=day(required(entry, "on", where), f"{where}.on"),
        history=int(history),
        current_dose=number(required(entry, "current_dose_mg", where), f"{where}.current_dose_mg"),
        reason=str(entry.get("reason") or ""),
        reinstate=None if back is None else number(back, f"{where}.reinstate_mg"),
        hold_days=int(hold),
        rule_name=str(rule.get("name", "")),
        rule_description=str(rule.get("description", "")),
        previous_rule=str(entry.get("history_rule", "")),
    )


def _steps(
    raw: object,
    rx: Prescription,
    products: Mapping[str, Product],
    record: Replan | None,
    origin: str,
) -> tuple[Step, ...]:
    """The plan's steps, each as its units make it, refused where a stated figure disagrees."""
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{origin}: steps", kind(raw), "a list of at least one step")
    steps: list[Step] = []
    previous = rx.start_dose
    begins = rx.start_date
    for i, entry in enumerate(raw, start=1):
        where = f"{origin}: steps[{i}]"
        entry = obj(entry, where)
        stated_step = required(entry, "step", where)
        stated = str(stated_step)
        if stated != str(i):
            raise InputError(
                f"{where}.step", _said(stated_step), f"{i}: steps are numbered from 1 in order"
            )
        start = day(required(entry, "start_date", where), f"{where}.start_date")
        if start != begins:
            raise InputError(
                f"{where}.start_date", start.isoformat(), f"{begins.isoformat()}: no gap or overlap"
            )
        days = whole_days(entry, where)
        administrations: list[Administration] = []
        for j, admin in enumerate(
            listed(entry.get("administrations"), f"{where}.administrations"), start=1
        ):
            aw = f"{where}.administrations[{j}]"
            admin = obj(admin, aw)
            time = str(required(admin, "time", aw))
            if time not in rx.times or any(a.time == time for a in administrations):
                raise InputError(f"{aw}.time", time, f"once each, of {', '.join(rx.times)}")
            units = []
            for uw, unit in units_of(admin, aw):
                product = products.get(str(unit.get("product_id")))
                if product is None:
                    raise InputError(
                        f"{uw}.product_id", str(unit.get("product_id")), "a product of the plan"
                    )
                if product.is_liquid and product.increment_ml:
                    volume = number(required(unit, "volume_ml", uw), f"{uw}.volume_ml")
                    count = volume / product.increment_ml
                else:
                    count = number(required(unit, "count", uw), f"{uw}.count")
                if count % (1 if product.is_liquid else product.split):
                    raise InputError(uw, str(count), f"whole measures or pieces of {product.name}")
                units.append(Unit(product, normalize(count)))
            made = Administration(time, tuple(units))
            said = number(required(admin, "dose_mg", aw), f"{aw}.dose_mg")
            if said != made.dose:
                raise InputError(f"{aw}.dose_mg", str(said), f"{made.dose}, what its units make")
            administrations.append(made)
        number_ = record.history + 1 if record is not None else 0
        step = Step(
            i,
            start,
            days,
            tuple(administrations),
            number(required(entry, "target_dose_mg", where), f"{where}.target_dose_mg", True),
            previous,
            days,
            held=entry.get("held") is True
            or (record is not None and record.hold_days > 0 and i == number_),
        )
        said = number(required(entry, "daily_dose_mg", where), f"{where}.daily_dose_mg")
        if said != step.dose:
            raise InputError(
                f"{where}.daily_dose_mg", str(said), f"{step.dose}, what its units make"
            )
        end = entry.get("end_date")
        if end is not None and day(end, f"{where}.end_date") != step.end:
            raise InputError(f"{where}.end_date", str(end), f"{step.end.isoformat()}, by its days")
        previous, begins = step.dose, step.end + timedelta(days=1)
        steps.append(step)
    return tuple(steps)


def _findings_of(raw: object, origin: str) -> tuple[Finding, ...]:
    """The plan's findings, as it states them."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"{origin}: findings", "", "a list of findings")
    out = []
    for i, entry in enumerate(raw, start=1):
        where = f"{origin}: findings[{i}]"
        entry = obj(entry, where)
        severity = str(entry.get("severity"))
        if severity not in SEVERITIES:
            raise InputError(f"{where}.severity", severity, ", ".join(SEVERITIES))
        step = entry.get("step")
        if step is not None and not digits(str(step)):
            raise InputError(f"{where}.step", str(step), "a step number")
        code = str(required(entry, "code", where))
        if code in CODES:  # the severity is the code's, whatever the file says
            severity = CODES[code].severity
        out.append(
            Finding(
                severity,
                code,
                str(entry.get("message") or ""),
                str(entry.get("source") or ""),
                None if step is None else int(str(step)),
                str(entry.get("override") or ""),
            )
        )
    return tuple(out)
