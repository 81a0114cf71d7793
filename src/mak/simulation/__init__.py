"""A simulated clearinghouse and fleet, for tests, demos and notebooks.

This package mints obviously simulated product keys and confirmation IDs, only so that
simulated fleets can run. Its keys use group IDs no Microsoft product uses
(``MAK_GROUP_IDS``) and are useless anywhere else; its CIDs are
digests of the installation ID and mean nothing to Windows. It never touches the network.

Everything is a function of a seed, so two processes with the same seed see the same
fleet, the same MAK and the same IDs:

- :class:`SimulatedClearinghouse` (an :class:`~mak.ports.ActivationService`) issues MAKs,
  each with a :class:`~mak.limits.MakPool`, answers CID requests and records its calls;
- :class:`SimulatedComputer` (a :class:`~mak.ports.ComputerEndpoint`) runs
  :mod:`mak.lifecycle` for its Windows product and optional Office product;
- :class:`SimulatedFleet` builds computers and is their
  :class:`~mak.ports.EndpointConnector` and :class:`~mak.ports.Discovery`;
- :class:`FakeClock` is a settable :class:`~mak.ports.Clock`; :func:`mint_key` mints keys.

>>> from datetime import datetime, timezone
>>> from mak.catalog import ProductFamily
>>> clock = FakeClock(datetime(2026, 1, 5, tzinfo=timezone.utc))
>>> service = SimulatedClearinghouse(seed=1)
>>> mak = service.issue_mak(limit=250, family=ProductFamily.WINDOWS_CLIENT)
>>> fleet = SimulatedFleet(size=5, seed=1, clearinghouse=service, clock=clock)
>>> pc = fleet.connect(fleet.computers[0])
>>> aid = pc.install_product_key(mak)
>>> pc.activate(aid)
>>> pc.license_state(aid).method, service.pool(mak).used
(<ActivationMethod.MAK_INDEPENDENT: 'mak-independent'>, 1)
"""

from __future__ import annotations

from mak.simulation.clearinghouse import Call, SimulatedClearinghouse
from mak.simulation.clock import FakeClock
from mak.simulation.computer import SimulatedComputer, SimulatedKmsHost, activation_id_of
from mak.simulation.fleet import SimulatedFleet
from mak.simulation.keys import MAK_GROUP_IDS, extended_pid, family_of, mint_key

__all__ = [
    "MAK_GROUP_IDS",
    "Call",
    "FakeClock",
    "SimulatedClearinghouse",
    "SimulatedComputer",
    "SimulatedFleet",
    "SimulatedKmsHost",
    "activation_id_of",
    "extended_pid",
    "family_of",
    "mint_key",
]
