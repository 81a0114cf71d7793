"""The SQL inventories' read cache: what it keeps, and what it drops first."""

from __future__ import annotations

from mak.adapters._cache import RecordCache
from mak.model import Computer, Product
from mak.testing import make_computer, make_confirmation, make_product


def test_each_kind_keeps_its_own_limit() -> None:
    cache = RecordCache(limit=3)
    computers = [cache.keep(make_computer(n)) for n in range(1, 4)]
    for n in range(1, 10):  # more products than the limit: only products are dropped
        cache.keep(make_product(n))
    assert [cache.latest(Computer, c.id) for c in computers] == computers
    kept = [n for n in range(1, 10) if cache.latest(Product, make_product(n).id) is not None]
    assert kept == [7, 8, 9]  # the oldest went first


def test_a_record_is_answered_at_its_version_only() -> None:
    cache = RecordCache()
    product = cache.keep(make_product(1, version=2))
    assert cache.record(Product, product.id, 2) is product
    assert cache.record(Product, product.id, 1) is None
    assert cache.record(Computer, product.id, 2) is None  # another kind, another table


def test_forgetting_drops_every_kind_and_the_cil() -> None:
    cache = RecordCache()
    computer, product = cache.keep(make_computer(1)), cache.keep(make_product(1))
    entry = cache.keep_entry(make_confirmation(1))
    cache.forget()
    assert cache.latest(Computer, computer.id) is None
    assert cache.latest(Product, product.id) is None
    assert cache.entry(entry.installation_id) is None
