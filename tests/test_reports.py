"""The chart, the PDF and the calendar."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

import taper
from taper.cli import cli
from taper.doses import format_mg, format_number
from taper.reports.calendar import ics_bytes
from taper.reports.chart import CHANGED, HOLD, IDEAL, REALISED, plot_schedule
from taper.reports.pdf import pdf_bytes

START = "2027-01-04"


@pytest.fixture(scope="module")
def schedule() -> taper.Schedule:
    return taper.plan(
        "clonazepam", "2 mg", start=START, age=70, rule=taper.build_rule(holds=("1mg:28d",))
    )


@pytest.fixture(scope="module")
def long_schedule() -> taper.Schedule:
    rule = taper.build_rule(reduce="0.125mg", every="12d", max_cut="50%")
    return taper.plan(
        "clonazepam", "12 mg", start=START, per_day=3, rule=rule, indication="seizure"
    )


def pdf_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(BytesIO(data)).pages]


# --- chart ----------------------------------------------------------------------------


def test_chart_plots_the_schedule(schedule: taper.Schedule) -> None:
    from matplotlib.dates import date2num

    ax = plot_schedule(schedule)
    lines = {line.get_label(): line for line in ax.get_lines()}
    realised = lines[REALISED]
    expected_x = [date2num(s.start) for s in schedule.steps] + [date2num(schedule.stop_date)]
    assert list(realised.get_xdata()) == expected_x
    assert list(realised.get_ydata()) == [float(s.dose) for s in schedule.steps] + [0.0]
    assert realised.get_drawstyle() == "steps-post"
    ideal = lines[IDEAL]
    assert ideal.get_linestyle() == "--"
    assert list(ideal.get_ydata())[:-1] == [float(max(s.target, 0)) for s in schedule.steps]
    changed = lines[CHANGED]
    adjusted = [f.step for f in schedule.findings if f.code == "target-adjusted"]
    assert len(changed.get_xdata()) == len(set(adjusted))
    assert any(p.get_label() == HOLD for p in ax.patches)
    held = next(s for s in schedule.steps if s.held)
    assert held.dose == Decimal(1)
    assert ax.get_ylabel() == "mg a day"


def test_chart_draws_on_a_given_axes(schedule: taper.Schedule) -> None:
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    assert plot_schedule(schedule, ax) is ax


def test_chart_leaves_no_pyplot_state() -> None:
    code = (
        "import sys, taper; from taper.reports import chart_bytes; "
        "s = taper.plan('clonazepam', '2 mg', start='2027-01-04'); chart_bytes(s); "
        "chart_bytes(s, 'svg'); print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_chart_bytes_are_reproducible(schedule: taper.Schedule) -> None:
    from taper.reports import chart_bytes

    assert chart_bytes(schedule, "svg") == chart_bytes(schedule, "svg")
    assert chart_bytes(schedule, "png") == chart_bytes(schedule, "png")
    assert chart_bytes(schedule, "png").startswith(b"\x89PNG")


# --- PDF --------------------------------------------------------------------------------


def test_pdf_first_page(schedule: taper.Schedule) -> None:
    pages = pdf_text(pdf_bytes(schedule))
    first = pages[0]
    assert "clonazePAM" in first
    assert "2 mg a day in 2 doses (morning, bedtime)" in first
    assert "joint-guideline-2025" in first
    assert "cut 10 % of the current dose every 14 days" in " ".join(first.split())
    assert "Joint Clinical Practice Guideline on Benzodiazepine Tapering" in first
    assert f"{schedule.duration_days} days" in first
    assert f"in {len(schedule.steps)} steps" in first
    for finding in schedule.findings:
        assert finding.code in first.replace("\n", " ") or finding.code in " ".join(pages)


def test_pdf_holds_every_step_and_finding(schedule: taper.Schedule) -> None:
    text = " ".join(" ".join(pdf_text(pdf_bytes(schedule))).split())
    for step in schedule.steps:
        assert step.start.isoformat() in text
        assert step.end.isoformat() in text
        assert format_number(step.dose) in text
        for admin in step.administrations:
            assert format_mg(admin.dose) in text
    for finding in schedule.findings:
        if finding.severity != "info":
            assert " ".join(finding.message.split()) in text
            assert " ".join(finding.source.split()) in text
    assert "Sign-off" in text
    for field in ("Prescriber", "Signature", "Date", "Pharmacist check"):
        assert field in text
    assert "contact your prescriber" in text
    # the plan stops from the smallest dose the products make, and the patient is told so
    assert "Never stop suddenly" not in text
    assert "Your last dose, 0.125 mg a day, is the smallest your medicine comes in" in text
    assert "Do not stop sooner" in text
    assert f"page 1 of {len(pdf_text(pdf_bytes(schedule)))}" in text


def test_pdf_shows_overrides_with_their_reasons() -> None:
    reason = "transferred from inpatient unit at 30 mg"
    s = taper.plan("clonazepam", "40 mg", start=START, overrides={"dose-above-range": reason})
    text = " ".join(" ".join(pdf_text(pdf_bytes(s))).split())
    assert "Overridden by the clinician: " + reason in text


def test_pdf_dispensing_per_fill_period(schedule: taper.Schedule) -> None:
    text = " ".join(" ".join(pdf_text(pdf_bytes(schedule, fill_days=28))).split())
    for first, last, _ in schedule.fills(28):
        assert f"{first.isoformat()} to {last.isoformat()}" in text
    assert "Whole plan" in text


def test_fills_cover_the_plan(schedule: taper.Schedule) -> None:
    fills = schedule.fills(28)
    assert fills[0][0] == schedule.start_date
    assert fills[-1][1] == schedule.stop_date - timedelta(days=1)
    whole = {p.id: q for p, q in schedule.dispensing()}
    for product_id, quantity in whole.items():
        per_fill = sum(q for _, _, supply in fills for p, q in supply if p.id == product_id)
        assert quantity <= per_fill <= quantity + len(fills)


def test_long_plan_paginates_with_the_header_on_every_page(
    long_schedule: taper.Schedule,
) -> None:
    assert len(long_schedule.steps) >= 80
    assert long_schedule.duration_days >= 3 * 365
    pages = pdf_text(pdf_bytes(long_schedule))
    table_pages = [
        p for p in pages if re.search(r"\b2027-|\b2028-|\b2029-|\b2030-", p) and "Morning" in p
    ]
    assert len(table_pages) >= 3
    for page in table_pages:
        assert re.search(r"Step\s+Dates\s+Days", page), page[:200]
    text = " ".join(pages)
    for step in long_schedule.steps:
        assert step.start.isoformat() in text
    total = len(pages)
    assert all(f"page {i} of {total}" in page for i, page in enumerate(pages, start=1))


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_nothing_falls_outside_the_page(long_schedule: taper.Schedule, paper: str) -> None:
    reader = PdfReader(BytesIO(pdf_bytes(long_schedule, paper=paper)))
    expected = {"a4": (595.3, 841.9), "letter": (612.0, 792.0)}[paper]
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width, 1), round(height, 1)) == expected
        spots: list[tuple[float, float, str]] = []

        def visit(
            text: str,
            cm: list[float],
            tm: list[float],
            font: object,
            size: object,
            spots: list[tuple[float, float, str]] = spots,
        ) -> None:
            if text.strip():
                # where the text starts on the page: its matrix, then the graphics state's
                # (a rotated axis label is drawn in a turned frame)
                c = cm
                x = tm[4] * c[0] + tm[5] * c[2] + c[4]
                y = tm[4] * c[1] + tm[5] * c[3] + c[5]
                spots.append((x, y, text))

        page.extract_text(visitor_text=visit)
        for x, y, text in spots:
            assert 0 <= x < width - 20, (paper, x, text)
            assert 0 <= y <= height, (paper, y, text)


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_pdf_renders(tmp_path: Path, schedule: taper.Schedule, paper: str) -> None:
    path = tmp_path / "plan.pdf"
    path.write_bytes(pdf_bytes(schedule, paper=paper))
    document = pdfium.PdfDocument(path)
    try:
        for index in range(len(document)):
            # each page as a PNG at 30 dpi
            image = document[index].render(scale=30 / 72).to_pil()
            assert image.width > 0 and image.height > 0
            image.save(tmp_path / f"page-{index + 1}.png")
    finally:
        document.close()
    assert len(list(tmp_path.glob("page-*.png"))) == len(PdfReader(path).pages)


def _pdf_in_a_new_process() -> bytes:
    code = (
        "import sys, taper; from taper.reports import pdf_bytes; "
        "s = taper.plan('clonazepam', '2 mg', start='2027-01-04'); "
        "sys.stdout.buffer.write(pdf_bytes(s))"
    )
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1790000000"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, env=env
    ).stdout


def test_pdf_is_byte_identical_with_source_date_epoch() -> None:
    first = _pdf_in_a_new_process()
    assert first.startswith(b"%PDF")
    assert first == _pdf_in_a_new_process()
    assert "made 2026-09-21" in " ".join(pdf_text(first))


# --- calendar ------------------------------------------------------------------------------


def test_calendar_has_an_event_at_each_step(schedule: taper.Schedule) -> None:
    from icalendar import Calendar

    cal = Calendar.from_ical(ics_bytes(schedule))
    events = list(cal.walk("VEVENT"))
    assert len(events) == len(schedule.steps) + 1
    for event, step in zip(events, schedule.steps, strict=False):
        assert event.decoded("dtstart") == step.start
        assert format_mg(step.dose) in str(event.get("summary"))
        description = str(event.get("description"))
        for admin in step.administrations:
            assert admin.describe() in description
    assert events[-1].decoded("dtstart") == schedule.stop_date
    assert ics_bytes(schedule) == ics_bytes(schedule)


# --- the command line ------------------------------------------------------------------------


def test_plan_writes_pdf_chart_and_calendar(tmp_path: Path) -> None:
    pdf, png, ics = tmp_path / "plan.pdf", tmp_path / "plan.png", tmp_path / "plan.ics"
    result = CliRunner().invoke(
        cli,
        [
            "plan",
            "clonazepam",
            "2mg",
            "--start",
            START,
            "--pdf",
            str(pdf),
            "--chart",
            str(png),
            "--ics",
            str(ics),
            "--paper",
            "letter",
            "--fill-days",
            "14",
        ],
    )
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert ics.read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert float(PdfReader(pdf).pages[0].mediabox.width) == 612.0
    svg = tmp_path / "plan.svg"
    result = CliRunner().invoke(cli, ["plan", "clonazepam", "2mg", "--chart", str(svg)])
    assert result.exit_code == 0
    assert b"<svg" in svg.read_bytes()


def test_a_chart_needs_png_or_svg(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["plan", "clonazepam", "2mg", "--chart", str(tmp_path / "c.gif")]
    )
    assert result.exit_code == 2
    assert "a file name ending .png or .svg" in result.stderr


def test_a_failing_export_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "plan.csv"
    old.write_text("old", encoding="utf-8")

    def broken(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("the chart broke")

    monkeypatch.setattr("taper.reports.pdf.pdf_bytes", broken)
    result = CliRunner().invoke(
        cli,
        [
            "plan",
            "clonazepam",
            "2mg",
            "--csv",
            str(old),
            "--force",
            "--json",
            str(tmp_path / "plan.json"),
            "--pdf",
            str(tmp_path / "plan.pdf"),
        ],
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unexpected failure, nothing was written (RuntimeError: the "
        "chart broke); please report it\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.csv"]
    assert old.read_text(encoding="utf-8") == "old"


def test_the_products_row_lists_what_the_plan_dispenses() -> None:
    """Regression: the row listed every product of the catalog the planner might use, and a
    switch's row left out the first drug's tablets taken during the switch."""
    switched = taper.plan(
        "alprazolam", "3 mg", switch_to="diazepam", table="va-dod-2021", start=START
    )
    first = " ".join(pdf_text(pdf_bytes(switched))[0].split())
    row = first.split("Products ", 1)[1].split(" Rule ", 1)[0]
    dispensed = [p.name for p, _ in switched.dispensing()]
    assert {p.drug for p, _ in switched.dispensing()} == {"alprazolam", "diazepam"}
    assert row == ", ".join(dispensed) + " (US)"


def test_the_dispensing_note_says_what_is_supplied() -> None:
    """It said "Whole tablets to supply" above a liquid's millilitres, and spoke of halves in
    a plan that halves nothing."""

    def note(schedule: taper.Schedule) -> str:
        text = re.sub(r"\s+", " ", " ".join(pdf_text(pdf_bytes(schedule))))
        found = re.search(r"Dispensing (.*? in all\.[^.]*\.?)", text)
        assert found, text[:500]
        return found.group(1)

    odts = taper.plan("clonazepam", "2 mg", start="2027-01-04")
    assert note(odts).startswith("Whole tablets to supply, for every 28 days and in all.")
    assert "A half tablet" not in note(odts)
    alone = taper.plan("clonazepam", "2 mg", region="uk", at_low_doses="liquid",
                       start="2027-01-04")  # fmt: skip
    assert note(alone).startswith("Millilitres of a liquid to supply, for every 28 days")
    assert "tablet" not in note(alone)
    liquid = taper.plan("clonazepam", "2 mg", region="uk", at_low_doses="liquid",
                        products="clonazepam-tab-0.5-uk", start="2027-01-04")  # fmt: skip
    said = note(liquid)
    assert said.startswith("Whole tablets, and millilitres of a liquid, to supply")
    assert "A half tablet is half of a tablet supplied whole." in said
