"""Making a daily dose from real products, per administration time.

Each administration is an exact sum of units of allowed products: a tablet
split only as far as the product allows, a liquid measured in whole
increments of its measure, never more than ``max_units`` pieces (tablets,
tablet parts or filled measures) at one time. Among the ways to make a dose,
the fewest pieces win, then the fewest distinct products, then the fewest
split tablets, then the catalog's order.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache, reduce
from typing import Any

from .catalog import Product
from .doses import ceil_int, format_mg, format_number, normalize
from .errors import InputError

#: a default that keeps a dose to a handful of tablets; clinicians may change it
DEFAULT_MAX_UNITS = 4
#: the most pieces at one administration taper will plan with
MAX_UNITS_LIMIT = 20
CUT_ORDERS = ("even", "morning-first", "bedtime-last")
#: taper's own bound on a day's dose counted in the finest step the products measure (a
#: catalog's 999,999 mg tablet beside its 0.0001 mg one would need billions): far above any
#: real plan's, so that every daily dose is still counted exactly, and in time
MOST_QUANTA = 10**7


@dataclass(frozen=True)
class Unit:
    """``count`` of one product at one administration.

    For a tablet or capsule the count is in tablets (``1.5``); for a liquid it
    is in increments of its measure (9 increments of 0.1 mL are 0.9 mL).
    """

    product: Product
    count: Decimal

    @cached_property
    def dose(self) -> Decimal:
        """The mg this unit supplies."""
        return normalize(self.product.step_mg * self.count)

    @property
    def volume_ml(self) -> Decimal:
        """The volume of a liquid unit, in mL."""
        assert self.product.increment_ml is not None
        return normalize(self.product.increment_ml * self.count)

    @property
    def drops(self) -> int:
        """The number of drops of a liquid dosed in drops."""
        assert self.product.drops_per_ml is not None
        return int(self.volume_ml * self.product.drops_per_ml)

    @property
    def pieces(self) -> int:
        """Separate pieces taken: 1.5 tablets are two, a liquid is one per filled measure."""
        if self.product.is_liquid:
            assert self.product.max_ml is not None
            return ceil_int(self.volume_ml / self.product.max_ml)
        return ceil_int(self.count)

    @property
    def is_split(self) -> bool:
        """Whether part of a tablet is taken."""
        return not self.product.is_liquid and self.count % 1 != 0

    def amount(self) -> str:
        """How much, in the product's own unit: ``1½``, ``0.9 mL``, ``3 drops``."""
        if self.product.is_liquid:
            if self.product.drops_per_ml:
                drops = self.drops
                return f"{drops} drop{'s' if drops != 1 else ''}"
            return f"{format_number(self.volume_ml)} mL"
        return _count_words(self.count)

    def describe(self, short: bool = False) -> str:
        """``1½ x clonazepam 0.5 mg tablet``; ``0.9 mL of 0.1 mg/mL oral liquid``."""
        name = self.product.short if short else self.product.name
        if self.product.is_liquid:
            return f"{self.amount()} of {name}"
        return f"{self.amount()} x {name}"


def _count_words(count: Decimal) -> str:
    whole, part = divmod(count, 1)
    fraction = {Decimal("0.5"): "½", Decimal("0.25"): "¼", Decimal("0.75"): "¾"}.get(
        normalize(part), format_number(part)
    )
    if part == 0:
        return format_number(whole)
    return fraction if whole == 0 else f"{format_number(whole)}{fraction}"


@dataclass(frozen=True)
class Composition:
    """The units taken at one administration."""

    units: tuple[Unit, ...]

    @cached_property
    def dose(self) -> Decimal:
        """The mg taken at this administration."""
        return normalize(sum((u.dose for u in self.units), Decimal(0)))

    @property
    def pieces(self) -> int:
        """Pieces taken at this administration."""
        return sum(u.pieces for u in self.units)

    @property
    def splits(self) -> int:
        """Split tablets taken at this administration."""
        return sum(1 for u in self.units if u.is_split)

    @property
    def mixed(self) -> bool:
        """Whether the dose mixes ways of taking it (a tablet swallowed and an ODT, say)."""
        return len({u.product.taken for u in self.units}) > 1

    def cost(self, order: dict[str, int]) -> tuple[int, int, int, int]:
        """Fewest pieces, then products, then splits, then catalog order."""
        return (
            self.pieces,
            len(self.units),
            self.splits,
            sum(order[u.product.id] for u in self.units),
        )


def _counts(product: Product, max_units: int) -> Iterable[tuple[Decimal, int, int]]:
    """Each count of ``product`` one administration may hold, with its pieces and splits."""
    if product.is_liquid:
        assert product.increment_ml is not None and product.max_ml is not None
        most = int(product.max_ml * max_units / product.increment_ml)
        for k in range(1, most + 1):
            unit = Unit(product, Decimal(k))
            yield Decimal(k), unit.pieces, 0
        return
    for k in range(1, int(max_units / product.split) + 1):  # up to max_units whole pieces
        count = product.split * k
        yield normalize(count), ceil_int(count), 1 if count % 1 else 0


#: the cost of a way to make a dose: pieces, products, split tablets, catalog order
_Cost = tuple[int, int, int, int]


class Dispenser:
    """The doses a set of products can make, per administration and per day.

    Parameters
    ----------
    products
        Products that may be dispensed; those that cannot be measured are left out.
    max_units
        The most pieces taken at one administration.
    """

    def __init__(self, products: Sequence[Product], max_units: int = DEFAULT_MAX_UNITS) -> None:
        if not 1 <= max_units <= MAX_UNITS_LIMIT:
            raise InputError(
                "max_units", max_units, f"1 to {MAX_UNITS_LIMIT} pieces per administration"
            )
        usable = tuple(p for p in products if p.usable)
        if not usable:
            raise InputError("products", "", "at least one product that can be measured")
        self.products = usable
        self.max_units = max_units
        self._order = {p.id: i for i, p in enumerate(usable)}
        self.best = self._enumerate()
        self.values = sorted(self.best)
        self._quantum = reduce(_gcd, (v for v in self.values if v > 0))
        self._daily: dict[int, list[Decimal]] = {}
        self._split_cache: dict[
            tuple[Decimal, int, frozenset[str]], tuple[Decimal, ...] | None
        ] = {}
        self._kept_cache: dict[tuple[Any, ...], tuple[Decimal, ...] | None] = {}
        self._steady_cache: dict[tuple[Decimal, Decimal], bool] = {}

    def _enumerate(self) -> dict[Decimal, Composition]:
        """The cheapest way to make each dose one administration can hold, of one way of
        taking it (tablets swallowed, ODTs, a liquid) wherever the products make the dose so;
        mixing ways only for a dose no single way makes."""
        ways: dict[str, list[int]] = {}
        for index, product in enumerate(self.products):
            ways.setdefault(product.taken, []).append(index)
        found: dict[Decimal, tuple[_Cost, tuple[Unit, ...]]] = {}
        for indices in ways.values():
            for dose, made in self._cheapest(indices).items():
                if dose not in found or made[0] < found[dose][0]:
                    found[dose] = made
        if len(ways) > 1:
            for dose, made in self._cheapest(range(len(self.products))).items():
                found.setdefault(dose, made)
        # the largest strength first, as a pharmacist would read it
        return {
            dose: Composition(tuple(sorted(units, key=lambda u: -u.dose)))
            for dose, (_, units) in found.items()
        }

    def _cheapest(self, indices: Iterable[int]) -> dict[Decimal, tuple[_Cost, tuple[Unit, ...]]]:
        # Dynamic programming over the products at ``indices``: for each dose keep the
        # cheapest way to make it. The cost (pieces, products, split tablets, catalog order)
        # adds up product by product, so the cheapest way to a dose is never beaten by a
        # dearer one.
        states: dict[Decimal, tuple[_Cost, tuple[Unit, ...]]] = {Decimal(0): ((0, 0, 0, 0), ())}
        for index in indices:
            product = self.products[index]
            options = list(_counts(product, self.max_units))
            grown = dict(states)
            for dose, (cost, units) in states.items():
                for count, pieces, split in options:
                    if cost[0] + pieces > self.max_units:
                        continue
                    new_cost = (cost[0] + pieces, cost[1] + 1, cost[2] + split, cost[3] + index)
                    new_dose = normalize(dose + product.step_mg * count)
                    old = grown.get(new_dose)
                    if old is None or new_cost < old[0]:
                        grown[new_dose] = (new_cost, (*units, Unit(product, count)))
            states = grown
        return states

    @property
    def smallest(self) -> Decimal:
        """The smallest dose one administration can hold."""
        return self.values[1]

    def daily_doses(self, n: int) -> list[Decimal]:
        """Every daily total ``n`` administrations can make, ascending (0 included)."""
        if n not in self._daily:
            # sums of n shares, as a bit set over whole quanta: bit k means k quanta a day
            quantum = self._quantum
            steps = [int(v / quantum) for v in self.values]
            if steps[-1] * n > MOST_QUANTA:
                names = ", ".join(p.name for p in self.products)
                raise InputError(
                    "the products",
                    names,
                    f"products whose largest day is at most {MOST_QUANTA:,} times the finest "
                    f"step they measure (taper's own bound; here {format_mg(quantum)})",
                )
            total = 1
            for _ in range(n):
                acc = 0
                for k in steps:
                    acc |= total << k
                total = acc
            bits = bin(total)[:1:-1]  # bit k first: read once, not shifted for each k
            self._daily[n] = [normalize(quantum * k) for k, bit in enumerate(bits) if bit == "1"]
        return self._daily[n]

    def compose(self, dose: Decimal) -> Composition:
        """The best way to make one administration's dose."""
        return self.best[normalize(dose)]

    def split(
        self,
        daily: Decimal,
        n: int,
        order: str = "even",
        previous: Sequence[Decimal] | None = None,
        used: frozenset[str] = frozenset(),
    ) -> tuple[Decimal, ...] | None:
        """Share a daily dose among ``n`` administrations, morning first.

        ``even`` keeps the shares as close as the products allow, the larger at
        bedtime; ``morning-first`` keeps later administrations at their previous
        dose for as long as it can, so the morning dose falls to zero first;
        ``bedtime-last`` keeps the bedtime dose and shares the cuts among the
        others. Among equal choices: fewer pieces a day, fewer products, fewer
        split tablets, and the products ``used`` the step before. ``None`` when
        the dose cannot be made.
        """
        shares = self.split_without_rise(daily, n, order, previous, used, True)
        if shares is None and order != "even" and previous is not None and len(previous) == n:
            shares = self._least_rise(normalize(daily), order, tuple(previous), used)
        if shares is None:
            shares = self.split_without_rise(daily, n, order, previous, used, False)
        if shares is not None:
            return shares
        daily = normalize(daily)
        key = (daily, n, used)
        if key not in self._split_cache:
            self._split_cache[key] = self._even(daily, n, used)
        return self._split_cache[key]

    def split_without_rise(
        self,
        daily: Decimal,
        n: int,
        order: str = "even",
        previous: Sequence[Decimal] | None = None,
        used: frozenset[str] = frozenset(),
        strict: bool = True,
    ) -> tuple[Decimal, ...] | None:
        """Like :meth:`split`, but no administration may take more than it did before
        (``strict``), or at least a dose stopped stays stopped; ``None`` when the products
        cannot do that."""
        daily = normalize(daily)
        if order not in CUT_ORDERS:
            raise InputError("cut_order", order, f"one of {', '.join(CUT_ORDERS)}")
        if previous is None or len(previous) != n:
            return None
        key = (daily, n, order, tuple(previous), used, strict)
        if key not in self._kept_cache:
            self._kept_cache[key] = self._without_rise(daily, n, order, previous, used, strict)
        return self._kept_cache[key]

    def _without_rise(
        self,
        daily: Decimal,
        n: int,
        order: str,
        previous: Sequence[Decimal],
        used: frozenset[str],
        strict: bool,
    ) -> tuple[Decimal, ...] | None:
        caps = tuple(normalize(v) if strict or v == 0 else daily for v in previous)
        if n > 1 and order == "morning-first":
            shares = self._keep_later(daily, caps)
            if shares is not None:
                return shares
        if n > 1 and order == "bedtime-last":
            shares = self._keep_bedtime(daily, caps, used)
            if shares is not None:
                return shares
        return self._even(daily, n, used, caps, tuple(previous))

    def _least_rise(
        self,
        daily: Decimal,
        order: str,
        previous: tuple[Decimal, ...],
        used: frozenset[str],
    ) -> tuple[Decimal, ...] | None:
        """The cut order's shares when no kept dose can stay as it was: a dose stopped stays
        stopped, and the others rise by as little as the products allow."""
        taken = [p for p in previous if p > 0]
        rises = sorted({normalize(v - p) for v in self.values for p in taken if v > p})
        for rise in rises:
            caps = tuple(normalize(p + rise) if p > 0 else Decimal(0) for p in previous)
            key = (daily, len(previous), order, caps, used, True)
            if key not in self._kept_cache:
                self._kept_cache[key] = self._without_rise(
                    daily, len(previous), order, caps, used, True
                )
            if self._kept_cache[key] is not None:
                return self._kept_cache[key]
        return None

    def steady(self, before: Decimal, after: Decimal) -> bool:
        """Whether one administration going from ``before`` to ``after`` mg keeps its products
        but for one piece fewer: nothing added, at most one tablet (or part of one) taken away,
        a liquid measured again with nothing added."""
        key = (before, after)
        if key not in self._steady_cache:
            old, new = self._amounts(before), self._amounts(after)
            added = sum(max(c - old.get(k, Decimal(0)), Decimal(0)) for k, c in new.items())
            removed = sum(max(c - new.get(k, Decimal(0)), Decimal(0)) for k, c in old.items())
            self._steady_cache[key] = added == 0 and removed <= 1
        return self._steady_cache[key]

    def _amounts(self, dose: Decimal) -> dict[str, Decimal]:
        # a liquid counts as the pieces it is measured in, whatever the volume
        return {
            u.product.id: Decimal(u.pieces) if u.product.is_liquid else u.count
            for u in self.best[dose].units
        }

    def changes(self, before: Sequence[Decimal], after: Sequence[Decimal]) -> int:
        """The administrations of a day that do not change :meth:`steady` from ``before``
        (none where ``before`` is not a day these products make)."""
        if any(normalize(b) not in self.best for b in before):
            return 0
        return sum(
            not self.steady(normalize(b), normalize(a)) for b, a in zip(before, after, strict=True)
        )

    def _cost(
        self,
        shares: tuple[Decimal, ...],
        used: frozenset[str],
        previous: tuple[Decimal, ...] | None = None,
    ) -> tuple[Decimal, ...]:
        comps = [self.best[s] for s in shares]
        products = {u.product.id for c in comps for u in c.units}
        spread = max(shares) - min(shares)
        uneven = spread > self.smallest
        return (
            # doses of a day more than one piece apart (and how far apart, if they are), then
            # administrations that change by more than one piece fewer from the step before,
            # then how far apart the doses are
            Decimal(uneven),
            spread if uneven else Decimal(0),
            Decimal(self.changes(previous, shares) if previous is not None else 0),
            spread,
            Decimal(sum(c.pieces for c in comps)),
            Decimal(len(products)),
            Decimal(sum(c.splits for c in comps)),
            Decimal(len(products - used)) if used else Decimal(0),
        )

    def _even(
        self,
        daily: Decimal,
        n: int,
        used: frozenset[str],
        caps: tuple[Decimal, ...] | None = None,
        previous: tuple[Decimal, ...] | None = None,
    ) -> tuple[Decimal, ...] | None:
        values = self.values
        members = self.best
        unit = self.smallest
        best: tuple[tuple[Decimal, ...], tuple[Decimal, ...]] | None = None

        def walk(shares: tuple[Decimal, ...], left: Decimal, k: int) -> None:
            nonlocal best
            low = shares[-1] if shares else Decimal(0)
            cap = caps[len(shares)] if caps is not None else None
            if k == 1:
                if left >= low and left in members and (cap is None or left <= cap):
                    full = (*shares, left)
                    cost = self._cost(full, used, previous)
                    if best is None or cost < best[0]:
                        best = (cost, full)
                return
            # shares never fall from morning to bedtime, so this one is at most the
            # average of what is left; from there downwards, the spread only grows
            top = bisect_right(values, left / k if cap is None else min(left / k, cap))
            for i in range(top - 1, -1, -1):
                v = values[i]
                if v < low:
                    break
                first = shares[0] if shares else v
                if best is not None:
                    # the least spread any way on from here can have; it only grows as v
                    # falls, so once no way on can beat the best, none further down can
                    least = (left - v) / (k - 1) - first
                    spread = Decimal(0) if least <= unit else least
                    bound = (Decimal(least > unit), spread, Decimal(0), least)
                    if bound > best[0][:4]:
                        break
                walk((*shares, v), normalize(left - v), k - 1)

        walk((), daily, n)
        return tuple(normalize(v) for v in best[1]) if best else None

    def _keep_later(
        self, daily: Decimal, previous: tuple[Decimal, ...]
    ) -> tuple[Decimal, ...] | None:
        n = len(previous)
        members = self.best

        def fill(i: int, left: Decimal) -> tuple[Decimal, ...] | None:
            # administrations from the last (bedtime) back to the first (morning)
            if i == 0:
                return (left,) if left <= previous[0] and left in members else None
            top = bisect_right(self.values, min(previous[i], left))
            for j in range(top - 1, -1, -1):
                rest = fill(i - 1, normalize(left - self.values[j]))
                if rest is not None:
                    return (*rest, self.values[j])
            return None

        return fill(n - 1, daily)

    def _keep_bedtime(
        self, daily: Decimal, previous: tuple[Decimal, ...], used: frozenset[str]
    ) -> tuple[Decimal, ...] | None:
        top = bisect_right(self.values, min(previous[-1], daily))
        for j in range(top - 1, -1, -1):
            bedtime = self.values[j]
            rest = self._even(normalize(daily - bedtime), len(previous) - 1, used, previous[:-1])
            if rest is not None:
                return (*rest, bedtime)
        return None

    def describe(self) -> str:
        """The products, in one line."""
        return ", ".join(p.name for p in self.products)


@lru_cache(maxsize=256)
def dispenser_for(products: tuple[Product, ...], max_units: int = DEFAULT_MAX_UNITS) -> Dispenser:
    """A shared :class:`Dispenser` for these products: what they make never changes, so
    plans (and their checks) made from the same products reuse one."""
    return Dispenser(products, max_units)


def with_liquid(products: Sequence[Product], liquid: Product, limit: int) -> Dispenser:
    """The dispenser of the doses from where the tablets run out of small cuts: the liquid
    first, so that a dose it measures as simply as a tablet is measured, and a patient who has
    moved to the liquid stays on it rather than going back to a tablet for one step."""
    return dispenser_for((liquid, *(p for p in products if p != liquid)), limit)


def _gcd(a: Decimal, b: Decimal) -> Decimal:
    while b:
        a, b = b, a % b
    return a


def totals(uses: Iterable[tuple[Unit, int]]) -> dict[str, tuple[Product, Decimal]]:
    """What to supply per product, given (unit, days taken) pairs.

    Tablets: whole tablets, a split tablet counting as its share of a tablet
    dispensed whole, rounded up once for the whole supply. Liquids: bottles of
    the product's pack size where it has one, else mL.
    """
    raw: dict[str, tuple[Product, Decimal]] = {}
    for unit, days in uses:
        product, amount = raw.get(unit.product.id, (unit.product, Decimal(0)))
        each = unit.volume_ml if product.is_liquid else unit.count
        raw[unit.product.id] = (product, amount + each * days)
    out = {}
    for pid, (product, amount) in raw.items():
        if product.is_liquid and product.pack_ml:
            amount = amount / product.pack_ml
        out[pid] = (product, Decimal(ceil_int(amount)))
    return out


def supply_unit(product: Product) -> str:
    """What a supplied quantity counts: tablets, capsules, bottles of a pack size, or mL."""
    if product.is_liquid:
        return f"bottle of {format_number(product.pack_ml)} mL" if product.pack_ml else "mL"
    return product.unit_word


def describe_supply(product: Product, quantity: Decimal) -> str:
    """``28 x clonazepam 0.5 mg tablet`` or ``2 bottles of 100 mL of ...``."""
    if product.is_liquid:
        if product.pack_ml:
            bottles = "bottle" if quantity == 1 else "bottles"
            return (
                f"{format_number(quantity)} {bottles} of {format_number(product.pack_ml)} mL "
                f"of {product.name}"
            )
        return f"{format_number(quantity)} mL of {product.name}"
    return f"{format_number(quantity)} x {product.name}"
