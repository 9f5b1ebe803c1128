"""The edges: tables, CSV and JSON exports of a Schedule."""

from __future__ import annotations

from .files import write_atomic
from .plan_json import findings_json, plan_to_dict, to_json, write_json
from .table import (
    csv_text,
    findings_csv_text,
    plan_rows,
    render_findings,
    render_text,
    write_csv,
)

__all__ = [
    "csv_text",
    "findings_csv_text",
    "findings_json",
    "plan_rows",
    "plan_to_dict",
    "render_findings",
    "render_text",
    "to_json",
    "write_atomic",
    "write_csv",
    "write_json",
]
