"""A switch's numbers: exact equivalents, falls counted as cuts, limits, checks of its files."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

import taper
from taper.cli import cli
from taper.errors import FindingsRefused, PlanRefused, UnknownNameError
from taper.external import check_file
from taper.plan_json import read_plan
from taper.reports import csv_text, to_json
from taper.reports.pdf import pdf_bytes
from taper.schedule import Schedule
from taper.schedule_csv import ExternalOptions
from taper.validation import PACE_SOURCE, check

from .test_doses import numbers
from .test_validation import CLONAZEPAM, CONTIGUOUS, LIMIT, ONE_TRUTH, XANAX_LABEL

D = Decimal
START = "2027-01-04"


def codes(findings: object) -> set[str]:
    return {f.code for f in findings}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("drug", "dose", "per_day", "to", "table", "per_stage", "each"),
    [
        # VA/DoD 2021: oxazepam 30 mg ~ diazepam 10 mg, a third that no decimal holds
        ("oxazepam", "90 mg", 3, "diazepam", "va-dod-2021", ["30", "30", "30"], "10"),
        # Ashton: clorazepate 15 mg ~ diazepam 10 mg, two thirds
        ("clorazepate", "22.5 mg", 3, "diazepam", "ashton", ["15", "15", "15"], "5"),
        # VA/DoD 2021: temazepam 15 mg ~ diazepam 10 mg ~ lorazepam 2 mg
        ("temazepam", "30 mg", 1, "lorazepam", "va-dod-2021", ["4"], "4"),
    ],
)
def test_each_dose_is_converted_exactly_from_the_published_pair(
    drug: str, dose: str, per_day: int, to: str, table: str, per_stage: list[str], each: str
) -> None:
    schedule = taper.plan(drug, dose, per_day=per_day, switch_to=to, table=table, start=START)
    switch = schedule.switch
    assert switch is not None
    assert [str(s.equivalent) for s in switch.stages] == per_stage
    assert str(switch.stages[0].dose_of(to)) == each
    assert switch.start_equivalent == D(per_stage[0])
    assert "switch-equivalent-falls" not in codes(schedule.findings)
    assert taper.convert(dose, drug, to, table=table).value == D(per_stage[0])


def test_the_json_carries_the_exact_ratio_and_a_checker_reads_it(tmp_path: Path) -> None:
    schedule = taper.plan(
        "oxazepam", "90 mg", per_day=3, switch_to="diazepam", table="va-dod-2021", start=START
    )
    data = json.loads(to_json(schedule))["switch"]
    assert data["ratio_mg"] == {"from": "3", "to": "1"}
    assert data["to_mg_per_from_mg"] == "0.333"
    assert data["start_equivalent_mg"] == "30"
    assert data["max_units_per_administration"] == 4
    path = tmp_path / "p.json"
    path.write_text(to_json(schedule), encoding="utf-8")
    assert [f for f in check_file(path, ExternalOptions()) if f.severity == "error"] == []


def test_a_fall_in_the_equivalent_is_a_warned_cut_counted_in_the_pace() -> None:
    """Clonazepam 1 mg in 3 doses by VA/DoD is 3.33 mg diazepam a dose; 2 mg tablets make 2."""
    schedule = taper.plan(
        "clonazepam", "1 mg", per_day=3, switch_to="diazepam", table="va-dod-2021", start=START
    )
    switch = schedule.switch
    assert switch is not None
    assert [str(s.equivalent) for s in switch.stages] == ["8.25", "6.5", "6"]
    found = {f.code: f for f in schedule.findings}
    assert "from 10 mg to 6 mg (40 %)" in found["switch-equivalent-falls"].message
    paces = [f.message for f in schedule.findings if f.code == "pace-above-guideline"]
    assert any(m.startswith("Switch stages 1 to 2:") and "from 10 mg to 6.5 mg" in m for m in paces)
    exact = taper.plan("clonazepam", "2 mg", switch_to="diazepam", start=START)
    assert "switch-equivalent-falls" not in codes(exact.findings)
    # the only fast fortnight is the forced cut at the end of the taper, 4 to 2 mg of diazepam
    fast = [f for f in exact.findings if f.code == "pace-above-guideline"]
    assert [f.message.startswith("Switch stage") for f in fast] == [False]
    assert {f.step for f in exact.findings if f.code == "forced-cut"} == {fast[0].step}


def test_a_fall_above_the_cap_is_refused_unless_overridden() -> None:
    with pytest.raises(FindingsRefused, match=r"Switch stage 1: .* falls from 30 mg to 20 mg"):
        taper.plan("lorazepam", "3 mg", per_day=1, max_units=2, switch_to="diazepam", start=START)
    schedule = taper.plan(
        "lorazepam",
        "3 mg",
        per_day=1,
        max_units=2,
        switch_to="diazepam",
        start=START,
        overrides={"cut-above-cap": "the patient asked for a faster start"},
    )
    cut = next(f for f in schedule.findings if f.code == "cut-above-cap")
    assert cut.override == "the patient asked for a faster start"
    assert "33.3 %" in cut.message


def test_the_unit_limit_holds_for_both_drugs() -> None:
    schedule = taper.plan(
        "clonazepam",
        "3 mg",
        per_day=2,
        max_units=1,
        switch_to="diazepam",
        table="va-dod-2021",
        start=START,
        overrides={"cut-above-cap": "reviewed"},
    )
    switch = schedule.switch
    assert switch is not None
    assert switch.max_units == 1
    for stage in switch.stages:
        for admin in stage.administrations:
            assert sum(u.pieces for u in admin.units) <= 1
    with pytest.raises(PlanRefused, match="within 1 pieces a dose"):
        taper.plan(
            "clonazepam", "1.5 mg", per_day=1, max_units=1, switch_to="diazepam", start=START
        )


def test_without_a_limit_the_start_raises_it_as_the_plain_planner_does() -> None:
    """Lorazepam 2 mg in 2 doses is 10 mg diazepam a dose: five 2 mg tablets."""
    schedule = taper.plan(
        "lorazepam",
        "2 mg",
        per_day=2,
        switch_to="diazepam",
        switch_products=["diazepam-tab-2"],
        start=START,
    )
    switch = schedule.switch
    assert switch is not None
    assert [str(s.equivalent) for s in switch.stages] == ["20", "20"]
    assert switch.max_units == 5
    raised = [f for f in schedule.findings if f.code == "units-limit-raised"]
    assert len(raised) == 1  # said once, for the drug that needs it
    assert raised[0].message.startswith("The starting dose of diazepam needs about 5 tablets")


def _switch_json(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    schedule = taper.plan(
        "clonazepam", "2 mg", switch_to="diazepam", table="va-dod-2021", start=START
    )
    path = tmp_path / "switch.json"
    path.write_text(to_json(schedule), encoding="utf-8")
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_taper_check_checks_the_switch_stages(tmp_path: Path) -> None:
    path, data = _switch_json(tmp_path)
    assert [f for f in check_file(path, ExternalOptions()) if f.severity == "error"] == []
    stage = data["switch"]["stages"][0]  # type: ignore[index]
    stage["days"] = 99
    stage["equivalent_mg"] = "300"
    stage["administrations"][-1]["units"][0]["count"] = "60"  # sixty 5 mg tablets: 300 mg
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    found = check_file(bad, ExternalOptions())
    errors = {f.code for f in found if f.severity == "error"}
    assert {
        "dose-mismatch",
        "gap-or-overlap",
        "too-many-units",
        "switch-equivalent-rises",
        "dose-above-range",
    } <= errors
    assert all(f.message.startswith("Switch stage") for f in found if f.severity == "error")
    result = CliRunner().invoke(cli, ["check", str(bad)])
    assert result.exit_code == 1
    said = " ".join(result.output.split())  # the terminal wraps long lines
    assert "300 mg/day of diazepam is above its documented maximum of 40 mg/day" in said


def test_a_unit_the_catalog_does_not_list_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path, data = _switch_json(tmp_path)
    unit = data["switch"]["stages"][0]["administrations"][0]["units"][0]  # type: ignore[index]
    unit["product_id"] = "clonazepam-tab-7"
    unit["product"] = "clonazepam 7 mg tablet"
    path.write_text(json.dumps(data), encoding="utf-8")
    found = check_file(path, ExternalOptions())
    assert any(f.code == "not-dispensable" and "clonazepam 7 mg tablet" in f.message for f in found)


def test_taper_check_on_a_csv_checks_the_switch_rows_in_part(tmp_path: Path) -> None:
    schedule = taper.plan(
        "clonazepam", "2 mg", switch_to="diazepam", table="va-dod-2021", start=START
    )
    good = tmp_path / "p.csv"
    good.write_text(csv_text(schedule), encoding="utf-8")
    found = check_file(good, ExternalOptions(drug="diazepam"))
    # the switch rows hold; the taper's end is the forced cut from 4 to 2 mg and the stop; it
    # keeps the rule's pace (302 days), so it is shorter than the guideline's fastest typical
    # pace would take from the switch's 20 mg (306 days)
    assert codes(found) == {
        "switch-checked-in-part", "forced-cut", "pace-above-guideline", "stop",
        "short-for-long-term",
    }  # fmt: skip
    assert not [f for f in found if f.severity == "error"]
    lines = good.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("2027-01-11,2027-01-17,7", "2027-01-12,2027-01-17,6")
    lines[2] = lines[2][: lines[2].rindex(",")] + ",25"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert {"gap-or-overlap", "switch-equivalent-rises"} <= codes(
        check_file(bad, ExternalOptions(drug="diazepam"))
    )


def test_read_plan_keeps_the_switch_and_replan_keeps_it_too(tmp_path: Path) -> None:
    path, _ = _switch_json(tmp_path)
    first = taper.plan("clonazepam", "2 mg", switch_to="diazepam", table="va-dod-2021", start=START)
    again = read_plan(path)
    assert again.switch is not None and first.switch is not None
    assert again.switch.stages == first.switch.stages
    assert again.switch.exact_ratio == first.switch.exact_ratio
    assert to_json(replace(again, findings=first.findings)).count('"stage"') == 2
    with pytest.raises(taper.InputError, match="after the switch to diazepam ends"):
        taper.replan(again, "2027-01-08", hold_days=14)
    later = taper.replan(again, "2027-03-01", hold_days=14)
    assert later.switch == again.switch
    assert json.loads(to_json(later))["switch"]["stages"][0]["start_date"] == START


# --- check() of a switch edited by hand: its stages' dates, equivalents, products and ranges ---


@pytest.fixture(scope="module")
def switched() -> Schedule:
    # 1.5 mg alprazolam in three doses is 15 mg diazepam by VA/DoD: one 5 mg tablet a dose
    return taper.plan(
        "alprazolam",
        "1.5 mg",
        switch_to="diazepam",
        table="va-dod-2021",
        rule="nhs-scotland-diazepam",
        start=START,
    )


def switch_findings(schedule: Schedule) -> list[tuple[str, str, list[str], str]]:
    """check()'s findings of the switch and its start, as (severity, code, numbers, source)."""
    return [
        (f.severity, f.code, numbers(f.message), f.source)
        for f in check(schedule)
        if f.message.startswith(("Switch stage", "The switch", "The starting dose"))
    ]


def test_the_switch_as_planned_has_no_switch_error(switched: Schedule) -> None:
    assert switched.switch is not None
    assert [s.equivalent for s in switched.switch.stages] == [D(15), D(15), D(15)]
    assert switch_findings(switched) == []


def test_a_gap_between_switch_stages_is_an_error(switched: Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    moved = replace(switch.stages[1], start=switch.stages[1].start + timedelta(days=2))
    broken = replace(
        switched, switch=replace(switch, stages=(switch.stages[0], moved, switch.stages[2]))
    )
    # stage 1 ends 2027-01-10 and stage 2 starts 2027-01-13: a gap of 2 days; stage 2
    # ends 2027-01-19 and stage 3 starts 2027-01-18: an overlap of 2 days
    assert switch_findings(broken) == [
        ("error", "gap-or-overlap", ["1", "2027-01-10", "2", "2027-01-13", "2"], CONTIGUOUS),
        ("error", "gap-or-overlap", ["2", "2027-01-19", "3", "2027-01-18", "2"], CONTIGUOUS),
    ]
    assert {f.step for f in check(broken) if f.code == "gap-or-overlap"} == {None}


def test_a_stage_that_overlaps_the_taper_is_an_error(switched: Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    longer = replace(switch.stages[2], days=8)
    broken = replace(switched, switch=replace(switch, stages=(*switch.stages[:2], longer)))
    # stage 3 ends 2027-01-25, the day the taper's step 1 starts: an overlap of 1 day
    assert switch_findings(broken) == [
        ("error", "gap-or-overlap", ["3", "2027-01-25", "1", "2027-01-25", "1"], CONTIGUOUS)
    ]
    assert [f.step for f in check(broken) if f.code == "gap-or-overlap"] == [1]


def test_a_stated_equivalent_that_the_doses_do_not_make_is_an_error(
    switched: Schedule,
) -> None:
    switch = switched.switch
    assert switch is not None
    wrong = replace(switch.stages[1], equivalent=D(16))
    broken = replace(
        switched, switch=replace(switch, stages=(switch.stages[0], wrong, switch.stages[2]))
    )
    # stage 2 states 16 mg/day, but its doses (0.5 mg alprazolam, 10 mg diazepam) make 15 mg;
    # and the equivalent rises from 15 mg to 16 mg
    assert switch_findings(broken) == [
        ("error", "dose-mismatch", ["2", "16", "0.5", "10", "15"], ONE_TRUTH),
        ("error", "switch-equivalent-rises", ["2", "15", "16"], switch.source),
    ]


def test_a_product_of_another_drug_in_a_stage_is_not_dispensable(switched: Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    first = switch.stages[0]
    morning = first.administrations[0]
    clonazepam = CLONAZEPAM.products[0]
    swapped = replace(morning, units=(replace(morning.units[0], product=clonazepam),))
    stage = replace(first, administrations=(swapped, *first.administrations[1:]))
    broken = replace(switched, switch=replace(switch, stages=(stage, *switch.stages[1:])))
    # stage 1's morning dose, clonazepam 0.5 mg tablet, is not a product of either drug; the
    # stage states 15 mg/day, but its doses (0.5 mg alprazolam, 5 mg diazepam) make 10 mg
    assert switch_findings(broken) == [
        ("error", "not-dispensable", ["1", "0.5"], "the catalog's products"),
        ("error", "dose-mismatch", ["1", "15", "0.5", "5", "10"], ONE_TRUTH),
    ]
    assert "clonazepam 0.5 mg tablet" in next(
        f.message for f in check(broken) if f.code == "not-dispensable"
    )


def test_too_many_tablets_at_one_time_in_a_stage(switched: Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    first = switch.stages[0]
    morning = first.administrations[0]
    unit = morning.units[0]  # one alprazolam 0.5 mg tablet
    more = replace(morning, units=(replace(unit, count=D(5)),))
    stage = replace(first, administrations=(more, *first.administrations[1:]), equivalent=D(35))
    broken = replace(switched, switch=replace(switch, stages=(stage, *switch.stages[1:])))
    found = switch_findings(broken)
    # stage 1's morning: 5 pieces, more than the limit of 4; the equivalent rises from 15 to 35 mg
    assert ("error", "too-many-units", ["1", "5", "4"], LIMIT) in found
    assert ("error", "switch-equivalent-rises", ["1", "15", "35"], switch.source) in found


def test_a_switch_that_loses_half_the_equivalent_is_reported(switched: Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    # the patient took 3 mg alprazolam (30 mg diazepam), the stages give 15 mg
    broken = replace(switched, switch=replace(switch, from_dose=D(3)))
    cap = switched.cap_source
    # a 50 % fall is within the preset's own 50 % cap, but not within the pace: stage 1 falls
    # by more than 25 % within 14 days (50 %, from 30 mg to 15 mg/day)
    assert switch_findings(broken) == [
        ("warning", "pace-above-guideline", ["1", "25", "14", "50", "30", "15"], PACE_SOURCE),
        ("warning", "switch-equivalent-falls", ["30", "15", "50"], switch.source),
    ]
    above = replace(switched, switch=replace(switch, from_dose=D(12)))
    found = switch_findings(above)
    # 12 mg/day, above the documented maximum of 10 mg/day; and a fall from 120 mg to 15 mg,
    # a cut of 87.5 %, above the cap of 50 %
    assert found[0] == ("error", "dose-above-range", ["12", "10"], XANAX_LABEL)
    assert found[1] == ("error", "cut-above-cap", ["1", "120", "15", "87.5", "50"], cap)


VALIUM_LABEL = "Valium (diazepam) tablets, US label"


@pytest.mark.parametrize(
    ("indication", "above"),
    [
        # 60 mg/day of diazepam above its maximum of 40 mg/day, 6 mg/day of alprazolam above
        # 4 mg, and switch stage 3's 60 mg/day of diazepam above 40 mg/day
        (
            "anxiety",
            [
                (["60", "40"], VALIUM_LABEL),
                (["6", "4"], XANAX_LABEL),
                (["3", "60", "40"], VALIUM_LABEL),
            ],
        ),
        # alprazolam for panic disorder (up to 10 mg/day) switched to diazepam, which has no
        # range for panic disorder: 6 mg/day of alprazolam is within its range, and the
        # stages' diazepam is held to the range the taper's own checks use (40 mg/day, anxiety)
        ("panic-disorder", [(["60", "40"], VALIUM_LABEL), (["3", "60", "40"], VALIUM_LABEL)]),
    ],
)
def test_a_switch_above_the_range_for_its_indication_is_named_at_each_level(
    indication: str, above: list[tuple[list[str], str]]
) -> None:
    schedule = taper.plan(
        "alprazolam",
        "6 mg",
        indication=indication,
        per_day=3,
        switch_to="diazepam",
        table="va-dod-2021",
        rule="nhs-scotland-diazepam",
        overrides={"dose-above-range": "transferred"},
        start=START,
    )
    found = [f for f in check(schedule) if f.code == "dose-above-range"]
    assert [(numbers(f.message), f.source) for f in found] == above
    assert {f.override for f in found} == {"transferred"}


def test_the_pdf_names_each_drug_in_the_dispensing_table() -> None:
    schedule = taper.plan(
        "clonazepam", "4 mg", switch_to="diazepam", table="va-dod-2021", start=START
    )
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf_bytes(schedule))).pages)
    assert "clonazepam 2 mg tablet" in text
    assert "diazepam 2 mg tablet" in text


def test_the_chart_draws_the_switch() -> None:
    from taper.reports.chart import plot_schedule

    schedule = taper.plan("clonazepam", "2 mg", switch_to="diazepam", start=START)
    ax = plot_schedule(schedule)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "switch from clonazepam, as diazepam equivalent" in labels
    assert ax.get_ylim()[1] >= 40


def test_switch_options_need_switch_to_and_switch_products_choose_the_new_drug() -> None:
    runner = CliRunner()
    for option in (
        ["--table", "nope"],
        ["--stage-days", "99"],
        ["--switch-order", "morning-first"],
        ["--switch-products", "diazepam-tab-2"],
    ):
        result = runner.invoke(cli, ["plan", "clonazepam", "2mg", *option])
        assert result.exit_code == 2, option
        assert f"{option[0]}: got" in result.output
        assert "used only with --switch-to DRUG" in result.output
    scotland = taper.plan(
        "lorazepam",
        "2 mg",
        switch_to="diazepam",
        region="uk",
        switch_products=["diazepam-tab-2-uk"],
        start=START,
    )
    assert scotland.switch is not None
    used = {
        u.product.id for s in scotland.switch.stages for a in s.administrations for u in a.units
    }
    used |= {u.product.id for s in scotland.steps for a in s.administrations for u in a.units}
    assert {p for p in used if p.startswith("diazepam")} == {"diazepam-tab-2-uk"}
    result = runner.invoke(
        cli, ["plan", "lorazepam", "2mg", "--switch-to", "diazepam", "--switch-products", "x"]
    )
    assert result.exit_code == 2
    assert "--switch-products: got 'x'" in result.output


def test_no_sourced_equivalent_for_extended_release_says_so() -> None:
    with pytest.raises(UnknownNameError, match="no equivalence table lists alprazolam-xr") as info:
        taper.plan("alprazolam-xr", "2 mg", switch_to="diazepam", start=START)
    assert "immediate-release products only" in str(info.value)


def test_fidelity_reports_the_switch_and_its_fall() -> None:
    falls = taper.fidelity(
        taper.plan(
            "clonazepam", "1 mg", per_day=3, switch_to="diazepam", table="va-dod-2021", start=START
        )
    )
    assert (falls.switch_stages, falls.switch_fall) == (3, D("0.4"))
    assert "switch: 3 stages, the equivalent falls 40 %" in str(falls)
    exact = taper.fidelity(taper.plan("clonazepam", "2 mg", switch_to="diazepam", start=START))
    assert (exact.switch_stages, exact.switch_fall) == (2, D(0))
    plain = taper.fidelity(taper.plan("clonazepam", "2 mg", start=START))
    assert (plain.switch_stages, plain.as_dict()["switch_fall"]) == (0, "0")
    assert "switch:" not in str(plain)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.__setitem__("to_mg_per_from_mg", "15"), "switch.to_mg_per_from_mg: got '15'"),
        (lambda s: s.__setitem__("ratio_mg", "1:20"), "switch.ratio_mg: got 'a string'; an object"),
        (
            lambda s: s["stages"][0]["administrations"][0].__setitem__("time", "noon"),
            "administrations[1].time: got 'noon'; one of morning",
        ),
        (
            lambda s: s["stages"][0]["administrations"][1].__setitem__("time", "morning"),
            "each time once in a stage",
        ),
        (
            lambda s: s.__setitem__("equivalent_range_mg", ["1", "2", "3"]),
            "two numbers, low and high",
        ),
        (lambda s: s["stages"][0].__setitem__("days", "\u00b2"), "stages[1].days: got '²'"),
        (
            lambda s: s.__setitem__("max_units_per_administration", "\u00b2"),
            "max_units_per_administration: got '²'",
        ),
    ],
)
def test_a_hand_edited_switch_that_contradicts_itself_is_refused_naming_the_field(
    tmp_path: Path, edit: object, message: str
) -> None:
    path, data = _switch_json(tmp_path)
    edit(data["switch"])  # type: ignore[operator]
    path.write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "unexpected failure" not in result.output


def test_checking_a_switch_keeps_the_plans_doses_a_day(tmp_path: Path) -> None:
    """Oxazepam in 3 doses whose stages leave the morning empty is still 3 doses a day."""
    schedule = taper.plan("oxazepam", "20 mg", per_day=3, switch_to="chlordiazepoxide", start=START)
    path = tmp_path / "o.json"
    path.write_text(to_json(schedule), encoding="utf-8")
    assert "unusual-division" not in codes(check_file(path, ExternalOptions()))
    assert read_plan(path).switch.times == schedule.switch.times  # type: ignore[union-attr]


def test_a_refusal_after_the_switch_names_the_new_drug_and_the_switch() -> None:
    with pytest.raises(PlanRefused) as info:
        taper.plan(
            "diazepam",
            "5 mg",
            per_day=1,
            switch_to="clonazepam",
            switch_products=["odt:0.125mg"],
            max_units=1,
            start=START,
        )
    assert str(info.value) == (
        "switch_to: got '0.125 mg of clonazepam'; after the switch, the products make nothing "
        "smaller (the smallest is 0.125 mg/day in 1 doses); there is nothing to taper with them"
    )


def test_a_liquid_measure_is_one_piece_when_the_unit_limit_is_set() -> None:
    """0.25 mg of a 0.1 mg/mL liquid is 2.5 mL: three 1 mL syringes, not 26 pieces."""
    schedule = taper.plan(
        "clonazepam",
        "0.5 mg",
        per_day=2,
        products=["solution"],
        formulary=Path(__file__).parent.parent / "docs" / "formulary-example.toml",
        start=START,
    )
    assert schedule.steps[0].dose == D("0.45")
    assert "units-limit-raised" not in codes(schedule.findings)
