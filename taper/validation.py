"""check(): every way a plan departs from the label and the guidelines, with sources.

The checks run on a :class:`Timeline`, a plain account of what is taken and
when, so that plans made by taper and schedules made elsewhere (CSV, JSON)
are held to the same standard. ``check`` raises nothing: a schedule it cannot
read in full is itself a finding.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache, reduce
from itertools import pairwise

from .catalog import FORM_WORDS, Catalog, DoseRange, Drug, Product
from .dispensing import dispenser_for
from .doses import format_mg, format_number, format_percent, normalize
from .errors import FindingsRefused, InputError
from .rules import GUIDELINE_CAP, GUIDELINE_SOURCE, Rule, ideal_steps, largest_step_fall
from .schedule import Administration, Finding, Patient, Schedule, Stage, Switch
from .wording import option

# --- sources of the figures the checks use ---------------------------------

#: the pace the 2025 Joint Clinical Practice Guideline says should typically not be exceeded
PACE_WINDOW_DAYS = 14
PACE_SOURCE = GUIDELINE_SOURCE + ": generally not more than 25 % every 2 weeks"
#: the fastest typical pace in the same guideline's algorithm: 5 to 10 % every 2 to 4 weeks
TYPICAL_FASTEST = (Decimal("0.10"), 14)
TYPICAL_SOURCE = (
    "Joint Clinical Practice Guideline on Benzodiazepine Tapering, 2025, algorithm card: "
    "typical reductions of 5 to 10 % every 2 to 4 weeks"
)
#: use for 3 months or more at 4 or more days a week carries a risk of significant withdrawal
LONG_TERM_MONTHS = 3
LONG_TERM_SOURCE = "Joint Clinical Practice Guideline on Benzodiazepine Tapering, 2025, Table 2"
#: withdrawal after a reduction may take up to a week to appear
ASSESS_DAYS = 7
ASSESS_SOURCE = "ASAM Benzodiazepine Tapering Patient Guide, 2025: symptoms may take up to a week"
BEERS_SOURCE = (
    "American Geriatrics Society Beers Criteria (J Am Geriatr Soc, 2015 wording): avoid "
    "benzodiazepines in adults 65 and older; Joint Clinical Practice Guideline on "
    "Benzodiazepine Tapering, 2025: taper in most older adults"
)
#: a dose this many times the documented maximum, or below the smallest strength divided by
#: it, is taken for a unit slip
SLIP_FACTOR = 10


@dataclass(frozen=True)
class Code:
    """A finding code: its severity, whether a clinician may override it, and what it means."""

    severity: str
    overridable: bool
    meaning: str


CODES: dict[str, Code] = {
    "likely-unit-slip": Code(
        "error",
        False,
        "the starting dose is 10 or more times the documented maximum, or below a tenth of the "
        "smallest strength: a likely unit slip; refused even with an override",
    ),
    "dose-above-range": Code(
        "error",
        True,
        "the starting dose is above the documented daily maximum for the indication and "
        "population (without an indication, the widest adult range)",
    ),
    "unusual-division": Code(
        "warning", True, "the number of doses a day is not one of the label's usual divisions"
    ),
    "older-adult": Code(
        "warning",
        True,
        "the patient is 65 or older: the Beers Criteria advise avoiding benzodiazepines; the "
        "label's lower starting dose for older adults is shown where documented",
    ),
    "child-dose-above-usual": Code(
        "warning", True, "a child's dose in mg/kg/day is above the label's usual maintenance range"
    ),
    "child-no-range": Code(
        "warning",
        True,
        "the catalog documents no dose range for children for this drug and indication",
    ),
    "no-documented-range": Code(
        "info", True, "the catalog documents no maximum to check the starting dose against"
    ),
    "cut-above-cap": Code(
        "error",
        True,
        "a cut other than the final stop is larger than the plan's cap, and passes over a dose "
        "the products make",
    ),
    "forced-cut": Code(
        "warning",
        True,
        "a cut larger than the cap that the products force: no dose they make lies between the "
        "dose before it and the cap, so it goes to the next dose they make, with a longer step",
    ),
    "dose-rises": Code("error", True, "the daily dose rises from one step to the next"),
    "gap-or-overlap": Code(
        "error", True, "a step does not start the day after the previous one ends"
    ),
    "not-dispensable": Code(
        "error", True, "no combination of the allowed products makes a stated dose"
    ),
    "too-many-units": Code(
        "error", True, "a dose needs more tablets at one time than the limit per administration"
    ),
    "dose-mismatch": Code(
        "error", True, "a stated dose differs from the sum of its administrations or units"
    ),
    "pace-above-guideline": Code(
        "warning",
        True,
        "the dose falls by more than 25 % within 14 days, faster than the 2025 Joint Clinical "
        "Practice Guideline recommends (the final stop is counted when it falls inside)",
    ),
    "step-too-short": Code(
        "warning",
        True,
        "a step is shorter than a week (withdrawal after a cut may take that long to show) or "
        "than the drug's documented half-life",
    ),
    "final-dose-large": Code(
        "warning",
        True,
        "the plan stops from a dose above the smallest daily dose its products make (the "
        "terminal dose): from which dose, after how long, its diazepam equivalent, and what "
        "the clinician asked for (a final dose, the rule's last step, --at-low-doses stop)",
    ),
    "stop": Code(
        "info",
        True,
        "how the plan stops: from the smallest daily dose its products make, after how long at "
        "it, and that dose's diazepam equivalent across the tables",
    ),
    "longest-step": Code(
        "warning",
        True,
        "keeping the rule's pace after a steeper cut would need a step longer than taper's "
        "bound on a lengthened step (--longest-step, 84 days by default), so the step is held "
        "to the bound and the plan goes faster than the rule there",
    ),
    "per-dose-not-kept": Code(
        "warning",
        True,
        "the rule cuts each dose of the day by the same amount, and the products cannot make "
        "that at a step: the doses the step takes instead",
    ),
    "cut-order-not-kept": Code(
        "warning",
        True,
        "the rule's cut order (morning dose to zero first, or bedtime dose kept to the last) "
        "cannot be kept at these steps with the products",
    ),
    "alternatives": Code(
        "info",
        True,
        "a plan with forced cuts or an early stop: what would do better (a liquid, halving, a "
        "switch to diazepam), each planned in full, with its effect",
    ),
    "halving-off-licence": Code(
        "warning",
        True,
        "a tablet with a break line but no labelled functional score is halved, as the "
        "clinician allowed (--halve): an off-licence use",
    ),
    "table-rows-below-products": Code(
        "warning",
        True,
        "the last rows of a table of doses are below the smallest dose the products make: the "
        "plan stops after the last row they make",
    ),
    "table-row-made": Code(
        "info",
        True,
        "a row of a table of doses the products cannot make exactly: the step takes the largest "
        "dose not above it that they make",
    ),
    "end-by": Code(
        "info",
        True,
        "the rule ends by a date: the even cut of the current dose, at the rule's interval, "
        "that reaches the terminal dose by then, and the day of the last dose",
    ),
    "end-by-too-soon": Code(
        "error",
        True,
        "the end date can only be met faster than the guideline's bound (25 % within 14 days) "
        "or the rule's cap: the earliest date they allow; with an override the plan goes as "
        "fast as the date needs",
    ),
    "product-set": Code(
        "info",
        True,
        "where the clinician named no products, the plan dispenses the fewest of the drug's "
        "that go down to the same smallest dose with no more forced cuts than all of them: "
        "which, and what one product more would gain in keeping to the rule's doses",
    ),
    "mixed-forms": Code(
        "warning",
        True,
        "a dose mixes forms (a tablet swallowed with an ODT, say), as no single form among the "
        "plan's products makes it: the steps it happens at",
    ),
    "liquid-measure": Code(
        "info",
        True,
        "a liquid whose label gives no measuring device is measured with taper's default "
        "measure, a 1 mL oral syringe marked every 0.1 mL (--liquid-increment)",
    ),
    "short-for-long-term": Code(
        "warning",
        True,
        "for use of 3 months or more, the whole taper is shorter than the guideline's fastest "
        "typical pace (10 % every 2 weeks) would take to reach the final dose",
    ),
    "target-adjusted": Code(
        "info",
        True,
        "the products could not make the rule's ideal dose: requested and realised dose and cut, "
        "and any lengthening of the step to keep the rule's pace",
    ),
    "kept-dose-raised": Code(
        "warning",
        True,
        "with --cut-order morning-first or bedtime-last, the products cannot make a step's daily "
        "dose without raising a dose the cut order keeps (the day's total still falls)",
    ),
    "cut-capped": Code(
        "info", True, "the rule asked for a cut above the cap; the step aims at the cap"
    ),
    "rule-not-completed": Code(
        "warning",
        True,
        "the plan stops (the products make no smaller dose, or --at-low-doses stop) before the "
        "rule's final dose or one of its holds",
    ),
    "switch-equivalence": Code(
        "info",
        True,
        "a switch: the equivalent used, its table and source, and the range across tables",
    ),
    "switch-dose-dropped": Code(
        "warning",
        True,
        "a switch: one administration's equivalent is below the smallest dose of the new drug "
        "the products make, so that dose stops at its stage",
    ),
    "switch-equivalent-rises": Code(
        "error",
        True,
        "a switch: the day's equivalent total rises from one stage to the next",
    ),
    "switch-equivalent-falls": Code(
        "warning",
        True,
        "a switch: the new drug's products cannot make each dose's equivalent, so the day's "
        "equivalent falls during the switch (each fall also counts as a cut against the cap and "
        "the pace)",
    ),
    "replanned": Code(
        "info",
        True,
        "the plan was re-planned from a date: the steps before it kept, the rest new, with the "
        "reason",
    ),
    "reinstated": Code(
        "warning",
        True,
        "a re-plan goes back up to a higher dose, as the clinician stated (--reinstate)",
    ),
    "units-limit-raised": Code(
        "warning",
        True,
        "no limit per administration was given and the starting dose already needs more than "
        "4 pieces a dose, so the plan allows as many as it needs",
    ),
    "liquid-from-here": Code(
        "info",
        True,
        "with --at-low-doses liquid: from this step the tablets could not make a cut as small "
        "as the rule asks, or would force one, so the doses use the liquid as well",
    ),
    "products-from-here": Code(
        "info",
        True,
        "a plan in two sets of products: from this step the first set cannot make a cut close "
        "to the one the rule asks (or makes nothing smaller), so the doses use the second set "
        "in its place",
    ),
    "stopped-at-low-dose": Code(
        "warning",
        True,
        "with --at-low-doses stop: the products could not make a cut as small as the rule asks "
        "(or would force one), so the plan stops from the lowest dose they can taper from at "
        "the rule's pace",
    ),
    "no-start-dose": Code(
        "info",
        True,
        "a checked schedule gave no starting dose, so its first row is taken as the dose before "
        "the first cut",
    ),
    "not-as-written": Code(
        "warning",
        True,
        "a checked plan JSON that taper would not read back (a field changed, missing or out "
        "of range, named by its path): it is checked as a schedule made elsewhere, from its "
        "dates and doses, and a re-plan refuses it",
    ),
    "switch-checked-in-part": Code(
        "info",
        True,
        "a checked CSV holds a switch: its rows are checked for their dates and the course of "
        "the equivalent, not for each drug's units, which the plan's JSON carries",
    ),
}


# --- the account checks run on ---------------------------------------------


@dataclass(frozen=True)
class Period:
    """One dosing period as stated: what is taken each day from ``start`` for ``days`` days.

    ``shares`` are the doses per administration time where known; ``pieces`` the
    tablets taken at each; ``made`` what the listed units add up to per time.
    """

    number: int
    start: date
    days: int
    dose: Decimal
    shares: tuple[tuple[str, Decimal], ...] = ()
    pieces: tuple[int, ...] | None = None
    made: tuple[Decimal, ...] | None = None
    units_allowed: bool = True
    #: the first unit's product that is not allowed or is split too far, where known
    not_allowed: str = ""
    #: the forms a dose of the period mixes, in words (``tablet and ODT``), where one does
    mixed: str = ""

    @property
    def end(self) -> date:
        """The last day of the period."""
        return self.start + timedelta(days=self.days - 1)


#: the source of the rule that a taper's daily dose never rises
NEVER_RISES = "taper design: the realised daily dose never rises"


@dataclass(frozen=True)
class Terms:
    """How the checks name a timeline's periods and what they measure.

    A taper's steps by default; a switch's stages are checked by the same checks in the
    new drug's equivalent, and named in the message, not as a step.
    """

    #: "Step 3", "Steps 3 to 5"
    noun: str = "Step"
    #: what falls ("the dose falls from ...") and what rises ("the daily dose rises ...")
    dose: str = "dose"
    daily: str = "daily dose"
    #: the code of a rise, and its source
    rises: str = "dose-rises"
    rise_source: str = NEVER_RISES
    #: whether a finding names its period as its step (a stage has no step number)
    steps: bool = True


@dataclass(frozen=True)
class Timeline:
    """A schedule reduced to what the checks need, wherever it came from."""

    drug: Drug
    start_dose: Decimal
    doses_per_day: int
    periods: tuple[Period, ...]
    products: tuple[Product, ...]
    max_cut: Decimal = GUIDELINE_CAP
    max_units: int = 4
    region: str = "us"
    patient: Patient = field(default_factory=Patient)
    first_is_start: bool = False
    cap_source: str = GUIDELINE_SOURCE
    #: a re-plan: the period that starts the new part, the dose actually taken before it,
    #: and whether going back up there was the clinician's stated choice
    restart: tuple[int, Decimal, bool] | None = None
    #: the products the schedule takes (where known), for what only their use needs saying
    used: tuple[Product, ...] = ()
    #: what the clinician asked for that stops the plan early, in words (a final dose...)
    stop_asked: str = ""
    #: the rule's source, when the rule itself goes faster than the guideline's pace
    faster_rule: str = ""
    #: how the checks name the periods and their dose
    terms: Terms = field(default_factory=Terms)
    #: what follows the periods (a switch's taper): read for the doses after, not checked
    then: tuple[Period, ...] = ()

    @property
    def course(self) -> tuple[Period, ...]:
        """The periods and what follows them, in order."""
        return self.periods + self.then

    @property
    def stop_date(self) -> date:
        """The first day with no dose."""
        return self.periods[-1].end + timedelta(days=1)


def _not_allowed(administrations: Iterable[Administration], allowed: Container[Product]) -> str:
    """The name of the first unit's product not ``allowed`` or split further than it may be."""
    for admin in administrations:
        for unit in admin.units:
            if unit.product not in allowed or unit.count % unit.product.split != 0:
                return unit.product.name
    return ""


def _mixed(administrations: Iterable[Administration]) -> str:
    """The forms of the first dose that mixes ways of taking it, in words; ``""`` if none."""
    for admin in administrations:
        if len({u.product.taken for u in admin.units}) > 1:
            forms = (FORM_WORDS.get(u.product.form, u.product.form) for u in admin.units)
            return " and ".join(dict.fromkeys(forms))
    return ""


def timeline_of(schedule: Schedule, drug: Drug, cap_source: str = GUIDELINE_SOURCE) -> Timeline:
    """The account of a plan made by taper."""
    allowed = set(schedule.products)
    periods = []
    for step in schedule.steps:
        periods.append(
            Period(
                number=step.number,
                start=step.start,
                days=step.days,
                dose=step.dose,
                units_allowed=not _not_allowed(step.administrations, allowed),
                shares=tuple((a.time, a.dose) for a in step.administrations),
                pieces=tuple(sum(u.pieces for u in a.units) for a in step.administrations),
                made=tuple(
                    normalize(sum((u.dose for u in a.units), Decimal(0)))
                    for a in step.administrations
                ),
                not_allowed=_not_allowed(step.administrations, allowed),
                mixed=_mixed(step.administrations),
            )
        )
    rx = schedule.prescription
    restart = None
    if schedule.replan is not None:
        r = schedule.replan
        restart = (r.history + 1, r.current_dose, r.reinstate is not None)
    used: dict[str, Product] = {}
    for step in schedule.steps:
        for admin in step.administrations:
            for unit in admin.units:
                used.setdefault(unit.product.id, unit.product)
    return Timeline(
        drug=drug,
        start_dose=rx.start_dose,
        doses_per_day=rx.doses_per_day,
        periods=tuple(periods),
        products=schedule.products,
        max_cut=schedule.max_cut,
        max_units=schedule.max_units,
        region=rx.region,
        patient=rx.patient,
        cap_source=cap_source,
        restart=restart,
        used=tuple(used.values()),
        stop_asked=stop_asked(schedule),
        faster_rule=_faster_rule(schedule),
    )


#: whose final dose a rule's is, where the rule does not say
FINAL_NOTE = "the rule's final dose"


def stop_asked(schedule: Schedule) -> str:
    """What the clinician asked for that ends the plan where it ends, in words, if anything."""
    if any(f.code == "stopped-at-low-dose" for f in schedule.findings):
        return (
            "the clinician asked to stop where the products run out of small cuts "
            f"({option('at_low_doses', 'stop')})"
        )
    rule = schedule.rule
    if rule is None:
        return schedule.stated_stop_asked
    if not schedule.steps:
        return ""
    start = schedule.replan.start_dose if schedule.replan else schedule.prescription.start_dose
    final = rule.final_level(start)
    if final is not None and schedule.steps[-1].dose <= final:
        return f"{format_mg(final)}/day is {rule.final_note or FINAL_NOTE}"
    return ""


def _faster_rule(schedule: Schedule) -> str:
    """The rule's source, when the rule's own ideal doses fall faster than the guideline's pace."""
    rule = schedule.rule
    if rule is None or not schedule.steps:
        return ""
    if rule_is_faster(rule, schedule.prescription.start_dose, schedule.duration_days):
        return f"{rule.name}: {rule.source}" if rule.source else rule.name
    return ""


@lru_cache(maxsize=1024)
def rule_is_faster(rule: Rule, start: Decimal, days: int) -> bool:
    """Whether the rule's own doses fall by more than the guideline's 25 % in 14 days."""
    ideal = ideal_steps(rule, start, days)
    return largest_step_fall(start, ideal, PACE_WINDOW_DAYS) > GUIDELINE_CAP


# --- the prescription -------------------------------------------------------


def _population_word(population: str) -> str:
    return {"older-adult": "older adults", "child": "children"}.get(population, "adults")


def _indication_word(indication: str) -> str:
    return {"seizure": "seizure disorders", "any": "any indication"}.get(
        indication, indication.replace("-", " ")
    )


def documented_range(drug: Drug, patient: Patient, region: str) -> DoseRange | None:
    """The range the starting dose is held to.

    The stated indication's range for the patient's population (older adults fall back
    to the adult range where no older-adult maximum is documented); without an
    indication, the widest adult range. Ranges for the plan's region come first.
    """
    population = patient.population
    pools = [population, "adult"] if population == "older-adult" else [population]
    for pop in pools:
        found = [
            r
            for r in drug.ranges
            if r.population == pop
            and r.max_mg_per_day is not None
            and (patient.indication is None or r.indication == patient.indication)
            and r.fits_weight(patient.weight_kg)
        ]
        local = [r for r in found if region in r.regions] or found
        if local:
            if patient.weight_kg is None and any(
                r.above_weight_kg or r.max_weight_kg for r in local
            ):
                # ranges set by body weight, and no weight given: the lowest maximum
                return min(local, key=lambda r: r.max_mg_per_day or Decimal(0))
            return max(local, key=lambda r: r.max_mg_per_day or Decimal(0))
    return None


def _smallest_strength(drug: Drug) -> Decimal | None:
    strengths = [p.strength_mg * p.split for p in drug.products if p.strength_mg is not None]
    return min(strengths) if strengths else None


def unit_slip(drug: Drug, dose: Decimal) -> str | None:
    """Why ``dose`` looks like a unit slip, with a suggestion, or ``None``."""
    maxima = [r.max_mg_per_day for r in drug.ranges if r.max_mg_per_day is not None]
    smallest = _smallest_strength(drug)
    top = max(maxima) if maxima else None
    low = smallest / SLIP_FACTOR if smallest is not None else None

    def plausible(value: Decimal) -> bool:
        return (low is None or value >= low) and (top is None or value <= top)

    if top is not None and dose >= SLIP_FACTOR * top:
        guess = normalize(dose / 1000)
        why = (
            f"{format_mg(dose)}/day is {SLIP_FACTOR} or more times the largest documented "
            f"maximum for {drug.name} ({format_mg(top)}/day)"
        )
    elif low is not None and dose < low:
        guess = normalize(dose * 1000)
        why = (
            f"{format_mg(dose)}/day is below a tenth of the smallest {drug.name} dose a "
            f"product makes ({format_mg(smallest or Decimal(0))})"
        )
    else:
        return None
    hint = f"; did you mean {format_mg(guess)}?" if plausible(guess) else ""
    return f"{why}: a likely unit slip{hint}"


def check_prescription(
    drug: Drug,
    catalog: Catalog,
    dose: Decimal,
    doses_per_day: int,
    patient: Patient,
    region: str = "us",
) -> list[Finding]:
    """Findings about the starting dose, its division and the patient, before any plan."""
    findings: list[Finding] = []
    slip = unit_slip(drug, dose)
    if slip:
        return [
            finding(
                "likely-unit-slip",
                slip[0].upper() + slip[1:] + ("" if slip.endswith(("?", ".")) else "."),
                "the catalog's documented ranges and product strengths",
            )
        ]
    rng = documented_range(drug, patient, region)
    if rng is not None and rng.max_mg_per_day is not None and dose > rng.max_mg_per_day:
        findings.append(
            finding(
                "dose-above-range",
                f"The starting dose of {format_mg(dose)}/day is above the documented maximum of "
                f"{format_mg(rng.max_mg_per_day)}/day for {_indication_word(rng.indication)} in "
                f"{_population_word(rng.population)} "
                f"({', '.join(r.upper() for r in rng.regions)}).",
                catalog.cite(rng.source),
            )
        )
    elif rng is None:
        what = f" for {_indication_word(patient.indication)}" if patient.indication else ""
        findings.append(
            finding(
                "no-documented-range",
                f"The catalog documents no maximum daily dose of {drug.name}{what} in "
                f"{_population_word(patient.population)}, so the starting dose is not checked "
                f"against one.",
                catalog.path or "catalog",
            )
        )
    if doses_per_day not in drug.doses_per_day:
        usual = " or ".join(str(n) for n in drug.doses_per_day)
        findings.append(
            finding(
                "unusual-division",
                f"{doses_per_day} dose{'s' if doses_per_day > 1 else ''} a day is not among the "
                f"label's usual divisions for {drug.name} ({usual} a day).",
                catalog.cite(drug.doses_per_day_source),
            )
        )
    findings += _age_findings(drug, catalog, dose, patient, region)
    return findings


def _age_findings(
    drug: Drug, catalog: Catalog, dose: Decimal, patient: Patient, region: str
) -> list[Finding]:
    population = patient.population
    if population == "older-adult":
        lower = [
            r
            for r in drug.ranges
            if r.population == "older-adult"
            and r.start_mg_per_day is not None
            and (patient.indication is None or r.indication in (patient.indication, "any"))
        ]
        lower = [r for r in lower if region in r.regions] or lower
        extra, source = "", BEERS_SOURCE
        if lower:
            first = min(lower, key=lambda r: r.start_mg_per_day or Decimal(0))
            assert first.start_mg_per_day is not None
            extra = (
                f"; the label's starting dose for older adults is "
                f"{format_mg(first.start_mg_per_day)}/day, against "
                f"{format_mg(dose)}/day here"
            )
            source = f"{BEERS_SOURCE}; {catalog.cite(first.source)}"
        return [
            finding(
                "older-adult",
                f"The patient is {patient.age}: the Beers Criteria advise avoiding benzodiazepines "
                f"(cognitive impairment, delirium, falls, fractures){extra}.",
                source,
            )
        ]
    if population != "child":
        return []
    ranges = [
        r
        for r in drug.ranges
        if r.population == "child"
        and (patient.indication is None or r.indication == patient.indication)
    ]
    with_kg = [r for r in ranges if r.usual_max_mg_per_kg_per_day is not None]
    if ranges and not with_kg:
        return []  # ranges in mg/day only: the range check above has used them
    if not with_kg:
        what = f" for {_indication_word(patient.indication)}" if patient.indication else ""
        return [
            finding(
                "child-no-range",
                f"The catalog documents no dose range for children taking {drug.name}{what}; the "
                f"plan is checked against adult figures only.",
                catalog.path or "catalog",
            )
        ]
    if patient.weight_kg is None:
        return []
    rng = with_kg[0]
    assert rng.usual_max_mg_per_kg_per_day is not None
    per_kg = dose / patient.weight_kg
    if per_kg <= rng.usual_max_mg_per_kg_per_day:
        return []
    return [
        finding(
            "child-dose-above-usual",
            f"{format_mg(dose)}/day for {format_number(patient.weight_kg)} kg is "
            f"{format_number(per_kg.quantize(Decimal('0.001')))} mg/kg/day, "
            f"above the label's usual "
            f"maintenance of {format_number(rng.usual_min_mg_per_kg_per_day or Decimal(0))} to "
            f"{format_number(rng.usual_max_mg_per_kg_per_day)} mg/kg/day for children "
            f"({_indication_word(rng.indication)}).",
            catalog.cite(rng.source),
        )
    ]


# --- the plan ----------------------------------------------------------------


def step_runs(numbers: Sequence[int]) -> list[list[int]]:
    """Step numbers (ascending) in runs of consecutive steps."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def _steps_word(run: Sequence[int], noun: str = "Step") -> str:
    return f"{noun} {run[0]}" if len(run) == 1 else f"{noun}s {run[0]} to {run[-1]}"


def _at(tl: Timeline, number: int, code: str, message: str, source: str) -> Finding:
    """A finding of period ``number``: its step, or, for a stage, its name in the message."""
    if tl.terms.steps:
        return finding(code, message, source, number)
    return finding(code, f"{tl.terms.noun} {number}: {message[0].lower()}{message[1:]}", source)


def check_timeline(tl: Timeline, catalog: Catalog | None = None) -> list[Finding]:
    """Findings about the course of a schedule: cuts, pace, steps, doses and duration."""
    findings: list[Finding] = []
    findings += _continuity(tl)
    findings += _cuts(tl)
    findings += _dispensing(tl)
    findings += _mixed_forms(tl)
    findings += _pace(tl)
    findings += _short_steps(tl, catalog)
    findings += _stop(tl, catalog)
    findings += _products_used(tl, catalog)
    findings += _duration(tl)
    return findings


def _continuity(tl: Timeline) -> list[Finding]:
    """Each period starts the day after the one before ends (what follows included)."""
    out = []
    # the pairs of periods, and the last with the first of what follows
    for i, (before, after) in enumerate(pairwise(tl.course[: len(tl.periods) + 1])):
        expected = before.end + timedelta(days=1)
        if after.start != expected:
            kind = "a gap" if after.start > expected else "an overlap"
            follows = i + 1 >= len(tl.periods)  # what follows: a step of the taper
            noun = "Step" if follows else tl.terms.noun
            out.append(
                finding(
                    "gap-or-overlap",
                    f"{tl.terms.noun} {before.number} ends {before.end.isoformat()}, but "
                    f"{noun.lower()} {after.number} starts {after.start.isoformat()}: {kind} of "
                    f"{abs((after.start - expected).days)} day(s).",
                    "taper plan contract: steps are contiguous",
                    after.number if tl.terms.steps or follows else None,
                )
            )
    return out


def _cuts(tl: Timeline) -> list[Finding]:
    out = []
    previous = tl.start_dose
    for i, period in enumerate(tl.periods):
        if i == 0 and tl.first_is_start:
            previous = period.dose
            continue
        if tl.restart is not None and period.number == tl.restart[0]:
            previous = tl.restart[1]  # the dose actually taken when the plan changed
            if tl.restart[2]:  # going back up was the clinician's stated choice
                previous = period.dose
        if period.dose > previous:
            out.append(
                _at(
                    tl,
                    period.number,
                    tl.terms.rises,
                    f"The {tl.terms.daily} rises from {format_mg(previous)} to "
                    f"{format_mg(period.dose)}.",
                    tl.terms.rise_source,
                )
            )
        elif previous > 0:
            cut = (previous - period.dose) / previous
            if cut > tl.max_cut:
                out.append(_above_cap(tl, period, previous, cut))
        previous = period.dose
    return out


def made_daily(tl: Timeline) -> list[Decimal] | None:
    """Every daily dose the timeline's products make at its doses a day (``None``: unknown)."""
    return daily_made(tl.products, tl.max_units, tl.doses_per_day)


def daily_made(products: Sequence[Product], max_units: int, n: int) -> list[Decimal] | None:
    """Every daily dose ``products`` make in ``n`` doses a day (``None``: no usable product)."""
    usable = tuple(p for p in products if p.usable)
    if not usable:
        return None
    return dispenser_for(usable, max_units).daily_doses(n)


def forced_steps(schedule: Schedule) -> list[int]:
    """The steps whose cut into them the products force (above the cap, nothing between)."""
    made = daily_made(schedule.products, schedule.max_units, schedule.prescription.doses_per_day)
    if made is None:
        return []
    return [
        s.number
        for s in schedule.steps
        if s.previous_dose > s.dose and forced_cut(s.previous_dose, s.dose, schedule.max_cut, made)
    ]


def forced_cut(previous: Decimal, dose: Decimal, cap: Decimal, made: Sequence[Decimal]) -> bool:
    """Whether a cut from ``previous`` to ``dose`` above ``cap`` is one the products force:
    they make no dose between the two, so ``dose`` is the next one they make."""
    cut = (previous - dose) / previous
    return cut > cap and not any(dose < v < previous for v in made)


def _above_cap(tl: Timeline, period: Period, previous: Decimal, cut: Decimal) -> Finding:
    made = made_daily(tl)
    fall = (
        f"The {tl.terms.dose} falls from {format_mg(previous)} to {format_mg(period.dose)}/day, "
        f"a cut of {format_percent(cut)} %"
    )
    if made is not None and forced_cut(previous, period.dose, tl.max_cut, made):
        floor = normalize((previous * (1 - tl.max_cut)).quantize(Decimal("0.0001")))
        return _at(
            tl,
            period.number,
            "forced-cut",
            f"{fall}, above the cap of {format_percent(tl.max_cut)} %: the products make no dose "
            f"between {format_mg(previous)}/day and the cap ({format_mg(floor)}/day), so "
            f"{format_mg(period.dose)}/day is the next dose they make; the plan stays at it for "
            f"{period.days} days.",
            tl.cap_source,
        )
    between = [v for v in made or () if period.dose < v < previous]
    skipped = f"; the products make {format_mg(between[-1])}/day between the two" if between else ""
    return _at(
        tl,
        period.number,
        "cut-above-cap",
        f"{fall}, above the cap of {format_percent(tl.max_cut)} %{skipped}.",
        tl.cap_source,
    )


def min_pieces(dose: Decimal, products: Sequence[Product]) -> int | None:
    """The fewest pieces that make ``dose`` exactly, with no limit; ``None`` if none can."""
    pieces = []
    for p in products:
        if not p.usable or p.strength_mg is None:
            continue
        pieces.append((p.strength_mg, 1))  # a whole tablet, any number of them
        for k in range(1, int(1 / p.split)):  # a half, or one to three quarters
            pieces.append((p.strength_mg * p.split * k, 0))  # one part-tablet, once per product
    if not pieces or dose <= 0:
        return None if dose > 0 else 0
    quantum = reduce(_gcd, (v for v, _ in pieces))
    target = int(dose / quantum) if (dose / quantum) == int(dose / quantum) else None
    if target is None or target > 200_000:
        return None
    whole = sorted({int(v / quantum) for v, again in pieces if again})
    parts = [int(v / quantum) for v, again in pieces if not again]
    inf = math.inf
    best = [inf] * (target + 1)
    best[0] = 0
    for amount in range(1, target + 1):
        for w in whole:
            if w <= amount and best[amount - w] + 1 < best[amount]:
                best[amount] = best[amount - w] + 1
    result = best[target]
    # at most one part-tablet per product: try each subset of part-pieces of size <= products
    for used in _part_sums(parts, len(products)):
        value, count = used
        if value <= target and best[target - value] + count < result:
            result = best[target - value] + count
    return None if result == inf else int(result)


def _part_sums(parts: Sequence[int], limit: int) -> Iterable[tuple[int, int]]:
    sums = {(0, 0)}
    for part in parts:
        sums |= {(v + part, c + 1) for v, c in sums if c < limit}
    return sums - {(0, 0)}


def _gcd(a: Decimal, b: Decimal) -> Decimal:
    while b:
        a, b = b, a % b
    return a


def _dispensing(tl: Timeline) -> list[Finding]:
    """Each period's units: what they make, that they are allowed, the pieces at one time."""
    out: list[Finding] = []
    products = [p for p in tl.products if p.usable]
    names = ", ".join(p.name for p in products)
    for period in tl.periods:
        stated = [d for _, d in period.shares]
        if period.shares and (
            sum(stated) != period.dose or (period.made is not None and list(period.made) != stated)
        ):
            made = (
                ""
                if period.made is None
                else (f" and its units {' + '.join(format_mg(m) for m in period.made)}")
            )
            out.append(
                _at(
                    tl,
                    period.number,
                    "dose-mismatch",
                    f"The step states {format_mg(period.dose)}/day but its administrations are "
                    f"{' + '.join(format_mg(d) for d in stated)}{made}.",
                    "taper plan contract: one truth",
                )
            )
            continue
        if not period.units_allowed:
            out.append(_disallowed(tl, period, names))
            continue
        if period.pieces is not None:
            over = [n for n in period.pieces if n > tl.max_units]
            if over:
                out.append(_too_many(tl, period, max(over)))
            continue
        if products:
            out += _undispensable(tl, period, products)
    return out


def _mixed_forms(tl: Timeline) -> list[Finding]:
    """The runs of steps whose doses mix forms, one finding a run."""
    mixed = {p.number: p.mixed for p in tl.periods if p.mixed}
    out = []
    for run in step_runs(sorted(mixed)):
        forms = " or ".join(dict.fromkeys(mixed[n] for n in run))
        out.append(
            finding(
                "mixed-forms",
                f"{_steps_word(run, tl.terms.noun)}: a dose mixes {forms}, as no single form "
                f"among the plan's products makes it; tell the patient how each piece is taken.",
                "taper: one form per dose, where the products make it",
                run[0] if tl.terms.steps else None,
            )
        )
    return out


def _disallowed(tl: Timeline, period: Period, names: str) -> Finding:
    noun = tl.terms.noun.split()[-1].lower()
    allowed = f" (allowed: {names})" if names else ""
    if period.not_allowed:
        what = (
            f"The {noun} lists {period.not_allowed}, which is not an allowed product or is split "
            f"further than it may be split{allowed}."
        )
    else:
        what = (
            f"The {noun} lists a product that is not allowed, or splits one further than it may "
            f"be split{allowed}."
        )
    return _at(tl, period.number, "not-dispensable", what, "the catalog's products")


def _undispensable(tl: Timeline, period: Period, products: Sequence[Product]) -> list[Finding]:
    """A period stated by its doses alone: the doses no product makes, or not within the limit."""
    out = []
    dispenser = dispenser_for(tuple(products), tl.max_units)
    names = ", ".join(p.name for p in products)
    doses = [d for _, d in period.shares] or [period.dose]
    if period.shares:
        missing = [d for d in doses if d > 0 and d not in dispenser.best]
    else:
        missing = [] if period.dose in dispenser.daily_doses(tl.doses_per_day) else [period.dose]
    worst = 0
    for d in missing:
        needed = min_pieces(d, products)
        if needed is None:
            out.append(
                _at(
                    tl,
                    period.number,
                    "not-dispensable",
                    f"No combination of {names} makes {format_mg(d)}"
                    f"{'' if period.shares else '/day'}.",
                    "the catalog's products",
                )
            )
        else:
            per_time = needed if period.shares else math.ceil(needed / tl.doses_per_day)
            worst = max(worst, per_time)
    if worst:
        out.append(_too_many(tl, period, worst))
    return out


def units_limit_source() -> str:
    """The source of the limit on the pieces taken at one time."""
    return f"taper: the clinician's limit per administration ({option('max_units')})"


def _too_many(tl: Timeline, period: Period, pieces: int) -> Finding:
    return _at(
        tl,
        period.number,
        "too-many-units",
        f"A dose needs {pieces} tablets or pieces at one time, more than the limit of "
        f"{tl.max_units}.",
        units_limit_source(),
    )


def _dose_on(tl: Timeline) -> Callable[[date], Decimal]:
    course = tl.course
    starts = [p.start for p in course]
    ends = [p.end for p in course]
    contiguous = all(b == a + timedelta(days=1) for a, b in zip(ends, starts[1:], strict=False))

    def dose_on(day: date) -> Decimal:
        if day < course[0].start:
            return tl.start_dose if not tl.first_is_start else course[0].dose
        if contiguous:  # the usual case: find the period by its start
            i = bisect_right(starts, day) - 1
            return course[i].dose if day <= ends[i] else Decimal(0)
        for period, end in zip(course, ends, strict=True):
            if period.start <= day <= end:
                return period.dose
        return Decimal(0)

    return dose_on


def _pace(tl: Timeline) -> list[Finding]:
    dose_on = _dose_on(tl)
    worst: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
    for i, period in enumerate(tl.periods):
        if i == 0 and tl.first_is_start:
            continue
        before = dose_on(period.start - timedelta(days=1))
        if period.dose >= before:
            continue  # the window starts at a cut
        after = dose_on(period.start + timedelta(days=PACE_WINDOW_DAYS - 1))
        if before > 0 and (before - after) / before > GUIDELINE_CAP:
            worst[period.number] = ((before - after) / before, before, after)
    out = []
    for run in step_runs(sorted(worst)):
        top = max(run, key=lambda n: worst[n][0])
        fall, before, after = worst[top]
        faster = (
            f"; the rule itself goes faster than the guideline ({tl.faster_rule.split(':')[0]})"
            if tl.faster_rule
            else ""
        )
        out.append(
            finding(
                "pace-above-guideline",
                f"{_steps_word(run, tl.terms.noun)}: the {tl.terms.dose} falls by more than 25 % "
                f"within 14 days (at most {format_percent(fall)} %, from {format_mg(before)} to "
                f"{format_mg(after)}/day){faster}.",
                f"{PACE_SOURCE}; the rule: {tl.faster_rule}" if tl.faster_rule else PACE_SOURCE,
                run[0] if tl.terms.steps else None,
            )
        )
    return out


def _short_steps(tl: Timeline, catalog: Catalog | None) -> list[Finding]:
    longest = tl.drug.longest_half_life_hours
    limit_days = ASSESS_DAYS
    if longest is not None:
        limit_days = max(limit_days, math.ceil(longest / 24))
    short = [p.number for p in tl.periods if p.days < limit_days]
    if not short:
        return []
    source = ASSESS_SOURCE
    half = ""
    if longest is not None:
        half = f"; {tl.drug.name}'s half-life is {tl.drug.describe_half_life()}"
        if catalog is not None and tl.drug.half_life_source in catalog.sources:
            source += f"; {catalog.cite(tl.drug.half_life_source)}"
    out = []
    for run in step_runs(short):
        days = sorted({p.days for p in tl.periods if p.number in run})
        out.append(
            finding(
                "step-too-short",
                f"{_steps_word(run)} last{'s' if len(run) == 1 else ''} "
                f"{' or '.join(str(d) for d in days)} days, shorter than {limit_days} days: "
                f"withdrawal after a cut may take up to a week to show{half}.",
                source,
                run[0],
            )
        )
    return out


def diazepam_range(
    drug: str, mg: Decimal, catalog: Catalog | None = None
) -> tuple[Decimal, Decimal, int] | None:
    """``mg`` of ``drug`` as diazepam: the lowest and highest across the tables, and how many
    tables list it; ``None`` where no table does."""
    from .catalog import load_catalog

    if drug == "diazepam":
        return (mg, mg, 0)
    if catalog is None or catalog is load_catalog():
        return _builtin_range(drug, mg)  # the built-in catalog's tables never change
    return _range_in(drug, mg, catalog)


@lru_cache(maxsize=1024)
def _builtin_range(drug: str, mg: Decimal) -> tuple[Decimal, Decimal, int] | None:
    from .catalog import load_catalog

    return _range_in(drug, mg, load_catalog())


def _range_in(drug: str, mg: Decimal, catalog: Catalog) -> tuple[Decimal, Decimal, int] | None:
    from .equivalence import convert
    from .errors import UnknownNameError

    try:
        conversion = convert(mg, drug, "diazepam", catalog=catalog)
    except UnknownNameError:
        return None
    low, high = conversion.spread
    return (low, high, len(conversion.across))


def diazepam_equivalent(drug: str, mg: Decimal, catalog: Catalog | None = None) -> str:
    """``mg`` of ``drug`` as diazepam, the range across the equivalence tables, in words."""
    found = diazepam_range(drug, mg, catalog)
    if found is None:
        return "no equivalence table gives its diazepam equivalent"
    low, high, tables = found
    if not tables:
        return f"{format_mg(mg)} of diazepam itself"
    amount = format_mg(low) if low == high else f"{format_number(low)} to {format_mg(high)}"
    return f"about {amount} of diazepam across {tables} table{'s' if tables > 1 else ''}"


def terminal_dose(products: Sequence[Product], max_units: int) -> Decimal | None:
    """The smallest daily dose the products make (at one administration of a day)."""
    usable = tuple(p for p in products if p.usable)
    return dispenser_for(usable, max_units).smallest if usable else None


@dataclass(frozen=True)
class Stop:
    """How a schedule stops: from which dose, after how long at it, against the terminal dose."""

    from_mg: Decimal
    after_days: int
    terminal_mg: Decimal | None
    asked: str
    equivalent: str

    @property
    def above_terminal(self) -> bool:
        """Whether the plan stops above the smallest daily dose its products make."""
        return self.terminal_mg is not None and self.from_mg > self.terminal_mg


def stop_of(schedule: Schedule, catalog: Catalog | None = None) -> Stop:
    """How ``schedule`` stops (the chart, the PDF and the JSON say it as the checks do)."""
    last = schedule.steps[-1]
    return Stop(
        last.dose,
        last.days,
        terminal_dose(schedule.products, schedule.max_units),
        stop_asked(schedule),
        diazepam_equivalent(schedule.prescription.drug, last.dose, catalog),
    )


def _stop(tl: Timeline, catalog: Catalog | None) -> list[Finding]:
    """How the plan stops: from the terminal dose (a note), or above it (a warning)."""
    last = tl.periods[-1]
    terminal = terminal_dose(tl.products, tl.max_units)
    equivalent = diazepam_equivalent(tl.drug.name, last.dose, catalog)
    stop = (
        f"The plan stops from {format_mg(last.dose)}/day after {last.days} days at it "
        f"({equivalent})"
    )
    source = "taper plan contract: a plan goes down to the smallest dose its products make"
    if terminal is None or last.dose <= terminal:
        what = "" if terminal is None else ", the smallest daily dose its products make"
        return [finding("stop", f"{stop}{what}.", source, last.number)]
    asked = f"; {tl.stop_asked}" if tl.stop_asked else ""
    return [
        finding(
            "final-dose-large",
            f"{stop}, above the smallest daily dose its products make "
            f"({format_mg(terminal)}/day){asked}.",
            source,
            last.number,
        )
    ]


def _products_used(tl: Timeline, catalog: Catalog | None) -> list[Finding]:
    """What the use of a product needs saying: an off-licence halving, taper's own measure."""
    out = []
    for product in tl.used:
        cite = product.source
        if catalog is not None and product.source in catalog.sources:
            cite = catalog.cite(product.source)
        if product.halved_off_licence:
            if catalog is not None and product.break_line_source in catalog.sources:
                cite = catalog.cite(product.break_line_source)
            scoring = ""
            if catalog is not None and "S20" in catalog.sources:
                scoring = f"; {catalog.cite('S20')}"
            out.append(
                finding(
                    "halving-off-licence",
                    f"The {product.name} is halved along its break line, as the clinician "
                    f"allowed ({option('halve')}): it has no labelled functional score, so "
                    f"halving it is "
                    f"off-licence; tell the patient how to break it and check the halves.",
                    f"{cite}{scoring}",
                )
            )
        if product.is_liquid and product.default_measure:
            out.append(
                finding(
                    "liquid-measure",
                    f"The {product.name} is measured with {product.measure}: its label's "
                    f"measuring device is not in the catalog, so this measure is taper's own "
                    f"assumption ({option('liquid_increment')} changes the marks); supply that "
                    f"syringe with it.",
                    f"taper's default liquid measure; {cite}",
                )
            )
    return out


def _duration(tl: Timeline) -> list[Finding]:
    months = tl.patient.use_months
    if months is not None and months < LONG_TERM_MONTHS:
        return []
    first = tl.periods[0]
    start = first.dose if tl.first_is_start else tl.start_dose
    final = tl.periods[-1].dose
    if final >= start:
        return []
    fraction, every = TYPICAL_FASTEST
    needed = math.ceil(every * math.log(final / start) / math.log(1 - fraction))
    actual = sum(p.days for p in tl.periods)
    if actual >= needed:
        return []
    who = f"after {months} months of use" if months is not None else "for use of 3 months or more"
    return [
        finding(
            "short-for-long-term",
            f"The taper lasts {actual} days; {who}, even the guideline's fastest typical pace "
            f"(10 % every 14 days) takes about {needed} days from {format_mg(start)} to "
            f"{format_mg(final)}/day.",
            f"{TYPICAL_SOURCE}; {LONG_TERM_SOURCE}",
        )
    ]


# --- overrides and the public entry point ------------------------------------

PLANNER_CODES = (
    "product-set",
    "end-by",
    "end-by-too-soon",
    "table-row-made",
    "table-rows-below-products",
    "target-adjusted",
    "longest-step",
    "per-dose-not-kept",
    "cut-order-not-kept",
    "alternatives",
    "kept-dose-raised",
    "cut-capped",
    "units-limit-raised",
    "liquid-from-here",
    "products-from-here",
    "stopped-at-low-dose",
    "rule-not-completed",
    "switch-equivalence",
    "switch-dose-dropped",
    "replanned",
    "reinstated",
)


def parse_overrides(items: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    """The codes a clinician accepts, each with its reason: a mapping of code to reason, or
    ``CODE=reason`` pairs; each code must be one a clinician may override, with a reason."""
    out: dict[str, str] = {}
    allowed = sorted(c for c, info in CODES.items() if info.overridable)
    if isinstance(items, Mapping):
        pairs = [(str(code), str(reason), f"{code}={reason}") for code, reason in items.items()]
    else:
        pairs = []
        for item in items or ():
            code, sep, reason = str(item).partition("=")
            pairs.append((code, reason if sep else "", str(item)))
    for code, reason, item in pairs:
        code, reason = code.strip(), reason.strip().strip('"').strip()
        if not reason:
            raise InputError(
                "overrides",
                item,
                'give CODE="reason", such as dose-above-range="transferred from inpatient care"',
            )
        if code not in CODES:
            raise InputError("overrides", code, f"codes: {', '.join(allowed)}")
        if not CODES[code].overridable:
            raise InputError("overrides", code, "this finding cannot be overridden")
        out[code] = reason
    return out


def finding(
    code: str, message: str, source: str = "", step: int | None = None, override: str = ""
) -> Finding:
    """A finding of ``code``, with the severity its entry in :data:`CODES` gives."""
    return Finding(CODES[code].severity, code, message, source, step, override)


def refuse_errors(findings: Sequence[Finding]) -> None:
    """Refuse the plan at its first error that is not overridden, naming how many follow."""
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


def apply_overrides(findings: Iterable[Finding], overrides: Mapping[str, str]) -> list[Finding]:
    """Findings with the clinician's reasons attached to the codes they override."""
    return [
        replace(f, override=overrides[f.code])
        if f.code in overrides and f.code in CODES and CODES[f.code].overridable
        else f
        for f in findings
    ]


def check_switch(switch: Switch, catalog: Catalog, tl: Timeline) -> list[Finding]:
    """A switch's own checks, before the taper ``tl`` that follows it.

    The first drug against its documented range, and each drug's dose in the stages against
    its own; then the stages by the checks of a taper's steps, in the new drug's equivalent
    (:func:`switch_course`); and each stated equivalent what the stage's doses add up to.
    Findings name the stage in their message.
    """
    source = catalog.drug(switch.from_drug)
    found = [
        f
        for f in check_prescription(
            source,
            catalog,
            switch.from_dose,
            len(switch.times),
            replace(tl.patient, indication=switch.indication),
            tl.region,
        )
        if f.code not in ("no-documented-range", "older-adult")
    ]
    allowed = {
        drug: [p for p in catalog.drug(drug).products_in(tl.region) if p.usable]
        for drug in (switch.from_drug, switch.to_drug)
    }
    allowed[switch.to_drug] += [p for p in tl.products if p not in allowed[switch.to_drug]]
    for drug_name in (switch.from_drug, switch.to_drug):
        drug = catalog.drug(drug_name)
        patient = (
            replace(tl.patient, indication=switch.indication) if drug is source else tl.patient
        )
        rng = documented_range(drug, patient, tl.region)
        if rng is None or rng.max_mg_per_day is None:
            continue
        over = [s for s in switch.stages if s.dose_of(drug_name) > rng.max_mg_per_day]
        if over:
            found.append(
                finding(
                    "dose-above-range",
                    f"{STAGE} {over[0].number}: {format_mg(over[0].dose_of(drug_name))}/day "
                    f"of {drug_name} is above its documented maximum of "
                    f"{format_mg(rng.max_mg_per_day)}/day for {_indication_word(rng.indication)} "
                    f"in {_population_word(rng.population)}.",
                    catalog.cite(rng.source),
                )
            )
    return found + switch_course(switch, tl, allowed)


#: how a switch's stages are named
STAGE = "Switch stage"


def stage_timeline(
    switch: Switch, tl: Timeline, allowed: Mapping[str, Sequence[Product]] | None = None
) -> Timeline:
    """A switch's stages as a timeline in the new drug's equivalent, followed by the taper ``tl``.

    ``allowed``: the products of each drug a stage's units may be (``None``: not checked).
    """

    def period(stage: Stage) -> Period:
        wrong = ""
        if allowed is not None:
            every = [p for products in allowed.values() for p in products]
            wrong = _not_allowed(stage.administrations, every)
        return Period(
            stage.number,
            stage.start,
            stage.days,
            stage.equivalent,
            pieces=tuple(sum(u.pieces for u in a.units) for a in stage.administrations),
            units_allowed=not wrong,
            not_allowed=wrong,
        )

    equivalent = f"day's {switch.to_drug} equivalent"
    return Timeline(
        drug=tl.drug,
        start_dose=switch.start_equivalent,
        doses_per_day=max(len(switch.times), 1),
        periods=tuple(period(s) for s in switch.stages),
        products=(),  # two drugs' products: no dose in the equivalent is "made" by them
        max_cut=tl.max_cut,
        max_units=switch.max_units,
        region=tl.region,
        patient=tl.patient,
        cap_source=tl.cap_source,
        terms=Terms(
            noun=STAGE,
            dose=equivalent,
            daily=equivalent,
            rises="switch-equivalent-rises",
            rise_source=switch.source,
            steps=False,
        ),
        then=tl.periods,
    )


def switch_course(
    switch: Switch, tl: Timeline, allowed: Mapping[str, Sequence[Product]] | None = None
) -> list[Finding]:
    """A switch's stages, held to the checks of a taper's steps in the new drug's equivalent.

    Contiguous and ending the day before the taper ``tl``; each unit an ``allowed`` product
    (where given), split as it may be, and within the limit of pieces at one time; each stated
    equivalent what the stage's doses make; the equivalent never rising, never cut by more than
    the cap, nor faster than the guideline's pace; and what the switch as a whole loses.
    """
    stages = stage_timeline(switch, tl, allowed)
    out = _continuity(stages) + _dispensing(stages)
    out += [f for stage in switch.stages if (f := _stage_mismatch(switch, stage))]
    out += _cuts(stages) + _pace(stages)
    last = switch.stages[-1].equivalent if switch.stages else switch.start_equivalent
    if last < switch.start_equivalent:
        fall = (switch.start_equivalent - last) / switch.start_equivalent
        out.append(
            finding(
                "switch-equivalent-falls",
                f"The switch lowers the day's {switch.to_drug} equivalent from "
                f"{format_mg(switch.start_equivalent)} to {format_mg(last)} "
                f"({format_percent(fall)} %): the {switch.to_drug} products cannot make each "
                f"dose's equivalent, so each is made as the largest dose below it. The fall is a "
                f"cut the patient takes during the switch.",
                switch.source,
            )
        )
    return out


def _stage_mismatch(switch: Switch, stage: Stage) -> Finding | None:
    """A stage whose stated equivalent is not what its doses of the two drugs make (where its
    doses are known: a CSV's rows state the equivalent alone)."""
    if not stage.administrations:
        return None
    made = switch.equivalent_of(stage.dose_of(switch.from_drug), stage.dose_of(switch.to_drug))
    if made == stage.equivalent:
        return None
    return finding(
        "dose-mismatch",
        f"{STAGE} {stage.number} states a {switch.to_drug} equivalent of "
        f"{format_mg(stage.equivalent)}/day but its doses "
        f"({format_mg(stage.dose_of(switch.from_drug))} {switch.from_drug}, "
        f"{format_mg(stage.dose_of(switch.to_drug))} {switch.to_drug}) make {format_mg(made)}.",
        "taper plan contract: one truth",
    )


def check(
    schedule: Schedule,
    *,
    catalog: Catalog | None = None,
    overrides: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Every way ``schedule`` departs from the documented ranges and guideline limits.

    The checks every plan is made under; :func:`taper.check` is the way in for a plan or a
    file (it calls this for a :class:`~taper.schedule.Schedule`).

    Parameters
    ----------
    schedule
        A plan made by :func:`taper.plan` (or read back by :func:`taper.read_plan`).
    catalog
        The catalog the drug comes from (the built-in one by default).
    overrides
        Codes the clinician accepts, with the reason for each.

    Returns
    -------
    list of Finding
        Errors first, then warnings, then information.

    Raises
    ------
    UnknownNameError
        When the schedule's drug is not in the catalog.

    Examples
    --------
    >>> from taper import plan
    >>> s = plan("clonazepam", "1 mg", rule="fda-label-clonazepam", start="2027-01-04")
    >>> sorted({f.code for f in check(s)})  # doctest: +NORMALIZE_WHITESPACE
    ['alternatives', 'final-dose-large', 'pace-above-guideline', 'product-set',
     'short-for-long-term', 'step-too-short']
    """
    from .catalog import load_catalog

    cat = catalog or load_catalog()
    drug = cat.drug(schedule.prescription.drug)
    rx = schedule.prescription
    found = check_prescription(drug, cat, rx.start_dose, rx.doses_per_day, rx.patient, rx.region)
    timeline = timeline_of(schedule, drug, schedule.cap_source)
    found += check_timeline(timeline, cat)
    found += [f for f in schedule.findings if f.code in PLANNER_CODES]
    if schedule.switch is not None:
        found += check_switch(schedule.switch, cat, timeline)
    accepted = dict(schedule.overrides)
    accepted.update(overrides or {})
    return sorted(apply_overrides(found, accepted), key=Finding.sort_key)
