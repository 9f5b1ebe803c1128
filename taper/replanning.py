"""Re-planning mid-taper: keep what has been, hold or slow down from a date.

The steps before the date stay as they were (the history); a step the date
falls inside is cut short the day before; from the date, an optional hold at
the patient's actual dose, then the new rule from that dose. Going back up is
allowed only as a stated choice (``reinstate``), and is said in a finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from .catalog import Catalog, Product, load_catalog
from .dispensing import dispenser_for, with_liquid
from .doses import format_mg, parse_dose
from .endby import plan_taper
from .errors import InputError, PlanRefused
from .request import make_identity, parse_start, resolve
from .rules import Rule, Table, TableRow
from .schedule import Administration, Identity, Replan, Schedule, Step
from .validation import PLANNER_CODES, check, finding, parse_overrides, refuse_errors
from .wording import option


def replan(
    schedule: Schedule,
    on: date | str,
    *,
    current_dose: str | Decimal | None = None,
    hold_days: int = 0,
    rule: Rule | str | None = None,
    reinstate: str | Decimal | None = None,
    reason: str = "",
    catalog: Catalog | None = None,
    overrides: Any = None,
    reduce: str | None = None,
    every: str | None = None,
    max_cut: str | None = None,
    longest_step: str | None = None,
    patient_name: str | None = None,
    patient_id: str | None = None,
    date_of_birth: date | str | None = None,
    prescriber: str | None = None,
    end_by: date | str | None = None,
) -> Schedule:
    """Re-plan ``schedule`` from ``on``, keeping the steps before it as they were.

    Parameters
    ----------
    on
        The first day of the new part.
    current_dose
        The daily dose the patient actually takes on ``on`` (default: the plan's).
    hold_days
        Days to stay at that dose before the new rule starts.
    rule
        The rule from then on (default: the plan's own): a Rule, a preset or a protocol file.
    reduce, every, max_cut, longest_step
        The rule from then on, or the plan's own, changed as :func:`taper.build_rule` changes
        a rule (``reduce="5%"``, ``every="28d"``); the plan's own rule must be a preset.
    reinstate
        A higher dose to go back to, as a stated choice (a finding records it).
    reason
        Why the plan changed; kept in every export.
    patient_name, patient_id, date_of_birth, prescriber
        Who the plan is for and who prescribes it, in place of what the plan says (as
        :func:`taper.plan` takes them); the plan's own where not given.

    Examples
    --------
    >>> from taper import plan
    >>> first = plan("clonazepam", "2 mg", start="2027-01-04")
    >>> again = replan(first, "2027-03-01", hold_days=28, rule="joint-guideline-2025-slow",
    ...                reason="withdrawal symptoms")
    >>> again.replan.history, again.steps[again.replan.history].days
    (4, 28)
    """
    cat = catalog or load_catalog()
    day = parse_start(on, "on")
    rx = schedule.prescription
    first_day = schedule.first_day
    if not first_day < day < schedule.stop_date:
        raise InputError(
            "on",
            day.isoformat(),
            f"a day after the plan starts ({first_day.isoformat()}) and before its "
            f"stop ({schedule.stop_date.isoformat()})",
        )
    if schedule.switch is not None and day <= schedule.switch.stages[-1].end:
        raise InputError(
            "on",
            day.isoformat(),
            f"a day after the switch to {schedule.switch.to_drug} ends "
            f"({schedule.switch.stages[-1].end.isoformat()}); a switch is changed by planning "
            f"it again",
        )
    if not 0 <= hold_days <= 365:
        raise InputError("hold_days", hold_days, "0 to 365 days")
    history: list[Step] = []
    planned = Decimal(0)
    for step in schedule.steps:
        if step.start >= day:
            break
        planned = step.dose
        if step.end >= day:
            step = replace(step, days=(day - step.start).days)
        history.append(step)
    if not history:
        planned = rx.start_dose
    actual = planned if current_dose is None else parse_dose(current_dose, "current_dose")
    back = None if reinstate is None else parse_dose(reinstate, "reinstate")
    if back is not None and back <= actual:
        raise InputError(
            "reinstate",
            format_mg(back),
            f"a dose above the current {format_mg(actual)}/day (or leave it out)",
        )
    begin = back if back is not None else actual
    the_rule = _rule(schedule, rule, reduce, every, max_cut, longest_step, end_by is not None)
    # an end date carries into the new part only where it is given again (end_by): the plan's
    # JSON keeps its fitted cut, not its date, so a plan in memory does not carry it either
    the_rule = replace(the_rule, end_by=None)
    if isinstance(the_rule.pace, Table) and (
        (rule is None and the_rule == schedule.rule) or _own_table(the_rule, schedule)
    ):
        the_rule = _rest_of_table(the_rule, schedule, history, day)
    accepted = dict(schedule.overrides)
    accepted.update(parse_overrides(overrides))
    times = rx.times
    # the products the new part starts from: the plan's, but a liquid it brings in only where
    # the products run out of small cuts stays out until then, unless it is taken already
    taking = {
        u.product.id for a in (history[-1].administrations if history else ()) for u in a.units
    }
    base = tuple(
        p
        for p in schedule.products
        if not (schedule.at_low_doses == "liquid" and p.is_liquid and p.id not in taking)
    )
    then: tuple[Product, ...] = ()
    second = _second_set(schedule)
    if second is not None:
        # a plan in two sets of products: the first until the step the second takes over,
        # then the second alone
        switch, first, then = second
        if len(history) + 1 >= switch:
            base, then = then, ()
        else:
            base = first
    taken = [p for p in base if p.is_liquid and p.id in taking]
    if schedule.at_low_doses == "liquid" and taken:
        # on the liquid already: the days held and the new part keep to it
        dispenser = with_liquid(base, taken[0], schedule.max_units)
    else:
        dispenser = dispenser_for(base, schedule.max_units)
    shares = dispenser.split(begin, len(times))
    if shares is None:
        raise PlanRefused(
            "current_dose",
            format_mg(begin),
            "the plan's products cannot make this dose; give one they can",
        )
    held: list[Step] = []
    if hold_days:
        administrations = tuple(
            Administration(t, dispenser.compose(s).units)
            for t, s in zip(times, shares, strict=True)
            if s > 0
        )
        held.append(
            Step(len(history) + 1, day, hold_days, administrations, begin, begin, hold_days, True)
        )
    patient = rx.patient
    offset = len(history) + len(held)
    asked = resolve(
        rx.drug,
        begin,
        rule=the_rule,
        per_day=len(times),
        start=day + timedelta(days=hold_days),
        products=[p.id for p in base],
        region=rx.region,
        max_units=schedule.max_units,
        catalog=_with_products(cat, rx.drug, schedule.products),
        indication=patient.indication,
        age=patient.age,
        weight_kg=patient.weight_kg,
        use_months=patient.use_months,
        overrides=accepted,
        at_low_doses=schedule.at_low_doses,
        first_step=offset + 1,
        end_by=end_by,
    )
    new = plan_taper(replace(asked, then_products=then))
    steps = [*history, *held, *new.steps]
    record = Replan(
        day,
        len(history),
        actual,
        reason,
        back,
        hold_days,
        new.rule_name,
        new.rule_description,
        schedule.rule_name,
    )
    findings = [f for f in new.findings if f.code in PLANNER_CODES]
    # the step a plan in two sets took its second from, where that is among the steps kept
    findings += [
        f
        for f in schedule.findings
        if f.code == "products-from-here" and f.step is not None and f.step <= len(history)
    ]
    findings.append(
        finding(
            "replanned",
            f"Re-planned from {day.isoformat()}: {len(history)} step(s) kept as they were; "
            f"{f'a hold of {hold_days} days at {format_mg(begin)}/day, then ' if hold_days else ''}"
            f"{new.rule_name} from {format_mg(begin)}/day"
            f"{f'. Reason: {reason}' if reason else ''}.",
            new.rule_source,
            len(history) + 1,
        )
    )
    if back is not None:
        findings.append(
            finding(
                "reinstated",
                f"The dose goes back up from {format_mg(actual)}/day to {format_mg(back)}/day on "
                f"{day.isoformat()}, as the clinician chose"
                f"{f' ({reason})' if reason else ''}.",
                f"the clinician's choice ({option('reinstate')})",
                len(history) + 1,
                override=reason or "stated",
            )
        )
    combined = replace(
        schedule,
        steps=tuple(steps),
        findings=tuple(findings),
        replan=record,
        rule=the_rule,
        rule_name=new.rule_name,
        rule_description=new.rule_description,
        rule_source=new.rule_source,
        max_cut=new.max_cut,
        cap_source=new.cap_source,
        products=(*schedule.products, *(p for p in new.products if p not in schedule.products)),
        overrides=tuple(sorted(accepted.items())),
        identity=_identity(schedule, patient_name, patient_id, date_of_birth, prescriber),
    )
    combined = replace(combined, findings=tuple(check(combined, catalog=cat)))
    refuse_errors(combined.findings)
    return combined


def _identity(
    schedule: Schedule,
    name: str | None,
    record: str | None,
    born: date | str | None,
    prescriber: str | None,
) -> Identity:
    """The plan's identity, with what the re-plan gives in place of its parts."""
    own = schedule.identity
    if (name, record, born, prescriber) == (None, None, None, None):
        return own
    return make_identity(
        own.name if name is None else name,
        own.record if record is None else record,
        own.born if born is None else born,
        own.prescriber if prescriber is None else prescriber,
        schedule.prescription.patient.age,
        schedule.first_day,
        own.reference,
    )


def _own_table(rule: Rule, schedule: Schedule) -> bool:
    """Whether ``rule`` is the table the plan was made from, given again (a plan's JSON keeps
    the table's name, not its rows): it has the plan's rule name (a re-plan's, "... (the rest
    of it)", included), and the plan's steps asked for its rows' doses, row after row."""
    table = rule.pace
    assert isinstance(table, Table)
    if rule.name != schedule.rule_name.removesuffix(" (the rest of it)"):
        return False
    return _place(_daily_rows(table, schedule), schedule.steps) is not None


def _daily_rows(table: Table, schedule: Schedule) -> list[TableRow]:
    """The table's rows, each as a dose in mg (a share of the first start stays a share of
    it)."""
    start = schedule.prescription.start_dose
    return [row if row.at else TableRow(row.days, dose_mg=row.daily(start)) for row in table.rows]


def _place(rows: list[TableRow], steps: Sequence[Step]) -> list[int | None] | None:
    """The row each step was made from, in order (``None`` for a re-plan's hold, which asks
    for no cut); a row a re-plan split goes on in the step after. ``None`` where the steps do
    not follow the rows."""
    placed: list[int | None] = []
    row, used = -1, 0
    for step in steps:
        if step.held and step.target == step.previous_dose:
            placed.append(None)  # a hold before a re-plan's new part
            continue
        if row >= 0 and used < rows[row].days and step.target == rows[row].daily(Decimal(0)):
            used += step.days  # the rest of a row a re-plan split
        elif row + 1 < len(rows) and step.target == rows[row + 1].daily(Decimal(0)):
            row, used = row + 1, step.days
        else:
            return None
        placed.append(row)
    return placed


def _rest_of_table(rule: Rule, schedule: Schedule, history: list[Step], day: date) -> Rule:
    """The plan's own table from ``day`` on: the rest of the row it falls in, then the rows
    after it, each as a dose in mg."""
    table = rule.pace
    assert isinstance(table, Table)
    rows = _daily_rows(table, schedule)
    steps: Sequence[Step] = schedule.steps
    placed = _place(rows, steps)
    if placed is None and schedule.replan is not None:
        # the rule is the rest of a table, from a re-plan's new part on
        offset = schedule.replan.history + (1 if schedule.replan.hold_days else 0)
        tail = _place(rows, steps[offset:])
        nothing: list[int | None] = [None] * offset
        placed = None if tail is None else nothing + tail
    assert placed is not None, "a table the plan's steps follow"
    done = [p for p in placed[: len(history)] if p is not None]
    rest = rows if not done else rows[done[-1] + 1 :]
    if done:
        # where ``day`` falls within a row, the rest of it comes first
        last = done[-1]
        spent = sum(h.days for h, p in zip(history, placed, strict=False) if p == last)
        if spent < rows[last].days:
            rest = [replace(rows[last], days=rows[last].days - spent), *rest]
    name = rule.name.removesuffix(" (the rest of it)")
    return replace(rule, pace=Table(tuple(rest)), name=f"{name} (the rest of it)")


def _rule(
    schedule: Schedule,
    rule: Rule | str | None,
    reduce: str | None = None,
    every: str | None = None,
    max_cut: str | None = None,
    longest_step: str | None = None,
    dated: bool = False,
) -> Rule:
    """The rule from the re-plan on: the one given, or the plan's own, with any change; where
    a new end date is ``dated`` and the plan's rule is not known, the default preset's interval
    and cap are the end date's."""
    from .rules import build_rule

    if isinstance(rule, Rule):
        if reduce or every or max_cut or longest_step:
            raise InputError(
                "reduce",
                reduce or every or max_cut or longest_step,
                "a rule given by its name or file, or a change to the plan's own",
            )
        return rule
    if rule is not None or reduce:
        return build_rule(rule, reduce, every, (), max_cut, None, longest_step)
    if schedule.rule is None and dated and not (every or max_cut or longest_step):
        return build_rule()
    if schedule.rule is None:
        raise InputError(
            "rule",
            "",
            f"the plan's rule ({schedule.rule_name}) is not known from the plan (a protocol, or a "
            "preset the clinician changed): give the rule to go on with ({rule}, or {reduce} and "
            "{every})",
        )
    if every or max_cut or longest_step:
        return build_rule(schedule.rule, None, every, (), max_cut, None, longest_step)
    return schedule.rule


def _second_set(
    schedule: Schedule,
) -> tuple[int, tuple[Product, ...], tuple[Product, ...]] | None:
    """For a plan in two sets of products: the step the second takes over from, the first
    set (the products taken before it) and the second (those taken from it); else ``None``."""
    switch = next(
        (f.step for f in schedule.findings if f.code == "products-from-here" and f.step), None
    )
    if switch is None:
        return None

    def taken(steps: Sequence[Step]) -> tuple[Product, ...]:
        ids = {u.product.id for s in steps for a in s.administrations for u in a.units}
        return tuple(p for p in schedule.products if p.id in ids)

    before = [s for s in schedule.steps if s.number < switch]
    after = [s for s in schedule.steps if s.number >= switch]
    if not before or not after:
        return None
    return switch, taken(before), taken(after)


def _with_products(catalog: Catalog, drug: str, products: tuple[Product, ...]) -> Catalog:
    """The catalog with any product the plan used that it does not list (a formulary's)."""
    listed = catalog.drug(drug)
    if all(p in listed.products for p in products):
        return catalog
    # the plan's own products in place of the catalog's of the same id (a tablet halved, a
    # liquid measured otherwise), then any the catalog does not list (a formulary's)
    mine = {p.id: p for p in products}
    kept = tuple(mine.pop(p.id, p) for p in listed.products)
    drugs = dict(catalog.drugs)
    drugs[listed.name] = replace(listed, products=(*kept, *mine.values()))
    return replace(catalog, drugs=drugs)
