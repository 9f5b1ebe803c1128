"""Every bad input gets one clear line naming the field, the right exit code, no traceback
and no file written. The cases are data: tests/corpus/bad_inputs.json."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from taper.cli import cli
from taper.errors import InputError

CORPUS = json.loads((Path(__file__).parent / "corpus" / "bad_inputs.json").read_text("utf-8"))
SAMPLE = CORPUS[:: max(1, len(CORPUS) // 12)]


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 150
    kinds = {case["args"][0] for case in CORPUS}
    assert {"plan", "check", "convert", "drugs", "replan"} <= kinds
    files = [name for case in CORPUS for name in case["files"]]
    assert any(n.endswith(".toml") for n in files) and any(n.endswith(".csv") for n in files)


def _lay_out(folder: Path, files: dict[str, object]) -> None:
    for name, content in files.items():
        if isinstance(content, dict) and "repeat" in content:
            # a large file written out: before, then repeat times times, then after
            text = content.get("before", "") + content["repeat"] * content["times"]  # type: ignore[operator]
            (folder / name).write_text(text + content.get("after", ""), encoding="utf-8")  # type: ignore[operator]
        elif isinstance(content, dict):
            (folder / name).write_bytes(base64.b64decode(str(content["base64"])))
        else:
            (folder / name).write_text(str(content), encoding="utf-8")


def _contents(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones among them) and its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<folder>"
        for p in sorted(folder.rglob("*"))
    }


def _names_a_field(line: str) -> bool:
    # "Error: --every: got ...", "Error: s.csv: row 2, days: got ...", click's
    # "Error: Invalid value for '--per-day': ..." and "Error: No such option '--speed'."
    return bool(
        re.match(r"Error: (\S[^:]*: |Invalid value for |No such option |only one of |give )", line)
    )


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_bad_input(case: dict[str, object], tmp_path: Path) -> None:
    _lay_out(tmp_path, case["files"])  # type: ignore[arg-type]
    before = _contents(tmp_path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(cli, case["args"])  # type: ignore[arg-type]
    finally:
        os.chdir(cwd)
    assert result.exit_code == case["exit"], result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.output + result.stderr
    assert lines and lines[-1].startswith(str(case["error"])), lines
    assert _names_a_field(lines[-1]), lines[-1]
    # every file that was there is byte for byte as it was, and no file (a temporary one
    # among them) was added
    assert _contents(tmp_path) == before, "a file was written or changed"


@pytest.mark.parametrize("case", SAMPLE, ids=[c["name"] for c in SAMPLE])
def test_bad_input_in_a_real_process(case: dict[str, object], tmp_path: Path) -> None:
    _lay_out(tmp_path, case["files"])  # type: ignore[arg-type]
    result = subprocess.run(
        [sys.executable, "-m", "taper", *case["args"]],  # type: ignore[misc]
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == case["exit"]
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(str(case["error"]))


def _refused(folder: Path, args: list[str]) -> str:
    """The error line of a command run in ``folder`` that must exit 2."""
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2, result.output
    return str(result.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (("steps", 0, "daily_dose_mg"), "steps[1].daily_dose_mg: got '999999999999"),
        (("steps", 0, "administrations", 0, "dose_mg"), "steps[1].administrations[1].dose_mg"),
        (("steps", 0, "administrations", 0, "units", 0, "count"), "units[1].count: got '9999"),
        (("start_dose_mg",), "start_dose_mg: got '999999999999"),
    ],
    ids=["daily dose", "dose", "count", "start dose"],
)
@pytest.mark.parametrize("command", ["replan", "check"])
def test_a_number_of_thirty_digits_in_a_plan_is_refused(
    tmp_path: Path, change: tuple[object, ...], said: str, command: str
) -> None:
    """A plan JSON number past the 28 digits of decimal arithmetic failed behind "unexpected
    failure" (InvalidOperation) in replan and check: it is far too large to be a dose."""
    import taper
    from taper.plan_json import to_json

    data = json.loads(to_json(taper.plan("clonazepam", "2 mg", start="2027-01-04")))
    place = data
    for key in change[:-1]:
        place = place[key]
    place[change[-1]] = "9" * 30
    (tmp_path / "p.json").write_text(json.dumps(data), "utf-8")
    args = ["check", "p.json"]
    if command == "replan":
        args = ["replan", "p.json", "--on", "2027-03-01"]
    before = _contents(tmp_path)
    line = _refused(tmp_path, args)
    assert line.startswith("Error: p.json: ") and said in line, line
    assert line.endswith("a number far too large to be a dose")
    assert _contents(tmp_path) == before


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (lambda t: t.replace('"doses_per_day": 2', '"doses_per_day": ' + "9" * 5000, 1),
         "doses_per_day: got '"),
        (lambda t: t.replace('"rule": {', '"rule": NaN, "was": {', 1),
         "got 'NaN'; a JSON file: NaN and Infinity are not JSON numbers"),
    ],
    ids=["5000 digits", "NaN"],
)  # fmt: skip
def test_a_plan_json_number_no_reader_can_hold_is_one_line(
    tmp_path: Path, text: object, said: str
) -> None:
    """A whole number of 5,000 digits failed in int() (past its digit limit), and a NaN
    rule was said to be "an object"; the line quotes a long value by its start and length."""
    import taper
    from taper.plan_json import to_json

    plan = to_json(taper.plan("clonazepam", "2 mg", start="2027-01-04"))
    (tmp_path / "p.json").write_text(text(plan), "utf-8")  # type: ignore[operator]
    for args in (["replan", "p.json", "--on", "2027-03-01"], ["check", "p.json"]):
        line = _refused(tmp_path, args)
        assert line.startswith("Error: p.json: ") and said in line, line
        assert "NaN" in said or re.search(r"\(5,0\d\d characters\)", line), line
        assert len(line) < 200


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda d: d.update(foo=1), "foo: got 'the number 1'; no such field in a plan"),
        (lambda d: d["steps"][0].update(foo=1), "steps[1].foo: got 'the number 1'; no such field"),
        (lambda d: d["rule"].update(foo=1), "rule.foo: got 'the number 1'; no such field"),
        (lambda d: d.update(duration_days=d["duration_days"] + 1), "duration_days: got "),
        (lambda d: d.update(stop_date="2030-01-01"), "stop_date: got '2030-01-01'; 20"),
        (lambda d: d["dispensing"][0].update(quantity="999999"), "dispensing[1].quantity: got"),
        (lambda d: d["fills"][0]["supply"][0].update(quantity="-3"), "fills[1].supply[1].quantity"),
    ],
    ids=["field", "step field", "rule field", "duration", "stop date", "quantity", "fill"],
)  # fmt: skip
def test_a_plan_json_taper_would_not_write_is_refused_by_replan_and_said_by_check(
    tmp_path: Path, change: object, said: str
) -> None:
    """A field taper does not write, or a duration, stop date or quantity that its steps do
    not make, was read past by replan and check: replan refuses it naming the field, and
    check says not-as-written and checks it as a schedule made elsewhere."""
    import taper
    from taper.plan_json import to_json

    data = json.loads(to_json(taper.plan("clonazepam", "2 mg", start="2027-01-04")))
    change(data)  # type: ignore[operator]
    (tmp_path / "p.json").write_text(json.dumps(data), "utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        replanned = CliRunner().invoke(cli, ["replan", "p.json", "--on", "2027-03-01"])
        checked = CliRunner().invoke(cli, ["check", "p.json"])
    finally:
        os.chdir(cwd)
    assert replanned.exit_code == 2, replanned.output
    assert replanned.stderr.strip().startswith(f"Error: p.json: {said}"), replanned.stderr
    assert "WARNING not-as-written" in checked.stdout
    assert said.split(":")[0] in " ".join(checked.stdout.split())


def test_a_plan_json_leaving_out_a_field_taper_adds_is_read() -> None:
    """A plan written before a field was added (the dispensing, the fills) is read back."""
    import taper
    from taper.plan_json import load_plan, parse, to_json

    schedule = taper.plan("clonazepam", "2 mg", start="2027-01-04")
    data = parse(to_json(schedule), "p.json")
    for key in ("dispensing", "fills", "fill_days", "stop_date"):
        data.pop(key, None)
    loaded = load_plan(data, taper.load_catalog(), "p.json")
    assert [(s.start, s.days, s.dose) for s in loaded.steps] == [
        (s.start, s.days, s.dose) for s in schedule.steps
    ]


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("doses_per_day", True, "doses_per_day: got 'true'; 2, one dose a time"),
        ("step", 7, "steps[1].step: got 'the number 7'; 1: steps are numbered from 1"),
        ("days", False, "steps[1].days: got 'false'; whole days, 1 to 3650"),
    ],
)
def test_a_plan_json_value_is_said_in_json_words(field: str, value: object, said: str) -> None:
    """``doses_per_day: true`` was said as Python's 'True'; a value is said as JSON has it."""
    import taper
    from taper.plan_json import load_plan, parse, to_json

    data = json.loads(to_json(taper.plan("clonazepam", "2 mg", start="2027-01-04")))
    (data if field == "doses_per_day" else data["steps"][0])[field] = value
    with pytest.raises(InputError) as refused:
        load_plan(parse(json.dumps(data), "p.json"), taper.load_catalog(), "p.json")
    assert str(refused.value).startswith(f"p.json: {said}"), str(refused.value)
