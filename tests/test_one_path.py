"""One path for each job: the library's own words, one reader and writer per file, one check."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import taper
from taper.cli import cli
from taper.errors import InputError

START = "2027-01-04"


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
