"""What would let a plan taper further or more gently: alternatives planned in full.

When a plan makes cuts its products force, stops above the smallest dose its
products make, or holds a step to taper's longest lengthened step, the clinician
should not have to find the way round by trial. Each alternative is planned in
full with the same prescription and rule (a liquid, halving a tablet that has a
break line, a switch to diazepam, going on past the low doses), and described by
its effect: its forced cuts, the dose it stops from, and how much longer it takes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from .catalog import Catalog, Drug, load_catalog, load_formulary
from .doses import format_mg, format_percent, plain_number
from .errors import TaperError
from .rules import PercentOfCurrent, PercentOfStart, Phases, Rule
from .schedule import Finding, Schedule
from .validation import finding, terminal_dose
from .wording import option, words

#: the findings that make a plan worth an alternative
TRIGGERS = (
    "forced-cut",
    "final-dose-large",
    "stopped-at-low-dose",
    "longest-step",
    "rule-not-completed",
)
SOURCE = "taper: each alternative planned in full with the same prescription and rule"


@dataclass(frozen=True)
class _Effect:
    """What a plan comes to: its forced cuts, where it stops, how long it takes."""

    forced: int
    largest_forced: Decimal
    #: the largest fall at once, a forced cut's or the stop's, as a share of the starting
    #: dose: a forced halving of 0.2 mg is not the forced halving of 4 mg, and a stop from
    #: 0.75 mg is a larger fall than either
    forced_fall: Decimal
    stop_mg: Decimal
    stop_share: Decimal
    days: int
    drug: str

    @classmethod
    def of(cls, schedule: Schedule) -> _Effect:
        forced = {f.step for f in schedule.findings if f.code == "forced-cut"}
        steps = [s for s in schedule.steps if s.number in forced]
        start = schedule.prescription.start_dose
        last = schedule.steps[-1]
        return cls(
            forced=len(forced),
            largest_forced=max((s.cut for s in steps), default=Decimal(0)),
            forced_fall=max([last.dose, *(s.previous_dose - s.dose for s in steps)]) / start,
            stop_mg=last.dose,
            stop_share=last.dose / start,
            days=(schedule.stop_date - schedule.first_day).days,
            drug=schedule.prescription.drug,
        )

    def better_than(self, other: _Effect) -> bool:
        """A smaller fall at once, then a lower stop, then fewer forced cuts (all as shares of
        the start, so a switch compares in its own drug)."""
        mine = (self.forced_fall, self.stop_share, self.forced)
        return mine < (other.forced_fall, other.stop_share, other.forced)

    def describe(self, base: _Effect, cap: Decimal) -> str:
        if self.forced:
            cuts = (
                f"{self.forced} forced cut{'s' if self.forced > 1 else ''}, the largest "
                f"{format_percent(self.largest_forced)} %"
            )
        else:
            cuts = f"every cut within {format_percent(cap)} %"
        drug = f" of {self.drug}" if self.drug != base.drug else ""
        weeks = round((self.days - base.days) / 7)
        if weeks > 0:
            longer = f", {weeks} week{'s' if weeks > 1 else ''} longer"
        elif weeks < 0:
            longer = f", {-weeks} week{'s' if weeks < -1 else ''} shorter"
        else:
            longer = ", about as long"
        return f"{cuts}, stopping from {format_mg(self.stop_mg)}/day{drug}{longer}"


#: the alternatives found for a request, by the request without its start date (the effect of
#: an alternative does not depend on the day it starts), and the catalog object it was read
#: from, held so its id stays its own; a roster of many patients on the same prescription
#: plans its alternatives once
_FOUND: dict[tuple[Any, ...], tuple[Any, tuple[str, ...]]] = {}
_MOST = 512


def _key(request: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """A hashable form of ``request`` without its start date, or ``None`` if it has none."""
    items: list[tuple[str, Any]] = []
    for name, value in sorted(request.items()):
        if name == "start":
            continue
        if isinstance(value, Catalog):
            value = ("catalog", id(value))
        elif isinstance(value, Mapping):
            value = tuple(sorted(value.items()))
        elif isinstance(value, list):
            value = tuple(value)
        items.append((name, value))
    key = (*items, ("said", words()))  # the alternatives' text names the parameters so
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _catalog(request: Mapping[str, Any]) -> Catalog:
    given = request.get("catalog")
    cat = given if isinstance(given, Catalog) else load_catalog(given)
    if request.get("formulary") is not None:
        cat = load_formulary(cat, request["formulary"])
    return cat


def with_alternatives(
    schedule: Schedule, request: Mapping[str, Any], make: Callable[..., Schedule]
) -> Schedule:
    """``schedule`` with an ``alternatives`` finding, where it has a reason for one.

    ``request`` holds the arguments the plan was made with, ``make`` the planner that made
    it; each alternative is ``make`` called with one of them changed.
    """
    if not any(f.code in TRIGGERS for f in schedule.findings):
        return schedule
    key = _key(request)
    if key is not None and key in _FOUND:
        lines = _FOUND[key][1]
    else:
        lines = _alternatives(schedule, request, make)
        if key is not None:
            if len(_FOUND) >= _MOST:
                del _FOUND[next(iter(_FOUND))]
            _FOUND[key] = (request.get("catalog"), lines)
    if not lines:
        return schedule
    text = "Ways to taper further or more gently, each planned in full: " + "; ".join(lines)
    note = finding("alternatives", text + ".", SOURCE)
    return replace(
        schedule, findings=tuple(sorted((*schedule.findings, note), key=Finding.sort_key))
    )


def _alternatives(
    schedule: Schedule, request: Mapping[str, Any], make: Callable[..., Schedule]
) -> tuple[str, ...]:
    """Each alternative that does better, with its effect; those tried that do not, or cannot
    be planned; and what the catalog lacks."""
    cat = _catalog(request)
    drug = cat.drug(schedule.prescription.drug)
    region = schedule.prescription.region
    codes = {f.code for f in schedule.findings}
    tries: list[tuple[str, dict[str, Any]]] = []
    notes: list[str] = []
    if codes & set(GENTLER):
        tries += _gentler(schedule, request, drug, region, notes)
    rule = schedule.rule
    terminal = terminal_dose(schedule.products, schedule.max_units)
    start = schedule.prescription.start_dose
    if (
        rule is not None
        and terminal is not None
        and (final := rule.final_level(start)) is not None
        and terminal < schedule.steps[-1].dose <= final
    ):
        # the rule's own last dose stops the plan above what the products make: go on to it
        tries.append(
            (
                f"going on past the final dose to {format_mg(terminal)}/day, the smallest "
                f"dose the products make ({option('final_dose', f'{plain_number(terminal)}mg')})",
                {"rule": replace(rule, final_mg=terminal, final_fraction=None, final_note="")},
            )
        )
    base = _Effect.of(schedule)
    better, worse, refused = [], [], []
    if not request.get("products") and schedule.switch is None:
        # each alternative changes one thing: the products stay those the plan dispenses
        kept = [p.id for p in schedule.products if not p.is_liquid]
        tries = [(label, {"products": kept, **change}) for label, change in tries]
    for label, change in tries:
        try:
            other = make(**{**request, **change})
        except TaperError as exc:
            refused.append(f"{_short(label)} (refused: {exc.field})")
            continue
        effect = _Effect.of(other)
        if effect.better_than(base):
            better.append(f"{label}: {effect.describe(base, other.max_cut)}")
        else:
            worse.append(_short(label))
    if not tries:
        return tuple(notes)
    lines = better or ["none of those tried does better"]
    if worse:
        lines.append(f"not better: {', '.join(worse)}")
    if refused:
        lines.append(f"cannot be planned: {', '.join(refused)}")
    return (*lines, *notes)


#: the findings for which a gentler way down is worth looking for
GENTLER = ("forced-cut", "longest-step", "stopped-at-low-dose", "rule-not-completed")


def _gentler(
    schedule: Schedule,
    request: Mapping[str, Any],
    drug: Drug,
    region: str,
    notes: list[str],
) -> list[tuple[str, dict[str, Any]]]:
    """The changes that might cut more gently where the products force cuts or run out."""
    tries: list[tuple[str, dict[str, Any]]] = []
    if request.get("at_low_doses") != "liquid":
        liquids = [p for p in drug.products_in(region) if p.usable and p.is_liquid]
        if liquids:
            names = " or ".join(p.name for p in liquids)
            tries.append(
                (f"with {names} ({option('at_low_doses', 'liquid')})", {"at_low_doses": "liquid"})
            )
        else:
            added = option("formulary", metavar="FILE")
            notes.append(
                f"the catalog lists no {drug.name} oral liquid for {region.upper()}: a "
                f"pharmacy's compounded one, added with {added}, could be used with "
                f"{option('at_low_doses', 'liquid')}"
            )
    breakable = [p for p in schedule.products if p.break_line and p.split == 1]
    if breakable:
        # the smallest tablet halved makes the smallest steps, with one off-licence halving
        smallest = min(breakable, key=lambda p: p.step_mg)
        tries.append(
            (
                f"halving the {smallest.name} along its break line "
                f"({option('halve', [smallest.id])}; off-licence)",
                {"halve": (*request.get("halve", ()), smallest.id)},
            )
        )
    rule = schedule.rule
    if (
        schedule.switch is None
        and drug.name != "diazepam"
        and request.get("switch_to") is None
        and rule is not None
        and _in_any_drug(rule)
    ):
        tries.append(
            (
                f"switching to diazepam first ({option('switch_to', 'diazepam')})",
                {"switch_to": "diazepam"},
            )
        )
    if request.get("at_low_doses") == "stop":
        tries.append(
            (
                f"going on with longer steps ({option('at_low_doses', 'stretch')})",
                {"at_low_doses": "stretch"},
            )
        )
    return tries


def _in_any_drug(rule: Rule) -> bool:
    """Whether the rule's pace means the same for another drug: shares of the dose carry over,
    milligrams do not (0.25 mg of clonazepam is not 0.25 mg of diazepam)."""
    pace = rule.pace
    if isinstance(pace, Phases):
        return all(isinstance(p.pace, PercentOfCurrent | PercentOfStart) for p in pace.phases)
    return isinstance(pace, PercentOfCurrent | PercentOfStart)


def _short(label: str) -> str:
    """An alternative's label without its options, for a list of those that do not help."""
    return label.split(" (")[0]
