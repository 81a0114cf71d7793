"""The inventories mak ships: in memory, and SQLite as the embedded default.

Both pass :class:`mak.testing.InventoryContract`, the same suite an inventory of your own
can run.
"""

from mak.adapters.memory import InMemoryInventory
from mak.adapters.sqlite import SqliteInventory

__all__ = ["InMemoryInventory", "SqliteInventory"]
