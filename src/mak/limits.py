"""How many activations a MAK has left: the pool Microsoft counts, and the count it last reported.

A multiple activation key (MAK) comes with a preset number of activations, and every
activation against Microsoft's clearinghouse counts toward it. :class:`MakPool` is that
account: a frozen ``(limit, used)`` pair whose :meth:`~MakPool.charge` returns the next pool
or raises :class:`~mak.errors.ActivationLimitExceeded` (0xC004C020). :class:`RemainingCount`
is what the clearinghouse last said was left, and when; VAMT shows it but cannot script it.

Both are pure values: time is always passed in, and nothing here talks to Microsoft.

>>> pool = MakPool(limit=3)
>>> pool = pool.charge(2)
>>> pool.remaining
1
>>> pool.charge(2)
Traceback (most recent call last):
mak.errors.ActivationLimitExceeded: MAK activation limit exceeded: 2 requested, 1 of 3 left (0xC004C020)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from mak.errors import ActivationLimitExceeded, InvalidComponent

__all__ = ["MakPool", "RemainingCount"]


def _invalid(kind: str, name: str, value: object, reason: str) -> InvalidComponent:
    """Return the error for a bad *value* of the field or argument *name*."""
    return InvalidComponent(kind, f"{name}={value!r}", reason)


def _require_count(kind: str, name: str, value: object, *, minimum: int) -> int:
    # bool is an int to Python, and a count of activations is never a bool.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(kind, name, value, f"expected an int, got {type(value).__name__}")
    if value < minimum:
        raise _invalid(kind, name, value, f"must be {minimum} or more")
    return value


def _require_aware(kind: str, name: str, value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise _invalid(kind, name, value, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _invalid(kind, name, value, "is naive; pass an aware UTC datetime")
    return value


def _pool_limit(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _require_count("MAK pool", attribute.name, value, minimum=0)


def _pool_used(instance: MakPool, attribute: attrs.Attribute[Any], value: object) -> None:
    used = _require_count("MAK pool", attribute.name, value, minimum=0)
    # attrs runs validators in field order, so limit is already known to be a valid int.
    if used > instance.limit:
        raise _invalid(
            "MAK pool", attribute.name, value, f"more than the limit of {instance.limit}"
        )


def _count_value(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _require_count("remaining count", attribute.name, value, minimum=0)


def _require_positive_duration(kind: str, name: str, value: object) -> dt.timedelta:
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
        raise _invalid(kind, name, value, "must be a positive timedelta")
    return value


def _refreshed_at_in_utc(value: dt.datetime) -> dt.datetime:
    return _require_aware("remaining count", "refreshed_at", value).astimezone(dt.timezone.utc)


@attrs.frozen
class MakPool:
    """Return the activation account of one MAK: its ``limit`` and the activations ``used``.

    Each activation against Microsoft spends one. The pool is a value: :meth:`charge` and
    :meth:`increase` return a new pool and leave this one as it was, so a caller that
    fails to store the new pool has spent nothing.

    The pool does not know *which* installation IDs it was charged for. Charging a
    repeated installation ID only once is the clearinghouse's job (the same IID gets the
    same confirmation ID) and the store's (a resumed batch reuses the CIDs it kept), not
    the pool's.

    ``limit`` and ``used`` are ints of 0 or more, and ``used`` is never more than ``limit``;
    anything else raises :class:`~mak.errors.InvalidComponent` naming the field.

    >>> MakPool(limit=250)
    MakPool(limit=250, used=0)
    >>> MakPool(limit=10, used=11)
    Traceback (most recent call last):
    mak.errors.InvalidComponent: Invalid MAK pool: 'used=11' (more than the limit of 10)
    """

    limit: int = attrs.field(validator=_pool_limit)
    """How many activations Microsoft allows this key in all."""
    used: int = attrs.field(default=0, validator=_pool_used)
    """How many of them activations against Microsoft have spent."""

    @property
    def remaining(self) -> int:
        """Return how many activations are left: ``limit - used``.

        >>> MakPool(limit=10, used=4).remaining
        6
        """
        return self.limit - self.used

    @property
    def exhausted(self) -> bool:
        """Return whether no activation is left, so the next charge raises.

        >>> MakPool(limit=2, used=2).exhausted, MakPool(limit=2, used=1).exhausted
        (True, False)
        """
        return self.remaining == 0

    def charge(self, n: int = 1) -> MakPool:
        """Return the pool after *n* more activations, or raise if fewer than *n* are left.

        A refused charge raises :class:`~mak.errors.ActivationLimitExceeded` (``code``
        0xC004C020, with this pool's ``limit`` and ``used`` and the ``requested`` *n*) and
        spends nothing: the whole request is refused, as the clearinghouse refuses it.
        *n* must be an int of 1 or more, else :class:`~mak.errors.InvalidComponent`.

        >>> MakPool(limit=2).charge().charge()
        MakPool(limit=2, used=2)
        >>> MakPool(limit=2, used=2).charge()
        Traceback (most recent call last):
        mak.errors.ActivationLimitExceeded: MAK activation limit exceeded: 1 requested, 0 of 2 left (0xC004C020)
        """
        _require_count("MAK pool charge", "n", n, minimum=1)
        if n > self.remaining:
            raise ActivationLimitExceeded(limit=self.limit, used=self.used, requested=n)
        return attrs.evolve(self, used=self.used + n)  # its validators read each other

    def increase(self, by: int) -> MakPool:
        """Return the pool with its limit raised *by* more activations.

        This is what a Microsoft Licensing Activation Center does when asked; *by* must be
        an int of 1 or more, else :class:`~mak.errors.InvalidComponent`.

        >>> MakPool(limit=10, used=10).increase(by=5).remaining
        5
        >>> MakPool(limit=10).increase(by=0)
        Traceback (most recent call last):
        mak.errors.InvalidComponent: Invalid MAK pool increase: 'by=0' (must be 1 or more)
        """
        _require_count("MAK pool increase", "by", by, minimum=1)
        return attrs.evolve(self, limit=self.limit + by)


@attrs.frozen
class RemainingCount:
    """Return what the clearinghouse last said a MAK had left (``value``) and when (``refreshed_at``).

    Microsoft alone knows the true count: activations made elsewhere with the same key
    (another tool, a computer activating itself) spend it too. This records the last
    answer, so a tool can show it, estimate from it and decide when to ask again.
    ``value`` is an int of 0 or more; ``refreshed_at`` must be timezone-aware and is kept
    in UTC.

    >>> from datetime import datetime, timedelta, timezone
    >>> cet = timezone(timedelta(hours=1))
    >>> RemainingCount(240, datetime(2026, 1, 5, 13, 0, tzinfo=cet))
    RemainingCount(value=240, refreshed_at=datetime.datetime(2026, 1, 5, 12, 0, tzinfo=datetime.timezone.utc))
    >>> RemainingCount(240, datetime(2026, 1, 5))
    Traceback (most recent call last):
    mak.errors.InvalidComponent: Invalid remaining count: 'refreshed_at=datetime.datetime(2026, 1, 5, 0, 0)' (is naive; pass an aware UTC datetime)
    """

    value: int = attrs.field(validator=_count_value)
    """Activations left, as the clearinghouse reported them."""
    refreshed_at: dt.datetime = attrs.field(converter=_refreshed_at_in_utc)
    """When the clearinghouse reported them (UTC)."""

    def estimate(self, pool_charges_since: int) -> int:
        """Return the activations probably left after *pool_charges_since* charges of ours.

        This is the optimistic local view between two refreshes: it counts only the
        activations this tool made since ``refreshed_at``, not those made elsewhere with the
        same key, so the true count may be lower. It never goes below 0.

        >>> from datetime import datetime, timezone
        >>> count = RemainingCount(5, datetime(2026, 1, 5, tzinfo=timezone.utc))
        >>> count.estimate(3), count.estimate(8)
        (2, 0)
        """
        _require_count(
            "remaining count estimate", "pool_charges_since", pool_charges_since, minimum=0
        )
        return max(0, self.value - pool_charges_since)

    def age(self, now: dt.datetime) -> dt.timedelta:
        """Return how long ago the count was refreshed, as of *now* (zero if *now* is earlier).

        *now* must be timezone-aware; a *now* before ``refreshed_at`` (clock skew between
        the computer that refreshed and this one) counts as just refreshed.

        >>> from datetime import datetime, timezone
        >>> count = RemainingCount(5, datetime(2026, 1, 5, tzinfo=timezone.utc))
        >>> count.age(datetime(2026, 1, 6, 6, 0, tzinfo=timezone.utc))
        datetime.timedelta(days=1, seconds=21600)
        """
        now = _require_aware("remaining count age", "now", now)
        return max(dt.timedelta(0), now - self.refreshed_at)

    def is_stale(self, now: dt.datetime, max_age: dt.timedelta) -> bool:
        """Return whether the count is older than *max_age* as of *now*, so worth refreshing.

        *max_age* is a positive :class:`~datetime.timedelta`; how often to ask is the
        caller's policy (a refresh is a request to Microsoft, not an activation).

        >>> from datetime import datetime, timedelta, timezone
        >>> count = RemainingCount(5, datetime(2026, 1, 5, tzinfo=timezone.utc))
        >>> now = datetime(2026, 1, 6, 6, 0, tzinfo=timezone.utc)
        >>> count.is_stale(now, timedelta(days=1)), count.is_stale(now, timedelta(days=2))
        (True, False)
        """
        max_age = _require_positive_duration("remaining count age", "max_age", max_age)
        return self.age(now) > max_age
