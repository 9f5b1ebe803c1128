"""Property tests: every plan taper returns keeps the eight invariants of the design."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from taper import plan
from taper.catalog import load_catalog, load_formulary
from taper.dispensing import dispenser_for
from taper.errors import PlanRefused, TaperError
from taper.reports import csv_text, to_json
from taper.rules import PRESETS, FixedAmount, PercentOfCurrent, PercentOfStart, Rule
from taper.schedule import Schedule
from taper.validation import check

from .conftest import plan_json_problems

D = Decimal
CATALOG = load_formulary(load_catalog(), Path(__file__).parent / "data" / "formulary.toml")
ISMP = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")
DRUG_REGIONS = [
    (drug.name, region)
    for drug in CATALOG.drugs.values()
    for region in ("us", "uk")
    if any(p.is_solid for p in drug.products_in(region))
]


doses = st.decimals(min_value=D("0.125"), max_value=D(20), places=3).map(lambda d: d.normalize())
custom_rules = st.one_of(
    st.builds(
        lambda p, n, cap: Rule("pct", PercentOfCurrent(D(p) / 100, n), max_cut=D(cap) / 100),
        st.integers(1, 50),
        st.integers(1, 56),
        st.integers(10, 90),
    ),
    st.builds(
        lambda p, n, cap: Rule("start", PercentOfStart(D(p) / 100, n), max_cut=D(cap) / 100),
        st.integers(5, 50),
        st.integers(1, 56),
        st.integers(10, 90),
    ),
    st.builds(
        lambda mg, n, cap: Rule("fixed", FixedAmount(D(mg) / 8, n), max_cut=D(cap) / 100),
        st.integers(1, 40),
        st.integers(1, 56),
        st.integers(10, 90),
    ),
)


@st.composite
def prescriptions(draw: st.DrawFn) -> dict[str, object]:
    drug, region = draw(st.sampled_from(DRUG_REGIONS))
    applicable = [r for r in PRESETS.values() if not r.drugs or drug in r.drugs]
    rule = draw(st.one_of(st.sampled_from(applicable), custom_rules))
    products = [p for p in CATALOG.drug(drug).products_in(region) if p.is_solid and p.usable]
    has_liquid = any(p.is_liquid and p.usable for p in CATALOG.drug(drug).products_in(region))
    strategies = ["stretch", "stop", *(["liquid"] if has_liquid else [])]
    chosen = draw(
        st.one_of(st.just(products), st.lists(st.sampled_from(products), min_size=1, unique=True))
    )
    # the clinician may allow halving a tablet with a break line (off-licence)
    lined = [p.id for p in chosen if p.break_line]
    halve = draw(st.lists(st.sampled_from(lined), unique=True)) if lined else []
    smallest = min(p.strength_mg for p in products if p.strength_mg is not None)
    made = st.integers(2, 60).map(lambda k: min(D(20), smallest * k / 2).normalize())
    return {
        "drug": drug,
        "dose": draw(st.one_of(made, doses)),
        "rule": rule,
        "region": region,
        "per_day": draw(st.integers(1, 4)),
        "products": [p.id for p in chosen],
        "max_units": draw(st.integers(2, 6)),
        "at_low_doses": draw(st.sampled_from(strategies)),
        "cut_order": draw(st.sampled_from([None, "even", "morning-first", "bedtime-last"])),
        "start": date(2027, 1, 4) + timedelta(days=draw(st.integers(0, 400))),
        "halve": halve,
    }


def _plan(kw: dict[str, object]) -> Schedule | None:
    """The plan, or None when it is refused (the other test checks refusals are clean)."""
    try:
        return plan(
            kw["drug"],  # type: ignore[arg-type]
            kw["dose"],  # type: ignore[arg-type]
            rule=kw["rule"],  # type: ignore[arg-type]
            region=kw["region"],  # type: ignore[arg-type]
            per_day=kw["per_day"],  # type: ignore[arg-type]
            products=kw["products"],  # type: ignore[arg-type]
            max_units=kw["max_units"],  # type: ignore[arg-type]
            start=kw["start"],  # type: ignore[arg-type]
            at_low_doses=kw["at_low_doses"],  # type: ignore[arg-type]
            cut_order=kw["cut_order"],  # type: ignore[arg-type]
            halve=kw["halve"],  # type: ignore[arg-type]
            catalog=CATALOG,
        )
    except PlanRefused:
        return None


def assert_invariants(schedule: Schedule, kw: dict[str, object]) -> None:
    rx = schedule.prescription
    allowed = set(kw["products"])  # type: ignore[call-overload]
    if kw["at_low_doses"] == "liquid":
        allowed |= {p.id for p in CATALOG.drug(rx.drug).products if p.is_liquid}
    assert schedule.steps, "a plan has at least one reduced step"
    rule = schedule.rule
    assert rule is not None
    made = dispenser_for(
        tuple(p for p in schedule.products if p.usable), schedule.max_units
    ).daily_doses(rx.doses_per_day)
    found = {f.code: f for f in schedule.findings}
    forced = {f.step for f in schedule.findings if f.code == "forced-cut"}
    previous = rx.start_dose
    day = rx.start_date
    for step in schedule:
        # 1. dispensable: exact sums of allowed units, split only as far as allowed
        for admin in step.administrations:
            assert admin.units
            assert sum(u.pieces for u in admin.units) <= kw["max_units"]  # type: ignore[operator]
            for unit in admin.units:
                assert unit.product.id in allowed
                assert unit.count > 0
                if unit.product.is_liquid:
                    assert unit.count == int(unit.count)  # whole measures
                    continue
                assert unit.count % unit.product.split == 0
                if unit.count % 1:  # a part tablet: scored, or a break line the clinician allowed
                    assert unit.product.split < 1
                    assert unit.product.id in kw["halve"] or not unit.product.break_line  # type: ignore[operator]
                if unit.product.form in ("odt", "er-tablet", "capsule"):
                    assert unit.count == int(unit.count)
        # 2. never up (a table's row the products make no lower than the row before holds
        # that dose, said as a hold)
        assert 0 < step.dose < previous or (step.held and step.dose == previous), step.number
        # 3. within the rule's cap, or a cut the products force (nothing they make lies
        # between the dose before and after it), named in a warning
        if (previous - step.dose) / previous > schedule.max_cut:
            assert not [v for v in made if step.dose < v < previous], step.number
            assert step.number in forced, step.number
        # no step is held longer than taper's bound on a lengthened step, but for a hold
        if step.days > max(rule.longest_step_days, step.rule_days):
            assert step.held and step.days in {h.days for h in rule.holds}
        # 4. one truth: the day's dose is the sum of its administrations and their units
        assert step.dose == sum(a.dose for a in step.administrations)
        assert step.dose == sum(u.dose for a in step.administrations for u in a.units)
        # 5. complete: contiguous days
        assert step.start == day
        assert step.days >= 1
        day = step.end + timedelta(days=1)
        previous = step.dose
    assert schedule.stop_date == day
    assert schedule.duration_days == (schedule.stop_date - rx.start_date).days
    # 5. ... down to the terminal dose (the smallest daily dose the products make), or the
    # clinician's final dose, or where they asked to stop; and a finding says how it stops
    last = schedule.steps[-1].dose
    terminal = next(v for v in made if v > 0)
    final = rule.final_level(rx.start_dose)
    assert (
        last == terminal or (final is not None and last <= final) or "stopped-at-low-dose" in found
    ), (last, terminal, final)
    if last == terminal:
        assert "stop" in found and "final-dose-large" not in found
    else:
        assert "final-dose-large" in found and "stop" not in found
        assert found["final-dose-large"].severity == "warning"
    # 4. one truth: the supply covers every dose, counting halves of whole tablets
    # (and millilitres of a liquid)
    need: dict[str, Decimal] = {}
    for step in schedule:
        for admin in step.administrations:
            for unit in admin.units:
                each = unit.volume_ml if unit.product.is_liquid else unit.count
                need[unit.product.id] = need.get(unit.product.id, D(0)) + each * step.days
    for product, quantity in schedule.dispensing():
        # a liquid with a pack size is supplied in whole bottles, else in mL
        each = product.pack_ml if product.is_liquid and product.pack_ml else D(1)
        assert need[product.id] <= quantity * each < need[product.id] + each
        assert quantity == int(quantity)


def assert_exports(schedule: Schedule) -> None:
    text = to_json(schedule)
    # 7. reproducible
    assert text == to_json(schedule)
    data = json.loads(text)
    # 6. exact, printed the ISMP way
    for step in data["steps"]:
        assert ISMP.match(step["daily_dose_mg"])
        for admin in step["administrations"]:
            assert ISMP.match(admin["dose_mg"])
    for row in csv_text(schedule).splitlines()[1:]:
        assert ".0," not in row
        assert ",." not in row
    assert plan_json_problems(text) == []


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prescriptions())
def test_every_plan_keeps_the_invariants(kw: dict[str, object]) -> None:
    schedule = _plan(kw)
    event("planned" if schedule is not None else "refused")
    if schedule is None:
        return
    assert_invariants(schedule, kw)
    assert_exports(schedule)
    # a plan taper returns has no error that taper.check finds, unless it was overridden
    assert [f for f in check(schedule) if f.severity == "error" and not f.override] == []


@settings(max_examples=60, deadline=None)
@given(prescriptions())
def test_refusals_are_taper_errors(kw: dict[str, object]) -> None:
    try:
        _plan(kw)
    except TaperError as exc:
        assert str(exc)
        assert "\n" not in str(exc)
