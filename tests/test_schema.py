"""The JSON Schemas shipped in taper/data, held to every kind of JSON taper writes.

``plan.schema.json`` is the ``taper-plan/1`` contract (docs/plan-json.md) in machine-readable
form, ``findings.schema.json`` the ``taper-findings/1`` document of ``taper check --json``.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

import taper
from taper.cli import cli
from taper.reports import to_json

TESTS = Path(__file__).parent
GOLDEN = sorted((TESTS / "golden").glob("*.json"))
ROSTER = TESTS.parent / "examples" / "roster.csv"
START = "2027-01-04"
OVERRIDE_REASON = "transferred from inpatient care"


def load_schema(name: str) -> dict[str, Any]:
    """A schema as the package holds it (taper/data, shipped as package data)."""
    schema: dict[str, Any] = json.loads(
        files("taper.data").joinpath(name).read_text(encoding="utf-8")
    )
    return schema


PLAN_SCHEMA = load_schema("plan.schema.json")
FINDINGS_SCHEMA = load_schema("findings.schema.json")
# dates are checked as real days (2027-02-30 is refused), not by their pattern alone
PLAN = Draft202012Validator(PLAN_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
FINDINGS = Draft202012Validator(FINDINGS_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(validator: Draft202012Validator, document: Any) -> list[str]:
    """Every way ``document`` falls short of the schema, one line each, with where."""
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def assert_plan(document: Any) -> None:
    found = problems(PLAN, document)
    assert found == [], "\n".join(found)


def assert_findings(document: Any) -> None:
    found = problems(FINDINGS, document)
    assert found == [], "\n".join(found)


def written(schedule: taper.Schedule) -> dict[str, Any]:
    """The plan's JSON as taper writes it, read back."""
    data: dict[str, Any] = json.loads(to_json(schedule))
    return data


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


# --- the schemas themselves ----------------------------------------------------------------


@pytest.mark.parametrize("schema", [PLAN_SCHEMA, FINDINGS_SCHEMA], ids=["plan", "findings"])
def test_the_schemas_are_valid_draft_2020_12(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_the_schemas_name_the_formats_the_writer_writes() -> None:
    from taper.reports.plan_json import FORMAT

    assert PLAN_SCHEMA["properties"]["format"] == {"const": FORMAT}
    assert FINDINGS_SCHEMA["properties"]["format"] == {"const": "taper-findings/1"}


def test_the_schemas_ship_with_the_package() -> None:
    pyproject = tomllib.loads((TESTS.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert "*.json" in pyproject["tool"]["setuptools"]["package-data"]["taper.data"]


# --- the golden files ----------------------------------------------------------------------


def test_there_are_golden_files() -> None:
    assert len(GOLDEN) >= 5


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_files_hold(path: Path) -> None:
    assert_plan(json.loads(path.read_text(encoding="utf-8")))


# --- fresh plans ---------------------------------------------------------------------------


def _plain() -> taper.Schedule:
    return taper.plan("clonazepam", "2 mg", start=START)


#: a plan of each kind, and what in its JSON shows it is that kind
PLANS: dict[str, tuple[Callable[[], taper.Schedule], Callable[[dict[str, Any]], bool]]] = {
    "plain": (_plain, lambda d: "switch" not in d and "replan" not in d),
    "switch": (
        lambda: taper.plan("clonazepam", "2 mg", start=START, switch_to="diazepam"),
        lambda d: d["switch"]["to_drug"] == "diazepam" and len(d["switch"]["stages"]) > 1,
    ),
    "liquid": (
        lambda: taper.plan("diazepam", "10 mg", start=START, at_low_doses="liquid"),
        lambda d: (
            d["limits"]["at_low_doses"] == "liquid"
            and any(p["form"] == "solution" for p in d["products"])
            and any(
                u["form"] == "solution"
                for s in d["steps"]
                for a in s["administrations"]
                for u in a["units"]
            )
        ),
    ),
    "halve": (
        lambda: taper.plan("diazepam", "10 mg", start=START, halve=["diazepam-tab-2"]),
        lambda d: any(p.get("halved_off_licence") for p in d["products"]),
    ),
    "stop-at-low-doses": (
        lambda: taper.plan(
            "clonazepam", "2 mg", start=START, rule="fda-label-clonazepam", at_low_doses="stop"
        ),
        lambda d: d["limits"]["at_low_doses"] == "stop" and d["stop"]["asked"] is not None,
    ),
    "uk": (
        lambda: taper.plan("diazepam", "20 mg", start=START, region="uk"),
        lambda d: d["region"] == "uk",
    ),
    "patient": (
        lambda: taper.plan("clonazepam", "2 mg", start=START, age=70, indication="panic-disorder"),
        lambda d: d["drug"] == "clonazepam",
    ),
    "override": (
        lambda: taper.plan(
            "clonazepam",
            "6 mg",
            start=START,
            indication="panic-disorder",
            overrides={"dose-above-range": OVERRIDE_REASON},
        ),
        lambda d: any(f["override"] == OVERRIDE_REASON for f in d["findings"]),
    ),
    "custom-rule": (
        lambda: taper.plan(
            "clonazepam", "2 mg", start=START, rule=taper.build_rule(reduce="0.25mg", every="14d")
        ),
        lambda d: d["rule"]["name"] == "custom",
    ),
    "replan": (
        lambda: taper.replan(
            _plain(),
            "2027-03-01",
            hold_days=28,
            rule="joint-guideline-2025-slow",
            reason="withdrawal symptoms",
        ),
        lambda d: d["replan"]["hold_days"] == 28 and d["replan"]["reinstate_mg"] is None,
    ),
    "replan-reinstate": (
        lambda: taper.replan(_plain(), "2027-03-01", reinstate="2 mg", reason="symptoms came back"),
        lambda d: d["replan"]["reinstate_mg"] == "2",
    ),
}


@pytest.mark.parametrize("kind", list(PLANS))
def test_fresh_plans_hold(kind: str) -> None:
    make, shows = PLANS[kind]
    data = written(make())
    assert shows(data), f"the {kind} plan does not show what it is meant to test"
    assert_plan(data)


# --- the new optional keys (patient, overrides, limits.cap_source) -------------------------


def test_patient_facts_are_written_and_hold() -> None:
    data = written(
        taper.plan(
            "clonazepam",
            "2 mg",
            start=START,
            age=70,
            indication="panic-disorder",
            weight_kg="62.5",
            use_months=6,
        )
    )
    assert data.get("patient") == {
        "indication": "panic-disorder",
        "age": 70,
        "weight_kg": "62.5",
        "use_months": 6,
    }
    assert_plan(data)


def test_patient_is_left_out_when_no_fact_was_given() -> None:
    data = written(_plain())
    assert "patient" not in data
    assert "overrides" not in data


def test_overrides_are_written_and_hold() -> None:
    make, _ = PLANS["override"]
    data = written(make())
    assert data.get("overrides") == [{"code": "dose-above-range", "reason": OVERRIDE_REASON}]
    assert_plan(data)


def test_cap_source_is_written_for_a_rule_that_is_not_a_preset() -> None:
    make, _ = PLANS["custom-rule"]
    data = written(make())
    assert isinstance(data["limits"].get("cap_source"), str)
    assert data["limits"]["cap_source"]
    assert_plan(data)


def test_cap_source_is_left_out_for_a_preset() -> None:
    assert "cap_source" not in written(_plain())["limits"]


def _golden() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GOLDEN[0].read_text(encoding="utf-8"))
    return data


def test_the_schema_accepts_the_new_optional_keys() -> None:
    data = _golden()
    data["patient"] = {"indication": "panic-disorder", "age": 70, "weight_kg": "62.5"}
    data["overrides"] = [{"code": "dose-above-range", "reason": OVERRIDE_REASON}]
    data["limits"]["cap_source"] = "the clinician's --max-cut"
    assert_plan(data)
    data["patient"] = {"use_months": 1200, "age": 0}
    assert_plan(data)


@pytest.mark.parametrize(
    "where, value",
    [
        ("patient", {}),
        ("patient", {"age": 131}),
        ("patient", {"age": "70"}),
        ("patient", {"use_months": 1201}),
        ("patient", {"weight_kg": 62.5}),
        ("patient", {"weight_kg": "62.50"}),
        ("patient", {"age": 70, "sex": "f"}),
        ("overrides", []),
        ("overrides", [{"code": "dose-above-range"}]),
        ("overrides", [{"code": "dose-above-range", "reason": "x", "by": "dr"}]),
        ("overrides", {"dose-above-range": OVERRIDE_REASON}),
        ("cap_source", 25),
    ],
)
def test_the_schema_rejects_bad_new_keys(where: str, value: Any) -> None:
    data = _golden()
    if where == "cap_source":
        data["limits"]["cap_source"] = value
    else:
        data[where] = value
    assert problems(PLAN, data), f"{where}={value!r} was accepted"


# --- what the command line writes ----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["clonazepam", "2mg"],
        ["clonazepam", "2mg", "--switch-to", "diazepam"],
        ["diazepam", "10mg", "--at-low-doses", "liquid"],
        ["diazepam", "10mg", "--halve", "diazepam-tab-2"],
        ["clonazepam", "2mg", "--age", "70", "--indication", "panic-disorder"],
        [
            "clonazepam",
            "6mg",
            "--indication",
            "panic-disorder",
            "--override",
            f"dose-above-range={OVERRIDE_REASON}",
        ],
    ],
    ids=["plain", "switch", "liquid", "halve", "patient", "override"],
)
def test_cli_plan_json_holds(args: list[str]) -> None:
    code, stdout, stderr = run("plan", *args, "--start", START, "--json", "-")
    assert code == 0, stderr
    assert_plan(json.loads(stdout))


def test_cli_replan_json_holds(tmp_path: Path) -> None:
    first = tmp_path / "plan.json"
    code, _, stderr = run(
        "plan", "clonazepam", "2mg", "--start", START, "--age", "70", "--json", str(first)
    )
    assert code == 0, stderr
    assert_plan(json.loads(first.read_text(encoding="utf-8")))
    code, stdout, stderr = run(
        "replan",
        str(first),
        "--on",
        "2027-03-01",
        "--hold",
        "28d",
        "--rule",
        "joint-guideline-2025-slow",
        "--reason",
        "withdrawal symptoms",
        "--json",
        "-",
    )
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["replan"]["on"] == "2027-03-01"
    assert_plan(data)
    # a re-plan of the re-plan: the file taper replan reads is one taper replan wrote
    again = tmp_path / "again.json"
    again.write_text(stdout, encoding="utf-8")
    code, stdout, stderr = run(
        "replan", str(again), "--on", "2027-06-01", "--reinstate", "1.5mg", "--json", "-"
    )
    assert code == 0, stderr
    assert_plan(json.loads(stdout))


def test_cli_check_json_holds(tmp_path: Path) -> None:
    plan_json, plan_csv = tmp_path / "plan.json", tmp_path / "plan.csv"
    code, _, stderr = run(
        "plan",
        "clonazepam",
        "2mg",
        "--start",
        START,
        "--json",
        str(plan_json),
        "--csv",
        str(plan_csv),
    )
    assert code == 0, stderr
    checks = [
        ([str(plan_json)], 0),
        ([str(plan_csv)], 0),
        ([str(plan_json), "--max-units", "1"], 1),  # error findings
        ([str(plan_json), "--max-units", "1", "--override", "too-many-units=one at a time"], 0),
    ]
    for args, exit_code in checks:
        code, stdout, stderr = run("check", *args, "--json", "-")
        assert code == exit_code, (args, stderr)
        data = json.loads(stdout)
        assert (data["errors"] > 0) == (exit_code == 1), args
        assert_findings(data)


def test_batch_json_files_hold(tmp_path: Path) -> None:
    out = tmp_path / "plans"
    code, _, stderr = run("batch", str(ROSTER), "--out-dir", str(out))
    assert code == 0, stderr
    written_files = sorted(out.glob("*.json"))
    rows = len(ROSTER.read_text(encoding="utf-8").strip().splitlines()) - 1
    assert len(written_files) == rows
    for path in written_files:
        found = problems(PLAN, json.loads(path.read_text(encoding="utf-8")))
        assert found == [], f"{path.name}:\n" + "\n".join(found)


# --- what the schemas refuse ---------------------------------------------------------------


def _without_steps(d: dict[str, Any]) -> None:
    del d["steps"]


def _wrong_format(d: dict[str, Any]) -> None:
    d["format"] = "taper-plan/2"


def _unknown_key(d: dict[str, Any]) -> None:
    d["notes"] = "an unknown top-level key"


def _step_date_not_a_date(d: dict[str, Any]) -> None:
    d["steps"][0]["start_date"] = "04/01/2027"


def _step_date_no_such_day(d: dict[str, Any]) -> None:
    d["steps"][0]["start_date"] = "2027-02-30"


def _dose_with_trailing_zero(d: dict[str, Any]) -> None:
    d["steps"][0]["daily_dose_mg"] = "1.750"


def _dose_as_number(d: dict[str, Any]) -> None:
    d["start_dose_mg"] = 2


def _unknown_severity(d: dict[str, Any]) -> None:
    d["findings"][0]["severity"] = "fatal"


def _unknown_time(d: dict[str, Any]) -> None:
    d["steps"][0]["administrations"][0]["time"] = "noon"


def _unknown_at_low_doses(d: dict[str, Any]) -> None:
    d["limits"]["at_low_doses"] = "taper"


def _unknown_unit_key(d: dict[str, Any]) -> None:
    d["steps"][0]["administrations"][0]["units"][0]["colour"] = "white"


def _liquid_key_on_a_tablet(d: dict[str, Any]) -> None:
    d["steps"][0]["administrations"][0]["units"][0]["volume_ml"] = "1"


#: each breakage, and where the schema must find it
BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    f.__name__.lstrip("_"): (f, where)
    for f, where in (
        (_without_steps, "$"),
        (_wrong_format, "$.format"),
        (_unknown_key, "$"),
        (_step_date_not_a_date, "$.steps[0].start_date"),
        (_step_date_no_such_day, "$.steps[0].start_date"),
        (_dose_with_trailing_zero, "$.steps[0].daily_dose_mg"),
        (_dose_as_number, "$.start_dose_mg"),
        (_unknown_severity, "$.findings[0].severity"),
        (_unknown_time, "$.steps[0].administrations[0].time"),
        (_unknown_at_low_doses, "$.limits.at_low_doses"),
        (_unknown_unit_key, "$.steps[0].administrations[0].units[0]"),
        (_liquid_key_on_a_tablet, "$.steps[0].administrations[0].units[0]"),
    )
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_the_plan_schema_rejects_broken_documents(name: str) -> None:
    data = _golden()
    assert_plan(data)
    broken = copy.deepcopy(data)
    mutate, where = BROKEN[name]
    mutate(broken)
    found = problems(PLAN, broken)
    assert found, f"{name}: the broken plan was accepted"
    assert any(line.startswith(f"{where}: ") for line in found), "\n".join(found)


def test_the_findings_schema_rejects_broken_documents() -> None:
    plan_json = _golden()
    good = {
        "format": "taper-findings/1",
        "taper_version": "0.1.0",
        "checked": "plan.json",
        "errors": 0,
        "findings": plan_json["findings"],
    }
    assert_findings(good)
    for change in (
        {"format": "taper-plan/1"},
        {"errors": -1},
        {"errors": "0"},
        {"extra": True},
        {"findings": [{**plan_json["findings"][0], "severity": "fatal"}]},
        {"findings": [{**plan_json["findings"][0], "step": 0}]},
    ):
        assert problems(FINDINGS, {**good, **change}), f"{change} was accepted"
    missing = dict(good)
    del missing["findings"]
    assert problems(FINDINGS, missing)
    # a plan is not a findings document, nor the other way round
    assert problems(FINDINGS, plan_json)
    assert problems(PLAN, good)
