from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal

import pytest

from taper.catalog import Catalog, Product
from taper.dispensing import Dispenser, Unit, totals
from taper.errors import InputError

from .test_doses import refusal

D = Decimal


def product(pid: str, strength: str, split: str = "1", form: str = "tablet") -> Product:
    return Product(pid, f"{pid} {strength} mg {form}", form, "T1", D(strength), D(split))


HALF_1 = product("one", "1", "0.5")
WHOLE_2 = product("two", "2")
CAP_025 = product("cap", "0.25", form="capsule")
QUARTER = product("q", "0.25")
THREE = (D(1), D(1), D(1))


def mg(*values: str) -> tuple[Decimal, ...]:
    """Doses in mg, one for each time of the day."""
    return tuple(D(v) for v in values)


@pytest.fixture(scope="module")
def dispenser() -> Dispenser:
    return Dispenser([HALF_1, QUARTER], max_units=4)


def test_every_made_dose_is_an_exact_sum_of_allowed_units() -> None:
    dispenser = Dispenser([HALF_1, WHOLE_2, CAP_025], max_units=3)
    for dose, comp in dispenser.best.items():
        assert comp.dose == dose
        assert comp.pieces <= 3
        for unit in comp.units:
            assert unit.count % unit.product.split == 0
            assert unit.count > 0


def test_unscored_and_never_split_products_are_whole() -> None:
    dispenser = Dispenser([WHOLE_2, CAP_025], max_units=3)
    for comp in dispenser.best.values():
        assert all(u.count == int(u.count) for u in comp.units)
    assert D("0.125") not in dispenser.best
    assert D(1) not in dispenser.best  # 2 mg is not scored, and 4 capsules are too many
    assert Dispenser([WHOLE_2, CAP_025], max_units=4).compose(D(1)).pieces == 4


def test_max_units_limits_pieces() -> None:
    dispenser = Dispenser([HALF_1], max_units=2)
    assert max(dispenser.values) == D(2)
    assert D("1.5") in dispenser.best  # one whole and one half: two pieces
    with pytest.raises(InputError, match="max_units"):
        Dispenser([HALF_1], max_units=0)


def test_a_scored_tablet_gives_whole_and_half_counts_within_the_limit() -> None:
    dispenser = Dispenser([HALF_1], max_units=2)
    assert dispenser.values == [D(0), D("0.5"), D(1), D("1.5"), D(2)]
    assert dispenser.compose(D("1.5")).pieces == 2
    assert dispenser.compose(D("1.5")).splits == 1
    assert dispenser.compose(D(2)).splits == 0
    assert dispenser.smallest == D("0.5")
    assert dispenser.describe() == "one 1 mg tablet"


def test_the_dispenser_names_its_products_in_order() -> None:
    assert Dispenser([HALF_1, QUARTER]).describe() == "one 1 mg tablet, q 0.25 mg tablet"


def test_the_piece_limit_is_1_to_20_per_administration() -> None:
    assert Dispenser([HALF_1], max_units=20).max_units == 20
    for bad in (0, 21):
        with pytest.raises(InputError) as refused:
            Dispenser([HALF_1], max_units=bad)
        assert refusal(refused.value) == ("max_units", bad, ["1", "20"])


def test_fewest_pieces_win() -> None:
    dispenser = Dispenser([HALF_1, WHOLE_2], max_units=4)
    assert dispenser.compose(D(2)).units == (Unit(WHOLE_2, D(1)),)
    assert dispenser.compose(D("2.5")).units == (Unit(WHOLE_2, D(1)), Unit(HALF_1, D("0.5")))


def test_liquids_and_empty_sets_are_refused() -> None:
    liquid = Product("drops", "drops", "solution", "T1", None, mg_per_ml=D("2.5"))
    with pytest.raises(InputError, match="at least one product that can be measured"):
        Dispenser([liquid])


def test_no_measurable_product_is_refused_by_field() -> None:
    with pytest.raises(InputError) as refused:
        Dispenser([], max_units=4)
    assert refusal(refused.value) == ("products", "", [])


def _brute_even(dispenser: Dispenser, daily: Decimal, n: int) -> Decimal | None:
    best = None
    for combo in itertools.product(dispenser.values, repeat=n):
        if sum(combo) == daily:
            spread = max(combo) - min(combo)
            best = spread if best is None else min(best, spread)
    return best


@pytest.mark.parametrize("n", [1, 2, 3])
def test_even_split_matches_an_exhaustive_search(n: int) -> None:
    dispenser = Dispenser([HALF_1, CAP_025], max_units=2)
    for daily in dispenser.daily_doses(n):
        shares = dispenser.split(daily, n)
        assert shares is not None
        assert sum(shares) == daily
        assert list(shares) == sorted(shares)  # the larger share at bedtime
        assert all(s in dispenser.best for s in shares)
        assert shares[-1] - shares[0] == _brute_even(dispenser, daily, n)


def _steady(dispenser: Dispenser, before: Decimal, after: Decimal) -> bool:
    """One administration keeps its tablets but for one fewer (or part of one): nothing new."""
    old = {u.product.id: u.count for u in dispenser.compose(before).units}
    new = {u.product.id: u.count for u in dispenser.compose(after).units}
    if any(count > old.get(pid, 0) for pid, count in new.items()):
        return False
    return sum(count - new.get(pid, 0) for pid, count in old.items()) <= 1


def _day_cost(
    dispenser: Dispenser, previous: tuple[Decimal, ...], shares: tuple[Decimal, ...]
) -> tuple[Decimal, ...]:
    spread = max(shares) - min(shares)
    uneven = spread > dispenser.smallest
    changed = sum(not _steady(dispenser, b, a) for b, a in zip(previous, shares, strict=True))
    return (D(uneven), spread if uneven else D(0), D(changed), spread)


@pytest.mark.parametrize("n", [2, 3])
def test_a_cut_changes_as_few_doses_as_an_exhaustive_search_finds(n: int) -> None:
    """Diazepam-like 2 and 5 mg tablets: of the ways to share a lower day among the times,
    none going up, the split keeps the doses within a piece of each other, then changes the
    fewest doses by more than one tablet fewer, then keeps them closest."""
    dispenser = Dispenser([product("two", "2"), product("five", "5")], max_units=3)
    values = [v for v in dispenser.values if v > 0]
    days = list(itertools.combinations_with_replacement(values, n))
    for previous in days[:: 7 if n == 3 else 1]:
        for daily in [d for d in dispenser.daily_doses(n) if 0 < d < sum(previous)]:
            found = dispenser.split_without_rise(daily, n, "even", previous)
            ways = [
                combo
                for combo in itertools.combinations_with_replacement(dispenser.values, n)
                if sum(combo) == daily and all(a <= b for a, b in zip(combo, previous, strict=True))
            ]
            if not ways:
                assert found is None
                continue
            assert found is not None and sum(found) == daily
            best = min(_day_cost(dispenser, previous, way) for way in ways)
            assert _day_cost(dispenser, previous, found) == best, (previous, daily, found)


def test_a_day_goes_down_one_tablet_at_a_time_where_the_tablets_allow() -> None:
    """9, 9 and 9 mg (5 + 2 + 2 each) down to 25 mg a day: one 2 mg tablet fewer at one time,
    not 8 mg (four 2 mg tablets) in place of 9 at two."""
    dispenser = Dispenser([product("two", "2"), product("five", "5")], max_units=4)
    assert dispenser.split(D(25), 3, "even", mg("9", "9", "9")) == mg("7", "9", "9")
    assert dispenser.changes(mg("9", "9", "9"), mg("7", "9", "9")) == 0
    assert dispenser.changes(mg("9", "9", "9"), mg("8", "8", "9")) == 2
    assert dispenser.steady(D(7), D(5))  # 5 + 2 to 5: one tablet fewer
    assert not dispenser.steady(D(5), D(4))  # 5 to 2 + 2: new tablets


def test_an_even_cut_gives_the_larger_share_at_bedtime(dispenser: Dispenser) -> None:
    assert dispenser.split(D("2.75"), 3, "even", THREE) == mg("0.75", "1", "1")
    assert dispenser.split(D("2.5"), 2) == mg("1.25", "1.25")


def test_daily_doses_are_exactly_the_makeable_totals() -> None:
    dispenser = Dispenser([HALF_1], max_units=1)
    assert dispenser.values == [D(0), D("0.5"), D(1)]
    assert dispenser.daily_doses(2) == [D(0), D("0.5"), D(1), D("1.5"), D(2)]
    assert dispenser.split(D("2.5"), 2) is None


def test_morning_first_keeps_later_doses() -> None:
    dispenser = Dispenser([HALF_1], max_units=4)
    assert dispenser.split(D(3), 2, "morning-first", (D(2), D(2))) == (D(1), D(2))
    assert dispenser.split(D(2), 2, "morning-first", (D(1), D(2))) == (D(0), D(2))
    assert dispenser.split(D("1.5"), 2, "morning-first", (D(0), D(2))) == (D(0), D("1.5"))


def test_morning_first_cuts_the_morning_dose_to_zero_first(dispenser: Dispenser) -> None:
    assert dispenser.split(D("2.5"), 3, "morning-first", THREE) == mg("0.5", "1", "1")
    assert dispenser.split(D("1.5"), 3, "morning-first", mg("0.5", "1", "1")) == mg("0", "0.5", "1")


def test_bedtime_last_keeps_the_bedtime_dose(dispenser: Dispenser) -> None:
    assert dispenser.split(D("2.5"), 3, "bedtime-last", THREE) == mg("0.75", "0.75", "1")
    assert dispenser.split(D(2), 3, "bedtime-last", mg("0.75", "0.75", "1")) == mg(
        "0.5", "0.5", "1"
    )
    assert dispenser.split(D("1.25"), 2, "bedtime-last", mg("0.5", "1")) == mg("0.25", "1")


def test_an_unknown_cut_order_is_refused_with_the_choices(dispenser: Dispenser) -> None:
    with pytest.raises(InputError) as refused:
        dispenser.split_without_rise(D(1), 2, "bogus")
    assert refusal(refused.value) == ("cut_order", "bogus", [])
    assert "even, morning-first, bedtime-last" in refused.value.allowed


def test_totals_count_halves_of_whole_tablets() -> None:
    half = Unit(HALF_1, D("0.5"))
    one_and_half = Unit(HALF_1, D("1.5"))
    supply = totals([(half, 3), (one_and_half, 18)])
    product_, quantity = supply["one"]
    assert product_ is HALF_1
    assert quantity == D(29)  # 1.5 + 27 = 28.5 tablets, supplied as 29 whole ones


def test_unit_words() -> None:
    assert Unit(HALF_1, D("1.5")).describe() == "1½ x one 1 mg tablet"
    assert Unit(HALF_1, D("0.5")).describe() == "½ x one 1 mg tablet"
    assert Unit(WHOLE_2, D(2)).describe() == "2 x two 2 mg tablet"


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


def test_builtin_clonazepam_smallest_unit(builtin: Catalog) -> None:
    clonazepam = builtin.drug("clonazepam")
    dispenser = Dispenser(clonazepam.products_in("us"))
    assert dispenser.smallest == D("0.125")
    tablets = Dispenser([p for p in clonazepam.products_in("us") if p.form == "tablet"])
    assert tablets.smallest == D("0.25")


def _every_count(p: Product, max_units: int) -> list[Decimal]:
    """Each count of ``p`` an administration could hold, none included, for a brute force."""
    counts = [D(0)]
    count = p.split
    while count <= max_units:
        counts.append(count)
        count += p.split
    return counts


def _cheapest_by_brute_force(
    products: list[Product], max_units: int, cost: Callable[[list[Unit]], tuple[int, ...]]
) -> dict[Decimal, tuple[int, ...]]:
    """Every dose one administration can hold of ``products``, with its lowest ``cost``."""
    brute: dict[Decimal, tuple[int, ...]] = {}
    for combo in itertools.product(*(_every_count(p, max_units) for p in products)):
        units = [Unit(p, c) for p, c in zip(products, combo, strict=True) if c]
        if sum(u.pieces for u in units) > max_units:
            continue
        dose = sum((u.dose for u in units), D(0)).normalize()
        if dose not in brute or cost(units) < brute[dose]:
            brute[dose] = cost(units)
    return brute


@pytest.mark.parametrize("max_units", [1, 2, 3, 4])
def test_cheapest_compositions_match_an_exhaustive_search(max_units: int) -> None:
    products = [HALF_1, WHOLE_2, CAP_025, product("q", "4", "0.25")]
    dispenser = Dispenser(products, max_units)
    order = {p.id: i for i, p in enumerate(products)}

    def cost(units: list[Unit]) -> tuple[int, ...]:
        return (
            sum(u.pieces for u in units),
            len(units),
            sum(u.is_split for u in units),
            sum(order[u.product.id] for u in units),
        )

    brute = _cheapest_by_brute_force(products, max_units, cost)
    made = {d.normalize(): c.cost(order) for d, c in dispenser.best.items()}
    assert made == brute


@pytest.mark.parametrize("max_units", [1, 2, 3, 4])
def test_one_form_compositions_match_an_exhaustive_search(max_units: int) -> None:
    """A dose is made of one way of taking it (tablets swallowed, or ODTs) wherever one makes
    it, the cheapest such; mixing ways only for a dose no single way makes."""
    products = [HALF_1, WHOLE_2, product("o", "0.25", form="odt"), product("p", "1", form="odt")]
    dispenser = Dispenser(products, max_units)
    order = {p.id: i for i, p in enumerate(products)}

    def cost(units: list[Unit]) -> tuple[int, ...]:
        return (
            len({u.product.taken for u in units}) > 1,
            sum(u.pieces for u in units),
            len(units),
            sum(u.is_split for u in units),
            sum(order[u.product.id] for u in units),
        )

    brute = _cheapest_by_brute_force(products, max_units, cost)
    made = {d.normalize(): (c.mixed, *c.cost(order)) for d, c in dispenser.best.items()}
    assert made == brute
    # 1.25 mg: a 1 mg ODT and a 0.25 mg ODT, not a tablet and an ODT
    if max_units >= 2:
        assert {u.product.id for u in dispenser.compose(D("1.25")).units} == {"o", "p"}
        assert not dispenser.compose(D("1.25")).mixed


def test_a_day_counted_in_too_fine_a_step_is_refused_not_counted() -> None:
    """A catalog's 999,999 mg tablet beside its 0.0001 mg one needed a bit set of billions to
    count the day's doses (the machine's memory ran out): past taper's own bound it is one
    refusal naming the products; a 30,000 mg tablet beside 0.125 mg ones still counts."""
    from dataclasses import replace as changed

    from taper.catalog import load_catalog
    from taper.dispensing import MOST_QUANTA, dispenser_for

    drug = load_catalog().drug("clonazepam")
    tablets = [p for p in drug.products_in("us") if p.form == "tablet"]
    huge = changed(tablets[0], strength_mg=Decimal(999999))
    fine = changed(tablets[1], strength_mg=Decimal("0.0001"))
    with pytest.raises(InputError) as refused:
        dispenser_for((huge, fine), 4).daily_doses(2)
    assert refused.value.field == "the products"
    assert f"at most {MOST_QUANTA:,} times the finest step" in str(refused.value)
    large = changed(tablets[0], strength_mg=Decimal(30000))
    odt = next(p for p in drug.products_in("us") if p.id == "clonazepam-odt-0.125")
    days = dispenser_for((large, odt), 4).daily_doses(2)
    assert days[:3] == [Decimal(0), Decimal("0.125"), Decimal("0.25")]
    assert Decimal(240000) in days


@pytest.mark.parametrize(
    ("order", "previous", "daily", "shares"),
    [
        ("bedtime-last", ("0.75", "0", "0.25"), "0.75", ("0", "0", "0.75")),
        ("bedtime-last", ("1", "0", "0.25"), "1", ("0", "0", "1")),
        ("bedtime-last", ("0.75", "0.25", "0"), "0.75", ("0.25", "0.5", "0")),
    ],
)
def test_a_dose_stopped_stays_stopped_while_another_can_rise(
    order: str, previous: tuple[str, ...], daily: str, shares: tuple[str, ...]
) -> None:
    """Where no dose can stay as it was, the others rise by as little as the products allow;
    a time already stopped is not started again."""
    dispenser = Dispenser([product("half", "0.5", "0.5"), product("two", "2")], max_units=3)
    assert dispenser.split(D(daily), 3, order, mg(*previous)) == mg(*shares)
