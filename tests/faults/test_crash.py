"""Crash safety: proxy activation killed with SIGKILL at random points, then resumed.

A child process (``_durable_lab.py``) proxy-activates a lab of a few thousand products on
a SQLite inventory file. The test kills it (SIGKILL: no handler runs, nothing is flushed)
at seeded points spread over the whole story: while discovering, collecting IIDs, right
after the clearinghouse charged a batch and before the inventory stored its CIDs, while
storing them, and while depositing. After every kill the file must open and pass
SQLite's integrity check; every CID in it must be one the service issued. A last run
resumes and finishes: every product licensed, every CID the service ever issued kept,
no IID charged twice, and the MAK's count equal to the IIDs activated.

Run ``pytest tests/faults/test_crash.py -rP`` to see the table of figures.
"""

from __future__ import annotations

import datetime as dt
import random
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from mak.adapters import SqliteInventory
from mak.catalog import ProductFamily
from mak.lifecycle import LicenseStatus
from mak.proxystage import ProxyStage

from . import _durable_lab as lab

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and flock are POSIX")

PRODUCTS = 2000
SEED = 9
BATCH_SIZE = 100  # 20 service calls for the whole lab
TIMEOUT = 120.0  # seconds any one wait may take; a healthy run takes a few


@attrs.frozen
class Files:
    db: Path
    journal: Path
    requests: Path

    def argv(self, run: int, *extra: str) -> list[str]:
        return [
            f"--db={self.db}",
            f"--journal={self.journal}",
            f"--requests={self.requests}",
            f"--seed={SEED}",
            f"--size={PRODUCTS}",
            f"--batch-size={BATCH_SIZE}",
            f"--run={run}",
            *extra,
        ]


@attrs.frozen
class Kill:
    """Where to kill a run: the line after which it dies, and the arguments the run needs."""

    where: str
    wanted: Callable[[str], bool]
    extra: tuple[str, ...] = ()


def kill_points(rng: random.Random) -> list[Kill]:
    """Five kills, one in each stretch of the story, at seeded points within it.

    Each point leaves a margin before its stretch ends: the child runs on while the test
    reads its line, and a run must still be running when the kill comes.
    """
    p = PRODUCTS
    return [
        Kill("discovering", lab.progress_at("discover", rng.randint(p // 5, 7 * p // 10))),
        Kill("collecting IIDs", lab.progress_at("proxy", rng.randint(p // 5, 6 * p // 10))),
        # Runs before this one never reach the service, so all 20 calls are still to come.
        Kill(
            "charged, CIDs not stored",
            lab.starting("held "),
            (f"--hold-after-call={rng.randint(2, 8)}",),
        ),
        Kill("acquiring CIDs", lab.progress_at("proxy", rng.randint(11 * p // 10, 17 * p // 10))),
        Kill("depositing CIDs", lab.progress_at("proxy", rng.randint(21 * p // 10, 26 * p // 10))),
    ]


def integrity(path: Path) -> str:
    """What ``PRAGMA integrity_check`` says of the file, through a connection of its own."""
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def kept_cids(path: Path) -> dict[str, str]:
    """IID digits -> CID digits of every entry of the inventory's CIL, every record decoded."""
    with SqliteInventory(path) as inventory:
        inventory.computers()
        inventory.products()
        inventory.keys()
        inventory.history()
        return {
            e.installation_id.digits: e.confirmation_id.digits for e in inventory.confirmations()
        }


def check_after_kill(files: Files) -> tuple[int, int]:
    """Check the file a killed run left; return (CIDs issued, CIDs kept)."""
    assert integrity(files.db) == "ok"
    kept = kept_cids(files.db)
    issued = {c.installation_id: c.confirmation_id for c in lab.read_journal(files.journal)}
    # Nothing in the CIL the service did not issue, and each CID the one it issued.
    assert {iid: issued.get(iid) for iid in kept} == kept
    return len(issued), len(kept)


@attrs.frozen
class Row:
    """What one killed run left: where it died, the last line it said, CIDs issued and kept."""

    where: str
    line: str
    issued: int
    kept: int
    seconds: float


def kill_runs(files: Files, rng: random.Random) -> list[Row]:
    """Start a run per kill point, kill it there, check the file it left."""
    rows: list[Row] = []
    for run, kill in enumerate(kill_points(rng), start=1):
        started = time.perf_counter()
        with lab.Child(files.argv(run, *kill.extra)) as child:
            line = child.wait_for(kill.wanted, TIMEOUT)
            time.sleep(rng.uniform(0, 0.02))  # land anywhere in the next few writes
            assert child.kill() == -signal.SIGKILL  # it was still running
        issued, kept = check_after_kill(files)
        rows.append(Row(kill.where, line, issued, kept, time.perf_counter() - started))
    return rows


def check_charges(files: Files) -> tuple[dict[str, str], int]:
    """Check every CID issued is kept and no IID charged twice; return the CIDs, the doubles."""
    journal = lab.read_journal(files.journal)
    double_charges = sum(n - 1 for n in Counter(c.installation_id for c in journal).values())
    assert double_charges == 0
    issued = {charge.installation_id: charge.confirmation_id for charge in journal}
    assert kept_cids(files.db) == issued  # none lost, none the service did not issue
    # A fresh service replaying the journal has spent exactly one activation per IID.
    replayed = lab.JournaledClearinghouse(files.journal, seed=SEED, limit=2 * PRODUCTS)
    try:
        assert replayed.inner.pool(replayed.mak).used == len(issued)
    finally:
        replayed.close()
    return issued, double_charges


def check_products(files: Files, issued: dict[str, str]) -> int:
    """Check every product is licensed with the CID issued for its IID; return how many."""
    with SqliteInventory(files.db) as inventory:
        products = inventory.products(family=ProductFamily.WINDOWS_CLIENT)
    assert {p.status for p in products} == {LicenseStatus.LICENSED}
    assert {p.proxy.stage for p in products} == {ProxyStage.CID_DEPOSITED}
    deposited = {
        p.installation_id.digits: p.confirmation_id.digits
        for p in products
        if p.installation_id is not None and p.confirmation_id is not None
    }
    assert deposited == issued  # one IID per product, each with its CID
    return len(products)


def check_requests(files: Files) -> int:
    """Check no IID was asked for once the CIL held it; return how many were asked again.

    An IID is asked for again only when its CID was issued but not yet stored when the
    run died. A CIL entry's ``acquired_at`` names the run that stored it.
    """
    with SqliteInventory(files.db) as inventory:
        stored_in_run = {
            e.installation_id.digits: round((e.acquired_at - lab.START) / dt.timedelta(hours=1))
            for e in inventory.confirmations()
        }
    requests = lab.read_requests(files.requests)
    assert [(run, iid) for run, iid in requests if run > stored_in_run[iid]] == []
    return sum(n - 1 for n in Counter(iid for _, iid in requests).values())


def test_proxy_activation_survives_being_killed(tmp_path: Path) -> None:
    started = time.perf_counter()
    files = Files(tmp_path / "inventory.db", tmp_path / "journal", tmp_path / "requests")
    rows = kill_runs(files, random.Random(SEED))

    with lab.Child(files.argv(len(rows) + 1)) as child:
        result = child.result(TIMEOUT)

    [report] = result["reports"]
    assert (report["succeeded"], report["failures"]) == (PRODUCTS, [])
    assert integrity(files.db) == "ok"
    issued, double_charges = check_charges(files)
    assert check_products(files, issued) == len(issued) == result["used"] == PRODUCTS
    asked_again = check_requests(files)

    elapsed = time.perf_counter() - started
    print()  # noqa: T201  # the figures for docs/reliability.md
    print(f"crash safety: {PRODUCTS} products, seed {SEED}, {elapsed:.1f} s")  # noqa: T201
    print(  # noqa: T201
        f"{'kill':>4}  {'where':<26}{'last line seen':<22}{'CIDs issued':>12}{'kept':>6}{'s':>6}"
    )
    for number, row in enumerate(rows, start=1):
        print(  # noqa: T201
            f"{number:>4}  {row.where:<26}{row.line:<22}{row.issued:>12}{row.kept:>6}"
            f"{row.seconds:>6.1f}"
        )
    print(  # noqa: T201
        f"kills survived: {len(rows)}; products licensed: {PRODUCTS}; CIDs issued:"
        f" {len(issued)}; CIDs lost: 0; double charges: {double_charges};"
        f" IIDs asked again after a kill (no charge): {asked_again}"
    )
