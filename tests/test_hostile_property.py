"""Property: for any hostile command line, the files that were there before it are byte for
byte as they were after it, unless --force named them as an output of a command that
succeeded; nothing appears that the command was not asked to write; no temporary file stays;
and the command ends in one line with its exit code, never a traceback.

The folder holds what an unlucky or hostile user would point taper at: a protocol, a plan's
JSON, a schedule CSV and a roster (valid, and the same names hold hostile text), an earlier
output, a folder, a pipe, and symbolic links (to a file, dangling). FUZZ_EXAMPLES sets how
many command lines are tried (40 by default, as in CI)."""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from itertools import pairwise
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import taper
from taper.cli import cli
from taper.reports import csv_text, to_json

START = "2027-01-04"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
#: the longest one command line may take before the test calls it a hang
HANG_SECONDS = 60

RULE = 'name = "clinic"\ncut = "10%"\nevery = "14d"\n'
ROSTER = (
    "reference,drug,dose,per_day,start\nR1,clonazepam,2 mg,2,2027-01-04\n"
    "R2,diazepam,10mg,2,2027-01-04\n"
)
#: the names a command line may use: files that exist, and names that do not
NAMES = (
    "rule.toml", "plan.json", "s.csv", "roster.csv", "out.csv", "out.json", "folder",
    "pipe", "link", "dangling", "new.csv", "new.json", "new.pdf", "new.ics", "newdir",
    "folder/inside.csv", "missing/inside.csv", "", "-",
)  # fmt: skip
#: what a hostile file may hold in place of its own content
TEXTS = st.one_of(
    st.text(max_size=200),
    st.sampled_from([
        "\ufeff" + RULE, RULE.replace("10%", "900%"), RULE + "[[bands]]\nfrom = 1\n",
        "a" * 5000, "\x00\x01\x02", "[" * 500, '{"format": "taper-plan/1", "steps": 5}',
        "reference,drug,dose,per_day,start\nR1,clonazepam,2 mg,2,2027-01-04\n"
        "R1,clonazepam,2 mg,2,2027-01-04\n",
        "reference;drug;dose;per_day;start\nR1;clonazepam;2 mg;2;2027-01-04\n",
        "days,dose\n14,1.75\n14,9\n",
    ]),
)  # fmt: skip


@cache
def _plan_files() -> tuple[str, str]:
    schedule = taper.plan("clonazepam", "2 mg", start=START)
    return to_json(schedule), csv_text(schedule)


def _folder(root: Path, hostile: dict[str, str]) -> None:
    plan_json, schedule_csv = _plan_files()
    texts = {
        "rule.toml": RULE,
        "plan.json": plan_json,
        "s.csv": schedule_csv,
        "roster.csv": ROSTER,
        "out.csv": "an earlier output\n",
        "out.json": "{}\n",
    }
    texts.update(hostile)
    for name, text in texts.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "folder").mkdir()
    (root / "folder" / "kept.txt").write_text("kept\n", encoding="utf-8")
    os.mkfifo(root / "pipe")
    (root / "link").symlink_to(root / "out.csv")
    (root / "dangling").symlink_to(root / "nowhere.csv")


def _snapshot(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                out[key] = ("link", os.readlink(path))
            elif path.is_fifo():
                out[key] = "pipe"
            elif path.is_dir():
                out[key] = "folder"
            else:
                out[key] = path.read_bytes()
    return out


def _mostly(good: list[str], bad: tuple[str, ...] = NAMES) -> st.SearchStrategy[str]:
    """Most often one of ``good`` (so that commands succeed and write), else anything."""
    return st.one_of(st.sampled_from(good), st.sampled_from(good), st.sampled_from(bad))


def _outputs() -> st.SearchStrategy[list[str]]:
    flags = st.sampled_from(["--csv", "--json", "--pdf", "--ics"])
    targets = _mostly(["new.csv", "new.json", "new.pdf", "new.ics", "out.csv", "out.json"])
    return st.lists(st.tuples(flags, targets), max_size=3).map(
        lambda pairs: [part for pair in pairs for part in pair]
    )


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(["plan", "check", "replan", "batch"]))
    if command == "plan":
        args = [
            "plan",
            draw(_mostly(["clonazepam"], ("diazepam", "nosuchdrug", "", "-1", "CLONAZEPAM"))),
            draw(_mostly(["2mg", "1.5 mg"], ("10mg", "0mg", "1e9mg", "-1mg", "1⁰mg", "", "nan"))),
            "--start", START,
        ]  # fmt: skip
        if draw(st.booleans()):
            args += ["--rule", draw(_mostly(["rule.toml"]))]
        args += draw(_outputs())
    elif command == "check":
        args = ["check", draw(_mostly(["s.csv", "plan.json"]))]
        if draw(st.booleans()):
            args += ["--json", draw(_mostly(["new.json", "out.json"]))]
    elif command == "replan":
        args = ["replan", draw(_mostly(["plan.json"])), "--on",
                draw(_mostly(["2027-02-01"], ("1900-01-01", "x", "2031-01-01")))]  # fmt: skip
        args += draw(_outputs())
    else:
        args = ["batch", draw(_mostly(["roster.csv"])), "--out-dir",
                draw(_mostly(["newdir", "folder"]))]  # fmt: skip
        if draw(st.booleans()):
            args.append("--pdf")
    if draw(st.booleans()):
        args.append("--force")
    return args


def _named(args: list[str], root: Path) -> set[str]:
    """The paths the command line names as its outputs, relative to the folder."""
    out = set()
    for flag, value in pairwise(args):
        if flag in ("--csv", "--json", "--pdf", "--ics", "--out-dir") and value not in ("", "-"):
            path = Path(value).relative_to(root) if Path(value).is_absolute() else Path(value)
            out.add(str(path))
            if flag == "--csv":  # the findings and the fills beside the schedule
                out |= {str(path.with_suffix(f".{side}.csv")) for side in ("findings", "supply")}
    return out


@contextmanager
def _no_hang() -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        raise TimeoutError("the command hung")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    line=command_lines(),
    hostile=st.dictionaries(
        st.sampled_from(["rule.toml", "plan.json", "s.csv", "roster.csv"]), TEXTS, max_size=2
    ),
)
def test_no_hostile_command_line_changes_a_file_it_was_not_asked_to(
    line: list[str], hostile: dict[str, str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _folder(root, hostile)
        before = _snapshot(root)
        args = [str(root / a) if a in NAMES and a not in ("", "-") else a for a in line]
        cwd = os.getcwd()
        os.chdir(root)  # a '-' or a bare name lands here, not in the project
        try:
            with _no_hang():
                result = CliRunner().invoke(cli, args)
        finally:
            os.chdir(cwd)
        after = _snapshot(root)

    said = result.output + result.stderr
    event(f"{line[0]} exits {result.exit_code}")
    assert result.exception is None or isinstance(result.exception, SystemExit), said
    assert result.exit_code in (0, 1, 2), said
    assert "Traceback" not in said and "unexpected failure" not in said, said
    named = _named(args, root)
    replaced = named if "--force" in args and result.exit_code in (0, 1) else set()
    for key, was in before.items():
        inside = any(key == n or key.startswith(f"{n}/") for n in replaced)
        if not inside:
            assert after.get(key) == was, (key, line, said)
    for key in after.keys() - before.keys():
        assert result.exit_code in (0, 1), (key, line, said)
        assert any(key == n or key.startswith(f"{n}/") for n in named), (key, line, said)
    for key in after:
        leaf = Path(key).name
        assert not leaf.endswith((".tmp", ".partial")), (key, line)
        assert not (leaf.startswith(".") and key not in before), (key, line)
