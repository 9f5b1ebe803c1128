"""Start-up and throughput of taper, as ratios against baselines measured in the same run.

Usage: python bench/run.py [--repeat N] [--batch-repeat N] [--here]

Each command runs in a subprocess of this same interpreter, all of them interleaved round
by round, so that a slow moment of the machine falls on every command alike; the table
shows the median wall time of each (and, beside the ratio of wall times, the ratio of the
processes' CPU times, steadier on a busy machine; the targets are on wall time). Ratios,
not milliseconds, are what to compare between machines:

- ``taper --help`` and ``taper plan clonazepam 2mg`` (to the terminal) against
  ``python -c "import click"``;
- the same plan written as CSV, and as a PDF with its chart, against the terminal plan;
- ``taper.plan()`` in this process, per plan, over prescriptions that vary (drug, dose,
  doses a day, rule, start date), and a batch of 10,000 such plans.

The targets (docs/performance.md): help at most 1.5 times, the terminal plan at most 2
times ``import click``; the PDF with its chart within 2 s; 10,000 plans within 10 s.
Exits 1 when a target is missed.

The commands run as they do where taper is installed: in a bare virtual environment made
in a temporary folder over this interpreter, which finds taper, click and the rest by plain
path entries, so that no start-up hook of this environment (an editable install's import
finder, a coverage hook) runs in the baseline or in taper. ``--here`` runs them in this
environment instead. They run from compiled bytecode, as an installed package does: the
folder also holds the bytecode cache (``PYTHONPYCACHEPREFIX``), filled by a first round
that is not counted. Every file is written to that folder, removed at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import cycle, islice
from pathlib import Path

BATCH = 10_000
DRUGS = ("clonazepam", "alprazolam", "lorazepam", "diazepam")
RULES = ("joint-guideline-2025", "joint-guideline-2025-slow", "bnf-eighth", "nougg-proportional")


@dataclass(frozen=True)
class Target:
    """A limit on a ratio (``unit`` "x") or on seconds (``unit`` "s")."""

    limit: float
    unit: str

    def met(self, ratio: float, seconds: float) -> bool:
        return (ratio if self.unit == "x" else seconds) <= self.limit

    def __str__(self) -> str:
        return f"<= {self.limit:g}{'x' if self.unit == 'x' else ' s'}"


@dataclass(frozen=True)
class Timing:
    """Median wall seconds, and median CPU seconds of the process where the system says."""

    wall: float
    cpu: float | None = None


@dataclass(frozen=True)
class Row:
    """One line of the table: a measure, and the baseline it is a ratio of."""

    name: str
    took: Timing
    against: str
    baseline: Timing
    target: Target | None = None

    @property
    def ratio(self) -> float:
        return self.took.wall / self.baseline.wall

    @property
    def cpu_ratio(self) -> float | None:
        if self.took.cpu is None or not self.baseline.cpu:
            return None
        return self.took.cpu / self.baseline.cpu


#: what pip writes as the ``taper`` console script
SCRIPT = """import re
import sys
from taper.cli import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def bare_environment(folder: Path) -> tuple[str, list[str]]:
    """A virtual environment without hooks that finds what this one has; its python, taper."""
    import click

    import taper

    venv.create(folder / "venv", symlinks=os.name != "nt", with_pip=False)
    python = next(p for p in (folder / "venv").glob("[bS]*/python*") if p.is_file())
    site = next((folder / "venv").glob("**/site-packages"))
    roots = [Path(taper.__file__).parent.parent, Path(click.__file__).parent.parent]
    roots += [Path(p) for p in sys.path if p.endswith("site-packages")]
    (site / "paths.pth").write_text("".join(f"{p}\n" for p in dict.fromkeys(roots)))
    (folder / "taper").write_text(SCRIPT)
    return str(python), [str(python), str(folder / "taper")]


def this_environment() -> tuple[str, list[str]]:
    """This interpreter, and the ``taper`` console script beside it (or ``-m taper``)."""
    for name in ("taper", "taper-script.py"):
        script = Path(sys.executable).parent / name
        if script.is_file():
            return sys.executable, [sys.executable, str(script)]
    return sys.executable, [sys.executable, "-m", "taper"]


def subprocess_medians(
    commands: dict[str, list[str]], repeat: int, cwd: Path, env: dict[str, str]
) -> dict[str, Timing]:
    """The median times of each command, run ``repeat`` times, interleaved round by round."""
    try:
        import resource
    except ImportError:  # Windows has no resource module: wall time only
        resource = None  # type: ignore[assignment]
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(repeat + 1):
        for name, argv in commands.items():
            cpu_before = _children_cpu(resource)
            began = time.perf_counter()
            done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True)
            took = time.perf_counter() - began
            cpu = _children_cpu(resource) - cpu_before
            if done.returncode:
                raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr.decode()}")
            if round_:  # the first round fills the bytecode cache
                walls[name].append(took)
                cpus[name].append(cpu)
    return {
        name: Timing(
            statistics.median(walls[name]),
            statistics.median(cpus[name]) if resource is not None else None,
        )
        for name in commands
    }


def _children_cpu(resource: object) -> float:
    """CPU seconds (user and system) of the finished child processes so far."""
    if resource is None:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # type: ignore[attr-defined]
    return float(usage.ru_utime + usage.ru_stime)


def prescriptions() -> Iterator[dict[str, object]]:
    """Varied prescriptions that the planner accepts, in a fixed order."""
    import taper
    from taper.errors import TaperError

    catalog = taper.load_catalog()
    found: list[dict[str, object]] = []
    start = date(2027, 1, 4)
    for drug_name in DRUGS:
        drug = catalog.drug(drug_name)
        unit = min(p.step_mg * p.split for p in drug.products_in("us") if p.usable and p.is_solid)
        for k in (4, 6, 8, 12, 16, 24, 32):
            dose = unit * k
            for per_day in drug.doses_per_day:
                for i, rule in enumerate(RULES):
                    rx: dict[str, object] = {
                        "drug": drug_name,
                        "dose": dose,
                        "per_day": per_day,
                        "rule": rule,
                        "start": start + timedelta(days=7 * i + k),
                    }
                    try:
                        taper.plan(**rx)  # type: ignore[arg-type]
                    except TaperError:
                        continue
                    found.append(rx)
    return cycle(found)


def in_process(batch_repeat: int) -> tuple[float, float, int]:
    """Seconds per plan (median of single plans), seconds for a batch, distinct prescriptions."""
    import taper

    sample = list(islice(prescriptions(), BATCH))
    distinct = len({tuple(sorted((k, str(v)) for k, v in rx.items())) for rx in sample})

    singles: list[float] = []
    for rx in sample[:500]:
        began = time.perf_counter()
        taper.plan(**rx)  # type: ignore[arg-type]
        singles.append(time.perf_counter() - began)

    batches: list[float] = []
    for _ in range(batch_repeat):
        began = time.perf_counter()
        for rx in sample:
            taper.plan(**rx)  # type: ignore[arg-type]
        batches.append(time.perf_counter() - began)
    return statistics.median(singles), statistics.median(batches), distinct


def pdf_in_process(repeat: int) -> tuple[float, float, float]:
    """Median seconds of one PDF (clonazepam 2 mg, with its chart), of ``taper.plan()`` of
    that prescription again, and of ``taper.plan()`` of a prescription not planned before in
    the process (a new dose each time), all in this process."""
    import taper
    from taper.reports.pdf import pdf_bytes

    schedule = taper.plan("clonazepam", "2 mg", start=START)
    pdf_bytes(schedule)  # imports, fonts
    pdfs, again, new = [], [], []
    for k in range(repeat):
        began = time.perf_counter()
        pdf_bytes(schedule)
        pdfs.append(time.perf_counter() - began)
        began = time.perf_counter()
        taper.plan("clonazepam", "2 mg", start=START)
        again.append(time.perf_counter() - began)
        began = time.perf_counter()
        taper.plan("clonazepam", f"{2 + (k + 1) / 8} mg", start=START)
        new.append(time.perf_counter() - began)
    return statistics.median(pdfs), statistics.median(again), statistics.median(new)


#: the start date of the in-process PDF's plan
START = "2027-01-04"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}); "
        f"Python {platform.python_version()} ({platform.python_implementation()})"
    )


def ratio(value: float) -> str:
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def fmt(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=21, help="runs of each command (21)")
    parser.add_argument("--batch-repeat", type=int, default=3, help="batches of 10,000 (3)")
    parser.add_argument(
        "--here", action="store_true", help="run in this environment, not a bare one"
    )
    args = parser.parse_args()

    print(machine())
    with tempfile.TemporaryDirectory(prefix="taper-bench-") as folder:
        work = Path(folder)
        python, taper = this_environment() if args.here else bare_environment(work)
        plan = [*taper, "plan", "clonazepam", "2mg"]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        commands = {
            "click": [python, "-c", "import click"],
            "help": [*taper, "--help"],
            "plan": plan,
            "csv": [*plan, "--csv", "plan.csv", "--force"],
        }
        medians = subprocess_medians(commands, args.repeat, work, env)
        pdf_repeat = max(3, args.repeat // 4)
        pdf = subprocess_medians(
            {"plan": plan, "pdf": [*plan, "--pdf", "plan.pdf", "--force"]}, pdf_repeat, work, env
        )
        for name in ("plan.csv", "plan.findings.csv", "plan.pdf"):
            if not (work / name).is_file():
                raise SystemExit(f"the benchmark expected {name} to be written")
    per_pdf, plan_again, plan_new = pdf_in_process(max(5, args.repeat // 2))
    per_plan, batch, distinct = in_process(args.batch_repeat)

    click_ = 'python -c "import click"'
    terminal = "terminal plan"
    rows = [
        Row("taper --help", medians["help"], click_, medians["click"], Target(1.5, "x")),
        Row("taper plan clonazepam 2mg", medians["plan"], click_, medians["click"], Target(2, "x")),
        Row("taper plan ... --csv", medians["csv"], terminal, medians["plan"]),
        Row("taper plan ... --pdf (chart)", pdf["pdf"], terminal, pdf["plan"], Target(2, "s")),
        Row("taper.plan() in process", Timing(per_plan), terminal, medians["plan"]),
        Row(
            "PDF in process",
            Timing(per_pdf),
            "taper.plan(), same plan",
            Timing(plan_again),
            Target(100, "x"),
        ),
        Row("PDF in process", Timing(per_pdf), "taper.plan(), new plan", Timing(plan_new)),
        Row(
            f"{BATCH:,} plans in process", Timing(batch), terminal, medians["plan"], Target(10, "s")
        ),
    ]
    where = "this environment" if args.here else "a bare environment, as installed"
    print(f"commands run in {where}")
    print(
        f"runs: {args.repeat} of each command ({pdf_repeat} of the PDF), "
        f"{args.batch_repeat} batches of {BATCH:,} plans ({distinct} distinct prescriptions)"
    )
    print(
        f"baselines: {click_} {fmt(medians['click'].wall)}, {terminal} {fmt(medians['plan'].wall)}"
    )
    print()
    print(
        f"{'measure':<30}{'median':>10}  {'against':<26}{'ratio':>7}{'cpu ratio':>11}"
        f"  {'target':<10}result"
    )
    failed = 0
    for row in rows:
        result = ""
        if row.target is not None:
            ok = row.target.met(row.ratio, row.took.wall)
            failed += not ok
            result = "pass" if ok else "FAIL"
        target = str(row.target) if row.target else ""
        cpu = "" if row.cpu_ratio is None else f"{ratio(row.cpu_ratio)}x"
        print(
            f"{row.name:<30}{fmt(row.took.wall):>10}  {row.against:<26}{ratio(row.ratio):>6}x"
            f"{cpu:>11}  {target:<10}{result}"
        )
    print()
    print("all targets met" if not failed else f"{failed} target(s) missed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
