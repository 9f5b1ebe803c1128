"""Outputs written safely: an output path that is a pipe, a device, a folder, a symbolic link
(dangling, looping or not) or the command's own input is refused, with --force too, and
nothing that existed before is changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from taper.cli import cli

START = "2027-01-04"


def _run(tmp_path: Path, *args: str) -> tuple[int, str]:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(cli, list(args))
    finally:
        os.chdir(cwd)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stderr.strip()


def _snapshot(folder: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            out[entry.name] = ("link", os.readlink(entry))
        elif entry.is_fifo():
            out[entry.name] = "fifo"
        elif entry.is_dir():
            out[entry.name] = "folder"
        else:
            out[entry.name] = entry.read_bytes()
    return out


def _plan(tmp_path: Path) -> None:
    code, err = _run(tmp_path, "plan", "clonazepam", "2mg", "--start", START, "--json", "p.json",
                     "--csv", "s.csv")  # fmt: skip
    assert code == 0, err


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["", "force"])
@pytest.mark.parametrize(
    ("make", "flag", "words"),
    [
        (lambda p: p.symlink_to(p.parent / "missing.json"), "--json", "a symbolic link"),
        (lambda p: p.symlink_to(p.parent / "p.json"), "--json", "a symbolic link"),
        (lambda p: (p.symlink_to(p.parent / "x"), (p.parent / "x").symlink_to(p)), "--json",
         "a symbolic link"),
        (lambda p: os.mkfifo(p), "--csv", "not a regular file"),
        (lambda p: p.mkdir(), "--pdf", "not a folder"),
    ],
    ids=["dangling link", "link to a file", "link loop", "pipe", "folder"],
)  # fmt: skip
def test_an_output_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, make: object, flag: str, words: str, force: list[str]
) -> None:
    _plan(tmp_path)
    target = tmp_path / f"out{flag.replace('--', '.')}"
    make(target)  # type: ignore[operator]
    before = _snapshot(tmp_path)
    code, err = _run(tmp_path, "plan", "clonazepam", "2mg", flag, target.name, *force)
    assert code == 2
    assert err.splitlines()[-1].startswith(f"Error: {flag}: got '{target.name}'")
    assert words in err
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "args",
    [
        ["check", "s.csv", "--drug", "clonazepam", "--json", "s.csv", "--force"],
        ["replan", "p.json", "--on", "2027-03-01", "--json", "p.json", "--force"],
        ["plan", "clonazepam", "2mg", "--rule", "r.toml", "--json", "r.toml", "--force"],
    ],
    ids=["check", "replan", "plan's protocol"],
)
def test_an_output_is_never_the_commands_own_input(tmp_path: Path, args: list[str]) -> None:
    _plan(tmp_path)
    (tmp_path / "r.toml").write_text('cut = "10%"\nevery = "14d"\n', "utf-8")
    before = _snapshot(tmp_path)
    code, err = _run(tmp_path, *args)
    assert code == 2
    assert "a file other than the one the command reads" in err
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["", "force"])
@pytest.mark.parametrize(
    ("out_dir", "make", "said"),
    [
        ("", None, "Error: --out-dir: got ''; a folder's name (. for this one)"),
        ("-", None, "Error: --out-dir: got '-'; a folder's name (. for this one)"),
        ("gone", lambda p: p.symlink_to(p.parent / "nowhere"),
         "Error: --out-dir: got 'gone'; a folder; this is a link to nothing"),
    ],
    ids=["empty", "standard output", "dangling link"],
)  # fmt: skip
def test_a_batch_folder_that_cannot_be_one_is_refused(
    tmp_path: Path, out_dir: str, make: object, said: str, force: list[str]
) -> None:
    """Found by the hostile command-line property: an empty --out-dir planned into the
    current folder, '-' made a folder of that name, and a dangling link failed on the
    batch's own hidden folder's name."""
    (tmp_path / "r.csv").write_text(
        "reference,drug,dose,per_day,start\nR1,clonazepam,2 mg,2,2027-01-04\n", "utf-8"
    )
    if make is not None:
        make(tmp_path / out_dir)  # type: ignore[operator]
    before = _snapshot(tmp_path)
    code, err = _run(tmp_path, "batch", "r.csv", "--out-dir", out_dir, *force)
    assert (code, err.splitlines()[-1]) == (2, said)
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["nodir/", "nodir/.", "nodir/.."])
def test_an_output_named_as_a_folder_is_refused(tmp_path: Path, name: str) -> None:
    """--json nodir/ wrote a file named nodir (and nodir/. did, after the first mend)."""
    code, err = _run(tmp_path, "plan", "clonazepam", "2mg", "--json", name)
    assert (code, err.splitlines()[-1]) == (
        2,
        f"Error: --json: got '{name}'; a file name is needed, not a folder",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("roster", "more"),
    [
        ("reference,drug,dose,per_day,start\nR0000,clonazepam,2 mg,2,2027-01-04\n",
         ["--rule", "own/R0000.csv"]),
        ("reference,drug,dose,per_day,start,rule\n"
         "R0000,clonazepam,2 mg,2,2027-01-04,own/R0000.csv\n", []),
    ],
    ids=["--rule", "a row's rule"],
)  # fmt: skip
def test_a_batch_never_replaces_a_file_it_reads(
    tmp_path: Path, roster: str, more: list[str]
) -> None:
    """``batch --force`` into a folder holding the table of doses it was given as a rule
    replaced the table with row R0000's plan: an output that is a file the batch reads is
    refused, as the roster is."""
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "R0000.csv").write_text("days,dose\n14,1.75 mg\n14,1.5 mg\n", "utf-8")
    (tmp_path / "r.csv").write_text(roster, "utf-8")
    before = _snapshot(tmp_path / "own")
    code, err = _run(tmp_path, "batch", "r.csv", "--out-dir", "own", "--force", *more)
    assert (code, err.splitlines()[-1]) == (
        2,
        "Error: --out-dir: got 'own/R0000.csv'; a folder where no output is a file the batch "
        "reads (a rule, catalog or formulary)",
    )
    assert _snapshot(tmp_path / "own") == before


def test_a_file_that_cannot_be_replaced_leaves_every_output_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``--force`` over a JSON file that may not be replaced (immutable), the CSV files
    were left written and the error named a temporary file: those moved into place are put
    back, the new ones removed, and the line names ``--json``."""
    import errno

    from taper.reports import files

    (tmp_path / "m.csv").write_text("an earlier plan\n", "utf-8")
    (tmp_path / "m.json").write_text("{}", "utf-8")
    before = _snapshot(tmp_path)
    real = os.replace

    def refuse(src: str, dst: object) -> None:
        if str(dst).endswith("m.json"):
            raise PermissionError(errno.EPERM, "Operation not permitted")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(files.os, "replace", refuse)
    code, err = _run(tmp_path, "plan", "clonazepam", "2mg", "--start", START, "--csv", "m.csv",
                     "--json", "m.json", "--force")  # fmt: skip
    monkeypatch.undo()
    assert (code, err.splitlines()[-1]) == (
        2,
        "Error: --json: got 'm.json'; cannot write it (Operation not permitted)",
    )
    assert _snapshot(tmp_path) == before
