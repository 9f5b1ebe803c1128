"""Liquids, local formularies, cut orders, low-dose strategies and fidelity."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import taper
from taper.catalog import Product, load_catalog, load_formulary
from taper.cli import cli
from taper.dispensing import Dispenser, Unit, describe_supply, supply_unit, totals
from taper.errors import CatalogError, InputError, PlanRefused
from taper.planner import _choose
from taper.reports import to_json

from .conftest import plan_json_problems

D = Decimal
START = "2027-01-04"
DATA = Path(__file__).parent / "data"
FORMULARY = DATA / "formulary.toml"
EXAMPLE = Path(__file__).parent.parent / "docs" / "formulary-example.toml"


def liquid(
    mg_per_ml: str = "0.1",
    increment: str = "0.1",
    most: str = "1",
    pack: str | None = None,
    drops: int | None = None,
) -> Product:
    return Product(
        "liq",
        f"test {mg_per_ml} mg/mL liquid",
        "solution",
        "T1",
        None,
        mg_per_ml=D(mg_per_ml),
        increment_ml=D(increment),
        max_ml=D(most),
        pack_ml=D(pack) if pack else None,
        drops_per_ml=drops,
    )


HALF_1 = Product("one", "one 1 mg tablet", "tablet", "T1", D(1), D("0.5"))


# --- liquids ----------------------------------------------------------------------------


def test_a_liquid_unit_is_measured_in_increments() -> None:
    unit = Unit(liquid(), D(9))
    assert unit.volume_ml == D("0.9")
    assert unit.dose == D("0.09")
    assert unit.pieces == 1
    assert not unit.is_split
    assert unit.describe(short=True) == "0.9 mL of 0.1 mg/mL oral liquid"
    assert Unit(liquid(), D(25)).pieces == 3  # three fillings of a 1 mL syringe


def test_drops_are_counted() -> None:
    drops = liquid("2.5", "0.04", "1", drops=25)
    unit = Unit(drops, D(3))
    assert unit.dose == D("0.3")
    assert unit.amount() == "3 drops"


def test_a_liquid_is_written_in_mL_or_drops() -> None:
    assert Unit(liquid(), D(9)).amount() == "0.9 mL"
    assert Unit(liquid(), D(9)).describe() == "0.9 mL of test 0.1 mg/mL liquid"
    assert Unit(liquid(), D(25)).pieces == 3  # 2.5 mL in a 1 mL measure: three fills
    drops = liquid("2.5", "0.05", "1", drops=20)
    assert Unit(drops, D(1)).amount() == "1 drop"
    assert Unit(drops, D(3)).amount() == "3 drops"
    assert Unit(drops, D(3)).dose == D("0.375")


def test_dispenser_mixes_tablets_and_liquid_exactly() -> None:
    dispenser = Dispenser([HALF_1, liquid()], max_units=3)
    comp = dispenser.compose(D("0.53"))
    assert comp.dose == D("0.53")
    assert [u.product.id for u in comp.units] == ["one", "liq"]
    assert D("0.01") in dispenser.values
    assert D("1.9") in dispenser.daily_doses(2)


def test_daily_doses_match_pairwise_sums() -> None:
    dispenser = Dispenser([HALF_1, liquid("0.5", "0.5", "1")], max_units=2)
    brute = sorted({(a + b).normalize() for a in dispenser.values for b in dispenser.values})
    assert dispenser.daily_doses(2) == brute


@pytest.mark.parametrize(("limit", "most"), [(1, "0.1"), (2, "0.2")])
def test_a_liquid_measures_up_to_its_syringe_times_the_limit(limit: int, most: str) -> None:
    # 0.1 mL steps of a 0.1 mg/mL liquid, at most 1 mL a measure
    values = Dispenser([liquid()], max_units=limit).values
    assert values == [D(k) / 100 for k in range(int(D(most) * 100) + 1)]
    assert values[-1] == D(most)


def test_liquid_supply_in_bottles_or_millilitres() -> None:
    bottled = Unit(liquid(pack="100"), D(9))
    supply = totals([(bottled, 30)])
    product, quantity = supply["liq"]
    assert quantity == 1  # 27 mL from one 100 mL bottle
    assert describe_supply(product, quantity) == "1 bottle of 100 mL of test 0.1 mg/mL liquid"
    loose = totals([(Unit(liquid(), D(9)), 30)])["liq"]
    assert loose[1] == 27
    assert describe_supply(*loose) == "27 mL of test 0.1 mg/mL liquid"


def test_the_supply_counts_half_tablets_and_bottles() -> None:
    bottled, loose = liquid(pack="100"), liquid()
    supply = totals(
        [(Unit(HALF_1, D("0.5")), 7), (Unit(HALF_1, D("1.5")), 7), (Unit(bottled, D(9)), 200)]
    )
    # 7 halves and 7 times 1½ are 14 tablets; 180 mL of a 100 mL bottle are 2 bottles
    assert {pid: quantity for pid, (_, quantity) in supply.items()} == {"one": D(14), "liq": D(2)}
    assert totals([(Unit(loose, D(9)), 3)])["liq"][1] == D(3)  # 2.7 mL rounded up to whole mL
    assert supply_unit(HALF_1) == "tablet"
    assert supply_unit(bottled) == "bottle of 100 mL"
    assert supply_unit(loose) == "mL"
    assert describe_supply(HALF_1, D(28)) == "28 x one 1 mg tablet"
    assert describe_supply(bottled, D(1)) == "1 bottle of 100 mL of test 0.1 mg/mL liquid"
    assert describe_supply(bottled, D(2)) == "2 bottles of 100 mL of test 0.1 mg/mL liquid"
    assert describe_supply(loose, D(30)) == "30 mL of test 0.1 mg/mL liquid"


# --- the local formulary ---------------------------------------------------------------


def test_formulary_adds_sourced_products() -> None:
    catalog = load_formulary(load_catalog(), EXAMPLE)
    product = catalog.drug("clonazepam").products[-1]
    assert product.id == "clonazepam-suspension-0.1-local"
    assert product.usable and product.is_liquid
    assert catalog.cite(product.source).startswith("Hospital pharmacy compounding record")
    assert catalog.version.endswith("+ formulary-example.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[products]]\ndrug = "aspirinx"\nid = "x"', "known drugs"),
        (
            '[[products]]\ndrug = "clonazepam"\nid = "x"\nname = "x"\nform = "solution"\n'
            'mg_per_ml = "0.1"\nincrement_ml = "0.1"\nmax_ml = "1"\nsource = "NOPE"',
            "every figure needs a source",
        ),
        (
            '[[products]]\ndrug = "clonazepam"\nid = "clonazepam-tab-1"\nname = "x"\n'
            'form = "tablet"\nstrength_mg = "1"\nsource = "S1"',
            "an id the catalog does not use",
        ),
        ("products = []", "at least one"),
        ("[extra]", "top-level keys"),
    ],
)
def test_bad_formularies(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "f.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises((CatalogError, taper.UnknownNameError), match=message):
        load_formulary(load_catalog(), path)


# --- cut orders ----------------------------------------------------------------------------


def shares(schedule: taper.Schedule) -> list[tuple[Decimal, ...]]:
    return [
        tuple(
            (s.at(t).dose if s.at(t) else D(0))  # type: ignore[union-attr]
            for t in schedule.prescription.times
        )
        for s in schedule
    ]


def test_cut_orders() -> None:
    kw = {
        "rule": taper.build_rule(reduce="0.25mg", every="14d", max_cut="50%"),
        "start": START,
        "per_day": 3,
    }
    even = shares(taper.plan("clonazepam", "3 mg", **kw))  # type: ignore[arg-type]
    assert all(max(s) - min(s) <= D("0.25") for s in even)
    first = shares(taper.plan("clonazepam", "3 mg", cut_order="morning-first", **kw))  # type: ignore[arg-type]
    assert [s[0] for s in first[:4]] == [D("0.75"), D("0.5"), D("0.25"), D(0)]
    assert all(s[2] == D(1) for s in first[:4])
    last = shares(taper.plan("clonazepam", "3 mg", cut_order="bedtime-last", **kw))  # type: ignore[arg-type]
    zero_others = next(i for i, s in enumerate(last) if s[0] == s[1] == 0)
    assert all(s[2] == D(1) for s in last[:zero_others])
    with pytest.raises(InputError, match="cut_order"):
        taper.plan("clonazepam", "3 mg", cut_order="sideways", start=START)


# --- low doses ----------------------------------------------------------------------------


def test_tablets_only_lengthen_steps_to_keep_the_pace() -> None:
    """Issue example: 10 % every 14 days from 2 mg with tablets only."""
    schedule = taper.plan("clonazepam", "2 mg", products=["tablet"], start=START)
    forced = {f.step for f in schedule.findings if f.code == "forced-cut"}
    # halves of the 0.5 mg tablet make 0.25 mg steps: 0.75 to 0.5 and 0.5 to 0.25 mg/day are
    # the cuts above the cap, both forced
    assert [(s.previous_dose, s.dose) for s in schedule if s.number in forced] == [
        (D("0.75"), D("0.5")),
        (D("0.5"), D("0.25")),
    ]
    assert all(s.cut <= schedule.max_cut for s in schedule if s.number not in forced)
    stretched = [s for s in schedule if s.days > 14]
    assert stretched
    said = {
        f.step
        for f in schedule.findings
        if f.code == "target-adjusted" and "to keep the rule's pace" in f.message
    }
    bounded = {f.step for f in schedule.findings if f.code == "longest-step"}
    assert {s.number for s in stretched} == said | forced
    # the pace holds: each step lasts at least as long as 10 % every 14 days needs, but for
    # a step held to taper's longest step (84 days), which says so
    for step in schedule:
        needed = 14 * (step.dose / step.previous_dose).ln() / D("0.9").ln()
        if step.number in bounded:
            assert step.days == 84 < needed
        else:
            assert step.days >= needed - 1


def test_a_liquid_follows_ten_percent_steps_to_the_end() -> None:
    schedule = taper.plan(
        "clonazepam",
        "2 mg",
        products=["tablet"],
        formulary=EXAMPLE,
        at_low_doses="liquid",
        start=START,
    )
    codes = [f.code for f in schedule.findings]
    assert "liquid-from-here" in codes
    liquid_from = next(f.step for f in schedule.findings if f.code == "liquid-from-here")
    assert liquid_from is not None
    for step in schedule:
        if step.number < liquid_from:  # tablets, while their cuts are near the rule's 10 %
            assert step.cut <= D("0.15"), (step.number, step.cut)
        elif step.dose >= D("0.2"):  # 20 of the liquid's smallest measures and more
            assert D("0.07") <= step.cut <= D("0.13"), (step.number, step.cut)
    assert schedule.steps[-1].dose <= D("0.05")
    assert any(u.product.is_liquid for s in schedule for a in s.administrations for u in a.units)


def test_liquid_plan_json_meets_the_contract(tmp_path: Path) -> None:
    schedule = taper.plan(
        "clonazepam",
        "2 mg",
        products=["tablet"],
        formulary=EXAMPLE,
        at_low_doses="liquid",
        start=START,
    )
    data = json.loads(to_json(schedule))
    units = [u for s in data["steps"] for a in s["administrations"] for u in a["units"]]
    liquid_unit = next(u for u in units if u["form"] == "solution")
    assert set(liquid_unit) == {
        "product",
        "product_id",
        "form",
        "mg_per_ml",
        "volume_ml",
        "increment_ml",
    }
    assert data["dispensing"][-1]["unit"] == "mL"
    assert plan_json_problems(to_json(schedule)) == []


def test_liquid_needs_a_liquid() -> None:
    with pytest.raises(InputError, match="compounded liquid can be added with formulary FILE"):
        taper.plan("clonazepam", "2 mg", at_low_doses="liquid", start=START)


def test_stop_at_low_doses() -> None:
    schedule = taper.plan("clonazepam", "2 mg", at_low_doses="stop", start=START)
    finding = next(f for f in schedule.findings if f.code == "stopped-at-low-dose")
    assert finding.severity == "warning"
    assert schedule.steps[-1].dose > D("0.375")
    assert "stopped-at-low-dose" not in {
        f.code for f in taper.plan("clonazepam", "2 mg", start=START).findings
    }
    with pytest.raises(PlanRefused, match="at_low_doses"):
        taper.plan("clonazepam", "1 mg", products=["tablet"], at_low_doses="stop", start=START)


def test_low_doses_means_cuts_well_above_the_rules_not_a_rounding() -> None:
    """From 2 mg the tablets cut 12.5 % where 10 % is asked: close enough to stretch, not to
    stop or change to a liquid (the products run out at more than 1.5 times the rule's cut)."""
    stopped = taper.plan("clonazepam", "2 mg", at_low_doses="stop", start=START)
    last = stopped.steps[-1]
    assert last.dose < D(1)
    finding = next(f for f in stopped.findings if f.code == "stopped-at-low-dose")
    assert finding.step == last.number
    smallest_cut = last.dose - max(
        v for v in taper.dispensing.dispenser_for(stopped.products).daily_doses(2) if v < last.dose
    )
    assert smallest_cut > last.dose * D("0.10") * D("1.5")


def test_liquid_from_here_is_not_said_without_a_liquid() -> None:
    assert "liquid-from-here" not in {
        f.code for f in taper.plan("clonazepam", "2 mg", start=START).findings
    }


def test_cli_low_dose_options(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    result = CliRunner().invoke(
        cli,
        [
            "plan",
            "clonazepam",
            "2mg",
            "--products",
            "tablet",
            "--formulary",
            str(EXAMPLE),
            "--at-low-doses",
            "liquid",
            "--cut-order",
            "bedtime-last",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    # the liquid is named once, in the table's legend of products
    legend = result.stdout.split("Products:\n", 1)[1].split("\n\n", 1)[0]
    assert "clonazepam 0.1 mg/mL oral suspension (compounded)" in legend
    result = CliRunner().invoke(cli, ["check", str(out), "--formulary", str(EXAMPLE)])
    assert result.exit_code == 0, result.output


# --- the choice is an optimisation: compare with an exhaustive search -----------------------


def _brute_step(
    products: list[Product], units: int, current: Decimal, target: Decimal, floor: Decimal
) -> tuple[Decimal, tuple[Decimal, Decimal]]:
    """Every pair of administrations built from every count of every product."""
    options = []
    for p in products:
        if p.is_liquid:
            assert p.max_ml is not None and p.increment_ml is not None
            counts = [D(k) for k in range(int(p.max_ml * units / p.increment_ml) + 1)]
        else:
            counts = [D(0)] + [p.split * k for k in range(1, int(units / p.split) + 1)]
        options.append(counts)
    admins: dict[Decimal, int] = {}
    for combo in itertools.product(*options):
        made = [Unit(p, c) for p, c in zip(products, combo, strict=True) if c]
        pieces = sum(u.pieces for u in made)
        if pieces > units:
            continue
        dose = sum((u.dose for u in made), D(0)).normalize()
        admins[dose] = min(pieces, admins.get(dose, 99))
    best = None
    for a, b in itertools.product(admins, repeat=2):
        if a > b:
            continue
        daily = (a + b).normalize()
        if not (floor <= daily < current) or daily == 0:
            continue
        key = (abs(daily - target), -daily, b - a, admins[a] + admins[b])
        if best is None or key < best[0]:
            best = (key, (a, b))
    assert best is not None
    return (best[1][0] + best[1][1]).normalize(), best[1]


@pytest.mark.parametrize("current", [D(3), D("2.5"), D(2), D("1.5"), D("1.25"), D(1)])
def test_step_choice_equals_an_exhaustive_search(current: Decimal) -> None:
    products = [
        HALF_1,
        Product("q", "q 0.25 mg capsule", "capsule", "T1", D("0.25")),
        liquid("0.5", "0.5", "1"),
    ]
    dispenser = Dispenser(products, max_units=3)
    target = (current * D("0.9")).normalize()
    floor = current * D("0.75")
    candidates = [v for v in dispenser.daily_doses(2) if floor <= v < current and v > 0]
    choice = _choose(candidates, current, target, 14, True)
    split = dispenser.split(choice.dose, 2)
    assert split is not None
    brute_daily, brute_split = _brute_step(products, 3, current, target, floor)
    assert choice.dose == brute_daily
    assert split[1] - split[0] == brute_split[1] - brute_split[0]
    pieces = sum(dispenser.compose(s).pieces for s in split)
    brute_pieces = sum(dispenser.compose(s).pieces for s in brute_split)
    assert pieces == brute_pieces


# --- fidelity ------------------------------------------------------------------------------


def test_fidelity_of_an_exact_plan_is_perfect() -> None:
    schedule = taper.plan("clonazepam", "4 mg", rule="fda-label-clonazepam", start=START)
    fid = taper.fidelity(schedule)
    assert fid.mean_gap_mg == 0
    assert fid.largest_gap_mg == 0
    assert fid.steps_changed == 0
    assert fid.largest_cut == fid.rule_largest_cut == D("0.5")
    assert fid.steps == 15


def test_fidelity_measures_a_plan_the_products_shaped() -> None:
    schedule = taper.plan("clonazepam", "2 mg", start=START)
    fid = taper.fidelity(schedule)
    assert fid.rule_largest_cut == D("0.1")
    # the largest cut is the forced one from 0.25 to 0.125 mg/day, and the stop is said
    assert fid.largest_cut == D("0.5")
    assert (fid.forced_cuts, fid.largest_forced_cut) == (2, D("0.5"))
    assert (fid.stop_mg, fid.terminal_mg, fid.stop_after_days) == (D("0.125"), D("0.125"), 84)
    assert 0 < fid.mean_gap_mg < fid.largest_gap_mg
    assert fid.steps_changed == 11
    # two products for the course (0.5 and 0.125 mg ODTs): at most four pieces a dose
    assert fid.units_per_day_max == 8
    assert fid.products_in_all == 2
    assert "steps the products changed: 11 of 14" in str(fid)
    assert "forced cuts: 2, the largest 50 %" in str(fid)
    assert "stop: from 0.125 mg/day after 84 days (the smallest daily dose" in str(fid)
    assert fid.as_dict()["largest_cut"] == "0.5"


def test_a_liquid_tracks_the_rule_more_closely() -> None:
    tablets = taper.fidelity(taper.plan("clonazepam", "2 mg", products=["tablet"], start=START))
    with_liquid = taper.fidelity(
        taper.plan(
            "clonazepam",
            "2 mg",
            products=["tablet"],
            formulary=EXAMPLE,
            at_low_doses="liquid",
            start=START,
        )
    )
    assert with_liquid.mean_gap_of_start < tablets.mean_gap_of_start


def test_drops_follow_the_volume_not_the_increment() -> None:
    """Regression: 1.3 mL at 20 drops/mL measured every 0.1 mL is 26 drops, not 13."""
    drops = liquid("0.1", "0.1", "1", drops=20)
    unit = Unit(drops, D(13))
    assert unit.volume_ml == D("1.3")
    assert unit.drops == 26
    assert unit.amount() == "26 drops"


def test_an_increment_must_be_whole_drops(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    path.write_text(
        '[sources.X]\ntitle = "x"\n[[products]]\ndrug = "clonazepam"\nid = "d"\nname = "d"\n'
        'form = "solution"\nmg_per_ml = "2.5"\nincrement_ml = "0.05"\nmax_ml = "1"\n'
        'drops_per_ml = 25\nsource = "X"\n',
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match="a whole number of drops at 25 drops per mL"):
        load_formulary(load_catalog(), path)
