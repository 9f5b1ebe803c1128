"""The mutation score of the core from a random sample of its mutants.

A full ``mutmut run`` over every mutant of the core takes hours on a small machine. This
draws a simple random sample of the mutants (seeded, so a run can be repeated), has mutmut
test only those, and reports the share killed with a 95 % Wilson interval, for each module and
for the whole core. Because the sample is random, the interval is an honest bound on the
score of all the mutants, which a run stopped part way (mutmut tests the fastest first) is not.

Run from the repository, after ``mutmut run`` has generated the mutants (``mutants/``) and
collected its stats::

    python bench/mutation_sample.py 600 --seed 1 --max-children 2
    python bench/mutation_sample.py 600 --seed 1 --report   # the figures, without testing

"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

#: mutmut's exit codes for a mutant the tests noticed (a failing test, a pytest internal
#: error, a timeout, a crash): each is counted as killed, as docs/quality.md says
KILLED = {1, 3, 24, -24, 152, 255, 36, -11, -9}
SURVIVED = {0}
NO_TESTS = {5, 33}


def all_mutants(root: Path) -> dict[str, int | None]:
    """Every mutant name with its exit code so far (None: not tested)."""
    found: dict[str, int | None] = {}
    for meta in sorted((root / "mutants" / "taper").glob("*.py.meta")):
        found.update(json.loads(meta.read_text("utf-8"))["exit_code_by_key"])
    return found


def sample(names: list[str], size: int, seed: int) -> list[str]:
    return sorted(random.Random(seed).sample(sorted(names), min(size, len(names))))


def wilson(killed: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = killed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def module_of(name: str) -> str:
    return "taper/" + name.split(".")[1] + ".py"


def report(chosen: list[str], codes: dict[str, int | None], population: int) -> str:
    by_module: dict[str, Counter[str]] = {}
    for name in chosen:
        code = codes.get(name)
        kind = (
            "killed"
            if code in KILLED
            else "survived"
            if code in SURVIVED
            else "no tests"
            if code in NO_TESTS
            else "not tested"
            if code is None
            else f"exit {code}"
        )
        by_module.setdefault(module_of(name), Counter())[kind] += 1
    lines = [
        f"{len(chosen)} of {population} mutants, drawn at random",
        "",
        "| module | killed / tested | score | 95 % interval | survived | no tests | not tested |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    total: Counter[str] = Counter()
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        lines.append(_row(f"`{module}`", counts))
    lines.append(_row("**sample**", total))
    return "\n".join(lines)


def _row(label: str, counts: Counter[str]) -> str:
    # a mutant with no tests counts as not killed; one not yet tested is left out
    tested = sum(counts.values()) - counts["not tested"]
    killed = counts["killed"]
    low, high = wilson(killed, tested)
    score = f"{100 * killed / tested:.1f} %" if tested else "-"
    return (
        f"| {label} | {killed} / {tested} | {score} | {100 * low:.1f} to {100 * high:.1f} % "
        f"| {counts['survived']} | {counts['no tests']} | {counts['not tested']} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int, help="how many mutants to draw")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--report", action="store_true", help="only report, test nothing")
    args = parser.parse_args(argv)
    root = Path.cwd()
    codes = all_mutants(root)
    if not codes:
        sys.exit("no mutants/: run `mutmut run` first, and stop it once it tests mutants")
    chosen = sample(list(codes), args.size, args.seed)
    if not args.report:
        mutmut = Path(sys.executable).with_name("mutmut")
        left = [name for name in chosen if codes[name] is None]
        if left:
            subprocess.run(
                [str(mutmut), "run", "--max-children", str(args.max_children), *left],
                check=False,
            )
        codes = all_mutants(root)
    print(report(chosen, codes, len(codes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
