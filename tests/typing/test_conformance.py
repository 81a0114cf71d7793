"""Type-level conformance: mak's adapters, and adapters written without mak, fit the ports.

The checks here are static. mypy --strict and pyright (strict) check this module, and a
wrong signature, a missing method or a changed return type fails them. At run time,
pytest imports the module and runs the small tests at the end. Those tests call the
checks below with real objects, so nothing here is dead code. Calling ``assert_type``
at run time does nothing.

The ports are protocols. An adapter conforms by its shape: it subclasses nothing from
mak. The assignments to a port type (``clock: Clock = FixedClock(...)``) are where the
checkers compare each adapter with its port.

The negative check at the end must stay an error. Each ignore comment there names the
error it hides, so that each checker fails if the error goes away: mypy reads
``# type: ignore[code]`` and reports an unused one (``warn_unused_ignores``, part of
``--strict``), and pyright reads ``# pyright: ignore[rule]``. For pyright to flag an unused
one, the ``tests/typing`` execution environment in pyproject.toml must turn off
``enableTypeIgnoreComments`` and set ``reportUnnecessaryTypeIgnoreComment`` to error.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import pytest
from typing_extensions import assert_type

from mak.adapters.memory import InMemoryInventory
from mak.adapters.sqlite import SqliteInventory
from mak.catalog import ProductFamily
from mak.codes import MAK_LIMIT_EXCEEDED, lookup
from mak.errors import NotFound, ServiceRejected
from mak.ids import ConfirmationId, InstallationId
from mak.lifecycle import LicenseState, LicenseStatus
from mak.model import ByName, ByWorkgroup, CilEntry, Computer, KeyRecord, Product, Query
from mak.ports import (
    ActivationService,
    CidRequest,
    CidResult,
    Clock,
    ComputerEndpoint,
    Discovery,
    EndpointConnector,
    Inventory,
    ProductInfo,
)
from mak.testing import make_key

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from mak.keys import ProductKey
    from mak.kms import KmsEndpoint

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
IID = InstallationId.parse("1234565" * 9)
LAB = (
    Computer(id="c-1", name="LAB-PC-01", workgroup="LAB"),
    Computer(id="c-2", name="LAB-PC-02", workgroup="LAB"),
    Computer(id="c-3", name="OPS-PC-01", domain="corp.example.com"),
)


# --- minimal adapters, written as a caller would: no mak base class -----------------------


class FixedClock:
    """A clock that always says the same time (a test's clock)."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def now(self) -> dt.datetime:
        return self.at


class SpentService:
    """A clearinghouse for a MAK with no activations left: it refuses every request."""

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        refusal = lookup(MAK_LIMIT_EXCEEDED)
        return [CidResult(installation_id=r.installation_id, code=refusal) for r in requests]

    def remaining_activations(self, key: ProductKey, /) -> int:  # noqa: ARG002  # the port's signature
        return 0


class EmptyEndpoint:
    """A computer with no licensable product on it.

    The protocol's parameters are positional-only, so an adapter may name its own
    parameters as it likes; here they are spelled out in full.
    """

    def products(self) -> list[ProductInfo]:
        return []

    def install_product_key(self, key: ProductKey) -> str:
        raise ServiceRejected(f"no product accepts {key}", code=0xC004F050)

    def installation_id(self, activation_id: str) -> InstallationId:
        raise NotFound("product", activation_id)

    def deposit_confirmation_id(
        self,
        activation_id: str,
        installation_id: InstallationId,  # noqa: ARG002  # the port's signature
        confirmation_id: ConfirmationId,  # noqa: ARG002  # the port's signature
    ) -> None:
        raise NotFound("product", activation_id)

    def activate(self, activation_id: str) -> None:
        raise NotFound("product", activation_id)

    def license_state(self, activation_id: str) -> LicenseState:
        raise NotFound("product", activation_id)

    def set_kms_endpoint(self, endpoint: KmsEndpoint | None) -> None:
        pass


class EmptyConnector:
    """Connects to every computer, and finds each one empty."""

    def connect(self, computer: Computer, /) -> EmptyEndpoint:  # noqa: ARG002  # all alike
        return EmptyEndpoint()


class ListDiscovery:
    """Finds computers in a list by name or workgroup (a return type narrower than the port's)."""

    def __init__(self, computers: Iterable[Computer]) -> None:
        self.computers = tuple(computers)

    def find(self, query: Query, /) -> Iterator[Computer]:
        for computer in self.computers:
            if isinstance(query, ByWorkgroup):
                matches = computer.workgroup == query.name
            else:
                matches = isinstance(query, ByName) and computer.name in query.names
            if matches:
                yield computer


# --- each adapter is its port: the assignments are the checks ------------------------------


def clock_conforms() -> Clock:
    clock: Clock = FixedClock(NOW)
    return clock


def service_conforms() -> ActivationService:
    service: ActivationService = SpentService()
    return service


def connector_conforms() -> EndpointConnector:
    connector: EndpointConnector = EmptyConnector()
    return connector


def endpoint_conforms() -> ComputerEndpoint:
    endpoint: ComputerEndpoint = EmptyEndpoint()
    return endpoint


def discovery_conforms() -> Discovery:
    discovery: Discovery = ListDiscovery(LAB)
    return discovery


def memory_inventory_conforms() -> Inventory:
    inventory: Inventory = InMemoryInventory()
    return inventory


def sqlite_inventory_conforms(store: SqliteInventory) -> Inventory:
    sqlite: Inventory = store
    return sqlite


# --- what a caller holding only the port gets back ----------------------------------------


def clock_answers_as_typed(clock: Clock) -> None:
    assert_type(clock.now(), dt.datetime)


def service_answers_as_typed(service: ActivationService, request: CidRequest) -> None:
    assert_type(service.acquire_confirmation_ids([request]), list[CidResult])
    assert_type(service.acquire_confirmation_ids((request,)), list[CidResult])


def connector_answers_as_typed(connector: EndpointConnector) -> None:
    endpoint = connector.connect(LAB[0])
    assert_type(endpoint, ComputerEndpoint)
    assert_type(endpoint.products(), list[ProductInfo])


def discovery_answers_as_typed(discovery: Discovery) -> None:
    assert_type(discovery.find(ByWorkgroup("LAB")), "Iterable[Computer]")


def inventory_answers_as_typed(inventory: Inventory) -> None:
    assert_type(inventory.find_confirmation(IID), CilEntry | None)
    assert_type(inventory.products(family=ProductFamily.OFFICE), list[Product])
    assert_type(
        inventory.products(status=LicenseStatus.LICENSED, computer_id="c-1"), list[Product]
    )
    assert_type(inventory.computers(name="lab-pc-01"), list[Computer])
    assert_type(inventory.keys(), list[KeyRecord])
    assert_type(inventory.confirmations(computer_id="c-1"), list[CilEntry])
    assert_type(inventory.add_computer(LAB[0]), Computer)
    assert_type(inventory.transaction(), AbstractContextManager[None])


def concrete_inventories_answer_as_typed(
    memory: InMemoryInventory, sqlite: SqliteInventory
) -> None:
    assert_type(memory.find_confirmation(IID), CilEntry | None)
    assert_type(sqlite.find_confirmation(IID), CilEntry | None)
    assert_type(memory.products(family=ProductFamily.WINDOWS_CLIENT), list[Product])
    assert_type(sqlite.products(family=ProductFamily.WINDOWS_CLIENT), list[Product])


# --- and a class that is not ---------------------------------------------------------------


class ClockWithoutNow:
    """Has ``time()`` where ``Clock`` wants ``now()``: not a clock."""

    def time(self) -> dt.datetime:
        return NOW


def a_class_missing_a_method_does_not_conform() -> None:
    not_a_clock: Clock = ClockWithoutNow()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]  # the point of the check
    del not_a_clock


# --- run time: the same checks, called with real objects ------------------------------------


def test_the_minimal_adapters_behave_as_their_ports_say() -> None:
    request = CidRequest(installation_id=IID, extended_pid="03612-03311-000-000001-03-1033")
    clock_answers_as_typed(clock_conforms())
    service_answers_as_typed(service_conforms(), request)
    connector_answers_as_typed(connector_conforms())
    discovery_answers_as_typed(discovery_conforms())
    a_class_missing_a_method_does_not_conform()

    assert clock_conforms().now() == NOW
    [result] = service_conforms().acquire_confirmation_ids([request])
    assert result.code is not None
    assert result.code.value == MAK_LIMIT_EXCEEDED
    assert service_conforms().remaining_activations(make_key(1)) == 0
    assert connector_conforms().connect(LAB[0]).products() == endpoint_conforms().products() == []
    with pytest.raises(NotFound):
        endpoint_conforms().license_state("b92e9980-b9d5-4821-9c94-140f632f6312")
    with pytest.raises(ServiceRejected, match="XXXXX-XXXXX-XXXXX-XXXXX-"):
        endpoint_conforms().install_product_key(make_key(1))
    found = discovery_conforms().find(ByWorkgroup("LAB"))
    assert [computer.id for computer in found] == ["c-1", "c-2"]
    assert [c.id for c in discovery_conforms().find(ByName(("OPS-PC-01",)))] == ["c-3"]


def test_both_inventories_answer_as_typed() -> None:
    memory = InMemoryInventory()
    inventory_answers_as_typed(memory_inventory_conforms())
    with SqliteInventory(":memory:") as store:
        inventory_answers_as_typed(sqlite_inventory_conforms(store))
        concrete_inventories_answer_as_typed(memory, store)
        assert store.find_confirmation(IID) is None
