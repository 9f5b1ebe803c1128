"""The edges: tables, CSV and JSON exports of a Schedule."""

from __future__ import annotations

from .files import write_atomic
from .plan_json import plan_to_dict, to_json, write_json
from .table import csv_text, plan_rows, render_text, write_csv

__all__ = [
    "csv_text",
    "plan_rows",
    "plan_to_dict",
    "render_text",
    "to_json",
    "write_atomic",
    "write_csv",
    "write_json",
]
