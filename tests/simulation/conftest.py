"""Fixtures for the simulation's tests: a clock, a clearinghouse with a MAK, small fleets."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from mak.catalog import ProductFamily
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet

if TYPE_CHECKING:
    from mak.keys import ProductKey

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def service() -> SimulatedClearinghouse:
    return SimulatedClearinghouse(seed=1)


@pytest.fixture
def mak_key(service: SimulatedClearinghouse) -> ProductKey:
    return service.issue_mak(limit=250, family=ProductFamily.WINDOWS_CLIENT)


@pytest.fixture
def clients(service: SimulatedClearinghouse, clock: FakeClock) -> SimulatedFleet:
    """Thirty Windows client computers, no Office, no servers."""
    return SimulatedFleet(
        30, seed=7, clearinghouse=service, clock=clock, office_share=0, server_share=0
    )
