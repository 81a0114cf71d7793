"""Contract test suites: pytest classes that prove an adapter keeps mak's ports' promises.

mak runs these suites against its own adapters, and you run them against yours. Each is a
pytest class with no ``Test`` prefix, so pytest never collects it by itself: subclass it
under a ``Test...`` name in one of your test modules and override its fixture, and pytest
runs every test of the contract against your adapter::

    import pytest

    from mak.testing import InventoryContract

    from my_package import PostgresInventory


    class TestPostgresInventory(InventoryContract):
        @pytest.fixture
        def inventory(self):
            return PostgresInventory(dsn="postgresql:///mak_test")  # a new, empty store

- :class:`InventoryContract` for an :class:`~mak.ports.Inventory` (fixture ``inventory``);
- :class:`ActivationServiceContract` for an :class:`~mak.ports.ActivationService`
  (fixtures ``service``, ``cid_requests`` and ``mak_key``; ``refused_request`` optional);
- :class:`ComputerEndpointContract` for a :class:`~mak.ports.ComputerEndpoint`
  (fixtures ``endpoint`` and ``product_key``).

To leave a test out (say, the thread tests for a store only ever used from one thread),
override it in your subclass with a method that calls ``pytest.skip``.

This module needs pytest installed; nothing else in mak imports it, so mak itself does
not depend on pytest. The ``make_*`` functions build valid sample entities, for these
suites and for your own tests:

>>> make_computer(2)
Computer(id='computer-0002', name='LAB-PC-0002', address='10.0.0.2', domain=None, workgroup='LAB', os_edition='Windows 11 Pro', version=0)
>>> str(make_key(0)), make_key(0).partial
('XXXXX-XXXXX-XXXXX-XXXXX-6789B', '6789B')
>>> make_installation_id(1).groups[:2]
('0000012', '3687873')
"""

# ruff: noqa: S101  # a test suite states its expectations with assert, as pytest wants

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import time
from typing import TYPE_CHECKING, Any, Final, cast

import attrs
import pytest

from mak._checkdigits import group_check_digit
from mak.catalog import ProductFamily
from mak.codes import CID_IID_MISMATCH, lookup
from mak.errors import ConcurrencyConflict, NotFound, ServiceRejected, StorageError
from mak.ids import ConfirmationId, IdLayout, InstallationId
from mak.keys import ALPHABET, ProductKey
from mak.kms import KmsEndpoint
from mak.lifecycle import ActivationMethod, KeyChannel, LicenseState, LicenseStatus
from mak.limits import RemainingCount
from mak.model import ActionRecord, CilEntry, Computer, KeyRecord, LastAction, Product
from mak.ports import CidRequest, CidResult, ProductInfo

if TYPE_CHECKING:
    from collections.abc import Callable

    from mak.ports import ActivationService, ComputerEndpoint, Inventory

__all__ = [
    "SAMPLE_TIME",
    "ActivationServiceContract",
    "ComputerEndpointContract",
    "InventoryContract",
    "make_action",
    "make_activation_id",
    "make_computer",
    "make_confirmation",
    "make_confirmation_id",
    "make_installation_id",
    "make_key",
    "make_key_record",
    "make_product",
]

SAMPLE_TIME: Final = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
"""The time the sample entities are stamped with (the ``make_*`` functions add to it)."""

_THREADS: Final = 8
_JOIN_SECONDS: Final = 30.0
_A_MOMENT: Final = 0.05  # long enough for another thread to run into a held lock
_GUID_PATTERN: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# --- sample entities -----------------------------------------------------------------------


def _check_group(data: str) -> str:
    """Return *data* followed by its check digit."""
    return data + str(group_check_digit(data))


def make_installation_id(n: int) -> InstallationId:
    """Return the *n*-th sample installation ID (0 <= n < 1,000,000): 63 digits, checked.

    Different *n* give different IDs; every group's last digit is its check digit.

    >>> make_installation_id(7) == make_installation_id(7) != make_installation_id(8)
    True
    """
    if not 0 <= n < 10**6:
        raise ValueError(f"sample installation IDs are numbered 0 to 999999, not {n}")
    data = [f"{n:06d}"] + [f"{(n * 7_368_787 + g * 1_000_003) % 10**6:06d}" for g in range(8)]
    return InstallationId("".join(_check_group(group) for group in data))


def make_confirmation_id(n: int) -> ConfirmationId:
    """Return the *n*-th sample confirmation ID (0 <= n < 100,000): 48 digits, checked.

    >>> ConfirmationId.parse(str(make_confirmation_id(3))) == make_confirmation_id(3)
    True
    """
    if not 0 <= n < 10**5:
        raise ValueError(f"sample confirmation IDs are numbered 0 to 99999, not {n}")
    data = [f"{n:05d}"] + [f"{(n * 48_271 + g * 10_007) % 10**5:05d}" for g in range(7)]
    return ConfirmationId("".join(_check_group(group) for group in data))


def make_key(n: int) -> ProductKey:
    """Return the *n*-th sample product key (24 distinct ones): the alphabet, rotated by *n*.

    These are PKEY2005-shaped keys built from the key alphabet, not keys of any product;
    ``make_key(0)`` is ``BCDFG-HJKMP-QRTVW-XY234-6789B``. Each has its own last five symbols.
    """
    start = n % len(ALPHABET)
    return ProductKey.parse((ALPHABET * 2)[start : start + 25])


def make_activation_id(n: int) -> str:
    """Return the *n*-th sample activation ID: a lower-case GUID.

    >>> make_activation_id(1)
    '00000001-5a7e-4c3b-9d1e-000000000001'
    """
    return f"{n:08x}-5a7e-4c3b-9d1e-{n:012x}"


def make_computer(n: int = 1, **changes: Any) -> Computer:
    """Return the *n*-th sample computer, ``computer-000n`` in workgroup LAB, with *changes*."""
    computer = Computer(
        id=f"computer-{n:04d}",
        name=f"LAB-PC-{n:04d}",
        address=f"10.0.{n // 256 % 256}.{n % 256}",
        workgroup="LAB",
        os_edition="Windows 11 Pro",
    )
    return attrs.evolve(computer, **changes)


def make_product(n: int = 1, *, computer_id: str = "computer-0001", **changes: Any) -> Product:
    """Return the *n*-th sample product, ``product-000n``: Windows 11 Pro, no key, with *changes*.

    It belongs to ``make_computer(1)`` unless *computer_id* says otherwise, and its
    activation ID is ``make_activation_id(n)``.
    """
    product = Product(
        id=f"product-{n:04d}",
        computer_id=computer_id,
        activation_id=make_activation_id(n),
        name="Windows(R), Professional edition",
        family=ProductFamily.WINDOWS_CLIENT,
    )
    return attrs.evolve(product, **changes)


def make_key_record(n: int = 1, **changes: Any) -> KeyRecord:
    """Return a record of ``make_key(n)``: a MAK with 250 activations left, with *changes*."""
    record = KeyRecord(
        key=make_key(n),
        channel=KeyChannel.MAK,
        edition="Windows 11 Pro",
        remaining=RemainingCount(250, SAMPLE_TIME),
    )
    return attrs.evolve(record, **changes)


def make_confirmation(
    n: int = 1, *, computer_id: str = "computer-0001", **changes: Any
) -> CilEntry:
    """Return the *n*-th sample CIL entry: ``make_installation_id(n)`` with its CID, with *changes*.

    The entry is for ``make_product(n)``'s activation ID, with ``make_key(1)`` installed.
    """
    entry = CilEntry(
        computer_id=computer_id,
        activation_id=make_activation_id(n),
        installation_id=make_installation_id(n),
        confirmation_id=make_confirmation_id(n),
        partial_key=make_key(1).partial,
        acquired_at=SAMPLE_TIME + dt.timedelta(minutes=n),
    )
    return attrs.evolve(entry, **changes)


def make_action(
    n: int = 1,
    *,
    computer_id: str = "computer-0001",
    product_id: str | None = "product-0001",
    **changes: Any,
) -> ActionRecord:
    """Return the *n*-th sample history record: a successful key install, *n* seconds in."""
    action = ActionRecord(
        at=SAMPLE_TIME + dt.timedelta(seconds=n),
        computer_id=computer_id,
        product_id=product_id,
        action="install_product_key",
        detail=f"sample action {n}",
    )
    return attrs.evolve(action, **changes)


def _licensed(n: int, **changes: Any) -> Product:
    """Return a product that a MAK proxy activation left with every field set."""
    state = LicenseState(
        status=LicenseStatus.LICENSED,
        channel=KeyChannel.MAK,
        partial_key=make_key(1).partial,
        activated_at=SAMPLE_TIME,
        method=ActivationMethod.MAK_PROXY,
        rearms_left=3,
    )
    return make_product(
        n,
        license_state=state,
        installation_id=make_installation_id(n),
        extended_pid="03612-03311-000-000001-03-1033-26100.0000-0012026",
        confirmation_id=make_confirmation_id(n),
        last_action=LastAction(action="proxy_activate", at=SAMPLE_TIME, code=lookup(0xC004C020)),
        **changes,
    )


def _in_grace(n: int, **changes: Any) -> Product:
    """Return a product with a key installed and not yet activated."""
    state = LicenseState(
        status=LicenseStatus.OOB_GRACE,
        channel=KeyChannel.GVLK,
        partial_key="2YT43",
        grace_ends_at=SAMPLE_TIME + dt.timedelta(days=30),
    )
    return make_product(n, license_state=state, **changes)


class _Boom(Exception):
    """The exception the transaction tests raise to make a block fail."""


def _run_in_threads(count: int, work: Callable[[int], object]) -> list[object]:
    """Return what ``work(i)`` returned or raised in each of *count* threads started together."""
    barrier = threading.Barrier(count)
    outcomes: list[object] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = work(i)
        except Exception as error:  # noqa: BLE001  # handed back to the test to judge
            outcomes[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    return outcomes


def _caught_failure(inventory: Inventory, write: Callable[[], object]) -> None:
    """Run *write* in a (nested) transaction that then fails, and catch the failure."""
    with contextlib.suppress(_Boom), inventory.transaction():
        write()
        raise _Boom


def _bulk(inventory: Inventory, method: str) -> Callable[[list[Any]], list[Any]]:
    """The optional bulk read *method* of :class:`~mak.ports.BulkReads`, or skip the test."""
    read = getattr(inventory, method, None)
    if not callable(read):
        pytest.skip(f"{type(inventory).__name__} has no {method} (mak.ports.BulkReads)")
    return cast("Callable[[list[Any]], list[Any]]", read)


def _fail_in(transaction: Callable[[], object]) -> None:
    """Run *transaction* and check that it lets :class:`_Boom` out."""
    with pytest.raises(_Boom):
        transaction()


# --- the inventory ---------------------------------------------------------------------------


class InventoryContract:
    """The contract of :class:`~mak.ports.Inventory`: subclass it and override ``inventory``.

    The fixture must return a new, empty inventory for every test. The rules, beyond
    the docstrings of :class:`~mak.ports.Inventory`:

    - ``add_*`` stores at version 1, whatever version the record carries, and returns
      the stored record. The same data again (version aside) returns the stored record;
      different data under a used id raises :class:`~mak.errors.ConcurrencyConflict`
      (``expected`` the given version, ``actual`` the stored one) and writes nothing.
      Ids: a computer's or product's ``id``; a key's masked key (``KeyRecord.id``); a CIL
      entry's ``str(installation_id)``, with ``expected=0, actual=1``.
    - ``update_*`` of an unknown id raises :class:`~mak.errors.NotFound`; from any
      version but the stored one, :class:`~mak.errors.ConcurrencyConflict`; otherwise
      it stores at the next version and returns that.
    - A product needs its computer stored (else ``NotFound("computer", ...)``), and one
      computer has at most one product per activation ID (else a conflict), on add and
      on update alike. CIL entries and history records need no stored computer: the CIL
      outlives reimaged and retired computers, and history is a log.
    - Computers and products are listed by id (as ``str`` sorts); keys and CIL entries in
      the order they were added; history oldest first, in the order it was recorded.
      ``computers(name=...)`` compares ``str.casefold()`` forms; product filters combine.
    - ``transaction()``: writes inside are all kept, or all undone when an exception
      leaves the block (and propagates). Reads inside see the writes made inside. A
      nested ``transaction()`` joins the outer one: an exception leaving the inner block
      undoes *everything* the outer one wrote, at once, even if the outer block catches
      it; further writes in that outer block raise :class:`~mak.errors.StorageError`, and
      so does its normal end, so nobody believes those writes were kept. A write that is
      refused (a conflict, an unknown id) writes nothing and leaves the transaction as it
      was. Another thread never sees a transaction's writes before it ends, and a
      rollback never undoes another thread's writes.
    - Safe for several threads: of several updates from the same read exactly one wins.
    - Product keys are secrets: errors name a key by its masked form only.
    """

    @pytest.fixture
    def inventory(self) -> Inventory:
        """Return a new, empty inventory: override this in your subclass."""
        raise NotImplementedError("override the `inventory` fixture to return your adapter")

    # --- computers -------------------------------------------------------------------------

    def test_add_computer_returns_it_at_version_1(self, inventory: Inventory) -> None:
        """add_computer returns the computer as stored, at version 1."""
        computer = make_computer(1)
        assert inventory.add_computer(computer) == attrs.evolve(computer, version=1)

    def test_add_computer_stores_at_version_1_whatever_the_given_version(
        self, inventory: Inventory
    ) -> None:
        """add_computer ignores the version the record carries."""
        inventory.add_computer(make_computer(1, version=7))
        assert inventory.computer("computer-0001").version == 1

    def test_computer_reads_back_every_field(self, inventory: Inventory) -> None:
        """computer() returns exactly what was stored, every field included."""
        computer = make_computer(
            1, address="2001:db8::1", workgroup=None, domain="corp.example.com"
        )
        stored = inventory.add_computer(computer)
        assert inventory.computer("computer-0001") == stored

    def test_computer_of_unknown_id_raises_not_found(self, inventory: Inventory) -> None:
        """computer() of an id never stored raises NotFound naming kind and id."""
        with pytest.raises(NotFound) as caught:
            inventory.computer("computer-9999")
        assert (caught.value.kind, caught.value.id) == ("computer", "computer-9999")

    def test_add_computer_again_with_the_same_data_returns_the_stored_one(
        self, inventory: Inventory
    ) -> None:
        """Adding a stored computer again is a no-op that returns the stored version."""
        inventory.add_computer(make_computer(1))
        updated = inventory.update_computer(make_computer(1, version=1, os_edition="Win 10"))
        again = inventory.add_computer(make_computer(1, os_edition="Win 10"))
        assert again == updated
        assert again.version == 2
        assert inventory.computers() == [updated]

    def test_add_computer_with_other_data_under_a_used_id_conflicts(
        self, inventory: Inventory
    ) -> None:
        """A different computer under a used id raises ConcurrencyConflict, writes nothing."""
        stored = inventory.add_computer(make_computer(1))
        with pytest.raises(ConcurrencyConflict) as caught:
            inventory.add_computer(make_computer(1, name="OTHER-PC"))
        conflict = caught.value
        assert (conflict.kind, conflict.id, conflict.expected, conflict.actual) == (
            "computer",
            "computer-0001",
            0,
            1,
        )
        assert inventory.computers() == [stored]

    def test_update_computer_stores_the_next_version(self, inventory: Inventory) -> None:
        """update_computer writes the change at the next version and returns it."""
        stored = inventory.add_computer(make_computer(1))
        updated = inventory.update_computer(attrs.evolve(stored, name="RENAMED"))
        assert updated == attrs.evolve(stored, name="RENAMED", version=2)
        assert inventory.computer("computer-0001") == updated
        assert inventory.update_computer(updated).version == 3

    def test_update_computer_of_unknown_id_raises_not_found(self, inventory: Inventory) -> None:
        """update_computer of a computer never stored raises NotFound, writes nothing."""
        with pytest.raises(NotFound) as caught:
            inventory.update_computer(make_computer(1, version=1))
        assert (caught.value.kind, caught.value.id) == ("computer", "computer-0001")
        assert inventory.computers() == []

    def test_update_computer_from_a_stale_version_conflicts(self, inventory: Inventory) -> None:
        """A write based on an older version raises ConcurrencyConflict and writes nothing."""
        read = inventory.add_computer(make_computer(1))
        current = inventory.update_computer(attrs.evolve(read, name="FIRST"))
        with pytest.raises(ConcurrencyConflict) as caught:
            inventory.update_computer(attrs.evolve(read, name="SECOND"))
        conflict = caught.value
        assert (conflict.kind, conflict.id, conflict.expected, conflict.actual) == (
            "computer",
            "computer-0001",
            1,
            2,
        )
        assert inventory.computer("computer-0001") == current

    def test_update_computer_from_a_version_never_stored_conflicts(
        self, inventory: Inventory
    ) -> None:
        """A version ahead of the stored one is as stale as one behind it."""
        stored = inventory.add_computer(make_computer(1))
        with pytest.raises(ConcurrencyConflict):
            inventory.update_computer(attrs.evolve(stored, name="X", version=5))
        assert inventory.computer("computer-0001") == stored

    def test_a_renamed_computer_is_found_by_its_new_name_only(self, inventory: Inventory) -> None:
        """Name look-ups follow renames, and a rolled-back rename leaves the old name."""
        stored = inventory.add_computer(make_computer(1, name="OLD-NAME"))
        renamed = inventory.update_computer(attrs.evolve(stored, name="New-Name"))
        assert inventory.computers(name="old-name") == []
        assert inventory.computers(name="NEW-NAME") == [renamed]

        def fail() -> None:
            with inventory.transaction():
                inventory.update_computer(attrs.evolve(renamed, name="THIRD"))
                raise _Boom

        _fail_in(fail)
        assert inventory.computers(name="third") == []
        assert inventory.computers(name="new-name") == [renamed]

    def test_computers_are_empty_at_first(self, inventory: Inventory) -> None:
        """A new inventory lists no computers."""
        assert inventory.computers() == []

    def test_computers_are_listed_by_id(self, inventory: Inventory) -> None:
        """computers() sorts by id, the way str sorts."""
        for computer_id in ("b", "a-2", "A", "a-10"):
            inventory.add_computer(make_computer(1, id=computer_id))
        assert [c.id for c in inventory.computers()] == ["A", "a-10", "a-2", "b"]

    def test_computers_by_name_ignore_case(self, inventory: Inventory) -> None:
        """computers(name=...) finds names that differ only in case."""
        wanted = inventory.add_computer(make_computer(1, name="Lab-PC-01"))
        inventory.add_computer(make_computer(2, name="LAB-PC-02"))
        assert inventory.computers(name="lab-pc-01") == [wanted]
        assert inventory.computers(name="LAB-PC-01") == [wanted]

    def test_computers_by_name_compare_casefolded(self, inventory: Inventory) -> None:
        """computers(name=...) compares str.casefold() forms, not just lower()."""
        wanted = inventory.add_computer(make_computer(1, name="STRASSE-01"))
        assert inventory.computers(name="straße-01") == [wanted]

    def test_computers_by_name_list_every_match_by_id(self, inventory: Inventory) -> None:
        """Several computers may share a name; all of them come back, by id."""
        second = inventory.add_computer(make_computer(2, name="PC"))
        first = inventory.add_computer(make_computer(1, name="pc"))
        inventory.add_computer(make_computer(3, name="PC-3"))
        assert inventory.computers(name="Pc") == [first, second]

    def test_computers_by_unknown_name_are_empty(self, inventory: Inventory) -> None:
        """A name no computer has gives an empty list, not an error."""
        inventory.add_computer(make_computer(1))
        assert inventory.computers(name="NOBODY") == []

    def test_computers_by_name_follow_a_rename(self, inventory: Inventory) -> None:
        """After a rename the computer is found by its new name only."""
        stored = inventory.add_computer(make_computer(1, name="OLD"))
        renamed = inventory.update_computer(attrs.evolve(stored, name="NEW"))
        assert inventory.computers(name="old") == []
        assert inventory.computers(name="new") == [renamed]

    def test_lists_returned_are_the_callers_own(self, inventory: Inventory) -> None:
        """Changing a returned list changes nothing in the inventory."""
        inventory.add_computer(make_computer(1))
        listed = inventory.computers()
        listed.clear()
        assert len(inventory.computers()) == 1

    # --- products --------------------------------------------------------------------------

    def test_add_product_returns_it_at_version_1(self, inventory: Inventory) -> None:
        """add_product returns the product as stored, at version 1."""
        inventory.add_computer(make_computer(1))
        product = make_product(1, version=4)
        assert inventory.add_product(product) == attrs.evolve(product, version=1)

    def test_product_reads_back_every_field(self, inventory: Inventory) -> None:
        """product() returns exactly what was stored: state, IDs, last action included."""
        inventory.add_computer(make_computer(1))
        stored = inventory.add_product(_licensed(1))
        assert inventory.product("product-0001") == stored == attrs.evolve(_licensed(1), version=1)

    def test_product_of_unknown_id_raises_not_found(self, inventory: Inventory) -> None:
        """product() of an id never stored raises NotFound naming kind and id."""
        with pytest.raises(NotFound) as caught:
            inventory.product("product-9999")
        assert (caught.value.kind, caught.value.id) == ("product", "product-9999")

    def test_add_product_of_an_unknown_computer_raises_not_found(
        self, inventory: Inventory
    ) -> None:
        """A product of a computer not stored raises NotFound("computer", id), writes nothing."""
        with pytest.raises(NotFound) as caught:
            inventory.add_product(make_product(1, computer_id="computer-0042"))
        assert (caught.value.kind, caught.value.id) == ("computer", "computer-0042")
        assert inventory.products() == []

    def test_add_product_again_with_the_same_data_returns_the_stored_one(
        self, inventory: Inventory
    ) -> None:
        """Adding a stored product again is a no-op that returns the stored version."""
        inventory.add_computer(make_computer(1))
        first = inventory.add_product(make_product(1))
        assert inventory.add_product(make_product(1, version=9)) == first
        assert inventory.products() == [first]

    def test_add_product_with_other_data_under_a_used_id_conflicts(
        self, inventory: Inventory
    ) -> None:
        """A different product under a used id raises ConcurrencyConflict, writes nothing."""
        inventory.add_computer(make_computer(1))
        stored = inventory.add_product(make_product(1))
        with pytest.raises(ConcurrencyConflict) as caught:
            inventory.add_product(make_product(1, name="Office", version=3))
        conflict = caught.value
        assert (conflict.kind, conflict.id, conflict.expected, conflict.actual) == (
            "product",
            "product-0001",
            3,
            1,
        )
        assert inventory.products() == [stored]

    def test_add_a_second_product_with_the_same_activation_id_conflicts(
        self, inventory: Inventory
    ) -> None:
        """One computer holds one product per activation ID; a second raises a conflict."""
        inventory.add_computer(make_computer(1))
        stored = inventory.add_product(make_product(1))
        twin = make_product(2, activation_id=make_activation_id(1))
        with pytest.raises(ConcurrencyConflict) as caught:
            inventory.add_product(twin)
        assert caught.value.kind == "product"
        assert inventory.products() == [stored]

    def test_the_same_activation_id_on_two_computers_is_two_products(
        self, inventory: Inventory
    ) -> None:
        """Two computers may each hold a product with the same activation ID."""
        inventory.add_computer(make_computer(1))
        inventory.add_computer(make_computer(2))
        first = inventory.add_product(make_product(1))
        second = inventory.add_product(
            make_product(2, computer_id="computer-0002", activation_id=make_activation_id(1))
        )
        assert inventory.products() == [first, second]

    def test_update_product_stores_the_next_version(self, inventory: Inventory) -> None:
        """update_product writes the change at the next version and returns it."""
        inventory.add_computer(make_computer(1))
        stored = inventory.add_product(make_product(1))
        changed = attrs.evolve(_licensed(1), version=stored.version)
        updated = inventory.update_product(changed)
        assert updated == attrs.evolve(changed, version=2)
        assert inventory.product("product-0001") == updated

    def test_update_product_of_unknown_id_raises_not_found(self, inventory: Inventory) -> None:
        """update_product of a product never stored raises NotFound, writes nothing."""
        inventory.add_computer(make_computer(1))
        with pytest.raises(NotFound) as caught:
            inventory.update_product(make_product(1, version=1))
        assert (caught.value.kind, caught.value.id) == ("product", "product-0001")
        assert inventory.products() == []

    def test_update_product_from_a_stale_version_conflicts(self, inventory: Inventory) -> None:
        """A write based on an older version raises ConcurrencyConflict and writes nothing."""
        inventory.add_computer(make_computer(1))
        read = inventory.add_product(make_product(1))
        current = inventory.update_product(attrs.evolve(read, name="first"))
        with pytest.raises(ConcurrencyConflict) as caught:
            inventory.update_product(attrs.evolve(read, name="second"))
        conflict = caught.value
        assert (conflict.kind, conflict.id, conflict.expected, conflict.actual) == (
            "product",
            "product-0001",
            1,
            2,
        )
        assert inventory.product("product-0001") == current

    def test_update_product_onto_an_unknown_computer_raises_not_found(
        self, inventory: Inventory
    ) -> None:
        """Moving a product to a computer not stored raises NotFound, writes nothing."""
        inventory.add_computer(make_computer(1))
        stored = inventory.add_product(make_product(1))
        with pytest.raises(NotFound) as caught:
            inventory.update_product(attrs.evolve(stored, computer_id="computer-0042"))
        assert (caught.value.kind, caught.value.id) == ("computer", "computer-0042")
        assert inventory.product("product-0001") == stored

    def test_update_product_onto_a_taken_activation_id_conflicts(
        self, inventory: Inventory
    ) -> None:
        """Giving a product the activation ID of another on its computer is a conflict."""
        inventory.add_computer(make_computer(1))
        inventory.add_product(make_product(1))
        second = inventory.add_product(make_product(2))
        with pytest.raises(ConcurrencyConflict):
            inventory.update_product(attrs.evolve(second, activation_id=make_activation_id(1)))
        assert inventory.product("product-0002") == second

    def test_update_product_may_keep_its_own_activation_id(self, inventory: Inventory) -> None:
        """A product's own activation ID never conflicts with itself."""
        inventory.add_computer(make_computer(1))
        stored = inventory.add_product(make_product(1))
        assert inventory.update_product(attrs.evolve(stored, name="same aid")).version == 2

    def test_update_product_frees_its_old_activation_id(self, inventory: Inventory) -> None:
        """Once a product moves to another activation ID, its old one may be used again."""
        inventory.add_computer(make_computer(1))
        stored = inventory.add_product(make_product(1))
        inventory.update_product(attrs.evolve(stored, activation_id=make_activation_id(9)))
        again = inventory.add_product(make_product(2, activation_id=make_activation_id(1)))
        assert again.version == 1

    def test_products_are_empty_at_first(self, inventory: Inventory) -> None:
        """A new inventory lists no products."""
        assert inventory.products() == []

    def test_products_are_listed_by_id(self, inventory: Inventory) -> None:
        """products() sorts by id, the way str sorts."""
        inventory.add_computer(make_computer(1))
        for n, product_id in enumerate(("p-b", "p-a10", "P-c", "p-a2")):
            inventory.add_product(make_product(n, id=product_id))
        assert [p.id for p in inventory.products()] == ["P-c", "p-a10", "p-a2", "p-b"]

    def test_products_by_family(self, inventory: Inventory) -> None:
        """products(family=...) keeps the products of that family."""
        inventory.add_computer(make_computer(1))
        inventory.add_product(make_product(1))
        office = inventory.add_product(make_product(2, family=ProductFamily.OFFICE))
        assert inventory.products(family=ProductFamily.OFFICE) == [office]
        assert inventory.products(family=ProductFamily.WINDOWS_SERVER) == []

    def test_products_by_status(self, inventory: Inventory) -> None:
        """products(status=...) compares the license state's status."""
        inventory.add_computer(make_computer(1))
        unlicensed = inventory.add_product(make_product(1))
        licensed = inventory.add_product(_licensed(2))
        grace = inventory.add_product(_in_grace(3))
        assert inventory.products(status=LicenseStatus.LICENSED) == [licensed]
        assert inventory.products(status=LicenseStatus.UNLICENSED) == [unlicensed]
        assert inventory.products(status=LicenseStatus.OOB_GRACE) == [grace]
        assert inventory.products(status=LicenseStatus.NOTIFICATION) == []

    def test_products_by_status_follow_an_update(self, inventory: Inventory) -> None:
        """A product whose status changed is found under its new status only."""
        inventory.add_computer(make_computer(1))
        stored = inventory.add_product(make_product(1))
        inventory.update_product(attrs.evolve(_licensed(1), version=stored.version))
        assert inventory.products(status=LicenseStatus.UNLICENSED) == []
        assert [p.id for p in inventory.products(status=LicenseStatus.LICENSED)] == [
            "product-0001"
        ]

    def test_products_by_computer(self, inventory: Inventory) -> None:
        """products(computer_id=...) keeps that computer's products, by id."""
        inventory.add_computer(make_computer(1))
        inventory.add_computer(make_computer(2))
        inventory.add_product(make_product(1))
        theirs = [
            inventory.add_product(make_product(n, computer_id="computer-0002")) for n in (3, 2)
        ]
        assert inventory.products(computer_id="computer-0002") == sorted(
            theirs, key=lambda p: p.id
        )
        assert inventory.products(computer_id="computer-0042") == []

    def test_product_filters_combine(self, inventory: Inventory) -> None:
        """Several product filters keep only the products matching all of them."""
        inventory.add_computer(make_computer(1))
        inventory.add_computer(make_computer(2))
        office_licensed = _licensed(1)
        inventory.add_product(attrs.evolve(office_licensed, family=ProductFamily.OFFICE))
        inventory.add_product(_licensed(2))
        wanted = inventory.add_product(_licensed(3, computer_id="computer-0002"))
        inventory.add_product(make_product(4, computer_id="computer-0002"))
        found = inventory.products(
            family=ProductFamily.WINDOWS_CLIENT,
            status=LicenseStatus.LICENSED,
            computer_id="computer-0002",
        )
        assert found == [wanted]

    # --- keys ------------------------------------------------------------------------------

    def test_add_key_returns_it_at_version_1(self, inventory: Inventory) -> None:
        """add_key returns the record as stored, at version 1."""
        record = make_key_record(1, version=3)
        assert inventory.add_key(record) == attrs.evolve(record, version=1)

    def test_key_reads_back_every_field(self, inventory: Inventory) -> None:
        """key() returns exactly what was stored, the full key and its count included."""
        stored = inventory.add_key(make_key_record(1))
        read = inventory.key(make_key(1))
        assert read == stored
        assert read.key.reveal() == make_key(1).reveal()
        assert read.remaining == RemainingCount(250, SAMPLE_TIME)

    def test_key_without_optional_fields_reads_back(self, inventory: Inventory) -> None:
        """A record with no edition and no count reads back as it was stored."""
        gvlk = ProductKey.parse("W269N-WFGWX-YVC9B-4J6C9-T83GX")
        record = KeyRecord(key=gvlk, channel=KeyChannel.GVLK)
        stored = inventory.add_key(record)
        assert inventory.key(gvlk) == stored == attrs.evolve(record, version=1)

    def test_key_unknown_raises_not_found_naming_it_masked(self, inventory: Inventory) -> None:
        """key() of a key never stored raises NotFound with the masked key as id."""
        key = make_key(5)
        with pytest.raises(NotFound) as caught:
            inventory.key(key)
        assert (caught.value.kind, caught.value.id) == ("key", str(key))
        assert key.reveal() not in str(caught.value)
        assert key.reveal() not in repr(caught.value)

    def test_add_key_again_with_the_same_data_returns_the_stored_one(
        self, inventory: Inventory
    ) -> None:
        """Adding a stored key again is a no-op that returns the stored version."""
        stored = inventory.add_key(make_key_record(1))
        assert inventory.add_key(make_key_record(1, version=6)) == stored
        assert inventory.keys() == [stored]

    def test_add_key_with_other_data_conflicts_naming_it_masked(
        self, inventory: Inventory
    ) -> None:
        """A different record of a stored key raises ConcurrencyConflict, writes nothing."""
        stored = inventory.add_key(make_key_record(1))
        with pytest.raises(ConcurrencyConflict) as caught:
            inventory.add_key(make_key_record(1, edition="Windows 11 Enterprise"))
        conflict = caught.value
        assert (conflict.kind, conflict.id, conflict.expected, conflict.actual) == (
            "key",
            str(make_key(1)),
            0,
            1,
        )
        assert make_key(1).reveal() not in str(conflict)
        assert inventory.keys() == [stored]

    def test_keys_sharing_their_last_five_symbols_are_two_keys(self, inventory: Inventory) -> None:
        """Keys are told apart by their full value, not by their masked form."""
        first = make_key_record(0)
        second = make_key_record(0, key=ProductKey.parse("HJKMP-BCDFG-QRTVW-XY234-6789B"))
        assert first.id == second.id
        inventory.add_key(first)
        inventory.add_key(second)
        assert inventory.key(second.key).key.reveal() == "HJKMP-BCDFG-QRTVW-XY234-6789B"
        assert len(inventory.keys()) == 2

    def test_update_key_stores_the_next_version(self, inventory: Inventory) -> None:
        """update_key writes the change at the next version and returns it."""
        stored = inventory.add_key(make_key_record(1))
        fresh = RemainingCount(120, SAMPLE_TIME + dt.timedelta(days=1))
        updated = inventory.update_key(attrs.evolve(stored, remaining=fresh))
        assert updated == attrs.evolve(stored, remaining=fresh, version=2)
        assert inventory.key(make_key(1)) == updated

    def test_update_key_of_unknown_key_raises_not_found(self, inventory: Inventory) -> None:
        """update_key of a key never stored raises NotFound with the masked key as id."""
        with pytest.raises(NotFound) as caught:
            inventory.update_key(make_key_record(2, version=1))
        assert (caught.value.kind, caught.value.id) == ("key", str(make_key(2)))
        assert inventory.keys() == []

    def test_update_key_from_a_stale_version_conflicts(self, inventory: Inventory) -> None:
        """A write based on an older version raises ConcurrencyConflict and writes nothing."""
        read = inventory.add_key(make_key_record(1))
        current = inventory.update_key(attrs.evolve(read, edition="first"))
        with pytest.raises(ConcurrencyConflict) as caught:
            inventory.update_key(attrs.evolve(read, edition="second"))
        assert (caught.value.kind, caught.value.expected, caught.value.actual) == ("key", 1, 2)
        assert inventory.key(make_key(1)) == current

    def test_keys_are_listed_in_the_order_they_were_added(self, inventory: Inventory) -> None:
        """keys() lists records in the order of add_key; updates do not move them."""
        records = [inventory.add_key(make_key_record(n)) for n in (5, 1, 9)]
        updated = inventory.update_key(attrs.evolve(records[0], edition="moved?"))
        assert inventory.keys() == [updated, records[1], records[2]]

    def test_keys_are_empty_at_first(self, inventory: Inventory) -> None:
        """A new inventory lists no keys."""
        assert inventory.keys() == []

    # --- the CIL ---------------------------------------------------------------------------

    def test_add_confirmation_returns_the_entry(self, inventory: Inventory) -> None:
        """add_confirmation returns the entry kept."""
        entry = make_confirmation(1)
        assert inventory.add_confirmation(entry) == entry

    def test_find_confirmation_returns_the_entry(self, inventory: Inventory) -> None:
        """find_confirmation returns the entry kept for that installation ID, every field."""
        entry = inventory.add_confirmation(make_confirmation(1))
        inventory.add_confirmation(make_confirmation(2))
        assert inventory.find_confirmation(make_installation_id(1)) == entry

    def test_find_confirmation_of_an_unknown_iid_returns_none(self, inventory: Inventory) -> None:
        """find_confirmation returns None, not an error, for an IID never kept."""
        inventory.add_confirmation(make_confirmation(1))
        assert inventory.find_confirmation(make_installation_id(2)) is None

    def test_confirmations_of_older_layouts_read_back(self, inventory: Inventory) -> None:
        """A 54-digit IID and a 42-digit CID (Windows XP era) are kept as they are."""
        iid = InstallationId("123450" * 9)
        cid = ConfirmationId("123450" * 7)
        entry = inventory.add_confirmation(
            make_confirmation(1, installation_id=iid, confirmation_id=cid)
        )
        found = inventory.find_confirmation(iid)
        assert found == entry
        assert found is not None
        assert (found.installation_id.layout, found.confirmation_id.layout) == (
            IdLayout.IID_54,
            IdLayout.CID_42,
        )

    def test_add_confirmation_again_is_a_no_op(self, inventory: Inventory) -> None:
        """The same entry kept twice is kept once, in its first place."""
        entry = inventory.add_confirmation(make_confirmation(1))
        second = inventory.add_confirmation(make_confirmation(2))
        assert inventory.add_confirmation(make_confirmation(1)) == entry
        assert inventory.confirmations() == [entry, second]

    def test_update_product_and_key_from_a_version_never_stored_conflict(
        self, inventory: Inventory
    ) -> None:
        """A version ahead of the stored one is as stale as one behind it, for every kind."""
        inventory.add_computer(make_computer(1))
        product = inventory.add_product(make_product(1))
        key = inventory.add_key(make_key_record(1))
        with pytest.raises(ConcurrencyConflict):
            inventory.update_product(attrs.evolve(product, name="X", version=5))
        with pytest.raises(ConcurrencyConflict):
            inventory.update_key(attrs.evolve(key, edition="X", version=5))
        assert inventory.product(product.id) == product
        assert inventory.key(key.key) == key

    def test_times_keep_their_microseconds(self, inventory: Inventory) -> None:
        """A stored time comes back exactly: microseconds are not rounded away."""
        precise = SAMPLE_TIME.replace(microsecond=123456)
        entry = make_confirmation(1, acquired_at=precise)
        assert inventory.add_confirmation(entry) == entry
        assert inventory.add_confirmation(entry) == entry  # an idempotent re-add still matches
        assert inventory.find_confirmation(entry.installation_id) == entry
        action = inventory.record(make_action(1, at=precise))
        assert inventory.history() == [action]

    def test_another_confirmation_for_a_kept_iid_conflicts(self, inventory: Inventory) -> None:
        """A different entry for a kept IID raises ConcurrencyConflict, writes nothing."""
        entry = inventory.add_confirmation(make_confirmation(1))
        with pytest.raises(ConcurrencyConflict) as caught:
            inventory.add_confirmation(
                make_confirmation(1, confirmation_id=make_confirmation_id(2))
            )
        conflict = caught.value
        assert (conflict.kind, conflict.id, conflict.expected, conflict.actual) == (
            "confirmation",
            str(make_installation_id(1)),
            0,
            1,
        )
        assert inventory.confirmations() == [entry]
        assert inventory.find_confirmation(make_installation_id(1)) == entry

    def test_confirmations_are_listed_in_the_order_they_were_added(
        self, inventory: Inventory
    ) -> None:
        """confirmations() lists entries in the order of add_confirmation."""
        entries = [inventory.add_confirmation(make_confirmation(n)) for n in (7, 2, 5)]
        assert inventory.confirmations() == entries

    def test_confirmations_by_computer(self, inventory: Inventory) -> None:
        """confirmations(computer_id=...) keeps that computer's entries, in order."""
        inventory.add_confirmation(make_confirmation(1))
        theirs = [
            inventory.add_confirmation(make_confirmation(n, computer_id="computer-0002"))
            for n in (4, 3)
        ]
        assert inventory.confirmations(computer_id="computer-0002") == theirs
        assert inventory.confirmations(computer_id="computer-0042") == []

    def test_confirmations_need_no_stored_computer(self, inventory: Inventory) -> None:
        """The CIL is kept on its own: an entry's computer need not be stored."""
        entry = inventory.add_confirmation(make_confirmation(1, computer_id="retired-pc"))
        assert inventory.confirmations(computer_id="retired-pc") == [entry]

    def test_confirmations_are_empty_at_first(self, inventory: Inventory) -> None:
        """A new inventory lists no confirmations."""
        assert inventory.confirmations() == []

    # --- history ---------------------------------------------------------------------------

    def test_record_returns_the_action(self, inventory: Inventory) -> None:
        """record() returns the action it appended."""
        action = make_action(1, code=lookup(0xC004C020))
        assert inventory.record(action) == action
        assert inventory.history() == [action]

    def test_history_is_listed_oldest_first(self, inventory: Inventory) -> None:
        """history() lists actions in the order they were recorded, oldest first."""
        actions = [inventory.record(make_action(n)) for n in range(1, 6)]
        assert inventory.history() == actions

    def test_the_same_action_recorded_twice_is_kept_twice(self, inventory: Inventory) -> None:
        """History has no identity: recording an equal action again appends it again."""
        inventory.record(make_action(1))
        inventory.record(make_action(1))
        assert inventory.history() == [make_action(1), make_action(1)]

    def test_history_by_computer(self, inventory: Inventory) -> None:
        """history(computer_id=...) keeps that computer's actions, oldest first."""
        inventory.record(make_action(1))
        theirs = [
            inventory.record(make_action(n, computer_id="computer-0002", product_id=None))
            for n in (2, 3)
        ]
        assert inventory.history(computer_id="computer-0002") == theirs

    def test_history_by_product(self, inventory: Inventory) -> None:
        """history(product_id=...) keeps that product's actions, oldest first."""
        inventory.record(make_action(1, product_id=None))
        wanted = inventory.record(make_action(2, product_id="product-0002"))
        inventory.record(make_action(3))
        assert inventory.history(product_id="product-0002") == [wanted]

    def test_history_filters_combine(self, inventory: Inventory) -> None:
        """Both history filters keep only the actions matching both."""
        inventory.record(make_action(1, product_id="product-0002"))
        wanted = inventory.record(
            make_action(2, computer_id="computer-0002", product_id="product-0002")
        )
        inventory.record(make_action(3, computer_id="computer-0002", product_id="product-0003"))
        found = inventory.history(computer_id="computer-0002", product_id="product-0002")
        assert found == [wanted]

    def test_history_needs_no_stored_computer(self, inventory: Inventory) -> None:
        """History is a log: its records need no stored computer or product."""
        action = inventory.record(make_action(1, computer_id="gone", product_id="gone-too"))
        assert inventory.history(computer_id="gone") == [action]

    def test_history_is_empty_at_first(self, inventory: Inventory) -> None:
        """A new inventory has no history."""
        assert inventory.history() == []

    # --- transactions ----------------------------------------------------------------------

    def test_a_transaction_keeps_its_writes(self, inventory: Inventory) -> None:
        """Writes inside a transaction that ends normally are all kept."""
        with inventory.transaction():
            inventory.add_computer(make_computer(1))
            inventory.add_product(make_product(1))
            inventory.add_key(make_key_record(1))
        assert len(inventory.computers()) == len(inventory.products()) == 1
        assert len(inventory.keys()) == 1

    def test_a_transaction_gives_none(self, inventory: Inventory) -> None:
        """``with inventory.transaction() as value`` binds None."""
        with inventory.transaction() as value:
            assert value is None

    def test_reads_inside_a_transaction_see_its_writes(self, inventory: Inventory) -> None:
        """Inside a transaction, reads see the writes made before them in it."""
        with inventory.transaction():
            computer = inventory.add_computer(make_computer(1))
            assert inventory.computer("computer-0001") == computer
            product = inventory.add_product(make_product(1))
            updated = inventory.update_product(attrs.evolve(product, name="changed"))
            assert inventory.products(computer_id="computer-0001") == [updated]
            inventory.add_confirmation(make_confirmation(1))
            assert inventory.find_confirmation(make_installation_id(1)) is not None

    def test_an_exception_undoes_every_write_and_propagates(self, inventory: Inventory) -> None:
        """An exception leaving a transaction undoes all its writes, of every kind."""
        inventory.add_computer(make_computer(1))
        product = inventory.add_product(make_product(1))
        key = inventory.add_key(make_key_record(1))
        # Kept before the transaction: a rollback must not take these with it.
        inventory.add_confirmation(make_confirmation(5))
        inventory.record(make_action(5))
        before = (
            inventory.computers(),
            inventory.products(),
            inventory.keys(),
            inventory.confirmations(),
            inventory.history(),
        )
        error = _Boom("undo it all")

        def fail() -> None:
            with inventory.transaction():
                inventory.add_computer(make_computer(2))
                inventory.update_computer(make_computer(1, name="CHANGED", version=1))
                inventory.add_product(make_product(2, computer_id="computer-0002"))
                inventory.update_product(attrs.evolve(product, name="changed"))
                inventory.add_key(make_key_record(2))
                inventory.update_key(attrs.evolve(key, edition="changed"))
                inventory.add_confirmation(make_confirmation(1))
                inventory.record(make_action(1))
                raise error

        with pytest.raises(_Boom) as caught:
            fail()
        assert caught.value is error
        after = (
            inventory.computers(),
            inventory.products(),
            inventory.keys(),
            inventory.confirmations(),
            inventory.history(),
        )
        assert after == before
        assert inventory.find_confirmation(make_installation_id(1)) is None

    def test_an_undone_add_frees_its_id(self, inventory: Inventory) -> None:
        """After a rollback the ids the transaction used can be added afresh, at version 1."""

        def fail() -> None:
            with inventory.transaction():
                inventory.add_computer(make_computer(1, name="FIRST"))
                inventory.add_product(make_product(1))
                inventory.add_confirmation(make_confirmation(1))
                raise _Boom

        _fail_in(fail)
        assert inventory.add_computer(make_computer(1, name="SECOND")).version == 1
        assert inventory.add_product(make_product(1, name="again")).version == 1
        other_cid = make_confirmation(1, confirmation_id=make_confirmation_id(9))
        assert inventory.add_confirmation(other_cid) == other_cid

    def test_an_undone_update_restores_the_version(self, inventory: Inventory) -> None:
        """After a rollback the record is back at its version, and a write from it succeeds."""
        stored = inventory.add_computer(make_computer(1))

        def fail() -> None:
            with inventory.transaction():
                inventory.update_computer(attrs.evolve(stored, name="A"))
                inventory.update_computer(attrs.evolve(stored, name="B", version=2))
                raise _Boom

        _fail_in(fail)
        assert inventory.computer("computer-0001") == stored
        assert inventory.update_computer(attrs.evolve(stored, name="C")).version == 2

    def test_an_undone_rename_and_move_leave_the_lookups_as_before(
        self, inventory: Inventory
    ) -> None:
        """After a rollback names find their computers again, and a product's old place is its own."""
        computer = inventory.add_computer(make_computer(1, name="OLD"))
        inventory.add_computer(make_computer(2, name="OLD"))
        product = inventory.add_product(make_product(1))

        def fail() -> None:
            with inventory.transaction():
                inventory.update_computer(attrs.evolve(computer, name="NEW"))
                moved = attrs.evolve(product, activation_id=make_activation_id(2))
                inventory.update_product(moved)
                inventory.update_product(attrs.evolve(moved, name="moved", version=2))
                raise _Boom

        _fail_in(fail)
        found = [c.id for c in inventory.computers(name="old")]
        assert found == ["computer-0001", "computer-0002"]
        assert inventory.computers(name="new") == []
        assert inventory.product("product-0001") == product
        with pytest.raises(ConcurrencyConflict):  # the place it moved back to is taken
            inventory.add_product(make_product(2, activation_id=make_activation_id(1)))
        assert inventory.add_product(make_product(2)).version == 1  # the place it left is free

    def test_a_transaction_after_a_rollback_works(self, inventory: Inventory) -> None:
        """A rolled-back transaction leaves the inventory ready for the next one."""

        def fail() -> None:
            with inventory.transaction():
                inventory.add_computer(make_computer(1))
                raise _Boom

        _fail_in(fail)
        with inventory.transaction():
            inventory.add_computer(make_computer(2))
        assert [c.id for c in inventory.computers()] == ["computer-0002"]

    def test_a_refused_write_leaves_the_transaction_going(self, inventory: Inventory) -> None:
        """A write refused inside a transaction writes nothing and undoes nothing else."""
        stored = inventory.add_computer(make_computer(1))
        with inventory.transaction():
            inventory.add_computer(make_computer(2))
            inventory.update_computer(attrs.evolve(stored, name="NEW"))
            with pytest.raises(ConcurrencyConflict):
                inventory.update_computer(attrs.evolve(stored, name="STALE"))
            with pytest.raises(NotFound):
                inventory.add_product(make_product(1, computer_id="computer-0042"))
            inventory.add_computer(make_computer(3))
        assert [c.name for c in inventory.computers()] == ["NEW", "LAB-PC-0002", "LAB-PC-0003"]

    def test_a_nested_transaction_is_kept_only_with_the_outer_one(
        self, inventory: Inventory
    ) -> None:
        """An inner block's writes are undone when the outer block fails after it."""

        def fail() -> None:
            with inventory.transaction():
                with inventory.transaction():
                    inventory.add_computer(make_computer(1))
                assert len(inventory.computers()) == 1
                raise _Boom

        _fail_in(fail)
        assert inventory.computers() == []

    def test_nested_transactions_keep_everything_when_all_end_normally(
        self, inventory: Inventory
    ) -> None:
        """Writes of the outer and inner blocks are all kept when both end normally."""
        with inventory.transaction():
            inventory.add_computer(make_computer(1))
            with inventory.transaction():
                inventory.add_computer(make_computer(2))
            inventory.add_computer(make_computer(3))
        assert len(inventory.computers()) == 3

    def test_an_exception_through_nested_blocks_undoes_both(self, inventory: Inventory) -> None:
        """An exception leaving the inner and the outer block undoes the writes of both."""

        def fail() -> None:
            with inventory.transaction():
                inventory.add_computer(make_computer(1))
                with inventory.transaction():
                    inventory.add_computer(make_computer(2))
                    raise _Boom

        _fail_in(fail)
        assert inventory.computers() == []

    def test_an_inner_failure_undoes_the_outer_block_even_when_caught(
        self, inventory: Inventory
    ) -> None:
        """A failed inner block undoes the outer one's writes at once; its end then raises."""
        kept = inventory.add_computer(make_computer(9))

        def catch_inner_failure() -> None:
            with inventory.transaction():
                inventory.add_computer(make_computer(1))
                _caught_failure(inventory, lambda: inventory.add_computer(make_computer(2)))
                assert inventory.computers() == [kept]  # undone already

        with pytest.raises(StorageError):
            catch_inner_failure()
        assert inventory.computers() == [kept]

    def test_writes_after_a_failed_inner_block_raise(self, inventory: Inventory) -> None:
        """Once an inner block failed, the outer block's further writes raise StorageError."""
        refusals: list[StorageError] = []

        def write_after_inner_failure() -> None:
            with inventory.transaction():
                _caught_failure(inventory, lambda: inventory.add_computer(make_computer(1)))
                try:
                    inventory.add_computer(make_computer(2))
                except StorageError as error:
                    refusals.append(error)

        with pytest.raises(StorageError):
            write_after_inner_failure()
        assert len(refusals) == 1
        assert inventory.computers() == []

    def test_an_outer_exception_wins_over_an_earlier_inner_failure(
        self, inventory: Inventory
    ) -> None:
        """When the outer block fails too, its own exception is the one that propagates."""

        def fail_twice() -> None:
            with inventory.transaction():
                _caught_failure(inventory, lambda: inventory.add_computer(make_computer(1)))
                raise KeyError("outer")

        with pytest.raises(KeyError):
            fail_twice()
        with inventory.transaction():
            inventory.add_computer(make_computer(2))
        assert [c.id for c in inventory.computers()] == ["computer-0002"]

    # --- threads ---------------------------------------------------------------------------

    def test_of_concurrent_updates_from_one_read_exactly_one_wins(
        self, inventory: Inventory
    ) -> None:
        """Threads updating the same read: one is stored, the others get ConcurrencyConflict."""
        inventory.add_computer(make_computer(1))
        read = inventory.add_product(make_product(1))

        def update(i: int) -> object:
            return inventory.update_product(attrs.evolve(read, name=f"by thread {i}"))

        outcomes = _run_in_threads(_THREADS, update)
        winners = [o for o in outcomes if isinstance(o, Product)]
        losers = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
        assert len(winners) == 1
        assert len(losers) == _THREADS - 1
        assert all((c.expected, c.actual) == (1, 2) for c in losers)
        assert inventory.product("product-0001") == winners[0]

    def test_concurrent_read_modify_write_loses_no_update(self, inventory: Inventory) -> None:
        """Threads that retry on conflict lose no update: every decrement lands once."""
        inventory.add_key(make_key_record(1, remaining=RemainingCount(1000, SAMPLE_TIME)))
        per_thread = 10

        def spend(_: int) -> object:
            for _ in range(per_thread):
                while True:
                    record = inventory.key(make_key(1))
                    assert record.remaining is not None
                    spent = attrs.evolve(record.remaining, value=record.remaining.value - 1)
                    try:
                        inventory.update_key(attrs.evolve(record, remaining=spent))
                    except ConcurrencyConflict:
                        continue
                    break
            return None

        outcomes = _run_in_threads(_THREADS, spend)
        assert outcomes == [None] * _THREADS
        final = inventory.key(make_key(1))
        assert final.remaining is not None
        assert final.remaining.value == 1000 - _THREADS * per_thread
        assert final.version == 1 + _THREADS * per_thread

    def test_concurrent_adds_are_all_kept(self, inventory: Inventory) -> None:
        """Threads adding different records at once lose none of them."""
        per_thread = 10

        def add(i: int) -> object:
            for j in range(per_thread):
                n = i * per_thread + j
                inventory.add_computer(make_computer(n))
                inventory.add_confirmation(make_confirmation(n))
                inventory.record(make_action(n))
            return None

        assert _run_in_threads(_THREADS, add) == [None] * _THREADS
        count = _THREADS * per_thread
        assert len(inventory.computers()) == count
        assert len(inventory.confirmations()) == count
        assert len(inventory.history()) == count

    def test_concurrent_adds_of_one_entry_keep_it_once(self, inventory: Inventory) -> None:
        """Threads keeping the same CIL entry at once all get it back; it is kept once."""
        entry = make_confirmation(1)
        outcomes = _run_in_threads(_THREADS, lambda _: inventory.add_confirmation(entry))
        assert outcomes == [entry] * _THREADS
        assert inventory.confirmations() == [entry]

    def test_other_threads_never_see_writes_of_an_open_transaction(
        self, inventory: Inventory
    ) -> None:
        """A reader in another thread sees the state before or after, never in between."""
        seen: list[list[Computer]] = []
        written = threading.Event()

        def read() -> None:
            written.wait(_JOIN_SECONDS)
            seen.append(inventory.computers())

        reader = threading.Thread(target=read)
        reader.start()

        def fail() -> None:
            with inventory.transaction():
                inventory.add_computer(make_computer(1))
                written.set()
                time.sleep(_A_MOMENT)
                raise _Boom

        _fail_in(fail)
        reader.join(_JOIN_SECONDS)
        assert not reader.is_alive()
        assert seen == [[]]

    def test_a_rollback_never_undoes_another_threads_write(self, inventory: Inventory) -> None:
        """A write another thread made during a failed transaction is kept."""
        written = threading.Event()
        errors: list[Exception] = []

        def write() -> None:
            written.wait(_JOIN_SECONDS)
            try:
                inventory.add_computer(make_computer(2))
            except Exception as error:  # noqa: BLE001  # reported by the assertion below
                errors.append(error)

        writer = threading.Thread(target=write)
        writer.start()

        def fail() -> None:
            with inventory.transaction():
                inventory.add_computer(make_computer(1))
                written.set()
                time.sleep(_A_MOMENT)
                raise _Boom

        _fail_in(fail)
        writer.join(_JOIN_SECONDS)
        assert not writer.is_alive()
        assert errors == []
        assert [c.id for c in inventory.computers()] == ["computer-0002"]

    # --- bulk reads (optional: mak.ports.BulkReads) -----------------------------------------

    def test_products_by_id_gives_those_stored_in_the_order_asked(
        self, inventory: Inventory
    ) -> None:
        """products_by_id follows the ids' order, once each, leaving unknown ids out."""
        read = _bulk(inventory, "products_by_id")
        inventory.add_computer(make_computer(1))
        first, second = (inventory.add_product(make_product(n)) for n in (1, 2))
        asked = ["product-0002", "product-9999", "product-0001", "product-0002"]
        assert read(asked) == [second, first]
        assert read([]) == []

    def test_computers_by_id_gives_those_stored_in_the_order_asked(
        self, inventory: Inventory
    ) -> None:
        """computers_by_id follows the ids' order, once each, leaving unknown ids out."""
        read = _bulk(inventory, "computers_by_id")
        first, second = (inventory.add_computer(make_computer(n)) for n in (1, 2))
        assert read(["computer-0002", "computer-9999", "computer-0001"]) == [second, first]

    def test_find_confirmations_gives_those_kept_in_the_order_asked(
        self, inventory: Inventory
    ) -> None:
        """find_confirmations follows the IIDs' order, once each, leaving unknown IIDs out."""
        read = _bulk(inventory, "find_confirmations")
        first, second = (inventory.add_confirmation(make_confirmation(n)) for n in (1, 2))
        asked = [make_installation_id(n) for n in (2, 3, 1, 2)]
        assert read(asked) == [second, first]

    def test_products_read_in_bulk_in_a_transaction_update_as_any_other(
        self, inventory: Inventory
    ) -> None:
        """Products read in bulk inside a transaction are updated, read and listed as usual."""
        read = _bulk(inventory, "products_by_id")
        inventory.add_computer(make_computer(1))
        product = inventory.add_product(make_product(1))
        with inventory.transaction():
            [held] = read([product.id])
            updated = inventory.update_product(attrs.evolve(held, name="changed"))
            assert updated.version == product.version + 1
            with pytest.raises(ConcurrencyConflict):  # stale, refused at once
                inventory.update_product(attrs.evolve(held, name="stale"))
            assert inventory.product(product.id) == updated
            assert read([product.id]) == [updated]
            assert inventory.products(computer_id=product.computer_id) == [updated]
            again = inventory.update_product(attrs.evolve(updated, name="again"))
        assert inventory.product(product.id) == again
        assert again.version == product.version + 2

    def test_products_read_in_bulk_in_an_undone_transaction_keep_nothing(
        self, inventory: Inventory
    ) -> None:
        """An exception undoes the updates of products read in bulk, as every other write."""
        read = _bulk(inventory, "products_by_id")
        inventory.add_computer(make_computer(1))
        product = inventory.add_product(make_product(1))

        def fail() -> None:
            with inventory.transaction():
                [held] = read([product.id])
                inventory.update_product(attrs.evolve(held, name="changed"))
                raise _Boom

        _fail_in(fail)
        assert inventory.product(product.id) == product
        assert inventory.update_product(attrs.evolve(product, name="later")).version == 2


# --- the clearinghouse ---------------------------------------------------------------------


class ActivationServiceContract:
    """The contract of :class:`~mak.ports.ActivationService`: subclass it, override three fixtures.

    ``service`` returns the service; ``mak_key`` a MAK it knows, with activations left
    for every request of ``cid_requests``; ``cid_requests`` at least two requests, for
    different installation IDs of products holding that key, that the service answers
    with confirmation IDs. Override ``refused_request`` with a request the service
    refuses (a blocked key, an installation ID it will not answer) to run the refusal
    test too; fixtures may ask for ``service`` and ``mak_key``. The rules:

    - one result per request, in the order of the requests; an empty batch gets ``[]``;
    - the same installation ID asked again (or twice in one batch) gets the same
      confirmation ID;
    - a refused request comes back as a result carrying a code, not as an exception, and
      the rest of the batch is still answered;
    - ``remaining_activations`` is an int of 0 or more, and asking the same installation
      IDs again does not lower it.
    """

    @pytest.fixture
    def service(self) -> ActivationService:
        """Return the service under test: override this in your subclass."""
        raise NotImplementedError("override the `service` fixture to return your adapter")

    @pytest.fixture
    def mak_key(self) -> ProductKey:
        """Return a MAK the service knows: override this in your subclass."""
        raise NotImplementedError("override the `mak_key` fixture")

    @pytest.fixture
    def cid_requests(self) -> list[CidRequest]:
        """Return two or more requests the service answers: override this in your subclass."""
        raise NotImplementedError("override the `cid_requests` fixture")

    @pytest.fixture
    def refused_request(self) -> CidRequest:
        """Return a request the service refuses; by default the refusal test is skipped."""
        pytest.skip("no `refused_request` fixture: the service cannot be made to refuse")

    def test_results_are_one_per_request_in_order(
        self, service: ActivationService, cid_requests: list[CidRequest]
    ) -> None:
        """Each request gets one result, for its installation ID, in the order asked."""
        assert len(cid_requests) >= 2, "the `cid_requests` fixture must give two or more"
        results = service.acquire_confirmation_ids(cid_requests)
        assert all(isinstance(result, CidResult) for result in results)
        assert [r.installation_id for r in results] == [r.installation_id for r in cid_requests]

    def test_answered_requests_get_confirmation_ids(
        self, service: ActivationService, cid_requests: list[CidRequest]
    ) -> None:
        """A request the service answers gets a ConfirmationId and no code."""
        for result in service.acquire_confirmation_ids(cid_requests):
            assert result.ok
            assert isinstance(result.confirmation_id, ConfirmationId)
            assert result.code is None

    def test_an_empty_batch_gets_no_results(self, service: ActivationService) -> None:
        """A batch of no requests gets an empty list."""
        assert service.acquire_confirmation_ids([]) == []

    def test_the_same_iid_asked_again_gets_the_same_cid(
        self, service: ActivationService, cid_requests: list[CidRequest]
    ) -> None:
        """Asking again for the same installation IDs gets the same confirmation IDs."""
        first = service.acquire_confirmation_ids(cid_requests)
        again = service.acquire_confirmation_ids(cid_requests)
        assert [r.confirmation_id for r in again] == [r.confirmation_id for r in first]

    def test_a_batch_in_another_order_gets_its_own_order(
        self, service: ActivationService, cid_requests: list[CidRequest]
    ) -> None:
        """Results follow the order of each batch, and each IID keeps its CID."""
        first = service.acquire_confirmation_ids(cid_requests)
        reversed_results = service.acquire_confirmation_ids(cid_requests[::-1])
        assert reversed_results == first[::-1]

    def test_the_same_iid_twice_in_one_batch_gets_one_cid(
        self, service: ActivationService, cid_requests: list[CidRequest]
    ) -> None:
        """An installation ID asked twice in one batch gets the same CID twice."""
        twice = [cid_requests[0], cid_requests[0]]
        first, second = service.acquire_confirmation_ids(twice)
        assert first.ok
        assert first == second

    def test_a_refused_request_comes_back_as_a_result_with_a_code(
        self,
        service: ActivationService,
        cid_requests: list[CidRequest],
        refused_request: CidRequest,
    ) -> None:
        """A refusal is a result carrying a code, and the rest of the batch is answered."""
        batch = [cid_requests[0], refused_request, cid_requests[1]]
        results = service.acquire_confirmation_ids(batch)
        assert [r.installation_id for r in results] == [r.installation_id for r in batch]
        refused = results[1]
        assert not refused.ok
        assert refused.confirmation_id is None
        assert refused.code is not None
        assert results[0].ok
        assert results[2].ok

    def test_remaining_activations_is_a_count(
        self, service: ActivationService, mak_key: ProductKey
    ) -> None:
        """remaining_activations returns an int of 0 or more."""
        remaining = service.remaining_activations(mak_key)
        assert type(remaining) is int
        assert remaining >= 0

    def test_asking_the_same_iids_again_spends_nothing(
        self, service: ActivationService, mak_key: ProductKey, cid_requests: list[CidRequest]
    ) -> None:
        """The remaining count does not drop when the same IIDs are asked again."""
        service.acquire_confirmation_ids(cid_requests)
        after_first = service.remaining_activations(mak_key)
        service.acquire_confirmation_ids(cid_requests)
        assert service.remaining_activations(mak_key) >= after_first


# --- the managed computers ---------------------------------------------------------------------

_UNKNOWN_ACTIVATION_ID: Final = "ffffffff-ffff-4fff-bfff-ffffffffffff"


class ComputerEndpointContract:
    """The contract of :class:`~mak.ports.ComputerEndpoint`: subclass it, override two fixtures.

    ``endpoint`` returns a connection to a computer (a test machine, or a simulated one)
    and ``product_key`` a key it accepts for one of its products. The rules:

    - ``products()`` returns :class:`~mak.ports.ProductInfo` s whose activation IDs are
      lower-case GUIDs;
    - ``install_product_key`` returns the activation ID of a product ``products()``
      lists, which then shows the key's last five symbols;
    - ``installation_id`` returns an :class:`~mak.ids.InstallationId`, the same when
      asked again;
    - depositing a confirmation ID for another installation ID raises
      :class:`~mak.errors.ServiceRejected` with 0xC004F031 and changes nothing;
    - an unknown activation ID raises :class:`~mak.errors.NotFound`;
    - ``license_state`` returns a :class:`~mak.lifecycle.LicenseState`;
    - ``set_kms_endpoint`` takes a :class:`~mak.kms.KmsEndpoint` or ``None``.
    """

    @pytest.fixture
    def endpoint(self) -> ComputerEndpoint:
        """Return the endpoint under test: override this in your subclass."""
        raise NotImplementedError("override the `endpoint` fixture to return your adapter")

    @pytest.fixture
    def product_key(self) -> ProductKey:
        """Return a key the endpoint accepts: override this in your subclass."""
        raise NotImplementedError("override the `product_key` fixture")

    def test_products_have_lower_case_guid_activation_ids(
        self, endpoint: ComputerEndpoint
    ) -> None:
        """products() returns ProductInfo s with lower-case GUIDs as activation IDs."""
        products = endpoint.products()
        assert products, "a computer has at least one licensable product"
        for info in products:
            assert isinstance(info, ProductInfo)
            assert _GUID_PATTERN.fullmatch(info.activation_id), info.activation_id

    def test_install_returns_the_activation_id_of_a_listed_product(
        self, endpoint: ComputerEndpoint, product_key: ProductKey
    ) -> None:
        """install_product_key returns an activation ID that products() lists."""
        activation_id = endpoint.install_product_key(product_key)
        assert activation_id in [info.activation_id for info in endpoint.products()]

    def test_an_installed_key_shows_its_last_five_symbols(
        self, endpoint: ComputerEndpoint, product_key: ProductKey
    ) -> None:
        """After install_product_key, the product's state shows the key's partial."""
        activation_id = endpoint.install_product_key(product_key)
        assert endpoint.license_state(activation_id).partial_key == product_key.partial

    def test_installation_id_is_an_installation_id(
        self, endpoint: ComputerEndpoint, product_key: ProductKey
    ) -> None:
        """installation_id returns an InstallationId, the same when asked again."""
        activation_id = endpoint.install_product_key(product_key)
        iid = endpoint.installation_id(activation_id)
        assert isinstance(iid, InstallationId)
        assert endpoint.installation_id(activation_id) == iid

    def test_a_cid_for_another_iid_is_rejected_as_a_mismatch(
        self, endpoint: ComputerEndpoint, product_key: ProductKey
    ) -> None:
        """Depositing a CID for another installation ID raises ServiceRejected(0xC004F031)."""
        activation_id = endpoint.install_product_key(product_key)
        current = endpoint.installation_id(activation_id)
        before = endpoint.license_state(activation_id)
        other = next(iid for iid in map(make_installation_id, range(1, 3)) if iid != current)
        with pytest.raises(ServiceRejected) as caught:
            endpoint.deposit_confirmation_id(activation_id, other, make_confirmation_id(1))
        assert caught.value.code == CID_IID_MISMATCH
        assert endpoint.license_state(activation_id).status is before.status

    @pytest.mark.parametrize("method", ["installation_id", "license_state", "activate"])
    def test_an_unknown_activation_id_raises_not_found(
        self, endpoint: ComputerEndpoint, method: str
    ) -> None:
        """Asking about an activation ID the computer does not have raises NotFound."""
        with pytest.raises(NotFound):
            getattr(endpoint, method)(_UNKNOWN_ACTIVATION_ID)

    def test_depositing_for_an_unknown_activation_id_raises_not_found(
        self, endpoint: ComputerEndpoint
    ) -> None:
        """deposit_confirmation_id for an activation ID the computer lacks raises NotFound."""
        with pytest.raises(NotFound):
            endpoint.deposit_confirmation_id(
                _UNKNOWN_ACTIVATION_ID, make_installation_id(1), make_confirmation_id(1)
            )

    def test_license_state_is_a_license_state(self, endpoint: ComputerEndpoint) -> None:
        """license_state returns a LicenseState for every product listed."""
        for info in endpoint.products():
            assert isinstance(endpoint.license_state(info.activation_id), LicenseState)

    def test_set_kms_endpoint_takes_an_endpoint_and_none(self, endpoint: ComputerEndpoint) -> None:
        """set_kms_endpoint accepts a KMS endpoint, and None to go back to DNS discovery."""
        endpoint.set_kms_endpoint(KmsEndpoint.parse("kms.corp.example.com"))
        endpoint.set_kms_endpoint(None)

    def test_set_kms_endpoint_none_works_first(self, endpoint: ComputerEndpoint) -> None:
        """set_kms_endpoint(None) works on a computer never pointed at a host."""
        endpoint.set_kms_endpoint(None)
