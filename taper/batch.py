"""Plans for a whole roster: one plan per row, written beside a summary and an errors file.

``taper batch roster.csv --out-dir plans/`` reads a CSV roster (format in docs/batch.md),
plans each row with :func:`taper.plan` exactly as ``taper plan`` would, and writes each
plan's CSV and JSON (and PDF when asked) named by the row's reference. A row that cannot
be planned is listed in ``errors.csv`` and the batch goes on; ``summary.csv`` has one line
per plan, ``supply.csv`` what to supply for each plan, fill by fill. A roster that cannot
be read as a whole is refused before anything is written.

The command line (:mod:`taper.cli`) draws the progress bar; this module needs only the
standard library and the package's own modules (the PDF libraries load only for PDFs).
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import os
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError, RosterError, TaperError
from .flags import FLAGS
from .textfile import comma_hint, one_column_header
from .wording import speaking

if TYPE_CHECKING:
    from .catalog import Catalog
    from .reports.bundle import Bundle
    from .rules import Rule
    from .schedule import Schedule

#: the columns a roster must have, and those it may have
REQUIRED = ("reference", "drug", "dose", "per_day", "start")
OPTIONAL = (
    "rule",
    "indication",
    "age",
    "weight_kg",
    "products",
    "patient_name",
    "patient_id",
    "date_of_birth",
    "prescriber",
    "end_by",
)
#: other names a header may use for a column (after lower-casing, spaces and '-' as '_')
ALIASES = {
    "ref": "reference",
    "patient": "reference",
    "patient_ref": "reference",
    "patient_reference": "reference",
    "doses_per_day": "per_day",
    "start_date": "start",
    "weight": "weight_kg",
    "name": "patient_name",
    "record": "patient_id",
    "nhs_number": "patient_id",
    "dob": "date_of_birth",
}

SUMMARY = "summary.csv"
ERRORS = "errors.csv"
SUPPLY = "supply.csv"
SUMMARY_HEADER = (
    "row",
    "reference",
    "drug",
    "start_date",
    "start_dose_mg",
    "duration_days",
    "stop_date",
    "steps",
    "errors",
    "warnings",
    "infos",
)
ERRORS_HEADER = ("row", "reference", "error")

#: a reference names files: ASCII letters and digits, then also '.', '-' and '_'
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: names the batch's own files use, and names some systems keep for devices
_RESERVED = {
    "summary",
    "errors",
    "supply",
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(1, 10)),
    *(f"lpt{i}" for i in range(1, 10)),
}
#: how a row's errors name what they concern: a parameter that is a roster column by its
#: column (the library's own name), any other by the command line's flag
ROSTER_NAMES = {
    **{name: flag for name, flag in FLAGS.items() if name not in (*REQUIRED, *OPTIONAL)},
    "how to override": "a roster row cannot override it: plan this row with taper plan "
    '--override {code}="reason"',
}


@dataclass(frozen=True)
class Row:
    """One row of a roster: its number as a spreadsheet shows it (the header is row 1)."""

    number: int
    cells: dict[str, str]
    #: why the row cannot be read at all (too few or too many cells), if so
    problem: str = ""

    @property
    def reference(self) -> str:
        return self.cells.get("reference", "")


@dataclass(frozen=True)
class Settings:
    """What every row shares: where plans go, the default rule, the catalog, the formats."""

    out_dir: str
    rule: str | None = None
    catalog: str | None = None
    region: str = "us"
    formulary: str | None = None
    pdf: bool = False
    paper: str = "a4"
    fill_days: int = 28


@dataclass(frozen=True)
class Outcome:
    """What became of one row: the plan's key figures, or the one-line reason it was refused."""

    number: int
    reference: str
    error: str = ""
    drug: str = ""
    start_date: str = ""
    start_dose_mg: str = ""
    duration_days: int = 0
    stop_date: str = ""
    steps: int = 0
    errors: int = 0
    warnings: int = 0
    infos: int = 0
    #: what to supply for each fill, one row a product and fill (the supply file's columns)
    supply: tuple[tuple[str, ...], ...] = ()

    @property
    def planned(self) -> bool:
        return not self.error


@dataclass
class Batch:
    """A roster read and checked, ready to plan: nothing has been written yet."""

    settings: Settings
    rows: list[Row]
    #: rows refused before planning (a bad or repeated reference, a short row)
    refused: dict[int, Outcome] = field(default_factory=dict)
    #: the catalog and rules, loaded when the batch is prepared
    context: _Context | None = None
    #: the fresh folder beside the target the run writes into, moved into place at the end
    staging: Path | None = None
    #: the open lock file that marks the fresh folder as this run's while it is written
    _lock: int | None = field(default=None, init=False, repr=False)

    @property
    def out_dir(self) -> Path:
        return Path(self.settings.out_dir)

    @property
    def todo(self) -> list[Row]:
        return [r for r in self.rows if r.number not in self.refused]

    def run(self, jobs: int = 1, progress: Callable[[int], object] | None = None) -> list[Outcome]:
        """Plan and write every row into a fresh folder beside the target; the outcomes in
        roster order. :meth:`write_reports` then moves them into place.

        ``jobs`` above 1 plans the rows in that many processes; the files are the same.
        ``progress(n)`` is called as each ``n`` rows are done. Interrupted (Ctrl-C, a
        signal turned into an exception), the fresh folder is removed and the target is as
        it was.
        """
        import tempfile

        tick = progress or (lambda n: None)
        if self.refused:
            tick(len(self.refused))
        parent = self.out_dir.absolute().parent
        clear_stale(parent, self.out_dir.name)
        self.staging = Path(
            tempfile.mkdtemp(prefix=f".{self.out_dir.name}.", suffix=".partial", dir=parent)
        )
        staged = replace(self.settings, out_dir=str(self.staging))
        todo = self.todo
        done: dict[int, Outcome] = dict(self.refused)
        try:
            self._lock = _hold(self.staging)
            if jobs <= 1 or len(todo) <= 1:
                context = self.context or _Context(self.settings)
                for outcome in _plan_rows(todo, staged, context, tick):
                    done[outcome.number] = outcome
            else:
                for outcome in _run_in_processes(todo, staged, jobs, tick):
                    done[outcome.number] = outcome
        except BaseException:
            self.abandon()
            raise
        return [done[r.number] for r in self.rows]

    def abandon(self) -> None:
        """Remove the fresh folder of a run that will not be moved into place (a second
        Ctrl-C meanwhile does not leave part of it)."""
        import shutil

        if self.staging is not None:
            with signals_held():
                self._let_go()
                shutil.rmtree(self.staging, ignore_errors=True)
                self.staging = None

    def _let_go(self) -> None:
        """Give up the fresh folder's lock, and its lock file, which is not an output."""
        # the lock file goes first, while the lock is held: a batch clearing stale folders
        # that opened it a moment before finds it gone and leaves the folder
        if self.staging is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.staging / LOCK)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def _move_into_place(self, outcomes: Sequence[Outcome]) -> None:
        """The run's files into the target folder; then the files an earlier run left for
        these rows that this run did not replace (a refused row's, a PDF when none is asked
        for) are removed, so none disagrees with this run."""
        staging = self.staging
        assert staging is not None, "run() first"
        target = self.out_dir
        self._let_go()
        if not target.exists():
            os.rename(staging, target)  # the whole folder at once
        else:
            for path in sorted(staging.iterdir()):
                os.replace(path, target / path.name)
            staging.rmdir()
        self.staging = None
        remove_stale(self, outcomes)

    def write_reports(
        self, outcomes: Sequence[Outcome], shown: Callable[[], object] | None = None
    ) -> tuple[Path, Path]:
        """Write summary.csv, errors.csv and supply.csv (all or none); the first two's paths.
        ``shown`` is called before the fresh folder is moved into place (the command line
        shows its summary there): where it fails (standard output on a full disk), the fresh
        folder is removed and the target is as it was."""
        from .reports import files

        staging = self.staging
        assert staging is not None, "run() first"
        try:
            files.write_all(
                [
                    ("out_dir", str(staging / SUMMARY), summary_csv(outcomes).encode("utf-8")),
                    ("out_dir", str(staging / ERRORS), errors_csv(outcomes).encode("utf-8")),
                    ("out_dir", str(staging / SUPPLY), supply_csv(outcomes).encode("utf-8")),
                ]
            )
            if shown is not None:
                shown()
            self._move_into_place(outcomes)
        except BaseException:
            self.abandon()
            raise
        return self.out_dir / SUMMARY, self.out_dir / ERRORS


#: the file in a batch's fresh folder that is locked while the batch that made it runs
LOCK = ".lock"


def _hold(folder: Path) -> int | None:
    """Lock ``folder`` as this run's (None where the system has no file locks)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    # locked under another name, then named: a lock file is never seen unlocked
    making = folder / f"{LOCK}.new"
    fd = os.open(making, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a file system without locks (some network shares): none is taken
        os.close(fd)
        os.unlink(making)
        return None
    os.rename(making, folder / LOCK)
    return fd


def clear_stale(parent: Path, name: str) -> None:
    """Remove the fresh folders that batches into ``name`` left when they were killed
    (SIGKILL, a power cut): those whose lock file is there and no running batch holds."""
    import shutil

    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return
    for folder in parent.glob(f".{glob.escape(name)}.*.partial"):
        if folder.is_symlink() or not folder.is_dir():
            continue
        try:
            fd = os.open(folder / LOCK, os.O_RDWR)
        except OSError:
            continue  # no lock file: not a batch's, or one that is just starting
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # still that folder's lock file (not one its batch removed as it finished)
            if os.fstat(fd).st_ino == os.stat(folder / LOCK).st_ino:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass  # a running batch holds it, or it is gone
        finally:
            os.close(fd)


def prepare(roster: str | Path, settings: Settings, force: bool = False) -> Batch:
    """Read and check the roster, the shared settings and the outputs, before any plan.

    Raises
    ------
    TaperError
        For a roster that cannot be read as a whole, a bad default rule or catalog, or
        outputs that exist (without ``force``). Nothing has been written.
    """
    rows = read_roster(roster)
    context = _Context(settings)  # the catalog, formulary and default rule load, or stop here
    batch = Batch(settings, rows, _refuse_references(rows), context)
    _check_outputs(batch, force, Path(roster))
    return batch


def read_roster(path: str | Path) -> list[Row]:
    """The rows of a CSV roster (UTF-8, a header row naming the columns).

    Raises
    ------
    RosterError
        Naming the file and what is wrong with it as a whole: unreadable, empty, not
        UTF-8, not CSV, a column missing, unknown or given twice, or no rows.
    """
    from .textfile import csv_records, read_text

    name = str(path)
    text = read_text(path, name, "CSV", lambda field, _, why: RosterError(field, why))
    if not text.strip():
        raise RosterError(name, "the file is empty; a CSV file with a header row is needed")
    records = csv_records(text, lambda why: RosterError(name, why))
    if not records:
        raise RosterError(name, "the file is empty; a CSV file with a header row is needed")
    columns = _columns(name, records[0])
    rows = []
    for index, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        cells = {c: v.strip() for c, v in zip(columns, record, strict=False)}
        problem = ""
        if len(record) != len(columns):
            problem = f"{len(record)} cells where the header has {len(columns)} columns"
        rows.append(Row(index, cells, problem))
    if not rows:
        raise RosterError(name, "no rows after the header; one row per plan is needed")
    return rows


def _columns(name: str, header: list[str]) -> list[str]:
    """The header's columns by their names in taper, each checked."""
    if one_column_header(header):
        raise RosterError(name, comma_hint(header))
    known = (*REQUIRED, *OPTIONAL)
    columns: list[str] = []
    for position, cell in enumerate(header, start=1):
        key = re.sub(r"[\s-]+", "_", cell.strip().lower())
        key = ALIASES.get(key, key)
        if not key:
            raise RosterError(name, f"column {position} of the header has no name")
        if key not in known:
            raise RosterError(
                name,
                f"unknown column {cell.strip()!r}; the columns are {', '.join(REQUIRED)} "
                f"and optionally {', '.join(OPTIONAL)}",
            )
        if key in columns:
            raise RosterError(name, f"the column {key!r} is given twice")
        columns.append(key)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        which = ", ".join(repr(c) for c in missing)
        raise RosterError(
            name,
            f"missing column{'s' if len(missing) > 1 else ''} {which}; "
            f"a roster needs {', '.join(REQUIRED)}",
        )
    return columns


def check_reference(reference: str) -> None:
    """Refuse a reference that is not a safe file name or that names the batch's own files."""
    if not reference:
        raise InputError("reference", reference, "a reference is needed: it names the plan's files")
    if not _REFERENCE.fullmatch(reference):
        raise InputError(
            "reference",
            reference,
            "a file name of ASCII letters, digits, '.', '-' and '_', up to 100 characters, "
            "starting with a letter or digit",
        )
    if reference.split(".")[0].lower() in _RESERVED or reference.lower().endswith(
        (".findings", ".supply")
    ):
        raise InputError(
            "reference",
            reference,
            "a name other than summary, errors, supply or a device name (con, nul, com1...), not "
            "ending .findings or .supply (a plan's findings and supply files are "
            "REFERENCE.findings.csv and REFERENCE.supply.csv)",
        )


def check_reference_ok(reference: str) -> bool:
    """Whether ``reference`` may name files."""
    try:
        check_reference(reference)
    except TaperError:
        return False
    return True


def _refuse_references(rows: Sequence[Row]) -> dict[int, Outcome]:
    """Rows refused before planning: unreadable rows, bad references, a reference twice."""
    refused: dict[int, Outcome] = {}
    first: dict[str, int] = {}
    for row in rows:
        try:
            if row.problem:
                raise RosterError("row", row.problem)
            check_reference(row.reference)
            key = row.reference.lower()  # some file systems do not tell case apart
            if key in first:
                raise InputError(
                    "reference",
                    row.reference,
                    f"each reference once: row {first[key]} has it already (case aside)",
                )
            first[key] = row.number
        except TaperError as exc:
            refused[row.number] = Outcome(row.number, row.reference, error=_message(exc))
    return refused


#: every kind of file a row's plan may be written as, in any run


def outputs(settings: Settings, reference: str) -> list[Path]:
    """The files a row's plan is written to."""
    return [Path(path) for _, path in _bundle(settings, reference).targets()]


def _any_outputs(settings: Settings, reference: str) -> list[Path]:
    """Every file a row's plan may have been written to, by this run or an earlier one."""
    return outputs(replace(settings, pdf=True), reference)


def remove_stale(batch: Batch, outcomes: Sequence[Outcome]) -> list[Path]:
    """Remove what an earlier run wrote for these rows and this run did not replace: a refused
    row's files, and a PDF when this run writes none. So the folder never holds a plan that
    disagrees with this run's summary. Returns the files removed."""
    removed = []
    # a row refused for repeating a planned row's reference names that row's files
    planned = {o.reference.lower() for o in outcomes if o.planned}
    for outcome in outcomes:
        if not check_reference_ok(outcome.reference):
            continue  # names no file of this batch's
        if not outcome.planned and outcome.reference.lower() in planned:
            continue
        fresh = set(outputs(batch.settings, outcome.reference)) if outcome.planned else set()
        for path in _any_outputs(batch.settings, outcome.reference):
            if path not in fresh and path.is_file():
                path.unlink()
                removed.append(path)
    return removed


def _inode(path: Path) -> tuple[int, int]:
    """Which file ``path`` is, whatever its name (a link or another spelling of it)."""
    found = path.stat()
    return found.st_dev, found.st_ino


def _check_outputs(batch: Batch, force: bool, roster: Path) -> None:
    """Refuse a folder that cannot be one, files that exist unless ``force``, and the
    roster itself among the outputs."""
    from .reports import files

    folder = batch.out_dir
    if batch.settings.out_dir.strip() in ("", "-"):
        # '-' names standard output elsewhere, which a batch's files cannot go to
        raise InputError("out_dir", batch.settings.out_dir, "a folder's name (. for this one)")
    if folder.is_symlink() and not folder.exists():
        raise InputError("out_dir", str(folder), "a folder; this is a link to nothing")
    if folder.exists() and not folder.is_dir():
        raise InputError("out_dir", str(folder), "a folder; this is a file")
    if not folder.exists():
        above = next(p for p in folder.absolute().parents if p.exists())
        if not above.is_dir() or not os.access(above, os.W_OK | os.X_OK):
            raise InputError("out_dir", str(folder), f"a folder that can be made in {above}")
        return
    targets = [folder / SUMMARY, folder / ERRORS, folder / SUPPLY]
    for row in batch.rows:
        if check_reference_ok(row.reference):
            targets += _any_outputs(batch.settings, row.reference)
    existing = [t for t in targets if t.exists()]
    if any(t.samefile(roster) for t in existing):
        raise InputError("out_dir", str(folder), "a folder where no output is the roster itself")
    settings = batch.settings
    named = {settings.rule, settings.catalog, settings.formulary}
    named |= {row.cells.get("rule", "") for row in batch.rows}
    read = {_inode(Path(p)) for p in named if p and Path(p).is_file()}
    hit = next((t for t in existing if _inode(t) in read), None)
    if hit is not None:
        raise InputError(
            "out_dir",
            str(hit),
            "a folder where no output is a file the batch reads (a rule, catalog or formulary)",
        )
    if existing and not force:
        more = f" ({len(existing) - 1} more after it)" if len(existing) > 1 else ""
        raise InputError(
            "out_dir",
            str(existing[0]),
            f"the file exists{more}; pass {{force}} to replace the batch's files",
        )
    for target in existing:
        files.check_writable(target, True, "out_dir")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError("out_dir", str(folder), "the folder cannot be written to")


class _Context:
    """Loaded once per process: the catalog (with any formulary) and the rules by name."""

    def __init__(self, settings: Settings) -> None:
        from .catalog import load_catalog, load_formulary
        from .rules import build_rule

        catalog = load_catalog(settings.catalog)
        if settings.formulary:
            catalog = load_formulary(catalog, settings.formulary)
        self.catalog: Catalog = catalog
        self.default: Rule = build_rule(settings.rule)
        self.rules: dict[str, Rule] = {}

    def rule(self, name: str) -> Rule:
        if not name:
            return self.default
        if name not in self.rules:
            from .rules import build_rule

            self.rules[name] = build_rule(name)
        return self.rules[name]


#: each worker process's context, made on its first rows
_CONTEXTS: dict[Settings, _Context] = {}


def _context(settings: Settings) -> _Context:
    if settings not in _CONTEXTS:
        _CONTEXTS[settings] = _Context(settings)
    return _CONTEXTS[settings]


def plan_row(row: Row, settings: Settings, context: _Context | None = None) -> Outcome:
    """Plan one row as ``taper plan`` would and write its files (all or none).

    Never raises for a bad row: the outcome carries its one-line error.
    """
    outcome, contents = _make(row, settings, context or _context(settings))
    return _written(outcome, lambda: _write_all(contents)) if contents else outcome


def _make(row: Row, settings: Settings, context: _Context) -> tuple[Outcome, list[_File]]:
    """The row's plan, its key figures and its files' bytes; or its error and no files."""
    try:
        schedule = _plan(row, settings, context)
        contents = _contents(schedule, row.reference, settings)
    except Exception as exc:
        return _refused(row.number, row.reference, exc), []
    counts = dict.fromkeys(("error", "warning", "info"), 0)
    for finding in schedule.findings:
        counts[finding.severity] += 1
    from .doses import plain_number
    from .schedule_csv import supply_rows

    outcome = Outcome(
        row.number,
        row.reference,
        drug=schedule.prescription.drug,
        start_date=schedule.start_date.isoformat(),
        start_dose_mg=plain_number(schedule.prescription.start_dose),
        duration_days=schedule.duration_days,
        stop_date=schedule.stop_date.isoformat(),
        steps=len(schedule.steps),
        errors=counts["error"],
        warnings=counts["warning"],
        infos=counts["info"],
        supply=tuple(tuple(r) for r in supply_rows(schedule, settings.fill_days)),
    )
    return outcome, contents


def _refused(number: int, reference: str, exc: Exception) -> Outcome:
    if isinstance(exc, TaperError):
        return Outcome(number, reference, error=_message(exc))
    # a bug: still one line, and the batch goes on
    what = f"unexpected failure ({type(exc).__name__}: {exc}); please report it"
    return Outcome(number, reference, error=" ".join(what.split()))


def _written(outcome: Outcome, write: Callable[[], object]) -> Outcome:
    """``outcome`` once ``write`` has written its files, or the reason it could not."""
    try:
        write()
    except Exception as exc:
        return _refused(outcome.number, outcome.reference, exc)
    return outcome


def _plan(row: Row, settings: Settings, context: _Context) -> Schedule:
    from .planning import plan

    cells = row.cells
    for column in ("drug", "dose", "start"):
        if not cells.get(column):
            raise InputError(column, "", f"a {column} is needed in every row")
    return plan(
        cells["drug"],
        cells["dose"],
        rule=context.rule(cells.get("rule", "")),
        per_day=_whole(
            cells.get("per_day", ""), "per_day", "a whole number of doses a day, 1 to 4"
        ),
        start=cells["start"],
        products=cells.get("products", "").strip() or None,
        region=settings.region,
        catalog=context.catalog,
        indication=cells.get("indication") or None,
        age=_whole(cells.get("age", ""), "age", "an age in whole years, 0 to 130"),
        weight_kg=cells.get("weight_kg") or None,
        patient_name=cells.get("patient_name") or None,
        patient_id=cells.get("patient_id") or None,
        date_of_birth=cells.get("date_of_birth") or None,
        prescriber=cells.get("prescriber") or None,
        end_by=cells.get("end_by") or None,
    )


def _whole(cell: str, column: str, allowed: str) -> int | None:
    """A whole number from a cell, or ``None`` when it is blank."""
    if not cell:
        return None
    if not re.fullmatch(r"[0-9]{1,4}", cell):
        raise InputError(column, cell, allowed)
    return int(cell)


#: one file to write: the option or part it comes from, its path, its bytes
_File = tuple[str, str, bytes]


def _bundle(settings: Settings, reference: str) -> Bundle:
    """The files a row's plan is written to, as ``taper plan`` writes them: the CSV with its
    findings file, the JSON, and the PDF where asked for."""
    from .reports.bundle import Bundle

    folder = Path(settings.out_dir)
    return Bundle(
        csv=str(folder / f"{reference}.csv"),
        json=str(folder / f"{reference}.json"),
        pdf=str(folder / f"{reference}.pdf") if settings.pdf else None,
        paper=settings.paper,
        fill_days=settings.fill_days,
        reference=reference,
    )


def _contents(schedule: Schedule, reference: str, settings: Settings) -> list[_File]:
    """The plan's files, made in memory as ``taper plan`` makes them."""
    return _bundle(settings, reference).contents(schedule)


def _write_all(contents: list[_File]) -> None:
    from .reports import files

    files.write_all(contents)


#: rows being written while the next are planned: each file is synced to disk before it
#: takes its name, and that waiting overlaps the planning of the rows after it
WRITERS = 4
_PENDING = 64


def _plan_rows(
    rows: Sequence[Row], settings: Settings, context: _Context, tick: Callable[[int], object]
) -> list[Outcome]:
    """Plan ``rows`` in this process, writing each row's files (all or none) in a few threads."""
    from concurrent.futures import Future, ThreadPoolExecutor

    outcomes: list[Outcome] = []
    pending: deque[tuple[Outcome, Future[None]]] = deque()

    def finish() -> None:
        outcome, future = pending.popleft()
        outcomes.append(_written(outcome, future.result))
        tick(1)

    # a row's findings say what they name as its errors do: by its columns, or else by flags
    with ThreadPoolExecutor(max_workers=WRITERS) as writers, speaking(ROSTER_NAMES):
        for row in rows:
            outcome, contents = _make(row, settings, context)
            if not contents:
                outcomes.append(outcome)
                tick(1)
                continue
            pending.append((outcome, writers.submit(_write_all, contents)))
            while pending and (len(pending) > _PENDING or pending[0][1].done()):
                finish()
        while pending:
            finish()
    return outcomes


def _message(exc: TaperError) -> str:
    """The error's one line, in the roster's words: its columns carry the library's names
    (``start``, ``per_day``), every other parameter is said as the command line's flag."""
    return " ".join(exc.render(ROSTER_NAMES).split())


def _plan_chunk(rows: list[Row], settings: Settings) -> list[Outcome]:
    """The work of one process: plan and write a few rows."""
    return _plan_rows(rows, settings, _context(settings), lambda n: None)


def _run_in_processes(
    rows: list[Row], settings: Settings, jobs: int, tick: Callable[[int], object]
) -> list[Outcome]:
    """Plan ``rows`` in ``jobs`` processes, a few rows at a time."""
    import multiprocessing

    per_chunk = 4 if settings.pdf else 64
    size = max(1, min(per_chunk, -(-len(rows) // (jobs * 4))))
    chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
    outcomes: list[Outcome] = []
    # spawn: the same start on every system, and no copy of the parent's state
    spawn = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(chunks)), mp_context=spawn, initializer=_quiet_worker
    )
    try:
        futures = [pool.submit(_plan_chunk, chunk, settings) for chunk in chunks]
        for future in as_completed(futures):
            done = future.result()
            outcomes.extend(done)
            tick(len(done))
    except BaseException:
        # interrupted: no chunk not yet started runs, and none writes after the caller
        # has removed what the run wrote; a second Ctrl-C does not cut the shutdown short
        with signals_held():
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return outcomes


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM ignored for a moment (in the main thread, where signals are
    handled): a stopping batch finishes stopping, its workers joined and its fresh folder
    removed, however often the user presses Ctrl-C."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in held.items():
            signal.signal(number, handler)


def _quiet_worker() -> None:
    """A worker leaves Ctrl-C to the batch that started it, which stops the pool."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def summary_csv(outcomes: Sequence[Outcome]) -> str:
    """One line per planned row, in roster order."""
    return _csv(
        SUMMARY_HEADER,
        [
            [
                str(o.number),
                o.reference,
                o.drug,
                o.start_date,
                o.start_dose_mg,
                str(o.duration_days),
                o.stop_date,
                str(o.steps),
                str(o.errors),
                str(o.warnings),
                str(o.infos),
            ]
            for o in outcomes
            if o.planned
        ],
    )


def supply_csv(outcomes: Sequence[Outcome]) -> str:
    """What to supply for each planned row, fill by fill, in roster order: the row's number and
    reference, then its supply file's columns."""
    from .schedule_csv import SUPPLY_HEADER

    return _csv(
        ("row", "reference", *SUPPLY_HEADER),
        [[str(o.number), o.reference, *line] for o in outcomes if o.planned for line in o.supply],
    )


def errors_csv(outcomes: Sequence[Outcome]) -> str:
    """One line per refused row, in roster order: its number, reference and error."""
    return _csv(
        ERRORS_HEADER, [[str(o.number), o.reference, o.error] for o in outcomes if not o.planned]
    )


def _csv(header: Sequence[str], rows: list[list[str]]) -> str:
    from .schedule_csv import safe_cell

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[safe_cell(c) for c in row] for row in rows])
    return out.getvalue()


def summary_line(outcomes: Sequence[Outcome], out_dir: str | Path) -> str:
    """The batch in one line: how many rows were planned, and where the refused are listed."""
    planned = sum(1 for o in outcomes if o.planned)
    refused = len(outcomes) - planned
    folder = Path(out_dir)
    line = f"Planned {planned} of {len(outcomes)} rows into {folder}"
    if refused:
        line += f"; {refused} refused, listed in {folder / ERRORS}"
    return f"{line}; summary in {folder / SUMMARY}"
