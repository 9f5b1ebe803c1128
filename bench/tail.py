"""How plans end: do they go down to the smallest dose their products make, and say how?

Usage: python bench/tail.py [--quick] [--tablets-only] [--jobs N]

A grid of every drug in the catalog, in both regions where it has tablets or capsules, at
starting doses across its documented adult range, under every built-in rule that applies to
it, on its own and switched to diazepam first, each with the tablets alone, with the
catalog's liquid where the tapered drug has one (``--at-low-doses liquid``), and with its
tablets that have a break line halved where it has some (``--halve``). For each plan: whether
it reaches its terminal dose (the smallest daily dose its products make at its times of day),
its largest cut above the cap and whether the products forced it (no dose they make lies
between the dose before and after it), its longest step that is not a hold, and the last dose
before the stop, in mg and as the highest diazepam equivalent across the tables. A switched
plan's row (``lorazepam > diazepam``) gives the diazepam it tapers.

It reads only the plans themselves (their steps, products and findings), so the same script
measures any version of taper. Exits 1 when a plan stops above its terminal dose with no
warning, or makes a cut above the cap that the products did not force: CI runs it.
``--quick`` plans two doses per drug, not four; ``--tablets-only`` leaves out the liquid and
halving variants (the grid a version of taper without them can plan); ``--jobs N`` plans in
N processes (0: one for each processor; the figures are the same, the time is wall-clock).
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal

import taper
from taper.dispensing import dispenser_for
from taper.errors import TaperError

START = "2027-01-04"
REGIONS = ("us", "uk")
POINTS = 4
#: warnings that say a plan stops above its terminal dose, under any version of taper
STOP_WARNINGS = ("final-dose-large", "stopped-at-low-dose", "rule-not-completed")


def start_doses(drug: taper.Drug, region: str, points: int) -> list[Decimal]:
    """Doses from four times the smallest unit to the largest documented adult maximum."""
    products = [p for p in drug.products_in(region) if p.usable and p.is_solid]
    maxima = [
        r.max_mg_per_day
        for r in drug.ranges
        if r.population == "adult" and r.max_mg_per_day is not None
    ]
    smallest = min(p.step_mg * p.split for p in products)
    top = max(maxima) if maxima else smallest * 8
    low = smallest * 4 if smallest * 4 < top else smallest * 2
    step = (top - low) / (points - 1)
    raw = [low + step * k for k in range(points)]
    return sorted({max(smallest, (d / smallest).to_integral_value() * smallest) for d in raw})


def variants(
    tapered: taper.Drug, region: str, tablets_only: bool = False
) -> list[tuple[str, dict[str, object]]]:
    """The tablets alone; with the drug's liquid; with its tablets with a break line halved."""
    out: list[tuple[str, dict[str, object]]] = [("", {})]
    if tablets_only:
        return out
    if any(p.usable and p.is_liquid for p in tapered.products_in(region)):
        out.append((" with a liquid", {"at_low_doses": "liquid"}))
    lined = [p.id for p in tapered.products_in(region) if p.break_line]
    if lined:
        out.append((" halving", {"halve": lined}))
    return out


def rules_for(drug: str) -> list[str]:
    return [name for name, rule in taper.PRESETS.items() if not rule.drugs or drug in rule.drugs]


def diazepam_high(drug: str, mg: Decimal) -> Decimal | None:
    if drug == "diazepam":
        return mg
    try:
        return taper.convert(mg, drug, "diazepam").spread[1]
    except TaperError:
        return None


def ending(schedule: taper.Schedule) -> dict[str, object]:
    """How ``schedule`` ends, worked out from its steps and products alone."""
    rx = schedule.prescription
    products = tuple(p for p in schedule.products if p.usable)
    made = dispenser_for(products, schedule.max_units).daily_doses(rx.doses_per_day)
    terminal = next(v for v in made if v > 0)
    last = schedule.steps[-1]
    unforced = 0
    largest_forced = Decimal(0)
    for step in schedule.steps:
        if step.cut > schedule.max_cut:
            if any(step.dose < v < step.previous_dose for v in made):
                unforced += 1
            else:
                largest_forced = max(largest_forced, step.cut)
    warned = {f.code for f in schedule.findings if f.severity == "warning"}
    return {
        "terminal": last.dose <= terminal,
        "unsaid": last.dose > terminal and not warned & set(STOP_WARNINGS),
        "unforced": unforced,
        "largest_forced": largest_forced,
        "longest": max((s.days for s in schedule.steps if not s.held), default=0),
        "last": last.dose,
        "last_diazepam": diazepam_high(rx.drug, last.dose),
    }


Job = tuple[str, str, str, Decimal, str, str, str | None, dict[str, object]]


def jobs(catalog: taper.Catalog, points: int, only: bool) -> list[Job]:
    """Each plan of the grid: its row, its label and what ``taper.plan`` is given."""
    out: list[Job] = []
    for drug in catalog.drugs.values():
        for region in REGIONS:
            if not any(p.usable and p.is_solid for p in drug.products_in(region)):
                continue
            for dose in start_doses(drug, region, points):
                for rule in rules_for(drug.name):
                    for switch in (None, "diazepam"):
                        if switch == drug.name:
                            continue
                        tapered = catalog.drug(switch or drug.name)
                        for variant, extra in variants(tapered, region, only):
                            label = f"{drug.name} {dose} mg {region} {rule}{variant}" + (
                                f" switched to {switch}" if switch else ""
                            )
                            row = f"{drug.name} > {switch}" if switch else drug.name
                            out.append((row, label, drug.name, dose, rule, region, switch, extra))
    return out


def plan_one(job: Job) -> tuple[str, str, dict[str, object] | None]:
    """The ending of one plan of the grid, or ``None`` where taper refuses it."""
    row, label, drug, dose, rule, region, switch, extra = job
    try:
        schedule = taper.plan(
            drug,
            dose,
            rule=rule,
            region=region,
            switch_to=switch,
            start=START,
            use_months=24,
            overrides={"dose-above-range": "benchmark grid"},
            **extra,
        )
    except TaperError:
        return row, label, None
    return row, label, ending(schedule)


def main(argv: list[str]) -> int:
    points = 2 if "--quick" in argv else POINTS
    only = "--tablets-only" in argv
    workers = int(argv[argv.index("--jobs") + 1]) if "--jobs" in argv else 1
    catalog = taper.load_catalog()
    rows: dict[str, list[dict[str, object]]] = defaultdict(list)
    refused: dict[str, int] = defaultdict(int)
    bad: list[str] = []
    began = time.perf_counter()
    grid = jobs(catalog, points, only)
    if workers == 1:
        results = [plan_one(job) for job in grid]
    else:
        with ProcessPoolExecutor(max_workers=workers or None) as pool:
            results = list(pool.map(plan_one, grid, chunksize=8))
    for row, label, end in results:
        if end is None:
            refused[row] += 1
            continue
        rows[row].append(end)
        if end["unsaid"]:
            bad.append(f"{label}: stops from {end['last']} mg/day, unsaid")
        if end["unforced"]:
            bad.append(f"{label}: a cut above the cap the products did not force")
    elapsed = time.perf_counter() - began
    print(
        f"{'drug':<28}{'plans':>6}{'refused':>8}{'to terminal':>12}{'largest forced':>15}"
        f"{'longest step':>13}{'last dose mg':>13}{'as diazepam':>12}"
    )
    every: list[dict[str, object]] = []
    names = [n for d in catalog.drugs for n in (d, f"{d} > diazepam") if n in rows or n in refused]
    for name in names:
        ends = rows.get(name, [])
        every += ends
        if not ends:
            print(f"{name:<28}{0:>6}{refused[name]:>8}")
            continue
        share = sum(bool(e["terminal"]) for e in ends) / len(ends)
        forced = max(Decimal(str(e["largest_forced"])) for e in ends)
        longest = max(int(str(e["longest"])) for e in ends)
        last = max(Decimal(str(e["last"])) for e in ends)
        eq = [Decimal(str(e["last_diazepam"])) for e in ends if e["last_diazepam"] is not None]
        print(
            f"{name:<28}{len(ends):>6}{refused[name]:>8}{share * 100:>11.0f}%"
            f"{float(forced) * 100:>14.1f}%{longest:>13}{float(last):>13g}"
            f"{(f'{float(max(eq)):g}' if eq else '-'):>12}"
        )
    total = len(every)
    print()
    print(f"plans: {total}, refused: {sum(refused.values())}, in {elapsed:.1f} s")
    if total:
        reach = sum(bool(e["terminal"]) for e in every)
        print(f"plans that reach their terminal dose: {reach} ({reach / total * 100:.1f} %)")
        eq = sorted(
            Decimal(str(e["last_diazepam"])) for e in every if e["last_diazepam"] is not None
        )
        print(
            f"last dose before the stop, as diazepam: median {float(eq[len(eq) // 2]):g} mg, "
            f"largest {float(eq[-1]):g} mg"
        )
    print(f"plans that stop above their terminal dose without a warning: "
          f"{sum(bool(e['unsaid']) for e in every)}")  # fmt: skip
    print(f"plans with a cut above the cap the products did not force: "
          f"{sum(bool(e['unforced']) for e in every)}")  # fmt: skip
    for line in bad[:20]:
        print(f"  {line}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
