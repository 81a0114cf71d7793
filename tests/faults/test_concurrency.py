"""Concurrency: processes on one SQLite file, threads on one inventory object.

No update may be lost: a write from a stale version raises ``ConcurrencyConflict`` and
writes nothing, and the use cases retry it on a fresh read or report it. No row may be
corrupted, and no confirmation ID the service issued may go missing.

The proof of "no lost update" is arithmetic: every writer counts the product updates it
committed, and each product's stored version must be exactly one more than all of them
together (version 1 is the add). A lost update would leave the version short.

Run ``pytest tests/faults/test_concurrency.py -rP`` to see the figures.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import sqlite3
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from mak.adapters import InMemoryInventory, SqliteInventory
from mak.adapters import sqlite as sqlite_adapter
from mak.catalog import ProductFamily
from mak.errors import ConcurrencyConflict
from mak.lifecycle import LicenseStatus
from mak.manager import VolumeActivationManager
from mak.model import ByWorkgroup, CilEntry, Product
from mak.serialization import make_converter
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet
from mak.testing import make_activation_id, make_computer, make_product

from . import _durable_lab as lab

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator, Sequence

    from mak.ports import CidRequest, CidResult, Inventory

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="flock and the child's signals")

SEED = 11
TIMEOUT = 120.0  # seconds any one wait may take; a healthy run takes a few


# --- checks on a file ----------------------------------------------------------------------


def integrity(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def check_rows(path: Path) -> list[Product]:
    """Every product row decoded, its indexed columns agreeing with its data; return them."""
    converter = make_converter()
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            "SELECT id, version, computer_id, activation_id, family, status, data FROM products"
        ).fetchall()
    finally:
        connection.close()
    products: list[Product] = []
    for row_id, version, computer_id, activation_id, family, status, data in rows:
        product = converter.structure(json.loads(data), Product)
        assert (product.id, product.computer_id, product.activation_id) == (
            row_id,
            computer_id,
            activation_id,
        )
        assert (product.family.value, int(product.status)) == (family, status)
        assert product.version == version
        products.append(product)
    with SqliteInventory(path) as inventory:  # and through the adapter, every kind of row
        assert sorted(inventory.products(), key=lambda p: p.id) == sorted(
            products, key=lambda p: p.id
        )
        inventory.computers()
        inventory.keys()
        inventory.confirmations()
        inventory.history()
    return products


def kept_cids(path: Path) -> dict[str, str]:
    with SqliteInventory(path) as inventory:
        return {
            e.installation_id.digits: e.confirmation_id.digits for e in inventory.confirmations()
        }


def check_charges(journal: Path, kept: dict[str, str]) -> tuple[int, int]:
    """Check no IID was charged twice and every issued CID is kept; return (issued, double)."""
    charges = lab.read_journal(journal)
    double = sum(n - 1 for n in Counter(c.installation_id for c in charges).values())
    assert double == 0
    issued = {c.installation_id: c.confirmation_id for c in charges}
    assert {iid: kept.get(iid) for iid in issued} == issued  # no CID lost
    replayed = lab.JournaledClearinghouse(journal, seed=SEED, limit=10_000)
    try:
        assert replayed.inner.pool(replayed.mak).used == len(issued)
    finally:
        replayed.close()
    return len(issued), double


@attrs.define
class Files:
    db: Path
    journal: Path

    def argv(self, size: int, run: int, *extra: str) -> list[str]:
        return [
            f"--db={self.db}",
            f"--journal={self.journal}",
            f"--seed={SEED}",
            f"--size={size}",
            f"--run={run}",
            *extra,
        ]


def discover(files: Files, size: int) -> Counter[str]:
    """Discover the lab into the file, in this process; return its committed product updates."""
    service = lab.JournaledClearinghouse(files.journal, seed=SEED, limit=10_000)
    fleet = lab.build_fleet(size, SEED, service, FakeClock(lab.START))
    try:
        with SqliteInventory(files.db) as sqlite:
            inventory = lab.CountingInventory(sqlite)
            manager = VolumeActivationManager(
                inventory,  # an Inventory by delegation
                service,
                fleet,
                FakeClock(lab.START),
                discovery=fleet,
            )
            manager.discover(ByWorkgroup("LAB"))
            manager.add_product_key(service.mak)
    finally:
        service.close()
    return inventory.committed


# --- two processes -------------------------------------------------------------------------


@posix_only
def test_two_processes_running_use_cases_on_one_file_lose_nothing(tmp_path: Path) -> None:
    """Proxy activation and refresh over overlapping products, in two processes at once."""
    size, shared_from, shared_to = 300, 100, 200
    files = Files(tmp_path / "inventory.db", tmp_path / "journal")
    committed = discover(files, size)
    # Small transactions and service batches: many points where the other process can
    # write between one's read and its write. Different clocks: the two processes' CIL
    # entries for one IID differ in acquired_at, as two admins' would.
    # Both begin with the products they share.
    options = ("--refresh", "--wait-for-go", "--chunk=20", "--batch-size=25")
    one = (f"--last={shared_to}", f"--start-at={shared_from}", *options)
    other = (f"--first={shared_from}", *options)
    with (
        lab.Child(files.argv(size, 1, *one), stdin=True) as first,
        lab.Child(files.argv(size, 2, *other), stdin=True) as second,
    ):
        children = (first, second)
        for child in children:
            child.wait_for(lambda line: line == "ready", TIMEOUT)
        for child in children:
            child.send("go\n")
        results = [child.result(TIMEOUT) for child in children]

    assert integrity(files.db) == "ok"
    products = check_rows(files.db)
    for result in results:
        committed.update(result["committed"])
    # No lost update: each product's version counts every committed write, once.
    assert {p.id: p.version for p in products} == {p.id: 1 + committed[p.id] for p in products}
    failures = [
        f for result in results for report in result["reports"] for f in report["failures"]
    ]
    # A use case either retried a stale write or reported it; nothing else went wrong.
    assert all("Stale" in detail for _, _, detail in failures), failures
    kept = kept_cids(files.db)
    issued, double = check_charges(files.journal, kept)

    # Whatever was reported, running once more on its own finishes the job at no charge.
    with lab.Child(files.argv(size, 3)) as child:
        healed = child.result(TIMEOUT)
    assert [(r["succeeded"], r["failures"]) for r in healed["reports"]] == [(size, [])]
    products = check_rows(files.db)
    assert {p.status for p in products} == {LicenseStatus.LICENSED}
    assert check_charges(files.journal, kept_cids(files.db)) == (size, 0)
    assert issued <= size

    conflicts = sum(result["conflicts"] for result in results)
    print()  # noqa: T201  # the figures for docs/reliability.md
    print(  # noqa: T201
        f"two processes, {size} products ({shared_to - shared_from} shared),"
        " proxy_activate + refresh each:"
        f" stale writes refused and retried: {conflicts}; outcomes reported stale:"
        f" {len(failures)}; lost updates: 0; CIDs issued: {issued}; CIDs lost: 0;"
        f" double charges: {double}"
    )


class BumpingService:
    """The clearinghouse, but while it answers another process updates the products asked for."""

    def __init__(
        self, inner: lab.JournaledClearinghouse, bumper: lab.Child, ids: dict[str, str]
    ) -> None:
        self.inner = inner
        self.bumper = bumper
        self.ids = ids  # IID digits -> product id
        self.bumped: list[str] = []

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        results = self.inner.acquire_confirmation_ids(requests)
        for request in requests:
            product_id = self.ids[request.installation_id.digits]
            self.bumper.send(f"{product_id}\n")
            self.bumper.wait_for(lab.starting(f"bumped {product_id} "), TIMEOUT)
            self.bumped.append(product_id)
        return results

    def remaining_activations(self, key: Any) -> int:  # not called here
        return self.inner.remaining_activations(key)


class WithoutBulkReads(lab.CountingInventory):
    """The counting inventory without mak.ports.BulkReads: the manager reads one by one."""

    def __getattr__(self, name: str) -> Any:
        if name in {"products_by_id", "computers_by_id", "find_confirmations"}:
            raise AttributeError(name)
        return super().__getattr__(name)


@posix_only
@pytest.mark.parametrize("bulk", [True, False], ids=["bulk reads", "one by one"])
def test_a_write_another_process_made_stale_is_retried_keeping_both(
    tmp_path: Path, *, bulk: bool
) -> None:
    """Deterministic: the products change in another process while the service answers.

    With bulk reads the manager reads the products again before keeping the CIDs, and
    finds them changed; without, each CID write finds its product stale, is refused, and
    is retried on a fresh read. Either way both writers' changes are kept.
    """
    size = 6
    files = Files(tmp_path / "inventory.db", tmp_path / "journal")
    committed = discover(files, size)
    clock = FakeClock(lab.START)
    journaled = lab.JournaledClearinghouse(files.journal, seed=SEED, limit=10_000)
    fleet = lab.build_fleet(size, SEED, journaled, clock)
    with (
        lab.Child(["bump", str(files.db)], stdin=True) as bumper,
        SqliteInventory(files.db) as sqlite,
    ):
        bumper.wait_for(lambda line: line == "ready", TIMEOUT)
        inventory = lab.CountingInventory(sqlite) if bulk else WithoutBulkReads(sqlite)
        manager = VolumeActivationManager(inventory, journaled, fleet, clock)
        products = sqlite.products()
        manager.collect_installation_ids(products, journaled.mak)
        ids = {p.installation_id.digits: p.id for p in sqlite.products() if p.installation_id}
        manager.service = service = BumpingService(journaled, bumper, ids)
        report = manager.acquire_confirmation_ids(products)
    journaled.close()

    assert (report.succeeded, report.failed) == (size, 0)
    assert sorted(service.bumped) == sorted(p.id for p in products)
    assert inventory.conflicts == (0 if bulk else size)
    committed.update(inventory.committed)
    committed.update(service.bumped)
    stored = check_rows(files.db)
    assert {p.id: p.version for p in stored} == {p.id: 1 + committed[p.id] for p in stored}
    for product in stored:  # both writers' changes are there
        assert product.name.endswith("+")
        assert product.confirmation_id is not None
    check_charges(files.journal, kept_cids(files.db))


class AnotherProxyFirst:
    """The clearinghouse, but before its answer arrives another process proxy-activates the same products.

    That process asks for the same IIDs (the same CIDs, no charge) and keeps them in the
    CIL first, an hour later by its clock: as two administrators' proxies racing.
    """

    def __init__(self, inner: lab.JournaledClearinghouse, argv: list[str]) -> None:
        self.inner = inner
        self.argv = argv
        self.other: dict[str, Any] = {}

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        results = self.inner.acquire_confirmation_ids(requests)
        with lab.Child(self.argv) as other:
            self.other = other.result(TIMEOUT)
        return results

    def remaining_activations(self, key: Any) -> int:  # not called here
        return self.inner.remaining_activations(key)


@posix_only
def test_two_proxies_racing_for_one_cid_both_succeed(tmp_path: Path) -> None:
    """Regression: the proxy storing a CID second reported it "not stored", though it was.

    Its CIL entry differed from the one kept only in ``acquired_at``; the CID is the same,
    so the product goes on with the kept one.
    """
    size = 6
    files = Files(tmp_path / "inventory.db", tmp_path / "journal")
    discover(files, size)
    clock = FakeClock(lab.START)
    journaled = lab.JournaledClearinghouse(files.journal, seed=SEED, limit=10_000)
    fleet = lab.build_fleet(size, SEED, journaled, clock)
    service = AnotherProxyFirst(journaled, files.argv(size, 1))
    with SqliteInventory(files.db) as inventory:
        manager = VolumeActivationManager(inventory, service, fleet, clock)
        report = manager.proxy_activate(inventory.products(), journaled.mak)
        products = inventory.products()
        entries = inventory.confirmations()
    journaled.close()

    assert [(r["succeeded"], r["failures"]) for r in service.other["reports"]] == [(size, [])]
    assert (report.succeeded, report.failures) == (size, ())
    assert {p.status for p in products} == {LicenseStatus.LICENSED}
    assert {e.acquired_at for e in entries} == {lab.START + dt.timedelta(hours=1)}  # the other's
    assert check_charges(files.journal, kept_cids(files.db)) == (size, 0)


class OtherEntryFirst:
    """The clearinghouse, but before its answer arrives the CIL gets another entry for each IID."""

    def __init__(self, inner: SimulatedClearinghouse, inventory: Inventory) -> None:
        self.inner = inner
        self.inventory = inventory

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        results = self.inner.acquire_confirmation_ids(requests)
        for result in results:
            assert result.confirmation_id is not None
            self.inventory.add_confirmation(
                CilEntry(
                    computer_id="another-computer",
                    activation_id=make_activation_id(1),
                    installation_id=result.installation_id,
                    confirmation_id=result.confirmation_id,
                    partial_key="QQQQQ",
                    acquired_at=lab.START,
                )
            )
        return results

    def remaining_activations(self, key: Any) -> int:  # not called here
        return self.inner.remaining_activations(key)


def test_a_cil_entry_kept_meanwhile_for_another_product_still_fails_the_product() -> None:
    """Only an entry differing in its time is taken as this product's: others stay a conflict."""
    clock = FakeClock(lab.START)
    inner = SimulatedClearinghouse(seed=SEED)
    mak = inner.issue_mak(limit=10, family=ProductFamily.WINDOWS_CLIENT)
    fleet = SimulatedFleet(2, SEED, clearinghouse=inner, clock=clock, server_share=0.0)
    inventory = InMemoryInventory()
    service = OtherEntryFirst(inner, inventory)
    manager = VolumeActivationManager(inventory, service, fleet, clock, discovery=fleet)
    manager.discover(ByWorkgroup("LAB"))
    products = inventory.products(family=ProductFamily.WINDOWS_CLIENT)

    report = manager.proxy_activate(products, mak)

    assert report.succeeded == 0
    assert all("not stored: Stale confirmation" in o.detail for o in report.failures)
    assert {e.partial_key for e in inventory.confirmations()} == {"QQQQQ"}
    assert {p.confirmation_id for p in inventory.products()} == {None}


# --- threads on one inventory object ---------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite-memory", "sqlite-file"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Inventory]:
    """One inventory object for every thread, holding eight products."""
    if request.param == "memory":
        inventory = InMemoryInventory()
        fill(inventory)
        yield inventory
        return
    path = ":memory:" if request.param == "sqlite-memory" else tmp_path / "inventory.db"
    with SqliteInventory(path) as sqlite:
        fill(sqlite)
        yield sqlite


def fill(inventory: Inventory) -> None:
    """Store one computer with eight products."""
    inventory.add_computer(make_computer(1))
    for n in range(1, 9):
        inventory.add_product(make_product(n))


@contextlib.contextmanager
def switching_often() -> Generator[None, None, None]:
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
    and any product whose version went back between two of their reads. Thread *n* uses
    the *n*-th of *inventories*, round robin (objects on one file, or one object).
    """

    def __init__(self, inventories: Sequence[Inventory], readers: int, operations: int) -> None:
        self.inventories = inventories
        self.readers = readers
        self.operations = operations
        self.ids = [p.id for p in inventories[0].products()]
        self.written: dict[str, list[Product]] = defaultdict(list)
        self.conflicts = 0
        self.seen_rolled_back: list[Product] = []
        self.went_back: list[tuple[Product, Product]] = []
        self.done = threading.Event()

    def work(self, n: int) -> None:
        inventory = self.inventories[n % len(self.inventories)]
        if n < self.readers:
            self.read(inventory)
            return
        try:
            self.write(inventory, n)
        finally:
            if n == self.readers:  # the first writer's end stops the readers
                self.done.set()

    def write(self, inventory: Inventory, n: int) -> None:
        rng = random.Random(f"{SEED}/{n}")
        for i in range(self.operations):
            read = inventory.product(rng.choice(self.ids))
            try:
                if i % 5 == 4:
                    self.roll_back(inventory, read)
                else:
                    stored = inventory.update_product(attrs.evolve(read, name=f"t{n} {i}"))
                    self.written[stored.id].append(stored)
            except ConcurrencyConflict:
                self.conflicts += 1

    def roll_back(self, inventory: Inventory, read: Product) -> None:
        with contextlib.suppress(_RolledBack), inventory.transaction():
            inventory.update_product(attrs.evolve(read, name="ROLLED BACK"))
            raise _RolledBack

    def read(self, inventory: Inventory) -> None:
        last: dict[str, Product] = {}
        while not self.done.is_set():
            # The whole list, then each product alone: both ways through the cache.
            seen = inventory.products() + [inventory.product(i) for i in self.ids]
            for product in seen:
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
    check_free_for_all([shared])


def test_threads_on_two_objects_of_one_file_lose_no_update(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two connections, each with its own read cache that rollbacks must empty."""
    monkeypatch.setattr(sqlite_adapter, "_CACHED_RECORDS", 3)
    with (
        SqliteInventory(tmp_path / "inventory.db") as first,
        SqliteInventory(tmp_path / "inventory.db") as second,
    ):
        fill(first)
        check_free_for_all([first, second])


def check_free_for_all(inventories: Sequence[Inventory]) -> None:
    """Run a :class:`FreeForAll` and check every success is reflected, once, and nothing else."""
    readers, writers = 2, 4
    load = FreeForAll(inventories, readers, operations=150)
    with switching_often():
        errors = run_threads(readers + writers, load.work)

    assert errors == []
    assert load.seen_rolled_back == []
    assert load.went_back == []
    for inventory in inventories:
        for product in inventory.products():
            written = load.written[product.id]
            versions = sorted(stored.version for stored in written)
            assert versions == list(range(2, product.version + 1))  # every success, once
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
        cache = inventory._cache
        cache._records = MeetingCache(cache._records)
        read: list[list[Product]] = []
        assert run_threads(2, lambda _: read.append(inventory.products())) == []
        assert read[0] == read[1] == inventory.products()
