"""Checks to the letter: each finding's exact words, source and step, for plans and switches
that a pharmacist would have to refuse."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import taper
from taper.catalog import Product, load_catalog
from taper.errors import InputError
from taper.schedule import Finding, Patient, Schedule
from taper.validation import (
    PACE_SOURCE,
    Period,
    Timeline,
    check,
    check_prescription,
    check_timeline,
    min_pieces,
    parse_overrides,
    unit_slip,
)

D = Decimal
CATALOG = load_catalog()
CLONAZEPAM = CATALOG.drug("clonazepam")
ONE_TRUTH = "taper plan contract: one truth"
CONTIGUOUS = "taper plan contract: steps are contiguous"


@pytest.fixture(scope="module")
def switched() -> Schedule:
    # 1.5 mg alprazolam in three doses is 15 mg diazepam by VA/DoD: one 5 mg tablet a dose
    return taper.plan(
        "alprazolam",
        "1.5 mg",
        switch_to="diazepam",
        table="va-dod-2021",
        rule="nhs-scotland-diazepam",
        start="2027-01-04",
    )


def switch_findings(schedule: Schedule) -> list[tuple[str, str, str, str]]:
    return [
        (f.severity, f.code, f.message, f.source)
        for f in check(schedule)
        if f.message.startswith(("Switch stage", "The switch", "The starting dose"))
    ]


def test_the_switch_as_planned_has_no_switch_error(switched: Schedule) -> None:
    assert switched.switch is not None
    assert [s.equivalent for s in switched.switch.stages] == [D(15), D(15), D(15)]
    assert switch_findings(switched) == []


def test_a_gap_between_switch_stages_is_an_error(switched: Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    moved = replace(switch.stages[1], start=switch.stages[1].start + timedelta(days=2))
    broken = replace(
        switched, switch=replace(switch, stages=(switch.stages[0], moved, switch.stages[2]))
    )
    assert switch_findings(broken) == [
        (
            "error",
            "gap-or-overlap",
            "Switch stage 1 ends 2027-01-10, but what follows starts 2027-01-13: "
            "a gap of 2 day(s).",
            CONTIGUOUS,
        ),
        (
            "error",
            "gap-or-overlap",
            "Switch stage 2 ends 2027-01-19, but what follows starts 2027-01-18: "
            "an overlap of 2 day(s).",
            CONTIGUOUS,
        ),
    ]


def test_a_stage_that_overlaps_the_taper_is_an_error(switched: Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    longer = replace(switch.stages[2], days=8)
    broken = replace(switched, switch=replace(switch, stages=(*switch.stages[:2], longer)))
    assert switch_findings(broken) == [
        (
            "error",
            "gap-or-overlap",
            "Switch stage 3 ends 2027-01-25, but what follows starts 2027-01-25: "
            "an overlap of 1 day(s).",
            CONTIGUOUS,
        )
    ]


def test_a_stated_equivalent_that_the_doses_do_not_make_is_an_error(
    switched: Schedule,
) -> None:
    switch = switched.switch
    assert switch is not None
    wrong = replace(switch.stages[1], equivalent=D(16))
    broken = replace(
        switched, switch=replace(switch, stages=(switch.stages[0], wrong, switch.stages[2]))
    )
    assert switch_findings(broken) == [
        (
            "error",
            "dose-mismatch",
            "Switch stage 2 states a diazepam equivalent of 16 mg/day but its doses "
            "(0.5 mg alprazolam, 10 mg diazepam) make 15 mg.",
            ONE_TRUTH,
        ),
        (
            "error",
            "switch-equivalent-rises",
            "Switch stage 2: the day's diazepam equivalent rises from 15 mg to 16 mg.",
            switch.source,
        ),
    ]


def test_a_product_of_another_drug_in_a_stage_is_not_dispensable(switched: Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    first = switch.stages[0]
    morning = first.administrations[0]
    clonazepam = CLONAZEPAM.products[0]
    swapped = replace(morning, units=(replace(morning.units[0], product=clonazepam),))
    stage = replace(first, administrations=(swapped, *first.administrations[1:]))
    broken = replace(switched, switch=replace(switch, stages=(stage, *switch.stages[1:])))
    assert switch_findings(broken) == [
        (
            "error",
            "not-dispensable",
            "Switch stage 1, morning: clonazepam 0.5 mg tablet is not an allowed product of "
            "alprazolam or diazepam, or is split further than it may be.",
            "the catalog's products",
        ),
        (
            "error",
            "dose-mismatch",
            "Switch stage 1 states a diazepam equivalent of 15 mg/day but its doses "
            "(0.5 mg alprazolam, 5 mg diazepam) make 10 mg.",
            ONE_TRUTH,
        ),
    ]


def test_too_many_tablets_at_one_time_in_a_stage(switched: Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    first = switch.stages[0]
    morning = first.administrations[0]
    unit = morning.units[0]  # one alprazolam 0.5 mg tablet
    more = replace(morning, units=(replace(unit, count=D(5)),))
    stage = replace(first, administrations=(more, *first.administrations[1:]), equivalent=D(35))
    broken = replace(switched, switch=replace(switch, stages=(stage, *switch.stages[1:])))
    found = switch_findings(broken)
    assert (
        "error",
        "too-many-units",
        "Switch stage 1, morning: 5 tablets or pieces at one time, more than the limit of 4.",
        "taper: the clinician's limit per administration (--max-units)",
    ) in found
    assert (
        "error",
        "switch-equivalent-rises",
        "Switch stage 1: the day's diazepam equivalent rises from 15 mg to 35 mg.",
        switch.source,
    ) in found


def test_a_switch_that_loses_half_the_equivalent_is_reported(switched: Schedule) -> None:
    switch = switched.switch
    assert switch is not None
    # the patient took 3 mg alprazolam (30 mg diazepam), the stages give 15 mg
    broken = replace(switched, switch=replace(switch, from_dose=D(3)))
    cap = switched.cap_source
    # a 50 % fall is within the preset's own 50 % cap, but not within the pace
    assert switch_findings(broken) == [
        (
            "warning",
            "pace-above-guideline",
            "Switch stage 1: the day's diazepam equivalent falls by more than 25 % within "
            "14 days (50 %, from 30 mg to 15 mg/day).",
            PACE_SOURCE,
        ),
        (
            "warning",
            "switch-equivalent-falls",
            "The switch lowers the day's diazepam equivalent from 30 mg to 15 mg (50 %): the "
            "diazepam products cannot make each dose's equivalent, so each is made as the "
            "largest dose below it. The fall is a cut the patient takes during the switch.",
            switch.source,
        ),
    ]
    above = replace(switched, switch=replace(switch, from_dose=D(12)))
    found = switch_findings(above)
    assert found[0] == (
        "error",
        "dose-above-range",
        "The starting dose of 12 mg/day is above the documented maximum of 10 mg/day for "
        "panic disorder in adults (US).",
        "Xanax and Xanax XR (alprazolam) tablets, US labels",
    )
    assert found[1] == (
        "error",
        "cut-above-cap",
        "Switch stage 1: the day's diazepam equivalent falls from 120 mg to 15 mg, a cut of "
        "87.5 %, above the cap of 50 %.",
        cap,
    )


def test_the_documented_range_names_the_indication_and_the_population() -> None:
    def messages(dose: str, patient: Patient) -> list[tuple[str, str]]:
        found = check_prescription(CLONAZEPAM, CATALOG, D(dose), 2, patient, "us")
        return [(f.code, f.message) for f in found]

    assert messages("25", Patient("seizure", 70)) == [
        (
            "dose-above-range",
            "The starting dose of 25 mg/day is above the documented maximum of 20 mg/day for "
            "seizure disorders in adults (US).",
        ),
        (
            "older-adult",
            "The patient is 70: the Beers Criteria advise avoiding benzodiazepines (cognitive "
            "impairment, delirium, falls, fractures); the label's starting dose for older "
            "adults is 0.5 mg/day, against 25 mg/day here.",
        ),
    ]
    assert messages("5", Patient("panic-disorder", 40)) == [
        (
            "dose-above-range",
            "The starting dose of 5 mg/day is above the documented maximum of 4 mg/day for "
            "panic disorder in adults (US).",
        )
    ]
    assert messages("25", Patient("seizure", 8, D(30))) == [
        (
            "no-documented-range",
            "The catalog documents no maximum daily dose of clonazepam for seizure disorders in "
            "children, so the starting dose is not checked against one.",
        ),
        (
            "child-dose-above-usual",
            "25 mg/day for 30 kg is 0.833 mg/kg/day, above the label's usual maintenance of "
            "0.1 to 0.2 mg/kg/day for children (seizure disorders).",
        ),
    ]


SCORED_HALF = Product("half", "test 0.5 mg tablet", "tablet", "T1", D("0.5"), D("0.5"))
WHOLE_2 = Product("two", "test 2 mg tablet", "tablet", "T1", D(2), D(1))


@pytest.mark.parametrize(
    ("dose", "products", "pieces"),
    [
        (D("0.25"), [SCORED_HALF], 1),  # half a tablet
        (D("0.75"), [SCORED_HALF], 2),  # a whole and a half
        (D("2.25"), [SCORED_HALF, WHOLE_2], 2),  # a 2 mg and half a 0.5 mg
        (D("4.5"), [SCORED_HALF, WHOLE_2], 3),
        (D("0.3"), [SCORED_HALF], None),  # nothing makes 0.3 mg
        (D(1), [WHOLE_2], None),  # an unscored 2 mg tablet cannot make 1 mg
        (D(0), [WHOLE_2], 0),
        (D(4), [], None),
    ],
)
def test_min_pieces_is_the_fewest_tablets_and_halves(
    dose: Decimal, products: list[Product], pieces: int | None
) -> None:
    assert min_pieces(dose, products) == pieces


def _period(number: int, start: date, days: int, dose: str, pieces: int | None = None) -> Period:
    return Period(
        number,
        start,
        days,
        D(dose),
        shares=(("morning", D(dose) / 2), ("bedtime", D(dose) / 2)),
        pieces=None if pieces is None else (pieces, pieces),
        made=(D(dose) / 2, D(dose) / 2),
    )


def test_too_many_pieces_and_a_run_of_fast_steps_are_named() -> None:
    day = date(2027, 1, 4)
    periods = (
        _period(1, day, 14, "2", pieces=2),
        _period(2, day + timedelta(days=14), 14, "1.5", pieces=6),
        _period(3, day + timedelta(days=28), 14, "1.125", pieces=2),
        _period(4, day + timedelta(days=42), 14, "1", pieces=2),
    )
    tl = Timeline(
        CLONAZEPAM,
        D(2),
        2,
        periods,
        tuple(CLONAZEPAM.products_in("us")),
        max_cut=D("0.25"),
        first_is_start=True,
        patient=Patient(use_months=1),
    )
    found = [(f.code, f.message, f.source, f.step) for f in check_timeline(tl)]
    assert (
        "too-many-units",
        "A dose needs 6 tablets or pieces at one time, more than the limit of 4.",
        "taper: the clinician's limit per administration (--max-units)",
        2,
    ) in found
    assert not [f for f in found if f[0] == "pace-above-guideline"]
    faster = replace(
        tl,
        periods=tuple(
            replace(p, start=day + timedelta(days=7 * i), days=7) for i, p in enumerate(periods)
        ),
    )
    # weekly steps: each window of 14 days from step 2 on reaches the stop
    paced = [f for f in check_timeline(faster) if f.code == "pace-above-guideline"]
    assert [(f.message, f.step) for f in paced] == [
        (
            "Steps 2 to 4: the dose falls by more than 25 % within 14 days (at most 100 %, "
            "from 1.125 mg to 0 mg/day).",
            2,
        )
    ]
    single = replace(faster, periods=faster.periods[:2])
    paced = [f for f in check_timeline(single) if f.code == "pace-above-guideline"]
    assert [(f.message, f.step) for f in paced] == [
        (
            "Step 2: the dose falls by more than 25 % within 14 days (at most 100 %, "
            "from 2 mg to 0 mg/day).",
            2,
        )
    ]


def test_findings_are_value_objects() -> None:
    assert Finding("error", "dose-rises", "x").step is None


# --- what a pharmacist can dispense: each step's doses, units and pieces --------------------

NAMES = (
    "clonazepam 0.5 mg tablet, clonazepam 1 mg tablet, clonazepam 2 mg tablet, "
    "clonazepam 0.125 mg orally disintegrating tablet, "
    "clonazepam 0.25 mg orally disintegrating tablet, "
    "clonazepam 0.5 mg orally disintegrating tablet, "
    "clonazepam 1 mg orally disintegrating tablet, clonazepam 2 mg orally disintegrating tablet"
)
PRODUCTS = "the catalog's products"
LIMIT = "taper: the clinician's limit per administration (--max-units)"


def _stated(number: int, dose: str, shares: tuple[str, ...] = (), **kw: object) -> Period:
    return Period(
        number,
        date(2027, 1, 4) + timedelta(days=14 * (number - 1)),
        14,
        D(dose),
        shares=tuple(zip(("morning", "bedtime"), (D(s) for s in shares), strict=False)),
        **kw,  # type: ignore[arg-type]
    )


def _dispensed(*periods: Period, max_units: int = 4) -> list[tuple[str, str, str, str, int]]:
    tl = Timeline(
        CLONAZEPAM, D(2), 2, periods, tuple(CLONAZEPAM.products_in("us")), max_units=max_units
    )
    codes = ("dose-mismatch", "not-dispensable", "too-many-units")
    return [
        (f.severity, f.code, f.message, f.source, f.step)  # type: ignore[misc]
        for f in check_timeline(tl)
        if f.code in codes
    ]


def test_a_step_whose_times_do_not_add_up_and_a_later_disallowed_step_are_both_named() -> None:
    assert _dispensed(
        _stated(1, "2", ("0.75", "1")),
        _stated(2, "1.5", ("0.75", "0.75"), units_allowed=False),
    ) == [
        (
            "error",
            "dose-mismatch",
            "The step states 2 mg/day but its administrations are 0.75 mg + 1 mg.",
            ONE_TRUTH,
            1,
        ),
        (
            "error",
            "not-dispensable",
            "The step lists a product that is not allowed, or splits one further than it may be "
            f"split (allowed: {NAMES}).",
            PRODUCTS,
            2,
        ),
    ]


def test_units_that_do_not_make_the_stated_times_are_named() -> None:
    assert _dispensed(
        _stated(1, "2", ("1", "1"), made=(D(1), D("0.5"))),
        _stated(2, "1.5", ("0.75", "0.75"), units_allowed=False),
        _stated(3, "1", ("0.5", "0.5")),
    ) == [
        (
            "error",
            "dose-mismatch",
            "The step states 2 mg/day but its administrations are 1 mg + 1 mg and its units "
            "1 mg + 0.5 mg.",
            ONE_TRUTH,
            1,
        ),
        (
            "error",
            "not-dispensable",
            "The step lists a product that is not allowed, or splits one further than it may be "
            f"split (allowed: {NAMES}).",
            PRODUCTS,
            2,
        ),
    ]


def test_a_dose_no_product_makes_is_named_per_time_or_per_day() -> None:
    assert _dispensed(_stated(1, "0.2", ("0.1", "0.1")), _stated(2, "0.1")) == [
        ("error", "not-dispensable", f"No combination of {NAMES} makes 0.1 mg.", PRODUCTS, 1),
        ("error", "not-dispensable", f"No combination of {NAMES} makes 0.1 mg.", PRODUCTS, 1),
        ("error", "not-dispensable", f"No combination of {NAMES} makes 0.1 mg/day.", PRODUCTS, 2),
    ]


def test_too_many_pieces_per_time_per_day_and_as_listed() -> None:
    too_many = "A dose needs {} tablets or pieces at one time, more than the limit of 2."
    assert _dispensed(
        _stated(1, "1.75", ("0.875", "0.875")),  # 0.5 + 0.25 + 0.125 at each time
        _stated(2, "1.75"),  # makeable as 1 mg and 0.5 + 0.25 mg
        _stated(3, "0.875", ("0.875", "0")),
        _stated(4, "3.875"),  # 2 + 1 + 0.5 + 0.25 + 0.125: 3 at one of the 2 times
        _stated(5, "1.5", ("0.75", "0.75"), pieces=(2, 5)),
        _stated(6, "1", ("0.5", "0.5"), pieces=(3, 3)),
        max_units=2,
    ) == [
        ("error", "too-many-units", too_many.format(3), LIMIT, 1),
        ("error", "too-many-units", too_many.format(3), LIMIT, 3),
        ("error", "too-many-units", too_many.format(3), LIMIT, 4),
        ("error", "too-many-units", too_many.format(5), LIMIT, 5),
        ("error", "too-many-units", too_many.format(3), LIMIT, 6),
    ]


def test_a_listed_count_within_the_limit_is_not_checked_again() -> None:
    # the pieces as listed are within the limit, so the shares are not re-made
    assert _dispensed(_stated(1, "1.75", ("0.875", "0.875"), pieces=(2, 2)), max_units=2) == []


# --- the prescription: unit slips, ranges, divisions, older adults and children -------------

TINY_CATALOG = load_catalog(Path(__file__).parent / "data" / "tiny_catalog.toml")
KLONOPIN = (
    "Klonopin (clonazepam) tablets, US Prescribing Information (rev. 1/2023), and generic "
    "clonazepam tablet and ODT labels, 2023"
)
BEERS = (
    "American Geriatrics Society Beers Criteria (J Am Geriatr Soc, 2015 wording): avoid "
    "benzodiazepines in adults 65 and older; Joint Clinical Practice Guideline on "
    "Benzodiazepine Tapering, 2025: taper in most older adults"
)
TEMAZEPAM_LABEL = "Chlordiazepoxide, oxazepam and temazepam, US labels"
XANAX_LABEL = "Xanax and Xanax XR (alprazolam) tablets, US labels"
AVOID = (
    "The patient is 70: the Beers Criteria advise avoiding benzodiazepines (cognitive "
    "impairment, delirium, falls, fractures)"
)


def _prescribed(
    drug: str, dose: str, per_day: int, patient: Patient, region: str = "us", catalog=CATALOG
) -> list[tuple[str, str, str, str]]:
    found = check_prescription(catalog.drug(drug), catalog, D(dose), per_day, patient, region)
    return [(f.severity, f.code, f.message, f.source) for f in found]


def test_a_likely_unit_slip_is_the_only_finding() -> None:
    assert _prescribed("clonazepam", "200", 1, Patient(age=70)) == [
        (
            "error",
            "likely-unit-slip",
            "200 mg/day is 10 or more times the largest documented maximum for clonazepam "
            "(20 mg/day): a likely unit slip; did you mean 0.2 mg?",
            "the catalog's documented ranges and product strengths",
        )
    ]


def test_a_dose_above_the_range_and_an_unusual_division() -> None:
    assert _prescribed("clonazepam", "25", 1, Patient("panic-disorder")) == [
        (
            "error",
            "dose-above-range",
            "The starting dose of 25 mg/day is above the documented maximum of 4 mg/day for "
            "panic disorder in adults (US).",
            KLONOPIN,
        ),
        (
            "warning",
            "unusual-division",
            "1 dose a day is not among the label's usual divisions for clonazepam (2 or 3 a day).",
            KLONOPIN,
        ),
    ]
    assert _prescribed("clonazepam", "2", 3, Patient()) == []


def test_no_documented_range_and_a_plural_division() -> None:
    assert _prescribed("onlybig", "5", 2, Patient("x"), catalog=TINY_CATALOG) == [
        (
            "info",
            "no-documented-range",
            "The catalog documents no maximum daily dose of onlybig for x in adults, so the "
            "starting dose is not checked against one.",
            str(Path(__file__).parent / "data" / "tiny_catalog.toml"),
        ),
        (
            "warning",
            "unusual-division",
            "2 doses a day is not among the label's usual divisions for onlybig (1 a day).",
            "Test source, 2026",
        ),
    ]
    assert _prescribed("onlybig", "5", 1, Patient(), catalog=TINY_CATALOG)[0][2] == (
        "The catalog documents no maximum daily dose of onlybig in adults, so the starting "
        "dose is not checked against one."
    )


@pytest.mark.parametrize(
    ("drug", "indication", "region", "start", "label"),
    [
        ("temazepam", "insomnia", "us", "7.5", TEMAZEPAM_LABEL),
        ("alprazolam", "panic-disorder", "us", "0.5", XANAX_LABEL),
        ("alprazolam", None, "uk", "0.5", XANAX_LABEL),
    ],
)  # fmt: skip
def test_an_older_adult_is_warned_with_the_label_start_for_the_region(
    drug: str, indication: str | None, region: str, start: str, label: str
) -> None:
    assert _prescribed(drug, "20", 1, Patient(indication, age=70), region)[-1] == (
        "warning",
        "older-adult",
        f"{AVOID}; the label's starting dose for older adults is {start} mg/day, against "
        "20 mg/day here.",
        f"{BEERS}; {label}",
    )


def test_an_older_adult_uk_label_start_is_used_in_the_uk() -> None:
    found = _prescribed("temazepam", "20", 1, Patient("insomnia", age=70), "uk")
    assert found[-1][2] == (
        f"{AVOID}; the label's starting dose for older adults is 10 mg/day, against 20 mg/day here."
    )


def test_an_older_adult_without_a_label_start_gets_the_beers_warning_alone() -> None:
    assert _prescribed("eszopiclone", "1", 1, Patient(age=70)) == [
        ("warning", "older-adult", f"{AVOID}.", BEERS)
    ]


def test_a_child_above_the_usual_mg_per_kg() -> None:
    found = _prescribed("clonazepam", "4.02", 2, Patient(age=10, weight_kg=D(20)))
    assert found[-1] == (
        "warning",
        "child-dose-above-usual",
        "4.02 mg/day for 20 kg is 0.201 mg/kg/day, above the label's usual maintenance of 0.1 "
        "to 0.2 mg/kg/day for children (seizure disorders).",
        KLONOPIN,
    )
    # exactly the usual maximum is not above it
    at_max = _prescribed("clonazepam", "4", 2, Patient("seizure", age=10, weight_kg=D(20)))
    assert [f[1] for f in at_max] == ["no-documented-range"]


def test_a_child_with_no_documented_range() -> None:
    assert _prescribed("clonazepam", "2", 2, Patient("panic-disorder", 10, D(20)))[-1] == (
        "warning",
        "child-no-range",
        "The catalog documents no dose range for children taking clonazepam for panic "
        "disorder; the plan is checked against adult figures only.",
        "built-in catalog",
    )
    # clobazam's children's ranges are in mg/day by weight band: checked as ranges, and no
    # finding says there are none
    assert "child-no-range" not in [
        f[1] for f in _prescribed("clobazam", "10", 2, Patient(age=10, weight_kg=D(30)))
    ]


# --- the course of a plan: continuity, short steps, the last dose, the duration -------------

REC6 = (
    "Joint Clinical Practice Guideline on Benzodiazepine Tapering (ASAM and nine societies, "
    "J Gen Intern Med), 2025, Recommendation 6"
)
DURATION_SOURCE = (
    "Joint Clinical Practice Guideline on Benzodiazepine Tapering, 2025, algorithm card: "
    "typical reductions of 5 to 10 % every 2 to 4 weeks; Joint Clinical Practice Guideline on "
    "Benzodiazepine Tapering, 2025, Table 2"
)
ASSESS = "ASAM Benzodiazepine Tapering Patient Guide, 2025: symptoms may take up to a week"
NHS_SCOTLAND = (
    "Quality Prescribing for Benzodiazepines and z-drugs: A Guide for Improvement 2024-2027, "
    "with the NHS Scotland Right Decisions pages on switching to diazepam and reduction "
    "schedules, 2024"
)


def _course(
    drug: str,
    start: str,
    plan: list[tuple[str, int]],
    shift: dict[int, int] | None = None,
    **kw: object,
) -> Timeline:
    the_drug = CATALOG.drug(drug)
    day = date(2027, 1, 4)
    periods = []
    for number, (dose, days) in enumerate(plan, 1):
        day += timedelta(days=(shift or {}).get(number, 0))
        periods.append(Period(number, day, days, D(dose)))
        day += timedelta(days=days)
    return Timeline(
        the_drug,
        D(start),
        2,
        tuple(periods),
        tuple(the_drug.products_in("us")),
        **kw,  # type: ignore[arg-type]
    )


def _course_findings(tl: Timeline, *codes: str, catalog=None) -> list[tuple]:
    return [
        (f.severity, f.code, f.message, f.source, f.step)
        for f in check_timeline(tl, catalog)
        if f.code in codes
    ]


def test_a_gap_and_an_overlap_between_steps_are_named() -> None:
    tl = _course("clonazepam", "2", [("1.75", 14), ("1.5", 14), ("1.25", 14)], {2: 2, 3: -3})
    assert _course_findings(tl, "gap-or-overlap") == [
        (
            "error",
            "gap-or-overlap",
            "Step 2 starts 2027-01-20, but step 1 ends 2027-01-17: a gap of 2 day(s).",
            CONTIGUOUS,
            2,
        ),
        (
            "error",
            "gap-or-overlap",
            "Step 3 starts 2027-01-31, but step 2 ends 2027-02-02: an overlap of 3 day(s).",
            CONTIGUOUS,
            3,
        ),
    ]


def test_runs_of_short_steps_are_named_with_their_lengths() -> None:
    tl = _course("clonazepam", "2", [("1.75", 5), ("1.5", 3), ("1.25", 14), ("1", 3)])
    half = "clonazepam's half-life is 18 to 50 hours"
    assert _course_findings(tl, "step-too-short", catalog=CATALOG) == [
        (
            "warning",
            "step-too-short",
            "Steps 1 to 2 last 3 or 5 days, shorter than 7 days: withdrawal after a cut may take "
            f"up to a week to show; {half}.",
            f"{ASSESS}; {NHS_SCOTLAND}",
            1,
        ),
        (
            "warning",
            "step-too-short",
            "Step 4 lasts 3 days, shorter than 7 days: withdrawal after a cut may take up to a "
            f"week to show; {half}.",
            f"{ASSESS}; {NHS_SCOTLAND}",
            4,
        ),
    ]


def test_a_long_half_life_lengthens_the_shortest_step() -> None:
    tl = _course("diazepam", "20", [("18", 8), ("16", 9), ("14", 14)])
    expected = (
        "warning",
        "step-too-short",
        "Step 1 lasts 8 days, shorter than 9 days: withdrawal after a cut may take up to a week "
        "to show; diazepam's half-life is 20 to 100 hours (active metabolite 36 to 200 hours).",
        ASSESS,
        1,
    )
    assert _course_findings(tl, "step-too-short") == [expected]
    with_catalog = (*expected[:3], f"{ASSESS}; {NHS_SCOTLAND}", 1)
    assert _course_findings(tl, "step-too-short", catalog=CATALOG) == [with_catalog]


STOP_SOURCE = "taper plan contract: a plan goes down to the smallest dose its products make"


def test_a_stop_above_the_terminal_dose_is_a_warning_with_its_equivalent() -> None:
    tl = _course("clonazepam", "0.5", [("0.375", 21), ("0.3125", 21)])
    # 0.3125 mg of clonazepam: 6.25 mg of diazepam by Ashton, NHS Scotland and TRC (0.5 or
    # 0.25 mg per 10 or 5 mg), 3.125 mg by VA/DoD (1 mg per 10 mg)
    assert _course_findings(tl, "final-dose-large", "stop") == [
        (
            "warning",
            "final-dose-large",
            "The plan stops from 0.3125 mg/day after 21 days at it (about 3.125 to 6.25 mg of "
            "diazepam across 4 tables), above the smallest daily dose its products make "
            "(0.125 mg/day).",
            STOP_SOURCE,
            2,
        )
    ]
    asked = replace(tl, stop_asked="0.3125 mg/day is the protocol's final dose")
    assert _course_findings(asked, "final-dose-large")[0][2].endswith(
        "(0.125 mg/day); 0.3125 mg/day is the protocol's final dose."
    )


def test_a_gradual_tail_of_forced_cuts_is_warned_and_a_stop_from_it_is_not() -> None:
    """The issue's two tails: 0.375, 0.25, 0.125 mg (28 days each) is two forced cuts and a
    stop from the terminal dose; a stop straight from 0.375 mg is the large final dose."""
    tail = _course("clonazepam", "0.5", [("0.375", 28), ("0.25", 28), ("0.125", 28)])
    found = _course_findings(tail, "forced-cut", "cut-above-cap", "final-dose-large", "stop")
    assert found == [
        (
            "warning",
            "forced-cut",
            "The dose falls from 0.375 mg to 0.25 mg/day, a cut of 33.3 %, above the cap of "
            "25 %: the products make no dose between 0.375 mg/day and the cap (0.2812 mg/day), "
            "so 0.25 mg/day is the next dose they make; the plan stays at it for 28 days.",
            REC6,
            2,
        ),
        (
            "warning",
            "forced-cut",
            "The dose falls from 0.25 mg to 0.125 mg/day, a cut of 50 %, above the cap of 25 %: "
            "the products make no dose between 0.25 mg/day and the cap (0.1875 mg/day), so "
            "0.125 mg/day is the next dose they make; the plan stays at it for 28 days.",
            REC6,
            3,
        ),
        (
            "info",
            "stop",
            "The plan stops from 0.125 mg/day after 28 days at it (about 1.25 to 2.5 mg of "
            "diazepam across 4 tables), the smallest daily dose its products make.",
            STOP_SOURCE,
            3,
        ),
    ]
    abrupt = _course("clonazepam", "0.5", [("0.375", 28)])
    assert [f[1] for f in _course_findings(abrupt, "forced-cut", "final-dose-large")] == [
        "final-dose-large"
    ]
    # a cut above the cap that passes over a dose the products make stays an error
    skip = _course("clonazepam", "0.5", [("0.375", 28), ("0.125", 28)])
    assert _course_findings(skip, "forced-cut", "cut-above-cap") == [
        (
            "error",
            "cut-above-cap",
            "The dose falls from 0.375 mg to 0.125 mg/day, a cut of 66.7 %, above the cap of "
            "25 %; the products make 0.25 mg/day between the two.",
            REC6,
            2,
        )
    ]


def test_a_short_taper_after_long_use_is_named_and_a_long_enough_one_is_not() -> None:
    short = _course("clonazepam", "2", [("1.75", 21), ("1.5", 21), ("1.25", 20)])
    assert _course_findings(short, "short-for-long-term") == [
        (
            "warning",
            "short-for-long-term",
            "The taper lasts 62 days; for use of 3 months or more, even the guideline's fastest "
            "typical pace (10 % every 14 days) takes about 63 days from 2 mg to 1.25 mg/day.",
            DURATION_SOURCE,
            None,
        )
    ]
    enough = _course("clonazepam", "2", [("1.75", 21), ("1.5", 21), ("1.25", 21)])
    assert _course_findings(enough, "short-for-long-term") == []


def test_the_duration_check_names_the_months_of_use_from_three_months() -> None:
    plan = [("1.75", 14), ("1.5", 14)]
    three = _course("clonazepam", "2", plan, patient=Patient(use_months=3))
    assert [f[2] for f in _course_findings(three, "short-for-long-term")] == [
        "The taper lasts 28 days; after 3 months of use, even the guideline's fastest typical "
        "pace (10 % every 14 days) takes about 39 days from 2 mg to 1.5 mg/day."
    ]
    two = _course("clonazepam", "2", plan, patient=Patient(use_months=2))
    assert _course_findings(two, "short-for-long-term") == []


def test_the_duration_counts_from_the_first_period_when_it_is_the_start() -> None:
    tl = _course("clonazepam", "4", [("2", 14), ("1.5", 14)], first_is_start=True)
    assert [f[2] for f in _course_findings(tl, "short-for-long-term")] == [
        "The taper lasts 28 days; for use of 3 months or more, even the guideline's fastest "
        "typical pace (10 % every 14 days) takes about 39 days from 2 mg to 1.5 mg/day."
    ]


@pytest.mark.parametrize(
    ("dose", "said"),
    [
        ("200", "200 mg/day is 10 or more times the largest documented maximum for clonazepam "
         "(20 mg/day): a likely unit slip; did you mean 0.2 mg?"),
        ("20000", "20,000 mg/day is 10 or more times the largest documented maximum for "
         "clonazepam (20 mg/day): a likely unit slip; did you mean 20 mg?"),
        ("20010", "20,010 mg/day is 10 or more times the largest documented maximum for "
         "clonazepam (20 mg/day): a likely unit slip"),
        ("0.01249", "0.01249 mg/day is below a tenth of the smallest clonazepam dose a product "
         "makes (0.125 mg): a likely unit slip; did you mean 12.49 mg?"),
        ("0.0125", None),
        ("199.99", None),
    ],
)  # fmt: skip
def test_unit_slips_at_their_bounds(dose: str, said: str | None) -> None:
    assert unit_slip(CLONAZEPAM, D(dose)) == said


def test_a_rise_and_a_cut_above_the_cap_are_named() -> None:
    tl = _course(
        "clonazepam", "2", [("1.5", 14), ("1.75", 14), ("1", 14)], max_cut=D("0.25"),
        cap_source="the cap",
    )  # fmt: skip
    assert _course_findings(tl, "dose-rises", "cut-above-cap") == [
        (
            "error",
            "dose-rises",
            "The daily dose rises from 1.5 mg to 1.75 mg.",
            "taper design: the realised daily dose never rises",
            2,
        ),
        (
            "error",
            "cut-above-cap",
            "The dose falls from 1.75 mg to 1 mg/day, a cut of 42.9 %, above the cap of 25 %; "
            "the products make 1.625 mg/day between the two.",
            "the cap",
            3,
        ),
    ]


# --- a plan edited by hand: what check() finds in its steps -------------------------------


@pytest.fixture(scope="module")
def planned() -> Schedule:
    return taper.plan("clonazepam", "2 mg", start="2027-01-04")


def _edited(schedule: Schedule, *units: tuple) -> Schedule:
    """The plan with step 1's morning dose made of ``units`` (product, count) instead."""
    from taper.dispensing import Unit

    first = schedule.steps[0]
    morning = replace(first.administrations[0], units=tuple(Unit(p, D(c)) for p, c in units))
    step = replace(first, administrations=(morning, *first.administrations[1:]))
    return replace(schedule, steps=(step, *schedule.steps[1:]))


def _step_one(schedule: Schedule) -> list[tuple[str, str, str, str]]:
    codes = ("not-dispensable", "too-many-units", "dose-mismatch")
    return [
        (f.severity, f.code, f.message, f.source)
        for f in check(schedule)
        if f.code in codes and f.step == 1
    ]


def test_more_pieces_than_the_limit_as_listed_are_named(planned: Schedule) -> None:
    odt = next(p for p in planned.products if p.id == "clonazepam-odt-0.125")
    # 0.625 mg is one 0.5 mg tablet and one 0.125 mg ODT, but the step lists five ODTs
    assert _step_one(_edited(planned, (odt, 5))) == [
        (
            "error",
            "too-many-units",
            "A dose needs 5 tablets or pieces at one time, more than the limit of 4.",
            "taper: the clinician's limit per administration (--max-units)",
        )
    ]


def test_a_product_of_another_drug_in_a_step_is_not_dispensable(planned: Schedule) -> None:
    diazepam = CATALOG.drug("diazepam").products[0]
    found = _step_one(_edited(planned, (diazepam, 1)))
    assert [(f[1], f[2].split(" (allowed")[0]) for f in found] == [
        (
            "not-dispensable",
            "The step lists a product that is not allowed, or splits one further than it may be "
            "split",
        )
    ]


def test_a_tablet_split_further_than_allowed_is_not_dispensable(planned: Schedule) -> None:
    odt = next(p for p in planned.products if p.id == "clonazepam-odt-0.25")
    found = _step_one(_edited(planned, (odt, "0.5")))
    assert [f[1] for f in found] == ["not-dispensable"]


def test_a_weight_banded_range_without_a_weight_holds_to_the_lowest_maximum() -> None:
    above = (
        "dose-above-range",
        "The starting dose of 30 mg/day is above the documented maximum of 20 mg/day for "
        "seizure disorders in children (US).",
    )
    codes = [(f[1], f[2]) for f in _prescribed("clobazam", "30", 2, Patient(age=10))]
    assert above in codes
    heavier = _prescribed("clobazam", "30", 2, Patient(age=10, weight_kg=D(40)))
    assert [f[1] for f in heavier] == []  # within the 40 mg/day of the band above 30 kg


def test_an_older_adults_maximum_is_named_for_older_adults() -> None:
    assert _prescribed("eszopiclone", "3", 1, Patient(age=70))[0][2] == (
        "The starting dose of 3 mg/day is above the documented maximum of 2 mg/day for insomnia "
        "in older adults (US)."
    )


def test_overrides_keep_the_reason_whole() -> None:
    assert parse_overrides(['dose-above-range="a=b"', 'older-adult="XRay"']) == {
        "dose-above-range": "a=b",
        "older-adult": "XRay",
    }


def test_override_refusals_name_what_is_allowed() -> None:
    with pytest.raises(InputError) as bare:
        parse_overrides(["dose-above-range"])
    assert str(bare.value) == (
        "--override: got 'dose-above-range'; give CODE=\"reason\", such as "
        'dose-above-range="transferred from inpatient care"'
    )
    with pytest.raises(InputError) as unknown:
        parse_overrides(["nope=x"])
    assert str(unknown.value).startswith(
        "--override: got 'nope'; codes: alternatives, child-dose-above-usual, child-no-range, "
    )
    with pytest.raises(InputError) as fixed:
        parse_overrides(["likely-unit-slip=x"])
    assert str(fixed.value) == (
        "--override: got 'likely-unit-slip'; this finding cannot be overridden"
    )


def test_check_holds_a_uk_plan_to_the_uk_label() -> None:
    rule = taper.build_rule(max_cut="50%")
    schedule = taper.plan("temazepam", "20 mg", region="uk", age=70, rule=rule, start="2027-01-04")
    older = [f.message for f in check(schedule) if f.code == "older-adult"]
    assert older == [
        f"{AVOID}; the label's starting dose for older adults is 10 mg/day, against 20 mg/day here."
    ]


def test_check_cites_the_half_life_source_for_short_steps() -> None:
    rule = taper.build_rule(reduce="10%", every="5d")
    schedule = taper.plan("clonazepam", "2 mg", rule=rule, start="2027-01-04")
    sources = {f.source for f in check(schedule) if f.code == "step-too-short"}
    assert sources == {f"{ASSESS}; {NHS_SCOTLAND}"}


def test_a_switch_above_the_range_for_its_indication_is_named_at_each_level() -> None:
    schedule = taper.plan(
        "alprazolam",
        "6 mg",
        indication="anxiety",
        per_day=3,
        switch_to="diazepam",
        table="va-dod-2021",
        rule="nhs-scotland-diazepam",
        overrides={"dose-above-range": "transferred"},
        start="2027-01-04",
    )
    valium = "Valium (diazepam) tablets, US label"
    assert [
        (f.message, f.source, f.override) for f in check(schedule) if f.code == "dose-above-range"
    ] == [
        (
            "The starting dose of 60 mg/day is above the documented maximum of 40 mg/day for "
            "anxiety in adults (US).",
            valium,
            "transferred",
        ),
        (
            "The starting dose of 6 mg/day is above the documented maximum of 4 mg/day for "
            "anxiety in adults (US).",
            "Xanax and Xanax XR (alprazolam) tablets, US labels",
            "transferred",
        ),
        (
            "Switch stage 3: 60 mg/day of diazepam is above its documented maximum of 40 mg/day "
            "for anxiety in adults.",
            valium,
            "transferred",
        ),
    ]


def test_fast_runs_name_their_worst_window_after_an_uncut_period() -> None:
    tl = _course(
        "clonazepam",
        "2",
        [("2", 14), ("1.4", 13), ("1", 14), ("1", 14), ("0.7", 1), ("0.65", 28)],
    )
    pace = "the dose falls by more than 25 % within 14 days"
    assert [(f[2], f[4]) for f in _course_findings(tl, "pace-above-guideline")] == [
        (f"Steps 2 to 3: {pace} (at most 50 %, from 2 mg to 1 mg/day).", 2),
        (f"Step 5: {pace} (at most 35 %, from 1 mg to 0.65 mg/day).", 5),
    ]
