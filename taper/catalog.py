"""The drug catalog: drugs, products, documented dose ranges and their sources.

The catalog is TOML shipped as package data (``taper/data/catalog.toml``) and
read by the package's own loader (so also from a zip); a clinician may pass a file of
their own. Every product and range names a source from the file's ``[sources]``
table, and the loader refuses a file where one does not.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import cache, partial
from typing import TYPE_CHECKING, Any, TypeVar

from .doses import format_mg, format_number, normalize
from .errors import CatalogError, UnknownNameError
from .textfile import parse_toml, read_text, read_toml

if TYPE_CHECKING:
    from pathlib import Path

FORMS = ("tablet", "odt", "er-tablet", "capsule", "film", "sublingual", "solution")
SOLID_FORMS = ("tablet", "odt", "er-tablet", "capsule", "film", "sublingual")
#: taper's own bounds on a catalog's numbers (not clinical figures): below a million, and at
#: most four decimal places (a tenth of a microgram of a strength), so that the doses a product
#: makes are counted exactly and in bounded time; a strength of 1e-9 mg is refused
LARGEST = 1_000_000
PLACES = 4

#: how each form is taken: a dose is made of one way of taking it where the products allow
#: (tablets and capsules swallowed, an ODT on the tongue, a liquid measured)
TAKEN = {
    "tablet": "swallowed",
    "er-tablet": "swallowed",
    "capsule": "swallowed",
    "odt": "on the tongue",
    "film": "on the tongue",
    "sublingual": "under the tongue",
    "solution": "measured",
}
#: how far a product may be split: the smallest fraction of a whole unit
SPLITS = {"none": Decimal(1), "half": Decimal("0.5"), "quarter": Decimal("0.25")}
#: forms that are never split, whatever a file says (FDA 2013 scoring guidance,
#: USP <705>; ER tablets: "do not divide, crush or chew" in the Xanax XR label; an oral film
#: and a sublingual tablet are taken whole)
NEVER_SPLIT = ("odt", "er-tablet", "capsule", "film", "sublingual")
#: a form's name on a schedule, where it differs from the catalog's word
FORM_WORDS = {
    "odt": "ODT",
    "er-tablet": "extended-release tablet",
    "film": "oral film",
    "sublingual": "sublingual tablet",
}
#: a liquid whose label gives no measuring device is measured with a 1 mL oral syringe marked
#: every 0.1 mL: taper's own assumption, not a figure from a label (each full syringe is one
#: piece); ``--liquid-increment`` changes the marks
DEFAULT_INCREMENT_ML = Decimal("0.1")
DEFAULT_MEASURE_ML = Decimal("1")
DEFAULT_MEASURE = "a 1 mL oral syringe marked every 0.1 mL"
#: the finest marks taper's syringe may be given (--liquid-increment): 0.01 mL, the marks of a
#: 1 mL oral syringe at its finest; taper's own bound, not a figure from a label
FINEST_INCREMENT_ML = Decimal("0.01")
REGIONS = ("us", "uk")
POPULATIONS = ("adult", "older-adult", "child")
TIMES = ("morning", "midday", "evening", "bedtime")
_KEYS = {
    "catalog": {"name", "version", "note"},
    "source": {"title", "year", "issuer", "url", "note"},
    "drug": {
        "display",
        "tall_man",
        "aliases",
        "class",
        "doses_per_day",
        "default_doses_per_day",
        "doses_per_day_source",
        "doses_per_day_note",
        "once_daily_time",
        "once_daily_time_source",
        "products",
        "ranges",
        "half_life_hours",
        "metabolite_half_life_hours",
        "half_life_source",
    },
    "product": {
        "id",
        "name",
        "form",
        "strength_mg",
        "split",
        "regions",
        "brands",
        "source",
        "note",
        "mg_per_ml",
        "increment_ml",
        "max_ml",
        "pack_ml",
        "drops_per_ml",
        "dispensable",
        "break_line",
        "break_line_source",
        "measure",
    },
    "table": {"title", "year", "source", "note", "rows"},
    "row": {"drug", "drug_mg", "drug_mg_low", "drug_mg_high", "diazepam_mg", "note"},
    "range": {
        "indication",
        "population",
        "start_mg_per_day",
        "usual_min_mg_per_day",
        "usual_max_mg_per_day",
        "max_mg_per_day",
        "start_max_mg_per_kg_per_day",
        "usual_min_mg_per_kg_per_day",
        "usual_max_mg_per_kg_per_day",
        "above_weight_kg",
        "max_weight_kg",
        "regions",
        "source",
        "note",
    },
}


@dataclass(frozen=True)
class Source:
    """A document a figure comes from."""

    id: str
    title: str
    year: int | None = None
    issuer: str = ""
    url: str = ""

    def cite(self) -> str:
        """A short citation: title and year."""
        year = f", {self.year}" if self.year else ""
        return f"{self.title}{year}"


@dataclass(frozen=True)
class Product:
    """A product a pharmacy can dispense, with how far it may be split."""

    id: str
    name: str
    form: str
    source: str
    strength_mg: Decimal | None = None
    split: Decimal = Decimal(1)
    regions: tuple[str, ...] = REGIONS
    brands: tuple[str, ...] = ()
    mg_per_ml: Decimal | None = None
    increment_ml: Decimal | None = None
    max_ml: Decimal | None = None
    pack_ml: Decimal | None = None
    drops_per_ml: int | None = None
    dispensable: bool = True
    note: str = ""
    #: the drug the product holds (set by the catalog that lists it)
    drug: str = ""
    #: a tablet with a break line but no labelled functional score: a clinician may allow
    #: halving it (off-licence), never taper on its own; with the source that says so
    break_line: bool = False
    break_line_source: str = ""
    #: how a liquid is measured: the label's device, or taper's default measure
    measure: str = ""
    #: whether the liquid's measure is taper's default, not its label's
    default_measure: bool = False

    @property
    def taken(self) -> str:
        """How the product is taken (:data:`TAKEN`): a dose is of one way where it can be."""
        return TAKEN[self.form]

    @property
    def is_solid(self) -> bool:
        """Whether the product is a tablet or capsule (counted in units)."""
        return self.form in SOLID_FORMS

    @property
    def usable(self) -> bool:
        """Whether plans may use it: dispensable, with what is needed to measure a dose."""
        if not self.dispensable:
            return False
        if self.is_solid:
            return self.strength_mg is not None
        return None not in (self.mg_per_ml, self.increment_ml, self.max_ml)

    def remeasured(self, increment: Decimal) -> Product:
        """The liquid measured with taper's default syringe marked every ``increment`` mL."""
        return replace(
            self,
            increment_ml=increment,
            measure=(
                f"a {format_number(DEFAULT_MEASURE_ML)} mL oral syringe marked every "
                f"{format_number(increment)} mL"
            ),
        )

    @property
    def halved_off_licence(self) -> bool:
        """Whether the plan halves a tablet that has no labelled functional score."""
        return self.break_line and self.split < 1

    @property
    def is_liquid(self) -> bool:
        """Whether the product is measured by volume."""
        return self.form == "solution"

    @property
    def step_mg(self) -> Decimal:
        """The mg in one counted unit: a whole tablet, or one measurable volume of liquid."""
        if self.is_liquid:
            assert self.mg_per_ml is not None and self.increment_ml is not None
            return normalize(self.mg_per_ml * self.increment_ml)
        assert self.strength_mg is not None
        return self.strength_mg

    @property
    def short(self) -> str:
        """The product without the drug's name: ``0.5 mg tablet``, ``0.125 mg ODT``."""
        form = FORM_WORDS.get(self.form, self.form)
        if self.is_liquid and self.mg_per_ml is not None:
            word = "drops" if self.drops_per_ml else "oral liquid"
            return f"{format_mg(self.mg_per_ml)}/mL {word}"
        if self.strength_mg is None:
            return self.name
        return f"{format_mg(self.strength_mg)} {form}"

    @property
    def unit_word(self) -> str:
        """What one unit is called on a schedule."""
        if self.is_liquid:
            return "mL"
        return {"capsule": "capsule", "film": "film"}.get(self.form, "tablet")


@dataclass(frozen=True)
class DoseRange:
    """A documented daily dose range for one indication and population."""

    indication: str
    population: str
    source: str
    start_mg_per_day: Decimal | None = None
    usual_min_mg_per_day: Decimal | None = None
    usual_max_mg_per_day: Decimal | None = None
    max_mg_per_day: Decimal | None = None
    regions: tuple[str, ...] = REGIONS
    note: str = ""
    start_max_mg_per_kg_per_day: Decimal | None = None
    usual_min_mg_per_kg_per_day: Decimal | None = None
    usual_max_mg_per_kg_per_day: Decimal | None = None
    above_weight_kg: Decimal | None = None
    max_weight_kg: Decimal | None = None

    def fits_weight(self, weight_kg: Decimal | None) -> bool:
        """Whether the range applies at this body weight (any weight when unknown)."""
        if weight_kg is None:
            return True
        above = self.above_weight_kg is None or weight_kg > self.above_weight_kg
        below = self.max_weight_kg is None or weight_kg <= self.max_weight_kg
        return above and below

    def describe(self) -> str:
        """The range in one line."""
        parts = []
        if self.start_mg_per_day is not None:
            parts.append(f"start {format_mg(self.start_mg_per_day)}/day")
        if self.usual_min_mg_per_day is not None and self.usual_max_mg_per_day is not None:
            low, high = self.usual_min_mg_per_day, self.usual_max_mg_per_day
            usual = format_mg(low) if low == high else f"{format_mg(low)} to {format_mg(high)}"
            parts.append(f"usual {usual}/day")
        if self.max_mg_per_day is not None:
            parts.append(f"at most {format_mg(self.max_mg_per_day)}/day")
        return ", ".join(parts) if parts else "no figures"


@dataclass(frozen=True)
class Drug:
    """A drug with its products, usual divisions and documented ranges."""

    name: str
    display: str
    drug_class: str
    doses_per_day: tuple[int, ...]
    default_doses_per_day: int
    doses_per_day_source: str
    products: tuple[Product, ...]
    ranges: tuple[DoseRange, ...] = ()
    aliases: tuple[str, ...] = ()
    tall_man: str = ""
    once_daily_time: str = "bedtime"
    doses_per_day_note: str = ""
    half_life_hours: tuple[Decimal, Decimal] | None = None
    metabolite_half_life_hours: tuple[Decimal, Decimal] | None = None
    half_life_source: str = ""

    @property
    def longest_half_life_hours(self) -> Decimal | None:
        """The upper end of the documented half-life, the active metabolite's if longer."""
        values = [r[1] for r in (self.half_life_hours, self.metabolite_half_life_hours) if r]
        return max(values) if values else None

    def describe_half_life(self) -> str:
        """``18 to 50 hours`` (and the active metabolite's, where documented)."""
        if self.half_life_hours is None:
            return "not documented"
        low, high = self.half_life_hours
        text = f"{format_number(low)} to {format_number(high)} hours"
        if self.metabolite_half_life_hours:
            m_low, m_high = self.metabolite_half_life_hours
            text += f" (active metabolite {format_number(m_low)} to {format_number(m_high)} hours)"
        return text

    def products_in(self, region: str) -> tuple[Product, ...]:
        """The products marketed in ``region``."""
        return tuple(p for p in self.products if region in p.regions)


@dataclass(frozen=True)
class Equivalent:
    """One published equivalence, as published: ``drug_mg`` of a drug ~ ``diazepam_mg``.

    A range in the source (``1 to 2 mg``) keeps both ends. The pair is kept, never a bare
    ratio: "clonazepam 0.25 mg" means nothing until it is known to be per diazepam 5 mg.
    """

    drug: str
    drug_mg_low: Decimal
    drug_mg_high: Decimal
    diazepam_mg: Decimal

    def to_diazepam(self, mg: Decimal) -> tuple[Decimal, Decimal]:
        """Diazepam mg equivalent to ``mg`` of the drug (low, high)."""
        return (mg * self.diazepam_mg / self.drug_mg_high, mg * self.diazepam_mg / self.drug_mg_low)

    def from_diazepam(self, mg: Decimal) -> tuple[Decimal, Decimal]:
        """Drug mg equivalent to ``mg`` of diazepam (low, high)."""
        return (mg * self.drug_mg_low / self.diazepam_mg, mg * self.drug_mg_high / self.diazepam_mg)

    def describe(self) -> str:
        """``clonazepam 0.5 mg ~ diazepam 10 mg``."""
        low, high = self.drug_mg_low, self.drug_mg_high
        amount = format_mg(low) if low == high else f"{format_number(low)} to {format_mg(high)}"
        return f"{self.drug} {amount} is about diazepam {format_mg(self.diazepam_mg)}"


@dataclass(frozen=True)
class EquivalenceTable:
    """A published table of equivalents to diazepam, with its source."""

    id: str
    title: str
    source: str
    rows: Mapping[str, Equivalent]
    year: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Catalog:
    """Drugs, sources and equivalence tables, as read from one catalog file."""

    name: str
    version: str
    drugs: Mapping[str, Drug]
    sources: Mapping[str, Source]
    path: str = field(default="", compare=False)
    equivalence: Mapping[str, EquivalenceTable] = field(default_factory=dict)

    def drug(self, name: str) -> Drug:
        """Find a drug by generic name or brand alias, in any letter case.

        Raises
        ------
        UnknownNameError
            With the nearest known name suggested.
        """
        key = " ".join(str(name).split()).lower()
        for drug in self.drugs.values():
            if key == drug.name or key in (a.lower() for a in drug.aliases):
                return drug
        import difflib

        names = sorted(self.names())
        near = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        hint = f"did you mean {near[0]}?" if near else ""
        raise UnknownNameError(
            "drug", str(name), f"known drugs: {', '.join(sorted(self.drugs))}", hint
        )

    def names(self) -> Iterable[str]:
        """Generic names and aliases, lower case."""
        for drug in self.drugs.values():
            yield drug.name
            yield from (a.lower() for a in drug.aliases)

    def source(self, source_id: str) -> Source:
        """The source with this id."""
        return self.sources[source_id]

    def cite(self, source_id: str) -> str:
        """A short citation for a source id."""
        return self.sources[source_id].cite()


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read a catalog: the built-in one, or a clinician's own TOML file.

    Parameters
    ----------
    path
        A TOML file in the built-in catalog's format; ``None`` for the built-in catalog.

    Raises
    ------
    CatalogError
        When the file cannot be read or a field is missing, malformed or unsourced.

    Examples
    --------
    >>> catalog = load_catalog()
    >>> catalog.drug("Klonopin").name
    'clonazepam'
    """
    if path is None:
        return _builtin()
    return _load_file(str(path))


@cache
def _builtin() -> Catalog:
    return read_in_parts(builtin_text(), "built-in catalog")


def builtin_text() -> str:
    """The built-in catalog's TOML, read by the package's loader (as ``pkgutil.get_data``)."""
    from . import data

    folder = os.path.dirname(data.__file__ or "")
    loader: Any = data.__spec__.loader if data.__spec__ else None
    return str(loader.get_data(os.path.join(folder, "catalog.toml")).decode("utf-8"))


_T = TypeVar("_T")
#: a table header: ``[sources.S1]``, ``[[drugs.clonazepam.products]]``; groups: the
#: top-level table and the name under it
_HEADER = r"\[\[?([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9_-]+))?(?:\.[A-Za-z0-9_-]+)*\]\]?[ \t]*(?:#.*)?"


class _Parts(Mapping[str, _T]):
    """Sources, drugs or tables, each parsed from its own part of the file when first used.

    The start of a command pays for the drug it plans, not for the whole catalog.
    """

    def __init__(self, parts: dict[str, str], build: Callable[[str, dict[str, Any]], _T]) -> None:
        self._parts = parts
        self._build = build
        self._built: dict[str, _T] = {}

    def __getitem__(self, key: str) -> _T:
        if key not in self._built:
            # setdefault: when two threads parse the same part, both get the first one built
            value = self._build(key, tomllib.loads(self._parts[key]))
            return self._built.setdefault(key, value)
        return self._built[key]

    def __contains__(self, key: object) -> bool:
        return key in self._parts

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def __repr__(self) -> str:
        return repr(dict(self))


def read_in_parts(text: str, origin: str) -> Catalog:
    """The catalog in ``text``, its sources, drugs and tables each parsed when first used.

    The file is cut at its table headers: ``[catalog]`` is read at once, each
    ``[sources.ID]``, ``[drugs.NAME...]`` and ``[equivalence.ID...]`` when it is first
    asked for. A file this cannot cut cleanly (a multi-line string, a header it does not
    know, a drug written as an inline table) is read whole by :func:`parse_catalog`; the
    tests hold that both ways give the same catalog.
    """
    if '"""' in text or "'''" in text:
        return parse_catalog(text, origin)
    header = re.compile(_HEADER)
    head: list[str] = []
    parts: dict[str, dict[str, list[str]]] = {"sources": {}, "drugs": {}, "equivalence": {}}
    current = head
    # each piece of the text runs from a line that starts with "[" to the next one
    starts = [m.start() for m in re.finditer(r"^\[", text, re.MULTILINE)]
    head.append(text[: starts[0] if starts else len(text)])
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        piece = text[start:end]
        match = header.fullmatch(piece.split("\n", 1)[0].rstrip())
        if match is None:
            return parse_catalog(text, origin)
        table, name = match[1], match[2]
        if table in parts:
            if name is None:
                return parse_catalog(text, origin)
            current = parts[table].setdefault(name, [])
        else:
            current = head
        current.append(piece)
    try:
        data = tomllib.loads("".join(head))
    except tomllib.TOMLDecodeError:
        return parse_catalog(text, origin)
    if set(data) != {"catalog"} or not parts["sources"] or not parts["drugs"]:
        return parse_catalog(text, origin)
    reader = _Reader(origin)
    about = reader.table(data, "catalog")
    reader.known(about, "catalog", "catalog")
    texts = {key: {k: "".join(v) for k, v in value.items()} for key, value in parts.items()}
    sources = _Parts(texts["sources"], partial(_source_part, reader))
    drugs = _Parts(texts["drugs"], partial(_drug_part, reader, sources))
    tables = _Parts(texts["equivalence"], partial(_table_part, reader, sources))
    return Catalog(
        name=reader.text(about, "name", "catalog"),
        version=reader.text(about, "version", "catalog"),
        drugs=drugs,
        sources=sources,
        path=origin,
        equivalence=tables,
    )


def _source_part(reader: _Reader, sid: str, data: dict[str, Any]) -> Source:
    return _source(reader, sid, reader.table(data["sources"], sid, "sources"))


def _drug_part(
    reader: _Reader, sources: Mapping[str, Source], name: str, data: dict[str, Any]
) -> Drug:
    return _drug(reader, name, reader.table(data["drugs"], name, "drugs"), sources)


def _table_part(
    reader: _Reader, sources: Mapping[str, Source], tid: str, data: dict[str, Any]
) -> EquivalenceTable:
    return _table(reader, tid, reader.table(data["equivalence"], tid, "equivalence"), sources)


def _load_file(path: str) -> Catalog:
    return parse_catalog(read_text(path, "catalog", "TOML", CatalogError), path)


def parse_catalog(text: str, origin: str = "catalog") -> Catalog:
    """Build a :class:`Catalog` from TOML text; ``origin`` names it in errors."""
    data = parse_toml(text, origin, CatalogError)
    reader = _Reader(origin)
    head = reader.table(data, "catalog")
    reader.known(head, "catalog", "catalog")
    extra = sorted(set(data) - {"catalog", "sources", "drugs", "equivalence"})
    if extra:
        raise reader.fail(
            extra[0], extra[0], "top-level tables: catalog, sources, drugs, equivalence"
        )
    sources = {
        sid: _source(reader, sid, reader.table(data["sources"], sid, "sources"))
        for sid in reader.table(data, "sources")
    }
    drugs: dict[str, Drug] = {}
    product_ids: set[str] = set()
    #: each product's name in each region it is sold in: a pharmacy tells them apart by name
    product_names: set[tuple[str, str]] = set()
    #: each name a drug is found by (its own, its aliases), lower case, and whose it is
    called: dict[str, str] = {}
    for name, body in reader.table(data, "drugs").items():
        drug = _drug(reader, name, reader.table(data["drugs"], name, "drugs"), sources)
        for product in drug.products:
            if product.id in product_ids:
                raise CatalogError(origin, product.id, "product ids must be unique")
            named = {(product.name.lower(), region) for region in product.regions}
            if named & product_names:
                raise CatalogError(
                    f"drugs.{name}.products",
                    product.name,
                    "product names must be unique among the products of a region",
                )
            product_ids.add(product.id)
            product_names |= named
        for alias in drug.aliases:
            if not alias.strip():
                raise CatalogError(f"drugs.{name}.aliases", alias, "a name, not blank")
        for word in (name.lower(), *(a.strip().lower() for a in drug.aliases)):
            if word in called and called[word] != name:
                raise CatalogError(
                    f"drugs.{name}.aliases",
                    word,
                    f"a name no other drug has: {called[word]} is found by it already",
                )
            called[word] = name
        drugs[name] = drug
        del body
    if not drugs:
        raise CatalogError(origin, "", "the catalog lists no drugs")
    tables = {
        tid: _table(reader, tid, reader.table(data["equivalence"], tid, "equivalence"), sources)
        for tid in data.get("equivalence", {})
    }
    return Catalog(
        name=reader.text(head, "name", "catalog"),
        version=reader.text(head, "version", "catalog"),
        drugs=drugs,
        sources=sources,
        path=origin,
        equivalence=tables,
    )


def _table(
    reader: _Reader, tid: str, body: Mapping[str, Any], sources: Mapping[str, Source]
) -> EquivalenceTable:
    where = f"equivalence.{tid}"
    reader.known(body, "table", where)
    rows_raw = body.get("rows")
    if not isinstance(rows_raw, list) or not rows_raw:
        raise reader.fail(f"{where}.rows", rows_raw, "at least one [[rows]] table")
    rows: dict[str, Equivalent] = {}
    for i, raw in enumerate(rows_raw, start=1):
        rw = f"{where}.rows[{i}]"
        if not isinstance(raw, dict):
            raise reader.fail(rw, raw, "a table")
        reader.known(raw, "row", rw)
        drug = reader.text(raw, "drug", rw).lower()
        single = reader.decimal(raw, "drug_mg", rw)
        low = reader.decimal(raw, "drug_mg_low", rw) or single
        high = reader.decimal(raw, "drug_mg_high", rw) or single
        diazepam = reader.decimal(raw, "diazepam_mg", rw)
        if (
            low is None
            or high is None
            or diazepam is None
            or low > high
            or (single is not None and ("drug_mg_low" in raw or "drug_mg_high" in raw))
        ):
            raise reader.fail(rw, drug, "drug_mg (or drug_mg_low and drug_mg_high) and diazepam_mg")
        if drug in rows:
            raise reader.fail(rw, drug, "each drug once per table")
        rows[drug] = Equivalent(drug, low, high, diazepam)
    year = body.get("year")
    if year is not None and not isinstance(year, int):
        raise reader.fail(f"{where}.year", year, "a whole year")
    return EquivalenceTable(
        id=tid,
        title=reader.text(body, "title", where),
        source=reader.source_id(body, where, sources),
        rows=rows,
        year=year,
        note=reader.text(body, "note", where, default=""),
    )


class _Reader:
    """Typed access to parsed TOML with errors that name the file and key."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, given: object, allowed: str) -> CatalogError:
        return CatalogError(f"{self.origin}: {where}", given, allowed)

    def known(self, data: Mapping[str, Any], kind: str, where: str) -> None:
        """Refuse keys the format does not have, so a misspelt key is never ignored."""
        unknown = sorted(set(data) - _KEYS[kind])
        if unknown:
            raise self.fail(
                f"{where}.{unknown[0]}",
                unknown[0],
                f"keys allowed here: {', '.join(sorted(_KEYS[kind]))}",
            )

    def table(self, data: Mapping[str, Any], key: str, where: str = "") -> dict[str, Any]:
        value = data.get(key)
        if not isinstance(value, dict):
            raise self.fail(f"{where}.{key}" if where else key, value, "a table is required")
        return value

    def text(
        self, data: Mapping[str, Any], key: str, where: str, default: str | None = None
    ) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise self.fail(f"{where}.{key}", value, "text is required")
        return value

    def pair(self, data: Mapping[str, Any], key: str, where: str) -> tuple[Decimal, Decimal] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or len(value) != 2:
            raise self.fail(f"{where}.{key}", value, 'a range of two numbers, e.g. ["18", "50"]')
        low = self.decimal({"v": value[0]}, "v", f"{where}.{key}")
        high = self.decimal({"v": value[1]}, "v", f"{where}.{key}")
        if low is None or high is None or low > high:
            raise self.fail(f"{where}.{key}", value, "a low and a high value, low first")
        return (low, high)

    def decimal(self, data: Mapping[str, Any], key: str, where: str) -> Decimal | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(f"{where}.{key}", value, 'write the number as a string, e.g. "0.5"')
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self.fail(f"{where}.{key}", value, "an exact decimal is required") from None
        if not number.is_finite() or number <= 0:
            raise self.fail(f"{where}.{key}", value, "a number above zero is required")
        number = normalize(number)
        exponent = number.as_tuple().exponent
        if number >= LARGEST or (isinstance(exponent, int) and exponent < -PLACES):
            raise self.fail(
                f"{where}.{key}",
                value,
                f"a number below {LARGEST:,} with at most {PLACES} decimal places (taper's own "
                f"bound on a catalog's figures, so that every dose is counted exactly and fast)",
            )
        return number

    def choice(
        self,
        data: Mapping[str, Any],
        key: str,
        where: str,
        allowed: Iterable[str],
        default: str | None = None,
    ) -> str:
        options = tuple(allowed)
        value = data.get(key, default)
        if value not in options:
            raise self.fail(f"{where}.{key}", value, f"one of {', '.join(options)}")
        return str(value)

    def choices(
        self, data: Mapping[str, Any], key: str, where: str, allowed: Iterable[str]
    ) -> tuple[str, ...]:
        options = tuple(allowed)
        value = data.get(key, list(options))
        if not isinstance(value, list) or not value or any(v not in options for v in value):
            raise self.fail(f"{where}.{key}", value, f"a list drawn from {', '.join(options)}")
        return tuple(value)

    def words(self, data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
            raise self.fail(f"{where}.{key}", value, "a list of text is required")
        return tuple(value)

    def source_id(self, data: Mapping[str, Any], where: str, sources: Mapping[str, Source]) -> str:
        value = data.get("source")
        if value not in sources:
            raise self.fail(
                f"{where}.source", value, "every figure needs a source listed under [sources]"
            )
        return str(value)


def _source(reader: _Reader, sid: str, body: Mapping[str, Any]) -> Source:
    reader.known(body, "source", f"sources.{sid}")
    year = body.get("year")
    if year is not None and not isinstance(year, int):
        raise reader.fail(f"sources.{sid}.year", year, "a whole year such as 2023")
    return Source(
        id=sid,
        title=reader.text(body, "title", f"sources.{sid}"),
        year=year,
        issuer=reader.text(body, "issuer", f"sources.{sid}", default=""),
        url=reader.text(body, "url", f"sources.{sid}", default=""),
    )


def _product(
    reader: _Reader, where: str, body: Mapping[str, Any], sources: Mapping[str, Source]
) -> Product:
    reader.known(body, "product", where)
    form = reader.choice(body, "form", where, FORMS)
    split_word = reader.choice(body, "split", where, SPLITS, default="none")
    if form in NEVER_SPLIT and split_word != "none":
        raise reader.fail(f"{where}.split", split_word, f"a {form} is never split: use none")
    strength = reader.decimal(body, "strength_mg", where)
    per_ml = reader.decimal(body, "mg_per_ml", where)
    increment = reader.decimal(body, "increment_ml", where)
    max_ml = reader.decimal(body, "max_ml", where)
    pack_ml = reader.decimal(body, "pack_ml", where)
    drops = body.get("drops_per_ml")
    if drops is not None and (isinstance(drops, bool) or not isinstance(drops, int) or drops < 1):
        raise reader.fail(f"{where}.drops_per_ml", drops, "a whole number of drops in 1 mL")
    if drops is not None:
        # one drop is the measurable unit; an increment given must be whole drops
        if increment is None:
            increment = normalize(Decimal(1) / Decimal(drops))
        elif (increment * drops) % 1:
            raise reader.fail(
                f"{where}.increment_ml",
                format_number(increment),
                f"a whole number of drops at {drops} drops per mL",
            )
    dispensable = body.get("dispensable", True)
    if not isinstance(dispensable, bool):
        raise reader.fail(f"{where}.dispensable", dispensable, "true or false")
    break_line = body.get("break_line", False)
    if not isinstance(break_line, bool):
        raise reader.fail(f"{where}.break_line", break_line, "true or false")
    if break_line and (form != "tablet" or split_word != "none"):
        raise reader.fail(
            f"{where}.break_line",
            break_line,
            "only for a tablet without a functional score (split none)",
        )
    line_source = ""
    if "break_line_source" in body:
        if not break_line:
            raise reader.fail(
                f"{where}.break_line_source",
                body["break_line_source"],
                "only with break_line = true",
            )
        line_source = reader.source_id(
            {"source": body["break_line_source"]}, f"{where}.break_line", sources
        )
    measure = reader.text(body, "measure", where, default="")
    default_measure = False
    if form == "solution":
        if per_ml is None:
            raise reader.fail(f"{where}.mg_per_ml", None, "a solution needs its concentration")
        if dispensable and increment is None and max_ml is None:
            # no device on the label: taper's default measure, said in a finding when used
            increment, max_ml, default_measure = DEFAULT_INCREMENT_ML, DEFAULT_MEASURE_ML, True
            measure = DEFAULT_MEASURE
        if dispensable and increment is None:
            raise reader.fail(
                f"{where}.increment_ml",
                None,
                "a dispensable solution with max_ml needs its smallest measurable volume",
            )
        if dispensable and max_ml is None:
            raise reader.fail(
                f"{where}.max_ml", None, "a dispensable solution needs the most one measure holds"
            )
        if (
            increment is not None
            and max_ml is not None
            and (max_ml < increment or max_ml % increment)
        ):
            raise reader.fail(
                f"{where}.max_ml", format_number(max_ml), "a whole number of increments"
            )
    elif strength is None:
        raise reader.fail(f"{where}.strength_mg", None, "a tablet or capsule needs its strength")
    return Product(
        id=reader.text(body, "id", where),
        name=reader.text(body, "name", where),
        form=form,
        source=reader.source_id(body, where, sources),
        strength_mg=strength,
        split=SPLITS[split_word],
        regions=reader.choices(body, "regions", where, REGIONS),
        brands=reader.words(body, "brands", where),
        mg_per_ml=per_ml,
        increment_ml=increment,
        max_ml=max_ml,
        pack_ml=pack_ml,
        drops_per_ml=drops,
        dispensable=dispensable,
        note=reader.text(body, "note", where, default=""),
        break_line=break_line,
        break_line_source=line_source,
        measure=measure,
        default_measure=default_measure,
    )


def _range(
    reader: _Reader, where: str, body: Mapping[str, Any], sources: Mapping[str, Source]
) -> DoseRange:
    reader.known(body, "range", where)
    return DoseRange(
        indication=reader.text(body, "indication", where),
        population=reader.choice(body, "population", where, POPULATIONS),
        source=reader.source_id(body, where, sources),
        start_mg_per_day=reader.decimal(body, "start_mg_per_day", where),
        usual_min_mg_per_day=reader.decimal(body, "usual_min_mg_per_day", where),
        usual_max_mg_per_day=reader.decimal(body, "usual_max_mg_per_day", where),
        max_mg_per_day=reader.decimal(body, "max_mg_per_day", where),
        regions=reader.choices(body, "regions", where, REGIONS),
        note=reader.text(body, "note", where, default=""),
        start_max_mg_per_kg_per_day=reader.decimal(body, "start_max_mg_per_kg_per_day", where),
        usual_min_mg_per_kg_per_day=reader.decimal(body, "usual_min_mg_per_kg_per_day", where),
        usual_max_mg_per_kg_per_day=reader.decimal(body, "usual_max_mg_per_kg_per_day", where),
        above_weight_kg=reader.decimal(body, "above_weight_kg", where),
        max_weight_kg=reader.decimal(body, "max_weight_kg", where),
    )


def _drug(
    reader: _Reader, name: str, body: Mapping[str, Any], sources: Mapping[str, Source]
) -> Drug:
    where = f"drugs.{name}"
    reader.known(body, "drug", where)
    products_raw = body.get("products")
    if not isinstance(products_raw, list) or not products_raw:
        raise reader.fail(f"{where}.products", products_raw, "at least one product is required")
    products = tuple(
        replace(
            _product(
                reader, f"{where}.products[{i + 1}]", p if isinstance(p, dict) else {}, sources
            ),
            drug=name,
        )
        for i, p in enumerate(products_raw)
    )
    ranges_raw = body.get("ranges", [])
    if not isinstance(ranges_raw, list):
        raise reader.fail(f"{where}.ranges", ranges_raw, "a list of ranges")
    ranges = tuple(
        _range(reader, f"{where}.ranges[{i + 1}]", r if isinstance(r, dict) else {}, sources)
        for i, r in enumerate(ranges_raw)
    )
    per_day = body.get("doses_per_day")
    if (
        not isinstance(per_day, list)
        or not per_day
        or any(not isinstance(n, int) or not 1 <= n <= len(TIMES) for n in per_day)
    ):
        raise reader.fail(
            f"{where}.doses_per_day", per_day, f"a list of whole numbers 1 to {len(TIMES)}"
        )
    default = body.get("default_doses_per_day", per_day[0])
    if default not in per_day:
        raise reader.fail(f"{where}.default_doses_per_day", default, "one of doses_per_day")
    dpd_source = body.get("doses_per_day_source")
    if dpd_source not in sources:
        raise reader.fail(
            f"{where}.doses_per_day_source", dpd_source, "a source listed under [sources]"
        )
    return Drug(
        name=name,
        display=reader.text(body, "display", where, default=name) or name,
        drug_class=reader.text(body, "class", where, default="benzodiazepine"),
        doses_per_day=tuple(per_day),
        default_doses_per_day=int(default),
        doses_per_day_source=str(dpd_source),
        products=products,
        ranges=ranges,
        aliases=reader.words(body, "aliases", where),
        tall_man=reader.text(body, "tall_man", where, default=""),
        once_daily_time=reader.choice(
            body, "once_daily_time", where, ("bedtime", "morning"), default="bedtime"
        ),
        doses_per_day_note=reader.text(body, "doses_per_day_note", where, default=""),
        half_life_hours=reader.pair(body, "half_life_hours", where),
        metabolite_half_life_hours=reader.pair(body, "metabolite_half_life_hours", where),
        half_life_source=_optional_source(reader, body, "half_life_source", where, sources),
    )


def _optional_source(
    reader: _Reader, body: Mapping[str, Any], key: str, where: str, sources: Mapping[str, Source]
) -> str:
    value = body.get(key)
    if value is None:
        if "half_life_hours" in body:
            raise reader.fail(f"{where}.{key}", None, "a half-life needs its source")
        return ""
    if value not in sources:
        raise reader.fail(f"{where}.{key}", value, "a source listed under [sources]")
    return str(value)


_FORMULARY_KEYS = {"name", "version", "sources", "products"}


def load_formulary(catalog: Catalog, path: str | Path) -> Catalog:
    """The catalog with a clinician's local products (and their sources) added.

    The file has ``[sources.ID]`` tables like the catalog's and ``[[products]]``
    tables like a drug's, each with a ``drug`` key naming the drug.

    Raises
    ------
    CatalogError
        When the file cannot be read or a product is malformed or unsourced.
    """
    from pathlib import Path

    origin = str(path)
    data = read_toml(path, "formulary", CatalogError)
    reader = _Reader(origin)
    extra = sorted(set(data) - _FORMULARY_KEYS)
    if extra:
        raise reader.fail(extra[0], extra[0], "top-level keys: sources, products (name, version)")
    sources = dict(catalog.sources)
    for sid, body in data.get("sources", {}).items():
        source = _source(reader, sid, reader.table(data["sources"], sid, "sources"))
        if sid in sources and sources[sid] != source:
            raise reader.fail(f"sources.{sid}", sid, "a source id the catalog does not use already")
        sources[sid] = source
        del body
    items = data.get("products", [])
    if not isinstance(items, list) or not items:
        raise reader.fail("products", items, "at least one [[products]] table")
    drugs = dict(catalog.drugs)
    ids = {p.id for d in drugs.values() for p in d.products}
    for i, raw in enumerate(items, start=1):
        where = f"products[{i}]"
        if not isinstance(raw, dict):
            raise reader.fail(where, raw, "a table")
        body = dict(raw)
        drug = catalog.drug(str(body.pop("drug", "")))
        product = replace(_product(reader, where, body, sources), drug=drug.name)
        if product.id in ids:
            raise reader.fail(f"{where}.id", product.id, "an id the catalog does not use already")
        ids.add(product.id)
        drugs[drug.name] = replace(drugs[drug.name], products=(*drugs[drug.name].products, product))
    return replace(
        catalog, drugs=drugs, sources=sources, version=f"{catalog.version} + {Path(origin).name}"
    )
