"""The PostgreSQL inventory: one database that several consoles and processes share.

:class:`PostgresInventory` implements :class:`mak.ports.Inventory` on a PostgreSQL server
through psycopg 3, an optional dependency: ``pip install 'mak[postgres]'``. Choose it over
:class:`~mak.adapters.sqlite.SqliteInventory` when administrators on several machines
work on one fleet, as VAMT's consoles do on one SQL Server database; the
:doc:`/postgres` page says when and how.

Give it a DSN (``"postgresql://mak@db.example/mak"`` or ``"host=... dbname=..."``) and,
optionally, a PostgreSQL schema of its own; it creates its tables there on first use and
migrates them forward when a newer mak opens an older inventory. A schema that holds
other tables and no mak inventory, or a mak inventory newer than this mak, is refused
with a :class:`~mak.errors.StorageError` and left untouched. No message of the adapter
ever shows the DSN's password: the inventory is shown by its host, port, database and
user only.

>>> PostgresInventory("postgresql://mak:s3cret@127.0.0.1:1/mak", connect_timeout=2)
Traceback (most recent call last):
mak.errors.StorageError: Cannot connect to the PostgreSQL inventory 'host=127.0.0.1 port=1 dbname=mak user=mak': ...

Computers, products, keys and history are stored as JSON text written by
:func:`mak.serialization.make_converter` (never pickle), beside real columns for what is
looked up, filtered, ordered or unique. A confirmation-ID entry has a column per field:
the confirmation list is the table that grows by the hundred thousand.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar, cast

import attrs

from mak._validate import replace
from mak.adapters._cache import LIMIT, RecordCache
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

try:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    from psycopg.pq import TransactionStatus
except ImportError as error:  # pragma: no cover - the tests run with psycopg installed
    raise ImportError(
        "mak.adapters.postgres needs psycopg 3: install mak with its PostgreSQL extra,"
        " pip install 'mak[postgres]'"
    ) from error

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence
    from types import TracebackType

    from typing_extensions import LiteralString, Self

__all__ = ["CONNECT_TIMEOUT", "SCHEMA_VERSION", "STATEMENT_TIMEOUT", "PostgresInventory"]

CONNECT_TIMEOUT: Final = 10
"""Seconds a new connection waits for the server before the inventory gives up."""

STATEMENT_TIMEOUT: Final = 30.0
"""Seconds one statement may run, waiting for another session's locks included."""

_T = TypeVar("_T")
_Record = TypeVar("_Record", Computer, Product, KeyRecord)
_Cached = TypeVar("_Cached", Computer, Product)
_Connection = psycopg.Connection[tuple[Any, ...]]
_Cursor = psycopg.Cursor[tuple[Any, ...]]

# The schema, as the steps that build it: step n (from 0) takes an inventory from schema
# version n to n + 1. Steps are only ever appended; a released step never changes. Ids
# sort as Python sorts str (code points), whatever the database's collation.
#
# Products are rewritten at every step of an activation, so no index covers a column that
# changes (family and status select most of a fleet at once: a scan serves them as well),
# and each page keeps room for new row versions: PostgreSQL then updates a product in
# place of its page (a HOT update) without touching any index.
_MIGRATIONS: list[tuple[LiteralString, ...]] = [
    (
        """CREATE TABLE computers (
            id text COLLATE "C" NOT NULL PRIMARY KEY,
            version integer NOT NULL CHECK (version >= 1),
            name_folded text NOT NULL,
            data text NOT NULL
        )""",
        "CREATE INDEX computers_by_name ON computers (name_folded)",
        """CREATE TABLE products (
            id text COLLATE "C" NOT NULL PRIMARY KEY,
            version integer NOT NULL CHECK (version >= 1),
            computer_id text COLLATE "C" NOT NULL REFERENCES computers (id),
            activation_id text NOT NULL,
            family text NOT NULL,
            status smallint NOT NULL,
            data text NOT NULL,
            UNIQUE (computer_id, activation_id)
        ) WITH (fillfactor = 70)""",
        """CREATE TABLE product_keys (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            product_key text NOT NULL UNIQUE,
            version integer NOT NULL CHECK (version >= 1),
            data text NOT NULL
        )""",
        # Full product keys: nobody but the owner reads them (PostgreSQL's default,
        # said here so that a change of defaults cannot widen it).
        "REVOKE ALL ON product_keys FROM PUBLIC",
        """CREATE TABLE confirmations (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            installation_id text NOT NULL UNIQUE,
            computer_id text NOT NULL,
            activation_id text NOT NULL,
            confirmation_id text NOT NULL,
            partial_key text NOT NULL,
            acquired_at timestamptz NOT NULL
        )""",
        "CREATE INDEX confirmations_by_computer ON confirmations (computer_id)",
        """CREATE TABLE history (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            computer_id text NOT NULL,
            product_id text,
            data text NOT NULL
        )""",
        "CREATE INDEX history_by_computer ON history (computer_id)",
        "CREATE INDEX history_by_product ON history (product_id)",
    ),
]

SCHEMA_VERSION: Final = len(_MIGRATIONS)
"""The schema version this mak writes (in ``mak_schema_versions``); older ones are migrated."""

_VERSIONS_TABLE: Final = "mak_schema_versions"  # its name marks a schema as mak's
_LOCK_CLASS: Final = 0x4D414B49  # "MAKI": the advisory lock that serialises migrations

_CIL_COLUMNS: Final = (
    "installation_id, computer_id, activation_id, confirmation_id, partial_key, acquired_at"
)
_ADD_CONFIRMATION: Final = (
    f"INSERT INTO confirmations ({_CIL_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"  # noqa: S608  # constant columns
    " ON CONFLICT (installation_id) DO NOTHING"
)
_FIND_CONFIRMATION: Final = f"SELECT {_CIL_COLUMNS} FROM confirmations WHERE installation_id = %s"  # noqa: S608  # constant columns
_PRODUCT_FILTERS: Final[dict[str, LiteralString]] = {
    "family": "family = %s",
    "status": "status = %s",
    "computer": "computer_id = %s",
}
# Entries kept inside a transaction are sent together: one statement inserting the rows
# of six arrays, each row unless its installation ID is kept already. When some were
# left out, what is stored for them is read back and compared.
_ADD_CONFIRMATIONS: Final = (
    f"INSERT INTO confirmations ({_CIL_COLUMNS})"  # noqa: S608  # constant columns
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
    " %b::timestamptz[]) ON CONFLICT (installation_id) DO NOTHING"
)
_FIND_CONFIRMATIONS: Final = (
    f"SELECT {_CIL_COLUMNS} FROM confirmations WHERE installation_id = ANY(%s)"  # noqa: S608  # constant columns
)
_LOCK_PRODUCTS: Final = (
    "SELECT id, version, data FROM products WHERE id = ANY(%s) FOR UPDATE NOWAIT"
)
# Updates of products the transaction holds, sent together: each written over the
# version read when it was locked.
_UPDATE_HELD: Final = (
    "UPDATE products AS p SET version = v.version, family = v.family, status = v.status,"
    " data = v.data FROM unnest(%b::text[], %b::integer[], %b::integer[], %b::text[],"
    " %b::smallint[], %b::text[]) AS v (id, version, held, family, status, data)"
    " WHERE p.id = v.id AND p.version = v.held"
)
_COPY_HISTORY: Final = "COPY history (computer_id, product_id, data) FROM STDIN"
# History and CIL entries written inside a transaction are sent at the latest when this
# many wait (and before the transaction ends, and before they are read back in bulk).
_HISTORY_BUFFER: Final = 2000
_CIL_BUFFER: Final = 5000
# ASCII JSON: PostgreSQL text takes neither NUL nor lone surrogates, which free text
# (an action's detail) may hold; escaped, they come back as they were.
_ENCODE: Final = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
_FAILURES: Final = (psycopg.Error, UnicodeError)
# The conninfo keywords a message may show: where the inventory is, never how to log in.
_SHOWN_PARAMETERS: Final = ("host", "hostaddr", "port", "dbname", "user")


class PostgresInventory:
    """Return an inventory kept in the PostgreSQL database that *dsn* names.

    It implements :class:`mak.ports.Inventory`: records come back as frozen snapshots,
    ``update_*`` refuses a record whose version is no longer the stored one, and every
    public write is one transaction. :meth:`transaction` groups several writes; nested
    calls join the outermost one.

    *schema* is the PostgreSQL schema that holds the tables (created if missing, which
    needs the ``CREATE`` privilege on the database). *connect_timeout* (whole seconds,
    at least 2) bounds connecting; *statement_timeout* (seconds, ``0`` for no limit)
    bounds every statement, waiting for another session's row locks included. The
    session is named ``mak`` (``application_name``) unless the DSN names it.

    **One connection per inventory.** The object holds one connection and serves every
    thread through it, behind a lock: calls from several threads are safe and run one at
    a time, and a transaction holds the lock until it ends. For parallel work open one
    inventory per thread or per process; the server and the version check keep them
    from losing each other's updates. A connection the server dropped is noticed when a
    call fails on it (that call raises :class:`~mak.errors.StorageError`), and opened
    again at the next call outside a transaction.

    Raises :class:`~mak.errors.StorageError` when the server cannot be reached or
    refuses the login, when *schema* holds something other than a mak inventory, or
    when the inventory's schema is newer than :data:`SCHEMA_VERSION`.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "public",
        connect_timeout: int = CONNECT_TIMEOUT,
        statement_timeout: float = STATEMENT_TIMEOUT,
    ) -> None:
        self._lock = threading.RLock()
        self._secrets, self._shown = _describe(dsn)
        given = cast("object", schema)  # untyped callers may pass anything
        if not isinstance(given, str) or not given or "\x00" in given:
            raise StorageError("A PostgreSQL inventory needs a schema name")
        given = cast("object", connect_timeout)
        if isinstance(given, bool) or not isinstance(given, int):
            raise StorageError("connect_timeout is a whole number of seconds")
        given = cast("object", statement_timeout)
        if isinstance(given, bool) or not isinstance(given, (int, float)) or not given >= 0:
            raise StorageError("statement_timeout is a number of seconds, 0 for none")
        self._dsn = dsn
        self._schema = schema
        self._connect_timeout = max(2, connect_timeout)
        # PostgreSQL counts milliseconds, and reads 0 as no limit: a positive limit stays one.
        self._statement_timeout_ms = math.ceil(statement_timeout * 1000)
        self._depth = 0
        self._failed: str | None = None  # why the open transaction was rolled back early
        self._history: list[tuple[str, str | None, str]] = []  # waiting for the next COPY
        self._entries: dict[InstallationId, CilEntry] = {}  # kept in the transaction, unsent
        self._held: dict[str, Product] = {}  # products the transaction locked, as stored
        self._updates: dict[str, Product] = {}  # their updates, unsent
        self._converter = make_converter()
        self._cache = RecordCache(_CACHED_RECORDS)  # see mak.adapters._cache: when it is emptied
        self._closed = False
        self._cursor: _Cursor | None = None  # reused: one fewer object per statement
        self._connection: _Connection | None = self._open()

    @property
    def schema(self) -> str:
        """The PostgreSQL schema that holds the inventory's tables."""
        return self._schema

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._shown!r}, schema={self._schema!r})"

    # --- lifetime ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; a transaction still open is rolled back. Closing twice is fine."""
        with self._lock:
            self._closed = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None

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
        the writes made inside; other sessions see none of them before it ends (the
        transaction runs at PostgreSQL's READ COMMITTED level, and every write is
        version-checked). A nested ``transaction()`` joins the outer one: nothing is
        committed before the outermost one ends, and an exception leaving an inner block
        rolls back *everything*, at once, even if the outer block catches it; the outer
        block's further writes, and its normal end, then raise
        :class:`~mak.errors.StorageError`, so nobody believes those writes were kept.
        The same happens when the server aborts the transaction (a lost connection, a
        deadlock, a statement timeout), with one exception: a product moved to another
        computer or activation ID is written behind a savepoint, so its failure, whatever
        the cause, undoes that write alone and raises, leaving the transaction usable.
        The context holds the inventory's lock: other threads' calls wait until it ends.
        """
        with self._lock:
            connection = self._writable()
            outermost = self._depth == 0
            if outermost:
                self._run(connection, "BEGIN")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                self._abandon(connection)
                self._failed = _ROLLED_BACK if self._depth else None
                raise
            self._depth -= 1
            if outermost:
                if self._failed is not None:
                    failed, self._failed = self._failed, None
                    raise StorageError(failed)
                self._commit(connection)

    # --- computers --------------------------------------------------------------------

    def add_computer(self, computer: Computer, /) -> Computer:
        """Return *computer* as stored at version 1, or the stored one if it is the same.

        A different computer under a used id raises :class:`~mak.errors.ConcurrencyConflict`.
        """

        def add(cursor: _Cursor) -> Computer:
            new = replace(computer, version=1)
            cursor.execute(
                "INSERT INTO computers (id, version, name_folded, data) VALUES (%s, 1, %s, %s)"
                " ON CONFLICT (id) DO NOTHING",
                (new.id, new.name.casefold(), self._dump(new)),
            )
            if cursor.rowcount == 1:
                return self._cache.keep(new)
            stored = self._record(cursor, Computer, computer.id)
            if stored is None:  # pragma: no cover - ids are never deleted
                raise StorageError(f"{self._name()} lost computer {computer.id!r}")
            return _same_or_conflict("computer", computer.id, computer, stored)

        return self._write(add)

    def update_computer(self, computer: Computer, /) -> Computer:
        """Return *computer* as written at the next version.

        Raises :class:`~mak.errors.NotFound` for an unknown id and
        :class:`~mak.errors.ConcurrencyConflict` when the stored version has moved on.
        """

        def update(cursor: _Cursor) -> Computer:
            new = replace(computer, version=computer.version + 1)
            cursor.execute(
                "UPDATE computers SET version = %s, name_folded = %s, data = %s"
                " WHERE id = %s AND version = %s",
                (new.version, new.name.casefold(), self._dump(new), new.id, computer.version),
            )
            if cursor.rowcount != 1:
                _raise_stale(cursor, "computer", computer.id, computer.version)
            return self._cache.keep(new)

        return self._write(update)

    def computer(self, computer_id: str, /) -> Computer:
        """Return the computer with that id, or raise :class:`~mak.errors.NotFound`."""
        found = self._read(lambda cursor: self._record(cursor, Computer, computer_id))
        if found is None:
            raise NotFound("computer", computer_id)
        return found

    def computers_by_id(self, computer_ids: Sequence[str], /) -> list[Computer]:
        """Return the stored computers among *computer_ids*, in the order given, once each."""
        return self._records_by_id(Computer, computer_ids)

    def computers(self, *, name: str | None = None) -> list[Computer]:
        """Return every computer, or those named *name* ignoring case, sorted by id."""
        if name is None:
            rows = self._rows("SELECT id, version, data FROM computers ORDER BY id", ())
        else:
            rows = self._rows(
                "SELECT id, version, data FROM computers WHERE name_folded = %s ORDER BY id",
                (name.casefold(),),
            )
        return [self._cached(Computer, row) for row in rows]

    # --- products ---------------------------------------------------------------------

    def add_product(self, product: Product, /) -> Product:
        """Return *product* as stored at version 1, or the stored one if it is the same.

        Raises :class:`~mak.errors.NotFound` when its computer is not stored, and
        :class:`~mak.errors.ConcurrencyConflict` for a different product under a used
        id or a second product with the same activation ID on one computer.
        """

        def add(cursor: _Cursor) -> Product:
            self._send_waiting_updates()  # the reads below compare with stored products
            new = replace(product, version=1)
            # One statement that cannot fail on a constraint, so that a refused add
            # leaves an open transaction going: it inserts nothing when the computer is
            # missing or the id or the activation ID is taken, and the reads below say why.
            cursor.execute(
                "INSERT INTO products"
                " (id, version, computer_id, activation_id, family, status, data)"
                " SELECT %s, 1, %s, %s, %s, %s, %s"
                " WHERE EXISTS (SELECT 1 FROM computers WHERE id = %s)"
                " ON CONFLICT DO NOTHING",
                (new.id, *_product_columns(new), self._dump(new), new.computer_id),
            )
            if cursor.rowcount == 1:
                return self._cache.keep(new)
            stored = self._record(cursor, Product, product.id)
            if stored is not None:
                return _same_or_conflict("product", product.id, product, stored)
            _require_computer(cursor, product.computer_id)
            _require_activation_free(cursor, product)
            raise ConcurrencyConflict(  # pragma: no cover - a racing add rolled back
                "product", product.id, expected=product.version, actual=None
            )

        return self._write(add)

    def update_product(self, product: Product, /) -> Product:
        """Return *product* as written at the next version.

        Raises :class:`~mak.errors.NotFound` for an unknown id or computer, and
        :class:`~mak.errors.ConcurrencyConflict` when the stored version has moved on or
        another product of the computer has the same activation ID.
        """

        with self._lock:
            held = self._updates.get(product.id) or self._held.get(product.id)
            if self._depth and held is not None:
                self._writable()
                if product.version != held.version:
                    raise ConcurrencyConflict(
                        "product", product.id, expected=product.version, actual=held.version
                    )
                if _place(product) == _place(held):  # its row is locked: sent at commit
                    new = next_product_version(product, version=product.version + 1)
                    self._updates[new.id] = new
                    return self._cache.keep(new)
                self._send_waiting_updates()  # a move: written now, as any other
                moved = self._write(lambda cursor: self._update_product(cursor, product))
                self._held[moved.id] = moved
                return moved
        return self._write(lambda cursor: self._update_product(cursor, product))

    def _update_product(self, cursor: _Cursor, product: Product) -> Product:
        """Write *product* at the next version, in one statement unless it moves."""
        new = next_product_version(product, version=product.version + 1)
        # Most updates leave the product where it was: written with that as a
        # condition, they touch no unique key or reference and cannot fail.
        cursor.execute(
            "UPDATE products SET version = %s, family = %s, status = %s, data = %s"
            " WHERE id = %s AND version = %s AND computer_id = %s AND activation_id = %s",
            (
                new.version,
                new.family.value,
                int(new.status),
                self._dump(new),
                new.id,
                product.version,
                new.computer_id,
                new.activation_id,
            ),
        )
        if cursor.rowcount == 1:
            return self._cache.keep(new)
        cursor.execute("SELECT version FROM products WHERE id = %s", (product.id,))
        row = cursor.fetchone()
        if row is None:
            raise NotFound("product", product.id)
        if row[0] != product.version:
            raise ConcurrencyConflict(
                "product", product.id, expected=product.version, actual=row[0]
            )
        self._move_product(cursor, product, new)
        return self._cache.keep(new)

    def product(self, product_id: str, /) -> Product:
        """Return the product with that id, or raise :class:`~mak.errors.NotFound`."""
        with self._lock:
            held = self._updates.get(product_id) or self._held.get(product_id)
            if held is not None:  # locked by the open transaction: as this inventory has it
                return held
        found = self._read(lambda cursor: self._record(cursor, Product, product_id))
        if found is None:
            raise NotFound("product", product_id)
        return found

    def products_by_id(self, product_ids: Sequence[str], /) -> list[Product]:
        """Return the stored products among *product_ids*, in the order given, once each.

        One statement for them all: the manager reads a chunk of products this way.
        Inside :meth:`transaction` it also locks their rows until the transaction ends
        (``SELECT ... FOR UPDATE NOWAIT``): other sessions' writes to them wait, and this
        inventory's updates of them are checked against the version it holds, at once,
        and sent together when the transaction commits. When another session holds one
        of the rows, none is locked and the products are read as outside a transaction:
        their updates are then written one by one, as any update is, and an update of a
        row that session holds waits until its transaction ends. The bulk read itself
        never waits.
        """
        with self._lock:
            if not self._depth:
                return self._records_by_id(Product, product_ids)
            wanted = list(dict.fromkeys(product_ids))
            fresh = [product_id for product_id in wanted if product_id not in self._held]
            unheld: dict[str, Product] = {}
            if fresh and not self._write(lambda cursor: self._hold(cursor, fresh)):
                unheld = {product.id: product for product in self._records_by_id(Product, fresh)}
            found = (self._updates.get(i) or self._held.get(i) or unheld.get(i) for i in wanted)
            return [product for product in found if product is not None]

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
        clauses: list[LiteralString] = [
            _PRODUCT_FILTERS[name] for name, value in given.items() if value is not None
        ]
        parameters = [value for value in given.values() if value is not None]
        where: LiteralString = " WHERE " + " AND ".join(clauses) if clauses else ""
        query = f"SELECT id, version, data FROM products{where} ORDER BY id"  # noqa: S608  # fixed clauses, bound values
        with self._lock:
            self._send_waiting_updates()
            return [self._cached(Product, row) for row in self._rows(query, parameters)]

    # --- keys -------------------------------------------------------------------------

    def add_key(self, record: KeyRecord, /) -> KeyRecord:
        """Return *record* as stored at version 1, or the stored one if it is the same.

        A different record for a stored key raises :class:`~mak.errors.ConcurrencyConflict`
        naming the key masked.
        """

        def add(cursor: _Cursor) -> KeyRecord:
            new = replace(record, version=1)
            cursor.execute(
                "INSERT INTO product_keys (product_key, version, data) VALUES (%s, 1, %s)"
                " ON CONFLICT (product_key) DO NOTHING",
                (new.key.reveal(), self._dump(new)),
            )
            if cursor.rowcount == 1:
                return new
            stored = self._key_record(cursor, record.key)
            if stored is None:  # pragma: no cover - keys are never deleted
                raise StorageError(f"{self._name()} lost key {record.id!r}")
            return _same_or_conflict("key", record.id, record, stored)

        return self._write(add)

    def update_key(self, record: KeyRecord, /) -> KeyRecord:
        """Return *record* as written at the next version.

        Raises :class:`~mak.errors.NotFound` for a key not stored and
        :class:`~mak.errors.ConcurrencyConflict` when the stored version has moved on.
        """

        def update(cursor: _Cursor) -> KeyRecord:
            new = replace(record, version=record.version + 1)
            cursor.execute(
                "UPDATE product_keys SET version = %s, data = %s"
                " WHERE product_key = %s AND version = %s",
                (new.version, self._dump(new), new.key.reveal(), record.version),
            )
            if cursor.rowcount != 1:
                _raise_stale(cursor, "key", record.id, record.version, record.key.reveal())
            return new

        return self._write(update)

    def key(self, key: ProductKey, /) -> KeyRecord:
        """Return the record of *key*, or raise :class:`~mak.errors.NotFound` naming it masked."""
        found = self._read(lambda cursor: self._key_record(cursor, key))
        if found is None:
            raise NotFound("key", str(key))
        return found

    def keys(self) -> list[KeyRecord]:
        """Return every key record, in the order they were added."""
        rows = self._rows("SELECT data FROM product_keys ORDER BY seq", ())
        return [self._load(KeyRecord, data) for (data,) in rows]

    # --- the CIL ----------------------------------------------------------------------

    def add_confirmation(self, entry: CilEntry, /) -> CilEntry:
        """Return *entry* once kept; keeping the same entry again changes nothing.

        A different entry for a kept installation ID raises
        :class:`~mak.errors.ConcurrencyConflict` and writes nothing. Outside
        :meth:`transaction` each call is one statement, committed. Inside, entries are
        sent together, in one statement, when the transaction commits (or when
        :meth:`confirmations` reads them, or when thousands wait); an entry that
        conflicts with one this inventory knows raises at once, while one conflicting
        with an entry another session stored meanwhile makes the commit raise
        :class:`~mak.errors.ConcurrencyConflict`, the whole transaction undone. When
        another session is keeping the same installation ID at the same moment, the
        commit waits for that session's transaction to end.
        """
        with self._lock:
            self._writable()
            if self._depth:
                return self._hold_confirmation(entry)
        row = (
            entry.installation_id.digits,
            entry.computer_id,
            entry.activation_id,
            entry.confirmation_id.digits,
            entry.partial_key,
            entry.acquired_at,
        )

        def add(cursor: _Cursor) -> CilEntry:
            cursor.execute(_ADD_CONFIRMATION, row)
            if cursor.rowcount == 1:
                return self._cache.keep_entry(entry)
            cursor.execute(_FIND_CONFIRMATION, row[:1])
            found = cursor.fetchone()
            stored = None if found is None else self._cil_entry(found, entry.installation_id)
            if stored is None or stored != entry:
                iid = str(entry.installation_id)
                raise ConcurrencyConflict("confirmation", iid, expected=0, actual=1)
            return self._cache.keep_entry(stored)

        return self._write(add)

    def find_confirmation(self, installation_id: InstallationId, /) -> CilEntry | None:
        """Return the entry kept for *installation_id*, or ``None``.

        An entry found once is remembered (entries never change once kept), so finding
        it again asks the server nothing.
        """
        with self._lock:
            known = self._entries.get(installation_id) or self._cache.entry(installation_id)
            if known is not None:
                return known

            def find(cursor: _Cursor) -> CilEntry | None:
                cursor.execute(_FIND_CONFIRMATION, (installation_id.digits,))
                row = cursor.fetchone()
                return (
                    None
                    if row is None
                    else self._cache.keep_entry(self._cil_entry(row, installation_id))
                )

            return self._read(find)

    def find_confirmations(self, installation_ids: Sequence[InstallationId], /) -> list[CilEntry]:
        """Return the kept confirmations among *installation_ids*, in the order given, once each.

        Those this inventory knows are not asked for; the rest in one statement.
        """
        with self._lock:
            wanted = list(dict.fromkeys(installation_ids))
            known = {
                iid: entry
                for iid in wanted
                if (entry := self._entries.get(iid) or self._cache.entry(iid)) is not None
            }
            unknown = {iid.digits: iid for iid in wanted if iid not in known}
            if unknown:

                def fetch(cursor: _Cursor) -> None:
                    cursor.execute(_FIND_CONFIRMATIONS, (list(unknown),))
                    for row in cursor.fetchall():
                        iid = unknown[row[0]]
                        known[iid] = self._cache.keep_entry(self._cil_entry(row, iid))

                self._read(fetch)
            return [known[iid] for iid in wanted if iid in known]

    def confirmations(self, *, computer_id: str | None = None) -> list[CilEntry]:
        """Return the kept entries, or those of one computer, in the order they were added."""
        select = f"SELECT {_CIL_COLUMNS} FROM confirmations"  # noqa: S608  # constant columns
        with self._lock:
            if self._entries:
                self._send_before_commit(self._send_confirmations)
        if computer_id is None:
            rows = self._rows(f"{select} ORDER BY seq", ())
        else:
            rows = self._rows(f"{select} WHERE computer_id = %s ORDER BY seq", (computer_id,))
        return [self._cil_entry(row) for row in rows]

    # --- history ----------------------------------------------------------------------

    def record(self, action: ActionRecord, /) -> ActionRecord:
        """Return *action* once appended to the history.

        Inside :meth:`transaction`, records are sent to the server together, in one
        ``COPY``, before the transaction commits or history is read; they are kept or
        undone with the transaction, as every other write.
        """
        row = (action.computer_id, action.product_id, self._dump(action))
        with self._lock:
            self._writable()
            if self._depth:
                self._history.append(row)
                if len(self._history) >= _HISTORY_BUFFER:
                    self._write(self._send_history)
                return action

        def append(cursor: _Cursor) -> ActionRecord:
            cursor.execute(
                "INSERT INTO history (computer_id, product_id, data) VALUES (%s, %s, %s)", row
            )
            return action

        return self._write(append)

    def history(
        self, *, computer_id: str | None = None, product_id: str | None = None
    ) -> list[ActionRecord]:
        """Return the actions matching every filter given, oldest first."""
        clauses: list[LiteralString] = []
        parameters: list[str] = []
        if computer_id is not None:
            clauses.append("computer_id = %s")
            parameters.append(computer_id)
        if product_id is not None:
            clauses.append("product_id = %s")
            parameters.append(product_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        query = f"SELECT data FROM history{where} ORDER BY seq"  # noqa: S608  # fixed clauses, bound values
        with self._lock:
            if self._history:
                self._write(self._send_history)
            rows = self._rows(query, parameters)
        return [self._load(ActionRecord, data) for (data,) in rows]

    # --- plumbing ---------------------------------------------------------------------

    def _name(self) -> str:
        return f"PostgreSQL inventory {self._shown!r}"

    def _open(self) -> _Connection:
        """Return a new connection, set up, to an inventory whose schema is current."""
        try:
            connection = psycopg.connect(
                self._dsn,
                autocommit=True,
                connect_timeout=self._connect_timeout,
                fallback_application_name="mak",
            )
        except psycopg.Error as error:
            reason = self._scrub(str(error))
        else:
            try:
                _prepare(connection, self._schema, self._statement_timeout_ms, self._name())
            except StorageError:
                connection.close()
                raise
            except psycopg.Error as error:
                connection.close()
                reason = self._scrub(str(error))
                raise StorageError(f"Cannot open the {self._name()}: {reason}") from None
            return connection
        # Raised unchained: the cause is libpq's own text, and it may quote the DSN.
        raise StorageError(f"Cannot connect to the {self._name()}: {reason}")

    def _live(self) -> _Connection:
        """Return the connection, opened again if the server dropped it between transactions."""
        if self._closed:
            raise StorageError(f"The {self._name()} is closed")
        connection = self._connection
        if connection is not None and (self._depth or not connection.broken):
            return connection
        if connection is not None:
            connection.close()
            self._connection = None
        self._forget_unsent()  # what others wrote while it was down is unknown
        self._connection = connection = self._open()
        return connection

    def _cursor_of(self, connection: _Connection) -> _Cursor:
        cursor = self._cursor
        if cursor is None or cursor.connection is not connection:
            cursor = self._cursor = connection.cursor()
        return cursor

    def _writable(self) -> _Connection:
        """Return the connection, unless the open transaction can no longer write."""
        connection = self._live()
        if self._depth and self._failed is None and not _in_transaction(connection):
            self._forget_unsent()  # the server ended the transaction (the connection is gone)
            self._failed = f"{self._name()} lost the transaction"
        if self._failed is not None:
            raise StorageError(f"{self._failed}; nothing can be written until it ends")
        return connection

    def _write(self, operation: Callable[[_Cursor], _T]) -> _T:
        """Run *operation* in the open transaction, or as a statement that commits itself.

        Every write outside :meth:`transaction` is one statement, which PostgreSQL runs
        as a transaction of its own; the reads around it only explain a refusal.
        """
        with self._lock:
            connection = self._writable()
            try:
                return operation(self._cursor_of(connection))
            except _FAILURES as error:
                failure = self._failure(connection, error)
            # Raised unchained: the cause may quote the record's data, full keys included.
            raise failure

    def _read(self, operation: Callable[[_Cursor], _T]) -> _T:
        with self._lock:
            connection = self._live()
            try:
                return operation(self._cursor_of(connection))
            except _FAILURES as error:
                failure = self._failure(connection, error)
            raise failure

    def _rows(self, query: LiteralString, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
        def fetch(cursor: _Cursor) -> list[tuple[Any, ...]]:
            cursor.execute(query, parameters)
            return cursor.fetchall()

        return self._read(fetch)

    def _run(self, connection: _Connection, statement: LiteralString) -> None:
        try:
            connection.execute(statement)
        except _FAILURES as error:
            failure = self._failure(connection, error)
        else:
            return
        raise failure

    def _commit(self, connection: _Connection) -> None:
        try:
            if self._updates:
                self._send_updates(self._cursor_of(connection))
            if self._entries:
                self._send_confirmations(self._cursor_of(connection))
            if self._history:
                self._send_history(self._cursor_of(connection))
            connection.execute("COMMIT")
        except _FAILURES as error:
            failure: MakError = self._failure(connection, error, ending=True)
        except ConcurrencyConflict as conflict:
            failure = conflict
        else:
            self._held.clear()  # unlocked by the commit
            return
        # Undone, or lost with the connection: nothing it wrote, sent or not, is kept.
        self._abandon(connection)
        raise failure

    def _abandon(self, connection: _Connection) -> None:
        """Roll the open transaction back, if the server still has it; forget what it wrote."""
        self._forget_unsent()
        if _in_transaction(connection):
            with contextlib.suppress(*_FAILURES):  # a dead connection has nothing to undo
                connection.execute("ROLLBACK")

    def _failure(
        self, connection: _Connection, error: BaseException, *, ending: bool = False
    ) -> StorageError:
        """Return the error to raise for *error*, ending a transaction the server aborted."""
        reason = self._scrub(_message(error))
        if connection.info.transaction_status is TransactionStatus.INERROR or (
            ending and _in_transaction(connection)
        ):
            self._abandon(connection)
        if self._depth and self._failed is None and not _in_transaction(connection):
            self._forget_unsent()
            self._failed = f"{self._name()} rolled the transaction back ({reason})"
        return StorageError(f"{self._name()} failed: {reason}")

    def _scrub(self, text: str) -> str:
        """Return *text* without the DSN's password, key-like runs masked, on one line."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return redact(" ".join(text.split()))

    def _hold(self, cursor: _Cursor, product_ids: list[str]) -> bool:
        """Lock the rows of *product_ids* for the open transaction; ``False`` if another has one.

        Behind a savepoint: a row that is locked already undoes this statement alone.
        """
        try:
            with cursor.connection.transaction():
                cursor.execute(_LOCK_PRODUCTS, (product_ids,))
                rows = cursor.fetchall()
        except psycopg.errors.LockNotAvailable:
            return False
        for row in rows:
            self._held[row[0]] = self._cached(Product, row)
        return True

    def _send_waiting_updates(self) -> None:
        """Send the held products' updates now: a statement about to run reads their rows."""
        if self._updates:
            self._send_before_commit(self._send_updates)

    def _send_before_commit(self, send: Callable[[_Cursor], None]) -> None:
        """Send held writes inside the open transaction, which a conflict among them dooms.

        At the commit a conflict undoes the transaction; sent earlier, it must not let the
        transaction commit without the write it refused: the transaction is rolled back,
        the conflict raised, and the transaction's later writes and its end raise too.
        """
        try:
            self._write(send)
        except ConcurrencyConflict as conflict:
            connection = self._live()
            self._abandon(connection)
            self._failed = f"{self._name()} rolled the transaction back ({conflict})"
            raise

    def _forget_unsent(self) -> None:
        """Forget what the transaction wrote, sent or not, and the rows it held: it is undone."""
        self._cache.forget()
        self._history.clear()
        self._entries.clear()
        self._updates.clear()
        self._held.clear()

    def _send_updates(self, cursor: _Cursor) -> None:
        """Write the updates of held products waiting in the open transaction, in one statement."""
        updates, self._updates = self._updates, {}
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [])
        for new in updates.values():
            row = (
                new.id,
                new.version,
                self._held[new.id].version,
                new.family.value,
                int(new.status),
                self._dump(new),
            )
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        cursor.execute(_UPDATE_HELD, columns)
        if cursor.rowcount != len(updates):  # the rows are locked: only a bypass gets here
            first = next(iter(updates.values()))
            raise ConcurrencyConflict("product", first.id, expected=first.version - 1, actual=None)
        self._held.update(updates)

    def _hold_confirmation(self, entry: CilEntry) -> CilEntry:
        """Keep *entry* to be sent with the open transaction; refuse one a known entry contradicts."""
        iid = entry.installation_id
        known = self._entries.get(iid) or self._cache.entry(iid)
        if known is not None:
            if known != entry:
                raise ConcurrencyConflict("confirmation", str(iid), expected=0, actual=1)
            return known
        self._entries[iid] = entry
        if len(self._entries) >= _CIL_BUFFER:
            self._send_before_commit(self._send_confirmations)
        return entry

    def _send_confirmations(self, cursor: _Cursor) -> None:
        """Insert the entries waiting in the open transaction, in one statement.

        An installation ID stored meanwhile by another session is fine when the stored
        entry is the same; a different one raises :class:`~mak.errors.ConcurrencyConflict`.
        """
        entries = {entry.installation_id.digits: entry for entry in self._entries.values()}
        self._entries = {}
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [])
        for digits, entry in entries.items():
            row = (
                digits,
                entry.computer_id,
                entry.activation_id,
                entry.confirmation_id.digits,
                entry.partial_key,
                entry.acquired_at,
            )
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        cursor.execute(_ADD_CONFIRMATIONS, columns)
        conflicts: list[CilEntry] = []
        if cursor.rowcount != len(entries):  # some were stored already: the same, or not?
            cursor.execute(_FIND_CONFIRMATIONS, (columns[0],))
            for row in cursor.fetchall():
                entry = entries[row[0]]
                if self._cil_entry(row, entry.installation_id) != entry:
                    conflicts.append(entry)
        for entry in entries.values():
            if entry not in conflicts:
                self._cache.keep_entry(entry)
        if conflicts:
            iid = str(conflicts[0].installation_id)
            raise ConcurrencyConflict("confirmation", iid, expected=0, actual=1)

    def _send_history(self, cursor: _Cursor) -> None:
        """Send the history records waiting in the open transaction, in one ``COPY``."""
        rows, self._history = self._history, []
        with cursor.copy(_COPY_HISTORY) as copy:
            for row in rows:
                copy.write_row(row)

    def _move_product(self, cursor: _Cursor, product: Product, new: Product) -> None:
        """Write *new*, which moves *product* to another computer or activation ID."""
        _require_computer(cursor, new.computer_id)
        _require_activation_free(cursor, product)
        statement = (
            "UPDATE products SET version = %s, computer_id = %s, activation_id = %s,"
            " family = %s, status = %s, data = %s WHERE id = %s AND version = %s"
        )
        parameters = (
            new.version,
            *_product_columns(new),
            self._dump(new),
            new.id,
            product.version,
        )
        if not self._depth:
            try:
                cursor.execute(statement, parameters)
            except psycopg.IntegrityError:
                pass  # another session took the place meanwhile: say which, below
            else:
                if cursor.rowcount == 1:
                    return
        else:
            # A constraint failing would abort the whole transaction: fence it.
            try:
                with cursor.connection.transaction():
                    cursor.execute(statement, parameters)
            except psycopg.IntegrityError:
                pass
            else:
                if cursor.rowcount == 1:
                    return
        # Another session moved the record, or took the place, meanwhile: say which.
        _require_computer(cursor, new.computer_id)
        _require_activation_free(cursor, product)
        _raise_stale(cursor, "product", product.id, product.version)

    def _cil_entry(
        self, row: Sequence[Any], installation_id: InstallationId | None = None
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
                acquired_at=acquired_at,
            )
        except (MakError, TypeError, ValueError) as error:
            reason = redact(str(error))
        raise StorageError(f"{self._name()} holds an unreadable CilEntry: {reason}")

    def _key_record(self, cursor: _Cursor, key: ProductKey) -> KeyRecord | None:
        cursor.execute("SELECT data FROM product_keys WHERE product_key = %s", (key.reveal(),))
        row = cursor.fetchone()
        return None if row is None else self._load(KeyRecord, row[0])

    def _records_by_id(self, cls: type[_Cached], record_ids: Sequence[str]) -> list[_Cached]:
        """The computers or products among *record_ids*, in their order, in one statement."""
        wanted = list(dict.fromkeys(record_ids))

        def fetch(cursor: _Cursor) -> list[_Cached]:
            cursor.execute(_SELECT_ANY[cls], (wanted,))
            found = {row[0]: self._cached(cls, row) for row in cursor.fetchall()}
            return [found[record_id] for record_id in wanted if record_id in found]

        return self._read(fetch)

    def _record(self, cursor: _Cursor, cls: type[_Cached], record_id: str) -> _Cached | None:
        """The computer or product with that id, ``None`` if there is none."""
        cursor.execute(_SELECT[cls], (record_id,))
        row = cursor.fetchone()
        return None if row is None else self._cached(cls, row)

    def _cached(self, cls: type[_Cached], row: Sequence[Any]) -> _Cached:
        """The record of an ``(id, version, data)`` row, decoded unless cached at that version."""
        record_id, version, data = row
        known = self._cache.record(cls, record_id, version)
        if known is not None:
            return known
        return self._cache.keep(self._load(cls, data))

    def _dump(self, record: object) -> str:
        return _ENCODE(self._converter.unstructure(record))

    def _load(self, cls: type[_T], data: str) -> _T:
        try:
            return self._converter.structure(json.loads(data), cls)
        except (MakError, ValueError) as error:
            reason = redact(str(error))
        raise StorageError(f"{self._name()} holds an unreadable {cls.__name__}: {reason}")


_ROLLED_BACK: Final = "Transaction rolled back: an exception left a nested transaction"
_SELECT: Final[dict[type[Any], LiteralString]] = {
    Computer: "SELECT id, version, data FROM computers WHERE id = %s",
    Product: "SELECT id, version, data FROM products WHERE id = %s",
}
_SELECT_ANY: Final[dict[type[Any], LiteralString]] = {
    Computer: "SELECT id, version, data FROM computers WHERE id = ANY(%s)",
    Product: "SELECT id, version, data FROM products WHERE id = ANY(%s)",
}
_CACHED_RECORDS: Final = LIMIT
"""How many decoded computers, products and CIL entries an inventory keeps, to read them again."""
_VERSION_OF: Final[dict[str, LiteralString]] = {
    "computer": "SELECT version FROM computers WHERE id = %s",
    "product": "SELECT version FROM products WHERE id = %s",
    "key": "SELECT version FROM product_keys WHERE product_key = %s",
}


def _in_transaction(connection: _Connection) -> bool:
    # libpq's status, asked directly: connection.info builds an object per call.
    return connection.pgconn.transaction_status in _OPEN_TRANSACTION


_OPEN_TRANSACTION: Final = frozenset(
    {TransactionStatus.INTRANS, TransactionStatus.INERROR, TransactionStatus.ACTIVE}
)


def _message(error: BaseException) -> str:
    """The first line of what went wrong: the server's primary message, never its DETAIL.

    A DETAIL line quotes the values of a violated key, and a key may be a product key.
    """
    if isinstance(error, psycopg.Error) and error.diag.message_primary:
        return error.diag.message_primary
    if isinstance(error, UnicodeError):
        return "text that cannot be stored"
    return str(error).split("\n", 1)[0]


def _same_or_conflict(kind: str, shown_id: str, given: _Record, stored: _Record) -> _Record:
    """Return *stored* if *given* holds the same data, whatever its version; else raise."""
    if attrs.evolve(given, version=stored.version) == stored:
        return stored
    raise ConcurrencyConflict(kind, shown_id, expected=given.version, actual=stored.version)


def _raise_stale(
    cursor: _Cursor, kind: str, shown_id: str, expected: int, key: str | None = None
) -> NoReturn:
    """Raise why an update matched no row: the record is unknown, or its version moved on."""
    cursor.execute(_VERSION_OF[kind], (key or shown_id,))
    row = cursor.fetchone()
    if row is None:
        raise NotFound(kind, shown_id)
    raise ConcurrencyConflict(kind, shown_id, expected=expected, actual=row[0])


def _require_computer(cursor: _Cursor, computer_id: str) -> None:
    cursor.execute("SELECT 1 FROM computers WHERE id = %s", (computer_id,))
    if cursor.fetchone() is None:
        raise NotFound("computer", computer_id)


def _require_activation_free(cursor: _Cursor, product: Product) -> None:
    """Raise unless no other product of the computer has *product*'s activation ID."""
    cursor.execute(
        "SELECT version FROM products WHERE computer_id = %s AND activation_id = %s AND id <> %s",
        (product.computer_id, product.activation_id, product.id),
    )
    row = cursor.fetchone()
    if row is not None:
        raise ConcurrencyConflict("product", product.id, expected=product.version, actual=row[0])


def _place(product: Product) -> tuple[str, str]:
    """Where a product is: its computer and activation ID, which unique keys hold."""
    return product.computer_id, product.activation_id


def _product_columns(product: Product) -> tuple[str, str, str, int]:
    status = int(product.license_state.status)
    return product.computer_id, product.activation_id, product.family.value, status


# --- connecting and migrating ----------------------------------------------------------


def _describe(dsn: str) -> tuple[tuple[str, ...], str]:
    """Return the secrets to keep out of messages, and how messages show the inventory.

    >>> _describe("postgresql://mak:s3cret@db.example:5433/fleet?sslmode=require")
    (('s3cret',), 'host=db.example port=5433 dbname=fleet user=mak')
    >>> _describe("host=db.example password=s3cret junk")
    Traceback (most recent call last):
    mak.errors.StorageError: The PostgreSQL DSN cannot be parsed (it is not shown: it may hold a password)
    """
    given = cast("object", dsn)  # untyped callers may pass anything
    if not isinstance(given, str):
        raise StorageError("A PostgreSQL inventory needs a DSN string")
    try:
        parameters = conninfo_to_dict(dsn)
    except psycopg.Error:
        parameters = None
    if parameters is None:
        # libpq's message would quote the DSN: say nothing of it.
        raise StorageError(
            "The PostgreSQL DSN cannot be parsed (it is not shown: it may hold a password)"
        )
    secrets = [str(parameters.get("password") or ""), os.environ.get("PGPASSWORD", "")]
    shown = {name: str(parameters[name]) for name in _SHOWN_PARAMETERS if parameters.get(name)}
    return tuple(secret for secret in secrets if secret), make_conninfo("", **shown)


def _prepare(connection: _Connection, schema: str, statement_timeout_ms: int, name: str) -> None:
    """Set the session up and bring the inventory's schema to :data:`SCHEMA_VERSION`."""
    connection.execute(
        "SELECT set_config('search_path', %s, false), set_config('TimeZone', 'UTC', false),"
        " set_config('statement_timeout', %s, false)",
        (sql.Identifier(schema).as_string(connection), str(statement_timeout_ms)),
    )
    version = _identity(connection, schema, name)
    if version == len(_MIGRATIONS):
        return
    with connection.transaction():
        # Under the lock, read again: another process may have just done it.
        connection.execute(
            "SELECT pg_advisory_xact_lock(%s::integer, hashtext(%s))", (_LOCK_CLASS, schema)
        )
        version = _identity(connection, schema, name)
        _migrate(connection, schema, version)


def _identity(connection: _Connection, schema: str, name: str) -> int:
    """Return the inventory's schema version (0: none yet), or refuse a schema of another use."""
    row = connection.execute(
        "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text)) IS NOT NULL,"
        " (SELECT count(*) FROM pg_catalog.pg_class c"
        "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        "  WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))",
        (schema, _VERSIONS_TABLE, schema),
    ).fetchone()
    assert row is not None  # noqa: S101  # one row, always
    marked, objects = row
    if not marked:
        if objects:
            raise StorageError(
                f"{name} is not a mak inventory: schema {schema!r} holds {objects} tables"
                " of another application; mak leaves it untouched"
            )
        return 0
    found = connection.execute(
        "SELECT coalesce(max(version), 0) FROM mak_schema_versions"
    ).fetchone()
    version = int(found[0]) if found is not None else 0
    if version > len(_MIGRATIONS):
        raise StorageError(
            f"{name} is a mak inventory of schema version {version}, newer than this mak"
            f" reads (up to {len(_MIGRATIONS)}); upgrade mak to open it"
        )
    return version


def _migrate(connection: _Connection, schema: str, version: int) -> None:
    """Apply the migration steps after *version*, in the open transaction."""
    connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    connection.execute(
        "CREATE TABLE IF NOT EXISTS mak_schema_versions ("
        " version integer NOT NULL PRIMARY KEY,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    connection.execute(
        "COMMENT ON TABLE mak_schema_versions IS"
        " 'mak inventory: the schema versions applied, by mak.adapters.postgres'"
    )
    for number, step in enumerate(_MIGRATIONS[version:], start=version + 1):
        for statement in step:
            connection.execute(statement)
        connection.execute("INSERT INTO mak_schema_versions (version) VALUES (%s)", (number,))
