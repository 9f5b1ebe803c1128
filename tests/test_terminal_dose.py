"""Every plan goes down to the smallest dose its products make and says how it stops.

The regression cases are the plans that once stopped from a substantial dose: each is worked by
hand below. The default rule cuts 10 % of the current dose every 14 days with a cap of 25 %; a
cut the products force (nothing they make lies between the dose and the cap) is made to the
next dose they make, and the step after it lasts 14 x ln(new / old) / ln(0.9) days, so the
rule's average pace holds, but never more than taper's longest step, 84 days:

- a third less (0.375 to 0.25 mg): 14 x ln(2/3) / ln(0.9) = 53.9, so 54 days;
- half (0.25 to 0.125 mg): 14 x ln(1/2) / ln(0.9) = 92.1, so 93 days, held to 84.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import taper
from taper.cli import cli
from taper.errors import InputError, PlanRefused, UnknownNameError
from taper.external import check_file
from taper.reports import to_json
from taper.rules import FixedAmount, Hold, PercentOfCurrent, Rule
from taper.schedule import Schedule
from taper.schedule_csv import ExternalOptions
from taper.validation import PLANNER_CODES

from .conftest import TINY
from .test_doses import refusal
from .test_planner import FORMULARY, JOINT, OWN, REC6, adjusted, found, steps

D = Decimal
START = "2027-01-04"


def doses(schedule: Schedule) -> list[str]:
    return [str(s.dose) for s in schedule.steps]


def tail(schedule: Schedule, k: int) -> list[tuple[str, int]]:
    return [(str(s.dose), s.days) for s in schedule.steps[-k:]]


def codes(schedule: Schedule) -> set[str]:
    return {f.code for f in schedule.findings}


def forced(schedule: Schedule) -> list[int]:
    return [f.step for f in schedule.findings if f.code == "forced-cut" and f.step is not None]


def finding(schedule: Schedule, code: str) -> taper.Finding:
    return next(f for f in schedule.findings if f.code == code)


# --- the plans that once stopped from a substantial dose ----------------------------------


def test_clonazepam_2_mg_goes_down_to_the_0125_mg_odt() -> None:
    """Once: stop from 0.375 mg/day after 237 days. Now two forced cuts and a stop from
    0.125 mg/day, the smallest dose the ODT makes (one dose a day)."""
    schedule = taper.plan("clonazepam", "2 mg", start=START)
    assert doses(schedule) == [
        "1.75", "1.625", "1.5", "1.375", "1.25", "1.125", "1", "0.875", "0.75", "0.625",
        "0.5", "0.375", "0.25", "0.125",
    ]  # fmt: skip
    assert tail(schedule, 3) == [("0.375", 39), ("0.25", 54), ("0.125", 84)]
    assert forced(schedule) == [13, 14]
    assert finding(schedule, "longest-step").step == 14
    stop = finding(schedule, "stop")
    assert stop.message == (
        "The plan stops from 0.125 mg/day after 84 days at it (about 1.25 to 2.5 mg of "
        "diazepam across 4 tables), the smallest daily dose its products make."
    )
    assert "final-dose-large" not in codes(schedule)
    # the last dose is one ODT at bedtime
    assert [(a.time, a.describe(short=True)) for a in schedule.steps[-1].administrations] == [
        ("bedtime", "0.125 mg (1 x 0.125 mg ODT)")
    ]


def test_clonazepam_half_a_milligram_is_three_steps_not_one_cut_and_a_stop() -> None:
    """0.5 to 0.375 mg is the cap's 25 % (14 x ln(0.75)/ln(0.9) = 38.2, so 39 days)."""
    schedule = taper.plan("clonazepam", "0.5 mg", start=START)
    assert tail(schedule, 3) == [("0.375", 39), ("0.25", 54), ("0.125", 84)]
    assert forced(schedule) == [2, 3]
    assert "stop" in codes(schedule)


def test_lorazepam_2_mg_goes_down_to_one_half_milligram_tablet() -> None:
    """0.5, 1 and 2 mg tablets: 1.5 (the cap), then 1 and 0.5 mg, both forced."""
    schedule = taper.plan("lorazepam", "2 mg", start=START)
    assert tail(schedule, 3) == [("1.5", 39), ("1", 54), ("0.5", 84)]
    assert forced(schedule) == [2, 3]
    alternatives = finding(schedule, "alternatives").message
    # the catalog's oral concentrate goes lower (0.1 mL of 2 mg/mL is 0.2 mg), and diazepam
    assert "with lorazepam 2 mg/mL oral concentrate (at_low_doses='liquid')" in alternatives
    assert "stopping from 0.2 mg/day" in alternatives
    assert "switching to diazepam first (switch_to='diazepam')" in alternatives


def test_alprazolam_2_mg_goes_down_to_one_quarter_milligram_tablet() -> None:
    schedule = taper.plan("alprazolam", "2 mg", start=START)
    assert tail(schedule, 4) == [("1", 30), ("0.75", 39), ("0.5", 54), ("0.25", 84)]
    assert forced(schedule) == [6, 7]
    assert finding(schedule, "stop").step == 7


def test_diazepam_20_mg_stops_from_2_mg_and_says_so_with_what_goes_lower() -> None:
    """Once: a silent stop from 4 mg/day. Now 4 to 2 mg (forced) and the stop from 2 mg."""
    schedule = taper.plan("diazepam", "20 mg", start=START)
    assert tail(schedule, 2) == [("4", 30), ("2", 84)]
    assert forced(schedule) == [len(schedule.steps)]
    assert finding(schedule, "stop").message.startswith(
        "The plan stops from 2 mg/day after 84 days at it (2 mg of diazepam itself)"
    )
    alternatives = finding(schedule, "alternatives").message
    assert "(at_low_doses='liquid'): 2 forced cuts, the largest 50 %, stopping from 0.1 mg/day" in (
        alternatives
    )
    assert "halving the diazepam 2 mg tablet along its break line (halve=['diazepam-tab-2']" in (
        alternatives
    )


def test_alprazolam_switched_to_diazepam_tapers_the_diazepam_to_2_mg() -> None:
    schedule = taper.plan(
        "alprazolam", "3 mg", switch_to="diazepam", table="va-dod-2021", start=START
    )
    assert tail(schedule, 2) == [("4", 30), ("2", 84)]
    assert forced(schedule) == [len(schedule.steps)]
    assert "stop" in codes(schedule)


def test_diazepam_40_mg_by_nougg_holds_no_dose_past_the_longest_step() -> None:
    """Once: a 122-day step at 4 mg, then a silent stop. The slow phase's 5 % every 28 days
    asks for 100 to 379 days after its cuts (5 to 4 mg: 28 x ln(0.8)/ln(0.95) = 122)."""
    schedule = taper.plan("diazepam", "40 mg", rule="nougg-proportional", start=START)
    assert max(s.days for s in schedule.steps) == 84
    assert tail(schedule, 4) == [("6", 84), ("5", 84), ("4", 84), ("2", 84)]
    bounded = finding(schedule, "longest-step")
    assert bounded.message.startswith(
        "Steps 14 to 17: keeping the rule's pace after the cut would need steps of 100 to 379 days"
    )
    assert "taper's own bound" in bounded.source
    assert forced(schedule) == [17]


def test_zolpidem_10_mg_is_planned_not_refused() -> None:
    """5 and 10 mg tablets: 10 to 5 mg is the only cut, forced, then the stop from 5 mg."""
    schedule = taper.plan("zolpidem", "10 mg", start=START)
    assert tail(schedule, 1) == [("5", 84)]
    assert forced(schedule) == [1]
    assert finding(schedule, "stop").message.startswith(
        "The plan stops from 5 mg/day after 84 days at it (about 2.5 mg of diazepam across 2 "
        "tables)"
    )


# --- the low-dose strategies: stretch, stop and liquid ---------------------------------------


def test_stop_strategy_ends_the_plan_where_the_tablets_run_out_of_small_cuts() -> None:
    rule = taper.build_rule(reduce="10%", every="14d")
    schedule = taper.plan("clonazepam", "2 mg", rule=rule, start=START, at_low_doses="stop")
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
    # below 0.75 mg/day the products cannot make a cut as small as the rule asks, so the plan
    # stops from 0.75 mg/day, the lowest dose they can taper from at the rule's pace
    assert found(schedule, "stopped-at-low-dose", "target-adjusted") == [
        ("warning", "stopped-at-low-dose", ["0.75", "0.75"], OWN, 9),
        ("info", "target-adjusted", adjusted("1.8", "10", "1.75", "12.5", 18), OWN, 1),
        ("info", "target-adjusted", adjusted("1.575", "10", "1.625", "7.1"), OWN, 2),
        ("info", "target-adjusted", adjusted("1.4625", "10", "1.5", "7.7"), OWN, 3),
        ("info", "target-adjusted", adjusted("1.35", "10", "1.375", "8.3"), OWN, 4),
        ("info", "target-adjusted", adjusted("1.2375", "10", "1.25", "9.1"), OWN, 5),
        ("info", "target-adjusted", adjusted("1.0125", "10", "1", "11.1", 16), OWN, 7),
        ("info", "target-adjusted", adjusted("0.9", "10", "0.875", "12.5", 18), OWN, 8),
        ("info", "target-adjusted", adjusted("0.7875", "10", "0.75", "14.3", 21), OWN, 9),
    ]


def test_stop_strategy_refuses_a_plan_whose_first_cut_is_already_too_large() -> None:
    rule = taper.build_rule(reduce="1%", every="14d")
    with pytest.raises(PlanRefused) as refused:
        taper.plan("clonazepam", "2 mg", rule=rule, start=START, at_low_doses="stop")
    # the products cannot make the rule's first cut from 2 mg/day (to 1.98 mg/day) without a
    # larger cut
    assert refusal(refused.value) == ("at_low_doses", "stop", ["2", "1.98"])


def test_liquid_strategy_names_the_liquid_and_tapers_in_its_measures() -> None:
    rule = taper.build_rule(reduce="10%", every="14d")
    schedule = taper.plan(
        "clonazepam",
        "0.5 mg",
        rule=rule,
        start=START,
        at_low_doses="liquid",
        formulary=FORMULARY,
    )
    assert [d for d, *_ in steps(schedule)] == [
        "0.45", "0.41", "0.37", "0.33", "0.3", "0.27", "0.24", "0.22", "0.2", "0.18",
        "0.16", "0.14", "0.13", "0.12", "0.11", "0.1", "0.09", "0.08", "0.07", "0.06", "0.05",
        "0.04", "0.03", "0.02", "0.01",
    ]  # fmt: skip
    # the liquid alone, one form a dose: the plan's set is the liquid where it does as well as
    # every product (a 0.125 mg ODT once joined the liquid in some doses, two forms at once);
    # each dose of the day loses a 0.01 mg measure or two, never rising at one of them;
    # down to 0.01 mg/day, the liquid's smallest measure: from 0.03 mg/day each cut is forced
    # (33.3 %, then 50 %), paced by 14 days x ln(2/3)/ln(0.9) = 54 days, then held to taper's
    # longest step, 84 days, where the pace would need 14 x ln(1/2)/ln(0.9) = 93
    assert [s.days for s in schedule.steps] == [
        14, 14, 14, 16, 14, 14, 16, 14, 14, 14, 16, 18, 14, 14, 14, 14, 14, 16, 18, 21, 25,
        30, 39, 54, 84,
    ]  # fmt: skip
    assert {u.product.id for s in schedule.steps for a in s.administrations for u in a.units} == {
        "bench-clonazepam-0.1-ml"
    }
    assert "mixed-forms" not in codes(schedule)
    assert [f.step for f in schedule.findings if f.code == "forced-cut"] == [24, 25]
    # from 0.5 mg/day, from step 1, the doses use the 0.1 mg/mL liquid as well
    assert found(schedule, "liquid-from-here") == [
        ("info", "liquid-from-here", ["0.5", "1", "0.1"], OWN, 1)
    ]
    said = finding(schedule, "liquid-from-here").message
    assert "clonazepam 0.1 mg/mL oral suspension (benchmark)" in said
    # the option that asked for it, in the library's words
    assert said.endswith("as well (at_low_doses='liquid').")


def test_stretch_is_the_default_and_never_switches_to_a_liquid() -> None:
    rule = taper.build_rule(reduce="10%", every="14d")
    schedule = taper.plan("clonazepam", "0.5 mg", rule=rule, start=START, formulary=FORMULARY)
    assert found(schedule, "liquid-from-here") == []
    assert all(
        u.product.is_solid for s in schedule.steps for a in s.administrations for u in a.units
    )


def test_a_liquid_can_make_the_cap_floor_exactly() -> None:
    # the tablets (halves of 0.5 mg) cannot cut 0.5 mg by 20 % or less; with the liquid the
    # capped step is exactly the floor, 0.4 mg
    rule = Rule("r", FixedAmount(D("0.25"), 14), max_cut=D("0.2"))
    schedule = taper.plan("clonazepam", "0.5 mg", rule=rule, products=["tablet"],
                          at_low_doses="liquid", formulary=FORMULARY, start=START)  # fmt: skip
    assert [str(s.dose) for s in schedule.steps][:4] == ["0.4", "0.32", "0.26", "0.21"]


# --- forced cuts ------------------------------------------------------------------------------


def test_a_first_cut_above_the_cap_is_made_to_the_next_dose_and_said() -> None:
    crawl = Rule("crawl", PercentOfCurrent(D("0.0001"), 1), max_cut=D("0.0001"))
    schedule = taper.plan("testazepam", "4 mg", rule=crawl, catalog=str(TINY), start=START)
    assert steps(schedule)[0] == ("3.75", 84, False, "3.9996", "4", 1)
    # from 4 mg to 3.75 mg/day, a cut of 6.2 %, above the cap of 0 %: nothing lies between
    # 4 mg/day and the cap (3.9996 mg/day), so 3.75 mg/day, held for 84 days
    assert found(schedule, "forced-cut")[0] == (
        "warning",
        "forced-cut",
        ["4", "3.75", "6.2", "0", "4", "3.9996", "3.75", "84"],
        REC6,
        1,
    )


# --- the clinician's own stop ---------------------------------------------------------------


def test_a_stop_above_the_terminal_dose_is_the_clinicians_and_is_a_warning() -> None:
    schedule = taper.plan("clonazepam", "2 mg", rule=taper.build_rule(final_dose="0.5mg"),
                          start=START)  # fmt: skip
    assert doses(schedule)[-1] == "0.5"
    warning = finding(schedule, "final-dose-large")
    assert warning.severity == "warning"
    assert warning.message.endswith(
        "above the smallest daily dose its products make (0.125 mg/day); 0.5 mg/day is the "
        "clinician's final dose (final_dose)."
    )
    assert "stop" not in codes(schedule)
    # the way on, planned: the same rule on to the 0.125 mg ODT adds 0.375 mg/day (the cap,
    # 14 x ln(0.75)/ln(0.9) = 38.2, so 39 days), 0.25 (54) and 0.125 (84): 177 days, 25 weeks
    assert (
        "going on past the final dose to 0.125 mg/day, the smallest dose the products "
        "make (final_dose='0.125mg'): 2 forced cuts, the largest 50 %, stopping from "
        "0.125 mg/day, 25 weeks longer"
    ) in finding(schedule, "alternatives").message


def test_a_plan_stopping_early_names_the_final_dose_and_the_hold_it_misses() -> None:
    rule = taper.build_rule(final_dose="0.1mg", holds=("0.2mg:28d",))
    schedule = taper.plan("clonazepam", "2 mg", rule=rule, start=START)
    # the hold at 0.2 mg/day is made at the first dose at or below it, 0.125 mg/day, for
    # the longer of its 28 days and the forced cut's 84
    assert [s for s in steps(schedule)][-3:] == [
        ("0.375", 39, False, "0.45", "0.5", 14),
        ("0.25", 54, False, "0.3375", "0.375", 14),
        ("0.125", 84, True, "0.225", "0.25", 14),
    ]
    # the plan stops from 0.125 mg/day, the smallest dose the products make, so it does not
    # reach its final dose of 0.1 mg/day
    assert found(schedule, "rule-not-completed") == [
        ("warning", "rule-not-completed", ["0.125", "0.1"], JOINT, 14)
    ]


def test_fractions_of_the_start_left_undone_are_named_in_mg() -> None:
    rule = Rule(
        "f",
        PercentOfCurrent(D("0.1"), 14),
        final_fraction=D("0.05"),
        holds=(Hold(28, at_fraction=D("0.1")),),
        source="S",
    )
    schedule = taper.plan("clonazepam", "2 mg", rule=rule, start=START)
    # a final dose of 5 % of 2 mg: 0.1 mg/day, below the stop from 0.125 mg/day
    assert found(schedule, "rule-not-completed") == [
        ("warning", "rule-not-completed", ["0.125", "0.1"], "S", 14)
    ]


def test_stopping_at_low_doses_is_said_with_the_way_on() -> None:
    schedule = taper.plan("clonazepam", "2 mg", at_low_doses="stop", start=START)
    assert finding(schedule, "final-dose-large").message.endswith(
        "the clinician asked to stop where the products run out of small cuts "
        "(at_low_doses='stop')."
    )
    assert "going on with longer steps (at_low_doses='stretch')" in (
        finding(schedule, "alternatives").message
    )


def test_the_patient_page_says_how_the_plan_stops() -> None:
    from taper.reports.pdf import pdf_bytes

    from .test_reports import pdf_text

    own = " ".join(pdf_text(pdf_bytes(taper.plan("clonazepam", "2 mg", start=START))))
    assert "Your last dose, 0.125 mg a day, is the smallest your medicine comes in" in own
    asked = taper.plan("clonazepam", "2 mg", rule=taper.build_rule(final_dose="0.5mg"),
                       start=START)  # fmt: skip
    text = " ".join(" ".join(pdf_text(pdf_bytes(asked))).split())
    assert "The plan stops from 0.5 mg a day on" in text
    assert "as your prescriber planned" in text


# --- halving and liquids: the presets' published steps --------------------------------------


def test_nice_cks_bands_with_the_liquid_make_their_published_steps() -> None:
    """2 mg steps above 20 mg, 1 mg to 5 mg, then 0.5 mg to the last dose, 0.5 mg/day."""
    schedule = taper.plan(
        "diazepam", "40 mg", rule="nice-cks-diazepam", at_low_doses="liquid", start=START
    )
    expected = [*range(38, 20, -2), *range(20, 4, -1)]
    halves = [D(x) / 2 for x in range(9, 0, -1)]
    assert [s.dose for s in schedule.steps] == [D(x) for x in expected] + halves
    assert all(s.days == 14 for s in schedule.steps)
    assert "liquid-measure" in codes(schedule)


def test_nhs_scotland_with_halved_2_mg_tablets_makes_1_mg_steps_morning_first() -> None:
    """The UK's 2 mg tablets halved (off-licence) give 1 mg doses: 1 mg steps to 1 mg/day,
    the morning dose to zero first, after a switch from lorazepam as before it."""
    schedule = taper.plan(
        "lorazepam",
        "2 mg",
        region="uk",
        switch_to="diazepam",
        rule="nhs-scotland-diazepam",
        halve=["diazepam-tab-2-uk"],
        start=START,
    )
    assert [s.dose for s in schedule.steps] == [D(x) for x in range(19, 0, -1)]
    mornings = [s.at("morning") for s in schedule.steps]
    assert [m.dose if m else D(0) for m in mornings] == [
        *(D(x) for x in range(9, 0, -1)),
        *([D(0)] * 10),
    ]
    assert all(s.at("bedtime").dose == D(10) for s in schedule.steps[:10])  # type: ignore[union-attr]
    assert "cut-order-not-kept" not in codes(schedule)
    halved = finding(schedule, "halving-off-licence")
    assert "off-licence" in halved.message and "2 mg tablet" in halved.message
    # without halving, the tablets cannot lower the morning dose below 4 mg, and say so
    plain = taper.plan("lorazepam", "2 mg", region="uk", switch_to="diazepam",
                       rule="nhs-scotland-diazepam", start=START)  # fmt: skip
    order = finding(plain, "cut-order-not-kept")
    assert order.message.startswith("Steps 7 to 12: the rule's cut order says the morning dose")
    assert "the bedtime dose falls while an earlier one is still taken" in order.message


def test_deprescribing_bzra_from_diazepam_20_mg_ends_at_2_5_mg() -> None:
    """25 % of the start every 14 days, then 12.5 %: 15, 10, 5 and 2.5 mg (half a 5 mg
    tablet, or the liquid), then the stop."""
    halved = taper.plan("diazepam", "20 mg", rule="deprescribing-bzra", halve=["diazepam-tab-5"],
                        start=START)  # fmt: skip
    liquid = taper.plan("diazepam", "20 mg", rule="deprescribing-bzra", at_low_doses="liquid",
                        start=START)  # fmt: skip
    for schedule in (halved, liquid):
        assert doses(schedule) == ["15", "10", "5", "2.5"]
        assert [s.days for s in schedule.steps] == [14] * 4


def test_halving_is_only_for_tablets_with_a_break_line() -> None:
    with pytest.raises(InputError, match="has no break line in the catalog"):
        taper.plan("clonazepam", "2 mg", halve=["clonazepam-tab-1"], start=START)
    with pytest.raises(UnknownNameError, match="halve"):
        taper.plan("clonazepam", "2 mg", halve=["diazepam-tab-2"], start=START)
    rule = taper.load_protocol  # a protocol may allow it too
    del rule


def test_a_protocol_can_allow_halving_and_set_the_longest_step(tmp_path: Path) -> None:
    path = tmp_path / "clinic.toml"
    path.write_text(
        'name = "clinic"\ncut = "10%"\nevery = "14d"\nhalve = ["diazepam-tab-2"]\n'
        'longest_step = "8w"\n',
        encoding="utf-8",
    )
    rule = taper.load_protocol(path)
    assert (rule.halve, rule.longest_step_days) == (("diazepam-tab-2",), 56)
    schedule = taper.plan("diazepam", "20 mg", rule=rule, start=START)
    assert doses(schedule)[-2:] == ["2", "1"]
    assert max(s.days for s in schedule.steps) == 56
    assert "halving-off-licence" in codes(schedule)


def test_the_per_dose_label_rule_says_where_tablets_cannot_keep_it() -> None:
    """The label: 0.125 mg less at each of two doses. With the ODTs, 0.375 at each; with the
    0.5 mg tablets only, 0.25 and 0.5 mg, said in a finding."""
    odt = taper.plan("clonazepam", "1 mg", rule="fda-label-clonazepam", start=START)
    assert [[a.dose for a in s.administrations] for s in odt.steps] == [
        [D("0.375"), D("0.375")],
        [D("0.25"), D("0.25")],
        [D("0.125"), D("0.125")],
    ]
    assert "per-dose-not-kept" not in codes(odt)
    tablets = taper.plan("clonazepam", "1 mg", rule="fda-label-clonazepam", products=["tablet"],
                         start=START)  # fmt: skip
    missed = [f for f in tablets.findings if f.code == "per-dose-not-kept"]
    assert [f.step for f in missed] == [1, 3]
    assert missed[0].message == (
        "The rule lowers each dose by the same amount, to 0.375 mg in the morning, 0.375 mg at "
        "bedtime; the products cannot make that, so the step takes 0.25 mg in the morning, "
        "0.5 mg at bedtime."
    )


# --- liquids: taper's own measure, said and changeable --------------------------------------


def test_a_liquid_with_no_labelled_measure_uses_taper_s_syringe_and_says_so() -> None:
    liquid = ["diazepam-solution-1-mg-ml"]
    schedule = taper.plan("diazepam", "5 mg", products=liquid, start=START)
    measure = finding(schedule, "liquid-measure")
    assert measure.message.startswith(
        "The diazepam 1 mg/mL oral solution (5 mg/5 mL) is measured with a 1 mL oral syringe "
        "marked every 0.1 mL: its label's measuring device is not in the catalog, so this "
        "measure is taper's own assumption (liquid_increment changes the marks)"
    )
    assert doses(schedule)[-1] == "0.1"
    marked = taper.plan("diazepam", "5 mg", products=liquid, liquid_increment="0.25ml",
                        start=START)  # fmt: skip
    assert doses(marked)[-1] == "0.25"
    assert "marked every 0.25 mL" in finding(marked, "liquid-measure").message
    for bad in ("0.3ml", "0.001ml", "1e-30", "2ml", "abc"):
        with pytest.raises(InputError, match="liquid_increment"):
            taper.plan("diazepam", "5 mg", products=liquid, liquid_increment=bad, start=START)
    # with no liquid in the plan the marks would change nothing: refused
    with pytest.raises(InputError, match="used only with a liquid"):
        taper.plan("diazepam", "5 mg", liquid_increment="0.2ml", start=START)


def test_a_liquid_never_enters_a_plan_unasked() -> None:
    schedule = taper.plan("diazepam", "20 mg", start=START)
    assert all(u.product.is_solid for s in schedule.steps for a in s.administrations
               for u in a.units)  # fmt: skip


# --- check agrees with the plan --------------------------------------------------------------


def test_check_grades_a_gradual_tail_as_warnings_and_an_abrupt_stop_as_a_warning(
    tmp_path: Path,
) -> None:
    header = "start_date,days,daily_dose_mg,morning_mg,bedtime_mg\n"
    gradual = tmp_path / "gradual.csv"
    gradual.write_text(
        header + "2027-01-04,28,0.375,0.125,0.25\n2027-02-01,28,0.25,0.125,0.125\n"
        "2027-03-01,28,0.125,0,0.125\n",
        encoding="utf-8",
    )
    abrupt = tmp_path / "abrupt.csv"
    abrupt.write_text(header + "2027-01-04,28,0.375,0.125,0.25\n", encoding="utf-8")
    runner = CliRunner()
    for path, expected in ((gradual, {"forced-cut", "stop"}), (abrupt, {"final-dose-large"})):
        result = runner.invoke(
            cli, ["check", str(path), "--drug", "clonazepam", "--start-dose", "0.5mg"]
        )
        assert result.exit_code == 0, result.output
        found = {f.code for f in check_file(path, ExternalOptions("clonazepam", D("0.5")))}
        assert expected <= found
        assert "cut-above-cap" not in found


def test_check_of_the_plan_s_json_finds_what_the_plan_found(tmp_path: Path) -> None:
    schedule = taper.plan("diazepam", "20 mg", halve=["diazepam-tab-2"], start=START)
    path = tmp_path / "p.json"
    path.write_text(to_json(schedule), encoding="utf-8")
    data = json.loads(path.read_text(encoding="utf-8"))
    halved = [p for p in data["products"] if p.get("halved_off_licence")]
    assert [(p["id"], p["split"]) for p in halved] == [("diazepam-tab-2", "0.5")]
    found = check_file(path, ExternalOptions())
    mine = {f.code for f in schedule.findings} - set(PLANNER_CODES)
    assert mine <= {f.code for f in found}
    assert not [f for f in found if f.severity == "error"]
    # read back, the plan keeps its halved tablets, and a re-plan goes on with them
    again = taper.read_plan(path)
    assert any(p.halved_off_licence for p in again.products)
    later = taper.replan(again, "2027-03-01", hold_days=14)
    assert [f for f in taper.check(later) if f.severity == "error"] == []
    assert later.steps[-1].dose == D(1)


def test_fidelity_and_compare_report_the_stop_and_the_forced_cuts() -> None:
    schedule = taper.plan("diazepam", "20 mg", start=START)
    fid = taper.fidelity(schedule)
    assert (fid.forced_cuts, fid.largest_forced_cut, fid.stop_mg) == (1, D("0.5"), D(2))
    table = taper.compare({"plan": schedule}).table
    assert table.loc["plan", "forced_cuts"] == 1
    assert bool(table.loc["plan", "stops_at_terminal_dose"])


def test_the_alternatives_do_not_depend_on_the_start_date() -> None:
    first = finding(taper.plan("lorazepam", "2 mg", start="2027-01-04"), "alternatives")
    later = finding(taper.plan("lorazepam", "2 mg", start="2028-06-01"), "alternatives")
    assert first == later


def test_the_command_line_takes_the_new_options(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "plan", "diazepam", "20mg", "--start", START, "--halve", "diazepam-tab-2",
            "--longest-step", "8w", "--json", str(tmp_path / "p.json"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert data["limits"]["longest_step_days"] == 56
    assert data["steps"][-1]["daily_dose_mg"] == "1"
    assert data["stop"]["from_mg"] == "1"
    bad = runner.invoke(cli, ["plan", "clonazepam", "2mg", "--halve", "clonazepam-odt-0.125"])
    assert bad.exit_code == 2
    assert "Error: --halve: got 'clonazepam-odt-0.125'" in bad.output
    step = runner.invoke(cli, ["plan", "clonazepam", "2mg", "--longest-step", "0d"])
    assert step.exit_code == 2
    assert "Error: --longest-step: got '0d'" in step.output


# --- what a second read found -------------------------------------------------------------


def test_taper_checks_its_own_csv_of_a_liquid_or_halved_plan(tmp_path: Path) -> None:
    """The CSV names the plan's products (and their halving or measure), so check holds the
    schedule to them, not to the tablets alone."""
    from taper.reports import csv_text

    liquid = taper.plan("diazepam", "20 mg", rule="nice-cks-diazepam", at_low_doses="liquid",
                        start=START)  # fmt: skip
    halved = taper.plan("diazepam", "10 mg", region="uk", rule="nhs-scotland-diazepam",
                        halve=["diazepam-tab-2-uk"], start=START)  # fmt: skip
    for name, schedule in (("liquid", liquid), ("halved", halved)):
        path = tmp_path / f"{name}.csv"
        path.write_text(csv_text(schedule), encoding="utf-8")
        found = check_file(path, ExternalOptions(region=schedule.prescription.region))
        assert not [f for f in found if f.severity == "error"], name
        stop = next(f for f in found if f.code in ("stop", "final-dose-large"))
        assert stop.code == next(
            f.code for f in schedule.findings if f.code in ("stop", "final-dose-large")
        )
    assert "diazepam-tab-2-uk/half" in csv_text(halved)


def test_a_replan_keeps_the_plan_s_low_dose_choice_and_its_longest_step(tmp_path: Path) -> None:
    liquid = taper.plan("diazepam", "20 mg", rule="nice-cks-diazepam", at_low_doses="liquid",
                        start=START)  # fmt: skip
    path = tmp_path / "liquid.json"
    path.write_text(to_json(liquid), encoding="utf-8")
    again = taper.replan(taper.read_plan(path), "2027-02-01", hold_days=28)
    hold = again.steps[again.replan.history]  # type: ignore[union-attr]
    assert hold.held and all(u.product.is_solid for a in hold.administrations for u in a.units)
    first_liquid = next(
        s.number for s in again.steps for a in s.administrations for u in a.units
        if u.product.is_liquid
    )  # fmt: skip
    assert finding(again, "liquid-from-here").step == first_liquid
    bounded = taper.plan("clonazepam", "2 mg", rule=taper.build_rule(longest_step="28d"),
                         start=START)  # fmt: skip
    path = tmp_path / "bounded.json"
    path.write_text(to_json(bounded), encoding="utf-8")
    later = taper.replan(taper.read_plan(path), "2027-03-01", hold_days=14)
    assert max(s.days for s in later.steps if not s.held) == 28


def test_a_replan_s_findings_name_their_own_steps() -> None:
    first = taper.plan("clonazepam", "2 mg", start=START)
    again = taper.replan(first, "2027-03-01", hold_days=28)
    for f in again.findings:
        if f.code in ("longest-step", "cut-order-not-kept") and f.step is not None:
            assert f.message.startswith((f"Step {f.step}:", f"Steps {f.step} to")), f.message
    assert all(f.source for f in again.findings if f.code == "forced-cut")


def test_the_pdf_says_the_forced_cuts_and_the_stop() -> None:
    from taper.reports.pdf import pdf_bytes

    from .test_reports import pdf_text

    text = " ".join(" ".join(pdf_text(pdf_bytes(taper.plan("clonazepam", "2 mg",
                                                            start=START)))).split())  # fmt: skip
    assert "no single cut above" not in text
    assert "no cut above 25 % but 2 the products force: step 13 (33.3 %), step 14 (50 %)" in text
    assert "from 0.125 mg/day after 84 days at it" in text


def test_the_longest_step_says_how_long_a_step_lasts() -> None:
    """A bound shorter than the rule's interval leaves the interval, and says so."""
    schedule = taper.plan("clonazepam", "2 mg", rule=taper.build_rule(longest_step="1d"),
                          start=START)  # fmt: skip
    assert all(s.days == 14 for s in schedule.steps)
    message = finding(schedule, "longest-step").message
    assert "it lasts 14 days, the rule's own interval, as taper lengthens no step past 1 day" in (
        message
    )


def test_a_cut_order_takes_the_place_of_the_per_dose_method() -> None:
    schedule = taper.plan("clonazepam", "2 mg", rule="fda-label-clonazepam",
                          cut_order="morning-first", start=START)  # fmt: skip
    assert not {"per-dose-not-kept", "cut-order-not-kept"} & codes(schedule)
    mornings = [s.at("morning") for s in schedule.steps]
    assert mornings[-1] is None  # the morning dose went first


def test_the_per_dose_method_only_in_whole_amounts() -> None:
    """At three doses a day the label's 0.25 mg/day does not share out in whole micrograms:
    the day's dose is shared as usual, with no warning of a per-dose amount it never had."""
    schedule = taper.plan("clonazepam", "3 mg", rule="fda-label-clonazepam", per_day=3,
                          start=START)  # fmt: skip
    assert "per-dose-not-kept" not in codes(schedule)


def test_no_switch_is_offered_for_a_rule_in_milligrams() -> None:
    """0.25 mg of clonazepam a step is not 0.25 mg of diazepam: the switch is not tried."""
    schedule = taper.plan("clonazepam", "1 mg", rule=taper.build_rule(reduce="0.25mg",
                          every="14d"), start=START)  # fmt: skip
    message = finding(schedule, "alternatives").message
    assert "switching" not in message and "none of those tried" not in message
    refused = finding(taper.plan("alprazolam", "3 mg", start=START), "alternatives").message
    assert "cannot be planned: switching to diazepam first (refused: dose-above-range)" in refused


def test_a_protocol_may_halve_tablets_of_either_region(tmp_path: Path) -> None:
    path = tmp_path / "clinic.toml"
    path.write_text(
        'cut = "1 mg"\nevery = "14d"\nmax_cut = "50%"\n'
        'halve = ["diazepam-tab-2-uk", "diazepam-tab-2"]\n',
        encoding="utf-8",
    )
    for region in ("us", "uk"):
        schedule = taper.plan("diazepam", "10 mg", rule=str(path), region=region, start=START)
        assert doses(schedule)[-1] == "1", region
    with pytest.raises(InputError, match=r"^halve: got 'abc'"):
        taper.plan("clonazepam", "2 mg", halve=["tablet:abc"], start=START)
    with pytest.raises(UnknownNameError, match="tablets with a break line in this plan: none"):
        taper.plan("clonazepam", "2 mg", halve=["nothing-of-the-sort"], start=START)


def test_one_liquid_per_plan() -> None:
    """Two strengths of one liquid invite a five-fold error: the plan takes one of them."""
    for region in ("us", "uk"):
        schedule = taper.plan("diazepam", "20 mg", rule="nice-cks-diazepam",
                              at_low_doses="liquid", region=region, start=START)  # fmt: skip
        liquids = {u.product.id for s in schedule.steps for a in s.administrations
                   for u in a.units if u.product.is_liquid}  # fmt: skip
        assert len(liquids) == 1, region
        # the one that makes the bands' 0.5 mg steps: 1 mg/mL, 0.1 mL marks
        assert doses(schedule)[-9:] == ["4.5", "4", "3.5", "3", "2.5", "2", "1.5", "1", "0.5"]


def test_check_of_a_json_names_a_rule_faster_than_the_guideline(tmp_path: Path) -> None:
    schedule = taper.plan("clonazepam", "1 mg", rule="fda-label-clonazepam", start=START)
    path = tmp_path / "label.json"
    path.write_text(to_json(schedule), encoding="utf-8")
    paces = [f for f in check_file(path, ExternalOptions()) if f.code == "pace-above-guideline"]
    assert "the rule itself goes faster than the guideline (fda-label-clonazepam)" in (
        paces[0].message
    )
