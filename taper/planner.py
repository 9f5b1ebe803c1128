"""plan(): a prescription and a rule in, a dispensable Schedule out.

The planner walks down from the starting dose. At each step the rule names
an ideal dose; the planner takes the dispensable daily dose nearest to it
within the cap, never above the current dose. When the products force a
steeper cut than the rule asked for, the step is lengthened so the rule's
average pace holds (up to the rule's longest step). Where no dose the products
make lies between the current dose and the cap, the cut is forced: it is made
to the next dose they make, with a longer step after it. The plan goes down to
the smallest daily dose its products make (the terminal dose), or the
clinician's final dose, and stops from there. Every change is reported as a
Finding.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from .catalog import (
    DEFAULT_INCREMENT_ML,
    DEFAULT_MEASURE_ML,
    FINEST_INCREMENT_ML,
    TIMES,
    Catalog,
    Drug,
    Product,
    load_catalog,
    load_formulary,
)
from .dispensing import CUT_ORDERS, DEFAULT_MAX_UNITS, MAX_UNITS_LIMIT, Dispenser, dispenser_for
from .doses import ceil_int, format_mg, format_number, format_percent, normalize, parse_dose
from .errors import FindingsRefused, InputError, PlanRefused, UnknownNameError
from .rules import GUIDELINE_SOURCE, Proposal, Rule, build_rule
from .schedule import Administration, Finding, Patient, Prescription, Schedule, Step
from .validation import (
    CODES,
    apply_overrides,
    check,
    check_prescription,
    min_pieces,
    parse_overrides,
    step_runs,
)

if TYPE_CHECKING:
    from pathlib import Path

#: what to do when the products run out of cuts as small as the rule asks
LOW_DOSE_STRATEGIES = ("stretch", "liquid", "stop")
#: the products have "run out of small cuts" (--at-low-doses liquid|stop) when they force a
#: cut (nothing lies between the dose and the cap), or when the smallest cut they make is
#: more than this many times the cut the rule asks for; below it, stretching the step by
#: less than half keeps the pace. taper's own bound, not a figure from a source.
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
        raise InputError("per_day", per_day, "1 to 4 doses a day")
    return TIMES_BY_COUNT[per_day]


def select_products(
    drug: Drug, region: str, choose: Sequence[str] | None = None, field: str = "products"
) -> tuple[Product, ...]:
    """The drug's products in ``region`` that may be dispensed, narrowed by ``choose``.

    Each choice is a product id (``clonazepam-tab-0.5``), a form (``tablet``,
    ``odt``, ``solution``) or a form with a strength (``tablet:0.5mg``). Without a
    choice: every tablet and capsule (a liquid only when named, or with
    ``at_low_doses="liquid"``).
    """
    if region not in ("us", "uk"):
        raise InputError("region", region, "us or uk")
    available = tuple(p for p in drug.products_in(region) if p.usable)
    if not any(p.is_solid for p in available) and not choose:
        raise PlanRefused(
            "region", region, f"the catalog lists no {drug.name} tablets or capsules there"
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


def _match_products(
    products: Sequence[Product], token: str, field: str = "products"
) -> list[Product]:
    token = token.lower()
    form, _, strength = token.partition(":")
    exact = [p for p in products if p.id == token or p.name.lower() == token]
    if exact:
        return exact
    if strength:
        mg = parse_dose(strength, field)
        return [p for p in products if p.form == form and mg in (p.strength_mg, p.mg_per_ml)]
    return [p for p in products if p.form == form]


def allow_halving(
    products: Sequence[Product], tokens: Sequence[str], field: str = "halve"
) -> tuple[tuple[Product, ...], list[str]]:
    """The products, with the tablets ``tokens`` name split in halves along their break line.

    Only a tablet the catalog records with a break line may be halved this way (off-licence,
    as the findings say); a token that names no product here comes back, so a switch can look
    for it among the other drug's products.
    """
    out = list(products)
    unmatched = []
    for token in tokens:
        matches = _match_products(out, token.strip(), field)
        if not matches:
            unmatched.append(token)
            continue
        for product in matches:
            if product.split < 1:
                continue  # scored already, or halved by an earlier token
            if not product.break_line:
                raise InputError(
                    field,
                    token,
                    f"{product.name} has no break line in the catalog; only a tablet with one "
                    f"may be halved",
                )
            out[out.index(product)] = replace(product, split=Decimal("0.5"))
    return tuple(out), unmatched


def refuse_unknown_halving(
    unmatched: Sequence[str], drugs: Sequence[Drug], chosen: Sequence[Product]
) -> None:
    """Refuse a tablet to halve that names no product of the plan's drugs in any region (a
    protocol may name one region's tablets and the other's: those are passed over)."""
    for token in unmatched:
        if not any(_match_products(d.products, token.strip(), "halve") for d in drugs):
            raise UnknownNameError(
                "halve",
                token,
                "tablets with a break line in this plan: "
                + (", ".join(p.id for p in chosen if p.break_line) or "none"),
            )


def parse_increment(text: str | Decimal, field: str = "liquid_increment") -> Decimal:
    """A liquid measure's marks, such as ``0.2ml``: a whole share of taper's 1 mL syringe,
    no finer than 0.01 mL."""
    raw = str(text).strip().lower().removesuffix("ml").strip()
    try:
        value = normalize(Decimal(raw))
        fits = FINEST_INCREMENT_ML <= value <= DEFAULT_MEASURE_ML and not DEFAULT_MEASURE_ML % value
    except ArithmeticError:
        fits = False
    if not fits:
        raise InputError(
            field,
            str(text),
            f"marks of {format_number(FINEST_INCREMENT_ML)} mL or more that divide the "
            f"{format_number(DEFAULT_MEASURE_ML)} mL syringe evenly, such as 0.1ml, 0.2ml or "
            f"0.25ml",
        )
    return value


def remeasure(products: Sequence[Product], increment: Decimal | None) -> tuple[Product, ...]:
    """Liquids measured with taper's default syringe, marked every ``increment`` mL instead."""
    if increment is None or increment == DEFAULT_INCREMENT_ML:
        return tuple(products)
    return tuple(
        replace(
            p,
            increment_ml=increment,
            measure=(
                f"a {format_number(DEFAULT_MEASURE_ML)} mL oral syringe marked every "
                f"{format_number(increment)} mL"
            ),
        )
        if p.is_liquid and p.default_measure
        else p
        for p in products
    )


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
    halve: Sequence[str] = (),
    liquid_increment: str | Decimal | None = None,
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
    halve
        Tablets with a break line but no labelled functional score that may be halved
        (off-licence, said in a finding), as product ids or ``tablet:2mg``; added to the
        rule's own.
    liquid_increment
        The marks of taper's default liquid measure (a 1 mL oral syringe marked every
        0.1 mL), for liquids whose label gives no measuring device: ``"0.2ml"``.

    Returns
    -------
    Schedule
        Contiguous steps, each made from real products, down to the smallest daily dose the
        products make (or the rule's final dose), then the stop. Where the plan makes cuts
        the products force, or stops above that dose, a finding names what would do better
        (a liquid, halving, a switch to diazepam), with its effect computed.

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
    request = dict(locals())
    schedule = make_plan(**request)
    from .alternatives import with_alternatives

    return with_alternatives(schedule, request, make_plan)


def make_plan(
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
    halve: Sequence[str] = (),
    liquid_increment: str | Decimal | None = None,
    start_shares: Sequence[Decimal] | None = None,
    first_step: int = 1,
) -> Schedule:
    """One plan as :func:`plan` makes it, without the alternatives it computes.

    ``start_shares`` are the doses taken at each time before the first cut, where they are
    not the even split of ``dose`` (after a switch, say), so a cut order starts from them;
    ``first_step`` numbers the steps from another number than 1 (the new part of a re-plan).
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
            halve=halve,
            liquid_increment=liquid_increment,
        )
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    if formulary is not None:
        cat = load_formulary(cat, formulary)
    the_drug = cat.drug(drug)
    start_dose = parse_dose(dose, "dose")
    the_rule = rule if isinstance(rule, Rule) else build_rule(rule)
    if at_low_doses not in LOW_DOSE_STRATEGIES:
        raise InputError("at_low_doses", at_low_doses, f"one of {', '.join(LOW_DOSE_STRATEGIES)}")
    if cut_order is not None:
        if cut_order not in CUT_ORDERS:
            raise InputError("cut_order", cut_order, f"one of {', '.join(CUT_ORDERS)}")
        the_rule = replace(the_rule, cut_order=cut_order)
    if halve:
        more = tuple(h.strip().lower() for h in halve if h.strip())
        the_rule = replace(
            the_rule, halve=(*the_rule.halve, *(h for h in more if h not in the_rule.halve))
        )
    if the_rule.drugs and the_drug.name not in the_rule.drugs:
        raise InputError(
            "rule",
            the_rule.name,
            f"this rule is written for {', '.join(the_rule.drugs)}; its doses do not carry over "
            f"to {the_drug.name}",
            "choose a rule for any drug, such as joint-guideline-2025",
        )
    n = the_drug.default_doses_per_day if per_day is None else per_day
    if not isinstance(n, int) or isinstance(n, bool):
        raise InputError("per_day", n, "a whole number of doses a day, 1 to 4")
    times = administration_times(the_drug, n)
    start_date = _start_date(start)
    patient = make_patient(the_drug, indication, age, weight_kg, use_months)
    accepted = (
        dict(overrides) if isinstance(overrides, Mapping) else parse_overrides(overrides or ())
    )
    _refuse_errors(
        apply_overrides(check_prescription(the_drug, cat, start_dose, n, patient, region), accepted)
    )
    increment = None if liquid_increment is None else parse_increment(liquid_increment)
    chosen = remeasure(select_products(the_drug, region, products), increment)
    chosen, unmatched = allow_halving(chosen, the_rule.halve)
    refuse_unknown_halving(unmatched, [the_drug], chosen)
    limit, raised = _unit_limit(chosen, start_dose, n, max_units)
    dispenser = dispenser_for(tuple(chosen), limit)
    prescription = Prescription(the_drug.name, start_dose, n, times, start_date, region, patient)
    if start_shares is not None and (
        len(start_shares) != n or normalize(sum(start_shares, Decimal(0))) != start_dose
    ):
        raise InputError("start_shares", list(start_shares), f"{n} doses adding up to the dose")
    liquid = None
    if at_low_doses == "liquid":
        liquids = remeasure(
            [p for p in the_drug.products_in(region) if p.usable and p.is_liquid], increment
        )
        if not liquids:
            raise InputError(
                "at_low_doses",
                "liquid",
                f"no {the_drug.name} liquid that can be measured is listed for "
                f"{region.upper()}; a pharmacy's compounded liquid can be added with "
                f"{{formulary}} FILE",
            )
        one = _one_liquid(prescription, the_rule, chosen, liquids, limit, start_shares)
        chosen = (*chosen, *(p for p in (one,) if p not in chosen))
        liquid = dispenser_for(tuple(chosen), limit)
    if increment is not None and not any(p.is_liquid and p.default_measure for p in chosen):
        raise InputError(
            "liquid_increment",
            str(liquid_increment),
            "used only with a liquid measured with taper's syringe: {at_low_doses} liquid, or a "
            "liquid in {products}",
        )
    steps, findings = _walk(
        prescription, the_rule, dispenser, at_low_doses, liquid, start_shares, first_step
    )
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
        at_low_doses=at_low_doses,
    )
    schedule = replace(schedule, findings=tuple(check(schedule, catalog=cat)))
    _refuse_errors(schedule.findings)
    return schedule


def _one_liquid(
    rx: Prescription,
    rule: Rule,
    chosen: Sequence[Product],
    liquids: Sequence[Product],
    limit: int,
    start_shares: Sequence[Decimal] | None,
) -> Product:
    """The one liquid a plan uses where the tablets run out of small cuts.

    Two strengths of one liquid in a plan invite a five-fold dosing error, so the plan takes
    one: of the catalog's, the one whose plan keeps nearest the rule's doses, then falls least
    at once (a forced cut or the stop, as a share of the start), then the weaker.
    """
    if len(liquids) == 1:
        return liquids[0]
    tablets = dispenser_for(tuple(chosen), limit)

    def score(product: Product) -> tuple[Decimal, Decimal, Decimal]:
        with_it = dispenser_for((*chosen, product), limit)
        try:
            steps, _ = _walk(rx, rule, tablets, "liquid", with_it, start_shares)
        except PlanRefused:
            return (Decimal("Infinity"), Decimal(0), product.mg_per_ml or Decimal(0))
        falls = [steps[-1].dose, *(s.previous_dose - s.dose for s in steps if s.cut > rule.max_cut)]
        gap = sum((abs(s.dose - max(s.target, Decimal(0))) * s.days for s in steps), Decimal(0))
        return (gap, max(falls) / rx.start_dose, product.mg_per_ml or Decimal(0))

    return min(liquids, key=score)


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
            f"{MAX_UNITS_LIMIT}; give more doses a day ({{per_day}}) or larger products",
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
                "indication",
                indication,
                f"documented for {drug.name}: {', '.join(known) or 'none'}",
            )
    if age is not None and (isinstance(age, bool) or not 0 <= age <= 130):
        raise InputError("age", age, "an age in whole years, 0 to 130")
    weight: Decimal | None = None
    if weight_kg is not None:
        try:
            weight = Decimal(str(weight_kg).strip())
        except ArithmeticError:
            weight = None
        if weight is None or not weight.is_finite() or not 0 < weight <= 500:
            raise InputError("weight_kg", str(weight_kg), "a weight in kg above 0 and up to 500")
    if age is not None and age < 18 and weight is None:
        raise InputError("weight_kg", "", "children are checked in mg/kg/day: give the weight")
    if use_months is not None and (isinstance(use_months, bool) or not 0 <= use_months <= 1200):
        raise InputError("use_months", use_months, "whole months, 0 to 1200")
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
            raise InputError("start", str(start), "a date written YYYY-MM-DD") from None
    if not EARLIEST <= day <= LATEST:
        raise InputError(
            "start",
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
    start_shares: Sequence[Decimal] | None = None,
    first_step: int = 1,
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
    previous = (
        tuple(normalize(v) for v in start_shares)
        if start_shares is not None
        else active.split(start, n)
    )
    used: frozenset[str] = frozenset()
    ideal = previous  # a per-dose rule's own doses at each time
    past_end = False  # whether the rule's own steps have ended (its next dose is the stop)
    steps: list[Step] = []
    findings: list[Finding] = []
    out_of_order: list[tuple[int, str]] = []
    bounded: list[tuple[int, int, int]] = []  # steps held short: the days asked, and made
    holds_done: set[int] = set()
    current = start
    day = rx.start_date
    while True:
        if steps and final is not None and current <= final:
            break  # the clinician's (or the rule's) final dose: the next step is the stop
        proposal = rule.propose(current, start, frozenset(holds_done))
        number = len(steps) + first_step
        floor = current * (1 - rule.max_cut)
        # a rule whose next dose is the stop still goes down to the smallest dose the
        # products make: it aims at the cap until the products make nothing smaller
        target = max(proposal.target, Decimal(0))
        capped: list[Finding] = []  # said only once the step is made
        if target < floor:
            if proposal.target > 0 or not past_end:  # past the rule's end: said once
                capped.append(_capped(number, current, proposal.target, floor, rule))
            target = floor

        candidates, choice = _pick(
            active, n, current, floor, target, proposal, rule, previous, used
        )
        if (
            at_low_doses == "liquid"
            and liquid is not None
            and active is not liquid
            and _strays(choice, candidates, current, target)
        ):
            # the tablets force a cut, or cannot make a cut near the rule's: the liquid as well
            active = liquid
            liquids = ", ".join(p.name for p in liquid.products if p.is_liquid)
            findings.append(
                Finding(
                    "info",
                    "liquid-from-here",
                    f"From {format_mg(current)}/day the tablets cannot make a cut close to the "
                    f"one the rule asks, so from step {number} the doses use {liquids} as well "
                    f"(--at-low-doses liquid).",
                    rule.source,
                    number,
                )
            )
            candidates, choice = _pick(
                active, n, current, floor, target, proposal, rule, previous, used
            )
        if choice is None:
            if not steps:
                raise PlanRefused(
                    "dose",
                    format_mg(current),
                    f"the products make nothing smaller (the smallest is "
                    f"{format_mg(active.smallest)}/day in {n} doses); there is nothing to "
                    f"taper with them",
                )
            # the terminal dose: the products make nothing smaller, so the next step is the stop
            findings += _unfinished(rule, start, current, holds_done, number - 1)
            break
        if at_low_doses == "stop" and _runs_out(choice, candidates, current, target):
            if not steps:
                raise PlanRefused(
                    "at_low_doses",
                    "stop",
                    f"the products cannot make the rule's first cut from {format_mg(current)}/day "
                    f"(to {format_mg(target)}/day) without a larger cut",
                    "use {at_low_doses} stretch or liquid",
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
                    number - 1,
                )
            )
            findings += _unfinished(
                rule, start, current, holds_done, number - 1, "as asked, --at-low-doses stop"
            )
            break

        findings += capped
        past_end = past_end or proposal.target <= 0
        days = choice.days
        if days > proposal.days and days > rule.longest_step_days:
            days = max(proposal.days, rule.longest_step_days)
            bounded.append((number, choice.days, days))
        if candidates and choice.dose != proposal.target and choice.dose != normalize(target):
            findings.append(
                _adjusted(
                    number, current, proposal.target, target, choice, days, proposal.days, rule
                )
            )
        held = False
        for i, hold in enumerate(rule.holds):
            if i not in holds_done and choice.dose <= hold.level(start):
                holds_done.add(i)
                days = max(days, hold.days)
                held = True
        shares = None
        if rule.per_dose and ideal is not None and rule.cut_order == "even":
            # the rule's own doses at each time: each falls by the same amount (a cut order
            # the clinician gives takes its place)
            ideal = _per_dose(ideal, choice.dose)
            if ideal is not None and all(v == 0 or v in active.best for v in ideal):
                shares = ideal
        if shares is None:
            shares = active.split(choice.dose, n, rule.cut_order, previous, used)
        assert shares is not None, "every candidate is a makeable daily dose"
        if rule.per_dose and ideal is not None and rule.cut_order == "even" and shares != ideal:
            findings.append(_per_dose_missed(number, rx.times, ideal, shares))
        if rule.cut_order != "even" and previous is not None:
            findings += _raised_times(number, rx.times, previous, shares, rule)
            out_of_order += _out_of_order(number, rx.times, previous, shares, rule.cut_order)
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
                "rule",
                rule.name,
                f"the plan would run past {MAX_STEPS} steps; choose larger cuts",
            )
        if (day - rx.start_date).days > MAX_PLAN_DAYS:
            raise PlanRefused(
                "rule",
                rule.name,
                f"the plan would last more than {MAX_PLAN_DAYS // 365} years; choose larger "
                f"cuts or shorter intervals",
            )
    findings += _order_findings(out_of_order, rule)
    findings += _bounded(bounded, rule)
    return steps, findings


def _below(
    daily: Sequence[Decimal], current: Decimal, floor: Decimal
) -> tuple[Sequence[Decimal], Sequence[Decimal]]:
    """The daily doses (ascending) above 0 and below ``current``, and those of them at or
    above ``floor``: what a step may take, and what it may take within the cap."""
    top = bisect_left(daily, current)
    first = bisect_right(daily, Decimal(0))
    return daily[first:top], daily[max(first, bisect_left(daily, floor)) : top]


def _capped(number: int, current: Decimal, asked: Decimal, floor: Decimal, rule: Rule) -> Finding:
    if asked <= 0:
        text = (
            f"The rule's next step from {format_mg(current)}/day is the stop; the plan goes on "
            f"down to the smallest dose the products make, so from here each step aims at the "
            f"cap of {format_percent(rule.max_cut)} % ({format_mg(normalize(floor))}/day first)."
        )
    else:
        text = (
            f"The rule asked for {format_mg(asked)}/day from {format_mg(current)}/day; cuts "
            f"are capped at {format_percent(rule.max_cut)} %, so the step aims at "
            f"{format_mg(normalize(floor))}/day."
        )
    return Finding("info", "cut-capped", text, _cap_source(rule), number)


def _bounded(bounded: Sequence[tuple[int, int, int]], rule: Rule) -> list[Finding]:
    """One warning per run of steps held shorter than the rule's pace needs."""
    asked = {n: need for n, need, _ in bounded}
    made = {n: days for n, _, days in bounded}
    out = []
    for run in step_runs(sorted(asked)):
        need = sorted({asked[n] for n in run})
        days = f"{need[0]} days" if len(need) == 1 else f"{need[0]} to {need[-1]} days"
        if need[-1] > MAX_PLAN_DAYS:
            days = f"more than {MAX_PLAN_DAYS // 365} years"
        lengths = sorted({made[n] for n in run})
        lasts = " or ".join(str(d) for d in lengths)
        why = (
            "taper's longest lengthened step (--longest-step)"
            if lengths == [rule.longest_step_days]
            else f"the rule's own interval, as taper lengthens no step past "
            f"{rule.longest_step_days} day{'s' if rule.longest_step_days != 1 else ''} "
            f"(--longest-step)"
        )
        where = f"Step {run[0]}" if len(run) == 1 else f"Steps {run[0]} to {run[-1]}"
        out.append(
            Finding(
                "warning",
                "longest-step",
                f"{where}: keeping the rule's pace after the cut would need "
                f"{'a step' if len(run) == 1 else 'steps'} of {days}; "
                f"{'it lasts' if len(run) == 1 else 'each lasts'} {lasts} days, {why}, so "
                f"there the plan goes faster than the rule.",
                f"taper's own bound on a lengthened step ({rule.longest_step_days} days), not a "
                f"clinical figure",
                run[0],
            )
        )
    return out


def _per_dose(ideal: Sequence[Decimal], dose: Decimal) -> tuple[Decimal, ...] | None:
    """A per-dose rule's doses at each time for a day of ``dose``: each dose it takes falls
    by the same amount; ``None`` where that would take a dose below zero."""
    taken = [v for v in ideal if v > 0]
    if not taken:
        return None
    each = (sum(ideal, Decimal(0)) - dose) / len(taken)
    if each != each.quantize(Decimal("0.0001")):
        return None  # the cut does not share out in whole micrograms: the day's split instead
    shares = tuple(normalize(v - each) if v > 0 else Decimal(0) for v in ideal)
    return None if any(v < 0 for v in shares) else shares


#: an administration time in words, as a sentence says it
_AT = {"morning": "in the morning", "midday": "at midday", "evening": "in the evening"}


def _per_dose_missed(
    number: int, times: Sequence[str], ideal: Sequence[Decimal], shares: Sequence[Decimal]
) -> Finding:
    def doses(values: Sequence[Decimal]) -> str:
        return ", ".join(
            f"{format_mg(v) if v > 0 else 'none'} {_AT.get(t, 'at ' + t)}"
            for t, v in zip(times, values, strict=True)
        )

    return Finding(
        "warning",
        "per-dose-not-kept",
        f"The rule lowers each dose by the same amount, to {doses(ideal)}; the products cannot "
        f"make that, so the step takes {doses(shares)}.",
        "the rule's own method",
        number,
    )


def _out_of_order(
    number: int,
    times: Sequence[str],
    previous: Sequence[Decimal],
    shares: Sequence[Decimal],
    order: str,
) -> list[tuple[int, str]]:
    """Where a step cuts a dose the rule's cut order keeps while another is still taken."""
    fell = [i for i, (p, s) in enumerate(zip(previous, shares, strict=True)) if s < p]
    if order == "morning-first":
        # a later dose falls while an earlier one is still taken
        wrong = [i for i in fell if any(shares[j] > 0 for j in range(i))]
    else:  # bedtime-last: the bedtime dose falls while another is still taken
        last = len(shares) - 1
        wrong = [last] if last in fell and any(v > 0 for v in shares[:last]) else []
    return [(number, times[i]) for i in wrong]


def _order_findings(out_of_order: Sequence[tuple[int, str]], rule: Rule) -> list[Finding]:
    """One warning per run of steps where the products could not keep the rule's cut order."""
    if not out_of_order:
        return []
    runs = step_runs(sorted({n for n, _ in out_of_order}))
    first = {
        "morning-first": "the morning dose goes to zero first",
        "bedtime-last": "the bedtime dose is kept to the last",
    }
    out = []
    for run in runs:
        times = sorted({t for n, t in out_of_order if n in run}, key=TIMES.index)
        where = f"Step {run[0]}" if len(run) == 1 else f"Steps {run[0]} to {run[-1]}"
        out.append(
            Finding(
                "warning",
                "cut-order-not-kept",
                f"{where}: the rule's cut order says {first[rule.cut_order]}, but the products "
                f"cannot make the day's dose that way, so the {' and '.join(times)} dose falls "
                f"while an earlier one is still taken.",
                rule.source or "the clinician's cut order (--cut-order)",
                run[0],
            )
        )
    return out


def _pick(
    dispenser: Dispenser,
    n: int,
    current: Decimal,
    floor: Decimal,
    target: Decimal,
    proposal: Proposal,
    rule: Rule,
    previous: Sequence[Decimal] | None,
    used: frozenset[str],
) -> tuple[Sequence[Decimal], _Choice | None]:
    """What ``dispenser`` makes within the cap, and the dose a step would take with it: the
    nearest the rule's (keeping the cut order where it can), or, where nothing lies within
    the cap, the next dose it makes (a cut the products force, said by the checks, which see
    it in any schedule); no dose where it makes nothing smaller."""
    below, within = _below(dispenser.daily_doses(n), current, floor)
    if not below:
        return within, None
    keeps = _keeps_times(dispenser, n, rule.cut_order, previous, used)
    pool = within or below[-1:]
    return within, _choose(pool, current, target, proposal.days, proposal.proportional, keeps)


def _runs_out(
    choice: _Choice, candidates: Sequence[Decimal], current: Decimal, target: Decimal
) -> bool:
    """Whether the products have run out of small cuts: they force this one, or it is well
    above the cut the rule asks (RUN_OUT_FACTOR)."""
    asked = current - max(target, Decimal(0))
    return not candidates or current - choice.dose > asked * RUN_OUT_FACTOR


def _strays(
    choice: _Choice | None, candidates: Sequence[Decimal], current: Decimal, target: Decimal
) -> bool:
    """Whether the products stray from the rule's cut: they make nothing smaller, force a cut,
    or make one outside RUN_OUT_FACTOR of the cut asked (well above it, or well below)."""
    if choice is None:
        return True
    asked = current - max(target, Decimal(0))
    made = current - choice.dose
    return _runs_out(choice, candidates, current, target) or made * RUN_OUT_FACTOR < asked


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
    rule: Rule,
    start: Decimal,
    current: Decimal,
    holds_done: set[int],
    step: int,
    why: str = "the products make no smaller dose",
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
            f"The plan stops from {format_mg(current)}/day ({why}), so it does not reach "
            f"{' or '.join(missing)}.",
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
    candidates: Sequence[Decimal],
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
        days = min(ceil_int(Decimal(days) * ratio), MAX_PLAN_DAYS + 1)
    elif dose < current <= target:
        # the rule asks for less than a measurable cut: no step would keep its pace
        days = MAX_PLAN_DAYS + 1
    return _Choice(dose, days)


def _adjusted(
    number: int,
    current: Decimal,
    asked: Decimal,
    aimed: Decimal,
    choice: _Choice,
    days: int,
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
    if days != rule_days:
        keep = " to keep the rule's pace" if days == choice.days else ""
        text += f", so the step lasts {days} days instead of {rule_days}{keep}"
    return Finding("info", "target-adjusted", text + ".", rule.source, number)
