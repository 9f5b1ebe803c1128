from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from taper import plan, planner
from taper.catalog import Catalog, Drug
from taper.errors import InputError, PlanRefused, UnknownNameError
from taper.request import make_patient, parse_start, select_products
from taper.rules import FixedAmount, Hold, PercentOfCurrent, Rule, build_rule
from taper.schedule import Finding, Patient
from taper.validation import refuse_errors

from .conftest import TINY
from .test_doses import numbers, refusal

D = Decimal
START = "2027-01-04"
FORMULARY = "tests/data/formulary.toml"
OWN = "clinician's own rule"
REC6 = (
    "Joint Clinical Practice Guideline on Benzodiazepine Tapering (ASAM and nine societies, "
    "J Gen Intern Med), 2025, Recommendation 6"
)
JOINT = REC6 + " and algorithm card: start with 5 to 10 % every 2 to 4 weeks"


def doses(schedule: object) -> list[str]:
    return [str(s.dose) for s in schedule.steps]  # type: ignore[attr-defined]


def steps(schedule: object) -> list[tuple[str, int, bool, str, str, int]]:
    """Each step as (dose, days, held, target, previous dose, the rule's days)."""
    return [
        (str(s.dose), s.days, s.held, str(s.target), str(s.previous_dose), s.rule_days)
        for s in schedule.steps  # type: ignore[attr-defined]
    ]


def found(schedule: object, *codes: str) -> list[tuple[str, str, list[str], str, int | None]]:
    """The findings of ``codes`` (or all) as (severity, code, numbers said, source, step)."""
    return [
        (f.severity, f.code, numbers(f.message), f.source, f.step)
        for f in schedule.findings  # type: ignore[attr-defined]
        if not codes or f.code in codes
    ]


def adjusted(asked: str, cut: str, made: str, made_cut: str, days: int = 14) -> list[str]:
    """The numbers of a target-adjusted finding: the dose asked and its cut, the dose the
    products make and its cut, and the days of a step lengthened in place of 14."""
    said = [asked, cut, made, made_cut]
    return [*said, str(days), "14"] if days != 14 else said


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
        "product-set",
        "pace-above-guideline",
        "step-too-short",
        "short-for-long-term",
        "final-dose-large",
        "alternatives",
    }
    # the label's 0.25 mg cuts in two doses, to the milligram: four ODT strengths, one form
    assert [p.id for p in schedule.products] == [
        "clonazepam-odt-0.125",
        "clonazepam-odt-0.25",
        "clonazepam-odt-0.5",
        "clonazepam-odt-1",
    ]
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


def test_a_fixed_amount_rule_stretches_a_steeper_step_in_milligrams() -> None:
    # 0.125 mg made where 0.1 mg was asked: 14 days x 1.25 = 17.5, so 18 days
    rule = Rule("t", FixedAmount(D("0.1"), 14))
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert [(str(s.dose), s.days) for s in schedule.steps][:3] == [
        ("1.875", 18), ("1.75", 18), ("1.625", 18),
    ]  # fmt: skip


def test_a_target_halfway_between_two_doses_takes_the_gentler() -> None:
    rule = Rule("t", FixedAmount(D("0.3125"), 14))  # 1.6875: between 1.625 and 1.75
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert [(str(s.dose), s.days) for s in schedule.steps][:3] == [
        ("1.75", 14), ("1.5", 14), ("1.25", 14),
    ]  # fmt: skip


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


def test_capped_cuts_say_what_was_asked_and_where_the_step_aims() -> None:
    rule = build_rule(reduce="1mg", every="7d")
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    # past the rule's own end (its next dose below zero) each step aims at the cap, 25 % less,
    # down to 0.125 mg/day; the last two cuts are forced, each paced by a longer step
    # (7 days x 0.125 / 0.09375 = 9.3, then x 0.125 / 0.0625 = 14)
    assert steps(schedule) == [
        ("1.5", 7, False, "1", "2", 7),
        ("1.125", 7, False, "0.5", "1.5", 7),
        ("0.875", 7, False, "0.125", "1.125", 7),
        ("0.75", 7, False, "-0.125", "0.875", 7),
        ("0.625", 7, False, "-0.25", "0.75", 7),
        ("0.5", 7, False, "-0.375", "0.625", 7),
        ("0.375", 7, False, "-0.5", "0.5", 7),
        ("0.25", 10, False, "-0.625", "0.375", 7),
        ("0.125", 14, False, "-0.75", "0.25", 7),
    ]

    def capped(asked: str, current: str, aim: str) -> list[str]:
        """The rule asked ``asked`` from ``current``; capped at 25 %, the step aims at ``aim``."""
        return [asked, current, "25", aim]

    # from 0.875 mg/day the rule's next step is the stop: the plan aims at the cap of 25 %,
    # 0.65625 mg/day first
    ended = ["0.875", "25", "0.65625"]
    assert found(schedule, "cut-capped", "target-adjusted")[:6] == [
        ("info", "cut-capped", capped("1", "2", "1.5"), REC6, 1),
        ("info", "cut-capped", capped("0.5", "1.5", "1.125"), REC6, 2),
        ("info", "cut-capped", capped("0.125", "1.125", "0.84375"), REC6, 3),
        ("info", "target-adjusted", adjusted("0.84375", "25", "0.875", "22.2"), OWN, 3),
        ("info", "cut-capped", ended, REC6, 4),
        ("info", "target-adjusted", adjusted("0.65625", "25", "0.75", "14.3"), OWN, 4),
    ]
    assert [f.step for f in schedule.findings if f.code == "cut-capped"] == [1, 2, 3, 4]
    assert [f.step for f in schedule.findings if f.code == "forced-cut"] == [8, 9]


def test_a_rule_cutting_to_zero_at_once_aims_at_the_cap() -> None:
    rule = Rule("all-at-once", FixedAmount(D(5), 7), max_cut=D("0.25"), source="S")
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    first = found(schedule, "cut-capped")[0]
    # the rule's next step from 2 mg/day is the stop: the step aims at the cap of 25 %, 1.5 mg
    assert first[2] == ["2", "25", "1.5"]
    # the guideline's own cap is cited as the guideline, not as the rule's source
    assert first[3] == REC6


def test_the_cap_source_names_the_rule_and_the_clinicians_cap() -> None:
    set_cap = plan("clonazepam", "2 mg", rule=build_rule(reduce="1mg", max_cut="30%"), start=START)
    assert {f[3] for f in found(set_cap, "cut-capped")} == {
        "clinician's own rule (set by the clinician)"
    }
    rule = Rule("x", FixedAmount(D(1), 14), max_cut=D("0.3"), cap_note="my cap", source="")
    bare = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert {f[3] for f in found(bare, "cut-capped")} == {"my cap"}


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


def test_a_product_chosen_by_its_name() -> None:
    schedule = plan("clonazepam", "2 mg", products=["Clonazepam 0.5 mg tablet"], start=START)
    assert [p.id for p in schedule.products] == ["clonazepam-tab-0.5"]


def test_an_unknown_region_is_refused(clonazepam: Drug) -> None:
    with pytest.raises(InputError) as refused:
        select_products(clonazepam, "eu")
    assert refusal(refused.value) == ("region", "eu", [])
    assert refused.value.allowed.split(" or ") == ["us", "uk"]


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


def test_a_hold_reached_is_marked_held_and_not_reported_missing() -> None:
    rule = build_rule(holds=("1mg:28d",))
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    held = [(str(s.dose), s.days) for s in schedule.steps if s.held]
    assert held == [("1", 28)]
    assert [s.held for s in schedule.steps].count(True) == 1
    assert found(schedule, "rule-not-completed") == []


def test_a_hold_at_a_fraction_of_the_start_is_held() -> None:
    rule = Rule("h", PercentOfCurrent(D("0.1"), 14), holds=(Hold(28, at_fraction=D("0.5")),))
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert [(str(s.dose), s.days) for s in schedule.steps if s.held] == [("1", 28)]


def test_final_dose_stops_the_plan() -> None:
    rule = build_rule(final_dose="0.5mg")
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert schedule.steps[-1].dose == D("0.5")


def test_a_final_dose_as_a_fraction_of_the_start_stops_there() -> None:
    rule = Rule("half", PercentOfCurrent(D("0.1"), 14), final_fraction=D("0.5"))
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert [str(s.dose) for s in schedule.steps] == [
        "1.75", "1.625", "1.5", "1.375", "1.25", "1.125", "1",
    ]  # fmt: skip


def test_a_rule_that_stops_at_or_above_the_start_is_refused() -> None:
    with pytest.raises(PlanRefused) as refused:
        plan("clonazepam", "0.5 mg", rule=build_rule(final_dose="0.5mg"), start=START)
    # the rule stops after 0.5 mg/day: there is nothing to taper
    assert refusal(refused.value) == ("dose", "0.5 mg", ["0.5"])


def test_a_rule_stopping_just_below_the_start_makes_a_plan() -> None:
    schedule = plan("clonazepam", "0.5 mg", rule=build_rule(final_dose="0.375mg"), start=START)
    assert [str(s.dose) for s in schedule.steps] == ["0.375"]


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


def test_products_that_make_nothing_smaller_are_refused_with_the_smallest_dose() -> None:
    with pytest.raises(PlanRefused) as refused:
        plan("onlybig", "5 mg", catalog=str(TINY), start=START)
    # the smallest is 5 mg/day in 1 dose
    assert refusal(refused.value) == ("dose", "5 mg", ["5", "1"])


def test_start_date_parsing() -> None:
    assert plan("clonazepam", "2 mg", start=date(2027, 1, 4)).start_date == date(2027, 1, 4)
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        plan("clonazepam", "2 mg", start="04/01/2027")


@pytest.mark.parametrize("day", ["1970-01-01", "2200-12-31"])
def test_start_dates_at_the_bounds_are_accepted(day: str) -> None:
    assert parse_start(day).isoformat() == day


@pytest.mark.parametrize("day", ["1969-12-31", "2201-01-01"])
def test_start_dates_out_of_bounds_are_refused(day: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_start(day)
    assert refusal(refused.value) == ("start", day, ["1970-01-01", "2200-12-31"])


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


def test_a_plan_past_the_step_limit_is_refused_with_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert planner.MAX_STEPS == 1000
    monkeypatch.setattr(planner, "MAX_STEPS", 3)
    rule = Rule("quarter", FixedAmount(D("0.5"), 7), max_cut=D("0.5"), final_mg=D("0.5"))
    # 2 mg takes exactly 3 steps (1.5, 1, 0.5) and is made; 2.5 mg needs 4
    made = plan("testazepam", "2 mg", rule=rule, catalog=str(TINY), start=START)
    assert [str(s.dose) for s in made.steps] == ["1.5", "1", "0.5"]
    with pytest.raises(PlanRefused) as refused:
        plan("testazepam", "2.5 mg", rule=rule, catalog=str(TINY), start=START)
    assert refusal(refused.value) == ("rule", "quarter", ["3"])


def test_a_plan_past_twenty_years_is_refused() -> None:
    slow = Rule("slow", FixedAmount(D("0.25"), 500), max_cut=D("0.5"))
    with pytest.raises(PlanRefused) as refused:
        plan("testazepam", "4 mg", rule=slow, catalog=str(TINY), start=START)
    assert refusal(refused.value) == ("rule", "slow", ["20"])


def test_a_plan_of_exactly_twenty_years_is_made() -> None:
    # 7,305 days: 15 steps of 487 days
    slow = Rule("slow", FixedAmount(D("0.25"), 487), max_cut=D("0.5"))
    schedule = plan("testazepam", "4 mg", rule=slow, catalog=str(TINY), start=START)
    assert sum(s.days for s in schedule.steps) == 15 * 487 == 7305


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


def test_a_kept_dose_that_must_rise_is_warned_at_each_step() -> None:
    schedule = plan("oxazepam", "60 mg", cut_order="morning-first", start=START)
    # the products cannot make the day's dose without raising the bedtime dose from 10 mg
    # to 15 mg while the day's total falls
    source = "taper: the clinician's cut order (cut_order)"
    assert found(schedule, "kept-dose-raised") == [
        ("warning", "kept-dose-raised", ["25", "10", "15"], source, 7),
        ("warning", "kept-dose-raised", ["15", "10", "15"], source, 9),
    ]


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


# --- the patient facts, the pieces per dose, and the refusal of a plan with errors ---------


@pytest.fixture(scope="module")
def clonazepam(builtin: Catalog) -> Drug:
    return builtin.drug("clonazepam")


@pytest.mark.parametrize("age", [0, 130])
def test_ages_at_the_bounds_are_accepted(clonazepam: Drug, age: int) -> None:
    assert make_patient(clonazepam, age=age, weight_kg="20") == Patient(None, age, D(20), None)


@pytest.mark.parametrize("age", [-1, 131, True])
def test_ages_out_of_bounds_are_refused(clonazepam: Drug, age: int) -> None:
    with pytest.raises(InputError) as refused:
        make_patient(clonazepam, age=age, weight_kg="20")
    assert refusal(refused.value) == ("age", age, ["0", "130"])


@pytest.mark.parametrize("weight", ["0.5", "1", "500"])
def test_weights_within_the_bounds_are_kept(clonazepam: Drug, weight: str) -> None:
    assert make_patient(clonazepam, age=10, weight_kg=weight) == Patient(None, 10, D(weight), None)


@pytest.mark.parametrize("weight", ["0", "500.5", "abc", "nan"])
def test_weights_out_of_bounds_are_refused(clonazepam: Drug, weight: str) -> None:
    with pytest.raises(InputError) as refused:
        make_patient(clonazepam, age=10, weight_kg=weight)
    assert refusal(refused.value) == ("weight_kg", weight, ["0", "500"])


def test_a_child_needs_a_weight_and_an_adult_does_not(clonazepam: Drug) -> None:
    with pytest.raises(InputError) as refused:
        make_patient(clonazepam, age=17)
    assert refusal(refused.value) == ("weight_kg", "", [])
    assert make_patient(clonazepam, age=18) == Patient(None, 18, None, None)


@pytest.mark.parametrize("months", [0, 1200])
def test_use_months_at_the_bounds_are_accepted(clonazepam: Drug, months: int) -> None:
    assert make_patient(clonazepam, use_months=months) == Patient(None, None, None, months)


@pytest.mark.parametrize("months", [-1, 1201, True])
def test_use_months_out_of_bounds_are_refused(clonazepam: Drug, months: int) -> None:
    with pytest.raises(InputError) as refused:
        make_patient(clonazepam, use_months=months)
    assert refusal(refused.value) == ("use_months", months, ["0", "1200"])


def test_the_indication_is_kept_and_an_unknown_one_lists_the_documented(
    clonazepam: Drug, tiny: Catalog
) -> None:
    assert make_patient(clonazepam, "seizure") == Patient("seizure", None, None, None)
    with pytest.raises(InputError) as refused:
        make_patient(clonazepam, "nope")
    assert refusal(refused.value) == ("indication", "nope", [])
    assert refused.value.allowed.endswith(": panic-disorder, seizure")
    with pytest.raises(InputError) as none:
        make_patient(tiny.drug("onlybig"), "x")
    assert refusal(none.value) == ("indication", "x", [])
    assert none.value.allowed.endswith(": none")


def test_a_dose_needing_too_many_pieces_is_refused_with_the_count() -> None:
    with pytest.raises(PlanRefused) as refused:
        plan("testazepam", "40 mg", catalog=str(TINY), products=["testazepam-cap-0.25"],
             overrides={"dose-above-range": "test"}, start=START)  # fmt: skip
    # at 2 doses a day each needs about 80 tablets or measures, more than 20
    assert refusal(refused.value) == ("dose", "40 mg", ["2", "80", "20"])


def test_the_default_piece_limit_is_raised_to_what_the_start_needs() -> None:
    schedule = plan("testazepam", "8 mg", catalog=str(TINY), products=["testazepam-cap-0.25"],
                    overrides={"dose-above-range": "test"}, start=START)  # fmt: skip
    assert schedule.max_units == 16
    # about 16 tablets at each of 2 doses a day: up to 16 a dose in place of 4
    assert found(schedule, "units-limit-raised") == [
        (
            "warning",
            "units-limit-raised",
            ["16", "2", "16", "4"],
            "taper's default limit per administration",
            None,
        )
    ]


def test_a_liquid_only_plan_raises_the_limit_by_measures() -> None:
    schedule = plan("clonazepam", "2 mg", products=["solution"], formulary=FORMULARY, start=START)
    assert schedule.max_units == 11
    assert found(schedule, "units-limit-raised")[0][2] == ["11", "2", "11", "4"]


def test_a_start_needing_exactly_the_most_pieces_is_planned() -> None:
    schedule = plan("testazepam", "10 mg", catalog=str(TINY),
                    products=["testazepam-cap-0.25"], start=START)  # fmt: skip
    assert schedule.max_units == 20


def test_a_refusal_names_the_first_error_its_source_and_how_many_more() -> None:
    errors = [
        Finding("error", "dose-above-range", "Too high.", "src"),
        Finding("error", "dose-rises", "Up.", "s2"),
        Finding("error", "dose-rises", "Up.", "s2"),
    ]
    with pytest.raises(PlanRefused) as refused:
        refuse_errors(errors)
    # the first error's code and message with its source, and 2 more errors after it
    assert refusal(refused.value) == ("dose-above-range", "Too high (source: src);", ["2"])
    with pytest.raises(PlanRefused) as bare:
        refuse_errors([Finding("error", "dose-rises", "Up.", "")])
    assert refusal(bare.value) == ("dose-rises", "Up;", [])


THREE_TIMES = ("morning", "midday", "bedtime")


@pytest.mark.parametrize(
    ("order", "previous", "shares", "wrong"),
    [
        # morning-first: a later dose may fall only once every earlier one is gone
        ("morning-first", ("1", "1", "1"), ("0.5", "1", "1"), []),
        ("morning-first", ("1", "1", "1"), ("1", "0.5", "1"), ["midday"]),
        ("morning-first", ("1", "1", "1"), ("1", "1", "0.5"), ["bedtime"]),
        ("morning-first", ("1", "1", "1"), ("0.5", "0.5", "1"), ["midday"]),
        ("morning-first", ("0", "1", "1"), ("0", "0.5", "1"), []),
        ("morning-first", ("0", "0", "1"), ("0", "0", "0.5"), []),
        ("morning-first", ("1", "1", "1"), ("1", "1", "1"), []),
        # bedtime-last: the bedtime dose may fall only once the others are gone
        ("bedtime-last", ("1", "1", "1"), ("1", "1", "0.5"), ["bedtime"]),
        ("bedtime-last", ("1", "1", "1"), ("0.5", "0.5", "1"), []),
        ("bedtime-last", ("0", "0", "1"), ("0", "0", "0.5"), []),
        ("bedtime-last", ("0", "1", "1"), ("0", "1", "0.5"), ["bedtime"]),
    ],
)
def test_a_step_out_of_the_cut_order_names_the_dose_that_fell(
    order: str, previous: tuple[str, ...], shares: tuple[str, ...], wrong: list[str]
) -> None:
    found = planner._out_of_order(
        7, THREE_TIMES, tuple(map(D, previous)), tuple(map(D, shares)), order
    )
    assert found == [(7, t) for t in wrong]


def test_a_per_dose_rule_not_kept_says_both_days() -> None:
    found = planner._per_dose_missed(
        3, THREE_TIMES, (D("0.5"), D("0.5"), D(0)), (D("0.25"), D("0.75"), D(0))
    )
    assert (found.code, found.severity, found.step, found.source) == (
        "per-dose-not-kept", "warning", 3, "the rule's own method",
    )  # fmt: skip
    assert found.message == (
        "The rule lowers each dose by the same amount, to 0.5 mg in the morning, 0.5 mg at "
        "midday, none at bedtime; the products cannot make that, so the step takes 0.25 mg in "
        "the morning, 0.75 mg at midday, none at bedtime."
    )
    evening = planner._per_dose_missed(1, ("evening",), (D(1),), (D("0.5"),))
    assert "1 mg in the evening" in evening.message and "0.5 mg in the evening" in evening.message


def test_a_kept_dose_raised_is_named_with_each_dose_it_raised() -> None:
    """A dose taken before that rises is named (one that was none is not: it was stopped)."""
    rule = build_rule("nhs-scotland-diazepam")
    found = planner._raised_times(
        5, THREE_TIMES, (D("0.5"), D(0), D(1)), (D(1), D("0.5"), D("1.5")), rule
    )
    assert [(f.code, f.severity, f.step) for f in found] == [("kept-dose-raised", "warning", 5)]
    assert found[0].message == (
        "With the cut order morning-first, the products cannot make 3 mg/day without raising "
        "the morning dose from 0.5 mg to 1 mg, the bedtime dose from 1 mg to 1.5 mg while the "
        "day's total falls; the other doses were cut further to make up for it."
    )
    assert planner._raised_times(5, ("morning", "bedtime"), (D(2), D(2)), (D(1), D(2)), rule) == []


@pytest.mark.parametrize(
    ("given", "made"),
    [("0.01ml", "0.01"), ("1 mL", "1"), ("0.25", "0.25"), (D("0.5"), "0.5")],
)
def test_a_liquid_increment_divides_the_syringe(given: object, made: str) -> None:
    from taper.request import parse_increment

    assert parse_increment(given) == D(made)  # type: ignore[arg-type]


@pytest.mark.parametrize("given", ["0.009ml", "1.5ml", "0.3ml", "0", "-0.1", "x", "nan"])
def test_a_liquid_increment_that_does_not_divide_the_syringe_is_refused(given: str) -> None:
    from taper.request import parse_increment

    with pytest.raises(InputError) as refused:
        parse_increment(given)
    assert str(refused.value) == (
        f"liquid_increment: got {given!r}; marks of 0.01 mL or more that divide the 1 mL "
        f"syringe evenly, such as 0.1ml, 0.2ml or 0.25ml"
    )
