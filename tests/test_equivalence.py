from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner

from taper.catalog import load_catalog, parse_catalog
from taper.cli import cli
from taper.equivalence import convert
from taper.errors import CatalogError, UnknownNameError

from .conftest import TINY

D = Decimal


@pytest.fixture(scope="module")
def tiny():  # type: ignore[no-untyped-def]
    return load_catalog(TINY)


def test_tables_keep_their_published_pairs(tiny) -> None:  # type: ignore[no-untyped-def]
    b = tiny.equivalence["table-b"].rows["testazepam"]
    assert (b.drug_mg_low, b.diazepam_mg) == (D("0.25"), D(5))  # not doubled to "per 10 mg"
    assert b.to_diazepam(D(1)) == (D(20), D(20))


def test_convert_by_one_table_and_across_all(tiny) -> None:  # type: ignore[no-untyped-def]
    result = convert("1 mg", "testazepam", "diazepam", table="table-a", catalog=tiny)
    assert result.value == D(10)
    assert result.spread == (D(10), D(20))
    assert [a[0] for a in result.across] == ["table-a", "table-b"]
    text = result.describe()
    assert "1 mg testazepam is about 10 mg diazepam by the Test table A (table-a)." in text
    assert "Source: Test source, 2026: testazepam 1 mg is about diazepam 10 mg." in text
    assert "the highest is 2 times the lowest" in text


def test_convert_between_two_drugs_by_way_of_diazepam(tiny) -> None:  # type: ignore[no-untyped-def]
    result = convert("2 mg", "Testo", "onlybig", table="table-a", catalog=tiny)
    assert result.value == D(10)  # 2 mg testazepam ~ 20 mg diazepam ~ 10 mg onlybig
    back = convert("10 mg", "diazepam", "testazepam", table="table-b", catalog=tiny)
    assert back.value == D("0.5")


def test_a_published_range_gives_a_range(tiny) -> None:  # type: ignore[no-untyped-def]
    result = convert("10 mg", "diazepam", "rangezepam", table="table-a", catalog=tiny)
    assert (result.low, result.high) == (D(1), D(2))
    assert result.value == D("1.5")
    assert "1 to 2 mg rangezepam" in result.describe()


def test_unknown_names_and_tables(tiny) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownNameError, match="drugs with equivalents"):
        convert("1 mg", "aspirin", "diazepam", catalog=tiny)
    with pytest.raises(UnknownNameError, match="tables: table-a, table-b"):
        convert("1 mg", "testazepam", "diazepam", table="nope", catalog=tiny)
    with pytest.raises(UnknownNameError, match="does not list onlybig") as info:
        convert("1 mg", "onlybig", "diazepam", table="table-b", catalog=tiny)
    assert info.value.hint == "tables that list both: table-a"


def test_malformed_tables_are_refused() -> None:
    base = TINY.read_text(encoding="utf-8")
    with pytest.raises(CatalogError, match=r"drug_mg \(or drug_mg_low and drug_mg_high\)"):
        parse_catalog(base.replace('drug_mg = "5"\n', "", 1))
    with pytest.raises(CatalogError, match="each drug once per table"):
        parse_catalog(
            base + '\n[[equivalence.table-b.rows]]\ndrug = "testazepam"\n'
            'drug_mg = "1"\ndiazepam_mg = "5"\n'
        )


def test_convert_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        cli,
        [
            "convert",
            "1",
            "mg",
            "testazepam",
            "diazepam",
            "--table",
            "table-b",
            "--catalog",
            str(TINY),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1 mg testazepam is about 20 mg diazepam")
    bad = CliRunner().invoke(cli, ["convert", "1mg", "testazepam", "--catalog", str(TINY)])
    assert bad.exit_code == 2
    bare = CliRunner().invoke(
        cli, ["convert", "1", "testazepam", "diazepam", "--catalog", str(TINY)]
    )
    assert bare.exit_code == 2
    assert bare.stderr == "Error: amount: got '1'; give a unit: 1 mg or 1000 mcg\n"


# --- the built-in tables, against clinical.md section 3.1 (normalised to diazepam 10 mg) -------

PER_DIAZEPAM_10 = {
    ("clonazepam", "ashton"): "0.5",
    ("clonazepam", "va-dod-2021"): "1",
    ("clonazepam", "nhs-scotland-2024"): "0.5",
    ("clonazepam", "trc-2024"): "0.5",
    ("lorazepam", "ashton"): "1",
    ("lorazepam", "va-dod-2021"): "2",
    ("lorazepam", "nhs-scotland-2024"): "1",
    ("lorazepam", "who-2009"): "1",
    ("alprazolam", "ashton"): "0.5",
    ("alprazolam", "va-dod-2021"): "1",
    ("alprazolam", "who-2009"): "1",
    ("alprazolam", "trc-2024"): "1",
    ("oxazepam", "ashton"): "20",
    ("oxazepam", "va-dod-2021"): "30",
    ("oxazepam", "nhs-scotland-2024"): "20",
    ("oxazepam", "who-2009"): "30",
    ("temazepam", "ashton"): "20",
    ("temazepam", "va-dod-2021"): "15",
    ("temazepam", "nhs-scotland-2024"): "20",
    ("temazepam", "who-2009"): "20",
    ("chlordiazepoxide", "ashton"): "25",
    ("chlordiazepoxide", "va-dod-2021"): "25",
    ("chlordiazepoxide", "nhs-scotland-2024"): "25",
    ("clobazam", "ashton"): "20",
    ("clobazam", "nhs-scotland-2024"): "20",
    ("clobazam", "who-2009"): "20",
    ("clobazam", "trc-2024"): "20",
    ("nitrazepam", "ashton"): "10",
    ("zolpidem", "ashton"): "20",
    ("zolpidem", "nhs-scotland-2024"): "20",
    ("zopiclone", "ashton"): "15",
    ("zopiclone", "nhs-scotland-2024"): "15",
    ("triazolam", "va-dod-2021"): "0.25",
    ("eszopiclone", "ashton"): "3",
}


@pytest.mark.parametrize(("drug", "table"), sorted(PER_DIAZEPAM_10))
def test_builtin_tables_agree_with_the_cited_values(drug: str, table: str) -> None:
    mg = PER_DIAZEPAM_10[(drug, table)]
    assert convert(f"{mg} mg", drug, "diazepam", table=table).value == D(10)


def test_every_pair_converts_through_diazepam_consistently() -> None:
    catalog = load_catalog()
    for table in catalog.equivalence.values():
        rows = [r for r in table.rows.values() if r.drug_mg_low == r.drug_mg_high]
        for a in rows:
            for b in rows:
                if a is b:
                    continue
                result = convert(a.drug_mg_low, a.drug, b.drug, table=table.id, catalog=catalog)
                expected = b.drug_mg_low * (a.diazepam_mg / b.diazepam_mg)
                assert abs(result.value - expected) < D("0.001"), (table.id, a.drug, b.drug)


def test_the_range_across_tables_shows_where_sources_disagree() -> None:
    for drug, low, high in (("clonazepam", 10, 20), ("lorazepam", 5, 10), ("alprazolam", 10, 20)):
        result = convert("1 mg", drug, "diazepam")
        assert result.spread == (D(low), D(high)), drug
        assert "the highest is 2 times the lowest" in result.describe()


def test_a_published_range_in_a_builtin_table() -> None:
    result = convert("10 mg", "diazepam", "chlordiazepoxide", table="trc-2024")
    assert (result.low, result.high) == (D(20), D(50))
