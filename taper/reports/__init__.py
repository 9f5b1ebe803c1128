"""The edges: the terminal table, CSV, JSON, chart, PDF and calendar exports of a Schedule."""

from __future__ import annotations

from ..schedule_csv import csv_text, findings_csv_text, plan_rows, supply_csv_text
from .files import write_atomic
from .plan_json import findings_json, plan_to_dict, to_json, write_json
from .table import render_findings, render_text, write_csv

#: the heavy exports, imported on first use (matplotlib, reportlab, icalendar)
_LAZY = {
    "plot_schedule": "chart",
    "chart_bytes": "chart",
    "write_chart": "chart",
    "pdf_bytes": "pdf",
    "write_pdf": "pdf",
    "ics_bytes": "calendar",
    "write_ics": "calendar",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    *_LAZY,
    "csv_text",
    "findings_csv_text",
    "supply_csv_text",
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
