"""What a SQL inventory has decoded, kept so that reading it again costs no decoding.

A computer or product row at a given ``version`` always holds the same data: every write
moves the version on, and a write can only take the next version from the one stored.
So a record decoded at version *v* can be handed out again for any row still at *v*.
Two things break that: a rollback (a version written here and undone may be taken by
another writer with other data) and a lost connection; the adapter calls
:meth:`RecordCache.forget` on both. Confirmation-ID entries never change once kept, so
they are cached by installation ID, under the same rule.

An adapter that can tell when another connection has written (SQLite's
``PRAGMA data_version``) may go further while nobody has: forget everything as soon as
someone has, and until then take :meth:`RecordCache.latest` as the stored row, and an
installation ID :meth:`RecordCache.keep_absent` noted as still not in the CIL. Such an
adapter must keep every record it writes, as the other adapters do.

>>> from mak.testing import make_product
>>> cache = RecordCache(limit=2)
>>> product = cache.keep(make_product(1))
>>> cache.record(type(product), product.id, product.version) is product
True
>>> cache.record(type(product), product.id, product.version + 1) is None
True
>>> cache.latest(type(product), product.id) is product
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
"""How many computers, how many products and how many CIL entries a cache keeps, each,
before dropping the oldest: a fleet of 100,000 computers is read from it whole."""

_Record = TypeVar("_Record", Computer, Product)


class RecordCache:
    """Computers and products by id at their version, and the CIL by IID, *limit* of each.

    Not thread-safe: the adapter calls it under its own lock.
    """

    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        # One table per kind: reading a chunk's products never drops their computers.
        self._records: dict[type[Computer | Product], dict[str, Computer | Product]] = {
            Computer: {},
            Product: {},
        }
        # None: the IID was not in the CIL when the adapter last looked (see keep_absent).
        self._entries: dict[InstallationId, CilEntry | None] = {}

    def record(self, cls: type[_Record], record_id: str, version: int) -> _Record | None:
        """Return the record of that id if it is cached at *version*, else ``None``."""
        known = self._records[cls].get(record_id)
        if known is None or known.version != version:
            return None
        return cast("_Record", known)

    def latest(self, cls: type[_Record], record_id: str) -> _Record | None:
        """Return the newest record of that id cached, whatever its version, else ``None``.

        Only an adapter that knows nobody else has written since may take it as stored.
        """
        return cast("_Record | None", self._records[cls].get(record_id))

    def keep(self, record: _Record) -> _Record:
        """Cache *record* as the newest known version of its id; return it."""
        table = self._records[type(record)]
        if len(table) >= self._limit and record.id not in table:
            del table[next(iter(table))]  # the oldest cached
        table[record.id] = record
        return record

    def entry(self, installation_id: InstallationId) -> CilEntry | None:
        """Return the CIL entry cached for *installation_id*, if any."""
        return self._entries.get(installation_id)

    def knows_absent(self, installation_id: InstallationId) -> bool:
        """Return whether *installation_id* was noted by :meth:`keep_absent`, and not kept since."""
        return installation_id in self._entries and self._entries[installation_id] is None

    def keep_entry(self, entry: CilEntry) -> CilEntry:
        """Cache *entry*, kept in the CIL; return it."""
        self._put(entry.installation_id, entry)
        return entry

    def keep_absent(self, installation_id: InstallationId) -> None:
        """Note that the CIL holds no entry for *installation_id*, as read just now.

        Only for an adapter that forgets the cache whenever another connection writes:
        unlike an entry, an absence ends when anyone keeps one.
        """
        self._put(installation_id, None)

    def _put(self, installation_id: InstallationId, entry: CilEntry | None) -> None:
        if len(self._entries) >= self._limit and installation_id not in self._entries:
            del self._entries[next(iter(self._entries))]  # the oldest cached
        self._entries[installation_id] = entry

    def forget(self) -> None:
        """Drop everything: a rollback or a lost connection may have undone some of it."""
        for table in self._records.values():
            table.clear()
        self._entries.clear()
