"""The walk down: a resolved request in, a dispensable Schedule of one drug out.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from itertools import combinations, pairwise
from typing import Any

from .catalog import TIMES, Product
from .dispensing import Composition, Dispenser, dispenser_for, with_liquid
from .doses import ceil_int, format_mg, format_percent, normalize
from .errors import InputError, PlanRefused
from .request import PlanRequest
from .rules import Proposal, Rule, cap_source
from .schedule import Administration, Finding, Prescription, Schedule, Step
from .validation import check, finding, forced_cut, refuse_errors, step_runs
from .wording import option, words

#: the longest plan taper makes (20 years): a bound of sense, not a clinical figure, that keeps
#: every date a plan prints a real one
MAX_PLAN_DAYS = 7305

#: the products have "run out of small cuts" (--at-low-doses liquid|stop) when they force a
#: cut (nothing lies between the dose and the cap), or when the smallest cut they make is
#: more than this many times the cut the rule asks for; below it, stretching the step by
#: less than half keeps the pace. taper's own bound, not a figure from a source.
RUN_OUT_FACTOR = Decimal("1.5")

#: the source of the choice of a plan's products: taper's own, not a clinical figure
PRODUCT_SET_SOURCE = "taper: a pharmacy dispenses few products for a course"

#: a plan longer than this is almost certainly a rule that barely cuts
MAX_STEPS = 1000


@dataclass(frozen=True)
class _Choice:
    dose: Decimal
    days: int


def make_plan(request: PlanRequest) -> Schedule:
    """One plan of one drug, as :func:`taper.plan` makes it, without the alternatives it
    computes (a switch is :func:`taper.switching.plan_switch`'s)."""
    rx = prescription_of(request)
    rule, limit = request.rule, request.max_units
    chosen, then, chose = product_set(request, rx)
    dispenser = dispenser_for(tuple(chosen), limit)
    liquid = None
    if request.at_low_doses == "liquid":
        one = _one_liquid(rx, rule, chosen, request.liquids, limit, request.start_shares)
        if one in chosen:
            # taken already (the new part of a re-plan on its liquid): it stays first
            dispenser = with_liquid(chosen, one, limit)
        chosen = (*chosen, *(p for p in (one,) if p not in chosen))
        liquid = with_liquid(chosen, one, limit)
    increment = request.liquid_increment
    if increment is not None and not any(p.is_liquid and p.default_measure for p in chosen):
        raise InputError(
            "liquid_increment",
            str(request.asked.get("liquid_increment", increment)),
            "used only with a liquid measured with taper's syringe: {at_low_doses} liquid, or a "
            "liquid in {products}",
        )
    steps, findings = _walk(
        rx,
        rule,
        dispenser,
        request.at_low_doses,
        liquid,
        request.start_shares,
        request.first_step,
        dispenser_for(then, limit) if then else None,
    )
    chosen = (*chosen, *(p for p in then if p not in chosen))
    if request.units_raised:
        findings.insert(0, request.units_raised)
    if chose is not None:
        findings.insert(0, chose)
    return checked_schedule(request, rx, steps, findings, chosen)


def prescription_of(request: PlanRequest) -> Prescription:
    """The prescription a request plans from."""
    return Prescription(
        request.drug.name,
        request.dose,
        request.per_day,
        request.times,
        request.start,
        request.region,
        request.patient,
    )


def checked_schedule(
    request: PlanRequest,
    rx: Prescription,
    steps: Sequence[Step],
    findings: Sequence[Finding],
    chosen: tuple[Product, ...],
) -> Schedule:
    """The plan of ``steps`` under the request's rule, with the checks' findings, refused at
    an error that is not overridden."""
    rule, limit, cat = request.rule, request.max_units, request.catalog
    schedule = Schedule(
        prescription=rx,
        rule_name=rule.name,
        rule_description=rule.describe(),
        rule_source=rule.source,
        max_cut=rule.max_cut,
        steps=tuple(steps),
        findings=tuple(findings),
        products=chosen,
        catalog_version=f"{cat.name} {cat.version}",
        drug_display=request.drug.display,
        drug_tall_man=request.drug.tall_man,
        max_units=limit,
        cap_source=cap_source(rule),
        overrides=request.overrides,
        rule=rule,
        at_low_doses=request.at_low_doses,
        identity=request.identity,
    )
    schedule = replace(schedule, findings=tuple(check(schedule, catalog=cat)))
    refuse_errors(schedule.findings)
    return schedule


@dataclass(frozen=True)
class _Trial:
    """A plan's walk with one set of products, as the choice of the set weighs it."""

    products: tuple[Product, ...]
    #: the products the walk takes, the liquid among them where it is added
    used: tuple[Product, ...]
    #: the second set of a plan in two sets (dispensed from where the first strays), or none
    then: tuple[Product, ...]
    #: the step from which the second set is dispensed (0: one set)
    switch: int
    #: the most products in one dose
    widest: int
    stop: Decimal
    forced: int
    #: the mean distance from the rule's dose, as a share of the start, weighted by days
    gap: Decimal
    mixed: int
    #: how often the walk departs from the rule, by each code of :data:`DEPARTURES`, then how
    #: many steps stray from the rule's cut
    departures: tuple[int, ...]
    #: steps whose doses of the day differ by more than the set's smallest piece
    uneven: int
    #: steps whose doses of the day differ by more than the largest tablet taken that day
    lopsided: int
    changes: int
    pieces: int

    @property
    def score(self) -> tuple[Decimal, ...]:
        """Fewer doses mixing forms, then fewer uneven days, then closer to the rule, then
        fewer changes of products and fewer pieces."""
        return (
            Decimal(self.mixed),
            Decimal(self.uneven),
            self.gap,
            Decimal(self.changes),
            Decimal(self.pieces),
        )


#: the findings of a walk that depart from the rule's pace or order: a set of products plans as
#: well as all of them only where it has none of these more often, nor more steps that stray
#: from the rule's cut (see :class:`_Tally`). A dose near the rule's, its step lengthened to
#: keep the pace (``target-adjusted``), is not a departure: how near the doses keep to the
#: rule's is weighed among sets as small, and the finding says what more would gain.
DEPARTURES = (
    "per-dose-not-kept",
    "cut-order-not-kept",
    "kept-dose-raised",
    "longest-step",
    "rule-not-completed",
    "stopped-at-low-dose",
)


class _Tally:
    """The counts of a walk as it goes, step by step: what the choice of a set weighs, and
    whether the set has fallen behind a bound (all of the products' walk), after which no
    later step can bring it back."""

    def __init__(
        self,
        products: tuple[Product, ...],
        then: tuple[Product, ...],
        n: int,
        max_cut: Decimal,
        made: Sequence[Decimal],
    ) -> None:
        self.then, self.n, self.max_cut, self.made = then, n, max_cut, made
        self.piece = min(p.step_mg * p.split for p in products)
        self.seen = 0  # the findings counted so far
        self.switch = 0
        self.departures = [0] * len(DEPARTURES)
        self.forced = self.unforced = self.mixed = self.uneven = self.lopsided = 0
        #: steps not forced whose cut strays from the rule's: above RUN_OUT_FACTOR times the
        #: cut asked, or below it divided by RUN_OUT_FACTOR
        self.strayed = 0

    def add(self, steps: Sequence[Step], findings: Sequence[Finding]) -> None:
        for f in findings[self.seen :]:
            if f.code in DEPARTURES:
                self.departures[DEPARTURES.index(f.code)] += 1
            elif f.code == "products-from-here" and f.step:
                self.switch = f.step  # the second set's smallest piece from here
                self.piece = min(p.step_mg * p.split for p in self.then)
        self.seen = len(findings)
        step = steps[-1]
        if step.previous_dose > step.dose:
            if forced_cut(step.previous_dose, step.dose, self.max_cut, self.made):
                self.forced += 1
            else:
                if self.then and step.cut > self.max_cut:
                    self.unforced += 1  # one set forces it, the two sets would not
                asked = step.previous_dose - max(step.target, Decimal(0))
                made = step.previous_dose - step.dose
                self.strayed += made > asked * RUN_OUT_FACTOR or made * RUN_OUT_FACTOR < asked
        self.mixed += sum(1 for a in step.administrations if Composition(a.units).mixed)
        shares = [a.dose for a in step.administrations]
        shares += [Decimal(0)] * (self.n - len(shares))
        spread = max(shares) - min(shares)
        self.uneven += spread > self.piece
        self.lopsided += spread > max(
            u.product.step_mg for a in step.administrations for u in a.units
        )

    @property
    def counts(self) -> tuple[int, ...]:
        """The departures from the rule by each code of :data:`DEPARTURES`, then the steps
        that stray from its cut."""
        return (*self.departures, self.strayed)

    def behind(self, bound: _Trial | None, even: int | None) -> bool:
        """Whether the walk so far does worse than ``bound`` (and ``even`` uneven days)."""
        return bool(self.unforced) or (
            bound is not None
            and (
                self.forced > bound.forced
                or self.mixed > bound.mixed
                or self.lopsided > bound.lopsided
                or any(a > b for a, b in zip(self.counts, bound.departures, strict=True))
                or (even is not None and self.uneven > even)
            )
        )


class _Behind(Exception):
    """A set's walk given up: it has fallen behind its bound."""


def _trial(
    rx: Prescription,
    request: PlanRequest,
    products: tuple[Product, ...],
    liquid: Product | None = None,
    then: tuple[Product, ...] = (),
    bound: _Trial | None = None,
    even: int | None = None,
) -> _Trial | None:
    """The walk with ``products`` alone (and ``liquid`` where the tablets run out of small
    cuts, or the second set ``then`` from where they stray), or ``None`` where they cannot
    plan it, or fall behind ``bound`` (more forced cuts, doses mixing forms, lopsided days
    or departures from the rule) or ``even`` (more uneven days) at any step."""
    dispenser = dispenser_for(products, request.max_units)
    n = len(rx.times)
    if request.start_shares is None and dispenser.split(rx.start_dose, n) is None:
        return None
    lower = with_liquid(products, liquid, request.max_units) if liquid else None
    second = dispenser_for(then, request.max_units) if then else None
    both = (*products, *(p for p in then if p not in products))
    # the cuts the products force, as the checks see them: with every product the plan lists
    made = (lower or (dispenser_for(both, request.max_units) if then else dispenser)).daily_doses(n)
    tally = _Tally(products, then, n, request.rule.max_cut, made)

    def step_made(steps: Sequence[Step], findings: Sequence[Finding]) -> None:
        tally.add(steps, findings)
        if tally.behind(bound, even):
            raise _Behind

    try:
        steps, findings = _walk(
            rx,
            request.rule,
            dispenser,
            request.at_low_doses,
            lower,
            request.start_shares,
            request.first_step,
            second,
            step_made,
        )
    except (PlanRefused, _Behind):
        return None
    if not steps:
        return None
    # the findings the walk adds at its end (a cut order not kept, steps held to the longest)
    tally.departures = [sum(1 for f in findings if f.code == c) for c in DEPARTURES]
    if tally.behind(bound, None):
        return None
    days = sum(s.days for s in steps)
    gap = sum((abs(s.dose - max(s.target, Decimal(0))) * s.days for s in steps), Decimal(0))
    taken = {u.product for s in steps for a in s.administrations for u in a.units}
    changes = 0
    for before, after in pairwise(steps):
        for admin in after.administrations:
            old = before.at(admin.time)
            if old is None or {u.product.id for u in old.units} != {
                u.product.id for u in admin.units
            }:
                changes += 1
    return _Trial(
        products=products,
        used=tuple(p for p in (*both, *((liquid,) if liquid else ())) if p in taken),
        then=then if tally.switch else (),
        switch=tally.switch,
        widest=max(len({u.product.id for u in a.units}) for s in steps for a in s.administrations),
        stop=steps[-1].dose,
        forced=tally.forced,
        gap=gap / days / rx.start_dose,
        mixed=tally.mixed,
        departures=tally.counts,
        uneven=tally.uneven,
        lopsided=tally.lopsided,
        changes=changes,
        pieces=sum(u.pieces for s in steps for a in s.administrations for u in a.units),
    )


def smallest_piece(products: Sequence[Product]) -> Decimal:
    """The smallest dose one administration of ``products`` can hold: their smallest piece
    (a tablet's smallest part, a liquid's one measure), as their dispenser would make it."""
    return min(p.step_mg * (1 if p.is_liquid else p.split) for p in products if p.usable)


def product_set(
    request: PlanRequest, rx: Prescription
) -> tuple[tuple[Product, ...], tuple[Product, ...], Finding | None]:
    """The products the plan dispenses, a second set of them where the plan dispenses two
    (else none), and the finding that says why.

    Where the clinician named none, the fewest of the drug's that plan it as well as all of
    them would: down to the same smallest dose, with no more cuts forced above the cap, no
    more doses that mix forms, no more days whose doses differ by more than the largest
    tablet taken that day, no more departures from the rule's pace or order
    (:data:`DEPARTURES`: a cut order not kept, a step held to the longest), and no more steps
    whose cut strays from the rule's (more than RUN_OUT_FACTOR times the cut asked, or less
    than the cut asked divided by it). Of sets as small,
    the one with fewest doses that mix forms, then with fewest days whose doses differ by more
    than a piece, then closest to the rule's doses, then with fewest changes of products from
    step to step; where a liquid is added at low doses (``at_low_doses="liquid"``), each set
    is tried with it. The finding names the set and what one product more would gain. The
    products stay as they are where the clinician chose them, or where there are two or fewer
    (a liquid added at low doses counted among them).

    Where no set of two follows the rule as well as all of them do, the plan is tried in two
    sets of one or two products each: the first from the start, the second in its place from
    the step where the first strays from the rule's cut (:func:`_walk`). Two sets are taken
    where they follow the rule as well as all of the products, with fewer products in all than
    one set that does, or as many and fewer in any one dose.
    """
    pool = tuple(p for p in request.products if p.usable)
    liquid = 1 if request.at_low_doses == "liquid" and request.liquids else 0
    if request.products_chosen or len(pool) + liquid <= 2:
        return request.products, request.then_products, None
    # the choice depends on the walk alone, not on the day it starts or on the patient: a
    # roster of many patients on one prescription chooses once
    key = (
        rx.drug,
        rx.start_dose,
        rx.times,
        rx.region,
        request.rule,
        request.max_units,
        request.at_low_doses,
        request.start_shares,
        request.first_step,
        pool,
        request.liquids,
        request.asked.get("products"),  # forms the clinician named, said in the finding
        words(),
    )
    if key not in _SETS:
        if len(_SETS) >= _MOST_SETS:
            del _SETS[next(iter(_SETS))]
        _SETS[key] = _choose_set(rx, request, pool)
    chosen, then, said = _SETS[key]
    if said is None:
        return request.products, (), None
    return (
        tuple(p for p in request.products if p in chosen),
        tuple(p for p in request.products if p in then),
        said,
    )


#: the sets chosen, by what the choice depends on (the oldest dropped past the bound)
_SETS: dict[tuple[Any, ...], tuple[tuple[Product, ...], tuple[Product, ...], Finding | None]] = {}
_MOST_SETS = 512


def _choose_set(
    rx: Prescription, request: PlanRequest, pool: tuple[Product, ...]
) -> tuple[tuple[Product, ...], tuple[Product, ...], Finding | None]:
    """:func:`product_set`'s choice among ``pool``: the set, the second set where the plan
    dispenses two (else none), and its finding (``None``: keep them all)."""
    liquid = None
    if request.at_low_doses == "liquid" and request.liquids:
        liquid = _one_liquid(
            rx, request.rule, pool, request.liquids, request.max_units, request.start_shares
        )
    full = _trial(rx, request, pool, liquid)
    if full is None:
        return pool, (), None
    with_liquid = (liquid,) if liquid else ()
    terminal = smallest_piece((*pool, *with_liquid))

    def keeps_up(trial: _Trial) -> bool:
        return (
            trial.stop == full.stop
            and trial.forced <= full.forced
            and trial.mixed <= full.mixed
            and trial.lopsided <= full.lopsided
            and all(a <= b for a, b in zip(trial.departures, full.departures, strict=True))
        )

    def best_of(sets: Iterable[tuple[Product, ...]]) -> _Trial | None:
        found = None
        for subset in sets:
            if smallest_piece((*subset, *with_liquid)) != terminal:
                continue
            trial = _trial(rx, request, subset, liquid, bound=full)
            if trial is None or not keeps_up(trial):
                continue
            if found is None or trial.score < found.score:
                found = trial
        return found

    chosen = None
    for size in range(1, len(pool)):
        chosen = best_of(combinations(pool, size))
        if chosen is not None:
            break
    if liquid is None and (chosen is None or len(chosen.used) > 2):
        two = _two_sets(rx, request, pool, terminal, keeps_up, full, full.uneven)
        if two is not None and (
            chosen is None
            or len(two.used) < len(chosen.used)
            or (len(two.used) == len(chosen.used) and two.widest < chosen.widest)
        ):
            return two.products, two.then, _two_sets_finding(rx, request, pool, two, chosen)
    if chosen is None:
        return pool, (), None
    # what one product more would gain: each of the others added to the set, where all of
    # them keep closer to the rule than the set does (else one more is not tried)
    more = None
    if full.gap < chosen.gap:
        more = best_of(
            tuple(p for p in pool if p in chosen.products or p is other)
            for other in pool
            if other not in chosen.products
        )
    names = ", ".join(p.name for p in chosen.used)
    lower = f", with the {liquid.name} where they run out of small cuts," if liquid else ""
    message = (
        f"The plan dispenses {names} for the whole course: the fewest of the {len(pool)} "
        f"{rx.drug} products {_among(rx, request)}{lower} that follow the rule within its cap "
        f"as all of them do ({_reach(chosen)})"
    )
    if more is not None and more.gap < chosen.gap:
        extra = [p for p in more.products if p not in chosen.products]
        message += (
            f"; with {' and '.join(p.name for p in extra)} as well the doses would keep closer "
            f"to the rule's {_closer(more, chosen)}: give "
            f"{option('products', [p.id for p in more.products])} to dispense those"
        )
    return chosen.products, (), finding("product-set", message + ".", PRODUCT_SET_SOURCE)


def _two_sets(
    rx: Prescription,
    request: PlanRequest,
    pool: tuple[Product, ...],
    terminal: Decimal,
    keeps_up: Callable[[_Trial], bool],
    bound: _Trial,
    even: int,
) -> _Trial | None:
    """The best plan in two sets of one or two of ``pool`` each, the second dispensed in place
    of the first from where it strays: of those that keep up with all of them, with no more
    uneven days (``even``), and go down to ``terminal`` with the second, the one with fewest
    products in all, then the best scored."""
    sets = [s for size in (1, 2) for s in combinations(pool, size)]
    found = None
    for first in sets:
        for then in sets:
            if then == first or smallest_piece(then) != terminal:
                continue
            trial = _trial(rx, request, first, None, then, bound, even)
            if (
                trial is None
                or trial.switch <= request.first_step  # the second set alone, tried already
                or not keeps_up(trial)
                or trial.uneven > even
            ):
                continue
            if found is None or (len(trial.used), trial.score) < (len(found.used), found.score):
                found = trial
    return found


def _two_sets_finding(
    rx: Prescription,
    request: PlanRequest,
    pool: tuple[Product, ...],
    two: _Trial,
    one: _Trial | None,
) -> Finding:
    """The product-set finding of a plan in two sets: which, from which step, and what the one
    set that plans as well would gain."""
    first = " and ".join(p.name for p in two.products)
    then = " and ".join(p.name for p in two.then)
    message = (
        f"The plan dispenses {first} to step {two.switch - 1}, then {then} from step "
        f"{two.switch} on: "
        f"no set of two of the {len(pool)} {rx.drug} products {_among(rx, request)} follows "
        f"the rule within its cap as all of them do, and two sets of at most two each do, with "
        f"{len(two.used)} products in all ({_reach(two)})"
    )
    if one is not None and one.gap < two.gap:
        message += (
            f"; one set of {', '.join(p.name for p in one.used)} for the whole course would "
            f"keep closer to the rule's {_closer(one, two)}, with up to {one.widest} products in "
            f"one dose: give {option('products', [p.id for p in one.products])} to dispense "
            f"those"
        )
    return finding("product-set", message + ".", PRODUCT_SET_SOURCE)


def _among(rx: Prescription, request: PlanRequest) -> str:
    """The products a set is chosen among, in words: the region's, or the forms asked."""
    forms = request.asked.get("products")
    if forms:  # the clinician named forms: the set is chosen among those
        return f"in {rx.region.upper()} of the forms asked ({', '.join(forms)})"
    return f"listed for {rx.region.upper()}"


def _reach(trial: _Trial) -> str:
    """How far a set's plan goes down, and the cuts it forces."""
    forced = (
        "no forced cut"
        if not trial.forced
        else f"{trial.forced} forced cut{'s' if trial.forced != 1 else ''}"
    )
    return f"down to {format_mg(trial.stop)}/day, {forced}"


def _closer(better: _Trial, chosen: _Trial) -> str:
    return (
        f"(a mean distance of {format_percent(better.gap)} % of the starting dose in place of "
        f"{format_percent(chosen.gap)} %)"
    )


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
        with_it = with_liquid(chosen, product, limit)
        try:
            steps, _ = _walk(rx, rule, tablets, "liquid", with_it, start_shares)
        except PlanRefused:
            return (Decimal("Infinity"), Decimal(0), product.mg_per_ml or Decimal(0))
        falls = [steps[-1].dose, *(s.previous_dose - s.dose for s in steps if s.cut > rule.max_cut)]
        gap = sum((abs(s.dose - max(s.target, Decimal(0))) * s.days for s in steps), Decimal(0))
        return (gap, max(falls) / rx.start_dose, product.mg_per_ml or Decimal(0))

    return min(liquids, key=score)


def _walk(
    rx: Prescription,
    rule: Rule,
    dispenser: Dispenser,
    at_low_doses: str = "stretch",
    liquid: Dispenser | None = None,
    start_shares: Sequence[Decimal] | None = None,
    first_step: int = 1,
    then: Dispenser | None = None,
    step_made: Callable[[Sequence[Step], Sequence[Finding]], None] | None = None,
) -> tuple[list[Step], list[Finding]]:
    """The steps from the start dose down to the terminal dose, and the findings of the walk.

    ``liquid`` is the dispenser from where the tablets run out of small cuts
    (``at_low_doses="liquid"``); ``then`` the second set of a plan in two sets of products,
    dispensed in place of the first from the step where the first strays from the rule's cut.
    ``step_made`` is called with the steps and findings so far after each step (it may raise
    to give the walk up).
    """
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
                finding(
                    "liquid-from-here",
                    f"From {format_mg(current)}/day the tablets cannot make a cut close to the "
                    f"one the rule asks, so from step {number} the doses use {liquids} as well "
                    f"({option('at_low_doses', 'liquid')}).",
                    rule.source,
                    number,
                )
            )
            candidates, choice = _pick(
                active, n, current, floor, target, proposal, rule, previous, used
            )
        if then is not None and active is not then and _strays(choice, candidates, current, target):
            # the first set strays from the rule's cut: the second set from this step on
            findings.append(_products_from_here(number, current, active, then))
            active = then
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
                finding(
                    "stopped-at-low-dose",
                    f"Below {format_mg(current)}/day the products cannot make a cut as small as "
                    f"the rule asks, so, as asked ({option('at_low_doses', 'stop')}), the plan "
                    f"stops from "
                    f"{format_mg(current)}/day: the lowest dose they can taper from at the "
                    f"rule's pace.",
                    rule.source,
                    number - 1,
                )
            )
            asked = f"as asked, {option('at_low_doses', 'stop')}"
            findings += _unfinished(rule, start, current, holds_done, number - 1, asked)
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
        if step_made is not None:
            step_made(steps, findings)
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


def _products_from_here(
    number: int, current: Decimal, first: Dispenser, then: Dispenser
) -> Finding:
    """The step from which a plan in two sets dispenses its second in place of its first."""

    def names(dispenser: Dispenser) -> str:
        return " and ".join(p.name for p in dispenser.products)

    return finding(
        "products-from-here",
        f"From step {number} ({format_mg(current)}/day) the plan dispenses {names(then)} in "
        f"place of {names(first)}: from {format_mg(current)}/day those cannot make a cut "
        f"close to the one the rule asks.",
        PRODUCT_SET_SOURCE,
        number,
    )


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
    return finding("cut-capped", text, cap_source(rule), number)


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
            f"taper's longest lengthened step ({option('longest_step')})"
            if lengths == [rule.longest_step_days]
            else f"the rule's own interval, as taper lengthens no step past "
            f"{rule.longest_step_days} day{'s' if rule.longest_step_days != 1 else ''} "
            f"({option('longest_step')})"
        )
        where = f"Step {run[0]}" if len(run) == 1 else f"Steps {run[0]} to {run[-1]}"
        out.append(
            finding(
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

    return finding(
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
            finding(
                "cut-order-not-kept",
                f"{where}: the rule's cut order says {first[rule.cut_order]}, but the products "
                f"cannot make the day's dose that way, so the {' and '.join(times)} dose falls "
                f"while an earlier one is still taken.",
                rule.source or f"the clinician's cut order ({option('cut_order')})",
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
    changes = None
    if rule.cut_order == "even" and previous is not None and len(previous) == n:
        before = tuple(previous)

        def changes(v: Decimal) -> int:
            after = dispenser.split(v, n, rule.cut_order, before, used)
            return n + 1 if after is None else dispenser.changes(before, after)

    pool = within or below[-1:]
    return within, _choose(
        pool, current, target, proposal.days, proposal.proportional, keeps, changes
    )


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
        finding(
            "kept-dose-raised",
            f"With the cut order {rule.cut_order}, the products cannot make "
            f"{format_mg(sum(shares, Decimal(0)))}/day without raising {', '.join(raised)} "
            f"while the day's total falls; the other doses were cut further to make up for it.",
            f"taper: the clinician's cut order ({option('cut_order')})",
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
        finding(
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
) -> tuple[Callable[[Decimal], bool], ...]:
    """Whether a daily dose can be shared without undoing the last step's shape, the most
    wanted test first.

    A dose stopped at one time stays stopped. With ``morning-first`` or
    ``bedtime-last`` the times the rule keeps must not rise either: the rule says
    which dose falls first, so a dose it keeps is never raised to make up the day.
    """
    strict = order != "even"

    def keeps(v: Decimal) -> bool:
        return dispenser.split_without_rise(v, n, order, previous, used, strict) is not None

    if strict:
        return (keeps,)

    def no_rise(v: Decimal) -> bool:
        return dispenser.split_without_rise(v, n, order, previous, used, True) is not None

    # with the even order too, a dose that no time of day rises for comes first: the step
    # takes a piece away where it can, not one away here and one more there
    return (no_rise, keeps)


def _choose(
    candidates: Sequence[Decimal],
    current: Decimal,
    target: Decimal,
    days: int,
    proportional: bool = False,
    accept: Sequence[Callable[[Decimal], bool]] = (),
    changes: Callable[[Decimal], int] | None = None,
) -> _Choice:
    """The makeable dose nearest the target (the gentler on a tie), with its step length.

    Doses the first test of ``accept`` approves come first, then the next test's; the
    nearest of all is the fallback. Where that is a gentler cut than the rule's, the nearest
    steeper dose is taken instead if its administrations ``changes`` less from the step before
    (one piece fewer, not new pieces): the step is lengthened to keep the rule's pace, where a
    gentler cut would slow the plan.
    """
    ranked = sorted(candidates, key=lambda v: (abs(v - target), -v))
    dose, test = ranked[0], None
    for each in accept:
        found = next((v for v in ranked if each(v)), None)
        if found is not None:
            dose, test = found, each
            break
    if changes is not None and target < dose:
        # the nearest dose is a gentler cut than asked: the nearest steeper one, lengthened to
        # keep the pace, where its doses change less from the step before
        steeper = next((v for v in ranked if v < target and (test is None or test(v))), None)
        if steeper is not None and changes(steeper) < changes(dose):
            dose = steeper
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
    return finding("target-adjusted", text + ".", rule.source, number)
