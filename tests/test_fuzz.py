"""Fuzzing the parsers: whatever they are given, a value or a TaperError, nothing else; and
the plan JSON and protocol readers, given a valid document with one key changed at any depth."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from taper.doses import parse_days, parse_dose, parse_percent
from taper.errors import TaperError
from taper.external import read_schedule
from taper.rules import parse_protocol
from taper.schedule_csv import ExternalOptions

UNITS = st.sampled_from(
    ["mg", "mcg", "g", "ml", "\u043cg", "m\u03b3", "microgram", "", "%", "d", "w"]
)
NUMBERS = st.one_of(
    st.text(alphabet="0123456789.-+eE,_ \u00a0", max_size=12),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
TEXT = st.one_of(st.text(max_size=24), st.builds(lambda n, u: f"{n} {u}", NUMBERS, UNITS))


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_dose_parser(text: str) -> None:
    try:
        value = parse_dose(text)
    except TaperError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(value, Decimal) and value.is_finite() and value > 0


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_interval_and_percent_parsers(text: str) -> None:
    for parser in (parse_days, parse_percent):
        with contextlib.suppress(TaperError):
            parser(text)


VALUES = st.one_of(
    st.text(max_size=10),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
)
KEYS = st.sampled_from(
    [
        "name",
        "cut",
        "every",
        "of",
        "max_cut",
        "final_dose",
        "cut_order",
        "drugs",
        "source",
        "description",
        "speed",
    ]
)
PROTOCOLS = st.dictionaries(KEYS, VALUES, max_size=6) | st.fixed_dictionaries(
    {
        "cut": st.sampled_from(["10%", "0.5 mg", "x", "100%"]),
        "every": st.sampled_from(["14d", "0d", "2w", "soon"]),
    },
    optional={
        "bands": st.lists(
            st.dictionaries(
                st.sampled_from(["above", "cut", "every"]), st.text(max_size=6), max_size=3
            ),
            max_size=3,
        ),
        "holds": st.lists(
            st.dictionaries(st.sampled_from(["at", "days"]), st.text(max_size=6), max_size=2),
            max_size=2,
        ),
    },
)


@settings(max_examples=400, deadline=None)
@given(PROTOCOLS)
def test_protocol_parser(data: dict[str, object]) -> None:
    try:
        rule = parse_protocol({k: v for k, v in data.items() if v is not None}, "p.toml")
    except TaperError as exc:
        assert "\n" not in str(exc)
    else:
        assert rule.describe()


CELLS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["2027-01-04", "14", "2", "0.5", "0", "-1", "nan", "2027-02-30", ""]),
)
HEADERS = st.lists(
    st.sampled_from(
        [
            "start_date",
            "days",
            "end_date",
            "daily_dose_mg",
            "drug",
            "morning_mg",
            "bedtime_mg",
            "max_cut_pct",
            "x",
        ]
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(HEADERS, st.lists(st.lists(CELLS, min_size=1, max_size=5), max_size=4))
def test_csv_reader(header: list[str], rows: list[list[str]]) -> None:
    text = ",".join(header) + "\n" + "".join(",".join(r).replace("\n", " ") + "\n" for r in rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.csv"
        path.write_text(text, encoding="utf-8")
        try:
            read_schedule(path, ExternalOptions(drug="clonazepam"))
        except TaperError as exc:
            assert "\n" not in str(exc)


def _paths(node: object, at: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every key path in a JSON document, the document's own first."""
    out: list[tuple[object, ...]] = [at]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            out += _paths(value, (*at, index))
    return out


def _plan_document() -> dict[str, object]:
    import json

    import taper
    from taper.reports import to_json

    schedule = taper.plan("clonazepam", "2 mg", start="2027-01-04", age=70)
    return json.loads(to_json(schedule))  # type: ignore[no-any-return]


_PLAN = _plan_document()
_PLAN_PATHS = _paths(_PLAN)[1:]
ODD_VALUES = st.one_of(
    st.sampled_from([None, True, False, [], {}, "", "x", -5, 0, 9, "NaN", "1e999", "9999-12-31"]),
    st.integers(),
    st.text(max_size=8),
)


@contextlib.contextmanager
def _changed_plan(path: tuple[object, ...], value: object, drop: bool) -> Iterator[Path]:
    """The valid plan's JSON with the field at ``path`` set to ``value`` (or dropped), in a
    file of its own for as long as it is used."""
    import copy
    import json

    document = copy.deepcopy(_PLAN)
    node: object = document
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    if drop and isinstance(node, dict):
        node.pop(path[-1], None)  # type: ignore[arg-type]
    else:
        node[path[-1]] = value  # type: ignore[index]
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "plan.json"
        target.write_text(json.dumps(document), "utf-8")
        yield target


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None)
@given(st.sampled_from(_PLAN_PATHS), ODD_VALUES, st.booleans())
def test_plan_json_reader(path: tuple[object, ...], value: object, drop: bool) -> None:
    """A valid plan with one field changed (or dropped): read back and re-planned, or a clean
    refusal naming what is wrong, never another error."""

    import taper
    from taper.plan_json import read_plan

    with _changed_plan(path, value, drop) as target, contextlib.suppress(TaperError):
        schedule = read_plan(target)
        taper.replan(schedule, "2027-03-01")


def _protocol_documents() -> list[tuple[str, dict[str, object]]]:
    """The documented protocols (each valid), with the drug each is planned for."""
    import tomllib

    folder = Path(__file__).parent.parent / "docs" / "protocols"
    out = []
    for path in sorted(folder.glob("*.toml")):
        data = tomllib.loads(path.read_text("utf-8"))
        drugs = data.get("drugs") or ["clonazepam"]
        out.append((str(drugs[0]), data))
    return out


_PROTOCOLS = _protocol_documents()
_PROTOCOL_PATHS = [(i, path) for i, (_, doc) in enumerate(_PROTOCOLS) for path in _paths(doc)[1:]]


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None)
@given(st.sampled_from(_PROTOCOL_PATHS), ODD_VALUES, st.booleans())
def test_protocol_reader_on_changed_protocols(
    where: tuple[int, tuple[object, ...]], value: object, drop: bool
) -> None:
    """A documented protocol with one key changed (or dropped), at any depth: a rule that
    plans (or is refused as any plan may be), or a clean one-line refusal naming the key,
    never another error."""
    import copy

    import taper
    from taper.errors import PlanRefused

    index, path = where
    drug, document = copy.deepcopy(_PROTOCOLS[index])
    node: object = document
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    if drop and isinstance(node, dict):
        node.pop(path[-1], None)  # type: ignore[arg-type]
    elif value is not None:  # TOML has no null
        node[path[-1]] = value  # type: ignore[index]
    try:
        rule = parse_protocol(document, "p.toml")
    except TaperError as exc:
        assert "\n" not in str(exc)
        event("refused")
        return
    dose = "20 mg" if drug == "diazepam" else "2 mg"
    try:
        schedule = taper.plan(drug, dose, rule=rule, region="uk", start="2027-01-04")
    except (PlanRefused, TaperError) as exc:
        assert "\n" not in str(exc)
        event("plan refused")
        return
    event("planned")
    # never up (a table's row the products cannot make may repeat the dose before it)
    assert schedule.steps and all(s.dose <= s.previous_dose for s in schedule.steps)


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None)
@given(st.sampled_from(_PLAN_PATHS), ODD_VALUES, st.booleans())
def test_check_of_a_changed_plan_json(path: tuple[object, ...], value: object, drop: bool) -> None:
    """taper check of a valid plan with one field changed (or dropped): findings (what taper
    would not read back among them), or a clean refusal, never another error."""

    import taper

    with _changed_plan(path, value, drop) as target, contextlib.suppress(TaperError):
        taper.check(target)
