"""PostgresInventory: the Inventory contract on a real server, and what only it promises.

These tests need a PostgreSQL server: set ``MAK_TEST_POSTGRES_URL`` to a DSN whose user
may create schemas in its database (each test works in a schema of its own, dropped
afterwards). Without it the module is skipped, saying why; with ``MAK_REQUIRE_POSTGRES=1``
as well (as ``.ci/run`` sets), a missing URL fails the run instead. docs/postgres.md says
how to start a throwaway server.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from math import ceil
from typing import TYPE_CHECKING, Any

import pytest

URL = os.environ.get("MAK_TEST_POSTGRES_URL", "")
if not URL:
    if os.environ.get("MAK_REQUIRE_POSTGRES", "") == "1":
        pytest.fail("MAK_REQUIRE_POSTGRES=1, but MAK_TEST_POSTGRES_URL is not set", pytrace=False)
    pytest.skip(
        "MAK_TEST_POSTGRES_URL is not set: the PostgreSQL inventory tests need a server"
        " (docs/postgres.md, 'Running the tests', says how to start one)",
        allow_module_level=True,
    )

# Only now: psycopg is needed where a server is.
import attrs  # noqa: E402
import psycopg  # noqa: E402

from mak.adapters import postgres as postgres_adapter  # noqa: E402
from mak.adapters.postgres import SCHEMA_VERSION, PostgresInventory  # noqa: E402
from mak.catalog import ProductFamily  # noqa: E402
from mak.errors import ConcurrencyConflict, MakError, NotFound, StorageError  # noqa: E402
from mak.lifecycle import LicenseStatus  # noqa: E402
from mak.manager import VolumeActivationManager  # noqa: E402
from mak.model import ByWorkgroup  # noqa: E402
from mak.proxystage import ProxyStage  # noqa: E402
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet  # noqa: E402
from mak.testing import (  # noqa: E402
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

    from mak.ports import Inventory


def admin() -> psycopg.Connection[tuple[Any, ...]]:
    """A plain connection to the test database, to look at it from outside."""
    return psycopg.connect(URL, autocommit=True)


@pytest.fixture
def schema() -> Iterator[str]:
    """A new schema name, nothing in it yet; dropped, with what is in it, afterwards."""
    name = f"mak_test_{uuid.uuid4().hex[:16]}"
    yield name
    with admin() as connection:
        connection.execute(
            psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                psycopg.sql.Identifier(name)
            )
        )


@pytest.fixture
def opened(schema: str) -> Iterator[Callable[..., PostgresInventory]]:
    """Open inventories on the test's schema; each is closed when the test ends."""
    inventories: list[PostgresInventory] = []

    def open_one(**options: Any) -> PostgresInventory:
        inventory = PostgresInventory(URL, schema=schema, **options)
        inventories.append(inventory)
        return inventory

    yield open_one
    for inventory in inventories:
        inventory.close()


def execute(schema: str, statement: str, *parameters: object) -> list[tuple[Any, ...]]:
    """Run *statement* in *schema* through a connection of its own; return its rows."""
    with admin() as connection:
        connection.execute(
            "SELECT set_config('search_path', %s, false)",
            (psycopg.sql.Identifier(schema).as_string(connection),),
        )
        cursor = connection.execute(statement, parameters or None)
        return cursor.fetchall() if cursor.description else []


def fill(inventory: PostgresInventory) -> None:
    """Store one record of every kind, and update some."""
    inventory.add_computer(make_computer(1))
    product = inventory.add_product(make_product(1))
    inventory.update_product(attrs.evolve(product, name="renamed"))
    inventory.add_key(make_key_record(1))
    inventory.add_confirmation(make_confirmation(1))
    inventory.record(make_action(1))


def everything(inventory: PostgresInventory) -> tuple[object, ...]:
    """Every record the inventory lists."""
    return (
        inventory.computers(),
        inventory.products(),
        inventory.keys(),
        inventory.confirmations(),
        inventory.history(),
    )


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


def assert_never_said(error: BaseException, secret: str) -> None:
    for text in everything_said(error):
        assert secret not in text, text


def with_password(password: str, **changes: str) -> str:
    """The test URL with *password* (and any other *changes*) in it, as a conninfo string."""
    parameters = psycopg.conninfo.conninfo_to_dict(URL)
    parameters.update(password=password, **changes)
    return psycopg.conninfo.make_conninfo("", **{k: str(v) for k, v in parameters.items()})


# --- the contract --------------------------------------------------------------------------


class TestPostgresInventory(InventoryContract):
    """The contract suite, run against a PostgresInventory in a new schema."""

    @pytest.fixture
    def inventory(self, schema: str) -> Iterator[PostgresInventory]:
        """A new, empty inventory in a schema of its own."""
        with PostgresInventory(URL, schema=schema) as inventory:
            yield inventory


def test_it_is_an_inventory(opened: Callable[..., PostgresInventory]) -> None:
    port: Inventory = opened()  # mypy checks the conformance here
    assert port.computers() == []


def test_the_package_exports_it_lazily() -> None:
    import mak.adapters  # noqa: PLC0415

    assert mak.adapters.PostgresInventory is PostgresInventory
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = mak.adapters.Nope


def test_importing_the_adapters_needs_no_psycopg() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "import mak.adapters\n"
        "from mak.adapters import *\n"
        "try:\n"
        "    mak.adapters.PostgresInventory\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "pip install 'mak[postgres]'" in result.stdout


# --- the schema ----------------------------------------------------------------------------


def test_a_new_schema_is_created_at_the_current_version(
    schema: str, opened: Callable[..., PostgresInventory]
) -> None:
    inventory = opened()
    assert inventory.schema == schema
    assert execute(schema, "SELECT version FROM mak_schema_versions") == [(SCHEMA_VERSION,)]
    tables = {
        name
        for (name,) in execute(
            schema, "SELECT tablename FROM pg_tables WHERE schemaname = %s", schema
        )
    }
    assert tables == {
        "mak_schema_versions",
        "computers",
        "products",
        "product_keys",
        "confirmations",
        "history",
    }


def test_reopening_keeps_everything(opened: Callable[..., PostgresInventory]) -> None:
    first = opened()
    fill(first)
    before = everything(first)
    first.close()
    again = opened()
    assert everything(again) == before
    assert again.product("product-0001").version == 2
    assert again.find_confirmation(make_installation_id(1)) == make_confirmation(1)


def test_the_installation_id_is_unique_in_the_database(
    schema: str, opened: Callable[..., PostgresInventory]
) -> None:
    opened().add_confirmation(make_confirmation(1))
    with pytest.raises(psycopg.errors.UniqueViolation):
        execute(
            schema,
            "INSERT INTO confirmations (installation_id, computer_id, activation_id,"
            " confirmation_id, partial_key, acquired_at)"
            " SELECT installation_id, 'other', activation_id, confirmation_id, partial_key,"
            " acquired_at FROM confirmations",
        )


def test_ids_sort_as_python_sorts_them(opened: Callable[..., PostgresInventory]) -> None:
    inventory = opened()
    ids = ["b", "B", "a", "é", "Z-9", "z-10", "ä"]
    for n, computer_id in enumerate(ids):
        inventory.add_computer(make_computer(n, id=computer_id))
    assert [c.id for c in inventory.computers()] == sorted(ids)


def test_free_text_postgresql_cannot_hold_reads_back(
    opened: Callable[..., PostgresInventory],
) -> None:
    inventory = opened()
    action = make_action(1, detail="NUL \x00 and a lone surrogate \ud800")
    inventory.record(action)
    assert inventory.history() == [action]


def test_another_applications_schema_is_refused_untouched(schema: str) -> None:
    execute(schema, f'CREATE SCHEMA "{schema}"')
    execute(schema, "CREATE TABLE songs (title text)")
    execute(schema, "INSERT INTO songs VALUES ('la')")
    with pytest.raises(StorageError, match="is not a mak inventory") as caught:
        PostgresInventory(URL, schema=schema)
    assert "another application" in str(caught.value)
    tables = execute(schema, "SELECT tablename FROM pg_tables WHERE schemaname = %s", schema)
    assert tables == [("songs",)]
    assert execute(schema, "SELECT title FROM songs") == [("la",)]


def test_a_newer_schema_is_refused_untouched(
    schema: str, opened: Callable[..., PostgresInventory]
) -> None:
    fill(opened())
    execute(schema, "INSERT INTO mak_schema_versions (version) VALUES (%s)", SCHEMA_VERSION + 1)
    with pytest.raises(StorageError, match="newer than this mak reads") as caught:
        PostgresInventory(URL, schema=schema)
    assert f"schema version {SCHEMA_VERSION + 1}" in str(caught.value)
    assert execute(schema, "SELECT count(*) FROM computers") == [(1,)]


def test_an_older_schema_is_migrated_forward_keeping_its_data(
    schema: str, opened: Callable[..., PostgresInventory], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = opened()
    fill(first)
    before = everything(first)
    first.close()
    step = ("ALTER TABLE computers ADD COLUMN note text",)
    monkeypatch.setattr(postgres_adapter, "_MIGRATIONS", [*postgres_adapter._MIGRATIONS, step])
    again = opened()
    assert everything(again) == before
    assert execute(schema, "SELECT version FROM mak_schema_versions ORDER BY version") == [
        (1,),
        (2,),
    ]
    assert execute(
        schema,
        "SELECT 1 FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name = 'computers' AND column_name = 'note'",
        schema,
    ) == [(1,)]


def test_a_failed_migration_changes_nothing(
    schema: str, opened: Callable[..., PostgresInventory], monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(opened())
    steps = ("CREATE TABLE extra (x integer)", "ALTER TABLE no_such_table ADD COLUMN y integer")
    monkeypatch.setattr(postgres_adapter, "_MIGRATIONS", [*postgres_adapter._MIGRATIONS, steps])
    with pytest.raises(StorageError, match="no_such_table"):
        PostgresInventory(URL, schema=schema)
    assert execute(schema, "SELECT version FROM mak_schema_versions") == [(1,)]
    assert execute(schema, "SELECT to_regclass('extra') IS NULL") == [(True,)]


def test_inventories_opening_a_new_schema_at_once_all_succeed(schema: str) -> None:
    results: list[object] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        barrier.wait()
        try:
            results.append(PostgresInventory(URL, schema=schema))
        except BaseException as error:  # noqa: BLE001  # reported by the assertion below
            results.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    inventories = [r for r in results if isinstance(r, PostgresInventory)]
    try:
        assert len(inventories) == 4, results
        inventories[0].add_computer(make_computer(1))
        assert all(len(i.computers()) == 1 for i in inventories)
    finally:
        for inventory in inventories:
            inventory.close()
    assert execute(schema, "SELECT version FROM mak_schema_versions") == [(SCHEMA_VERSION,)]


def test_a_schema_name_is_quoted_not_interpreted(opened: Callable[..., PostgresInventory]) -> None:
    name = f'mak test "{uuid.uuid4().hex[:8]}"; DROP TABLE x'
    try:
        with PostgresInventory(URL, schema=name) as inventory:
            inventory.add_computer(make_computer(1))
            assert inventory.schema == name
    finally:
        with admin() as connection:
            connection.execute(
                psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    psycopg.sql.Identifier(name)
                )
            )


@pytest.mark.parametrize("value", ["", "a\x00b", 42])
def test_a_bad_schema_name_is_refused(value: object) -> None:
    with pytest.raises(StorageError, match="needs a schema name"):
        PostgresInventory(URL, schema=value)  # type: ignore[arg-type]


# --- connections ---------------------------------------------------------------------------


def test_an_unreachable_server_is_a_storage_error_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    password = "pw-" + uuid.uuid4().hex  # a test's own
    dsn = f"postgresql://mak:{password}@127.0.0.1:1/mak_inventory"
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        PostgresInventory(dsn, connect_timeout=2)
    assert time.monotonic() - started < 30
    message = str(caught.value)
    assert message.startswith("Cannot connect to the PostgreSQL inventory")
    assert "host=127.0.0.1 port=1 dbname=mak_inventory user=mak" in message
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert_never_said(caught.value, password)
    assert password not in caplog.text


def test_a_wrong_password_is_a_storage_error_without_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    password = "wrong-" + uuid.uuid4().hex  # a test's own
    try:
        psycopg.connect(with_password(password)).close()
    except psycopg.OperationalError:
        pass
    else:
        pytest.skip("the test server does not check passwords (trust authentication)")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StorageError, match="password authentication failed") as caught:
        PostgresInventory(with_password(password), schema="mak_never_created")
    assert_never_said(caught.value, password)
    assert password not in caplog.text


def test_a_dsn_that_cannot_be_parsed_is_never_quoted() -> None:
    with pytest.raises(StorageError, match="cannot be parsed") as caught:
        PostgresInventory("host=127.0.0.1 password=hunter2-secret junk")
    assert_never_said(caught.value, "hunter2")


def test_a_dsn_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(StorageError, match="needs a DSN"):
        PostgresInventory(None)  # type: ignore[arg-type]


def test_the_password_is_never_shown(opened: Callable[..., PostgresInventory]) -> None:
    inventory = opened()
    password = psycopg.conninfo.conninfo_to_dict(URL).get("password")
    shown = repr(inventory)
    assert shown.startswith("PostgresInventory('")
    assert "password" not in shown
    if password:
        assert str(password) not in shown


def test_a_server_message_quoting_the_password_is_scrubbed(
    opened: Callable[..., PostgresInventory], schema: str
) -> None:
    inventory = opened()
    password = psycopg.conninfo.conninfo_to_dict(URL).get("password")
    if not password:
        pytest.skip("the test URL carries no password")
    execute(
        schema,
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN RAISE EXCEPTION 'the password is {password}'; END $$",
    )
    execute(
        schema,
        "CREATE TRIGGER refuse BEFORE INSERT ON computers FOR EACH ROW EXECUTE FUNCTION refuse()",
    )
    with pytest.raises(StorageError, match=r"the password is \*\*\*") as caught:
        inventory.add_computer(make_computer(1))
    assert_never_said(caught.value, str(password))


@pytest.mark.parametrize("value", [-1, "30", True, float("nan")])
def test_statement_timeout_must_be_seconds(value: object) -> None:
    with pytest.raises(StorageError, match="statement_timeout is a number of seconds"):
        PostgresInventory(URL, statement_timeout=value)  # type: ignore[arg-type]


def test_a_statement_timeout_of_0_is_no_limit(opened: Callable[..., PostgresInventory]) -> None:
    inventory = opened(statement_timeout=0)
    connection = inventory._connection
    assert connection is not None
    assert connection.execute("SHOW statement_timeout").fetchone() == ("0",)
    assert connection.execute("SHOW application_name").fetchone() == ("mak",)


def test_connect_timeout_must_be_whole_seconds() -> None:
    with pytest.raises(StorageError, match="whole number of seconds"):
        PostgresInventory(URL, connect_timeout=1.5)  # type: ignore[arg-type]


def test_closing_ends_every_use(opened: Callable[..., PostgresInventory]) -> None:
    inventory = opened()
    inventory.close()
    inventory.close()
    with pytest.raises(StorageError, match="is closed"):
        inventory.computers()
    with pytest.raises(StorageError, match="is closed"):
        inventory.add_computer(make_computer(1))
    with pytest.raises(StorageError, match="is closed"), inventory.transaction():
        pass


def test_the_context_manager_closes(schema: str) -> None:
    with PostgresInventory(URL, schema=schema) as inventory:
        pass
    with pytest.raises(StorageError, match="is closed"):
        inventory.keys()


def backend_of(inventory: PostgresInventory) -> int:
    connection = inventory._connection
    assert connection is not None
    return connection.info.backend_pid


def terminate(pid: int) -> None:
    with admin() as connection:
        connection.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.1)


def test_a_dropped_connection_is_opened_again_between_calls(
    opened: Callable[..., PostgresInventory],
) -> None:
    inventory = opened()
    inventory.add_computer(make_computer(1))
    before = backend_of(inventory)
    terminate(before)
    with pytest.raises(StorageError, match="failed"):
        inventory.computers()  # the call that finds it gone
    assert [c.id for c in inventory.computers()] == ["computer-0001"]
    assert backend_of(inventory) != before


def test_a_connection_dropped_inside_a_transaction_undoes_it(
    opened: Callable[..., PostgresInventory],
) -> None:
    inventory = opened()
    inventory.add_computer(make_computer(9))
    refusals: list[StorageError] = []

    def add(n: int) -> None:
        try:
            inventory.add_computer(make_computer(n))
        except StorageError as error:
            refusals.append(error)

    def lose_it() -> None:
        with inventory.transaction():
            inventory.add_computer(make_computer(1))
            terminate(backend_of(inventory))
            add(2)
            add(3)

    with pytest.raises(StorageError):
        lose_it()
    assert len(refusals) == 2
    assert "nothing can be written" in str(refusals[1])
    assert [c.id for c in inventory.computers()] == ["computer-0009"]


def test_a_statement_waiting_too_long_is_a_storage_error(
    opened: Callable[..., PostgresInventory],
) -> None:
    inventory = opened(statement_timeout=0.2)
    stored = inventory.add_computer(make_computer(1))
    with admin() as blocker:
        blocker.execute(
            "SELECT set_config('search_path', %s, false)",
            (psycopg.sql.Identifier(inventory.schema).as_string(blocker),),
        )
        blocker.execute("BEGIN")
        blocker.execute("SELECT 1 FROM computers FOR UPDATE")
        with pytest.raises(StorageError, match="statement timeout"):
            inventory.update_computer(attrs.evolve(stored, name="WAITED"))

        def doomed() -> None:
            with inventory.transaction():
                inventory.add_computer(make_computer(2))
                inventory.update_computer(attrs.evolve(stored, name="WAITED"))

        with pytest.raises(StorageError, match="statement timeout"):
            doomed()
        blocker.execute("ROLLBACK")
    assert [c.id for c in inventory.computers()] == ["computer-0001"]
    assert inventory.update_computer(attrs.evolve(stored, name="NOW")).version == 2


# --- several sessions on one database --------------------------------------------------------


def test_a_stale_update_through_a_second_inventory_is_refused(
    opened: Callable[..., PostgresInventory],
) -> None:
    first, second = opened(), opened()
    first.add_computer(make_computer(1))
    read = second.computer("computer-0001")
    kept = first.update_computer(attrs.evolve(read, name="BY-FIRST"))
    with pytest.raises(ConcurrencyConflict) as caught:
        second.update_computer(attrs.evolve(read, name="BY-SECOND"))
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert second.computer("computer-0001") == kept


def test_a_record_another_session_changed_is_read_again(
    opened: Callable[..., PostgresInventory],
) -> None:
    first, second = opened(), opened()
    first.add_computer(make_computer(1))
    product = first.add_product(make_product(1))
    assert first.product(product.id) is first.product(product.id)  # decoded once, then kept
    changed = second.update_product(attrs.evolve(second.product(product.id), name="BY-SECOND"))
    assert first.product(product.id) == changed
    assert first.products() == [changed]


def test_a_rolled_back_write_is_never_read_back(
    opened: Callable[..., PostgresInventory],
) -> None:
    first, second = opened(), opened()
    first.add_computer(make_computer(1))
    product = first.add_product(make_product(1))

    def roll_back() -> None:
        with first.transaction():
            first.update_product(attrs.evolve(product, name="ROLLED-BACK"))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        roll_back()
    kept = second.update_product(attrs.evolve(product, name="BY-SECOND"))
    assert first.product(product.id) == kept


def test_a_rolled_back_confirmation_is_never_found(
    opened: Callable[..., PostgresInventory],
) -> None:
    first, second = opened(), opened()
    entry = make_confirmation(1)

    def roll_back() -> None:
        with first.transaction():
            first.add_confirmation(entry)
            assert first.find_confirmation(entry.installation_id) == entry
            raise RuntimeError

    with pytest.raises(RuntimeError):
        roll_back()
    other = attrs.evolve(entry, partial_key="QQQQQ")
    second.add_confirmation(other)
    assert first.find_confirmation(entry.installation_id) == other


def test_a_transaction_is_invisible_to_other_sessions_until_it_ends(
    opened: Callable[..., PostgresInventory],
) -> None:
    writer, reader = opened(), opened()
    with writer.transaction():
        for n in range(3):
            writer.add_computer(make_computer(n))
        writer.add_confirmation(make_confirmation(1))
        writer.record(make_action(1))
        assert reader.computers() == []
        assert reader.find_confirmation(make_installation_id(1)) is None
        assert reader.history() == []
    assert len(reader.computers()) == 3
    assert reader.history() == [make_action(1)]


def test_an_add_racing_another_sessions_add_waits_for_it(
    opened: Callable[..., PostgresInventory],
) -> None:
    writer, racer = opened(), opened()
    entry = make_confirmation(1)
    outcome: list[object] = []

    def race() -> None:
        try:
            outcome.append(racer.add_confirmation(attrs.evolve(entry, partial_key="QQQQQ")))
        except MakError as error:
            outcome.append(error)

    with writer.transaction():
        writer.add_confirmation(entry)
        assert writer.confirmations() == [entry]  # reading them sends the entries waiting
        thread = threading.Thread(target=race)
        thread.start()
        time.sleep(0.2)
        assert outcome == []  # waiting for the writer's transaction
    thread.join(30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], ConcurrencyConflict)
    assert racer.find_confirmation(entry.installation_id) == entry


def test_entries_kept_in_a_transaction_are_sent_with_its_commit(
    opened: Callable[..., PostgresInventory],
) -> None:
    writer, reader = opened(), opened()
    entries = [make_confirmation(n) for n in range(1, 4)]
    with writer.transaction():
        for entry in entries:
            assert writer.add_confirmation(entry) == entry
        assert writer.add_confirmation(entries[0]) == entries[0]  # the same again: fine
        with pytest.raises(ConcurrencyConflict):  # contradicts one waiting: refused at once
            writer.add_confirmation(attrs.evolve(entries[0], partial_key="QQQQQ"))
        assert writer.find_confirmation(entries[1].installation_id) == entries[1]
        assert reader.find_confirmation(entries[1].installation_id) is None
    assert reader.confirmations() == entries  # in the order they were kept


def test_an_entry_another_session_stored_first_makes_the_commit_conflict(
    opened: Callable[..., PostgresInventory],
) -> None:
    writer, racer = opened(), opened()
    entry = make_confirmation(1)
    theirs = attrs.evolve(entry, partial_key="QQQQQ")
    block = writer.transaction()
    block.__enter__()
    writer.add_confirmation(make_confirmation(2))
    writer.add_confirmation(entry)
    racer.add_confirmation(theirs)  # committed at once, before the writer sends its own
    with pytest.raises(ConcurrencyConflict):
        block.__exit__(None, None, None)  # the commit
    assert writer.confirmations() == [theirs]  # the writer's transaction is undone, all of it
    with writer.transaction():  # the same entry stored meanwhile is no conflict
        writer.add_confirmation(make_confirmation(2))
        racer.add_confirmation(make_confirmation(2))
    assert writer.confirmations() == [theirs, make_confirmation(2)]


def test_moving_a_product_onto_a_place_another_session_takes_conflicts(
    opened: Callable[..., PostgresInventory],
) -> None:
    first, second = opened(), opened()
    first.add_computer(make_computer(1))
    first.add_computer(make_computer(2))
    moving = first.add_product(make_product(1))
    second.add_product(make_product(2, computer_id="computer-0002"))
    target = attrs.evolve(
        moving, computer_id="computer-0002", activation_id=make_product(2).activation_id
    )
    with first.transaction():
        with pytest.raises(ConcurrencyConflict):
            first.update_product(target)
        first.add_computer(make_computer(3))  # the transaction goes on
    assert len(first.computers()) == 3
    moved = first.update_product(attrs.evolve(moving, computer_id="computer-0002"))
    assert moved.computer_id == "computer-0002"


def test_a_move_refused_by_the_database_itself_leaves_the_transaction_going(
    opened: Callable[..., PostgresInventory], monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = opened()
    inventory.add_computer(make_computer(1))
    moving = inventory.add_product(make_product(1))
    taken = inventory.add_product(make_product(2))
    # As if another session took the place between the check and the write.
    monkeypatch.setattr(postgres_adapter, "_require_activation_free", lambda *_: None)
    onto_taken = attrs.evolve(moving, activation_id=taken.activation_id)
    with inventory.transaction():
        with pytest.raises(ConcurrencyConflict):
            inventory.update_product(onto_taken)
        inventory.add_computer(make_computer(2))
    with pytest.raises(ConcurrencyConflict):
        inventory.update_product(onto_taken)  # outside a transaction, the same
    assert [c.id for c in inventory.computers()] == ["computer-0001", "computer-0002"]
    assert inventory.product(moving.id) == moving


# --- history -------------------------------------------------------------------------------


def test_history_written_in_a_transaction_is_sent_at_once_and_kept_in_order(
    opened: Callable[..., PostgresInventory], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_adapter, "_HISTORY_BUFFER", 7)
    inventory = opened()
    actions = [make_action(n) for n in range(20)]
    with inventory.transaction():
        for action in actions[:10]:
            inventory.record(action)
        assert inventory.history() == actions[:10]  # reads inside see the writes inside
        for action in actions[10:]:
            inventory.record(action)
    assert inventory.history() == actions


def test_history_of_a_failed_transaction_is_never_written(
    opened: Callable[..., PostgresInventory],
) -> None:
    inventory = opened()
    inventory.record(make_action(1))

    def fail() -> None:
        with inventory.transaction():
            inventory.record(make_action(2))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail()
    with inventory.transaction():
        inventory.record(make_action(3))
    assert inventory.history() == [make_action(1), make_action(3)]


# --- product keys --------------------------------------------------------------------------


def test_keys_are_stored_in_full(schema: str, opened: Callable[..., PostgresInventory]) -> None:
    record = make_key_record(1)
    opened().add_key(record)
    ((data,),) = execute(schema, "SELECT data FROM product_keys")
    assert json.loads(data)["key"] == record.key.reveal()


def test_keys_never_reach_an_error(schema: str, opened: Callable[..., PostgresInventory]) -> None:
    inventory = opened()
    record = inventory.add_key(make_key_record(1))
    secret = record.key.reveal()
    with pytest.raises(ConcurrencyConflict) as conflict:
        inventory.add_key(attrs.evolve(record, edition="other"))
    assert_never_said(conflict.value, secret)
    inventory.update_key(attrs.evolve(record, edition="newer"))
    with pytest.raises(ConcurrencyConflict) as stale:
        inventory.update_key(attrs.evolve(record, edition="stale"))
    assert_never_said(stale.value, secret)
    missing = make_key(2)
    with pytest.raises(NotFound) as unknown:
        inventory.key(missing)
    assert_never_said(unknown.value, missing.reveal())
    # A record damaged in the database: the error explains, and still hides the key.
    bad = json.dumps({"key": secret, "channel": "no such channel"})
    execute(schema, "UPDATE product_keys SET data = %s", bad)
    with pytest.raises(StorageError, match="unreadable KeyRecord") as damaged:
        inventory.key(record.key)
    assert_never_said(damaged.value, secret)


def test_a_failing_write_says_what_the_server_said_without_the_key(
    schema: str, opened: Callable[..., PostgresInventory]
) -> None:
    inventory = opened()
    # A unique index on the data column: its violation's DETAIL would quote the key.
    execute(schema, "CREATE UNIQUE INDEX one_edition ON product_keys ((data::json->>'edition'))")
    first = inventory.add_key(make_key_record(1))
    second = make_key_record(2)
    with pytest.raises(StorageError) as caught:
        inventory.add_key(second)
    assert type(caught.value) is StorageError
    assert "duplicate key value violates unique constraint" in str(caught.value)
    assert_never_said(caught.value, second.key.reveal())
    assert_never_said(caught.value, first.key.reveal())
    assert inventory.keys() == [first]


def test_an_unreadable_confirmation_is_a_storage_error(
    schema: str, opened: Callable[..., PostgresInventory]
) -> None:
    opened().add_confirmation(make_confirmation(1))
    execute(schema, "UPDATE confirmations SET confirmation_id = 'not digits'")
    reader = opened()  # the writer keeps the entry it wrote
    with pytest.raises(StorageError, match="unreadable CilEntry"):
        reader.confirmations()
    with pytest.raises(StorageError, match="unreadable CilEntry"):
        reader.find_confirmation(make_installation_id(1))


# --- the canonical scenario ------------------------------------------------------------------


def test_the_canonical_scenario_runs_on_postgresql(schema: str) -> None:
    # DESIGN.md's script, with the PostgreSQL inventory where it has SQLite's.
    # fmt: off
    clock = FakeClock(datetime(2026, 1, 5, tzinfo=timezone.utc))
    service = SimulatedClearinghouse(seed=1)
    mak_key = service.issue_mak(limit=250, family=ProductFamily.WINDOWS_CLIENT)
    fleet = SimulatedFleet(size=200, seed=1, workgroup="LAB", clearinghouse=service, clock=clock)
    manager = VolumeActivationManager(
        inventory=PostgresInventory(URL, schema=schema), service=service,
        connector=fleet, discovery=fleet, clock=clock,
    )

    manager.discover(ByWorkgroup("LAB"))
    manager.add_product_key(mak_key)
    clients = manager.inventory.products(family=ProductFamily.WINDOWS_CLIENT)
    report = manager.proxy_activate(clients, mak_key, batch_size=50)
    assert report.failed == 0 and report.succeeded == len(clients)  # noqa: PT018  # as written
    assert service.pool(mak_key).used == len(clients)
    assert sum(c.method == "acquire_confirmation_ids" for c in service.calls) == ceil(len(clients) / 50)

    for computer in fleet.computers[:20]:
        fleet.reimage(computer.id)                   # same hardware, licensing wiped
    manager.refresh(clients)
    again = manager.reactivate(clients)              # re-applies stored CIDs
    assert service.pool(mak_key).used == len(clients)  # no activation spent
    # fmt: on

    assert again.failed == 0
    assert again.service_calls == 0
    statuses = {p.status for p in manager.inventory.products(family=ProductFamily.WINDOWS_CLIENT)}
    assert statuses == {LicenseStatus.LICENSED}
    assert len(clients) > 100
    manager.inventory.close()  # type: ignore[attr-defined]


# --- two managers in two processes -----------------------------------------------------------

_CONSOLE = """
import json, sys
from datetime import datetime, timezone
from mak.adapters.postgres import PostgresInventory
from mak.catalog import ProductFamily
from mak.manager import VolumeActivationManager
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet

url, schema, size, seed, first, last = sys.argv[1:7]
clock = FakeClock(datetime(2026, 1, 5, tzinfo=timezone.utc))
service = SimulatedClearinghouse(seed=int(seed))
mak_key = service.issue_mak(limit=10 * int(size), family=ProductFamily.WINDOWS_CLIENT)
fleet = SimulatedFleet(int(size), seed=int(seed), workgroup="LAB", clearinghouse=service, clock=clock)
answered = {}

class Recording:
    # The console's clearinghouse, noting every CID it answered with.
    def acquire_confirmation_ids(self, requests):
        results = service.acquire_confirmation_ids(requests)
        for result in results:
            if result.ok:
                iid = result.installation_id.digits
                if iid in answered:
                    raise AssertionError("one clearinghouse was asked for an IID twice")
                answered[iid] = result.confirmation_id.digits
        return results

    def remaining_activations(self, key):
        return service.remaining_activations(key)

inventory = PostgresInventory(url, schema=schema)
manager = VolumeActivationManager(inventory, Recording(), fleet, clock, discovery=fleet)
clients = inventory.products(family=ProductFamily.WINDOWS_CLIENT)
share = len(clients) // 3
middle = [p.id for p in clients[share:2 * share]]  # both consoles start here, at once
mine = middle + [p.id for p in clients[int(first):int(last)] if p.id not in set(middle)]
print("ready", flush=True)
sys.stdin.readline()
runs = []
todo = mine
for _ in range(3):  # the first run, then retries of what it reported failed
    report = manager.proxy_activate(todo, mak_key, batch_size=25)
    failed = [o for o in report.outcomes if not o.ok]
    runs.append({
        "products": len(todo),
        "succeeded": report.succeeded,
        "failed": [[o.product_id, None if o.code is None else o.code.hex, o.detail] for o in failed],
    })
    todo = [o.product_id for o in failed]
    if not todo:
        break
print(json.dumps({
    "key": mak_key.partial,
    "mine": mine,
    "runs": runs,
    "answered": answered,
    "used": service.pool(mak_key).used,
}), flush=True)
inventory.close()
"""


def run_consoles(
    schema: str, size: int, seed: int, spans: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    """Run one console process per span of the clients, started together; return their reports."""
    consoles = [
        subprocess.Popen(
            [sys.executable, "-c", _CONSOLE, URL, schema, str(size), str(seed), str(a), str(b)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for a, b in spans
    ]
    try:
        for console in consoles:  # each has built its fleet and connected
            assert console.stdout is not None
            assert console.stdout.readline().strip() == "ready"
        for console in consoles:
            assert console.stdin is not None
            console.stdin.write("go\n")
            console.stdin.flush()
        outputs = [console.communicate(timeout=600)[0] for console in consoles]
    finally:
        for console in consoles:
            console.kill()
    assert [console.returncode for console in consoles] == [0] * len(spans)
    return [json.loads(output) for output in outputs]


def test_two_managers_in_two_processes_license_every_product_once(schema: str) -> None:
    size, seed = 240, 7
    clock = FakeClock(datetime(2026, 1, 5, tzinfo=timezone.utc))
    service = SimulatedClearinghouse(seed=seed)
    mak_key = service.issue_mak(limit=10 * size, family=ProductFamily.WINDOWS_CLIENT)
    fleet = SimulatedFleet(size, seed=seed, workgroup="LAB", clearinghouse=service, clock=clock)
    with PostgresInventory(URL, schema=schema) as inventory:
        manager = VolumeActivationManager(inventory, service, fleet, clock, discovery=fleet)
        manager.discover(ByWorkgroup("LAB"))
        manager.add_product_key(mak_key)
        clients = inventory.products(family=ProductFamily.WINDOWS_CLIENT)
    count = len(clients)
    share = count // 3
    # Both start with the middle third, at once: the worst overlap there is.
    results = run_consoles(schema, size, seed, [(0, 2 * share), (share, count)])
    assert {r["key"] for r in results} == {mak_key.partial}

    wanted = {p.id for p in clients[0 : 2 * share]} | {p.id for p in clients[share:count]}
    assert {pid for r in results for pid in r["mine"]} == wanted
    assert len(wanted) == count
    # Stale writes are retried by the manager, or reported with a reason and retried here.
    for result in results:
        for run in result["runs"]:
            assert run["succeeded"] + len(run["failed"]) == run["products"]
            assert all(detail for _, _, detail in run["failed"])
        assert result["runs"][-1]["failed"] == [], result["runs"]

    with PostgresInventory(URL, schema=schema) as inventory:
        products = {p.id: p for p in inventory.products(family=ProductFamily.WINDOWS_CLIENT)}
        cil = inventory.confirmations()
    by_iid = {entry.installation_id.digits: entry for entry in cil}
    # Every product licensed, once: one IID each, one CIL entry each, its CID deposited.
    assert set(products) == wanted
    for product in products.values():
        assert product.status is LicenseStatus.LICENSED, product
        assert product.proxy.stage is ProxyStage.CID_DEPOSITED
        assert product.installation_id is not None
        entry = by_iid[product.installation_id.digits]
        assert product.confirmation_id == entry.confirmation_id
        assert entry.computer_id == product.computer_id
    assert len(cil) == len(by_iid) == count
    # No CID lost: every CID either clearinghouse issued is the one the CIL keeps.
    for result in results:
        for iid, cid in result["answered"].items():
            assert by_iid[iid].confirmation_id.digits == cid
        # No IID charged twice by one clearinghouse (the recording refuses a second ask).
        assert result["used"] == len(result["answered"])
    # The organisation's MAK is charged once per IID (the real clearinghouse answers an
    # IID asked again with the same CID, free): exactly one activation per product.
    charged = set(results[0]["answered"]) | set(results[1]["answered"])
    assert charged == set(by_iid)


def test_products_read_in_bulk_in_a_transaction_are_locked_until_it_ends(
    opened: Callable[..., PostgresInventory],
) -> None:
    first, second, reader = opened(), opened(), opened()
    first.add_computer(make_computer(1))
    product = first.add_product(make_product(1))
    outcome: list[object] = []

    def race() -> None:
        try:
            outcome.append(second.update_product(attrs.evolve(product, name="theirs")))
        except MakError as error:
            outcome.append(error)

    with first.transaction():
        [held] = first.products_by_id([product.id])
        ours = first.update_product(attrs.evolve(held, name="ours"))
        thread = threading.Thread(target=race)
        thread.start()
        time.sleep(0.2)
        assert outcome == []  # waiting for the lock
        assert reader.product(product.id) == product  # the update is not sent yet
    thread.join(30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], ConcurrencyConflict)  # written from the version ours replaced
    assert second.product(product.id) == ours


def test_updates_of_held_products_are_sent_in_one_statement_at_commit(
    opened: Callable[..., PostgresInventory],
) -> None:
    inventory, reader = opened(), opened()
    inventory.add_computer(make_computer(1))
    products = [inventory.add_product(make_product(n)) for n in range(1, 4)]
    with inventory.transaction():
        held = inventory.products_by_id([p.id for p in products])
        updated = [inventory.update_product(attrs.evolve(p, name="changed")) for p in held]
        with psycopg.connect(URL, autocommit=True) as watcher:
            table = psycopg.sql.Identifier(inventory.schema, "products")
            query = psycopg.sql.SQL("SELECT version FROM {} ORDER BY id").format(table)
            # Another session waits for nothing: the rows still hold the versions read.
            assert watcher.execute(query).fetchall() == [(1,), (1,), (1,)]
    assert reader.products() == updated


def test_a_bulk_read_meeting_a_row_another_session_holds_does_not_wait(
    opened: Callable[..., PostgresInventory],
) -> None:
    first, second = opened(), opened()
    first.add_computer(make_computer(1))
    products = [first.add_product(make_product(n)) for n in (1, 2)]
    ids = [p.id for p in products]
    with first.transaction():
        [held] = first.products_by_id(ids[:1])  # the first session holds product 1
        ours = first.update_product(attrs.evolve(held, name="ours"))
        with second.transaction():
            started = time.monotonic()
            read = second.products_by_id(ids)  # product 1 is held: nothing is locked
            assert time.monotonic() - started < 5
            assert read == products  # as stored: the first session's update is not sent
            theirs = second.update_product(attrs.evolve(read[1], name="theirs"))
    assert second.products() == [ours, theirs]


def test_writes_held_by_a_transaction_whose_connection_dies_are_forgotten(
    opened: Callable[..., PostgresInventory],
) -> None:
    inventory = opened()
    inventory.add_computer(make_computer(1))
    product = inventory.add_product(make_product(1))

    def lose_it() -> None:
        with inventory.transaction():
            [held] = inventory.products_by_id([product.id])
            inventory.update_product(attrs.evolve(held, name="lost"))
            inventory.add_confirmation(make_confirmation(1))
            inventory.record(make_action(1))
            terminate(backend_of(inventory))  # the commit finds the connection gone

    with pytest.raises(StorageError):
        lose_it()
    assert inventory.find_confirmation(make_installation_id(1)) is None
    assert inventory.product(product.id) == product
    with inventory.transaction():  # the next transaction sends nothing of the dead one
        inventory.record(make_action(2))
    assert inventory.history() == [make_action(2)]
    assert inventory.confirmations() == []
    assert inventory.update_product(attrs.evolve(product, name="kept")).version == 2


def test_a_conflict_found_sending_entries_before_the_commit_undoes_the_transaction(
    opened: Callable[..., PostgresInventory],
) -> None:
    writer, racer = opened(), opened()
    entry = make_confirmation(1)
    theirs = attrs.evolve(entry, partial_key="QQQQQ")

    def conflict() -> None:
        with writer.transaction():
            writer.add_confirmation(make_confirmation(2))
            writer.add_confirmation(entry)
            racer.add_confirmation(theirs)
            with pytest.raises(ConcurrencyConflict):
                writer.confirmations()  # reading them sends them: one conflicts
            with pytest.raises(StorageError, match="nothing can be written"):
                writer.add_confirmation(make_confirmation(3))

    with pytest.raises(StorageError):
        conflict()
    assert writer.confirmations() == [theirs]  # nothing of the writer's transaction
