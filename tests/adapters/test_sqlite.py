"""SqliteInventory: the Inventory contract, and what only the SQLite store promises."""

from __future__ import annotations

import codecs
import contextlib
import json
import sqlite3
import stat
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

import attrs
import pytest

from mak.adapters import sqlite as sqlite_adapter
from mak.adapters.sqlite import APPLICATION_ID, SCHEMA_VERSION, SqliteInventory
from mak.errors import ConcurrencyConflict, InvalidFormat, MakError, NotFound, StorageError
from mak.testing import (
    InventoryContract,
    make_action,
    make_computer,
    make_confirmation,
    make_installation_id,
    make_key,
    make_key_record,
    make_product,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from mak.model import Product
    from mak.ports import Inventory

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where a test's inventory file goes; nothing is there yet."""
    return tmp_path / "inventory.db"


@pytest.fixture
def opened() -> Iterator[list[SqliteInventory]]:
    """A list to put inventories in; each is closed when the test ends."""
    inventories: list[SqliteInventory] = []
    yield inventories
    for inventory in inventories:
        inventory.close()


def fill(inventory: SqliteInventory) -> None:
    """Store one record of every kind, and update some."""
    inventory.add_computer(make_computer(1))
    product = inventory.add_product(make_product(1))
    inventory.update_product(attrs.evolve(product, name="renamed"))
    inventory.add_key(make_key_record(1))
    inventory.add_confirmation(make_confirmation(1))
    inventory.record(make_action(1))


def everything(inventory: SqliteInventory) -> tuple[object, ...]:
    """Every record the inventory lists."""
    return (
        inventory.computers(),
        inventory.products(),
        inventory.keys(),
        inventory.confirmations(),
        inventory.history(),
    )


def raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection to *path*, to look at the file from outside."""
    return sqlite3.connect(path, isolation_level=None)


def pragma(path: Path, name: str) -> object:
    connection = raw(path)
    try:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        connection.close()


def dump(path: Path) -> list[str]:
    """The file's whole content as SQL, read through a connection of its own."""
    connection = raw(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def everything_said(error: BaseException) -> Iterator[str]:
    """Every text an error carries: message, repr, attributes and chained errors."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield from (repr(value) for value in vars(current).values())
        pending += [current.__cause__, current.__context__]


def assert_no_key_in(action: Callable[[], object], key: str) -> MakError:
    with pytest.raises(MakError) as caught:
        action()
    secret = key.replace("-", "")[:20]  # the part a masked key hides
    for text in everything_said(caught.value):
        assert secret not in text.replace("-", "").upper(), text
    return caught.value


# --- the contract --------------------------------------------------------------------------


class TestSqliteInventoryInMemory(InventoryContract):
    """The contract suite, run against a ``:memory:`` SqliteInventory."""

    @pytest.fixture
    def inventory(self) -> Iterator[SqliteInventory]:
        """A new, empty inventory in memory."""
        with SqliteInventory(":memory:") as inventory:
            yield inventory


class TestSqliteInventoryWithAKeyCodec(InventoryContract):
    """The contract suite, run against a SqliteInventory that stores keys encoded."""

    @pytest.fixture
    def inventory(self, path: Path) -> Iterator[SqliteInventory]:
        """A new, empty inventory in a new file, keys encoded by a salted codec."""
        with SqliteInventory(path, key_codec=Salted()) as inventory:
            yield inventory


class TestSqliteInventoryInAFile(InventoryContract):
    """The contract suite, run against a SqliteInventory file."""

    @pytest.fixture
    def inventory(self, path: Path) -> Iterator[SqliteInventory]:
        """A new, empty inventory in a new file."""
        with SqliteInventory(path) as inventory:
            yield inventory


def test_it_is_an_inventory() -> None:
    with SqliteInventory(":memory:") as inventory:
        port: Inventory = inventory  # mypy checks the conformance here
        assert port.computers() == []


# --- the file ------------------------------------------------------------------------------


@posix_only
def test_a_new_file_is_for_its_owner_only(path: Path, opened: list[SqliteInventory]) -> None:
    opened.append(inventory := SqliteInventory(path))
    inventory.add_key(make_key_record(1))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    wal = path.with_name(path.name + "-wal")
    assert wal.exists()  # SQLite gives its companion files the database's permissions
    assert stat.S_IMODE(wal.stat().st_mode) == 0o600


@posix_only
def test_an_empty_file_planted_with_wide_permissions_is_narrowed(
    path: Path, opened: list[SqliteInventory]
) -> None:
    # Keys are about to go into it: owner only, as for a file mak creates itself.
    path.touch(mode=0o666)
    path.chmod(0o666)
    opened.append(SqliteInventory(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_inventory_keeps_its_permissions(path: Path) -> None:
    SqliteInventory(path).close()
    path.chmod(0o640)  # the owner's choice, say for a backup group
    SqliteInventory(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_another_applications_wal_database_is_left_byte_for_byte(path: Path) -> None:
    import hashlib  # noqa: PLC0415
    import sqlite3  # noqa: PLC0415

    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("PRAGMA wal_autocheckpoint=0")
    other.execute("CREATE TABLE t (x)")
    other.execute("INSERT INTO t VALUES (1)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    wal = path.with_name(path.name + "-wal").read_bytes()
    with pytest.raises(StorageError, match="another application"):
        SqliteInventory(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert path.with_name(path.name + "-wal").read_bytes() == wal
    other.close()


def test_reopening_a_file_keeps_everything(path: Path) -> None:
    with SqliteInventory(path) as inventory:
        fill(inventory)
        before = everything(inventory)
    with SqliteInventory(path) as inventory:
        assert everything(inventory) == before
        assert inventory.product("product-0001").version == 2
        assert inventory.find_confirmation(make_installation_id(1)) == make_confirmation(1)


def test_a_path_like_is_accepted(path: Path) -> None:
    with SqliteInventory(path) as inventory:
        assert inventory.path == str(path)
        assert repr(inventory) == f"SqliteInventory({str(path)!r})"


def test_the_file_passes_an_integrity_check(path: Path) -> None:
    with SqliteInventory(path) as inventory:
        fill(inventory)
    assert pragma(path, "integrity_check") == "ok"
    connection = raw(path)
    try:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()


def test_a_file_uses_write_ahead_logging(path: Path, opened: list[SqliteInventory]) -> None:
    opened.append(SqliteInventory(path))
    assert pragma(path, "journal_mode") == "wal"


def test_foreign_keys_are_enforced(opened: list[SqliteInventory]) -> None:
    opened.append(inventory := SqliteInventory(":memory:"))
    connection = inventory._connection
    assert connection is not None
    assert connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
    with pytest.raises(sqlite3.IntegrityError):
        connection.execute(
            "INSERT INTO products VALUES ('p', 1, 'no-such-computer', 'a', 'f', 0, '{}')"
        )


def test_the_file_is_marked_as_a_mak_inventory(path: Path) -> None:
    SqliteInventory(path).close()
    assert pragma(path, "application_id") == APPLICATION_ID
    assert pragma(path, "user_version") == SCHEMA_VERSION


def test_a_missing_directory_is_a_storage_error(tmp_path: Path) -> None:
    where = tmp_path / "missing" / "inventory.db"
    with pytest.raises(StorageError, match="missing"):
        SqliteInventory(where)


def test_an_empty_path_is_refused() -> None:
    with pytest.raises(StorageError, match="needs a path"):
        SqliteInventory("")


def test_closing_ends_every_use(path: Path) -> None:
    inventory = SqliteInventory(path)
    inventory.close()
    inventory.close()
    with pytest.raises(StorageError, match="is closed"):
        inventory.computers()
    with pytest.raises(StorageError, match="is closed"):
        inventory.add_computer(make_computer(1))
    with pytest.raises(StorageError, match="is closed"), inventory.transaction():
        pass


def test_the_context_manager_closes(path: Path) -> None:
    with SqliteInventory(path) as inventory:
        pass
    with pytest.raises(StorageError, match="is closed"):
        inventory.keys()


# --- what the adapter refuses to open ------------------------------------------------------


def test_another_applications_database_is_refused_untouched(path: Path) -> None:
    connection = raw(path)
    connection.execute("CREATE TABLE songs (title TEXT)")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="is not a mak inventory") as caught:
        SqliteInventory(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before
    assert pragma(path, "journal_mode") == "delete"


def test_a_database_of_another_application_id_is_refused(path: Path) -> None:
    connection = raw(path)
    connection.execute("PRAGMA application_id = 42")
    connection.close()
    with pytest.raises(StorageError, match="is not a mak inventory"):
        SqliteInventory(path)


def test_a_file_that_is_not_sqlite_is_refused_untouched(path: Path) -> None:
    path.write_bytes(b"Name,Key\nlab,not a database at all\n" * 200)
    before = path.read_bytes()
    with pytest.raises(StorageError, match="not a SQLite database") as caught:
        SqliteInventory(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before


def test_a_newer_schema_is_refused_untouched(path: Path) -> None:
    SqliteInventory(path).close()
    connection = raw(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    before = dump(path)
    with pytest.raises(StorageError, match="newer than this mak reads") as caught:
        SqliteInventory(path)
    assert str(path) in str(caught.value)
    assert f"schema version {SCHEMA_VERSION + 1}" in str(caught.value)
    assert dump(path) == before


def test_an_unreadable_record_is_a_storage_error(opened: list[SqliteInventory]) -> None:
    opened.append(inventory := SqliteInventory(":memory:"))
    inventory.add_computer(make_computer(1))
    connection = inventory._connection
    assert connection is not None
    # Written as any writer would, at the next version: the cached copy is not it.
    connection.execute("UPDATE computers SET data = '{\"id\": 3}', version = version + 1")
    with pytest.raises(StorageError, match="unreadable Computer"):
        inventory.computers()


def test_an_unreadable_confirmation_is_a_storage_error(
    path: Path, opened: list[SqliteInventory]
) -> None:
    opened.append(writer := SqliteInventory(path))
    writer.add_confirmation(make_confirmation(1))
    connection = writer._connection
    assert connection is not None
    connection.execute("UPDATE confirmations SET acquired_at = 'yesterday'")
    opened.append(reader := SqliteInventory(path))  # the writer keeps the entry it wrote
    with pytest.raises(StorageError, match="unreadable CilEntry"):
        reader.confirmations()
    with pytest.raises(StorageError, match="unreadable CilEntry"):
        reader.find_confirmation(make_installation_id(1))


def test_text_sqlite_cannot_hold_is_refused(opened: list[SqliteInventory]) -> None:
    opened.append(inventory := SqliteInventory(":memory:"))
    with pytest.raises(InvalidFormat, match="is not valid text"):
        make_computer(1, name="PC-\ud800")  # refused before any inventory sees it
    with pytest.raises(StorageError, match="surrogates") as caught:
        inventory.computer("computer-\ud800")
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert inventory.computers() == []


# --- migrations ----------------------------------------------------------------------------


def test_a_new_file_is_migrated_to_the_current_schema(path: Path) -> None:
    SqliteInventory(path).close()
    assert pragma(path, "user_version") == SCHEMA_VERSION == 2


def products_in_id_order(path: Path) -> bool:
    """Whether the file keeps its products by id: a table without rowid is its primary key's tree."""
    connection = raw(path)
    try:
        connection.execute("SELECT rowid FROM products")
    except sqlite3.OperationalError as error:
        assert "rowid" in str(error)  # noqa: PT017  # the one failure meant
        return True
    finally:
        connection.close()
    return False


def test_a_new_file_keeps_its_products_in_id_order_on_pages_that_hold_a_product(
    path: Path,
) -> None:
    SqliteInventory(path).close()
    assert products_in_id_order(path)
    assert pragma(path, "page_size") == 8192


def test_a_file_of_smaller_pages_gets_its_products_in_id_order_once_given_bigger_ones(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        # As an earlier mak made files: SQLite's default pages, products in discovery order.
        patched.setattr(sqlite_adapter, "_PAGE_SIZE", 4096)
        patched.setattr(sqlite_adapter, "_products_to_order", lambda _: False)
        with SqliteInventory(path) as old:
            fill(old)
            for n in (3, 2):  # stored out of id order, as discovery does
                old.add_product(make_product(n, name=f"product {n}"))
            before = everything(old)
    # Without rowid, 4 KiB pages would put each product's row half on an overflow page.
    SqliteInventory(path).close()
    assert pragma(path, "page_size") == 4096
    assert not products_in_id_order(path)
    connection = raw(path)  # the docs' recipe, with no process using the file
    try:
        for statement in ("journal_mode = DELETE", "page_size = 8192", "", "journal_mode = WAL"):
            connection.execute(f"PRAGMA {statement}" if statement else "VACUUM")
    finally:
        connection.close()
    with SqliteInventory(path) as inventory:
        assert everything(inventory) == before
        assert [p.id for p in inventory.products()] == [
            "product-0001",
            "product-0002",
            "product-0003",
        ]
        # The constraints came along: a second product of a computer's activation ID is refused.
        clash = make_product(4, activation_id=make_product(1).activation_id)
        with pytest.raises(ConcurrencyConflict):
            inventory.add_product(clash)
        second = inventory.product("product-0002")
        updated = inventory.update_product(attrs.evolve(second, name="again"))
        assert inventory.product("product-0002") == updated
    assert products_in_id_order(path)
    assert pragma(path, "user_version") == SCHEMA_VERSION
    connection = raw(path)
    try:
        indexes = {row[1] for row in connection.execute("PRAGMA index_list(products)")}
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()
    assert {"products_by_family", "products_by_status"} <= indexes


# --- several connections to one file -------------------------------------------------------


def test_a_stale_update_through_a_second_object_is_refused(
    path: Path, opened: list[SqliteInventory]
) -> None:
    opened.append(first := SqliteInventory(path))
    opened.append(second := SqliteInventory(path))
    first.add_computer(make_computer(1))
    read = second.computer("computer-0001")
    kept = first.update_computer(attrs.evolve(read, name="BY-FIRST"))
    with pytest.raises(ConcurrencyConflict) as caught:
        second.update_computer(attrs.evolve(read, name="BY-SECOND"))
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert second.computer("computer-0001") == kept


def test_a_record_another_writer_changed_is_read_again(
    path: Path, opened: list[SqliteInventory]
) -> None:
    opened.append(first := SqliteInventory(path))
    opened.append(second := SqliteInventory(path))
    first.add_computer(make_computer(1))
    product = first.add_product(make_product(1))
    assert first.product(product.id) is first.product(product.id)  # decoded once, then kept
    changed = second.update_product(attrs.evolve(second.product(product.id), name="BY-SECOND"))
    assert first.product(product.id) == changed
    assert first.products() == [changed]


def test_a_rolled_back_write_is_never_read_back(path: Path, opened: list[SqliteInventory]) -> None:
    opened.append(first := SqliteInventory(path))
    opened.append(second := SqliteInventory(path))
    first.add_computer(make_computer(1))
    product = first.add_product(make_product(1))

    def roll_back() -> None:
        with first.transaction():
            first.update_product(attrs.evolve(product, name="ROLLED-BACK"))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        roll_back()
    # Another writer now takes the version the rolled-back write had, with other data.
    kept = second.update_product(attrs.evolve(product, name="BY-SECOND"))
    assert first.product(product.id) == kept
    assert first.product(product.id).name == "BY-SECOND"


def test_a_rolled_back_confirmation_is_never_found(
    path: Path, opened: list[SqliteInventory]
) -> None:
    opened.append(first := SqliteInventory(path))
    opened.append(second := SqliteInventory(path))
    entry = make_confirmation(1)

    def roll_back() -> None:
        with first.transaction():
            first.add_confirmation(entry)
            assert first.find_confirmation(entry.installation_id) == entry
            raise RuntimeError

    with pytest.raises(RuntimeError):
        roll_back()
    other = attrs.evolve(entry, partial_key="QQQQQ")  # another writer's, for the same IID
    second.add_confirmation(other)
    assert first.find_confirmation(entry.installation_id) == other


def test_objects_on_one_file_lose_no_update(path: Path, opened: list[SqliteInventory]) -> None:
    opened.append(setup := SqliteInventory(path))
    setup.add_key(make_key_record(1))
    workers, rounds = 4, 10
    failures: list[BaseException] = []

    def bump() -> None:
        with SqliteInventory(path) as own:
            for _ in range(rounds):
                while True:
                    record = own.key(make_key(1))
                    try:
                        own.update_key(attrs.evolve(record, edition=f"v{record.version}"))
                    except ConcurrencyConflict:
                        continue
                    break

    def run() -> None:
        try:
            bump()
        except BaseException as error:  # noqa: BLE001  # reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert setup.key(make_key(1)).version == 1 + workers * rounds


_BUMP_IN_A_PROCESS = """
import sys, attrs
from mak.adapters.sqlite import SqliteInventory
from mak.errors import ConcurrencyConflict
from mak.testing import make_key
with SqliteInventory(sys.argv[1]) as inventory:
    for _ in range(int(sys.argv[2])):
        while True:
            record = inventory.key(make_key(1))
            try:
                inventory.update_key(attrs.evolve(record, edition=f"v{record.version}"))
            except ConcurrencyConflict:
                continue
            break
"""


def test_processes_on_one_file_lose_no_update(path: Path, opened: list[SqliteInventory]) -> None:
    opened.append(setup := SqliteInventory(path))
    setup.add_key(make_key_record(1))
    processes, rounds = 3, 15
    children = [
        subprocess.Popen([sys.executable, "-c", _BUMP_IN_A_PROCESS, str(path), str(rounds)])
        for _ in range(processes)
    ]
    assert [child.wait(120) for child in children] == [0] * processes
    assert setup.key(make_key(1)).version == 1 + processes * rounds


def test_objects_opening_a_new_file_at_once_all_succeed(path: Path) -> None:
    opened: list[object] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        barrier.wait()
        try:
            opened.append(SqliteInventory(path))
        except BaseException as error:  # noqa: BLE001  # reported by the assertion below
            opened.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    inventories = [o for o in opened if isinstance(o, SqliteInventory)]
    try:
        assert len(inventories) == 4, opened
        inventories[0].add_computer(make_computer(1))
        assert all(len(i.computers()) == 1 for i in inventories)
    finally:
        for inventory in inventories:
            inventory.close()
    assert pragma(path, "user_version") == SCHEMA_VERSION


def test_opening_a_new_file_waits_for_a_writer_rather_than_failing_at_once(
    path: Path, opened: list[SqliteInventory]
) -> None:
    # Switching a new file to WAL while another connection holds the write lock is refused
    # by SQLite at once, without its busy handler: the race of several openers in CI.
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.2, blocker.execute, ("COMMIT",))
    release.start()
    try:
        opened.append(inventory := SqliteInventory(path))
    finally:
        release.join()
        blocker.close()
    assert inventory.add_computer(make_computer(1)).version == 1
    assert pragma(path, "journal_mode") == "wal"


def test_opening_a_new_file_held_too_long_by_a_writer_is_a_storage_error(
    path: Path, opened: list[SqliteInventory], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_adapter, "BUSY_TIMEOUT", 0.05)
    blocker = raw(path)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError, match=r"Cannot open SQLite inventory .*locked"):
            SqliteInventory(path)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    opened.append(SqliteInventory(path))
    assert pragma(path, "journal_mode") == "wal"


def test_a_transaction_is_invisible_to_other_connections_until_it_ends(
    path: Path, opened: list[SqliteInventory]
) -> None:
    opened.append(writer := SqliteInventory(path))
    opened.append(reader := SqliteInventory(path))
    with writer.transaction():
        for n in range(3):
            writer.add_computer(make_computer(n))
        writer.add_confirmation(make_confirmation(1))
        assert reader.computers() == []
        assert reader.find_confirmation(make_installation_id(1)) is None
    assert len(reader.computers()) == 3


def test_a_failed_transaction_leaves_the_file_unchanged(path: Path) -> None:
    with SqliteInventory(path) as inventory:
        fill(inventory)
    before = dump(path)
    with SqliteInventory(path) as inventory:
        stored = inventory.computer("computer-0001")

        def fail() -> None:
            with inventory.transaction():
                inventory.update_computer(attrs.evolve(stored, name="CHANGED"))
                inventory.add_computer(make_computer(2))
                inventory.add_confirmation(make_confirmation(2))
                inventory.record(make_action(2))
                raise RuntimeError

        with pytest.raises(RuntimeError):
            fail()
    assert dump(path) == before


def test_a_write_waiting_too_long_for_a_lock_is_a_storage_error(
    path: Path, opened: list[SqliteInventory], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_adapter, "BUSY_TIMEOUT", 0.05)
    opened.append(inventory := SqliteInventory(path))
    blocker = raw(path)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError, match="locked"):
            inventory.add_computer(make_computer(1))
        with pytest.raises(StorageError, match="locked"), inventory.transaction():
            pass
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert inventory.add_computer(make_computer(1)).version == 1


# --- the read cache and the writes held back ------------------------------------------------


def traced(inventory: SqliteInventory) -> list[str]:
    """The first word of each statement *inventory* runs from now on (one per executemany row)."""
    statements: list[str] = []
    connection = inventory._connection
    assert connection is not None
    connection.set_trace_callback(lambda sql: statements.append(sql.split()[0]))
    return statements


def refuse_history(inventory: SqliteInventory, word: str) -> None:
    """Make SQLite refuse, as a failing disk would, every history row whose data holds *word*."""
    connection = inventory._connection
    assert connection is not None
    connection.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON history"
        f" WHEN instr(NEW.data, '{word}') BEGIN SELECT RAISE(ABORT, 'the disk said no'); END"
    )


def stored_in(inventory: SqliteInventory) -> Product:
    """A computer and a product added to *inventory*; return the product as stored."""
    inventory.add_computer(make_computer(1))
    return inventory.add_product(make_product(1))


def test_a_cached_read_sees_what_another_connection_committed(
    path: Path, opened: list[SqliteInventory]
) -> None:
    opened.append(first := SqliteInventory(path))
    opened.append(second := SqliteInventory(path))
    product = stored_in(first)
    assert second.product(product.id) == product  # now in the second's cache
    assert second.computer("computer-0001").name == "LAB-PC-0001"
    renamed = first.update_product(attrs.evolve(product, name="renamed"))
    first.update_computer(attrs.evolve(first.computer("computer-0001"), name="PC-RENAMED"))
    assert second.product(product.id) == renamed
    assert second.computer("computer-0001").name == "PC-RENAMED"
    again = first.update_product(attrs.evolve(renamed, name="again"))
    with second.transaction():
        assert second.product(product.id) == again


def test_a_write_from_a_read_another_connection_outdated_conflicts_at_once(
    path: Path, opened: list[SqliteInventory]
) -> None:
    opened.append(first := SqliteInventory(path))
    opened.append(second := SqliteInventory(path))
    product = stored_in(first)
    stale = second.product(product.id)
    kept = first.update_product(attrs.evolve(product, name="first"))
    conflict = "written from version 1, stored version is 2"
    with second.transaction():
        with pytest.raises(ConcurrencyConflict, match=conflict):
            second.update_product(attrs.evolve(stale, name="second"))
        second.record(make_action(1))
    with pytest.raises(ConcurrencyConflict, match=conflict):
        second.update_product(attrs.evolve(stale, name="second"))
    assert first.product(product.id) == second.product(product.id) == kept
    assert first.history() == [make_action(1)]


def test_a_stale_write_in_a_transaction_conflicts_at_once(opened: list[SqliteInventory]) -> None:
    opened.append(inventory := SqliteInventory(":memory:"))
    product = stored_in(inventory)
    with inventory.transaction():
        newer = inventory.update_product(attrs.evolve(product, name="newer"))
        with pytest.raises(ConcurrencyConflict, match="version 1, stored version is 2"):
            inventory.update_product(attrs.evolve(product, name="stale"))
        inventory.record(make_action(1))
    assert inventory.product(product.id) == newer
    assert inventory.history() == [make_action(1)]


def test_an_iid_not_in_the_cil_is_found_once_another_connection_keeps_it(
    path: Path, opened: list[SqliteInventory]
) -> None:
    opened.append(first := SqliteInventory(path))
    opened.append(second := SqliteInventory(path))
    iid = make_installation_id(1)
    assert second.find_confirmation(iid) is None
    entry = first.add_confirmation(make_confirmation(1))
    assert second.find_confirmation(iid) == entry
    other = make_installation_id(2)
    with contextlib.suppress(RuntimeError), second.transaction():
        assert second.find_confirmation(other) is None
        second.add_confirmation(make_confirmation(2))
        assert second.find_confirmation(other) == make_confirmation(2)
        raise RuntimeError
    assert second.find_confirmation(other) is None
    assert first.find_confirmation(other) is None


def test_in_a_transaction_cached_reads_run_no_sql_and_writes_wait_for_its_end(
    path: Path, opened: list[SqliteInventory]
) -> None:
    opened.append(inventory := SqliteInventory(path))
    product = stored_in(inventory)
    statements = traced(inventory)
    with inventory.transaction():
        inventory.update_product(attrs.evolve(inventory.product(product.id), name="a"))
        inventory.record(make_action(1))
        last = inventory.update_product(attrs.evolve(inventory.product(product.id), name="b"))
        inventory.computer("computer-0001")
        assert statements == ["BEGIN", "PRAGMA"]  # the one look at data_version
    # The history row, then the product's two updates written as one, then the commit.
    assert statements == ["BEGIN", "PRAGMA", "INSERT", "UPDATE", "COMMIT"]
    outside = raw(path)
    try:
        assert outside.execute("SELECT version FROM products").fetchall() == [(3,)]
    finally:
        outside.close()
    assert inventory.products() == [last]


def test_a_history_read_in_a_transaction_sees_the_rows_held_back_in_order(
    path: Path, opened: list[SqliteInventory]
) -> None:
    opened.append(inventory := SqliteInventory(path))
    product = stored_in(inventory)
    inventory.record(make_action(0))
    with inventory.transaction():
        inventory.record(make_action(1))
        changed = inventory.update_product(attrs.evolve(product, name="changed"))
        inventory.record(make_action(2, product_id=None))
        assert inventory.history() == [make_action(n) for n in range(2)] + [
            make_action(2, product_id=None)
        ]
        assert inventory.history(product_id=product.id) == [make_action(0), make_action(1)]
        assert inventory.products() == [changed]
        outside = raw(path)
        try:
            assert outside.execute("SELECT count(*) FROM history").fetchone() == (1,)
        finally:
            outside.close()
        inventory.record(make_action(3))
    assert [action.detail for action in inventory.history()] == [
        f"sample action {n}" for n in range(4)
    ]


def test_a_failed_write_at_the_end_of_a_transaction_leaves_nothing_of_it(
    path: Path, opened: list[SqliteInventory]
) -> None:
    opened.append(inventory := SqliteInventory(path))
    product = stored_in(inventory)
    refuse_history(inventory, "boom")
    before = dump(path)

    def write_all() -> None:
        with inventory.transaction():
            inventory.update_product(attrs.evolve(product, name="lost"))
            inventory.record(make_action(1))  # written before the refused one, then undone
            inventory.record(make_action(2, detail="boom"))
            inventory.add_confirmation(make_confirmation(1))
            inventory.add_computer(make_computer(2))

    with pytest.raises(StorageError, match="the disk said no"):
        write_all()
    assert dump(path) == before
    assert inventory.product(product.id) == product
    assert inventory.history() == []
    assert inventory.find_confirmation(make_installation_id(1)) is None
    assert [c.id for c in inventory.computers()] == ["computer-0001"]
    with inventory.transaction():  # nothing is left held back
        kept = inventory.update_product(attrs.evolve(product, name="kept"))
        inventory.record(make_action(3))
    assert inventory.products() == [kept]
    assert inventory.history() == [make_action(3)]


def test_a_failed_write_of_rows_held_back_dooms_the_transaction(
    path: Path, opened: list[SqliteInventory]
) -> None:
    opened.append(inventory := SqliteInventory(path))
    product = stored_in(inventory)
    refuse_history(inventory, "boom")
    before = dump(path)

    def read_midway() -> None:
        with inventory.transaction():
            inventory.update_product(attrs.evolve(product, name="lost"))
            inventory.add_computer(make_computer(2))
            inventory.record(make_action(1, detail="boom"))
            with pytest.raises(StorageError, match="the disk said no"):
                inventory.history()
            with pytest.raises(StorageError, match="rolled the transaction back"):
                inventory.record(make_action(2))
            assert inventory.product(product.id) == product  # read again: as stored

    with pytest.raises(StorageError, match="rolled the transaction back"):
        read_midway()
    assert dump(path) == before
    assert inventory.products() == [product]


def test_text_sqlite_cannot_hold_fails_when_held_back_not_at_the_end(
    opened: list[SqliteInventory],
) -> None:
    opened.append(inventory := SqliteInventory(":memory:"))
    with inventory.transaction():
        with pytest.raises(StorageError, match="surrogates") as caught:
            inventory.record(make_action(1, detail="bad \ud800"))
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None
        inventory.record(make_action(2))
    assert inventory.history() == [make_action(2)]


# --- product keys --------------------------------------------------------------------------


def test_keys_are_stored_in_full_in_the_file(path: Path) -> None:
    record = make_key_record(1)
    with SqliteInventory(path) as inventory:
        inventory.add_key(record)
    connection = raw(path)
    try:
        (data,) = connection.execute("SELECT data FROM product_keys").fetchone()
    finally:
        connection.close()
    assert json.loads(data)["key"] == record.key.reveal()


def test_keys_never_reach_an_error(opened: list[SqliteInventory]) -> None:
    opened.append(inventory := SqliteInventory(":memory:"))
    record = inventory.add_key(make_key_record(1))
    secret = record.key.reveal()
    conflict = assert_no_key_in(
        lambda: inventory.add_key(attrs.evolve(record, edition="other")), secret
    )
    assert isinstance(conflict, ConcurrencyConflict)
    inventory.update_key(attrs.evolve(record, edition="newer"))
    assert_no_key_in(lambda: inventory.update_key(attrs.evolve(record, edition="stale")), secret)
    missing = make_key(2)
    assert isinstance(assert_no_key_in(lambda: inventory.key(missing), missing.reveal()), NotFound)
    # A record damaged in the file: the error explains, and still hides the key.
    connection = inventory._connection
    assert connection is not None
    bad = json.dumps({"key": secret, "channel": "no such channel"})
    connection.execute("UPDATE product_keys SET data = ?", (bad,))
    damaged = assert_no_key_in(lambda: inventory.key(record.key), secret)
    assert isinstance(damaged, StorageError)


def test_a_failing_write_says_what_sqlite_said_without_the_key(
    opened: list[SqliteInventory],
) -> None:
    opened.append(inventory := SqliteInventory(":memory:"))
    connection = inventory._connection
    assert connection is not None
    connection.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON product_keys BEGIN"
        " SELECT RAISE(ABORT, 'the disk said no'); END"
    )
    record = make_key_record(3)
    error = assert_no_key_in(lambda: inventory.add_key(record), record.key.reveal())
    assert type(error) is StorageError
    assert "the disk said no" in str(error)
    assert inventory.keys() == []


def test_a_first_version_file_keeps_its_keys_in_clear_after_migrating(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(sqlite_adapter, "_MIGRATIONS", sqlite_adapter._MIGRATIONS[:1])
        patched.setattr(sqlite_adapter, "_check_key_storage", lambda *_: None)
        with SqliteInventory(path) as old:
            fill(old)
            before = everything(old)
        assert pragma(path, "user_version") == 1
    with SqliteInventory(path) as inventory:
        assert everything(inventory) == before
    assert pragma(path, "user_version") == SCHEMA_VERSION
    with pytest.raises(StorageError, match="without a key codec"):
        SqliteInventory(path, key_codec=Rot13())


# --- keys at rest ---------------------------------------------------------------------------


class Rot13:
    """A reversible codec for tests: not encryption, but no key survives it as written."""

    def encode(self, key: str, /) -> str:
        return "rot13:" + codecs.encode(key, "rot13")

    def decode(self, stored: str, /) -> str:
        if not stored.startswith("rot13:"):
            raise ValueError(f"not mine: {stored}")
        return codecs.decode(stored.removeprefix("rot13:"), "rot13")


class Salted(Rot13):
    """A codec whose output changes at every call, as real encryption's does."""

    count = 0

    def encode(self, key: str, /) -> str:
        Salted.count += 1
        return f"{super().encode(key)}:{Salted.count}"

    def decode(self, stored: str, /) -> str:
        return super().decode(stored.rsplit(":", 1)[0])


@pytest.mark.parametrize("codec", [Rot13(), Salted()], ids=["fixed", "salted"])
def test_a_key_codec_keeps_every_key_out_of_the_file(path: Path, codec: Rot13) -> None:
    record = make_key_record(1)
    secret = record.key.reveal()
    with SqliteInventory(path, key_codec=codec) as inventory:
        stored = inventory.add_key(record)
        assert inventory.add_key(record) == stored  # found again by its digest
        updated = inventory.update_key(attrs.evolve(stored, edition="Windows 11 Enterprise"))
        assert inventory.key(record.key) == updated
        assert inventory.keys() == [updated]
    with SqliteInventory(path, key_codec=codec) as reopened:
        assert reopened.key(record.key) == updated
    raw_bytes = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    for text in (secret, secret.replace("-", ""), *secret.split("-")[:4]):
        assert text.encode() not in raw_bytes


def test_an_inventory_with_a_codec_is_refused_without_it(path: Path) -> None:
    with SqliteInventory(path, key_codec=Rot13()) as inventory:
        inventory.add_key(make_key_record(1))
    with pytest.raises(StorageError, match="with a key codec"):
        SqliteInventory(path)


def test_a_key_the_codec_cannot_read_is_a_storage_error_that_quotes_nothing(path: Path) -> None:
    record = make_key_record(1)
    with SqliteInventory(path, key_codec=Rot13()) as inventory:
        inventory.add_key(record)
    connection = raw(path)
    try:
        connection.execute("UPDATE product_keys SET data = replace(data, 'rot13:', 'other:')")
        connection.commit()
    finally:
        connection.close()
    with SqliteInventory(path, key_codec=Rot13()) as inventory:
        with pytest.raises(StorageError, match="could not decode") as caught:
            inventory.key(record.key)
        assert "other:" not in str(caught.value)
        assert caught.value.__cause__ is None


def test_closing_inside_a_transaction_ends_it_with_a_storage_error(
    opened: list[SqliteInventory],
) -> None:
    opened.append(inventory := SqliteInventory(":memory:"))

    def close_midway() -> None:
        with inventory.transaction():
            inventory.add_computer(make_computer(1))
            inventory.close()

    with pytest.raises(StorageError, match="closed"):
        close_midway()
