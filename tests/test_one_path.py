"""One path for each job: the library's own words, one reader and writer per file, one check."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import taper
from taper.batch import read_roster
from taper.cli import cli
from taper.errors import InputError, TaperError

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
