"""The files a plan is written to, made and written together: all or none.

``taper plan``, ``taper replan`` and each row of ``taper batch`` write their plan through one
:class:`Bundle`: the CSV with its findings file beside it, the JSON, the PDF, the chart and
the calendar, each made in memory first, then written all or none. A path of ``-`` is
standard output (the CSV or the JSON): it is made with the rest and left to the caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InputError
from ..schedule import FILL_DAYS, MOST_FILL_DAYS
from . import files

if TYPE_CHECKING:
    from ..schedule import Schedule

#: one file of a bundle: the parameter that names it, its path, its bytes
File = tuple[str, str, bytes]


def _suffix(name: str) -> str:
    """A file name's suffix, in lower case (pathlib imported here: most runs need none)."""
    from pathlib import Path

    return Path(name).suffix.lower()


class Bundle:
    """Where a plan's files go; each ``None`` where that file is not asked for.

    A plain class, not a dataclass: building a dataclass costs the start of every command.
    """

    def __init__(
        self,
        csv: str | None = None,
        json: str | None = None,
        pdf: str | None = None,
        chart: str | None = None,
        ics: str | None = None,
        paper: str = "a4",
        fill_days: int | None = None,
        reference: str = "",
    ) -> None:
        self.csv, self.json, self.pdf, self.chart, self.ics = csv, json, pdf, chart, ics
        self.paper, self.fill_days = paper, fill_days
        #: a roster row's reference, printed on every page of the PDF (``taper batch``)
        self.reference = reference

    def targets(self) -> list[tuple[str, str]]:
        """The files to write, each with the parameter that names it: the CSV's findings and
        supply files beside it (``plan.findings.csv``, ``plan.supply.csv``) with it; standard
        output left out."""
        named = [
            ("csv", self.csv),
            ("json", self.json),
            ("pdf", self.pdf),
            ("chart", self.chart),
            ("ics", self.ics),
        ]
        targets = [(field, path) for field, path in named if path and path != "-"]
        if self.csv and self.csv != "-":
            targets[1:1] = [
                ("csv", str(files.sidecar(self.csv))),
                ("csv", str(files.sidecar(self.csv, "supply"))),
            ]
        return targets

    def check(self, force: bool, inputs: tuple[str, ...] = ()) -> None:
        """Refuse bad names, clashes and files that exist (without ``force``), before anything
        is planned."""
        named = (("csv", self.csv), ("json", self.json), ("pdf", self.pdf))
        for field, path in (*named, ("chart", self.chart), ("ics", self.ics)):
            if path is not None and not str(path).strip():
                # an empty name would write nothing, silently
                raise InputError(field, path, "a file name")
        for field, path in (("pdf", self.pdf), ("chart", self.chart), ("ics", self.ics)):
            if path == "-":
                raise InputError(
                    field, path, "a file name: only {csv} and {json} can write to standard output"
                )
        if self.chart and _suffix(self.chart) not in (".png", ".svg"):
            raise InputError("chart", self.chart, "a file name ending .png or .svg")
        if self.fill_days is not None:
            if not self.pdf and not self.json and self.csv in (None, "-"):
                raise InputError(
                    "fill_days",
                    self.fill_days,
                    "it sets the supply per fill in the PDF, the JSON and the CSV's supply "
                    "file: give {pdf}, {json} or {csv} as well",
                )
            if not 1 <= self.fill_days <= MOST_FILL_DAYS:
                raise InputError("fill_days", self.fill_days, f"1 to {MOST_FILL_DAYS} days")
        files.check_outputs(self.targets(), force, inputs)

    def contents(self, schedule: Schedule) -> list[File]:
        """Every file of the bundle, made in memory, in the order they are written."""
        from . import csv_text, findings_csv_text, supply_csv_text
        from .plan_json import to_json

        contents: list[File] = []
        fill = self.fill_days or FILL_DAYS
        if self.csv:
            contents.append(("csv", self.csv, csv_text(schedule).encode("utf-8")))
            if self.csv != "-":
                findings = findings_csv_text(schedule.findings).encode("utf-8")
                contents.append(("csv", str(files.sidecar(self.csv)), findings))
                supply = supply_csv_text(schedule, fill).encode("utf-8")
                contents.append(("csv", str(files.sidecar(self.csv, "supply")), supply))
        if self.json:
            contents.append(("json", self.json, to_json(schedule, fill).encode("utf-8")))
        if self.chart:
            from .chart import chart_bytes

            contents.append(("chart", self.chart, chart_bytes(schedule, _suffix(self.chart)[1:])))
        if self.pdf:
            from .pdf import pdf_bytes

            paged = schedule
            if self.reference:
                from dataclasses import replace

                who = replace(schedule.identity, reference=self.reference)
                paged = replace(schedule, identity=who)
            contents.append(("pdf", self.pdf, pdf_bytes(paged, paper=self.paper, fill_days=fill)))
        if self.ics:
            from .calendar import ics_bytes

            contents.append(("ics", self.ics, ics_bytes(schedule)))
        return contents

    def write(self, schedule: Schedule) -> list[File]:
        """Make every file and write them all or none; the contents, those for standard
        output among them, for the caller to show."""
        contents = self.contents(schedule)
        files.write_all([c for c in contents if c[1] != "-"])
        return contents
