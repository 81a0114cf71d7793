"""The inventories mak ships: in memory, SQLite as the embedded default, and PostgreSQL.

All pass :class:`mak.testing.InventoryContract`, the same suite an inventory of your own
can run. ``PostgresInventory`` needs psycopg, from the ``mak[postgres]`` extra: it is
loaded from :mod:`mak.adapters.postgres` when first asked for, so importing this package
never needs psycopg (nor does ``from mak.adapters import *``, which leaves it out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mak.adapters.memory import InMemoryInventory
from mak.adapters.sqlite import SqliteInventory

if TYPE_CHECKING:
    from mak.adapters.postgres import PostgresInventory as PostgresInventory

__all__ = ["InMemoryInventory", "SqliteInventory"]


def __getattr__(name: str) -> object:
    if name == "PostgresInventory":
        from mak.adapters.postgres import PostgresInventory  # noqa: PLC0415  # psycopg, lazily

        return PostgresInventory
    raise AttributeError(f"module 'mak.adapters' has no attribute {name!r}")
