"""One path for each job: the library's own words, one reader and writer per file, one check."""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import taper
from taper import external, plan_json, validation
from taper.batch import check_reference, read_roster
from taper.catalog import load_catalog
from taper.cli import cli
from taper.errors import InputError, TaperError
from taper.flags import FLAGS
from taper.plan_json import load_plan, parse, to_json
from taper.reports import csv_text
from taper.schedule import Finding
from taper.wording import speaking

from .test_doses import numbers

START = "2027-01-04"
DOCS = Path(__file__).parent.parent / "docs"


def test_library_errors_name_its_parameters() -> None:
    """Regression: taper.plan(start="tomorrow") said "--start", a flag a notebook has not."""
    with pytest.raises(InputError) as caught:
        taper.plan("clonazepam", "2 mg", start="tomorrow")
    assert str(caught.value) == "start: got 'tomorrow'; a date written YYYY-MM-DD"
    with pytest.raises(InputError) as caught:
        taper.plan("clonazepam", "2 mg", max_units=0, start=START)
    assert str(caught.value).startswith("max_units: got 0;")


def test_the_command_line_says_its_flags() -> None:
    result = CliRunner().invoke(cli, ["plan", "clonazepam", "2mg", "--start", "tomorrow"])
    assert result.exit_code == 2
    assert result.stderr == "Error: --start: got 'tomorrow'; a date written YYYY-MM-DD\n"


def test_a_parameter_named_inside_an_error_is_said_by_each_caller() -> None:
    error = InputError("at_low_doses", "stop", "a smaller cut", "use {at_low_doses} stretch")
    assert str(error) == "at_low_doses: got 'stop'; a smaller cut (use at_low_doses stretch)"
    flags = {"at_low_doses": "--at-low-doses"}
    assert error.render(flags) == (
        "--at-low-doses: got 'stop'; a smaller cut (use --at-low-doses stretch)"
    )


def _said(schedule: taper.Schedule) -> str:
    """Every word of a plan's findings: messages and sources."""
    return " ".join(f"{f.message} {f.source}" for f in schedule.findings)


#: plans whose findings tell the clinician what to change: the way down by a liquid, a halved
#: tablet or a switch (alternatives), a lengthened step, a stop asked for, a raised unit limit
SAYS_WHAT_TO_CHANGE = [
    ("clonazepam", "2 mg", {"rule": "joint-guideline-2025"}),
    ("diazepam", "20 mg", {"rule": "nice-cks-diazepam"}),
    ("clonazepam", "2 mg", {"at_low_doses": "stop"}),
    ("lorazepam", "10 mg", {"per_day": 1, "overrides": {"dose-above-range": "reviewed"}}),
]


@pytest.mark.parametrize(("drug", "dose", "options"), SAYS_WHAT_TO_CHANGE)
def test_findings_name_the_library_s_parameters_and_the_command_line_its_flags(
    drug: str, dose: str, options: dict[str, object]
) -> None:
    """Regression: a notebook user was told to "give --max-units", a flag a notebook has not."""
    library = taper.plan(drug, dose, start=START, **options)  # type: ignore[arg-type]
    with speaking(FLAGS):
        command_line = taper.plan(drug, dose, start=START, **options)  # type: ignore[arg-type]
    flag = re.compile(r"--[a-z]")
    assert not flag.search(_said(library))
    assert flag.search(_said(command_line))
    # the same findings, each said in its caller's words
    assert [f.code for f in library.findings] == [f.code for f in command_line.findings]
    for mine, theirs in zip(library.findings, command_line.findings, strict=True):
        for name, cli_flag in FLAGS.items():
            theirs = replace(theirs, message=theirs.message.replace(cli_flag, name))
            theirs = replace(theirs, source=theirs.source.replace(cli_flag, name))
        assert numbers(mine.message) == numbers(theirs.message)


def test_a_finding_with_a_value_is_said_as_a_call_or_as_a_command_line() -> None:
    schedule = taper.plan("diazepam", "20 mg", rule="nice-cks-diazepam", start=START)
    alternatives = next(f.message for f in schedule.findings if f.code == "alternatives")
    assert "(at_low_doses='liquid')" in alternatives
    assert "(halve=['diazepam-tab-2']; off-licence)" in alternatives
    result = CliRunner().invoke(
        cli, ["plan", "diazepam", "20mg", "--rule", "nice-cks-diazepam", "--start", START]
    )
    assert result.exit_code == 0, result.stderr
    assert "(--at-low-doses liquid)" in result.stdout
    assert "(--halve diazepam-tab-2; off-licence)" in result.stdout


def _check(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["check", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_protocol_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Regression: a protocol TOML with a BOM was refused ("Invalid statement (line 1...")."""
    text = (DOCS / "protocols" / "bands.toml").read_text(encoding="utf-8")
    plain, marked = tmp_path / "plain.toml", tmp_path / "marked.toml"
    plain.write_text(text, encoding="utf-8")
    marked.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    assert taper.load_protocol(marked) == taper.load_protocol(plain)


def test_every_user_file_is_read_alike(tmp_path: Path) -> None:
    """One reader: UTF-16, binary data and a file that is not a regular file are refused in
    the same words, whichever kind of file it is."""
    utf16 = tmp_path / "utf16"
    utf16.write_bytes(codecs.BOM_UTF16_LE + "x".encode("utf-16-le"))
    binary = tmp_path / "binary"
    binary.write_bytes(b"a\x00b")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, why in ((utf16, "UTF-16 text"), (binary, "binary data"), (fifo, "not a regular")):
        with pytest.raises(TaperError, match=why):
            taper.load_protocol(path)
        with pytest.raises(TaperError, match=why):
            taper.load_catalog(path)
        with pytest.raises(TaperError, match=why):
            read_roster(path)
        code, _, err = _check(str(path), "--drug", "clonazepam")
        assert code == 2 and why in err


def test_a_semicolon_csv_is_told_to_use_commas(tmp_path: Path) -> None:
    """Regression: check said "a start_date column is required" of a ;-separated CSV."""
    schedule = tmp_path / "s.csv"
    schedule.write_text("start_date;days;daily_dose_mg\n2027-01-04;14;1\n", encoding="utf-8")
    code, _, err = _check(str(schedule), "--drug", "clonazepam")
    assert code == 2
    assert err == (
        f"Error: {schedule}: columns: got 'start_date;days;daily_dose_mg'; separate the columns "
        f"with commas\n"
    )


def _json_round_trip(schedule: taper.Schedule) -> taper.Schedule:
    return load_plan(parse(to_json(schedule), "plan.json"), load_catalog(), "plan.json")


def test_replan_from_the_json_keeps_the_patient_and_the_overrides(tmp_path: Path) -> None:
    """Regression: re-planned from its JSON, a 70-year-old's plan lost its older-adult warning,
    and a plan whose dose-above-range was overridden was refused again."""
    reason = "transferred from inpatient care"
    first = taper.plan(
        "clonazepam",
        "6 mg",
        indication="panic-disorder",
        age=70,
        overrides={"dose-above-range": reason},
        start=START,
    )
    path = tmp_path / "plan.json"
    path.write_text(to_json(first), encoding="utf-8")
    read = taper.read_plan(path)
    assert read.prescription.patient == first.prescription.patient
    assert read.overrides == (("dose-above-range", reason),)
    in_memory = taper.replan(first, "2027-03-01", hold_days=28)
    from_file = taper.replan(read, "2027-03-01", hold_days=28)
    assert to_json(from_file) == to_json(in_memory)
    codes = {f.code: f for f in from_file.findings}
    assert codes["older-adult"].severity == "warning"
    assert codes["dose-above-range"].override == reason
    result = CliRunner().invoke(
        cli, ["replan", str(path), "--on", "2027-03-01", "--hold", "28d", "--json", "-"]
    )
    assert result.exit_code == 0, result.stderr
    with speaking(FLAGS):  # the command line's findings name its flags
        assert result.stdout == to_json(taper.replan(first, "2027-03-01", hold_days=28))


def test_check_of_a_plan_reads_it_once_and_says_what_the_plan_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: taper check plan.json parsed the file four times, cited another source for
    the forced cuts than the plan did, and dropped the plan's notes (target-adjusted...)."""
    schedule = taper.plan("clonazepam", "2 mg", start=START)
    path = tmp_path / "plan.json"
    path.write_text(to_json(schedule), encoding="utf-8")
    parses: list[str] = []
    real = plan_json.parse

    def counted(text: str, origin: str) -> dict[str, object]:
        parses.append(origin)
        return real(text, origin)

    monkeypatch.setattr(external, "parse", counted)
    monkeypatch.setattr(plan_json, "parse", counted)
    found = taper.check(path)
    assert parses == [str(path)]

    def key(f: Finding) -> tuple[object, ...]:
        return (f.severity, f.code, f.step, f.message, f.source, f.override)

    assert sorted(map(key, found)) == sorted(map(key, schedule.findings))
    assert {f.code for f in found} >= {"forced-cut", "target-adjusted", "alternatives", "stop"}


def test_check_takes_a_schedule_or_a_path(tmp_path: Path) -> None:
    """Regression: taper.check("schedule.csv") raised AttributeError ('str' object has no
    attribute 'overrides')."""
    schedule = taper.plan("clonazepam", "2 mg", start=START)
    csv_path, json_path = tmp_path / "s.csv", tmp_path / "s.json"
    csv_path.write_text(csv_text(schedule), encoding="utf-8")
    json_path.write_text(to_json(schedule), encoding="utf-8")
    from_csv = taper.check(str(csv_path))
    assert {f.code for f in from_csv} >= {"forced-cut", "stop"}
    assert not [f for f in from_csv if f.severity == "error"]
    assert taper.check(json_path) == taper.check(schedule)
    assert "read_schedule" not in (taper.check.__doc__ or "")


def test_check_does_not_hide_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure inside the checks is a bug and surfaces as one, not as a finding."""
    schedule = taper.plan("clonazepam", "2 mg", start=START)

    def broken(*_: object) -> list[Finding]:
        raise RuntimeError("a bug in a check")

    monkeypatch.setattr(validation, "check_timeline", broken)
    with pytest.raises(RuntimeError, match="a bug in a check"):
        taper.check(schedule)


def test_a_plan_that_disagrees_with_itself_is_not_read_back(tmp_path: Path) -> None:
    """A re-plan starts from what the plan says: one whose stated dose is not what its units
    make is refused, and check reports it as a finding."""
    schedule = taper.plan("clonazepam", "2 mg", start=START)
    data = json.loads(to_json(schedule))
    data["steps"][0]["daily_dose_mg"] = "20"
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match=r"steps\[1\]\.daily_dose_mg"):
        taper.read_plan(path)
    assert "dose-mismatch" in {f.code for f in taper.check(path)}


CASES = [
    {"drug": "clonazepam", "dose": "2 mg"},
    {"drug": "clonazepam", "dose": "2 mg", "at_low_doses": "liquid", "region": "uk"},
    {"drug": "diazepam", "dose": "20 mg", "halve": ["diazepam-tab-2"], "age": 70},
    {"drug": "alprazolam", "dose": "3 mg", "switch_to": "diazepam", "table": "va-dod-2021"},
    {"drug": "lorazepam", "dose": "2 mg", "rule": "joint-guideline-2025-slow", "use_months": 12},
    {"drug": "clonazepam", "dose": "1 mg", "reduce": "10%", "every": "14d"},
    # a hold of the rule's, and a liquid measured with other marks than the default
    {"drug": "clonazepam", "dose": "2 mg", "reduce": "10%", "every": "14d", "holds": ("1mg:28d",)},
    {"drug": "diazepam", "dose": "10 mg", "at_low_doses": "liquid", "liquid_increment": "0.2ml"},
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(map(str, c.values())))
@given(days=st.integers(0, 3650), replanned=st.booleans())
@settings(max_examples=4, deadline=None)
def test_loading_what_was_written_gives_back_the_plan(
    case: dict[str, object], days: int, replanned: bool
) -> None:
    args = dict(case)
    if "reduce" in args:
        holds = tuple(args.pop("holds", ()))  # type: ignore[arg-type]
        args["rule"] = taper.build_rule(
            None, str(args.pop("reduce")), str(args.pop("every")), holds=holds
        )
    start = date(2027, 1, 4) + timedelta(days=days)
    schedule = taper.plan(**args, start=start)  # type: ignore[arg-type]
    if replanned:
        on = schedule.steps[min(2, len(schedule.steps) - 1)].start
        if schedule.first_day < on < schedule.stop_date and not (
            schedule.switch is not None and on <= schedule.switch.stages[-1].end
        ):
            schedule = taper.replan(schedule, on, hold_days=14, reason="a hard week")
    loaded = _json_round_trip(schedule)
    assert to_json(loaded) == to_json(schedule)
    for name in (
        "prescription",
        "findings",
        "products",
        "max_units",
        "max_cut",
        "cap_source",
        "overrides",
        "switch",
        "replan",
        "at_low_doses",
        "rule_name",
    ):
        assert getattr(loaded, name) == getattr(schedule, name), name
    for ours, theirs in zip(loaded.steps, schedule.steps, strict=True):
        assert (ours.number, ours.start, ours.days, ours.administrations, ours.target) == (
            theirs.number,
            theirs.start,
            theirs.days,
            theirs.administrations,
            theirs.target,
        )
        assert ours.held == theirs.held


def test_batch_writes_what_taper_plan_writes(tmp_path: Path) -> None:
    """Regression: batch rebuilt the export bundle and left out the .findings.csv beside each
    CSV that taper plan --csv writes."""
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "reference,drug,dose,per_day,start\nP1,clonazepam,2 mg,2,2027-01-04\n", encoding="utf-8"
    )
    out = tmp_path / "plans"
    result = CliRunner().invoke(cli, ["batch", str(roster), "--out-dir", str(out), "--pdf"])
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "P1.csv",
        "P1.findings.csv",
        "P1.json",
        "P1.pdf",
        "P1.supply.csv",
        "errors.csv",
        "summary.csv",
        "supply.csv",
    ]
    alone = tmp_path / "alone"
    alone.mkdir()
    result = CliRunner().invoke(
        cli,
        [
            *("plan", "clonazepam", "2mg", "--per-day", "2", "--start", START),
            *("--csv", str(alone / "P1.csv"), "--json", str(alone / "P1.json")),
        ],
    )
    assert result.exit_code == 0, result.stderr
    for name in ("P1.csv", "P1.findings.csv", "P1.supply.csv", "P1.json"):
        assert (out / name).read_bytes() == (alone / name).read_bytes(), name


def test_a_reference_may_not_take_another_plan_s_findings_or_supply_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"not ending \.findings or \.supply"):
        check_reference("P1.findings")
    with pytest.raises(InputError, match=r"not ending \.findings or \.supply"):
        check_reference("P1.supply")


def test_overrides_are_read_one_way_whichever_form_they_take() -> None:
    """A mapping of code to reason is held to the same rules as CODE=reason pairs: it used to
    pass unchecked (an empty reason, a code that may not be overridden)."""
    reason = "transferred from inpatient care"
    as_pairs = taper.plan("clonazepam", "6 mg", overrides=[f"dose-above-range={reason}"])
    as_mapping = taper.plan("clonazepam", "6 mg", overrides={"dose-above-range": reason})
    assert as_pairs.overrides == as_mapping.overrides == (("dose-above-range", reason),)
    for bad in ({"dose-above-range": " "}, {"likely-unit-slip": "x"}, {"no-such-code": "x"}):
        with pytest.raises(InputError) as caught:
            taper.plan("clonazepam", "6 mg", overrides=bad)
        assert caught.value.field == "overrides"


def test_a_changed_preset_is_not_taken_back_from_its_name(tmp_path: Path) -> None:
    """A plan whose preset the clinician changed (its cap, its final dose) is read back with no
    rule rather than the preset's, so a re-plan asks for the rule in place of dropping the
    change; check still says why the plan stops where it does."""
    capped = taper.plan("clonazepam", "2 mg", rule=taper.build_rule(max_cut="20%"), start=START)
    final = taper.plan(
        "clonazepam", "2 mg", rule=taper.build_rule(final_dose="0.25mg"), start=START
    )
    plain = taper.plan("clonazepam", "2 mg", start=START)
    assert _json_round_trip(plain).rule == plain.rule
    for changed in (capped, final):
        loaded = _json_round_trip(changed)
        assert loaded.rule is None
        assert to_json(loaded) == to_json(changed)
        with pytest.raises(InputError) as caught:
            taper.replan(loaded, "2027-03-01", hold_days=28)
        assert caught.value.field == "rule"
    path = tmp_path / "final.json"
    path.write_text(to_json(final), encoding="utf-8")
    said = {f.code: f.message for f in final.findings}
    checked = {f.code: f.message for f in taper.check(path)}
    assert checked["final-dose-large"] == said["final-dose-large"]


def test_replan_changes_the_plan_s_own_rule_as_it_is_in_memory() -> None:
    first = taper.plan(
        "clonazepam",
        "2 mg",
        rule=taper.build_rule(final_dose="0.25mg"),
        cut_order="morning-first",
        start=START,
    )
    again = taper.replan(first, "2027-03-01", every="28d")
    assert again.rule is not None
    assert (again.rule.final_mg, again.rule.cut_order) == (Decimal("0.25"), "morning-first")
    assert again.rule.pace.describe() != first.rule.pace.describe()  # type: ignore[union-attr]


def test_a_switch_with_a_halved_tablet_is_read_back(tmp_path: Path) -> None:
    """Regression: the switch's stages were read with the catalog's tablets, so a plan that
    halves one along its break line was refused on replan and had errors on check."""
    schedule = taper.plan(
        "chlordiazepoxide",
        "50 mg",
        switch_to="diazepam",
        halve=["tablet:2mg"],
        stage_days=14,
        start=START,
    )
    loaded = _json_round_trip(schedule)
    assert loaded.switch == schedule.switch
    assert to_json(loaded) == to_json(schedule)
    path = tmp_path / "switch.json"
    path.write_text(to_json(schedule), encoding="utf-8")
    assert not [f for f in taper.check(path) if f.severity == "error" and not f.override]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d.__setitem__("times", ["noon", "midnight"]),
        lambda d: d["steps"][0]["administrations"][0].__setitem__("time", "noon"),
        lambda d: [s.__setitem__("step", 1) for s in d["steps"]],
        lambda d: d["steps"][0].__setitem__("daily_dose_mg", "20"),
        lambda d: d.__setitem__("rule", "zzz"),
    ],
    ids=["times", "a time", "step numbers", "a stated dose", "a rule as text"],
)
def test_check_says_what_replan_refuses_in_a_tampered_plan(
    tmp_path: Path, tamper: Callable[[dict[str, Any]], object]
) -> None:
    """Regression: taper check passed a plan JSON with times 'noon' and 'midnight', or every
    step numbered 1, in silence, while taper replan refused it."""
    import json

    from click.testing import CliRunner

    from taper.cli import cli
    from taper.reports import to_json

    data = json.loads(to_json(taper.plan("clonazepam", "2 mg", start="2027-01-04")))
    tamper(data)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data), "utf-8")
    refused = CliRunner().invoke(cli, ["replan", str(path), "--on", "2027-03-01"])
    assert refused.exit_code == 2
    why = refused.stderr.strip().removeprefix("Error: ")
    found = taper.check(path)
    said = [f for f in found if f.code == "not-as-written"]
    assert len(said) == 1 and said[0].severity == "warning"
    assert f"({why})" in said[0].message
