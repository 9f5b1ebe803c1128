from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from taper.errors import CatalogError, InputError, UnknownNameError
from taper.rules import (
    DEFAULT_PRESET,
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
    Rule,
    build_rule,
    load_protocol,
    parse_hold,
    preset,
)

D = Decimal
DOCS = Path(__file__).parent.parent / "docs" / "protocols"
DATA = Path(__file__).parent / "data"


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


def test_hold_levels() -> None:
    assert Hold(28, at_mg=D(1)).level(D(4)) == D(1)
    assert Hold(28, at_fraction=D("0.5")).level(D(3)) == D("1.5")
    with pytest.raises(InputError):
        Hold(28)


def test_rule_stops_at_a_hold_before_cutting_past_it() -> None:
    rule = Rule("r", PercentOfCurrent(D("0.25"), 14), holds=(Hold(28, at_mg=D("1.9")),))
    assert rule.propose(D(2), D(2), frozenset()).target == D("1.9")
    assert rule.propose(D(2), D(2), frozenset({0})).target == D("1.5")


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
    assert str(info.value).startswith(str(path)) or str(info.value).startswith("--rule")


def test_missing_protocol_file() -> None:
    with pytest.raises(CatalogError, match="cannot read the file"):
        load_protocol("/nonexistent/protocol.toml")


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


def test_reduce_on_a_banded_rule_needs_every() -> None:
    with pytest.raises(InputError, match="give --every with --reduce"):
        build_rule("nice-cks-diazepam", reduce="1mg")


def test_parse_hold() -> None:
    assert parse_hold("50%:2w") == Hold(14, at_fraction=D("0.5"))
    with pytest.raises(InputError, match="DOSE:DAYS"):
        parse_hold("1mg")
