"""Making a daily dose from real products, per administration time.

Each administration is an exact sum of units of allowed products: a tablet
split only as far as the product allows, never more than ``max_units`` pieces
at one time. Among the ways to make a dose, the fewest pieces win, then the
fewest distinct products, then the fewest split tablets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from .catalog import Product
from .doses import ceil_int, format_number, normalize
from .errors import InputError

#: a default that keeps a dose to a handful of tablets; clinicians may change it
DEFAULT_MAX_UNITS = 4


@dataclass(frozen=True)
class Unit:
    """``count`` tablets (or capsules) of one product at one administration."""

    product: Product
    count: Decimal

    @property
    def dose(self) -> Decimal:
        """The mg this unit supplies."""
        assert self.product.strength_mg is not None
        return normalize(self.product.strength_mg * self.count)

    @property
    def pieces(self) -> int:
        """How many separate pieces the patient takes (1.5 tablets are two pieces)."""
        return ceil_int(self.count)

    @property
    def is_split(self) -> bool:
        """Whether part of a tablet is taken."""
        return self.count % 1 != 0

    def describe(self, short: bool = False) -> str:
        """``1½ x clonazepam 0.5 mg tablet`` (``1½ x 0.5 mg tablet`` when ``short``)."""
        name = self.product.short if short else self.product.name
        return f"{_count_words(self.count)} x {name}"


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

    def cost(self, order: dict[str, int]) -> tuple[int, int, int, int]:
        """Fewest pieces, then products, then splits, then catalog order."""
        return (
            self.pieces,
            len(self.units),
            self.splits,
            sum(order[u.product.id] for u in self.units),
        )


class Dispenser:
    """The doses a set of products can make, per administration and per day.

    Parameters
    ----------
    products
        Tablets and capsules that may be dispensed (liquids are not used here).
    max_units
        The most pieces taken at one administration.
    """

    def __init__(self, products: Sequence[Product], max_units: int = DEFAULT_MAX_UNITS) -> None:
        if not 1 <= max_units <= 20:
            raise InputError("--max-units", max_units, "1 to 20 pieces per administration")
        solids = tuple(p for p in products if p.usable)
        if not solids:
            raise InputError("--products", "", "at least one tablet or capsule is needed")
        self.products = solids
        self.max_units = max_units
        self._order = {p.id: i for i, p in enumerate(solids)}
        self.best = self._enumerate()
        self.values = sorted(self.best)
        self._daily: dict[int, list[Decimal]] = {}
        self._split_cache: dict[tuple[Decimal, int], tuple[Decimal, ...] | None] = {}

    def _enumerate(self) -> dict[Decimal, Composition]:
        # Dynamic programming over products: for each dose keep the cheapest way to make
        # it. The cost (pieces, products, split tablets, catalog order) adds up product by
        # product, so the cheapest way to a dose is never beaten by a dearer one.
        Cost = tuple[int, int, int, int]
        states: dict[Decimal, tuple[Cost, tuple[Unit, ...]]] = {Decimal(0): ((0, 0, 0, 0), ())}
        for index, product in enumerate(self.products):
            assert product.strength_mg is not None
            grown = dict(states)
            for dose, (cost, units) in states.items():
                count = product.split
                while cost[0] + ceil_int(count) <= self.max_units:
                    split = 1 if count % 1 else 0
                    new_cost = (
                        cost[0] + ceil_int(count),
                        cost[1] + 1,
                        cost[2] + split,
                        cost[3] + index,
                    )
                    new_dose = normalize(dose + product.strength_mg * count)
                    old = grown.get(new_dose)
                    if old is None or new_cost < old[0]:
                        grown[new_dose] = (new_cost, (*units, Unit(product, normalize(count))))
                    count += product.split
            states = grown
        # the largest strength first, as a pharmacist would read it
        return {
            dose: Composition(tuple(sorted(units, key=lambda u: -u.dose)))
            for dose, (_, units) in states.items()
        }

    @property
    def smallest(self) -> Decimal:
        """The smallest dose one administration can hold."""
        return self.values[1]

    def daily_doses(self, n: int) -> list[Decimal]:
        """Every daily total ``n`` administrations can make, ascending (0 included)."""
        if n not in self._daily:
            totals = {Decimal(0)}
            for _ in range(n):
                totals = {normalize(t + v) for t in totals for v in self.values}
            self._daily[n] = sorted(totals)
        return self._daily[n]

    def compose(self, dose: Decimal) -> Composition:
        """The best way to make one administration's dose."""
        return self.best[normalize(dose)]

    def split(
        self, daily: Decimal, n: int, order: str = "even", previous: Sequence[Decimal] | None = None
    ) -> tuple[Decimal, ...] | None:
        """Share a daily dose among ``n`` administrations, morning first.

        ``even`` keeps the shares as close as the products allow, the larger at
        bedtime; ``morning-first`` keeps later administrations at their previous
        dose for as long as it can, so the morning dose falls to zero first.
        Returns ``None`` when the dose cannot be made.
        """
        daily = normalize(daily)
        if order == "morning-first" and previous is not None:
            shares = self._morning_first(daily, tuple(previous))
            if shares is not None:
                return shares
        key = (daily, n)
        if key not in self._split_cache:
            self._split_cache[key] = self._even(daily, n)
        return self._split_cache[key]

    def _even(self, daily: Decimal, n: int) -> tuple[Decimal, ...] | None:
        values = self.values
        members = self.best
        best: tuple[tuple[Decimal, int, int, int], tuple[Decimal, ...]] | None = None

        def cost(shares: tuple[Decimal, ...]) -> tuple[Decimal, int, int, int]:
            comps = [members[s] for s in shares]
            products = {u.product.id for c in comps for u in c.units}
            return (
                shares[-1] - shares[0],
                sum(c.pieces for c in comps),
                len(products),
                sum(c.splits for c in comps),
            )

        def walk(shares: tuple[Decimal, ...], left: Decimal, k: int) -> None:
            nonlocal best
            low = shares[-1] if shares else Decimal(0)
            if k == 1:
                if left >= low and left in members:
                    full = (*shares, left)
                    c = cost(full)
                    if best is None or c < best[0]:
                        best = (c, full)
                return
            first = shares[0] if shares else None
            for v in values:
                if v < low:
                    continue
                if v * k > left:
                    break
                # the last share is at least the average of what is left
                if best is not None and first is not None and left / k - first > best[0][0]:
                    continue
                walk((*shares, v), left - v, k - 1)

        walk((), daily, n)
        return tuple(normalize(v) for v in best[1]) if best else None

    def _morning_first(
        self, daily: Decimal, previous: tuple[Decimal, ...]
    ) -> tuple[Decimal, ...] | None:
        n = len(previous)
        members = self.best

        def fill(i: int, left: Decimal) -> tuple[Decimal, ...] | None:
            # administrations from the last (bedtime) back to the first (morning)
            if i < 0:
                return () if left == 0 else None
            if i == 0:
                return (left,) if left <= previous[0] and left in members else None
            for v in reversed(self.values):
                if v > previous[i] or v > left:
                    continue
                rest = fill(i - 1, normalize(left - v))
                if rest is not None:
                    return (*rest, v)
            return None

        return fill(n - 1, daily)

    def describe(self) -> str:
        """The products, in one line."""
        return ", ".join(p.name for p in self.products)


def totals(uses: Iterable[tuple[Unit, int]]) -> dict[str, tuple[Product, Decimal]]:
    """Whole tablets to supply per product, given (unit, days taken) pairs.

    A split tablet counts as its share of a tablet dispensed whole; the
    total per product is rounded up to whole tablets once, for the whole supply.
    """
    raw: dict[str, tuple[Product, Decimal]] = {}
    for unit, days in uses:
        product, count = raw.get(unit.product.id, (unit.product, Decimal(0)))
        raw[unit.product.id] = (product, count + unit.count * days)
    return {pid: (p, Decimal(ceil_int(c))) for pid, (p, c) in raw.items()}
