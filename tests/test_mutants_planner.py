"""The planner to the letter: the exact steps, findings and refusals of each low-dose
strategy, of a capped or adjusted cut, of a rule left unfinished, and of the limits on a
plan's length and on the pieces per dose."""

from __future__ import annotations

from decimal import Decimal

import pytest

from taper import plan, planner
from taper.catalog import Drug, load_catalog
from taper.errors import InputError, PlanRefused
from taper.planner import make_patient, select_products
from taper.rules import FixedAmount, Hold, PercentOfCurrent, Rule, build_rule
from taper.schedule import Finding, Patient

from .conftest import TINY

D = Decimal
START = "2027-01-04"
FORMULARY = "tests/data/formulary.toml"
OWN = "clinician's own rule"
REC6 = (
    "Joint Clinical Practice Guideline on Benzodiazepine Tapering (ASAM and nine societies, "
    "J Gen Intern Med), 2025, Recommendation 6"
)
JOINT = REC6 + " and algorithm card: start with 5 to 10 % every 2 to 4 weeks"


def steps(schedule: object) -> list[tuple[str, int, bool, str, str, int]]:
    return [
        (str(s.dose), s.days, s.held, str(s.target), str(s.previous_dose), s.rule_days)
        for s in schedule.steps  # type: ignore[attr-defined]
    ]


def found(schedule: object, *codes: str) -> list[tuple[str, str, str, str, int | None]]:
    return [
        (f.severity, f.code, f.message, f.source, f.step)
        for f in schedule.findings  # type: ignore[attr-defined]
        if not codes or f.code in codes
    ]


def adjusted(asked: str, cut: str, made: str, made_cut: str, step: int, days: int = 14) -> str:
    text = (
        f"The rule asked for {asked} mg/day ({cut} % less); the products make {made} mg/day "
        f"({made_cut} % less)"
    )
    if days != 14:
        text += f", so the step lasts {days} days instead of 14 to keep the rule's pace"
    return text + "."


def test_stop_strategy_ends_the_plan_where_the_tablets_run_out_of_small_cuts() -> None:
    rule = build_rule(reduce="10%", every="14d")
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START, at_low_doses="stop")
    assert steps(schedule) == [
        ("1.75", 18, False, "1.8", "2", 14),
        ("1.625", 14, False, "1.575", "1.75", 14),
        ("1.5", 14, False, "1.4625", "1.625", 14),
        ("1.375", 14, False, "1.35", "1.5", 14),
        ("1.25", 14, False, "1.2375", "1.375", 14),
        ("1.125", 14, False, "1.125", "1.25", 14),
        ("1", 16, False, "1.0125", "1.125", 14),
        ("0.875", 18, False, "0.9", "1", 14),
        ("0.75", 21, False, "0.7875", "0.875", 14),
    ]
    assert found(schedule, "stopped-at-low-dose", "target-adjusted") == [
        (
            "warning",
            "stopped-at-low-dose",
            "Below 0.75 mg/day the products cannot make a cut as small as the rule asks, so, "
            "as asked (--at-low-doses stop), the plan stops from 0.75 mg/day: the lowest dose "
            "they can taper from at the rule's pace.",
            OWN,
            9,
        ),
        ("info", "target-adjusted", adjusted("1.8", "10", "1.75", "12.5", 1, 18), OWN, 1),
        ("info", "target-adjusted", adjusted("1.575", "10", "1.625", "7.1", 2), OWN, 2),
        ("info", "target-adjusted", adjusted("1.4625", "10", "1.5", "7.7", 3), OWN, 3),
        ("info", "target-adjusted", adjusted("1.35", "10", "1.375", "8.3", 4), OWN, 4),
        ("info", "target-adjusted", adjusted("1.2375", "10", "1.25", "9.1", 5), OWN, 5),
        ("info", "target-adjusted", adjusted("1.0125", "10", "1", "11.1", 7, 16), OWN, 7),
        ("info", "target-adjusted", adjusted("0.9", "10", "0.875", "12.5", 8, 18), OWN, 8),
        ("info", "target-adjusted", adjusted("0.7875", "10", "0.75", "14.3", 9, 21), OWN, 9),
    ]


def test_stop_strategy_refuses_a_plan_whose_first_cut_is_already_too_large() -> None:
    rule = build_rule(reduce="1%", every="14d")
    with pytest.raises(PlanRefused) as refused:
        plan("clonazepam", "2 mg", rule=rule, start=START, at_low_doses="stop")
    assert str(refused.value) == (
        "--at-low-doses: got 'stop'; the products cannot make the rule's first cut from "
        "2 mg/day (to 1.98 mg/day) without a larger cut (use --at-low-doses stretch or liquid)"
    )


def test_liquid_strategy_names_the_liquid_and_tapers_in_its_measures() -> None:
    rule = build_rule(reduce="10%", every="14d")
    schedule = plan(
        "clonazepam",
        "0.5 mg",
        rule=rule,
        start=START,
        at_low_doses="liquid",
        formulary=FORMULARY,
    )
    assert [d for d, *_ in steps(schedule)] == [
        "0.45", "0.405", "0.365", "0.33", "0.295", "0.265", "0.24", "0.215", "0.195", "0.175",
        "0.16", "0.145", "0.13", "0.12", "0.11", "0.1", "0.09", "0.08", "0.07", "0.06", "0.05",
        "0.04", "0.03", "0.02", "0.01",
    ]  # fmt: skip
    # down to 0.01 mg/day, the liquid's smallest measure: from 0.03 mg/day each cut is forced
    # (33.3 %, then 50 %), paced by 14 days x ln(2/3)/ln(0.9) = 54 days, then held to taper's
    # longest step, 84 days, where the pace would need 14 x ln(1/2)/ln(0.9) = 93
    assert [s.days for s in schedule.steps] == [
        14, 14, 14, 14, 15, 15, 14, 15, 14, 15, 14, 14, 15, 14, 14, 14, 14, 16, 18, 21, 25,
        30, 39, 54, 84,
    ]  # fmt: skip
    assert [f.step for f in schedule.findings if f.code == "forced-cut"] == [24, 25]
    assert found(schedule, "liquid-from-here") == [
        (
            "info",
            "liquid-from-here",
            "From 0.5 mg/day the tablets cannot make a cut close to the one the rule asks, so "
            "from step 1 the doses use clonazepam 0.1 mg/mL oral suspension (benchmark) as well "
            "(--at-low-doses liquid).",
            OWN,
            1,
        )
    ]


def test_stretch_is_the_default_and_never_switches_to_a_liquid() -> None:
    rule = build_rule(reduce="10%", every="14d")
    schedule = plan("clonazepam", "0.5 mg", rule=rule, start=START, formulary=FORMULARY)
    assert found(schedule, "liquid-from-here") == []
    assert all(
        u.product.is_solid for s in schedule.steps for a in s.administrations for u in a.units
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
    capped = (
        "The rule asked for {} mg/day from {} mg/day; cuts are capped at 25 %, so the step aims "
        "at {} mg/day."
    )
    ended = (
        "The rule's next step from 0.875 mg/day is the stop; the plan goes on down to the "
        "smallest dose the products make, so from here each step aims at the cap of 25 % "
        "(0.65625 mg/day first)."
    )
    assert found(schedule, "cut-capped", "target-adjusted")[:6] == [
        ("info", "cut-capped", capped.format("1", "2", "1.5"), REC6, 1),
        ("info", "cut-capped", capped.format("0.5", "1.5", "1.125"), REC6, 2),
        ("info", "cut-capped", capped.format("0.125", "1.125", "0.84375"), REC6, 3),
        ("info", "target-adjusted", adjusted("0.84375", "25", "0.875", "22.2", 3), OWN, 3),
        ("info", "cut-capped", ended, REC6, 4),
        ("info", "target-adjusted", adjusted("0.65625", "25", "0.75", "14.3", 4), OWN, 4),
    ]
    assert [f.step for f in schedule.findings if f.code == "cut-capped"] == [1, 2, 3, 4]
    assert [f.step for f in schedule.findings if f.code == "forced-cut"] == [8, 9]


def test_a_capped_cut_to_zero_says_zero() -> None:
    rule = Rule("all-at-once", FixedAmount(D(5), 7), max_cut=D("0.25"), source="S")
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    first = found(schedule, "cut-capped")[0]
    assert first[2] == (
        "The rule's next step from 2 mg/day is the stop; the plan goes on down to the smallest "
        "dose the products make, so from here each step aims at the cap of 25 % (1.5 mg/day "
        "first)."
    )
    # the guideline's own cap is cited as the guideline, not as the rule's source
    assert first[3] == REC6


def test_a_rule_that_stops_at_or_above_the_start_is_refused() -> None:
    with pytest.raises(PlanRefused) as refused:
        plan("clonazepam", "0.5 mg", rule=build_rule(final_dose="0.5mg"), start=START)
    assert str(refused.value) == (
        "dose: got '0.5 mg'; the rule stops after 0.5 mg/day: there is nothing to taper"
    )


def test_a_rule_stopping_just_below_the_start_makes_a_plan() -> None:
    schedule = plan("clonazepam", "0.5 mg", rule=build_rule(final_dose="0.375mg"), start=START)
    assert [str(s.dose) for s in schedule.steps] == ["0.375"]


def test_a_plan_stopping_early_names_the_final_dose_and_the_hold_it_misses() -> None:
    rule = build_rule(final_dose="0.1mg", holds=("0.2mg:28d",))
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    # the hold at 0.2 mg/day is made at the first dose at or below it, 0.125 mg/day, for
    # the longer of its 28 days and the forced cut's 84
    assert [s for s in steps(schedule)][-3:] == [
        ("0.375", 39, False, "0.45", "0.5", 14),
        ("0.25", 54, False, "0.3375", "0.375", 14),
        ("0.125", 84, True, "0.225", "0.25", 14),
    ]
    assert found(schedule, "rule-not-completed") == [
        (
            "warning",
            "rule-not-completed",
            "The plan stops from 0.125 mg/day (the products make no smaller dose), so it does "
            "not reach its final dose of 0.1 mg/day.",
            JOINT,
            14,
        )
    ]


def test_a_hold_reached_is_marked_held_and_not_reported_missing() -> None:
    rule = build_rule(holds=("1mg:28d",))
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    held = [(str(s.dose), s.days) for s in schedule.steps if s.held]
    assert held == [("1", 28)]
    assert [s.held for s in schedule.steps].count(True) == 1
    assert found(schedule, "rule-not-completed") == []


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
    assert str(refused.value) == (
        "--rule: got 'quarter'; the plan would run past 3 steps; choose larger cuts"
    )


def test_a_plan_past_twenty_years_is_refused() -> None:
    slow = Rule("slow", FixedAmount(D("0.25"), 500), max_cut=D("0.5"))
    with pytest.raises(PlanRefused) as refused:
        plan("testazepam", "4 mg", rule=slow, catalog=str(TINY), start=START)
    assert str(refused.value) == (
        "--rule: got 'slow'; the plan would last more than 20 years; choose larger cuts or "
        "shorter intervals"
    )


def test_a_plan_of_exactly_twenty_years_is_made() -> None:
    # 7,305 days: 15 steps of 487 days
    slow = Rule("slow", FixedAmount(D("0.25"), 487), max_cut=D("0.5"))
    schedule = plan("testazepam", "4 mg", rule=slow, catalog=str(TINY), start=START)
    assert sum(s.days for s in schedule.steps) == 15 * 487 == 7305


def test_products_that_make_nothing_smaller_are_refused_with_the_smallest_dose() -> None:
    with pytest.raises(PlanRefused) as refused:
        plan("onlybig", "5 mg", catalog=str(TINY), start=START)
    assert str(refused.value) == (
        "dose: got '5 mg'; the products make nothing smaller (the smallest is 5 mg/day in 1 "
        "doses); there is nothing to taper with them"
    )


def test_a_first_cut_above_the_cap_is_made_to_the_next_dose_and_said() -> None:
    crawl = Rule("crawl", PercentOfCurrent(D("0.0001"), 1), max_cut=D("0.0001"))
    schedule = plan("testazepam", "4 mg", rule=crawl, catalog=str(TINY), start=START)
    assert steps(schedule)[0] == ("3.75", 84, False, "3.9996", "4", 1)
    assert found(schedule, "forced-cut")[0] == (
        "warning",
        "forced-cut",
        "The dose falls from 4 mg to 3.75 mg/day, a cut of 6.2 %, above the cap of 0 %: the "
        "products make no dose between 4 mg/day and the cap (3.9996 mg/day), so 3.75 mg/day "
        "is the next dose they make; the plan stays at it for 84 days.",
        REC6,
        1,
    )


def test_a_dose_needing_too_many_pieces_is_refused_with_the_count() -> None:
    with pytest.raises(PlanRefused) as refused:
        plan("testazepam", "40 mg", catalog=str(TINY), products=["testazepam-cap-0.25"],
             overrides={"dose-above-range": "test"}, start=START)  # fmt: skip
    assert str(refused.value) == (
        "dose: got '40 mg'; at 2 doses a day each needs about 80 tablets or measures, more "
        "than 20; give more doses a day (--per-day) or larger products"
    )


# --- the patient facts, the products and the pieces per dose ----------------------------


@pytest.fixture(scope="module")
def clonazepam() -> Drug:
    return load_catalog().drug("clonazepam")


@pytest.mark.parametrize("age", [0, 130])
def test_ages_at_the_bounds_are_accepted(clonazepam: Drug, age: int) -> None:
    assert make_patient(clonazepam, age=age, weight_kg="20") == Patient(None, age, D(20), None)


@pytest.mark.parametrize("age", [-1, 131, True])
def test_ages_out_of_bounds_are_refused(clonazepam: Drug, age: int) -> None:
    with pytest.raises(InputError) as refused:
        make_patient(clonazepam, age=age, weight_kg="20")
    assert str(refused.value) == f"--age: got {age}; an age in whole years, 0 to 130"


@pytest.mark.parametrize("weight", ["0.5", "1", "500"])
def test_weights_within_the_bounds_are_kept(clonazepam: Drug, weight: str) -> None:
    assert make_patient(clonazepam, age=10, weight_kg=weight) == Patient(None, 10, D(weight), None)


@pytest.mark.parametrize("weight", ["0", "500.5", "abc", "nan"])
def test_weights_out_of_bounds_are_refused(clonazepam: Drug, weight: str) -> None:
    with pytest.raises(InputError) as refused:
        make_patient(clonazepam, age=10, weight_kg=weight)
    assert (
        str(refused.value) == f"--weight-kg: got '{weight}'; a weight in kg above 0 and up to 500"
    )


def test_a_child_needs_a_weight_and_an_adult_does_not(clonazepam: Drug) -> None:
    with pytest.raises(InputError) as refused:
        make_patient(clonazepam, age=17)
    assert str(refused.value) == (
        "--weight-kg: got ''; children are checked in mg/kg/day: give the weight"
    )
    assert make_patient(clonazepam, age=18) == Patient(None, 18, None, None)


@pytest.mark.parametrize("months", [0, 1200])
def test_use_months_at_the_bounds_are_accepted(clonazepam: Drug, months: int) -> None:
    assert make_patient(clonazepam, use_months=months) == Patient(None, None, None, months)


@pytest.mark.parametrize("months", [-1, 1201, True])
def test_use_months_out_of_bounds_are_refused(clonazepam: Drug, months: int) -> None:
    with pytest.raises(InputError) as refused:
        make_patient(clonazepam, use_months=months)
    assert str(refused.value) == f"--use-months: got {months}; whole months, 0 to 1200"


def test_the_indication_is_kept_and_an_unknown_one_lists_the_documented(clonazepam: Drug) -> None:
    assert make_patient(clonazepam, "seizure") == Patient("seizure", None, None, None)
    with pytest.raises(InputError) as refused:
        make_patient(clonazepam, "nope")
    assert str(refused.value) == (
        "--indication: got 'nope'; documented for clonazepam: panic-disorder, seizure"
    )
    with pytest.raises(InputError) as none:
        make_patient(load_catalog(TINY).drug("onlybig"), "x")
    assert str(none.value) == "--indication: got 'x'; documented for onlybig: none"


def test_an_unknown_region_is_refused(clonazepam: Drug) -> None:
    with pytest.raises(InputError) as refused:
        select_products(clonazepam, "eu")
    assert str(refused.value) == "--region: got 'eu'; us or uk"


def test_the_default_piece_limit_is_raised_to_what_the_start_needs() -> None:
    schedule = plan("testazepam", "8 mg", catalog=str(TINY), products=["testazepam-cap-0.25"],
                    overrides={"dose-above-range": "test"}, start=START)  # fmt: skip
    assert schedule.max_units == 16
    assert found(schedule, "units-limit-raised") == [
        (
            "warning",
            "units-limit-raised",
            "The starting dose needs about 16 tablets at each of 2 doses a day, so this plan "
            "allows up to 16 a dose in place of 4; give --max-units to set the limit yourself.",
            "taper's default limit per administration",
            None,
        )
    ]


# --- fractions of the start, liquids from a cap's floor, and the piece limit's bounds ------


def test_a_final_dose_as_a_fraction_of_the_start_stops_there() -> None:
    rule = Rule("half", PercentOfCurrent(D("0.1"), 14), final_fraction=D("0.5"))
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert [str(s.dose) for s in schedule.steps] == [
        "1.75", "1.625", "1.5", "1.375", "1.25", "1.125", "1",
    ]  # fmt: skip


def test_a_hold_at_a_fraction_of_the_start_is_held() -> None:
    rule = Rule("h", PercentOfCurrent(D("0.1"), 14), holds=(Hold(28, at_fraction=D("0.5")),))
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert [(str(s.dose), s.days) for s in schedule.steps if s.held] == [("1", 28)]


def test_fractions_of_the_start_left_undone_are_named_in_mg() -> None:
    rule = Rule(
        "f",
        PercentOfCurrent(D("0.1"), 14),
        final_fraction=D("0.05"),
        holds=(Hold(28, at_fraction=D("0.1")),),
        source="S",
    )
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert found(schedule, "rule-not-completed") == [
        (
            "warning",
            "rule-not-completed",
            "The plan stops from 0.125 mg/day (the products make no smaller dose), so it does "
            "not reach its final dose of 0.1 mg/day.",
            "S",
            14,
        )
    ]


def test_a_liquid_can_make_the_cap_floor_exactly() -> None:
    # the tablets (halves of 0.5 mg) cannot cut 0.5 mg by 20 % or less; with the liquid the
    # capped step is exactly the floor, 0.4 mg
    rule = Rule("r", FixedAmount(D("0.25"), 14), max_cut=D("0.2"))
    schedule = plan("clonazepam", "0.5 mg", rule=rule, products=["tablet"],
                    at_low_doses="liquid", formulary=FORMULARY, start=START)  # fmt: skip
    assert [str(s.dose) for s in schedule.steps][:4] == ["0.4", "0.32", "0.26", "0.21"]


def test_a_liquid_only_plan_raises_the_limit_by_measures() -> None:
    schedule = plan("clonazepam", "2 mg", products=["solution"], formulary=FORMULARY, start=START)
    assert schedule.max_units == 11
    assert found(schedule, "units-limit-raised")[0][2] == (
        "The starting dose needs about 11 tablets at each of 2 doses a day, so this plan allows "
        "up to 11 a dose in place of 4; give --max-units to set the limit yourself."
    )


def test_a_start_needing_exactly_the_most_pieces_is_planned() -> None:
    schedule = plan("testazepam", "10 mg", catalog=str(TINY),
                    products=["testazepam-cap-0.25"], start=START)  # fmt: skip
    assert schedule.max_units == 20


def test_a_kept_dose_that_must_rise_is_warned_in_full() -> None:
    schedule = plan("oxazepam", "60 mg", cut_order="morning-first", start=START)
    said = (
        "With the cut order morning-first, the products cannot make {} mg/day without raising "
        "the bedtime dose from 10 mg to 15 mg while the day's total falls; the other doses were "
        "cut further to make up for it."
    )
    source = "taper: the clinician's cut order (--cut-order)"
    assert found(schedule, "kept-dose-raised") == [
        ("warning", "kept-dose-raised", said.format(25), source, 7),
        ("warning", "kept-dose-raised", said.format(15), source, 9),
    ]


def test_a_target_halfway_between_two_doses_takes_the_gentler() -> None:
    rule = Rule("t", FixedAmount(D("0.3125"), 14))  # 1.6875: between 1.625 and 1.75
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert [(str(s.dose), s.days) for s in schedule.steps][:3] == [
        ("1.75", 14), ("1.5", 14), ("1.25", 14),
    ]  # fmt: skip


def test_a_fixed_amount_rule_stretches_a_steeper_step_in_milligrams() -> None:
    # 0.125 mg made where 0.1 mg was asked: 14 days x 1.25 = 17.5, so 18 days
    rule = Rule("t", FixedAmount(D("0.1"), 14))
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert [(str(s.dose), s.days) for s in schedule.steps][:3] == [
        ("1.875", 18), ("1.75", 18), ("1.625", 18),
    ]  # fmt: skip


def test_a_product_chosen_by_its_name() -> None:
    schedule = plan("clonazepam", "2 mg", products=["Clonazepam 0.5 mg tablet"], start=START)
    assert [p.id for p in schedule.products] == ["clonazepam-tab-0.5"]


def test_the_cap_source_names_the_rule_and_the_clinicians_cap() -> None:
    set_cap = plan("clonazepam", "2 mg", rule=build_rule(reduce="1mg", max_cut="30%"), start=START)
    assert {f[3] for f in found(set_cap, "cut-capped")} == {
        "clinician's own rule (set by the clinician)"
    }
    rule = Rule("x", FixedAmount(D(1), 14), max_cut=D("0.3"), cap_note="my cap", source="")
    bare = plan("clonazepam", "2 mg", rule=rule, start=START)
    assert {f[3] for f in found(bare, "cut-capped")} == {"my cap"}


def test_a_refusal_names_the_first_error_its_source_and_how_many_more() -> None:
    errors = [
        Finding("error", "dose-above-range", "Too high.", "src"),
        Finding("error", "dose-rises", "Up.", "s2"),
        Finding("error", "dose-rises", "Up.", "s2"),
    ]
    with pytest.raises(PlanRefused) as refused:
        planner._refuse_errors(errors)
    assert str(refused.value) == (
        "dose-above-range: Too high (source: src); to plan anyway, give --override "
        'dose-above-range="reason" (2 more errors after it)'
    )
    with pytest.raises(PlanRefused) as bare:
        planner._refuse_errors([Finding("error", "dose-rises", "Up.", "")])
    assert str(bare.value) == 'dose-rises: Up; to plan anyway, give --override dose-rises="reason"'


@pytest.mark.parametrize("day", ["1970-01-01", "2200-12-31"])
def test_start_dates_at_the_bounds_are_accepted(day: str) -> None:
    assert planner._start_date(day).isoformat() == day


@pytest.mark.parametrize("day", ["1969-12-31", "2201-01-01"])
def test_start_dates_out_of_bounds_are_refused(day: str) -> None:
    with pytest.raises(InputError) as refused:
        planner._start_date(day)
    assert str(refused.value) == f"--start: got '{day}'; a date from 1970-01-01 to 2200-12-31"
