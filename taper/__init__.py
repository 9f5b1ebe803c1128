"""taper: benzodiazepine taper schedules a pharmacy can dispense.

A tool for clinicians; it does not replace their judgement. See README.md.
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

#: where each public name lives; a name is imported the first time it is used, so that
#: ``import taper`` (and the command line's start) stays light
_WHERE = {
    "Catalog": "catalog",
    "Drug": "catalog",
    "Product": "catalog",
    "load_catalog": "catalog",
    "load_formulary": "catalog",
    "Conversion": "equivalence",
    "convert": "equivalence",
    "CatalogError": "errors",
    "InputError": "errors",
    "PlanRefused": "errors",
    "TaperError": "errors",
    "UnknownNameError": "errors",
    "Fidelity": "tracking",
    "fidelity": "tracking",
    "plan": "planning",
    "read_plan": "plan_json",
    "replan": "replanning",
    "PRESETS": "rules",
    "Band": "rules",
    "Bands": "rules",
    "FixedAmount": "rules",
    "Hold": "rules",
    "Hyperbolic": "rules",
    "PercentOfCurrent": "rules",
    "PercentOfStart": "rules",
    "Phase": "rules",
    "Phases": "rules",
    "Rule": "rules",
    "build_rule": "rules",
    "load_protocol": "rules",
    "Administration": "schedule",
    "Finding": "schedule",
    "Patient": "schedule",
    "Schedule": "schedule",
    "Step": "schedule",
    "check": "checking",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


if TYPE_CHECKING:
    from .catalog import Catalog, Drug, Product, load_catalog, load_formulary
    from .checking import check
    from .equivalence import Conversion, convert
    from .errors import CatalogError, InputError, PlanRefused, TaperError, UnknownNameError
    from .plan_json import read_plan
    from .planning import plan
    from .replanning import replan
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
    from .tracking import Fidelity, fidelity


def compare(plans: Any = None, *, rules: Any = (), **prescription: Any) -> Any:
    """Compare named plans, or one prescription under several rules (pandas, in notebooks).

    Parameters
    ----------
    plans
        Named schedules: ``{"slow": plan(...), "label": plan(...)}``.
    rules
        Rule names, or ``{name: rule}``, to plan ``prescription`` under.
    **prescription
        What :func:`plan` takes: ``drug``, ``dose``, ``start``...

    Returns
    -------
    Comparison
        ``.table``, a DataFrame of each plan's duration, steps, largest cut, gap from the
        ideal dose, units a day and findings by severity; ``.plot()`` draws every plan.

    Examples
    --------
    >>> import taper
    >>> c = taper.compare(rules=["fda-label-clonazepam", "deprescribing-bzra"],
    ...                   **taper.load_example())
    >>> c.table["duration_days"].tolist()
    [21, 56]
    """
    from .reports.frames import compare as _compare

    return _compare(plans, rules=rules, **prescription)


def load_example() -> dict[str, Any]:
    """A ready prescription to try the API with: clonazepam 2 mg a day, twice daily.

    Examples
    --------
    >>> import taper
    >>> taper.plan(**taper.load_example()).steps[0].dose
    Decimal('1.75')
    """
    return {
        "drug": "clonazepam",
        "dose": "2 mg",
        "per_day": 2,
        "start": "2027-01-04",
        "indication": "panic-disorder",
    }


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
    "compare",
    "convert",
    "fidelity",
    "load_catalog",
    "load_example",
    "load_formulary",
    "load_protocol",
    "plan",
    "read_plan",
    "replan",
    "write_csv",
    "write_json",
]
