from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from taper.errors import CatalogError, InputError, TaperError, UnknownNameError
from taper.rules import (
    DEFAULT_PRESET,
    GUIDELINE_SOURCE,
    PRESETS,
    Band,
    Bands,
    FixedAmount,
    Hold,
    Hyperbolic,
    PercentOfCurrent,
    PercentOfStart,
    Phase,
    Phases,
    Proposal,
    Rule,
    Table,
    TableRow,
    build_rule,
    load_protocol,
    load_table,
    parse_hold,
    parse_protocol,
    preset,
)

from .test_doses import refusal

D = Decimal
DOCS = Path(__file__).parent.parent / "docs" / "protocols"
DATA = Path(__file__).parent / "data"
ORIGIN = "clinic/slow.toml"


def test_percent_of_current() -> None:
    pace = PercentOfCurrent(D("0.1"), 14)
    assert pace.propose(D(2), D(2)).target == D("1.8")
    assert pace.propose(D("1.8"), D(2)).target == D("1.62")
    assert pace.propose(D(1), D(2)).days == 14


def test_percent_of_start_terminates() -> None:
    pace = PercentOfStart(D("0.25"), 14)
    assert pace.propose(D(2), D(2)).target == D("1.5")
    assert pace.propose(D("0.5"), D(2)).target == D(0)


def test_fixed_amount() -> None:
    pace = FixedAmount(D("0.25"), 3)
    assert pace.propose(D(1), D(1)).target == D("0.75")
    assert pace.propose(D("0.25"), D(1)).target == D(0)


def test_bands_pick_by_current_dose_and_do_not_cross_a_floor() -> None:
    bands = Bands(
        (
            Band(D(20), FixedAmount(D(2), 14)),
            Band(D(5), FixedAmount(D(1), 7)),
            Band(D(0), FixedAmount(D("0.5"), 14)),
        )
    )
    assert bands.propose(D(40), D(40)).target == D(38)
    assert bands.propose(D(21), D(40)).target == D(20)  # not 19: the band ends at 20 mg
    assert bands.propose(D(20), D(40)).target == D(19)
    assert bands.propose(D(20), D(40)).days == 7
    assert bands.propose(D(5), D(40)).target == D("4.5")


def test_bands_must_reach_zero_in_order() -> None:
    with pytest.raises(InputError, match="reach 0 mg"):
        Bands((Band(D(5), FixedAmount(D(1), 7)),))
    with pytest.raises(InputError, match="highest floor down"):
        Bands((Band(D(0), FixedAmount(D(1), 7)), Band(D(5), FixedAmount(D(1), 7))))


def test_phases_switch_below_a_fraction_of_the_start() -> None:
    phases = Phases(
        (
            Phase(D("0.2"), PercentOfCurrent(D("0.1"), 14)),
            Phase(D(0), PercentOfCurrent(D("0.05"), 28)),
        )
    )
    assert phases.propose(D(10), D(10)).target == D(9)
    assert phases.propose(D("2.1"), D(10)).target == D(2)  # stops at the phase boundary
    assert phases.propose(D(2), D(10)).target == D("1.9")
    assert phases.propose(D(2), D(10)).days == 28


def test_hyperbolic_steps_equal_occupancy() -> None:
    pace = Hyperbolic(D(1), D(10), 28, "test")
    # occupancy of 4 mg with ED50 1 mg is 80 %; 70 % needs 1 * 0.7 / 0.3 mg
    assert pace.propose(D(4), D(4)).target == D("2.3333")
    assert pace.propose(D("0.1"), D(4)).target == D(0)


def test_hyperbolic_requires_a_source() -> None:
    with pytest.raises(InputError, match="ED50 needs its source"):
        Hyperbolic(D(1), D(5), 28, " ")


def test_a_daily_pace_is_said_as_every_day() -> None:
    assert PercentOfCurrent(D("0.1"), 1).describe() == "cut 10 % of the current dose every day"
    assert PercentOfStart(D("0.1"), 2).describe() == "cut 10 % of the starting dose every 2 days"
    assert Hold(7, at_mg=D("0.5")).describe() == "hold at 0.5 mg/day for at least 7 days"


def test_hold_levels() -> None:
    assert Hold(28, at_mg=D(1)).level(D(4)) == D(1)
    assert Hold(28, at_fraction=D("0.5")).level(D(3)) == D("1.5")
    with pytest.raises(InputError):
        Hold(28)


def test_rule_stops_at_a_hold_before_cutting_past_it() -> None:
    rule = Rule("r", PercentOfCurrent(D("0.25"), 14), holds=(Hold(28, at_mg=D("1.9")),))
    assert rule.propose(D(2), D(2), frozenset()).target == D("1.9")
    assert rule.propose(D(2), D(2), frozenset({0})).target == D("1.5")


def test_a_hold_stops_the_rule_at_its_dose_once() -> None:
    rule = Rule("r", FixedAmount(D(1), 14), holds=(Hold(28, at_mg=D("2.5")),))
    # 3 mg would fall to 2 mg; the hold not yet made stops it at 2.5 mg
    assert rule.propose(D(3), D(4), frozenset()).target == D("2.5")
    # once made, the hold no longer stops the rule
    assert rule.propose(D(3), D(4), frozenset({0})).target == D(2)
    # a hold at or above the current dose, or below the target, changes nothing
    assert rule.propose(D("2.5"), D(4), frozenset()).target == D("1.5")
    assert rule.propose(D(5), D(6), frozenset()).target == D(4)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (lambda: PercentOfCurrent(D(0), 14), "cut"),
        (lambda: PercentOfCurrent(D(1), 14), "cut"),
        (lambda: PercentOfCurrent(D("0.1"), 0), "every"),
        (lambda: FixedAmount(D(0), 14), "cut"),
        (lambda: Rule("r", FixedAmount(D(1), 7), max_cut=D(1)), "max_cut"),
        (lambda: Rule("r", FixedAmount(D(1), 7), cut_order="sideways"), "cut_order"),
    ],
)
def test_rules_validate_themselves(bad: object, field: str) -> None:
    with pytest.raises(InputError) as info:
        bad()  # type: ignore[operator]
    assert info.value.field == field


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda: PercentOfCurrent(D(1), 14), ("cut", D(1), ["0", "100"])),
        (lambda: PercentOfCurrent(D(0), 14), ("cut", D(0), ["0", "100"])),
        (lambda: PercentOfCurrent(0.1, 14), ("cut", 0.1, ["0", "100"])),  # type: ignore[arg-type]
        (lambda: PercentOfStart(D("0.1"), 0), ("every", 0, ["1", "3650"])),
        (lambda: PercentOfStart(D("0.1"), 3651), ("every", 3651, ["1", "3650"])),
        (lambda: PercentOfStart(D("0.1"), 14.0), ("every", 14.0, ["1", "3650"])),  # type: ignore[arg-type]
        (lambda: FixedAmount(D(0), 14), ("cut", D(0), ["0"])),
        (lambda: FixedAmount(1, 14), ("cut", 1, ["0"])),  # type: ignore[arg-type]
        (lambda: Bands(()), ("bands", [], [])),
        (lambda: Phases(()), ("phases", [], [])),
        (
            lambda: Phases(
                (
                    Phase(D("1.5"), PercentOfCurrent(D("0.1"), 14)),
                    Phase(D(0), PercentOfCurrent(D("0.1"), 14)),
                )
            ),
            ("phases", "0", ["1", "0"]),
        ),
        (
            lambda: Phases((Phase(D(-1), PercentOfCurrent(D("0.1"), 14)),)),
            ("phases", "-1", ["1", "0"]),
        ),
        (lambda: Hyperbolic(D(0), D(5), 14, "x"), ("ed50", D(0), ["0"])),
        (lambda: Hyperbolic(1, D(5), 14, "x"), ("ed50", 1, ["0"])),  # type: ignore[arg-type]
        (lambda: Hyperbolic(D(1), D(0), 14, "x"), ("points", "0", ["0", "100"])),
        (lambda: Hyperbolic(D(1), 5, 14, "x"), ("points", "5", ["0", "100"])),  # type: ignore[arg-type]
        (lambda: Hyperbolic(D(1), D("NaN"), 14, "x"), ("points", "NaN", ["0", "100"])),
        (lambda: Hyperbolic(D(1), D(5), 0, "x"), ("every", 0, ["1", "3650"])),
        # a hold needs either a dose or a fraction of the start, not none nor both
        (lambda: Hold(28), ("hold", "", [])),
        (lambda: Hold(28, at_mg=D(1), at_fraction=D("0.5")), ("hold", "", [])),
        (lambda: Hold(28, at_fraction=D(1)), ("hold", D(1), ["0", "1"])),
        (lambda: Hold(28, at_fraction=D(0)), ("hold", D(0), ["0", "1"])),
        (lambda: Hold(0, at_mg=D(1)), ("every", 0, ["1", "3650"])),
        (lambda: Rule("r", FixedAmount(D(1), 14), max_cut=D(1)), ("max_cut", D(1), ["0", "100"])),
        (lambda: Rule("r", FixedAmount(D(1), 14), max_cut=D(0)), ("max_cut", D(0), ["0", "100"])),
        (lambda: Rule("r", FixedAmount(D(1), 14), max_cut=0.5), ("max_cut", 0.5, ["0", "100"])),  # type: ignore[arg-type]
        (
            lambda: Rule("r", FixedAmount(D(1), 14), final_fraction=D(1)),
            ("final_dose", D(1), ["0", "1"]),
        ),
        (
            lambda: Rule("r", FixedAmount(D(1), 14), final_fraction=D(0)),
            ("final_dose", D(0), ["0", "1"]),
        ),
        # the examples each refusal gives: 1mg:28d or 50%:28d; 1 mg or 1000 mcg; 14d or 2w
        (lambda: parse_hold("1mg"), ("hold", "1mg", ["1", "28", "50", "28"])),
        (lambda: parse_hold("1:28d"), ("hold", "1", ["1", "1000"])),
        (lambda: parse_hold("1mg:28"), ("hold", "28", ["14", "2"])),
        (lambda: parse_hold("150%:28d"), ("hold", "150%", ["0", "100"])),
        (lambda: preset("fastest"), None),
        (lambda: build_rule("joint-guideline-2025", every="0d"), ("every", "0d", ["1"])),
        (lambda: build_rule("deprescribing-bzra", reduce="10%"), ("every", "", [])),
        (lambda: build_rule(reduce="0.25"), ("reduce", "0.25", ["0.25", "250"])),
        (lambda: build_rule(reduce="100%", every="14d"), ("reduce", "100%", ["0", "100"])),
        (lambda: build_rule(max_cut="60"), ("max_cut", "60", ["10"])),
        (lambda: build_rule(final_dose="0%"), ("final_dose", "0%", ["0", "100"])),
        (lambda: build_rule(final_dose="0.5"), ("final_dose", "0.5", ["0.5", "500"])),
    ],
)
def test_an_impossible_rule_is_refused_naming_the_field(
    make: Any, said: tuple[str, object, list[str]] | None
) -> None:
    with pytest.raises(TaperError) as caught:
        make()
    if said is None:
        assert isinstance(caught.value, UnknownNameError)
        assert (caught.value.field, caught.value.given) == ("rule", "fastest")
        assert ", ".join(PRESETS) in caught.value.allowed  # every preset, in order
    else:
        assert isinstance(caught.value, InputError | CatalogError)
        assert refusal(caught.value) == said


def test_presets_are_sourced_and_described() -> None:
    expected = {
        "fda-label-clonazepam",
        "joint-guideline-2025",
        "joint-guideline-2025-slow",
        "bnf-eighth",
        "nice-cks-diazepam",
        "nhs-scotland-diazepam",
        "deprescribing-bzra",
        "nougg-proportional",
        "alprazolam-label",
    }
    assert expected <= set(PRESETS)
    assert DEFAULT_PRESET in PRESETS
    for name, rule in PRESETS.items():
        assert rule.name == name
        assert rule.source
        assert rule.describe()


def test_preset_descriptions_in_plain_words() -> None:
    assert (
        PRESETS["joint-guideline-2025"]
        .describe()
        .startswith("cut 10 % of the current dose every 14 days")
    )
    label = PRESETS["fda-label-clonazepam"]
    assert label.drugs == ("clonazepam",)
    assert "0.125 mg at each of the two daily doses" in label.describe()


def test_the_presets_carry_their_sources_caps_and_drugs() -> None:
    assert list(PRESETS) == [
        "joint-guideline-2025",
        "joint-guideline-2025-slow",
        "fda-label-clonazepam",
        "bnf-eighth",
        "nice-cks-diazepam",
        "nhs-scotland-diazepam",
        "deprescribing-bzra",
        "nougg-proportional",
        "alprazolam-label",
    ]
    for name, rule in PRESETS.items():
        assert rule.name == name
        assert rule.source
        assert preset(name) is rule
    assert PRESETS["joint-guideline-2025"].source.startswith(GUIDELINE_SOURCE)
    assert PRESETS["joint-guideline-2025"].max_cut == D("0.25")
    assert PRESETS["fda-label-clonazepam"].drugs == ("clonazepam",)
    assert PRESETS["fda-label-clonazepam"].max_cut == D("0.5")
    assert PRESETS["nhs-scotland-diazepam"].cut_order == "morning-first"
    assert PRESETS["alprazolam-label"].drugs == ("alprazolam", "alprazolam-xr")
    assert PRESETS["fda-label-clonazepam"].describe() == (
        "cut 0.125 mg at each of the two daily doses (0.25 mg/day) every 3 days; "
        "stop after 0.25 mg/day; "
        "no cut above 50 % but those the products force, each followed by a longer step"
    )
    assert PRESETS["fda-label-clonazepam"].per_dose
    assert PRESETS["joint-guideline-2025-slow"].describe() == (
        "cut 5 % of the current dose every 28 days; no cut above 25 % but those the products "
        "force, each followed by a longer step"
    )
    # the published schedules' last doses: the label's 0.125 mg twice daily, the CKS bands'
    # 0.5 mg, NHS Scotland's 1 mg steps to 1 mg, deprescribing.org's 12.5 % of the start
    assert PRESETS["fda-label-clonazepam"].final_mg == D("0.25")
    assert PRESETS["nice-cks-diazepam"].final_mg == D("0.5")
    assert PRESETS["nhs-scotland-diazepam"].final_mg == D(1)
    assert PRESETS["deprescribing-bzra"].final_fraction == D("0.125")
    assert all(
        rule.final_mg is None and rule.final_fraction is None
        for name, rule in PRESETS.items()
        if name
        not in (
            "fda-label-clonazepam",
            "nice-cks-diazepam",
            "nhs-scotland-diazepam",
            "deprescribing-bzra",
        )
    )
    assert all(rule.longest_step_days == 84 for rule in PRESETS.values())
    assert PRESETS["deprescribing-bzra"].pace.propose(D(1), D(4)) == Proposal(D("0.5"), 14)


def test_unknown_preset() -> None:
    with pytest.raises(UnknownNameError, match="presets: "):
        preset("fastest")


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.toml")), ids=lambda p: p.stem)
def test_documented_protocols_load(path: Path) -> None:
    rule = load_protocol(path)
    assert rule.describe()


def test_protocol_kinds() -> None:
    assert isinstance(load_protocol(DOCS / "percent-of-current.toml").pace, PercentOfCurrent)
    assert isinstance(load_protocol(DOCS / "percent-of-start.toml").pace, PercentOfStart)
    fixed = load_protocol(DOCS / "fixed.toml")
    assert isinstance(fixed.pace, FixedAmount)
    assert fixed.final_mg == D("0.25")
    assert isinstance(load_protocol(DOCS / "bands.toml").pace, Bands)
    assert isinstance(load_protocol(DOCS / "phases.toml").pace, Phases)
    holds = load_protocol(DOCS / "holds.toml")
    assert [h.days for h in holds.holds] == [28, 28]
    assert holds.cut_order == "morning-first"
    assert isinstance(load_protocol(DATA / "hyperbolic_testazepam.toml").pace, Hyperbolic)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('cut = "10%"', "every: got None"),
        ('cut = "10%"\nevery = "14d"\nbands = []', "exactly one of"),
        ('every = "14d"', "exactly one of"),
        ('cut = "10"\nevery = "14d"', "give a unit"),
        ('cut = "10%"\nevery = "fortnight"', "whole days or weeks"),
        ('cut = "10%"\nevery = "14d"\nspeed = "fast"', "known keys"),
        ('cut = "10%"\nevery = "14d"\nof = "yesterday"', "current or start"),
        ('cut = "1 mg"\nof = "start"\nevery = "14d"', "only a percentage"),
        ('cut = "10%"\nevery = "14d"\nmax_cut = "100%"', "below 100 %"),
        ("cut = ", "not valid TOML"),
    ],
)
def test_bad_protocols_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=message) as info:
        load_protocol(path)
    assert str(info.value).startswith(str(path)) or str(info.value).startswith("rule")


def test_missing_protocol_file() -> None:
    with pytest.raises(CatalogError, match="cannot read the file"):
        load_protocol("/nonexistent/protocol.toml")


# a protocol file's refusals: one line naming the file, the key, what was written and what
# is allowed
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    (
        "unknown key",
        {"cut": "10%", "every": "14d", "speed": "fast"},
        "clinic/slow.toml: speed: got 'speed'; known keys: bands, cut, cut_order, description, drugs, end_by, every, final_dose, halve, holds, hyperbolic, longest_step, max_cut, name, of, phases, source, steps",  # noqa: E501
    ),
    (
        "no pace",
        {"every": "14d"},
        "clinic/slow.toml: got 'none'; give exactly one of cut, bands, phases, hyperbolic or steps",
    ),
    (
        "two paces",
        {"cut": "10%", "every": "14d", "phases": []},
        "clinic/slow.toml: got 'cut, phases'; give exactly one of cut, bands, phases, hyperbolic "
        "or steps",
    ),
    (
        "cap too high",
        {"cut": "10%", "every": "14d", "max_cut": "150%"},
        "clinic/slow.toml: max_cut: got '150%'; a cut must be above 0 % and below 100 %",
    ),
    (
        "cap as a number",
        {"cut": "10%", "every": "14d", "max_cut": 0.3},
        'clinic/slow.toml: max_cut: got 0.3; text is required, e.g. "10%" or "14d"',
    ),
    (
        "final dose zero",
        {"cut": "10%", "every": "14d", "final_dose": "0 mg"},
        "clinic/slow.toml: final_dose: got '0 mg'; a dose must be above zero",
    ),
    (
        "final share too high",
        {"cut": "10%", "every": "14d", "final_dose": "100%"},
        "clinic/slow.toml: final_dose: got '100%'; a cut must be above 0 % and below 100 %",
    ),
    (
        "cut order",
        {"cut": "10%", "every": "14d", "cut_order": "evening"},
        "clinic/slow.toml: cut_order: got 'evening'; one of even, morning-first, bedtime-last",
    ),
    (
        "drugs as text",
        {"cut": "10%", "every": "14d", "drugs": "clonazepam"},
        "clinic/slow.toml: drugs: got 'clonazepam'; a list of drug names",
    ),
    (
        "drugs not names",
        {"cut": "10%", "every": "14d", "drugs": [1]},
        "clinic/slow.toml: drugs: got [1]; a list of drug names",
    ),
    (
        "holds as a table",
        {"cut": "10%", "every": "14d", "holds": {"at": "1 mg"}},
        "clinic/slow.toml: holds: got {'at': '1 mg'}; a list of [[holds]] tables",
    ),
    (
        "hold not a table",
        {"cut": "10%", "every": "14d", "holds": ["1mg"]},
        "clinic/slow.toml: holds[1]: got '1mg'; a table with at and days",
    ),
    (
        "hold at a number",
        {"cut": "10%", "every": "14d", "holds": [{"at": 1, "days": "28d"}]},
        'clinic/slow.toml: holds[1].at: got 1; a dose such as "1 mg" or a share such as "50%"',
    ),
    (
        "hold without days",
        {"cut": "10%", "every": "14d", "holds": [{"at": "1 mg"}]},
        'clinic/slow.toml: holds[1]: days: got None; text is required, e.g. "10%" or "14d"',
    ),
    (
        "hold bad days",
        {"cut": "10%", "every": "14d", "holds": [{"at": "1 mg", "days": "0d"}]},
        "clinic/slow.toml: holds[1].days: got '0d'; an interval must be at least 1 day",
    ),
    (
        "hold bad dose",
        {"cut": "10%", "every": "14d", "holds": [{"at": "1", "days": "28d"}]},
        "clinic/slow.toml: holds[1].at: got '1'; give a unit: 1 mg or 1000 mcg",
    ),
    (
        "hold bad share",
        {"cut": "10%", "every": "14d", "holds": [{"at": "100%", "days": "28d"}]},
        "clinic/slow.toml: holds[1].at: got '100%'; a cut must be above 0 % and below 100 %",
    ),
    (
        "empty name",
        {"cut": "10%", "every": "14d", "name": " "},
        "clinic/slow.toml: name: got ' '; a name is required",
    ),
    (
        "name a number",
        {"cut": "10%", "every": "14d", "name": 3},
        "clinic/slow.toml: name: got 3; a name is required",
    ),
    (
        "cut a number",
        {"cut": 10, "every": "14d"},
        'clinic/slow.toml: cut: got 10; text is required, e.g. "10%" or "14d"',
    ),
    (
        "every missing",
        {"cut": "10%"},
        'clinic/slow.toml: every: got None; text is required, e.g. "10%" or "14d"',
    ),
    (
        "every bad",
        {"cut": "10%", "every": "fortnightly"},
        "clinic/slow.toml: every: got 'fortnightly'; give whole days or weeks, such as 14d or 2w",
    ),
    (
        "of unknown",
        {"cut": "10%", "every": "14d", "of": "middle"},
        "clinic/slow.toml: of: got 'middle'; current or start",
    ),
    (
        "of with mg",
        {"cut": "0.5 mg", "every": "14d", "of": "start"},
        "clinic/slow.toml: of: got 'start'; only a percentage cut takes 'of'",
    ),
    (
        "cut mg bad",
        {"cut": "0.5", "every": "14d"},
        "clinic/slow.toml: cut: got '0.5'; give a unit: 0.5 mg or 500 mcg",
    ),
    (
        "cut pct bad",
        {"cut": "0%", "every": "14d"},
        "clinic/slow.toml: cut: got '0%'; a cut must be above 0 % and below 100 %",
    ),
    (
        "hyperbolic not table",
        {"hyperbolic": "yes"},
        "clinic/slow.toml: hyperbolic: got 'yes'; a [hyperbolic] table",
    ),
    (
        "hyperbolic points text",
        {"hyperbolic": {"points": "two", "ed50": "1 mg", "every": "14d", "ed50_source": "x"}},
        "clinic/slow.toml: hyperbolic.points: got 'two'; occupancy points above 0 and below 100, "
        'e.g. "2.5"',
    ),
    (
        "hyperbolic points inf",
        {"hyperbolic": {"points": "Infinity", "ed50": "1 mg", "every": "14d", "ed50_source": "x"}},
        "clinic/slow.toml: hyperbolic.points: got 'Infinity'; occupancy points above 0 and below "
        '100, e.g. "2.5"',
    ),
    (
        "hyperbolic points number",
        {"hyperbolic": {"points": 2, "ed50": "1 mg", "every": "14d", "ed50_source": "x"}},
        'clinic/slow.toml: hyperbolic: points: got 2; text is required, e.g. "10%" or "14d"',
    ),
    (
        "hyperbolic points 100",
        {"hyperbolic": {"points": "100", "ed50": "1 mg", "every": "14d", "ed50_source": "x"}},
        "clinic/slow.toml: hyperbolic.points: got '100'; occupancy points above 0 and below 100, "
        'e.g. "2.5"',
    ),
    (
        "hyperbolic ed50 bad",
        {"hyperbolic": {"points": "5", "ed50": "1", "every": "14d", "ed50_source": "x"}},
        "clinic/slow.toml: hyperbolic.ed50: got '1'; give a unit: 1 mg or 1000 mcg",
    ),
    (
        "hyperbolic every bad",
        {"hyperbolic": {"points": "5", "ed50": "1 mg", "every": "2", "ed50_source": "x"}},
        "clinic/slow.toml: hyperbolic.every: got '2'; give whole days or weeks, such as 14d or 2w",
    ),
    (
        "hyperbolic no source",
        {"hyperbolic": {"points": "5", "ed50": "1 mg", "every": "14d", "ed50_source": "  "}},
        "clinic/slow.toml: ed50_source: got '  '; the ED50 needs its source",
    ),
    (
        "hyperbolic source missing",
        {"hyperbolic": {"points": "5", "ed50": "1 mg", "every": "14d"}},
        'clinic/slow.toml: hyperbolic: ed50_source: got None; text is required, e.g. "10%" or "14d"',  # noqa: E501
    ),
    (
        "bands not list",
        {"bands": {"cut": "1 mg"}},
        "clinic/slow.toml: bands: got {'cut': '1 mg'}; a list of [[bands]] tables",
    ),
    ("bands empty", {"bands": []}, "clinic/slow.toml: bands: got []; a list of [[bands]] tables"),
    ("band not table", {"bands": ["2 mg"]}, "clinic/slow.toml: bands[1]: got '2 mg'; a table"),
    (
        "band above bad",
        {"bands": [{"above": "5", "cut": "1 mg", "every": "14d"}]},
        "clinic/slow.toml: bands[1].above: got '5'; give a unit: 5 mg or 5000 mcg",
    ),
    (
        "bands out of order",
        {
            "bands": [
                {"above": "5 mg", "cut": "1 mg", "every": "14d"},
                {"above": "10 mg", "cut": "2 mg", "every": "14d"},
                {"cut": "0.5 mg", "every": "14d"},
            ]
        },
        "clinic/slow.toml: bands: got ['5 mg', '10 mg', '0 mg']; bands listed from the highest floor down, each floor once",  # noqa: E501
    ),
    (
        "bands twice",
        {
            "bands": [
                {"above": "5 mg", "cut": "1 mg", "every": "14d"},
                {"above": "5 mg", "cut": "2 mg", "every": "14d"},
                {"cut": "0.5 mg", "every": "14d"},
            ]
        },
        "clinic/slow.toml: bands: got ['5 mg', '5 mg', '0 mg']; bands listed from the highest floor down, each floor once",  # noqa: E501
    ),
    (
        "bands not to zero",
        {"bands": [{"above": "5 mg", "cut": "1 mg", "every": "14d"}]},
        "clinic/slow.toml: bands: got '5 mg'; the last band must reach 0 mg",
    ),
    (
        "phases empty",
        {"phases": []},
        "clinic/slow.toml: phases: got []; a list of [[phases]] tables",
    ),
    ("phase not table", {"phases": [3]}, "clinic/slow.toml: phases[1]: got 3; a table"),
    (
        "phase until bad",
        {"phases": [{"until": "20", "cut": "10%", "every": "14d"}]},
        "clinic/slow.toml: phases[1].until: got '20'; give a percentage such as 10%",
    ),
    (
        "phases out of order",
        {
            "phases": [
                {"until": "20%", "cut": "10%", "every": "14d"},
                {"until": "50%", "cut": "10%", "every": "14d"},
                {"cut": "5%", "every": "28d"},
            ]
        },
        "clinic/slow.toml: phases: got ['0.2', '0.5', '0']; phases in order, each ending at a smaller fraction of the start",  # noqa: E501
    ),
    (
        "phases twice",
        {
            "phases": [
                {"until": "20%", "cut": "10%", "every": "14d"},
                {"until": "20%", "cut": "10%", "every": "14d"},
                {"cut": "5%", "every": "28d"},
            ]
        },
        "clinic/slow.toml: phases: got ['0.2', '0.2', '0']; phases in order, each ending at a smaller fraction of the start",  # noqa: E501
    ),
    (
        "phases not to zero",
        {"phases": [{"until": "20%", "cut": "10%", "every": "14d"}]},
        "clinic/slow.toml: phases: got '0.2'; fractions below 1, and the last phase must run to 0",
    ),
]


@pytest.mark.parametrize(("case", "data", "message"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_malformed_protocol_is_refused_in_one_exact_line(
    case: str, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_protocol(data, ORIGIN)
    assert str(caught.value) == message


def test_a_protocol_file_with_every_key_gives_the_rule_it_states() -> None:
    rule = parse_protocol(
        {
            "name": "clinic slow",
            "source": "Our clinic, 2026",
            "description": "ten per cent a fortnight",
            "cut": "10%",
            "every": "2w",
            "max_cut": "20%",
            "final_dose": "0.25 mg",
            "cut_order": "bedtime-last",
            "drugs": ["Clonazepam"],
            "holds": [{"at": "1 mg", "days": "28d"}, {"at": "50%", "days": "3w"}],
        },
        ORIGIN,
    )
    assert rule.name == "clinic slow"
    assert rule.source == "Our clinic, 2026"
    assert rule.summary == "ten per cent a fortnight"
    assert rule.pace == PercentOfCurrent(D("0.1"), 14)
    assert rule.max_cut == D("0.2")
    assert rule.cap_note == "set by the protocol"
    assert rule.final_mg == D("0.25")
    assert rule.final_fraction is None
    assert rule.cut_order == "bedtime-last"
    assert rule.drugs == ("clonazepam",)
    assert rule.holds == (Hold(28, at_mg=D(1)), Hold(21, at_fraction=D("0.5")))
    assert rule.describe() == (
        "ten per cent a fortnight; hold at 1 mg/day for at least 28 days; "
        "hold at 50 % of the starting dose for at least 21 days; "
        "stop after 0.25 mg/day; the bedtime dose is kept while the other doses are cut; "
        "no cut above 20 % but those the products force, each followed by a longer step"
    )


def test_a_minimal_protocol_takes_its_name_and_source_from_the_file() -> None:
    rule = parse_protocol({"cut": "0.5 mg", "every": "14d", "final_dose": "25%"}, ORIGIN)
    assert rule.name == "slow"
    assert rule.source == "protocol file slow.toml"
    assert rule.pace == FixedAmount(D("0.5"), 14)
    assert rule.final_fraction == D("0.25")
    assert rule.final_mg is None
    assert rule.final_level(D(2)) == D("0.5")
    assert rule.max_cut == D("0.25")
    assert rule.cut_order == "even"
    assert rule.drugs == ()
    assert rule.holds == ()
    assert rule.describe() == (
        "cut 0.5 mg/day every 14 days; stop after 25 % of the starting dose; "
        "no cut above 25 % but those the products force, each followed by a longer step"
    )


def test_a_share_of_the_start_and_a_morning_first_order() -> None:
    rule = parse_protocol(
        {"cut": "12.5%", "of": "start", "every": "7d", "cut_order": "morning-first"}, ORIGIN
    )
    assert rule.pace == PercentOfStart(D("0.125"), 7)
    assert rule.propose(D(3), D(4), frozenset()) == Proposal(D("2.5"), 7)
    assert rule.describe() == (
        "cut 12.5 % of the starting dose every 7 days; "
        "the morning dose is cut to zero before later doses; "
        "no cut above 25 % but those the products force, each followed by a longer step"
    )


def test_protocol_bands_keep_each_floor() -> None:
    rule = parse_protocol(
        {
            "bands": [
                {"above": "20 mg", "cut": "2 mg", "every": "14d"},
                {"above": "5 mg", "cut": "1 mg", "every": "14d"},
                {"above": "0", "cut": "0.5 mg", "every": "7d"},
            ]
        },
        ORIGIN,
    )
    assert rule.pace == Bands(
        (
            Band(D(20), FixedAmount(D(2), 14)),
            Band(D(5), FixedAmount(D(1), 14)),
            Band(D(0), FixedAmount(D("0.5"), 7)),
        )
    )
    # 21 mg would fall to 19 mg; the band's floor holds it at 20 mg
    assert rule.pace.propose(D(21), D(30)) == Proposal(D(20), 14)
    assert rule.pace.propose(D(20), D(30)) == Proposal(D(19), 14)
    assert rule.pace.propose(D("5.5"), D(30)) == Proposal(D(5), 14)
    assert rule.pace.propose(D(5), D(30)) == Proposal(D("4.5"), 7)
    assert rule.pace.describe() == (
        "above 20 mg: cut 2 mg/day every 14 days; above 5 mg: cut 1 mg/day every 14 days; "
        "at 5 mg or less: cut 0.5 mg/day every 7 days"
    )
    # a band with no floor given reaches 0 mg
    alone = parse_protocol({"bands": [{"cut": "1 mg", "every": "14d"}]}, ORIGIN)
    assert alone.pace == Bands((Band(D(0), FixedAmount(D(1), 14)),))
    assert alone.pace.describe() == "at any dose: cut 1 mg/day every 14 days"
    zero = parse_protocol({"bands": [{"above": "0 mg", "cut": "1 mg", "every": "14d"}]}, ORIGIN)
    assert zero.pace == alone.pace


def test_protocol_phases_end_at_their_share_of_the_start() -> None:
    rule = parse_protocol(
        {
            "phases": [
                {"until": "50%", "cut": "25%", "of": "start", "every": "14d"},
                {"cut": "12.5%", "of": "start", "every": "14d"},
            ]
        },
        ORIGIN,
    )
    assert rule.pace == Phases(
        (
            Phase(D("0.5"), PercentOfStart(D("0.25"), 14)),
            Phase(D(0), PercentOfStart(D("0.125"), 14)),
        )
    )
    assert rule.pace.propose(D(4), D(4)) == Proposal(D(3), 14)
    # 3 mg less 1 mg would be 2 mg: the phase ends at half the start, 2 mg
    assert rule.pace.propose(D(3), D(4)) == Proposal(D(2), 14)
    assert rule.pace.propose(D(2), D(4)) == Proposal(D("1.5"), 14)
    assert rule.pace.describe() == (
        "cut 25 % of the starting dose every 14 days until 50 % of the start remains, "
        "then cut 12.5 % of the starting dose every 14 days"
    )


def test_a_hyperbolic_protocol_lowers_occupancy_by_its_points() -> None:
    rule = parse_protocol(
        {
            "hyperbolic": {
                "points": "10",
                "ed50": "1 mg",
                "every": "14d",
                "ed50_source": "a sourced ED50",
            }
        },
        ORIGIN,
    )
    assert rule.pace == Hyperbolic(D(1), D(10), 14, "a sourced ED50")
    # 1 mg with an ED50 of 1 mg is 50 % occupancy; 40 % is 2/3 mg
    assert rule.pace.propose(D(1), D(1)) == Proposal(D("0.6667"), 14, True)
    # 0.1 mg is 9.1 % occupancy: lowering it by 10 points stops
    assert rule.pace.propose(D("0.1"), D(1)) == Proposal(D(0), 14)
    # 0.125 mg is 11.1 % occupancy; 1.1 % is 0.0112 mg
    assert rule.pace.propose(D("0.125"), D(1)) == Proposal(D("0.0112"), 14, True)
    assert rule.pace.describe() == (
        "lower receptor occupancy by 10 percentage points every 14 days (ED50 1 mg, a sourced ED50)"
    )
    assert rule.pace.with_interval(28) == Hyperbolic(D(1), D(10), 28, "a sourced ED50")


def test_build_rule_inline() -> None:
    rule = build_rule(reduce="10%", every="14d")
    assert isinstance(rule.pace, PercentOfCurrent)
    assert rule.name == "custom"
    fixed = build_rule(reduce="0.25mg", every="2w")
    assert fixed.pace == FixedAmount(D("0.25"), 14)


def test_build_rule_defaults_to_the_default_preset() -> None:
    assert build_rule() == PRESETS[DEFAULT_PRESET]


def test_build_rule_overrides_a_preset() -> None:
    slower = build_rule("joint-guideline-2025", every="28d")
    assert slower.pace == PercentOfCurrent(D("0.1"), 28)
    assert slower.name == "joint-guideline-2025 (modified)"
    held = build_rule("bnf-eighth", holds=("1mg:28d",))
    assert held.holds == (Hold(28, at_mg=D(1)),)
    capped = build_rule(max_cut="10%", final_dose="0.25mg")
    assert capped.max_cut == D("0.1")
    assert capped.final_mg == D("0.25")
    assert build_rule(final_dose="10%").final_fraction == D("0.1")


def test_build_rule_overrides_keep_the_rest_of_the_preset() -> None:
    base = PRESETS[DEFAULT_PRESET]
    assert build_rule() is base
    custom = build_rule(reduce="0.25mg", every="2w")
    assert custom.name == "custom"
    assert custom.source == "clinician's own rule"
    assert custom.pace == FixedAmount(D("0.25"), 14)
    kept = build_rule("fda-label-clonazepam", reduce="5%")
    assert kept.name == "fda-label-clonazepam (modified)"
    assert kept.pace == PercentOfCurrent(D("0.05"), 3)
    assert kept.source == PRESETS["fda-label-clonazepam"].source
    assert kept.summary == ""
    slower = build_rule("bnf-eighth", every="28d")
    assert slower.name == "bnf-eighth (modified)"
    assert slower.pace == PercentOfCurrent(D("0.125"), 28)
    assert slower.summary == ""
    capped = build_rule(max_cut="10%")
    assert capped.max_cut == D("0.1")
    assert capped.cap_note == "set by the clinician"
    final = build_rule("fda-label-clonazepam", final_dose="0.25mg")
    assert (final.final_mg, final.final_fraction) == (D("0.25"), None)
    final = build_rule(final_dose="10%")
    assert (final.final_mg, final.final_fraction) == (None, D("0.1"))
    held = build_rule(holds=("1mg:28d", "50%:14d"))
    assert held.holds == (Hold(28, at_mg=D(1)), Hold(14, at_fraction=D("0.5")))
    banded = build_rule("nice-cks-diazepam", every="7d")
    assert isinstance(banded.pace, Bands)
    assert [b.pace for b in banded.pace.bands] == [
        FixedAmount(D(2), 7),
        FixedAmount(D(1), 7),
        FixedAmount(D("0.5"), 7),
    ]
    phased = build_rule("nougg-proportional", every="21d")
    assert isinstance(phased.pace, Phases)
    assert [p.pace for p in phased.pace.phases] == [
        PercentOfCurrent(D("0.1"), 21),
        PercentOfCurrent(D("0.05"), 21),
    ]


def test_reduce_on_a_banded_rule_needs_every() -> None:
    with pytest.raises(InputError, match="give every with reduce"):
        build_rule("nice-cks-diazepam", reduce="1mg")


def test_parse_hold() -> None:
    assert parse_hold("50%:2w") == Hold(14, at_fraction=D("0.5"))
    with pytest.raises(InputError, match="DOSE:DAYS"):
        parse_hold("1mg")


def test_inline_holds_at_a_dose_and_at_a_share_of_the_start() -> None:
    at_dose = parse_hold(" 1mg : 4w")
    assert at_dose == Hold(28, at_mg=D(1))
    assert at_dose.level(D(4)) == D(1)
    share = parse_hold("37.5%:28d")
    assert share == Hold(28, at_fraction=D("0.375"))
    assert share.level(D(2)) == D("0.75")
    assert share.describe() == "hold at 37.5 % of the starting dose for at least 28 days"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({'cut': '10%', 'every': '14d', 'halve': 'x'},
         'p.toml: halve: got \'x\'; a list of tablets, e.g. ["diazepam-tab-2"]'),
        ({'cut': '10%', 'every': '14d', 'halve': ['']},
         'p.toml: halve: got [\'\']; a list of tablets, e.g. ["diazepam-tab-2"]'),
        ({'cut': '10%', 'every': '14d', 'halve': [1]},
         'p.toml: halve: got [1]; a list of tablets, e.g. ["diazepam-tab-2"]'),
        ({'steps': 'x'},
         "p.toml: steps: got 'x'; a list of [[steps]] tables"),
        ({'steps': []},
         'p.toml: steps: got []; a list of [[steps]] tables'),
        ({'steps': ['x']},
         "p.toml: steps[1]: got 'x'; a table"),
        ({'bands': ['x']},
         "p.toml: bands[1]: got 'x'; a table"),
        ({'bands': [{'cut': 'x', 'every': '14d'}]},
         "p.toml: bands[1]: cut: got 'x'; give a dose with a unit, such as 2 mg or 500 mcg"),
        ({'phases': [{'cut': 'x', 'every': '14d'}]},
         "p.toml: phases[1]: cut: got 'x'; give a dose with a unit, such as 2 mg or 500 mcg"),
        ({'phases': ['x']},
         "p.toml: phases[1]: got 'x'; a table"),
        ({'hyperbolic': {'ed50': '1 mg', 'ed50_source': 's', 'points': '0', 'every': '28d'}},
         "p.toml: hyperbolic.points: got '0'; occupancy points above 0 and below 100, "
         'e.g. "2.5"'),
        ({'hyperbolic': {'ed50': '1 mg', 'ed50_source': 's', 'points': 'nan', 'every': '28d'}},
         "p.toml: hyperbolic.points: got 'nan'; occupancy points above 0 and below 100, "
         'e.g. "2.5"'),
        ({'hyperbolic': {'ed50': 'x', 'ed50_source': 's', 'points': '5', 'every': '28d'}},
         "p.toml: hyperbolic.ed50: got 'x'; give a dose with a unit, such as 2 mg or 500 mcg"),
        ({'hyperbolic': {'ed50': '1 mg', 'ed50_source': 's', 'points': '5', 'every': 'x'}},
         "p.toml: hyperbolic.every: got 'x'; give whole days or weeks, such as 14d or 2w"),
        ({'cut': '10%', 'every': '14d', 'cut_order': 'x'},
         "p.toml: cut_order: got 'x'; one of even, morning-first, bedtime-last"),
        ({'cut': '10%', 'every': '14d', 'cut_order': 5},
         'p.toml: cut_order: got 5; text is required, e.g. "10%" or "14d"'),
        ({'cut': '10%', 'every': '14d', 'final_dose': 'x'},
         "p.toml: final_dose: got 'x'; give a dose with a unit, such as 2 mg or 500 mcg"),
        ({'cut': '10%', 'every': '14d', 'longest_step': 'x'},
         "p.toml: longest_step: got 'x'; give whole days or weeks, such as 14d or 2w"),
        ({'steps': [{'days': 'x', 'dose': '1 mg'}]},
         "p.toml: steps[1].days: got 'x'; give whole days or weeks, such as 14d or 2w"),
    ],
)  # fmt: skip
def test_each_malformed_protocol_part_is_refused_naming_it(
    data: dict[str, object], said: str
) -> None:
    with pytest.raises(CatalogError) as refused:
        parse_protocol(data, "p.toml")
    assert str(refused.value) == said


def test_the_protocol_keys_that_are_allowed_are_read() -> None:
    half_a_point = {"ed50": "1 mg", "ed50_source": "s", "points": "0.5", "every": "28d"}
    assert (
        parse_protocol({"hyperbolic": half_a_point}, "p.toml")
        .describe()
        .startswith("lower receptor occupancy by 0.5 percentage points every 28 days")
    )
    of_start = {"above": "0 mg", "cut": "10%", "every": "14d", "of": "start"}
    assert (
        parse_protocol({"bands": [of_start]}, "p.toml")
        .describe()
        .startswith("at any dose: cut 10 % of the starting dose every 14 days")
    )
    final = parse_protocol({"cut": "10%", "every": "14d", "final_dose": "0.5 mg"}, "p.toml")
    assert (final.final_mg, final.final_note) == (D("0.5"), "the protocol's final dose")


def test_halving_adds_each_tablet_once_in_lower_case() -> None:
    rule = build_rule("joint-guideline-2025", halve=("Diazepam-Tab-2",))
    assert rule.halve == ("diazepam-tab-2",)
    more = rule.halving(["diazepam-tab-2", " DIAZEPAM-TAB-5 ", " "])
    assert more.halve == ("diazepam-tab-2", "diazepam-tab-5")
    assert "halving allowed: diazepam-tab-2, diazepam-tab-5;" in more.describe()
    assert rule.halve == ("diazepam-tab-2",)


def test_a_table_read_as_a_pace_goes_to_its_next_row_below_the_dose() -> None:
    table = Table((TableRow(14, D("1.5")), TableRow(7, share=D("0.25")), TableRow(28, D("0.25"))))
    assert table.propose(D(2), D(2)) == Proposal(D("1.5"), 14)
    assert table.propose(D("1.5"), D(2)) == Proposal(D("0.5"), 7)
    assert table.propose(D("0.5"), D(2)) == Proposal(D("0.25"), 28)
    # below the last row, the stop
    assert table.propose(D("0.25"), D(2)) == Proposal(D(0), 1)


def test_every_sets_the_interval_of_a_share_of_the_start_and_not_of_a_table() -> None:
    rule = build_rule(str(DOCS / "percent-of-start.toml"), every="7d")
    base = load_protocol(DOCS / "percent-of-start.toml").pace
    assert isinstance(rule.pace, PercentOfStart) and isinstance(base, PercentOfStart)
    assert (rule.pace.fraction, rule.pace.every_days) == (base.fraction, 7)
    assert rule.name.endswith("(modified)")
    with pytest.raises(InputError) as raised:
        build_rule(str(DOCS / "table.toml"), every="7d")
    assert (raised.value.field, raised.value.given) == ("every", 7)
    assert "own days" in raised.value.allowed


def test_a_table_row_of_no_dose_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "z.csv"
    path.write_text("days,dose\n14,1 mg\n14,0\n", "utf-8")
    with pytest.raises(CatalogError) as raised:
        load_table(path)
    assert (raised.value.field, raised.value.given) == (f"{path}: row 3.dose", "0 mg")
    assert raised.value.allowed == "a dose must be above zero"


def test_a_table_not_in_utf8_is_refused_as_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes(b"days,dose\n14,\xff\xfe\n")
    with pytest.raises(CatalogError) as raised:
        load_table(path)
    assert (raised.value.field, raised.value.given) == ("rule", str(path))
    assert raised.value.allowed.endswith("save it as CSV in UTF-8")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"hyperbolic": {"ed50": 5, "every": "14d", "points": "4", "ed50_source": "x"}},
            "p.toml: hyperbolic: ed50",
        ),
        ({"cut": "10%", "every": "14d", "final_dose": 5}, "p.toml: final_dose"),
    ],
    ids=["ed50", "final dose"],
)
def test_a_number_where_text_is_needed_is_refused_naming_where(
    data: dict[str, Any], field: str
) -> None:
    with pytest.raises(CatalogError) as raised:
        parse_protocol({"name": "p", **data}, "p.toml")
    assert (raised.value.field, raised.value.given) == (field, 5)
