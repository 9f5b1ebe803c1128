"""Equivalent doses between benzodiazepines and Z-drugs, by way of diazepam.

The published tables disagree, up to twofold for clonazepam, lorazepam and
alprazolam (Ashton against VA/DoD 2021). taper keeps each table's values as
the pairs they were published as (``clonazepam 0.25 mg ~ diazepam 5 mg``),
converts with the table asked for, and always shows the range across every
table that lists both drugs, so the clinician sees where sources disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .catalog import Catalog, EquivalenceTable, load_catalog
from .doses import format_mg, format_number, normalize, parse_dose
from .errors import UnknownNameError

DEFAULT_TABLE = "ashton"
_Q = Decimal("0.001")
GUIDANCE = (
    "Equivalents are approximate, based on clinical experience; older or frail people and "
    "those with liver impairment may accumulate diazepam. Switching may go better over 1 to 2 "
    "weeks than 1 to 2 days (2025 Joint Clinical Practice Guideline), with a review 5 to 7 days "
    "after a switch (NHS Scotland 2024)."
)


def _round(value: Decimal) -> Decimal:
    return normalize(value.quantize(_Q))


@dataclass(frozen=True)
class Conversion:
    """``amount`` mg of ``from_drug`` as ``to_drug`` by one table, and the range across all."""

    amount: Decimal
    from_drug: str
    to_drug: str
    table: EquivalenceTable
    low: Decimal
    high: Decimal
    source: str
    across: tuple[tuple[str, Decimal, Decimal], ...]

    @property
    def value(self) -> Decimal:
        """The equivalent by the chosen table (the middle of a published range)."""
        return _round((self.low + self.high) / 2)

    @property
    def spread(self) -> tuple[Decimal, Decimal]:
        """The lowest and highest equivalent across every table that lists both drugs."""
        return (min(a[1] for a in self.across), max(a[2] for a in self.across))

    def describe(self) -> str:
        """The conversion in plain words, with its source and the range across tables."""
        what = (
            format_mg(self.low)
            if self.low == self.high
            else f"{format_number(self.low)} to {format_mg(self.high)}"
        )
        lines = [
            f"{format_mg(self.amount)} {self.from_drug} is about {what} {self.to_drug} "
            f"by the {self.table.title} ({self.table.id}).",
            f"Source: {self.source}.",
        ]
        low, high = self.spread
        if len(self.across) > 1:
            tables = "; ".join(
                f"{tid}: {format_mg(a) if a == b else f'{format_number(a)} to {format_mg(b)}'}"
                for tid, a, b in self.across
            )
            ratio = format_number((high / low).quantize(Decimal("0.1"))) if low else "?"
            lines.append(
                f"Across {len(self.across)} tables: {format_mg(low)} to "
                f"{format_mg(high)} ({tables}); the highest is {ratio} times the lowest."
            )
        else:
            lines.append("Only this table lists both drugs.")
        lines.append(GUIDANCE)
        return "\n".join(lines)


def _name(catalog: Catalog, name: str) -> str:
    key = " ".join(str(name).split()).lower()
    if key in catalog.drugs:
        return key  # a generic name: no need to read the drug's part of the catalog
    try:
        return catalog.drug(key).name
    except UnknownNameError:
        listed = {d for t in catalog.equivalence.values() for d in t.rows} | {"diazepam"}
        if key in listed:
            return key
        raise UnknownNameError(
            "drug", str(name), f"drugs with equivalents: {', '.join(sorted(listed))}"
        ) from None


def _in_table(table: EquivalenceTable, drug: str, mg: Decimal, to: str) -> tuple[Decimal, Decimal]:
    if drug == "diazepam":
        low = high = mg
    else:
        low, high = table.rows[drug].to_diazepam(mg)
    if to == "diazepam":
        return (low, high)
    row = table.rows[to]
    return (row.from_diazepam(low)[0], row.from_diazepam(high)[1])


def exact_ratio(table: EquivalenceTable, from_drug: str, to_drug: str) -> Fraction:
    """mg of ``to_drug`` per mg of ``from_drug`` by ``table``, exactly, from the published pairs.

    Where a pair gives a range, this is the middle of the range, as :attr:`Conversion.value`.
    A decimal ratio would be inexact for pairs such as oxazepam 30 mg ~ diazepam 10 mg; this
    one is not, so 30 mg of oxazepam is 10 mg of diazepam, not 9.99.
    """

    def to_diazepam(drug: str) -> tuple[Fraction, Fraction]:
        if drug == "diazepam":
            return (Fraction(1), Fraction(1))
        row = table.rows[drug]
        d = Fraction(row.diazepam_mg)
        return (d / Fraction(row.drug_mg_high), d / Fraction(row.drug_mg_low))

    low, high = to_diazepam(from_drug)
    if to_drug != "diazepam":
        row = table.rows[to_drug]
        d = Fraction(row.diazepam_mg)
        low, high = low * Fraction(row.drug_mg_low) / d, high * Fraction(row.drug_mg_high) / d
    return (low + high) / 2


def mg_of(value: Fraction) -> Decimal:
    """An exact amount as a decimal, rounded to the microgram where it does not terminate."""
    return _round(Decimal(value.numerator) / Decimal(value.denominator))


def _lists(table: EquivalenceTable, *drugs: str) -> bool:
    return all(d == "diazepam" or d in table.rows for d in drugs)


def convert(
    amount: str | Decimal,
    from_drug: str,
    to_drug: str,
    *,
    table: str = DEFAULT_TABLE,
    catalog: Catalog | None = None,
) -> Conversion:
    """The dose of ``to_drug`` equivalent to ``amount`` of ``from_drug``, by way of diazepam.

    Parameters
    ----------
    amount
        A dose such as ``"1 mg"``.
    from_drug, to_drug
        Generic or brand names.
    table
        The table to convert by (``ashton``, ``va-dod-2021``, ``nhs-scotland-2024``,
        ``who-2009``, ``trc-2024``); the range across all tables is reported as well.

    Raises
    ------
    UnknownNameError
        For a drug or table the catalog does not know, or a table that lacks a drug.

    Examples
    --------
    >>> c = convert("1 mg", "clonazepam", "diazepam")
    >>> c.value, c.spread
    (Decimal('20'), (Decimal('10'), Decimal('20')))
    """
    cat = catalog or load_catalog()
    mg = parse_dose(amount, "amount")
    source_drug, target = _name(cat, from_drug), _name(cat, to_drug)
    if table not in cat.equivalence:
        raise UnknownNameError("table", table, f"tables: {', '.join(sorted(cat.equivalence))}")
    chosen = cat.equivalence[table]
    for drug in (source_drug, target):
        if not any(_lists(t, drug) for t in cat.equivalence.values()):
            raise UnknownNameError(
                "drug",
                drug,
                f"no equivalence table lists {drug}, so there is no sourced equivalent to "
                f"convert by",
                "the tables list immediate-release products only"
                if drug.endswith(("-xr", "-cr"))
                else "",
            )
    if not _lists(chosen, source_drug, target):
        others = [t.id for t in cat.equivalence.values() if _lists(t, source_drug, target)]
        hint = f"tables that list both: {', '.join(others)}" if others else ""
        raise UnknownNameError(
            "table", table, f"the {chosen.title} does not list {source_drug} and {target}", hint
        )
    low, high = _in_table(chosen, source_drug, mg, target)
    across: list[tuple[str, Decimal, Decimal]] = []
    for other in cat.equivalence.values():
        if _lists(other, source_drug, target):
            a, b = _in_table(other, source_drug, mg, target)
            across.append((other.id, _round(a), _round(b)))
    pairs = "; ".join(chosen.rows[d].describe() for d in (source_drug, target) if d in chosen.rows)
    return Conversion(
        amount=mg,
        from_drug=source_drug,
        to_drug=target,
        table=chosen,
        low=_round(low),
        high=_round(high),
        source=f"{cat.cite(chosen.source)}: {pairs}",
        across=tuple(across),
    )
