"""A settable clock for simulations and tests: time moves only when told to."""

from __future__ import annotations

import datetime as dt
import threading

from mak.errors import InvalidComponent

__all__ = ["FakeClock"]


def _aware_utc(value: object, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise InvalidComponent(
            "clock time", name, f"expected a datetime, got {type(value).__name__}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidComponent("clock time", name, "is naive; pass an aware UTC datetime")
    return value.astimezone(dt.timezone.utc)


class FakeClock:
    """Return a :class:`~mak.ports.Clock` that stands still until advanced or set.

    It starts at *start* (aware; kept in UTC). Time never goes backwards: a negative
    :meth:`advance` or a :meth:`set` to an earlier moment raises
    :class:`~mak.errors.InvalidComponent`, because the simulated KMS host and licensing
    timers assume time only moves on. Thread-safe.

    >>> from datetime import datetime, timedelta, timezone
    >>> clock = FakeClock(datetime(2026, 1, 5, tzinfo=timezone.utc))
    >>> clock.advance(timedelta(days=1))
    datetime.datetime(2026, 1, 6, 0, 0, tzinfo=datetime.timezone.utc)
    >>> clock.advance(timedelta(seconds=-1))
    Traceback (most recent call last):
    mak.errors.InvalidComponent: Invalid clock advance: '-1 day, 23:59:59' (time never goes backwards)
    """

    def __init__(self, start: dt.datetime) -> None:
        self._now = _aware_utc(start, "start")
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """Return the clock's current time, aware, in UTC."""
        # Reading one attribute is atomic, and a simulated computer asks for the time
        # several times per call: only advance and set, which read and then write, lock.
        return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        """Move the clock on by *delta* (zero or more) and return the new time."""
        if not isinstance(delta, dt.timedelta):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise InvalidComponent(
                "clock advance", f"<{type(delta).__name__}>", "expected a timedelta"
            )
        if delta < dt.timedelta(0):
            raise InvalidComponent("clock advance", str(delta), "time never goes backwards")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: dt.datetime) -> dt.datetime:
        """Move the clock to *moment* (aware, not earlier than now) and return it in UTC.

        >>> from datetime import datetime, timezone
        >>> clock = FakeClock(datetime(2026, 1, 5, tzinfo=timezone.utc))
        >>> clock.set(datetime(2026, 1, 4, tzinfo=timezone.utc))
        Traceback (most recent call last):
        mak.errors.InvalidComponent: Invalid clock time: '2026-01-04T00:00:00+00:00' (earlier than the clock's 2026-01-05T00:00:00+00:00; time never goes backwards)
        """
        target = _aware_utc(moment, "moment")
        with self._lock:
            if target < self._now:
                reason = (
                    f"earlier than the clock's {self._now.isoformat()}; time never goes backwards"
                )
                raise InvalidComponent("clock time", target.isoformat(), reason)
            self._now = target
            return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self.now().isoformat()!r})"
