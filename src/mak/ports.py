"""The ports: what mak needs from the world, as protocols callers implement.

mak never talks to Microsoft, to a computer or to a database itself. It asks these
ports, and callers implement them without importing or inheriting anything from mak
(structural typing: a class with the right methods is an adapter). mak ships real
adapters for the inventory (:mod:`mak.adapters`) and simulated ones for everything else
(``mak.simulation``), and :mod:`mak.testing` holds the contract suites that prove an
adapter behaves as mak expects.

Each method's docstring says which :mod:`mak.errors` it may raise. Adapters raise those
types, and nothing else, for the failures they describe: a transport failure is a
:class:`~mak.errors.TransportError`, a missing record a :class:`~mak.errors.NotFound`.

The value objects exchanged with the clearinghouse live here too:

>>> from mak.ids import InstallationId
>>> iid = InstallationId.parse("1234565" * 9)
>>> CidRequest(installation_id=iid, extended_pid="03612-03311-000-000001-03-1033-26100.0000-0012026")
CidRequest(installation_id=InstallationId(digits='1234565...'), extended_pid='03612-03311-000-000001-03-1033-26100.0000-0012026')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import attrs

from mak import _validate
from mak.catalog import ProductFamily
from mak.codes import ActivationCode
from mak.errors import InvalidComponent, InvalidFormat
from mak.ids import ConfirmationId, InstallationId
from mak.lifecycle import LicenseState, LicenseStatus

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Sequence
    from contextlib import AbstractContextManager

    from mak.keys import ProductKey
    from mak.kms import KmsEndpoint
    from mak.model import (
        ActionRecord,
        CilEntry,
        Computer,
        KeyRecord,
        Product,
        Query,
    )

__all__ = [
    "ActivationService",
    "BulkReads",
    "CidRequest",
    "CidResult",
    "Clock",
    "ComputerEndpoint",
    "Discovery",
    "EndpointConnector",
    "Inventory",
    "ProductInfo",
]


def _extended_pid(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidFormat.wrong_type("extended PID", value)
    if not value.strip() or len(value) > 128 or not (value.isascii() and value.isprintable()):
        raise InvalidFormat("extended PID", value, "expected up to 128 printable ASCII characters")


# --- the clearinghouse -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CidRequest:
    """One product's request for a confirmation ID: its installation ID and extended PID.

    The extended PID (``SoftwareLicensingProduct.ProductKeyID``) is what tells the
    clearinghouse which key the product holds; the key itself never travels.
    """

    installation_id: InstallationId = attrs.field(validator=_validate.instance(InstallationId))
    extended_pid: str = attrs.field(validator=_extended_pid)


def _one_of_cid_or_code(instance: CidResult, _: attrs.Attribute[Any], __: object) -> None:
    if (instance.confirmation_id is None) == (instance.code is None):
        iid = str(instance.installation_id)
        raise InvalidComponent("CID result", iid, "carries a confirmation ID or a code, not both")


@attrs.frozen(kw_only=True)
class CidResult:
    """The clearinghouse's answer for one installation ID: a confirmation ID, or a refusal.

    Exactly one of ``confirmation_id`` and ``code`` is set; ``code`` says why the request
    was refused (e.g. 0xC004C020 when the MAK has no activations left).
    """

    installation_id: InstallationId = attrs.field(validator=_validate.instance(InstallationId))
    confirmation_id: ConfirmationId | None = attrs.field(
        default=None, validator=_validate.instance(ConfirmationId, optional=True)
    )
    code: ActivationCode | None = attrs.field(default=None, validator=_one_of_cid_or_code)

    @property
    def ok(self) -> bool:
        """Whether a confirmation ID came back."""
        return self.confirmation_id is not None


class ActivationService(Protocol):
    """Microsoft's clearinghouse, as a MAK proxy uses it (VAMT's activation service).

    A real adapter talks to the batch activation web service; mak ships only
    ``mak.simulation.SimulatedClearinghouse``.
    """

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        """Return one result per request, in order, from one connection for the whole batch.

        A request the service refuses comes back as a result carrying its code; the
        batch as a whole goes on. The same installation ID asked again gets the same
        confirmation ID without spending another activation.

        Raises :class:`~mak.errors.TransportError` when the connection fails: no result
        is returned then, though the service may have charged some requests already.
        """
        ...

    def remaining_activations(self, key: ProductKey, /) -> int:
        """Return how many activations the MAK *key* has left.

        Raises :class:`~mak.errors.ServiceRejected` when the service refuses to answer
        for this key (blocked, not a MAK) and :class:`~mak.errors.TransportError` when
        the connection fails.
        """
        ...


# --- the managed computers ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ProductInfo:
    """What a computer reports about one licensable product (a row of ``slmgr /dlv all``).

    ``family`` is ``None`` when the endpoint cannot tell (a product of another publisher's
    application ID); such products are not managed by mak.
    """

    activation_id: str = attrs.field(validator=_validate.activation_id)
    name: str = attrs.field(validator=_validate.text("product"))
    family: ProductFamily | None = attrs.field(
        validator=_validate.instance(ProductFamily, optional=True)
    )
    license_state: LicenseState = attrs.field(validator=_validate.instance(LicenseState))
    extended_pid: str | None = None

    @property
    def status(self) -> LicenseStatus:
        """The license status."""
        return self.license_state.status


class ComputerEndpoint(Protocol):
    """One managed computer, as a connection to it (a real adapter would use WMI).

    Every method may raise :class:`~mak.errors.TransportError` when the computer cannot
    be reached, and :class:`~mak.errors.ServiceRejected` carrying the HRESULT when the
    computer's licensing service refuses (e.g. 0xC004F050 for a key it does not accept,
    0xC004F031 for a CID that does not match the installation ID). An unknown
    *activation_id* raises :class:`~mak.errors.NotFound`.
    """

    def products(self) -> list[ProductInfo]:
        """Return the licensable products installed on the computer."""
        ...

    def install_product_key(self, key: ProductKey, /) -> str:
        """Install *key* (``slmgr /ipk``) and return the activation ID of the product it fits."""
        ...

    def installation_id(self, activation_id: str, /) -> InstallationId:
        """Return the product's current installation ID (``slmgr /dti``)."""
        ...

    def deposit_confirmation_id(
        self,
        activation_id: str,
        installation_id: InstallationId,
        confirmation_id: ConfirmationId,
        /,
    ) -> None:
        """Deposit a confirmation ID for the installation ID it was issued for (``slmgr /atp``)."""
        ...

    def activate(self, activation_id: str, /) -> None:
        """Activate online: a MAK or retail key with Microsoft, a GVLK with its KMS host."""
        ...

    def license_state(self, activation_id: str, /) -> LicenseState:
        """Return the product's licensing state now."""
        ...

    def set_kms_endpoint(self, endpoint: KmsEndpoint | None, /) -> None:
        """Point KMS clients at *endpoint* (``slmgr /skms``), or back to DNS discovery (``None``)."""
        ...


class EndpointConnector(Protocol):
    """Opens connections to managed computers; credentials are the adapter's business."""

    def connect(self, computer: Computer, /) -> ComputerEndpoint:
        """Return a connection to *computer*.

        Raises :class:`~mak.errors.TransportError` when it cannot be reached.
        """
        ...


class Discovery(Protocol):
    """Finds computers on the network or in a directory (VAMT's discovery queries)."""

    def find(self, query: Query, /) -> Iterable[Computer]:
        """Yield the computers *query* matches, each with a stable ``id``.

        Raises :class:`~mak.errors.TransportError` when the network or directory fails.
        """
        ...


class Clock(Protocol):
    """Where use cases get the time; tests pass a settable one."""

    def now(self) -> dt.datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


# --- the store ---------------------------------------------------------------------------


class Inventory(Protocol):
    """The store of computers, products, keys, confirmation IDs and history.

    Records are frozen snapshots with a ``version``. ``add_*`` stores a record at version
    1 and returns it; ``update_*`` takes a record read from the store, writes it at the
    next version and returns that, or raises :class:`~mak.errors.ConcurrencyConflict`
    and writes nothing when the stored version has moved on. Reading an unknown id raises
    :class:`~mak.errors.NotFound`. Any other failure of the store is a
    :class:`~mak.errors.StorageError`. Every public write is atomic;
    :meth:`transaction` makes several of them one.
    """

    # Computers
    def add_computer(self, computer: Computer, /) -> Computer:
        """Store a new computer; adding one already stored with the same data returns it.

        A different computer under an id already used raises
        :class:`~mak.errors.ConcurrencyConflict`.
        """
        ...

    def update_computer(self, computer: Computer, /) -> Computer:
        """Write *computer* over the stored one, at the next version."""
        ...

    def computer(self, computer_id: str, /) -> Computer:
        """Return the computer with that id."""
        ...

    def computers(self, *, name: str | None = None) -> list[Computer]:
        """Return the computers, or those with *name* (compared ignoring case), by id."""
        ...

    # Products
    def add_product(self, product: Product, /) -> Product:
        """Store a new product of a stored computer; adding it again with the same data returns it.

        A product of an unknown computer raises :class:`~mak.errors.NotFound`; a
        different product under an id already used, or a second product with the same
        activation ID on one computer, raises :class:`~mak.errors.ConcurrencyConflict`.
        """
        ...

    def update_product(self, product: Product, /) -> Product:
        """Write *product* over the stored one, at the next version."""
        ...

    def product(self, product_id: str, /) -> Product:
        """Return the product with that id."""
        ...

    def products(
        self,
        *,
        family: ProductFamily | None = None,
        status: LicenseStatus | None = None,
        computer_id: str | None = None,
    ) -> list[Product]:
        """Return the products matching every filter given, by id."""
        ...

    # Keys
    def add_key(self, record: KeyRecord, /) -> KeyRecord:
        """Store a product key; adding one already stored with the same data returns it."""
        ...

    def update_key(self, record: KeyRecord, /) -> KeyRecord:
        """Write *record* over the stored one for the same key, at the next version."""
        ...

    def key(self, key: ProductKey, /) -> KeyRecord:
        """Return the record of *key*."""
        ...

    def keys(self) -> list[KeyRecord]:
        """Return every key record, in the order they were added."""
        ...

    # The CIL
    def add_confirmation(self, entry: CilEntry, /) -> CilEntry:
        """Keep a confirmation ID; the same entry again is a no-op.

        An installation ID is unique: a different confirmation for an installation ID
        already kept raises :class:`~mak.errors.ConcurrencyConflict` and writes nothing.
        """
        ...

    def find_confirmation(self, installation_id: InstallationId, /) -> CilEntry | None:
        """Return the confirmation kept for *installation_id*, or ``None``."""
        ...

    def confirmations(self, *, computer_id: str | None = None) -> list[CilEntry]:
        """Return the kept confirmations, or a computer's, in the order they were added."""
        ...

    # History
    def record(self, action: ActionRecord, /) -> ActionRecord:
        """Append *action* to the history and return it."""
        ...

    def history(
        self, *, computer_id: str | None = None, product_id: str | None = None
    ) -> list[ActionRecord]:
        """Return the actions matching the filters given, oldest first."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Return a context in which every write is kept together or not at all.

        An exception leaving it undoes every write made inside it and propagates. Nested
        transactions join the outermost one: an exception leaving an inner block undoes
        the whole outer transaction at once, and any later write in it, and its end,
        raise :class:`~mak.errors.StorageError` (no savepoints).
        """
        ...


class BulkReads(Protocol):
    """What an inventory may add to :class:`Inventory` to be read a chunk at a time.

    It is optional, method by method: the manager looks for each and, where one is
    missing, reads record by record. An inventory behind a network (PostgreSQL) saves
    round trips with them. mak's three inventories have all three.
    """

    def products_by_id(self, product_ids: Sequence[str], /) -> list[Product]:
        """Return the stored products among *product_ids*, in the order given, once each.

        Ids not stored are left out rather than raising :class:`~mak.errors.NotFound`.
        """
        ...

    def computers_by_id(self, computer_ids: Sequence[str], /) -> list[Computer]:
        """Return the stored computers among *computer_ids*, in the order given, once each."""
        ...

    def find_confirmations(self, installation_ids: Sequence[InstallationId], /) -> list[CilEntry]:
        """Return the kept confirmations among *installation_ids*, in the order given, once each."""
        ...
