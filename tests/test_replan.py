"""Re-planning mid-taper: the history kept, a hold, a slower rule, going back up."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

import taper
from taper.cli import cli
from taper.errors import InputError
from taper.plan_json import read_plan
from taper.replanning import replan
from taper.reports import to_json
from taper.reports.chart import HISTORY, plot_schedule
from taper.reports.pdf import pdf_bytes

from .conftest import plan_json_problems

D = Decimal
START = "2027-01-04"
ON = "2027-03-01"


@pytest.fixture(scope="module")
def first() -> taper.Schedule:
    return taper.plan("clonazepam", "2 mg", start=START)


@pytest.fixture(scope="module")
def again(first: taper.Schedule) -> taper.Schedule:
    slower = taper.build_rule(reduce="5%", every="28d")
    return replan(first, ON, hold_days=28, rule=slower, reason="withdrawal symptoms")


def test_history_is_byte_identical_up_to_the_date(
    first: taper.Schedule, again: taper.Schedule
) -> None:
    before = json.loads(to_json(first))["steps"]
    after = json.loads(to_json(again))["steps"]
    kept = [s for s in before if s["end_date"] < ON]
    assert after[: len(kept)] == kept
    cut = after[len(kept)]
    assert cut["start_date"] == before[len(kept)]["start_date"]
    assert cut["end_date"] == "2027-02-28"  # the step the date falls inside ends the day before
    hold = after[len(kept) + 1]
    assert (hold["start_date"], hold["days"], hold["cut_pct"]) == (ON, 28, "0")
    assert again.replan is not None
    assert again.replan.history == len(kept) + 1


def test_the_new_part_keeps_every_invariant(again: taper.Schedule, tmp_path: Path) -> None:
    assert again.replan is not None
    new = again.steps[again.replan.history :]
    doses = [s.dose for s in new]
    assert doses == sorted(doses, reverse=True)
    for before, after in zip(again.steps, again.steps[1:], strict=False):
        assert after.start == before.end + __import__("datetime").timedelta(1)
    # within the cap, but for the cuts the products force, each named (0.375 to 0.25 and
    # 0.25 to 0.125 mg/day with the 0.125 mg ODT), down to 0.125 mg/day and the stop
    forced = {f.step for f in again.findings if f.code == "forced-cut"}
    assert [s.number for s in new if s.cut > again.max_cut] == sorted(forced)
    assert [(s.previous_dose, s.dose) for s in new if s.number in forced] == [
        (D("0.375"), D("0.25")),
        (D("0.25"), D("0.125")),
    ]
    assert "stop" in {f.code for f in again.findings}
    assert [f for f in taper.check(again) if f.severity == "error" and not f.override] == []
    finding = next(f for f in again.findings if f.code == "replanned")
    assert "Reason: withdrawal symptoms" in finding.message
    assert plan_json_problems(to_json(again)) == []


def test_json_records_the_replan(again: taper.Schedule) -> None:
    record = json.loads(to_json(again))["replan"]
    assert record["on"] == ON
    assert record["reason"] == "withdrawal symptoms"
    assert record["hold_days"] == 28
    assert record["history_rule"] == "joint-guideline-2025"
    assert record["rule"]["description"].startswith("cut 5 % of the current dose every 28 days")


def test_pdf_and_chart_show_both_parts(again: taper.Schedule) -> None:
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(BytesIO(pdf_bytes(again))).pages).split()
    )
    assert "Re-planned" in text
    assert "as first planned" in text
    ax = plot_schedule(again)
    labels = [line.get_label() for line in ax.get_lines()]
    assert HISTORY in labels
    assert f"re-planned {ON}" in labels


def test_the_actual_dose_may_differ_from_the_plan(first: taper.Schedule) -> None:
    lower = replan(first, ON, current_dose="1.25 mg", rule="joint-guideline-2025-slow")
    assert lower.replan is not None
    assert lower.steps[lower.replan.history].previous_dose == D("1.25")
    higher = replan(first, ON, current_dose="1.5 mg", rule="joint-guideline-2025-slow")
    assert [f for f in taper.check(higher) if f.severity == "error"] == []


def test_going_back_up_only_as_a_stated_choice(first: taper.Schedule) -> None:
    back = replan(first, ON, reinstate="1.75 mg", hold_days=28, reason="relapse of panic")
    finding = next(f for f in back.findings if f.code == "reinstated")
    assert "from 1.375 mg/day to 1.75 mg/day" in finding.message
    assert back.steps[back.replan.history].dose == D("1.75")  # type: ignore[union-attr]
    assert [f for f in taper.check(back) if f.severity == "error" and not f.override] == []
    with pytest.raises(InputError, match="a dose above the current"):
        replan(first, ON, reinstate="1 mg")
    assert "reinstated" not in {f.code for f in taper.plan("clonazepam", "2 mg").findings}


def test_dates_outside_the_plan_are_refused(first: taper.Schedule) -> None:
    with pytest.raises(InputError, match="a day after the plan starts"):
        replan(first, "2026-12-01")
    with pytest.raises(InputError, match="before its stop"):
        replan(first, "2030-01-01")


def test_read_plan_round_trips(first: taper.Schedule, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(to_json(first), encoding="utf-8")
    back = read_plan(path)
    assert json.loads(to_json(back))["steps"] == json.loads(to_json(first))["steps"]
    assert back.rule is not None and back.rule.name == "joint-guideline-2025"


def test_a_custom_rule_must_be_given_again(tmp_path: Path) -> None:
    custom = taper.plan(
        "clonazepam", "2 mg", start=START, rule=taper.build_rule(reduce="10%", every="21d")
    )
    path = tmp_path / "p.json"
    path.write_text(to_json(custom), encoding="utf-8")
    with pytest.raises(InputError, match="give the rule to go on with"):
        replan(read_plan(path), ON)


def test_replan_from_the_command_line(first: taper.Schedule, tmp_path: Path) -> None:
    original = tmp_path / "p.json"
    original.write_text(to_json(first), encoding="utf-8")
    out = tmp_path / "new.json"
    result = CliRunner().invoke(
        cli,
        [
            "replan",
            str(original),
            "--on",
            ON,
            "--hold",
            "28d",
            "--reduce",
            "5%",
            "--every",
            "28d",
            "--reason",
            "withdrawal symptoms",
            "--json",
            str(out),
            "--pdf",
            str(tmp_path / "new.pdf"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Re-planned from {ON} (withdrawal symptoms)")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["replan"]["hold_days"] == 28
    checked = CliRunner().invoke(cli, ["check", str(out)])
    assert checked.exit_code == 0, checked.output
    bad = CliRunner().invoke(cli, ["replan", str(original), "--on", "2031-01-01"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("Error: --on: got '2031-01-01'")


def test_check_reads_the_replan_from_json(first: taper.Schedule, tmp_path: Path) -> None:
    higher = replan(first, ON, current_dose="1.5 mg", rule="joint-guideline-2025-slow")
    path = tmp_path / "higher.json"
    path.write_text(to_json(higher), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("limits", 5, "limits: got 'the number 5'; an object"),
        ("limits", "5", "limits: got 'a string'; an object"),
        ("rule", True, "rule: got 'true'; an object"),
        ("steps", 2.5, "steps: got 'the number 2.5'; a list of at least one step"),
        ("steps", None, "steps: got 'null'; a list of at least one step"),
    ],
)
def test_a_tampered_value_is_named_by_its_json_kind(
    tmp_path: Path, field: str, value: object, said: str
) -> None:
    """A number was named 'str' (numbers are read as the text they are written in)."""
    data = json.loads(to_json(taper.plan("clonazepam", "2 mg", start=START)))
    data[field] = value
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(cli, ["replan", str(path), "--on", "2027-02-01"])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {path}: {said}\n"


@pytest.mark.parametrize("hold", [0, 14])
def test_a_replan_of_a_plan_on_its_liquid_stays_on_it(hold: int) -> None:
    """Regression: re-planned after the move to the liquid, the days held and the new part
    went back to a tablet where one made the dose (then mixed a tablet and the liquid)."""
    first = taper.plan("clonazepam", "2 mg", region="uk", at_low_doses="liquid", start=START)
    liquid = [
        s
        for s in first.steps
        if any(u.product.is_liquid for a in s.administrations for u in a.units)
    ]
    day = liquid[2].start + timedelta(days=3)  # a few days into the third step on the liquid
    again = replan(first, day.isoformat(), hold_days=hold)
    after = [s for s in again.steps if s.start >= liquid[0].start]
    assert after
    for step in after:
        for admin in step.administrations:
            assert all(u.product.is_liquid for u in admin.units), (step.number, admin)
