"""mak.exchange: the air-gap file, from export to import, on both shipped inventories.

The inventory of each test is built by hand (:func:`fill`: a product at every step of proxy
activation, two computers in a workgroup and one in a domain, two keys) or is a simulated
lab. Each test states what the file or the inventory must hold afterwards; the hostile
files check that the reader refuses them, names the JSON path and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import stat
import sys
import tracemalloc
import uuid
from math import ceil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from mak import exchange
from mak.adapters import InMemoryInventory, SqliteInventory
from mak.catalog import ProductFamily
from mak.codes import MAK_LIMIT_EXCEEDED, lookup
from mak.errors import (
    ImportConflict,
    InvalidComponent,
    InvalidDocument,
    InvalidFormat,
    MakError,
    NotFound,
    StorageError,
    TransportError,
    ValidationError,
)
from mak.exchange import (
    ActivationEntry,
    ExchangeDocument,
    ImportReport,
    MergePolicy,
    Profile,
    acquire,
    dump,
    dumps,
    export,
    import_,
    load,
    loads,
)
from mak.ids import is_valid_confirmation_id
from mak.lifecycle import ActivationMethod, KeyChannel, LicenseState, LicenseStatus
from mak.manager import VolumeActivationManager
from mak.model import ByWorkgroup, CilEntry, Product
from mak.ports import CidResult
from mak.proxystage import ProxyStage
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet
from mak.testing import (
    make_computer,
    make_confirmation,
    make_confirmation_id,
    make_installation_id,
    make_key,
    make_key_record,
    make_product,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from mak.keys import ProductKey
    from mak.ports import CidRequest, Inventory

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
PID = "03612-03311-000-000001-03-1033-26100.0000-0012026"
KEY = make_key(1)
ROOT = Path(__file__).resolve().parent.parent
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


class Clock:
    """A clock that says what it is told."""

    def __init__(self, at: dt.datetime = START) -> None:
        self.at = at

    def now(self) -> dt.datetime:
        return self.at


@pytest.fixture(params=["memory", "sqlite"])
def inventory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Inventory]:
    """An empty inventory of each kind mak ships."""
    if request.param == "memory":
        yield InMemoryInventory()
        return
    store = SqliteInventory(tmp_path / "inventory.db")
    yield store
    store.close()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Inventory]:
    """A second, empty SQLite inventory: where files are imported into."""
    store = SqliteInventory(tmp_path / "other.db")
    yield store
    store.close()


def grace(partial: str = KEY.partial) -> LicenseState:
    return LicenseState(
        status=LicenseStatus.OOB_GRACE,
        channel=KeyChannel.MAK,
        partial_key=partial,
        grace_ends_at=START + dt.timedelta(days=30),
    )


def licensed() -> LicenseState:
    return LicenseState(
        status=LicenseStatus.LICENSED,
        channel=KeyChannel.MAK,
        partial_key=KEY.partial,
        activated_at=START,
        method=ActivationMethod.MAK_PROXY,
    )


def fill(inventory: Inventory) -> Inventory:
    """Products at every step: no key (1), pending (2, 5), acquired (3), licensed (4)."""
    inventory.add_computer(make_computer(1, workgroup="ISOLATED-LAB"))
    inventory.add_computer(
        make_computer(
            2,
            name="FIN-SRV-02",
            address="192.0.2.7",
            workgroup=None,
            domain="corp.example",
            os_edition="Windows Server 2022 Standard",
        )
    )
    inventory.add_computer(make_computer(3, workgroup="ISOLATED-LAB"))
    pending: dict[str, Any] = {"license_state": grace(), "extended_pid": PID}
    inventory.add_product(make_product(1))
    inventory.add_product(make_product(2, installation_id=make_installation_id(2), **pending))
    inventory.add_product(
        make_product(
            3,
            computer_id="computer-0002",
            installation_id=make_installation_id(3),
            confirmation_id=make_confirmation_id(3),
            **pending,
        )
    )
    inventory.add_confirmation(make_confirmation(3, computer_id="computer-0002"))
    inventory.add_product(
        make_product(
            4,
            computer_id="computer-0003",
            license_state=licensed(),
            installation_id=make_installation_id(4),
            extended_pid=PID,
            confirmation_id=make_confirmation_id(4),
        )
    )
    inventory.add_confirmation(make_confirmation(4, computer_id="computer-0003"))
    inventory.add_product(
        make_product(
            5, computer_id="computer-0003", installation_id=make_installation_id(5), **pending
        )
    )
    inventory.add_key(make_key_record(1))
    inventory.add_key(make_key_record(2, channel=KeyChannel.RETAIL, edition=None, remaining=None))
    return inventory


def kept(inventory: Inventory) -> dict[str, Any]:
    """What an exchange file can carry of *inventory*, versions aside."""
    return {
        "computers": [attrs.evolve(c, version=0) for c in inventory.computers()],
        "products": [
            (
                p.id,
                p.computer_id,
                p.activation_id,
                p.name,
                p.family,
                p.license_state,
                p.installation_id,
                p.extended_pid,
                p.confirmation_id,
            )
            for p in inventory.products()
        ],
        "keys": [attrs.evolve(k, version=0) for k in inventory.keys()],  # noqa: SIM118  # Inventory.keys(), not a dict's
        "confirmations": sorted(inventory.confirmations(), key=lambda e: e.installation_id.digits),
    }


def everything(inventory: Inventory) -> dict[str, Any]:
    """All of *inventory*, versions and history included: to show nothing was written."""
    return {
        "computers": inventory.computers(),
        "products": inventory.products(),
        "keys": inventory.keys(),
        "confirmations": inventory.confirmations(),
        "history": inventory.history(),
    }


class Answering:
    """A clearinghouse that answers every request with a CID of its own, and records calls."""

    def __init__(
        self, refuse: frozenset[str] = frozenset(), code: int = MAK_LIMIT_EXCEEDED
    ) -> None:
        self.calls: list[int] = []
        self.refuse = refuse
        self.code = code

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        self.calls.append(len(requests))
        return [self._answer(request) for request in requests]

    def _answer(self, request: CidRequest) -> CidResult:
        iid = request.installation_id
        if iid.digits in self.refuse:
            return CidResult(installation_id=iid, code=lookup(self.code))
        return CidResult(installation_id=iid, confirmation_id=cid_for(iid.digits))

    def remaining_activations(self, key: ProductKey, /) -> int:
        raise NotImplementedError


def cid_for(digits: str) -> Any:
    """A sample CID tied to an IID's digits."""
    return make_confirmation_id(int(digits[:5]) % 100_000)


# --- documents: writing and reading ------------------------------------------------------


@pytest.mark.parametrize("profile", list(Profile))
def test_a_document_reads_back_equal_from_its_text(inventory: Inventory, profile: Profile) -> None:
    document = export(fill(inventory), profile=profile, clock=Clock())
    assert loads(dumps(document)) == document
    assert document.created_at == START
    assert document.producer.startswith("mak ")


def test_dump_and_load_take_paths_binary_files_and_text_files(
    inventory: Inventory, tmp_path: Path
) -> None:
    document = export(fill(inventory), clock=Clock())
    dump(document, tmp_path / "lab.json")
    dump(document, str(tmp_path / "lab2.json"))
    binary, text = io.BytesIO(), io.StringIO()
    dump(document, binary)
    dump(document, text)
    assert (tmp_path / "lab.json").read_text(encoding="utf-8") == text.getvalue()
    binary.seek(0)
    text.seek(0)
    for source in (tmp_path / "lab.json", str(tmp_path / "lab2.json"), binary, text):
        assert load(source) == document


def test_the_file_is_json_whose_first_fields_say_what_it_is(inventory: Inventory) -> None:
    data = json.loads(dumps(export(fill(inventory), clock=Clock())))
    assert list(data)[:6] == [
        "format",
        "schema_version",
        "profile",
        "created_at",
        "producer",
        "origin",
    ]
    assert (data["format"], data["schema_version"], data["profile"]) == (
        "mak-exchange",
        1,
        "no-keys",
    )
    assert data["created_at"] == "2026-01-05T09:00:00+00:00"


@posix_only
def test_a_dumped_file_is_owner_only_and_replaced_whole(
    inventory: Inventory, tmp_path: Path
) -> None:
    path = tmp_path / "lab.json"
    path.write_text("an older file")
    dump(export(fill(inventory), profile=Profile.FULL, clock=Clock()), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert load(path).profile is Profile.FULL


def test_an_interrupted_dump_leaves_the_old_file(
    inventory: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lab.json"
    path.write_text("the old file")

    def full_disk(_: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        dump(export(fill(inventory), clock=Clock()), path)
    assert path.read_text() == "the old file"
    assert list(tmp_path.glob("*.tmp")) == []


def test_dumps_refuses_what_is_not_a_document() -> None:
    with pytest.raises(InvalidFormat, match="expected an ExchangeDocument"):
        dumps({"format": "mak-exchange"})  # type: ignore[arg-type]  # the point of the test


def test_dumps_refuses_an_inconsistent_document() -> None:
    entry = ActivationEntry(
        product_id="p-1",
        activation_id="00000001-5a7e-4c3b-9d1e-000000000001",
        installation_id=make_installation_id(1),
    )
    document = ExchangeDocument(
        profile=Profile.NO_KEYS,
        created_at=START,
        producer="test",
        origin=uuid.uuid4(),
        activations=(entry,),
    )
    with pytest.raises(InvalidDocument) as caught:
        dumps(document)
    assert caught.value.path == "$.activations[0].product_id"


# --- hostile files ------------------------------------------------------------------------


def full_data(inventory: Inventory) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        dumps(export(fill(inventory), profile=Profile.FULL, clock=Clock()))
    )
    return data


def refused(text: str | bytes) -> InvalidDocument:
    with pytest.raises(InvalidDocument) as caught:
        loads(text)
    return caught.value


def set_path(data: Any, path: str, value: object) -> None:
    """Set the value at a JSON path such as ``$.products[1].id``."""
    steps = re.findall(r"\.(\w+)|\[(\d+)\]", path[1:])
    target = data
    for name, index in steps[:-1]:
        target = target[name] if name else target[int(index)]
    name, index = steps[-1]
    target[name or int(index)] = value


HOSTILE: dict[str, tuple[str, object, str, str]] = {
    # name: (path set, value, path named, reason fragment)
    "short IID": ("$.activations[0].installation_id", "1234565-12", "$.activations[0].installation_id", "has 9 digits"),
    "IID check digit": ("$.activations[0].installation_id", "1234564" * 9, "$.activations[0].installation_id", "check digit"),
    "CID with letters": ("$.activations[1].confirmation_id", "12345x-" * 7 + "123456", "$.activations[1].confirmation_id", "confirmation ID"),
    "malformed key": ("$.keys[0].key", "BCDFG-HJKMP-QRTVW-XY234", "$.keys[0].key", "product key"),
    "unknown family": ("$.products[0].family", "windows-phone", "$.products[0].family", "not a ProductFamily"),
    "name not a string": ("$.computers[0].name", 42, "$.computers[0].name", "expected str, got int"),
    "status as a bool": ("$.products[0].license_state.status", True, "$.products[0].license_state.status", "expected int, got bool"),
    "naive time": ("$.created_at", "2026-01-05T09:00:00", "$.created_at", "no UTC offset"),
    "time as a number": ("$.created_at", 1767603600, "$.created_at", "expected an ISO 8601 string, got int"),
    "time of no date": ("$.created_at", "yesterday", "$.created_at", "not a date and time"),
    "month 13": ("$.created_at", "2026-13-05T09:00:00+00:00", "$.created_at", "not a date and time"),
    "origin as a number": ("$.origin", 7, "$.origin", "expected a UUID string, got int"),
    "array expected": ("$.products", {"id": "x"}, "$.products", "expected an array, got an object"),
    "object expected": ("$.computers[0]", "LAB-PC-0001", "$.computers[0]", "expected an object, got a string"),
    "deep in a field": ("$.computers[0]", [[[[[[]]]]]], "$.computers[0]", "expected an object, got an array"),
    "bad origin": ("$.origin", "not-a-uuid", "$.origin", "not a UUID"),
    "bad activation id": ("$.products[0].activation_id", "B92E9980", "$.products[0]", "lower-case GUID"),
    "acquired without CID": ("$.activations[0].acquired_at", "2026-01-05T09:00:00+00:00", "$.activations[0]", "acquired_at needs a confirmation_id"),
    "unknown profile": ("$.profile", "everything", "$.profile", "not a Profile"),
    "newer version": ("$.schema_version", 2, "$.schema_version", "newer than this mak reads"),
    "version as text": ("$.schema_version", "1", "$.schema_version", "expected an integer, got a string"),
    "other format": ("$.format", "vamt-cilx", "$.format", "expected 'mak-exchange', got 'vamt-cilx'"),
    "duplicate computer": ("$.computers[1].id", "computer-0001", "$.computers[1].id", "the same as $.computers[0].id"),
    "duplicate product": ("$.products[1].id", "product-0001", "$.products[1].id", "the same as $.products[0].id"),
    "duplicate IID": ("$.activations[1].installation_id", str(make_installation_id(2)), "$.activations[1].installation_id", "the same as $.activations[0]"),
    "second product of a SKU on a computer": ("$.products[1].activation_id", "00000001-5a7e-4c3b-9d1e-000000000001", "$.products[1].activation_id", "a second product with this activation ID"),
    "duplicate key": ("$.keys[1].key", make_key(1).reveal(), "$.keys[1].key", "the same as $.keys[0].key"),
    "duplicate activation": ("$.activations[1].product_id", "product-0002", "$.activations[1].product_id", "the same as $.activations[0].product_id"),
    "CID for a product the file lacks": ("$.activations[1].product_id", "product-0099", "$.activations[1].product_id", "no product of the document"),
    "product on a computer the file lacks": ("$.products[2].computer_id", "computer-0099", "$.products[2].computer_id", "no computer of the document"),
    "activation of another SKU": ("$.activations[0].activation_id", "00000009-5a7e-4c3b-9d1e-000000000009", "$.activations[0].activation_id", "not the activation ID of its product"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("where", "value", "path", "reason"), HOSTILE.values(), ids=HOSTILE.keys()
)
def test_a_hostile_file_is_refused_naming_the_json_path(
    inventory: Inventory, where: str, value: object, path: str, reason: str
) -> None:
    data = full_data(inventory)
    set_path(data, where, value)
    error = refused(json.dumps(data))
    assert error.path == path
    assert reason in error.reason
    assert "W269N" not in str(error)
    assert KEY.reveal()[:5] not in str(error)


def test_extra_and_missing_fields_are_named(inventory: Inventory) -> None:
    data = full_data(inventory)
    data["products"][2]["colour"] = "blue"
    del data["activations"][0]["code"]
    error = refused(json.dumps(data))
    assert error.path == "$.products[2]"
    assert error.reason == "extra fields: colour; and 1 more"
    assert error.details[1] == "required fields missing: code @ $.activations[0]"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'{"format": "mak-exchange", "schema_', "not JSON: Unterminated string"),
        (b"", "not JSON: Expecting value at line 1 column 1"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"format": "mak-exchange", "format": "x"}', "names the field 'format' twice"),
        (b'{"format": "mak-exchange", "schema_version": NaN}', "NaN is not a JSON number"),
        (b'{"schema_version": ' + b"9" * 5000 + b"}", "not JSON this format allows"),
        (b"[]", "expected an object, got an array"),
        (b'{"schema_version": 1}', "expected 'mak-exchange', got nothing"),
    ],
    ids=["truncated", "empty", "utf-16", "deep", "twice", "nan", "huge int", "array", "no format"],
)
def test_what_is_not_a_document_is_refused_at_the_root(text: bytes, reason: str) -> None:
    error = refused(text)
    assert error.path in {"$", "$.format"}
    assert reason in error.reason


def test_a_file_with_a_byte_order_mark_still_loads(inventory: Inventory) -> None:
    document = export(fill(inventory), clock=Clock())
    assert loads(b"\xef\xbb\xbf" + dumps(document).encode()) == document


def test_a_sparse_100_mb_file_is_refused_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as stream:
        stream.truncate(100 * 1024 * 1024)

    def no_reading(*_: object, **__: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(Path, "open", no_reading)
    with pytest.raises(InvalidDocument) as caught:
        load(path)
    assert caught.value.path == "$"
    assert caught.value.reason == "the file is 104857600 bytes; at most 67108864 are read"


def test_a_stream_longer_than_the_limit_is_refused(inventory: Inventory) -> None:
    text = dumps(export(fill(inventory), clock=Clock()))
    assert load(io.StringIO(text), max_bytes=len(text)).profile is Profile.NO_KEYS
    with pytest.raises(InvalidDocument, match="larger than 100 bytes"):
        load(io.StringIO(text), max_bytes=100)
    with pytest.raises(InvalidDocument, match="larger than 100 bytes"):
        loads(text, max_bytes=100)


def test_a_key_in_a_hostile_file_never_reaches_the_error(inventory: Inventory) -> None:
    data = full_data(inventory)
    data["computers"][0]["name"] = 7
    data["keys"][0]["key"] = KEY.reveal()[:-1] + "Z"  # Z is not a key symbol
    data["products"][0]["name"] = KEY.reveal()
    data["keys"][1]["colour"] = KEY.reveal()
    data[KEY.reveal()] = 1
    with pytest.raises(InvalidDocument) as caught:
        loads(json.dumps(data))
    error = caught.value
    said = [str(error), repr(error), *error.details, repr(vars(error))]
    assert error.__cause__ is None
    assert error.__context__ is None
    for text in said:
        for group in KEY.reveal().split("-")[:4]:
            assert group not in text


def test_a_truncated_file_on_disk_is_refused(inventory: Inventory, tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    text = dumps(export(fill(inventory), clock=Clock()))
    path.write_text(text[: len(text) // 2])
    with pytest.raises(InvalidDocument, match="not JSON"):
        load(path)


@pytest.mark.parametrize("text", [None, 5, 1.5, ["{}"], {"format": "mak-exchange"}, object()])
def test_loads_refuses_what_is_not_text_naming_its_type(text: object) -> None:
    with pytest.raises(InvalidFormat) as caught:
        loads(text)  # type: ignore[arg-type]  # the point of the test
    assert isinstance(caught.value, ValidationError)
    assert f"got {type(text).__name__}" in str(caught.value)


def test_loads_reads_any_bytes_like_text(inventory: Inventory) -> None:
    text = dumps(export(fill(inventory), clock=Clock()))
    raw = text.encode()
    assert loads(raw) == loads(bytearray(raw)) == loads(memoryview(raw)) == loads(text)


class Unreadable:
    """A file whose read() gives what is neither text nor bytes."""

    def read(self, _: int) -> object:
        return 5


@pytest.mark.parametrize("source", [None, 5, b"{}", Unreadable()])
def test_load_refuses_what_is_neither_a_path_nor_a_file_naming_its_type(source: object) -> None:
    with pytest.raises(InvalidFormat) as caught:
        load(source)  # type: ignore[arg-type]  # the point of the test
    assert "got " + ("int" if isinstance(source, Unreadable) else type(source).__name__) in str(
        caught.value
    )


@pytest.mark.parametrize("unit", [b"[]", b"{}", b'{"a":1}', b"[[],[]]", b"[      ]"])
def test_a_file_of_needless_structure_is_refused_unread_in_bounded_memory(unit: bytes) -> None:
    # Read, 4 MB of empty arrays take about 90 MB; 64 MiB of them took 1.7 GB.
    items = b",".join([unit] * (4_000_000 // (len(unit) + 1)))
    raw = b'{"format": "mak-exchange", "schema_version": 1, "x": [' + items + b"]}"
    tracemalloc.start()
    try:
        error = refused(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.path == "$"
    assert "refused unread" in error.reason
    assert peak < len(raw) // 10  # nothing was parsed


def test_a_large_document_mak_writes_is_not_taken_for_needless_structure() -> None:
    inventory = InMemoryInventory()
    for n in range(1, 1500):
        computer = f"computer-{n:04d}"
        inventory.add_computer(make_computer(n))
        inventory.add_product(
            make_product(
                n,
                computer_id=computer,
                license_state=grace(),
                installation_id=make_installation_id(n),
                extended_pid=PID,
                confirmation_id=make_confirmation_id(n),
            )
        )
        inventory.add_confirmation(make_confirmation(n, computer_id=computer))
    document = export(inventory, profile=Profile.FULL, clock=Clock())
    compact = json.dumps(json.loads(dumps(document)), separators=(",", ":"))
    assert len(compact) > 1024 * 1024  # over the size below which nothing is counted
    assert loads(compact) == document


def acquired_data(inventory: Inventory) -> dict[str, Any]:
    document = export(fill(inventory), profile=Profile.PROXY_ONLY, clock=Clock())
    data: dict[str, Any] = json.loads(dumps(acquire(document, Answering(), clock=Clock())[0]))
    return data


def test_a_mistyped_cid_is_refused_naming_its_path_and_group(inventory: Inventory) -> None:
    good = acquired_data(inventory)
    data = json.loads(json.dumps(good))
    cid = data["activations"][1]["confirmation_id"]
    data["activations"][1]["confirmation_id"] = cid[:8] + str((int(cid[8]) + 1) % 10) + cid[9:]
    before = everything(inventory)
    error = refused(json.dumps(data))
    assert error.path == "$.activations[1].confirmation_id"
    assert "check digit of group B is wrong" in error.reason
    assert "check_digits=False" in error.reason
    assert everything(inventory) == before
    # The typo never reached the CIL, so the right file still brings every CID in.
    assert import_(inventory, loads(json.dumps(good))).added == 2


def test_check_digits_false_reads_cids_from_a_source_that_skips_the_rule(
    inventory: Inventory,
) -> None:
    data = acquired_data(inventory)
    data["activations"][1]["confirmation_id"] = "-".join(["123451"] * 8)  # every group fails
    text = json.dumps(data)
    assert refused(text).path == "$.activations[1].confirmation_id"
    document = loads(text, check_digits=False)
    assert (
        str(document.activations[1].confirmation_id) == data["activations"][1]["confirmation_id"]
    )
    assert load(io.StringIO(text), check_digits=False) == document
    assert loads(dumps(document), check_digits=False) == document


def test_the_check_digits_catch_a_typo_unless_a_digit_is_off_by_seven() -> None:
    # What docs/air-gapped.md promises of a hand-edited CID.
    cid = str(make_confirmation_id(3))
    for position, right in enumerate(cid):
        if right == "-":
            continue
        is_check_digit = position % 7 == 5  # the last of each group of six
        for typed in set("0123456789") - {right}:
            caught = not is_valid_confirmation_id(cid[:position] + typed + cid[position + 1 :])
            assert caught == (is_check_digit or abs(int(typed) - int(right)) != 7)
        after = cid[position + 1 : position + 2]
        if after.isdigit() and after != right:  # two neighbours swapped
            swapped = cid[:position] + after + right + cid[position + 2 :]
            assert is_valid_confirmation_id(swapped) == (abs(int(after) - int(right)) == 7)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("partial_key", "BBBBB", "carries no partial keys"),
        ("product_id", "product-0002", "opaque references"),
        ("product_id", "p-" + "0" * 31, "opaque references"),
    ],
)
def test_a_proxy_only_file_carrying_what_its_profile_leaves_out_is_refused(
    inventory: Inventory, field: str, value: str, reason: str
) -> None:
    data = acquired_data(inventory)
    data["activations"][1][field] = value
    error = refused(json.dumps(data))
    assert (error.path, reason in error.reason) == (f"$.activations[1].{field}", True)
    schema = exchange.json_schema()
    assert schema_errors(data, schema, schema) != []


# --- migration ----------------------------------------------------------------------------


def test_migrate_leaves_a_current_document_alone() -> None:
    data = {"format": "mak-exchange", "schema_version": 1, "extra": "kept for the reader"}
    assert exchange.migrate(data) == data


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        ("text", "$", "expected an object, got a string"),
        ({"format": "mak-exchange", "schema_version": 0}, "$.schema_version", "not a version"),
        ({"format": "mak-exchange", "schema_version": 3}, "$.schema_version", "upgrade mak"),
        ({"format": "mak-exchange", "schema_version": True}, "$.schema_version", "a boolean"),
        ({"format": "mak-exchange", "schema_version": None}, "$.schema_version", "got null"),
        ({"format": "mak-exchange", "schema_version": 1.0}, "$.schema_version", "got a number"),
        ({"format": 7, "schema_version": 1}, "$.format", "got 7"),
    ],
)
def test_migrate_refuses_what_it_cannot_read(data: object, path: str, reason: str) -> None:
    with pytest.raises(InvalidDocument) as caught:
        exchange.migrate(data)
    assert caught.value.path == path
    assert reason in caught.value.reason


def test_an_older_version_is_upgraded_by_its_step(
    inventory: Inventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # How the next version will work: a step from version 0, where the activation
    # entries were called "cil", to version 1.
    def from_0(data: dict[str, Any]) -> dict[str, Any]:
        data["activations"] = data.pop("cil")
        return data

    monkeypatch.setattr(exchange, "_UPGRADES", {0: from_0})
    document = export(fill(inventory), clock=Clock())
    old = json.loads(dumps(document))
    old["schema_version"] = 0
    old["cil"] = old.pop("activations")
    assert loads(json.dumps(old)) == document
    with pytest.raises(InvalidDocument, match="not a version"):
        exchange.migrate({**old, "schema_version": -1})


# --- the published JSON Schema -------------------------------------------------------------


def schema_errors(
    value: Any, schema: dict[str, Any], root: dict[str, Any], path: str = "$"
) -> list[str]:
    """Check *value* against the subset of JSON Schema that json_schema() uses."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return schema_errors(value, root["$defs"][name], root, path)
    errors: list[str] = []
    for part in schema.get("allOf", []):
        errors += schema_errors(value, part, root, path)
    if "anyOf" in schema and all(schema_errors(value, s, root, path) for s in schema["anyOf"]):
        errors.append(f"{path}: matches no choice")
    if "if" in schema and not schema_errors(value, schema["if"], root, path):
        errors += schema_errors(value, schema["then"], root, path)
    if "const" in schema and not same_json(value, schema["const"]):
        errors.append(f"{path}: not {schema['const']!r}")
    if "enum" in schema and not any(same_json(value, option) for option in schema["enum"]):
        errors.append(f"{path}: not one of {schema['enum']}")
    if "type" in schema and not json_type_is(value, schema["type"]):
        errors.append(f"{path}: not of type {schema['type']}")
    return (
        errors + string_errors(value, schema, path) + container_errors(value, schema, root, path)
    )


def same_json(value: object, expected: object) -> bool:
    return type(value) is type(expected) and value == expected


def json_type_is(value: object, name: str) -> bool:
    checks: dict[str, Callable[[object], bool]] = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: type(v) is int,
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    return checks[name](value)


def string_errors(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    errors: list[str] = []
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 10**9):
            errors.append(f"{path}: wrong length")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: does not match {schema['pattern']}")
    if type(value) is int and not schema.get("minimum", value) <= value <= schema.get(
        "maximum", value
    ):
        errors.append(f"{path}: out of range")
    return errors


def container_errors(
    value: Any, schema: dict[str, Any], root: dict[str, Any], path: str
) -> list[str]:
    errors: list[str] = []
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            errors.append(f"{path}: too many items")
        for index, item in enumerate(value):
            if "items" in schema:
                errors += schema_errors(item, schema["items"], root, f"{path}[{index}]")
    if isinstance(value, dict):
        errors += [
            f"{path}.{name}: missing" for name in schema.get("required", []) if name not in value
        ]
        properties = schema.get("properties", {})
        for name, item in value.items():
            if name in properties:
                errors += schema_errors(item, properties[name], root, f"{path}.{name}")
            elif schema.get("additionalProperties", True) is False:
                errors.append(f"{path}.{name}: not allowed")
    return errors


def test_the_published_schema_is_the_module_s() -> None:
    published = (ROOT / "docs" / "exchange.schema.json").read_text(encoding="utf-8")
    assert json.loads(published) == exchange.json_schema()
    assert published == json.dumps(exchange.json_schema(), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("profile", list(Profile))
def test_exported_files_satisfy_the_schema(inventory: Inventory, profile: Profile) -> None:
    fill(inventory)
    document = export(inventory, profile=profile, clock=Clock())
    document, _ = acquire(document, Answering(), clock=Clock())  # every field set somewhere
    schema = exchange.json_schema()
    assert schema_errors(json.loads(dumps(document)), schema, schema) == []


@pytest.mark.parametrize("code", [MAK_LIMIT_EXCEEDED, 0x7F], ids=["HRESULT", "batch service"])
def test_files_with_the_codes_of_refusals_satisfy_the_schema(
    inventory: Inventory, code: int
) -> None:
    document = export(fill(inventory), profile=Profile.PROXY_ONLY, clock=Clock())
    refusing = Answering(refuse=frozenset({make_installation_id(2).digits}), code=code)
    document, _ = acquire(document, refusing, clock=Clock())
    data = json.loads(dumps(document))
    assert data["activations"][0]["code"] == lookup(code).hex
    schema = exchange.json_schema()
    assert schema_errors(data, schema, schema) == []
    assert loads(json.dumps(data)) == document


def test_simulated_lab_files_satisfy_the_schema() -> None:
    lab = AirGappedLab(InMemoryInventory())
    schema = exchange.json_schema()
    for profile in Profile:
        data = json.loads(dumps(lab.manager.export(profile=profile)))
        assert schema_errors(data, schema, schema) == []


@pytest.mark.parametrize(
    ("where", "value", "complaint"),
    [
        ("$.activations[0].installation_id", "12345", "does not match"),
        ("$.products[0].family", "windows-phone", "not one of"),
        ("$.keys[0].key", "BCDFG-HJKMP-QRTVW-XY234", "does not match"),
        ("$.profile", "proxy-only", "too many items"),
        ("$.computers[0].name", "two\nlines", "does not match"),
        ("$.products[0].license_state.reason", -1, "matches no choice"),
        ("$.products[0].license_state.rearms_left", -1, "out of range"),
    ],
)
def test_the_schema_refuses_what_load_refuses(
    inventory: Inventory, where: str, value: object, complaint: str
) -> None:
    data = full_data(inventory)
    set_path(data, where, value)
    schema = exchange.json_schema()
    assert any(complaint in error for error in schema_errors(data, schema, schema))
    with pytest.raises(InvalidDocument):
        loads(json.dumps(data))


UNWRITTEN: dict[str, tuple[str, Callable[[Any], object]]] = {
    # name: (path, the value mak writes -> another form of it)
    "IID without hyphens": ("$.activations[0].installation_id", lambda v: v.replace("-", "")),
    "IID with spaces": ("$.activations[0].installation_id", lambda v: v.replace("-", " ")),
    "CID without hyphens": ("$.activations[1].confirmation_id", lambda v: v.replace("-", "")),
    "key in lower case": ("$.keys[0].key", str.lower),
    "key without hyphens": ("$.keys[0].key", lambda v: v.replace("-", "")),
    "partial key in lower case": ("$.products[1].license_state.partial_key", str.lower),
    "code as a number": ("$.activations[0].code", lambda _: 0xC004C020),
    "code in lower case": ("$.activations[0].code", lambda _: "0xc004c020"),
    "code without 0x": ("$.activations[0].code", lambda _: "C004C020"),
    "time in Z": ("$.created_at", lambda v: v.replace("+00:00", "Z")),
    "time with a space": ("$.created_at", lambda v: v.replace("T", " ")),
    "time in another offset": ("$.created_at", lambda _: "2026-01-05T11:00:00+02:00"),
    "time in basic format": ("$.created_at", lambda _: "20260105T090000+0000"),
    "time of milliseconds": ("$.created_at", lambda v: v.replace("+", ".123+")),
    "time without an offset": ("$.products[1].license_state.grace_ends_at", lambda v: v[:19]),
    "UUID in braces": ("$.origin", lambda v: "{" + v + "}"),
    "UUID as a URN": ("$.origin", lambda v: "urn:uuid:" + v),
    "UUID in upper case": ("$.origin", str.upper),
    "UUID without hyphens": ("$.origin", lambda v: v.replace("-", "")),
}  # fmt: skip


def get_path(data: Any, path: str) -> Any:
    for name, index in re.findall(r"\.(\w+)|\[(\d+)\]", path[1:]):
        data = data[name] if name else data[int(index)]
    return data


@pytest.mark.parametrize(("where", "change"), UNWRITTEN.values(), ids=UNWRITTEN.keys())
def test_a_value_not_in_the_form_mak_writes_is_refused_by_load_and_the_schema(
    inventory: Inventory, where: str, change: Callable[[Any], object]
) -> None:
    data = full_data(inventory)
    data["activations"][0]["code"] = "0xC004C020"
    data["activations"][0]["partial_key"] = data["activations"][0]["partial_key"] or "789BC"
    schema = exchange.json_schema()
    assert schema_errors(data, schema, schema) == []
    assert loads(json.dumps(data))
    set_path(data, where, change(get_path(data, where)))
    error = refused(json.dumps(data))
    assert where.startswith(error.path)  # the field, or the record whose rule it breaks
    assert error.path.startswith("$.")
    assert schema_errors(data, schema, schema) != []


ACCEPTED: dict[str, tuple[str, object]] = {
    "batch-service code": ("$.activations[0].code", "0x7F"),
    "HRESULT code": ("$.activations[0].code", "0xC004F04D"),
    "time with microseconds": ("$.created_at", "2026-01-05T09:00:00.123456+00:00"),
    "54-digit IID": ("$.activations[0].installation_id", "-".join(["123450"] * 9)),
    "42-digit CID": ("$.activations[1].confirmation_id", "-".join(["123450"] * 7)),
    "IPv6 address": ("$.computers[1].address", "2001:db8::7"),
    "extended PID with spaces": ("$.activations[0].extended_pid", "03612 03311 000 000001"),
    "name with a tab": ("$.computers[0].name", "LAB\tPC"),
}  # fmt: skip


@pytest.mark.parametrize(("where", "value"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_an_edge_form_load_accepts_is_one_the_schema_accepts(
    inventory: Inventory, where: str, value: object
) -> None:
    data = full_data(inventory)
    set_path(data, where, value)
    schema = exchange.json_schema()
    assert schema_errors(data, schema, schema) == []
    assert json.loads(dumps(loads(json.dumps(data)))) == data  # and mak writes it back as is


def test_the_schema_refuses_unknown_fields(inventory: Inventory) -> None:
    data = full_data(inventory)
    data["activations"][0]["colour"] = "blue"
    schema = exchange.json_schema()
    assert schema_errors(data, schema, schema) == ["$.activations[0].colour: not allowed"]


# --- export -------------------------------------------------------------------------------


def test_the_default_profile_keeps_no_keys(inventory: Inventory) -> None:
    document = export(fill(inventory), clock=Clock())
    text = dumps(document)
    assert document.profile is Profile.NO_KEYS
    assert document.keys == ()
    for record in inventory.keys():  # noqa: SIM118  # Inventory.keys(), not a dict's
        for group in record.key.reveal().split("-")[:4]:
            assert group not in text
    assert KEY.partial in text  # Windows shows the last five symbols; VAMT lists them


def test_a_full_export_carries_the_keys_in_full(inventory: Inventory) -> None:
    document = export(fill(inventory), profile=Profile.FULL, clock=Clock())
    assert [entry.key for entry in document.keys] == [make_key(1), make_key(2)]
    assert make_key(1).reveal() in dumps(document)
    assert "XXXXX" in repr(document.keys[0])
    assert make_key(1).reveal() not in repr(document)


def test_an_export_carries_what_the_inventory_keeps(inventory: Inventory) -> None:
    document = export(fill(inventory), clock=Clock())
    assert [c.id for c in document.computers] == [
        "computer-0001",
        "computer-0002",
        "computer-0003",
    ]
    assert [p.id for p in document.products] == [f"product-000{n}" for n in range(1, 6)]
    entries = {entry.product_id: entry for entry in document.activations}
    assert sorted(entries) == ["product-0002", "product-0003", "product-0004", "product-0005"]
    assert [e.product_id for e in document.pending] == ["product-0002", "product-0005"]
    acquired = entries["product-0003"]
    assert acquired.confirmation_id == make_confirmation_id(3)
    assert acquired.acquired_at == make_confirmation(3).acquired_at
    assert acquired.partial_key == KEY.partial
    assert entries["product-0002"].extended_pid == PID


def test_an_export_of_some_products_takes_their_computers_only(inventory: Inventory) -> None:
    fill(inventory)
    product = inventory.product("product-0003")
    document = export(inventory, [product, "product-0005", "product-0003"], clock=Clock())
    assert [p.id for p in document.products] == ["product-0003", "product-0005"]
    assert [c.id for c in document.computers] == ["computer-0002", "computer-0003"]


def test_an_export_of_an_unknown_product_raises(inventory: Inventory) -> None:
    with pytest.raises(NotFound):
        export(fill(inventory), ["product-0099"], clock=Clock())


def test_an_export_needs_a_profile(inventory: Inventory) -> None:
    with pytest.raises(InvalidFormat, match="expected a Profile"):
        export(inventory, profile="full")  # type: ignore[arg-type]  # the point of the test


def test_an_export_reads_the_computer_clock_when_given_none(inventory: Inventory) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    document = export(fill(inventory))
    assert before <= document.created_at <= dt.datetime.now(dt.timezone.utc)


def test_an_export_writes_nothing(inventory: Inventory) -> None:
    before = everything(fill(inventory))
    for profile in Profile:
        export(inventory, profile=profile, clock=Clock())
    assert everything(inventory) == before


def test_a_proxy_only_export_has_the_products_waiting_and_nothing_else(
    inventory: Inventory,
) -> None:
    document = export(fill(inventory), profile=Profile.PROXY_ONLY, clock=Clock())
    assert (document.computers, document.products, document.keys) == ((), (), ())
    iids = [entry.installation_id for entry in document.activations]
    assert iids == [make_installation_id(n) for n in (2, 3, 5)]  # 4 is licensed, 1 has no IID
    for entry in document.activations:
        assert re.fullmatch("p-[0-9a-f]{32}", entry.product_id)
        assert entry.partial_key is None
    assert document.activations[1].confirmation_id == make_confirmation_id(3)


def test_each_proxy_only_export_has_its_own_references(inventory: Inventory) -> None:
    fill(inventory)
    first = export(inventory, profile=Profile.PROXY_ONLY, clock=Clock())
    second = export(inventory, profile=Profile.PROXY_ONLY, clock=Clock())
    assert first.origin != second.origin
    assert not {e.product_id for e in first.activations} & {
        e.product_id for e in second.activations
    }


def secrets_of(inventory: Inventory) -> set[str]:
    """Every name, address, domain, id and key text of *inventory*."""
    found: set[str] = set()
    for computer in inventory.computers():
        found |= {computer.id, computer.name, computer.address or "", computer.network or ""}
        found.add(computer.os_edition or "")
    for product in inventory.products():
        found |= {product.id, product.name}
    for record in inventory.keys():  # noqa: SIM118  # Inventory.keys(), not a dict's
        text = record.key.reveal()
        found |= {text, text.replace("-", ""), *text.split("-")[:4], record.edition or ""}
        if not record.key.partial.isdigit():  # five digits could be part of an ID by chance
            found.add(record.key.partial)
    return {secret for secret in found if secret}


def assert_none_in(text: str, secrets: set[str]) -> None:
    folded = text.casefold()
    leaked = sorted(secret for secret in secrets if secret.casefold() in folded)
    assert leaked == []


def test_a_proxy_only_file_holds_no_name_address_domain_id_or_key(inventory: Inventory) -> None:
    document = export(fill(inventory), profile=Profile.PROXY_ONLY, clock=Clock())
    acquired, _ = acquire(document, Answering(), clock=Clock())
    assert len(acquired.activations) == 3
    for text in (dumps(document), dumps(acquired), repr(acquired)):
        assert_none_in(text, secrets_of(inventory))


def test_a_simulated_lab_s_proxy_only_file_holds_nothing_identifying() -> None:
    lab = AirGappedLab(InMemoryInventory(), workgroup="SECRETLAB")
    text = dumps(lab.manager.export(profile=Profile.PROXY_ONLY))
    secrets = secrets_of(lab.inventory)
    assert {"SECRETLAB", lab.fleet.computers[0].name, "10.0.0.1"} <= secrets
    assert len(json.loads(text)["activations"]) == len(lab.clients)
    assert_none_in(text, secrets)


def test_a_no_keys_file_holds_no_key(inventory: Inventory) -> None:
    lab = AirGappedLab(InMemoryInventory())
    for document in (export(fill(inventory), clock=Clock()), lab.manager.export()):
        text = dumps(document)
        for record in [*inventory.keys(), *lab.inventory.keys()]:  # Inventory.keys(), not a dict's
            key = record.key.reveal()
            assert_none_in(text, {key, key.replace("-", ""), *key.split("-")[:4]})


# --- acquire ------------------------------------------------------------------------------


def test_acquire_asks_once_per_batch_and_fills_the_pending_entries(inventory: Inventory) -> None:
    fill(inventory)
    for n in range(6, 13):
        inventory.add_product(
            make_product(
                n, installation_id=make_installation_id(n), license_state=grace(), extended_pid=PID
            )
        )
    document = export(inventory, profile=Profile.PROXY_ONLY, clock=Clock())
    service = Answering()
    later = Clock(START + dt.timedelta(hours=3))
    acquired, report = acquire(document, service, batch_size=3, clock=later)
    assert len(document.pending) == 9  # 2, 5 and 6-12; 3 has its CID already
    assert service.calls == [3, 3, 3]
    assert report.service_calls == 3 == ceil(9 / 3)
    assert (report.succeeded, report.failed, report.action) == (10, 0, "acquire")
    assert acquired.pending == ()
    for before, after in zip(document.activations, acquired.activations, strict=True):
        assert after.product_id == before.product_id
        if before.pending:
            assert after.confirmation_id == cid_for(after.installation_id.digits)
            assert after.acquired_at == later.at
        else:
            assert after == before
    again, second = acquire(acquired, service, clock=later)
    assert (again, second.service_calls, service.calls) == (acquired, 0, [3, 3, 3])


def test_a_refused_entry_stays_pending_with_its_code(inventory: Inventory) -> None:
    document = export(fill(inventory), profile=Profile.PROXY_ONLY, clock=Clock())
    refused_iid = make_installation_id(5).digits
    acquired, report = acquire(document, Answering(frozenset({refused_iid})), clock=Clock())
    [entry] = acquired.pending
    assert entry.installation_id.digits == refused_iid
    assert entry.code is not None
    assert entry.code.value == MAK_LIMIT_EXCEEDED
    assert report.counts == {"ok": 2, "0xC004C020": 1}
    retried, again = acquire(acquired, Answering(), clock=Clock())
    assert retried.pending == ()
    assert again.service_calls == 1
    assert retried.activations[2].code is None


def test_a_failed_connection_fails_its_batch_and_the_next_goes_on(inventory: Inventory) -> None:
    fill(inventory)
    document = export(inventory, profile=Profile.PROXY_ONLY, clock=Clock())

    class Flaky(Answering):
        def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
            if not self.calls:
                self.calls.append(len(requests))
                raise TransportError("the proxy dropped the connection")
            return super().acquire_confirmation_ids(requests)

    acquired, report = acquire(document, Flaky(), batch_size=1, clock=Clock())
    assert report.service_calls == 2
    assert report.counts == {"0x800706BA": 1, "ok": 2}
    assert [e.pending for e in acquired.activations] == [True, False, False]
    assert acquired.activations[0].code is None  # a transport failure is no refusal


def test_an_answer_that_does_not_fit_fails_its_entries(inventory: Inventory) -> None:
    document = export(fill(inventory), profile=Profile.PROXY_ONLY, clock=Clock())

    class Short(Answering):
        def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
            return super().acquire_confirmation_ids(requests)[:-1]

    class Mixed(Answering):
        def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
            return list(reversed(super().acquire_confirmation_ids(requests)))

    for service in (Short(), Mixed()):
        acquired, report = acquire(document, service, clock=Clock())
        assert acquired.pending == document.pending
        assert {o.code.hex for o in report.failures if o.code} == {"0xC004B100"}


def test_an_entry_without_an_extended_pid_is_not_sent(inventory: Inventory) -> None:
    fill(inventory)
    inventory.update_product(attrs.evolve(inventory.product("product-0002"), extended_pid=None))
    document = export(inventory, profile=Profile.PROXY_ONLY, clock=Clock())
    service = Answering()
    _, report = acquire(document, service, clock=Clock())
    assert service.calls == [1]
    assert not report.outcomes[0].ok
    assert "no extended PID" in report.outcomes[0].detail


@pytest.mark.parametrize("size", [0, -1, True, 2.5, "3"])
def test_acquire_refuses_a_bad_batch_size(inventory: Inventory, size: object) -> None:
    document = export(inventory, clock=Clock())
    with pytest.raises(InvalidComponent, match="batch size"):
        acquire(document, Answering(), batch_size=size)  # type: ignore[arg-type]  # the point


# --- import -------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", [Profile.FULL, Profile.NO_KEYS])
def test_an_import_into_an_empty_inventory_reproduces_what_the_profile_keeps(
    inventory: Inventory, empty: Inventory, profile: Profile
) -> None:
    text = dumps(export(fill(inventory), profile=profile, clock=Clock()))
    report = import_(empty, loads(text))
    expected = kept(inventory)
    if profile is Profile.NO_KEYS:
        expected["keys"] = []
    assert kept(empty) == expected
    # 3 computers, 5 products, 4 activation entries, and the keys of a full file.
    keys = 2 if profile is Profile.FULL else 0
    assert report == ImportReport(added=12 + keys, updated=0, unchanged=0, conflicts=0)


def test_importing_the_same_file_twice_changes_nothing_the_second_time(
    inventory: Inventory, empty: Inventory
) -> None:
    document = loads(dumps(export(fill(inventory), profile=Profile.FULL, clock=Clock())))
    import_(empty, document)
    before = everything(empty)
    for policy in MergePolicy:
        report = import_(empty, document, policy=policy)
        assert report == ImportReport(added=0, updated=0, unchanged=14, conflicts=0)
    assert everything(empty) == before


def test_a_proxy_only_file_comes_back_to_the_products_it_left(inventory: Inventory) -> None:
    document = export(fill(inventory), profile=Profile.PROXY_ONLY, clock=Clock())
    acquired, _ = acquire(document, Answering(), clock=Clock(START + dt.timedelta(hours=1)))
    report = import_(inventory, loads(dumps(acquired)))
    assert report == ImportReport(added=2, updated=0, unchanged=1, conflicts=0)
    for n in (2, 5):
        product = inventory.product(f"product-000{n}")
        iid = make_installation_id(n)
        assert product.installation_id == iid
        assert product.confirmation_id == cid_for(iid.digits)
        assert product.proxy.stage is ProxyStage.DISCOVERED  # the hand-made products never moved
        entry = inventory.find_confirmation(iid)
        assert entry == CilEntry(
            computer_id=product.computer_id,
            activation_id=product.activation_id,
            installation_id=iid,
            confirmation_id=cid_for(iid.digits),
            partial_key=KEY.partial,
            acquired_at=START + dt.timedelta(hours=1),
        )
    assert import_(inventory, acquired) == ImportReport(
        added=0, updated=0, unchanged=3, conflicts=0
    )


def test_an_import_moves_a_collected_product_on_to_cid_acquired(inventory: Inventory) -> None:
    fill(inventory)
    product = inventory.product("product-0002")
    collected = attrs.evolve(
        product, proxy=attrs.evolve(product.proxy, stage=ProxyStage.IID_COLLECTED)
    )
    inventory.update_product(collected)
    acquired, _ = acquire(
        export(inventory, profile=Profile.PROXY_ONLY, clock=Clock()), Answering()
    )
    import_(inventory, acquired)
    assert inventory.product("product-0002").proxy.stage is ProxyStage.CID_ACQUIRED


def test_a_proxy_only_file_maps_to_no_other_inventory(
    inventory: Inventory, empty: Inventory
) -> None:
    acquired, _ = acquire(
        export(fill(inventory), profile=Profile.PROXY_ONLY, clock=Clock()), Answering()
    )
    import_(empty, export(inventory, profile=Profile.FULL, clock=Clock()))  # the same products
    before = everything(empty)
    elsewhere = InMemoryInventory()
    with pytest.raises(InvalidDocument) as caught:
        import_(elsewhere, acquired)
    assert caught.value.path == "$.activations[0].product_id"
    assert "exported from another inventory" in caught.value.reason
    assert everything(elsewhere) == everything(InMemoryInventory())
    # A copy holding the same product ids, restored from a full export, is the same inventory.
    assert import_(empty, acquired).added == 2
    assert everything(empty) != before


def test_a_cid_for_an_iid_the_product_no_longer_shows_is_a_conflict(inventory: Inventory) -> None:
    acquired, _ = acquire(
        export(fill(inventory), profile=Profile.PROXY_ONLY, clock=Clock()), Answering()
    )
    moved = attrs.evolve(
        inventory.product("product-0005"), installation_id=make_installation_id(55)
    )
    inventory.update_product(moved)  # new hardware since the export
    before = everything(inventory)
    with pytest.raises(ImportConflict) as caught:
        import_(inventory, acquired)
    assert caught.value.conflicts == (
        "$.activations[2]: the product shows another installation ID now",
    )
    assert everything(inventory) == before
    report = import_(inventory, acquired, policy=MergePolicy.KEEP_EXISTING)
    assert (report.added, report.conflicts) == (1, 1)
    assert inventory.product("product-0005").installation_id == make_installation_id(55)
    assert inventory.product("product-0005").confirmation_id is None
    assert inventory.find_confirmation(make_installation_id(5)) is None
    overwritten = import_(inventory, acquired, policy=MergePolicy.OVERWRITE)
    assert (overwritten.updated, overwritten.unchanged) == (1, 2)
    assert inventory.product("product-0005").installation_id == make_installation_id(5)


def test_a_tampered_proxy_only_file_is_refused_and_writes_nothing(inventory: Inventory) -> None:
    acquired, _ = acquire(
        export(fill(inventory), profile=Profile.PROXY_ONLY, clock=Clock()), Answering()
    )
    before = everything(inventory)
    data = json.loads(dumps(acquired))
    data["activations"][1]["product_id"] = "p-" + "0" * 32
    with pytest.raises(InvalidDocument, match=re.escape("'$.activations[1].product_id'")):
        import_(inventory, loads(json.dumps(data)))
    data = json.loads(dumps(acquired))
    data["activations"][1]["activation_id"] = "00000009-5a7e-4c3b-9d1e-000000000009"
    with pytest.raises(InvalidDocument, match=re.escape("'$.activations[1].activation_id'")):
        import_(inventory, loads(json.dumps(data)))
    data = json.loads(dumps(acquired))
    data["activations"][0]["installation_id"] = str(
        make_installation_id(77)
    )  # a CID for an unknown IID
    with pytest.raises(ImportConflict, match="another installation ID"):
        import_(inventory, loads(json.dumps(data)))
    assert everything(inventory) == before


def test_a_kept_confirmation_is_never_replaced(inventory: Inventory) -> None:
    document = export(fill(inventory), profile=Profile.PROXY_ONLY, clock=Clock())
    entries = list(document.activations)
    entries[1] = attrs.evolve(entries[1], confirmation_id=make_confirmation_id(99))
    forged = attrs.evolve(document, activations=tuple(entries))
    for policy in MergePolicy:
        if policy is MergePolicy.FAIL_ON_CONFLICT:
            with pytest.raises(ImportConflict, match="never replaces one"):
                import_(inventory, forged, policy=policy)
        else:
            assert import_(inventory, forged, policy=policy).conflicts == 1
    assert inventory.find_confirmation(make_installation_id(3)) == make_confirmation(
        3, computer_id="computer-0002"
    )
    assert inventory.product("product-0003").confirmation_id == make_confirmation_id(3)


def moved_entry(document: ExchangeDocument, source: str, target: Product) -> ExchangeDocument:
    """*document* with the activation entry of product *source* moved to product *target*."""
    entry = next(a for a in document.activations if a.product_id == source)
    moved = attrs.evolve(entry, product_id=target.id, activation_id=target.activation_id)
    others = [a for a in document.activations if a is not entry]
    return attrs.evolve(document, activations=(*others, moved))


@pytest.mark.parametrize("policy", list(MergePolicy))
@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("product-0003", "kept for another product (on computer 'computer-0002')"),
        ("product-0002", "its installation ID is product 'product-0002''s"),
    ],
    ids=["kept in the CIL", "shown by a product"],
)
def test_an_iid_of_another_product_is_never_applied(
    inventory: Inventory, policy: MergePolicy, source: str, reason: str
) -> None:
    fill(inventory)
    exported = export(inventory, clock=Clock())
    exported, _ = acquire(exported, Answering(), clock=Clock())
    document = loads(dumps(moved_entry(exported, source, inventory.product("product-0001"))))
    before = everything(inventory)
    if policy is MergePolicy.FAIL_ON_CONFLICT:
        with pytest.raises(ImportConflict) as caught:
            import_(inventory, document, policy=policy)
        assert reason in caught.value.conflicts[0]
        assert everything(inventory) == before
    else:
        report = import_(inventory, document, policy=policy)
        assert report.conflicts == 1
        assert reason in report.details[0]
    untouched = inventory.product("product-0001")
    assert (untouched.installation_id, untouched.confirmation_id) == (None, None)
    for kept in inventory.confirmations():  # each kept CID is its own product's
        holders = [p for p in inventory.products() if p.installation_id == kept.installation_id]
        assert [(p.computer_id, p.activation_id) for p in holders] == [
            (kept.computer_id, kept.activation_id)
        ]
    for profile in Profile:  # the inventory still exports: no IID is shown twice
        assert loads(dumps(export(inventory, profile=profile, clock=Clock())))


@pytest.mark.parametrize("policy", list(MergePolicy))
def test_a_file_s_partial_key_never_overrides_the_product_s(
    inventory: Inventory, policy: MergePolicy
) -> None:
    fill(inventory)
    document, _ = acquire(export(inventory, clock=Clock()), Answering(), clock=Clock())
    entries = [
        attrs.evolve(a, partial_key="BBBBB") if a.product_id == "product-0002" else a
        for a in document.activations
    ]
    document = attrs.evolve(document, activations=tuple(entries))
    if policy is MergePolicy.FAIL_ON_CONFLICT:
        with pytest.raises(ImportConflict, match="partial_key is not the product's"):
            import_(inventory, document, policy=policy)
    else:
        assert import_(inventory, document, policy=policy).conflicts == 1
    assert "BBBBB" not in {entry.partial_key for entry in inventory.confirmations()}
    assert inventory.find_confirmation(make_installation_id(2)) is None


def changed_since_export(inventory: Inventory) -> ExchangeDocument:
    """A full file of *inventory*, after which a computer, a product and a key changed."""
    document = export(fill(inventory), profile=Profile.FULL, clock=Clock())
    inventory.update_computer(attrs.evolve(inventory.computer("computer-0001"), name="RENAMED"))
    product = inventory.product("product-0001")
    inventory.update_product(attrs.evolve(product, name="Office LTSC Professional Plus 2024"))
    inventory.update_key(attrs.evolve(inventory.key(make_key(2)), edition="Windows 11 Pro"))
    return document


def test_fail_on_conflict_names_every_conflict_and_writes_nothing(inventory: Inventory) -> None:
    document = changed_since_export(inventory)
    before = everything(inventory)
    with pytest.raises(ImportConflict) as caught:
        import_(inventory, document)
    assert caught.value.conflicts == (
        "computer 'computer-0001': name differ",
        f"key {make_key(2)}: edition differ",
        "product 'product-0001': name differ",
    )
    assert everything(inventory) == before


def test_keep_existing_counts_conflicts_and_keeps_the_inventory_s_values(
    inventory: Inventory,
) -> None:
    document = changed_since_export(inventory)
    before = everything(inventory)
    report = import_(inventory, document, policy=MergePolicy.KEEP_EXISTING)
    assert report == ImportReport(
        added=0, updated=0, unchanged=11, conflicts=3, details=report.details
    )
    assert len(report.details) == 3
    assert everything(inventory) == before


def test_overwrite_writes_the_file_s_values(inventory: Inventory) -> None:
    document = changed_since_export(inventory)
    report = import_(inventory, document, policy=MergePolicy.OVERWRITE)
    assert report == ImportReport(added=0, updated=3, unchanged=11, conflicts=0)
    assert inventory.computer("computer-0001").name == "LAB-PC-0001"
    assert inventory.product("product-0001").name == "Windows(R), Professional edition"
    assert inventory.key(make_key(2)).edition is None
    assert import_(inventory, document).unchanged == 14


def test_a_value_the_inventory_lacks_is_filled_not_a_conflict(inventory: Inventory) -> None:
    document = export(fill(inventory), clock=Clock())
    product = inventory.product("product-0002")
    inventory.update_product(attrs.evolve(product, extended_pid=None))
    report = import_(inventory, document)
    assert (report.updated, report.conflicts) == (1, 0)
    assert inventory.product("product-0002").extended_pid == PID
    entries = list(document.activations)
    entries[0] = attrs.evolve(entries[0], extended_pid=None)  # the file lacks it: no conflict
    assert import_(inventory, attrs.evolve(document, activations=tuple(entries))).conflicts == 0


def test_a_differing_extended_pid_is_a_conflict(inventory: Inventory) -> None:
    document = export(fill(inventory), clock=Clock())
    product = inventory.product("product-0002")
    other = PID.replace("0012026", "0099999")
    inventory.update_product(attrs.evolve(product, extended_pid=other))
    with pytest.raises(ImportConflict, match="extended_pid differ"):
        import_(inventory, document)
    assert import_(inventory, document, policy=MergePolicy.OVERWRITE).updated == 1
    assert inventory.product("product-0002").extended_pid == PID


def test_a_product_whose_place_is_taken_is_a_conflict(
    inventory: Inventory, empty: Inventory
) -> None:
    document = export(fill(inventory), clock=Clock())
    empty.add_computer(make_computer(1, workgroup="ISOLATED-LAB"))
    empty.add_product(
        make_product(2, id="renamed-product", activation_id=make_product(2).activation_id)
    )
    for policy in MergePolicy:
        if policy is MergePolicy.FAIL_ON_CONFLICT:
            with pytest.raises(ImportConflict, match="its computer has product 'renamed-product'"):
                import_(empty, document, policy=policy)
            continue
        report = import_(empty, document, policy=policy)
        assert (
            "$.activations[0] (product 'product-0002'): its product was not imported"
            in report.details
        )
    assert [p.id for p in empty.products(computer_id="computer-0001")] == [
        "product-0001",
        "renamed-product",
    ]


def test_a_cid_with_no_key_recorded_cannot_be_kept(inventory: Inventory) -> None:
    fill(inventory)
    document = export(inventory, profile=Profile.PROXY_ONLY, clock=Clock())
    acquired, _ = acquire(document, Answering(), clock=Clock())
    product = inventory.product("product-0002")
    inventory.update_product(
        attrs.evolve(product, license_state=LicenseState.new())
    )  # key removed
    with pytest.raises(ImportConflict, match="no key is recorded"):
        import_(inventory, acquired)


def test_an_import_is_all_or_nothing_when_a_write_fails(inventory: Inventory) -> None:
    document = export(fill(inventory), profile=Profile.PROXY_ONLY, clock=Clock())
    acquired, _ = acquire(document, Answering(), clock=Clock())
    before = everything(inventory)

    class Failing:
        """The inventory, whose second confirmation write fails."""

        def __init__(self, inner: Inventory) -> None:
            self.inner = inner
            self.writes = 0

        def add_confirmation(self, entry: CilEntry) -> CilEntry:
            self.writes += 1
            if self.writes == 2:
                raise StorageError("disk full")
            return self.inner.add_confirmation(entry)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    with pytest.raises(StorageError, match="disk full"):
        import_(Failing(inventory), acquired)
    assert everything(inventory) == before


def test_an_inconsistent_document_is_refused_before_anything(inventory: Inventory) -> None:
    document = export(fill(inventory), clock=Clock())
    twice = attrs.evolve(document, computers=document.computers + document.computers[:1])
    with pytest.raises(InvalidDocument, match=re.escape("'$.computers[3].id'")):
        import_(InMemoryInventory(), twice)
    with pytest.raises(InvalidDocument, match="carries no keys"):
        import_(
            InMemoryInventory(),
            attrs.evolve(document, keys=(exchange.KeyEntry.of(make_key_record(1)),)),
        )


def test_import_refuses_what_is_not_a_document_or_a_policy(inventory: Inventory) -> None:
    with pytest.raises(InvalidFormat, match="expected an ExchangeDocument"):
        import_(inventory, "file.json")  # type: ignore[arg-type]  # the point of the test
    document = export(inventory, clock=Clock())
    with pytest.raises(InvalidFormat, match="expected a MergePolicy"):
        import_(inventory, document, policy="overwrite")  # type: ignore[arg-type]  # the point


def test_entries_check_their_own_fields() -> None:
    iid = make_installation_id(1)
    aid = "00000001-5a7e-4c3b-9d1e-000000000001"
    with pytest.raises(InvalidFormat, match="extended PID"):
        ActivationEntry(product_id="p", activation_id=aid, installation_id=iid, extended_pid="\n")
    with pytest.raises(InvalidFormat, match="partial product key"):
        ActivationEntry(
            product_id="p", activation_id=aid, installation_id=iid, partial_key="AAAAA"
        )
    with pytest.raises(InvalidComponent, match="not both"):
        ActivationEntry(
            product_id="p",
            activation_id=aid,
            installation_id=iid,
            confirmation_id=make_confirmation_id(1),
            code=lookup(MAK_LIMIT_EXCEEDED),
        )
    with pytest.raises(InvalidFormat, match="expected a tuple"):
        ExchangeDocument(
            profile=Profile.FULL,
            created_at=START,
            producer="test",
            origin=uuid.uuid4(),
            keys=[],  # type: ignore[arg-type]  # the point of the test
        )
    with pytest.raises(InvalidFormat, match="expected KeyEntry"):
        ExchangeDocument(
            profile=Profile.FULL,
            created_at=START,
            producer="test",
            origin=uuid.uuid4(),
            keys=(make_key_record(1),),  # type: ignore[arg-type]  # the point of the test
        )
    with pytest.raises(InvalidComponent, match="expected 'mak-exchange'"):
        ExchangeDocument(
            format="cilx",
            profile=Profile.FULL,
            created_at=START,
            producer="t",
            origin=uuid.uuid4(),
        )
    with pytest.raises(InvalidComponent, match="migrate"):
        ExchangeDocument(
            schema_version=0,
            profile=Profile.FULL,
            created_at=START,
            producer="t",
            origin=uuid.uuid4(),
        )


# --- the air gap, end to end, on a simulated lab -----------------------------------------------


class NoInternet:
    """The lab's clearinghouse port: an isolated lab reaches nothing."""

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:  # noqa: ARG002  # the port's signature
        raise TransportError("no route to the Internet from the lab")

    def remaining_activations(self, key: ProductKey, /) -> int:  # noqa: ARG002  # the port's signature
        raise TransportError("no route to the Internet from the lab")


class AirGappedLab:
    """A simulated lab without Internet, its MAK installed and its IIDs collected."""

    def __init__(self, inventory: Inventory, *, size: int = 40, workgroup: str = "LAB") -> None:
        self.inventory = inventory
        self.clock = FakeClock(START)
        self.microsoft = SimulatedClearinghouse(seed=11)
        self.mak = self.microsoft.issue_mak(limit=100, family=ProductFamily.WINDOWS_CLIENT)
        self.fleet = SimulatedFleet(
            size, seed=11, workgroup=workgroup, clearinghouse=self.microsoft, clock=self.clock
        )
        self.manager = VolumeActivationManager(
            inventory,
            NoInternet(),
            self.fleet,
            self.clock,
            discovery=self.fleet,
            sleep=self.wait,
        )
        self.manager.discover(ByWorkgroup(workgroup))
        self.manager.add_product_key(self.mak)
        self.clients = inventory.products(family=ProductFamily.WINDOWS_CLIENT)
        collected = self.manager.collect_installation_ids(self.clients, self.mak)
        assert collected.failed == 0

    def wait(self, delay: dt.timedelta) -> None:
        """Retries wait on the simulated clock."""
        self.clock.advance(delay)


@pytest.mark.parametrize("batch_size", [7, 500])
def test_the_air_gap_round_trip_licenses_every_product_and_charges_each_iid_once(
    inventory: Inventory, tmp_path: Path, batch_size: int
) -> None:
    lab = AirGappedLab(inventory)
    clients = lab.clients
    # Trying it from the lab fails: that is why the file exists.
    assert lab.manager.acquire_confirmation_ids(clients).failed == len(clients)
    usb = tmp_path / "usb" / "lab.json"
    usb.parent.mkdir()

    # In the lab: the file goes out with what the clearinghouse needs, and nothing else.
    dump(lab.manager.export(profile=Profile.PROXY_ONLY), usb)

    # On the connected host: no inventory, only the file and the clearinghouse.
    document, report = acquire(load(usb), lab.microsoft, batch_size=batch_size)
    dump(document, usb)
    assert report.succeeded == len(clients) == len(document.acquired)
    acquire_calls = [c for c in lab.microsoft.calls if c.method == "acquire_confirmation_ids"]
    assert len(acquire_calls) == report.service_calls == ceil(len(clients) / batch_size)

    # Back in the lab: the CIDs reach their products, and are deposited.
    imported = lab.manager.import_(load(usb))
    assert imported == ImportReport(added=len(clients), updated=0, unchanged=0, conflicts=0)
    applied = lab.manager.apply_confirmation_ids(clients)
    assert applied.failed == 0
    statuses = {p.status for p in lab.inventory.products(family=ProductFamily.WINDOWS_CLIENT)}
    assert statuses == {LicenseStatus.LICENSED}
    assert lab.microsoft.pool(lab.mak).used == len(clients)  # one activation per IID

    # Carrying the file again, or acquiring it again, spends nothing and changes nothing.
    assert lab.manager.import_(load(usb)).unchanged == len(clients)
    _, again = acquire(load(usb), lab.microsoft)
    assert again.service_calls == 0
    assert lab.microsoft.pool(lab.mak).used == len(clients)


def test_a_lost_file_is_exported_again_and_nothing_is_charged_twice(inventory: Inventory) -> None:
    lab = AirGappedLab(inventory, size=12)
    first, _ = acquire(lab.manager.export(profile=Profile.PROXY_ONLY), lab.microsoft)
    used = lab.microsoft.pool(lab.mak).used
    # The stick is lost on the way back: the lab exports again, the host acquires again.
    second, _ = acquire(lab.manager.export(profile=Profile.PROXY_ONLY), lab.microsoft)
    assert lab.microsoft.pool(lab.mak).used == used
    assert lab.manager.import_(second).added == len(lab.clients)
    # The first file turns up after all: it brings the same CIDs, so nothing differs.
    assert lab.manager.import_(first).unchanged == len(lab.clients)


def test_the_manager_dates_exports_by_its_clock(inventory: Inventory) -> None:
    lab = AirGappedLab(inventory, size=3)
    lab.clock.advance(dt.timedelta(days=2))
    assert lab.manager.export().created_at == START + dt.timedelta(days=2)
    assert lab.manager.export(profile=Profile.PROXY_ONLY).profile is Profile.PROXY_ONLY


def test_the_manager_imports_with_fail_on_conflict_unless_told(inventory: Inventory) -> None:
    lab = AirGappedLab(inventory, size=3)
    document = lab.manager.export(profile=Profile.FULL)
    computer = lab.inventory.computers()[0]
    lab.inventory.update_computer(attrs.evolve(computer, os_edition="Windows 11 Education"))
    with pytest.raises(ImportConflict, match="os_edition differ"):
        lab.manager.import_(document)
    assert lab.manager.import_(document, policy=MergePolicy.KEEP_EXISTING).conflicts == 1


def test_every_exchange_error_is_a_mak_error() -> None:
    assert issubclass(InvalidDocument, MakError)
    assert issubclass(ImportConflict, MakError)


# --- hostile input (issue 9): found by tests/fuzz -------------------------------------------


def test_text_with_a_lone_surrogate_or_of_another_type_is_refused() -> None:
    error = refused('{"format": "mak-exchange", "name": "\ud800"}')
    assert (error.path, error.reason) == ("$", "not UTF-8 text: it holds a lone surrogate")
    assert error.__context__ is None
    with pytest.raises(InvalidFormat, match="expected str or bytes, got int"):
        loads(42)  # type: ignore[arg-type]  # the point of the test


def test_text_is_read_without_a_round_trip_through_bytes(inventory: Inventory) -> None:
    text = dumps(export(fill(inventory), clock=Clock()))
    assert loads("\ufeff" + text) == loads(text.encode()) == loads(text)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_file_whose_size_says_nothing_is_read_up_to_the_limit_only() -> None:
    # A device has no size; reading stops one byte past the limit, and that refuses it.
    with pytest.raises(InvalidDocument, match="larger than 1000 bytes"):
        load("/dev/zero", max_bytes=1000)
