"""A table of doses as a rule: each row a step, dated from the start, each dose made from the
products and never above the row's, checked like any plan and written to every export."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import taper
from taper.cli import cli
from taper.errors import CatalogError, FindingsRefused, InputError, PlanRefused

from .test_properties import assert_invariants

START = "2027-01-04"
D = Decimal
DOCS = Path(__file__).parent.parent / "docs" / "protocols"


def _table(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def test_the_documented_table_plans_with_every_export(tmp_path: Path) -> None:
    table = DOCS / "diazepam-table.csv"
    rows = [line.split(",") for line in table.read_text("utf-8").splitlines()[1:] if line]
    out = {kind: tmp_path / f"plan.{kind}" for kind in ("csv", "json", "pdf", "ics")}
    result = CliRunner().invoke(
        cli,
        ["plan", "diazepam", "15mg", "--rule", str(table), "--region", "uk", "--start", START,
         *[arg for kind, path in out.items() for arg in (f"--{kind}", str(path))]],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert all(path.stat().st_size > 0 for path in out.values())
    plan = json.loads(out["json"].read_text("utf-8"))
    steps = plan["steps"]
    # a step per row, each as long as its row, dated one after another from the start
    assert [s["days"] for s in steps] == [int(days) for days, _ in rows[: len(steps)]]
    assert steps[0]["start_date"] == START
    assert (
        sum(s["days"] for s in steps)
        == (date.fromisoformat(steps[-1]["end_date"]) - date.fromisoformat(START)).days + 1
    )
    # never above the row's dose
    for step, (_, dose) in zip(steps, rows, strict=False):
        assert Decimal(str(step["daily_dose_mg"])) <= Decimal(dose)


def test_the_published_nhs_scotland_table_plans_each_row_as_published(tmp_path: Path) -> None:
    # NHS Scotland's reduction schedule from diazepam 10 mg twice daily: 1 mg a step, the
    # morning dose to zero first, then the night dose
    table = DOCS / "nhs-scotland-diazepam-table.toml"
    published = [(m, Decimal(10)) for m in range(9, -1, -1)] + [(0, b) for b in range(9, 0, -1)]
    out = {kind: tmp_path / f"plan.{kind}" for kind in ("csv", "json", "pdf", "ics")}
    result = CliRunner().invoke(
        cli,
        ["plan", "diazepam", "20mg", "--rule", str(table), "--region", "uk", "--start", START,
         "--halve", "diazepam-tab-2-uk",
         *[arg for kind, path in out.items() for arg in (f"--{kind}", str(path))]],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert all(path.stat().st_size > 0 for path in out.values())
    plan = json.loads(out["json"].read_text("utf-8"))
    assert plan["rule"]["source"].startswith("Scottish Government / NHS Scotland")
    made = [
        tuple(
            sum(
                (Decimal(str(a["dose_mg"])) for a in s["administrations"] if a["time"] == time),
                Decimal(0),
            )
            for time in ("morning", "bedtime")
        )
        for s in plan["steps"]
    ]
    assert made == published
    assert {s["days"] for s in plan["steps"]} == {14}
    # no row needed making otherwise, and the plan stops after the last row
    codes = [f["code"] for f in plan["findings"]]
    assert "table-row-made" not in codes
    assert "table-rows-below-products" not in codes
    stop = next(f for f in plan["findings"] if f["code"] == "stop")
    assert "1 mg/day" in stop["message"]


def test_the_published_table_follows_the_published_switch_from_lorazepam() -> None:
    """The schedule NHS Scotland publishes starts from lorazepam 1 mg twice daily: the morning
    dose is switched first (lorazepam 1 mg and diazepam 10 mg), then both (diazepam 10 mg
    twice daily), then the table's rows."""
    plan = taper.plan(
        "lorazepam",
        "2 mg",
        switch_to="diazepam",
        table="nhs-scotland-2024",
        rule=str(DOCS / "nhs-scotland-diazepam-table.toml"),
        region="uk",
        halve=["diazepam-tab-2-uk"],
        start=START,
    )
    assert plan.switch is not None
    stages = [
        [(a.time, u.product.drug, u.dose) for a in stage.administrations for u in a.units]
        for stage in plan.switch.stages
    ]
    assert [{(time, drug): dose for time, drug, dose in stage} for stage in stages] == [
        {("morning", "lorazepam"): Decimal(1), ("bedtime", "diazepam"): Decimal(10)},
        {("morning", "diazepam"): Decimal(10), ("bedtime", "diazepam"): Decimal(10)},
    ]
    assert [s.dose for s in plan.steps] == [Decimal(d) for d in range(19, 0, -1)]


def test_a_table_of_shares_applies_to_any_starting_dose(tmp_path: Path) -> None:
    """75, 50, 25 and 12.5 % of the start, two weeks each: from 2 mg, 1.5, 1, 0.5 and 0.25 mg;
    from 4 mg, 3, 2, 1 and 0.5 mg (clonazepam tablets make each exactly)."""
    path = _table(tmp_path, "days,share\n14,75%\n14,50%\n14,25%\n14,12.5%\n")
    for start, doses in (("2 mg", ["1.5", "1", "0.5", "0.25"]), ("4 mg", ["3", "2", "1", "0.5"])):
        schedule = taper.plan(
            "clonazepam",
            start,
            rule=str(path),
            start=START,
            overrides={"cut-above-cap": "the clinic's own table"},
        )
        assert [str(s.dose) for s in schedule.steps] == doses
        assert [s.days for s in schedule.steps] == [14, 14, 14, 14]


def test_a_row_the_products_cannot_make_takes_the_largest_dose_below_it(tmp_path: Path) -> None:
    """1.3 mg a day of clonazepam in two doses: the products make 1.25 mg (0.625 + 0.625 with
    the 0.125 mg ODT), not 1.375: never above the row's dose."""
    path = _table(tmp_path, "days,dose\n14,1.75\n14,1.5\n14,1.3\n")
    schedule = taper.plan("clonazepam", "2 mg", rule=str(path), start=START)
    assert [str(s.dose) for s in schedule.steps] == ["1.75", "1.5", "1.25"]
    said = [f for f in schedule.findings if f.code == "table-row-made"]
    assert len(said) == 1 and said[0].step == 3
    assert "asks for 1.3 mg/day" in said[0].message and "make 1.25 mg/day" in said[0].message


def test_a_protocol_table_may_give_each_time_of_day(tmp_path: Path) -> None:
    path = tmp_path / "by-time.toml"
    path.write_text(
        'name = "bedtime last"\n'
        '[[steps]]\ndays = "14d"\nmorning = "0.5 mg"\nbedtime = "1 mg"\n'
        '[[steps]]\ndays = "14d"\nmorning = "0.25 mg"\nbedtime = "1 mg"\n'
        '[[steps]]\ndays = "14d"\nmorning = "0"\nbedtime = "1 mg"\n',
        "utf-8",
    )
    schedule = taper.plan("clonazepam", "2 mg", rule=str(path), start=START)
    shares = [[(a.time, str(a.dose)) for a in s.administrations] for s in schedule.steps]
    assert shares == [
        [("morning", "0.5"), ("bedtime", "1")],
        [("morning", "0.25"), ("bedtime", "1")],
        [("bedtime", "1")],
    ]


def test_a_cut_above_the_cap_is_named_not_changed(tmp_path: Path) -> None:
    path = _table(tmp_path, "days,dose\n14,1\n14,0.5\n")
    with pytest.raises(FindingsRefused) as refused:
        taper.plan("clonazepam", "2 mg", rule=str(path), start=START)
    assert refused.value.field == "cut-above-cap"
    schedule = taper.plan(
        "clonazepam", "2 mg", rule=str(path), start=START,
        overrides={"cut-above-cap": "the patient's own pace"},
    )  # fmt: skip
    assert [str(s.dose) for s in schedule.steps] == ["1", "0.5"]


def test_rows_below_the_products_end_the_plan_with_a_warning(tmp_path: Path) -> None:
    path = _table(tmp_path, "days,dose\n14,12\n14,10\n14,1\n")
    schedule = taper.plan(
        "diazepam", "15 mg", rule=str(path), region="uk", start=START,
        overrides={"cut-above-cap": "a short table"},
    )  # fmt: skip
    assert [str(s.dose) for s in schedule.steps] == ["12", "10"]
    said = next(f for f in schedule.findings if f.code == "table-rows-below-products")
    assert said.severity == "warning" and "Row 3" in said.message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("days,dosage\n14,1\n", "known keys: days, dose, share"),
        ("dose\n1\n", "a days column"),
        ("days,dose,share\n14,1,50%\n", "one of dose, share, or a dose at each time"),
        ("days,dose\n14,-1\n", "row 2.dose"),
        ("days,dose\n", "at least one row"),
    ],
)
def test_a_bad_table_is_refused_in_one_line(tmp_path: Path, text: str, words: str) -> None:
    path = _table(tmp_path, text)
    with pytest.raises(CatalogError) as error:
        taper.plan("clonazepam", "2 mg", rule=str(path), start=START)
    assert words in str(error.value)
    assert "\n" not in str(error.value)


def test_a_protocol_step_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('[[steps]]\ndays = "14d"\ndoze = "1 mg"\n', "utf-8")
    with pytest.raises(CatalogError, match=r"steps\[1\]\.doze"):
        taper.plan("clonazepam", "2 mg", rule=str(path), start=START)


def test_a_roster_row_may_name_a_table_file(tmp_path: Path) -> None:
    table = _table(tmp_path, "days,dose\n14,1.75\n14,1.5\n14,1.25\n")
    roster = tmp_path / "roster.csv"
    roster.write_text(
        f"reference,drug,dose,per_day,start,rule\nT1,clonazepam,2 mg,2,{START},{table}\n",
        "utf-8",
    )
    out = tmp_path / "plans"
    result = CliRunner().invoke(cli, ["batch", str(roster), "--out-dir", str(out)])
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "T1.json").read_text("utf-8"))
    assert [Decimal(str(s["daily_dose_mg"])) for s in plan["steps"]] == [
        Decimal("1.75"),
        Decimal("1.5"),
        Decimal("1.25"),
    ]


def test_a_table_with_an_end_date_is_refused(tmp_path: Path) -> None:
    path = _table(tmp_path, "days,dose\n14,1.5\n")
    with pytest.raises(InputError) as error:
        taper.plan("clonazepam", "2 mg", rule=str(path), end_by="2027-07-01", start=START)
    assert "a table of doses gives its own days" in str(error.value)


def test_a_replan_goes_on_with_the_rest_of_the_table(tmp_path: Path) -> None:
    """Rows of 1.75, 1.5, 1.25 and 1 mg, 14 days each from 2027-01-04; re-planned on
    2027-01-25, a week into the second row, after a hold of 14 days: the rest of the second
    row (7 days of 1.5 mg), then 1.25 and 1 mg."""
    path = _table(tmp_path, "days,dose\n14,1.75\n14,1.5\n14,1.25\n14,1\n")
    first = taper.plan("clonazepam", "2 mg", rule=str(path), start=START)
    again = taper.replan(first, "2027-01-25", hold_days=14)
    assert [(str(s.dose), s.days) for s in again.steps] == [
        ("1.75", 14),
        ("1.5", 7),
        ("1.5", 14),  # the hold
        ("1.5", 7),
        ("1.25", 14),
        ("1", 14),
    ]
    assert again.replan is not None and again.rule_name.endswith("(the rest of it)")


def test_a_table_that_rises_is_refused_as_any_plan_would_be(tmp_path: Path) -> None:
    path = _table(tmp_path, "days,dose\n14,1.75\n14,1.9\n14,1.5\n")
    with pytest.raises(FindingsRefused) as refused:
        taper.plan("clonazepam", "2 mg", rule=str(path), start=START)
    assert refused.value.field == "dose-rises"


def test_a_replan_from_the_json_given_its_table_again_goes_on_with_the_rest(
    tmp_path: Path,
) -> None:
    """The JSON keeps the table's name, not its rows: given the same file again, the re-plan
    goes on with the rest of the table, as a re-plan in memory does; another table starts
    from its first row."""
    path = _table(tmp_path, "days,dose\n14,1.75\n14,1.5\n14,1.25\n14,1\n")
    plan_json = tmp_path / "plan.json"
    runner = CliRunner()
    made = runner.invoke(
        cli,
        ["plan", "clonazepam", "2mg", "--rule", str(path), "--start", START,
         "--json", str(plan_json)],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    again = tmp_path / "again.json"
    result = runner.invoke(
        cli,
        ["replan", str(plan_json), "--on", "2027-01-25", "--rule", str(path),
         "--json", str(again)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    steps = json.loads(again.read_text("utf-8"))["steps"]
    rest = [("1.75", 14), ("1.5", 7), ("1.5", 7), ("1.25", 14), ("1", 14)]
    assert [(s["daily_dose_mg"], s["days"]) for s in steps] == rest
    in_memory = taper.replan(taper.plan("clonazepam", "2 mg", rule=str(path), start=START),
                             "2027-01-25")  # fmt: skip
    assert [(str(s.dose), s.days) for s in in_memory.steps] == rest
    other = _table(tmp_path, "days,dose\n14,1.5\n14,1.25\n", "other.csv")
    fresh = tmp_path / "fresh.json"
    result = runner.invoke(
        cli,
        ["replan", str(plan_json), "--on", "2027-01-25", "--rule", str(other),
         "--json", str(fresh)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    steps = json.loads(fresh.read_text("utf-8"))["steps"]
    assert [(s["daily_dose_mg"], s["days"]) for s in steps][2:] == [("1.5", 14), ("1.25", 14)]


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    drug=st.sampled_from([("clonazepam", "2 mg", "us"), ("diazepam", "20 mg", "uk")]),
    cuts=st.lists(st.integers(min_value=3, max_value=26), min_size=1, max_size=12),
    days=st.lists(st.sampled_from([7, 14, 21, 28]), min_size=12, max_size=12),
    shares=st.booleans(),
)
def test_a_table_plans_keeping_every_invariant_or_is_refused(
    drug: tuple[str, str, str], cuts: list[int], days: list[int], shares: bool
) -> None:
    """A table of falling doses (each a cut of 3 to 26 % of the row before), as doses or as
    shares of the start: the plan keeps the invariants every plan keeps (dispensable, never
    up, within the cap or refused, one truth, complete, down to its last row), or it is
    refused in the words of a refusal."""
    name, dose, region = drug
    start = Decimal(dose.split()[0])
    level, lines = start, ["days," + ("share" if shares else "dose")]
    for cut, length in zip(cuts, days, strict=False):
        level = level * (100 - cut) / 100
        value = f"{level / start * 100:.1f}%" if shares else f"{level:.3f}"
        lines.append(f"{length},{value}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        path.write_text("\n".join(lines) + "\n", "utf-8")
        try:
            schedule = taper.plan(name, dose, rule=str(path), region=region, start=START)
        except (FindingsRefused, PlanRefused) as refused:
            assert "\n" not in str(refused)
            event(f"refused: {refused.field}")
            return
    event("planned")
    kw = {
        "products": [p.id for p in schedule.products],
        "max_units": schedule.max_units,
        "at_low_doses": "stretch",
        "halve": [],
    }
    assert_invariants(schedule, kw)
    # never above a row's dose, each step as long as its row
    assert all(s.dose <= s.target for s in schedule.steps)
    assert [s.days for s in schedule.steps] == days[: len(schedule.steps)]


@pytest.mark.parametrize(
    ("cells", "said"),
    [
        ({"dose": "1 mg"}, "r.days: got ''; the days the row lasts, such as 14d"),
        ({"days": "", "dose": "1 mg"}, "r.days: got ''; the days the row lasts, such as 14d"),
        ({"days": "soon", "dose": "1 mg"}, "r.days: got 'soon'"),
        ({"days": "14", "dose": "1 mg", "share": "50%"},
         "r: got 'dose, share'; one of dose, share, or a dose at each time of day (morning, "
         "bedtime...)"),
        ({"days": "14", "share": "50%", "morning": "1 mg"}, "r: got 'share, times of day'; one of"),
        ({"days": "14"}, "r: got 'none'; one of dose, share"),
        ({"days": "14", "dose": None}, "r: got 'none'; one of dose, share"),
        ({"days": "14", "dosage": "1 mg"}, "r.dosage: got 'dosage'; known keys: days, dose, share"),
        ({"days": "14", "dose": "x"}, "r.dose: got 'x'; give a dose with a unit"),
        ({"days": "14", "morning": "0 mg", "bedtime": "0"}, None),
    ],
)  # fmt: skip
def test_each_malformed_row_is_refused_naming_its_key(
    cells: dict[str, object], said: str | None
) -> None:
    from taper.rules import table_row

    if said is None:  # a dose of nothing at every time parses; the plan refuses the day
        row = table_row(cells, "r")
        assert row.daily(Decimal(2)) == 0
        return
    with pytest.raises(InputError) as refused:
        table_row(cells, "r")
    assert str(refused.value).startswith(said)


def test_a_row_read_as_days_a_share_and_doses_at_times() -> None:
    from taper.rules import table_row

    assert table_row({"days": "14", "dose": "1.5"}, "r").dose_mg == D("1.5")
    assert table_row({"days": "2w", "share": "75"}, "r").share == D("0.75")
    at = table_row({"days": 7, "morning": "0", "bedtime": "1 mg"}, "r")
    assert (at.days, at.at) == (7, (("morning", D(0)), ("bedtime", D(1))))


def test_a_table_describes_its_rows_and_days() -> None:
    from taper.rules import Table, TableRow

    doses = Table((TableRow(14, D("1.5")), TableRow(21, D(1))))
    assert doses.describe() == "a table of 2 doses over 35 days, then the stop"
    shares = Table((TableRow(14, share=D("0.75")), TableRow(14, share=D("0.5"))))
    assert (
        shares.describe() == "a table of 2 shares of the starting dose over 28 days, then the stop"
    )
    mixed = Table((TableRow(14, share=D("0.75")), TableRow(14, D(1))))
    assert mixed.describe() == "a table of 2 doses over 28 days, then the stop"
    with pytest.raises(InputError) as empty:
        Table(())
    assert str(empty.value) == "steps: got ''; a table of at least one dose"


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("2027-07-01", None),
        (date(2027, 7, 1), None),
        (" 2027-07-01 ", None),
        ("1 July 2027", "p.toml: end_by: got '1 July 2027'; a date written YYYY-MM-DD"),
        (
            "2027-07-01T00:00",
            "p.toml: end_by: got '2027-07-01 00:00:00'; a date written YYYY-MM-DD",
        ),
    ],
)
def test_a_protocol_end_date_is_a_date(value: object, said: str | None) -> None:
    from datetime import datetime

    from taper.rules import parse_protocol

    given = datetime.fromisoformat(value) if str(value).count("T") else value
    data = {"cut": "10%", "every": "14d", "end_by": given}
    if said is None:
        assert parse_protocol(data, "p.toml").end_by == date(2027, 7, 1)
        return
    with pytest.raises(CatalogError) as refused:
        parse_protocol(data, "p.toml")
    assert str(refused.value) == said


def test_a_second_replan_goes_on_with_the_rest_of_the_table(tmp_path: Path) -> None:
    """Regression: a re-plan of a re-plan counted the first part's steps against the rest of
    the table, jumped from 1 mg to 0.5 mg and was refused for the cut."""
    path = _table(tmp_path, "days,dose\n14,1.75\n14,1.5\n14,1.25\n14,1\n14,0.75\n14,0.5\n")
    first = taper.plan("clonazepam", "2 mg", rule=str(path), start=START)
    second = taper.replan(first, "2027-01-25")
    third = taper.replan(second, "2027-02-20", hold_days=7)
    assert [(str(s.dose), s.days, s.held) for s in third.steps] == [
        ("1.75", 14, False),
        ("1.5", 7, False),
        ("1.5", 7, False),  # the rest of the row, not a hold
        ("1.25", 14, False),
        ("1", 5, False),
        ("1", 7, True),  # the hold asked for
        ("1", 9, False),
        ("0.75", 14, False),
        ("0.5", 14, False),
    ]
    assert third.rule_name == "table (the rest of it)"


def test_a_second_replan_from_the_json_given_the_table_again_goes_on_with_the_rest(
    tmp_path: Path,
) -> None:
    """Regression: re-planned from a re-plan's JSON with the table given again, the table
    started again from its first row and was refused as a rise."""
    path = _table(tmp_path, "days,dose\n14,1.75\n14,1.5\n14,1.25\n14,1\n14,0.75\n14,0.5\n")
    runner = CliRunner()
    first, second, third = (tmp_path / f"{n}.json" for n in ("a", "b", "c"))
    steps = [
        ["plan", "clonazepam", "2mg", "--rule", str(path), "--start", START, "--json", str(first)],
        ["replan", str(first), "--on", "2027-01-25", "--rule", str(path), "--json", str(second)],
        ["replan", str(second), "--on", "2027-02-20", "--rule", str(path), "--hold", "7d",
         "--json", str(third)],
    ]  # fmt: skip
    for args in steps:
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
    made = json.loads(third.read_text("utf-8"))["steps"]
    assert [(s["daily_dose_mg"], s["days"]) for s in made] == [
        ("1.75", 14), ("1.5", 7), ("1.5", 7), ("1.25", 14), ("1", 5), ("1", 7), ("1", 9),
        ("0.75", 14), ("0.5", 14),
    ]  # fmt: skip
    in_memory = taper.replan(
        taper.replan(taper.plan("clonazepam", "2 mg", rule=str(path), start=START), "2027-01-25"),
        "2027-02-20",
        hold_days=7,
    )
    assert [(str(s.dose), s.days) for s in in_memory.steps] == [
        (s["daily_dose_mg"], s["days"]) for s in made
    ]
