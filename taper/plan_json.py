"""The plan as JSON (format ``taper-plan/1``, docs/plan-json.md): its one writer and reader."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_CEILING, Decimal
from typing import Any

from . import __version__
from .catalog import Product
from .dispensing import Unit, supply_unit
from .doses import format_percent, normalize, plain_number
from .schedule import Administration, Finding, Schedule

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


def plan_to_dict(schedule: Schedule) -> dict[str, Any]:
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
                {"longest_step_days": schedule.rule.longest_step_days}
                if schedule.rule is not None
                else {}
            ),
            "at_low_doses": schedule.at_low_doses,
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
        "stop": _stop(schedule),
        "findings": _findings(schedule.sorted_findings()),
        **({"switch": _switch(schedule)} if schedule.switch is not None else {}),
        **({"replan": _replan(schedule)} if schedule.replan is not None else {}),
    }


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


def to_json(schedule: Schedule) -> str:
    """The plan as JSON text: stable key order, two-space indent, a final newline."""
    import json

    return json.dumps(plan_to_dict(schedule), indent=2, ensure_ascii=False) + "\n"
