"""Long and strange text a user can give prints safely: the terminal gets no control
characters, a CSV cell no formula start (full-width ones included), and a command whose
standard output fails leaves no file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import taper
from taper.schedule_csv import safe_cell
from taper.textfile import printable

START = "2027-01-04"


@pytest.mark.parametrize(
    "cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\uff1d1+1", "\uff0b1", "\uff20x"]
)
def test_a_formula_start_is_neutralised_full_width_too(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


def test_plain_cells_are_left_alone() -> None:
    assert safe_cell("clonazepam 0.5 mg tablet") == "clonazepam 0.5 mg tablet"


def test_control_characters_never_reach_the_terminal() -> None:
    assert printable("x\x1b[31mred\x07\r\u202eevil\nnext\tcol") == "x[31mredevil\nnext\tcol"


def _run(args: list[str], cwd: Path, stdout: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "taper", *args],
        cwd=cwd,
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )


def test_a_rule_name_with_an_escape_sequence_prints_without_it(tmp_path: Path) -> None:
    (tmp_path / "esc.toml").write_text(
        'name = "clinic\\u001b[2Jrule"\ncut = "10%"\nevery = "14d"\n', "utf-8"
    )
    result = _run(["plan", "clonazepam", "2mg", "--rule", "esc.toml", "--start", START],
                  tmp_path, subprocess.PIPE)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "clinic[2Jrule" in result.stdout


def test_a_failing_standard_output_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``taper plan ... --csv p.csv > /dev/full``: the terminal table cannot be written, so
    neither is any file."""
    import errno
    import os

    import click
    from click.testing import CliRunner

    from taper import cli as cli_module

    real = click.echo

    def full(message: object = None, *args: object, err: bool = False, **kw: object) -> None:
        if not err:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(message, *args, err=err, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cli_module.click, "echo", full)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli_module.cli, ["plan", "clonazepam", "2mg", "--start", START, "--csv", "p.csv"]
    )
    monkeypatch.undo()
    assert result.exit_code == 1
    assert result.stderr == "Error: standard output: No space left on device\n"
    assert sorted(os.listdir(tmp_path)) == []


def test_the_library_output_is_unchanged_for_plain_text() -> None:
    schedule = taper.plan("clonazepam", "2 mg", start=START)
    from taper.reports import render_text

    text = render_text(schedule)
    assert printable(text) == text


def test_a_pdf_holds_a_reason_a_rule_name_and_a_source_of_any_length() -> None:
    """Regression: a 10,000-character override reason, rule name or source failed in
    reportlab's layout (a table row taller than a page), so there was no PDF at all."""
    from io import BytesIO

    from pypdf import PdfReader

    from taper.reports.pdf import pdf_bytes
    from taper.rules import build_rule

    long = "a reason given at length " * 400
    rule = build_rule(reduce="10%", every="14d")
    from dataclasses import replace

    rule = replace(rule, name="n" * 10_000, source="source words " * 800)
    schedule = taper.plan(
        "clonazepam",
        "40 mg",
        rule=rule,
        start=START,
        overrides={"dose-above-range": long + "the end of it"},
    )
    pages = PdfReader(BytesIO(pdf_bytes(schedule))).pages
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in pages)
    assert "the end of it" in text
    assert len(pages) > 3


def test_text_the_pdf_font_cannot_print_is_replaced_and_said() -> None:
    """Arabic, Chinese and emoji would print as empty boxes in Helvetica: they print as ? and
    page 1 says so; Latin text with accents prints as given; the JSON keeps every character."""
    import json
    from io import BytesIO

    from pypdf import PdfReader

    from taper.reports import to_json
    from taper.reports.pdf import pdf_bytes

    schedule = taper.plan(
        "clonazepam",
        "40 mg",
        start=START,
        patient_name="محمد Zoë",
        overrides={"dose-above-range": "transferred 転院 🙂"},
    )
    pages = [p.extract_text() or "" for p in PdfReader(BytesIO(pdf_bytes(schedule))).pages]
    text = " ".join(pages)
    assert "cannot be printed in this document's font" in pages[0]
    assert "Zoë" in text and "????" in text and "transferred ?? ?" in " ".join(text.split())
    assert not any(c in text for c in "محمد転院🙂")
    document = json.loads(to_json(schedule))
    assert document["identity"]["name"] == "محمد Zoë"


def test_a_plan_in_latin_text_has_no_such_note() -> None:
    from io import BytesIO

    from pypdf import PdfReader

    from taper.reports.pdf import pdf_bytes

    schedule = taper.plan("clonazepam", "2 mg", start=START, patient_name="Zoë Brontë")
    first = PdfReader(BytesIO(pdf_bytes(schedule))).pages[0].extract_text() or ""
    assert "cannot be printed" not in first and "Zoë Brontë" in first


@pytest.mark.parametrize("command", [["plan", "clonazepam", "2mg", "--csv", "p.csv"], ["check"]])
def test_a_closed_standard_output_is_an_error_and_leaves_no_file(
    tmp_path: Path, command: list[str]
) -> None:
    """``taper plan ... >&-`` failed behind "unexpected failure" (standard output is None to
    Python): it is one line naming standard output, and no file is written."""
    if command == ["check"]:
        (tmp_path / "s.csv").write_text(
            "drug,start_date,days,daily_dose_mg\nclonazepam,2027-01-04,14,1.75\n", "utf-8"
        )
        command = ["check", "s.csv", "--json", "f.json"]
    before = sorted(p.name for p in tmp_path.iterdir())
    result = subprocess.run(
        [sys.executable, "-m", "taper", *command],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        close_fds=True,
        preexec_fn=lambda: os.close(1),
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == ["Error: standard output: closed"]
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_batch_whose_summary_cannot_be_shown_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``taper batch r.csv --out-dir out > /dev/full``: the folder was written although the
    command failed; it is moved into place only once its summary line is shown."""
    import errno

    import click
    from click.testing import CliRunner

    from taper import cli as cli_module

    real = click.echo

    def full(message: object = None, *args: object, err: bool = False, **kw: object) -> None:
        if not err:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(message, *args, err=err, **kw)  # type: ignore[arg-type]

    (tmp_path / "r.csv").write_text(
        "reference,drug,dose,per_day,start\nR1,clonazepam,2 mg,2,2027-01-04\n", "utf-8"
    )
    monkeypatch.setattr(cli_module.click, "echo", full)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli_module.cli, ["batch", "r.csv", "--out-dir", "out"])
    monkeypatch.undo()
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: standard output: No space left on device"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]
