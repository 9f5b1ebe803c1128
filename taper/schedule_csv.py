"""A schedule as CSV: its one writer (the CSV taper writes, and the findings file beside
it) and its one reader (a CSV schedule, taper's or one made elsewhere, for checking).

A CSV needs ``start_date``, either ``days`` or ``end_date``, and ``daily_dose_mg``; it may
give the dose at each time (``morning_mg``, ``midday_mg``, ``evening_mg``, ``bedtime_mg``), a
``step`` number, a ``drug`` column and the plan's ``products``. A row of 0 mg marks the stop
and must come last. The findings file (``plan.findings.csv``) holds the plan's findings, with
the reason for each one the clinician accepted.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from .catalog import TIMES, Catalog, Drug
from .dispensing import supply_unit
from .doses import format_percent, plain_number
from .errors import InputError
from .plan_json import default_products, plan_products
from .rules import GUIDELINE_CAP, GUIDELINE_SOURCE
from .schedule import FILL_DAYS, Finding, Patient, Schedule, Stage, Switch
from .textfile import comma_hint, day, digits, number, one_column_header, percent_cap, read_text
from .validation import Period, Timeline, finding, switch_course
from .wording import option

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path


# ---- the writer --------------------------------------------------------------------------------


#: cells a spreadsheet would run as a formula (OWASP CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading ``'`` before ``=``, ``+``, ``-``, ``@``...,
    their full-width forms (U+FF1D for ``=``) among them, which some spreadsheets also run."""
    import unicodedata

    first = unicodedata.normalize("NFKC", cell[:1])
    return "'" + cell if first.startswith(_FORMULA_START) else cell


_safe = safe_cell


def plan_rows(schedule: Schedule) -> tuple[list[str], list[list[str]]]:
    """Header and one row per step: dates, days, doses, what to take, cut and % of start.

    Each row also names the drug, the starting dose, the cap and the limit per
    administration, so that ``taper check`` can check the file on its own.
    """
    rx = schedule.prescription
    times = rx.times
    header = ["drug", "step", "start_date", "end_date", "days", "daily_dose_mg", "target_dose_mg"]
    for time in times:
        header += [f"{time}_mg", f"{time}_take"]
    header += ["cut_pct", "pct_of_start", "start_dose_mg", "max_cut_pct", "max_units", "products"]
    allowed = products_cell(schedule)
    start = rx.start_dose
    rows = []
    for step in schedule.steps:
        row = [
            rx.drug,
            str(step.number),
            step.start.isoformat(),
            step.end.isoformat(),
            str(step.days),
            plain_number(step.dose),
            plain_number(step.target),
        ]
        for time in times:
            admin = step.at(time)
            if admin is None:
                row += ["0", "none"]
            else:
                row += [plain_number(admin.dose), " + ".join(u.describe() for u in admin.units)]
        row += [
            format_percent(step.cut),
            format_percent(step.dose / start),
            plain_number(start),
            format_percent(schedule.max_cut),
            str(schedule.max_units),
            allowed,
        ]
        rows.append(row)
    who = identity_cells(schedule)
    header += [column for column, _ in who]
    rows = [[*row, *(value for _, value in who)] for row in rows]
    if schedule.switch is None:
        return header, rows
    return _with_switch(schedule, header, rows)


def identity_cells(schedule: Schedule) -> list[tuple[str, str]]:
    """Who the plan is for, as CSV columns and their values: only the parts given."""
    who = schedule.identity
    cells = [
        ("patient_name", who.name),
        ("patient_id", who.record),
        ("date_of_birth", who.born.isoformat() if who.born else ""),
        ("prescriber", who.prescriber),
        ("reference", who.reference),
    ]
    return [(column, value) for column, value in cells if value]


def products_cell(schedule: Schedule) -> str:
    """The products the plan may dispense, for a CSV cell: ids, ``/half`` on a tablet halved
    along a break line (off-licence), ``@0.2ml`` on a liquid measured other than its
    catalog's way; separated by spaces."""
    tokens = []
    for product in schedule.products:
        token = product.id
        if product.halved_off_licence:
            token += "/half"
        if product.is_liquid and product.increment_ml is not None and product.default_measure:
            token += f"@{plain_number(product.increment_ml)}ml"
        tokens.append(token)
    return " ".join(tokens)


def _with_switch(
    schedule: Schedule, header: list[str], rows: list[list[str]]
) -> tuple[list[str], list[list[str]]]:
    """A switch's stages before the taper's steps, each row saying which phase it is."""
    switch = schedule.switch
    assert switch is not None
    times = schedule.prescription.times
    out = []
    for stage in switch.stages:
        cells = dict.fromkeys(header, "")
        cells.update(
            {
                "drug": f"{switch.from_drug}+{switch.to_drug}",
                "step": f"S{stage.number}",
                "start_date": stage.start.isoformat(),
                "end_date": stage.end.isoformat(),
                "days": str(stage.days),
                **dict(identity_cells(schedule)),
            }
        )
        for time in times:
            admin = stage.at(time)
            cells[f"{time}_take"] = (
                " + ".join(u.describe() for u in admin.units) if admin else "none"
            )
        out.append(
            [
                "switch",
                *cells.values(),
                plain_number(stage.dose_of(switch.from_drug)),
                plain_number(stage.dose_of(switch.to_drug)),
                plain_number(stage.equivalent),
            ]
        )
    for row in rows:
        dose = row[header.index("daily_dose_mg")]
        out.append(["taper", *row, "0", dose, dose])
    return ["phase", *header, "from_drug_mg", "to_drug_mg", "equivalent_mg"], out


def csv_text(schedule: Schedule) -> str:
    """The schedule as CSV text (UTF-8, ``\\n`` line ends, ISO dates, ISMP numbers)."""
    import csv  # here, not at the top: the terminal plan writes no CSV

    header, rows = plan_rows(schedule)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_safe(c) for c in row] for row in rows])
    return out.getvalue()


def findings_csv_text(findings: Iterable[Finding]) -> str:
    """Findings as CSV, errors first, with any override and its reason."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["severity", "code", "step", "message", "source", "override"])
    for f in sorted(findings, key=Finding.sort_key):
        row = [
            f.severity,
            f.code,
            "" if f.step is None else str(f.step),
            f.message,
            f.source,
            f.override,
        ]
        writer.writerow([_safe(c) for c in row])
    return out.getvalue()


#: the columns of a supply file, one row a product and fill
SUPPLY_HEADER = ("fill", "start_date", "end_date", "product_id", "product", "quantity", "unit")


def supply_rows(schedule: Schedule, fill_days: int = FILL_DAYS) -> list[list[str]]:
    """What to supply for each fill of ``fill_days`` days, one row a product and fill (the
    columns of :data:`SUPPLY_HEADER`): whole tablets (a half counted as a tablet supplied
    whole), a liquid in mL or bottles."""
    return [
        [
            str(fill),
            first.isoformat(),
            last.isoformat(),
            product.id,
            product.name,
            plain_number(quantity),
            supply_unit(product),
        ]
        for fill, (first, last, supply) in enumerate(schedule.fills(fill_days), start=1)
        for product, quantity in supply
    ]


def supply_csv_text(schedule: Schedule, fill_days: int = FILL_DAYS) -> str:
    """The supply of each fill of ``fill_days`` days as CSV (:func:`supply_rows`)."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SUPPLY_HEADER)
    writer.writerows([[_safe(c) for c in row] for row in supply_rows(schedule, fill_days)])
    return out.getvalue()


# ---- the reader --------------------------------------------------------------------------------


#: a schedule longer than this is not one a clinician wrote (taper's own bound)
MAX_ROWS = 5000


@dataclass(frozen=True)
class ExternalOptions:
    """What the command line adds to a schedule read from a file."""

    drug: str | None = None
    start_dose: Decimal | None = None
    per_day: int | None = None
    max_cut: Decimal | None = None
    max_units: int = 4
    max_units_given: bool = False
    region: str = "us"
    patient: Patient = field(default_factory=Patient)

    @property
    def reads_as_written(self) -> bool:
        """Whether a plan's JSON is read as it was written: nothing given here changes its
        drug, starting dose, doses a day, cap or unit limit."""
        return (
            self.drug is None
            and self.start_dose is None
            and self.per_day is None
            and self.max_cut is None
            and not self.max_units_given
        )


def drug_of(cat: Catalog, name: object, options: ExternalOptions) -> Drug:
    chosen = options.drug or name
    if not chosen:
        raise InputError("{drug}", "", "name the drug with {drug} or a drug column")
    return cat.drug(str(chosen))


def read_csv(
    text: str, origin: str, options: ExternalOptions, cat: Catalog
) -> tuple[Timeline, list[Finding]]:
    """A CSV schedule's text as a :class:`~taper.validation.Timeline`, with reading notes."""
    from .textfile import csv_records

    records = [r for r in csv_records(text, lambda why: InputError(origin, "", why)) if r]
    header = [h.strip() for h in (records[0] if records else [])]
    if one_column_header(header):
        raise InputError(f"{origin}: columns", header[0], comma_hint(header).split("; ", 1)[1])
    if len(set(header)) != len(header):
        repeated = sorted({h for h in header if header.count(h) > 1})
        raise InputError(f"{origin}: columns", repeated[0], "each column once")
    missing = [c for c in ("start_date", "daily_dose_mg") if c not in header]
    if missing or ("days" not in header and "end_date" not in header):
        need = missing[0] if missing else "days or end_date"
        raise InputError(
            f"{origin}: columns",
            ",".join(header),
            f"a {need} column is required (start_date, days or end_date, daily_dose_mg)",
        )
    times = [t for t in TIMES if f"{t}_mg" in header]
    rows: list[dict[str, str]] = []
    switch_rows: list[tuple[int, dict[str, str]]] = []
    for i, record in enumerate(records[1:], start=2):
        if i - 1 > MAX_ROWS:
            raise InputError(origin, f"{i - 1} rows", f"at most {MAX_ROWS} rows")
        if len(record) != len(header):
            raise InputError(f"{origin}: row {i}", "", "every row needs one cell per column")
        row = {k: v.strip() for k, v in zip(header, record, strict=True)}
        if row.get("phase", "taper") == "switch":
            switch_rows.append((i, row))
        else:
            rows.append(row)
    if not rows:
        raise InputError(origin, "", "the file has no rows")
    if switch_rows and "equivalent_mg" not in header:
        raise InputError(f"{origin}: columns", ",".join(header), "an equivalent_mg column")
    named = {r.get("drug", "") for r in rows} - {""}
    drugs = {cat.drug(n).name for n in named}
    if len(drugs) > 1:
        raise InputError(f"{origin}: drug", ", ".join(sorted(named)), "one drug per schedule")
    if options.drug and drugs and cat.drug(options.drug).name not in drugs:
        raise InputError("{drug}", options.drug, f"the file's drug column says {drugs.pop()}")
    drug = drug_of(cat, next(iter(drugs), None), options)
    stated = _stated_limits(rows, origin)
    periods: list[Period] = []
    stop_seen = False
    for i, row in enumerate(rows, start=2):
        where = f"{origin}: row {i}"
        dose = number(row["daily_dose_mg"], f"{where}, daily_dose_mg", allow_zero=True)
        start = day(row["start_date"], f"{where}, start_date")
        if stop_seen:
            raise InputError(f"{where}", row["daily_dose_mg"], "no row may follow the 0 mg stop")
        if dose == 0:
            stop_seen = True
            continue
        if row.get("days", ""):
            days_text = row["days"]
            if not digits(days_text) or not 1 <= int(days_text) <= 3650:
                raise InputError(f"{where}, days", days_text, "whole days, 1 to 3650")
            days = int(days_text)
            if row.get("end_date", ""):
                # both given: they must say the same, or the file is not what it seems
                end = day(row["end_date"], f"{where}, end_date")
                if (end - start).days + 1 != days:
                    last = start + timedelta(days=days - 1)
                    raise InputError(
                        f"{where}, end_date",
                        row["end_date"],
                        f"{last.isoformat()}, the last of the row's {days} days from its "
                        f"start_date",
                    )
        else:
            end = day(row.get("end_date", ""), f"{where}, end_date")
            days = (end - start).days + 1
            if days < 1:
                raise InputError(
                    f"{where}, end_date", row["end_date"], "a day on or after start_date"
                )
        shares = tuple(
            (t, number(row[f"{t}_mg"] or "0", f"{where}, {t}_mg", allow_zero=True)) for t in times
        )
        periods.append(
            Period(len(periods) + 1, start, days, dose, tuple(s for s in shares if s[1] > 0))
        )
    if not periods:
        raise InputError(origin, "", "the schedule has no dose above 0 mg")
    per_day = options.per_day or (len(times) if times else drug.default_doses_per_day)
    notes: list[Finding] = []
    start_dose = options.start_dose or stated.get("start_dose_mg")
    cap = options.max_cut or stated.get("max_cut_pct")
    units = (
        options.max_units
        if options.max_units_given
        else int(stated.get("max_units", options.max_units))
    )
    first_is_start = start_dose is None
    if first_is_start:
        notes.append(
            finding(
                "no-start-dose",
                f"No starting dose was given ({option('start_dose')}), so the first row "
                f"({periods[0].dose} mg/day) is taken as the dose before the first cut.",
                "taper check",
            )
        )
    listed = {r.get("products", "") for r in rows} - {""}
    if len(listed) > 1:
        raise InputError(f"{origin}: products", "; ".join(sorted(listed)), "one value for all rows")
    products = (
        plan_products(
            {"products": _product_tokens(listed.pop(), origin)}, drug, options.region, origin
        )
        if listed
        else default_products(drug, options.region)
    )
    timeline = Timeline(
        drug=drug,
        start_dose=start_dose or periods[0].dose,
        doses_per_day=per_day,
        periods=tuple(periods),
        products=products,
        max_cut=cap or GUIDELINE_CAP,
        max_units=units,
        region=options.region,
        patient=options.patient,
        first_is_start=first_is_start,
        cap_source=GUIDELINE_SOURCE
        if cap is None
        else f"the stated cap ({option('max_cut')} or max_cut_pct)",
    )
    if switch_rows:
        notes += _csv_switch(switch_rows, origin, timeline)
    return timeline, notes


def _product_tokens(cell: str, origin: str) -> list[dict[str, str]]:
    """A CSV's ``products`` cell (``diazepam-tab-2/half diazepam-solution-1-mg-ml@0.2ml``) as
    the JSON's ``products`` entries."""
    entries = []
    for token in cell.split():
        pid, _, measure = token.partition("@")
        pid, _, half = pid.partition("/")
        entry = {"id": pid}
        if half:
            if half != "half":
                raise InputError(f"{origin}: products", token, "a product id, with /half or @0.2ml")
            entry["split"] = "0.5"
        if measure:
            if not measure.lower().endswith("ml"):
                raise InputError(f"{origin}: products", token, "a product id, with /half or @0.2ml")
            entry["increment_ml"] = measure[:-2]
        entries.append(entry)
    return entries


def _csv_switch(
    rows: list[tuple[int, dict[str, str]]], origin: str, timeline: Timeline
) -> list[Finding]:
    """A CSV's switch rows: their dates and the equivalent's course from the first stage on.

    The CSV carries neither the units by drug nor the equivalence ratio, so those are
    checked in the plan's JSON; a note says so.
    """
    stages = []
    for k, (i, row) in enumerate(rows, start=1):
        where = f"{origin}: row {i}"
        start = day(row["start_date"], f"{where}, start_date")
        days = str(row.get("days", ""))
        if not digits(days) or not 1 <= int(days) <= 3650:
            raise InputError(f"{where}, days", days, "whole days, 1 to 3650")
        equivalent = number(row["equivalent_mg"], f"{where}, equivalent_mg")
        stages.append(Stage(k, start, int(days), (), equivalent))
    first = stages[0].equivalent
    switch = Switch(
        from_drug=timeline.drug.name,
        to_drug=timeline.drug.name,
        from_dose=first,
        factor=Decimal(1),
        table="",
        table_title="",
        source="the schedule's equivalent_mg column",
        spread=(first, first),
        stages=tuple(stages),
        times=(),
    )
    return [
        *switch_course(switch, timeline),
        finding(
            "switch-checked-in-part",
            f"The {len(stages)} switch rows were checked for their dates and for the course of "
            f"equivalent_mg from the first stage on; a CSV carries neither each drug's units nor "
            f"the equivalence ratio, so check the plan's JSON for those.",
            "taper check",
        ),
    ]


def _stated_limits(rows: list[dict[str, str]], origin: str) -> dict[str, Decimal]:
    """The starting dose, cap and unit limit a CSV states in its own columns, if any."""
    out: dict[str, Decimal] = {}
    for column in ("start_dose_mg", "max_cut_pct", "max_units"):
        values = {r.get(column, "") for r in rows} - {""}
        if not values:
            continue
        if len(values) > 1:
            raise InputError(
                f"{origin}: {column}", ", ".join(sorted(values)), "one value for all rows"
            )
        raw = values.pop()
        if column == "max_cut_pct":
            out[column] = percent_cap(raw, f"{origin}: {column}")
        elif column == "max_units":
            if not digits(raw) or not 1 <= int(raw) <= 20:
                raise InputError(f"{origin}: {column}", raw, "1 to 20")
            out[column] = Decimal(raw)
        else:
            out[column] = number(raw, f"{origin}: {column}")
    return out


def sidecar_overrides(path: str | Path) -> dict[str, str]:
    """The overrides in the findings file beside a CSV schedule, if there is one."""
    import csv
    from pathlib import Path

    target = Path(path)
    side = target.with_name(f"{target.stem}.findings.csv")
    if not side.exists():
        return {}
    try:
        rows = csv.DictReader(io.StringIO(read_text(side, "FILE", "CSV")))
        return {r["code"]: r["override"] for r in rows if r.get("code") and r.get("override")}
    except (InputError, KeyError, csv.Error):
        return {}
