"""The SQLite inventory: mak's embedded default store, one file per inventory.

:class:`SqliteInventory` implements :class:`mak.ports.Inventory` on the standard library's
``sqlite3``, so it needs nothing installed. Open ``":memory:"`` for a store that lives
as long as the object, or a path for a file that several processes may share.

>>> from mak.model import Computer
>>> with SqliteInventory(":memory:") as inventory:
...     stored = inventory.add_computer(Computer(id="c-1", name="LAB-PC-01", workgroup="LAB"))
...     stored.version, [c.name for c in inventory.computers(name="lab-pc-01")]
(1, ['LAB-PC-01'])

The file holds product keys in full, so a new file is created readable and writable by
its owner only (``0o600``) before SQLite opens it; an existing file keeps the permissions
it has. Files use write-ahead logging and wait up to :data:`BUSY_TIMEOUT` seconds for
another process's write to finish. The schema is the adapter's: it is created on first
use and migrated forward when a newer mak opens an older file. A file that is not a mak
inventory, or whose schema is newer than this mak, is refused with a
:class:`~mak.errors.StorageError` naming it, and left untouched.

Computers, products, keys and history are stored as JSON written by
:func:`mak.serialization.make_converter` (never pickle), beside real columns for what is
looked up, filtered or unique. A confirmation-ID entry is six short strings, so each has
its own column: the confirmation list is the table that grows by the ten thousand, and
this keeps adding and finding an entry close to the cost of the bare SQL. Products are
kept in id order, the order batches go through them, in every file with pages big
enough to hold a product's row (8 KiB, as every new file has), so that the updates of
one chunk land on neighbouring pages.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, Protocol, TypeVar

import attrs

from mak.adapters._cache import LIMIT, RecordCache
from mak.adapters._record_json import action_json, product_json
from mak.adapters._versions import next_product_version

# Imported at run time, though only annotations use some of them, so that Sphinx can
# resolve every method's signature.
from mak.catalog import ProductFamily  # noqa: TC001  # see above
from mak.errors import ConcurrencyConflict, MakError, NotFound, StorageError, redact
from mak.ids import ConfirmationId, InstallationId
from mak.keys import ProductKey  # noqa: TC001  # see above
from mak.lifecycle import LicenseStatus  # noqa: TC001  # see above
from mak.model import ActionRecord, CilEntry, Computer, KeyRecord, Product
from mak.serialization import make_converter

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence
    from types import TracebackType

    from typing_extensions import Self

__all__ = ["APPLICATION_ID", "BUSY_TIMEOUT", "SCHEMA_VERSION", "KeyCodec", "SqliteInventory"]

APPLICATION_ID: Final = 0x4D414B49
"""What ``PRAGMA application_id`` holds in every mak inventory: ``"MAKI"`` in ASCII."""

BUSY_TIMEOUT: Final = 5.0
"""Seconds a write waits for another connection's write to the same file to finish."""

_LOG: Final = logging.getLogger(__name__)

_T = TypeVar("_T")
_Record = TypeVar("_Record", Computer, Product, KeyRecord)
_Cached = TypeVar("_Cached", Computer, Product)

# The schema, as the steps that build it: step n (from 0) takes a file from schema
# version n to n + 1. Steps are only ever appended; a released step never changes.
_MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE computers (
            id TEXT NOT NULL PRIMARY KEY,
            version INTEGER NOT NULL CHECK (version >= 1),
            name_folded TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX computers_by_name ON computers (name_folded)",
        """CREATE TABLE products (
            id TEXT NOT NULL PRIMARY KEY,
            version INTEGER NOT NULL CHECK (version >= 1),
            computer_id TEXT NOT NULL REFERENCES computers (id),
            activation_id TEXT NOT NULL,
            family TEXT NOT NULL,
            status INTEGER NOT NULL,
            data TEXT NOT NULL,
            UNIQUE (computer_id, activation_id)
        )""",
        "CREATE INDEX products_by_family ON products (family)",
        "CREATE INDEX products_by_status ON products (status)",
        """CREATE TABLE product_keys (
            seq INTEGER PRIMARY KEY,
            product_key TEXT NOT NULL UNIQUE,
            version INTEGER NOT NULL CHECK (version >= 1),
            data TEXT NOT NULL
        )""",
        """CREATE TABLE confirmations (
            seq INTEGER PRIMARY KEY,
            installation_id TEXT NOT NULL UNIQUE,
            computer_id TEXT NOT NULL,
            activation_id TEXT NOT NULL,
            confirmation_id TEXT NOT NULL,
            partial_key TEXT NOT NULL,
            acquired_at TEXT NOT NULL
        )""",
        "CREATE INDEX confirmations_by_computer ON confirmations (computer_id)",
        """CREATE TABLE history (
            seq INTEGER PRIMARY KEY,
            computer_id TEXT NOT NULL,
            product_id TEXT,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX history_by_computer ON history (computer_id)",
        "CREATE INDEX history_by_product ON history (product_id)",
    ),
    (
        # How product keys are kept ("clear" or "codec"), fixed when the first is stored.
        """CREATE TABLE settings (
            name TEXT NOT NULL PRIMARY KEY,
            value TEXT NOT NULL
        )""",
    ),
]

SCHEMA_VERSION: Final = len(_MIGRATIONS)
"""The schema version this mak writes (``PRAGMA user_version``); older files are migrated."""

_PAGE_SIZE: Final = 8192
"""Bytes per page of a new file: twice SQLite's default, so that a product's row, about a
kilobyte, fits in its page of the id-ordered table rather than spilling onto another."""

# The products table rebuilt in id order (without rowid: its rows live in the tree of
# their primary key), the same columns, constraints and indexes. A batch goes through
# products by id, so the updates of one chunk land on a few neighbouring pages instead
# of one page each, as in a table in the order products were discovered. Done when a
# file's pages can hold a product's row (see _products_to_order), whatever its schema
# version: the layout changes no column, and a mak of an earlier version reads it.
_PRODUCTS_IN_ID_ORDER: Final = (
    """CREATE TABLE products_by_id (
        id TEXT NOT NULL PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        computer_id TEXT NOT NULL REFERENCES computers (id),
        activation_id TEXT NOT NULL,
        family TEXT NOT NULL,
        status INTEGER NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (computer_id, activation_id)
    ) WITHOUT ROWID""",
    """INSERT INTO products_by_id
        SELECT id, version, computer_id, activation_id, family, status, data
        FROM products ORDER BY id""",
    "DROP TABLE products",
    "ALTER TABLE products_by_id RENAME TO products",
    "CREATE INDEX products_by_family ON products (family)",
    "CREATE INDEX products_by_status ON products (status)",
)

_CIL_COLUMNS: Final = (
    "installation_id, computer_id, activation_id, confirmation_id, partial_key, acquired_at"
)
_ADD_CONFIRMATION: Final = (
    f"INSERT INTO confirmations ({_CIL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"  # noqa: S608  # constant columns
    " ON CONFLICT (installation_id) DO NOTHING"
)
_FIND_CONFIRMATION: Final = f"SELECT {_CIL_COLUMNS} FROM confirmations WHERE installation_id = ?"  # noqa: S608  # constant columns
_PRODUCT_FILTERS: Final = {
    "family": "family = ?",
    "status": "status = ?",
    "computer": "computer_id = ?",
}
# What SQLite may raise, and what sqlite3 raises for a string UTF-8 cannot encode.
_FAILURES: Final = (sqlite3.Error, UnicodeEncodeError)
_ENCODE: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class KeyCodec(Protocol):
    """Encrypts product keys before a :class:`SqliteInventory` writes them, and back.

    ``decode(encode(key)) == key`` must hold. ``encode`` may be randomised (a fresh nonce
    each time): keys are looked up by a digest, never by their encoded form. Raise any
    exception from ``decode`` for text it cannot read; the inventory reports it as a
    :class:`~mak.errors.StorageError` without quoting it.
    """

    def encode(self, key: str, /) -> str:
        """Return the text to store for the product key *key* (25 symbols, dashes)."""
        ...

    def decode(self, stored: str, /) -> str:
        """Return the product key that :meth:`encode` turned into *stored*."""
        ...


class SqliteInventory:
    """Return an inventory kept in the SQLite database at *path* (``":memory:"`` for none).

    The file holds the product keys it is given, so it is created readable and writable
    by its owner only. With a *key_codec*, keys are stored encoded by it (encrypted, if
    the codec encrypts) and looked up by a SHA-256 digest; without one, in clear. The
    choice is fixed when the inventory is created: opening it the other way raises
    :class:`~mak.errors.StorageError`.

    It implements :class:`mak.ports.Inventory`: records come back as frozen snapshots,
    ``update_*`` refuses a record whose version is no longer the stored one, and every
    public write is one transaction. :meth:`transaction` groups several writes; nested
    calls join the outermost one.

    One connection serves every thread, behind a lock: calls from several threads are
    safe and run one at a time, and a transaction holds the lock until it ends, so other
    threads wait for it rather than seeing its writes early. Processes (or objects) on
    the same file each have their own connection; SQLite serialises their writes and the
    version check keeps them from losing each other's updates.

    Records read or written are cached, and trusted as stored until another connection
    commits (``PRAGMA data_version`` says when), so a record read again costs no query.
    Inside a transaction, history rows and product updates that only change the status
    and the data are written together, before anything reads those tables and before
    the commit; a record that cannot be stored fails the call that made it, and a write
    SQLite refuses at that point rolls the whole transaction back.

    Raises :class:`~mak.errors.StorageError` when *path* cannot be opened, is not a mak
    inventory, or holds a schema newer than :data:`SCHEMA_VERSION`.

    >>> from mak.errors import ConcurrencyConflict
    >>> from mak.model import Computer
    >>> inventory = SqliteInventory(":memory:")
    >>> first = inventory.add_computer(Computer(id="c-1", name="PC-01", workgroup="LAB"))
    >>> renamed = inventory.update_computer(attrs.evolve(first, name="PC-01A"))
    >>> renamed.version
    2
    >>> inventory.update_computer(attrs.evolve(first, name="PC-01B"))
    Traceback (most recent call last):
    mak.errors.ConcurrencyConflict: Stale computer 'c-1': written from version 1, stored version is 2
    >>> inventory.close()
    """

    def __init__(self, path: str | os.PathLike[str], *, key_codec: KeyCodec | None = None) -> None:
        self._path = os.fspath(path)
        self._codec = key_codec
        self._lock = threading.RLock()
        self._depth = 0
        self._failed: str | None = None  # why the open transaction was rolled back early
        self._converter = make_converter()
        self._cache = RecordCache(_CACHED_RECORDS)  # see mak.adapters._cache: when it is emptied
        self._data_version: int | None = None  # PRAGMA data_version when the cache was checked
        self._checked_under_lock = False  # under the write lock now held; see _check_cache
        # Written behind in an open transaction, until _flush: history rows, in order, and
        # each product's update (from the version the transaction first wrote it from),
        # with the status its row held then.
        self._history_rows: list[tuple[str, str | None, str]] = []
        self._product_rows: dict[str, tuple[_UpdateRow, int]] = {}
        self._connection: sqlite3.Connection | None = _open(self._path)
        try:
            _check_key_storage(self._connection, self._path, "codec" if key_codec else "clear")
        except BaseException:
            self.close()
            raise

    @property
    def path(self) -> str:
        """The path the inventory was opened with (``":memory:"`` for a memory one)."""
        return self._path

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._path!r})"

    # --- lifetime ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the database; a transaction still open is rolled back. Closing twice is fine.

        >>> inventory = SqliteInventory(":memory:")
        >>> inventory.close()
        >>> inventory.computers()
        Traceback (most recent call last):
        mak.errors.StorageError: The SQLite inventory ':memory:' is closed
        """
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
                self._forget()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- transactions -----------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Generator[None, None, None]:
        """Return a context whose writes are committed together when it ends, or none are.

        An exception leaving it rolls its writes back and propagates. Reads inside see
        the writes made inside. A nested ``transaction()`` joins the outer one: nothing
        is committed before the outermost one ends, and an exception leaving an inner
        block rolls back *everything*, at once, even if the outer block catches it; the
        outer block's further writes, and its normal end, then raise
        :class:`~mak.errors.StorageError`, so nobody believes those writes were kept.
        The context holds the inventory's lock: other threads' calls wait until it ends.

        >>> from mak.model import Computer
        >>> inventory = SqliteInventory(":memory:")
        >>> try:
        ...     with inventory.transaction():
        ...         _ = inventory.add_computer(Computer(id="c-1", name="PC-01"))
        ...         raise RuntimeError("the batch failed")
        ... except RuntimeError:
        ...     pass
        >>> inventory.computers()
        []
        """
        with self._lock:
            connection = self._writable()
            outermost = self._depth == 0
            if outermost:
                self._run(connection, "BEGIN IMMEDIATE")
                self._checked_under_lock = False
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                self._forget()
                if _in_transaction(connection):
                    self._run(connection, "ROLLBACK")
                self._failed = _ROLLED_BACK if self._depth else None
                raise
            self._depth -= 1
            if outermost:
                if self._failed is not None:
                    failed, self._failed = self._failed, None
                    raise StorageError(failed)
                self._flush(connection)
                self._commit(connection)

    # --- computers --------------------------------------------------------------------

    def add_computer(self, computer: Computer, /) -> Computer:
        """Return *computer* as stored at version 1, or the stored one if it is the same.

        A different computer under a used id raises :class:`~mak.errors.ConcurrencyConflict`.
        """

        def add(connection: sqlite3.Connection) -> Computer:
            stored = self._record(connection, Computer, computer.id)
            if stored is not None:
                return _same_or_conflict("computer", computer.id, computer, stored)
            new = attrs.evolve(computer, version=1)
            connection.execute(
                "INSERT INTO computers (id, version, name_folded, data) VALUES (?, 1, ?, ?)",
                (new.id, new.name.casefold(), self._dump(new)),
            )
            return self._cache.keep(new)

        return self._write(add)

    def update_computer(self, computer: Computer, /) -> Computer:
        """Return *computer* as written at the next version.

        Raises :class:`~mak.errors.NotFound` for an unknown id and
        :class:`~mak.errors.ConcurrencyConflict` when the stored version has moved on.
        """

        def update(connection: sqlite3.Connection) -> Computer:
            new = attrs.evolve(computer, version=computer.version + 1)
            cursor = connection.execute(
                "UPDATE computers SET version = ?, name_folded = ?, data = ?"
                " WHERE id = ? AND version = ?",
                (new.version, new.name.casefold(), self._dump(new), new.id, computer.version),
            )
            if cursor.rowcount != 1:
                _raise_stale(connection, "computer", computer.id, computer.version)
            return self._cache.keep(new)

        return self._write(update)

    def computer(self, computer_id: str, /) -> Computer:
        """Return the computer with that id, or raise :class:`~mak.errors.NotFound`."""
        found = self._read(lambda c: self._record(c, Computer, computer_id))
        if found is None:
            raise NotFound("computer", computer_id)
        return found

    def computers_by_id(self, computer_ids: Sequence[str], /) -> list[Computer]:
        """Return the stored computers among *computer_ids*, in the order given, once each.

        Cached ones cost no query; SQLite runs in this process, so the rest are read
        one by one.
        """
        return self._records_by_id(Computer, computer_ids)

    def computers(self, *, name: str | None = None) -> list[Computer]:
        """Return every computer, or those named *name* ignoring case, sorted by id."""
        sql = "SELECT id, version, data FROM computers ORDER BY id"
        parameters: tuple[str, ...] = ()
        if name is not None:
            sql = "SELECT id, version, data FROM computers WHERE name_folded = ? ORDER BY id"
            parameters = (name.casefold(),)
        return self._read(lambda c: self._all(c, Computer, sql, parameters))

    # --- products ---------------------------------------------------------------------

    def add_product(self, product: Product, /) -> Product:
        """Return *product* as stored at version 1, or the stored one if it is the same.

        Raises :class:`~mak.errors.NotFound` when its computer is not stored, and
        :class:`~mak.errors.ConcurrencyConflict` for a different product under a used
        id or a second product with the same activation ID on one computer.
        """

        def add(connection: sqlite3.Connection) -> Product:
            self._flush(connection)
            stored = self._record(connection, Product, product.id)
            if stored is not None:
                return _same_or_conflict("product", product.id, product, stored)
            _require_computer(connection, product.computer_id)
            _require_activation_free(connection, product)
            new = attrs.evolve(product, version=1)
            connection.execute(
                "INSERT INTO products"
                " (id, version, computer_id, activation_id, family, status, data)"
                " VALUES (?, 1, ?, ?, ?, ?, ?)",
                (new.id, *_product_columns(new), self._dump(new)),
            )
            return self._cache.keep(new)

        return self._write(add)

    def update_product(self, product: Product, /) -> Product:
        """Return *product* as written at the next version.

        Raises :class:`~mak.errors.NotFound` for an unknown id or computer, and
        :class:`~mak.errors.ConcurrencyConflict` when the stored version has moved on or
        another product of the computer has the same activation ID.
        """

        def update(connection: sqlite3.Connection) -> Product:
            new = next_product_version(product, version=product.version + 1)
            known = self._known(connection, Product, product.id)
            if known is not None and known.version != product.version:
                raise ConcurrencyConflict(
                    "product", product.id, expected=product.version, actual=known.version
                )
            if known is not None and _place(known) == _place(new):
                # The row is *known*: only the status and the data change, so no key, index
                # or reference needs checking again.
                self._update_status(connection, new, product.version, known.status)
                return self._cache.keep(new)
            self._flush(connection)
            try:
                cursor = connection.execute(
                    "UPDATE products SET version = ?, computer_id = ?, activation_id = ?,"
                    " family = ?, status = ?, data = ? WHERE id = ? AND version = ?",
                    (
                        new.version,
                        *_product_columns(new),
                        self._dump(new),
                        new.id,
                        product.version,
                    ),
                )
            except sqlite3.IntegrityError:
                # A moved computer id or activation id broke a constraint: say which.
                _require_computer(connection, product.computer_id)
                _require_activation_free(connection, product)
                raise
            if cursor.rowcount != 1:
                _raise_stale(connection, "product", product.id, product.version)
            return self._cache.keep(new)

        return self._write(update)

    def product(self, product_id: str, /) -> Product:
        """Return the product with that id, or raise :class:`~mak.errors.NotFound`."""
        found = self._read(lambda c: self._record(c, Product, product_id))
        if found is None:
            raise NotFound("product", product_id)
        return found

    def products_by_id(self, product_ids: Sequence[str], /) -> list[Product]:
        """Return the stored products among *product_ids*, in the order given, once each.

        Cached ones cost no query; SQLite runs in this process, so the rest are read
        one by one.
        """
        return self._records_by_id(Product, product_ids)

    def products(
        self,
        *,
        family: ProductFamily | None = None,
        status: LicenseStatus | None = None,
        computer_id: str | None = None,
    ) -> list[Product]:
        """Return the products matching every filter given, sorted by id.

        ``status`` compares with ``product.license_state.status``.
        """
        given: dict[str, object] = {
            "family": None if family is None else family.value,
            "status": None if status is None else int(status),
            "computer": computer_id,
        }
        clauses = [_PRODUCT_FILTERS[name] for name, value in given.items() if value is not None]
        parameters = [value for value in given.values() if value is not None]
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT id, version, data FROM products{where} ORDER BY id"  # noqa: S608  # fixed clauses, bound values

        def select(connection: sqlite3.Connection) -> list[Product]:
            self._flush(connection)
            return self._all(connection, Product, sql, parameters)

        return self._read(select)

    # --- keys -------------------------------------------------------------------------

    def add_key(self, record: KeyRecord, /) -> KeyRecord:
        """Return *record* as stored at version 1, or the stored one if it is the same.

        A different record for a stored key raises :class:`~mak.errors.ConcurrencyConflict`
        naming the key masked.
        """

        def add(connection: sqlite3.Connection) -> KeyRecord:
            stored = self._key_record(connection, self._token(record.key))
            if stored is not None:
                return _same_or_conflict("key", record.id, record, stored)
            new = attrs.evolve(record, version=1)
            connection.execute(
                "INSERT INTO product_keys (product_key, version, data) VALUES (?, 1, ?)",
                (self._token(new.key), self._dump_key(new)),
            )
            return new

        return self._write(add)

    def update_key(self, record: KeyRecord, /) -> KeyRecord:
        """Return *record* as written at the next version.

        Raises :class:`~mak.errors.NotFound` for a key not stored and
        :class:`~mak.errors.ConcurrencyConflict` when the stored version has moved on.
        """

        def update(connection: sqlite3.Connection) -> KeyRecord:
            new = attrs.evolve(record, version=record.version + 1)
            token = self._token(record.key)
            cursor = connection.execute(
                "UPDATE product_keys SET version = ?, data = ? WHERE product_key = ? AND version = ?",
                (new.version, self._dump_key(new), token, record.version),
            )
            if cursor.rowcount != 1:
                _raise_stale(connection, "key", record.id, record.version, token)
            return new

        return self._write(update)

    def key(self, key: ProductKey, /) -> KeyRecord:
        """Return the record of *key*, or raise :class:`~mak.errors.NotFound` naming it masked."""
        found = self._read(lambda c: self._key_record(c, self._token(key)))
        if found is None:
            raise NotFound("key", str(key))
        return found

    def keys(self) -> list[KeyRecord]:
        """Return every key record, in the order they were added."""
        rows = self._rows("SELECT data FROM product_keys ORDER BY seq", ())
        return [self._load_key(data) for (data,) in rows]

    # --- the CIL ----------------------------------------------------------------------

    def add_confirmation(self, entry: CilEntry, /) -> CilEntry:
        """Return *entry* once kept; keeping the same entry again changes nothing.

        A different entry for a kept installation ID raises
        :class:`~mak.errors.ConcurrencyConflict` and writes nothing. Inside
        :meth:`transaction` this is one ``INSERT`` and no commit: fifty thousand entries
        in one transaction take about twice as long as one ``executemany`` of their rows.
        """
        row = (
            entry.installation_id.digits,
            entry.computer_id,
            entry.activation_id,
            entry.confirmation_id.digits,
            entry.partial_key,
            entry.acquired_at.isoformat(),
        )

        def add(connection: sqlite3.Connection) -> CilEntry:
            if connection.execute(_ADD_CONFIRMATION, row).rowcount == 1:
                return self._cache.keep_entry(entry)
            stored = self._cil_entry(connection.execute(_FIND_CONFIRMATION, row[:1]).fetchone())
            if stored != entry:
                iid = str(entry.installation_id)
                raise ConcurrencyConflict("confirmation", iid, expected=0, actual=1)
            return self._cache.keep_entry(stored)

        return self._write(add)

    def find_confirmation(self, installation_id: InstallationId, /) -> CilEntry | None:
        """Return the entry kept for *installation_id*, or ``None``.

        >>> import datetime as dt
        >>> from mak.ids import ConfirmationId, InstallationId
        >>> from mak.model import CilEntry
        >>> iid = InstallationId.parse("1234565" * 9)
        >>> inventory = SqliteInventory(":memory:")
        >>> _ = inventory.add_confirmation(CilEntry(
        ...     computer_id="c-1",
        ...     activation_id="b92e9980-b9d5-4821-9c94-140f632f6312",
        ...     installation_id=iid,
        ...     confirmation_id=ConfirmationId.parse("123451" * 8, check_digits=False),
        ...     partial_key="T83GX",
        ...     acquired_at=dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc),
        ... ))
        >>> inventory.find_confirmation(iid).partial_key
        'T83GX'
        >>> inventory.find_confirmation(InstallationId.parse("1234565" * 8 + "0000000")) is None
        True
        """
        with self._lock:
            connection = self._live()
            try:
                self._ended_by_sqlite(connection)
                known = self._cache.entry(installation_id)
                if known is not None:
                    return known  # an entry never changes once kept
                self._check_cache(connection)
                if self._cache.knows_absent(installation_id):
                    return None
                row = connection.execute(_FIND_CONFIRMATION, (installation_id.digits,)).fetchone()
            except _FAILURES as error:
                raise self._failure(error) from error
            if row is None:
                self._cache.keep_absent(installation_id)
                return None
            return self._cache.keep_entry(self._cil_entry(row, installation_id))

    def find_confirmations(self, installation_ids: Sequence[InstallationId], /) -> list[CilEntry]:
        """Return the kept entries among *installation_ids*, in the order given, once each."""
        with self._lock:
            found = (self.find_confirmation(iid) for iid in dict.fromkeys(installation_ids))
            return [entry for entry in found if entry is not None]

    def confirmations(self, *, computer_id: str | None = None) -> list[CilEntry]:
        """Return the kept entries, or those of one computer, in the order they were added."""
        select = f"SELECT {_CIL_COLUMNS} FROM confirmations"  # noqa: S608  # constant columns
        if computer_id is None:
            rows = self._rows(f"{select} ORDER BY seq", ())
        else:
            rows = self._rows(f"{select} WHERE computer_id = ? ORDER BY seq", (computer_id,))
        return [self._cil_entry(row) for row in rows]

    # --- history ----------------------------------------------------------------------

    def record(self, action: ActionRecord, /) -> ActionRecord:
        """Return *action* once appended to the history.

        Inside :meth:`transaction` the row is written with the transaction's other history
        rows, in order, when something reads the history or the transaction ends.
        """

        def append(connection: sqlite3.Connection) -> ActionRecord:
            row = (action.computer_id, action.product_id, self._dump(action))
            if self._depth:
                _require_encodable(*row)
                self._history_rows.append(row)
            else:
                connection.execute(_APPEND_HISTORY, row)
            return action

        return self._write(append)

    def history(
        self, *, computer_id: str | None = None, product_id: str | None = None
    ) -> list[ActionRecord]:
        """Return the actions matching every filter given, oldest first."""
        clauses: list[str] = []
        parameters: list[str] = []
        if computer_id is not None:
            clauses.append("computer_id = ?")
            parameters.append(computer_id)
        if product_id is not None:
            clauses.append("product_id = ?")
            parameters.append(product_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT data FROM history{where} ORDER BY seq"  # noqa: S608  # fixed clauses, bound values

        def select(connection: sqlite3.Connection) -> list[Any]:
            self._flush(connection)
            return connection.execute(sql, parameters).fetchall()

        return [self._load(ActionRecord, data) for (data,) in self._read(select)]

    # --- plumbing ---------------------------------------------------------------------

    def _live(self) -> sqlite3.Connection:
        if self._connection is None:
            raise StorageError(f"The SQLite inventory {_shown(self._path)} is closed")
        return self._connection

    def _write(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run *operation* in the open transaction, or in one of its own."""
        with self._lock:
            connection = self._writable()
            try:
                if self._depth:
                    return operation(connection)
                connection.execute("BEGIN IMMEDIATE")
                self._checked_under_lock = False
                try:
                    result = operation(connection)
                except BaseException:
                    self._forget()
                    # SQLite may have ended the transaction itself (a full disk, say).
                    if _in_transaction(connection):
                        connection.execute("ROLLBACK")
                    raise
                self._commit(connection)
            except _FAILURES as error:
                failure = self._failure(error)
            else:
                return result
            # Raised unchained: the cause may hold the record's JSON, full keys included.
            raise failure

    def _writable(self) -> sqlite3.Connection:
        """Return the connection, unless a failed nested block doomed the transaction."""
        connection = self._live()
        self._ended_by_sqlite(connection)
        if self._failed is not None:
            raise StorageError(f"{self._failed}; nothing can be written until it ends")
        return connection

    def _read(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._lock:
            try:
                return operation(self._live())
            except _FAILURES as error:
                failure = self._failure(error)
            raise failure

    def _rows(self, sql: str, parameters: Sequence[object]) -> list[Any]:
        return self._read(lambda connection: connection.execute(sql, parameters).fetchall())

    def _run(self, connection: sqlite3.Connection, sql: str) -> None:
        try:
            connection.execute(sql)
        except sqlite3.Error as error:
            failure = self._failure(error)
        else:
            return
        raise failure

    def _commit(self, connection: sqlite3.Connection) -> None:
        try:
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            failure = self._failure(error)
        else:
            return
        self._abandon(connection)  # a failed COMMIT may leave the transaction open
        raise failure

    def _update_status(
        self, connection: sqlite3.Connection, new: Product, base: int, status: LicenseStatus
    ) -> None:
        """Write *new*'s status and data over the row known at version *base*, of *status*.

        In an open transaction the write is held back for :meth:`_flush`; a product
        written again before then is written once, from the first version.
        """
        row = (new.version, int(new.status), self._dump(new), new.id, base)
        if not self._depth:
            if _update_rows(connection, [(row, int(status))]) != 1:
                _raise_stale(connection, "product", new.id, base)
            return
        _require_encodable(row[2])
        held = self._product_rows.get(new.id)
        if held is None:
            self._product_rows[new.id] = (row, int(status))
        else:
            first, stored = held
            self._product_rows[new.id] = ((*row[:4], first[4]), stored)

    def _flush(self, connection: sqlite3.Connection) -> None:
        """Write the history rows and product updates held back in the open transaction.

        Called before any statement that reads or writes the ``history`` or ``products``
        table, and before ``COMMIT``. Should it fail, the whole transaction is rolled
        back: its writes were reported done, and some of these rows may be in it.
        """
        if not (self._history_rows or self._product_rows):
            return
        if self._ended_by_sqlite(connection):
            return  # rolled back, with everything held back: the transaction's end says so
        history, updates = self._history_rows, list(self._product_rows.values())
        self._history_rows, self._product_rows = [], {}
        try:
            connection.executemany(_APPEND_HISTORY, history)
            written = _update_rows(connection, updates)
        except _FAILURES as error:
            failure = self._failure(error)
        else:
            if written == len(updates):
                return
            # Cannot happen while the cache holds: nobody else writes under our write lock.
            failure = StorageError(
                f"SQLite inventory {_shown(self._path)} failed: a product changed under the"
                " transaction's write lock"
            )
        self._abandon(connection)
        raise failure

    def _abandon(self, connection: sqlite3.Connection) -> None:
        """Roll back the transaction after a failed flush or commit, and forget what it held."""
        self._forget()
        if _in_transaction(connection):
            connection.execute("ROLLBACK")
        if self._depth:  # inside a transaction() block: its further writes, and its end, fail
            self._failed = f"SQLite inventory {_shown(self._path)} rolled the transaction back"

    def _forget(self) -> None:
        """Drop the cache and the writes held back: a rollback undid, or will undo, them."""
        self._cache.forget()
        self._history_rows.clear()
        self._product_rows.clear()

    def _ended_by_sqlite(self, connection: sqlite3.Connection) -> bool:
        """Return whether SQLite ended the open transaction itself (a full disk, say).

        Then everything the transaction made known is forgotten, and nothing more can be
        written until the transaction's block ends.
        """
        if not self._depth or _in_transaction(connection):
            return False
        self._forget()
        if self._failed is None:
            self._failed = f"SQLite inventory {_shown(self._path)} rolled the transaction back"
        return True

    def _check_cache(self, connection: sqlite3.Connection) -> None:
        """Forget the cache unless its records are still the stored rows.

        ``PRAGMA data_version`` changes when another connection commits, and never for
        this connection's own commits, whose records the cache keeps. Outside a
        transaction each call looks at it again; inside, one look serves until the
        transaction ends, since its write lock keeps every other connection from
        committing.
        """
        if self._ended_by_sqlite(connection):
            self._checked_under_lock = False
        elif self._checked_under_lock and connection.in_transaction:
            return
        (version,) = connection.execute("PRAGMA data_version").fetchone()
        if version != self._data_version:
            self._cache.forget()  # never the writes held back: nobody else wrote meanwhile
            self._data_version = version
        self._checked_under_lock = connection.in_transaction

    def _known(
        self, connection: sqlite3.Connection, cls: type[_Cached], record_id: str
    ) -> _Cached | None:
        """The computer or product with that id as stored, if cached; ``None`` if not."""
        self._check_cache(connection)
        return self._cache.latest(cls, record_id)

    def _failure(self, error: Exception) -> StorageError:
        return StorageError(f"SQLite inventory {_shown(self._path)} failed: {redact(str(error))}")

    def _cil_entry(
        self, row: Sequence[str], installation_id: InstallationId | None = None
    ) -> CilEntry:
        """Build the entry a ``confirmations`` row holds (its IID already parsed, if given)."""
        iid, computer_id, activation_id, cid, partial_key, acquired_at = row
        try:
            return CilEntry(
                computer_id=computer_id,
                activation_id=activation_id,
                installation_id=installation_id or InstallationId(iid),
                confirmation_id=ConfirmationId(cid),
                partial_key=partial_key,
                acquired_at=dt.datetime.fromisoformat(acquired_at),
            )
        except (MakError, TypeError, ValueError) as error:
            reason = redact(str(error))
        raise StorageError(
            f"SQLite inventory {_shown(self._path)} holds an unreadable CilEntry: {reason}"
        )

    def _fetch(
        self, connection: sqlite3.Connection, cls: type[_Record], sql: str, key: str
    ) -> _Record | None:
        row = connection.execute(sql, (key,)).fetchone()
        return None if row is None else self._load(cls, row[0])

    def _records_by_id(self, cls: type[_Cached], record_ids: Sequence[str]) -> list[_Cached]:
        """The computers or products among *record_ids*, in their order, each once."""

        def read(connection: sqlite3.Connection) -> list[_Cached]:
            found = (self._record(connection, cls, i) for i in dict.fromkeys(record_ids))
            return [record for record in found if record is not None]

        return self._read(read)

    def _record(
        self, connection: sqlite3.Connection, cls: type[_Cached], record_id: str
    ) -> _Cached | None:
        """The computer or product with that id, ``None`` if there is none."""
        known = self._known(connection, cls, record_id)
        if known is not None:
            return known
        if cls is Product:
            self._flush(connection)
        row = connection.execute(_SELECT[cls], (record_id,)).fetchone()
        return None if row is None else self._cached(cls, row)

    def _all(
        self,
        connection: sqlite3.Connection,
        cls: type[_Cached],
        sql: str,
        parameters: Sequence[object],
    ) -> list[_Cached]:
        """The records a query of ``(id, version, data)`` rows finds, decoded under the lock."""
        return [self._cached(cls, row) for row in connection.execute(sql, parameters)]

    def _cached(self, cls: type[_Cached], row: Sequence[Any]) -> _Cached:
        """The record of an ``(id, version, data)`` row, decoded unless cached at that version."""
        record_id, version, data = row
        self._ended_by_sqlite(self._live())
        known = self._cache.record(cls, record_id, version)
        if known is not None:
            return known
        return self._cache.keep(self._load(cls, data))

    def _token(self, key: ProductKey) -> str:
        """What the ``product_key`` column holds for *key*: the key, or its digest with a codec."""
        if self._codec is None:
            return key.reveal()
        return "sha256:" + hashlib.sha256(f"mak-key/{key.reveal()}".encode()).hexdigest()

    def _key_record(self, connection: sqlite3.Connection, token: str) -> KeyRecord | None:
        row = connection.execute(_SELECT_KEY, (token,)).fetchone()
        return None if row is None else self._load_key(row[0])

    def _dump_key(self, record: KeyRecord) -> str:
        data = self._converter.unstructure(record)
        if self._codec is not None:
            data["key"] = self._codec.encode(data["key"])
        return _ENCODE(data)

    def _load_key(self, text: str) -> KeyRecord:
        if self._codec is None:
            return self._load(KeyRecord, text)
        try:
            data = json.loads(text)
            data["key"] = self._codec.decode(data["key"])
        except Exception:  # noqa: BLE001  # any codec failure; its message may hold the key
            reason = "its key codec could not decode a stored key"
        else:
            return self._converter.structure(data, KeyRecord)
        raise StorageError(f"SQLite inventory {_shown(self._path)} is unreadable: {reason}")

    def _dump(self, record: object) -> str:
        """Return the JSON text stored for *record*: the converter's data, encoded.

        Products and actions, written by the ten thousand, take a direct path to the same
        text; a subclass, which may have fields of its own, takes the general one.
        """
        if type(record) is Product:
            return product_json(record)
        if type(record) is ActionRecord:
            return action_json(record)
        return _ENCODE(self._converter.unstructure(record))

    def _load(self, cls: type[_T], data: str) -> _T:
        try:
            return self._converter.structure(json.loads(data), cls)
        except (MakError, ValueError) as error:
            reason = redact(str(error))
        raise StorageError(
            f"SQLite inventory {_shown(self._path)} holds an unreadable {cls.__name__}: {reason}"
        )


_ROLLED_BACK: Final = "Transaction rolled back: an exception left a nested transaction"
_SELECT: Final[dict[type[Any], str]] = {
    Computer: "SELECT id, version, data FROM computers WHERE id = ?",
    Product: "SELECT id, version, data FROM products WHERE id = ?",
}
_CACHED_RECORDS: Final = LIMIT
"""How many decoded computers and products an inventory keeps, to read them again."""
_SELECT_KEY: Final = "SELECT data FROM product_keys WHERE product_key = ?"
_APPEND_HISTORY: Final = "INSERT INTO history (computer_id, product_id, data) VALUES (?, ?, ?)"
_UPDATE_STATUS: Final = (
    "UPDATE products SET version = ?, status = ?, data = ? WHERE id = ? AND version = ?"
)
_UPDATE_DATA: Final = "UPDATE products SET version = ?, data = ? WHERE id = ? AND version = ?"
_UpdateRow = tuple[int, int, str, str, int]  # version, status, data, id, version written over


def _update_rows(connection: sqlite3.Connection, updates: list[tuple[_UpdateRow, int]]) -> int:
    """Write each row over the one of the status given with it; return how many were written.

    A row whose status is unchanged leaves the status column alone: SQLite rewrites an
    index entry for every indexed column an UPDATE sets, changed or not, and a step that
    keeps the status (a CID stored) would rewrite each product's entry in
    ``products_by_status`` for nothing.
    """
    moved = [row for row, status in updates if row[1] != status]
    kept = [(row[0], *row[2:]) for row, status in updates if row[1] == status]
    written = 0
    if moved:
        written += connection.executemany(_UPDATE_STATUS, moved).rowcount
    if kept:
        written += connection.executemany(_UPDATE_DATA, kept).rowcount
    return written


_VERSION_OF: Final = {
    "computer": "SELECT version FROM computers WHERE id = ?",
    "product": "SELECT version FROM products WHERE id = ?",
    "key": "SELECT version FROM product_keys WHERE product_key = ?",
}


def _same_or_conflict(kind: str, shown_id: str, given: _Record, stored: _Record) -> _Record:
    """Return *stored* if *given* holds the same data, whatever its version; else raise."""
    if attrs.evolve(given, version=stored.version) == stored:
        return stored
    raise ConcurrencyConflict(kind, shown_id, expected=given.version, actual=stored.version)


def _raise_stale(
    connection: sqlite3.Connection, kind: str, shown_id: str, expected: int, key: str | None = None
) -> NoReturn:
    """Raise why an update matched no row: the record is unknown, or its version moved on."""
    row = connection.execute(_VERSION_OF[kind], (key or shown_id,)).fetchone()
    if row is None:
        raise NotFound(kind, shown_id)
    raise ConcurrencyConflict(kind, shown_id, expected=expected, actual=row[0])


def _require_encodable(*texts: str | None) -> None:
    """Raise :class:`UnicodeEncodeError` as ``sqlite3`` would for text SQLite cannot hold.

    A write held back is checked when it is made, so that it fails there, not at the end.
    """
    for text in texts:
        if text is not None and not text.isascii():
            text.encode()


def _require_computer(connection: sqlite3.Connection, computer_id: str) -> None:
    if (
        connection.execute("SELECT 1 FROM computers WHERE id = ?", (computer_id,)).fetchone()
        is None
    ):
        raise NotFound("computer", computer_id)


def _require_activation_free(connection: sqlite3.Connection, product: Product) -> None:
    """Raise unless no other product of the computer has *product*'s activation ID."""
    row = connection.execute(
        "SELECT version FROM products WHERE computer_id = ? AND activation_id = ? AND id != ?",
        (product.computer_id, product.activation_id, product.id),
    ).fetchone()
    if row is not None:
        raise ConcurrencyConflict("product", product.id, expected=product.version, actual=row[0])


def _place(product: Product) -> tuple[str, str, ProductFamily]:
    """The indexed columns of a product that its status and data leave alone."""
    return product.computer_id, product.activation_id, product.family


def _product_columns(product: Product) -> tuple[str, str, str, int]:
    status = int(product.license_state.status)
    return product.computer_id, product.activation_id, product.family.value, status


# --- opening and migrating ------------------------------------------------------------


def _shown(path: str) -> str:
    return repr(redact(path))


def _open(path: str) -> sqlite3.Connection:
    """Return a connection to a mak inventory at *path*, creating or migrating its schema."""
    if not path:
        raise StorageError("A SQLite inventory needs a path, or ':memory:'")
    in_memory = path == ":memory:"
    if not in_memory:
        created = _create_owner_only(path)
        if not created:
            _check_file(path)
    try:
        connection = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as error:
        raise StorageError(f"Cannot open SQLite inventory {_shown(path)}: {error}") from error
    try:
        _prepare(connection, path, in_memory=in_memory)
    except BaseException:
        connection.close()
        raise
    return connection


def _create_owner_only(path: str) -> bool:
    """Create *path* empty with permissions 0o600 unless it exists; return whether it did."""
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    except OSError as error:
        raise StorageError(
            f"Cannot create SQLite inventory {_shown(path)}: {error.strerror}"
        ) from None
    os.close(descriptor)
    return True


_SQLITE_MAGIC: Final = b"SQLite format 3\x00"


def _foreign(path: str) -> bool:
    """Whether the SQLite file at *path* belongs to another application, read without writing.

    The main file's header can lag behind its write-ahead log, so ask SQLite, read-only:
    a file with no application id is either one mak is still creating (no schema yet) or
    another application's.
    """
    uri = "file:" + urllib.parse.quote(str(Path(path).resolve())) + "?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT)) as reader:
            application_id, _, objects = _identity(reader)
    except sqlite3.Error:
        return True  # unreadable as SQLite: not a file to write keys into
    return application_id != APPLICATION_ID and (application_id != 0 or objects > 0)


def _check_file(path: str) -> None:
    """Refuse an existing file before SQLite opens it, so a refused file stays as it was.

    SQLite itself would replay another application's write-ahead log on opening, and a
    file planted empty with wide permissions would hold keys where others can read them.
    """
    try:
        with open(path, "rb") as stream:  # noqa: PTH123  # str paths as well as Path
            header = stream.read(100)
        status = os.stat(path)  # noqa: PTH116  # str paths as well as Path
    except OSError as error:
        raise StorageError(
            f"Cannot open SQLite inventory {_shown(path)}: {error.strerror}"
        ) from None
    if header and (len(header) < 100 or not header.startswith(_SQLITE_MAGIC)):
        raise StorageError(f"{_shown(path)} is not a mak inventory: it is not a SQLite database")
    application_id = int.from_bytes(header[68:72], "big") if header else None
    if application_id not in (None, APPLICATION_ID) and _foreign(path):
        raise StorageError(
            f"{_shown(path)} is not a mak inventory: it is a SQLite database of another"
            " application; mak leaves it untouched"
        )
    if not header and hasattr(os, "getuid"):  # an empty file mak did not create
        if status.st_uid != os.getuid():
            raise StorageError(
                f"{_shown(path)} is an empty file of another user; mak will not keep keys in it"
            )
        if status.st_mode & 0o077:
            os.chmod(path, 0o600)  # noqa: PTH101  # keys go in it: owner only, as mak creates


def _prepare(connection: sqlite3.Connection, path: str, *, in_memory: bool) -> None:
    try:
        identity = _identity(connection)
        _check_identity(identity, path)
        if not in_memory:
            if not identity[2]:  # a new file: its page size is fixed by its first write
                connection.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
            mode = _use_wal(connection)
            if str(mode).lower() != "wal":
                raise StorageError(f"SQLite inventory {_shown(path)} could not use WAL ({mode})")
            connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        if identity[1] < len(_MIGRATIONS) or _products_to_order(connection):
            connection.execute("BEGIN IMMEDIATE")
            try:
                _bring_up_to_date(connection, path)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
    except sqlite3.Error as error:
        if _not_a_database(error):
            raise StorageError(
                f"{_shown(path)} is not a mak inventory: it is not a SQLite database"
            ) from error
        raise StorageError(f"Cannot open SQLite inventory {_shown(path)}: {error}") from error


def _use_wal(connection: sqlite3.Connection) -> object:
    """Switch the file to write-ahead logging and return the journal mode it then has.

    Switching a new file takes an exclusive lock while holding a shared one. When another
    connection holds or wants the write lock meanwhile -- typically another process or
    thread opening the same new file -- SQLite reports the file busy at once rather than
    call the busy handler, which could deadlock. So try again here, as its busy handler
    would, until :data:`BUSY_TIMEOUT` seconds have passed; a try may itself wait in the
    busy handler, so the whole can last up to twice that.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    pause = 0.001
    while True:
        try:
            return connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as error:
            if not _busy(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _busy(error: sqlite3.Error) -> bool:
    # sqlite_errorname arrived in Python 3.11; 3.10 has only the message.
    name = getattr(error, "sqlite_errorname", None)
    return str(name).startswith("SQLITE_BUSY") or str(error) == "database is locked"


def _in_transaction(connection: sqlite3.Connection) -> bool:
    """Whether *connection* has a transaction open; a closed connection has none."""
    try:
        return connection.in_transaction
    except sqlite3.ProgrammingError:  # closed meanwhile, by close() inside a transaction
        return False


def _check_key_storage(connection: sqlite3.Connection, path: str, wanted: str) -> None:
    """Record how the inventory keeps keys, or refuse to open it the other way."""
    try:
        row = connection.execute(_KEY_STORAGE).fetchone()
        if row is None:
            connection.execute("BEGIN IMMEDIATE")
            try:
                # An inventory with keys from before this setting existed keeps them in clear.
                has_keys = connection.execute("SELECT 1 FROM product_keys LIMIT 1").fetchone()
                connection.execute(
                    "INSERT OR IGNORE INTO settings (name, value) VALUES ('key_storage', ?)",
                    ("clear" if has_keys else wanted,),
                )
                row = connection.execute(_KEY_STORAGE).fetchone()
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
    except sqlite3.Error as error:
        raise StorageError(f"Cannot open SQLite inventory {_shown(path)}: {error}") from error
    if row[0] != wanted:
        how = "with a key codec" if row[0] == "codec" else "without a key codec"
        raise StorageError(
            f"SQLite inventory {_shown(path)} keeps its product keys {how}; open it the same way"
        )


_KEY_STORAGE: Final = "SELECT value FROM settings WHERE name = 'key_storage'"


def _not_a_database(error: sqlite3.Error) -> bool:
    # sqlite_errorname arrived in Python 3.11; 3.10 has only the message.
    name = getattr(error, "sqlite_errorname", None)
    return name == "SQLITE_NOTADB" or str(error) == "file is not a database"


def _identity(connection: sqlite3.Connection) -> tuple[int, int, int]:
    """Return the file's application id, schema version and number of schema objects."""
    # One statement, so one snapshot: another process may be creating the schema.
    row = connection.execute(
        "SELECT (SELECT application_id FROM pragma_application_id),"
        " (SELECT user_version FROM pragma_user_version),"
        " (SELECT count(*) FROM sqlite_master)"
    ).fetchone()
    return row[0], row[1], row[2]


def _check_identity(identity: tuple[int, int, int], path: str) -> None:
    application_id, version, objects = identity
    if application_id != APPLICATION_ID and (application_id != 0 or objects):
        raise StorageError(
            f"{_shown(path)} is not a mak inventory: it is a SQLite database of another"
            " application; mak leaves it untouched"
        )
    if application_id == APPLICATION_ID and version > len(_MIGRATIONS):
        raise StorageError(
            f"{_shown(path)} is a mak inventory of schema version {version}, newer than"
            f" this mak reads (up to {len(_MIGRATIONS)}); upgrade mak to open it"
        )


def _bring_up_to_date(connection: sqlite3.Connection, path: str) -> None:
    """Migrate the schema and order the products as due, in the open write transaction."""
    # Read again under the write lock: another process may have just done it.
    identity = _identity(connection)
    _check_identity(identity, path)
    if identity[1] < len(_MIGRATIONS):
        _migrate(connection, identity[1])
        _LOG.info(
            "SQLite inventory %s: schema %d -> %d",
            _shown(path),
            identity[1],
            len(_MIGRATIONS),
            extra={"path": _shown(path), "schema": len(_MIGRATIONS)},
        )
    if _products_to_order(connection):
        for statement in _PRODUCTS_IN_ID_ORDER:
            connection.execute(statement)


def _products_to_order(connection: sqlite3.Connection) -> bool:
    """Return whether the products table is to be rebuilt in id order (:data:`_PRODUCTS_IN_ID_ORDER`).

    It is when it still has a rowid and the file's pages are of :data:`_PAGE_SIZE` or
    more: on smaller pages, a table without rowid keeps only about a kilobyte of a row
    in its page and the rest on an overflow page, which would make each product's
    update write two pages instead of sharing one. A file of smaller pages keeps its
    table until it is given bigger ones (docs/sqlite.md says how).
    """
    (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    row = connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'products'"
    ).fetchone()
    return page_size >= _PAGE_SIZE and row is not None and "WITHOUT ROWID" not in row[0]


def _migrate(connection: sqlite3.Connection, version: int) -> None:
    """Apply the migration steps after *version*, in the open transaction."""
    connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for number, step in enumerate(_MIGRATIONS[version:], start=version + 1):
        for statement in step:
            connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {number}")
