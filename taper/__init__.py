"""taper: benzodiazepine taper schedules a pharmacy can dispense.

A tool for clinicians; it does not replace their judgement. See README.md.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .catalog import Catalog, Drug, Product, load_catalog, load_formulary
from .equivalence import Conversion, convert
from .errors import CatalogError, InputError, PlanRefused, TaperError, UnknownNameError
from .fidelity import Fidelity, fidelity
from .planner import plan
from .rules import (
    PRESETS,
    Band,
    Bands,
    FixedAmount,
    Hold,
    Hyperbolic,
    PercentOfCurrent,
    PercentOfStart,
    Phase,
    Phases,
    Rule,
    build_rule,
    load_protocol,
)
from .schedule import Administration, Finding, Patient, Schedule, Step
from .validation import check


def write_csv(schedule: Schedule, path: str) -> None:
    """Write ``schedule`` as CSV to ``path`` (atomically)."""
    from .reports.table import write_csv as _write

    _write(schedule, path)


def write_json(schedule: Schedule, path: str) -> None:
    """Write ``schedule`` as JSON (format ``taper-plan/1``) to ``path`` (atomically)."""
    from .reports.plan_json import write_json as _write

    _write(schedule, path)


__all__ = [
    "PRESETS",
    "Administration",
    "Band",
    "Bands",
    "Catalog",
    "CatalogError",
    "Conversion",
    "Drug",
    "Fidelity",
    "Finding",
    "FixedAmount",
    "Hold",
    "Hyperbolic",
    "InputError",
    "Patient",
    "PercentOfCurrent",
    "PercentOfStart",
    "Phase",
    "Phases",
    "PlanRefused",
    "Product",
    "Rule",
    "Schedule",
    "Step",
    "TaperError",
    "UnknownNameError",
    "__version__",
    "build_rule",
    "check",
    "convert",
    "fidelity",
    "load_catalog",
    "load_formulary",
    "load_protocol",
    "plan",
    "write_csv",
    "write_json",
]
