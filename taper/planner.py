"""plan(): a prescription and a rule in, a dispensable Schedule out.

The planner walks down from the starting dose. At each step the rule names
an ideal dose; the planner takes the dispensable daily dose nearest to it
within the cap, never above the current dose. When the products force a
steeper cut than the rule asked for, the step is lengthened so the rule's
average pace holds; when they cannot cut within the cap at all, the plan
stops from there and says so. Every change is reported as a Finding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from .catalog import TIMES, Catalog, Drug, Product, load_catalog, load_formulary
from .dispensing import CUT_ORDERS, DEFAULT_MAX_UNITS, MAX_UNITS_LIMIT, Dispenser, dispenser_for
from .doses import ceil_int, format_mg, format_percent, normalize, parse_dose
from .errors import FindingsRefused, InputError, PlanRefused, UnknownNameError
from .rules import GUIDELINE_SOURCE, Rule, build_rule
from .schedule import Administration, Finding, Patient, Prescription, Schedule, Step
from .validation import (
    CODES,
    apply_overrides,
    check,
    check_prescription,
    min_pieces,
    parse_overrides,
)

if TYPE_CHECKING:
    from pathlib import Path

#: what to do when the products run out of cuts as small as the rule asks
LOW_DOSE_STRATEGIES = ("stretch", "liquid", "stop")
#: the products have "run out of small cuts" (--at-low-doses liquid|stop) when the smallest
#: cut they make is more than this many times the cut the rule asks for; below it, stretching
#: the step by less than half keeps the pace. taper's own bound, not a figure from a source.
RUN_OUT_FACTOR = Decimal("1.5")

#: start dates taper accepts, and the longest plan it makes (20 years): bounds of sense,
#: not clinical figures, that keep every date a plan prints a real one
EARLIEST, LATEST = date(1970, 1, 1), date(2200, 12, 31)
MAX_PLAN_DAYS = 7305

#: a plan longer than this is almost certainly a rule that barely cuts
MAX_STEPS = 1000

TIMES_BY_COUNT = {
    2: ("morning", "bedtime"),
    3: ("morning", "midday", "bedtime"),
    4: TIMES,
}


def administration_times(drug: Drug, per_day: int) -> tuple[str, ...]:
    """When each of ``per_day`` doses is taken (a single dose where the label puts it)."""
    if per_day == 1:
        return (drug.once_daily_time,)
    if per_day not in TIMES_BY_COUNT:
        raise InputError("--per-day", per_day, "1 to 4 doses a day")
    return TIMES_BY_COUNT[per_day]


def select_products(
    drug: Drug, region: str, choose: Sequence[str] | None = None, field: str = "--products"
) -> tuple[Product, ...]:
    """The drug's products in ``region`` that may be dispensed, narrowed by ``choose``.

    Each choice is a product id (``clonazepam-tab-0.5``), a form (``tablet``,
    ``odt``, ``solution``) or a form with a strength (``tablet:0.5mg``). Without a
    choice: every tablet and capsule (a liquid only when named, or with
    ``at_low_doses="liquid"``).
    """
    if region not in ("us", "uk"):
        raise InputError("--region", region, "us or uk")
    available = tuple(p for p in drug.products_in(region) if p.usable)
    if not any(p.is_solid for p in available) and not choose:
        raise PlanRefused(
            "--region", region, f"the catalog lists no {drug.name} tablets or capsules there"
        )
    if not choose:
        return tuple(p for p in available if p.is_solid)
    picked: list[Product] = []
    for token in choose:
        matches = _match_products(available, token.strip())
        if not matches:
            raise UnknownNameError(
                field,
                token,
                f"{drug.name} products in {region.upper()}: " + ", ".join(p.id for p in available),
            )
        picked.extend(p for p in matches if p not in picked)
    return tuple(p for p in available if p in picked)


def _match_products(products: Sequence[Product], token: str) -> list[Product]:
    token = token.lower()
    form, _, strength = token.partition(":")
    exact = [p for p in products if p.id == token or p.name.lower() == token]
    if exact:
        return exact
    if strength:
        mg = parse_dose(strength, "--products")
        return [p for p in products if p.form == form and mg in (p.strength_mg, p.mg_per_ml)]
    return [p for p in products if p.form == form]


@dataclass(frozen=True)
class _Choice:
    dose: Decimal
    days: int


def plan(
    drug: str,
    dose: str | Decimal,
    *,
    rule: Rule | str | None = None,
    per_day: int | None = None,
    start: date | str | None = None,
    products: Sequence[str] | None = None,
    region: str = "us",
    max_units: int | None = None,
    catalog: Catalog | str | Path | None = None,
    indication: str | None = None,
    age: int | None = None,
    weight_kg: str | Decimal | None = None,
    use_months: int | None = None,
    overrides: Mapping[str, str] | Sequence[str] | None = None,
    at_low_doses: str = "stretch",
    cut_order: str | None = None,
    formulary: str | Path | None = None,
    switch_to: str | None = None,
    table: str = "ashton",
    stage_days: int = 7,
    switch_order: str = "bedtime-first",
    switch_products: Sequence[str] | None = None,
) -> Schedule:
    """Plan a taper from ``dose`` a day of ``drug`` under ``rule``.

    Parameters
    ----------
    drug
        Generic or brand name (``clonazepam``, ``Klonopin``).
    dose
        The starting total daily dose, such as ``"2 mg"``.
    rule
        A :class:`~taper.rules.Rule`, a preset name, a protocol file, or ``None``
        for the default preset.
    per_day
        Doses a day; the drug's usual division by default.
    start
        The day of the first cut (the patient already takes ``dose``); today by default.
    products
        Product ids or forms to use (default: every tablet and capsule sold in ``region``).
    region
        ``us`` or ``uk``: which products exist.
    max_units
        The most pieces taken at one administration. By default 4, or as many as the
        starting dose already needs (said in a finding) when that is more.
    catalog
        A :class:`~taper.catalog.Catalog` or a path to one; the built-in catalog by default.
    indication
        What the drug is taken for (``panic-disorder``, ``seizure``...): the range the
        starting dose is checked against. Without one, the widest documented adult range.
    age, weight_kg
        Older adults (65 and over) and children (under 18, who need a weight) are
        checked against the figures the sources give for them.
    use_months
        How long the drug has been taken; the duration check applies from 3 months.
    overrides
        Error or warning codes the clinician accepts, each with a reason
        (``{"dose-above-range": "transferred from inpatient care"}`` or
        ``["dose-above-range=transferred from inpatient care"]``).
    at_low_doses
        When the products run out of cuts as small as the rule asks: ``stretch``
        (take the smallest and lengthen the step so the pace holds), ``liquid``
        (from there, use a liquid product as well) or ``stop`` (end the plan there).
    cut_order
        ``even``, ``morning-first`` or ``bedtime-last``; the rule's own by default.
    formulary
        A TOML file of local products (a compounded liquid, say) added to the catalog.
    switch_to, table, stage_days, switch_order
        Switch to another drug (``diazepam``) first, one administration at a time over
        stages of ``stage_days``, by the equivalence ``table``, ``bedtime-first`` or
        ``morning-first``; then taper that drug (see :mod:`taper.switching`).
    switch_products
        The products of the drug switched to, as ``products`` (default: all in ``region``).

    Returns
    -------
    Schedule
        Contiguous steps, each made from real products, ending in the stop.

    Raises
    ------
    InputError, UnknownNameError
        For input that cannot be used.
    PlanRefused
        When the products cannot make a taper within the rule's cap, when the dose is a
        likely unit slip, or when a check finds an error that is not overridden.

    Examples
    --------
    >>> schedule = plan("clonazepam", "1 mg", rule="fda-label-clonazepam", start="2027-01-04")
    >>> [str(s.dose) for s in schedule.steps], schedule.stop_date.isoformat()
    (['0.75', '0.5', '0.25'], '2027-01-13')
    """
    if switch_to is not None:
        from .switching import plan_switch

        return plan_switch(
            drug,
            dose,
            switch_to=switch_to,
            table=table,
            stage_days=stage_days,
            switch_order=switch_order,
            switch_products=switch_products,
            per_day=per_day,
            start=start,
            products=products,
            region=region,
            max_units=max_units,
            catalog=catalog,
            formulary=formulary,
            indication=indication,
            age=age,
            weight_kg=weight_kg,
            use_months=use_months,
            overrides=overrides,
            rule=rule,
            at_low_doses=at_low_doses,
            cut_order=cut_order,
        )
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    if formulary is not None:
        cat = load_formulary(cat, formulary)
    the_drug = cat.drug(drug)
    start_dose = parse_dose(dose, "dose")
    the_rule = rule if isinstance(rule, Rule) else build_rule(rule)
    if at_low_doses not in LOW_DOSE_STRATEGIES:
        raise InputError("--at-low-doses", at_low_doses, f"one of {', '.join(LOW_DOSE_STRATEGIES)}")
    if cut_order is not None:
        if cut_order not in CUT_ORDERS:
            raise InputError("--cut-order", cut_order, f"one of {', '.join(CUT_ORDERS)}")
        the_rule = replace(the_rule, cut_order=cut_order)
    if the_rule.drugs and the_drug.name not in the_rule.drugs:
        raise InputError(
            "--rule",
            the_rule.name,
            f"this rule is written for {', '.join(the_rule.drugs)}; its doses do not carry over "
            f"to {the_drug.name}",
            "choose a rule for any drug, such as joint-guideline-2025",
        )
    n = the_drug.default_doses_per_day if per_day is None else per_day
    if not isinstance(n, int) or isinstance(n, bool):
        raise InputError("--per-day", n, "a whole number of doses a day, 1 to 4")
    times = administration_times(the_drug, n)
    start_date = _start_date(start)
    patient = make_patient(the_drug, indication, age, weight_kg, use_months)
    accepted = (
        dict(overrides) if isinstance(overrides, Mapping) else parse_overrides(overrides or ())
    )
    _refuse_errors(
        apply_overrides(check_prescription(the_drug, cat, start_dose, n, patient, region), accepted)
    )
    chosen = select_products(the_drug, region, products)
    limit, raised = _unit_limit(chosen, start_dose, n, max_units)
    dispenser = dispenser_for(tuple(chosen), limit)
    liquid = None
    if at_low_doses == "liquid":
        liquids = [p for p in the_drug.products_in(region) if p.usable and p.is_liquid]
        if not liquids:
            raise InputError(
                "--at-low-doses",
                "liquid",
                f"no {the_drug.name} liquid that can be measured is listed for "
                f"{region.upper()}; add one with --formulary FILE",
            )
        chosen = (*chosen, *(p for p in liquids if p not in chosen))
        liquid = dispenser_for(tuple(chosen), limit)
    prescription = Prescription(the_drug.name, start_dose, n, times, start_date, region, patient)
    steps, findings = _walk(prescription, the_rule, dispenser, at_low_doses, liquid)
    if raised:
        findings.insert(0, raised)
    schedule = Schedule(
        prescription=prescription,
        rule_name=the_rule.name,
        rule_description=the_rule.describe(),
        rule_source=the_rule.source,
        max_cut=the_rule.max_cut,
        steps=tuple(steps),
        findings=tuple(findings),
        products=chosen,
        catalog_version=f"{cat.name} {cat.version}",
        drug_display=the_drug.display,
        drug_tall_man=the_drug.tall_man,
        max_units=limit,
        cap_source=_cap_source(the_rule),
        overrides=tuple(sorted(accepted.items())),
        rule=the_rule,
    )
    schedule = replace(schedule, findings=tuple(check(schedule, catalog=cat)))
    _refuse_errors(schedule.findings)
    return schedule


def _unit_limit(
    products: Sequence[Product], start: Decimal, n: int, asked: int | None, drug: str = ""
) -> tuple[int, Finding | None]:
    """The pieces allowed per administration: as asked, or the default raised to the start's need.

    A patient already taking 20 tablets a day in two doses cannot start a taper
    within 4 tablets a dose; rather than refuse, the default grows to what the
    starting dose needs, and a finding says so. A limit the clinician gave is kept.
    """
    if asked is not None:
        return asked, None
    share = start / n
    # the most one piece holds: a whole tablet, or a full measure of a liquid
    largest = max(
        p.mg_per_ml * p.max_ml
        if p.is_liquid and p.mg_per_ml is not None and p.max_ml is not None
        else p.step_mg
        for p in products
    )
    need = min_pieces(normalize(share), products) if share == normalize(share) else None
    if need is None:
        need = ceil_int(share / largest) + 1
    if need <= DEFAULT_MAX_UNITS:
        return DEFAULT_MAX_UNITS, None
    if need > MAX_UNITS_LIMIT:
        raise PlanRefused(
            "dose",
            format_mg(start),
            f"at {n} doses a day each needs about {need} tablets or measures, more than "
            f"{MAX_UNITS_LIMIT}; give more doses a day (--per-day) or larger products",
        )
    return need, Finding(
        "warning",
        "units-limit-raised",
        f"The starting dose{f' of {drug}' if drug else ''} needs about {need} tablets at each "
        f"of {n} doses a day, so this plan "
        f"allows up to {need} a dose in place of {DEFAULT_MAX_UNITS}; give --max-units to set "
        f"the limit yourself.",
        "taper's default limit per administration",
    )


def make_patient(
    drug: Drug,
    indication: str | None = None,
    age: int | None = None,
    weight_kg: str | Decimal | None = None,
    use_months: int | None = None,
) -> Patient:
    """The patient facts the checks use, each validated."""
    if indication is not None:
        known = sorted({r.indication for r in drug.ranges} - {"any"})
        if indication not in known:
            raise InputError(
                "--indication",
                indication,
                f"documented for {drug.name}: {', '.join(known) or 'none'}",
            )
    if age is not None and (isinstance(age, bool) or not 0 <= age <= 130):
        raise InputError("--age", age, "an age in whole years, 0 to 130")
    weight: Decimal | None = None
    if weight_kg is not None:
        try:
            weight = Decimal(str(weight_kg).strip())
        except ArithmeticError:
            weight = None
        if weight is None or not weight.is_finite() or not 0 < weight <= 500:
            raise InputError("--weight-kg", str(weight_kg), "a weight in kg above 0 and up to 500")
    if age is not None and age < 18 and weight is None:
        raise InputError("--weight-kg", "", "children are checked in mg/kg/day: give the weight")
    if use_months is not None and (isinstance(use_months, bool) or not 0 <= use_months <= 1200):
        raise InputError("--use-months", use_months, "whole months, 0 to 1200")
    return Patient(indication, age, weight, use_months)


def _refuse_errors(findings: Sequence[Finding]) -> None:
    errors = [f for f in findings if f.severity == "error" and not f.override]
    if errors:
        first = errors[0]
        source = f" (source: {first.source})" if first.source else ""
        raise FindingsRefused(
            first.code,
            first.message.rstrip(".") + source + ";",
            len(errors) - 1,
            CODES[first.code].overridable,
        )


def _start_date(start: date | str | None) -> date:
    if start is None:
        return date.today()
    if isinstance(start, date):
        day = start
    else:
        try:
            day = date.fromisoformat(str(start).strip())
        except ValueError:
            raise InputError("--start", str(start), "a date written YYYY-MM-DD") from None
    if not EARLIEST <= day <= LATEST:
        raise InputError(
            "--start",
            day.isoformat(),
            f"a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}",
        )
    return day


def _cap_source(rule: Rule) -> str:
    if rule.cap_note.startswith("the 2025"):
        return GUIDELINE_SOURCE
    return f"{rule.source} ({rule.cap_note})" if rule.source else rule.cap_note


def _walk(
    rx: Prescription,
    rule: Rule,
    dispenser: Dispenser,
    at_low_doses: str = "stretch",
    liquid: Dispenser | None = None,
) -> tuple[list[Step], list[Finding]]:
    n = len(rx.times)
    start = rx.start_dose
    final = rule.final_level(start)
    if final is not None and start <= final:
        raise PlanRefused(
            "dose",
            format_mg(start),
            f"the rule stops after {format_mg(final)}/day: there is nothing to taper",
        )
    active = dispenser
    previous = active.split(start, n)
    used: frozenset[str] = frozenset()
    steps: list[Step] = []
    findings: list[Finding] = []
    holds_done: set[int] = set()
    current = start
    day = rx.start_date
    while True:
        if steps and final is not None and current <= final:
            break
        proposal = rule.propose(current, start, frozenset(holds_done))
        if proposal.target <= 0 and steps:
            break
        number = len(steps) + 1
        floor = current * (1 - rule.max_cut)
        target = proposal.target
        capped: list[Finding] = []  # said only once the step is made
        if target < floor:
            capped.append(
                Finding(
                    "info",
                    "cut-capped",
                    f"The rule asked for {format_mg(max(target, Decimal(0)))}/day from "
                    f"{format_mg(current)}/day; cuts are capped at "
                    f"{format_percent(rule.max_cut)} %, "
                    f"so the step aims at {format_mg(normalize(floor))}/day.",
                    _cap_source(rule),
                    number,
                )
            )
            target = floor
        daily = active.daily_doses(n)
        candidates = [v for v in daily if floor <= v < current and v > 0]
        # the products have run out of small cuts: the smallest cut they make is well above
        # the cut the rule asks (RUN_OUT_FACTOR)
        run_out = _run_out(candidates, current, target)
        if run_out and at_low_doses == "liquid" and liquid is not None and active is not liquid:
            active = liquid
            liquids = ", ".join(p.name for p in liquid.products if p.is_liquid)
            findings.append(
                Finding(
                    "info",
                    "liquid-from-here",
                    f"From {format_mg(current)}/day the tablets cannot make a cut as small as "
                    f"the rule asks, so from step {number} the doses use {liquids} as well "
                    f"(--at-low-doses liquid).",
                    rule.source,
                    number,
                )
            )
            daily = active.daily_doses(n)
            candidates = [v for v in daily if floor <= v < current and v > 0]
            run_out = _run_out(candidates, current, target)
        if run_out and at_low_doses == "stop" and candidates:
            if not steps:
                raise PlanRefused(
                    "--at-low-doses",
                    "stop",
                    f"the products cannot make the rule's first cut from {format_mg(current)}/day "
                    f"(to {format_mg(target)}/day) without a larger cut",
                    "use --at-low-doses stretch or liquid",
                )
            findings.append(
                Finding(
                    "warning",
                    "stopped-at-low-dose",
                    f"Below {format_mg(current)}/day the products cannot make a cut as small as "
                    f"the rule asks, so, as asked (--at-low-doses stop), the plan stops from "
                    f"{format_mg(current)}/day: the lowest dose they can taper from at the "
                    f"rule's pace.",
                    rule.source,
                    len(steps),
                )
            )
            break
        if not candidates:
            if not steps:
                _refuse_first_cut(rx, rule, daily, current)
            # the products cannot cut within the cap: the next step is the stop
            findings += _unfinished(rule, start, current, holds_done, len(steps))
            break

        findings += capped
        choice = _choose(
            candidates,
            current,
            target,
            proposal.days,
            proposal.proportional,
            _keeps_times(active, n, rule.cut_order, previous, used),
        )
        if choice.dose != proposal.target and choice.dose != normalize(target):
            findings.append(
                _adjusted(number, current, proposal.target, target, choice, proposal.days, rule)
            )
        days = choice.days
        held = False
        for i, hold in enumerate(rule.holds):
            if i not in holds_done and choice.dose <= hold.level(start):
                holds_done.add(i)
                days = max(days, hold.days)
                held = True
        shares = active.split(choice.dose, n, rule.cut_order, previous, used)
        assert shares is not None, "every candidate is a makeable daily dose"
        if rule.cut_order != "even" and previous is not None:
            findings += _raised_times(number, rx.times, previous, shares, rule)
        administrations = tuple(
            Administration(time, active.compose(share).units)
            for time, share in zip(rx.times, shares, strict=True)
            if share > 0
        )
        steps.append(
            Step(
                number,
                day,
                days,
                administrations,
                normalize(proposal.target),
                current,
                proposal.days,
                held,
            )
        )
        day += timedelta(days=days)
        previous, current = shares, choice.dose
        used = frozenset(u.product.id for a in administrations for u in a.units)
        if len(steps) > MAX_STEPS:
            raise PlanRefused(
                "--rule",
                rule.name,
                f"the plan would run past {MAX_STEPS} steps; choose larger cuts",
            )
        if (day - rx.start_date).days > MAX_PLAN_DAYS:
            raise PlanRefused(
                "--rule",
                rule.name,
                f"the plan would last more than {MAX_PLAN_DAYS // 365} years; choose larger "
                f"cuts or shorter intervals",
            )
    return steps, findings


def _run_out(candidates: Sequence[Decimal], current: Decimal, target: Decimal) -> bool:
    """Whether the smallest cut the products make is well above the cut the rule asks."""
    if not candidates:
        return True
    asked = current - max(target, Decimal(0))
    return current - max(candidates) > asked * RUN_OUT_FACTOR


def _raised_times(
    number: int,
    times: Sequence[str],
    previous: Sequence[Decimal],
    shares: Sequence[Decimal],
    rule: Rule,
) -> list[Finding]:
    """A warning where the products made a dose the cut order keeps go up."""
    raised = [
        f"the {t} dose from {format_mg(p)} to {format_mg(s)}"
        for t, p, s in zip(times, previous, shares, strict=True)
        if s > p > 0
    ]
    if not raised:
        return []
    return [
        Finding(
            "warning",
            "kept-dose-raised",
            f"With the cut order {rule.cut_order}, the products cannot make "
            f"{format_mg(sum(shares, Decimal(0)))}/day without raising {', '.join(raised)} "
            f"while the day's total falls; the other doses were cut further to make up for it.",
            "taper: the clinician's cut order (--cut-order)",
            number,
        )
    ]


def _unfinished(
    rule: Rule, start: Decimal, current: Decimal, holds_done: set[int], step: int
) -> list[Finding]:
    """What the rule asked for that a plan stopping early from ``current`` leaves undone."""
    missing = []
    final = rule.final_level(start)
    if final is not None and current > final:
        missing.append(f"its final dose of {format_mg(final)}/day")
    for i, hold in enumerate(rule.holds):
        if i not in holds_done and hold.level(start) < current:
            missing.append(f"the hold at {format_mg(hold.level(start))}/day")
    if not missing:
        return []
    return [
        Finding(
            "warning",
            "rule-not-completed",
            f"The plan stops from {format_mg(current)}/day (no smaller dose is within the cap), "
            f"so it does not reach {' or '.join(missing)}.",
            rule.source,
            step,
        )
    ]


def _keeps_times(
    dispenser: Dispenser,
    n: int,
    order: str,
    previous: Sequence[Decimal] | None,
    used: frozenset[str],
) -> Callable[[Decimal], bool]:
    """Whether a daily dose can be shared without undoing the last step's shape.

    A dose stopped at one time stays stopped. With ``morning-first`` or
    ``bedtime-last`` the times the rule keeps must not rise either: the rule says
    which dose falls first, so a dose it keeps is never raised to make up the day.
    """
    strict = order != "even"

    def keeps(v: Decimal) -> bool:
        return dispenser.split_without_rise(v, n, order, previous, used, strict) is not None

    return keeps


def _choose(
    candidates: list[Decimal],
    current: Decimal,
    target: Decimal,
    days: int,
    proportional: bool = False,
    accept: Callable[[Decimal], bool] | None = None,
) -> _Choice:
    """The makeable dose nearest the target (the gentler on a tie), with its step length.

    Doses ``accept`` approves come first; the nearest of all is the fallback.
    """
    ranked = sorted(candidates, key=lambda v: (abs(v - target), -v))
    dose = next((v for v in ranked if accept is None or accept(v)), ranked[0])
    if dose < target and current > target > 0:
        # a steeper cut than asked: stretch the step so the average pace holds, in the
        # rule's own terms (a share of the dose for a proportional rule, else milligrams)
        if proportional:
            # in floating point, rounded to 9 places so an exact ratio stays exact
            share = math.log(dose / current) / math.log(target / current)
            ratio = Decimal(repr(round(share, 9)))
        else:
            ratio = (current - dose) / (current - target)
        days = ceil_int(Decimal(days) * ratio)
    return _Choice(dose, days)


def _adjusted(
    number: int,
    current: Decimal,
    asked: Decimal,
    aimed: Decimal,
    choice: _Choice,
    rule_days: int,
    rule: Rule,
) -> Finding:
    asked_cut = (current - aimed) / current
    made_cut = (current - choice.dose) / current
    text = (
        f"The rule asked for {format_mg(max(aimed, Decimal(0)))}/day "
        f"({format_percent(asked_cut)} % less); the products make "
        f"{format_mg(choice.dose)}/day ({format_percent(made_cut)} % less)"
    )
    if choice.days != rule_days:
        text += (
            f", so the step lasts {choice.days} days instead of {rule_days} to keep the rule's pace"
        )
    return Finding("info", "target-adjusted", text + ".", rule.source, number)


def _refuse_first_cut(rx: Prescription, rule: Rule, daily: list[Decimal], current: Decimal) -> None:
    """Refuse a plan whose products cannot make even its first cut within the cap."""
    below = [v for v in daily if 0 < v < current]
    if not below:
        raise PlanRefused(
            "dose",
            format_mg(current),
            f"the products make nothing smaller (the smallest is {format_mg(daily[1])}/day "
            f"in {len(rx.times)} doses); there is nothing to taper with them",
        )
    nxt = below[-1]
    raise PlanRefused(
        "dose",
        format_mg(current),
        f"the products cannot cut it by {format_percent(rule.max_cut)} % or less: the next dose "
        f"they make is {format_mg(nxt)}/day ({format_percent((current - nxt) / current)} % less)",
        "add a product with a smaller strength, allow more pieces per dose, "
        "or raise the cap with --max-cut",
    )
