from __future__ import annotations

import os
from pathlib import Path

import pytest

from taper import doses, validation
from taper.alternatives import _FOUND
from taper.catalog import Catalog, load_catalog
from taper.dispensing import dispenser_for
from taper.planner import _SETS

TESTS = Path(__file__).parent
TINY = TESTS / "data" / "tiny_catalog.toml"


def plan_json_problems(text: str) -> list[str]:
    """Every way a plan's JSON text falls short of the contract (taper/data/plan.schema.json),
    one line each, with where."""
    import json
    from importlib.resources import files

    from jsonschema import Draft202012Validator

    schema = json.loads(files("taper.data").joinpath("plan.schema.json").read_text("utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(json.loads(text))]


@pytest.fixture(scope="session")
def tiny() -> Catalog:
    return load_catalog(TINY)


@pytest.fixture(scope="session")
def builtin() -> Catalog:
    return load_catalog()


@pytest.fixture(autouse=True)
def _fresh_dispensers() -> None:
    """Under mutation testing, start each test with no dispenser left by an earlier one.

    mutmut runs each mutant in a process forked after the clean run; the dispensers cached
    there (and the shares each remembers), the alternatives found for a prescription, the
    product sets chosen for one and the values of the functions kept in an lru_cache would
    otherwise hide a mutant in the code that fills those caches.
    """
    if os.environ.get("MUTANT_UNDER_TEST"):
        dispenser_for.cache_clear()
        _FOUND.clear()
        _SETS.clear()
        # and the values kept by what they depend on: a rule's own pace against the
        # guideline's (which runs rules.ideal_steps), a drug's diazepam range, a number's words
        validation.rule_is_faster.cache_clear()
        validation._builtin_range.cache_clear()
        doses.format_number.cache_clear()
