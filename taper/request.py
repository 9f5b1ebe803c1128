"""A plan request: the prescription, the products and the rule, resolved once.

:func:`resolve` reads what a caller gives (a drug's name, ``"2 mg"``, a preset's name, a start
date as text...) and checks it, so that :func:`taper.plan`, the switch, a re-plan and a batch
row all plan from the same :class:`PlanRequest`. Nothing here plans: the walk down is
:mod:`taper.planner`'s, the switch :mod:`taper.switching`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

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
from .dispensing import CUT_ORDERS, DEFAULT_MAX_UNITS, MAX_UNITS_LIMIT
from .doses import ceil_int, format_mg, format_number, normalize, parse_dose
from .equivalence import DEFAULT_TABLE
from .errors import InputError, PlanRefused, UnknownNameError
from .rules import Rule, build_rule
from .schedule import Finding, Identity, Patient
from .textfile import EARLIEST, LATEST
from .validation import (
    apply_overrides,
    check_prescription,
    finding,
    min_pieces,
    parse_overrides,
    refuse_errors,
)
from .wording import option

if TYPE_CHECKING:
    from pathlib import Path

#: what to do when the products run out of cuts as small as the rule asks
LOW_DOSE_STRATEGIES = ("stretch", "liquid", "stop")

#: a switch's defaults, written once: the equivalence table (:mod:`taper.equivalence`'s), the
#: days of each stage ("stages of about a week", Ashton Manual; the NHS Scotland guide reviews
#: a switch at 5 to 7 days) and the dose replaced first (bedtime, as in NHS Scotland's
#: lorazepam-to-diazepam schedule)
DEFAULT_STAGE_DAYS = 7
SWITCH_ORDERS = ("bedtime-first", "morning-first")


@dataclass(frozen=True)
class SwitchRequest:
    """A switch to another drug before the taper, as asked (see :mod:`taper.switching`)."""

    to: Drug
    table: str = DEFAULT_TABLE
    stage_days: int = DEFAULT_STAGE_DAYS
    order: str = SWITCH_ORDERS[0]
    #: the new drug's products as chosen (ids or forms), or ``None`` for all in the region
    products: tuple[str, ...] | None = None
    #: the tablets to halve that name none of the first drug's products, for the new drug's
    halve_unmatched: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlanRequest:
    """A prescription resolved for planning: every value checked, every name looked up.

    Built by :func:`resolve`; frozen, so a variant (an alternative, the taper after a switch,
    the rest of a re-plan) is resolved afresh or made with :func:`dataclasses.replace`.
    """

    catalog: Catalog
    drug: Drug
    #: the daily dose taken before the first cut
    dose: Decimal
    times: tuple[str, ...]
    #: the day of the first cut
    start: date
    region: str
    patient: Patient
    #: the rule, with the cut order and the tablets to halve that were asked for
    rule: Rule
    #: the products the plan may use (measured and halved as asked); a liquid for
    #: ``at_low_doses="liquid"`` is chosen in planning, from :attr:`liquids`
    products: tuple[Product, ...]
    #: whether the clinician named the products (else the plan chooses its set among them)
    products_chosen: bool
    #: the pieces allowed at one administration, and the finding that says it was raised
    max_units: int
    units_raised: Finding | None
    #: the codes the clinician accepts, each with its reason
    overrides: tuple[tuple[str, str], ...]
    at_low_doses: str = "stretch"
    liquids: tuple[Product, ...] = ()
    liquid_increment: Decimal | None = None
    switch: SwitchRequest | None = None
    #: the doses at each time before the first cut, where not an even split (after a switch)
    start_shares: tuple[Decimal, ...] | None = None
    #: the number of the first step (the new part of a re-plan)
    first_step: int = 1
    #: the second set of a plan in two sets of products, dispensed in place of
    #: :attr:`products` from where they stray (the new part of a re-plan of such a plan)
    then_products: tuple[Product, ...] = ()
    #: who the plan is for and who prescribes it, where given
    identity: Identity = field(default_factory=Identity)
    #: the arguments as given, from which a variant is resolved (the plan's alternatives)
    asked: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def per_day(self) -> int:
        return len(self.times)

    @property
    def accepted(self) -> dict[str, str]:
        """The overrides as a mapping of code to reason."""
        return dict(self.overrides)


def resolve(
    drug: str,
    dose: str | Decimal,
    *,
    rule: Rule | str | None = None,
    per_day: int | None = None,
    start: date | str | None = None,
    products: str | Sequence[str] | None = None,
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
    table: str | None = None,
    stage_days: int | None = None,
    switch_order: str | None = None,
    switch_products: str | Sequence[str] | None = None,
    halve: str | Sequence[str] = (),
    liquid_increment: str | Decimal | None = None,
    start_shares: Sequence[Decimal] | None = None,
    first_step: int = 1,
    patient_name: str | None = None,
    patient_id: str | None = None,
    date_of_birth: date | str | None = None,
    prescriber: str | None = None,
    end_by: date | str | None = None,
) -> PlanRequest:
    """Check and look up everything :func:`taper.plan` is given (its parameters, documented
    there), before anything is planned.

    ``start_shares`` are the doses taken at each time before the first cut, where they are
    not the even split of ``dose`` (after a switch, say), so a cut order starts from them;
    ``first_step`` numbers the steps from another number than 1 (the new part of a re-plan).

    Raises
    ------
    InputError, UnknownNameError
        For input that cannot be used.
    PlanRefused
        When the starting dose is refused by a check that is not overridden, or the products
        cannot make it within the pieces allowed.
    """
    # a single string names one or more, separated by commas, as on the command line; a
    # string is not taken as a sequence of one-letter names
    products, switch_products, halve = (
        _names(products, "products"),
        _names(switch_products, "switch_products"),
        _names(halve, "halve", "diazepam-tab-2") or (),
    )
    asked = dict(locals())
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    if formulary is not None:
        cat = load_formulary(cat, formulary)
    the_drug = cat.drug(drug)
    switch = _switch(cat, the_drug, switch_to, table, stage_days, switch_order, switch_products)
    start_dose = parse_dose(dose, "dose")
    the_rule = rule if isinstance(rule, Rule) else build_rule(rule)
    if end_by is not None:
        the_rule = replace(the_rule, end_by=read_date(end_by, "end_by"))
    if at_low_doses not in LOW_DOSE_STRATEGIES:
        raise InputError("at_low_doses", at_low_doses, f"one of {', '.join(LOW_DOSE_STRATEGIES)}")
    if cut_order is not None:
        if cut_order not in CUT_ORDERS:
            raise InputError("cut_order", cut_order, f"one of {', '.join(CUT_ORDERS)}")
        the_rule = replace(the_rule, cut_order=cut_order)
    if halve:
        the_rule = the_rule.halving(halve)
    tapered = switch.to if switch is not None else the_drug
    if the_rule.drugs and tapered.name not in the_rule.drugs:
        raise InputError(
            "rule",
            the_rule.name,
            f"this rule is written for {', '.join(the_rule.drugs)}; its doses do not carry over "
            f"to {tapered.name}",
            "choose a rule for any drug, such as joint-guideline-2025",
        )
    n = the_drug.default_doses_per_day if per_day is None else per_day
    if not isinstance(n, int) or isinstance(n, bool):
        raise InputError("per_day", n, "a whole number of doses a day, 1 to 4")
    times = administration_times(the_drug, n)
    start_date = parse_start(start)
    patient = make_patient(the_drug, indication, age, weight_kg, use_months)
    identity = make_identity(patient_name, patient_id, date_of_birth, prescriber, age, start_date)
    accepted = parse_overrides(overrides)
    refuse_errors(
        apply_overrides(check_prescription(the_drug, cat, start_dose, n, patient, region), accepted)
    )
    increment = None if liquid_increment is None else parse_increment(liquid_increment)
    chosen = remeasure(select_products(the_drug, region, products), increment)
    chosen, unmatched = allow_halving(chosen, the_rule.halve)
    if switch is not None:
        switch = replace(switch, halve_unmatched=tuple(unmatched))
    else:
        refuse_unknown_halving(unmatched, [the_drug], chosen)
    limit, raised = unit_limit(
        chosen, start_dose, n, max_units, the_drug.name if switch is not None else ""
    )
    if start_shares is not None and (
        len(start_shares) != n or normalize(sum(start_shares, Decimal(0))) != start_dose
    ):
        raise InputError("start_shares", list(start_shares), f"{n} doses adding up to the dose")
    liquids: tuple[Product, ...] = ()
    if at_low_doses == "liquid" and switch is None:
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
    if (
        switch is None
        and increment is not None
        and not any(p.is_liquid and p.default_measure for p in (*chosen, *liquids))
    ):
        raise InputError(
            "liquid_increment",
            str(liquid_increment),
            "used only with a liquid measured with taper's syringe: {at_low_doses} liquid, or a "
            "liquid in {products}",
        )
    return PlanRequest(
        catalog=cat,
        drug=the_drug,
        dose=start_dose,
        times=times,
        start=start_date,
        region=region,
        patient=patient,
        rule=the_rule,
        products=chosen,
        # forms alone (tablet, odt) name a kind of product, not the products: the plan
        # chooses its set among them, as among all of the drug's
        products_chosen=bool(products) and not all(_a_form(t, the_drug) for t in products or ()),
        max_units=limit,
        units_raised=raised,
        overrides=tuple(sorted(accepted.items())),
        at_low_doses=at_low_doses,
        liquids=liquids,
        liquid_increment=increment,
        switch=switch,
        start_shares=None if start_shares is None else tuple(start_shares),
        first_step=first_step,
        identity=identity,
        asked=asked,
    )


def _switch(
    cat: Catalog,
    drug: Drug,
    switch_to: str | None,
    table: str | None,
    stage_days: int | None,
    switch_order: str | None,
    switch_products: Sequence[str] | None,
) -> SwitchRequest | None:
    """The switch asked for, with its defaults; its options refused without one."""
    if switch_to is None:
        given = {
            "table": table,
            "stage_days": stage_days,
            "switch_order": switch_order,
            "switch_products": switch_products or None,
        }
        for name, value in given.items():
            if value is not None:
                raise InputError(name, str(value), "used only with {switch_to} DRUG")
        return None
    target = cat.drug(switch_to)
    if drug.name == target.name:
        raise InputError("switch_to", switch_to, f"a drug other than {drug.name}")
    order = SWITCH_ORDERS[0] if switch_order is None else switch_order
    if order not in SWITCH_ORDERS:
        raise InputError("switch_order", order, f"one of {', '.join(SWITCH_ORDERS)}")
    days = DEFAULT_STAGE_DAYS if stage_days is None else stage_days
    if not 1 <= days <= 28:
        raise InputError("stage_days", days, "1 to 28 days a stage")
    return SwitchRequest(
        target,
        DEFAULT_TABLE if table is None else table,
        days,
        order,
        None if switch_products is None else tuple(switch_products),
    )


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


def _names(
    value: str | Sequence[str] | None, field: str, example: str = "tablet,odt"
) -> tuple[str, ...] | None:
    """Names given as one string (``"tablet,odt"``) or a sequence of them; a string that
    names nothing (blank, or commas alone) is refused rather than read as no choice."""
    if value is None:
        return None
    if isinstance(value, str):
        names = tuple(v.strip() for v in value.split(",") if v.strip())
        if not names:
            raise InputError(field, value, f"names separated by commas, such as {example}")
        return names
    return tuple(value)


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


def _a_form(token: str, drug: Drug) -> bool:
    """Whether ``token`` names a form (``tablet``, ``odt``), not a product or a strength."""
    token = token.strip().lower()
    return ":" not in token and token in {p.form for p in drug.products} - {
        p.id for p in drug.products
    }


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
        p.remeasured(increment) if p.is_liquid and p.default_measure else p for p in products
    )


def unit_limit(
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
    return need, finding(
        "units-limit-raised",
        f"The starting dose{f' of {drug}' if drug else ''} needs about {need} tablets at each "
        f"of {n} doses a day, so this plan "
        f"allows up to {need} a dose in place of {DEFAULT_MAX_UNITS}; give "
        f"{option('max_units')} to set the limit yourself.",
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


#: the longest name, record number or prescriber taper prints (taper's own bound: a line)
MAX_IDENTITY_CHARS = 120


def make_identity(
    name: str | None = None,
    record: str | None = None,
    born: date | str | None = None,
    prescriber: str | None = None,
    age: int | None = None,
    on: date | None = None,
    reference: str = "",
) -> Identity:
    """Who the plan is for, checked: each text one line of printable characters, the date of
    birth a real day not after ``on`` (the start) and, with ``age``, agreeing with it."""
    texts = {}
    for field_name, value in (
        ("patient_name", name),
        ("patient_id", record),
        ("prescriber", prescriber),
    ):
        text = " ".join(str(value or "").split())
        if len(text) > MAX_IDENTITY_CHARS or not all(c.isprintable() for c in text):
            raise InputError(
                field_name,
                str(value)[:40],
                f"one line of printable text, up to {MAX_IDENTITY_CHARS} characters",
            )
        texts[field_name] = text
    day = None
    if born not in (None, ""):
        day = read_date(born, "date_of_birth")
        if day.year < 1900:
            raise InputError("date_of_birth", day.isoformat(), "a date from 1900 on")
        if on is not None and day > on:
            raise InputError("date_of_birth", day.isoformat(), "a day before the plan starts")
        if age is not None and on is not None:
            years = on.year - day.year - ((on.month, on.day) < (day.month, day.day))
            if years != age:
                raise InputError(
                    "date_of_birth",
                    day.isoformat(),
                    f"a date of birth that makes the patient {age} ({{age}}) on "
                    f"{on.isoformat()}; it makes them {years}",
                )
    return Identity(texts["patient_name"], texts["patient_id"], day, texts["prescriber"], reference)


def read_date(value: date | str, field: str) -> date:
    """A date, or one written YYYY-MM-DD, for ``field``."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(field, str(value), "a date written YYYY-MM-DD") from None


def parse_start(start: date | str | None, field: str = "start") -> date:
    """A start date: a date, or one written YYYY-MM-DD; today when ``None``."""
    if start is None:
        return date.today()
    day = read_date(start, field)
    if not EARLIEST <= day <= LATEST:
        raise InputError(
            field,
            day.isoformat(),
            f"a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}",
        )
    return day
