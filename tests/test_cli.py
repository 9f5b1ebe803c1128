from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from taper import __version__
from taper.cli import cli

from .conftest import TINY

TINY_ARGS = ["--catalog", str(TINY), "--start", "2027-01-04"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0
    assert out.strip() == f"taper, version {__version__}"


def test_every_command_is_documented() -> None:
    for name, command in cli.commands.items():
        assert command.help, name
        for param in command.params:
            if param.param_type_name == "option":
                assert getattr(param, "help", None), f"{name} {param.name}"


def test_plan_to_the_terminal() -> None:
    code, out, err = run("plan", "testazepam", "4mg", *TINY_ARGS)
    assert code == 0, err
    assert out.startswith("testazepam 4 mg/day in 2 doses (morning, bedtime)")
    assert "Step  From" in out
    assert "Products:" in out
    assert "steps over" in out
    assert "Dispense for the whole plan:" in out


def test_terminal_ends_with_findings_errors_first() -> None:
    code, out, _ = run("plan", "testazepam", "4mg", *TINY_ARGS)
    assert code == 0
    tail = out.split("Findings:")[1]
    severities = [
        line.split()[0]
        for line in tail.splitlines()
        if line.startswith("  ") and not line.startswith(("    ", "  ..."))
    ]
    order = {"ERROR": 0, "WARNING": 1, "INFO": 2}
    assert severities == sorted(severities, key=order.__getitem__)
    assert severities[0] == "WARNING"


def test_dose_may_be_given_in_two_words() -> None:
    code, out, _ = run("plan", "testazepam", "4", "mg", *TINY_ARGS)
    assert code == 0
    assert "testazepam 4 mg/day" in out


def test_brand_name() -> None:
    code, out, _ = run("plan", "Testo", "4mg", *TINY_ARGS)
    assert code == 0
    assert out.startswith("testazepam")


def test_writes_csv_and_json(tmp_path: Path) -> None:
    csv_path, json_path = tmp_path / "p.csv", tmp_path / "p.json"
    code, _, err = run(
        "plan", "testazepam", "4mg", *TINY_ARGS, "--csv", str(csv_path), "--json", str(json_path)
    )
    assert code == 0, err
    header = csv_path.read_text(encoding="utf-8").splitlines()[0]
    assert header == (
        "drug,step,start_date,end_date,days,daily_dose_mg,target_dose_mg,morning_mg,"
        "morning_take,bedtime_mg,bedtime_take,cut_pct,pct_of_start,start_dose_mg,max_cut_pct,"
        "max_units,products"
    )
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["format"] == "taper-plan/1"
    assert data["start_date"] == "2027-01-04"
    assert f"Wrote {csv_path}" in err


def test_csv_to_stdout_prints_only_csv() -> None:
    code, out, _ = run("plan", "testazepam", "4mg", *TINY_ARGS, "--csv", "-")
    assert code == 0
    assert out.startswith("drug,step,start_date,")
    assert "Findings" not in out


def test_json_to_stdout() -> None:
    code, out, _ = run("plan", "testazepam", "4mg", *TINY_ARGS, "--json", "-")
    assert code == 0
    assert json.loads(out)["drug"] == "testazepam"


def test_existing_file_is_not_overwritten_without_force(tmp_path: Path) -> None:
    target = tmp_path / "p.csv"
    target.write_text("old", encoding="utf-8")
    code, _, err = run("plan", "testazepam", "4mg", *TINY_ARGS, "--csv", str(target))
    assert code == 2
    assert err == f"Error: --csv: got '{target}'; the file exists; pass --force to replace it\n"
    assert target.read_text(encoding="utf-8") == "old"
    code, _, _ = run("plan", "testazepam", "4mg", *TINY_ARGS, "--csv", str(target), "--force")
    assert code == 0
    assert target.read_text(encoding="utf-8").startswith("drug,step,")


def test_a_refused_plan_writes_no_file(tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    code, _, err = run("plan", "onlybig", "5mg", *TINY_ARGS, "--json", str(target))
    assert code == 1
    assert err.startswith("Error: dose: got '5 mg'; the products make nothing smaller")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_one_file_bad_means_no_file_written(tmp_path: Path) -> None:
    existing = tmp_path / "p.json"
    existing.write_text("{}", encoding="utf-8")
    code, _, _ = run(
        "plan",
        "testazepam",
        "4mg",
        *TINY_ARGS,
        "--csv",
        str(tmp_path / "p.csv"),
        "--json",
        str(existing),
    )
    assert code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["plan", "testazepam", "2"], "Error: dose: got '2'; give a unit: 2 mg or 2000 mcg"),
        (
            ["plan", "testazepan", "2mg"],
            "Error: drug: got 'testazepan'; known drugs: onlybig, testazepam "
            "(did you mean testazepam?)",
        ),
        (["plan", "testazepam", "0mg"], "Error: dose: got '0mg'; a dose must be above zero"),
        (
            ["plan", "testazepam", "-1mg"],
            "Error: dose: got '-1mg'; give a dose with a unit, such as 2 mg or 500 mcg",
        ),
        (
            ["plan", "testazepam", "2mg", "--start", "2027-13-01"],
            "Error: --start: got '2027-13-01'; a date written YYYY-MM-DD",
        ),
        (
            ["plan", "testazepam", "2mg", "--reduce", "100%", "--every", "14d"],
            "Error: --reduce: got '100%'; a cut must be above 0 % and below 100 %",
        ),
        (
            ["plan", "testazepam", "2mg", "--reduce", "10%", "--every", "0d"],
            "Error: --every: got '0d'; an interval must be at least 1 day",
        ),
        (
            ["plan", "testazepam", "2mg", "--rule", "fastest"],
            "Error: --rule: got 'fastest'; presets: "
            + ", ".join(__import__("taper").PRESETS)
            + ", or a .toml file",
        ),
        (
            ["plan", "testazepam", "2mg", "--per-day", "7"],
            "Error: --per-day: got 7; 1 to 4 doses a day",
        ),
        (
            ["plan", "testazepam", "2mg", "--products", "syrup"],
            "Error: --products: got 'syrup'; testazepam products in US: testazepam-tab-1, "
            "testazepam-tab-2, testazepam-cap-0.25",
        ),
        (
            ["plan", "testazepam", "2mg", "--rule", "fda-label-clonazepam"],
            "Error: --rule: got 'fda-label-clonazepam'; this rule is written for clonazepam; its "
            "doses do not carry over to testazepam (choose a rule for any drug, such as "
            "joint-guideline-2025)",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], line: str) -> None:
    full = args if "--catalog" in args else [*args, "--catalog", str(TINY)]
    code, out, err = run(*full)
    assert code == 2
    assert out == ""
    assert err == line + "\n"


def test_refused_plan_exits_1() -> None:
    code, _, err = run("plan", "testazepam", "2mg", *TINY_ARGS, "--products", "testazepam-tab-2")
    assert code == 1
    assert err.startswith("Error: dose: got '2 mg'; the products make nothing smaller")
    assert len(err.splitlines()) == 1


def test_bad_catalog_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[catalog\n", encoding="utf-8")
    code, _, err = run("plan", "x", "2mg", "--catalog", str(bad))
    assert code == 2
    assert err.startswith(f"Error: {bad}: got ''; not valid TOML")


def test_click_usage_errors_exit_2() -> None:
    code, _, err = run("plan", "testazepam")
    assert code == 2
    assert "Missing argument" in err


def test_protocol_file(tmp_path: Path) -> None:
    protocol = tmp_path / "clinic.toml"
    protocol.write_text(
        'name = "clinic"\ncut = "0.5 mg"\nevery = "7d"\nmax_cut = "50%"\n', encoding="utf-8"
    )
    code, out, _ = run("plan", "testazepam", "2mg", *TINY_ARGS, "--rule", str(protocol))
    assert code == 0
    assert "Rule: clinic: cut 0.5 mg/day every 7 days" in out


def test_inline_rule_and_hold() -> None:
    code, out, _ = run(
        "plan",
        "testazepam",
        "4mg",
        *TINY_ARGS,
        "--reduce",
        "1mg",
        "--every",
        "2w",
        "--hold",
        "2mg:28d",
        "--max-cut",
        "50%",
    )
    assert code == 0
    assert "Rule: custom: cut 1 mg/day every 14 days; hold at 2 mg/day for at least 28 days" in out
    assert "2027-01-18  2027-02-14  28    2 mg" in out


def test_drugs_lists_the_catalog() -> None:
    code, out, _ = run("drugs", "--catalog", str(TINY))
    assert code == 0
    assert out.splitlines()[0] == "test catalog 0"
    assert "  testazepam (Testo): 3 products, 0.25 mg, 1 mg, 2 mg" in out


def test_drugs_shows_one_drug_with_sources() -> None:
    code, out, _ = run("drugs", "testo", "--catalog", str(TINY))
    assert code == 0
    assert "testazepam-tab-1: testazepam 1 mg tablet; 1 mg tablet, halves; US, UK [T1]" in out
    assert "anxiety, adult (US, UK): at most 10 mg/day [T1]" in out
    assert "[T1] Test source, 2026" in out


def test_rules_lists_presets_with_sources() -> None:
    code, out, _ = run("rules")
    assert code == 0
    assert "joint-guideline-2025 (default)" in out
    assert "fda-label-clonazepam [for clonazepam]" in out
    assert out.count("  source: ") == len(__import__("taper").PRESETS)


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "taper", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"taper, version {__version__}"


def test_subprocess_error_has_no_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "taper", "plan", "clonazepam", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "Error: dose: got '2'; give a unit: 2 mg or 2000 mcg\n"


def test_unknown_option_is_still_a_usage_error() -> None:
    code, _, err = run("plan", "testazepam", "2mg", "--speed", "fast", "--catalog", str(TINY))
    assert code == 2
    assert "Error: No such option '--speed'." in err


# --- validation through the command line -------------------------------------------


def test_dose_above_range_is_refused_naming_the_maximum(tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    code, out, err = run(
        "plan", "clonazepam", "40mg", "--start", "2027-01-04", "--json", str(target)
    )
    assert code == 1
    assert out == ""
    assert err.startswith(
        "Error: dose-above-range: The starting dose of 40 mg/day is above the "
        "documented maximum of 20 mg/day"
    )
    assert "(source: Klonopin (clonazepam) tablets, US Prescribing Information" in err
    assert err.rstrip().endswith('to plan anyway, give --override dose-above-range="reason"')
    assert len(err.splitlines()) == 1
    assert not target.exists()


def test_override_writes_the_plan_with_its_reason(tmp_path: Path) -> None:
    reason = "transferred from inpatient unit at 30 mg"
    code, _, err = run(
        "plan",
        "clonazepam",
        "40mg",
        "--start",
        "2027-01-04",
        "--override",
        f'dose-above-range="{reason}"',
        "--json",
        str(tmp_path / "p.json"),
        "--csv",
        str(tmp_path / "p.csv"),
    )
    assert code == 0, err
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    found = next(f for f in data["findings"] if f["code"] == "dose-above-range")
    assert found["override"] == reason
    side = (tmp_path / "p.findings.csv").read_text(encoding="utf-8")
    assert side.splitlines()[0] == "severity,code,step,message,source,override"
    assert reason in side


def test_unit_slip_is_refused_even_with_an_override() -> None:
    code, _, err = run("plan", "clonazepam", "2", "g", "--override", "dose-above-range=sure")
    assert code == 1
    assert "likely unit slip; did you mean 2 mg?" in err
    assert "this cannot be overridden" in err


def test_overriding_the_unit_slip_itself_is_a_usage_error() -> None:
    code, _, err = run("plan", "clonazepam", "2g", "--override", "likely-unit-slip=sure")
    assert code == 2
    assert err == ("Error: --override: got 'likely-unit-slip'; this finding cannot be overridden\n")


def test_plan_with_patient_facts() -> None:
    code, out, _ = run(
        "plan",
        "clonazepam",
        "2mg",
        "--start",
        "2027-01-04",
        "--age",
        "72",
        "--indication",
        "panic-disorder",
        "--use-months",
        "24",
    )
    assert code == 0
    assert "WARNING older-adult (plan): The patient is 72" in out
    code, _, err = run("plan", "clonazepam", "1mg", "--age", "9")
    assert code == 2
    assert err == (
        "Error: --weight-kg: got ''; children are checked in mg/kg/day: give the weight\n"
    )


def test_check_a_schedule_that_halves_every_week(tmp_path: Path) -> None:
    path = tmp_path / "halve.csv"
    path.write_text(
        "start_date,days,daily_dose_mg\n2027-01-04,7,4\n2027-01-11,7,2\n"
        "2027-01-18,7,1\n2027-01-25,7,0.5\n2027-02-01,1,0\n",
        encoding="utf-8",
    )
    code, out, _ = run("check", str(path), "--drug", "clonazepam")
    assert code == 1
    assert out.count("ERROR cut-above-cap") == 3
    assert "3 errors," in out


def test_check_the_plans_own_csv_and_json(tmp_path: Path) -> None:
    csv_path, json_path = tmp_path / "p.csv", tmp_path / "p.json"
    run(
        "plan",
        "clonazepam",
        "2mg",
        "--start",
        "2027-01-04",
        "--csv",
        str(csv_path),
        "--json",
        str(json_path),
    )
    code, out, _ = run("check", str(json_path))
    assert code == 0, out
    assert "0 errors" in out
    code, out, _ = run("check", str(csv_path), "--drug", "clonazepam", "--start-dose", "2mg")
    assert code == 0, out
    assert "0 errors" in out


def test_check_writes_findings_json(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "start_date,end_date,daily_dose_mg,drug\n2027-01-04,2027-01-17,1.5,"
        "clonazepam\n2027-01-18,2027-01-31,0.75,clonazepam\n",
        encoding="utf-8",
    )
    out_path = tmp_path / "f.json"
    code, _, _ = run("check", str(path), "--start-dose", "2mg", "--json", str(out_path))
    assert code == 1
    data = json.loads(out_path.read_text(encoding="utf-8"))
    assert data["format"] == "taper-findings/1"
    assert data["errors"] == 1
    assert data["findings"][0]["code"] == "cut-above-cap"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("start_date,daily_dose_mg\n2027-01-04,2\n", "a days or end_date column is required"),
        ("start_date,days,daily_dose_mg\n2027-01-04,14,two\n", "row 2, daily_dose_mg: got 'two'"),
        ("start_date,days,daily_dose_mg\n2027-02-30,14,2\n", "row 2, start_date: got '2027-02-30'"),
        ("start_date,days,daily_dose_mg\n2027-01-04,0,2\n", "row 2, days: got '0'"),
        (
            "start_date,days,daily_dose_mg\n2027-01-04,14,0\n2027-01-18,14,1\n",
            "no row may follow the 0 mg stop",
        ),
        ("start_date,days,days,daily_dose_mg\n", "each column once"),
        ('{"format": "other"}', "a taper-plan/1 JSON file"),
        ("{not json", "not valid JSON"),
    ],
)
def test_check_refuses_unreadable_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / ("s.json" if text.startswith("{") else "s.csv")
    path.write_text(text, encoding="utf-8")
    code, out, err = run("check", str(path), "--drug", "clonazepam")
    assert code == 2, out
    assert fragment in err
    assert len(err.splitlines()) == 1


def test_check_needs_a_drug(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("start_date,days,daily_dose_mg\n2027-01-04,14,2\n", encoding="utf-8")
    code, _, err = run("check", str(path))
    assert code == 2
    assert err == "Error: --drug: got ''; name the drug with --drug or a drug column\n"


# --- outputs: all or none --------------------------------------------------------------------


def test_two_outputs_cannot_share_a_file(tmp_path: Path) -> None:
    """Regression: --csv s.out --json s.out lost the CSV without a word."""
    same = str(tmp_path / "s.out")
    code, _, err = run("plan", "testazepam", "4mg", *TINY_ARGS, "--csv", same, "--json", same)
    assert code == 2
    assert "--csv writes the same file" in err
    side = str(tmp_path / "p.findings.csv")
    code, _, err = run(
        "plan", "testazepam", "4mg", *TINY_ARGS, "--csv", str(tmp_path / "p.csv"), "--json", side
    )
    assert code == 2
    assert list(tmp_path.iterdir()) == []


def test_only_csv_and_json_go_to_standard_output() -> None:
    code, _, err = run("plan", "testazepam", "4mg", *TINY_ARGS, "--pdf", "-")
    assert code == 2
    assert err == (
        "Error: --pdf: got '-'; a file name: only --csv and --json can write to standard output\n"
    )


def test_fill_days_needs_a_file_that_gives_the_supply() -> None:
    code, _, err = run("plan", "testazepam", "4mg", *TINY_ARGS, "--fill-days", "28")
    assert code == 2
    assert "give --pdf, --json or --csv as well" in err
    code, _, err = run("plan", "testazepam", "4mg", *TINY_ARGS, "--fill-days", "28", "--csv", "-")
    assert code == 2  # standard output has no supply file beside it


def test_a_read_only_folder_is_refused_before_planning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder the user cannot write to (seen by os.access, which a superuser's rights would
    pass: so it is made to say no here, whoever runs the tests)."""
    from taper.reports import files

    folder = tmp_path / "ro"
    folder.mkdir()
    real = files.os.access
    monkeypatch.setattr(
        files.os, "access", lambda path, mode: False if Path(path) == folder else real(path, mode)
    )
    code, _, err = run("plan", "testazepam", "4mg", *TINY_ARGS, "--json", str(folder / "p.json"))
    assert code == 2
    assert "the folder cannot be written to" in err
    assert list(folder.iterdir()) == []


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: --json ok.json --ics BAD wrote ok.json, then failed naming a temp file."""
    from taper.reports import files

    real = files._write_temp

    def fail_on_ics(target: Path, data: bytes) -> str:
        if target.suffix == ".ics":
            raise OSError(28, "No space left on device")
        return real(target, data)

    monkeypatch.setattr(files, "_write_temp", fail_on_ics)
    code, _, err = run(
        "plan",
        "testazepam",
        "4mg",
        *TINY_ARGS,
        "--json",
        str(tmp_path / "ok.json"),
        "--ics",
        str(tmp_path / "p.ics"),
    )
    assert code == 2
    assert err == (
        f"Error: --ics: got '{tmp_path / 'p.ics'}'; cannot write it (No space left on device)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_csv_to_stdout_still_shows_the_findings() -> None:
    """Regression: --csv - dropped the findings (and any override reasons)."""
    code, out, err = run("plan", "testazepam", "4mg", *TINY_ARGS, "--csv", "-")
    assert code == 0
    assert out.startswith("drug,step,")
    assert "Findings:" in err
    assert "forced-cut" in err


@pytest.mark.parametrize(
    "args",
    [
        ["clonazepam", "2mg"],
        ["clonazepam", "1mg", "--rule", "fda-label-clonazepam"],
        ["clonazepam", "2mg", "--rule", "deprescribing-bzra"],
        ["clonazepam", "2mg", "--max-cut", "40%"],
        ["clonazepam", "19.875mg", "--per-day", "3"],
        ["clonazepam", "40mg", "--override", "dose-above-range=came in on 40 mg"],
        ["diazepam", "20mg", "--rule", "nice-cks-diazepam"],
    ],
)
def test_the_plans_own_csv_checks_clean_on_its_own(tmp_path: Path, args: list[str]) -> None:
    """Regression: the CSV carried no drug, starting dose, cap or unit limit, so checking it
    needed options and still found errors the plan did not have."""
    csv_path = tmp_path / "p.csv"
    code, _, err = run("plan", *args, "--start", "2027-01-04", "--csv", str(csv_path))
    assert code == 0, err
    code, out, _ = run("check", str(csv_path))
    assert code == 0, out
    assert "0 errors" in out


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ('"cap_pct": "25"', '"cap_pct": "900"', "a cap above 0 and below 100"),
        ('"cap_pct": "25"', '"cap_pct": "0"', "a cap above 0 and below 100"),
        ('"max_cut_pct": "50"', '"max_cut_pct": "900"', "a cap above 0 and below 100"),
        ('"max_cut_pct": "50"', '"max_cut_pct": "-5"', "a cap above 0 and below 100"),
        ('"region": "us"', '"region": "fr"', "us or uk"),
    ],
)
def test_check_does_not_trust_a_plans_own_limits(
    tmp_path: Path, old: str, new: str, fragment: str
) -> None:
    json_path = tmp_path / "p.json"
    run("plan", "clonazepam", "2mg", "--start", "2027-01-04", "--json", str(json_path))
    text = json_path.read_text(encoding="utf-8")
    assert old in text
    json_path.write_text(text.replace(old, new), encoding="utf-8")
    code, _, err = run("check", str(json_path))
    assert code == 2
    assert fragment in err


def test_a_reason_cannot_start_a_formula_in_the_findings_file(tmp_path: Path) -> None:
    """OWASP CSV injection: free text reaching a CSV cell is neutralised."""
    csv_path = tmp_path / "p.csv"
    code, _, _ = run(
        "plan",
        "clonazepam",
        "40mg",
        "--start",
        "2027-01-04",
        "--override",
        "dose-above-range=@SUM(A1)+cmd",
        "--csv",
        str(csv_path),
    )
    assert code == 0
    side = (tmp_path / "p.findings.csv").read_text(encoding="utf-8")
    assert ",'@SUM(A1)+cmd" in side
    assert ",@SUM" not in side


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """taper drugs | head: the pipe closes before taper writes; no error line, exit 0."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "taper", "drugs", "clonazepam"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    error = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert error == ""
