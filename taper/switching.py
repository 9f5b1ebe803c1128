"""Switching to a longer-acting drug before the taper, in the Ashton Manual's manner.

One administration at a time, over stages of about a week, each dose of the
drug taken now is replaced by its equivalent of the new drug (diazepam by
default), made from real tablets and never more than the equivalent, so the
day's equivalent total never rises. The bedtime dose goes first by default, as
in NHS Scotland's published lorazepam-to-diazepam schedule. Then the new drug
is tapered under the chosen rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from .dispensing import Dispenser, dispenser_for
from .doses import format_mg, normalize
from .endby import plan_taper
from .equivalence import GUIDANCE, convert, exact_ratio, mg_of
from .errors import FindingsRefused, PlanRefused
from .request import (
    PlanRequest,
    allow_halving,
    refuse_unknown_halving,
    remeasure,
    resolve,
    select_products,
    unit_limit,
)
from .schedule import Administration, Finding, Schedule, Stage, Switch
from .validation import check, finding, refuse_errors


def _largest_at_most(dispenser: Dispenser, limit: Fraction) -> Decimal:
    """The largest dose one administration can hold that is not above ``limit``."""
    fitting = [v for v in dispenser.values if Fraction(v) <= limit]
    return fitting[-1] if fitting else Decimal(0)


def _stages(
    snapshots: Sequence[Mapping[str, Decimal]],
    times: Sequence[str],
    shares: Sequence[Decimal],
    old: Dispenser,
    new: Dispenser,
    ratio: Fraction,
    first_day: date,
    stage_days: int,
) -> list[Stage]:
    """The stages, each with the doses it has replaced made from ``new``, the rest from
    ``old``; each lasts ``stage_days`` from ``first_day`` on."""
    stages = []
    day = first_day
    for k, replaced in enumerate(snapshots, start=1):
        administrations = []
        total = Fraction(0)
        for t, share in zip(times, shares, strict=True):
            if t in replaced:
                units = new.compose(replaced[t]).units
                total += Fraction(replaced[t])
            else:
                units = old.compose(share).units
                total += Fraction(share) * ratio
            if units:
                administrations.append(Administration(t, units))
        stages.append(Stage(k, day, stage_days, tuple(administrations), mg_of(total)))
        day += timedelta(days=stage_days)
    return stages


def _after_switch(exc: PlanRefused, drug: str) -> PlanRefused:
    """A refusal of the new drug's part, saying that its dose is the switched one."""
    return PlanRefused(
        exc.field if exc.field != "dose" else "switch_to",
        f"{exc.given} of {drug}" if exc.field == "dose" else exc.given,
        f"after the switch, {exc.allowed}",
        exc.hint,
    )


def plan_switch(request: PlanRequest) -> Schedule:
    """Switch from the request's drug to its ``switch.to`` in stages, then taper the new drug.

    The returned :class:`~taper.schedule.Schedule` is the taper of the new drug; its
    ``switch`` holds the stages before it. The request's products are the first drug's, the
    switch's the new drug's, for the stages and the taper.

    Examples
    --------
    >>> from taper.request import resolve
    >>> s = plan_switch(resolve("alprazolam", "3 mg", switch_to="diazepam",
    ...                         table="va-dod-2021", start="2027-01-04"))
    >>> [str(stage.equivalent) for stage in s.switch.stages]
    ['30', '30', '30']
    """
    switching = request.switch
    assert switching is not None, "a request with a switch"
    cat, source, target, table = request.catalog, request.drug, switching.to, switching.table
    start_dose, n, times, region = request.dose, request.per_day, request.times, request.region
    first_day, stage_days, accepted = request.start, switching.stage_days, request.accepted
    max_units = request.asked.get("max_units")
    conversion = convert(Decimal(1), source.name, target.name, table=table, catalog=cat)
    ratio = exact_ratio(conversion.table, source.name, target.name)
    whole = convert(start_dose, source.name, target.name, table=table, catalog=cat)
    the_rule = request.rule
    tokens = the_rule.halve
    increment = request.liquid_increment
    old_products, old_unmatched = request.products, switching.halve_unmatched
    old_limit, old_raised = request.max_units, request.units_raised
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
        remeasure(
            select_products(target, region, switching.products, "switch_products"), increment
        ),
        tokens,
    )
    refuse_unknown_halving(
        [t for t in old_unmatched if t in new_unmatched],
        [source, target],
        (*old_products, *new_products),
    )
    try:
        new_limit, new_raised = unit_limit(
            new_products, mg_of(start_equivalent), n, max_units, target.name
        )
    except PlanRefused as exc:
        raise _after_switch(exc, target.name) from None
    new = dispenser_for(new_products, new_limit)
    order = tuple(reversed(times)) if switching.order == "bedtime-first" else times
    findings: list[Finding] = [f for f in (old_raised, new_raised) if f is not None]
    findings.append(
        finding(
            "switch-equivalence",
            f"{format_mg(start_dose)}/day of {source.name} is taken as "
            f"{format_mg(whole.value)}/day of {target.name} by the {conversion.table.title}; "
            f"the tables range from {format_mg(whole.spread[0])} to "
            f"{format_mg(whole.spread[1])}. {GUIDANCE}",
            conversion.source,
        )
    )
    replaced: dict[str, Decimal] = {}
    snapshots: list[dict[str, Decimal]] = []  # the doses replaced by each stage
    for k, time in enumerate(order, start=1):
        share = shares[times.index(time)]
        # the new drug's dose for this administration: its equivalent, made from real
        # tablets, never above it, so the day's equivalent total cannot rise
        replaced[time] = _largest_at_most(new, Fraction(share) * ratio)
        if replaced[time] == 0 and share > 0:
            findings.append(
                finding(
                    "switch-dose-dropped",
                    f"The {time} dose of {format_mg(share)} {source.name} is equivalent to less "
                    f"than the smallest {target.name} dose the products make, so it is stopped "
                    f"at stage {k}.",
                    conversion.source,
                )
            )
        snapshots.append(dict(replaced))
    stages = _stages(snapshots, times, shares, old, new, ratio, first_day, stage_days)
    new_total = normalize(sum(replaced.values(), Decimal(0)))
    if new_total <= 0:
        raise PlanRefused(
            "dose", format_mg(start_dose), f"no {target.name} dose the products make is this small"
        )
    try:
        patient = request.patient
        taper_request = resolve(
            target.name,
            new_total,
            rule=replace(the_rule, halve=()),
            per_day=n,
            start=first_day + timedelta(days=stage_days * len(snapshots)),
            region=region,
            products=[p.id for p in new_products] if switching.products else None,
            max_units=max_units,
            catalog=cat,
            age=patient.age,
            weight_kg=patient.weight_kg,
            use_months=patient.use_months,
            overrides=accepted,
            at_low_doses=request.at_low_doses,
            halve=[t for t in tokens if t not in new_unmatched],
            liquid_increment=request.asked.get("liquid_increment"),
            start_shares=[replaced.get(t, Decimal(0)) for t in times],
        )
        # an end date is met by the taper after the switch, as any plan meets it
        taper_plan = plan_taper(taper_request)
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
    chosen = tuple(p for p in taper_plan.products if p.drug == target.name)
    if set(chosen) != set(new_products):
        # the taper dispenses fewer of the new drug's products: the stages take them too,
        # where they make every dose replaced, so the course dispenses one set
        theirs = dispenser_for(chosen, new_limit)
        if all(v == 0 or v in theirs.best for v in replaced.values()):
            stages = _stages(snapshots, times, shares, old, theirs, ratio, first_day, stage_days)
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
        indication=request.patient.indication,
    )
    tapered = taper_plan.findings
    if new_raised is not None:  # said once, naming the drug, from the switch's start
        tapered = tuple(f for f in tapered if f.code != "units-limit-raised")
    switched = replace(
        taper_plan,
        identity=request.identity,
        switch=switch,
        findings=(*findings, *tapered),
        overrides=tuple(sorted(accepted.items())),
    )
    switched = replace(switched, findings=tuple(check(switched, catalog=cat)))
    refuse_errors(switched.findings)
    return switched
