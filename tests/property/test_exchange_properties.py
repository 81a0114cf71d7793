"""Hypothesis properties of mak.exchange: what each profile keeps survives the round trip.

For arbitrary inventories (any names, addresses, networks, products at any step, keys):
export, write, read and import into an empty inventory reproduces exactly what the profile
keeps; a proxy-only file, acquired, brings each confirmation ID back to the product whose
installation ID it answers and to no other. Run by the ``property`` nox session.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import TYPE_CHECKING, Any, cast

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mak.adapters import InMemoryInventory, SqliteInventory
from mak.catalog import ProductFamily
from mak.errors import InvalidDocument
from mak.exchange import (
    ActivationEntry,
    ComputerEntry,
    ExchangeDocument,
    KeyEntry,
    ProductEntry,
    Profile,
    acquire,
    dumps,
    export,
    import_,
    loads,
)
from mak.lifecycle import ActivationMethod, KeyChannel, LicenseState, LicenseStatus
from mak.limits import RemainingCount
from mak.model import CilEntry, Computer, KeyRecord, Product
from mak.ports import CidResult
from mak.testing import make_activation_id, make_confirmation_id, make_installation_id, make_key

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from mak.keys import ProductKey
    from mak.ports import CidRequest, Inventory

pytestmark = pytest.mark.property

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)

# One line of text, as mak's names are: no control characters, no line breaks.
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=24,
).filter(lambda text: text.strip() != "")
TIMES = st.integers(0, 10**6).map(lambda minutes: START + dt.timedelta(minutes=minutes))
PIDS = st.from_regex(r"\A[0-9]{5}-[0-9]{5}-[0-9]{3}-[0-9]{6}-03-1033-26100\.0000-[0-9]{7}\Z")


class Clock:
    def now(self) -> dt.datetime:
        return START


@st.composite
def computers(draw: st.DrawFn, computer_id: str) -> Computer:
    network = draw(st.sampled_from(["domain", "workgroup", None]))
    address = draw(st.none() | st.ip_addresses().map(str))
    return Computer(
        id=computer_id,
        name=draw(TEXT),
        address=address,
        domain=draw(TEXT) if network == "domain" else None,
        workgroup=draw(TEXT) if network == "workgroup" else None,
        os_edition=draw(st.none() | TEXT),
    )


@st.composite
def license_states(draw: st.DrawFn, key: ProductKey) -> LicenseState:
    kind = draw(st.sampled_from(["new", "grace", "licensed"]))
    if kind == "new":
        return LicenseState.new()
    if kind == "grace":
        return LicenseState(
            status=LicenseStatus.OOB_GRACE,
            channel=KeyChannel.MAK,
            partial_key=key.partial,
            grace_ends_at=draw(TIMES),
        )
    return LicenseState(
        status=LicenseStatus.LICENSED,
        channel=KeyChannel.MAK,
        partial_key=key.partial,
        activated_at=draw(TIMES),
        method=ActivationMethod.MAK_PROXY,
    )


@attrs.frozen
class Fleet:
    """What an inventory holds, to store in one."""

    computers: tuple[Computer, ...]
    products: tuple[Product, ...]
    confirmations: tuple[CilEntry, ...]
    keys: tuple[KeyRecord, ...]

    def store(self, inventory: Inventory) -> Inventory:
        for computer in self.computers:
            inventory.add_computer(computer)
        for product in self.products:
            inventory.add_product(product)
        for entry in self.confirmations:
            inventory.add_confirmation(entry)
        for record in self.keys:
            inventory.add_key(record)
        return inventory


@st.composite
def fleets(draw: st.DrawFn) -> Fleet:
    ids = draw(st.lists(TEXT, min_size=1, max_size=5, unique=True))
    machines = tuple(draw(computers(computer_id)) for computer_id in ids)
    product_ids = iter(draw(st.lists(TEXT, min_size=12, max_size=12, unique=True)))
    products: list[Product] = []
    confirmations: list[CilEntry] = []
    for computer in machines:
        for _ in range(draw(st.integers(0, 2))):
            n = len(products) + 1
            products.append(draw(products_of(computer, next(product_ids), n)))
            product = products[-1]
            if product.confirmation_id is not None and product.installation_id is not None:
                confirmations.append(
                    CilEntry(
                        computer_id=computer.id,
                        activation_id=product.activation_id,
                        installation_id=product.installation_id,
                        confirmation_id=product.confirmation_id,
                        partial_key=product.partial_key or make_key(n).partial,
                        acquired_at=draw(TIMES),
                    )
                )
    keys = tuple(draw(key_records(n)) for n in range(draw(st.integers(0, 3))))
    return Fleet(machines, tuple(products), tuple(confirmations), keys)


@st.composite
def products_of(draw: st.DrawFn, computer: Computer, product_id: str, n: int) -> Product:
    state = draw(license_states(make_key(n)))
    # An installation ID exists only once a key is installed.
    steps = ["none", "collected", "acquired"] if state.has_key else ["none"]
    step = draw(st.sampled_from(steps))
    return Product(
        id=product_id,
        computer_id=computer.id,
        activation_id=make_activation_id(n),
        name=draw(TEXT),
        family=draw(st.sampled_from(ProductFamily)),
        license_state=state,
        installation_id=None if step == "none" else make_installation_id(n),
        extended_pid=None if step == "none" else draw(st.none() | PIDS),
        confirmation_id=make_confirmation_id(n) if step == "acquired" else None,
    )


@st.composite
def key_records(draw: st.DrawFn, n: int) -> KeyRecord:
    remaining = draw(st.none() | st.builds(RemainingCount, st.integers(0, 10**6), TIMES))
    return KeyRecord(
        key=make_key(n),
        channel=draw(st.sampled_from(KeyChannel)),
        edition=draw(st.none() | TEXT),
        remaining=remaining,
    )


@contextlib.contextmanager
def opened(kind: str) -> Iterator[Inventory]:
    if kind == "memory":
        yield InMemoryInventory()
        return
    with SqliteInventory(":memory:") as inventory:
        yield inventory


def kept(inventory: Inventory) -> dict[str, Any]:
    return {
        "computers": [attrs.evolve(c, version=0) for c in inventory.computers()],
        "products": [
            attrs.evolve(p, version=0, proxy=p.proxy.new(), last_action=None)
            for p in inventory.products()
        ],
        "keys": [attrs.evolve(k, version=0) for k in inventory.keys()],  # noqa: SIM118  # Inventory.keys()
        "confirmations": sorted(inventory.confirmations(), key=lambda e: e.installation_id.digits),
    }


class Answering:
    """A clearinghouse answering each IID with a CID derived from it."""

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        return [
            CidResult(
                installation_id=r.installation_id, confirmation_id=answer(r.installation_id.digits)
            )
            for r in requests
        ]

    def remaining_activations(self, key: ProductKey, /) -> int:
        raise NotImplementedError


def answer(digits: str) -> Any:
    return make_confirmation_id(int(digits[:5]) % 99_991)


@PROPERTY
@given(
    fleet=fleets(),
    profile=st.sampled_from([Profile.FULL, Profile.NO_KEYS]),
    source_kind=st.sampled_from(["memory", "sqlite"]),
    target_kind=st.sampled_from(["memory", "sqlite"]),
)
def test_a_round_trip_into_an_empty_inventory_keeps_what_the_profile_keeps(
    fleet: Fleet, profile: Profile, source_kind: str, target_kind: str
) -> None:
    with opened(source_kind) as source, opened(target_kind) as target:
        fleet.store(source)
        document = loads(dumps(export(source, profile=profile, clock=Clock())))
        report = import_(target, document)
        expected = kept(source)
        if profile is Profile.NO_KEYS:
            expected["keys"] = []
        assert kept(target) == expected
        records = len(fleet.computers) + len(fleet.products) + len(expected["keys"])
        records += sum(p.installation_id is not None for p in fleet.products)
        assert (report.added, report.total) == (records, records)
        assert import_(target, document).unchanged == records


@PROPERTY
@given(fleet=fleets(), kind=st.sampled_from(["memory", "sqlite"]))
def test_a_proxy_only_file_brings_each_cid_to_the_product_whose_iid_it_answers(
    fleet: Fleet, kind: str
) -> None:
    with opened(kind) as source:
        fleet.store(source)
        before = {p.id: p for p in source.products()}
        document = export(source, profile=Profile.PROXY_ONLY, clock=Clock())
        acquired, _ = acquire(document, Answering(), clock=Clock())
        text = dumps(acquired)
        written = json.loads(text)
        # The header is the same for any fleet (but for the export's random origin): the
        # fleet's strings may then equal the header's ("mak-exchange") without a leak.
        assert header(written) == header(json.loads(dumps(empty_proxy_only())))
        names, values = names_and_values([v for v in written.values() if isinstance(v, list)])
        assert names <= FIELD_NAMES  # no data rides in a field name
        assert not values & identifying(fleet)
        import_(source, loads(text))
        waiting = {
            p.id
            for p in before.values()
            if p.installation_id is not None and p.status is not LicenseStatus.LICENSED
        }
        assert len(document.activations) == len(waiting)
        for product in source.products():
            old = before[product.id]
            if product.id not in waiting:
                assert product == old
                continue
            iid = product.installation_id
            assert iid == old.installation_id
            assert iid is not None
            if old.confirmation_id is None and old.extended_pid is None:
                assert product == old  # nothing the clearinghouse could answer
                continue
            expected = old.confirmation_id or answer(iid.digits)
            assert product.confirmation_id == expected
            kept_entry = source.find_confirmation(iid)
            assert kept_entry is not None
            assert (kept_entry.confirmation_id, kept_entry.activation_id) == (
                expected,
                product.activation_id,
            )


FIELD_NAMES = frozenset(
    field.name
    for cls in (
        ExchangeDocument,
        ComputerEntry,
        ProductEntry,
        ActivationEntry,
        KeyEntry,
        LicenseState,
        RemainingCount,
    )
    for field in attrs.fields(cls)
)
"""Every name an exchange file's objects may have: its records' fields."""


def header(document: dict[str, object]) -> dict[str, object]:
    """A parsed exchange file's top-level fields but its lists and its random origin."""
    return {k: v for k, v in document.items() if not isinstance(v, list) and k != "origin"}


def empty_proxy_only() -> ExchangeDocument:
    """The proxy-only file of an empty inventory, acquired, with the tests' clock."""
    document = export(InMemoryInventory(), profile=Profile.PROXY_ONLY, clock=Clock())
    return acquire(document, Answering(), clock=Clock())[0]


def names_and_values(value: object) -> tuple[set[str], set[str]]:
    """The field names and the string values of a parsed JSON value, apart.

    Apart, because a field name is no data: a computer whose id is ``"origin"`` (one of
    the document's fields) leaks nothing.
    """
    if isinstance(value, str):
        return set(), {value}
    names: set[str] = set()
    values: set[str] = set()
    if isinstance(value, dict):
        items = cast("dict[str, object]", value).items()
        names = {name for name, _ in items}
        children: list[object] = [v for _, v in items]
    elif isinstance(value, list):
        children = cast("list[object]", value)
    else:
        return names, values
    for child in children:
        child_names, child_values = names_and_values(child)
        names |= child_names
        values |= child_values
    return names, values


def identifying(fleet: Fleet) -> set[str]:
    """The names, addresses, networks, ids and keys a proxy-only file must not hold."""
    found: set[str] = set()
    for computer in fleet.computers:
        found |= {computer.id, computer.name, computer.address or "", computer.network or ""}
    for product in fleet.products:
        found |= {product.id, product.name, product.partial_key or ""}
    found |= {record.key.reveal() for record in fleet.keys}
    return found - {""}


@PROPERTY
@given(fleet=fleets())
def test_a_proxy_only_file_changes_no_other_inventory(fleet: Fleet) -> None:
    with opened("memory") as source, opened("sqlite") as elsewhere:
        fleet.store(source)
        acquired, _ = acquire(export(source, profile=Profile.PROXY_ONLY), Answering())
        if not acquired.activations:
            assert import_(elsewhere, acquired).total == 0
        else:
            with pytest.raises(InvalidDocument):
                import_(elsewhere, acquired)
        assert (elsewhere.computers(), elsewhere.products(), elsewhere.confirmations()) == (
            [],
            [],
            [],
        )


@PROPERTY
@given(fleet=fleets(), profile=st.sampled_from(Profile))
def test_every_document_reads_back_equal(fleet: Fleet, profile: Profile) -> None:
    with opened("memory") as inventory:
        document = export(fleet.store(inventory), profile=profile, clock=Clock())
        assert loads(dumps(document)) == document
