"""The PDF's layout, page by page, from the PDF's own text positions (pdfplumber) and from
each page rendered to an image (pypdfium2): no word is broken across lines, no heading or
block sits alone at the foot of a page, and nothing runs into the margins or off the page.

The plans: long and short, a switch, a re-plan, three doses a day, a liquid, on A4 and
letter paper.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
import pytest

import taper
from taper.reports import pdf as pdf_module
from taper.reports.chart import chart_model
from taper.reports.pdfchart import pdf_chart

START = "2027-01-04"
WHO = {"patient_name": "Ada Lovelace", "patient_id": "943 476 5919", "prescriber": "Dr Clinician"}

PLANS: dict[str, Callable[[], taper.Schedule]] = {
    "long, three doses a day": lambda: taper.plan(
        "clonazepam",
        "12 mg",
        start=START,
        per_day=3,
        rule=taper.build_rule(reduce="0.125mg", every="12d", max_cut="50%"),
        indication="seizure",
    ),
    "short": lambda: taper.plan("zolpidem", "10 mg", start=START, **WHO),
    "switch": lambda: taper.plan(
        "alprazolam", "3 mg", switch_to="diazepam", table="va-dod-2021", start=START
    ),
    "re-plan": lambda: taper.replan(
        taper.plan("clonazepam", "2 mg", start=START, products=["tablet", "odt"]),
        "2027-03-01",
        hold_days=28,
        reason="a hard week at work",
    ),
    "three doses a day": lambda: taper.plan("oxazepam", "90 mg", per_day=3, start=START),
    "liquid": lambda: taper.plan(
        "clonazepam", "1 mg", at_low_doses="liquid", region="uk", start=START
    ),
}
PAPERS = ("a4", "letter")
#: the section headings, each followed on its page by what it heads
HEADINGS = (
    "Findings",
    "Schedule",
    "Dispensing",
    "Your medicines",
    "Important",
    "Sign-off",
)


@cache
def _made(name: str, paper: str) -> tuple[bytes, frozenset[str]]:
    """The plan's PDF, and every word the document was given to print."""
    schedule = PLANS[name]()
    given: list[str] = []
    original = pdf_module._Doc.para

    def recording(self: object, text: str, style: object = None) -> object:
        given.append(text)
        return original(self, text, style)  # type: ignore[arg-type]

    pdf_module._Doc.para = recording  # type: ignore[method-assign,assignment]
    try:
        data = pdf_module.pdf_bytes(schedule, paper=paper)
    finally:
        pdf_module._Doc.para = original  # type: ignore[method-assign]
    given += pdf_module._header(schedule)
    given += _chart_strings(pdf_chart(chart_model(schedule), 500, 190))
    given.append(f"taper catalog {schedule.catalog_version} made page of")
    text = html.unescape(re.sub(r"<[^>]+>", " ", " ".join(given)))
    return data, frozenset(_tokens(text))


@dataclass(frozen=True)
class _Page:
    """What the tests read of one page, read once per plan and paper."""

    width: float
    height: float
    words: list[dict[str, Any]]
    #: the words with their type size (a turned word's letters each have a size of their own)
    sized: list[dict[str, Any]]
    chars: list[dict[str, Any]]
    shapes: list[dict[str, Any]]
    text: str


@cache
def _read(name: str, paper: str) -> list[_Page]:
    data, _ = _made(name, paper)
    with pdfplumber.open(BytesIO(data)) as document:
        return [
            _Page(
                page.width,
                page.height,
                page.extract_words(),
                page.extract_words(extra_attrs=["size"]),
                list(page.chars),
                [*page.rects, *page.lines, *page.curves],
                " ".join((page.extract_text() or "").split()),
            )
            for page in document.pages
        ]


def _chart_strings(node: object) -> Iterator[str]:
    text = getattr(node, "text", None)
    if isinstance(text, str):
        yield text
    for child in getattr(node, "contents", ()):
        yield from _chart_strings(child)


def _tokens(text: str) -> list[str]:
    # a bullet in the standard font has no text mapping: pdfplumber reads it as (cid:127)
    return re.findall(r"[A-Za-z]+", re.sub(r"\(cid:\d+\)", " ", text))


def _cases() -> list[tuple[str, str]]:
    """Every plan on one paper, the long plan and the switch on both."""
    both = ("long, three doses a day", "switch")
    return [
        (name, paper)
        for k, name in enumerate(PLANS)
        for paper in (PAPERS if name in both else (PAPERS[k % 2],))
    ]


@pytest.mark.parametrize(("name", "paper"), _cases())
def test_no_word_is_broken_across_lines(name: str, paper: str) -> None:
    _, vocabulary = _made(name, paper)
    for number, page in enumerate(_read(name, paper), start=1):
        for word in page.words:
            # a word turned up the page (an axis label) reads from its foot
            text = word["text"] if word["upright"] else word["text"][::-1]
            broken = [t for t in _tokens(text) if t not in vocabulary]
            assert not broken, (name, paper, number, text)


@pytest.mark.parametrize(("name", "paper"), _cases())
def test_every_heading_keeps_with_what_it_heads(name: str, paper: str) -> None:
    pages = _read(name, paper)
    seen = set()
    for number, page in enumerate(pages, start=1):
        lines = _body_lines(page)
        assert len(lines) >= 3, (name, paper, number, lines)  # no page holds a scrap
        for k, (text, size) in enumerate(lines):
            if size >= 11.5 and text in HEADINGS:
                seen.add(text)
                # what follows the heading starts on the same page
                assert k + 1 < len(lines), (name, paper, number, text)
    assert {"Findings", "Schedule", "Your medicines", "Important", "Sign-off"} <= seen
    # the patient's last rows, the stop, the Important lines and the sign-off: one page
    for words in ("STOP: take none", "Important", "Sign-off", "Pharmacist check"):
        assert words in pages[-1].text, (name, paper, words)


def _body_lines(page: _Page) -> list[tuple[str, float]]:
    """The page's lines between the header and the footer, with their largest type size."""
    body = [w for w in page.sized if 40 < w["top"] < page.height - 45]
    rows: dict[int, list[dict[str, Any]]] = {}
    for w in body:
        rows.setdefault(round(float(w["top"])), []).append(w)
    return [
        (
            " ".join(str(w["text"]) for w in sorted(ws, key=lambda w: float(w["x0"]))),
            max(float(w["size"]) for w in ws),
        )
        for _, ws in sorted(rows.items())
    ]


@pytest.mark.parametrize(("name", "paper"), _cases())
def test_nothing_runs_into_the_margins(name: str, paper: str) -> None:
    margin = 16 * 72 / 25.4
    for number, page in enumerate(_read(name, paper), start=1):
        for char in page.chars:
            where = (name, paper, number, char["text"], round(char["x0"]), round(char["x1"]))
            assert margin - 1 <= char["x0"] and char["x1"] <= page.width - margin + 1, where
            assert char["top"] >= 0 and char["bottom"] <= page.height, where
        for shape in page.shapes:
            where = (name, paper, number, shape["object_type"], round(shape["x0"]))
            assert margin - 2 <= shape["x0"] and shape["x1"] <= page.width - margin + 2, where


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("name", ["long, three doses a day", "switch"])
def test_each_page_renders_with_blank_margins(name: str, paper: str) -> None:
    """Each page drawn as an image: ink on the page, none in the side margins."""
    data, _ = _made(name, paper)
    document = pdfium.PdfDocument(data)
    try:
        scale = 40 / 72
        margin = round(16 * 72 / 25.4 * scale) - 2
        for index in range(len(document)):
            image = document[index].render(scale=scale, grayscale=True).to_pil().convert("L")
            width, height = image.size
            assert image.getextrema()[0] < 128, (name, paper, index + 1)  # not a blank page
            for box in ((0, 0, margin, height), (width - margin, 0, width, height)):
                assert image.crop(box).getextrema()[0] > 240, (name, paper, index + 1, box)
    finally:
        document.close()
