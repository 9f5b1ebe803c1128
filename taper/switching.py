"""Switching to a longer-acting drug before the taper, in the Ashton Manual's manner.

One administration at a time, over stages of about a week, each dose of the
drug taken now is replaced by its equivalent of the new drug (diazepam by
default), made from real tablets and never more than the equivalent, so the
day's equivalent total never rises. The bedtime dose goes first by default, as
in NHS Scotland's published lorazepam-to-diazepam schedule. Then the new drug
is tapered under the chosen rule.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from .catalog import Catalog, load_catalog, load_formulary
from .dispensing import Dispenser, dispenser_for
from .doses import format_mg, normalize, parse_dose
from .equivalence import DEFAULT_TABLE, GUIDANCE, convert, exact_ratio, mg_of
from .errors import FindingsRefused, InputError, PlanRefused
from .planner import (
    _refuse_errors,
    _start_date,
    _unit_limit,
    administration_times,
    allow_halving,
    make_patient,
    make_plan,
    parse_increment,
    refuse_unknown_halving,
    remeasure,
    select_products,
)
from .rules import Rule, build_rule
from .schedule import Administration, Finding, Schedule, Stage, Switch
from .validation import apply_overrides, check, check_prescription, parse_overrides

SWITCH_ORDERS = ("bedtime-first", "morning-first")
#: "stages of about a week" (Ashton Manual); the NHS Scotland guide reviews a switch at 5 to 7 days
DEFAULT_STAGE_DAYS = 7


def _largest_at_most(dispenser: Dispenser, limit: Fraction) -> Decimal:
    """The largest dose one administration can hold that is not above ``limit``."""
    fitting = [v for v in dispenser.values if Fraction(v) <= limit]
    return fitting[-1] if fitting else Decimal(0)


def _after_switch(exc: PlanRefused, drug: str) -> PlanRefused:
    """A refusal of the new drug's part, saying that its dose is the switched one."""
    return PlanRefused(
        exc.field if exc.field != "dose" else "switch_to",
        f"{exc.given} of {drug}" if exc.field == "dose" else exc.given,
        f"after the switch, {exc.allowed}",
        exc.hint,
    )


def plan_switch(
    drug: str,
    dose: str | Decimal,
    *,
    switch_to: str = "diazepam",
    table: str = DEFAULT_TABLE,
    stage_days: int = DEFAULT_STAGE_DAYS,
    switch_order: str = "bedtime-first",
    per_day: int | None = None,
    start: date | str | None = None,
    products: Any = None,
    switch_products: Any = None,
    region: str = "us",
    max_units: int | None = None,
    catalog: Catalog | str | Path | None = None,
    formulary: str | Path | None = None,
    indication: str | None = None,
    age: int | None = None,
    weight_kg: str | Decimal | None = None,
    use_months: int | None = None,
    overrides: Any = None,
    rule: Rule | str | None = None,
    halve: Any = (),
    liquid_increment: str | Decimal | None = None,
    **taper: Any,
) -> Schedule:
    """Switch from ``drug`` to ``switch_to`` in stages, then taper ``switch_to``.

    The returned :class:`~taper.schedule.Schedule` is the taper of the new drug; its
    ``switch`` holds the stages before it. ``products`` narrows the first drug's products
    and ``switch_products`` the new drug's, for the stages and the taper. Other keyword
    arguments (``rule``, ``cut_order``, ``at_low_doses``...) go to the taper, as for
    :func:`taper.plan`.

    Examples
    --------
    >>> s = plan_switch("alprazolam", "3 mg", table="va-dod-2021", start="2027-01-04")
    >>> [str(stage.equivalent) for stage in s.switch.stages]
    ['30', '30', '30']
    """
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    if formulary is not None:
        cat = load_formulary(cat, formulary)
    source = cat.drug(drug)
    target = cat.drug(switch_to)
    if source.name == target.name:
        raise InputError("switch_to", switch_to, f"a drug other than {source.name}")
    if switch_order not in SWITCH_ORDERS:
        raise InputError("switch_order", switch_order, f"one of {', '.join(SWITCH_ORDERS)}")
    if not 1 <= stage_days <= 28:
        raise InputError("stage_days", stage_days, "1 to 28 days a stage")
    start_dose = parse_dose(dose, "dose")
    n = source.default_doses_per_day if per_day is None else per_day
    times = administration_times(source, n)
    first_day = _start_date(start)
    patient = make_patient(source, indication, age, weight_kg, use_months)
    accepted = dict(overrides) if isinstance(overrides, dict) else parse_overrides(overrides or ())
    found = apply_overrides(
        check_prescription(source, cat, start_dose, n, patient, region), accepted
    )
    _refuse_errors(found)
    conversion = convert(Decimal(1), source.name, target.name, table=table, catalog=cat)
    ratio = exact_ratio(conversion.table, source.name, target.name)
    whole = convert(start_dose, source.name, target.name, table=table, catalog=cat)
    the_rule = rule if isinstance(rule, Rule) else build_rule(rule)
    tokens = (*the_rule.halve, *(h.strip().lower() for h in halve if h.strip()))
    increment = None if liquid_increment is None else parse_increment(liquid_increment)
    old_products, old_unmatched = allow_halving(
        remeasure(select_products(source, region, products), increment), tokens
    )
    old_limit, old_raised = _unit_limit(old_products, start_dose, n, max_units, source.name)
    old = dispenser_for(old_products, old_limit)
    shares = old.split(start_dose, n)
    if shares is None:
        within = f" within {old_limit} pieces a dose" if max_units is not None else ""
        raise PlanRefused(
            "dose",
            format_mg(start_dose),
            f"the {source.name} products cannot make this dose in {n} doses a day{within}, so "
            f"it cannot be switched one dose at a time",
        )
    start_equivalent = Fraction(start_dose) * ratio
    new_products, new_unmatched = allow_halving(
        remeasure(select_products(target, region, switch_products, "switch_products"), increment),
        tokens,
    )
    refuse_unknown_halving(
        [t for t in old_unmatched if t in new_unmatched],
        [source, target],
        (*old_products, *new_products),
    )
    try:
        new_limit, new_raised = _unit_limit(
            new_products, mg_of(start_equivalent), n, max_units, target.name
        )
    except PlanRefused as exc:
        raise _after_switch(exc, target.name) from None
    new = dispenser_for(new_products, new_limit)
    order = tuple(reversed(times)) if switch_order == "bedtime-first" else times
    stages: list[Stage] = []
    findings: list[Finding] = [f for f in (old_raised, new_raised) if f is not None]
    findings.append(
        Finding(
            "info",
            "switch-equivalence",
            f"{format_mg(start_dose)}/day of {source.name} is taken as "
            f"{format_mg(whole.value)}/day of {target.name} by the {conversion.table.title}; "
            f"the tables range from {format_mg(whole.spread[0])} to "
            f"{format_mg(whole.spread[1])}. {GUIDANCE}",
            conversion.source,
        )
    )
    day = first_day
    replaced: dict[str, Decimal] = {}
    for k, time in enumerate(order, start=1):
        share = shares[times.index(time)]
        # the new drug's dose for this administration: its equivalent, made from real
        # tablets, never above it, so the day's equivalent total cannot rise
        replaced[time] = _largest_at_most(new, Fraction(share) * ratio)
        if replaced[time] == 0 and share > 0:
            findings.append(
                Finding(
                    "warning",
                    "switch-dose-dropped",
                    f"The {time} dose of {format_mg(share)} {source.name} is equivalent to less "
                    f"than the smallest {target.name} dose the products make, so it is stopped "
                    f"at stage {k}.",
                    conversion.source,
                )
            )
        administrations = []
        total = Fraction(0)
        for t, s in zip(times, shares, strict=True):
            if t in replaced:
                units = new.compose(replaced[t]).units
                total += Fraction(replaced[t])
            else:
                units = old.compose(s).units
                total += Fraction(s) * ratio
            if units:
                administrations.append(Administration(t, units))
        stages.append(Stage(k, day, stage_days, tuple(administrations), mg_of(total)))
        day += timedelta(days=stage_days)
    new_total = normalize(sum(replaced.values(), Decimal(0)))
    if new_total <= 0:
        raise PlanRefused(
            "dose", format_mg(start_dose), f"no {target.name} dose the products make is this small"
        )
    try:
        taper_plan = make_plan(
            target.name,
            new_total,
            rule=replace(the_rule, halve=()),
            per_day=n,
            start=day,
            region=region,
            products=[p.id for p in new_products] if switch_products else None,
            max_units=max_units,
            catalog=cat,
            age=age,
            weight_kg=weight_kg,
            use_months=use_months,
            overrides=accepted,
            halve=[t for t in tokens if t not in new_unmatched],
            liquid_increment=liquid_increment,
            start_shares=[replaced.get(t, Decimal(0)) for t in times],
            **taper,
        )
    except FindingsRefused as exc:
        others = ", ".join(
            f"{tid} {format_mg(low)}" for tid, low, _ in whole.across if tid != table
        )
        raise FindingsRefused(
            str(exc.field),
            f"after the switch by the {table} table ({format_mg(new_total)}/day of "
            f"{target.name}): {str(exc.given).rstrip(';')}; other tables give {others};",
            0,
            True,
        ) from None
    except PlanRefused as exc:
        raise _after_switch(exc, target.name) from None
    switch = Switch(
        from_drug=source.name,
        to_drug=target.name,
        from_dose=start_dose,
        factor=mg_of(ratio),
        ratio=ratio,
        max_units=max(old_limit, new_limit),
        table=conversion.table.id,
        table_title=conversion.table.title,
        source=conversion.source,
        spread=whole.spread,
        stages=tuple(stages),
        times=times,
        indication=indication,
    )
    tapered = taper_plan.findings
    if new_raised is not None:  # said once, naming the drug, from the switch's start
        tapered = tuple(f for f in tapered if f.code != "units-limit-raised")
    switched = replace(
        taper_plan,
        switch=switch,
        findings=(*findings, *tapered),
        overrides=tuple(sorted(accepted.items())),
    )
    switched = replace(switched, findings=tuple(check(switched, catalog=cat)))
    _refuse_errors(switched.findings)
    return switched
