"""plan(): a prescription and a rule in, a dispensable Schedule out.

The one path of planning: the request is resolved once (:func:`taper.request.resolve`),
planned as one drug (:mod:`taper.planner`) or as a switch then a taper
(:mod:`taper.switching`), and the plan's alternatives are worked out
(:mod:`taper.alternatives`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .endby import plan_taper
from .request import PlanRequest, resolve
from .switching import plan_switch

if TYPE_CHECKING:
    from pathlib import Path

    from .catalog import Catalog
    from .rules import Rule
    from .schedule import Schedule


def plan(
    drug: str,
    dose: str | Decimal,
    *,
    rule: Rule | str | None = None,
    per_day: int | None = None,
    start: date | str | None = None,
    products: str | Sequence[str] | None = None,
    region: str = "us",
    max_units: int | None = None,
    catalog: Catalog | str | Path | None = None,
    indication: str | None = None,
    age: int | None = None,
    weight_kg: str | Decimal | None = None,
    use_months: int | None = None,
    overrides: Mapping[str, str] | Sequence[str] | None = None,
    at_low_doses: str = "stretch",
    cut_order: str | None = None,
    formulary: str | Path | None = None,
    switch_to: str | None = None,
    table: str | None = None,
    stage_days: int | None = None,
    switch_order: str | None = None,
    switch_products: str | Sequence[str] | None = None,
    halve: str | Sequence[str] = (),
    liquid_increment: str | Decimal | None = None,
    patient_name: str | None = None,
    patient_id: str | None = None,
    date_of_birth: date | str | None = None,
    prescriber: str | None = None,
    end_by: date | str | None = None,
) -> Schedule:
    """Plan a taper from ``dose`` a day of ``drug`` under ``rule``.

    Parameters
    ----------
    drug
        Generic or brand name (``clonazepam``, ``Klonopin``).
    dose
        The starting total daily dose, such as ``"2 mg"``.
    rule
        A :class:`~taper.rules.Rule`, a preset name, a protocol file, or ``None``
        for the default preset.
    per_day
        Doses a day; the drug's usual division by default.
    start
        The day of the first cut (the patient already takes ``dose``); today by default.
    products
        Product ids or forms to use, as a list or one string separated by commas
        (``"tablet,odt"``). Ids (and ``form:strength``) fix the products; forms alone, or
        none, let the plan dispense the fewest of those sold in ``region`` that plan as
        closely as all of them.
    region
        ``us`` or ``uk``: which products exist.
    max_units
        The most pieces taken at one administration. By default 4, or as many as the
        starting dose already needs (said in a finding) when that is more.
    catalog
        A :class:`~taper.catalog.Catalog` or a path to one; the built-in catalog by default.
    indication
        What the drug is taken for (``panic-disorder``, ``seizure``...): the range the
        starting dose is checked against. Without one, the widest documented adult range.
    age, weight_kg
        Older adults (65 and over) and children (under 18, who need a weight) are
        checked against the figures the sources give for them.
    use_months
        How long the drug has been taken; the duration check applies from 3 months.
    overrides
        Error or warning codes the clinician accepts, each with a reason
        (``{"dose-above-range": "transferred from inpatient care"}`` or
        ``["dose-above-range=transferred from inpatient care"]``).
    at_low_doses
        When the products run out of cuts as small as the rule asks: ``stretch``
        (take the smallest and lengthen the step so the pace holds), ``liquid``
        (from there, use a liquid product as well) or ``stop`` (end the plan there).
    cut_order
        ``even``, ``morning-first`` or ``bedtime-last``; the rule's own by default.
    formulary
        A TOML file of local products (a compounded liquid, say) added to the catalog.
    switch_to, table, stage_days, switch_order
        Switch to another drug (``diazepam``) first, one administration at a time over
        stages of ``stage_days`` (7 by default), by the equivalence ``table`` (``ashton`` by
        default), ``bedtime-first`` (the default) or ``morning-first``; then taper that drug
        (see :mod:`taper.switching`). The other three are refused without ``switch_to``.
    switch_products
        The products of the drug switched to, as ``products`` (default: all in ``region``).
    halve
        Tablets with a break line but no labelled functional score that may be halved
        (off-licence, said in a finding), as product ids or ``tablet:2mg``; added to the
        rule's own.
    liquid_increment
        The marks of taper's default liquid measure (a 1 mL oral syringe marked every
        0.1 mL), for liquids whose label gives no measuring device: ``"0.2ml"``.
    patient_name, patient_id, date_of_birth, prescriber
        Who the plan is for (a name, a record or NHS number, a date of birth written
        YYYY-MM-DD, which must agree with ``age`` where both are given) and who prescribes
        it: printed on every page of the PDF (with lines to write on where not given) and in
        the calendar's title, and written to the CSV and JSON where given.
    end_by
        A date (YYYY-MM-DD) by which the last dose is taken: the rule's pace becomes the
        same cut of the current dose at each of its intervals, the smallest that reaches the
        terminal dose by then (:mod:`taper.endby`). A date that needs a faster pace than the
        guideline's bound or the cap is refused with the earliest date they allow, unless
        ``end-by-too-soon`` is overridden with a reason.

    Returns
    -------
    Schedule
        Contiguous steps, each made from real products, down to the smallest daily dose the
        products make (or the rule's final dose), then the stop. Where the plan makes cuts
        the products force, or stops above that dose, a finding names what would do better
        (a liquid, halving, a switch to diazepam), with its effect computed.

    Raises
    ------
    InputError, UnknownNameError
        For input that cannot be used.
    PlanRefused
        When the products cannot make a taper within the rule's cap, when the dose is a
        likely unit slip, or when a check finds an error that is not overridden.

    Examples
    --------
    >>> schedule = plan("clonazepam", "1 mg", rule="fda-label-clonazepam", start="2027-01-04")
    >>> [str(s.dose) for s in schedule.steps], schedule.stop_date.isoformat()
    (['0.75', '0.5', '0.25'], '2027-01-13')
    """
    request = resolve(**locals())
    return with_alternatives(request)


def plan_request(request: PlanRequest) -> Schedule:
    """The plan of a resolved request, without its alternatives: a switch and its taper, or
    the taper of one drug, to an end date where the rule has one."""
    if request.switch is not None:
        return plan_switch(request)
    return plan_taper(request)


def with_alternatives(request: PlanRequest) -> Schedule:
    """The plan of ``request``, with the finding that names what would do better."""
    from .alternatives import with_alternatives as add

    return add(plan_request(request), request.asked, _plan_asked)


def _plan_asked(**asked: Any) -> Schedule:
    """A variant of a request, from its arguments as given."""
    return plan_request(resolve(**asked))
