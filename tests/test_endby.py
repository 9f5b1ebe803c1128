"""Finish by a date: the even proportional pace that reaches the terminal dose by then,
refused with the earliest date the guideline's bound allows where the date needs faster."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taper
from taper.cli import cli
from taper.endby import cuts_in_window, even_cut, fastest_cut
from taper.errors import FindingsRefused, InputError
from taper.rules import build_rule, load_protocol

from .test_properties import assert_invariants

START = "2027-01-04"


def test_clonazepam_2mg_by_july_worked_by_hand() -> None:
    """From 2027-01-04 to 2027-07-01 is 179 days: 12 steps of 14 days fit (168 days). From
    2 mg to 0.125 mg/day (the 0.125 mg ODT, the smallest the products make) in 12 equal
    cuts: 1 - (0.125 / 2) ** (1 / 12) = 1 - 0.7937 = 20.63 %, rounded up to 20.7 %, within
    the guideline's 25 % in 14 days. The products stretch some steps, so fewer cuts may be
    used, but the last dose is on or before 2027-07-01."""
    assert even_cut(Decimal(2), Decimal("0.125"), 12) == Decimal("0.207")
    schedule = taper.plan("clonazepam", "2 mg", end_by="2027-07-01", start=START)
    assert schedule.steps[-1].end <= date(2027, 7, 1)
    assert schedule.steps[-1].dose == Decimal("0.125")
    assert schedule.rule is not None and schedule.rule.pace.fraction <= Decimal("0.25")  # type: ignore[attr-defined]
    said = next(f for f in schedule.findings if f.code == "end-by")
    assert "2027-07-01" in said.message and schedule.steps[-1].end.isoformat() in said.message
    # every cut above the guideline's 25 % is one the products force (0.25 to 0.125 mg)
    from taper.validation import forced_steps

    steep = [s.number for s in schedule.steps if s.cut > Decimal("0.25")]
    assert set(steep) <= set(forced_steps(schedule))


def test_diazepam_by_hand() -> None:
    """Diazepam 8 mg a day, once daily, to 1 mg (the 2 mg tablet halved is the smallest the
    catalog's UK products make? the 2 mg tablet's half, 1 mg): three equal cuts of 50 % would
    be 8, 4, 2, 1; the bound allows 25 % a step at most, so 1 - (1/8) ** (1/n) <= 0.25 needs
    n >= 7.23, eight steps of 14 days."""
    assert even_cut(Decimal(8), Decimal(1), 3) == Decimal("0.5")
    assert even_cut(Decimal(8), Decimal(1), 8) == Decimal("0.229")  # 1 - 0.125 ** 0.125
    assert even_cut(Decimal(8), Decimal(1), 7) == Decimal("0.258")  # above the bound
    assert fastest_cut(build_rule(), 14) == Decimal("0.25")


def test_the_bound_counts_every_cut_within_14_days() -> None:
    assert [cuts_in_window(d) for d in (14, 7, 5, 1)] == [1, 2, 3, 14]
    # two weekly cuts of 13.3 % fall by 24.8 %, within 25 % in 14 days
    assert fastest_cut(build_rule(), 7) == Decimal("0.133")
    assert (1 - (1 - Decimal("0.133")) ** 2) <= Decimal("0.25")


def test_three_weeks_away_is_refused_with_the_earliest_date() -> None:
    with pytest.raises(FindingsRefused) as refused:
        taper.plan("clonazepam", "2 mg", end_by="2027-01-25", start=START)
    assert refused.value.field == "end-by-too-soon"
    fastest = taper.plan(
        "clonazepam", "2 mg", rule=build_rule(reduce="25%", every="14d"), start=START
    )
    assert f"the earliest last dose they allow is {fastest.steps[-1].end.isoformat()}" in str(
        refused.value.given
    )
    # that earliest date itself plans
    on_it = taper.plan("clonazepam", "2 mg", end_by=fastest.steps[-1].end, start=START)
    assert on_it.steps[-1].end <= fastest.steps[-1].end


def test_an_override_plans_it_with_the_finding_in_every_export(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "plan", "clonazepam", "2mg", "--start", START, "--end-by", "2027-02-28",
            "--override", "end-by-too-soon=surgery on 2027-03-01",
            "--json", str(tmp_path / "p.json"), "--csv", str(tmp_path / "p.csv"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "p.json").read_text("utf-8"))
    said = [f for f in plan["findings"] if f["code"] == "end-by-too-soon"]
    assert said and said[0]["override"] == "surgery on 2027-03-01"
    assert plan["steps"][-1]["end_date"] <= "2027-02-28"
    assert "end-by-too-soon" in (tmp_path / "p.findings.csv").read_text("utf-8")


def test_the_command_line_says_the_refusal_in_one_line() -> None:
    result = CliRunner().invoke(
        cli, ["plan", "clonazepam", "2mg", "--start", START, "--end-by", "2027-01-25"]
    )
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: end-by-too-soon: Ending by 2027-01-25")
    assert '--override end-by-too-soon="reason"' in lines[0]


@pytest.mark.parametrize(
    ("end", "words"),
    [
        ("2026-12-25", "a date after the first cut (2027-01-04)"),
        ("2027-01-10", "a date at least 14 days from the first cut"),
        ("1 July", "a date written YYYY-MM-DD"),
    ],
)
def test_a_past_or_too_close_date_is_a_usage_error(end: str, words: str) -> None:
    with pytest.raises(InputError) as error:
        taper.plan("clonazepam", "2 mg", end_by=end, start=START)
    assert words in str(error.value)
    result = CliRunner().invoke(
        cli, ["plan", "clonazepam", "2mg", "--start", START, "--end-by", end]
    )
    assert result.exit_code == 2 and "--end-by" in result.output


def test_a_protocol_may_end_by_a_date(tmp_path: Path) -> None:
    path = tmp_path / "by-summer.toml"
    path.write_text(
        'name = "by summer"\ncut = "10%"\nevery = "14d"\nend_by = 2027-07-01\n', "utf-8"
    )
    rule = load_protocol(path)
    assert rule.end_by == date(2027, 7, 1)
    schedule = taper.plan("clonazepam", "2 mg", rule=rule, start=START)
    assert schedule.steps[-1].end <= date(2027, 7, 1)


def test_a_switch_meets_the_date_with_the_taper_after_it() -> None:
    end = date(2027, 12, 1)
    schedule = taper.plan(
        "alprazolam", "2 mg", switch_to="diazepam", table="va-dod-2021", end_by=end, start=START
    )
    assert schedule.switch is not None and schedule.switch.stages
    assert schedule.start_date > date(2027, 1, 4)  # the taper starts after the stages
    assert schedule.steps[-1].end <= end
    assert any(f.code == "end-by" for f in schedule.findings)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(
        [
            ("clonazepam", "2 mg"),
            ("lorazepam", "3 mg"),
            ("diazepam", "20 mg"),
            ("alprazolam", "2 mg"),
        ]
    ),
    weeks=st.integers(min_value=2, max_value=60),
)
def test_an_end_by_plan_ends_by_its_date_or_is_refused(case: tuple[str, str], weeks: int) -> None:
    end = date(2027, 1, 4) + timedelta(weeks=weeks)
    try:
        schedule = taper.plan(*case, end_by=end, start=START)
    except FindingsRefused as refused:
        assert refused.field == "end-by-too-soon"
        earliest = date.fromisoformat(str(refused.given).split("allow is ")[1][:10])
        assert earliest > end
        return
    assert schedule.steps[-1].end <= end
    assert any(f.code == "end-by" for f in schedule.findings)
    # and the invariants every plan keeps (dispensable, never up, within the rule, one truth,
    # complete, exact)
    kw = {
        "products": [p.id for p in schedule.products],
        "max_units": schedule.max_units,
        "at_low_doses": "stretch",
    }
    assert_invariants(schedule, kw)


def test_a_roster_row_may_end_by_a_date(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "reference,drug,dose,per_day,start,end_by\n"
        "E1,clonazepam,2 mg,2,2027-01-04,2027-07-01\n"
        "E2,clonazepam,2 mg,2,2027-01-04,2027-01-25\n",
        "utf-8",
    )
    out = tmp_path / "plans"
    result = CliRunner().invoke(cli, ["batch", str(roster), "--out-dir", str(out)])
    assert result.exit_code == 1, result.output
    plan = json.loads((out / "E1.json").read_text("utf-8"))
    assert plan["steps"][-1]["end_date"] <= "2027-07-01"
    errors = (out / "errors.csv").read_text("utf-8")
    assert "E2" in errors and "end-by-too-soon" in errors and "earliest last dose" in errors


def test_a_replan_meets_a_new_end_date_in_memory_and_from_its_json(tmp_path: Path) -> None:
    first = taper.plan("clonazepam", "2 mg", end_by="2027-07-01", start=START)
    again = taper.replan(first, "2027-03-01", hold_days=14, end_by="2027-09-01")
    assert again.steps[-1].end <= date(2027, 9, 1)
    assert again.replan is not None and again.replan.history >= 1
    assert any(f.code == "end-by" and "2027-09-01" in f.message for f in again.findings)
    # the same from the plan's JSON on the command line
    saved = tmp_path / "first.json"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["plan", "clonazepam", "2mg", "--start", START, "--end-by", "2027-07-01",
         "--json", str(saved)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli,
        ["replan", str(saved), "--on", "2027-03-01", "--hold", "14d", "--end-by", "2027-09-01",
         "--json", str(tmp_path / "again.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "again.json").read_text("utf-8"))
    assert [Decimal(str(s["daily_dose_mg"])) for s in plan["steps"]] == [
        s.dose for s in again.steps
    ]
    assert plan["steps"][-1]["end_date"] <= "2027-09-01"


def test_a_replan_keeps_no_end_date_it_is_not_given() -> None:
    """The plan's JSON does not keep its end date, so a plan in memory does not carry it into a
    re-plan either: the new part goes on at the fitted cut unless a new date is given."""
    first = taper.plan("clonazepam", "2 mg", end_by="2027-07-01", start=START)
    again = taper.replan(first, "2027-03-01", hold_days=28)
    assert again.rule is not None and again.rule.end_by is None
    assert not any(f.code == "end-by" for f in again.findings)
