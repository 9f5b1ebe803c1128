"""Reduction rules: small frozen objects that say what the next dose should be.

A rule is a *pace* (how far and how often to cut) wrapped in a :class:`Rule`
with the limits that surround it: a cap on any single cut, holds, a final
dose, which administration to cut first, and the drugs it was written for.
Rules give ideal doses; :mod:`taper.planner` makes them from real products.

Notation follows ``clinical.md`` §4: ``D`` the current daily dose, ``D0`` the
starting daily dose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .dispensing import CUT_ORDERS
from .doses import (
    format_mg,
    format_number,
    normalize,
    parse_days,
    parse_dose,
    parse_percent,
    quantize_target,
)
from .errors import CatalogError, InputError, UnknownNameError
from .textfile import read_toml
from .wording import option

if TYPE_CHECKING:
    from pathlib import Path

#: The 2025 Joint Clinical Practice Guideline: the pace should typically not
#: exceed 25 % every 2 weeks (Recommendation 6; ASAM et al., J Gen Intern Med 2025).
GUIDELINE_CAP = Decimal("0.25")
GUIDELINE_SOURCE = (
    "Joint Clinical Practice Guideline on Benzodiazepine Tapering "
    "(ASAM and nine societies, J Gen Intern Med), 2025, Recommendation 6"
)
#: the longest a step is lengthened to keep a rule's pace after a steeper cut than it asked
#: (12 weeks): taper's own bound, not a figure from a source, so that no plan holds one dose
#: for months on end; ``--longest-step`` changes it
LONGEST_STEP_DAYS = 84


def _pct(fraction: Decimal) -> str:
    return f"{format_number(fraction * 100)} %"


def _every(days: int) -> str:
    return "every day" if days == 1 else f"every {days} days"


@dataclass(frozen=True)
class Proposal:
    """The rule's ideal next daily dose (``target`` <= 0 means stop) and its interval."""

    target: Decimal
    days: int
    #: whether the pace is proportional (a share of the current dose): a steeper cut is
    #: then stretched in log terms, else in milligrams
    proportional: bool = False


class Pace:
    """How far and how often to cut; subclasses are frozen dataclasses."""

    def propose(self, current: Decimal, start: Decimal) -> Proposal:
        """The ideal next dose from ``current`` (the plan started at ``start``)."""
        raise NotImplementedError

    def describe(self) -> str:
        """The pace in plain words."""
        raise NotImplementedError

    def with_interval(self, days: int) -> Pace:
        """The same pace at another interval."""
        raise NotImplementedError


def _check_interval(days: int) -> None:
    if not isinstance(days, int) or not 1 <= days <= 3650:
        raise InputError("every", days, "an interval of 1 to 3650 days")


def _check_fraction(fraction: Decimal, name: str = "cut") -> None:
    if not isinstance(fraction, Decimal) or not Decimal(0) < fraction < 1:
        raise InputError(name, fraction, "a cut above 0 % and below 100 %")


@dataclass(frozen=True)
class PercentOfCurrent(Pace):
    """Cut a fraction of the current dose: ``D_next = D * (1 - fraction)``.

    Examples
    --------
    >>> PercentOfCurrent(Decimal("0.1"), 14).propose(Decimal(2), Decimal(2))
    Proposal(target=Decimal('1.8'), days=14, proportional=True)
    """

    fraction: Decimal
    every_days: int

    def __post_init__(self) -> None:
        _check_fraction(self.fraction)
        _check_interval(self.every_days)

    def propose(self, current: Decimal, start: Decimal) -> Proposal:
        return Proposal(quantize_target(current * (1 - self.fraction)), self.every_days, True)

    def describe(self) -> str:
        return f"cut {_pct(self.fraction)} of the current dose {_every(self.every_days)}"

    def with_interval(self, days: int) -> Pace:
        return replace(self, every_days=days)


@dataclass(frozen=True)
class PercentOfStart(Pace):
    """Cut a fraction of the starting dose: ``D_next = D - fraction * D0``."""

    fraction: Decimal
    every_days: int

    def __post_init__(self) -> None:
        _check_fraction(self.fraction)
        _check_interval(self.every_days)

    def propose(self, current: Decimal, start: Decimal) -> Proposal:
        return Proposal(quantize_target(current - self.fraction * start), self.every_days)

    def describe(self) -> str:
        return f"cut {_pct(self.fraction)} of the starting dose {_every(self.every_days)}"

    def with_interval(self, days: int) -> Pace:
        return replace(self, every_days=days)


@dataclass(frozen=True)
class FixedAmount(Pace):
    """Cut a fixed amount of the daily dose: ``D_next = D - amount``.

    Examples
    --------
    >>> FixedAmount(Decimal("0.25"), 3).propose(Decimal("0.25"), Decimal(1)).target
    Decimal('0')
    """

    amount_mg: Decimal
    every_days: int

    def __post_init__(self) -> None:
        if not isinstance(self.amount_mg, Decimal) or not self.amount_mg > 0:
            raise InputError("cut", self.amount_mg, "a cut above 0 mg")
        _check_interval(self.every_days)

    def propose(self, current: Decimal, start: Decimal) -> Proposal:
        return Proposal(normalize(current - self.amount_mg), self.every_days)

    def describe(self) -> str:
        return f"cut {format_mg(self.amount_mg)}/day {_every(self.every_days)}"

    def with_interval(self, days: int) -> Pace:
        return replace(self, every_days=days)


@dataclass(frozen=True)
class Band:
    """A pace that applies while the current dose is above ``above_mg``."""

    above_mg: Decimal
    pace: Pace


@dataclass(frozen=True)
class Bands(Pace):
    """A different pace in each dose band; a cut never crosses a band's floor in one step.

    Bands are listed from the highest floor down; the last floor is 0 mg.
    """

    bands: tuple[Band, ...]

    def __post_init__(self) -> None:
        floors = [b.above_mg for b in self.bands]
        if not floors or floors != sorted(floors, reverse=True) or len(set(floors)) != len(floors):
            raise InputError(
                "bands",
                [format_mg(f) for f in floors],
                "bands listed from the highest floor down, each floor once",
            )
        if floors[-1] != 0:
            raise InputError("bands", format_mg(floors[-1]), "the last band must reach 0 mg")

    def propose(self, current: Decimal, start: Decimal) -> Proposal:
        band = next(b for b in self.bands if current > b.above_mg)
        proposal = band.pace.propose(current, start)
        return replace(proposal, target=max(proposal.target, band.above_mg))

    def describe(self) -> str:
        parts = []
        for upper, b in zip((None, *self.bands), self.bands, strict=False):
            where = (
                f"above {format_mg(b.above_mg)}"
                if b.above_mg
                else f"at {format_mg(upper.above_mg)} or less"
                if upper
                else "at any dose"
            )
            parts.append(f"{where}: {b.pace.describe()}")
        return "; ".join(parts)

    def with_interval(self, days: int) -> Pace:
        return replace(
            self, bands=tuple(replace(b, pace=b.pace.with_interval(days)) for b in self.bands)
        )


@dataclass(frozen=True)
class Phase:
    """A pace that applies until the dose falls to ``until_fraction`` of the start."""

    until_fraction: Decimal
    pace: Pace


@dataclass(frozen=True)
class Phases(Pace):
    """A different pace once the dose falls below a fraction of the start.

    Examples
    --------
    >>> rule = Phases((Phase(Decimal("0.2"), PercentOfCurrent(Decimal("0.1"), 14)),
    ...                Phase(Decimal(0), PercentOfCurrent(Decimal("0.05"), 28))))
    >>> rule.propose(Decimal("0.4"), Decimal(2))
    Proposal(target=Decimal('0.38'), days=28, proportional=True)
    """

    phases: tuple[Phase, ...]

    def __post_init__(self) -> None:
        ends = [p.until_fraction for p in self.phases]
        if not ends or ends != sorted(ends, reverse=True) or len(set(ends)) != len(ends):
            raise InputError(
                "phases",
                [format_number(e) for e in ends],
                "phases in order, each ending at a smaller fraction of the start",
            )
        if ends[-1] != 0 or any(not 0 <= e < 1 for e in ends):
            raise InputError(
                "phases",
                format_number(ends[-1]),
                "fractions below 1, and the last phase must run to 0",
            )

    def propose(self, current: Decimal, start: Decimal) -> Proposal:
        phase = next(p for p in self.phases if current > p.until_fraction * start)
        floor = quantize_target(phase.until_fraction * start)
        proposal = phase.pace.propose(current, start)
        return replace(proposal, target=max(proposal.target, floor))

    def describe(self) -> str:
        parts = []
        for p in self.phases:
            if p.until_fraction:
                parts.append(
                    f"{p.pace.describe()} until {_pct(p.until_fraction)} of the start remains"
                )
            else:
                parts.append(f"then {p.pace.describe()}")
        return ", ".join(parts)

    def with_interval(self, days: int) -> Pace:
        return replace(
            self, phases=tuple(replace(p, pace=p.pace.with_interval(days)) for p in self.phases)
        )


@dataclass(frozen=True)
class Hyperbolic(Pace):
    """Equal steps of receptor occupancy, ``occupancy = D / (ED50 + D)``.

    No benzodiazepine ED50 is published in the sources taper ships, so none is
    built in: a protocol must give ``ed50_mg`` with its source.
    """

    ed50_mg: Decimal
    points: Decimal
    every_days: int
    ed50_source: str

    def __post_init__(self) -> None:
        if not isinstance(self.ed50_mg, Decimal) or self.ed50_mg <= 0:
            raise InputError("ed50", self.ed50_mg, "an ED50 above 0 mg")
        if (
            not isinstance(self.points, Decimal)
            or not self.points.is_finite()
            or not Decimal(0) < self.points < 100
        ):
            raise InputError("points", str(self.points), "occupancy points above 0 and below 100")
        if not str(self.ed50_source).strip():
            raise InputError("ed50_source", self.ed50_source, "the ED50 needs its source")
        _check_interval(self.every_days)

    def propose(self, current: Decimal, start: Decimal) -> Proposal:
        occupancy = current / (self.ed50_mg + current) - self.points / 100
        if occupancy <= 0:
            return Proposal(Decimal(0), self.every_days)
        return Proposal(
            quantize_target(self.ed50_mg * occupancy / (1 - occupancy)), self.every_days, True
        )

    def describe(self) -> str:
        return (
            f"lower receptor occupancy by {format_number(self.points)} percentage points "
            f"{_every(self.every_days)} (ED50 {format_mg(self.ed50_mg)}, {self.ed50_source})"
        )

    def with_interval(self, days: int) -> Pace:
        return replace(self, every_days=days)


@dataclass(frozen=True)
class TableRow:
    """One row of a table of doses: a daily dose in mg, or a share of the starting dose, or
    a dose at each time of day, taken for ``days`` days."""

    days: int
    dose_mg: Decimal | None = None
    share: Decimal | None = None
    #: the dose at each time of day, in mg, where the row gives them
    at: tuple[tuple[str, Decimal], ...] = ()

    def daily(self, start: Decimal) -> Decimal:
        """The row's daily dose, in mg, from a starting dose of ``start``."""
        if self.at:
            return normalize(sum((mg for _, mg in self.at), Decimal(0)))
        if self.share is not None:
            return quantize_target(self.share * start)
        assert self.dose_mg is not None
        return self.dose_mg


@dataclass(frozen=True)
class Table(Pace):
    """A table of doses, each for its days: the rows are the plan's steps, each made from the
    products (never above the row's dose), then the stop (:mod:`taper.dosetable`).

    Examples
    --------
    >>> table = Table((TableRow(14, Decimal("1.5")), TableRow(14, share=Decimal("0.5"))))
    >>> [str(row.daily(Decimal(2))) for row in table.rows], table.describe()
    (['1.5', '1'], 'a table of 2 doses over 28 days, then the stop')
    """

    rows: tuple[TableRow, ...]

    def __post_init__(self) -> None:
        if not self.rows:
            raise InputError("steps", "", "a table of at least one dose")

    def propose(self, current: Decimal, start: Decimal) -> Proposal:
        # the next row below the current dose: the table's own doses, read as a pace
        row = next((r for r in self.rows if r.daily(start) < current), None)
        if row is None:
            return Proposal(Decimal(0), 1)
        return Proposal(row.daily(start), row.days)

    def describe(self) -> str:
        days = sum(r.days for r in self.rows)
        shares = all(r.share is not None for r in self.rows)
        what = "shares of the starting dose" if shares else "doses"
        return f"a table of {len(self.rows)} {what} over {days} days, then the stop"

    def with_interval(self, days: int) -> Pace:
        raise InputError("every", days, "a table's rows give their own days")


@dataclass(frozen=True)
class Hold:
    """Stay at a dose (``at_mg``) or a fraction of the start (``at_fraction``) for ``days``."""

    days: int
    at_mg: Decimal | None = None
    at_fraction: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.at_mg is None) == (self.at_fraction is None):
            raise InputError("hold", "", "a hold needs either a dose or a fraction of the start")
        if self.at_fraction is not None and not Decimal(0) < self.at_fraction < 1:
            raise InputError(
                "hold", self.at_fraction, "a fraction of the start above 0 and below 1"
            )
        _check_interval(self.days)

    def level(self, start: Decimal) -> Decimal:
        """The dose held, in mg/day."""
        if self.at_mg is not None:
            return self.at_mg
        assert self.at_fraction is not None
        return quantize_target(self.at_fraction * start)

    def describe(self) -> str:
        at = (
            format_mg(self.at_mg) + "/day"
            if self.at_mg is not None
            else f"{_pct(self.at_fraction or Decimal(0))} of the starting dose"
        )
        return f"hold at {at} for at least {self.days} days"


@dataclass(frozen=True)
class Rule:
    """A reduction rule: a pace and the limits around it.

    Parameters
    ----------
    name
        The rule's name (a preset name, or the protocol's own).
    pace
        How far and how often to cut.
    max_cut
        The largest cut any step but the final stop may make, as a fraction.
    holds
        Doses to stay at for a while on the way down.
    final_mg, final_fraction
        A dose (or fraction of the start) after which the next step is the stop.
    cut_order
        ``even`` (share the day's dose evenly, the larger share at bedtime),
        ``morning-first`` (cut the morning dose to zero before later ones) or
        ``bedtime-last`` (keep the bedtime dose while the others are cut).
    per_dose
        Whether the cut falls equally on each dose of the day (the clonazepam label's
        0.125 mg less at each of two doses), rather than on the day's total.
    longest_step_days
        The longest a step is lengthened to keep the pace after a steeper cut than asked
        (taper's own bound, 84 days by default); a rule's own interval may be longer.
    halve
        Tablets with a break line but no labelled functional score that the clinician
        allows halving (off-licence), as product ids or ``tablet:2mg``.
    end_by
        A date by which the last dose is taken: the pace is replaced, when planned, by the
        same cut of the current dose at each of the rule's intervals, the smallest that
        reaches the terminal dose by then (:mod:`taper.endby`).
    final_note
        Whose final dose ``final_mg`` or ``final_fraction`` is, in words (a published last
        dose, the clinician's), as the plan's stop says it.
    drugs
        The drugs the rule was written for; empty for any drug.
    source
        Where the rule comes from.
    cap_note
        Why the cap is what it is.
    """

    name: str
    pace: Pace
    max_cut: Decimal = GUIDELINE_CAP
    holds: tuple[Hold, ...] = ()
    final_mg: Decimal | None = None
    final_fraction: Decimal | None = None
    cut_order: str = "even"
    drugs: tuple[str, ...] = ()
    source: str = ""
    cap_note: str = field(default="the 2025 Joint Clinical Practice Guideline's upper bound")
    summary: str = ""
    per_dose: bool = False
    longest_step_days: int = LONGEST_STEP_DAYS
    halve: tuple[str, ...] = ()
    final_note: str = ""
    #: a date to end by: the pace becomes the even cut of the current dose that reaches the
    #: terminal dose by then (:mod:`taper.endby`)
    end_by: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.max_cut, Decimal) or not Decimal(0) < self.max_cut < 1:
            raise InputError("max_cut", self.max_cut, "a cap above 0 % and below 100 %")
        days = self.longest_step_days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
            raise InputError("longest_step", days, "a step of 1 to 3650 days")
        if self.cut_order not in CUT_ORDERS:
            raise InputError("cut_order", self.cut_order, f"one of {', '.join(CUT_ORDERS)}")
        if self.final_fraction is not None and not Decimal(0) < self.final_fraction < 1:
            raise InputError("final_dose", self.final_fraction, "a fraction above 0 and below 1")

    def final_level(self, start: Decimal) -> Decimal | None:
        """The dose after which the next step is the stop, if the rule sets one."""
        if self.final_mg is not None:
            return self.final_mg
        if self.final_fraction is not None:
            return quantize_target(self.final_fraction * start)
        if isinstance(self.pace, Table):
            return self.pace.rows[-1].daily(start)  # a table's last row is its last dose
        return None

    def propose(self, current: Decimal, start: Decimal, holds_done: frozenset[int]) -> Proposal:
        """The ideal next dose, stopping at any hold not yet made."""
        proposal = self.pace.propose(current, start)
        target = proposal.target
        for i, hold in enumerate(self.holds):
            level = hold.level(start)
            if i not in holds_done and current > level > target:
                target = level
        return replace(proposal, target=target)

    def halving(self, names: Sequence[str]) -> Rule:
        """The rule that also allows halving the tablets named (ids, any case)."""
        more = tuple(h.strip().lower() for h in names if h.strip())
        return replace(self, halve=(*self.halve, *(h for h in more if h not in self.halve)))

    def describe(self) -> str:
        """The rule in plain words."""
        words = self.summary or self.pace.describe()
        extra = [hold.describe() for hold in self.holds]
        if self.end_by is not None and not self.summary:
            extra.insert(0, f"paced to end by {self.end_by.isoformat()}")
        if self.final_mg is not None:
            extra.append(f"stop after {format_mg(self.final_mg)}/day")
        if self.final_fraction is not None:
            extra.append(f"stop after {_pct(self.final_fraction)} of the starting dose")
        if self.cut_order == "morning-first":
            extra.append("the morning dose is cut to zero before later doses")
        if self.cut_order == "bedtime-last":
            extra.append("the bedtime dose is kept while the other doses are cut")
        if self.halve:
            extra.append(f"halving allowed: {', '.join(self.halve)}")
        if isinstance(self.pace, Table):
            extra.append(f"each cut above {_pct(self.max_cut)} is named in a finding")
        else:
            extra.append(
                f"no cut above {_pct(self.max_cut)} but those the products force, each followed "
                f"by a longer step"
            )
        return "; ".join([words, *extra])


def ideal_steps(rule: Rule, start: Decimal, days: int) -> list[tuple[Decimal, int]]:
    """The rule's doses over ``days`` days from the first cut, on exact numbers, as
    (dose, days) steps.

    No products stand in the way: each step is the rule's target (within its cap) for the
    rule's interval (or a hold's), and after the rule's own stop the dose is zero.
    """
    if isinstance(rule.pace, Table):
        # a table is its own ideal: its rows, then the stop
        rows = [(r.daily(start), r.days) for r in rule.pace.rows]
        kept: list[tuple[Decimal, int]] = []
        for dose, length in rows:
            if days <= 0:
                break
            kept.append((dose, min(length, days)))
            days -= length
        return [*kept, (Decimal(0), days)] if days > 0 else kept
    final = rule.final_level(start)
    out: list[tuple[Decimal, int]] = []
    left = days
    current = start
    holds_done: set[int] = set()
    while left > 0:
        proposal = rule.propose(current, start, frozenset(holds_done))
        target = max(proposal.target, current * (1 - rule.max_cut))
        if proposal.target <= 0 or (final is not None and current <= final and out):
            out.append((Decimal(0), left))
            break
        length = proposal.days
        for i, hold in enumerate(rule.holds):
            if i not in holds_done and target <= hold.level(start):
                holds_done.add(i)
                length = max(length, hold.days)
        out.append((target, min(length, left)))
        left -= length
        current = target
    return out


def ideal_doses(rule: Rule, start: Decimal, days: int) -> list[Decimal]:
    """The rule's dose on each of ``days`` days from the first cut (:func:`ideal_steps`)."""
    return [dose for dose, length in ideal_steps(rule, start, days) for _ in range(length)]


def largest_fall(start: Decimal, daily: list[Decimal], window: int = 14) -> Decimal:
    """The largest fall within ``window`` days of any cut, as a share of the dose before it.

    ``daily`` is the dose on each day from the first cut; the window ends on the series'
    last day at the latest.
    """
    return largest_step_fall(start, [(d, 1) for d in daily], window)


def largest_step_fall(
    start: Decimal, steps: list[tuple[Decimal, int]], window: int = 14
) -> Decimal:
    """:func:`largest_fall` over (dose, days) steps, without a list of days."""
    worst = Decimal(0)
    before = start
    for i, (dose, _) in enumerate(steps):
        if dose < before and before > 0:
            # the dose on the window's last day: walk on from this step, up to the series' end
            left, end = window - 1, dose
            for later, length in steps[i:]:
                end = later
                if left < length:
                    break
                left -= length
            worst = max(worst, (before - end) / before)
        before = dose
    return worst


def _preset(name: str, pace: Pace, source: str, **kw: Any) -> Rule:
    return Rule(name=name, pace=pace, source=source, **kw)


_D = Decimal
#: Built-in presets (clinical.md §4). Rules written for one drug refuse others:
#: their milligram figures mean nothing for another drug.
PRESETS: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        _preset(
            "joint-guideline-2025",
            PercentOfCurrent(_D("0.1"), 14),
            GUIDELINE_SOURCE + " and algorithm card: start with 5 to 10 % every 2 to 4 weeks",
        ),
        _preset(
            "joint-guideline-2025-slow",
            PercentOfCurrent(_D("0.05"), 28),
            GUIDELINE_SOURCE + " and patient guide: slow tapers of 5 % every 2 to 4 weeks",
        ),
        _preset(
            "fda-label-clonazepam",
            FixedAmount(_D("0.25"), 3),
            "Klonopin (clonazepam) US Prescribing Information, rev. 2023: decrease by "
            "0.125 mg twice daily every 3 days until completely withdrawn",
            max_cut=_D("0.5"),
            drugs=("clonazepam",),
            cap_note=(
                "its own fixed steps: 0.25 to 0.125 mg twice daily, the step before the stop, "
                "halves the dose"
            ),
            summary="cut 0.125 mg at each of the two daily doses (0.25 mg/day) every 3 days",
            per_dose=True,
            # the label's last dose: 0.125 mg twice daily, then completely withdrawn
            final_mg=_D("0.25"),
            final_note="the label's last dose",
        ),
        _preset(
            "bnf-eighth",
            PercentOfCurrent(_D("0.125"), 14),
            "NICE Clinical Knowledge Summary, Benzodiazepine and z-drug withdrawal "
            "(adapted from the Ashton Manual): one eighth of the dose fortnightly",
        ),
        _preset(
            "nice-cks-diazepam",
            Bands(
                (
                    Band(_D(20), FixedAmount(_D(2), 14)),
                    Band(_D(5), FixedAmount(_D(1), 14)),
                    Band(_D(0), FixedAmount(_D("0.5"), 14)),
                )
            ),
            "NICE Clinical Knowledge Summary, Benzodiazepine and z-drug withdrawal "
            "(diazepam bands adapted from the Ashton Manual), cautious end of each range",
            max_cut=_D("0.5"),
            drugs=("diazepam",),
            cap_note="its own fixed steps: below 5 mg, 0.5 mg steps halve 1 mg to 0.5 mg",
            # the bands' last dose: 0.5 mg steps to zero end at 0.5 mg/day
            final_mg=_D("0.5"),
            final_note="the bands' last dose",
        ),
        _preset(
            "nhs-scotland-diazepam",
            FixedAmount(_D(1), 14),
            "Scottish Government, Quality Prescribing for Benzodiazepines and z-drugs "
            "2024-2027, reduction schedules: 1 mg steps, morning dose to zero first",
            max_cut=_D("0.5"),
            cut_order="morning-first",
            drugs=("diazepam",),
            cap_note="its own fixed steps: 1 mg steps halve the dose from 2 mg to 1 mg",
            # 1 mg steps to zero: the published schedule's last dose is 1 mg/day
            final_mg=_D(1),
            final_note="the published schedule's last dose",
        ),
        _preset(
            "deprescribing-bzra",
            Phases(
                (
                    Phase(_D("0.25"), PercentOfStart(_D("0.25"), 14)),
                    Phase(_D(0), PercentOfStart(_D("0.125"), 14)),
                )
            ),
            "Pottie et al., Deprescribing benzodiazepine receptor agonists, Can Fam Physician "
            "2018, and the deprescribing.org BZRA algorithm: about 25 % every two weeks, "
            "12.5 % near the end",
            max_cut=_D("0.5"),
            cap_note="its own steps: 25 % of the start becomes 33 % then 50 % of the current dose",
            # the last step leaves 12.5 % of the start, then the stop
            final_fraction=_D("0.125"),
            final_note="the rule's last dose, 12.5 % of the start",
        ),
        _preset(
            "nougg-proportional",
            Phases(
                (
                    Phase(_D("0.2"), PercentOfCurrent(_D("0.1"), 14)),
                    Phase(_D(0), PercentOfCurrent(_D("0.05"), 28)),
                )
            ),
            "Canadian Guideline for Safe and Effective Use of Opioids for Chronic Non-Cancer "
            "Pain (NOUGG), 2010, Appendix B-6: 10 % every 1 to 2 weeks until 20 % remains, "
            "then 5 % every 2 to 4 weeks",
        ),
        _preset(
            "alprazolam-label",
            FixedAmount(_D("0.5"), 3),
            "Xanax and Xanax XR (alprazolam) US labels: decrease by no more than 0.5 mg "
            "every 3 days",
            max_cut=_D("0.5"),
            drugs=("alprazolam", "alprazolam-xr"),
            cap_note="its own fixed steps: 0.5 mg steps halve the dose from 1 mg to 0.5 mg",
        ),
    )
}

#: The default: the most recent multi-society guideline, which covers every
#: benzodiazepine and keeps each cut within its own 25 % cap.
DEFAULT_PRESET = "joint-guideline-2025"


def preset(name: str) -> Rule:
    """A built-in rule by name.

    Raises
    ------
    UnknownNameError
        Naming the presets there are.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownNameError(
            "rule", name, f"presets: {', '.join(PRESETS)}, or a .toml file"
        ) from None


# --- protocol files -------------------------------------------------------


def load_protocol(path: str | Path) -> Rule:
    """Read a clinician's protocol TOML file (format in docs/protocols.md).

    Raises
    ------
    CatalogError
        When the file cannot be read or a key is missing or malformed.
    """
    return parse_protocol(read_toml(path, "rule", CatalogError), str(path))


_PACE_KEYS = ("cut", "bands", "phases", "hyperbolic", "steps")
#: the most tables a protocol's [[bands]], [[phases]], [[holds]] or [[steps]] may hold, and the
#: most rows of a table of doses: taper's own bound, not a clinical figure (a plan makes at
#: most 1,000 steps; a published schedule has tens of rows)
MOST_ROWS = 500


def _at_most(items: list[Any], where: str, kind: str) -> list[Any]:
    if len(items) > MOST_ROWS:
        raise CatalogError(
            where, f"{len(items)} {kind}", f"at most {MOST_ROWS} (taper's own bound)"
        )
    return items


_TOP_KEYS = {
    *_PACE_KEYS,
    "name",
    "source",
    "description",
    "every",
    "of",
    "max_cut",
    "final_dose",
    "cut_order",
    "drugs",
    "holds",
    "halve",
    "longest_step",
    "end_by",
}


def parse_protocol(data: Mapping[str, Any], origin: str = "protocol") -> Rule:
    """Build a :class:`Rule` from a parsed protocol table."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise CatalogError(
            f"{origin}: {unknown[0]}", unknown[0], f"known keys: {', '.join(sorted(_TOP_KEYS))}"
        )
    given = [k for k in _PACE_KEYS if k in data]
    if len(given) != 1:
        raise CatalogError(
            origin,
            ", ".join(given) or "none",
            "give exactly one of cut, bands, phases, hyperbolic or steps",
        )
    try:
        pace = _pace_from(data, given[0], origin)
        kw: dict[str, Any] = {}
        if "max_cut" in data:
            kw["max_cut"] = parse_percent(_text(data, "max_cut", origin), f"{origin}: max_cut")
            kw["cap_note"] = "set by the protocol"
        if "final_dose" in data:
            raw = _text(data, "final_dose", origin)
            if raw.strip().endswith("%"):
                kw["final_fraction"] = parse_percent(raw, f"{origin}: final_dose")
            else:
                kw["final_mg"] = parse_dose(raw, f"{origin}: final_dose")
            kw["final_note"] = "the protocol's final dose"
        if "cut_order" in data:
            kw["cut_order"] = _text(data, "cut_order", origin)
        if "end_by" in data:
            kw["end_by"] = _end_date(data["end_by"], f"{origin}: end_by")
        if "longest_step" in data:
            kw["longest_step_days"] = parse_days(
                _text(data, "longest_step", origin), f"{origin}: longest_step"
            )
        halve = data.get("halve", [])
        if not isinstance(halve, list) or any(not isinstance(h, str) or not h for h in halve):
            raise CatalogError(
                f"{origin}: halve", halve, 'a list of tablets, e.g. ["diazepam-tab-2"]'
            )
        if halve:
            kw["halve"] = tuple(h.strip().lower() for h in halve)
        drugs = data.get("drugs", [])
        if not isinstance(drugs, list) or any(not isinstance(d, str) for d in drugs):
            raise CatalogError(f"{origin}: drugs", drugs, "a list of drug names")
        holds_raw = data.get("holds", [])
        if not isinstance(holds_raw, list):
            raise CatalogError(f"{origin}: holds", holds_raw, "a list of [[holds]] tables")
        _at_most(holds_raw, f"{origin}: holds", "holds")
        holds = tuple(_hold_from(h, f"{origin}: holds[{i + 1}]") for i, h in enumerate(holds_raw))
        from pathlib import Path

        name = data.get("name", Path(origin).stem)
        if not isinstance(name, str) or not name.strip():
            raise CatalogError(f"{origin}: name", name, "a name is required")
        return Rule(
            name=name,
            pace=pace,
            holds=holds,
            drugs=tuple(d.lower() for d in drugs),
            source=str(data.get("source", f"protocol file {Path(origin).name}")),
            summary=str(data.get("description", "")),
            **kw,
        )
    except InputError as exc:
        if exc.field.startswith(origin):
            raise CatalogError(exc.field, exc.given, exc.allowed, exc.hint) from None
        raise CatalogError(f"{origin}: {exc.field}", exc.given, exc.allowed, exc.hint) from None


def _text(data: Mapping[str, Any], key: str, origin: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise CatalogError(f"{origin}: {key}", value, 'text is required, e.g. "10%" or "14d"')
    return value


def _end_date(value: object, field: str) -> date:
    """An end date: a TOML date, or text written YYYY-MM-DD."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(field, str(value), "a date written YYYY-MM-DD") from None


def _known(body: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    """Refuse a key ``body`` does not know: a misspelt key would change the rule unseen."""
    unknown = sorted(set(body) - set(keys))
    if unknown:
        raise CatalogError(f"{where}.{unknown[0]}", unknown[0], f"known keys: {', '.join(keys)}")


def _simple_pace(data: Mapping[str, Any], origin: str) -> Pace:
    cut = _text(data, "cut", origin)
    every = parse_days(_text(data, "every", origin), f"{origin}: every")
    of = data.get("of", "current")
    if cut.strip().endswith("%"):
        fraction = parse_percent(cut, f"{origin}: cut")
        if of == "current":
            return PercentOfCurrent(fraction, every)
        if of == "start":
            return PercentOfStart(fraction, every)
        raise CatalogError(f"{origin}: of", of, "current or start")
    if "of" in data:
        raise CatalogError(f"{origin}: of", of, "only a percentage cut takes 'of'")
    return FixedAmount(parse_dose(cut, f"{origin}: cut"), every)


#: the keys of a table's row: its days, then a daily dose, a share of the start, or a dose at
#: each time of day
ROW_KEYS = ("days", "dose", "share", "morning", "midday", "evening", "bedtime")


def table_row(cells: Mapping[str, object], where: str) -> TableRow:
    """One row of a table of doses, from a ``[[steps]]`` table or a CSV row's cells."""
    given = {k: v for k, v in cells.items() if v not in (None, "")}
    unknown = sorted(set(given) - set(ROW_KEYS))
    if unknown:
        raise InputError(f"{where}.{unknown[0]}", unknown[0], f"known keys: {', '.join(ROW_KEYS)}")
    if "days" not in given:
        raise InputError(f"{where}.days", "", "the days the row lasts, such as 14d")
    raw_days = str(given["days"]).strip()
    days = parse_days(raw_days if not raw_days.isdigit() else f"{raw_days}d", f"{where}.days")
    times = tuple(t for t in ROW_KEYS[3:] if t in given)
    kinds = [k for k in ("dose", "share") if k in given] + (["times of day"] if times else [])
    if len(kinds) != 1:
        raise InputError(
            where,
            ", ".join(kinds) or "none",
            "one of dose, share, or a dose at each time of day (morning, bedtime...)",
        )
    if "share" in given:
        raw = str(given["share"]).strip()
        share = parse_percent(raw if raw.endswith("%") else f"{raw}%", f"{where}.share")
        return TableRow(days, share=share)
    if "dose" in given:
        return TableRow(days, dose_mg=_row_dose(given["dose"], f"{where}.dose"))
    return TableRow(days, at=tuple((t, _row_dose(given[t], f"{where}.{t}", True)) for t in times))


def _row_dose(raw: object, where: str, zero: bool = False) -> Decimal:
    """A row's dose: ``1.5 mg``, or a plain number read as mg; above zero, or zero at a
    time of day (``zero``) that takes nothing."""
    text = str(raw).strip()
    if zero and text in ("0", "0 mg", "0mg"):
        return Decimal(0)
    return parse_dose(text if not text.replace(".", "", 1).isdigit() else f"{text} mg", where)


def load_table(path: str | Path) -> Rule:
    """A rule from a CSV table of doses: a row per step, with ``days`` and one of ``dose``
    (mg a day), ``share`` (of the starting dose, ``75%``) or a dose at each time of day
    (``morning``, ``bedtime``...). The rule is named after the file."""
    from pathlib import Path as P

    from .textfile import comma_hint, csv_records, one_column_header, read_text

    name = str(path)
    text = read_text(path, "rule", "CSV", CatalogError)
    records = [r for r in csv_records(text, lambda why: CatalogError(name, "", why)) if r]
    header = [h.strip().lower() for h in (records[0] if records else [])]
    if "days" not in header:
        hint = f"; {comma_hint(header)}" if header and one_column_header(header) else ""
        raise CatalogError(f"{name}: days", ",".join(header), f"a days column{hint}")
    rows = []
    for number, cells in enumerate(records[1:], start=2):
        clean = {k: cells[i].strip() if i < len(cells) else "" for i, k in enumerate(header) if k}
        if not any(clean.values()):
            continue
        try:
            rows.append(table_row(clean, f"{name}: row {number}"))
        except InputError as exc:
            raise CatalogError(exc.field, exc.given, exc.allowed, exc.hint) from None
    if not rows:
        raise CatalogError(name, "", "a table of at least one row of doses")
    _at_most(rows, name, "rows")
    return Rule(
        name=P(name).stem,
        pace=Table(tuple(rows)),
        source=f"table file {P(name).name}",
    )


def _pace_from(data: Mapping[str, Any], kind: str, origin: str) -> Pace:
    if kind == "cut":
        return _simple_pace(data, origin)
    if kind == "steps":
        items = data["steps"]
        if not isinstance(items, list) or not items:
            raise CatalogError(f"{origin}: steps", items, "a list of [[steps]] tables")
        _at_most(items, f"{origin}: steps", "steps")
        rows = []
        for i, item in enumerate(items):
            where = f"{origin}: steps[{i + 1}]"
            if not isinstance(item, dict):
                raise CatalogError(where, item, "a table")
            rows.append(table_row(item, where))
        return Table(tuple(rows))
    if kind == "hyperbolic":
        body = data["hyperbolic"]
        if not isinstance(body, dict):
            raise CatalogError(f"{origin}: hyperbolic", body, "a [hyperbolic] table")
        where = f"{origin}: hyperbolic"
        _known(body, ("ed50", "ed50_source", "every", "points"), where)
        points = _text(body, "points", where)
        try:
            points_value = normalize(Decimal(points))
        except ArithmeticError:
            points_value = Decimal("NaN")
        if not points_value.is_finite() or not Decimal(0) < points_value < 100:
            raise CatalogError(
                f"{where}.points", points, 'occupancy points above 0 and below 100, e.g. "2.5"'
            )
        return Hyperbolic(
            ed50_mg=parse_dose(_text(body, "ed50", where), f"{where}.ed50"),
            points=points_value,
            every_days=parse_days(_text(body, "every", where), f"{where}.every"),
            ed50_source=_text(body, "ed50_source", where),
        )
    items = data[kind]
    if not isinstance(items, list) or not items:
        raise CatalogError(f"{origin}: {kind}", items, f"a list of [[{kind}]] tables")
    _at_most(items, f"{origin}: {kind}", kind)
    if kind == "bands":
        bands = []
        for i, b in enumerate(items):
            where = f"{origin}: bands[{i + 1}]"
            if not isinstance(b, dict):
                raise CatalogError(where, b, "a table")
            _known(b, ("above", "cut", "every", "of"), where)
            above = b.get("above", "0 mg")
            floor = (
                Decimal(0) if above in ("0", "0 mg") else parse_dose(str(above), f"{where}.above")
            )
            bands.append(Band(floor, _simple_pace(b, where)))
        return Bands(tuple(bands))
    phases = []
    for i, p in enumerate(items):
        where = f"{origin}: phases[{i + 1}]"
        if not isinstance(p, dict):
            raise CatalogError(where, p, "a table")
        _known(p, ("until", "cut", "every", "of"), where)
        until = p.get("until")
        fraction = Decimal(0) if until is None else parse_percent(str(until), f"{where}.until")
        phases.append(Phase(fraction, _simple_pace(p, where)))
    return Phases(tuple(phases))


def _hold_from(body: object, where: str) -> Hold:
    if not isinstance(body, dict):
        raise CatalogError(where, body, "a table with at and days")
    _known(body, ("at", "days"), where)
    at = body.get("at")
    if not isinstance(at, str):
        raise CatalogError(f"{where}.at", at, 'a dose such as "1 mg" or a share such as "50%"')
    days = parse_days(_text(body, "days", where), f"{where}.days")
    if at.strip().endswith("%"):
        return Hold(days, at_fraction=parse_percent(at, f"{where}.at"))
    return Hold(days, at_mg=parse_dose(at, f"{where}.at"))


def parse_hold(text: str) -> Hold:
    """Read an inline hold, ``1mg:28d`` or ``50%:28d``.

    Examples
    --------
    >>> parse_hold("1mg:28d").describe()
    'hold at 1 mg/day for at least 28 days'
    """
    at, sep, days = str(text).partition(":")
    if not sep:
        raise InputError("hold", text, "give DOSE:DAYS, such as 1mg:28d or 50%:28d")
    if at.strip().endswith("%"):
        return Hold(parse_days(days, "hold"), at_fraction=parse_percent(at, "hold"))
    return Hold(parse_days(days, "hold"), at_mg=parse_dose(at, "hold"))


def _has_suffix(name: str) -> bool:
    from pathlib import Path  # here, not at the top: presets need no path

    return bool(Path(name).suffix)


def build_rule(
    rule: Rule | str | None = None,
    reduce: str | None = None,
    every: str | None = None,
    holds: tuple[str, ...] = (),
    max_cut: str | None = None,
    final_dose: str | None = None,
    longest_step: str | None = None,
    halve: tuple[str, ...] = (),
    end_by: str | date | None = None,
) -> Rule:
    """A rule from the CLI's choices: a preset or protocol file, then inline overrides.

    ``reduce`` (``10%`` or ``0.25mg``) replaces the rule's pace; ``every`` alone
    changes its interval; ``holds`` add holds; ``max_cut`` replaces the cap;
    ``longest_step`` the bound on a lengthened step; ``halve`` adds tablets the
    clinician allows halving; ``end_by`` a date to end by.

    Examples
    --------
    >>> build_rule(reduce="0.25mg", every="2w").describe().split(";")[0]
    'cut 0.25 mg/day every 14 days'
    """
    if rule is None:
        base = PRESETS[DEFAULT_PRESET]
    elif isinstance(rule, Rule):
        base = rule
    elif rule.lower().endswith(".csv"):
        base = load_table(rule)
    elif rule.lower().endswith(".toml") or "/" in rule or _has_suffix(rule):
        base = load_protocol(rule)
    else:
        base = preset(rule)
    if reduce is not None:
        days = parse_days(every, "every") if every is not None else simple_interval(base)
        if reduce.strip().endswith("%"):
            pace: Pace = PercentOfCurrent(parse_percent(reduce, "reduce"), days)
        else:
            pace = FixedAmount(parse_dose(reduce, "reduce"), days)
        name = "custom" if rule is None else f"{base.name} (modified)"
        base = replace(
            base,
            pace=pace,
            name=name,
            summary="",
            source=base.source if rule else "clinician's own rule",
        )
    elif every is not None:
        base = replace(
            base,
            pace=base.pace.with_interval(parse_days(every, "every")),
            name=f"{base.name} (modified)",
            summary="",
        )
    if holds:
        base = replace(base, holds=base.holds + tuple(parse_hold(h) for h in holds))
    if max_cut is not None:
        base = replace(
            base, max_cut=parse_percent(max_cut, "max_cut"), cap_note="set by the clinician"
        )
    if longest_step is not None:
        base = replace(base, longest_step_days=parse_days(longest_step, "longest_step"))
    if halve:
        base = base.halving(halve)
    if end_by is not None:
        base = replace(base, end_by=_end_date(end_by, "end_by"))
    if final_dose is not None:
        if final_dose.strip().endswith("%"):
            base = replace(
                base, final_fraction=parse_percent(final_dose, "final_dose"), final_mg=None
            )
        else:
            base = replace(base, final_mg=parse_dose(final_dose, "final_dose"), final_fraction=None)
        base = replace(base, final_note=f"the clinician's final dose ({option('final_dose')})")
    return base


def simple_interval(rule: Rule) -> int:
    """The rule's one interval between cuts, in days; a usage error where it has several."""
    days = getattr(rule.pace, "every_days", None)
    if isinstance(days, int):
        return days
    raise InputError("every", "", "give {every} with {reduce} when the rule has several intervals")


def cap_source(rule: Rule) -> str:
    """Where the rule's cap comes from: the guideline, or the rule's own source."""
    if rule.cap_note.startswith("the 2025"):
        return GUIDELINE_SOURCE
    return f"{rule.source} ({rule.cap_note})" if rule.source else rule.cap_note
