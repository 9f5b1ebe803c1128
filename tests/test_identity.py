"""Who the plan is for: on every page of the PDF (lines to write on where not given), in the
calendar's title, and in the CSV and JSON only where given; a roster's reference on its PDFs."""

from __future__ import annotations

import json
import re
from io import BytesIO
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

import taper
from taper.cli import cli
from taper.errors import InputError
from taper.plan_json import read_plan
from taper.reports import csv_text, to_json
from taper.reports.calendar import ics_bytes
from taper.reports.pdf import pdf_bytes

START = "2027-01-04"
WHO = {
    "patient_name": "Ada Lovelace",
    "patient_id": "NHS 943 476 5919",
    "date_of_birth": "1960-12-10",
    "prescriber": "Dr A. Clinician",
}


def _pages(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(BytesIO(data)).pages]


def test_identity_is_on_every_page_and_in_the_sign_off() -> None:
    schedule = taper.plan("clonazepam", "2 mg", start=START, **WHO)
    pages = _pages(pdf_bytes(schedule))
    assert len(pages) > 1
    for text in pages:
        for value in WHO.values():
            assert value in text
    last = pages[-1]
    assert "Registration number" in last and "Pharmacist check" in last


def test_without_identity_every_page_has_lines_to_write_on() -> None:
    pages = _pages(pdf_bytes(taper.plan("clonazepam", "2 mg", start=START)))
    for text in pages:
        assert "Patient: ____" in text and "Date of birth: ____" in text
        assert "Record or NHS number: ____" in text and "Prescriber: ____" in text


def test_identity_goes_into_the_csv_and_json_only_when_given(tmp_path: Path) -> None:
    bare = taper.plan("clonazepam", "2 mg", start=START)
    assert "identity" not in json.loads(to_json(bare))
    assert "patient_name" not in csv_text(bare).splitlines()[0]
    named = taper.plan("clonazepam", "2 mg", start=START, patient_name="Ada Lovelace")
    assert json.loads(to_json(named))["identity"] == {"name": "Ada Lovelace"}
    header, first = csv_text(named).splitlines()[:2]
    assert header.endswith(",patient_name") and first.endswith(",Ada Lovelace")
    full = taper.plan("clonazepam", "2 mg", start=START, **WHO)
    path = tmp_path / "plan.json"
    path.write_text(to_json(full), encoding="utf-8")
    again = read_plan(path)
    assert again.identity == full.identity
    # a re-plan keeps it, or takes a new part in its place
    later = taper.replan(again, "2027-03-01", prescriber="Dr B. Other")
    assert later.identity.name == "Ada Lovelace" and later.identity.prescriber == "Dr B. Other"
    # a CSV with identity columns is still a schedule taper check reads
    csv = tmp_path / "plan.csv"
    csv.write_text(csv_text(full), encoding="utf-8")
    assert not [f for f in taper.check(csv) if f.severity == "error"]


def test_the_calendar_names_the_patient() -> None:
    schedule = taper.plan("clonazepam", "2 mg", start=START, patient_name="Ada Lovelace")
    assert b"X-WR-CALNAME:Ada Lovelace: clonazepam taper" in ics_bytes(schedule)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"date_of_birth": "2030-01-01"}, "date_of_birth"),
        ({"date_of_birth": "10/12/1960"}, "date_of_birth"),
        ({"date_of_birth": "1960-12-10", "age": 40}, "date_of_birth"),
        ({"patient_name": b"Ada\\x00Lovelace".decode("unicode_escape")}, "patient_name"),
        ({"prescriber": "x" * 500}, "prescriber"),
    ],
)
def test_identity_that_cannot_be_right_is_refused(given: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as refused:
        taper.plan("clonazepam", "2 mg", start=START, **given)  # type: ignore[arg-type]
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("date_of_birth", "age"),
    [
        ("1960-12-10", 66),  # the start, 4 January 2027, is after the birthday of 2026
        ("1960-01-04", 67),  # the start is the 67th birthday
        ("1960-01-05", 66),  # the day before the 67th birthday
        ("1900-01-01", 127),  # the first date of birth taken
    ],
)
def test_a_date_of_birth_and_an_age_that_agree_are_taken(date_of_birth: str, age: int) -> None:
    schedule = taper.plan("clonazepam", "2 mg", start=START, date_of_birth=date_of_birth, age=age)
    assert schedule.identity.born is not None
    assert schedule.identity.born.isoformat() == date_of_birth
    with pytest.raises(InputError) as refused:
        taper.plan("clonazepam", "2 mg", start=START, date_of_birth=date_of_birth, age=age + 1)
    assert refused.value.field == "date_of_birth"


def test_a_date_of_birth_before_1900_is_refused() -> None:
    with pytest.raises(InputError) as refused:
        taper.plan("clonazepam", "2 mg", start=START, date_of_birth="1899-12-31")
    assert (refused.value.field, refused.value.given) == ("date_of_birth", "1899-12-31")


def test_the_command_line_and_a_roster_take_identity(tmp_path: Path) -> None:
    out = tmp_path / "p.pdf"
    result = CliRunner().invoke(
        cli,
        [
            *("plan", "clonazepam", "2mg", "--start", START, "--pdf", str(out)),
            *("--patient-name", "Ada Lovelace", "--patient-id", "NHS 943 476 5919"),
            *("--date-of-birth", "1960-12-10", "--prescriber", "Dr A. Clinician"),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert all("Ada Lovelace" in text for text in _pages(out.read_bytes()))
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "reference,drug,dose,per_day,start,patient_name,dob\n"
        "P0006,clonazepam,2 mg,2,2027-01-04,Ada Lovelace,1960-12-10\n"
        "P0007,clonazepam,1 mg,2,2027-01-04,,\n",
        encoding="utf-8",
    )
    plans = tmp_path / "plans"
    result = CliRunner().invoke(cli, ["batch", str(roster), "--out-dir", str(plans), "--pdf"])
    assert result.exit_code == 0, result.stderr
    for reference in ("P0006", "P0007"):
        pages = _pages((plans / f"{reference}.pdf").read_bytes())
        assert all(f"Roster reference: {reference}" in text for text in pages)
    assert all("Ada Lovelace" in text for text in _pages((plans / "P0006.pdf").read_bytes()))
    assert json.loads((plans / "P0006.json").read_text("utf-8"))["identity"] == {
        "name": "Ada Lovelace",
        "date_of_birth": "1960-12-10",
    }


def test_the_patient_page_says_how_to_take_an_odt_and_reads_as_sentences() -> None:
    switched = taper.plan(
        "alprazolam", "3 mg", switch_to="diazepam", table="va-dod-2021", start=START
    )
    text = " ".join(" ".join(_pages(pdf_bytes(switched))).split())
    assert "then your dose goes down" in text and "then Your dose" not in text
    plain = taper.plan("clonazepam", "2 mg", start=START)
    clonazepam = " ".join(" ".join(_pages(pdf_bytes(plain))).split())
    assert "place it on your tongue" in clonazepam
    assert " 1 steps" not in clonazepam


def test_table_cells_keep_words_and_units_whole() -> None:
    """Regression: the re-plan PDF's Days column broke "as first planned" into "as / first pl /
    anned", and "1 x 0.125 mg / ODT" wrapped the form away from its strength."""
    first = taper.plan("clonazepam", "2 mg", start=START, products=["tablet", "odt"])
    again = taper.replan(first, "2027-03-01", hold_days=28, reason="a hard week")
    lines = [line for text in _pages(pdf_bytes(again)) for line in text.splitlines()]
    assert any("as first planned" in line for line in lines)
    assert not any(line.rstrip().endswith(("first pl", "as first")) for line in lines)
    for line, after in pairwise(lines):
        assert not (re.search(r"\d mg$", line.rstrip()) and after.startswith(("ODT", "tablet")))


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize(
    "case",
    [
        {"drug": "lorazepam", "dose": "2 mg"},
        {"drug": "clonazepam", "dose": "2 mg"},
        {"drug": "oxazepam", "dose": "90 mg", "per_day": 3},
        {"drug": "alprazolam", "dose": "3 mg", "switch_to": "diazepam", "table": "va-dod-2021"},
    ],
    ids=lambda c: f"{c['drug']} {c['dose']}",
)
def test_the_sign_off_and_the_important_lines_keep_with_the_last_doses(
    case: dict[str, object], paper: str
) -> None:
    """Regression: the sign-off could sit alone on the last page, and the patient's
    "Important" lines on a page apart from their dose lines."""
    schedule = taper.plan(**case, start=START)  # type: ignore[arg-type]
    pages = _pages(pdf_bytes(schedule, paper=paper))
    last = next(text for text in pages if "Sign-off" in text)
    assert "Important" in last
    # the pill card's stop row and the rows before it are on that page too
    assert "STOP: take none" in last
    assert len(re.findall(r"\w{3} \d+ \w{3} \d{4}\s+\w{3} \d+ \w{3} \d{4}", last)) >= 2, last[:300]
