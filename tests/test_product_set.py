"""The products a plan dispenses for its whole course, checked against every set on small
cases: the fewest that plan it as closely as all of them, one form a dose."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from itertools import combinations
from pathlib import Path

import pytest

import taper
from taper.dispensing import dispenser_for
from taper.errors import PlanRefused
from taper.plan_json import read_plan, to_json
from taper.planner import DEPARTURES, make_plan
from taper.request import resolve
from taper.schedule import Schedule, Step

from .test_doses import numbers

START = "2027-01-04"
#: small pools of real clonazepam products, with the dose and rule each is planned under
CASES = [
    ("2 mg", None, ("tab-0.5", "tab-1", "odt-0.125", "odt-0.25")),
    ("1.5 mg", "bnf-eighth", ("tab-0.5", "tab-2", "odt-0.125", "odt-0.5")),
    ("3 mg", "fda-label-clonazepam", ("tab-1", "odt-0.125", "odt-0.25", "odt-1")),
]


def _measure(schedule: Schedule) -> tuple[Decimal, int, int, tuple[int, ...]]:
    """What a set must keep up with: the stop, the forced cuts, the doses mixing forms, how
    often the plan departs from the rule, and how many cuts not forced stray from the rule's
    (more than 1.5 times the cut asked, or less than two thirds of it)."""
    codes = [f.code for f in schedule.findings]
    mixed = sum(
        1
        for s in schedule.steps
        for a in s.administrations
        if len({u.product.taken for u in a.units}) > 1
    )
    forced = {f.step for f in schedule.findings if f.code == "forced-cut"}
    strayed = 0
    for s in schedule.steps:
        asked = s.previous_dose - max(s.target, Decimal(0))
        made = s.previous_dose - s.dose
        if made > 0 and s.number not in forced:
            strayed += made > asked * Decimal("1.5") or made * Decimal("1.5") < asked
    return (
        schedule.steps[-1].dose,
        codes.count("forced-cut"),
        mixed,
        (*(codes.count(c) for c in DEPARTURES), strayed),
    )


def _keeps_up(mine: tuple, full: tuple) -> bool:  # type: ignore[type-arg]
    return (
        mine[0] == full[0]
        and mine[1] <= full[1]
        and mine[2] <= full[2]
        and all(a <= b for a, b in zip(mine[3], full[3], strict=True))
    )


@pytest.mark.parametrize(("dose", "rule", "pool"), CASES)
def test_the_set_is_the_fewest_that_plan_as_closely_as_all(
    dose: str, rule: str | None, pool: tuple[str, ...]
) -> None:
    ids = [f"clonazepam-{p}" for p in pool]
    asked = resolve("clonazepam", dose, rule=rule, products=ids, start=START)
    products = asked.products
    start = Decimal(dose.split()[0])
    chosen = make_plan(replace(asked, products_chosen=False))
    full = _measure(make_plan(asked))
    fewest = None
    for size in range(1, len(products) + 1):
        for subset in combinations(products, size):
            # a set must make the starting dose too: the first step's doses fall from it
            if dispenser_for(subset, asked.max_units).split(start, len(asked.times)) is None:
                continue
            try:
                schedule = make_plan(replace(asked, products=subset))
            except PlanRefused:
                continue
            if _keeps_up(_measure(schedule), full):
                fewest = size
                break
        if fewest is not None:
            break
    used = {u.product.id for s in chosen.steps for a in s.administrations for u in a.units}
    assert len(chosen.products) == fewest
    assert used <= {p.id for p in chosen.products}
    assert _keeps_up(_measure(chosen), full)
    said = next(f for f in chosen.findings if f.code == "product-set")
    assert all(p.name in said.message for p in chosen.products)
    assert f"the fewest of the {len(products)} clonazepam products" in said.message


def test_named_products_are_kept_as_named() -> None:
    named = ["clonazepam-tab-0.5", "clonazepam-tab-1", "clonazepam-odt-0.125"]
    schedule = taper.plan("clonazepam", "2 mg", products=named, start=START)
    assert [p.id for p in schedule.products] == named
    assert "product-set" not in {f.code for f in schedule.findings}


def test_products_named_in_one_string_are_split_at_commas_not_into_letters() -> None:
    """A notebook user may write the names as the command line takes them: one string."""
    named = ["clonazepam-tab-0.5", "clonazepam-tab-1", "clonazepam-odt-0.125"]
    as_list = taper.plan("clonazepam", "2 mg", products=named, start=START)
    as_text = taper.plan("clonazepam", "2 mg", products=" , ".join(named), start=START)
    assert as_text.steps == as_list.steps
    switched = taper.plan(
        "alprazolam", "1 mg", switch_to="diazepam", switch_products="diazepam-tab-2",
        start=START,
    )  # fmt: skip
    assert {p.id for p in switched.products if p.drug == "diazepam"} == {"diazepam-tab-2"}
    halved = taper.plan(
        "diazepam", "10 mg", region="uk", halve="diazepam-tab-2-uk", start=START,
        rule="nhs-scotland-diazepam",
    )  # fmt: skip
    assert "halving-off-licence" in {f.code for f in halved.findings}


def test_clonazepam_2_mg_is_two_odts_one_form_a_dose_one_piece_at_a_time() -> None:
    """The dispensing issue's first plan: three products and a half tablet swallowed with an
    ODT in one dose, before; two ODT strengths now, changing one piece at a time."""
    schedule = taper.plan("clonazepam", "2 mg", start=START)
    assert [p.id for p in schedule.products] == ["clonazepam-odt-0.125", "clonazepam-odt-0.5"]
    for step in schedule.steps:
        for admin in step.administrations:
            assert len({u.product.taken for u in admin.units}) == 1
    moves = []
    for before, after in zip(schedule.steps, schedule.steps[1:], strict=False):
        for admin in after.administrations:
            old = before.at(admin.time)
            if old is not None and {u.product.id for u in old.units} == {
                u.product.id for u in admin.units
            }:
                counts = {u.product.id: u.count for u in old.units}
                moves.append(sum(abs(counts[u.product.id] - u.count) for u in admin.units))
    assert moves and max(moves) == 1
    said = next(f for f in schedule.findings if f.code == "product-set")
    assert numbers(said.message) == ["0.125", "0.5", "8", "0.125", "2"]
    assert "mixed-forms" not in {f.code for f in schedule.findings}


def test_a_dose_that_must_mix_forms_is_named() -> None:
    # a 0.5 mg tablet (halved) and a 0.125 mg ODT: 0.875 mg is 1½ tablets and an ODT
    schedule = taper.plan(
        "clonazepam", "1.75 mg", products=["clonazepam-tab-0.5", "clonazepam-odt-0.125"],
        start=START,
    )  # fmt: skip
    mixed = [f for f in schedule.findings if f.code == "mixed-forms"]
    assert mixed and mixed[0].severity == "warning"
    assert "tablet and ODT" in mixed[0].message or "ODT and tablet" in mixed[0].message
    steps = {
        s.number
        for s in schedule.steps
        for a in s.administrations
        if len({u.product.taken for u in a.units}) > 1
    }
    assert mixed[0].step == min(steps)
    assert taper.check(schedule) == list(schedule.findings)


def test_a_switch_dispenses_one_set_of_the_new_drug_for_stages_and_taper() -> None:
    """The dispensing issue's fourth plan: the stages took 10 mg diazepam tablets and the taper
    2 mg and 5 mg ones, three products of one drug; the stages now take the taper's."""
    schedule = taper.plan(
        "alprazolam",
        "3 mg",
        switch_to="diazepam",
        overrides={"dose-above-range": "transferred"},
        start=START,
    )
    assert schedule.switch is not None
    staged = {
        u.product.id
        for stage in schedule.switch.stages
        for a in stage.administrations
        for u in a.units
        if u.product.drug == "diazepam"
    }
    tapered = {u.product.id for s in schedule.steps for a in s.administrations for u in a.units}
    assert staged <= tapered == {"diazepam-tab-2", "diazepam-tab-5"}
    # 60 mg/day of diazepam in three doses: four 5 mg tablets a dose, within the limit of 4
    assert [str(s.equivalent) for s in schedule.switch.stages] == ["60", "60", "60"]
    assert not [f for f in taper.check(schedule) if f.severity == "error" and not f.override]


def _not_one_fewer(schedule: Schedule) -> list[int]:
    """The steps where a dose of the day takes a tablet it did not, or loses more than one."""
    found = []
    for before, after in zip(schedule.steps, schedule.steps[1:], strict=False):
        for admin in before.administrations:
            now = after.at(admin.time)
            old = {u.product.id: u.count for u in admin.units}
            new = {u.product.id: u.count for u in now.units} if now is not None else {}
            gained = any(c > old.get(pid, 0) for pid, c in new.items())
            lost = sum(c - new.get(pid, 0) for pid, c in old.items())
            if gained or lost > 1:
                found.append(after.number)
                break
    return found


def test_a_switch_to_diazepam_goes_down_one_tablet_at_a_time() -> None:
    """The dispensing issue's fourth plan: the bedtime dose went from one 5 mg to two 2 mg
    tablets and back at almost every step; now, once the day is in 2 mg tablets, each step
    takes one 2 mg tablet away at one time. The 5 mg tablet comes back only for the last
    once-a-day doses (5 mg, then 4 mg, then 2 mg), which the two tablets cannot make otherwise
    within the cap."""
    schedule = taper.plan(
        "alprazolam", "3 mg", switch_to="diazepam", table="va-dod-2021", start=START
    )
    assert {p.id for p in schedule.products if p.drug == "diazepam"} == {
        "diazepam-tab-2", "diazepam-tab-5",
    }  # fmt: skip
    assert _not_one_fewer(schedule) == [2, 12, 13]
    assert [str(s.dose) for s in schedule.steps][:12] == [
        "27", "24", "22", "20", "18", "16", "14", "12", "10", "8", "6", "5",
    ]  # fmt: skip
    # each cut the tablets make below the rule's is lengthened to keep its pace
    for step in schedule.steps[:11]:
        if step.dose < step.target:
            assert step.days > 14


def test_a_set_that_would_leave_days_lopsided_is_not_chosen() -> None:
    """Two products (0.125 mg and 2 mg ODTs) make clonazepam 40 mg down to the end, but with
    days of 0.25 mg in the morning against 4 mg at bedtime: a third strength keeps each day's
    doses within the largest tablet taken that day."""
    schedule = taper.plan(
        "clonazepam", "40 mg", overrides={"dose-above-range": "transferred"}, start=START
    )
    assert len(schedule.products) == 3
    for step in schedule.steps:
        doses = [a.dose for a in step.administrations]
        doses += [Decimal(0)] * (schedule.prescription.doses_per_day - len(doses))
        largest = max(u.product.step_mg for a in step.administrations for u in a.units)
        assert max(doses) - min(doses) <= largest, step.number


def _taken(steps: Sequence[Step]) -> set[str]:
    return {u.product.id for s in steps for a in s.administrations for u in a.units}


def _spread(step: Step, per_day: int) -> Decimal:
    """How far a day's doses differ: its largest less its smallest (none taken is 0)."""
    doses = [a.dose for a in step.administrations]
    doses += [Decimal(0)] * (per_day - len(doses))
    return max(doses) - min(doses)


def test_clonazepam_40_mg_is_two_sets_of_two_products_at_most() -> None:
    """The dispensing issue's 40 mg plan took three products into one dose (2 mg, 1 mg and
    0.125 mg ODTs: "5 A + 1 C + 4 B"): no set of two follows the rule to the end as all of
    them do, so the plan dispenses the 2 mg and 0.5 mg tablets (halved), then the 0.125 mg
    ODT alone from the step the tablets stray from the rule's cut. Each dose is one form of at
    most two products, each day's doses within a piece of each other, and each fill but the
    one the change falls in dispenses at most two products."""
    schedule = taper.plan(
        "clonazepam", "40 mg", overrides={"dose-above-range": "transferred"}, start=START
    )
    switch = next(f for f in schedule.findings if f.code == "products-from-here")
    assert switch.severity == "info" and switch.step == 32
    assert numbers(switch.message) == ["32", "1.5", "0.125", "0.5", "2", "1.5"]
    before = [s for s in schedule.steps if s.number < 32]
    after = [s for s in schedule.steps if s.number >= 32]
    assert _taken(before) == {"clonazepam-tab-2", "clonazepam-tab-0.5"}
    assert _taken(after) == {"clonazepam-odt-0.125"}
    assert after[-1].dose == Decimal("0.125")
    for step in schedule.steps:
        piece = Decimal("0.25") if step.number < 32 else Decimal("0.125")
        assert _spread(step, schedule.prescription.doses_per_day) <= piece, step.number
        for admin in step.administrations:
            assert len({u.product.id for u in admin.units}) <= 2
            assert len({u.product.taken for u in admin.units}) == 1
    change = next(f for f in schedule.fills() if f[0] <= after[0].start < f[1])
    for fill in schedule.fills():
        assert len(fill[2]) <= (3 if fill is change else 2)
    said = next(f for f in schedule.findings if f.code == "product-set")
    assert "to step 31, then clonazepam 0.125 mg orally disintegrating tablet from step 32" in (
        said.message
    )
    assert "3 products in all" in said.message
    # what one set for the whole course would gain, and how to ask for it
    assert "one set of" in said.message
    assert "products=['clonazepam-odt-0.125', 'clonazepam-odt-0.5', 'clonazepam-odt-2']" in (
        said.message
    )
    assert "mixed-forms" not in {f.code for f in schedule.findings}


def test_clonazepam_20_mg_by_eighths_takes_two_products_a_dose_not_five() -> None:
    """Clonazepam 20 mg under bnf-eighth took all five ODT strengths, up to five in one dose
    ("1 A + 1 C + 1 B + 1 D + 1 E"), because a smaller set more often made a dose other than
    the rule's (its step lengthened to keep the pace). Within the cap, to the same stop and
    with no more forced cuts, two sets of two do: the 2 mg and 0.5 mg tablets, then the
    0.125 mg ODT; the finding says what one set of all of them would gain."""
    schedule = taper.plan(
        "clonazepam", "20 mg", rule="bnf-eighth", start=START,
        overrides={"dose-above-range": "transferred"},
    )  # fmt: skip
    assert _taken(schedule.steps) == {
        "clonazepam-tab-2", "clonazepam-tab-0.5", "clonazepam-odt-0.125"
    }  # fmt: skip
    for step in schedule.steps:
        for admin in step.administrations:
            assert len({u.product.id for u in admin.units}) <= 2
            assert len({u.product.taken for u in admin.units}) == 1
    assert schedule.steps[-1].dose == Decimal("0.125")
    codes = [f.code for f in schedule.findings]
    assert codes.count("forced-cut") == 2
    assert "cut-above-cap" not in codes
    said = next(f for f in schedule.findings if f.code == "product-set")
    assert "follows the rule within its cap as all of them do" in said.message
    assert "3 products in all (down to 0.125 mg/day, 2 forced cuts)" in said.message
    assert "would keep closer to the rule's" in said.message


def test_two_sets_are_the_fewest_products_that_plan_as_closely_as_all() -> None:
    """Every pair of sets of one or two of a small pool, each planned with the second taking
    over where the first strays: the plan's choice has no more products in all than any pair
    that keeps up with all of the pool (and with its even days), and keeps up itself."""
    pool = [f"clonazepam-{p}" for p in ("tab-0.5", "tab-2", "odt-0.125", "odt-2")]
    asked = resolve(
        "clonazepam", "40 mg", products=pool, start=START,
        overrides={"dose-above-range": "transferred"},
    )  # fmt: skip
    products = asked.products
    full = make_plan(asked)
    chosen = make_plan(replace(asked, products_chosen=False))
    assert "products-from-here" in {f.code for f in chosen.findings}

    def uneven(schedule: Schedule) -> int:
        """The days whose doses differ by more than the smallest piece of the set taken."""
        switch = next((f.step for f in schedule.findings if f.code == "products-from-here"), None)
        phases = [list(schedule.steps)]
        if switch is not None:
            phases = [
                [s for s in schedule.steps if s.number < switch],
                [s for s in schedule.steps if s.number >= switch],
            ]
        count = 0
        for steps in phases:
            if not steps:  # a second set from the first step: one set, tried already
                continue
            taken = _taken(steps)
            piece = min(p.step_mg * p.split for p in schedule.products if p.id in taken)
            count += sum(_spread(step, len(asked.times)) > piece for step in steps)
        return count

    sets = [s for size in (1, 2) for s in combinations(products, size)]
    fewest = None
    for first in sets:
        for then in sets:
            if first == then:
                continue
            try:
                schedule = make_plan(replace(asked, products=first, then_products=then))
            except PlanRefused:
                continue
            if (
                "products-from-here" in {f.code for f in schedule.findings}
                and _keeps_up(_measure(schedule), _measure(full))
                and uneven(schedule) <= uneven(full)
            ):
                size = len(_taken(schedule.steps))
                fewest = size if fewest is None else min(fewest, size)
    assert fewest is not None
    assert len(_taken(chosen.steps)) == fewest
    assert _keeps_up(_measure(chosen), _measure(full))


def test_a_liquid_at_low_doses_counts_among_the_products_a_plan_dispenses() -> None:
    """UK clonazepam 2 mg with the liquid at low doses dispensed both tablets (the 2 mg one
    for one step only) and the liquid, and went back from the liquid to a tablet whenever a
    dose was one tablet. The liquid alone makes every dose of the plan, within the cap and
    down to the same stop, closer to the rule than halves of the 0.5 mg tablet (1.625 mg/day
    where they make 1.5), so the plan dispenses the one product; once on a liquid, a plan
    stays on it."""
    schedule = taper.plan("clonazepam", "2 mg", region="uk", at_low_doses="liquid", start=START)
    used = {u.product.id for s in schedule.steps for a in s.administrations for u in a.units}
    assert used == {"clonazepam-solution-0.1-mg-ml-uk"}
    assert [s.dose for s in schedule.steps[:3]] == [Decimal(v) for v in ("1.75", "1.625", "1.5")]
    assert "product-set" in {f.code for f in schedule.findings}
    forms = [
        {u.product.is_liquid for a in s.administrations for u in a.units} for s in schedule.steps
    ]
    first = next(i for i, f in enumerate(forms) if True in f)
    assert all(f == {True} for f in forms[first:])


def test_forms_alone_let_the_plan_choose_its_set_among_them() -> None:
    """--products tablet,odt made clonazepam doses of three ODT strengths at once (1 A + 1 B
    + 1 C): forms name a kind of product, so the plan chooses the fewest among them; ids
    fix the products."""
    by_form = taper.plan("clonazepam", "2 mg", products="tablet,odt", start=START)
    said = next(f for f in by_form.findings if f.code == "product-set")
    assert "of the forms asked (tablet, odt)" in said.message
    assert len(by_form.products) == 2
    for step in by_form.steps:
        for admin in step.administrations:
            assert len({u.product.id for u in admin.units}) <= 2
    tablets = taper.plan("clonazepam", "2 mg", products="tablet", start=START)
    assert {p.form for p in tablets.products} == {"tablet"}
    assert "product-set" in {f.code for f in tablets.findings}
    named = taper.plan("clonazepam", "2 mg", products="tablet:0.5mg,odt", start=START)
    assert "product-set" not in {f.code for f in named.findings}


@pytest.mark.parametrize("from_json", [False, True])
def test_a_replan_of_a_plan_in_two_sets_keeps_to_them(tmp_path: Path, from_json: bool) -> None:
    """A re-plan before the second set takes over goes on with the first and then the second;
    a re-plan after it keeps to the second alone: a patient on the 0.125 mg ODT does not go
    back to tablets, and no dose takes the two sets at once, in memory and from the JSON."""
    schedule = taper.plan(
        "clonazepam", "40 mg", overrides={"dose-above-range": "transferred"}, start=START
    )
    if from_json:
        path = tmp_path / "plan.json"
        path.write_text(to_json(schedule), encoding="utf-8")
        schedule = read_plan(path)
    step = {s.number: s for s in schedule.steps}
    early = taper.replan(schedule, step[10].start, hold_days=14, reason="a hard week")
    switch = [f for f in early.findings if f.code == "products-from-here"]
    assert len(switch) == 1 and switch[0].step is not None and switch[0].step > 11
    before = [s for s in early.steps if s.number < switch[0].step]
    after = [s for s in early.steps if s.number >= switch[0].step]
    assert _taken(before) == {"clonazepam-tab-2", "clonazepam-tab-0.5"}
    assert _taken(after) == {"clonazepam-odt-0.125"}
    late = taper.replan(early, step[35].start, hold_days=14, reason="a hard week")
    assert [f.step for f in late.findings if f.code == "products-from-here"] == [switch[0].step]
    assert _taken([s for s in late.steps if s.start >= step[35].start]) == {"clonazepam-odt-0.125"}
    assert late.steps[-1].dose == Decimal("0.125")
