"""Every finding code: a case that triggers it and one that does not."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import taper
from taper import plan
from taper.catalog import Catalog, Product, load_catalog
from taper.dispensing import Unit
from taper.errors import FindingsRefused, InputError, UnknownNameError
from taper.external import check_file
from taper.rules import FixedAmount, Rule, build_rule
from taper.schedule import Finding, Patient, Schedule
from taper.schedule_csv import ExternalOptions
from taper.validation import (
    CODES,
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

from .conftest import TINY
from .test_doses import numbers, refusal
from .test_planner import REC6

D = Decimal
START = "2027-01-04"
CATALOG = load_catalog()
CLONAZEPAM = CATALOG.drug("clonazepam")
DOCS = Path(__file__).parent.parent / "docs" / "findings.md"
ONE_TRUTH = "taper plan contract: one truth"
CONTIGUOUS = "taper plan contract: steps are contiguous"
PRODUCTS = "the catalog's products"
LIMIT = "taper: the clinician's limit per administration (max_units)"
#: the strengths of clonazepam's US products, as a finding that lists them names them
STRENGTHS = ["0.5", "1", "2", "0.125", "0.25", "0.5", "1", "2"]
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
STOP_SOURCE = "taper plan contract: a plan goes down to the smallest dose its products make"


def codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings}


def rx(dose: str, per_day: int = 2, drug: str = "clonazepam", **patient: object) -> set[str]:
    the_drug = CATALOG.drug(drug)
    return codes(check_prescription(the_drug, CATALOG, D(dose), per_day, Patient(**patient), "us"))  # type: ignore[arg-type]


def _prescribed(
    drug: str, dose: str, per_day: int, patient: Patient, region: str = "us", catalog=CATALOG
) -> list[tuple[str, str, list[str], str]]:
    """check_prescription's findings as (severity, code, numbers said, source)."""
    found = check_prescription(catalog.drug(drug), catalog, D(dose), per_day, patient, region)
    return [(f.severity, f.code, numbers(f.message), f.source) for f in found]


def planned(*args: str, **kw: object) -> set[str]:
    return codes(list(plan(*args, start=START, **kw).findings))  # type: ignore[arg-type]


_tmp: list[Path] = []


def csv_codes(tmp: Path, text: str, **options: object) -> set[str]:
    path = tmp / f"s{len(_tmp)}.csv"
    _tmp.append(path)
    path.write_text(text, encoding="utf-8")
    defaults: dict[str, object] = {"drug": "clonazepam"}
    defaults.update(options)
    return codes(check_file(path, ExternalOptions(**defaults)))  # type: ignore[arg-type]


def rows(
    *doses: str, days: int = 14, start: date = date(2027, 1, 4), gap: int = 0, times: bool = False
) -> str:
    header = "start_date,days,daily_dose_mg" + (",morning_mg,bedtime_mg" if times else "")
    lines = [header]
    day = start
    for dose in doses:
        if times:
            morning, bedtime = dose.split("+")
            total = D(morning) + D(bedtime)
            lines.append(f"{day.isoformat()},{days},{total},{morning},{bedtime}")
        else:
            lines.append(f"{day.isoformat()},{days},{dose}")
        day += timedelta(days=days + gap)
    return "\n".join(lines) + "\n"


def test_every_code_is_documented_in_one_place() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", text, flags=re.M))
    assert documented == set(CODES)
    for code, info in CODES.items():
        assert f"| `{code}` | {info.severity} |" in text


# --- the prescription ---------------------------------------------------------


def test_likely_unit_slip() -> None:
    assert "likely-unit-slip" in rx("2000")
    assert "likely-unit-slip" in rx("0.01")
    assert "likely-unit-slip" not in rx("2")


@pytest.mark.parametrize(
    ("dose", "said"),
    [
        # 10 or more times the largest documented maximum (20 mg/day); the dose meant, if any
        ("200", ["200", "10", "20", "0.2"]),
        ("20000", ["20,000", "10", "20", "20"]),
        ("20010", ["20,010", "10", "20"]),
        # below a tenth of the smallest dose a product makes (0.125 mg); the dose meant
        ("0.01249", ["0.01249", "0.125", "12.49"]),
        ("0.0125", None),
        ("199.99", None),
    ],
)
def test_unit_slips_at_their_bounds(dose: str, said: list[str] | None) -> None:
    slip = unit_slip(CLONAZEPAM, D(dose))
    assert (None if slip is None else numbers(slip)) == said


def test_a_likely_unit_slip_is_the_only_finding() -> None:
    assert _prescribed("clonazepam", "200", 1, Patient(age=70)) == [
        (
            "error",
            "likely-unit-slip",
            ["200", "10", "20", "0.2"],
            "the catalog's documented ranges and product strengths",
        )
    ]


def test_unit_slip_suggests_the_dose_meant() -> None:
    with pytest.raises(FindingsRefused) as info:
        plan("clonazepam", "2 g", start=START)
    assert "did you mean 2 mg?" in str(info.value)
    assert "this cannot be overridden" in str(info.value)


def test_unit_slip_cannot_be_overridden() -> None:
    with pytest.raises(InputError, match="cannot be overridden"):
        plan("clonazepam", "2 g", start=START, overrides=['likely-unit-slip="sure"'])


def test_dose_above_range() -> None:
    assert "dose-above-range" in rx("40")
    assert "dose-above-range" not in rx("20")
    assert "dose-above-range" in rx("5", indication="panic-disorder")
    assert "dose-above-range" not in rx("4", indication="panic-disorder")


def test_the_documented_range_names_the_indication_and_the_population() -> None:
    def messages(dose: str, patient: Patient) -> list[tuple[str, str]]:
        found = check_prescription(CLONAZEPAM, CATALOG, D(dose), 2, patient, "us")
        return [(f.code, f.message) for f in found]

    def said(dose: str, patient: Patient) -> list[tuple[str, list[str]]]:
        return [(code, numbers(message)) for code, message in messages(dose, patient)]

    # 25 mg/day above the maximum of 20 mg/day; the patient is 70, and the label's start for
    # older adults 0.5 mg/day, against 25 mg/day
    assert said("25", Patient("seizure", 70)) == [
        ("dose-above-range", ["25", "20"]),
        ("older-adult", ["70", "0.5", "25"]),
    ]
    assert "for seizure disorders in adults (US)" in messages("25", Patient("seizure", 70))[0][1]
    assert said("5", Patient("panic-disorder", 40)) == [("dose-above-range", ["5", "4"])]
    assert (
        "for panic disorder in adults (US)" in (messages("5", Patient("panic-disorder", 40))[0][1])
    )
    # no maximum for children; 25 mg/day for 30 kg is 0.833 mg/kg/day, above the usual 0.1 to
    # 0.2 mg/kg/day
    child = Patient("seizure", 8, D(30))
    assert said("25", child) == [
        ("no-documented-range", []),
        ("child-dose-above-usual", ["25", "30", "0.833", "0.1", "0.2"]),
    ]
    assert "for seizure disorders in children" in messages("25", child)[0][1]
    assert "for children (seizure disorders)" in messages("25", child)[1][1]


def test_a_dose_above_the_range_and_an_unusual_division() -> None:
    # 25 mg/day above the maximum of 4 mg/day; 1 dose a day, where the label's are 2 or 3
    assert _prescribed("clonazepam", "25", 1, Patient("panic-disorder")) == [
        ("error", "dose-above-range", ["25", "4"], KLONOPIN),
        ("warning", "unusual-division", ["1", "2", "3"], KLONOPIN),
    ]
    assert _prescribed("clonazepam", "2", 3, Patient()) == []


def test_an_older_adults_maximum_is_named_for_older_adults() -> None:
    # 3 mg/day above the 2 mg/day for older adults
    assert _prescribed("eszopiclone", "3", 1, Patient(age=70))[0][2] == ["3", "2"]


def test_dose_above_range_refuses_then_is_overridden() -> None:
    with pytest.raises(FindingsRefused) as info:
        plan("clonazepam", "40 mg", start=START)
    message = str(info.value)
    assert "documented maximum of 20 mg/day" in message
    assert "Klonopin (clonazepam) tablets, US Prescribing Information" in message
    schedule = plan(
        "clonazepam",
        "40 mg",
        start=START,
        overrides={"dose-above-range": "transferred from inpatient care"},
    )
    found = next(f for f in schedule.findings if f.code == "dose-above-range")
    assert found.override == "transferred from inpatient care"
    assert schedule.errors() == []


def test_unusual_division() -> None:
    assert "unusual-division" in rx("2", per_day=4)
    assert "unusual-division" not in rx("2", per_day=2)


def test_older_adult() -> None:
    found = check_prescription(CLONAZEPAM, CATALOG, D(2), 2, Patient(age=70), "us")
    older = next(f for f in found if f.code == "older-adult")
    assert "Beers Criteria" in older.message
    assert "starting dose for older adults is 0.5 mg/day" in older.message
    assert "older-adult" not in rx("2", age=50)


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
    # the patient is 70; the label's start for older adults, against 20 mg/day here
    assert _prescribed(drug, "20", 1, Patient(indication, age=70), region)[-1] == (
        "warning",
        "older-adult",
        ["70", start, "20"],
        f"{BEERS}; {label}",
    )


def test_an_older_adult_uk_label_start_is_used_in_the_uk() -> None:
    found = _prescribed("temazepam", "20", 1, Patient("insomnia", age=70), "uk")
    assert found[-1][2] == ["70", "10", "20"]


def test_an_older_adult_without_a_label_start_gets_the_beers_warning_alone() -> None:
    assert _prescribed("eszopiclone", "1", 1, Patient(age=70)) == [
        ("warning", "older-adult", ["70"], BEERS)
    ]


def test_check_holds_a_uk_plan_to_the_uk_label() -> None:
    rule = build_rule(max_cut="50%")
    schedule = plan("temazepam", "20 mg", region="uk", age=70, rule=rule, start=START)
    older = [numbers(f.message) for f in check(schedule) if f.code == "older-adult"]
    assert older == [["70", "10", "20"]]  # the UK label's 10 mg/day for older adults


def test_child_dose_above_usual() -> None:
    assert "child-dose-above-usual" in rx("5", age=8, weight_kg=D(20), indication="seizure")
    assert "child-dose-above-usual" not in rx("2", age=8, weight_kg=D(20), indication="seizure")


def test_a_child_above_the_usual_mg_per_kg() -> None:
    found = _prescribed("clonazepam", "4.02", 2, Patient(age=10, weight_kg=D(20)))
    # 4.02 mg/day for 20 kg is 0.201 mg/kg/day, above the usual 0.1 to 0.2 mg/kg/day
    assert found[-1] == (
        "warning",
        "child-dose-above-usual",
        ["4.02", "20", "0.201", "0.1", "0.2"],
        KLONOPIN,
    )
    # exactly the usual maximum is not above it
    at_max = _prescribed("clonazepam", "4", 2, Patient("seizure", age=10, weight_kg=D(20)))
    assert [f[1] for f in at_max] == ["no-documented-range"]


def test_child_no_range() -> None:
    assert "child-no-range" in rx("1", age=12, weight_kg=D(40), indication="panic-disorder")
    assert "child-no-range" not in rx("1", age=12, weight_kg=D(40), indication="seizure")


def test_a_child_with_no_documented_range() -> None:
    assert _prescribed("clonazepam", "2", 2, Patient("panic-disorder", 10, D(20)))[-1] == (
        "warning",
        "child-no-range",
        [],
        "built-in catalog",
    )
    # clobazam's children's ranges are in mg/day by weight band: checked as ranges, and no
    # finding says there are none
    assert "child-no-range" not in [
        f[1] for f in _prescribed("clobazam", "10", 2, Patient(age=10, weight_kg=D(30)))
    ]


def test_children_need_a_weight() -> None:
    with pytest.raises(InputError, match="weight_kg"):
        plan("clonazepam", "1 mg", start=START, age=9)


def test_unknown_indication_is_a_usage_error() -> None:
    with pytest.raises(InputError, match="documented for clonazepam: panic-disorder, seizure"):
        plan("clonazepam", "1 mg", start=START, indication="insomnia")


def test_no_documented_range() -> None:
    tiny = load_catalog(TINY)
    onlybig = codes(check_prescription(tiny.drug("onlybig"), tiny, D(5), 1, Patient(), "us"))
    assert "no-documented-range" in onlybig
    testo = codes(check_prescription(tiny.drug("testazepam"), tiny, D(2), 2, Patient(), "us"))
    assert "no-documented-range" not in testo


def test_no_documented_range_and_a_plural_division(tiny: Catalog) -> None:
    # 2 doses a day, where the label's usual division is 1 a day
    assert _prescribed("onlybig", "5", 2, Patient("x"), catalog=tiny) == [
        ("info", "no-documented-range", [], str(TINY)),
        ("warning", "unusual-division", ["2", "1"], "Test source, 2026"),
    ]
    assert "of onlybig for x in adults" in (
        check_prescription(tiny.drug("onlybig"), tiny, D(5), 2, Patient("x"), "us")[0].message
    )
    # with no indication, none is named
    bare = check_prescription(tiny.drug("onlybig"), tiny, D(5), 1, Patient(), "us")[0]
    assert (bare.code, numbers(bare.message)) == ("no-documented-range", [])
    assert "of onlybig in adults" in bare.message


# --- schedules made elsewhere -------------------------------------------------


def test_cut_above_cap(tmp_path: Path) -> None:
    assert "cut-above-cap" in csv_codes(tmp_path, rows("2", "1", "0.5"))
    assert "cut-above-cap" not in csv_codes(tmp_path, rows("2", "1.75", "1.5"))


def test_halving_every_week_flags_each_cut(tmp_path: Path) -> None:
    path = tmp_path / "halve.csv"
    path.write_text(rows("4", "2", "1", "0.5", "0.25", days=7), encoding="utf-8")
    found = check_file(path, ExternalOptions(drug="clonazepam"))
    assert [f.step for f in found if f.code == "cut-above-cap"] == [2, 3, 4, 5]


def test_dose_rises(tmp_path: Path) -> None:
    assert "dose-rises" in csv_codes(tmp_path, rows("2", "1.75", "2"))
    assert "dose-rises" not in csv_codes(tmp_path, rows("2", "1.75", "1.75"))


def test_gap_or_overlap(tmp_path: Path) -> None:
    assert "gap-or-overlap" in csv_codes(tmp_path, rows("2", "1.75", gap=1))
    assert "gap-or-overlap" in csv_codes(tmp_path, rows("2", "1.75", gap=-2))
    assert "gap-or-overlap" not in csv_codes(tmp_path, rows("2", "1.75"))


def test_not_dispensable(tmp_path: Path) -> None:
    assert "not-dispensable" in csv_codes(tmp_path, rows("2", "1.8"))
    assert "not-dispensable" not in csv_codes(tmp_path, rows("2", "1.75"))
    assert "not-dispensable" in csv_codes(tmp_path, rows("10", "8", "6", "5", "3"), drug="diazepam")


def test_too_many_units(tmp_path: Path) -> None:
    assert "too-many-units" in csv_codes(tmp_path, rows("20", "17"))
    assert "too-many-units" not in csv_codes(tmp_path, rows("20", "17"), max_units=6)
    assert "too-many-units" in csv_codes(tmp_path, rows("9+9", "8+8", times=True))
    assert "too-many-units" not in csv_codes(tmp_path, rows("8+8", "7+7", times=True))


def test_dose_mismatch(tmp_path: Path) -> None:
    bad = "start_date,days,daily_dose_mg,morning_mg,bedtime_mg\n2027-01-04,14,2,0.5,1\n"
    assert "dose-mismatch" in csv_codes(tmp_path, bad)
    assert "dose-mismatch" not in csv_codes(tmp_path, rows("0.75+1", times=True))


def test_no_start_dose(tmp_path: Path) -> None:
    assert "no-start-dose" in csv_codes(tmp_path, rows("2", "1.75"))
    assert "no-start-dose" not in csv_codes(tmp_path, rows("1.75"), start_dose=D(2))


# --- what a pharmacist can dispense: each step's doses, units and pieces -------------------


def _stated(number: int, dose: str, shares: tuple[str, ...] = (), **kw: object) -> Period:
    return Period(
        number,
        date(2027, 1, 4) + timedelta(days=14 * (number - 1)),
        14,
        D(dose),
        shares=tuple(zip(("morning", "bedtime"), (D(s) for s in shares), strict=False)),
        **kw,  # type: ignore[arg-type]
    )


def _dispensed(*periods: Period, max_units: int = 4) -> list[tuple[str, str, list[str], str, int]]:
    """The dispensing findings of ``periods`` as (severity, code, numbers, source, step)."""
    tl = Timeline(
        CLONAZEPAM, D(2), 2, periods, tuple(CLONAZEPAM.products_in("us")), max_units=max_units
    )
    codes = ("dose-mismatch", "not-dispensable", "too-many-units")
    return [
        (f.severity, f.code, numbers(f.message), f.source, f.step)  # type: ignore[misc]
        for f in check_timeline(tl)
        if f.code in codes
    ]


def test_a_step_whose_times_do_not_add_up_and_a_later_disallowed_step_are_both_named() -> None:
    # step 1 states 2 mg/day but its times are 0.75 mg + 1 mg; step 2 lists a product not
    # allowed (the allowed ones named with their strengths)
    assert _dispensed(
        _stated(1, "2", ("0.75", "1")),
        _stated(2, "1.5", ("0.75", "0.75"), units_allowed=False),
    ) == [
        ("error", "dose-mismatch", ["2", "0.75", "1"], ONE_TRUTH, 1),
        ("error", "not-dispensable", STRENGTHS, PRODUCTS, 2),
    ]


def test_units_that_do_not_make_the_stated_times_are_named() -> None:
    # step 1 states 2 mg/day, its times 1 mg + 1 mg, its units 1 mg + 0.5 mg
    assert _dispensed(
        _stated(1, "2", ("1", "1"), made=(D(1), D("0.5"))),
        _stated(2, "1.5", ("0.75", "0.75"), units_allowed=False),
        _stated(3, "1", ("0.5", "0.5")),
    ) == [
        ("error", "dose-mismatch", ["2", "1", "1", "1", "0.5"], ONE_TRUTH, 1),
        ("error", "not-dispensable", STRENGTHS, PRODUCTS, 2),
    ]


def test_a_dose_no_product_makes_is_named_per_time_or_per_day() -> None:
    # no combination of the products makes 0.1 mg: at each of step 1's times, and step 2's day
    assert _dispensed(_stated(1, "0.2", ("0.1", "0.1")), _stated(2, "0.1")) == [
        ("error", "not-dispensable", [*STRENGTHS, "0.1"], PRODUCTS, 1),
        ("error", "not-dispensable", [*STRENGTHS, "0.1"], PRODUCTS, 1),
        ("error", "not-dispensable", [*STRENGTHS, "0.1"], PRODUCTS, 2),
    ]


def test_too_many_pieces_per_time_per_day_and_as_listed() -> None:
    def too_many(pieces: int) -> list[str]:
        """A dose of ``pieces`` pieces at one time, more than the limit of 2."""
        return [str(pieces), "2"]

    assert _dispensed(
        _stated(1, "1.75", ("0.875", "0.875")),  # 0.5 + 0.25 + 0.125 at each time
        _stated(2, "1.75"),  # makeable as 1 mg and 0.5 + 0.25 mg
        _stated(3, "0.875", ("0.875", "0")),
        _stated(4, "3.875"),  # 2 + 1 + 0.5 + 0.25 + 0.125: 3 at one of the 2 times
        _stated(5, "1.5", ("0.75", "0.75"), pieces=(2, 5)),
        _stated(6, "1", ("0.5", "0.5"), pieces=(3, 3)),
        max_units=2,
    ) == [
        ("error", "too-many-units", too_many(3), LIMIT, 1),
        ("error", "too-many-units", too_many(3), LIMIT, 3),
        ("error", "too-many-units", too_many(3), LIMIT, 4),
        ("error", "too-many-units", too_many(5), LIMIT, 5),
        ("error", "too-many-units", too_many(3), LIMIT, 6),
    ]


def test_a_listed_count_within_the_limit_is_not_checked_again() -> None:
    # the pieces as listed are within the limit, so the shares are not re-made
    assert _dispensed(_stated(1, "1.75", ("0.875", "0.875"), pieces=(2, 2)), max_units=2) == []


# --- a plan edited by hand: what check() finds in its steps -------------------------------


@pytest.fixture(scope="module")
def clonazepam_2mg() -> Schedule:
    # every tablet and ODT allowed, so a step may be edited to any of them (named one by
    # one: forms alone let the plan choose its set among them)
    every = [p.id for p in CATALOG.drug("clonazepam").products_in("us") if p.is_solid]
    return plan("clonazepam", "2 mg", products=every, start=START)


def _edited(schedule: Schedule, *units: tuple) -> Schedule:
    """The plan with step 1's morning dose made of ``units`` (product, count) instead."""
    first = schedule.steps[0]
    morning = replace(first.administrations[0], units=tuple(Unit(p, D(c)) for p, c in units))
    step = replace(first, administrations=(morning, *first.administrations[1:]))
    return replace(schedule, steps=(step, *schedule.steps[1:]))


def _step_one(schedule: Schedule) -> list[tuple[str, str, list[str], str]]:
    codes = ("not-dispensable", "too-many-units", "dose-mismatch")
    return [
        (f.severity, f.code, numbers(f.message), f.source)
        for f in check(schedule)
        if f.code in codes and f.step == 1
    ]


def test_more_pieces_than_the_limit_as_listed_are_named(clonazepam_2mg: Schedule) -> None:
    odt = next(p for p in clonazepam_2mg.products if p.id == "clonazepam-odt-0.125")
    # 0.625 mg is one 0.5 mg tablet and one 0.125 mg ODT, but the step lists five ODTs: 5
    # pieces at one time, more than the limit of 4
    assert _step_one(_edited(clonazepam_2mg, (odt, 5))) == [
        ("error", "too-many-units", ["5", "4"], LIMIT)
    ]


def test_a_product_of_another_drug_in_a_step_is_not_dispensable(
    clonazepam_2mg: Schedule,
) -> None:
    diazepam = CATALOG.drug("diazepam").products[0]
    found = _step_one(_edited(clonazepam_2mg, (diazepam, 1)))
    # the step lists diazepam 2 mg tablet, which is not allowed, naming the allowed ones
    assert [(f[1], f[2]) for f in found] == [("not-dispensable", ["2", *STRENGTHS])]
    assert diazepam.name == "diazepam 2 mg tablet"


def test_a_tablet_split_further_than_allowed_is_not_dispensable(clonazepam_2mg: Schedule) -> None:
    odt = next(p for p in clonazepam_2mg.products if p.id == "clonazepam-odt-0.25")
    found = _step_one(_edited(clonazepam_2mg, (odt, "0.5")))
    # the step lists clonazepam 0.25 mg ODT split in half, further than it may be
    assert [(f[1], f[2][0]) for f in found] == [("not-dispensable", "0.25")]


# --- the course of a plan ------------------------------------------------------


def timeline(doses: list[str], every: int, start: str = "1") -> Timeline:
    periods = []
    day = date(2027, 1, 4)
    for i, dose in enumerate(doses, start=1):
        periods.append(Period(i, day, every, D(dose)))
        day += timedelta(days=every)
    return Timeline(CATALOG.drug("diazepam"), D(start), 2, tuple(periods), ())


def pace(doses: list[str], every: int, start: str) -> set[str]:
    return codes(check_timeline(timeline(doses, every, start)))


def _course(
    drug: str,
    start: str,
    steps: list[tuple[str, int]],
    shift: dict[int, int] | None = None,
    **kw: object,
) -> Timeline:
    """A timeline of ``steps`` (dose, days) from 2027-01-04, step N moved by ``shift[N]`` days."""
    the_drug = CATALOG.drug(drug)
    day = date(2027, 1, 4)
    periods = []
    for number, (dose, days) in enumerate(steps, 1):
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


def _course_findings(tl: Timeline, *codes: str, catalog: Catalog | None = None) -> list[tuple]:
    """check_timeline's findings of ``codes`` as (severity, code, numbers, source, step)."""
    return [
        (f.severity, f.code, numbers(f.message), f.source, f.step)
        for f in check_timeline(tl, catalog)
        if f.code in codes
    ]


def test_a_gap_and_an_overlap_between_steps_are_named() -> None:
    tl = _course("clonazepam", "2", [("1.75", 14), ("1.5", 14), ("1.25", 14)], {2: 2, 3: -3})
    # step 1 ends 2027-01-17, step 2 starts 2027-01-20: a gap of 2 days; step 2 ends
    # 2027-02-02, step 3 starts 2027-01-31: an overlap of 3 days
    assert _course_findings(tl, "gap-or-overlap") == [
        ("error", "gap-or-overlap", ["1", "2027-01-17", "2", "2027-01-20", "2"], CONTIGUOUS, 2),
        ("error", "gap-or-overlap", ["2", "2027-02-02", "3", "2027-01-31", "3"], CONTIGUOUS, 3),
    ]


def test_a_rise_and_a_cut_above_the_cap_are_named() -> None:
    tl = _course(
        "clonazepam", "2", [("1.5", 14), ("1.75", 14), ("1", 14)], max_cut=D("0.25"),
        cap_source="the cap",
    )  # fmt: skip
    # a rise from 1.5 mg to 1.75 mg; a fall from 1.75 mg to 1 mg/day, a cut of 42.9 %, above
    # the cap of 25 %, where the products make 1.625 mg/day between the two
    assert _course_findings(tl, "dose-rises", "cut-above-cap") == [
        (
            "error",
            "dose-rises",
            ["1.5", "1.75"],
            "taper design: the realised daily dose never rises",
            2,
        ),
        ("error", "cut-above-cap", ["1.75", "1", "42.9", "25", "1.625"], "the cap", 3),
    ]


def test_pace_cases_from_the_joint_guideline() -> None:
    """clinical.md RC10: 10 % weekly passes (19 % in 2 weeks), 15 % weekly fails (27.75 %),
    25 % every 2 weeks passes (the boundary is inclusive)."""
    ten = [str(D(100) * D("0.9") ** k) for k in range(1, 4)] + ["0.001"] * 0
    assert "pace-above-guideline" not in pace(ten + ten[-1:] * 2, 7, "100")
    fifteen = [str(D(100) * D("0.85") ** k) for k in range(1, 4)]
    assert "pace-above-guideline" in pace(fifteen, 7, "100")
    quarter = ["75", "56.25", "42.1875"]
    assert "pace-above-guideline" not in pace([*quarter, "42.1875"], 14, "100")


def test_pace_above_guideline_on_plans() -> None:
    assert "pace-above-guideline" in planned("clonazepam", "1 mg", rule="fda-label-clonazepam")
    # to 0.5 mg/day every cut keeps the pace; the forced 50 % cut at the end does not
    assert "pace-above-guideline" not in planned(
        "clonazepam", "2 mg", rule=build_rule(final_dose="0.5mg")
    )
    assert "pace-above-guideline" in planned("clonazepam", "2 mg")


def test_pace_above_guideline_names_a_rule_that_is_faster_itself() -> None:
    schedule = plan("clonazepam", "1 mg", rule="fda-label-clonazepam", start=START)
    pace = next(f for f in schedule.findings if f.code == "pace-above-guideline")
    assert "the rule itself goes faster than the guideline (fda-label-clonazepam)" in pace.message
    assert pace.source.startswith(PACE_SOURCE)
    assert "Klonopin (clonazepam) US Prescribing Information" in pace.source
    # the default rule keeps the guideline's pace: only the products go faster
    default = plan("clonazepam", "2 mg", start=START)
    forced = next(f for f in default.findings if f.code == "pace-above-guideline")
    assert "the rule itself" not in forced.message
    assert forced.source == PACE_SOURCE


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
    found = [(f.code, numbers(f.message), f.source, f.step) for f in check_timeline(tl)]
    # 6 pieces at one time, more than the limit of 4
    assert ("too-many-units", ["6", "4"], LIMIT, 2) in found
    assert not [f for f in found if f[0] == "pace-above-guideline"]
    faster = replace(
        tl,
        periods=tuple(
            replace(p, start=day + timedelta(days=7 * i), days=7) for i, p in enumerate(periods)
        ),
    )
    # weekly steps: each window of 14 days from step 2 on reaches the stop; steps 2 to 4 fall
    # by more than 25 % within 14 days (at most 100 %, from 1.125 mg to 0 mg/day)
    paced = [f for f in check_timeline(faster) if f.code == "pace-above-guideline"]
    assert [(numbers(f.message), f.step) for f in paced] == [
        (["2", "4", "25", "14", "100", "1.125", "0"], 2)
    ]
    single = replace(faster, periods=faster.periods[:2])
    paced = [f for f in check_timeline(single) if f.code == "pace-above-guideline"]
    # step 2 alone: at most 100 %, from 2 mg to 0 mg/day
    assert [(numbers(f.message), f.step) for f in paced] == [
        (["2", "25", "14", "100", "2", "0"], 2)
    ]


def test_fast_runs_name_their_worst_window_after_an_uncut_period() -> None:
    tl = _course(
        "clonazepam",
        "2",
        [("2", 14), ("1.4", 13), ("1", 14), ("1", 14), ("0.7", 1), ("0.65", 28)],
    )
    # steps 2 to 3: more than 25 % within 14 days (at most 50 %, from 2 mg to 1 mg/day); step 5:
    # at most 35 %, from 1 mg to 0.65 mg/day
    assert [(f[2], f[4]) for f in _course_findings(tl, "pace-above-guideline")] == [
        (["2", "3", "25", "14", "50", "2", "1"], 2),
        (["5", "25", "14", "35", "1", "0.65"], 5),
    ]


def test_step_too_short() -> None:
    assert "step-too-short" in planned("clonazepam", "1 mg", rule="fda-label-clonazepam")
    assert "step-too-short" not in planned("clonazepam", "2 mg")
    # diazepam's active metabolite lasts up to 200 hours: 7-day steps are short for it
    assert "step-too-short" in pace(["9", "8"], 7, "10")
    assert "step-too-short" not in pace(["9", "8"], 9, "10")


def test_runs_of_short_steps_are_named_with_their_lengths() -> None:
    tl = _course("clonazepam", "2", [("1.75", 5), ("1.5", 3), ("1.25", 14), ("1", 3)])
    # steps 1 to 2 last 3 or 5 days, step 4 lasts 3 days: shorter than 7 days; clonazepam's
    # half-life is 18 to 50 hours
    assert _course_findings(tl, "step-too-short", catalog=CATALOG) == [
        (
            "warning",
            "step-too-short",
            ["1", "2", "3", "5", "7", "18", "50"],
            f"{ASSESS}; {NHS_SCOTLAND}",
            1,
        ),
        ("warning", "step-too-short", ["4", "3", "7", "18", "50"], f"{ASSESS}; {NHS_SCOTLAND}", 4),
    ]


def test_a_long_half_life_lengthens_the_shortest_step() -> None:
    tl = _course("diazepam", "20", [("18", 8), ("16", 9), ("14", 14)])
    # step 1 lasts 8 days, shorter than 9 days: diazepam's half-life is 20 to 100 hours (active
    # metabolite 36 to 200 hours)
    expected = ("warning", "step-too-short", ["1", "8", "9", "20", "100", "36", "200"], ASSESS, 1)
    assert _course_findings(tl, "step-too-short") == [expected]
    with_catalog = (*expected[:3], f"{ASSESS}; {NHS_SCOTLAND}", 1)
    assert _course_findings(tl, "step-too-short", catalog=CATALOG) == [with_catalog]


def test_check_cites_the_half_life_source_for_short_steps() -> None:
    rule = build_rule(reduce="10%", every="5d")
    schedule = plan("clonazepam", "2 mg", rule=rule, start=START)
    sources = {f.source for f in check(schedule) if f.code == "step-too-short"}
    assert sources == {f"{ASSESS}; {NHS_SCOTLAND}"}


def test_final_dose_large() -> None:
    """Decided by the terminal dose and the clinician's request, not by a multiple."""
    asked = plan("clonazepam", "2 mg", rule=build_rule(final_dose="0.5mg"), start=START)
    warning = next(f for f in asked.findings if f.code == "final-dose-large")
    assert warning.message == (
        "The plan stops from 0.5 mg/day after 30 days at it (about 5 to 10 mg of diazepam "
        "across 4 tables), above the smallest daily dose its products make (0.125 mg/day); "
        "0.5 mg/day is the clinician's final dose (final_dose)."
    )
    assert "final-dose-large" not in planned("clonazepam", "2 mg")
    assert "stop" in planned("clonazepam", "2 mg")
    assert "stop" not in codes(list(asked.findings))


def test_a_stop_above_the_terminal_dose_is_a_warning_with_its_equivalent() -> None:
    tl = _course("clonazepam", "0.5", [("0.375", 21), ("0.3125", 21)])
    # 0.3125 mg of clonazepam: 6.25 mg of diazepam by Ashton, NHS Scotland and TRC (0.5 or
    # 0.25 mg per 10 or 5 mg), 3.125 mg by VA/DoD (1 mg per 10 mg); the stop after 21 days,
    # across 4 tables, above the smallest daily dose its products make, 0.125 mg/day
    assert _course_findings(tl, "final-dose-large", "stop") == [
        (
            "warning",
            "final-dose-large",
            ["0.3125", "21", "3.125", "6.25", "4", "0.125"],
            STOP_SOURCE,
            2,
        )
    ]
    asked = replace(tl, stop_asked="0.3125 mg/day is the protocol's final dose")
    said = _course_findings(asked, "final-dose-large")[0][2]
    assert said == ["0.3125", "21", "3.125", "6.25", "4", "0.125", "0.3125"]


def test_a_gradual_tail_of_forced_cuts_is_warned_and_a_stop_from_it_is_not() -> None:
    """The issue's two tails: 0.375, 0.25, 0.125 mg (28 days each) is two forced cuts and a
    stop from the terminal dose; a stop straight from 0.375 mg is the large final dose."""
    tail = _course("clonazepam", "0.5", [("0.375", 28), ("0.25", 28), ("0.125", 28)])
    found = _course_findings(tail, "forced-cut", "cut-above-cap", "final-dose-large", "stop")
    # each forced cut: from and to, the cut, the cap of 25 %, the dose it falls from and the
    # cap's dose with nothing made between, the next dose made and the 28 days at it
    assert found == [
        (
            "warning",
            "forced-cut",
            ["0.375", "0.25", "33.3", "25", "0.375", "0.2812", "0.25", "28"],
            REC6,
            2,
        ),
        (
            "warning",
            "forced-cut",
            ["0.25", "0.125", "50", "25", "0.25", "0.1875", "0.125", "28"],
            REC6,
            3,
        ),
        # from 0.125 mg/day after 28 days (about 1.25 to 2.5 mg of diazepam across 4 tables)
        ("info", "stop", ["0.125", "28", "1.25", "2.5", "4"], STOP_SOURCE, 3),
    ]
    abrupt = _course("clonazepam", "0.5", [("0.375", 28)])
    assert [f[1] for f in _course_findings(abrupt, "forced-cut", "final-dose-large")] == [
        "final-dose-large"
    ]
    # a cut above the cap that passes over a dose the products make stays an error: 0.375 to
    # 0.125 mg/day, 66.7 %, above the cap of 25 %, passing over 0.25 mg/day
    skip = _course("clonazepam", "0.5", [("0.375", 28), ("0.125", 28)])
    assert _course_findings(skip, "forced-cut", "cut-above-cap") == [
        ("error", "cut-above-cap", ["0.375", "0.125", "66.7", "25", "0.25"], REC6, 2)
    ]


def test_short_for_long_term() -> None:
    assert "short-for-long-term" in planned("clonazepam", "1 mg", rule="fda-label-clonazepam")
    assert "short-for-long-term" not in planned(
        "clonazepam", "1 mg", rule="fda-label-clonazepam", use_months=2
    )
    assert "short-for-long-term" not in planned("clonazepam", "2 mg")


def test_a_short_taper_after_long_use_is_named_and_a_long_enough_one_is_not() -> None:
    short = _course("clonazepam", "2", [("1.75", 21), ("1.5", 21), ("1.25", 20)])
    # 62 days; for use of 3 months or more, 10 % every 14 days takes about 63 days from 2 mg
    # to 1.25 mg/day
    assert _course_findings(short, "short-for-long-term") == [
        (
            "warning",
            "short-for-long-term",
            ["62", "3", "10", "14", "63", "2", "1.25"],
            DURATION_SOURCE,
            None,
        )
    ]
    enough = _course("clonazepam", "2", [("1.75", 21), ("1.5", 21), ("1.25", 21)])
    assert _course_findings(enough, "short-for-long-term") == []


def test_the_duration_check_names_the_months_of_use_from_three_months() -> None:
    steps = [("1.75", 14), ("1.5", 14)]
    three = _course("clonazepam", "2", steps, patient=Patient(use_months=3))
    # 28 days; after 3 months of use, 10 % every 14 days takes about 39 days from 2 mg to 1.5
    assert [f[2] for f in _course_findings(three, "short-for-long-term")] == [
        ["28", "3", "10", "14", "39", "2", "1.5"]
    ]
    said = [f.message for f in check_timeline(three) if f.code == "short-for-long-term"]
    assert "after 3 months of use" in said[0]  # the patient's months, not the threshold's
    two = _course("clonazepam", "2", steps, patient=Patient(use_months=2))
    assert _course_findings(two, "short-for-long-term") == []


def test_the_duration_counts_from_the_first_period_when_it_is_the_start() -> None:
    tl = _course("clonazepam", "4", [("2", 14), ("1.5", 14)], first_is_start=True)
    # 28 days from 2 mg, the first period, to 1.5 mg/day: about 39 days at the guideline's pace
    assert [f[2] for f in _course_findings(tl, "short-for-long-term")] == [
        ["28", "3", "10", "14", "39", "2", "1.5"]
    ]


def test_target_adjusted() -> None:
    assert "target-adjusted" in planned("clonazepam", "2 mg")
    assert "target-adjusted" not in planned("clonazepam", "4 mg", rule="fda-label-clonazepam")


def test_cut_capped() -> None:
    assert "cut-capped" in planned("clonazepam", "2 mg", rule=Rule("big", FixedAmount(D(1), 14)))
    assert "cut-capped" not in planned("clonazepam", "2 mg")


def test_units_limit_raised() -> None:
    raised = planned("clonazepam", "40 mg", overrides={"dose-above-range": "inpatient"})
    assert "units-limit-raised" in raised
    assert "units-limit-raised" not in planned("clonazepam", "2 mg")
    assert "units-limit-raised" not in planned("clonazepam", "16 mg", max_units=8)


def test_a_drug_the_catalog_lacks_is_an_error_not_a_finding() -> None:
    schedule = plan("testazepam", "4 mg", catalog=str(TINY), start=START)
    with pytest.raises(UnknownNameError):  # testazepam is not in the built-in catalog
        check(schedule)
    assert "stop" in codes(check(schedule, catalog=load_catalog(TINY)))


# --- overrides, and the planner's own plans ---------------------------------------


def test_overrides_are_parsed_and_checked() -> None:
    assert parse_overrides(['dose-above-range="came in on 30 mg"']) == {
        "dose-above-range": "came in on 30 mg"
    }
    with pytest.raises(InputError, match="give CODE="):
        parse_overrides(["dose-above-range"])
    with pytest.raises(InputError, match="codes: "):
        parse_overrides(["made-up=reason"])


def test_overrides_keep_the_reason_whole() -> None:
    assert parse_overrides(['dose-above-range="a=b"', 'older-adult="XRay"']) == {
        "dose-above-range": "a=b",
        "older-adult": "XRay",
    }


def test_override_refusals_name_what_is_allowed() -> None:
    with pytest.raises(InputError) as bare:
        parse_overrides(["dose-above-range"])
    # give CODE="reason", with the code given as the example
    assert refusal(bare.value) == ("overrides", "dose-above-range", [])
    assert 'dose-above-range="' in bare.value.allowed
    with pytest.raises(InputError) as unknown:
        parse_overrides(["nope=x"])
    assert refusal(unknown.value) == ("overrides", "nope", [])
    assert unknown.value.allowed.startswith(
        "codes: alternatives, child-dose-above-usual, child-no-range, "
    )
    with pytest.raises(InputError) as fixed:
        parse_overrides(["likely-unit-slip=x"])
    # this finding cannot be overridden
    assert refusal(fixed.value) == ("overrides", "likely-unit-slip", [])


def test_check_raises_nothing_and_sorts_errors_first() -> None:
    schedule = plan("clonazepam", "40 mg", start=START, overrides={"dose-above-range": "x"})
    found = check(schedule)
    order = ["error", "warning", "info"]
    assert [order.index(f.severity) for f in found] == sorted(
        order.index(f.severity) for f in found
    )


def test_findings_are_value_objects() -> None:
    assert Finding("error", "dose-rises", "x").step is None


CheckCase = Callable[[], set[str]]


def test_min_pieces() -> None:
    products = CLONAZEPAM.products_in("us")
    assert min_pieces(D("0.875"), products) == 3
    assert min_pieces(D("0.0625"), products) is None
    assert min_pieces(D(10), products) == 5


SCORED_HALF = Product("half", "test 0.5 mg tablet", "tablet", "T1", D("0.5"), D("0.5"))
WHOLE_2 = Product("two", "test 2 mg tablet", "tablet", "T1", D(2), D(1))
QUARTERED_10 = Product("ten", "test 10 mg tablet", "tablet", "T1", D(10), D("0.25"))


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
        (D("7.5"), [QUARTERED_10], 1),  # three quarters of a tablet in one piece
        (D("12.5"), [QUARTERED_10], 2),  # a whole and a quarter
    ],
)
def test_min_pieces_is_the_fewest_tablets_and_halves(
    dose: Decimal, products: list[Product], pieces: int | None
) -> None:
    assert min_pieces(dose, products) == pieces


def test_rule_not_completed() -> None:
    """Regression: a final dose or hold below where the plan stops was ignored silently."""
    # with 0.5 mg tablets (halves) the smallest daily dose is 0.25 mg: the rule's final
    # 0.125 mg and its hold at 0.2 mg lie below it
    late = planned(
        "clonazepam",
        "2 mg",
        rule=build_rule(final_dose="0.125mg", holds=("0.2mg:60d",)),
        products=["tablet:0.5mg"],
    )
    assert "rule-not-completed" in late
    assert "rule-not-completed" not in planned(
        "clonazepam", "2 mg", rule=build_rule(final_dose="0.5mg")
    )


def test_weight_bands_choose_the_range() -> None:
    """Clobazam's label sets its maximum by body weight: 20 mg/day at 30 kg or less."""
    clobazam = CATALOG.drug("clobazam")
    small = check_prescription(
        clobazam, CATALOG, D(30), 2, Patient(indication="seizure", age=9, weight_kg=D(25)), "us"
    )
    assert "dose-above-range" in codes(small)
    large = check_prescription(
        clobazam, CATALOG, D(30), 2, Patient(indication="seizure", age=15, weight_kg=D(45)), "us"
    )
    assert "dose-above-range" not in codes(large)


def test_a_weight_banded_range_without_a_weight_holds_to_the_lowest_maximum() -> None:
    # 30 mg/day above the 20 mg/day of the lowest band
    above = ("dose-above-range", ["30", "20"])
    said = [(f[1], f[2]) for f in _prescribed("clobazam", "30", 2, Patient(age=10))]
    assert above in said
    heavier = _prescribed("clobazam", "30", 2, Patient(age=10, weight_kg=D(40)))
    assert [f[1] for f in heavier] == []  # within the 40 mg/day of the band above 30 kg


@pytest.mark.parametrize(
    ("text", "dose"),
    [
        ("start_date,days,daily_dose_mg,morning_mg,bedtime_mg\n2027-01-04,14,1.5,0.75,0.75\n"
         "2027-01-18,14,0.3,0.15,0.15\n2027-02-01,14,0,0,0\n", "0.15 mg"),
        ("start_date,days,daily_dose_mg\n2027-01-04,14,1.5\n2027-01-18,14,0.3\n"
         "2027-02-01,14,0\n", "0.3 mg/day"),
    ],
    ids=["at each time", "a day's dose"],
)  # fmt: skip
def test_a_dose_no_product_makes_names_every_product_and_the_dose(
    tmp_path: Path, text: str, dose: str
) -> None:
    path = tmp_path / "s.csv"
    path.write_text(text, "utf-8")
    found = [f for f in taper.check(path, drug="clonazepam") if f.code == "not-dispensable"]
    names = ", ".join(p.name for p in CATALOG.drug("clonazepam").products_in("us") if p.is_solid)
    assert found and all(f.step == 2 and f.severity == "error" for f in found)
    assert {f.message for f in found} == {f"No combination of {names} makes {dose}."}
