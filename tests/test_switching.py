"""Switching to diazepam one administration at a time, then tapering it."""

from __future__ import annotations

import json
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

import taper
from taper.cli import cli
from taper.errors import FindingsRefused, InputError
from taper.reports import csv_text, to_json
from taper.reports.calendar import ics_bytes
from taper.reports.pdf import pdf_bytes

from .conftest import plan_json_problems

D = Decimal
START = "2027-01-04"


@pytest.fixture(
    scope="module",
    params=[("alprazolam", "3 mg", "va-dod-2021"), ("clonazepam", "2 mg", "ashton")],
    ids=lambda p: p[0],
)
def switched(request: pytest.FixtureRequest) -> taper.Schedule:
    drug, dose, table = request.param
    return taper.plan(
        drug, dose, switch_to="diazepam", table=table, start=START, rule="nhs-scotland-diazepam"
    )


def test_stages_replace_one_dose_at_a_time_bedtime_first(switched: taper.Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    assert len(switch.stages) == len(switch.times)
    for k, stage in enumerate(switch.stages, start=1):
        replaced = {
            a.time
            for a in stage.administrations
            if {u.product.drug for u in a.units} == {"diazepam"}
        }
        assert replaced == set(list(reversed(switch.times))[:k])
    first = switch.stages[0]
    drugs = {u.product.drug for a in first.administrations for u in a.units}
    assert drugs == {switch.from_drug, "diazepam"}


def test_every_dose_is_made_of_real_tablets_of_each_drug(switched: taper.Schedule) -> None:
    catalog = taper.load_catalog()
    switch = switched.switch
    assert switch is not None
    for stage in switch.stages:
        for admin in stage.administrations:
            for unit in admin.units:
                product = next(
                    p for p in catalog.drug(unit.product.drug).products if p.id == unit.product.id
                )
                assert unit.count % product.split == 0
                assert unit.count > 0


def test_the_equivalent_total_never_rises(switched: taper.Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    before = switch.start_equivalent
    for stage in switch.stages:
        assert stage.equivalent <= before
        assert stage.equivalent == sum(
            (
                u.dose * (switch.factor if u.product.drug == switch.from_drug else 1)
                for a in stage.administrations
                for u in a.units
            ),
            D(0),
        )
        before = stage.equivalent
    assert switched.prescription.start_dose == switch.stages[-1].dose_of("diazepam")
    assert switched.steps[0].start == switch.stages[-1].end + __import__("datetime").timedelta(1)


def test_the_diazepam_taper_keeps_every_invariant(switched: taper.Schedule, tmp_path: Path) -> None:
    assert [f for f in taper.check(switched) if f.severity == "error" and not f.override] == []
    doses = [s.dose for s in switched.steps]
    assert doses == sorted(doses, reverse=True) and doses[-1] > 0
    assert all(s.cut <= switched.max_cut for s in switched.steps)
    assert plan_json_problems(to_json(switched)) == []


def test_the_switch_is_explained_with_its_table(switched: taper.Schedule) -> None:
    finding = next(f for f in switched.findings if f.code == "switch-equivalence")
    assert "the tables range from" in finding.message
    assert switched.switch is not None
    assert switched.switch.spread[0] < switched.switch.spread[1]


def test_json_csv_pdf_and_calendar_show_both_drugs(switched: taper.Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    data = json.loads(to_json(switched))
    stage = data["switch"]["stages"][0]
    assert set(stage["daily_dose_mg"]) == {switch.from_drug, "diazepam"}
    assert {u["drug"] for a in stage["administrations"] for u in a["units"]} == {
        switch.from_drug,
        "diazepam",
    }
    assert data["steps"][0]["start_date"] == data["start_date"]
    rows = csv_text(switched).splitlines()
    assert rows[0].startswith("phase,drug,step,")
    assert rows[1].startswith(f"switch,{switch.from_drug}+diazepam,S1,")
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(BytesIO(pdf_bytes(switched))).pages).split()
    )
    assert f"Switch from {switch.from_drug} to diazepam" in text
    for stage in switch.stages:
        assert stage.start.isoformat() in text
    assert b"stage 1 of" in ics_bytes(switched)


def test_a_switch_above_the_new_drugs_range_is_refused() -> None:
    """By Ashton, alprazolam 3 mg is 60 mg diazepam: above its documented 40 mg/day."""
    with pytest.raises(FindingsRefused) as info:
        taper.plan("alprazolam", "3 mg", switch_to="diazepam", start=START)
    message = str(info.value)
    assert "after the switch by the ashton table (60 mg/day of diazepam)" in message
    assert "va-dod-2021 30 mg" in message
    schedule = taper.plan(
        "alprazolam",
        "3 mg",
        switch_to="diazepam",
        start=START,
        overrides={"dose-above-range": "specialist supervision"},
    )
    assert schedule.prescription.start_dose == D(60)


def test_switch_options() -> None:
    morning = taper.plan(
        "clonazepam",
        "2 mg",
        switch_to="diazepam",
        start=START,
        switch_order="morning-first",
        stage_days=10,
    )
    assert morning.switch is not None
    assert [s.days for s in morning.switch.stages] == [10, 10]
    first = morning.switch.stages[0]
    assert {u.product.drug for u in first.at("morning").units} == {"diazepam"}  # type: ignore[union-attr]
    with pytest.raises(InputError, match="a drug other than clonazepam"):
        taper.plan("clonazepam", "2 mg", switch_to="Klonopin", start=START)
    with pytest.raises(InputError, match="stage_days"):
        taper.plan("clonazepam", "2 mg", switch_to="diazepam", stage_days=0, start=START)
    with pytest.raises(taper.UnknownNameError, match="tables:"):
        taper.plan("clonazepam", "2 mg", switch_to="diazepam", table="mine", start=START)


@pytest.mark.parametrize(
    ("options", "field", "given"),
    [
        ({"switch_order": "sideways"}, "switch_order", "sideways"),
        ({"stage_days": 0}, "stage_days", 0),
        ({"stage_days": 29}, "stage_days", 29),
        ({"per_day": 2.5}, "per_day", 2.5),
    ],
)
def test_a_switch_option_out_of_bounds_is_refused_naming_it(
    options: dict[str, object], field: str, given: object
) -> None:
    with pytest.raises(InputError) as refused:
        taper.plan("alprazolam", "2 mg", switch_to="diazepam", start=START, **options)  # type: ignore[arg-type]
    assert (refused.value.field, refused.value.given) == (field, given)


def test_a_switch_of_one_day_a_stage_is_made() -> None:
    schedule = taper.plan("alprazolam", "2 mg", switch_to="diazepam", start=START, stage_days=1)
    assert schedule.switch is not None
    assert {s.days for s in schedule.switch.stages} == {1}


def test_switch_dose_dropped() -> None:
    dropped = taper.plan(
        "clonazepam",
        "0.625 mg",
        per_day=3,
        switch_to="diazepam",
        table="va-dod-2021",
        rule=taper.build_rule(max_cut="50%"),
        start=START,
    )
    assert "switch-dose-dropped" in {f.code for f in dropped.findings}
    plain = taper.plan("clonazepam", "2 mg", switch_to="diazepam", start=START)
    assert "switch-dose-dropped" not in {f.code for f in plain.findings}


def test_switch_equivalent_rises_is_checked() -> None:
    from dataclasses import replace

    schedule = taper.plan("clonazepam", "2 mg", switch_to="diazepam", start=START)
    assert schedule.switch is not None
    assert "switch-equivalent-rises" not in {f.code for f in taper.check(schedule)}
    stages = list(schedule.switch.stages)
    stages[1] = replace(stages[1], equivalent=D(41))
    broken = replace(schedule, switch=replace(schedule.switch, stages=tuple(stages)))
    assert "switch-equivalent-rises" in {f.code for f in taper.check(broken)}


def test_switch_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(
        cli,
        [
            "plan",
            "alprazolam",
            "3mg",
            "--switch-to",
            "diazepam",
            "--table",
            "va-dod-2021",
            "--start",
            START,
            "--csv",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Switch from alprazolam 3 mg/day to diazepam")
    assert "Then the diazepam taper:" in result.stdout
    checked = CliRunner().invoke(cli, ["check", str(out)])
    assert checked.exit_code == 0, checked.output
