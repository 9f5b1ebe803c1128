"""What the terminal shows fits the terminal: at 80 columns (the width where it is not known)
and at 120, every line of plan, replan and check, the table with a letter for each product."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import taper
from taper.cli import cli
from taper.reports import csv_text, render_text

START = "2027-01-04"
PLANS = {
    "clonazepam 2 mg": lambda: taper.plan("clonazepam", "2 mg", start=START),
    "alprazolam 3 mg": lambda: taper.plan("alprazolam", "3 mg", start=START),
    "three doses a day": lambda: taper.plan("oxazepam", "90 mg", per_day=3, start=START),
    "a switch": lambda: taper.plan(
        "alprazolam", "3 mg", switch_to="diazepam", table="va-dod-2021", start=START
    ),
    "a re-plan": lambda: taper.replan(
        taper.plan("clonazepam", "2 mg", start=START), "2027-03-01", hold_days=28,
        reason="withdrawal symptoms after the last cut; the patient asked to pause",
    ),
    "a long override reason": lambda: taper.plan(
        "clonazepam", "6 mg", indication="panic-disorder",
        overrides={"dose-above-range": "transferred from inpatient care " * 8},
        start=START,
    ),
}  # fmt: skip


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("name", PLANS)
def test_every_line_fits_the_width(name: str, width: int) -> None:
    text = render_text(PLANS[name](), width)
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert too_long == []


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("name", PLANS)
def test_a_table_keeps_each_date_and_dose_whole(name: str, width: int) -> None:
    """A table too wide for two spaces between columns closes them to one, then wraps a cell
    between words: no date, dose or percentage is broken over two lines."""
    schedule = PLANS[name]()
    dates = [s.start.isoformat() for s in schedule.steps]
    if schedule.switch is not None:
        dates += [s.start.isoformat() for s in schedule.switch.stages]
    tables = _tables(render_text(schedule, width))
    rows = [line for table in tables for line in table if line[:1].isdigit()]
    assert sorted(line.split()[1] for line in rows) == sorted(dates)
    wrapped = [line for table in tables for line in table if line[:1] == " "]
    assert not [line for line in wrapped if {"mg", "%"} & set(line.split())]


def _tables(text: str) -> list[list[str]]:
    """Each table of ``text``: its lines after the heading, to the blank line after it."""
    tables: list[list[str]] = []
    table: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(("Step ", "Stage ")):
            table = []
            tables.append(table)
        elif not line.strip():
            table = None
        elif table is not None:
            table.append(line)
    return tables


def test_the_switch_stages_fit_80_columns_one_space_apart() -> None:
    text = render_text(PLANS["a switch"](), 80)
    stages = text.splitlines()[text.splitlines().index("") + 1 :]
    head = next(line for line in stages if line.startswith("Stage"))
    assert head.split() == [
        "Stage", "From", "Days", "Morning", "Midday", "Bedtime", "alprazolam", "diazepam",
        "Equivalent",
    ]  # fmt: skip
    assert head.startswith("Stage From       Days Morning")
    assert max(len(line) for line in text.splitlines()) <= 80


def test_the_table_names_each_product_once_in_a_legend() -> None:
    schedule = PLANS["clonazepam 2 mg"]()
    text = render_text(schedule, 80)
    legend = text.split("Products:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    letters = {line.split()[0]: line.split(None, 1)[1] for line in legend}
    assert sorted(letters.values()) == sorted(p.name for p in schedule.products)
    # step 1: 1 x 0.5 mg ODT and 3 x 0.125 mg ODT at each time, by their letters
    first = next(line for line in text.splitlines() if line.startswith("1 "))
    by_name = {name: letter for letter, name in letters.items()}
    odt_05 = by_name["clonazepam 0.5 mg orally disintegrating tablet"]
    odt_0125 = by_name["clonazepam 0.125 mg orally disintegrating tablet"]
    assert first.count(f"1 {odt_05} + 3 {odt_0125}") == 2


def test_a_wider_terminal_shows_more_columns() -> None:
    schedule = PLANS["clonazepam 2 mg"]()
    assert "% start" not in render_text(schedule, 80)
    assert "% start" in render_text(schedule, 120)


def _widest(output: str) -> int:
    return max(len(line) for line in output.splitlines())


@pytest.mark.parametrize("columns", ["80", "120"])
def test_the_commands_fit_the_terminal(
    columns: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    runner = CliRunner()
    planned = runner.invoke(cli, ["plan", "alprazolam", "3mg", "--start", START])
    assert planned.exit_code == 0, planned.stderr
    assert _widest(planned.stdout) <= int(columns)
    schedule = taper.plan("clonazepam", "2 mg", start=START)
    path = tmp_path / "plan.csv"
    path.write_text(csv_text(schedule), encoding="utf-8")
    checked = runner.invoke(cli, ["check", str(path), "--drug", "clonazepam"])
    assert checked.exit_code == 0, checked.stderr
    # the first line names the file, whose path is as long as it is
    assert _widest("\n".join(checked.stdout.splitlines()[1:])) <= int(columns)
    saved = tmp_path / "plan.json"
    written = runner.invoke(
        cli, ["plan", "clonazepam", "2mg", "--start", START, "--json", str(saved)]
    )
    assert written.exit_code == 0, written.stderr
    replanned = runner.invoke(
        cli,
        ["replan", str(saved), "--on", "2027-03-01", "--hold", "28d", "--reason", "a hard week"],
    )
    assert replanned.exit_code == 0, replanned.stderr
    assert replanned.stdout.startswith("Re-planned from 2027-03-01 (a hard week)")
    assert _widest(replanned.stdout) <= int(columns)
