"""The command line's names for the library's parameters, in one place.

The library's errors name its parameters (``max_units``, ``start``); the command line says
them as its flags (``--max-units``, ``--start``) by this table, and a roster row as its
columns (:mod:`taper.batch`).
"""

from __future__ import annotations

#: the command line's flag for each parameter of the library an error can name: the one place
#: where the library's words (``max_units``) become the command line's (``--max-units``)
FLAGS = {
    "age": "--age",
    "at_low_doses": "--at-low-doses",
    "catalog": "--catalog",
    "cut_order": "--cut-order",
    "end_by": "--end-by",
    "every": "--every",
    "final_dose": "--final-dose",
    "force": "--force",
    "formulary": "--formulary",
    "halve": "--halve",
    "hold": "--hold",
    "indication": "--indication",
    "liquid_increment": "--liquid-increment",
    "longest_step": "--longest-step",
    "max_cut": "--max-cut",
    "max_units": "--max-units",
    "out_dir": "--out-dir",
    "overrides": "--override",
    "per_day": "--per-day",
    "products": "--products",
    "reduce": "--reduce",
    "region": "--region",
    "rule": "--rule",
    "stage_days": "--stage-days",
    "start": "--start",
    "switch_order": "--switch-order",
    "switch_products": "--switch-products",
    "switch_to": "--switch-to",
    "table": "--table",
    "use_months": "--use-months",
    "weight_kg": "--weight-kg",
    # who the plan is for
    "patient_name": "--patient-name",
    "patient_id": "--patient-id",
    "date_of_birth": "--date-of-birth",
    "prescriber": "--prescriber",
    # the outputs
    "chart": "--chart",
    "csv": "--csv",
    "fill_days": "--fill-days",
    "ics": "--ics",
    "json": "--json",
    "paper": "--paper",
    "pdf": "--pdf",
    # replan
    "current_dose": "--dose",
    "hold_days": "--hold",
    "on": "--on",
    "reinstate": "--reinstate",
}
#: a command's own flags, where they differ from the common ones: check names the drug (the
#: parameter, ``{drug}``, not a drug a file names) and the starting dose by options
COMMAND_FLAGS = {"check": {**FLAGS, "{drug}": "--drug", "start_dose": "--start-dose"}}


def flags_of(command: str | None) -> dict[str, str]:
    """The flags that say the library's parameters in ``command``'s errors."""
    return COMMAND_FLAGS.get(command or "", FLAGS)
