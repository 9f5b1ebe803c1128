"""The plan's JSON file (the format is :mod:`taper.plan_json`'s)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..plan_json import FORMAT, findings_json, plan_to_dict, to_json
from .files import write_atomic

if TYPE_CHECKING:
    from pathlib import Path

    from ..schedule import Schedule

__all__ = ["FORMAT", "findings_json", "plan_to_dict", "to_json", "write_json"]


def write_json(schedule: Schedule, path: str | Path) -> None:
    """Write the plan's JSON to ``path`` atomically."""
    write_atomic(path, to_json(schedule).encode("utf-8"))
