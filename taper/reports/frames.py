"""The schedule as pandas tables, for notebooks; pandas is imported here only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

from ..doses import format_mg
from ..schedule import Schedule

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def to_dataframe(schedule: Schedule) -> pd.DataFrame:
    """One row per step: ``step`` a whole number, dates as datetime64, doses as numbers in mg,
    one column per time.

    A switch's stages, when there are any, come first, with ``phase`` ``switch``, their number
    in ``stage`` and none in ``step``.
    """
    import pandas as pd

    rx = schedule.prescription
    rows: list[dict[str, Any]] = []
    switch = schedule.switch
    for stage in switch.stages if switch is not None else ():
        assert switch is not None
        row: dict[str, Any] = {
            "phase": "switch",
            "step": None,
            "stage": stage.number,
            "start": stage.start,
            "end": stage.end,
            "days": stage.days,
            "daily_mg": float(stage.dose_of(switch.to_drug)),
            f"{switch.from_drug}_mg": float(stage.dose_of(switch.from_drug)),
            "equivalent_mg": float(stage.equivalent),
        }
        rows.append(row)
    for step in schedule.steps:
        row = {
            "phase": "taper",
            "step": step.number,
            "start": step.start,
            "end": step.end,
            "days": step.days,
            "daily_mg": float(step.dose),
            "target_mg": float(step.target) if step.target > 0 else 0.0,
            "cut_pct": float(step.cut * 100),
            "pct_of_start": float(step.dose / rx.start_dose * 100),
        }
        for time in rx.times:
            admin = step.at(time)
            row[f"{time}_mg"] = float(admin.dose) if admin else 0.0
            row[f"{time}_take"] = admin.describe(short=True) if admin else "none"
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column])
    if switch is not None:  # whole numbers with gaps: a stage has no step, a step no stage
        frame["step"] = frame["step"].astype("Int64")
        frame["stage"] = frame["stage"].astype("Int64")
    return frame


def daily(schedule: Schedule) -> pd.DataFrame:
    """One row per day from the first day to the stop (the stop day with 0 mg).

    During a switch, ``daily_mg`` is the day's total as the new drug's equivalent.
    """
    import pandas as pd

    spans: list[tuple[str, str, Any, Any, float]] = []
    if schedule.switch is not None:
        spans += [
            ("switch", f"S{s.number}", s.start, s.end, float(s.equivalent))
            for s in schedule.switch.stages
        ]
    spans += [("taper", str(s.number), s.start, s.end, float(s.dose)) for s in schedule.steps]
    rows = [
        {"date": day, "phase": phase, "step": step, "daily_mg": dose}
        for phase, step, first, last, dose in spans
        for day in pd.date_range(first, last, freq="D")
    ]
    rows.append(
        {"date": pd.Timestamp(schedule.stop_date), "phase": "stop", "step": "", "daily_mg": 0.0}
    )
    return pd.DataFrame(rows)


def html(schedule: Schedule) -> str:
    """A notebook's view: a summary line, the findings (errors first), then the table."""
    rx = schedule.prescription
    summary = (
        f"<p><b>{escape(schedule.drug_display or rx.drug)} from "
        f"{escape(format_mg(rx.start_dose))}/day</b>, rule <b>{escape(schedule.rule_name)}</b>: "
        f"{len(schedule.steps)} steps over {schedule.duration_days} days, "
        f"{rx.start_date.isoformat()} to {schedule.steps[-1].end.isoformat()}; no dose from "
        f"{schedule.stop_date.isoformat()}.</p>"
    )
    items = "".join(
        f"<li><b>{escape(f.severity.upper())}</b> <code>{escape(f.code)}</code>"
        f"{f' (step {f.step})' if f.step is not None else ''}: {escape(f.message)}"
        f"{f' <i>Overridden: {escape(f.override)}</i>' if f.override else ''}</li>"
        for f in schedule.sorted_findings()
    )
    findings = f"<ul>{items}</ul>" if items else "<p>No findings.</p>"
    table = to_dataframe(schedule).to_html(index=False, float_format=lambda v: f"{v:g}")
    return f"<div>{summary}{findings}{table}</div>"


@dataclass(frozen=True)
class Comparison:
    """Several plans side by side: ``table`` holds their key figures, ``plot`` their curves."""

    plans: Mapping[str, Schedule]
    table: pd.DataFrame = field(repr=False)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Every plan's realised daily dose on one axes, as step lines over calendar dates."""
        from .chart import date_ticks, day_number, ismp_tick, new_axes

        if ax is None:
            ax = new_axes()
        for name, schedule in self.plans.items():
            x = [day_number(s.start) for s in schedule.steps] + [day_number(schedule.stop_date)]
            y = [float(s.dose) for s in schedule.steps] + [0.0]
            ax.plot(x, y, drawstyle="steps-post", label=name)
        ax.set_ylabel("mg a day")
        ax.set_ylim(bottom=0)
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8, frameon=False
        )
        date_ticks(ax)
        from matplotlib.ticker import FuncFormatter

        ax.yaxis.set_major_formatter(FuncFormatter(ismp_tick))
        return ax

    def _repr_html_(self) -> str:
        return str(self.table.to_html(float_format=lambda v: f"{v:g}"))


def compare(
    plans: Mapping[str, Schedule] | None = None,
    *,
    rules: Sequence[str] | Mapping[str, Any] = (),
    **prescription: Any,
) -> Comparison:
    """Compare named plans, or one prescription under several rules.

    Parameters
    ----------
    plans
        Named schedules, such as ``{"10 %": plan(...), "label": plan(...)}``.
    rules
        Rule names (or ``{name: rule}``) to plan ``prescription`` under, as
        ``taper.plan(**prescription, rule=...)``.

    Returns
    -------
    Comparison
        ``table``: one row per plan with its duration, steps, largest cut, mean gap from
        the rule's ideal dose, units a day and findings by severity; ``plot()``.
    """
    import pandas as pd

    from ..planning import plan
    from ..tracking import fidelity

    chosen: dict[str, Schedule] = dict(plans or {})
    named = rules.items() if isinstance(rules, Mapping) else ((r, r) for r in rules)
    for name, rule in named:
        chosen[str(name)] = plan(rule=rule, **prescription)
    if not chosen:
        raise ValueError("compare: give plans, or a prescription and rules")
    rows = []
    for name, schedule in chosen.items():
        fid = fidelity(schedule)
        severities = [f.severity for f in schedule.findings]
        rows.append(
            {
                "plan": name,
                "duration_days": schedule.duration_days,
                "steps": len(schedule.steps),
                "stop_date": pd.Timestamp(schedule.stop_date),
                "largest_cut_pct": float(fid.largest_cut * 100),
                "mean_gap_pct_of_start": float(fid.mean_gap_of_start * 100),
                "units_per_day": float(fid.units_per_day_mean),
                "forced_cuts": fid.forced_cuts,
                "largest_forced_cut_pct": float(fid.largest_forced_cut * 100),
                "final_dose_mg": float(schedule.steps[-1].dose),
                "stops_at_terminal_dose": fid.stop_mg <= fid.terminal_mg,
                "stop_after_days": fid.stop_after_days,
                "errors": severities.count("error"),
                "warnings": severities.count("warning"),
                "notes": severities.count("info"),
            }
        )
    return Comparison(chosen, pd.DataFrame(rows).set_index("plan"))
