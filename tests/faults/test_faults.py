"""Fault injection: proxy activation meets a failing service, computers and inventory.

Each fault is injected into one proxy activation of a simulated lab; the batch is then
run again with the fault gone, as an administrator would. After both runs:

- every outcome of the faulty run is true: a product reported activated is licensed on
  its computer, and the inventory never records as licensed a product that is not;
- no confirmation ID the service issued is missing from the inventory (a CID whose
  answer was lost in transit is issued again, free, for the same IID on the re-run);
- no installation ID is sent to the service while the inventory already holds its CID
  (a "double charge": the real clearinghouse may count it again);
- the MAK's use equals the number of distinct installation IDs activated.

The figures (faults injected, products affected, CIDs lost, double charges) are printed
as a table at the end of the module; the "Reliability" docs page quotes them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from mak.adapters import InMemoryInventory, SqliteInventory
from mak.catalog import ProductFamily
from mak.codes import all_codes
from mak.errors import ServiceRejected, StorageError, TransportError
from mak.lifecycle import LicenseStatus
from mak.manager import RetryPolicy, VolumeActivationManager
from mak.model import ByWorkgroup
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from mak.ids import ConfirmationId, InstallationId
    from mak.keys import ProductKey
    from mak.model import ActionRecord, CilEntry, Computer, Product
    from mak.ports import CidRequest, CidResult, ComputerEndpoint, Inventory
    from mak.proxystage import ProxyProgress

START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
LAB_SIZE = 24
RPC_UNAVAILABLE = 0x800706BA
TIMEOUT = 0x80072EE2  # WININET_E_TIMEOUT


# --- the faulty ports --------------------------------------------------------------------------


@dataclass
class Tally:
    """What the service saw: CIDs it issued, and IIDs asked again though already kept."""

    issued: dict[InstallationId, ConfirmationId] = field(default_factory=dict)
    double_charges: int = 0


class FaultyService:
    """The simulated clearinghouse behind a connection that fails as told."""

    def __init__(self, real: SimulatedClearinghouse, inventory: Inventory, tally: Tally) -> None:
        self.real = real
        self.inventory = inventory
        self.tally = tally
        self.faults: list[str] = []  # for the next calls: "refused", "lost", "timeout"

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        fault = self.faults.pop(0) if self.faults else None
        if fault == "refused":
            raise TransportError("connection refused", code=RPC_UNAVAILABLE)
        for request in requests:
            if self.inventory.find_confirmation(request.installation_id) is not None:
                self.tally.double_charges += 1
        results = self.real.acquire_confirmation_ids(requests)
        for result in results:
            if result.confirmation_id is not None:
                self.tally.issued[result.installation_id] = result.confirmation_id
        if fault == "lost":  # charged and answered, but the answer never arrives
            raise TransportError("connection reset while reading the answer", code=RPC_UNAVAILABLE)
        if fault == "timeout":
            raise TransportError("the service timed out", code=TIMEOUT)
        return results

    def remaining_activations(self, key: ProductKey, /) -> int:
        return self.real.remaining_activations(key)


class FaultyEndpoint:
    """One simulated computer whose calls fail once each, as armed."""

    def __init__(self, real: ComputerEndpoint, armed: set[str]) -> None:
        self.real = real
        self.armed = armed  # the methods that fail on their next call

    def _trip(self, method: str) -> None:
        if method in self.armed:
            self.armed.discard(method)
            if method == "install_product_key":
                raise ServiceRejected("the key was refused", code=0xC004F050)
            if method == "deposit_confirmation_id":
                raise ServiceRejected("the CID was refused", code=0xC004F031)
            raise TransportError(f"{method} failed: RPC server unavailable", code=RPC_UNAVAILABLE)

    def __getattr__(self, method: str) -> Callable[..., Any]:
        call = getattr(self.real, method)

        def tripping(*args: object) -> Any:
            self._trip(method)
            return call(*args)

        return tripping


class FaultyConnector:
    """The fleet's connector, handing out faulty endpoints for the computers armed."""

    def __init__(self, fleet: SimulatedFleet) -> None:
        self.fleet = fleet
        self.unreachable: set[str] = set()  # computer ids refused once at connect
        self.armed: dict[str, set[str]] = {}  # computer id -> methods failing once

    def connect(self, computer: Computer) -> ComputerEndpoint:
        if computer.id in self.unreachable:
            self.unreachable.discard(computer.id)
            raise TransportError(f"{computer.name} is unreachable", code=RPC_UNAVAILABLE)
        real = self.fleet.connect(computer)
        armed = self.armed.get(computer.id)
        return real if not armed else FaultyEndpoint(real, armed)


class FaultyWrites:
    """Mixed into an inventory class: writes fail as armed (a method name -> failures left)."""

    failing: dict[str, int]
    commit_failures: int

    def _fail(self, method: str) -> None:
        left = self.failing.get(method, 0)
        if left:
            self.failing[method] = left - 1
            raise StorageError(f"{method}: disk I/O error")

    def update_product(self, product: Product, /) -> Product:
        self._fail("update_product")
        return super().update_product(product)  # type: ignore[misc,no-any-return]

    def add_confirmation(self, entry: CilEntry, /) -> CilEntry:
        self._fail("add_confirmation")
        return super().add_confirmation(entry)  # type: ignore[misc,no-any-return]

    def record(self, action: ActionRecord, /) -> ActionRecord:
        self._fail("record")
        return super().record(action)  # type: ignore[misc,no-any-return]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with super().transaction():  # type: ignore[misc]
            yield
            if self.commit_failures:  # the block ended well: its commit fails, undoing it
                self.commit_failures -= 1
                raise StorageError("COMMIT failed: disk I/O error")


def faulty_inventory(base: type[InMemoryInventory | SqliteInventory]) -> Any:
    """An inventory class like *base*, whose writes fail as armed."""

    class Faulty(FaultyWrites, base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: object) -> None:
            super().__init__(*args)
            self.failing = {}
            self.commit_failures = 0
            self.sql_failures = 0  # see _sql_writes

    return Faulty


# --- the lab -------------------------------------------------------------------------------------


@dataclass
class Lab:
    """A simulated lab behind faulty ports, and what it takes to check it."""

    manager: VolumeActivationManager
    service: FaultyService
    connector: FaultyConnector
    inventory: Any
    clearinghouse: SimulatedClearinghouse
    fleet: SimulatedFleet
    mak: ProductKey
    tally: Tally

    @property
    def clients(self) -> list[Product]:
        return self.inventory.products(family=ProductFamily.WINDOWS_CLIENT)  # type: ignore[no-any-return]


def make_lab(kind: str, tmp_path: Any, size: int = LAB_SIZE) -> Lab:
    clock = FakeClock(START)
    clearinghouse = SimulatedClearinghouse(seed=5)
    fleet = SimulatedFleet(
        size, seed=5, clearinghouse=clearinghouse, clock=clock, server_share=0, office_share=0
    )
    if kind == "memory":
        inventory = faulty_inventory(InMemoryInventory)()
    else:
        inventory = faulty_inventory(SqliteInventory)(tmp_path / "faults.db")
    tally = Tally()
    service = FaultyService(clearinghouse, inventory, tally)
    connector = FaultyConnector(fleet)
    manager = VolumeActivationManager(
        inventory,
        service,
        connector,
        clock,
        discovery=fleet,
        retry=RetryPolicy(attempts=2),
        sleep=clock.advance,  # type: ignore[arg-type]
    )
    manager.discover(ByWorkgroup("LAB"))
    mak = clearinghouse.issue_mak(limit=size + 5, family=ProductFamily.WINDOWS_CLIENT)
    manager.add_product_key(mak)
    return Lab(manager, service, connector, inventory, clearinghouse, fleet, mak, tally)


# --- the faults ----------------------------------------------------------------------------------


def every_failure_code() -> list[int]:
    return [code.value for code in all_codes() if code.value & 0x80000000]


def _service(fault: str) -> Callable[[Lab], int]:
    def arm(lab: Lab) -> int:
        lab.service.faults = [fault] * 2  # both attempts of the retry policy
        return len(lab.clients)

    return arm


def _rejections(lab: Lab) -> int:
    codes = every_failure_code()
    assert len(lab.clients) >= len(codes)  # one product refused with each code
    for code in itertools.islice(itertools.cycle(codes), len(lab.clients)):
        lab.clearinghouse.fail_next(code)
    return len(lab.clients)


def _endpoint(method: str) -> Callable[[Lab], int]:
    def arm(lab: Lab) -> int:
        victims = [p.computer_id for p in lab.clients[::3]]
        for computer_id in victims:
            lab.connector.armed[computer_id] = {method}
        return len(victims)

    return arm


def _unreachable(lab: Lab) -> int:
    victims = [p.computer_id for p in lab.clients[::4]]
    lab.connector.unreachable.update(victims)
    return len(victims)


def _inventory(method: str, times: int) -> Callable[[Lab], int]:
    def arm(lab: Lab) -> int:
        lab.inventory.failing[method] = times
        return times

    return arm


def _commit(lab: Lab) -> int:
    lab.inventory.commit_failures = 2
    return len(lab.clients)


def _sql_writes(lab: Lab) -> int:
    """SQLite itself refuses the next product and history rows, as a failing disk would.

    Below the inventory's methods: it hits the rows a transaction holds back until its
    end as well as those written at once.
    """
    inventory = lab.inventory
    inventory.sql_failures = 5

    def failing() -> bool:
        if inventory.sql_failures <= 0:
            return False
        inventory.sql_failures -= 1
        return True

    connection = inventory._connection
    connection.create_function("mak_fault", 0, failing)
    for table, event in (("products", "UPDATE"), ("history", "INSERT")):
        connection.execute(
            f"CREATE TEMP TRIGGER refuse_{table} BEFORE {event} ON main.{table}"
            " WHEN mak_fault() BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
    return inventory.sql_failures  # type: ignore[no-any-return]


FAULTS: dict[str, Callable[[Lab], int]] = {
    "service: connection refused": _service("refused"),
    "service: charged, answer lost": _service("lost"),
    "service: timeout": _service("timeout"),
    "service: every refusal code": _rejections,
    "computer: unreachable": _unreachable,
    "computer: key install refused": _endpoint("install_product_key"),
    "computer: IID read fails": _endpoint("installation_id"),
    "computer: CID deposit refused": _endpoint("deposit_confirmation_id"),
    "computer: state read fails": _endpoint("license_state"),
    "inventory: product write fails": _inventory("update_product", 5),
    "inventory: CIL write fails": _inventory("add_confirmation", 5),
    "inventory: history write fails": _inventory("record", 5),
    "inventory: commit fails": _commit,
    "inventory: SQLite refuses rows": _sql_writes,
}

SQLITE_ONLY = {"inventory: SQLite refuses rows"}
"""Faults injected inside SQLite, below the adapter's methods."""

CASES = [
    (name, kind)
    for name in FAULTS
    for kind in ("memory", "sqlite")
    if kind == "sqlite" or name not in SQLITE_ONLY
]

ABSORBED = {
    "inventory: CIL write fails",  # each CID is stored again on its own, then once more
    "inventory: history write fails",  # a lost history line fails no activation
}
"""Faults the manager rides out: the products they touch still succeed."""

FIGURES: list[tuple[str, str, int, int, int, int]] = []


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    """Print the table of faults once the module's tests have run."""
    yield
    if not FIGURES:
        return
    rows: list[tuple[str, ...]] = [
        ("fault", "inventory", "affected", "failed", "CIDs lost", "double charges")
    ]
    rows += [tuple(str(cell) for cell in row) for row in FIGURES]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()  # noqa: T201  # the figures are the point of the module
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))  # noqa: T201


def disarm(lab: Lab) -> None:
    """End every fault not yet spent: the administrator fixed the cause."""
    lab.service.faults.clear()
    lab.clearinghouse._failures.clear()  # the simulation's queue of refusals
    lab.connector.unreachable.clear()
    lab.connector.armed.clear()
    lab.inventory.failing.clear()
    lab.inventory.commit_failures = 0
    lab.inventory.sql_failures = 0


# --- the checks ----------------------------------------------------------------------------------


def check_outcomes_are_true(lab: Lab, report: Any) -> None:
    """A success is a licensed computer; the inventory never claims a licence that isn't."""
    for product in lab.clients:
        on_computer = lab.fleet.endpoint(product.computer_id).license_state(product.activation_id)
        outcome = report.outcome(product.id)
        if outcome.ok:
            assert on_computer.status is LicenseStatus.LICENSED, outcome
            assert product.status is LicenseStatus.LICENSED, outcome
        else:
            assert outcome.detail, outcome
        if product.status is LicenseStatus.LICENSED:
            assert on_computer.status is LicenseStatus.LICENSED, product


def check_nothing_lost_or_charged_twice(lab: Lab) -> int:
    """Return the CIDs lost (the caller asserts 0) after checking the other rules."""
    kept = {
        entry.installation_id: entry.confirmation_id for entry in lab.inventory.confirmations()
    }
    lost: int = sum(kept.get(iid) != cid for iid, cid in lab.tally.issued.items())
    activated = {p.installation_id for p in lab.clients if p.status is LicenseStatus.LICENSED}
    assert lab.clearinghouse.pool(lab.mak).used == len(activated)
    return lost


class Captured(logging.Handler):
    """Every record mak logs during a test, formatted with all its fields."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {vars(record)!r}")


@pytest.fixture
def captured() -> Iterator[Captured]:
    handler = Captured()
    logger = logging.getLogger("mak")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_a_fault_loses_nothing_and_a_rerun_finishes(
    name: str, kind: str, tmp_path: Any, captured: Captured
) -> None:
    size = len(every_failure_code()) + 2 if name == "service: every refusal code" else LAB_SIZE
    lab = make_lab(kind, tmp_path, size)
    clients = lab.clients
    affected = FAULTS[name](lab)

    faulty = lab.manager.proxy_activate(clients, lab.mak, batch_size=10)
    assert len(faulty) == len(clients)
    check_outcomes_are_true(lab, faulty)
    if name not in ABSORBED:
        assert faulty.failed > 0, f"{name} was not felt"
    if name == "service: every refusal code":
        reported = {outcome.code.value for outcome in faulty.failures if outcome.code}
        assert reported == set(every_failure_code())

    disarm(lab)
    rerun = lab.manager.proxy_activate(clients, lab.mak, batch_size=10)
    check_outcomes_are_true(lab, rerun)
    assert rerun.failed == 0, rerun.failures
    lost = check_nothing_lost_or_charged_twice(lab)
    assert lost == 0
    assert lab.tally.double_charges == 0
    logged = "\n".join(captured.lines)
    warnings = sum("'levelname': 'WARNING'" in line for line in captured.lines)
    assert warnings >= faulty.failed  # each product that failed was logged
    assert lab.mak.reveal() not in logged  # no key in any record, at any level
    FIGURES.append((name, kind, affected, faulty.failed, lost, lab.tally.double_charges))


def test_the_proxy_stage_of_a_failed_product_names_its_code(tmp_path: Any) -> None:
    lab = make_lab("memory", tmp_path)
    _endpoint("deposit_confirmation_id")(lab)
    report = lab.manager.proxy_activate(lab.clients, lab.mak)
    for outcome in report.failures:
        assert outcome.product_id is not None
        progress: ProxyProgress = lab.inventory.product(outcome.product_id).proxy
        assert progress.code == 0xC004F031
