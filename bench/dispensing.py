"""How a pharmacist would find the plans: products, forms and pieces, over the fidelity grid.

Usage: python bench/dispensing.py

The grid is bench/fidelity.py's (four drugs, six starting doses each, three rules) with five
product sets: the drug's default (no ``products`` given: what a clinician gets), the default
with a liquid at low doses (``at_low_doses="liquid"``), tablets only, tablets with orally
disintegrating tablets, tablets with a liquid. Then the four plans the
dispensing issue names. For each product set it prints, over its plans:

- products per plan: distinct products a plan dispenses (the mean and the most);
- products per fill: distinct products in a 28-day fill (the most);
- products per dose: distinct products in one administration (the mean and the most);
- pieces per dose: tablets, halves or measures in one administration (the mean);
- mixed doses: administrations that mix forms (a tablet and an ODT, say), per cent;
- changes: from one step to the next, administrations whose products change or that change
  by more than one piece (a whole tablet for two halves counts as one), per cent;
- uneven days: steps whose doses of the day differ by more than one piece of the smallest
  strength they take, per cent;
- gap: the mean tracking gap of the rule's ideal dose, as taper.fidelity reports it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import taper
from taper.errors import PlanRefused
from taper.schedule import Administration, Schedule
from taper.tracking import fidelity

sys.path.insert(0, str(Path(__file__).parent))
from fidelity import HERE, RULES, grid_plan, products_for, start_doses

DRUGS = ("clonazepam", "alprazolam", "lorazepam", "diazepam")
PRODUCT_SETS = ("default", "default+liquid", "tablets", "tablets+odt", "tablets+liquid")
FILL_DAYS = 28
#: the plans the dispensing issue names, with the options it gives
NAMED = (
    ("clonazepam 2 mg", "clonazepam", "2 mg", {}),
    ("clonazepam 4 mg", "clonazepam", "4 mg", {}),
    ("clonazepam 40 mg", "clonazepam", "40 mg", {"overrides": {"dose-above-range": "bench"}}),
    (
        "alprazolam 3 mg to diazepam",
        "alprazolam",
        "3 mg",
        {"switch_to": "diazepam", "overrides": {"dose-above-range": "bench"}},
    ),
)


@dataclass
class Tally:
    plans: int = 0
    refused: int = 0
    products: list[int] = field(default_factory=list)
    per_fill: list[int] = field(default_factory=list)
    per_dose: list[int] = field(default_factory=list)
    pieces: list[int] = field(default_factory=list)
    mixed: int = 0
    doses: int = 0
    changes: int = 0
    pairs: int = 0
    uneven: int = 0
    steps: int = 0
    gaps: list[Decimal] = field(default_factory=list)

    def add(self, schedule: Schedule) -> None:
        self.plans += 1
        steps = schedule.steps
        self.products.append(
            len({u.product.id for s in steps for a in s.administrations for u in a.units})
        )
        self.per_fill.append(_most_per_fill(schedule))
        for step in steps:
            for admin in step.administrations:
                if not admin.units:
                    continue
                self.doses += 1
                self.per_dose.append(len({u.product.id for u in admin.units}))
                self.pieces.append(sum(u.pieces for u in admin.units))
                self.mixed += len({_form(u.product) for u in admin.units}) > 1
            self.steps += 1
            self.uneven += _uneven(step.administrations)
        for before, after in pairwise(steps):
            for time_of_day in {a.time for a in before.administrations}:
                old, new = before.at(time_of_day), after.at(time_of_day)
                if old is None or new is None or not old.units or not new.units:
                    continue
                self.pairs += 1
                self.changes += _changed(old, new)
        self.gaps.append(fidelity(schedule).mean_gap_of_start)

    def line(self, label: str) -> str:
        if not self.plans:
            return f"{label:<30}{self.plans:>6}{self.refused:>8}"
        return (
            f"{label:<30}{self.plans:>6}{self.refused:>8}"
            f"{_mean(self.products):>7.2f}{max(self.products):>4}"
            f"{max(self.per_fill):>6}"
            f"{_mean(self.per_dose):>7.2f}{max(self.per_dose):>4}"
            f"{_mean(self.pieces):>8.2f}"
            f"{_share(self.mixed, self.doses):>8.1f}"
            f"{_share(self.changes, self.pairs):>9.1f}"
            f"{_share(self.uneven, self.steps):>8.1f}"
            f"{float(sum(self.gaps) / len(self.gaps)) * 100:>8.2f}"
        )


HEADER = (
    f"{'plans of':<30}{'plans':>6}{'refused':>8}"
    f"{'prod/plan':>11}{'fill':>6}{'prod/dose':>11}{'pieces':>8}{'mixed%':>8}"
    f"{'change%':>9}{'uneven%':>8}{'gap%':>8}"
)


def _form(product: taper.Product) -> str:
    return "liquid" if product.is_liquid else product.form


def _mean(values: Sequence[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def _share(part: int, whole: int) -> float:
    return 100 * part / whole if whole else 0.0


def _most_per_fill(schedule: Schedule) -> int:
    most, day = 0, schedule.start_date
    while day < schedule.stop_date:
        last = day + timedelta(days=FILL_DAYS - 1)
        ids = {
            u.product.id
            for s in schedule.steps
            if s.start <= last and s.end >= day
            for a in s.administrations
            for u in a.units
        }
        most = max(most, len(ids))
        day = last + timedelta(days=1)
    return most


def _changed(old: Administration, new: Administration) -> bool:
    """Whether an administration's products change, or it changes by more than one piece
    (two halves for a whole tablet, or the reverse, counting as one)."""
    if {u.product.id for u in old.units} != {u.product.id for u in new.units}:
        return True
    counts = {u.product.id: u.count for u in old.units}
    moved = sum(abs(counts[u.product.id] - u.count) for u in new.units)
    return moved > 1


def _uneven(administrations: Sequence[Administration]) -> bool:
    doses = [a.dose for a in administrations]
    strengths = [u.product.step_mg * u.product.split for a in administrations for u in a.units]
    if len(doses) < 2 or not strengths:
        return False
    return max(doses) - min(doses) > min(strengths)


def main() -> int:
    catalog = taper.load_formulary(taper.load_catalog(), HERE / "formulary.toml")
    began = time.perf_counter()
    print(HEADER)
    for kind in PRODUCT_SETS:
        tally = Tally()
        for name in DRUGS:
            drug = catalog.drug(name)
            liquid = any(p.is_liquid and p.usable for p in drug.products)
            if kind.startswith("default"):
                products, strategy = None, "liquid" if kind.endswith("liquid") else "stretch"
                if strategy == "liquid" and not liquid:
                    continue
            else:
                products, strategy = products_for(drug, kind)
                if products is None or (
                    strategy == "liquid"
                    and not any(p.is_liquid and p.usable for p in drug.products)
                ):
                    continue
            for rule in RULES:
                for dose in start_doses(drug):
                    try:
                        schedule = grid_plan(name, dose, rule, products, strategy, catalog)
                    except PlanRefused:
                        tally.refused += 1
                        continue
                    tally.add(schedule)
        print(tally.line(kind))
    print()
    for label, drug_name, dose, options in NAMED:
        tally = Tally()
        tally.add(taper.plan(drug_name, dose, start="2027-01-04", **options))  # type: ignore[arg-type]
        print(tally.line(label))
    print(f"\nin {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
