"""The schedule as a chart: realised daily dose over calendar dates.

matplotlib is imported here only, when a chart is asked for. The chart is
drawn on a :class:`matplotlib.figure.Figure` (never pyplot), so nothing is
shown and no global figure state is left behind.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..doses import format_mg, format_number
from ..schedule import Schedule
from .files import write_atomic

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: the labels tests and readers find the plotted lines by
REALISED = "daily dose taken"
IDEAL = "the rule's ideal dose"
CHANGED = "products changed the dose"
HOLD = "hold"
HISTORY = "as first planned"
FORCED = "cut forced by the products"


def day_number(day: date) -> float:
    """A date as matplotlib's day number (plain floats keep the types exact)."""
    from matplotlib.dates import date2num

    return float(date2num(day))  # type: ignore[no-untyped-call]


def _series(schedule: Schedule) -> tuple[list[float], list[float], list[float]]:
    dates = [day_number(s.start) for s in schedule.steps] + [day_number(schedule.stop_date)]
    doses = [float(s.dose) for s in schedule.steps] + [0.0]
    ideal = [max(float(s.target), 0.0) for s in schedule.steps] + [0.0]
    return dates, doses, ideal


def new_axes() -> Axes:
    """A new chart's axes. In a notebook the figure is pyplot's, so the notebook shows it as
    an image below the cell (its inline display is the default), with no magic to type;
    elsewhere a figure of its own, which leaves no state behind in a script or a server."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    if shell is not None:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=(8, 3.6), layout="constrained").subplots()
    from matplotlib.figure import Figure

    return Figure(figsize=(8, 3.6), layout="constrained").subplots()


def plot_schedule(schedule: Schedule, ax: Axes | None = None) -> Axes:
    """Draw ``schedule`` on ``ax`` (a new figure's axes when ``None``) and return the axes.

    The realised daily dose is a solid step line over calendar dates, the rule's
    ideal dose a dashed one; the right axis reads in % of the starting dose; holds
    are shaded; points mark the steps where the products changed the rule's dose. A switch
    before the taper is drawn first, shaded, as the day's total in the new drug's equivalent.
    """
    from matplotlib.ticker import FuncFormatter

    if ax is None:
        ax = new_axes()
    dates, doses, ideal = _series(schedule)
    start_dose = float(schedule.prescription.start_dose)
    top = start_dose
    # the starting dose, drawn faintly for a short while before the first cut
    lead_days = max(7, schedule.duration_days // 25)
    lead = [
        day_number(schedule.start_date - timedelta(days=lead_days)),
        day_number(schedule.start_date),
    ]
    switch = schedule.switch
    if switch is None:
        ax.plot(
            lead,
            [start_dose, start_dose],
            color="#1f4e79",
            linewidth=2,
            alpha=0.5,
            label=BEFORE,
        )
    else:
        # the switch: the day's total as the new drug's equivalent, stage by stage
        before = switch.start_date - timedelta(days=lead_days)
        lead = [day_number(before), day_number(switch.start_date)]
        equivalent = float(switch.start_equivalent)
        top = max(top, equivalent)
        ax.plot(
            lead,
            [equivalent, equivalent],
            color="#548235",
            linewidth=2,
            alpha=0.5,
            label=f"{switch.from_drug} before the switch, as {switch.to_drug} equivalent",
        )
        ax.plot(
            [day_number(s.start) for s in switch.stages] + [day_number(schedule.start_date)],
            [float(s.equivalent) for s in switch.stages] + [start_dose],
            drawstyle="steps-post",
            color="#548235",
            linewidth=2,
            label=f"switch from {switch.from_drug}, as {switch.to_drug} equivalent",
        )
        ax.axvspan(
            day_number(switch.start_date),
            day_number(schedule.start_date),
            color="#e2efda",
            alpha=0.7,
            linewidth=0,
        )
    ax.plot(dates, doses, drawstyle="steps-post", color="#1f4e79", linewidth=2, label=REALISED)
    if schedule.replan is not None:
        # the history, as first planned, drawn over in grey up to the re-plan
        kept = schedule.replan.history
        ax.plot(
            dates[: kept + 1],
            [*doses[:kept], doses[kept]],
            drawstyle="steps-post",
            color="#9aa5b1",
            linewidth=2.4,
            label=HISTORY,
        )
        ax.axvline(
            day_number(schedule.replan.on),
            color="#c55a11",
            linewidth=1,
            linestyle=":",
            label=f"re-planned {schedule.replan.on.isoformat()}",
        )
    ax.plot(
        dates,
        ideal,
        drawstyle="steps-post",
        color="#c55a11",
        linewidth=1.2,
        linestyle="--",
        label=IDEAL,
    )
    for step in schedule.steps:
        if step.held:
            ax.axvspan(
                day_number(step.start),
                day_number(step.end + timedelta(days=1)),
                color="#d9d9d9",
                alpha=0.6,
                linewidth=0,
                label=HOLD if not any(p.get_label() == HOLD for p in ax.patches) else "_hold",
            )
    from ..validation import forced_steps, stop_of

    changed = sorted(
        {f.step for f in schedule.findings if f.code == "target-adjusted" and f.step is not None}
    )
    _mark(ax, schedule, changed, "o", 4, "#c55a11", CHANGED)
    _mark(ax, schedule, forced_steps(schedule), "v", 6, "#7030a0", FORCED)
    stop = stop_of(schedule)
    where = "the smallest dose the products make" if not stop.above_terminal else "as asked"
    ax.plot(
        [day_number(schedule.stop_date)],
        [float(stop.from_mg)],
        linestyle="none",
        marker="X",
        markersize=6,
        color="#1f4e79",
        label=f"stop from {format_mg(stop.from_mg)}/day ({where})",
    )
    ax.set_ylim(0, top * 1.08)
    ax.set_xlim(lead[0], day_number(schedule.stop_date + timedelta(days=max(2, len(dates) // 10))))
    ax.set_ylabel("mg a day")
    date_ticks(ax)
    ax.yaxis.set_major_formatter(FuncFormatter(ismp_tick))

    def to_pct(mg: Any) -> Any:
        return mg / start_dose * 100

    def to_mg(pct: Any) -> Any:
        return pct * start_dose / 100

    second = ax.secondary_yaxis("right", functions=(to_pct, to_mg))
    second.set_ylabel("% of the starting dose")
    second.yaxis.set_major_formatter(FuncFormatter(ismp_tick))
    ax.grid(True, axis="y", color="#e0e0e0", linewidth=0.6)
    ax.set_axisbelow(True)
    drug = schedule.drug_display or schedule.prescription.drug
    if switch is not None:
        drug = f"{switch.from_drug} {format_mg(switch.from_dose)}/day, switched to {drug}"
    ax.set_title(
        f"{drug} from {format_mg(schedule.prescription.start_dose)}/day: {schedule.rule_name}",
        fontsize=10,
        loc="left",
    )
    # below the axes, where it hides no line, however short the plan
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8, frameon=False)
    return ax


#: the label of the dose taken before the first cut
BEFORE = "the dose before the first cut"


def ismp_tick(value: float, _position: object = None) -> str:
    """A tick's number the ISMP way: no trailing zero, a leading zero (``0.5``, ``2``)."""
    return format_number(Decimal(f"{value:.4f}"))


def date_ticks(ax: Axes) -> None:
    """Dates that read as dates: ``4 Jan``, ``Feb 2027`` at a month's start, years alone."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(
        ConciseDateFormatter(  # type: ignore[no-untyped-call]
            locator,
            formats=["%Y", "%b %Y", "%-d %b", "%H:%M", "%H:%M", "%S"],
            zero_formats=["", "%b %Y", "%b %Y", "%H:%M", "%H:%M", "%H:%M"],
            offset_formats=["", "", "", "", "", ""],
        )
    )


def _mark(
    ax: Axes, schedule: Schedule, steps: list[int], marker: str, size: int, color: str, label: str
) -> None:
    """A point at the start of each of these steps, at its dose."""
    if not steps:
        return
    by_number = {s.number: s for s in schedule.steps}
    ax.plot(
        [day_number(by_number[n].start) for n in steps],
        [float(by_number[n].dose) for n in steps],
        linestyle="none",
        marker=marker,
        markersize=size,
        color=color,
        label=label,
    )


def chart_figure(schedule: Schedule, width: float = 8, height: float = 3.6) -> Figure:
    """A new figure holding the schedule's chart."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    plot_schedule(schedule, fig.subplots())
    return fig


def chart_bytes(
    schedule: Schedule, fmt: str = "png", width: float = 8, height: float = 3.6, dpi: int = 150
) -> bytes:
    """The chart as PNG or SVG bytes, the same for the same schedule."""
    import matplotlib

    fig = chart_figure(schedule, width, height)
    out = io.BytesIO()
    # fixed metadata and ids, so the same schedule gives the same bytes
    metadata: dict[str, str | None] = (
        {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
    )
    with matplotlib.rc_context({"svg.hashsalt": "taper", "svg.fonttype": "path"}):
        fig.savefig(out, format=fmt, dpi=dpi, metadata=metadata)
    return out.getvalue()


def write_chart(schedule: Schedule, path: str | Path) -> None:
    """Write the chart to ``path`` (``.png`` or ``.svg``) atomically."""
    suffix = Path(path).suffix.lower().lstrip(".")
    write_atomic(path, chart_bytes(schedule, suffix))
