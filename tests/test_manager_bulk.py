"""The manager's chunked reads: mak.ports.BulkReads used where the inventory has it.

Where an inventory has ``products_by_id``, ``computers_by_id`` and
``find_confirmations``, the manager reads each chunk of products, their computers
and (when acquiring) their CIL entries at once instead of one by one; where it has
none, or a bulk read fails, it reads one by one, with the same outcomes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import pytest

from mak.adapters import InMemoryInventory
from mak.catalog import ProductFamily
from mak.errors import StorageError
from mak.manager import VolumeActivationManager
from mak.model import ByWorkgroup
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mak.ids import InstallationId
    from mak.model import CilEntry, Computer, Product

START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
_BULK = ("products_by_id", "computers_by_id", "find_confirmations")
_K = TypeVar("_K")
_R = TypeVar("_R")


class Counting(InMemoryInventory):
    """An in-memory inventory counting its reads; its bulk reads may fail."""

    def __init__(self, *, bulk_error: Exception | None = None) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.bulk_error = bulk_error

    def product(self, product_id: str, /) -> Product:
        self.calls["product"] += 1
        return super().product(product_id)

    def computer(self, computer_id: str, /) -> Computer:
        self.calls["computer"] += 1
        return super().computer(computer_id)

    def find_confirmation(self, installation_id: InstallationId, /) -> CilEntry | None:
        self.calls["find_confirmation"] += 1
        return super().find_confirmation(installation_id)

    def products_by_id(self, product_ids: Sequence[str], /) -> list[Product]:
        return self._bulk("products_by_id", super().products_by_id, product_ids)

    def computers_by_id(self, computer_ids: Sequence[str], /) -> list[Computer]:
        return self._bulk("computers_by_id", super().computers_by_id, computer_ids)

    def find_confirmations(self, installation_ids: Sequence[InstallationId], /) -> list[CilEntry]:
        return self._bulk("find_confirmations", super().find_confirmations, installation_ids)

    def _bulk(self, name: str, read: Callable[[Sequence[_K]], _R], keys: Sequence[_K]) -> _R:
        self.calls[name] += 1
        if self.bulk_error is not None:
            raise self.bulk_error
        return read(keys)


class WithoutBulk(Counting):
    """The same, with no bulk read at all: an inventory of the plain port only."""

    def __getattribute__(self, name: str) -> Any:
        if name in _BULK:
            raise AttributeError(name)
        return super().__getattribute__(name)


def _activate(inventory: Counting, size: int) -> tuple[list[tuple[str, bool]], list[Product]]:
    clock = FakeClock(START)
    service = SimulatedClearinghouse(seed=5)
    fleet = SimulatedFleet(
        size, seed=5, clearinghouse=service, clock=clock, server_share=0.0, office_share=0.0
    )
    manager = VolumeActivationManager(inventory, service, fleet, clock, discovery=fleet)
    manager.discover(ByWorkgroup("LAB"))
    mak = service.issue_mak(limit=size, family=ProductFamily.WINDOWS_CLIENT)
    manager.add_product_key(mak)
    products = inventory.products(family=ProductFamily.WINDOWS_CLIENT)
    inventory.calls.clear()
    report = manager.proxy_activate(products, mak)
    outcomes = [(o.product_id or "", o.ok) for o in report]
    return outcomes, inventory.products()


def test_a_chunk_of_products_is_read_at_once() -> None:
    inventory = Counting()
    outcomes, _ = _activate(inventory, 1_200)  # three chunks of at most 500
    assert len(outcomes) == 1_200
    assert all(ok for _, ok in outcomes)
    assert inventory.calls["product"] == inventory.calls["computer"] == 0
    # Collecting and applying read 3 chunks each; acquiring reads them, then again per
    # service call (3 of 500) before keeping the CIDs: 12 bulk product reads in all.
    assert inventory.calls["products_by_id"] == 12
    assert inventory.calls["computers_by_id"] == 6
    assert inventory.calls["find_confirmations"] == 3
    # What bulk reads cannot answer: the IID read back from each computer to deposit.
    assert inventory.calls["find_confirmation"] == 1_200


@pytest.mark.parametrize(
    "inventory",
    [
        WithoutBulk(),
        Counting(bulk_error=StorageError("the bulk read failed")),
        Counting(bulk_error=RuntimeError("a bug in a third-party bulk read")),
    ],
    ids=["without", "storage error", "any error"],
)
def test_without_bulk_reads_each_record_is_read_alone_to_the_same_end(
    inventory: Counting,
) -> None:
    expected_outcomes, expected_products = _activate(Counting(), 30)
    outcomes, products = _activate(inventory, 30)
    assert outcomes == expected_outcomes
    assert products == expected_products
    assert inventory.calls["product"] == 3 * 30
    assert inventory.calls["computer"] == 2 * 30


def test_a_new_iid_the_cil_knows_gets_its_cid_when_acquiring_unpaid() -> None:
    inventory = Counting()
    clock = FakeClock(START)
    service = SimulatedClearinghouse(seed=5)
    fleet = SimulatedFleet(
        4, seed=5, clearinghouse=service, clock=clock, server_share=0.0, office_share=0.0
    )
    manager = VolumeActivationManager(inventory, service, fleet, clock, discovery=fleet)
    manager.discover(ByWorkgroup("LAB"))
    mak = service.issue_mak(limit=4, family=ProductFamily.WINDOWS_CLIENT)
    manager.add_product_key(mak)
    [product, *_] = inventory.products(family=ProductFamily.WINDOWS_CLIENT)
    assert manager.proxy_activate([product], mak).succeeded == 1
    kept = inventory.product(product.id)
    # The record forgets its IDs (as a product discovered anew would have none).
    inventory.update_product(attrs.evolve(kept, installation_id=None, confirmation_id=None))
    fleet.reimage(product.computer_id)
    collected = manager.collect_installation_ids([product.id], mak)
    assert collected.succeeded == 1
    assert inventory.product(product.id).confirmation_id is None  # acquiring decides
    calls = len(service.calls)
    acquired = manager.acquire_confirmation_ids([product.id])
    assert acquired.outcome(product.id).detail.startswith("confirmation ID reused")
    assert len(service.calls) == calls  # no service call: the CIL had it
    assert inventory.product(product.id).confirmation_id == kept.confirmation_id
    assert service.pool(mak).used == 1
