"""A simulated lab whose clearinghouse outlives its process: the child of the crash and concurrency tests.

Run as a script, it is one process of proxy activation on a SQLite inventory file: it
prints its progress on stdout, one line per step, so that the test driving it can kill it
(SIGKILL) at a chosen point or start several at once, and ends with a ``result`` line.

The simulated clearinghouse lives in memory and would die with the process, so
:class:`JournaledClearinghouse` makes it durable: every activation it charges is appended
to a journal file (flushed and fsynced) *before* the answer leaves the service, and a new
one replays the journal into a fresh :class:`~mak.simulation.SimulatedClearinghouse` of
the same seed. The same IID gets the same CID without a second charge, so a replay spends
nothing; and the journal, read by the test, is the list of every charge ever made. Several
processes share one journal under an exclusive ``flock``, each catching up on the
others' charges before it answers.

POSIX only (``fcntl``, ``SIGKILL``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

import attrs

from mak.adapters import SqliteInventory
from mak.catalog import ProductFamily
from mak.errors import ConcurrencyConflict
from mak.ids import ConfirmationId, InstallationId
from mak.manager import VolumeActivationManager
from mak.model import ByWorkgroup
from mak.ports import CidRequest
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

    from typing_extensions import Self

    from mak.keys import ProductKey
    from mak.model import Product
    from mak.ports import CidResult, Inventory

START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
"""Run *n* of a test runs at ``START + n`` hours: a CIL entry's ``acquired_at`` names its run."""

SCRIPT = Path(__file__)
HOLD_SECONDS = 600  # a held child waits to be killed; this only bounds a forgotten one


def say(*parts: object) -> None:
    """Write one line to the test driving this process, at once."""
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


class Charge(NamedTuple):
    """One line of the journal: an activation the clearinghouse charged, and the CID it gave."""

    installation_id: str
    extended_pid: str
    confirmation_id: str

    def line(self) -> bytes:
        return (json.dumps(self._asdict()) + "\n").encode()


def read_journal(path: Path) -> list[Charge]:
    """Every charge in the journal at *path*, oldest first (a torn last line left out)."""
    if not path.exists():
        return []
    complete = path.read_bytes().rpartition(b"\n")[0]
    return [Charge(**json.loads(line)) for line in complete.splitlines()]


def read_requests(path: Path) -> list[tuple[int, str]]:
    """Every ``(run, IID digits)`` the clearinghouse was asked for, oldest first."""
    if not path.exists():
        return []
    complete = path.read_text().rpartition("\n")[0]
    return [(int(run), iid) for run, iid in (line.split() for line in complete.splitlines())]


class JournaledClearinghouse:
    """A :class:`~mak.simulation.SimulatedClearinghouse` whose charges survive a killed process.

    Its one MAK (:attr:`mak`, deterministic from *seed*) has *limit* activations. Every
    request is logged to *requests* (with *run*) before it is answered; every new charge is
    journaled and fsynced before the answer is returned. With *hold_after_call*, the
    process stops after journaling that call (the service has charged, the inventory has
    not yet stored the CIDs), prints ``held``, and waits to be killed.
    """

    def __init__(  # noqa: PLR0913  # the journal and what a test may vary
        self,
        journal: Path,
        *,
        seed: int,
        limit: int,
        requests: Path | None = None,
        run: int = 0,
        hold_after_call: int | None = None,
    ) -> None:
        self.inner = SimulatedClearinghouse(seed=seed)
        self.mak: ProductKey = self.inner.issue_mak(
            limit=limit, family=ProductFamily.WINDOWS_CLIENT
        )
        self._journal = os.open(journal, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._requests = (
            None
            if requests is None
            else os.open(requests, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        )
        self._run = run
        self._hold_after_call = hold_after_call
        self._calls = 0
        self._read_to = 0  # bytes of the journal replayed so far
        self._charged: dict[str, str] = {}  # IID digits -> CID digits
        with self._locked():
            self._catch_up()

    def close(self) -> None:
        os.close(self._journal)
        if self._requests is not None:
            os.close(self._requests)

    # --- ActivationService ---------------------------------------------------------------

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        with self._locked():
            self._catch_up()
            if self._requests is not None:
                asked = "".join(f"{self._run} {r.installation_id.digits}\n" for r in requests)
                os.write(self._requests, asked.encode())
            results = self.inner.acquire_confirmation_ids(requests)
            new = [
                Charge(
                    request.installation_id.digits,
                    request.extended_pid,
                    result.confirmation_id.digits,
                )
                for request, result in zip(requests, results, strict=True)
                if result.confirmation_id is not None
                and request.installation_id.digits not in self._charged
            ]
            if new:
                payload = b"".join(charge.line() for charge in new)
                os.write(self._journal, payload)
                os.fsync(self._journal)  # charged for good before anyone hears of it
                self._read_to += len(payload)
                self._charged.update((c.installation_id, c.confirmation_id) for c in new)
        self._calls += 1
        if self._calls == self._hold_after_call:
            say("held", self._calls)
            time.sleep(HOLD_SECONDS)
        return results

    def remaining_activations(self, key: ProductKey, /) -> int:
        with self._locked():
            self._catch_up()
            return self.inner.remaining_activations(key)

    # --- the journal ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Generator[None, None, None]:
        import fcntl  # noqa: PLC0415  # POSIX only: importing this module works everywhere

        fcntl.flock(self._journal, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._journal, fcntl.LOCK_UN)

    def _catch_up(self) -> None:
        """Replay the charges journaled since the last look (another process's, or a dead one's)."""
        size = os.fstat(self._journal).st_size
        data = os.pread(self._journal, size - self._read_to, self._read_to)
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) < len(data):
            # A writer killed mid-line (we hold the lock, so it is dead): that charge never
            # became durable, and its answer never left the service.
            os.ftruncate(self._journal, self._read_to + len(complete))
        self._read_to += len(complete)
        charges = [Charge(**json.loads(line)) for line in complete.splitlines()]
        if not charges:
            return
        replayed = self.inner.acquire_confirmation_ids(
            [
                CidRequest(
                    installation_id=InstallationId(c.installation_id), extended_pid=c.extended_pid
                )
                for c in charges
            ]
        )
        for charge, result in zip(charges, replayed, strict=True):
            if result.confirmation_id != ConfirmationId(charge.confirmation_id):
                raise RuntimeError(
                    f"the journal's charge of {charge.installation_id} replays to {result}"
                )
            self._charged[charge.installation_id] = charge.confirmation_id


class CountingInventory:
    """An inventory that counts, per product, the updates it *committed*, and the stale ones refused.

    The counts prove no update was lost: a product's stored version must be one more than
    the committed updates of every writer together. Updates made in a transaction count
    once the outermost transaction ends without an exception.
    """

    def __init__(self, inner: Inventory) -> None:
        self.inner = inner
        self.committed: Counter[str] = Counter()
        self.conflicts = 0
        self._pending: list[str] = []
        self._depth = 0

    def __getattr__(self, name: str) -> Any:  # every other Inventory method
        return getattr(self.inner, name)

    def update_product(self, product: Product, /) -> Product:
        try:
            stored = self.inner.update_product(product)
        except ConcurrencyConflict:
            self.conflicts += 1
            raise
        if self._depth:
            self._pending.append(stored.id)
        else:
            self.committed[stored.id] += 1
        return stored

    @contextlib.contextmanager
    def transaction(self) -> Generator[None, None, None]:
        self._depth += 1
        try:
            with self.inner.transaction():
                yield
        except BaseException:
            self._depth -= 1
            self._pending.clear()  # a nested block joins the outer one: all of it is undone
            raise
        self._depth -= 1
        if not self._depth:
            self.committed.update(self._pending)
            self._pending.clear()


# --- the child process -------------------------------------------------------------------


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    parser.add_argument("--requests", type=Path)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--run", type=int, default=0)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--last", type=int)
    parser.add_argument("--start-at", type=int, default=0, help="begin at this one, wrapping")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--chunk", type=int, help="products per inventory transaction")
    parser.add_argument("--hold-after-call", type=int)
    parser.add_argument("--refresh", action="store_true")
    parser.add_argument("--wait-for-go", action="store_true")
    return parser.parse_args(argv)


def build_fleet(
    size: int, seed: int, service: JournaledClearinghouse, clock: FakeClock
) -> SimulatedFleet:
    """The lab: *size* Windows clients, one product each (so one IID per product)."""
    return SimulatedFleet(
        size, seed, clearinghouse=service.inner, clock=clock, office_share=0.0, server_share=0.0
    )


def _tell(phase: str) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        say(phase, done, total)

    return progress


def bump(db: Path) -> int:
    """Be another writer: for each product id read on stdin, update its name, print its version."""
    with SqliteInventory(db) as inventory:
        say("ready")
        for line in sys.stdin:
            product = inventory.product(line.strip())
            stored = inventory.update_product(attrs.evolve(product, name=f"{product.name}+"))
            say("bumped", stored.id, stored.version)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Proxy-activate the lab's products (``--first``..``--last``), printing progress and a result.

    ``bump DB`` runs :func:`bump` instead.
    """
    given = sys.argv[1:] if argv is None else list(argv)
    if given[:1] == ["bump"]:
        return bump(Path(given[1]))
    args = _arguments(given)
    if args.chunk is not None:
        # Smaller transactions than the manager's 500: more points where another writer
        # can come in between a read and a write.
        import mak.manager  # noqa: PLC0415  # only this option needs the module itself

        mak.manager._CHUNK = args.chunk  # type: ignore[misc]  # a test's lever
    clock = FakeClock(START + dt.timedelta(hours=args.run))
    service = JournaledClearinghouse(
        args.journal,
        seed=args.seed,
        limit=2 * args.size,
        requests=args.requests,
        run=args.run,
        hold_after_call=args.hold_after_call,
    )
    # The fleet is rebuilt from the seed in every process: to the inventory, a restart
    # looks as if every computer had been reimaged (same hardware, so the same IIDs, but
    # no key installed and nothing activated). Resuming must then reinstall, reuse every
    # kept CID, and deposit it again, all without a charge.
    fleet = build_fleet(args.size, args.seed, service, clock)
    with SqliteInventory(args.db) as sqlite:
        inventory = CountingInventory(sqlite)
        manager = VolumeActivationManager(
            inventory,  # an Inventory by delegation
            service,
            fleet,
            clock,
            discovery=fleet,
            sleep=lambda _: None,
        )
        if len(sqlite.products()) < args.size:  # the first run, or one killed while discovering
            manager.discover(ByWorkgroup("LAB"), progress=_tell("discover"))
        manager.add_product_key(service.mak)
        products = sqlite.products(family=ProductFamily.WINDOWS_CLIENT)[args.first : args.last]
        products = products[args.start_at :] + products[: args.start_at]
        if args.wait_for_go:
            say("ready")
            sys.stdin.readline()
        reports = [
            manager.proxy_activate(
                products, service.mak, batch_size=args.batch_size, progress=_tell("proxy")
            )
        ]
        if args.refresh:
            reports.append(manager.refresh(products, progress=_tell("refresh")))
        result = {
            "reports": [
                {
                    "action": report.action,
                    "succeeded": report.succeeded,
                    "failures": [
                        [o.product_id, None if o.code is None else o.code.hex, o.detail]
                        for o in report.failures
                    ],
                }
                for report in reports
            ],
            "committed": dict(inventory.committed),
            "conflicts": inventory.conflicts,
            "used": service.inner.pool(service.mak).used,
        }
    service.close()
    say("result", json.dumps(result))
    return 0


# --- driving a child from a test -----------------------------------------------------------


class Child:
    """A running child (this script), its stdout read line by line on a thread of its own."""

    def __init__(self, argv: Sequence[str], *, stdin: bool = False) -> None:
        self.process = subprocess.Popen(  # this script, with arguments the test chose
            [sys.executable, str(SCRIPT), *argv],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []  # the last lines read, for a failure's message
        self._reader = threading.Thread(
            target=self._read, args=(self.process.stdout,), daemon=True
        )
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_for(self, wanted: Callable[[str], bool], timeout: float) -> str:
        """Return the first line *wanted* accepts; fail if the child ends or *timeout* passes first."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                raise AssertionError(
                    f"no line wanted within {timeout} s; last: {self.seen[-5:]}"
                ) from None
            if line is None:
                code = self.process.wait(timeout)
                raise AssertionError(f"the child ended ({code}) first; last: {self.seen[-5:]}")
            self.seen = [*self.seen[-4:], line]
            if wanted(line):
                return line

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text)
        self.process.stdin.flush()

    def result(self, timeout: float) -> dict[str, Any]:
        """The child's ``result``, once it has exited with 0."""
        line = self.wait_for(starting("result "), timeout)
        assert self.process.wait(timeout) == 0
        result: dict[str, Any] = json.loads(line.removeprefix("result "))
        return result

    def kill(self) -> int:
        """SIGKILL (no handler, no cleanup, no flush); return the exit status, ``-9`` if killed.

        A child that ended already keeps its own status.
        """
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait(60)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        """Kill the child if it still runs, and close its pipes."""
        self.kill()
        self._reader.join(60)
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.stdout is not None:
            self.process.stdout.close()


def starting(prefix: str) -> Callable[[str], bool]:
    """A line test: the line starts with *prefix*."""
    return lambda line: line.startswith(prefix)


def progress_at(phase: str, done: int) -> Callable[[str], bool]:
    """A line test: the child has reported *done* steps of *phase*."""

    def reached(line: str) -> bool:
        parts = line.split()
        return len(parts) == 3 and parts[0] == phase and int(parts[1]) >= done

    return reached


if __name__ == "__main__":
    sys.exit(main())
