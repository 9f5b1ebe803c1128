"""Checks to the letter: each finding's exact words, source and step, for plans and switches
that a pharmacist would have to refuse."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

import taper
from taper.catalog import Product, load_catalog
from taper.schedule import Finding, Patient, Schedule
from taper.validation import (
    PACE_SOURCE,
    Period,
    Timeline,
    check,
    check_prescription,
    check_timeline,
    min_pieces,
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
