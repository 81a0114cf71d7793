"""Shared fixtures for mak's tests."""

from __future__ import annotations

import random

import pytest


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """A random generator seeded from the test's id: the same data on every run."""
    return random.Random(request.node.nodeid)
