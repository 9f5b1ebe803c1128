"""Time ``taper batch`` on a generated roster.

Usage: python bench/batch.py [ROWS] [--jobs N] [--pdf]

Writes a roster of ROWS rows (10,000 by default) to a temporary folder, a mix of drugs,
doses, doses a day, rules and start dates that all plan, then runs the batch in this
process (``--jobs 1``) or in N processes, writing every plan's CSV and JSON (and PDF with
``--pdf``), and prints the time taken and plans per second.
"""

from __future__ import annotations

import argparse
import csv
import io
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from taper.batch import Settings, prepare

#: (drug, daily doses in mg, doses a day, rules): each combination plans without an error
PRESCRIPTIONS = (
    ("clonazepam", ("0.5", "1", "1.5", "2", "3", "4"), (1, 2, 3), ("", "bnf-eighth")),
    ("clonazepam", ("1", "2"), (2,), ("fda-label-clonazepam",)),
    ("diazepam", ("5", "10", "20", "30"), (1, 2, 3), ("", "nice-cks-diazepam")),
    ("lorazepam", ("2", "3", "4", "6"), (2, 3), ("", "joint-guideline-2025-slow")),
    ("alprazolam", ("1", "2", "3", "4"), (2, 3, 4), ("", "deprescribing-bzra")),
)


def roster_text(rows: int) -> str:
    """A roster of ``rows`` plannable rows, the same for the same ``rows``."""
    combos = [
        (drug, dose, n, rule)
        for drug, doses, per_day, rules in PRESCRIPTIONS
        for dose in doses
        for n in per_day
        for rule in rules
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["reference", "drug", "dose", "per_day", "rule", "start"])
    first = date(2027, 1, 4)
    for i in range(rows):
        drug, dose, n, rule = combos[i % len(combos)]
        start = first + timedelta(days=i % 365)
        writer.writerow([f"P{i + 1:05d}", drug, f"{dose} mg", n, rule, start.isoformat()])
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--pdf", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        roster = Path(folder) / "roster.csv"
        roster.write_text(roster_text(args.rows), encoding="utf-8")
        began = time.perf_counter()
        batch = prepare(roster, Settings(str(Path(folder) / "plans"), pdf=args.pdf))
        outcomes = batch.run(args.jobs)
        batch.write_reports(outcomes)
        took = time.perf_counter() - began
        planned = sum(o.planned for o in outcomes)
    kinds = "CSV, JSON and PDF" if args.pdf else "CSV and JSON"
    print(
        f"{planned} of {args.rows} rows planned, {kinds}, --jobs {args.jobs}: {took:.1f} s "
        f"({args.rows / took:.0f} plans/s)"
    )


if __name__ == "__main__":
    main()
