"""A table of doses as a plan: each row a step, dated from the start, made from the products.

A row's dose is made as the products make it, never above it: where the products cannot make
a row exactly, the step takes the largest dose below it that they make, and a finding says so.
Where the clinician named no products, the plan dispenses the fewest of the drug's that make
every row as closely as all of them. The steps are checked like any plan's (the cap, the
pace, the ranges), and the plan stops after the last row.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import combinations

from .catalog import Product
from .dispensing import Dispenser, dispenser_for
from .doses import format_mg
from .errors import InputError, PlanRefused
from .planner import checked_schedule, prescription_of
from .request import PlanRequest
from .rules import Table, TableRow
from .schedule import Administration, Finding, Schedule, Step
from .validation import finding

#: what a table's rows come to with a set of products: each row's made shares, or ``None``
_Made = list[tuple[Decimal, ...] | None]


def plan_table(request: PlanRequest) -> Schedule:
    """The plan of ``request``, whose rule's pace is a :class:`~taper.rules.Table`."""
    table = request.rule.pace
    assert isinstance(table, Table)
    rx = prescription_of(request)
    times = rx.times
    for number, row in enumerate(table.rows, start=1):
        unknown = [t for t, _ in row.at if t not in times]
        if unknown:
            raise InputError(
                f"steps[{number}].{unknown[0]}",
                unknown[0],
                f"a time of day the prescription takes a dose at: {', '.join(times)}",
            )
    pool = tuple(p for p in request.products if p.usable and not p.is_liquid)
    chosen, made, chose = _products(request, pool)
    dispenser = dispenser_for(chosen, request.max_units)
    steps: list[Step] = []
    findings: list[Finding] = [] if chose is None else [chose]
    rows = table.rows
    unmade = next((k for k, shares in enumerate(made) if shares is None), None)
    if unmade is not None and unmade > 0 and all(s is None for s in made[unmade:]):
        # the table's last rows are below the smallest dose the products make: the plan
        # stops after the last row they make, and says so
        smallest = format_mg(dispenser.smallest)
        findings.append(
            finding(
                "table-rows-below-products",
                f"Rows {unmade + 1} to {len(rows)} of the table ask for less than the smallest "
                f"dose the products make ({smallest} at one time of day): the plan stops "
                f"after row {unmade}."
                if unmade + 1 < len(rows)
                else f"Row {len(rows)} of the table asks for less than the smallest dose the "
                f"products make ({smallest} at one time of day): the plan stops after row "
                f"{unmade}.",
                request.rule.source,
                request.first_step + unmade - 1,
            )
        )
        rows, made = rows[:unmade], made[:unmade]
    day, before = rx.start_date, rx.start_dose
    asked_before = rx.start_dose
    for number, (row, shares) in enumerate(zip(rows, made, strict=True), start=1):
        asked = row.daily(rx.start_dose)
        if shares is None:
            raise PlanRefused(
                f"steps[{number}]",
                format_mg(asked),
                f"a dose the products make: they make no dose of {format_mg(asked)}/day or "
                f"less in {len(times)} doses a day within {request.max_units} pieces a dose",
            )
        administrations = tuple(
            Administration(t, dispenser.compose(s).units)
            for t, s in zip(times, shares, strict=True)
            if s > 0
        )
        # numbered on from the steps before it (the new part of a re-plan)
        made_dose = sum(shares, Decimal(0))
        # a row asking for less than the row before, which the products make no lower than
        # the dose before, holds that dose (the rest of a row, after a re-plan, asks no less)
        held = made_dose >= before and asked < asked_before
        asked_before = asked
        step = Step(
            request.first_step + number - 1, day, row.days, administrations, asked, before,
            row.days, held,
        )  # fmt: skip
        if step.dose != asked:
            kept = ", so the dose before is held" if held else ""
            findings.append(
                finding(
                    "table-row-made",
                    f"Row {number} of the table asks for {format_mg(asked)}/day; the products "
                    f"make {format_mg(step.dose)}/day, the largest dose not above it{kept}.",
                    request.rule.source,
                    step.number,
                )
            )
        steps.append(step)
        day += timedelta(days=row.days)
        before = step.dose
    return checked_schedule(request, rx, steps, findings, chosen)


def _made(dispenser: Dispenser, rows: tuple[TableRow, ...], request: PlanRequest) -> _Made:
    """Each row's shares of the day, as ``dispenser`` makes them: never above the row's."""
    times, start, order = request.times, request.dose, request.rule.cut_order
    out: _Made = []
    previous: tuple[Decimal, ...] | None = None
    for row in rows:
        if row.at:
            asked = dict(row.at)
            shares: tuple[Decimal, ...] | None = tuple(
                _at_most(dispenser, asked.get(t, Decimal(0))) for t in times
            )
        else:
            shares = _split_at_most(dispenser, row.daily(start), len(times), order, previous)
        if shares is not None and sum(shares) <= 0:
            shares = None
        out.append(shares)
        previous = shares or previous
    return out


def _at_most(dispenser: Dispenser, dose: Decimal) -> Decimal:
    """The largest dose one administration can hold that is not above ``dose``."""
    fitting = [v for v in dispenser.values if v <= dose]
    return fitting[-1] if fitting else Decimal(0)


def _split_at_most(
    dispenser: Dispenser,
    daily: Decimal,
    n: int,
    order: str,
    previous: tuple[Decimal, ...] | None,
) -> tuple[Decimal, ...] | None:
    """The largest daily dose not above ``daily`` that ``n`` doses can share, shared."""
    for total in reversed(dispenser.daily_doses(n)):
        if total > daily or total <= 0:
            continue
        shares = dispenser.split(total, n, order, previous)
        if shares is not None:
            return shares
    return None


def _products(
    request: PlanRequest, pool: tuple[Product, ...]
) -> tuple[tuple[Product, ...], _Made, Finding | None]:
    """The products to dispense, what they make of each row, and the finding that says why:
    the clinician's, or the fewest of the drug's that make every row as closely as all."""
    table = request.rule.pace
    assert isinstance(table, Table)
    full = _made(dispenser_for(pool, request.max_units), table.rows, request)
    if request.products_chosen or len(pool) <= 1:
        return pool, full, None
    for size in range(1, len(pool)):
        for subset in combinations(pool, size):
            made = _made(dispenser_for(subset, request.max_units), table.rows, request)
            if _totals(made) == _totals(full):
                said = finding(
                    "product-set",
                    f"The plan dispenses {', '.join(p.name for p in subset)} for the whole "
                    f"course: the fewest of the {len(pool)} {request.drug.name} products listed "
                    f"that make every row of the table as closely as all of them.",
                    "taper: a pharmacy dispenses few products for a course",
                )
                return subset, made, said
    return pool, full, None


def _totals(made: _Made) -> list[Decimal | None]:
    return [None if shares is None else sum(shares, Decimal(0)) for shares in made]
