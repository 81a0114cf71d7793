"""MAK activation limits (issue 4): the pool Microsoft counts and the count it last reported."""

from __future__ import annotations

import datetime as dt
import pickle
from typing import Any

import attrs
import pytest

from mak import codes
from mak.errors import ActivationLimitExceeded, InvalidComponent, InvalidFormat, MakError
from mak.limits import MakPool, RemainingCount
from mak.serialization import make_converter

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def names(field: str) -> str:
    """A pattern for a message quoting ``field=<value>``, in either quote mark."""
    return f"""Invalid [a-zA-Z ]+: ["']{field}="""


# --- MakPool: construction ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "used"),
    [(0, 0), (1, 0), (1, 1), (250, 0), (250, 249), (250, 250), (10**12, 10**12 - 1)],
)
def test_valid_pools(limit: int, used: int) -> None:
    pool = MakPool(limit=limit, used=used)
    assert (pool.limit, pool.used, pool.remaining) == (limit, used, limit - used)
    assert pool.exhausted is (used == limit)


def test_used_defaults_to_zero() -> None:
    assert MakPool(250) == MakPool(limit=250, used=0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": -1}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": 1.0}, "limit"),
        ({"limit": "10"}, "limit"),
        ({"limit": None}, "limit"),
        ({"limit": -1, "used": 0}, "limit"),
        ({"limit": 10, "used": -1}, "used"),
        ({"limit": 10, "used": False}, "used"),
        ({"limit": 10, "used": 2.0}, "used"),
        ({"limit": 10, "used": "2"}, "used"),
        ({"limit": 10, "used": 11}, "used"),
        ({"limit": 0, "used": 1}, "used"),
    ],
)
def test_invalid_pools(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidComponent, match=names(field)) as caught:
        MakPool(**kwargs)
    assert caught.value.kind == "MAK pool"
    assert caught.value.text.startswith(f"{field}=")


def test_a_pool_is_frozen_and_hashable() -> None:
    pool = MakPool(10, 3)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        pool.used = 4  # type: ignore[misc]  # frozen: the point
    assert {pool, MakPool(10, 3)} == {pool}


# --- MakPool: charge and increase ---------------------------------------------------------


def test_charging_one_at_a_time_up_to_the_limit_exactly() -> None:
    pool = MakPool(limit=5)
    for spent in range(1, 6):
        pool = pool.charge()
        assert (pool.used, pool.remaining) == (spent, 5 - spent)
    assert pool.exhausted
    assert pool == MakPool(5, 5)


def test_one_charge_can_take_every_activation_left() -> None:
    assert MakPool(limit=5, used=2).charge(3) == MakPool(5, 5)


@pytest.mark.parametrize(("limit", "used", "n"), [(5, 5, 1), (5, 4, 2), (5, 0, 6), (0, 0, 1)])
def test_one_past_the_limit_raises_and_changes_nothing(limit: int, used: int, n: int) -> None:
    pool = MakPool(limit=limit, used=used)
    with pytest.raises(ActivationLimitExceeded) as caught:
        pool.charge(n)
    error = caught.value
    assert (error.limit, error.used, error.requested) == (limit, used, n)
    assert error.code == 0xC004C020 == codes.MAK_LIMIT_EXCEEDED
    assert isinstance(error, MakError)
    assert pool == MakPool(limit=limit, used=used)


def test_a_refused_charge_pickles_with_its_attributes() -> None:
    with pytest.raises(ActivationLimitExceeded) as caught:
        MakPool(1, 1).charge()
    again = pickle.loads(pickle.dumps(caught.value))  # noqa: S301  # our own object
    assert (again.limit, again.used, again.requested, again.code) == (1, 1, 1, 0xC004C020)


def test_charge_and_increase_return_new_pools() -> None:
    pool = MakPool(10, 3)
    assert pool.charge(2) is not pool
    assert pool.increase(5) is not pool
    assert pool == MakPool(10, 3)


@pytest.mark.parametrize("n", [0, -1, True, 1.0, "1", None])
def test_charge_needs_a_positive_int(n: object) -> None:
    pool = MakPool(10)
    with pytest.raises(InvalidComponent, match=names("n")) as caught:
        pool.charge(n)  # type: ignore[arg-type]  # the wrong type is the point
    assert caught.value.kind == "MAK pool charge"
    assert pool == MakPool(10)


def test_increase_then_charge() -> None:
    pool = MakPool(limit=2, used=2)
    with pytest.raises(ActivationLimitExceeded):
        pool.charge()
    raised = pool.increase(by=3)
    assert raised == MakPool(limit=5, used=2)
    assert not raised.exhausted
    assert raised.charge(3) == MakPool(5, 5)
    with pytest.raises(ActivationLimitExceeded) as caught:
        raised.charge(4)
    assert (caught.value.limit, caught.value.used, caught.value.requested) == (5, 2, 4)


@pytest.mark.parametrize("by", [0, -5, True, 2.0, "3", None])
def test_increase_needs_a_positive_int(by: object) -> None:
    with pytest.raises(InvalidComponent, match=names("by")) as caught:
        MakPool(10).increase(by)  # type: ignore[arg-type]  # the wrong type is the point
    assert caught.value.kind == "MAK pool increase"


# --- RemainingCount -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "refreshed_at",
    [
        NOW,
        NOW.astimezone(dt.timezone(dt.timedelta(hours=-5))),
        NOW.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))),
    ],
)
def test_a_remaining_count_is_kept_in_utc(refreshed_at: dt.datetime) -> None:
    count = RemainingCount(value=240, refreshed_at=refreshed_at)
    assert count.refreshed_at == NOW
    assert count.refreshed_at.tzinfo is UTC
    assert count == RemainingCount(240, NOW)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"value": -1, "refreshed_at": NOW}, "value"),
        ({"value": True, "refreshed_at": NOW}, "value"),
        ({"value": 1.0, "refreshed_at": NOW}, "value"),
        ({"value": "5", "refreshed_at": NOW}, "value"),
        ({"value": 5, "refreshed_at": NOW.replace(tzinfo=None)}, "refreshed_at"),
        ({"value": 5, "refreshed_at": NOW.date()}, "refreshed_at"),
        ({"value": 5, "refreshed_at": "2026-01-05T12:00:00+00:00"}, "refreshed_at"),
        ({"value": 5, "refreshed_at": None}, "refreshed_at"),
    ],
)
def test_invalid_remaining_counts(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidComponent, match=names(field)) as caught:
        RemainingCount(**kwargs)
    assert caught.value.kind == "remaining count"


@pytest.mark.parametrize(
    ("value", "charges", "expected"),
    [(5, 0, 5), (5, 3, 2), (5, 5, 0), (5, 6, 0), (5, 10**9, 0), (0, 0, 0), (0, 1, 0)],
)
def test_estimate_subtracts_our_charges_and_floors_at_zero(
    value: int, charges: int, expected: int
) -> None:
    assert RemainingCount(value, NOW).estimate(charges) == expected


@pytest.mark.parametrize("charges", [-1, True, 1.5, "2", None])
def test_estimate_needs_a_count_of_charges(charges: object) -> None:
    with pytest.raises(InvalidComponent, match=names("pool_charges_since")):
        RemainingCount(5, NOW).estimate(charges)  # type: ignore[arg-type]  # the wrong type is the point


def test_estimate_agrees_with_a_pool_charged_since_the_refresh() -> None:
    pool = MakPool(limit=250, used=240)
    count = RemainingCount(pool.remaining, NOW)
    later = pool.charge(4)
    assert count.estimate(later.used - pool.used) == later.remaining == 6


def test_age_and_staleness() -> None:
    count = RemainingCount(5, NOW)
    assert count.age(NOW) == dt.timedelta(0)
    assert count.age(NOW + dt.timedelta(hours=25)) == dt.timedelta(hours=25)
    in_new_york = (NOW + dt.timedelta(hours=2)).astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert count.age(in_new_york) == dt.timedelta(hours=2)
    assert count.is_stale(NOW + dt.timedelta(days=2), dt.timedelta(days=1))
    assert not count.is_stale(NOW + dt.timedelta(days=1), dt.timedelta(days=1))  # not older
    assert not count.is_stale(NOW, dt.timedelta(seconds=1))


def test_a_now_before_the_refresh_counts_as_just_refreshed() -> None:
    count = RemainingCount(5, NOW)
    assert count.age(NOW - dt.timedelta(minutes=3)) == dt.timedelta(0)
    assert not count.is_stale(NOW - dt.timedelta(minutes=3), dt.timedelta(seconds=1))


@pytest.mark.parametrize("now", [NOW.replace(tzinfo=None), NOW.date(), "now", None])
def test_age_needs_an_aware_now(now: object) -> None:
    count = RemainingCount(5, NOW)
    with pytest.raises(InvalidComponent, match=names("now")):
        count.age(now)  # type: ignore[arg-type]  # the wrong type is the point
    with pytest.raises(InvalidComponent, match=names("now")):
        count.is_stale(now, dt.timedelta(days=1))  # type: ignore[arg-type]  # the wrong type is the point


@pytest.mark.parametrize("max_age", [dt.timedelta(0), dt.timedelta(seconds=-1), 3600, None])
def test_is_stale_needs_a_positive_max_age(max_age: object) -> None:
    with pytest.raises(InvalidComponent, match=names("max_age")):
        RemainingCount(5, NOW).is_stale(NOW, max_age)  # type: ignore[arg-type]  # the wrong type is the point


# --- serialization ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "data"),
    [
        (MakPool(250), {"limit": 250, "used": 0}),
        (MakPool(250, 250), {"limit": 250, "used": 250}),
        (
            RemainingCount(7, NOW.astimezone(dt.timezone(dt.timedelta(hours=1)))),
            {"value": 7, "refreshed_at": "2026-01-05T12:00:00+00:00"},
        ),
    ],
    ids=repr,
)
def test_round_trip_through_the_converter(value: object, data: dict[str, object]) -> None:
    converter = make_converter()
    assert converter.unstructure(value) == data
    assert converter.structure(data, type(value)) == value


@pytest.mark.parametrize(
    ("data", "cls", "path", "says"),
    [
        ({"limit": 10, "used": 11}, MakPool, "$", "more than the limit"),
        ({"limit": -1}, MakPool, "$", "'limit=-1'"),
        ({"limit": True}, MakPool, "$.limit", "got bool"),
        ({"limit": "10"}, MakPool, "$.limit", "got str"),
        ({"limit": 10, "used": 0, "remaining": 10}, MakPool, "$", "extra fields: remaining"),
        ({"used": 0}, MakPool, "$.limit", "required field missing"),
        ({"value": -1, "refreshed_at": "2026-01-05T12:00:00Z"}, RemainingCount, "$", "'value=-1'"),
        ({"value": 1, "refreshed_at": "2026-01-05T12:00:00"}, RemainingCount, "$.refreshed_at", "no UTC offset"),
    ],
)  # fmt: skip
def test_bad_data_is_refused_naming_the_field(
    data: dict[str, object], cls: type, path: str, says: str
) -> None:
    with pytest.raises(InvalidFormat) as caught:
        make_converter().structure(data, cls)
    assert caught.value.text == path
    assert says in str(caught.value)


def test_a_z_suffix_loads_as_utc() -> None:
    data = {"value": 3, "refreshed_at": "2026-01-05T12:00:00Z"}
    assert make_converter().structure(data, RemainingCount) == RemainingCount(3, NOW)
