"""An inventory held in memory: thread-safe, fast, and gone when the process ends.

:class:`InMemoryInventory` implements :class:`~mak.ports.Inventory` with dictionaries
behind one lock. It is the store for tests, notebooks and short-lived scripts, and it
passes the same contract suite (:class:`mak.testing.InventoryContract`) as the SQLite
inventory.

>>> from mak.model import Computer
>>> inventory = InMemoryInventory()
>>> stored = inventory.add_computer(Computer(id="c-1", name="LAB-PC-01", workgroup="LAB"))
>>> stored.version
1
>>> inventory.computers(name="lab-pc-01") == [stored]
True
>>> inventory.update_computer(stored).version
2
>>> inventory.update_computer(stored)
Traceback (most recent call last):
mak.errors.ConcurrencyConflict: Stale computer 'c-1': written from version 1, stored version is 2
"""

from __future__ import annotations

import contextlib
import operator
import threading
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from mak._validate import replace, trusted
from mak.adapters._versions import next_product_version
from mak.errors import ConcurrencyConflict, NotFound, StorageError
from mak.model import ActionRecord, CilEntry, Computer, KeyRecord, Product

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Mapping, Sequence

    from mak.catalog import ProductFamily
    from mak.ids import InstallationId
    from mak.keys import ProductKey
    from mak.lifecycle import LicenseStatus

__all__ = ["InMemoryInventory"]

_K = TypeVar("_K")
_V = TypeVar("_V")
_Versioned = TypeVar("_Versioned", Computer, Product, KeyRecord)

_ABSENT: Final = object()
"""What a table held under a key it did not have: the key is removed again on rollback."""


class InMemoryInventory:
    """Return an empty inventory kept in this process's memory.

    Every method takes one re-entrant lock, so the inventory is safe to share between
    threads; a :meth:`transaction` holds the lock from start to end, so other threads'
    reads and writes wait for it and never see it half done. Records are frozen
    snapshots, so nothing a caller holds can change what is stored, and lists returned
    are the caller's own.

    The rules are those of :class:`~mak.ports.Inventory` and of the contract suite
    :class:`mak.testing.InventoryContract`; in short: ``add_*`` stores at version 1 and
    is idempotent for the same data, ``update_*`` needs the stored version, and a
    refused write writes nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._computers: dict[str, Computer] = {}
        # Casefolded name -> ids: discovery looks computers up by name, once each. Tuples,
        # not sets: a tuple of strings is one object fewer for the garbage collector to
        # walk per computer, and names are nearly all unique.
        self._computer_names: dict[str, tuple[str, ...]] = {}
        self._products: dict[str, Product] = {}
        # (computer id, activation id) -> product id: one product per SKU per computer.
        self._product_slots: dict[tuple[str, str], str] = {}
        self._keys: dict[ProductKey, KeyRecord] = {}  # by the full key; dicts keep order
        self._confirmations: dict[InstallationId, CilEntry] = {}
        # Each action's fields, as a tuple: a tuple of strings, times and None is one the
        # garbage collector stops tracking, and a fleet's history would otherwise be
        # walked on every full collection (three records per product proxy-activated).
        self._history: list[_Row] = []
        # Inside a transaction: how deep, and what each table held under each key before
        # the transaction first wrote it (id(table) -> (table, key -> value or _ABSENT)),
        # and how long the history was. One dict entry per key written, not one undo
        # closure per write: a chunk of 500 products left thousands of short-lived objects
        # for the garbage collector to walk, a fifth of a proxy batch's time.
        self._depth = 0
        self._before: dict[int, tuple[dict[Any, Any], dict[Any, object]]] = {}
        self._history_mark: int | None = None
        self._failed = False  # an inner block failed: the outer one can no longer write

    # --- computers -------------------------------------------------------------------------

    def add_computer(self, computer: Computer, /) -> Computer:
        """Return *computer* as stored at version 1, or as already stored with the same data.

        A different computer under a used id raises :class:`~mak.errors.ConcurrencyConflict`.
        """
        with self._lock:
            self._check_writable()
            stored = self._computers.get(computer.id)
            if stored is not None:
                return _same_or_conflict("computer", computer.id, computer, stored)
            new = replace(computer, version=1)
            self._put_computer(new)
            return new

    def update_computer(self, computer: Computer, /) -> Computer:
        """Return *computer* as written over the stored one, at the next version.

        Raises :class:`~mak.errors.NotFound` for an unknown id and
        :class:`~mak.errors.ConcurrencyConflict` when *computer* is not of the stored version.
        """
        with self._lock:
            self._check_writable()
            stored = self._current("computer", self._computers, computer.id, computer)
            new = replace(computer, version=stored.version + 1)
            self._put_computer(new)
            return new

    def computer(self, computer_id: str, /) -> Computer:
        """Return the computer with that id, or raise :class:`~mak.errors.NotFound`."""
        with self._lock:
            return _get("computer", self._computers, computer_id)

    def computers_by_id(self, computer_ids: Sequence[str], /) -> list[Computer]:
        """Return the stored computers among *computer_ids*, in the order given, once each."""
        with self._lock:
            return _present(self._computers, computer_ids)

    def computers(self, *, name: str | None = None) -> list[Computer]:
        """Return the computers, or those named *name* (compared casefolded), by id."""
        with self._lock:
            if name is None:
                found = list(self._computers.values())
            else:
                ids = self._computer_names.get(name.casefold(), ())
                found = [self._computers[computer_id] for computer_id in ids]
        return sorted(found, key=lambda c: c.id)

    # --- products --------------------------------------------------------------------------

    def add_product(self, product: Product, /) -> Product:
        """Return *product* as stored at version 1, or as already stored with the same data.

        Raises :class:`~mak.errors.NotFound` when its computer is not stored, and
        :class:`~mak.errors.ConcurrencyConflict` for a different product under a used id
        or a second product with the same activation ID on one computer.
        """
        with self._lock:
            self._check_writable()
            stored = self._products.get(product.id)
            if stored is not None:
                return _same_or_conflict("product", product.id, product, stored)
            self._check_place(product, actual=None)
            new = replace(product, version=1)
            self._put(self._products, product.id, new)
            self._put(self._product_slots, _slot(new), new.id)
            return new

    def update_product(self, product: Product, /) -> Product:
        """Return *product* as written over the stored one, at the next version.

        Raises :class:`~mak.errors.NotFound` for an unknown id or computer, and
        :class:`~mak.errors.ConcurrencyConflict` when *product* is not of the stored version
        or takes an activation ID another product of its computer has.
        """
        with self._lock:
            self._check_writable()
            stored = self._current("product", self._products, product.id, product)
            moved = (
                product.computer_id != stored.computer_id
                or product.activation_id != stored.activation_id
            )
            if moved:  # else its place was checked when *stored* took it, and nothing is deleted
                self._check_place(product, actual=stored.version)
            new = next_product_version(product, version=stored.version + 1)
            if moved:
                self._pop(self._product_slots, _slot(stored))
                self._put(self._product_slots, _slot(new), new.id)
            self._put(self._products, product.id, new)
            return new

    def product(self, product_id: str, /) -> Product:
        """Return the product with that id, or raise :class:`~mak.errors.NotFound`."""
        with self._lock:
            return _get("product", self._products, product_id)

    def products_by_id(self, product_ids: Sequence[str], /) -> list[Product]:
        """Return the stored products among *product_ids*, in the order given, once each."""
        with self._lock:
            return _present(self._products, product_ids)

    def products(
        self,
        *,
        family: ProductFamily | None = None,
        status: LicenseStatus | None = None,
        computer_id: str | None = None,
    ) -> list[Product]:
        """Return the products matching every filter given, by id."""
        with self._lock:
            found = list(self._products.values())
        if family is not None:
            found = [p for p in found if p.family is family]
        if status is not None:
            found = [p for p in found if p.license_state.status is status]
        if computer_id is not None:
            found = [p for p in found if p.computer_id == computer_id]
        return sorted(found, key=lambda p: p.id)

    # --- keys ------------------------------------------------------------------------------

    def add_key(self, record: KeyRecord, /) -> KeyRecord:
        """Return *record* as stored at version 1, or as already stored with the same data.

        A different record of a stored key raises :class:`~mak.errors.ConcurrencyConflict`
        naming the key masked.
        """
        with self._lock:
            self._check_writable()
            stored = self._keys.get(record.key)
            if stored is not None:
                return _same_or_conflict("key", record.id, record, stored)
            new = replace(record, version=1)
            self._put(self._keys, record.key, new)
            return new

    def update_key(self, record: KeyRecord, /) -> KeyRecord:
        """Return *record* as written over the stored one of its key, at the next version.

        Raises :class:`~mak.errors.NotFound` for an unknown key and
        :class:`~mak.errors.ConcurrencyConflict` when *record* is not of the stored version.
        """
        with self._lock:
            self._check_writable()
            stored = self._keys.get(record.key)
            if stored is None:
                raise NotFound("key", record.id)
            _check_version("key", record.id, record, stored)
            new = replace(record, version=stored.version + 1)
            self._put(self._keys, record.key, new)
            return new

    def key(self, key: ProductKey, /) -> KeyRecord:
        """Return the record of *key*, or raise :class:`~mak.errors.NotFound` naming it masked."""
        with self._lock:
            record = self._keys.get(key)
        if record is None:
            raise NotFound("key", str(key))
        return record

    def keys(self) -> list[KeyRecord]:
        """Return every key record, in the order they were added."""
        with self._lock:
            return list(self._keys.values())

    # --- the CIL ---------------------------------------------------------------------------

    def add_confirmation(self, entry: CilEntry, /) -> CilEntry:
        """Return *entry*, kept; the same entry again is a no-op.

        A different entry for a kept installation ID raises
        :class:`~mak.errors.ConcurrencyConflict` (``expected=0, actual=1``).
        """
        with self._lock:
            self._check_writable()
            stored = self._confirmations.get(entry.installation_id)
            if stored is not None:
                if stored == entry:
                    return stored
                raise ConcurrencyConflict(
                    "confirmation", str(entry.installation_id), expected=0, actual=1
                )
            self._put(self._confirmations, entry.installation_id, entry)
            return entry

    def find_confirmation(self, installation_id: InstallationId, /) -> CilEntry | None:
        """Return the confirmation kept for *installation_id*, or ``None``."""
        with self._lock:
            return self._confirmations.get(installation_id)

    def find_confirmations(self, installation_ids: Sequence[InstallationId], /) -> list[CilEntry]:
        """Return the kept confirmations among *installation_ids*, in the order given, once each."""
        with self._lock:
            return _present(self._confirmations, installation_ids)

    def confirmations(self, *, computer_id: str | None = None) -> list[CilEntry]:
        """Return the kept confirmations, or a computer's, in the order they were added."""
        with self._lock:
            found = list(self._confirmations.values())
        if computer_id is not None:
            found = [e for e in found if e.computer_id == computer_id]
        return found

    # --- history ---------------------------------------------------------------------------

    def record(self, action: ActionRecord, /) -> ActionRecord:
        """Return *action*, appended to the history."""
        with self._lock:
            self._check_writable()
            if self._depth and self._history_mark is None:
                self._history_mark = len(self._history)
            self._history.append(_row(action))
            return action

    def history(
        self, *, computer_id: str | None = None, product_id: str | None = None
    ) -> list[ActionRecord]:
        """Return the actions matching the filters given, oldest first."""
        with self._lock:
            rows = list(self._history)
        if computer_id is not None:
            rows = [row for row in rows if row[_COMPUTER_ID] == computer_id]
        if product_id is not None:
            rows = [row for row in rows if row[_PRODUCT_ID] == product_id]
        return [_action(row) for row in rows]

    # --- transactions ----------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Generator[None, None, None]:
        """Return a context in which every write is kept together or not at all.

        The lock is held from start to end: other threads wait, and see the writes only
        once they are kept. An exception leaving the block undoes its writes and
        propagates. A nested transaction joins the outer one: an exception leaving the
        inner block undoes everything the *outer* one wrote, at once, even if the outer
        block catches it; after that the outer block's writes, and its normal end, raise
        :class:`~mak.errors.StorageError`.
        """
        with self._lock:
            self._check_writable()
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                self._roll_back()
                self._failed = self._depth > 0
                raise
            self._depth -= 1
            if self._depth == 0:
                self._forget_before()
                if self._failed:
                    self._failed = False
                    raise StorageError(
                        "Transaction rolled back: an exception left a nested transaction"
                    )

    # --- internals -------------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._failed:
            raise StorageError(
                "Transaction rolled back: an exception left a nested transaction; "
                "no write is possible until the outer transaction ends"
            )

    def _current(
        self, kind: str, table: dict[str, _Versioned], record_id: str, record: _Versioned
    ) -> _Versioned:
        """Return the stored record that *record* may be written over, or raise."""
        stored = table.get(record_id)
        if stored is None:
            raise NotFound(kind, record_id)
        _check_version(kind, record_id, record, stored)
        return stored

    def _check_place(self, product: Product, *, actual: int | None) -> None:
        """Raise unless *product*'s computer is stored and its activation ID free there."""
        if product.computer_id not in self._computers:
            raise NotFound("computer", product.computer_id)
        holder = self._product_slots.get(_slot(product))
        if holder is not None and holder != product.id:
            raise ConcurrencyConflict(
                "product",
                product.id,
                expected=product.version,
                actual=self._products[holder].version if actual is None else actual,
            )

    def _put_computer(self, new: Computer) -> None:
        """Store *new* and keep the name index right, undoably inside a transaction."""
        old = self._computers.get(new.id)
        self._put(self._computers, new.id, new)
        self._reindex(old, new)

    def _reindex(self, old: Computer | None, new: Computer | None) -> None:
        names = self._computer_names
        if old is not None:
            name = old.name.casefold()
            ids = tuple(i for i in names[name] if i != old.id)
            if ids:
                names[name] = ids
            else:
                del names[name]
        if new is not None:
            name = new.name.casefold()
            names[name] = (*names.get(name, ()), new.id)

    def _put(self, table: dict[_K, _V], key: _K, value: _V) -> None:
        """Set ``table[key]``, remembering how to undo it inside a transaction."""
        if self._depth:
            self._remember(table, key)
        table[key] = value

    def _pop(self, table: dict[_K, _V], key: _K) -> None:
        """Remove ``table[key]``, remembering how to undo it inside a transaction."""
        if self._depth:
            self._remember(table, key)
        del table[key]

    def _remember(self, table: dict[Any, Any], key: object) -> None:
        """Keep what *table* holds under *key*, unless the transaction already wrote it."""
        entry = self._before.get(id(table))
        if entry is None:
            entry = self._before[id(table)] = (table, {})
        before = entry[1]
        if key not in before:
            before[key] = table.get(key, _ABSENT)

    def _roll_back(self) -> None:
        """Undo every write of the transaction: each key written gets back what it held."""
        for table, before in self._before.values():
            for key, old in before.items():
                if table is self._computers:
                    kept = old if isinstance(old, Computer) else None
                    self._reindex(self._computers.get(key), kept)
                if old is _ABSENT:
                    table.pop(key, None)
                else:
                    table[key] = old
        if self._history_mark is not None:
            del self._history[self._history_mark :]
        self._forget_before()

    def _forget_before(self) -> None:
        self._before.clear()
        self._history_mark = None


_ACTION_FIELDS: Final = tuple(field.name for field in attrs.fields(ActionRecord))
_COMPUTER_ID: Final = _ACTION_FIELDS.index("computer_id")
_PRODUCT_ID: Final = _ACTION_FIELDS.index("product_id")
_Row = tuple[Any, ...]  # an action's fields, in ActionRecord's order


_row: Final[Callable[[ActionRecord], _Row]] = operator.attrgetter(*_ACTION_FIELDS)
"""The fields of an action, to keep; the history holds no record objects."""


_TRUSTED_ACTION: Final = trusted(ActionRecord)


def _action(row: _Row) -> ActionRecord:
    """The action *row* kept, built again without checking the fields it was checked with."""
    return _TRUSTED_ACTION(**dict(zip(_ACTION_FIELDS, row, strict=True)))


def _slot(product: Product) -> tuple[str, str]:
    return product.computer_id, product.activation_id


def _get(kind: str, table: dict[str, _V], record_id: str) -> _V:
    record = table.get(record_id)
    if record is None:
        raise NotFound(kind, record_id)
    return record


def _check_version(kind: str, record_id: str, record: _Versioned, stored: _Versioned) -> None:
    if record.version != stored.version:
        raise ConcurrencyConflict(kind, record_id, expected=record.version, actual=stored.version)


def _same_or_conflict(
    kind: str, record_id: str, record: _Versioned, stored: _Versioned
) -> _Versioned:
    """Return *stored* when *record* holds the same data, else raise a conflict."""
    if attrs.evolve(record, version=stored.version) == stored:
        return stored
    raise ConcurrencyConflict(kind, record_id, expected=record.version, actual=stored.version)


def _present(table: Mapping[_K, _V], keys: Iterable[_K]) -> list[_V]:
    """The values *table* holds for *keys*, in their order, each key once."""
    return [value for value in map(table.get, dict.fromkeys(keys)) if value is not None]
