"""How closely a dispensable schedule follows its rule: taper.fidelity(schedule).

The rule is replayed on exact numbers, with no products in the way, to give
the ideal dose on each day; the schedule's realised dose is compared with it
day by day. The measures are the ones a clinician asks of a planner: how big
the largest cut and the fastest two weeks are against the rule's, how far the
doses stray from the ideal, and what it costs in tablets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from .doses import format_number, format_percent, normalize
from .rules import ideal_doses as rule_ideal
from .rules import largest_fall
from .schedule import Schedule

#: the window the 2025 Joint Clinical Practice Guideline states its pace over
WINDOW_DAYS = 14


@dataclass(frozen=True)
class Fidelity:
    """How closely a schedule follows its rule (fractions are of 1, doses in mg/day)."""

    largest_cut: Decimal
    rule_largest_cut: Decimal
    largest_pace: Decimal
    rule_largest_pace: Decimal
    mean_gap_mg: Decimal
    largest_gap_mg: Decimal
    mean_gap_of_start: Decimal
    units_per_day_mean: Decimal
    units_per_day_max: int
    products_per_day_max: int
    products_in_all: int
    steps: int
    steps_changed: int
    #: a switch before the taper: its stages, and how far the day's equivalent fell during it
    #: because the new drug's products could not make each dose's equivalent
    switch_stages: int = 0
    switch_fall: Decimal = Decimal(0)
    #: the cuts the products forced (above the cap, nothing between), and the largest of them
    forced_cuts: int = 0
    largest_forced_cut: Decimal = Decimal(0)
    #: the stop: the dose the plan stops from, the smallest daily dose its products make, and
    #: the days at the last dose before the stop
    stop_mg: Decimal = Decimal(0)
    terminal_mg: Decimal = Decimal(0)
    stop_after_days: int = 0

    def as_dict(self) -> dict[str, str | int]:
        """The measures as plain data, decimals as exact strings."""
        return {
            k: (v if isinstance(v, int) else format_number(v).replace(",", ""))
            for k, v in asdict(self).items()
        }

    def __str__(self) -> str:
        return "\n".join(
            [
                f"largest cut {format_percent(self.largest_cut)} % "
                f"(the rule's: {format_percent(self.rule_largest_cut)} %)",
                f"fastest {WINDOW_DAYS} days {format_percent(self.largest_pace)} % "
                f"(the rule's: {format_percent(self.rule_largest_pace)} %)",
                f"gap from the ideal dose: mean {format_number(self.mean_gap_mg)} mg/day "
                f"({format_percent(self.mean_gap_of_start)} % of the start), largest "
                f"{format_number(self.largest_gap_mg)} mg/day",
                f"units a day: mean {format_number(self.units_per_day_mean)}, most "
                f"{self.units_per_day_max}; products a day: most {self.products_per_day_max}, "
                f"{self.products_in_all} in all",
                f"steps the products changed: {self.steps_changed} of {self.steps}",
                (
                    f"forced cuts: {self.forced_cuts}, the largest "
                    f"{format_percent(self.largest_forced_cut)} %"
                    if self.forced_cuts
                    else "forced cuts: none"
                ),
                f"stop: from {format_number(self.stop_mg)} mg/day after {self.stop_after_days} "
                f"days ("
                + (
                    "the smallest daily dose the products make"
                    if self.stop_mg <= self.terminal_mg
                    else f"above the smallest the products make, {format_number(self.terminal_mg)}"
                    f" mg/day"
                )
                + "), a cut of 100 %",
                *(
                    [
                        f"switch: {self.switch_stages} stages, the equivalent falls "
                        f"{format_percent(self.switch_fall)} %"
                    ]
                    if self.switch_stages
                    else []
                ),
            ]
        )


def ideal_doses(schedule: Schedule, days: int) -> list[Decimal]:
    """The rule's dose on each of ``days`` days from the start, on exact numbers."""
    if schedule.rule is None:
        raise ValueError("fidelity: the schedule does not carry its rule")
    return rule_ideal(schedule.rule, schedule.prescription.start_dose, days)


def _daily(schedule: Schedule) -> list[Decimal]:
    return [s.dose for s in schedule.steps for _ in range(s.days)]


def _largest_fall(start: Decimal, doses: list[Decimal]) -> Decimal:
    """The largest fall within any window that starts at a cut, as a share of the dose before."""
    return largest_fall(start, doses, WINDOW_DAYS)


def _switch_fall(schedule: Schedule, share: Decimal) -> Decimal:
    """How far a switch lowered the day's equivalent, as a share of where it started."""
    switch = schedule.switch
    if switch is None or not switch.stages or switch.start_equivalent <= 0:
        return Decimal(0)
    fall = (switch.start_equivalent - switch.stages[-1].equivalent) / switch.start_equivalent
    return normalize(fall.quantize(share))


def fidelity(schedule: Schedule) -> Fidelity:
    """Measure how closely ``schedule`` follows its rule.

    Examples
    --------
    >>> from taper import plan
    >>> f = fidelity(plan("clonazepam", "2 mg", start="2027-01-04"))
    >>> f.steps_changed > 0, f.forced_cuts, str(f.largest_forced_cut), str(f.stop_mg)
    (True, 2, '0.5', '0.125')
    """
    from .validation import forced_steps, terminal_dose

    realised = _daily(schedule)
    ideal = ideal_doses(schedule, len(realised))
    forced = forced_steps(schedule)
    start = schedule.prescription.start_dose
    cuts = [s.cut for s in schedule.steps]
    ideal_cuts = [
        (a - b) / a for a, b in zip([start, *ideal], ideal, strict=False) if b < a and b > 0
    ]
    gaps = [abs(r - i) for r, i in zip(realised, ideal, strict=True)]
    units = [sum(u.pieces for a in s.administrations for u in a.units) for s in schedule.steps]
    products = [
        len({u.product.id for a in s.administrations for u in a.units}) for s in schedule.steps
    ]
    total_days = len(realised)
    mean_units = sum(
        (Decimal(n) * s.days for n, s in zip(units, schedule.steps, strict=True)), Decimal(0)
    )
    mean_gap = sum(gaps, Decimal(0)) / total_days
    q = Decimal("0.0001")
    share = Decimal("0.001")  # cuts and paces to a tenth of a percent
    return Fidelity(
        largest_cut=normalize(max(cuts).quantize(share)),
        rule_largest_cut=normalize(max(ideal_cuts, default=Decimal(0)).quantize(share)),
        largest_pace=normalize(_largest_fall(start, realised).quantize(share)),
        rule_largest_pace=normalize(_largest_fall(start, ideal).quantize(share)),
        mean_gap_mg=normalize(mean_gap.quantize(q)),
        largest_gap_mg=normalize(max(gaps).quantize(q)),
        mean_gap_of_start=normalize((mean_gap / start).quantize(q)),
        units_per_day_mean=normalize((mean_units / total_days).quantize(Decimal("0.01"))),
        units_per_day_max=max(units),
        products_per_day_max=max(products),
        products_in_all=len(
            {u.product.id for s in schedule.steps for a in s.administrations for u in a.units}
        ),
        steps=len(schedule.steps),
        steps_changed=len({f.step for f in schedule.findings if f.code == "target-adjusted"}),
        switch_stages=len(schedule.switch.stages) if schedule.switch else 0,
        switch_fall=_switch_fall(schedule, share),
        forced_cuts=len(forced),
        largest_forced_cut=normalize(
            max((s.cut for s in schedule.steps if s.number in forced), default=Decimal(0)).quantize(
                share
            )
        ),
        stop_mg=schedule.steps[-1].dose,
        terminal_mg=terminal_dose(schedule.products, schedule.max_units) or Decimal(0),
        stop_after_days=schedule.steps[-1].days,
    )
