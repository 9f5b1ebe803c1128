"""The catalog in words: its drugs, and one drug's products, ranges and sources
(``taper drugs``)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ..doses import format_mg
from ..wording import option

if TYPE_CHECKING:
    from ..catalog import Catalog, Product


def catalog_report(catalog: Catalog) -> list[str]:
    """The catalog's name and version, then each drug with its aliases and strengths."""
    lines = [f"{catalog.name} {catalog.version}"]
    for d in catalog.drugs.values():
        aliases = f" ({', '.join(d.aliases)})" if d.aliases else ""
        strengths = sorted({p.strength_mg for p in d.products if p.strength_mg is not None})
        lines.append(
            f"  {d.name}{aliases}: {len(d.products)} products, "
            f"{', '.join(format_mg(s) for s in strengths)}"
        )
    return lines


def drug_report(catalog: Catalog, name: str) -> list[str]:
    """One drug: its usual doses a day, products, documented ranges, each with its source,
    and the sources cited, in full."""
    d = catalog.drug(name)
    used: list[str] = []

    def cite(source: str) -> str:
        if source not in used:
            used.append(source)
        return f"[{source}]"

    aliases = f" (also {', '.join(d.aliases)})" if d.aliases else ""
    lines = [f"{d.tall_man or d.display}{aliases}, {d.drug_class}"]
    note = f": {d.doses_per_day_note}" if d.doses_per_day_note else ""
    lines.append(
        f"Usual doses a day: {', '.join(map(str, d.doses_per_day))} (default "
        f"{d.default_doses_per_day}){note} {cite(d.doses_per_day_source)}"
    )
    lines.append("Products:")
    for p in d.products:
        extra = f"; {p.note}" if p.note else ""
        lines.append(
            f"  {p.id}: {p.name}; {_how_used(p)}; {', '.join(r.upper() for r in p.regions)}"
            f"{extra} {cite(p.source)}"
        )
    lines.append("Documented daily ranges:")
    for r in d.ranges:
        where = ", ".join(x.upper() for x in r.regions)
        extra = f"; {r.note}" if r.note else ""
        lines.append(
            f"  {r.indication}, {r.population} ({where}): {r.describe()}{extra} {cite(r.source)}"
        )
    lines.append("Sources:")
    for sid in used:
        s = catalog.source(sid)
        url = f" {s.url}" if s.url else ""
        lines.append(f"  [{sid}] {s.cite()}{url}")
    return lines


def _how_used(p: Product) -> str:
    """How a product is taken in plans: split how far, or measured with what."""
    if p.strength_mg is not None:
        split = {1: "not split", 0.5: "halves", 0.25: "quarters"}.get(float(p.split), "")
        if p.break_line:
            split += f" (a break line: halved only with {option('halve')}, off-licence)"
        return f"{p.short}, {split}"
    if p.usable:
        own = (
            f" (taper's own assumption: {option('liquid_increment')})" if p.default_measure else ""
        )
        return f"{p.short}, measured with {p.measure}{own}"
    return f"{format_mg(p.mg_per_ml or Decimal(0))}/mL {p.form} (not used in plans)"
