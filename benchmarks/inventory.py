"""Inventory speed against raw sqlite3 doing the same work, in the same process.

Targets (issue 5): writing 50,000 CIL entries through ``SqliteInventory`` at most 3x a
raw ``executemany`` of the same rows, and ``find_confirmation`` among 100,000 entries at
most 3x a raw indexed ``SELECT``. ``InMemoryInventory`` is measured against the same
baselines. The raw rows are built before the clock starts, so the baseline is the
fastest the database itself can go.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mak._checkdigits import group_check_digit
from mak.adapters import InMemoryInventory, SqliteInventory
from mak.ids import ConfirmationId, InstallationId
from mak.model import CilEntry

if TYPE_CHECKING:
    from collections.abc import Callable

    from mak.ports import Inventory

AT = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
ACTIVATION_ID = "b92e9980-b9d5-4821-9c94-140f632f6312"
SCHEMA = """
CREATE TABLE cil (seq INTEGER PRIMARY KEY, installation_id TEXT NOT NULL UNIQUE,
  computer_id TEXT NOT NULL, activation_id TEXT NOT NULL, confirmation_id TEXT NOT NULL,
  partial_key TEXT NOT NULL, acquired_at TEXT NOT NULL);
CREATE INDEX cil_by_computer ON cil (computer_id);
"""
INSERT = "INSERT INTO cil (installation_id, computer_id, activation_id, confirmation_id, partial_key, acquired_at) VALUES (?, ?, ?, ?, ?, ?)"
SELECT = "SELECT * FROM cil WHERE installation_id = ?"


def _group(value: int, width: int) -> str:
    data = f"{value % 10**width:0{width}d}"
    return data + str(group_check_digit(data))


def entries(count: int, seed: int = 0) -> list[CilEntry]:
    """Return *count* CIL entries with distinct, well-formed IIDs and CIDs."""
    return [
        CilEntry(
            computer_id=f"c-{n % 500}",
            activation_id=ACTIVATION_ID,
            installation_id=InstallationId(
                "".join(_group(n * 1_000_003 + g * 7919 + seed, 6) for g in range(9))
            ),
            confirmation_id=ConfirmationId("".join(_group(n * 31 + g, 5) for g in range(8))),
            partial_key="T83GX",
            acquired_at=AT,
        )
        for n in range(count)
    ]


def _row(entry: CilEntry) -> tuple[str, ...]:
    return (
        entry.installation_id.digits,
        entry.computer_id,
        entry.activation_id,
        entry.confirmation_id.digits,
        entry.partial_key,
        entry.acquired_at.isoformat(),
    )


def _raw(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    if path != ":memory:":
        connection.execute("PRAGMA journal_mode=WAL")
    connection.executescript(SCHEMA)
    return connection


def _best(run: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _write(inventory: Inventory, data: list[CilEntry]) -> None:
    with inventory.transaction():
        for entry in data:
            inventory.add_confirmation(entry)


def bench_write(folder: Path, make: Callable[[str], Inventory], name: str, count: int) -> float:
    """Return the inventory's time over raw executemany's, for *count* entries."""
    folder = Path(tempfile.mkdtemp(dir=folder))
    data = entries(count)
    rows = [_row(entry) for entry in data]
    counter = iter(range(1_000_000))

    def through_inventory() -> None:
        inventory = make(str(folder / f"inventory-{next(counter)}.db"))
        _write(inventory, data)
        close = getattr(inventory, "close", None)
        if close is not None:  # the raw side closes its connection too
            close()

    def raw() -> None:
        connection = _raw(str(folder / f"raw-{next(counter)}.db"))
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(INSERT, rows)
        connection.execute("COMMIT")
        connection.close()

    took, base = _best(through_inventory, 3), _best(raw, 3)
    _report(f"write {count:,} CIL entries ({name})", took / count, base / count, "executemany")
    return took / base


def bench_find(folder: Path, make: Callable[[str], Inventory], name: str, count: int) -> float:
    """Return find_confirmation's time over a raw indexed SELECT's, among *count* entries."""
    folder = Path(tempfile.mkdtemp(dir=folder))
    data = entries(count, seed=3)
    inventory = make(str(folder / "find.db"))
    _write(inventory, data)
    raw = _raw(str(folder / "find-raw.db"))
    raw.execute("BEGIN IMMEDIATE")
    raw.executemany(INSERT, [_row(entry) for entry in data])
    raw.execute("COMMIT")
    # Every run looks up IIDs not looked up before (both sides get the same ones), through
    # a second object on the file when there is one: the SQLite inventory caches what it
    # found, and a cached hit would time the cache, not the lookup.
    shuffled = random.Random(1).sample(data, 20_000)
    rounds = [[e.installation_id for e in shuffled[n::5]] for n in range(5)]
    if isinstance(inventory, SqliteInventory):
        inventory.close()
        inventory = make(str(folder / "find.db"))
    ours, theirs = iter(rounds), iter(rounds)

    def through_inventory() -> None:
        for iid in next(ours):
            inventory.find_confirmation(iid)

    def select() -> None:
        for iid in next(theirs):
            raw.execute(SELECT, (iid.digits,)).fetchone()

    took, base = _best(through_inventory, 5), _best(select, 5)
    size = len(rounds[0])
    _report(f"find among {count:,} ({name})", took / size, base / size, "indexed SELECT")
    return took / base


def _report(what: str, took: float, base: float, baseline: str) -> None:
    ratio = took / base
    verdict = "ok" if ratio <= 3 else "OVER LIMIT"
    print(
        f"{what:<40} {took * 1e6:6.2f} us  {baseline} {base * 1e6:5.2f} us  ratio {ratio:5.2f}x  (limit 3x) {verdict}"
    )


def main() -> bool:
    """Run every inventory benchmark; return whether the SQLite ratios are within 3x."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        results = [
            bench_write(folder, SqliteInventory, "SqliteInventory, file", 50_000),
            bench_find(folder, SqliteInventory, "SqliteInventory, file", 100_000),
        ]
        bench_write(folder, lambda _: InMemoryInventory(), "InMemoryInventory", 50_000)
        bench_find(folder, lambda _: InMemoryInventory(), "InMemoryInventory", 100_000)
    return all(ratio <= 3 for ratio in results)


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
