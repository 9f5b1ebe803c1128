"""Golden CSV and JSON exports: clonazepam 2 mg under each preset that applies to it,
and each drug-specific preset on its own drug, as the command line writes them (its findings
name its flags). Regenerate with TAPER_UPDATE_GOLDEN=1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from taper import plan
from taper.flags import FLAGS
from taper.reports import csv_text, to_json
from taper.rules import PRESETS
from taper.wording import speaking

GOLDEN = Path(__file__).parent / "golden"
OWN_DRUG = {
    "nice-cks-diazepam": ("diazepam", "20 mg"),
    "nhs-scotland-diazepam": ("diazepam", "10 mg"),
    "alprazolam-label": ("alprazolam", "3 mg"),
}
CASES = [
    (name, *OWN_DRUG.get(name, ("clonazepam", "2 mg")))
    for name, rule in PRESETS.items()
    if not rule.drugs or "clonazepam" in rule.drugs or name in OWN_DRUG
]


def test_every_preset_has_a_golden_case() -> None:
    assert {name for name, _, _ in CASES} == set(PRESETS)


@pytest.mark.parametrize(("preset", "drug", "dose"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("kind", ["csv", "json"])
def test_golden_export(preset: str, drug: str, dose: str, kind: str) -> None:
    with speaking(FLAGS):
        schedule = plan(drug, dose, rule=preset, start="2027-01-04")
    text = csv_text(schedule) if kind == "csv" else to_json(schedule)
    path = GOLDEN / f"{drug}-{dose.replace(' ', '')}-{preset}.{kind}"
    if os.environ.get("TAPER_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text
