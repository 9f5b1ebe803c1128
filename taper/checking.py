"""check(): a plan, or a schedule file, against the documented ranges and guideline limits.

The one way in to the checks. A :class:`~taper.schedule.Schedule` (made by :func:`taper.plan`,
or read back by :func:`taper.read_plan`) is checked by :func:`taper.validation.check`, the
checks that made it; a file is read once (:mod:`taper.external`): a plan taper wrote is read
back whole and checked the same way, any other schedule (a CSV, a plan changed by hand) is
checked by the same checks, step by step, each problem a finding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from .catalog import Catalog, load_catalog, load_formulary
from .doses import parse_dose, parse_percent
from .external import check_read, read_file
from .request import make_patient
from .schedule import Finding, Schedule
from .schedule_csv import ExternalOptions
from .validation import check as check_schedule
from .validation import parse_overrides


@dataclass(frozen=True)
class Checked:
    """What :func:`check_report` found: the drug, how many steps, and the findings."""

    drug: str
    steps: int
    findings: list[Finding]

    @property
    def refused(self) -> bool:
        """Whether an error is not overridden."""
        return any(f.severity == "error" and not f.override for f in self.findings)


def check(
    plan: Schedule | str | Path,
    *,
    catalog: Catalog | str | Path | None = None,
    formulary: str | Path | None = None,
    overrides: Mapping[str, str] | Sequence[str] | None = None,
    drug: str | None = None,
    start_dose: str | Decimal | None = None,
    per_day: int | None = None,
    max_cut: str | None = None,
    max_units: int | None = None,
    region: str = "us",
    indication: str | None = None,
    age: int | None = None,
    weight_kg: str | Decimal | None = None,
    use_months: int | None = None,
) -> list[Finding]:
    """Every way ``plan`` departs from the documented ranges and guideline limits.

    Parameters
    ----------
    plan
        A :class:`~taper.schedule.Schedule`, or the path of a schedule file: a plan's JSON
        or a CSV (format in docs/findings.md).
    catalog, formulary
        The catalog the drug comes from (the built-in one by default), and local products.
    overrides
        Codes the clinician accepts, each with its reason (added to those the file records).
    drug, start_dose, per_day, max_cut, max_units, region
        For a file: what it does not say (a CSV with no drug column), or what to hold it to
        in place of what it says.
    indication, age, weight_kg, use_months
        Patient facts to check against, in place of those the plan records.

    Returns
    -------
    list of Finding
        Errors first, then warnings, then information.

    Raises
    ------
    InputError
        When a file cannot be read as a schedule, or an option cannot be used.

    Examples
    --------
    >>> from taper import plan
    >>> s = plan("clonazepam", "1 mg", rule="fda-label-clonazepam", start="2027-01-04")
    >>> sorted({f.code for f in check(s)})  # doctest: +NORMALIZE_WHITESPACE
    ['alternatives', 'final-dose-large', 'pace-above-guideline', 'product-set',
     'short-for-long-term', 'step-too-short']
    """
    return check_report(**locals()).findings


def check_report(
    plan: Schedule | str | Path,
    *,
    catalog: Catalog | str | Path | None = None,
    formulary: str | Path | None = None,
    overrides: Mapping[str, str] | Sequence[str] | None = None,
    drug: str | None = None,
    start_dose: str | Decimal | None = None,
    per_day: int | None = None,
    max_cut: str | None = None,
    max_units: int | None = None,
    region: str = "us",
    indication: str | None = None,
    age: int | None = None,
    weight_kg: str | Decimal | None = None,
    use_months: int | None = None,
) -> Checked:
    """:func:`check`, with the drug and the number of steps checked (``taper check``)."""
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    if formulary is not None:
        cat = load_formulary(cat, formulary)
    accepted = parse_overrides(overrides)
    facts = (indication, age, weight_kg, use_months)
    if isinstance(plan, Schedule):
        if any(f is not None for f in facts):
            rx = plan.prescription
            given = make_patient(cat.drug(rx.drug), *facts)
            plan = replace(plan, prescription=replace(rx, patient=given.merged(rx.patient)))
        found = check_schedule(plan, catalog=cat, overrides=accepted)
        return Checked(plan.prescription.drug, len(plan.steps), found)
    options = ExternalOptions(
        drug=drug,
        start_dose=None if start_dose is None else parse_dose(start_dose, "start_dose"),
        per_day=per_day,
        max_cut=None if max_cut is None else parse_percent(max_cut, "max_cut"),
        max_units=max_units or 4,
        max_units_given=max_units is not None,
        region=region,
    )
    read = read_file(plan, options, cat)
    timeline = read.timeline
    if any(f is not None for f in facts):
        given = make_patient(timeline.drug, *facts)
        timeline = replace(timeline, patient=given.merged(timeline.patient))
        read = replace(read, timeline=timeline)
        if read.schedule is not None:
            rx = read.schedule.prescription
            read = replace(
                read,
                schedule=replace(
                    read.schedule, prescription=replace(rx, patient=given.merged(rx.patient))
                ),
            )
    return Checked(timeline.drug.name, len(timeline.periods), check_read(read, cat, accepted))
