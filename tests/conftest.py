from __future__ import annotations

from pathlib import Path

import pytest

from taper.catalog import Catalog, load_catalog

TESTS = Path(__file__).parent
TINY = TESTS / "data" / "tiny_catalog.toml"
CHECK_PLAN = TESTS.parent.parent / "shared" / "tools" / "check_plan.py"


@pytest.fixture(scope="session")
def tiny() -> Catalog:
    return load_catalog(TINY)


@pytest.fixture(scope="session")
def builtin() -> Catalog:
    return load_catalog()
