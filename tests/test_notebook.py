"""The notebook API: public names, tables, comparison, and the example notebook run."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import taper

EXAMPLE = Path(__file__).parent.parent / "examples" / "explore.ipynb"


@pytest.mark.parametrize("name", taper.__all__)
def test_every_public_name_is_documented(name: str) -> None:
    obj = getattr(taper, name)
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return  # data: the version string, the presets
    assert inspect.getdoc(obj), f"{name} has no docstring"


def test_public_api_names() -> None:
    for name in (
        "plan",
        "check",
        "convert",
        "compare",
        "load_catalog",
        "load_example",
        "Schedule",
        "Finding",
        "PercentOfCurrent",
        "FixedAmount",
        "PercentOfStart",
        "Bands",
        "Phases",
        "Hyperbolic",
        "Hold",
        "Rule",
    ):
        assert name in taper.__all__


def test_compare_three_rules_against_durations_worked_by_hand() -> None:
    """From 2 mg a day, started 2027-01-04:
    - the US label, 0.25 mg/day less every 3 days: 1.75 ... 0.25, seven steps, 21 days;
    - deprescribing-bzra, 25 % of the start every 14 days then 12.5 %: 1.5, 1, 0.5, 0.25,
      four steps, 56 days;
    - 0.5 mg/day less every 7 days (cap 50 %): 1.5, 1, 0.5, then past the rule's end each
      step at the cap, 0.25 and 0.125 (the 0.125 mg ODT), five steps, 35 days."""
    comparison = taper.compare(
        rules={
            "label": "fda-label-clonazepam",
            "deprescribing": "deprescribing-bzra",
            "half a milligram weekly": taper.build_rule(reduce="0.5mg", every="7d", max_cut="50%"),
        },
        **taper.load_example(),
    )
    table = comparison.table
    assert table["duration_days"].to_dict() == {
        "label": 21,
        "deprescribing": 56,
        "half a milligram weekly": 35,
    }
    assert table["steps"].to_dict() == {
        "label": 7,
        "deprescribing": 4,
        "half a milligram weekly": 5,
    }
    # the stops, as the plans say them: the label's and the deprescribing rule's final
    # 0.25 mg/day is above the 0.125 mg/day the products make; the weekly rule goes down to it
    assert table["final_dose_mg"].to_dict() == {
        "label": 0.25,
        "deprescribing": 0.25,
        "half a milligram weekly": 0.125,
    }
    assert table["stops_at_terminal_dose"].to_dict() == {
        "label": False,
        "deprescribing": False,
        "half a milligram weekly": True,
    }
    assert table["forced_cuts"].to_dict() == {
        "label": 0,
        "deprescribing": 0,
        "half a milligram weekly": 0,
    }
    assert table.loc["deprescribing", "largest_cut_pct"] == 50.0
    ax = comparison.plot()
    assert [line.get_label() for line in ax.get_lines()] == list(table.index)
    assert "<table" in comparison._repr_html_()


def test_compare_named_plans_and_needs_something() -> None:
    a = taper.plan(**taper.load_example())
    table = taper.compare({"a": a}).table
    assert list(table.index) == ["a"]
    with pytest.raises(ValueError, match="give plans"):
        taper.compare()


def test_to_dataframe_and_daily() -> None:
    schedule = taper.plan("clonazepam", "1 mg", rule="fda-label-clonazepam", start="2027-01-04")
    frame = schedule.to_dataframe()
    assert str(frame["start"].dtype).startswith("datetime64")
    assert frame["daily_mg"].tolist() == [0.75, 0.5, 0.25]
    assert frame["morning_mg"].tolist() == [0.375, 0.25, 0.125]
    days = schedule.daily()
    assert len(days) == schedule.duration_days + 1
    assert days["daily_mg"].iloc[-1] == 0.0
    assert days["date"].iloc[0].date().isoformat() == "2027-01-04"


def test_switch_plans_in_a_dataframe() -> None:
    schedule = taper.plan("clonazepam", "2 mg", switch_to="diazepam", start="2027-01-04")
    frame = schedule.to_dataframe()
    assert frame["phase"].tolist()[:3] == ["switch", "switch", "taper"]
    assert schedule.daily()["phase"].iloc[0] == "switch"


def test_html_view_lists_errors_first() -> None:
    schedule = taper.plan(
        "clonazepam",
        "40 mg",
        start="2027-01-04",
        overrides={"dose-above-range": "came in on 40 mg"},
    )
    page = schedule._repr_html_()
    assert page.index("ERROR") < page.index("WARNING") < page.index("<table")
    assert "Overridden: came in on 40 mg" in page


def test_plot_returns_axes() -> None:
    ax = taper.plan(**taper.load_example()).plot()
    assert ax.get_ylabel() == "mg a day"


def test_example_notebook_runs(tmp_path: Path) -> None:
    notebook = nbformat.read(EXAMPLE, as_version=4)
    for cell in notebook.cells:
        cell.outputs = [] if cell.cell_type == "code" else cell.get("outputs")
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    assert (tmp_path / "chosen.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "chosen.csv").exists()
    stored = nbformat.read(EXAMPLE, as_version=4)
    # the stored outputs are what the notebook shows when run again (python
    # examples/refresh.py stores them), its charts as images among them
    for ran, kept in zip(notebook.cells, stored.cells, strict=True):
        if ran.cell_type != "code":
            continue
        assert kept.outputs, kept.source
        assert [_shown(o) for o in ran.outputs] == [_shown(o) for o in kept.outputs], kept.source
    plots = [c for c in stored.cells if c.cell_type == "code" and ".plot()" in c.source]
    assert plots and all(any("image/png" in o.get("data", {}) for o in c.outputs) for c in plots)


def _shown(output: dict[str, object]) -> object:
    """What an output shows, but an image's bytes (which vary with the matplotlib build)."""
    data = output.get("data", {})
    assert isinstance(data, dict)
    return {
        kind: value if not kind.startswith("image/") else "an image"
        for kind, value in data.items()
        if kind != "text/plain" or "image/png" not in data
    } or output.get("text")


def test_a_notebook_shows_the_charts_inline_with_no_magic() -> None:
    """Regression: schedule.plot() showed "<Axes: ...>" and no image unless the user first
    ran %matplotlib inline; the chart is now pyplot's in a notebook, which shows it."""
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                'import taper\nschedule = taper.plan("clonazepam", "2 mg", start="2027-01-04")'
            ),
            nbformat.v4.new_code_cell("schedule.plot()"),
            nbformat.v4.new_code_cell(
                'taper.compare(rules=["fda-label-clonazepam", "deprescribing-bzra"], '
                'drug="clonazepam", dose="1 mg", start="2027-01-04").plot()'
            ),
            nbformat.v4.new_code_cell("print(schedule)"),
        ]
    )
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    for cell in notebook.cells[1:3]:
        kinds = {kind for output in cell.outputs for kind in output.get("data", {})}
        assert "image/png" in kinds, cell.source
    printed = "".join(o.get("text", "") for o in notebook.cells[3].outputs)
    assert printed.startswith("clonazepam 2 mg/day, joint-guideline-2025:")
    assert len(printed) < 300  # a summary, not the dataclass's fields


def test_to_dataframe_numbers_steps_as_whole_numbers() -> None:
    """Regression: "step" was a string column, which sorts 1, 10, 11, 2."""
    frame = taper.plan("clonazepam", "2 mg", start="2027-01-04").to_dataframe()
    assert str(frame["step"].dtype) == "int64"
    assert frame.sort_values("step")["step"].tolist() == list(range(1, len(frame) + 1))
    switched = taper.plan(
        "alprazolam", "3 mg", switch_to="diazepam", table="va-dod-2021", start="2027-01-04"
    ).to_dataframe()
    stages = switched[switched["phase"] == "switch"]
    assert stages["stage"].tolist() == [1, 2, 3] and stages["step"].isna().all()
    assert switched[switched["phase"] == "taper"]["step"].tolist()[:3] == [1, 2, 3]
