"""InMemoryInventory: the Inventory contract, and what only the in-memory store promises."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import attrs
import pytest

from mak.adapters.memory import InMemoryInventory
from mak.testing import InventoryContract, make_computer

if TYPE_CHECKING:
    from mak.ports import Inventory

inventory_port: Inventory = InMemoryInventory()  # typing smoke test: mypy checks conformance


class TestInMemoryInventory(InventoryContract):
    """The contract suite, run against InMemoryInventory."""

    @pytest.fixture
    def inventory(self) -> InMemoryInventory:
        """A new, empty in-memory inventory."""
        return InMemoryInventory()


def test_a_transaction_makes_other_threads_writes_wait() -> None:
    inventory = InMemoryInventory()
    inside = threading.Event()
    finished = threading.Event()

    def write() -> None:
        inside.wait(10)
        inventory.add_computer(make_computer(2))
        finished.set()

    writer = threading.Thread(target=write)
    writer.start()
    with inventory.transaction():
        inventory.add_computer(make_computer(1))
        inside.set()
        time.sleep(0.1)
        assert not finished.is_set()
    writer.join(10)
    assert finished.is_set()
    assert len(inventory.computers()) == 2


def test_the_same_thread_may_read_and_write_inside_its_transaction() -> None:
    inventory = InMemoryInventory()
    with inventory.transaction(), inventory.transaction():
        stored = inventory.add_computer(make_computer(1))
        assert inventory.computers() == [stored]


def test_stored_records_are_the_frozen_snapshots_given() -> None:
    inventory = InMemoryInventory()
    stored = inventory.add_computer(make_computer(1))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        stored.name = "CHANGED"  # type: ignore[misc]  # the point: it is frozen
    assert inventory.computer("computer-0001").name == "LAB-PC-0001"


def test_a_failed_nested_transaction_leaves_the_inventory_usable() -> None:
    inventory = InMemoryInventory()

    def fail() -> None:
        with inventory.transaction(), inventory.transaction():
            inventory.add_computer(make_computer(1))
            _ = 1 / 0

    with pytest.raises(ZeroDivisionError):
        fail()
    assert inventory.add_computer(make_computer(1)).version == 1
