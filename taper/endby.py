"""Finish by a date: the even proportional pace that reaches the terminal dose by then.

A rule with an ``end_by`` date keeps its interval, cap, holds and cut order; its pace becomes
the same cut of the current dose at every step, the smallest cut whose plan, made from the
products like any plan, has its last dose on or before the date. Where the date can only be
met faster than the guideline's bound (no fall of more than 25 % within 14 days) or the
rule's cap, the plan is refused with the earliest date the bound allows, unless the clinician
overrides ``end-by-too-soon`` with a reason: then the plan goes as fast as the date needs,
the finding in every export.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from .doses import format_mg, format_percent, normalize
from .errors import FindingsRefused, InputError, PlanRefused
from .planner import make_plan, smallest_piece
from .request import PlanRequest
from .rules import GUIDELINE_CAP, PercentOfCurrent, Rule, Table, simple_interval
from .schedule import Finding, Schedule
from .validation import PACE_SOURCE, PACE_WINDOW_DAYS, finding
from .wording import option

#: the precision of the cut an end date is met with: 0.1 % of the current dose
CUT_STEP = Decimal("0.001")


def cuts_in_window(every: int) -> int:
    """How many cuts a pace of one cut ``every`` days makes within the guideline's window
    (14 days from a cut, that cut included)."""
    return 1 + (PACE_WINDOW_DAYS - 1) // every


def fastest_cut(rule: Rule, every: int) -> Decimal:
    """The largest cut of the current dose, at one cut ``every`` days, within both the
    guideline's bound (a fall of at most 25 % within 14 days) and the rule's cap."""
    per_cut = 1 - ((1 - GUIDELINE_CAP).ln() / cuts_in_window(every)).exp()
    return normalize(min(rule.max_cut, per_cut.quantize(CUT_STEP, rounding=ROUND_FLOOR)))


def even_cut(start: Decimal, terminal: Decimal, steps: int) -> Decimal:
    """The cut of the current dose that takes ``start`` to ``terminal`` in ``steps`` cuts,
    rounded up to 0.1 % so that the plan gets there.

    >>> even_cut(Decimal(2), Decimal("0.125"), 4)
    Decimal('0.5')
    """
    cut = 1 - ((terminal / start).ln() / steps).exp()
    return normalize(max(CUT_STEP, cut.quantize(CUT_STEP, rounding=ROUND_CEILING)))


def plan_taper(request: PlanRequest) -> Schedule:
    """The taper of one drug: a table of doses as its rows say (:mod:`taper.dosetable`), to
    its rule's end date where it has one, as any plan otherwise
    (:func:`taper.planner.make_plan`). The plan, the taper after a switch and the new part
    of a re-plan are all made here."""
    if isinstance(request.rule.pace, Table):
        if request.rule.end_by is not None:
            raise InputError(
                "end_by",
                request.rule.end_by.isoformat(),
                "a rule with a pace: a table of doses gives its own days",
            )
        from .dosetable import plan_table

        return plan_table(request)
    if request.rule.end_by is not None:
        return plan_by_date(request, make_plan)
    return make_plan(request)


def plan_by_date(request: PlanRequest, make: Callable[[PlanRequest], Schedule]) -> Schedule:
    """The plan of ``request``, whose rule has an ``end_by`` date, made by ``make``."""
    rule = request.rule
    end = rule.end_by
    assert end is not None
    start = request.start
    every = simple_interval(rule)
    if end < start:
        raise InputError(
            "end_by", end.isoformat(), f"a date after the first cut ({start.isoformat()})"
        )
    days = (end - start).days + 1
    most = days // every
    if most < 1:
        raise InputError(
            "end_by",
            end.isoformat(),
            f"a date at least {every} days from the first cut ({start.isoformat()}), so that "
            f"one step of the rule's interval fits",
            f"or a shorter interval with {option('every')}",
        )
    terminal = smallest_piece(request.products)
    if request.dose <= terminal:
        return make(request)
    fastest = fastest_cut(rule, every)
    for steps in range(most, 0, -1):
        cut = even_cut(request.dose, terminal, steps)
        if cut > fastest:
            break
        schedule = make(replace(request, rule=_paced(rule, cut, every, end)))
        if schedule.steps[-1].end <= end:
            return _said(schedule, _met(schedule, cut, every, end, terminal))
    # the fastest pace the bound allows: the date may still be met by it where the products
    # stretched the slower even cuts past it; else its last dose is the earliest date
    quickest = make(replace(request, rule=_paced(rule, fastest, every, end)))
    earliest = quickest.steps[-1].end
    if earliest <= end:
        return _said(quickest, _met(quickest, fastest, every, end, terminal))
    message = (
        f"Ending by {end.isoformat()} needs cuts faster than the guideline's bound (no fall of "
        f"more than 25 % within 14 days) and the rule's cap ({format_percent(rule.max_cut)} "
        f"%): the earliest last dose they allow is {earliest.isoformat()} "
        f"({format_percent(fastest)} % of the current dose every {every} days)"
    )
    reason = request.accepted.get("end-by-too-soon")
    if reason is None:
        raise FindingsRefused("end-by-too-soon", message, 0, True)
    for steps in range(most, 0, -1):
        cut = even_cut(request.dose, terminal, steps)
        faster = replace(rule, max_cut=max(rule.max_cut, min(cut, Decimal("0.99"))))
        schedule = make(replace(request, rule=_paced(faster, cut, every, end)))
        if schedule.steps[-1].end <= end:
            said = finding("end-by-too-soon", f"{message}.", PACE_SOURCE, override=reason)
            return _said(schedule, said, _met(schedule, cut, every, end, terminal))
    raise PlanRefused(
        "end_by",
        end.isoformat(),
        "a date the products can reach: they make no taper that ends by then",
    )


def _paced(rule: Rule, cut: Decimal, every: int, end: date) -> Rule:
    """``rule`` with the even cut that ends by ``end``, named and described as such."""
    pace = PercentOfCurrent(cut, every)
    return replace(
        rule,
        pace=pace,
        name=f"end by {end.isoformat()}",
        summary=f"{pace.describe()}, to end by {end.isoformat()}",
        source=f"the clinician's end date, {end.isoformat()}; the cut fitted to it by taper, "
        f"with the cap and holds of {rule.name}",
    )


def _met(schedule: Schedule, cut: Decimal, every: int, end: date, terminal: Decimal) -> Finding:
    last = schedule.steps[-1]
    return finding(
        "end-by",
        f"The plan ends by {end.isoformat()}: it cuts {format_percent(cut)} % of the current dose "
        f"every {every} days, the smallest even cut that reaches {format_mg(terminal)}/day (the "
        f"smallest dose the products make) in time; the last dose is on "
        f"{last.end.isoformat()}.",
        "taper: an even proportional pace fitted to the clinician's end date",
    )


def _said(schedule: Schedule, *said: Finding) -> Schedule:
    return replace(
        schedule, findings=tuple(sorted((*said, *schedule.findings), key=Finding.sort_key))
    )
