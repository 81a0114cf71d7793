"""Fuzzing the file loaders: catalog files and exchange files, and what importing one writes.

Each loader gets its own valid files damaged: a value replaced by any JSON value (deep
nesting, huge numbers, NaN, lone surrogates), by another value of the same file, or by a
damaged copy of itself; a field dropped or added; an entry doubled; and then the text cut
short, a byte changed, a field named twice, a byte order mark put in front, the whole
re-encoded as UTF-16. Also arbitrary bytes. The properties: only a
:class:`~mak.errors.ValidationError` escapes; what loads is written back and loads equal;
a file that fails leaves everything as it was: the inventory an import was writing to
(``InMemoryInventory`` and ``SqliteInventory``), the SQLite file and the exchange file the
command line was given, and the folder of a catalog file.

Examples per test: ``MAK_FUZZ_EXAMPLES``; the import and command-line properties, which
build an inventory per example, run a tenth as many (see ``conftest.py``).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import shutil
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mak import exchange
from mak.adapters import InMemoryInventory, SqliteInventory
from mak.catalog import Catalog, ProductFamily
from mak.cli import main
from mak.errors import ImportConflict, MakError, ValidationError
from mak.exchange import MergePolicy, Profile
from mak.lifecycle import ActivationMethod, KeyChannel, LicenseState, LicenseStatus
from mak.ports import CidResult
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
    from pathlib import Path

    from mak.keys import ProductKey
    from mak.ports import CidRequest, Inventory

pytestmark = pytest.mark.property

FUZZ = settings.get_profile("mak-fuzz")
HEAVY = settings.get_profile("mak-fuzz-heavy")
T = TypeVar("T")


class Attempt(Protocol):
    """The ``attempt`` fixture of conftest.py: calls a loader, lets only refusals through."""

    def __call__(
        self,
        parser: str,
        parse: Callable[[], T],
        refusals: tuple[type[MakError], ...] = ...,
    ) -> T | None: ...


# --- valid files ---------------------------------------------------------------------------

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
PID = "03612-03311-000-000001-03-1033-26100.0000-0012026"


class Clock:
    def now(self) -> dt.datetime:
        return START


class Answering:
    """A clearinghouse that answers each request with a sample CID of its own."""

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        return [
            CidResult(
                installation_id=r.installation_id,
                confirmation_id=make_confirmation_id(int(r.installation_id.digits[:5]) % 10**5),
            )
            for r in requests
        ]

    def remaining_activations(self, key: ProductKey, /) -> int:
        raise NotImplementedError


def filled(inventory: Inventory) -> Inventory:
    """Products at every step: no key, pending, acquired, licensed; two keys."""
    grace = LicenseState(
        status=LicenseStatus.OOB_GRACE,
        channel=KeyChannel.MAK,
        partial_key=make_key(1).partial,
        grace_ends_at=START + dt.timedelta(days=30),
    )
    licensed = LicenseState(
        status=LicenseStatus.LICENSED,
        channel=KeyChannel.MAK,
        partial_key=make_key(1).partial,
        activated_at=START,
        method=ActivationMethod.MAK_PROXY,
    )
    pending: dict[str, Any] = {"license_state": grace, "extended_pid": PID}
    inventory.add_computer(make_computer(1, workgroup="ISOLATED-LAB"))
    inventory.add_computer(
        make_computer(2, workgroup=None, domain="corp.example", address="192.0.2.7")
    )
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
            computer_id="computer-0002",
            family=ProductFamily.OFFICE,
            license_state=licensed,
            installation_id=make_installation_id(4),
            extended_pid=PID,
            confirmation_id=make_confirmation_id(4),
        )
    )
    inventory.add_confirmation(make_confirmation(4, computer_id="computer-0002"))
    inventory.add_key(make_key_record(1))
    inventory.add_key(make_key_record(2, channel=KeyChannel.RETAIL, edition=None, remaining=None))
    return inventory


def exchange_files() -> list[str]:
    """One valid file of each profile, and a proxy-only file with its CIDs acquired."""
    inventory = filled(InMemoryInventory())
    documents = [exchange.export(inventory, profile=p, clock=Clock()) for p in Profile]
    proxy_only = documents[-1]
    assert proxy_only.profile is Profile.PROXY_ONLY
    documents.append(exchange.acquire(proxy_only, Answering(), clock=Clock())[0])
    return [exchange.dumps(document) for document in documents]


EXCHANGE_FILES = exchange_files()
PACKAGED_CATALOG = (resources.files("mak") / "data" / "catalog.json").read_text("utf-8")


def catalog_text(catalog: Catalog) -> str:
    """*catalog* written in the catalog file format, every edition from one source."""
    return json.dumps(
        {
            "format": "mak-catalog",
            "schema_version": 1,
            "sources": {"fuzz": "https://example.invalid/"},
            "editions": [
                {
                    "name": edition.name,
                    "family": edition.family.value,
                    "release": edition.release,
                    "gvlk": None if edition.gvlk is None else edition.gvlk.reveal(),
                    "source": "fuzz",
                }
                for edition in catalog
            ],
        },
        ensure_ascii=False,
    )


SMALL_CATALOG = catalog_text(Catalog(Catalog.default().editions()[:3]))


# --- damage -------------------------------------------------------------------------------

hostile_strings = st.text(st.characters(exclude_categories=()), max_size=20)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -1, 2**63, 0.5, float("nan"), float("inf"), 1e308])
    | st.floats()
    | hostile_strings,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(hostile_strings, inner, max_size=3)
    ),
    max_leaves=6,
)


def spots(data: object) -> list[tuple[Any, Any]]:
    """Every place in *data*: (the object or array holding a value, its key or index)."""
    found: list[tuple[Any, Any]] = []
    todo = [data]
    while todo:
        node = todo.pop()
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for key, value in items:
            found.append((node, key))
            todo.append(value)
    return found  # fmt: skip


def nested(value: object, depth: int) -> object:
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def damaged_data(draw: st.DrawFn, data: Any) -> Any:
    """A deep copy of the JSON *data* with one to three values changed, dropped or added."""
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        places = spots(data)
        if not places:
            return draw(json_values)
        holder, key = draw(st.sampled_from(places))
        kind = draw(st.integers(0, 7))
        if kind == 0:
            holder[key] = draw(json_values)
        elif kind == 1:  # another value of the same file: types stay plausible
            other, other_key = draw(st.sampled_from(places))
            holder[key] = copy.deepcopy(other[other_key])
        elif kind == 2 and isinstance(holder[key], str):
            holder[key] = draw(damaged_string(holder[key]))
        elif kind == 3:
            del holder[key]
        elif kind == 4 and isinstance(holder, dict):
            holder[draw(hostile_strings)] = draw(json_values)
        elif kind == 5 and isinstance(holder, list):
            holder.insert(draw(st.integers(0, len(holder))), copy.deepcopy(holder[key]))
        elif kind == 6:
            holder[key] = nested(holder[key], draw(st.sampled_from([1, 2, 50, 200])))
        else:  # a fresh valid ID: the file still loads, and must then import right
            holder[key] = str(
                draw(
                    st.integers(0, 99_999).map(make_installation_id)
                    | st.integers(0, 99_999).map(make_confirmation_id)
                )
            )
    return data


@st.composite
def damaged_string(draw: st.DrawFn, text: str) -> str:
    i = draw(st.integers(0, len(text)))
    j = draw(st.integers(i, len(text)))
    return text[:i] + draw(hostile_strings) + text[j:]


def deeply_nested(draw: st.DrawFn, text: str, i: int) -> str:
    depth = draw(st.sampled_from([999, 1001, 5000, 100_000]))  # past any reader's limit
    return text[:i] + "[" * depth + "1" + "]" * depth + text[i:]


def named_twice(draw: st.DrawFn, text: str, i: int) -> str:
    brace = text.find("{", i)
    if brace < 0:
        return text
    twice = draw(st.sampled_from(['"format": "x", ', '"id": "x", ', '"keys": [], ']))
    return text[: brace + 1] + twice + text[brace + 1 :]


def byte_changed(draw: st.DrawFn, text: str, i: int) -> bytes:
    raw = bytearray(text.encode("utf-8", "surrogatepass"))
    if raw:
        raw[min(i, len(raw) - 1)] = draw(st.integers(0, 255))
    return bytes(raw)


# Each takes the text and a position in it.
TEXT_DAMAGE: list[Callable[[st.DrawFn, str, int], str | bytes]] = [
    lambda _, text, i: text[:i],  # cut short
    named_twice,
    lambda draw, text, i: text[:i] + draw(hostile_strings) + text[i + 1 :],
    lambda _, text, __: "\ufeff" + text,  # a byte order mark
    deeply_nested,
    lambda draw, text, _: text.encode(draw(st.sampled_from(["utf-16", "utf-32", "cp1252"])), "replace"),
    byte_changed,
    lambda _, text, __: text,
]  # fmt: skip


@st.composite
def damaged_file(draw: st.DrawFn, texts: list[str], *, as_text: bool = True) -> str | bytes:
    """One of *texts* damaged as data, as text (unless not *as_text*), or both; or bytes."""
    text = draw(st.sampled_from(texts))
    if as_text and draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    if not as_text or draw(st.booleans()):
        data = draw(damaged_data(json.loads(text)))
        text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    if not as_text:
        return text
    damaged = draw(st.sampled_from(TEXT_DAMAGE))(draw, text, draw(st.integers(0, len(text))))
    if isinstance(damaged, str) and draw(st.booleans()):
        return damaged.encode("utf-8", "surrogatepass")
    return damaged


FREE_TEXT = {"name", "address", "domain", "workgroup", "os_edition", "edition", "producer"}


@st.composite
def edited_file(draw: st.DrawFn, texts: list[str]) -> str:
    """One of *texts* with plausible edits: a file that mostly still loads, and differs.

    Text values take another value the file has for the same field, an edited name, or a
    fresh valid installation or confirmation ID; entries of an array go missing. Most such
    files load, and then differ from the inventory they are imported into.
    """
    data = json.loads(draw(st.sampled_from(texts)))
    for _ in range(draw(st.integers(1, 3))):
        texts_at = [
            (h, k) for h, k in spots(data) if isinstance(h, dict) and isinstance(h[k], str)
        ]
        holder, key = draw(st.sampled_from(texts_at))
        choices = st.sampled_from([h[k] for h, k in texts_at if k == key])
        if key in FREE_TEXT:
            choices |= st.just(f"edited {key}")
        if key == "installation_id":
            choices |= st.integers(0, 99_999).map(lambda n: str(make_installation_id(n)))
        if key == "confirmation_id":
            choices |= st.integers(0, 99_999).map(lambda n: str(make_confirmation_id(n)))
        holder[key] = draw(choices)
        arrays = [v for v in data.values() if isinstance(v, list) and v]
        if arrays and draw(st.booleans()):
            array = draw(st.sampled_from(arrays))
            del array[draw(st.integers(0, len(array) - 1))]
    return json.dumps(data)  # fmt: skip


# --- exchange files ------------------------------------------------------------------------


@FUZZ
@given(damaged_file(EXCHANGE_FILES))
def test_exchange_files(attempt: Attempt, raw: str | bytes) -> None:
    document = attempt("exchange.loads", lambda: exchange.loads(raw))
    if document is None:
        return
    assert exchange.loads(exchange.dumps(document)) == document


def everything(inventory: Inventory) -> dict[str, object]:
    """All of *inventory*, versions and history included: to show nothing was written."""
    return {
        "computers": inventory.computers(),
        "products": inventory.products(),
        "keys": inventory.keys(),
        "confirmations": inventory.confirmations(),
        "history": inventory.history(),
    }


@contextlib.contextmanager
def inventory_of(kind: str) -> Iterator[Inventory]:
    if kind == "memory":
        yield filled(InMemoryInventory())
        return
    with SqliteInventory(":memory:") as inventory:
        yield filled(inventory)


@HEAVY
@given(
    edited_file(EXCHANGE_FILES) | damaged_file(EXCHANGE_FILES, as_text=False),
    st.sampled_from(MergePolicy),
    st.sampled_from(["memory", "sqlite"]),
)
def test_an_import_writes_all_of_a_file_or_nothing(
    attempt: Attempt, raw: str | bytes, policy: MergePolicy, kind: str
) -> None:
    document = attempt("exchange.loads, to import", lambda: exchange.loads(raw))
    if document is None:
        return  # what fails to load never reaches an inventory
    with inventory_of(kind) as inventory:
        before = everything(inventory)
        report = attempt(
            f"exchange.import_ ({kind})",
            lambda: exchange.import_(inventory, document, policy=policy),
            (ValidationError, ImportConflict),
        )
        if report is None:
            assert everything(inventory) == before
            return
        if report.added == report.updated == 0:
            assert everything(inventory) == before  # nothing new: nothing written
        # The same file a second time: nothing left to add or change, and nothing written.
        after = everything(inventory)
        again = exchange.import_(inventory, document, policy=MergePolicy.KEEP_EXISTING)
        assert (again.added, again.updated) == (0, 0)
        assert everything(inventory) == after


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``lab.db``, the SQLite inventory the exchange files came from."""
    folder = tmp_path_factory.mktemp("lab")
    with SqliteInventory(folder / "lab.db") as inventory:
        filled(inventory)
    return folder


def run(*argv: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(list(argv), stdin=io.StringIO())


@settings(HEAVY, max_examples=max(HEAVY.max_examples // 5, 10))  # a SQLite file each
@given(damaged_file(EXCHANGE_FILES))
def test_the_command_line_writes_nothing_for_a_file_it_refuses(
    attempt: Attempt, lab: Path, raw: str | bytes
) -> None:
    usb, db, new_db = lab / "usb.json", lab / "work.db", lab / "new.db"
    written = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    usb.write_bytes(written)
    shutil.copyfile(lab / "lab.db", db)
    new_db.unlink(missing_ok=True)
    with SqliteInventory(db) as inventory:
        before = everything(inventory)
    loaded = attempt("exchange.load, by mak import", lambda: exchange.load(usb))
    if run("import", "--db", str(db), str(usb)) != 0:
        with SqliteInventory(db) as inventory:
            assert everything(inventory) == before
    if run("import", "--db", str(new_db), str(usb)) != 0:
        assert not new_db.exists()
    if loaded is None:
        acquired = lab / "acquired.json"
        assert run("acquire", str(usb), "--output", str(acquired)) == 1
        assert not acquired.exists()
        assert usb.read_bytes() == written


# --- catalog files -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shelf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder for catalog files."""
    return tmp_path_factory.mktemp("catalogs")


@FUZZ
@given(damaged_file([SMALL_CATALOG] * 4 + [PACKAGED_CATALOG]))  # 130 editions: a fifth
def test_catalog_files(attempt: Attempt, shelf: Path, raw: str | bytes) -> None:
    path = shelf / "catalog.json"
    written = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    path.write_bytes(written)
    default = Catalog.default()
    catalog = attempt("Catalog.from_file", lambda: Catalog.from_file(path))
    # Loading writes nothing: not the file, not its folder, not the packaged catalog.
    assert path.read_bytes() == written
    assert [p.name for p in shelf.iterdir()] == ["catalog.json"]
    assert Catalog.default() is default
    assert len(default) == 130
    if catalog is None:
        return
    again = shelf / "again.json"
    again.write_text(catalog_text(catalog), encoding="utf-8")
    try:
        assert Catalog.from_file(again) == catalog
    finally:
        again.unlink()
