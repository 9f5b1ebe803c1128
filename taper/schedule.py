"""The plan's value objects: Schedule, Step, Administration, Finding."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .catalog import Product
from .dispensing import Unit, totals
from .doses import format_mg, normalize
from .rules import Rule

if TYPE_CHECKING:
    from fractions import Fraction

SEVERITIES = ("error", "warning", "info")


#: the days one fill supplies, where none is given (``--fill-days``): four weeks, a common
#: supply of a controlled drug; taper's own default, not a clinical figure
FILL_DAYS = 28
#: the longest fill a plan's supply is counted in: a year
MOST_FILL_DAYS = 366


@dataclass(frozen=True)
class Finding:
    """One thing a clinician should know about a plan, with its source.

    Parameters
    ----------
    severity
        ``error``, ``warning`` or ``info``.
    code
        A stable identifier, documented in docs/findings.md.
    message
        One sentence, with the numbers.
    source
        The label, guideline or table behind it.
    step
        The step it concerns, or ``None`` for the whole plan.
    override
        The clinician's reason for accepting it, when they did.
    """

    severity: str
    code: str
    message: str
    source: str = ""
    step: int | None = None
    override: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity: got {self.severity!r}; one of {', '.join(SEVERITIES)}")

    def sort_key(self) -> tuple[int, int]:
        """Errors first, then warnings, then information; by step within each."""
        return (SEVERITIES.index(self.severity), self.step if self.step is not None else 0)


@dataclass(frozen=True)
class Administration:
    """What is taken at one time of day."""

    time: str
    units: tuple[Unit, ...]

    @cached_property
    def dose(self) -> Decimal:
        """The mg taken at this time: the sum of its units."""
        return normalize(sum((u.dose for u in self.units), Decimal(0)))

    def describe(self, short: bool = False) -> str:
        """``0.75 mg (1½ x clonazepam 0.5 mg tablet)``; without the drug's name when ``short``."""
        what = " + ".join(u.describe(short) for u in self.units)
        return f"{format_mg(self.dose)} ({what})"


@dataclass(frozen=True)
class Step:
    """A dosing period: the same administrations every day from ``start`` for ``days`` days.

    ``target`` is the rule's ideal daily dose for the step; ``dose`` (the sum of
    the administrations) is what is actually taken.
    """

    number: int
    start: date
    days: int
    administrations: tuple[Administration, ...]
    target: Decimal
    previous_dose: Decimal
    rule_days: int
    held: bool = False

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days: got {self.days}; a step lasts at least one day")

    @cached_property
    def dose(self) -> Decimal:
        """The realised daily dose."""
        return normalize(sum((a.dose for a in self.administrations), Decimal(0)))

    @property
    def end(self) -> date:
        """The last day of the step (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    @property
    def cut(self) -> Decimal:
        """The realised cut from the previous daily dose, as a fraction."""
        return (self.previous_dose - self.dose) / self.previous_dose

    def at(self, time: str) -> Administration | None:
        """The administration at ``time``, if anything is taken then."""
        return next((a for a in self.administrations if a.time == time), None)


@dataclass(frozen=True)
class Prescription:
    """What the patient takes now."""

    drug: str
    start_dose: Decimal
    doses_per_day: int
    times: tuple[str, ...]
    start_date: date
    region: str = "us"
    patient: Patient = field(default_factory=lambda: Patient())


@dataclass(frozen=True)
class Patient:
    """What the checks need to know about the patient; all optional."""

    indication: str | None = None
    age: int | None = None
    weight_kg: Decimal | None = None
    use_months: int | None = None

    @property
    def population(self) -> str:
        """``child`` under 18, ``older-adult`` from 65, else ``adult``."""
        if self.age is not None and self.age < 18:
            return "child"
        if self.age is not None and self.age >= 65:
            return "older-adult"
        return "adult"

    def merged(self, other: Patient) -> Patient:
        """Each fact as given here, or else as ``other`` gives it."""
        return Patient(
            self.indication if self.indication is not None else other.indication,
            self.age if self.age is not None else other.age,
            self.weight_kg if self.weight_kg is not None else other.weight_kg,
            self.use_months if self.use_months is not None else other.use_months,
        )


@dataclass(frozen=True)
class Identity:
    """Who the plan is for and who prescribes it, as the clinician gives them; all optional.

    ``record`` is a record or NHS number; ``reference`` a roster row's (``taper batch``).
    Printed on every page of the PDF (with lines to write on where not given) and written to
    the CSV and JSON only where given.
    """

    name: str = ""
    record: str = ""
    born: date | None = None
    prescriber: str = ""
    reference: str = ""

    @property
    def given(self) -> bool:
        """Whether anything is given."""
        return bool(self.name or self.record or self.born or self.prescriber or self.reference)


@dataclass(frozen=True)
class Stage:
    """A week or so of a switch: some administrations already of the new drug, the rest not.

    ``equivalent`` is the day's total in mg of the new drug's equivalent (diazepam).
    """

    number: int
    start: date
    days: int
    administrations: tuple[Administration, ...]
    equivalent: Decimal

    @property
    def end(self) -> date:
        """The last day of the stage (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    def dose_of(self, drug: str) -> Decimal:
        """The mg of ``drug`` taken a day in this stage."""
        return normalize(
            sum(
                (u.dose for a in self.administrations for u in a.units if u.product.drug == drug),
                Decimal(0),
            )
        )

    def at(self, time: str) -> Administration | None:
        """The administration at ``time``, if anything is taken then."""
        return next((a for a in self.administrations if a.time == time), None)


@dataclass(frozen=True)
class Switch:
    """A staged switch from one drug to another, one administration at a time.

    Parameters
    ----------
    from_drug, to_drug
        The drug taken now and the one switched to.
    from_dose
        The daily dose of ``from_drug`` before the switch.
    factor
        mg of ``to_drug`` equivalent to 1 mg of ``from_drug``, by ``table``, to the microgram.
    table, table_title, source
        The equivalence table used, and where it comes from.
    spread
        The lowest and highest equivalent of ``from_dose`` across every table.
    stages
        The stages, contiguous, ending the day before the taper's first cut.
    ratio
        ``factor`` exactly, from the table's published pairs (``None``: ``factor`` is exact).
    max_units
        The pieces allowed per administration during the stages.
    """

    from_drug: str
    to_drug: str
    from_dose: Decimal
    factor: Decimal
    table: str
    table_title: str
    source: str
    spread: tuple[Decimal, Decimal]
    stages: tuple[Stage, ...]
    times: tuple[str, ...]
    indication: str | None = None
    ratio: Fraction | None = None
    max_units: int = 4

    @property
    def exact_ratio(self) -> Fraction:
        """mg of ``to_drug`` per mg of ``from_drug``, exactly."""
        from fractions import Fraction  # here, not at the top: only a switch needs it

        return self.ratio if self.ratio is not None else Fraction(self.factor)

    def equivalent_of(self, from_mg: Decimal, to_mg: Decimal = Decimal(0)) -> Decimal:
        """A day's total as ``to_drug``'s equivalent: ``from_mg`` converted, plus ``to_mg``."""
        from fractions import Fraction

        total = Fraction(from_mg) * self.exact_ratio + Fraction(to_mg)
        exact = Decimal(total.numerator) / Decimal(total.denominator)
        return normalize(exact.quantize(Decimal("0.001")))

    @property
    def start_date(self) -> date:
        """The first day of the switch."""
        return self.stages[0].start

    @property
    def start_equivalent(self) -> Decimal:
        """The starting dose as the new drug's equivalent, by the table used."""
        return self.equivalent_of(self.from_dose)


@dataclass(frozen=True)
class Replan:
    """A re-plan from ``on``: the first ``history`` steps are the plan as it was.

    ``current_dose`` is what the patient actually took on ``on``; ``reinstate`` a dose the
    clinician chose to go back up to; ``hold_days`` a hold before the new rule.
    """

    on: date
    history: int
    current_dose: Decimal
    reason: str = ""
    reinstate: Decimal | None = None
    hold_days: int = 0
    rule_name: str = ""
    rule_description: str = ""
    previous_rule: str = ""

    @property
    def start_dose(self) -> Decimal:
        """The dose the new part starts from."""
        return self.reinstate if self.reinstate is not None else self.current_dose


@dataclass(frozen=True)
class Schedule:
    """A complete taper: contiguous steps from the first cut to the stop.

    Attributes
    ----------
    prescription
        The drug, starting daily dose, doses per day and start date.
    rule_name, rule_description, rule_source
        The rule the plan follows, in plain words, with its source.
    max_cut
        The largest cut any step but the final stop may make (a fraction).
    steps
        The dosing periods; every step's dose is above zero.
    findings
        What the planner had to change or wants the clinician to see.
    """

    prescription: Prescription
    rule_name: str
    rule_description: str
    rule_source: str
    max_cut: Decimal
    steps: tuple[Step, ...]
    findings: tuple[Finding, ...] = ()
    products: tuple[Product, ...] = ()
    catalog_version: str = ""
    drug_display: str = ""
    drug_tall_man: str = ""
    max_units: int = 4
    cap_source: str = ""
    overrides: tuple[tuple[str, str], ...] = ()
    #: the rule object itself, for measures that replay it (:func:`taper.fidelity`)
    rule: Rule | None = field(default=None, compare=False, repr=False)
    #: the switch to another drug that comes before the taper, if any
    switch: Switch | None = None
    #: when the plan was re-planned mid-taper: what stayed and what changed
    replan: Replan | None = None
    #: what the plan does where the products run out of small cuts (``--at-low-doses``)
    at_low_doses: str = "stretch"
    #: who the plan is for and who prescribes it, where given
    identity: Identity = field(default_factory=Identity)
    #: the longest a step was lengthened to, where the rule itself is not known (a plan read
    #: back whose rule is not a preset): the rule's own otherwise
    stated_longest_step: int | None = field(default=None, compare=False, repr=False)
    #: what the clinician asked for that stops the plan, as a plan read back states it, where
    #: the rule itself is not known
    stated_stop_asked: str = field(default="", compare=False, repr=False)

    @property
    def longest_step_days(self) -> int | None:
        """The longest a step may be lengthened to keep the rule's pace, where known."""
        return self.rule.longest_step_days if self.rule is not None else self.stated_longest_step

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def start_date(self) -> date:
        """The day of the first cut."""
        return self.prescription.start_date

    @property
    def stop_date(self) -> date:
        """The first day with no dose."""
        return self.steps[-1].end + timedelta(days=1)

    @property
    def duration_days(self) -> int:
        """Days from the first cut to the last dose, inclusive: the sum of the steps."""
        return sum(s.days for s in self.steps)

    def periods(self) -> list[Stage | Step]:
        """Every dosing period in order: a switch's stages, then the taper's steps."""
        stages: list[Stage | Step] = list(self.switch.stages) if self.switch else []
        return [*stages, *self.steps]

    @property
    def first_day(self) -> date:
        """The plan's first day: a switch's first stage, else the first cut."""
        return self.switch.start_date if self.switch else self.start_date

    def _order(self, product: Product) -> tuple[int, str]:
        order = {p.id: i for i, p in enumerate(self.products)}
        # a switch's first drug before the drug switched to
        return (0 if product.id in order else -1, f"{order.get(product.id, 0):04d}{product.id}")

    def dispensing(self) -> list[tuple[Product, Decimal]]:
        """Whole tablets to supply per product for the whole plan, in catalog order."""
        uses = ((u, s.days) for s in self.periods() for a in s.administrations for u in a.units)
        supply = totals(uses)
        return sorted(supply.values(), key=lambda pc: self._order(pc[0]))

    def fills(
        self, fill_days: int = FILL_DAYS
    ) -> list[tuple[date, date, list[tuple[Product, Decimal]]]]:
        """Whole tablets to supply per fill period of ``fill_days`` days from the start.

        Each period's supply covers its own days; a split tablet counts as its share
        of a tablet dispensed whole, rounded up once per product and period.
        """
        if not 1 <= fill_days <= MOST_FILL_DAYS:
            raise ValueError(f"fill_days: got {fill_days}; 1 to {MOST_FILL_DAYS} days")
        out = []
        first = self.first_day
        while first < self.stop_date:
            last = min(first + timedelta(days=fill_days - 1), self.stop_date - timedelta(days=1))
            uses = []
            for step in self.periods():
                overlap = (min(step.end, last) - max(step.start, first)).days + 1
                if overlap > 0:
                    uses += [(u, overlap) for a in step.administrations for u in a.units]
            supply = sorted(totals(uses).values(), key=lambda pc: self._order(pc[0]))
            out.append((first, last, supply))
            first = last + timedelta(days=1)
        return out

    def to_dataframe(self) -> Any:
        """One row per step as a pandas DataFrame (dates as datetime64, doses in mg).

        Examples
        --------
        >>> from taper import plan
        >>> plan("clonazepam", "1 mg", rule="fda-label-clonazepam",
        ...      start="2027-01-04").to_dataframe()["daily_mg"].tolist()
        [0.75, 0.5, 0.25]
        """
        from .reports.frames import to_dataframe

        return to_dataframe(self)

    def daily(self) -> Any:
        """One row per day, to the stop day (0 mg), as a pandas DataFrame."""
        from .reports.frames import daily

        return daily(self)

    def plot(self, ax: Any = None) -> Any:
        """Draw the schedule on ``ax`` (or a new figure) and return the matplotlib axes."""
        from .reports.chart import plot_schedule

        return plot_schedule(self, ax)

    def __str__(self) -> str:
        """A short summary: the plan in one sentence, and its findings counted.

        >>> from taper import plan
        >>> print(plan("clonazepam", "1 mg", rule="fda-label-clonazepam", start="2027-01-04"))
        clonazepam 1 mg/day, fda-label-clonazepam: 3 steps over 9 days, 2027-01-04 to \
2027-01-12; no dose from 2027-01-13. Findings: 0 errors, 4 warnings, 2 notes.
        """
        rx = self.prescription
        counts = {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}
        words = ("error", "warning", "note")
        said = ", ".join(
            f"{counts[s]} {w}{'' if counts[s] == 1 else 's'}"
            for s, w in zip(SEVERITIES, words, strict=True)
        )
        taken = f"{self.drug_display or rx.drug} {format_mg(rx.start_dose)}/day"
        if self.switch is not None:
            taken = (
                f"{self.switch.from_drug} {format_mg(self.switch.from_dose)}/day switched to "
                f"{taken}"
            )
        return (
            f"{taken}, "
            f"{self.rule_name}: {len(self.steps)} step{'s' if len(self.steps) != 1 else ''} over "
            f"{self.duration_days} days, {self.first_day.isoformat()} to "
            f"{(self.stop_date - timedelta(days=1)).isoformat()}; no dose from "
            f"{self.stop_date.isoformat()}. Findings: {said}."
        )

    def _repr_html_(self) -> str:
        from .reports.frames import html

        return html(self)

    def sorted_findings(self) -> list[Finding]:
        """Findings, errors first."""
        return sorted(self.findings, key=Finding.sort_key)

    def errors(self) -> list[Finding]:
        """Error findings the clinician has not overridden."""
        return [f for f in self.findings if f.severity == "error" and not f.override]
