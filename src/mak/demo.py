"""``mak demo``: the whole MAK proxy story on a simulated isolated lab.

Everything here is simulated (:mod:`mak.simulation`): no key is real, no network is
touched. The inventory is a real SQLite file, so a second run on the same file finds
the confirmation IDs of the first and spends no activation again.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from typing import TYPE_CHECKING, TextIO

from mak.adapters import SqliteInventory
from mak.catalog import ProductFamily
from mak.lifecycle import LicenseStatus
from mak.manager import VolumeActivationManager
from mak.model import ByWorkgroup
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet

if TYPE_CHECKING:
    from mak.keys import ProductKey
    from mak.manager import BatchReport, Progress

__all__ = ["run_demo"]

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
BATCH_SIZE = 500
WORKGROUP = "LAB"


def run_demo(*, computers: int, db: str, seed: int, out: TextIO | None = None) -> int:
    """Run the demo on *computers* simulated computers, keeping the inventory in *db*.

    Returns 0 when every step behaved as the story says, 1 otherwise.
    """
    say = _Printer(out or sys.stdout)
    clock = FakeClock(START)
    service = SimulatedClearinghouse(seed=seed)
    fleet = SimulatedFleet(
        size=computers, seed=seed, workgroup=WORKGROUP, clearinghouse=service, clock=clock
    )

    def wait(delay: dt.timedelta) -> None:
        clock.advance(delay)  # retries wait on the simulated clock

    with SqliteInventory(db) as inventory:
        manager = VolumeActivationManager(
            inventory=inventory,
            service=service,
            connector=fleet,
            discovery=fleet,
            clock=clock,
            sleep=wait,
        )
        say.title(f"mak demo: an isolated lab of {computers} simulated computers (seed {seed})")
        say.line(
            f"Inventory: {db} (SQLite). Keys and CIDs are simulated; nothing leaves this machine."
        )
        report = manager.discover(ByWorkgroup(WORKGROUP), progress=say.progress("Discovering"))
        found = f"Discovered {len(inventory.computers())} computers, {len(inventory.products())} products"
        say.step(found, report)
        keys = _add_maks(manager, service, say)
        _proxy_activate(manager, service, keys, say)
        ok = _reactivate(manager, service, fleet, keys, say)
        _convert_some_to_kms(manager, say)
        _summary(manager, service, keys, say)
    return 0 if ok else 1


def _add_maks(
    manager: VolumeActivationManager, service: SimulatedClearinghouse, say: _Printer
) -> dict[ProductFamily, ProductKey]:
    """Issue one MAK per product family present, with room to spare, and store it."""
    keys: dict[ProductFamily, ProductKey] = {}
    for family in ProductFamily:
        products = manager.inventory.products(family=family)
        if products:
            keys[family] = service.issue_mak(limit=len(products) + 25, family=family)
            manager.add_product_key(keys[family])
    manager.refresh_remaining()
    for family, key in keys.items():
        record = manager.inventory.key(key)
        left = record.remaining.value if record.remaining else "?"
        say.line(f"MAK {key} for {family.value}: {left} activations left")
    return keys


def _proxy_activate(
    manager: VolumeActivationManager,
    service: SimulatedClearinghouse,
    keys: dict[ProductFamily, ProductKey],
    say: _Printer,
) -> None:
    for family, key in keys.items():
        products = manager.inventory.products(family=family)
        before = len(service.calls)
        progress = say.progress(f"Proxy-activating {family.value}")
        report = manager.proxy_activate(products, key, batch_size=BATCH_SIZE, progress=progress)
        calls = sum(c.method == "acquire_confirmation_ids" for c in service.calls[before:])
        say.step(
            f"Proxy activation, {family.value}: {len(products)} products, "
            f"{calls} call(s) to the clearinghouse (batches of {BATCH_SIZE})",
            report,
        )


def _reactivate(
    manager: VolumeActivationManager,
    service: SimulatedClearinghouse,
    fleet: SimulatedFleet,
    keys: dict[ProductFamily, ProductKey],
    say: _Printer,
) -> bool:
    """Reimage a tenth of the lab and replace some hardware; return whether it went right."""
    inventory = manager.inventory
    count = len(fleet.computers)
    reimaged = fleet.computers[: max(1, count // 10)]
    replaced = [c for c in fleet.computers[-min(3, count) :] if c not in reimaged]
    for computer in reimaged:
        fleet.reimage(computer.id)
    for computer in replaced:
        fleet.replace_hardware(computer.id)
    touched = [p for c in (*reimaged, *replaced) for p in inventory.products(computer_id=c.id)]
    used_before = _used(service, keys)
    manager.refresh(touched)
    report = manager.reactivate(touched, progress=say.progress("Reactivating"))
    spent = _used(service, keys) - used_before
    say.step(
        f"Local reactivation after reimaging {len(reimaged)} and replacing the hardware of "
        f"{len(replaced)} computer(s): activations spent {spent}",
        report,
    )
    needing = {outcome.product_id for outcome in report.failures}
    expected = {p.id for c in replaced for p in inventory.products(computer_id=c.id)}
    say.line(
        f"  {len(needing)} product(s) on new hardware need a new activation (not charged silently)"
    )
    return needing == expected and spent == 0


def _convert_some_to_kms(manager: VolumeActivationManager, say: _Printer) -> None:
    inventory = manager.inventory
    clients = [
        p
        for p in inventory.products(family=ProductFamily.WINDOWS_CLIENT)
        if p.status is LicenseStatus.LICENSED
    ][:30]
    if not clients:
        return
    first = manager.convert_to_kms(clients, progress=say.progress("Converting to KMS"))
    say.step(
        f"Converted {len(clients)} Windows clients to KMS: the host counts as they ask", first
    )
    waiting = [inventory.product(p.id) for p in clients]
    second = manager.activate_online(
        [p for p in waiting if p.status is not LicenseStatus.LICENSED]
    )
    say.step(
        "Those refused below the threshold of 25 retry, now that the count is reached", second
    )


def _summary(
    manager: VolumeActivationManager,
    service: SimulatedClearinghouse,
    keys: dict[ProductFamily, ProductKey],
    say: _Printer,
) -> None:
    inventory = manager.inventory
    say.title("Summary")
    for family, key in keys.items():
        pool = service.pool(key)
        say.line(
            f"{family.value}: {pool.used} MAK activations used of {pool.limit}, {pool.remaining} left"
        )
    products = inventory.products()
    licensed = sum(p.status is LicenseStatus.LICENSED for p in products)
    say.line(f"Licensed products: {licensed} of {len(products)}")
    say.line(f"Calls to the clearinghouse: {len(service.calls)}")
    say.line(f"Confirmation IDs kept for reactivation: {len(inventory.confirmations())}")


def _used(service: SimulatedClearinghouse, keys: dict[ProductFamily, ProductKey]) -> int:
    return sum(service.pool(key).used for key in keys.values())


class _Printer:
    """Prints the story: titles, lines, step summaries and a progress bar on a terminal."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live = out.isatty()

    def title(self, text: str) -> None:
        print(f"\n{text}\n{'=' * len(text)}", file=self.out)

    def line(self, text: str) -> None:
        print(text, file=self.out)

    def step(self, text: str, report: BatchReport) -> None:
        counts = ", ".join(f"{name} {count}" for name, count in sorted(report.counts.items()))
        print(
            f"- {text}\n    outcomes: {counts or 'none'} ({report.elapsed.total_seconds():.2f} s)",
            file=self.out,
        )

    def progress(self, label: str) -> Progress | None:
        if not self.live:
            return None

        def show(done: int, total: int) -> None:
            width = 30
            filled = math.floor(width * done / total) if total else width
            end = "\n" if done >= total else ""
            print(
                f"\r  {label:<32} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
                end=end,
                file=self.out,
                flush=True,
            )

        return show
