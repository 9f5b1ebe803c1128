"""taper batch: one plan per roster row, a summary, an errors file, the batch going on."""

from __future__ import annotations

import codecs
import csv
import io
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import taper
from taper.batch import ROSTER_NAMES, Settings, check_reference, prepare, read_roster
from taper.cli import cli
from taper.errors import InputError, RosterError
from taper.reports import csv_text, to_json
from taper.wording import speaking

EXAMPLE = Path(__file__).parent.parent / "examples" / "roster.csv"
HEADER = "reference,drug,dose,per_day,rule,start,indication,age,products\n"

#: good rows, and bad rows that name what is wrong; the spreadsheet row numbers follow
ROSTER = HEADER + (
    "A1,clonazepam,2 mg,2,,2027-01-04,panic-disorder,,\n"  # row 2
    "A2,clonazepam,2,2,,2027-01-04,,,\n"  # 3: a dose without a unit
    "A3,clonazolam,1 mg,2,,2027-01-04,,,\n"  # 4: an unknown drug
    "A4,clonazepam,1 mg,2,,2027-02-30,,,\n"  # 5: no such date
    "A5,clonazepam,1 mg\n"  # 6: cells missing
    "a1,clonazepam,1 mg,2,,2027-01-04,,,\n"  # 7: A1 again (case aside)
    "../A7,clonazepam,1 mg,2,,2027-01-04,,,\n"  # 8: not a file name
    "B1,Klonopin,1 mg,2,fda-label-clonazepam,2027-01-11,,72,\n"  # 9
    "A9,lorazepam,2 mg,2,fda-label-clonazepam,2027-01-04,,,\n"  # 10: a rule for clonazepam
    "A10,clonazepam,1 mg,2,,2027-01-04,,old,\n"  # 11: an age that is not a number
    "\n"  # 12: a blank line, skipped
    'B2,diazepam,10 mg,,,2027-01-04,,,"tablet:2mg,tablet:5mg"\n'  # 13: the drug's per_day
)
PLANNED = {
    "A1": {"drug": "clonazepam", "dose": "2 mg", "per_day": 2, "start": "2027-01-04",
           "indication": "panic-disorder"},
    "B1": {"drug": "Klonopin", "dose": "1 mg", "per_day": 2, "start": "2027-01-11",
           "rule": "fda-label-clonazepam", "age": 72},
    "B2": {"drug": "diazepam", "dose": "10 mg", "start": "2027-01-04",
           "products": ["tablet:2mg", "tablet:5mg"]},
}  # fmt: skip
REFUSED = {
    3: ("A2", "dose: got '2'"),
    4: ("A3", "drug: got 'clonazolam'"),
    5: ("A4", "start: got '2027-02-30'"),
    6: ("A5", "row: 3 cells where the header has 9 columns"),
    7: ("a1", "row 2 has it already"),
    8: ("../A7", "reference: got '../A7'"),
    10: ("A9", "rule: got 'fda-label-clonazepam'"),
    11: ("A10", "age: got 'old'"),
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["batch", *args])
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return path


def test_good_rows_are_planned_and_bad_rows_listed(roster: Path, tmp_path: Path) -> None:
    out = tmp_path / "plans"
    code, stdout, stderr = run(str(roster), "--out-dir", str(out))
    assert code == 1, stderr
    assert stdout.strip() == (
        f"Planned 3 of 11 rows into {out}; 8 refused, listed in {out / 'errors.csv'}; "
        f"summary in {out / 'summary.csv'}"
    )
    assert "Planning" in stderr  # the progress bar, on standard error
    kinds = ("csv", "findings.csv", "supply.csv", "json")
    expected = {f"{ref}.{kind}" for ref in PLANNED for kind in kinds}
    assert set(files_in(out)) == expected | {"summary.csv", "errors.csv", "supply.csv"}
    # supply.csv: each planned row's supply file, fill by fill, after its number and reference
    supply = (out / "supply.csv").read_text("utf-8").splitlines()
    assert supply[0] == "row,reference,fill,start_date,end_date,product_id,product,quantity,unit"
    for reference in PLANNED:
        own = (out / f"{reference}.supply.csv").read_text("utf-8").splitlines()[1:]
        mine = [line.split(",", 2) for line in supply[1:] if line.split(",")[1] == reference]
        assert [rest for _, _, rest in mine] == own

    summary = read_csv(out / "summary.csv")
    assert [row["reference"] for row in summary] == ["A1", "B1", "B2"]  # roster order
    for row in summary:
        # a row's findings name what they could change as its errors do (columns, or flags)
        with speaking(ROSTER_NAMES):
            schedule = taper.plan(**PLANNED[row["reference"]])  # type: ignore[arg-type]
        severities = [f.severity for f in schedule.findings]
        assert row == {
            "row": row["row"],
            "reference": row["reference"],
            "drug": schedule.prescription.drug,
            "start_date": schedule.start_date.isoformat(),
            "start_dose_mg": str(schedule.prescription.start_dose),
            "duration_days": str(schedule.duration_days),
            "stop_date": schedule.stop_date.isoformat(),
            "steps": str(len(schedule.steps)),
            "errors": str(severities.count("error")),
            "warnings": str(severities.count("warning")),
            "infos": str(severities.count("info")),
        }
        # the files are what taper plan writes for the same prescription
        assert (out / f"{row['reference']}.csv").read_text("utf-8") == csv_text(schedule)
        assert (out / f"{row['reference']}.json").read_text("utf-8") == to_json(schedule)
    assert [row["row"] for row in summary] == ["2", "9", "13"]
    assert summary[1]["drug"] == "clonazepam"  # the brand name, read as its drug

    errors = read_csv(out / "errors.csv")
    assert [int(row["row"]) for row in errors] == sorted(REFUSED)
    for row in errors:
        reference, message = REFUSED[int(row["row"])]
        assert row["reference"] == reference
        assert message in row["error"]
        assert "\n" not in row["error"]


def test_the_same_plan_as_taper_plan(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(HEADER + "X,clonazepam,1.5mg,3,bnf-eighth,2027-01-04,,,\n", "utf-8")
    code, _, err = run(str(roster), "--out-dir", str(tmp_path / "b"))
    assert code == 0, err
    plan = CliRunner().invoke(
        cli,
        [
            *("plan", "clonazepam", "1.5mg", "--per-day", "3", "--rule", "bnf-eighth"),
            *("--start", "2027-01-04", "--csv", str(tmp_path / "p.csv")),
            *("--json", str(tmp_path / "p.json")),
        ],
    )
    assert plan.exit_code == 0, plan.stderr
    for kind in ("csv", "json"):
        assert (tmp_path / "b" / f"X.{kind}").read_bytes() == (tmp_path / f"p.{kind}").read_bytes()


def test_the_example_roster_plans_every_row(tmp_path: Path) -> None:
    out = tmp_path / "plans"
    code, stdout, err = run(str(EXAMPLE), "--out-dir", str(out))
    assert code == 0, err
    rows = len(read_roster(EXAMPLE))
    assert stdout.startswith(f"Planned {rows} of {rows} rows")
    assert "refused" not in stdout
    assert (out / "errors.csv").read_text("utf-8") == "row,reference,error\n"
    assert len(read_csv(out / "summary.csv")) == rows


def test_default_rule_and_a_row_rule(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(
        HEADER
        + "D1,clonazepam,2 mg,2,,2027-01-04,,,\n"
        + "D2,clonazepam,2 mg,2,bnf-eighth,2027-01-04,,,\n",
        "utf-8",
    )
    out = tmp_path / "o"
    code, _, err = run(str(roster), "--out-dir", str(out), "--rule", "joint-guideline-2025-slow")
    assert code == 0, err
    assert '"joint-guideline-2025-slow"' in (out / "D1.json").read_text("utf-8")
    assert '"bnf-eighth"' in (out / "D2.json").read_text("utf-8")


def test_a_child_is_planned_with_a_weight(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(
        "reference,drug,dose,per_day,start,age,weight\n"
        "C1,clonazepam,1 mg,2,2027-01-04,12,40\n"
        "C2,clonazepam,1 mg,2,2027-01-04,12,\n",
        "utf-8",
    )
    out = tmp_path / "o"
    code, _, _ = run(str(roster), "--out-dir", str(out))
    assert code == 1
    assert [row["reference"] for row in read_csv(out / "summary.csv")] == ["C1"]
    (error,) = read_csv(out / "errors.csv")
    assert error["error"].startswith("weight_kg: ")


def test_an_out_dir_that_cannot_be_made(roster: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    code, _, err = run(str(roster), "--out-dir", str(tmp_path / "file" / "plans"))
    assert code == 2
    assert err.startswith("Error: --out-dir: ")


def test_unknown_default_rule_writes_nothing(roster: Path, tmp_path: Path) -> None:
    code, _, err = run(str(roster), "--out-dir", str(tmp_path / "o"), "--rule", "nosuch")
    assert code == 2
    assert err.startswith("Error: --rule: got 'nosuch'")
    assert not (tmp_path / "o").exists()


def test_free_text_is_neutralised(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(
        HEADER
        + '"=HYPERLINK(""http://x"")",clonazepam,1 mg,2,,2027-01-04,,,\n'
        + "@SUM,clonazepam,1 mg,2,,2027-01-04,,,\n"
        + "ok,clonazepam,1 mg,2,,2027-01-04,,,\n",
        "utf-8",
    )
    out = tmp_path / "o"
    code, _, _ = run(str(roster), "--out-dir", str(out))
    assert code == 1
    errors = read_csv(out / "errors.csv")
    assert [row["reference"] for row in errors] == ['\'=HYPERLINK("http://x")', "'@SUM"]


@pytest.mark.parametrize(
    ("reference", "ok"),
    [
        ("P0001", True),
        ("smith.j-2027_01", True),
        ("", False),
        ("../x", False),
        ("a/b", False),
        (".hidden", False),
        ("-rf", False),
        ("has space", False),
        ("Ünïcode", False),
        ("x" * 101, False),
        ("summary", False),
        ("Errors", False),
        ("nul.txt", False),
    ],
)
def test_references_are_safe_file_names(reference: str, ok: bool) -> None:
    if ok:
        check_reference(reference)
    else:
        with pytest.raises(InputError, match=r"^reference: "):
            check_reference(reference)


BAD_ROSTERS = [
    (b"", "the file is empty"),
    (b"  \n\n", "the file is empty"),
    (HEADER.encode(), "no rows after the header"),
    (b"reference,drug,dose,per_day\nA,clonazepam,1 mg,2\n", "missing column 'start'"),
    (b"reference,drug\nA,clonazepam\n", "missing columns 'dose', 'per_day', 'start'"),
    (HEADER.replace("age", "agee").encode() + b"A,clonazepam,1 mg,2,,2027-01-04,,,\n",
     "unknown column 'agee'"),
    (b"reference,drug,dose,per_day,start,drug\n", "the column 'drug' is given twice"),
    (b"reference,drug,dose,,per_day,start\n", "column 4 of the header has no name"),
    (b"reference;drug;dose;per_day;start\nA;clonazepam;1 mg;2;2027-01-04\n",
     "separate the columns with commas"),
    (HEADER.encode() + "B,clonazépam,1 mg,2,,2027-01-04,,,\n".encode("latin-1"),
     "not UTF-8 text (byte 0xe9"),
    (codecs.BOM_UTF16_LE + HEADER.encode("utf-16-le"), "UTF-16 text"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV file"),
    (HEADER.encode() + b'"' + b"x" * 200_000 + b'"\n', "not a readable CSV file (line 2"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "message"), BAD_ROSTERS)
def test_a_bad_roster_is_refused_and_nothing_written(
    tmp_path: Path, content: bytes, message: str
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_bytes(content)
    out = tmp_path / "plans"
    code, stdout, stderr = run(str(roster), "--out-dir", str(out))
    assert code == 2
    assert stdout == ""
    assert stderr.startswith(f"Error: {roster}: ")
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_missing_roster_or_out_dir_option(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path / "none.csv"), "--out-dir", str(tmp_path / "o"))
    assert code == 2
    assert "does not exist" in err
    code, _, err = run(str(EXAMPLE))
    assert code == 2
    assert "--out-dir" in err


def test_read_roster_names_the_file() -> None:
    with pytest.raises(RosterError, match="cannot read the file"):
        read_roster("/nonexistent/roster.csv")


def test_headers_may_use_other_names_and_a_bom(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    text = (
        "Patient Reference,Drug,Dose,Doses per day,Start date\r\n"
        "Z1,clonazepam,1 mg,2,2027-01-04\r\n"
    )
    roster.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    rows = read_roster(roster)
    assert rows[0].cells == {
        "reference": "Z1",
        "drug": "clonazepam",
        "dose": "1 mg",
        "per_day": "2",
        "start": "2027-01-04",
    }


def test_nothing_is_overwritten_without_force(roster: Path, tmp_path: Path) -> None:
    out = tmp_path / "plans"
    assert run(str(roster), "--out-dir", str(out))[0] == 1
    before = files_in(out)
    (out / "A1.csv").write_bytes(b"kept")
    code, stdout, stderr = run(str(roster), "--out-dir", str(out))
    assert code == 2
    assert stdout == ""
    assert "the file exists" in stderr
    assert "--force" in stderr
    assert (out / "A1.csv").read_bytes() == b"kept"
    code, _, _ = run(str(roster), "--out-dir", str(out), "--force")
    assert code == 1
    assert files_in(out) == before


def test_the_roster_is_never_an_output(tmp_path: Path) -> None:
    out = tmp_path / "plans"
    out.mkdir()
    roster = out / "summary.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    code, _, err = run(str(roster), "--out-dir", str(out), "--force")
    assert code == 2
    assert "the roster itself" in err
    assert roster.read_text("utf-8") == ROSTER


def test_out_dir_that_is_a_file(roster: Path, tmp_path: Path) -> None:
    target = tmp_path / "plans"
    target.write_text("x")
    code, _, err = run(str(roster), "--out-dir", str(target))
    assert code == 2
    assert "is a file" in err
    assert target.read_text() == "x"


def test_jobs_give_the_same_files(
    roster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    one, two = tmp_path / "one", tmp_path / "two"
    code1, out1, _ = run(str(roster), "--out-dir", str(one), "--pdf")
    code2, out2, _ = run(str(roster), "--out-dir", str(two), "--pdf", "--jobs", "2")
    assert code1 == code2 == 1
    assert out1.replace(str(one), "") == out2.replace(str(two), "")
    first, second = files_in(one), files_in(two)
    assert {name for name in first if name.endswith(".pdf")} == {f"{r}.pdf" for r in PLANNED}
    assert first == second


def roster_of(rows: int, bad_every: int = 0) -> str:
    """A generated roster: drugs, doses, doses a day, rules and starts that all plan, with a
    row with a dose and no unit every ``bad_every`` rows."""
    kinds = [
        ("clonazepam", dose, n, rule)
        for dose in ("0.5", "1", "2", "3")
        for n in (1, 2, 3)
        for rule in ("", "bnf-eighth")
    ] + [("diazepam", dose, 2, "nice-cks-diazepam") for dose in ("10", "20")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["reference", "drug", "dose", "per_day", "rule", "start"])
    for i in range(rows):
        drug, dose, n, rule = kinds[i % len(kinds)]
        unit = "" if bad_every and i % bad_every == bad_every - 1 else " mg"
        start = date(2027, 1, 4) + timedelta(days=i % 365)
        writer.writerow([f"P{i:05d}", drug, dose + unit, n, rule, start.isoformat()])
    return out.getvalue()


def test_a_generated_roster_of_500_rows(tmp_path: Path) -> None:
    """In process, CSV and JSON; the 10,000-row run is bench/batch.py."""
    roster = tmp_path / "roster.csv"
    roster.write_text(roster_of(500, bad_every=100), encoding="utf-8")
    out = tmp_path / "plans"
    code, stdout, _ = run(str(roster), "--out-dir", str(out))
    assert code == 1
    assert stdout.startswith("Planned 495 of 500 rows")
    assert len(os.listdir(out)) == 495 * 4 + 3  # each plan's CSV, findings, supply and JSON
    errors = read_csv(out / "errors.csv")
    assert [row["reference"] for row in errors] == [f"P{i:05d}" for i in range(99, 500, 100)]
    summary = read_csv(out / "summary.csv")
    assert len(summary) == 495
    assert [int(row["row"]) for row in summary] == sorted(int(row["row"]) for row in summary)


def test_the_library_api(tmp_path: Path) -> None:
    batch = prepare(EXAMPLE, Settings(str(tmp_path / "o")))
    ticks: list[int] = []
    outcomes = batch.run(progress=ticks.append)
    assert sum(ticks) == len(outcomes) == len(batch.rows)
    assert all(o.planned for o in outcomes)
    summary, errors = batch.write_reports(outcomes)
    assert summary.exists()
    assert errors.exists()


def test_force_leaves_no_file_that_disagrees_with_the_new_run(tmp_path: Path) -> None:
    first = tmp_path / "r1.csv"
    first.write_text(
        "reference,drug,dose,per_day,start\nA1,clonazepam,2 mg,2,2027-01-04\n"
        "A2,clonazepam,1 mg,2,2027-01-04\n",
        encoding="utf-8",
    )
    out = tmp_path / "plans"
    env = {"SOURCE_DATE_EPOCH": "1800000000"}
    result = CliRunner().invoke(cli, ["batch", str(first), "--out-dir", str(out), "--pdf"], env=env)
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {"A1.pdf", "A2.pdf", "A1.json"}
    second = tmp_path / "r2.csv"
    second.write_text(
        "reference,drug,dose,per_day,start\nA1,clonazepam,30 mg,2,2027-01-04\n"
        "A2,clonazepam,0.5 mg,2,2027-01-04\n",
        encoding="utf-8",
    )
    again = CliRunner().invoke(cli, ["batch", str(second), "--out-dir", str(out)])
    assert again.exit_code == 2  # files exist: nothing without --force
    forced = CliRunner().invoke(cli, ["batch", str(second), "--out-dir", str(out), "--force"])
    assert forced.exit_code == 1, forced.output
    names = {p.name for p in out.iterdir()}
    assert not {"A1.csv", "A1.json", "A1.pdf", "A2.pdf"} & names  # refused row; no PDF asked
    assert {"A2.csv", "A2.json", "summary.csv", "errors.csv"} <= names
    assert '"start_dose_mg": "0.5"' in (out / "A2.json").read_text(encoding="utf-8")
    errors = (out / "errors.csv").read_text(encoding="utf-8")
    assert "a roster row cannot override it: plan this row with taper plan --override" in errors
    assert "to plan anyway" not in errors


def test_a_roster_of_only_a_byte_order_mark_is_empty(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_bytes(b"\xef\xbb\xbf")
    result = CliRunner().invoke(cli, ["batch", str(roster), "--out-dir", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "the file is empty" in result.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_repeated_reference_never_loses_the_first_rows_files(tmp_path: Path, jobs: str) -> None:
    """Regression: the refused repeat removed the files the first row had just written, while
    summary.csv listed that row as planned."""
    roster = tmp_path / "dup.csv"
    roster.write_text(
        "reference,drug,dose,per_day,start\n"
        "R1,clonazepam,2 mg,2,2027-01-04\n"
        "r1,clonazepam,1 mg,2,2027-01-04\n",
        "utf-8",
    )
    out = tmp_path / "plans"
    code, _, _ = run(str(roster), "--out-dir", str(out), "--jobs", jobs)
    assert code == 1
    summary = read_csv(out / "summary.csv")
    assert [row["reference"] for row in summary] == ["R1"]
    for kind in ("csv", "findings.csv", "supply.csv", "json"):
        assert (out / f"R1.{kind}").is_file()
    assert "each reference once" in (out / "errors.csv").read_text("utf-8")
