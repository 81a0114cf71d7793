"""DESIGN.md's canonical scenario, run exactly as written there: the contract in one script.

The body between ``fmt: off`` and ``fmt: on`` is DESIGN.md's text, unchanged; the checks
after it only add to it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from math import ceil

from mak.adapters import SqliteInventory
from mak.catalog import ProductFamily
from mak.lifecycle import LicenseStatus
from mak.manager import VolumeActivationManager
from mak.model import ByWorkgroup
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet


def test_the_canonical_scenario_runs_as_written() -> None:
    # fmt: off
    clock = FakeClock(datetime(2026, 1, 5, tzinfo=timezone.utc))
    service = SimulatedClearinghouse(seed=1)
    mak_key = service.issue_mak(limit=250, family=ProductFamily.WINDOWS_CLIENT)
    fleet = SimulatedFleet(size=200, seed=1, workgroup="LAB", clearinghouse=service, clock=clock)
    manager = VolumeActivationManager(
        inventory=SqliteInventory(":memory:"), service=service,
        connector=fleet, discovery=fleet, clock=clock,
    )

    manager.discover(ByWorkgroup("LAB"))
    manager.add_product_key(mak_key)
    clients = manager.inventory.products(family=ProductFamily.WINDOWS_CLIENT)
    report = manager.proxy_activate(clients, mak_key, batch_size=50)
    assert report.failed == 0 and report.succeeded == len(clients)  # noqa: PT018  # as written
    assert service.pool(mak_key).used == len(clients)
    assert sum(c.method == "acquire_confirmation_ids" for c in service.calls) == ceil(len(clients) / 50)

    for computer in fleet.computers[:20]:
        fleet.reimage(computer.id)                   # same hardware, licensing wiped
    manager.refresh(clients)
    again = manager.reactivate(clients)              # re-applies stored CIDs
    assert service.pool(mak_key).used == len(clients)  # no activation spent
    # fmt: on

    # Beyond the script: every client is licensed again, and the reactivation asked nothing.
    assert again.failed == 0
    assert again.service_calls == 0
    statuses = {p.status for p in manager.inventory.products(family=ProductFamily.WINDOWS_CLIENT)}
    assert statuses == {LicenseStatus.LICENSED}
    assert len(clients) > 100  # the scenario really covers a fleet
