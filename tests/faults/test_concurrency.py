"""Concurrency: threads on one inventory object.

No update may be lost: a write from a stale version raises ``ConcurrencyConflict`` and
writes nothing. A product's stored version must be exactly one more than the writes that
succeeded on it (version 1 is the add): a lost update would leave the version short.
"""

from __future__ import annotations

import contextlib
import random
import sys
import threading
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from mak.adapters import InMemoryInventory, SqliteInventory
from mak.adapters import sqlite as sqlite_adapter
from mak.errors import ConcurrencyConflict
from mak.testing import make_computer, make_product

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from mak.model import Product
    from mak.ports import Inventory

SEED = 11
TIMEOUT = 120.0  # seconds any one wait may take; a healthy run takes a few


# --- threads on one inventory object ---------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite-memory", "sqlite-file"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Inventory]:
    """One inventory object for every thread, holding eight products."""
    if request.param == "memory":
        inventory: Inventory = InMemoryInventory()
        yield from _filled(inventory)
        return
    path = ":memory:" if request.param == "sqlite-memory" else tmp_path / "inventory.db"
    with SqliteInventory(path) as sqlite:
        yield from _filled(sqlite)


def _filled(inventory: Inventory) -> Iterator[Inventory]:
    inventory.add_computer(make_computer(1))
    for n in range(1, 9):
        inventory.add_product(make_product(n))
    yield inventory


@contextlib.contextmanager
def switching_often() -> Iterator[None]:
    """Let threads switch far more often than every 5 ms: more interleavings per run."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def run_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(n)`` on *count* threads; return what they raised."""
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            work(n)
        except BaseException as error:  # noqa: BLE001  # reported by the caller's assertion
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def test_threads_writing_one_version_at_once_have_one_winner(shared: Inventory) -> None:
    """Deterministic: each round every thread reads the same version, then all write it."""
    threads, rounds = 6, 30
    ids = [p.id for p in shared.products()]
    barrier = threading.Barrier(threads, timeout=TIMEOUT)
    wins: list[tuple[int, Product]] = []
    conflicts: list[tuple[int, int | None, int]] = []

    def work(n: int) -> None:
        for r in range(rounds):
            read = shared.product(ids[r % len(ids)])
            barrier.wait()
            try:
                wins.append((r, shared.update_product(attrs.evolve(read, name=f"t{n} r{r}"))))
            except ConcurrencyConflict as stale:
                conflicts.append((stale.expected, stale.actual, read.version))
            barrier.wait()

    assert run_threads(threads, work) == []
    assert sorted(r for r, _ in wins) == list(range(rounds))  # one winner a round
    assert len(conflicts) == rounds * (threads - 1)
    assert all((expected, actual) == (read, read + 1) for expected, actual, read in conflicts)
    for product in shared.products():
        won = [stored for _, stored in wins if stored.id == product.id]
        assert product.version == 1 + len(won)
        assert product == max(won, key=lambda p: p.version)


class _RolledBack(Exception):
    pass


class FreeForAll:
    """Writers (one write in five rolled back with its transaction) and readers, at once.

    Writers keep every product they stored; readers note any rolled-back write they see,
    and any product whose version went back between two of their reads.
    """

    def __init__(self, inventory: Inventory, readers: int, operations: int) -> None:
        self.inventory = inventory
        self.readers = readers
        self.operations = operations
        self.ids = [p.id for p in inventory.products()]
        self.written: dict[str, list[Product]] = defaultdict(list)
        self.conflicts = 0
        self.seen_rolled_back: list[Product] = []
        self.went_back: list[tuple[Product, Product]] = []
        self.done = threading.Event()

    def work(self, n: int) -> None:
        if n < self.readers:
            self.read()
            return
        try:
            self.write(n)
        finally:
            if n == self.readers:  # the first writer's end stops the readers
                self.done.set()

    def write(self, n: int) -> None:
        rng = random.Random(f"{SEED}/{n}")
        for i in range(self.operations):
            read = self.inventory.product(rng.choice(self.ids))
            try:
                if i % 5 == 4:
                    self.roll_back(read)
                else:
                    stored = self.inventory.update_product(attrs.evolve(read, name=f"t{n} {i}"))
                    self.written[stored.id].append(stored)
            except ConcurrencyConflict:
                self.conflicts += 1

    def roll_back(self, read: Product) -> None:
        with contextlib.suppress(_RolledBack), self.inventory.transaction():
            self.inventory.update_product(attrs.evolve(read, name="ROLLED BACK"))
            raise _RolledBack

    def read(self) -> None:
        last: dict[str, Product] = {}
        while not self.done.is_set():
            for product in self.inventory.products():
                if product.name == "ROLLED BACK":
                    self.seen_rolled_back.append(product)
                earlier = last.get(product.id)
                if earlier is not None and earlier.version > product.version:
                    self.went_back.append((earlier, product))
                last[product.id] = product


@pytest.mark.parametrize("cache_size", [3, 1 << 17], ids=["evicting", "default"])
def test_threads_reading_and_writing_freely_lose_no_update(
    shared: Inventory, cache_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A SQLite inventory's read cache smaller than the eight products: always evicting.
    monkeypatch.setattr(sqlite_adapter, "_CACHED_RECORDS", cache_size)
    readers, writers = 2, 4
    load = FreeForAll(shared, readers, operations=150)
    with switching_often():
        errors = run_threads(readers + writers, load.work)

    assert errors == []
    assert load.seen_rolled_back == []
    assert load.went_back == []
    for product in shared.products():
        written = load.written[product.id]
        versions = sorted(stored.version for stored in written)
        assert versions == list(range(2, product.version + 1))  # every success, once each
        if written:
            assert product == max(written, key=lambda p: p.version)


def test_threads_decoding_through_a_full_cache_never_collide(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: two threads evicting the same oldest cached record raised KeyError.

    ``products()`` decoded its rows through the shared cache outside the lock. Here a
    cache of one record stops each eviction until a second thread arrives at its own: with
    the decode outside the lock both then deleted the same key. Under the lock the second
    thread cannot arrive, and the first goes on after a second's wait.
    """
    monkeypatch.setattr(sqlite_adapter, "_CACHED_RECORDS", 1)
    meeting = threading.Barrier(2, timeout=1.0)

    class MeetingCache(dict[Any, Any]):
        def __delitem__(self, key: object) -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                meeting.wait()
            super().__delitem__(key)

    with SqliteInventory(":memory:") as inventory:
        inventory.add_computer(make_computer(1))
        for n in range(1, 4):
            inventory.add_product(make_product(n))
        inventory._cache = MeetingCache(inventory._cache)
        read: list[list[Product]] = []
        assert run_threads(2, lambda _: read.append(inventory.products())) == []
        assert read[0] == read[1] == inventory.products()
