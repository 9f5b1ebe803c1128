from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from taper import plan
from taper.reports import csv_text, plan_to_dict, to_json
from taper.reports.files import write_atomic

PACKAGE = Path(__file__).parent.parent / "taper"


@pytest.fixture(scope="module")
def clonazepam_json() -> dict[str, object]:
    return plan_to_dict(plan("clonazepam", "2 mg", start="2027-01-04"))


def test_json_has_the_contract_fields(clonazepam_json: dict[str, object]) -> None:
    data = clonazepam_json
    assert data["format"] == "taper-plan/1"
    assert data["drug"] == "clonazepam"
    assert data["start_dose_mg"] == "2"
    assert data["doses_per_day"] == 2
    # the cap is 25 %; the products force a 50 % cut at the end, so no cut goes above 50 %
    assert data["limits"] == {
        "max_cut_pct": "50",
        "cap_pct": "25",
        "max_units_per_administration": 4,
        "longest_step_days": 84,
        "at_low_doses": "stretch",
    }
    assert [s["step"] for s in data["steps"] if s.get("forced_cut")] == [13, 14]
    assert data["stop"] == {
        "from_mg": "0.125",
        "after_days": 84,
        "terminal_mg": "0.125",
        "above_terminal": False,
        "asked": None,
        "diazepam_equivalent_mg": ["1.25", "2.5"],
    }
    # the products the plan dispenses for its whole course (the product-set finding says why)
    assert [p["id"] for p in data["products"]] == ["clonazepam-odt-0.125", "clonazepam-odt-0.5"]
    assert data["start_date"] == "2027-01-04"
    assert data["rule"]["name"] == "joint-guideline-2025"  # type: ignore[index]
    assert data["rule"]["description"].startswith("cut 10 % of the current dose every 14 days")  # type: ignore[index]
    step = data["steps"][0]  # type: ignore[index]
    assert step == {
        "step": 1,
        "start_date": "2027-01-04",
        "end_date": "2027-01-21",
        "days": 18,
        "daily_dose_mg": "1.75",
        "target_dose_mg": "1.8",
        "cut_pct": "12.5",
        "administrations": [
            {
                "time": t,
                "dose_mg": "0.875",
                # one form a dose: ODTs only, not a half tablet swallowed with an ODT
                "units": [
                    {
                        "product": "clonazepam 0.5 mg orally disintegrating tablet",
                        "product_id": "clonazepam-odt-0.5",
                        "form": "odt",
                        "strength_mg": "0.5",
                        "count": "1",
                        "split": "1",
                    },
                    {
                        "product": "clonazepam 0.125 mg orally disintegrating tablet",
                        "product_id": "clonazepam-odt-0.125",
                        "form": "odt",
                        "strength_mg": "0.125",
                        "count": "3",
                        "split": "1",
                    },
                ],
            }
            for t in ("morning", "bedtime")
        ],
    }
    assert data["stop_date"] == "2028-01-14"
    assert {f["severity"] for f in data["findings"]} == {"warning", "info"}  # type: ignore[attr-defined]
    first = data["findings"][0]  # type: ignore[index]
    assert first["severity"] == "warning"
    assert set(first) == {"severity", "code", "step", "message", "source", "override"}
    assert data["dispensing"][0] == {  # type: ignore[index]
        "product": "clonazepam 0.125 mg orally disintegrating tablet",
        "product_id": "clonazepam-odt-0.125",
        "quantity": "1052",
        "unit": "tablet",
    }


def _export_in_a_new_process(kind: str) -> bytes:
    make = {"csv": "csv_text(s).encode()", "json": "to_json(s).encode()", "ics": "ics_bytes(s)"}[
        kind
    ]
    code = (
        "import sys, taper; from taper.reports import csv_text, ics_bytes, to_json; "
        "s = taper.plan('clonazepam', '2 mg', start='2027-01-04'); "
        f"sys.stdout.buffer.write({make})"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout


@pytest.mark.parametrize("kind", ["csv", "json", "ics"])
def test_exports_are_byte_identical_across_processes(kind: str) -> None:
    assert _export_in_a_new_process(kind) == _export_in_a_new_process(kind)


def test_csv_cells_cannot_start_a_formula(tmp_path: Path) -> None:
    catalog = tmp_path / "c.toml"
    catalog.write_text(
        (Path(__file__).parent / "data" / "tiny_catalog.toml")
        .read_text(encoding="utf-8")
        .replace('name = "testazepam 1 mg tablet"', 'name = "=HYPERLINK(1)"'),
        encoding="utf-8",
    )
    text = csv_text(plan("testazepam", "4 mg", catalog=str(catalog), start="2027-01-04"))
    assert ",=" not in text
    assert "'1½ x =HYPERLINK(1)" not in text  # the cell starts with the count, not the name
    assert all(not cell.startswith("=") for row in text.splitlines() for cell in row.split(","))


def test_write_atomic_leaves_the_old_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old", encoding="utf-8")

    def fail(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("taper.reports.files.os.fsync", fail)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, b"new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]
    monkeypatch.undo()
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_write_atomic_gives_files_the_usual_mode(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "new.csv", b"x")
        assert (tmp_path / "new.csv").stat().st_mode & 0o777 == 0o644
        kept = tmp_path / "kept.csv"
        kept.write_bytes(b"old")
        kept.chmod(0o600)
        write_atomic(kept, b"new")
        assert kept.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


def test_importing_the_core_loads_no_heavy_library() -> None:
    code = (
        "import sys, taper; s = taper.plan('clonazepam', '2 mg'); taper.check(s); "
        "print(sorted(m for m in ('pandas', 'matplotlib', 'reportlab', 'numpy', 'click') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_start_up_imports_no_heavy_library() -> None:
    code = (
        "import sys, taper.cli; from click.testing import CliRunner; "
        "CliRunner().invoke(taper.cli.cli, ['plan', 'clonazepam', '2mg']); "
        "print(sorted(m for m in ('pandas', 'matplotlib', 'reportlab', 'numpy') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_json_round_trips() -> None:
    schedule = plan("clonazepam", "1 mg", rule="fda-label-clonazepam", start="2027-01-04")
    assert json.loads(to_json(schedule)) == plan_to_dict(schedule)


def test_the_json_gives_the_supply_of_each_fill(tmp_path: Path) -> None:
    """A pharmacy fills a course four weeks at a time (--fill-days): each fill's whole tablets."""
    from click.testing import CliRunner

    from taper.cli import cli

    schedule = plan("clonazepam", "2 mg", start="2027-01-04")
    data = plan_to_dict(schedule)
    assert data["fill_days"] == 28
    fills = data["fills"]
    assert fills[0]["start_date"] == "2027-01-04" and fills[0]["end_date"] == "2027-01-31"
    assert fills[-1]["end_date"] == "2028-01-13"  # the day before the stop
    # days 1 to 18: 1 x 0.5 mg ODT + 3 x 0.125 mg ODT twice a day; days 19 to 28: one 0.125 mg
    # ODT fewer in the morning (1.625 mg/day)
    assert fills[0]["supply"] == [
        {
            "product": "clonazepam 0.125 mg orally disintegrating tablet",
            "product_id": "clonazepam-odt-0.125",
            "quantity": str(18 * 6 + 10 * 5),
            "unit": "tablet",
        },
        {
            "product": "clonazepam 0.5 mg orally disintegrating tablet",
            "product_id": "clonazepam-odt-0.5",
            "quantity": str(28 * 2),
            "unit": "tablet",
        },
    ]
    whole = {d["product_id"]: int(d["quantity"]) for d in data["dispensing"]}
    for pid, total in whole.items():
        per_fill = sum(
            int(s["quantity"]) for f in fills for s in f["supply"] if s["product_id"] == pid
        )
        assert per_fill == total  # whole tablets: no fill rounds up a part
    out = tmp_path / "p.json"
    result = CliRunner().invoke(
        cli,
        [
            "plan",
            "clonazepam",
            "2mg",
            "--start",
            "2027-01-04",
            "--fill-days",
            "14",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    fourteen = json.loads(out.read_text(encoding="utf-8"))
    assert fourteen["fill_days"] == 14
    assert fourteen["fills"][0]["end_date"] == "2027-01-17"


def test_the_csv_has_its_supply_per_fill_beside_it(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from taper.cli import cli

    out = tmp_path / "p.csv"
    result = CliRunner().invoke(
        cli,
        [
            *("plan", "clonazepam", "2mg", "--start", "2027-01-04", "--fill-days", "14"),
            *("--csv", str(out), "--json", str(tmp_path / "p.json")),
        ],
    )
    assert result.exit_code == 0, result.stderr
    rows = (tmp_path / "p.supply.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "fill,start_date,end_date,product_id,product,quantity,unit"
    # the first 14 days: 1 x 0.5 mg ODT and 3 x 0.125 mg ODT at each of two doses
    assert rows[1:3] == [
        "1,2027-01-04,2027-01-17,clonazepam-odt-0.125,"
        "clonazepam 0.125 mg orally disintegrating tablet,84,tablet",
        "1,2027-01-04,2027-01-17,clonazepam-odt-0.5,"
        "clonazepam 0.5 mg orally disintegrating tablet,28,tablet",
    ]
    fills = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))["fills"]
    in_json = [
        (str(n), f["start_date"], s["product_id"], s["quantity"])
        for n, f in enumerate(fills, start=1)
        for s in f["supply"]
    ]
    in_csv = [
        (r.split(",")[0], r.split(",")[1], r.split(",")[3], r.split(",")[5]) for r in rows[1:]
    ]
    assert in_csv == in_json  # one supply, said the same way in both files
