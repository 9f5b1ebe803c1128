"""The schedule as a chart: realised daily dose over calendar dates.

matplotlib is imported here only, when a chart is asked for. The chart is
drawn on a :class:`matplotlib.figure.Figure` (never pyplot), so nothing is
shown and no global figure state is left behind.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Line:
    """A line of the chart: a dose over dates, as steps (each value held to the next date)."""

    label: str
    days: tuple[date, ...]
    values: tuple[float, ...]
    color: str
    width: float
    dash: bool = False
    alpha: float = 1.0
    steps: bool = True


@dataclass(frozen=True)
class Span:
    """A shaded stretch of dates (a hold, a switch), labelled where ``label`` is given."""

    first: date
    end: date
    color: str
    alpha: float
    label: str = ""


@dataclass(frozen=True)
class Marks:
    """Points marking steps: ``marker`` is ``o`` (a circle), ``v`` (a triangle) or ``X``."""

    label: str
    days: tuple[date, ...]
    values: tuple[float, ...]
    marker: str
    size: float
    color: str


@dataclass(frozen=True)
class Rule:
    """A vertical dotted line at a date (the day of a re-plan)."""

    label: str
    day: date
    color: str


@dataclass(frozen=True)
class Model:
    """What the chart shows, whatever draws it: matplotlib for PNG, SVG and notebooks,
    reportlab for the PDF. Layers are drawn in order; every labelled one is in the legend."""

    title: str
    start_dose: float
    top: float
    first: date
    last: date
    layers: tuple[Line | Span | Marks | Rule, ...]


def chart_model(schedule: Schedule) -> Model:
    """The schedule's chart as layers: the dose before the first cut, a switch's stages, the
    dose taken, a re-plan's history, the rule's ideal dose, holds, the steps where products
    changed or forced a dose, and the stop."""
    from ..validation import forced_steps, stop_of

    days = tuple([s.start for s in schedule.steps] + [schedule.stop_date])
    doses = tuple([float(s.dose) for s in schedule.steps] + [0.0])
    ideal = tuple([max(float(s.target), 0.0) for s in schedule.steps] + [0.0])
    start_dose = float(schedule.prescription.start_dose)
    top = start_dose
    lead_days = max(7, schedule.duration_days // 25)
    layers: list[Line | Span | Marks | Rule] = []
    switch = schedule.switch
    if switch is None:
        # the starting dose, drawn faintly for a short while before the first cut
        first = schedule.start_date - timedelta(days=lead_days)
        layers.append(
            Line(
                BEFORE,
                (first, schedule.start_date),
                (start_dose, start_dose),
                "#1f4e79",
                2,
                alpha=0.5,
                steps=False,
            )
        )
    else:
        # the switch: the day's total as the new drug's equivalent, stage by stage
        first = switch.start_date - timedelta(days=lead_days)
        equivalent = float(switch.start_equivalent)
        top = max(top, equivalent)
        layers += [
            Line(
                f"{switch.from_drug} before the switch, as {switch.to_drug} equivalent",
                (first, switch.start_date),
                (equivalent, equivalent),
                "#548235",
                2,
                alpha=0.5,
                steps=False,
            ),
            Line(
                f"switch from {switch.from_drug}, as {switch.to_drug} equivalent",
                tuple([s.start for s in switch.stages] + [schedule.start_date]),
                tuple([float(s.equivalent) for s in switch.stages] + [start_dose]),
                "#548235",
                2,
            ),
            Span(switch.start_date, schedule.start_date, "#e2efda", 0.7),
        ]
    layers.append(Line(REALISED, days, doses, "#1f4e79", 2))
    if schedule.replan is not None:
        # the history, as first planned, drawn over in grey up to the re-plan
        kept = schedule.replan.history
        layers += [
            Line(HISTORY, days[: kept + 1], (*doses[:kept], doses[kept]), "#9aa5b1", 2.4),
            Rule(f"re-planned {schedule.replan.on.isoformat()}", schedule.replan.on, "#c55a11"),
        ]
    layers.append(Line(IDEAL, days, ideal, "#c55a11", 1.2, dash=True))
    held = [s for s in schedule.steps if s.held]
    for k, step in enumerate(held):
        end = step.end + timedelta(days=1)
        layers.append(Span(step.start, end, "#d9d9d9", 0.6, HOLD if k == 0 else ""))
    changed = sorted(
        {f.step for f in schedule.findings if f.code == "target-adjusted" and f.step is not None}
    )
    by_number = {s.number: s for s in schedule.steps}
    for steps, marker, size, color, label in (
        (changed, "o", 4, "#c55a11", CHANGED),
        (forced_steps(schedule), "v", 6, "#7030a0", FORCED),
    ):
        if steps:
            layers.append(
                Marks(
                    label,
                    tuple(by_number[n].start for n in steps),
                    tuple(float(by_number[n].dose) for n in steps),
                    marker,
                    size,
                    color,
                )
            )
    stop = stop_of(schedule)
    where = "the smallest dose the products make" if not stop.above_terminal else "as asked"
    layers.append(
        Marks(
            f"stop from {format_mg(stop.from_mg)}/day ({where})",
            (schedule.stop_date,),
            (float(stop.from_mg),),
            "X",
            6,
            "#1f4e79",
        )
    )
    drug = schedule.drug_display or schedule.prescription.drug
    if switch is not None:
        drug = f"{switch.from_drug} {format_mg(switch.from_dose)}/day, switched to {drug}"
    return Model(
        title=f"{drug} from {format_mg(schedule.prescription.start_dose)}/day: "
        f"{schedule.rule_name}",
        start_dose=start_dose,
        top=top,
        first=first,
        last=schedule.stop_date + timedelta(days=max(2, len(days) // 10)),
        layers=tuple(layers),
    )


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
    model = chart_model(schedule)
    for layer in model.layers:
        if isinstance(layer, Line):
            ax.plot(
                [day_number(d) for d in layer.days],
                list(layer.values),
                drawstyle="steps-post" if layer.steps else "default",
                color=layer.color,
                linewidth=layer.width,
                linestyle="--" if layer.dash else "-",
                alpha=layer.alpha,
                label=layer.label,
            )
        elif isinstance(layer, Span):
            ax.axvspan(
                day_number(layer.first),
                day_number(layer.end),
                color=layer.color,
                alpha=layer.alpha,
                linewidth=0,
                label=layer.label or "_span",
            )
        elif isinstance(layer, Marks):
            ax.plot(
                [day_number(d) for d in layer.days],
                list(layer.values),
                linestyle="none",
                marker=layer.marker,
                markersize=layer.size,
                color=layer.color,
                label=layer.label,
            )
        else:
            ax.axvline(
                day_number(layer.day),
                color=layer.color,
                linewidth=1,
                linestyle=":",
                label=layer.label,
            )
    ax.set_ylim(0, model.top * 1.08)
    ax.set_xlim(day_number(model.first), day_number(model.last))
    ax.set_ylabel("mg a day")
    date_ticks(ax)
    ax.yaxis.set_major_formatter(FuncFormatter(ismp_tick))
    start_dose = model.start_dose

    def to_pct(mg: Any) -> Any:
        return mg / start_dose * 100

    def to_mg(pct: Any) -> Any:
        return pct * start_dose / 100

    second = ax.secondary_yaxis("right", functions=(to_pct, to_mg))
    second.set_ylabel("% of the starting dose")
    second.yaxis.set_major_formatter(FuncFormatter(ismp_tick))
    ax.grid(True, axis="y", color="#e0e0e0", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title(model.title, fontsize=10, loc="left")
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
