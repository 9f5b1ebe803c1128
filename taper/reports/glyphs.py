"""What the PDF's fonts can print.

The PDF is set in the standard Helvetica, which holds the Latin-1 and Windows-1252 characters
and no others: Arabic, Chinese, emoji and the like would print as empty boxes. Such a character
in a name or a reason is printed as ``?`` instead, and the document says so on its first page;
the JSON and the CSV keep the text as given.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..schedule import Schedule

#: what stands in the PDF for a character its font cannot print
MISSING = "?"


def _printable(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def in_font(text: str) -> str:
    """``text`` with each character the PDF's font cannot print replaced by ``?``."""
    if text.isascii():
        return text
    return "".join(c if _printable(c) else MISSING for c in text)


def unprintable(schedule: Schedule) -> bool:
    """Whether any text the plan's PDF prints holds a character its font cannot print."""
    return any(not t.isascii() and in_font(t) != t for t in _texts(schedule))


def _texts(schedule: Schedule) -> Iterator[str]:
    """Every text of a plan that a clinician or a catalog may have written."""
    who = schedule.identity
    yield from (who.name, who.record, who.prescriber, who.reference)
    yield from (schedule.rule_name, schedule.rule_description, schedule.rule_source)
    yield from (schedule.drug_display or "", schedule.cap_source)
    for f in schedule.findings:
        yield from (f.message, f.source, f.override)
    if schedule.replan is not None:
        yield schedule.replan.reason
    yield from (p.name for p in schedule.products)
