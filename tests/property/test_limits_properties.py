"""Hypothesis property tests for MAK activation limits (issue 4).

Run by the ``property`` nox session (``pytest -m property tests``); the default run leaves
them out.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mak.errors import ActivationLimitExceeded
from mak.limits import MakPool, RemainingCount
from mak.serialization import make_converter

pytestmark = pytest.mark.property

PROPERTY = settings(max_examples=300, deadline=None)

limits = st.integers(min_value=0, max_value=1_000)
charges = st.integers(min_value=1, max_value=60)


@st.composite
def pools(draw: st.DrawFn) -> MakPool:
    limit = draw(limits)
    return MakPool(limit=limit, used=draw(st.integers(min_value=0, max_value=limit)))


aware_times = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001  # hypothesis wants naive bounds
    max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001  # hypothesis wants naive bounds
    timezones=st.sampled_from(
        [dt.timezone.utc, dt.timezone(dt.timedelta(hours=-8)), dt.timezone(dt.timedelta(hours=13))]
    ),
)
remaining_counts = st.builds(
    RemainingCount, value=st.integers(min_value=0, max_value=10**6), refreshed_at=aware_times
)


@pytest.mark.property
@PROPERTY
@given(limit=limits, requests=st.lists(charges, max_size=60))
def test_any_sequence_of_charges_keeps_the_books(limit: int, requests: list[int]) -> None:
    pool = MakPool(limit=limit)
    charged = 0
    for n in requests:
        before = pool
        if n > before.remaining:
            with pytest.raises(ActivationLimitExceeded) as caught:
                pool.charge(n)
            error = caught.value
            assert (error.limit, error.used, error.requested) == (before.limit, before.used, n)
            assert pool == before  # a refused charge changes nothing
        else:
            pool = pool.charge(n)  # raises nothing when n <= remaining
            charged += n
        assert pool.used <= pool.limit == limit
        assert pool.used == charged
        assert pool.remaining + pool.used == pool.limit
        assert pool.remaining >= 0
        assert pool.exhausted is (pool.remaining == 0)


@pytest.mark.property
@PROPERTY
@given(pool=pools(), n=st.integers(min_value=1, max_value=2_000))
def test_charge_raises_iff_more_is_asked_than_is_left(pool: MakPool, n: int) -> None:
    if n > pool.remaining:
        with pytest.raises(ActivationLimitExceeded):
            pool.charge(n)
    else:
        after = pool.charge(n)
        assert (after.limit, after.used) == (pool.limit, pool.used + n)


@pytest.mark.property
@PROPERTY
@given(
    limit=limits,
    steps=st.lists(st.tuples(st.sampled_from(["charge", "increase"]), charges), max_size=60),
)
def test_increases_add_to_the_limit_and_never_to_used(
    limit: int, steps: list[tuple[str, int]]
) -> None:
    pool = MakPool(limit=limit)
    increased = charged = 0
    for verb, n in steps:
        if verb == "increase":
            pool = pool.increase(n)
            increased += n
        elif n <= pool.remaining:
            pool = pool.charge(n)
            charged += n
        assert (pool.limit, pool.used) == (limit + increased, charged)
        assert pool.remaining + pool.used == pool.limit


@pytest.mark.property
@PROPERTY
@given(count=remaining_counts, first=st.integers(0, 10**7), more=st.integers(0, 10**7))
def test_estimate_is_between_zero_and_the_reported_value_and_never_rises(
    count: RemainingCount, first: int, more: int
) -> None:
    estimate = count.estimate(first)
    assert 0 <= estimate <= count.value
    assert estimate == max(0, count.value - first)
    assert count.estimate(first + more) <= estimate


@pytest.mark.property
@PROPERTY
@given(
    count=remaining_counts,
    later=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=365_000)),
)
def test_age_is_never_negative_and_measures_from_the_refresh(
    count: RemainingCount, later: dt.timedelta
) -> None:
    assert count.age(count.refreshed_at + later) == later
    assert count.age(count.refreshed_at - dt.timedelta(seconds=1)) == dt.timedelta(0)


@pytest.mark.property
@PROPERTY
@given(value=st.one_of(pools(), remaining_counts))
def test_everything_round_trips_through_the_converter(value: MakPool | RemainingCount) -> None:
    converter = make_converter()
    assert converter.structure(converter.unstructure(value), type(value)) == value
