from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from taper import plan
from taper.catalog import Catalog
from taper.errors import InputError, PlanRefused, UnknownNameError
from taper.rules import FixedAmount, PercentOfCurrent, Rule, build_rule

from .conftest import TINY

D = Decimal
START = "2027-01-04"


def doses(schedule: object) -> list[str]:
    return [str(s.dose) for s in schedule.steps]  # type: ignore[attr-defined]


def test_label_preset_from_1_mg() -> None:
    """clinical.md RC1: 0.75, 0.5 and 0.25 mg/day for 3 days each, no dose from day 10."""
    schedule = plan("clonazepam", "1 mg", rule="fda-label-clonazepam", start=START)
    assert doses(schedule) == ["0.75", "0.5", "0.25"]
    assert [s.days for s in schedule.steps] == [3, 3, 3]
    assert schedule.stop_date == date(2027, 1, 13)
    assert [a.dose for a in schedule.steps[0].administrations] == [D("0.375"), D("0.375")]


def test_label_preset_from_4_mg() -> None:
    """clinical.md RC2: 15 steps of 3 days, 0.25 mg/day less each time, stop on day 46."""
    schedule = plan("clonazepam", "4 mg", rule="fda-label-clonazepam", start=START)
    assert len(schedule) == 15
    assert all(s.days == 3 for s in schedule)
    assert all(s.previous_dose - s.dose == D("0.25") for s in schedule)
    assert (schedule.stop_date - schedule.start_date).days + 1 == 46
    assert not [f for f in schedule.findings if f.code in ("target-adjusted", "cut-capped")]
    # the label's last dose is 0.125 mg twice daily; the 0.125 mg ODT makes 0.125 mg once a
    # day, so the stop is above the smallest dose the products make, as the rule asks: a warning
    assert {f.code for f in schedule.findings} == {
        "pace-above-guideline",
        "step-too-short",
        "short-for-long-term",
        "final-dose-large",
        "alternatives",
    }
    stop = next(f for f in schedule.findings if f.code == "final-dose-large")
    assert stop.step == 15
    assert stop.message.endswith(
        "above the smallest daily dose its products make (0.125 mg/day); 0.25 mg/day is the "
        "label's last dose."
    )


def test_a_steeper_cut_lengthens_the_step() -> None:
    """The plan contract's example: 10 % asked, 1.75 mg made, 18 days in place of 14."""
    schedule = plan("clonazepam", "2 mg", start=START)
    first = schedule.steps[0]
    assert (first.dose, first.target, first.days) == (D("1.75"), D("1.8"), 18)
    finding = next(f for f in schedule.findings if f.step == 1)
    assert finding.code == "target-adjusted"
    assert "lasts 18 days instead of 14" in finding.message


def test_a_gentler_cut_keeps_the_interval() -> None:
    schedule = plan("clonazepam", "2 mg", start=START)
    second = schedule.steps[1]
    assert (second.target, second.dose, second.days) == (D("1.575"), D("1.625"), 14)


def test_the_cap_is_exceeded_only_where_the_products_force_it() -> None:
    schedule = plan("clonazepam", "2 mg", start=START)
    above = [s for s in schedule if s.cut > D("0.25")]
    assert [(s.previous_dose, s.dose) for s in above] == [
        (D("0.375"), D("0.25")),
        (D("0.5") / 2, D("0.125")),
    ]
    forced = [f.step for f in schedule.findings if f.code == "forced-cut"]
    assert forced == [s.number for s in above]
    assert "final-dose-large" not in {f.code for f in schedule.findings}


def test_a_larger_cap_makes_the_same_doses_without_forcing_them() -> None:
    rule = build_rule(max_cut="50%")
    wide = plan("clonazepam", "2 mg", rule=rule, start=START)
    narrow = plan("clonazepam", "2 mg", start=START)
    assert [s.dose for s in wide] == [s.dose for s in narrow]
    assert wide.steps[-1].dose == D("0.125")
    assert "forced-cut" not in {f.code for f in wide.findings}


def test_cut_capped_finding() -> None:
    rule = Rule("big", FixedAmount(D(1), 14))
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert schedule.steps[0].dose == D("1.5")
    assert schedule.findings[0].code == "cut-capped" or any(
        f.code == "cut-capped" and f.step == 1 for f in schedule.findings
    )


def test_tablets_only_never_round_a_dose_up() -> None:
    """RC1 with tablets only: 0.375 mg per dose cannot be made; the day is split unevenly."""
    schedule = plan(
        "clonazepam", "1 mg", rule="fda-label-clonazepam", start=START, products=["tablet"]
    )
    assert doses(schedule) == ["0.75", "0.5", "0.25"]
    assert [a.dose for a in schedule.steps[0].administrations] == [D("0.25"), D("0.5")]
    assert all(
        u.product.form == "tablet" for s in schedule for a in s.administrations for u in a.units
    )


def test_products_by_id_and_strength() -> None:
    schedule = plan("clonazepam", "2 mg", start=START, products=["tablet:0.5mg"])
    used = {u.product.id for s in schedule for a in s.administrations for u in a.units}
    assert used == {"clonazepam-tab-0.5"}
    with pytest.raises(UnknownNameError, match="clonazepam products in US"):
        plan("clonazepam", "2 mg", start=START, products=["clonazepam-drops"])


def test_uk_products() -> None:
    schedule = plan("Rivotril", "2 mg", start=START, region="uk")
    used = {u.product.id for s in schedule for a in s.administrations for u in a.units}
    assert used <= {"clonazepam-tab-0.5-uk", "clonazepam-tab-2-uk"}


def test_three_doses_a_day() -> None:
    schedule = plan("clonazepam", "1.5 mg", per_day=3, start=START)
    assert schedule.prescription.times == ("morning", "midday", "bedtime")


def test_once_daily_at_bedtime() -> None:
    schedule = plan("clonazepam", "1 mg", per_day=1, start=START)
    assert {a.time for s in schedule for a in s.administrations} == {"bedtime"}


def test_morning_first_cuts_the_morning_dose_to_zero() -> None:
    rule = Rule("am-first", FixedAmount(D("0.5"), 14), max_cut=D("0.5"), cut_order="morning-first")
    schedule = plan("testazepam", "4 mg", rule=rule, catalog=str(TINY), start=START)
    shares = [(s.at("morning"), s.at("bedtime")) for s in schedule]
    mornings = [m.dose if m else D(0) for m, _ in shares]
    bedtimes = [b.dose if b else D(0) for _, b in shares]
    assert mornings[:4] == [D("1.5"), D(1), D("0.5"), D(0)]
    assert bedtimes[:4] == [D(2)] * 4
    # on to the 0.25 mg capsule, the smallest dose the products make, after the rule's end
    assert doses(schedule) == ["3.5", "3", "2.5", "2", "1.5", "1", "0.5", "0.25"]


def test_nhs_scotland_preset_never_raises_the_bedtime_dose() -> None:
    """Regression: with unscored 2, 5 and 10 mg tablets the bedtime dose once rose to make up
    the day, and the morning dose, cut first by the rule, came back."""
    for region, dose in (("us", "10 mg"), ("uk", "30 mg")):
        schedule = plan("diazepam", dose, rule="nhs-scotland-diazepam", start=START, region=region)
        bedtime = [s.at("bedtime").dose for s in schedule]  # type: ignore[union-attr]
        assert bedtime == sorted(bedtime, reverse=True)
        mornings = [s.at("morning") for s in schedule]
        stopped = next(i for i, m in enumerate(mornings) if m is None)
        assert all(m is None for m in mornings[stopped:])
        # the morning dose falls first: by the time it stops, bedtime has lost little
        assert bedtime[stopped - 1] >= bedtime[0] - 1


def test_deprescribing_preset_runs_on_the_starting_dose() -> None:
    schedule = plan("clonazepam", "2 mg", rule="deprescribing-bzra", start=START)
    assert doses(schedule) == ["1.5", "1", "0.5", "0.25"]
    assert schedule.stop_date == date(2027, 3, 1)


def test_nougg_phases_slow_down() -> None:
    schedule = plan("clonazepam", "4 mg", rule="nougg-proportional", start=START)
    early = [s.rule_days for s in schedule if s.previous_dose > D("0.8")]
    late = [s.rule_days for s in schedule if s.previous_dose <= D("0.8")]
    assert set(early) == {14}
    assert set(late) == {28}


def test_hold_stays_at_least_as_long_as_asked() -> None:
    rule = build_rule(holds=("1mg:28d",))
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    held = next(s for s in schedule if s.dose <= 1)
    assert held.dose == D(1)
    assert held.days >= 28


def test_final_dose_stops_the_plan() -> None:
    rule = build_rule(final_dose="0.5mg")
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert schedule.steps[-1].dose == D("0.5")


def test_rule_written_for_another_drug_is_refused() -> None:
    with pytest.raises(InputError, match="written for diazepam"):
        plan("clonazepam", "2 mg", rule="nice-cks-diazepam", start=START)


def test_a_rule_that_would_stop_at_once_makes_one_capped_step() -> None:
    schedule = plan("alprazolam", "0.5 mg", rule="alprazolam-label", start=START)
    assert doses(schedule) == ["0.25"]


@pytest.mark.parametrize("dose", ["0.1 mg", "0.125 mg"])
def test_a_dose_at_or_below_the_smallest_unit_is_refused(dose: str) -> None:
    with pytest.raises(PlanRefused, match="the products make nothing smaller"):
        plan("clonazepam", dose, start=START)


def test_products_that_cannot_cut_within_the_cap_force_the_cut() -> None:
    """1 mg tablets only: 2 mg to 1 mg is the only cut, 50 %, forced, with the longest step."""
    schedule = plan("clonazepam", "2 mg", start=START, products=["clonazepam-tab-1"])
    assert [(s.dose, s.days) for s in schedule] == [(D(1), 84)]
    assert {"forced-cut", "longest-step", "stop"} <= {f.code for f in schedule.findings}


def test_products_that_make_nothing_smaller_are_refused() -> None:
    with pytest.raises(PlanRefused, match="the products make nothing smaller"):
        plan("clonazepam", "1 mg", start=START, products=["clonazepam-tab-1"])


def test_start_date_parsing() -> None:
    assert plan("clonazepam", "2 mg", start=date(2027, 1, 4)).start_date == date(2027, 1, 4)
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        plan("clonazepam", "2 mg", start="04/01/2027")


def test_unknown_drug_suggests_the_nearest(builtin: Catalog) -> None:
    with pytest.raises(UnknownNameError, match="did you mean clonazepam"):
        plan("clonazepan", "2 mg", start=START)


def test_a_rule_that_barely_cuts_holds_each_dose_to_the_longest_step() -> None:
    crawl = Rule("crawl", PercentOfCurrent(D("0.0001"), 1), max_cut=D("0.0001"))
    schedule = plan("testazepam", "4 mg", rule=crawl, catalog=str(TINY), start=START)
    assert all(s.days == 84 for s in schedule)
    bounded = next(f for f in schedule.findings if f.code == "longest-step")
    assert "more than 20 years" in bounded.message
    # a longer bound makes the plan longer than taper plans
    with pytest.raises(PlanRefused, match="more than 20 years"):
        plan(
            "testazepam",
            "4 mg",
            rule=Rule("crawl", PercentOfCurrent(D("0.0001"), 1), longest_step_days=3650),
            catalog=str(TINY),
            start=START,
        )


def test_dispensing_totals_cover_every_dose() -> None:
    schedule = plan("clonazepam", "2 mg", start=START)
    need: dict[str, Decimal] = {}
    for step in schedule:
        for admin in step.administrations:
            for unit in admin.units:
                need[unit.product.id] = need.get(unit.product.id, D(0)) + unit.count * step.days
    supply = {p.id: q for p, q in schedule.dispensing()}
    assert supply.keys() == need.keys()
    for pid, quantity in supply.items():
        assert need[pid] <= quantity < need[pid] + 1


def test_a_kept_dose_rises_as_little_as_the_products_allow_and_is_warned() -> None:
    """Oxazepam capsules cannot be split: from 10/10/10 mg, 25 mg a day is 0/10/15 at best."""
    schedule = plan("oxazepam", "60 mg", cut_order="morning-first", start="2027-01-04")
    by_dose = {s.dose: s for s in schedule.steps}
    shape = [a.dose for a in by_dose[Decimal(25)].administrations]
    assert shape == [Decimal(10), Decimal(15)]
    raised = [f for f in schedule.findings if f.code == "kept-dose-raised"]
    assert raised and raised[0].step == by_dose[Decimal(25)].number
    assert raised[0].severity == "warning"
    assert "bedtime dose from 10 mg to 15 mg" in raised[0].message
    # where the products allow it, no kept dose rises and nothing is said
    kept = plan("clonazepam", "2 mg", cut_order="morning-first", start="2027-01-04")
    assert "kept-dose-raised" not in {f.code for f in kept.findings}
    even = plan("oxazepam", "60 mg", start="2027-01-04")
    assert "kept-dose-raised" not in {f.code for f in even.findings}


def test_a_capped_cut_is_said_only_for_a_step_that_is_made() -> None:
    rule = Rule(
        "am",
        FixedAmount(Decimal("0.125"), 14),
        max_cut=Decimal("0.25"),
        cut_order="morning-first",
    )
    schedule = plan("clonazepam", "1.5 mg", rule=rule, per_day=3, start="2027-01-04")
    numbers = {s.number for s in schedule.steps}
    assert all(f.step in numbers for f in schedule.findings if f.step is not None)
