"""What a SQL inventory has decoded, kept so that reading it again costs no decoding.

A computer or product row at a given ``version`` always holds the same data: every write
moves the version on, and a write can only take the next version from the one stored.
So a record decoded at version *v* can be handed out again for any row still at *v*.
Two things break that: a rollback (a version written here and undone may be taken by
another writer with other data) and a lost connection; the adapter calls
:meth:`RecordCache.forget` on both. Confirmation-ID entries never change once kept, so
they are cached by installation ID, under the same rule.

>>> from mak.testing import make_product
>>> cache = RecordCache(limit=2)
>>> product = cache.keep(make_product(1))
>>> cache.record(type(product), product.id, product.version) is product
True
>>> cache.record(type(product), product.id, product.version + 1) is None
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeVar, cast

from mak.model import Computer, Product

if TYPE_CHECKING:
    from mak.ids import InstallationId
    from mak.model import CilEntry

__all__ = ["LIMIT", "RecordCache"]

LIMIT: Final = 1 << 17
"""How many records, and how many entries, a cache keeps before dropping the oldest."""

_Record = TypeVar("_Record", Computer, Product)


class RecordCache:
    """Computers and products by (type, id) at their version, and CIL entries by IID.

    Not thread-safe: the adapter calls it under its own lock.
    """

    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        self._records: dict[tuple[type[Computer | Product], str], Computer | Product] = {}
        self._entries: dict[InstallationId, CilEntry] = {}

    def record(self, cls: type[_Record], record_id: str, version: int) -> _Record | None:
        """Return the record of that id if it is cached at *version*, else ``None``."""
        known = self._records.get((cls, record_id))
        if known is None or known.version != version:
            return None
        return cast("_Record", known)

    def keep(self, record: _Record) -> _Record:
        """Cache *record* as the newest known version of its id; return it."""
        key = (type(record), record.id)
        if len(self._records) >= self._limit and key not in self._records:
            del self._records[next(iter(self._records))]  # the oldest cached
        self._records[key] = record
        return record

    def entry(self, installation_id: InstallationId) -> CilEntry | None:
        """Return the CIL entry cached for *installation_id*, if any."""
        return self._entries.get(installation_id)

    def keep_entry(self, entry: CilEntry) -> CilEntry:
        """Cache *entry*, kept in the CIL; return it."""
        if len(self._entries) >= self._limit and entry.installation_id not in self._entries:
            del self._entries[next(iter(self._entries))]  # the oldest cached
        self._entries[entry.installation_id] = entry
        return entry

    def forget(self) -> None:
        """Drop everything: a rollback or a lost connection may have undone some of it."""
        self._records.clear()
        self._entries.clear()
