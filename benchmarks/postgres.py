"""PostgresInventory speed against raw psycopg doing the same work, on the same server.

Targets (issue 10):

- writing 100,000 CIL entries through ``add_confirmation`` in one transaction, at most 3x
  a raw ``COPY`` of the same rows into the same table (the raw ``INSERT`` of each row,
  one round trip each, is measured too: it is the floor for one call per entry);
- ``find_confirmation`` among 1,000,000 entries, at most 3x a raw indexed ``SELECT``
  (both cold: every IID looked up once, so no cache answers);
- ``proxy_activate`` of 100,000 simulated products end to end with one manager, and with
  two managers in two processes at once (each its own half), at least 2,000 products/s
  each. Discovering the fleet is not timed: it is done once, then copied per run.

Needs ``MAK_TEST_POSTGRES_URL`` (a database whose user may create schemas); every table
goes in schemas of its own, dropped at the end. ``--quick`` divides every size by 10.
Prints one line per measurement; exits 1 when a ratio or rate misses its target.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from mak._checkdigits import group_check_digit
from mak.adapters.postgres import PostgresInventory
from mak.catalog import ProductFamily
from mak.ids import InstallationId
from mak.manager import VolumeActivationManager
from mak.model import ByWorkgroup, CilEntry
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

AT = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
ACTIVATION_ID = "b92e9980-b9d5-4821-9c94-140f632f6312"
COLUMNS = "installation_id, computer_id, activation_id, confirmation_id, partial_key, acquired_at"
SEED = 11
BATCH_SIZE = 500
RATE_TARGET = 2_000


def _group(value: int, width: int) -> str:
    data = f"{value % 10**width:0{width}d}"
    return data + str(group_check_digit(data))


def rows(count: int, seed: int = 0) -> list[tuple[Any, ...]]:
    """Return *count* CIL rows with distinct, well-formed IIDs and CIDs."""
    return [
        (
            "".join(_group(n * 1_000_003 + g * 7919 + seed, 6) for g in range(9)),
            f"c-{n % 500}",
            ACTIVATION_ID,
            "".join(_group(n * 31 + g, 5) for g in range(8)),
            "T83GX",
            AT,
        )
        for n in range(count)
    ]


def entries(data: list[tuple[Any, ...]]) -> list[CilEntry]:
    from mak.ids import ConfirmationId  # noqa: PLC0415

    return [
        CilEntry(
            installation_id=InstallationId(iid),
            computer_id=computer_id,
            activation_id=activation_id,
            confirmation_id=ConfirmationId(cid),
            partial_key=partial_key,
            acquired_at=at,
        )
        for iid, computer_id, activation_id, cid, partial_key, at in data
    ]


class Schemas:
    """New schemas on the server, each dropped at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.names: list[str] = []

    def new(self) -> str:
        name = f"mak_bench_{uuid.uuid4().hex[:12]}"
        self.names.append(name)
        return name

    def connect(self, schema: str) -> psycopg.Connection[tuple[Any, ...]]:
        connection = psycopg.connect(self.url, autocommit=True)
        connection.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
        )
        connection.execute(
            "SELECT set_config('search_path', %s, false)",
            (sql.Identifier(schema).as_string(connection),),
        )
        return connection

    def drop_all(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as connection:
            for name in self.names:
                connection.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                )


def raw_table(schemas: Schemas) -> psycopg.Connection[tuple[Any, ...]]:
    """A connection to a new schema holding a bare ``confirmations`` table as mak's."""
    connection = schemas.connect(schemas.new())
    connection.execute(
        "CREATE TABLE confirmations (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " installation_id text NOT NULL UNIQUE, computer_id text NOT NULL,"
        " activation_id text NOT NULL, confirmation_id text NOT NULL,"
        " partial_key text NOT NULL, acquired_at timestamptz NOT NULL)"
    )
    connection.execute("CREATE INDEX confirmations_by_computer ON confirmations (computer_id)")
    return connection


def copy_rows(
    connection: psycopg.Connection[tuple[Any, ...]], data: list[tuple[Any, ...]]
) -> None:
    with (
        connection.transaction(),
        connection.cursor().copy(f"COPY confirmations ({COLUMNS}) FROM STDIN") as copy,
    ):
        for row in data:
            copy.write_row(row)


def best(run: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def report(what: str, took: float, base: float, baseline: str, limit: float) -> bool:
    ratio = took / base
    verdict = "ok" if ratio <= limit else "OVER LIMIT"
    print(
        f"{what:<44} {took * 1e6:7.2f} us  {baseline} {base * 1e6:6.2f} us"
        f"  ratio {ratio:5.2f}x  (limit {limit:g}x) {verdict}",
        flush=True,
    )
    return ratio <= limit


def bench_write(schemas: Schemas, count: int) -> bool:
    """Time add_confirmation of *count* entries in one transaction against raw COPY and INSERT."""
    data = rows(count)
    cil = entries(data)

    def through_inventory() -> None:
        inventory = PostgresInventory(schemas.url, schema=schemas.new())
        with inventory, inventory.transaction():
            for entry in cil:
                inventory.add_confirmation(entry)

    def raw_copy() -> None:
        with raw_table(schemas) as connection:
            copy_rows(connection, data)

    def raw_insert() -> None:
        with raw_table(schemas) as connection, connection.transaction():
            cursor = connection.cursor()
            for row in data:
                cursor.execute(
                    f"INSERT INTO confirmations ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"  # noqa: S608
                    " ON CONFLICT (installation_id) DO NOTHING",
                    row,
                )

    took, copied, inserted = best(through_inventory, 3), best(raw_copy, 3), best(raw_insert, 3)
    what = f"write {count:,} CIL entries (add_confirmation)"
    ok = report(what, took / count, copied / count, "COPY", 3)
    report(
        f"write {count:,} CIL entries (add_confirmation)",
        took / count,
        inserted / count,
        "INSERT each",
        3,
    )
    return ok


def bench_find(schemas: Schemas, count: int, lookups: int) -> bool:
    """Time find_confirmation among *count* entries against a raw indexed SELECT, both cold."""
    data = rows(count, seed=3)
    schema = schemas.new()
    PostgresInventory(schemas.url, schema=schema).close()  # the adapter's own table, empty
    with schemas.connect(schema) as connection:
        copy_rows(connection, data)
        connection.execute("ANALYZE confirmations")
    with raw_table(schemas) as raw:
        copy_rows(raw, data)
        raw.execute("ANALYZE confirmations")
        picks = random.Random(1).sample(range(count), 3 * lookups)
        rounds = [picks[i * lookups : (i + 1) * lookups] for i in range(3)]
        iids = [[InstallationId(data[n][0]) for n in chosen] for chosen in rounds]
        digits = [[data[n][0] for n in chosen] for chosen in rounds]
        counter = iter(range(3))
        inventory = PostgresInventory(schemas.url, schema=schema)

        def through_inventory() -> None:
            for iid in iids[next(counter)]:  # a new set each round: no cache answers
                assert inventory.find_confirmation(iid) is not None  # noqa: S101

        raw_counter = iter(range(3))
        cursor = raw.cursor()

        def select() -> None:
            for value in digits[next(raw_counter)]:
                cursor.execute(
                    f"SELECT {COLUMNS} FROM confirmations WHERE installation_id = %s",  # noqa: S608
                    (value,),
                )
                assert cursor.fetchone() is not None  # noqa: S101

        took, base = best(through_inventory, 3), best(select, 3)
        inventory.close()
    return report(f"find among {count:,} (cold)", took / lookups, base / lookups, "SELECT", 3)


# --- proxy activation ----------------------------------------------------------------------


def build_template(schemas: Schemas, size: int) -> tuple[str, int, float]:
    """Discover a fleet of *size* into a new schema; return it, its clients and the seconds."""
    schema = schemas.new()
    clock = FakeClock(AT)
    service = SimulatedClearinghouse(seed=SEED)
    fleet = SimulatedFleet(
        size, seed=SEED, clearinghouse=service, clock=clock, server_share=0.0, office_share=0.0
    )
    start = time.perf_counter()
    with PostgresInventory(schemas.url, schema=schema) as inventory:
        manager = VolumeActivationManager(inventory, service, fleet, clock, discovery=fleet)
        manager.discover(ByWorkgroup("LAB"))
        clients = len(inventory.products(family=ProductFamily.WINDOWS_CLIENT))
    return schema, clients, time.perf_counter() - start


def copy_of(schemas: Schemas, template: str) -> str:
    """A new schema holding what *template* holds, copied on the server."""
    schema = schemas.new()
    PostgresInventory(schemas.url, schema=schema).close()
    with schemas.connect(schema) as connection:
        for table in ("computers", "products"):
            connection.execute(
                sql.SQL("INSERT INTO {} SELECT * FROM {}.{}").format(
                    sql.Identifier(table), sql.Identifier(template), sql.Identifier(table)
                )
            )
        connection.execute("ANALYZE")
    return schema


def activate(url: str, schema: str, size: int, part: int, parts: int) -> dict[str, Any]:
    """Proxy-activate this console's part of the clients; return what it measured."""
    clock = FakeClock(AT)
    service = SimulatedClearinghouse(seed=SEED)
    fleet = SimulatedFleet(
        size, seed=SEED, clearinghouse=service, clock=clock, server_share=0.0, office_share=0.0
    )
    with PostgresInventory(url, schema=schema) as inventory:
        manager = VolumeActivationManager(
            inventory, service, fleet, clock, discovery=fleet, sleep=lambda _: None
        )
        clients = inventory.products(family=ProductFamily.WINDOWS_CLIENT)
        mine = clients[part::parts]
        mak = service.issue_mak(limit=len(clients) + 1, family=ProductFamily.WINDOWS_CLIENT)
        manager.add_product_key(mak)
        print("ready", flush=True)
        sys.stdin.readline()
        start = time.perf_counter()
        result = manager.proxy_activate(mine, mak, batch_size=BATCH_SIZE)
        took = time.perf_counter() - start
    return {"products": len(mine), "seconds": took, "failed": result.failed}


@contextmanager
def consoles(
    url: str, schema: str, size: int, parts: int
) -> Iterator[list[subprocess.Popen[str]]]:
    here = Path(__file__).resolve()
    children = [
        subprocess.Popen(  # noqa: S603  # this script, run again as a console
            [
                sys.executable,
                str(here),
                "--console",
                url,
                schema,
                str(size),
                str(part),
                str(parts),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for part in range(parts)
    ]
    try:
        yield children
    finally:
        for child in children:
            child.kill()


def bench_proxy(schemas: Schemas, size: int) -> bool:
    template, clients, took = build_template(schemas, size)
    print(
        f"discover {size:,} computers ({clients:,} client products): {took:.0f} s (not timed below)",
        flush=True,
    )
    ok = True
    for parts in (1, 2):
        schema = copy_of(schemas, template)
        with consoles(schemas.url, schema, size, parts) as children:
            for child in children:
                assert child.stdout is not None  # noqa: S101
                if child.stdout.readline().strip() != "ready":
                    raise SystemExit("a console did not start")
            for child in children:
                assert child.stdin is not None  # noqa: S101
                child.stdin.write("go\n")
                child.stdin.flush()
            results = [json.loads(child.communicate()[0]) for child in children]
        total = sum(r["products"] for r in results)
        wall = max(r["seconds"] for r in results)
        for n, result in enumerate(results, start=1):
            rate = result["products"] / result["seconds"]
            verdict = "ok" if rate >= RATE_TARGET and not result["failed"] else "BELOW"
            ok = ok and verdict == "ok"
            print(
                f"proxy_activate, {parts} manager(s), manager {n}: {result['products']:,} products"
                f" {result['seconds']:7.1f} s {rate:7,.0f} products/s"
                f" (target {RATE_TARGET:,}/s) failed {result['failed']} {verdict}",
                flush=True,
            )
        print(
            f"proxy_activate, {parts} manager(s), together: {total / wall:,.0f} products/s",
            flush=True,
        )
    return ok


def main(argv: list[str] | None = None) -> bool:
    """Run every PostgreSQL benchmark; return whether every target was met."""
    args = sys.argv[1:] if argv is None else argv
    url = os.environ.get("MAK_TEST_POSTGRES_URL", "")
    if not url:
        print("PostgreSQL benchmarks skipped: MAK_TEST_POSTGRES_URL is not set")
        return True
    scale = 10 if "--quick" in args else 1
    schemas = Schemas(url)
    try:
        results = [
            bench_write(schemas, 100_000 // scale),
            bench_find(schemas, 1_000_000 // scale, 20_000 // scale),
            bench_proxy(schemas, 100_000 // scale),
        ]
    finally:
        schemas.drop_all()
    return all(results)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--console"]:
        url, schema, size, part, parts = sys.argv[2:7]
        print(json.dumps(activate(url, schema, int(size), int(part), int(parts))), flush=True)
        raise SystemExit(0)
    raise SystemExit(0 if main() else 1)
