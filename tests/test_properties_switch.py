"""Property tests of switching: every switch taper returns keeps its promises, or is refused."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from taper.catalog import load_catalog
from taper.equivalence import exact_ratio
from taper.errors import TaperError
from taper.planning import plan_request
from taper.request import resolve
from taper.validation import check

D = Decimal
CATALOG = load_catalog()
TABLES = sorted(CATALOG.equivalence)
SOURCES = sorted(
    {d for t in CATALOG.equivalence.values() for d in t.rows if d != "diazepam"}
    & set(CATALOG.drugs)
)


@st.composite
def prescriptions(draw: st.DrawFn) -> tuple[str, Decimal, int, str, str]:
    """A drug, a daily dose its tablets make in whole steps, doses a day, a region, a table."""
    drug = draw(st.sampled_from(SOURCES))
    region = draw(st.sampled_from(["us", "uk"]))
    solids = [p for p in CATALOG.drug(drug).products_in(region) if p.usable and p.is_solid]
    if not solids:
        region = "us" if region == "uk" else "uk"
        solids = [p for p in CATALOG.drug(drug).products_in(region) if p.usable and p.is_solid]
    step = min(p.step_mg for p in solids)
    per_day = draw(st.integers(1, 4))
    # up to the largest documented daily maximum, so that most draws are plans, not refusals
    most = max(
        (r.max_mg_per_day for r in CATALOG.drug(drug).ranges if r.max_mg_per_day), default=D(20)
    )
    dose = (step * per_day * draw(st.integers(1, max(1, int(most / (step * per_day)))))).normalize()
    table = draw(st.sampled_from([t for t in TABLES if drug in CATALOG.equivalence[t].rows]))
    return drug, dose, per_day, region, table


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rx=prescriptions(),
    order=st.sampled_from(["bedtime-first", "morning-first"]),
    max_units=st.one_of(st.none(), st.integers(2, 6)),
)
def test_a_switch_keeps_its_promises_or_is_refused(
    rx: tuple[str, Decimal, int, str, str],
    order: str,
    max_units: int | None,
) -> None:
    drug, dose, per_day, region, table = rx
    try:
        # the switch and its taper as taper.plan makes them, without the alternatives it
        # also plans (each a whole plan more, and not what this property is about)
        schedule = plan_request(resolve(
            drug,
            dose,
            per_day=per_day,
            switch_to="diazepam",
            table=table,
            switch_order=order,
            region=region,
            max_units=max_units,
            start="2027-01-04",
            overrides={"pace-above-guideline": "tested"},
        ))  # fmt: skip
    except TaperError:
        event("refused")
        return  # refused with a one-line reason: allowed
    event("planned")
    switch = schedule.switch
    assert switch is not None
    ratio = exact_ratio(CATALOG.equivalence[table], switch.from_drug, "diazepam")
    assert switch.exact_ratio == ratio
    before = switch.start_equivalent
    day = switch.start_date
    for stage in switch.stages:
        # contiguous, each unit a real product split no further than it may be
        assert stage.start == day
        day = stage.end + timedelta(days=1)
        for admin in stage.administrations:
            assert {u.product.drug for u in admin.units} in ({switch.from_drug}, {"diazepam"})
            assert all(u.count % u.product.split == 0 for u in admin.units)
            assert sum(u.pieces for u in admin.units) <= switch.max_units
        # the equivalent is exactly what the doses make, and never rises
        exact = Fraction(stage.dose_of(switch.from_drug)) * ratio + Fraction(
            stage.dose_of("diazepam")
        )
        assert abs(Fraction(stage.equivalent) - exact) <= Fraction(1, 2000)
        assert stage.equivalent <= before
        before = stage.equivalent
    assert schedule.steps[0].start == day
    assert schedule.prescription.start_dose == switch.stages[-1].dose_of("diazepam")
    # a fall during the switch is always said, never silent
    codes = {f.code for f in schedule.findings}
    if switch.stages[-1].equivalent < switch.start_equivalent:
        assert "switch-equivalent-falls" in codes
    else:
        assert "switch-equivalent-falls" not in codes
    assert not [f for f in check(schedule) if f.severity == "error" and not f.override]
