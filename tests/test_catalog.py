from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from taper.catalog import Catalog, load_catalog, parse_catalog
from taper.errors import CatalogError, UnknownNameError

from .conftest import TINY

D = Decimal


def test_builtin_catalog_has_the_required_drugs(builtin: Catalog) -> None:
    assert {
        "alprazolam",
        "alprazolam-xr",
        "chlordiazepoxide",
        "clobazam",
        "clonazepam",
        "clorazepate",
        "diazepam",
        "lorazepam",
        "nitrazepam",
        "oxazepam",
        "temazepam",
        "triazolam",
        "zolpidem",
        "zopiclone",
        "eszopiclone",
    } <= set(builtin.drugs)
    assert builtin.version
    for name, drug in builtin.drugs.items():
        assert {p.drug for p in drug.products} == {name}


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("Klonopin", "clonazepam"),
        ("rivotril", "clonazepam"),
        ("Valium", "diazepam"),
        ("XANAX", "alprazolam"),
        ("Xanax XR", "alprazolam-xr"),
        ("Ativan", "lorazepam"),
    ],
)
def test_brand_names_resolve(builtin: Catalog, alias: str, name: str) -> None:
    assert builtin.drug(alias).name == name


def test_every_figure_has_a_listed_source(builtin: Catalog) -> None:
    for drug in builtin.drugs.values():
        assert drug.doses_per_day_source in builtin.sources
        for product in drug.products:
            assert product.source in builtin.sources, product.id
        for rng in drug.ranges:
            assert rng.source in builtin.sources, (drug.name, rng.indication)
    for source in builtin.sources.values():
        assert source.title


def test_clonazepam_products_and_splitting(builtin: Catalog) -> None:
    products = {p.id: p for p in builtin.drug("clonazepam").products}
    assert products["clonazepam-tab-0.5"].split == D("0.5")
    assert products["clonazepam-tab-1"].split == D(1)
    assert products["clonazepam-tab-2"].split == D(1)
    odts = [p for p in products.values() if p.form == "odt"]
    assert sorted(p.strength_mg for p in odts) == [D("0.125"), D("0.25"), D("0.5"), D(1), D(2)]  # type: ignore[type-var]
    assert all(p.split == 1 and p.regions == ("us",) for p in odts)
    uk = builtin.drug("clonazepam").products_in("uk")
    assert {p.strength_mg for p in uk if p.is_solid} == {D("0.5"), D(2)}
    # the UK's licensed oral solutions (Rosemont SmPC), measured with the pack's spoon
    liquids = {p.mg_per_ml: p for p in uk if p.is_liquid}
    assert set(liquids) == {D("0.1"), D("0.4")}
    assert all((p.increment_ml, p.max_ml) == (D("1.25"), D(5)) for p in liquids.values())
    assert not any(p.default_measure for p in liquids.values())
    assert liquids[D("0.1")].step_mg == D("0.125")


def test_extended_release_is_never_split(builtin: Catalog) -> None:
    for drug in builtin.drugs.values():
        for product in drug.products:
            if product.form in ("odt", "er-tablet", "capsule", "film", "sublingual"):
                assert product.split == 1, product.id
    assert all(p.form == "er-tablet" for p in builtin.drug("alprazolam-xr").products)


def test_break_lines_are_only_on_unscored_tablets(builtin: Catalog) -> None:
    """A break line lets a clinician allow halving; a scored tablet halves anyway."""
    lined = {p.id for d in builtin.drugs.values() for p in d.products if p.break_line}
    assert {"diazepam-tab-2", "diazepam-tab-2-uk", "lorazepam-tab-1"} <= lined
    assert "clonazepam-tab-1" not in lined  # the K-shaped perforation is not a score
    for drug in builtin.drugs.values():
        for product in drug.products:
            if product.break_line:
                assert product.form == "tablet" and product.split == 1, product.id


def test_clonazepam_documented_ranges(builtin: Catalog) -> None:
    ranges = builtin.drug("clonazepam").ranges
    panic = next(r for r in ranges if r.indication == "panic-disorder" and r.population == "adult")
    assert (panic.start_mg_per_day, panic.max_mg_per_day) == (D("0.5"), D(4))
    seizure = next(
        r
        for r in ranges
        if r.indication == "seizure" and r.population == "adult" and "us" in r.regions
    )
    assert seizure.max_mg_per_day == D(20)


def test_every_liquid_is_measurable_with_its_label_device_or_taper_s_default(
    builtin: Catalog,
) -> None:
    liquids = [p for d in builtin.drugs.values() for p in d.products if p.form == "solution"]
    assert len(liquids) >= 10
    assert all(p.usable for p in liquids)
    for liquid in liquids:
        assert liquid.measure, liquid.id
        if liquid.default_measure:
            # taper's own assumption (said so by the plan's liquid-measure finding): a 1 mL
            # oral syringe marked every 0.1 mL
            assert (liquid.increment_ml, liquid.max_ml) == (D("0.1"), D(1))
            assert liquid.measure == "a 1 mL oral syringe marked every 0.1 mL"
    uk_diazepam = {p.mg_per_ml for p in builtin.drug("diazepam").products_in("uk") if p.is_liquid}
    assert uk_diazepam == {D("0.4"), D(1)}  # 2 mg/5 mL and 5 mg/5 mL


def test_tiny_catalog(tiny: Catalog) -> None:
    assert tiny.drug("testo").name == "testazepam"
    assert tiny.cite("T1") == "Test source, 2026"


def test_unknown_drug_suggests(tiny: Catalog) -> None:
    with pytest.raises(UnknownNameError) as info:
        tiny.drug("testazepan")
    assert info.value.hint == "did you mean testazepam?"
    with pytest.raises(UnknownNameError) as far:
        tiny.drug("aspirin")
    assert far.value.hint == ""


BASE = TINY.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'regions = ["us", "uk"]\nsource = "T1"',
            'regions = ["us", "uk"]\nsource = "T9"',
            "every figure needs a source",
        ),
        ('strength_mg = "2"', "strength_mg = 2", "write the number as a string"),
        ('strength_mg = "2"', 'strength_mg = "-2"', "a number above zero"),
        ('strength_mg = "2"', 'strength_mg = "two"', "an exact decimal"),
        ('form = "capsule"', 'form = "patch"', "one of tablet, odt"),
        (
            'form = "capsule"\nstrength_mg = "0.25"',
            'form = "capsule"\nsplit = "half"\nstrength_mg = "0.25"',
            "a capsule is never split",
        ),
        ('regions = ["us"]', 'regions = ["fr"]', "a list drawn from us, uk"),
        ("default_doses_per_day = 2", "default_doses_per_day = 4", "one of doses_per_day"),
        ("default_doses_per_day = 2", "default_doses_per_dya = 2", "keys allowed here"),
        ('id = "testazepam-tab-2"', 'id = "testazepam-tab-1"', "product ids must be unique"),
        ('max_mg_per_day = "10"', 'max_mg_per_day = "10"\npopulation2 = "x"', "keys allowed here"),
        ("[catalog]", "[catalogue]\n[catalog]", "top-level tables"),
    ],
)
def test_malformed_catalogs_name_the_key(old: str, new: str, message: str) -> None:
    assert old in BASE
    with pytest.raises(CatalogError, match=message) as info:
        parse_catalog(BASE.replace(old, new, 1), "mine.toml")
    assert str(info.value).startswith("mine.toml: ")


def test_a_solution_needs_its_measurable_volume() -> None:
    solution = (
        '\n[[drugs.onlybig.products]]\nid = "onlybig-sol"\nname = "onlybig 1 mg/mL solution"\n'
        'form = "solution"\nmg_per_ml = "1"\nsource = "T1"\n'
    )
    # no measure on the label: taper's default syringe, said to be taper's own
    default = parse_catalog(BASE + solution).drug("onlybig").products[-1]
    assert default.usable and default.default_measure
    assert (default.increment_ml, default.max_ml) == (D("0.1"), D(1))
    with pytest.raises(CatalogError, match="smallest measurable volume"):
        parse_catalog(BASE + solution + 'max_ml = "1"\n')
    catalog = parse_catalog(BASE + solution + "dispensable = false\n")
    assert not catalog.drug("onlybig").products[-1].usable
    with pytest.raises(CatalogError, match="the most one measure holds"):
        parse_catalog(BASE + solution + 'increment_ml = "0.1"\n')
    with pytest.raises(CatalogError, match="a whole number of increments"):
        parse_catalog(BASE + solution + 'increment_ml = "0.3"\nmax_ml = "1"\n')
    measured = parse_catalog(BASE + solution + 'increment_ml = "0.1"\nmax_ml = "1"\n')
    liquid = measured.drug("onlybig").products[-1]
    assert liquid.increment_ml == D("0.1")
    assert liquid.usable
    assert liquid.step_mg == D("0.1")
    drops = parse_catalog(BASE + solution + 'drops_per_ml = 25\nmax_ml = "1"\n')
    assert drops.drug("onlybig").products[-1].increment_ml == D("0.04")


def test_unreadable_catalog_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read the file"):
        load_catalog(tmp_path / "missing.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CatalogError, match="UTF-8"):
        load_catalog(binary)
    with pytest.raises(CatalogError, match="not valid TOML"):
        parse_catalog("[catalog", "x.toml")
    with pytest.raises(CatalogError, match="a table is required"):
        parse_catalog("", "empty.toml")


def test_a_break_line_is_for_an_unscored_tablet_with_its_source() -> None:
    tablet = (
        '\n[[drugs.onlybig.products]]\nid = "onlybig-tab"\nname = "onlybig 5 mg lined tablet"\n'
        'form = "tablet"\nstrength_mg = "5"\nsource = "T1"\n'
    )
    lined = parse_catalog(BASE + tablet + 'break_line = true\nbreak_line_source = "T1"\n')
    product = lined.drug("onlybig").products[-1]
    assert (product.break_line, product.break_line_source, product.split) == (True, "T1", D(1))
    with pytest.raises(CatalogError, match="only for a tablet without a functional score"):
        parse_catalog(BASE + tablet + 'split = "half"\nbreak_line = true\n')
    with pytest.raises(CatalogError, match="only with break_line = true"):
        parse_catalog(BASE + tablet + 'break_line_source = "T1"\n')
    with pytest.raises(CatalogError, match="every figure needs a source"):
        parse_catalog(BASE + tablet + 'break_line = true\nbreak_line_source = "T9"\n')


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('aliases = ["Testo"]', 'aliases = ["Onlybig"]', "testazepam is found by it already"),
        ("[drugs.onlybig]\n", '[drugs.onlybig]\naliases = ["testo"]\n', "is found by it already"),
        ('aliases = ["Testo"]', 'aliases = [" "]', "a name, not blank"),
    ],
    ids=["alias is another drug's name", "alias shared", "blank alias"],
)
def test_a_drug_is_found_by_names_no_other_drug_has(old: str, new: str, words: str) -> None:
    assert old in BASE
    with pytest.raises(CatalogError, match=words):
        parse_catalog(BASE.replace(old, new, 1))


def test_two_products_of_one_name_are_refused() -> None:
    twin = (
        '\n[[drugs.onlybig.products]]\nid = "onlybig-tab-twin"\nname = "onlybig 5 mg tablet"\n'
        'form = "tablet"\nstrength_mg = "5"\nsource = "T1"\n'
    )
    with pytest.raises(CatalogError, match="product names must be unique"):
        parse_catalog(BASE + twin)
    # the same name in two regions is two regions' products (the built-in catalog's US and UK
    # diazepam 2 mg tablets): read whole, it holds both
    whole = parse_catalog(
        (Path(__file__).parent.parent / "taper" / "data" / "catalog.toml").read_text("utf-8")
    )
    assert [p.name for p in whole.drug("diazepam").products].count("diazepam 2 mg tablet") == 2
