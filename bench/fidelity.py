"""How closely dispensable plans follow their rules, over a fixed grid.

Usage: python bench/fidelity.py [--jobs N]

Drugs: clonazepam, alprazolam, lorazepam, diazepam; start doses across each
drug's documented adult range; three rules; three product sets (tablets only,
tablets with orally disintegrating tablets, tablets with a liquid). Prints one
line per drug, rule and product set, then the totals that must be zero (plans
with a dose no product makes, a dose that rises, a cut above the cap) and the
mean tracking gap. Products a drug does not have are said so, not invented. ``--jobs N``
plans in N processes (0: one for each processor; the figures are the same, the time is
wall-clock).
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from functools import cache
from pathlib import Path

import taper
from taper.errors import PlanRefused
from taper.tracking import fidelity

HERE = Path(__file__).parent
RULES = ("joint-guideline-2025", "bnf-eighth", "nougg-proportional")
PRODUCT_SETS = ("tablets", "tablets+odt", "tablets+liquid")
#: errors a plan must never have
NEVER = {
    "undispensable": ("not-dispensable", "too-many-units", "dose-mismatch"),
    "rising": ("dose-rises",),
    "above cap": ("cut-above-cap",),
}
POINTS = 6


def start_doses(drug: taper.Drug) -> list[Decimal]:
    """Doses from twice the smallest unit to the largest documented adult maximum."""
    maxima = [
        r.max_mg_per_day
        for r in drug.ranges
        if r.population == "adult" and r.max_mg_per_day is not None
    ]
    top = max(maxima) if maxima else Decimal(10)
    smallest = min(p.step_mg * p.split for p in drug.products if p.usable and p.is_solid)
    low = smallest * 4
    step = (top - low) / (POINTS - 1)
    raw = [low + step * k for k in range(POINTS)]
    # a prescribed dose is a whole number of the smallest unit
    return sorted({(d / smallest).to_integral_value() * smallest for d in raw})


def products_for(drug: taper.Drug, kind: str) -> tuple[list[str] | None, str]:
    forms = {p.form for p in drug.products_in("us") if p.usable}
    tablets = [f for f in ("tablet", "capsule", "er-tablet") if f in forms]
    if kind == "tablets":
        return tablets, "stretch"
    if kind == "tablets+odt":
        return ([*tablets, "odt"] if "odt" in forms else None), "stretch"
    return tablets, "liquid"


def grid_plan(
    name: str,
    dose: Decimal,
    rule: str,
    products: list[str] | None,
    strategy: str,
    catalog: taper.Catalog,
) -> taper.Schedule:
    """One plan of the grid: long-term use, a dose above the range accepted for the grid."""
    return taper.plan(
        name,
        dose,
        rule=rule,
        products=products,
        at_low_doses=strategy,
        catalog=catalog,
        start="2027-01-04",
        use_months=24,
        overrides={"dose-above-range": "benchmark grid"},
    )


@cache
def grid_catalog() -> taper.Catalog:
    """The catalog with the benchmark's formulary (its liquids), loaded once a process."""
    return taper.load_formulary(taper.load_catalog(), HERE / "formulary.toml")


Measure = tuple[set[str], Decimal, Decimal, Decimal]


def measure(job: tuple[str, Decimal, str, list[str] | None, str]) -> Measure | None:
    """One plan of the grid: the kinds of error it must never have that it has, its tracking
    gap, largest cut and units a day; ``None`` where taper refuses it."""
    name, dose, rule, products, strategy = job
    catalog = grid_catalog()
    try:
        schedule = grid_plan(name, dose, rule, products, strategy, catalog)
    except PlanRefused:
        return None
    codes = {
        f.code
        for f in taper.check(schedule, catalog=catalog)
        if f.severity == "error" and not f.override
    }
    fid = fidelity(schedule)
    wrong = {label for label, bad in NEVER.items() if codes & set(bad)}
    return wrong, fid.mean_gap_of_start, fid.largest_cut, fid.units_per_day_mean


def main(argv: list[str]) -> int:
    workers = int(argv[argv.index("--jobs") + 1]) if "--jobs" in argv else 1
    catalog = grid_catalog()
    totals = dict.fromkeys(NEVER, 0)
    plans = refused = 0
    gaps: list[Decimal] = []
    began = time.perf_counter()
    rows: list[tuple[str, str, str, list[tuple[str, Decimal, str, list[str] | None, str]]]] = []
    for name in ("clonazepam", "alprazolam", "lorazepam", "diazepam"):
        drug = catalog.drug(name)
        for rule in RULES:
            for kind in PRODUCT_SETS:
                products, strategy = products_for(drug, kind)
                if products is None or (
                    strategy == "liquid"
                    and not any(p.is_liquid and p.usable for p in drug.products)
                ):
                    rows.append((name, rule, kind, []))
                    continue
                grid = [(name, d, rule, products, strategy) for d in start_doses(drug)]
                rows.append((name, rule, kind, grid))
    every = [job for *_, grid in rows for job in grid]
    if workers == 1:
        measured = [measure(job) for job in every]
    else:
        with ProcessPoolExecutor(max_workers=workers or None) as pool:
            measured = list(pool.map(measure, every, chunksize=2))
    print(
        f"{'drug':<14}{'rule':<22}{'products':<16}{'plans':>6}{'refused':>8}"
        f"{'mean gap % of start':>21}{'largest cut %':>15}{'units/day':>10}"
    )
    done = iter(measured)
    for name, rule, kind, grid in rows:
        if not grid:
            print(f"{name:<14}{rule:<22}{kind:<16}   (no such products for {name})")
            continue
        row_gaps, row_cuts, row_units, row_plans, row_refused = [], [], [], 0, 0
        for _ in grid:
            result = next(done)
            if result is None:
                row_refused += 1
                continue
            wrong, gap, largest, per_day = result
            row_plans += 1
            for label in wrong:
                totals[label] += 1
            row_gaps.append(gap)
            row_cuts.append(largest)
            row_units.append(per_day)
        plans += row_plans
        refused += row_refused
        gaps += row_gaps
        mean = sum(row_gaps, Decimal(0)) / len(row_gaps) if row_gaps else Decimal(0)
        cut = max(row_cuts, default=Decimal(0))
        units = sum(row_units, Decimal(0)) / len(row_units) if row_units else Decimal(0)
        print(
            f"{name:<14}{rule:<22}{kind:<16}{row_plans:>6}{row_refused:>8}"
            f"{float(mean) * 100:>21.2f}{float(cut) * 100:>15.1f}{float(units):>10.2f}"
        )
    elapsed = time.perf_counter() - began
    print()
    print(f"plans: {plans}, refused: {refused}, in {elapsed:.1f} s")
    words = {
        "undispensable": "an undispensable dose",
        "rising": "a rising dose",
        "above cap": "a cut above the cap the products did not force",
    }
    for label, count in totals.items():
        print(f"plans with {words[label]}: {count}")
    overall = sum(gaps, Decimal(0)) / len(gaps) if gaps else Decimal(0)
    print(f"mean tracking gap: {float(overall) * 100:.2f} % of the starting dose")
    return 1 if any(totals.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
