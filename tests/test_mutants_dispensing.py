"""Dispensing to the letter: how each dose is shared among the day's times under each cut
order, what the label says for a part tablet or a measured liquid, and what to supply."""

from __future__ import annotations

from decimal import Decimal

import pytest

from taper.catalog import Product
from taper.dispensing import Dispenser, Unit, describe_supply, supply_unit, totals
from taper.errors import InputError

D = Decimal
HALF_1 = Product("one", "one 1 mg tablet", "tablet", "T1", D(1), D("0.5"))
QUARTER = Product("q", "q 0.25 mg tablet", "tablet", "T1", D("0.25"), D(1))
LIQUID = Product(
    "liq",
    "test 0.1 mg/mL liquid",
    "solution",
    "T1",
    None,
    mg_per_ml=D("0.1"),
    increment_ml=D("0.1"),
    max_ml=D(1),
    pack_ml=D(100),
)
LOOSE = Product(
    "loose",
    "test 0.1 mg/mL liquid",
    "solution",
    "T1",
    None,
    mg_per_ml=D("0.1"),
    increment_ml=D("0.1"),
    max_ml=D(1),
)
DROPS = Product(
    "dr",
    "drops 2.5 mg/mL",
    "solution",
    "T1",
    None,
    mg_per_ml=D("2.5"),
    increment_ml=D("0.05"),
    max_ml=D(1),
    drops_per_ml=20,
)
THREE = (D(1), D(1), D(1))


def shares(*values: str) -> tuple[Decimal, ...]:
    return tuple(D(v) for v in values)


@pytest.fixture(scope="module")
def dispenser() -> Dispenser:
    return Dispenser([HALF_1, QUARTER], max_units=4)


def test_morning_first_cuts_the_morning_dose_to_zero_first(dispenser: Dispenser) -> None:
    assert dispenser.split(D("2.5"), 3, "morning-first", THREE) == shares("0.5", "1", "1")
    assert dispenser.split(D("1.5"), 3, "morning-first", shares("0.5", "1", "1")) == shares(
        "0", "0.5", "1"
    )


def test_bedtime_last_keeps_the_bedtime_dose(dispenser: Dispenser) -> None:
    assert dispenser.split(D("2.5"), 3, "bedtime-last", THREE) == shares("0.75", "0.75", "1")
    assert dispenser.split(D(2), 3, "bedtime-last", shares("0.75", "0.75", "1")) == shares(
        "0.5", "0.5", "1"
    )
    assert dispenser.split(D("1.25"), 2, "bedtime-last", shares("0.5", "1")) == shares("0.25", "1")


def test_an_even_cut_gives_the_larger_share_at_bedtime(dispenser: Dispenser) -> None:
    assert dispenser.split(D("2.75"), 3, "even", THREE) == shares("0.75", "1", "1")
    assert dispenser.split(D("2.5"), 2) == shares("1.25", "1.25")


@pytest.mark.parametrize(
    ("count", "amount"),
    [
        ("0.25", "¼"),
        ("0.5", "½"),
        ("0.75", "¾"),
        ("1", "1"),
        ("1.5", "1½"),
        ("1.75", "1¾"),
        ("2", "2"),
        ("2.25", "2¼"),
    ],
)
def test_a_tablet_count_is_written_with_its_fraction(count: str, amount: str) -> None:
    unit = Unit(HALF_1, D(count))
    assert unit.amount() == amount
    assert unit.describe() == f"{amount} x one 1 mg tablet"


def test_a_liquid_is_written_in_mL_or_drops() -> None:
    assert Unit(LIQUID, D(9)).amount() == "0.9 mL"
    assert Unit(LIQUID, D(9)).describe() == "0.9 mL of test 0.1 mg/mL liquid"
    assert Unit(LIQUID, D(25)).pieces == 3  # 2.5 mL in a 1 mL measure: three fills
    assert Unit(DROPS, D(1)).amount() == "1 drop"
    assert Unit(DROPS, D(3)).amount() == "3 drops"
    assert Unit(DROPS, D(3)).dose == D("0.375")


def test_the_supply_counts_half_tablets_and_bottles() -> None:
    supply = totals(
        [(Unit(HALF_1, D("0.5")), 7), (Unit(HALF_1, D("1.5")), 7), (Unit(LIQUID, D(9)), 200)]
    )
    # 7 halves and 7 times 1½ are 14 tablets; 180 mL of a 100 mL bottle are 2 bottles
    assert {pid: quantity for pid, (_, quantity) in supply.items()} == {"one": D(14), "liq": D(2)}
    loose = totals([(Unit(LOOSE, D(9)), 3)])
    assert loose["loose"][1] == D(3)  # 2.7 mL rounded up to whole mL
    assert supply_unit(HALF_1) == "tablet"
    assert supply_unit(LIQUID) == "bottle of 100 mL"
    assert supply_unit(LOOSE) == "mL"
    assert describe_supply(HALF_1, D(28)) == "28 x one 1 mg tablet"
    assert describe_supply(LIQUID, D(1)) == "1 bottle of 100 mL of test 0.1 mg/mL liquid"
    assert describe_supply(LIQUID, D(2)) == "2 bottles of 100 mL of test 0.1 mg/mL liquid"
    assert describe_supply(LOOSE, D(30)) == "30 mL of test 0.1 mg/mL liquid"


def test_a_scored_tablet_gives_whole_and_half_counts_within_the_limit() -> None:
    dispenser = Dispenser([HALF_1], max_units=2)
    assert dispenser.values == [D(0), D("0.5"), D(1), D("1.5"), D(2)]
    assert dispenser.compose(D("1.5")).pieces == 2
    assert dispenser.compose(D("1.5")).splits == 1
    assert dispenser.compose(D(2)).splits == 0
    assert dispenser.smallest == D("0.5")
    assert dispenser.describe() == "one 1 mg tablet"


def test_the_piece_limit_bounds_and_their_message() -> None:
    assert Dispenser([HALF_1], max_units=20).max_units == 20
    for bad in (0, 21):
        with pytest.raises(InputError) as refused:
            Dispenser([HALF_1], max_units=bad)
        assert str(refused.value) == f"--max-units: got {bad}; 1 to 20 pieces per administration"


def test_no_measurable_product_is_refused_by_field() -> None:
    with pytest.raises(InputError) as refused:
        Dispenser([], max_units=4)
    assert str(refused.value) == "--products: got ''; at least one product that can be measured"


def test_an_unknown_cut_order_is_refused_with_the_choices(dispenser: Dispenser) -> None:
    with pytest.raises(InputError) as refused:
        dispenser.split_without_rise(D(1), 2, "bogus")
    assert str(refused.value) == (
        "--cut-order: got 'bogus'; one of even, morning-first, bedtime-last"
    )


def test_the_dispenser_names_its_products_in_order() -> None:
    assert Dispenser([HALF_1, QUARTER]).describe() == "one 1 mg tablet, q 0.25 mg tablet"


@pytest.mark.parametrize(("limit", "most"), [(1, "0.1"), (2, "0.2")])
def test_a_liquid_measures_up_to_its_syringe_times_the_limit(limit: int, most: str) -> None:
    # 0.1 mL steps of a 0.1 mg/mL liquid, at most 1 mL a measure
    values = Dispenser([LIQUID], max_units=limit).values
    assert values == [D(k) / 100 for k in range(int(D(most) * 100) + 1)]
    assert values[-1] == D(most)
