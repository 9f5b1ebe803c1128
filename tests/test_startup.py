"""Start-up: what the common commands import, and the built-in catalog read in parts.

No timings here (timed tests flake on a busy machine): ``python bench/run.py`` measures
them. These tests hold what the timings rest on: ``taper --help`` and the terminal plan
import none of the heavy libraries, nor the standard modules only files need.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from taper.catalog import builtin_text, load_catalog, parse_catalog, read_in_parts

HEAVY = ("pandas", "matplotlib", "reportlab", "numpy")
#: standard modules that only some commands need (file names and files, JSON, CSV,
#: suggestions, package data); exact switch ratios (fractions) are not among them, as the
#: terminal plan plans a switch to diazepam among its alternatives
LIGHT_ONLY = (
    "pathlib",
    "tempfile",
    "json",
    "csv",
    "difflib",
    "importlib.resources",
    "importlib.metadata",
)
COMMANDS = (["--help"], ["plan", "clonazepam", "2mg"])


def imported(args: list[str]) -> set[str]:
    """Every module ``python -X importtime ARGS`` imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONPROFILEIMPORT")}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


def taper_imports(args: list[str]) -> set[str]:
    """The modules ``taper ARGS`` imports beyond what ``python -c "import click"`` does here.

    The difference, because this environment may load modules of its own at start (an
    editable install's import finder loads pathlib, for one).
    """
    names = imported(["-m", "taper", *args])
    assert "taper.cli" in names  # the output is what it should be
    return names - imported(["-c", "import click"])


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_command_imports_no_heavy_library(args: list[str]) -> None:
    names = imported(["-m", "taper", *args])
    heavy = sorted(n for n in names if n.split(".")[0] in HEAVY)
    assert heavy == [], f"taper {' '.join(args)} imports {heavy}"


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_command_imports_only_what_it_needs(args: list[str]) -> None:
    names = taper_imports(args)
    extra = sorted(n for n in LIGHT_ONLY if n in names)
    assert extra == [], f"taper {' '.join(args)} imports {extra}: import them where used"


def test_help_does_not_load_the_planner() -> None:
    names = taper_imports(["--help"])
    assert not {"taper.planner", "taper.catalog", "tomllib"} & names


def test_builtin_catalog_read_in_parts_is_the_whole_catalog() -> None:
    whole = parse_catalog(builtin_text(), "built-in catalog")
    parts = load_catalog()
    assert parts == whole
    assert repr(parts) == repr(whole)
    assert list(parts.drugs) == list(whole.drugs)
    assert list(parts.sources) == list(whole.sources)
    assert list(parts.equivalence) == list(whole.equivalence)


def test_parts_are_parsed_when_first_used() -> None:
    catalog = read_in_parts(builtin_text(), "built-in catalog")
    built = catalog.drugs._built  # type: ignore[attr-defined]
    assert catalog.drug("clonazepam").name == "clonazepam"
    assert list(built) == ["clonazepam"]
    assert "diazepam" in catalog.drugs and list(built) == ["clonazepam"]
    assert catalog.drug("Valium").name == "diazepam"


@pytest.mark.parametrize(
    "change",
    [
        ("[catalog]\n", '[catalog]\nnote = """two\n[lines]"""\n'),  # a multi-line string
        ("[drugs.clonazepam]\n", '[drugs."clonazepam"]\n'),  # a quoted key
        ("[drugs.clonazepam]\n", "[ drugs.clonazepam ]\n"),  # spaces in a header
    ],
)
def test_a_file_that_cannot_be_cut_is_read_whole(change: tuple[str, str]) -> None:
    # the same catalog either way: read whole, never cut wrong
    text = builtin_text().replace(*change, 1)
    assert text != builtin_text()
    catalog = read_in_parts(text, "mine.toml")
    assert isinstance(catalog.drugs, dict)
    assert catalog == parse_catalog(text, "mine.toml")


def test_a_header_with_a_comment_is_cut() -> None:
    text = builtin_text().replace("[drugs.diazepam]\n", "[drugs.diazepam]  # second\n", 1)
    catalog = read_in_parts(text, "mine.toml")
    assert not isinstance(catalog.drugs, dict)
    assert catalog == parse_catalog(text, "mine.toml")
