"""The air-gap exchange file: a versioned JSON document that carries inventory data across.

MAK proxy activation of an isolated lab needs a file that travels. The lab exports what
the clearinghouse needs, a host with Internet access acquires the confirmation IDs into
the same file, and the file comes back and is imported, so that each confirmation ID
reaches the product whose installation ID it answers. VAMT calls this file a CILX.

An :class:`ExchangeDocument` is that file (``"format": "mak-exchange"``,
``"schema_version": 1``). It holds computers, products, one :class:`ActivationEntry` per
product with an installation ID (pending, or acquired with its confirmation ID) and,
only when asked for, product keys. What it holds depends on its :class:`Profile`:

- ``Profile.FULL``: everything, product keys included. It must be asked for by name;
- ``Profile.NO_KEYS`` (the default): everything but the product keys;
- ``Profile.PROXY_ONLY``: what the clearinghouse needs and nothing that identifies a
  computer: activation IDs, installation IDs and extended PIDs, each under an opaque
  reference. No names, addresses, domains, workgroups, ids or keys, not even partial
  ones (the activation IDs do show which editions the lab runs).

The round trip: :func:`export` in the lab, :func:`dump` to removable media, :func:`load`
and :func:`acquire` on the connected host (no inventory needed there), :func:`dump`
again, and :func:`load` and :func:`import_` back in the lab. The file is all the lab
needs to keep: the opaque references are digests of the lab's product ids salted with
the document's ``origin``, so the lab finds its products again by computing them.
Reading is strict (:func:`load` raises :class:`~mak.errors.InvalidDocument` naming the
JSON path of the first problem), and importing follows an explicit
:class:`MergePolicy`.

>>> from datetime import datetime, timezone
>>> from mak.adapters import InMemoryInventory
>>> from mak.testing import make_computer, make_installation_id, make_product
>>> inventory = InMemoryInventory()
>>> _ = inventory.add_computer(make_computer(1))
>>> _ = inventory.add_product(make_product(1, installation_id=make_installation_id(1), extended_pid="03612-03311-000-000001-03-1033-26100.0000-0012026"))
>>> document = export(inventory, profile=Profile.PROXY_ONLY)
>>> len(document.pending), document.computers, "LAB-PC-0001" in dumps(document)
(1, (), False)
>>> import_(inventory, loads(dumps(document)))
ImportReport(added=0, updated=0, unchanged=1, conflicts=0, details=())
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import functools
import hashlib
import hmac
import io
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, TypeAlias, TypeVar, cast

import attrs

import mak
from mak import _validate
from mak.catalog import ProductFamily
from mak.codes import ActivationCode, all_codes, lookup
from mak.errors import (
    ImportConflict,
    InvalidChecksum,
    InvalidComponent,
    InvalidDocument,
    InvalidFormat,
    NotFound,
    TransportError,
    ValidationError,
)
from mak.ids import ConfirmationId, InstallationId
from mak.keys import ALPHABET, ProductKey
from mak.lifecycle import ActivationMethod, KeyChannel, LicenseState, LicenseStatus
from mak.limits import RemainingCount
from mak.manager import RPC_SERVER_UNAVAILABLE, BatchReport, Outcome
from mak.model import CilEntry, Computer, KeyRecord, Product
from mak.ports import CidRequest
from mak.proxystage import CidAcquired, ProxyStage, Retried, advance_stage
from mak.serialization import make_converter

if TYPE_CHECKING:
    from collections.abc import Iterable

    import cattrs

    from mak.manager import ProductRef
    from mak.ports import ActivationService, Clock, Inventory

__all__ = [
    "FORMAT",
    "MAX_DOCUMENT_BYTES",
    "SCHEMA_VERSION",
    "ActivationEntry",
    "ComputerEntry",
    "ExchangeDocument",
    "ImportReport",
    "KeyEntry",
    "MergePolicy",
    "ProductEntry",
    "Profile",
    "acquire",
    "dump",
    "dumps",
    "export",
    "import_",
    "json_schema",
    "load",
    "loads",
    "migrate",
]

FORMAT: Final = "mak-exchange"
"""What the ``format`` field of every exchange document says."""

SCHEMA_VERSION: Final = 1
"""The schema version this mak writes; older documents are upgraded by :func:`migrate`."""

MAX_DOCUMENT_BYTES: Final = 64 * 1024 * 1024
"""The largest document :func:`load` reads by default (about 50,000 products in full)."""

_GENERAL_SERVICE_ERROR: Final = 0xC004B100
_REFERENCE_BYTES: Final = 16
_REFERENCE_PATTERN: Final = re.compile(f"^p-[0-9a-f]{{{2 * _REFERENCE_BYTES}}}$")
_SHOWN: Final = 5  # problems quoted in one message; the rest are counted

Source: TypeAlias = "str | os.PathLike[str] | IO[bytes] | IO[str]"
"""Where a document is read from or written to: a path, or an open binary or text file."""


class Profile(enum.Enum):
    """What an export keeps, as VAMT's export options (and ``Export-VamtData``'s switches).

    >>> Profile("proxy-only")
    <Profile.PROXY_ONLY: 'proxy-only'>
    """

    FULL = "full"
    """Computers, products, activations and the product keys in full: a backup."""
    NO_KEYS = "no-keys"
    """Everything but the product keys (partial keys, which Windows shows, stay)."""
    PROXY_ONLY = "proxy-only"
    """Only what the clearinghouse needs, under opaque references: no personal data."""


class MergePolicy(enum.Enum):
    """What :func:`import_` does with a record that differs from the inventory's.

    A value missing on one side is never a difference: the other side's fills it.

    >>> MergePolicy("keep-existing")
    <MergePolicy.KEEP_EXISTING: 'keep-existing'>
    """

    OVERWRITE = "overwrite"
    """The file wins: differing records are written over the inventory's."""
    KEEP_EXISTING = "keep-existing"
    """The inventory wins: differing records are counted as conflicts and left alone."""
    FAIL_ON_CONFLICT = "fail-on-conflict"
    """Any differing record stops the import before anything is written."""


# --- the document ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ComputerEntry:
    """A computer as an exchange document carries it: the :class:`~mak.model.Computer` fields.

    >>> from mak.testing import make_computer
    >>> ComputerEntry.of(make_computer(1)).to_computer() == make_computer(1)
    True
    """

    id: str
    name: str
    address: str | None = None
    domain: str | None = None
    workgroup: str | None = None
    os_edition: str | None = None

    def __attrs_post_init__(self) -> None:
        self.to_computer()  # the entity's rules are the entry's

    @classmethod
    def of(cls, computer: Computer) -> ComputerEntry:
        """Return the entry of *computer*."""
        return cls(
            id=computer.id,
            name=computer.name,
            address=computer.address,
            domain=computer.domain,
            workgroup=computer.workgroup,
            os_edition=computer.os_edition,
        )

    def to_computer(self) -> Computer:
        """Return the computer this entry describes, at version 0 (not stored)."""
        return Computer(
            id=self.id,
            name=self.name,
            address=self.address,
            domain=self.domain,
            workgroup=self.workgroup,
            os_edition=self.os_edition,
        )


@attrs.frozen(kw_only=True)
class ProductEntry:
    """A product as an exchange document carries it: what identifies it and its license state.

    Its installation and confirmation IDs travel in its :class:`ActivationEntry`.
    """

    id: str
    computer_id: str
    activation_id: str
    name: str
    family: ProductFamily
    license_state: LicenseState

    def __attrs_post_init__(self) -> None:
        self.to_product()

    @classmethod
    def of(cls, product: Product) -> ProductEntry:
        """Return the entry of *product*."""
        return cls(
            id=product.id,
            computer_id=product.computer_id,
            activation_id=product.activation_id,
            name=product.name,
            family=product.family,
            license_state=product.license_state,
        )

    def to_product(self) -> Product:
        """Return a new product with this entry's fields (no IDs yet, version 0)."""
        return Product(
            id=self.id,
            computer_id=self.computer_id,
            activation_id=self.activation_id,
            name=self.name,
            family=self.family,
            license_state=self.license_state,
        )


def _partial_key(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or len(value) != 5 or value.strip(ALPHABET):
        shown = value if isinstance(value, str) else f"<{type(value).__name__}>"
        raise InvalidFormat("partial product key", shown, "expected 5 key symbols")


@attrs.frozen(kw_only=True)
class ActivationEntry:
    """One product's installation ID and, once acquired, the confirmation ID that answers it.

    ``product_id`` is the product's id, or in a ``PROXY_ONLY`` document an opaque
    reference to it. ``extended_pid`` is what tells the clearinghouse which key the
    product holds. An entry without ``confirmation_id`` is *pending*; ``code`` is the
    clearinghouse's last refusal of it. ``partial_key`` (not in ``PROXY_ONLY``) is the
    key the installation ID was computed with, as its last five symbols.

    >>> from mak.testing import make_installation_id
    >>> entry = ActivationEntry(product_id="p-1", activation_id="00000001-5a7e-4c3b-9d1e-000000000001", installation_id=make_installation_id(1))
    >>> entry.pending
    True
    """

    product_id: str = attrs.field(validator=_validate.text("activation entry"))
    activation_id: str = attrs.field(validator=_validate.activation_id)
    installation_id: InstallationId = attrs.field(validator=_validate.instance(InstallationId))
    extended_pid: str | None = None
    partial_key: str | None = attrs.field(default=None, validator=_partial_key)
    confirmation_id: ConfirmationId | None = attrs.field(
        default=None, validator=_validate.instance(ConfirmationId, optional=True)
    )
    acquired_at: dt.datetime | None = attrs.field(
        default=None, converter=_validate.to_utc, validator=_validate.aware
    )
    code: ActivationCode | None = attrs.field(
        default=None, validator=_validate.instance(ActivationCode, optional=True)
    )

    def __attrs_post_init__(self) -> None:
        if self.extended_pid is not None:  # the clearinghouse's rule for it
            CidRequest(installation_id=self.installation_id, extended_pid=self.extended_pid)
        if self.confirmation_id is None and self.acquired_at is not None:
            self._refuse("acquired_at needs a confirmation_id")
        if self.confirmation_id is not None and self.code is not None:
            self._refuse("carries a confirmation_id or a refusal code, not both")

    def _refuse(self, reason: str) -> None:
        raise InvalidComponent("activation entry", str(self.installation_id), reason)

    @property
    def pending(self) -> bool:
        """Whether the entry still waits for its confirmation ID."""
        return self.confirmation_id is None


@attrs.frozen(kw_only=True)
class KeyEntry:
    """A product key with what the inventory knows of it; only ``Profile.FULL`` carries these.

    The key is written in full in the file; its repr here is masked.
    """

    key: ProductKey
    channel: KeyChannel
    edition: str | None = None
    remaining: RemainingCount | None = None

    def __attrs_post_init__(self) -> None:
        self.to_record()

    @classmethod
    def of(cls, record: KeyRecord) -> KeyEntry:
        """Return the entry of *record*."""
        return cls(
            key=record.key,
            channel=record.channel,
            edition=record.edition,
            remaining=record.remaining,
        )

    def to_record(self) -> KeyRecord:
        """Return the key record this entry describes, at version 0 (not stored)."""
        return KeyRecord(
            key=self.key, channel=self.channel, edition=self.edition, remaining=self.remaining
        )


def _format(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value != FORMAT:
        raise InvalidComponent("exchange document format", str(value), f"expected {FORMAT!r}")


def _schema_version(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or value != SCHEMA_VERSION:
        reason = f"expected {SCHEMA_VERSION}; older documents go through migrate()"
        raise InvalidComponent("exchange document schema_version", repr(value), reason)


def _entries(cls: type[object]) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, tuple):
            raise InvalidFormat.wrong_type(attribute.name, value, "a tuple")
        entries: tuple[object, ...] = value  # pyright: ignore[reportUnknownVariableType]  # checked below
        for entry in entries:
            if not isinstance(entry, cls):
                raise InvalidFormat.wrong_type(attribute.name, entry, cls.__name__)

    return check


@attrs.frozen(kw_only=True)
class ExchangeDocument:
    """Return an exchange document: inventory data of one :class:`Profile`, as of ``created_at``.

    ``producer`` names the mak that wrote it; ``origin`` is a random UUID of the export,
    which salts the opaque references of a ``PROXY_ONLY`` document. Documents compare
    equal field by field. Build one with :func:`export`, read one with :func:`load`.
    """

    format: str = attrs.field(default=FORMAT, validator=_format)
    schema_version: int = attrs.field(default=SCHEMA_VERSION, validator=_schema_version)
    profile: Profile = attrs.field(validator=_validate.instance(Profile))
    created_at: dt.datetime = attrs.field(converter=_validate.to_utc, validator=_validate.aware)
    producer: str = attrs.field(validator=_validate.text("exchange document"))
    origin: uuid.UUID = attrs.field(validator=_validate.instance(uuid.UUID))
    computers: tuple[ComputerEntry, ...] = attrs.field(
        default=(), validator=_entries(ComputerEntry)
    )
    products: tuple[ProductEntry, ...] = attrs.field(default=(), validator=_entries(ProductEntry))
    activations: tuple[ActivationEntry, ...] = attrs.field(
        default=(), validator=_entries(ActivationEntry)
    )
    keys: tuple[KeyEntry, ...] = attrs.field(default=(), validator=_entries(KeyEntry))

    @property
    def pending(self) -> tuple[ActivationEntry, ...]:
        """The activation entries still waiting for a confirmation ID."""
        return tuple(entry for entry in self.activations if entry.pending)

    @property
    def acquired(self) -> tuple[ActivationEntry, ...]:
        """The activation entries that carry their confirmation ID."""
        return tuple(entry for entry in self.activations if not entry.pending)


@attrs.frozen(kw_only=True)
class ImportReport:
    """Return what :func:`import_` did, one count per record of the file.

    ``added`` records were new to the inventory (a computer, a product, a key, a
    confirmation ID); ``updated`` ones existed and were changed (a value filled in, or
    overwritten under ``MergePolicy.OVERWRITE``); ``unchanged`` ones were already as the
    file says; ``conflicts`` differed and kept the inventory's values. ``details`` says
    what differed in each conflict.

    >>> ImportReport(added=2, updated=0, unchanged=1, conflicts=0).total
    3
    """

    added: int
    updated: int
    unchanged: int
    conflicts: int
    details: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        """How many records the file had."""
        return self.added + self.updated + self.unchanged + self.conflicts


# --- reading and writing --------------------------------------------------------------------

_Upgrade: TypeAlias = "Callable[[dict[str, Any]], dict[str, Any]]"

_UPGRADES: dict[int, _Upgrade] = {}
"""Each step takes a document of schema version *n* to *n + 1*. Steps are only ever added.

Version 1 is the first version of the format, so there is no step yet. A change to the
format appends one (``{1: _from_1}``), and :func:`migrate` then reads version 1 files.
"""


def migrate(data: object) -> dict[str, Any]:
    """Return the parsed JSON document *data* upgraded to :data:`SCHEMA_VERSION`.

    :func:`load` calls it before reading the fields, so a file written by an older mak
    keeps loading. It checks ``format`` and ``schema_version`` only: a document of
    another format, or newer than this mak reads, raises
    :class:`~mak.errors.InvalidDocument`. Each change of the format adds a step that
    takes version *n* to *n + 1*; version 1 is the first, so today it upgrades nothing.

    >>> migrate({"format": "mak-exchange", "schema_version": 1})["schema_version"]
    1
    >>> migrate({"format": "mak-exchange", "schema_version": 2})
    Traceback (most recent call last):
    mak.errors.InvalidDocument: Invalid exchange document: '$.schema_version' (version 2 is newer than this mak reads (1); upgrade mak)
    >>> migrate({"format": "mak-catalog", "schema_version": 1})
    Traceback (most recent call last):
    mak.errors.InvalidDocument: Invalid exchange document: '$.format' (expected 'mak-exchange', got 'mak-catalog')
    """
    if not isinstance(data, dict):
        raise InvalidDocument("$", f"expected an object, got {_json_type(data)}")
    document = cast("dict[str, Any]", data)
    found = document.get("format")
    if found != FORMAT:
        got = "nothing" if found is None else repr(found)[:60]
        raise InvalidDocument("$.format", f"expected {FORMAT!r}, got {got}")
    version = document.get("schema_version")
    if type(version) is not int:
        raise InvalidDocument(
            "$.schema_version", f"expected an integer, got {_json_type(version)}"
        )
    if version > SCHEMA_VERSION:
        reason = f"version {version} is newer than this mak reads ({SCHEMA_VERSION}); upgrade mak"
        raise InvalidDocument("$.schema_version", reason)
    oldest = min(_UPGRADES, default=SCHEMA_VERSION)
    if version < oldest:
        raise InvalidDocument(
            "$.schema_version", f"version {version} is not a version of this format"
        )
    while version < SCHEMA_VERSION:
        document = _UPGRADES[version](dict(document))
        version += 1
        document["schema_version"] = version
    return document


def loads(
    text: str | bytes | bytearray | memoryview,
    *,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    check_digits: bool = True,
) -> ExchangeDocument:
    """Return the exchange document in *text* (JSON, as :func:`dumps` writes it).

    *text* is a ``str`` or bytes-like (UTF-8); anything else raises
    :class:`~mak.errors.InvalidFormat` naming its type. Reading is strict; see :func:`load`.

    >>> loads('{"format": "mak-exchange", "schema_version": 1, "profile": "no-keys"}')
    Traceback (most recent call last):
    mak.errors.InvalidDocument: Invalid exchange document: '$' (required fields missing: created_at, producer, origin, computers, products, activations, keys)
    >>> loads(None)
    Traceback (most recent call last):
    mak.errors.InvalidFormat: Invalid exchange document: '<NoneType>' (expected str or bytes, got NoneType)
    """
    raw = _raw(text)
    size = len(raw) if isinstance(raw, bytes) else _utf8_size(raw)
    if size is None:  # raised here, not where encode() failed: its error quotes the text
        raise InvalidDocument("$", "not UTF-8 text: it holds a lone surrogate")
    if size > max_bytes:
        raise InvalidDocument("$", f"the document is larger than {max_bytes} bytes")
    _check_structure(raw, size)
    data = migrate(_parse(raw))
    document, failure = _structure(data, check_digits=check_digits)
    if document is None:
        raise cast("InvalidDocument", failure)
    _check(document)
    return document


def _raw(text: object) -> str | bytes:
    """*text* as a plain ``str`` (never copied into bytes: it may be 64 MB), or as bytes."""
    if isinstance(text, str):
        return str.__str__(text)  # a subclass may override isascii() and friends
    if isinstance(text, bytes):
        return text
    if isinstance(text, bytearray):
        return bytes(text)
    if isinstance(text, memoryview):
        return text.tobytes()
    raise InvalidFormat.wrong_type("exchange document", text, "str or bytes")


# What parsing costs in memory, roughly, in bytes, for each symbol that makes the parser
# build something: an object (a dict), an array, and each further member or field. By this
# measure a document mak writes costs 1 to 1.5 bytes per byte of JSON (2 written compact);
# a file of empty arrays (``[],[],...``) costs 27, and would take 1.7 GB to read at 64 MiB.
_STRUCTURE_COSTS: Final = ((b"{", 200), (b"[", 64), (b",", 16), (b":", 16))
_STRUCTURE_LIMIT: Final = 8  # the cost allowed per byte: four times what compact JSON needs
_STRUCTURE_FREE: Final = 1024 * 1024  # below this size no file can cost much


def _check_structure(raw: str | bytes, size: int) -> None:
    """Refuse, before parsing, a document with far more JSON structure than its size needs.

    The symbols are counted in the raw text, strings included, which can only
    overestimate; a document written by mak stays far below the limit. *size* is the
    document's length in UTF-8.
    """
    if size <= _STRUCTURE_FREE:
        return
    if isinstance(raw, str):
        cost = sum(raw.count(symbol.decode()) * each for symbol, each in _STRUCTURE_COSTS)
    else:
        cost = sum(raw.count(symbol) * each for symbol, each in _STRUCTURE_COSTS)
    if cost > _STRUCTURE_LIMIT * size:
        reason = (
            f"its JSON structure would take about {cost // size} times its size in memory "
            "(an exchange document's, about 2); refused unread"
        )
        raise InvalidDocument("$", reason)


def _structure(
    data: dict[str, Any], *, check_digits: bool
) -> tuple[ExchangeDocument | None, InvalidDocument | None]:
    """The document *data* holds, or the failure to raise (outside any except block)."""
    try:
        return _converter(check_digits=check_digits).structure(data, ExchangeDocument), None
    except InvalidFormat as error:  # the converter's: its text is the JSON path
        failure = InvalidDocument(error.text, error.reason)
        failure.details = error.details
        return None, failure


def load(
    source: Source, *, max_bytes: int = MAX_DOCUMENT_BYTES, check_digits: bool = True
) -> ExchangeDocument:
    """Return the exchange document read from *source*: a path, or a binary or text file.

    Reading is strict. A file larger than *max_bytes* is refused before it is read
    (its size is checked first), and so is one with far more JSON structure than its
    size needs (counted before parsing, so that a hostile file cannot exhaust memory),
    anything that is not UTF-8 JSON, that names a field twice, that nests deeper than
    JSON readers allow, or that is not an exchange document of a ``schema_version``
    this mak reads (older ones are upgraded by :func:`migrate`). Every field is
    checked: a missing or unknown field, a value of the wrong type, a malformed
    installation ID, confirmation ID or product key, a value not written in the one
    form mak writes (and :func:`json_schema` publishes), an id given twice, an entry
    referring to something the document lacks, or a field the document's profile
    leaves out, raises :class:`~mak.errors.InvalidDocument` whose ``path`` is the JSON
    path of the first problem (``$.activations[3].installation_id``); keys are masked
    in every message. A file that cannot be opened raises :class:`OSError`; a *source*
    that is neither a path nor a file raises :class:`~mak.errors.InvalidFormat` naming
    its type.

    The check digits of every installation ID are checked, and so are those of every
    confirmation ID unless *check_digits* is false: a CID mistyped by hand would
    otherwise be kept for good (the inventory never replaces a confirmation ID).
    Microsoft's 48-digit CIDs are believed to follow the same per-group rule as
    installation IDs, but no public source confirms it; turn the check off only for a
    file whose CIDs come from a source known not to follow it.

    >>> import io
    >>> load(io.BytesIO(b'{"format": "mak-exchange", "schema_version": 1, "profile": "no-keys"'))
    Traceback (most recent call last):
    mak.errors.InvalidDocument: Invalid exchange document: '$' (not JSON: Expecting ',' delimiter at line 1 column 69)
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        size = path.stat().st_size  # a sparse 100 MB file is refused without reading it
        if size > max_bytes:
            raise InvalidDocument("$", f"the file is {size} bytes; at most {max_bytes} are read")
        with path.open("rb") as stream:
            # read(n) allocates n bytes first: ask for the size, and more only if the
            # file grew since (or is a device, whose size says nothing).
            raw = stream.read(size + 1)
            if len(raw) > size:
                raw += stream.read(max_bytes + 1 - len(raw))
    else:
        read = getattr(source, "read", None)
        if not callable(read):
            raise InvalidFormat.wrong_type("exchange document source", source, "a path or a file")
        raw = read(max_bytes + 1)
    return loads(_raw(raw), max_bytes=max_bytes, check_digits=check_digits)


def dumps(document: ExchangeDocument) -> str:
    """Return *document* as JSON text, as :func:`dump` writes it.

    The document is checked first, so that no file is written that :func:`load` would
    refuse. A ``FULL`` document holds product keys in full.
    """
    if not isinstance(document, ExchangeDocument):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
        raise InvalidFormat.wrong_type("exchange document", document, "an ExchangeDocument")
    _check(document)
    data = _converter(check_digits=False).unstructure(document)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def dump(document: ExchangeDocument, target: Source) -> None:
    """Write *document* as JSON to *target*: a path, or an open text or binary file.

    A path is written atomically (a temporary file in the same folder, then renamed over
    it) and readable by its owner only, so an interrupted write never leaves half a file
    and a ``FULL`` document's keys are not left readable by others.
    """
    text = dumps(document)
    if isinstance(target, (str, os.PathLike)):
        _write_atomically(Path(target), text)
    elif isinstance(target, io.TextIOBase):
        cast("IO[str]", target).write(text)
    else:
        cast("IO[bytes]", target).write(text.encode("utf-8"))


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise


class _DuplicateField(Exception):
    """A JSON object names a field twice (json.loads otherwise keeps the last silently)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _unique_fields(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for name, value in pairs:
        if name in result:
            raise _DuplicateField(name)
        result[name] = value
    return result


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _utf8_size(text: str) -> int | None:
    """The length of *text* in UTF-8, or ``None`` when it cannot be written in UTF-8."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _parse(raw: str | bytes) -> object:
    """Return the JSON value in *raw*; failures never chain the input (it may hold keys)."""
    reason: str | None = None
    try:
        # Text is read as it is, not encoded and decoded again: that would hold two more
        # copies of a document that may be 64 MB.
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw.removeprefix("\ufeff")
        return json.loads(text, object_pairs_hook=_unique_fields, parse_constant=_no_constant)
    except UnicodeDecodeError:
        reason = "not UTF-8 text"
    except _DuplicateField as error:
        reason = f"an object names the field {error.name!r} twice"
    except RecursionError:
        reason = "nested too deeply to be an exchange document"
    except json.JSONDecodeError as error:  # its .doc is the whole input
        reason = f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
    except ValueError as error:  # NaN and Infinity, integers of thousands of digits
        reason = f"not JSON this format allows: {str(error)[:80]}"
    raise InvalidDocument("$", reason)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


@functools.cache
def _converter(*, check_digits: bool) -> cattrs.Converter:
    """The converter of exchange documents: mak's, stricter about the shape of the JSON.

    Every field of every object is required (mak writes them all, defaults included),
    an array or an object is never read from anything else, and each value is read in
    the one form mak writes and :func:`json_schema` publishes, so that a file ``load``
    accepts is a file the schema accepts. *check_digits* says whether confirmation IDs
    must pass the group check-digit rule.
    """
    converter = make_converter()
    # Leaf hooks first: the hooks of the classes below are built from them.
    converter.register_structure_hook(InstallationId, _written_installation_id)
    converter.register_structure_hook(
        ConfirmationId, functools.partial(_written_confirmation_id, check_digits=check_digits)
    )
    converter.register_structure_hook(ProductKey, _written_key)
    converter.register_structure_hook(ActivationCode, _written_code)
    converter.register_structure_hook(dt.datetime, _written_time)
    converter.register_structure_hook(uuid.UUID, _written_uuid)
    # Hooks are built from the hooks of their fields at registration: inner ones first.
    for cls in (
        LicenseState,
        RemainingCount,
        ComputerEntry,
        ProductEntry,
        ActivationEntry,
        KeyEntry,
    ):
        _require_object(converter, cls)
    for cls in (ComputerEntry, ProductEntry, ActivationEntry, KeyEntry):
        array: object = tuple[cls, ...]  # type: ignore[valid-type]  # the alias, as a value
        hook = _array_hook(converter.get_structure_hook(array))
        converter.register_structure_hook_func(functools.partial(_is, array), hook)
    _require_object(converter, ExchangeDocument)
    return converter


_NOT_WRITTEN: Final = "not in the form mak writes"
_TIME_WRITTEN: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?\+00:00"
)
_TIME_EXAMPLE: Final = "2026-01-05T09:00:00+00:00"


def _written_installation_id(value: object, _: object) -> InstallationId:
    iid = InstallationId.parse(value)
    if str(iid) != value:
        reason = f"{_NOT_WRITTEN}: groups of {iid.layout.group_size} digits joined by hyphens"
        raise InvalidFormat("installation ID", str(iid), reason)
    return iid


def _written_confirmation_id(value: object, _: object, *, check_digits: bool) -> ConfirmationId:
    failure: ValidationError
    try:
        cid = ConfirmationId.parse(value, check_digits=check_digits)
    except InvalidChecksum as error:
        failure = InvalidChecksum(
            error.kind,
            error.text,
            f"{error.reason}: mistyped? check_digits=False reads CIDs that skip the rule",
            group=error.group,
        )
    else:
        if str(cid) == value:
            return cid
        reason = f"{_NOT_WRITTEN}: groups of 6 digits joined by hyphens"
        failure = InvalidFormat("confirmation ID", str(cid), reason)
    raise failure


def _written_key(value: object, _: object) -> ProductKey:
    key = ProductKey.parse(value)
    if key.reveal() != value:
        reason = f"{_NOT_WRITTEN}: upper case, five groups of five joined by hyphens"
        raise InvalidFormat("product key", str(key), reason)  # str() masks it
    return key


def _written_code(value: object, _: object) -> ActivationCode:
    if not isinstance(value, str):
        raise TypeError(f"expected a hex string such as '0xC004C020', got {type(value).__name__}")
    code = lookup(value)
    if code.hex != value:
        raise InvalidFormat("activation code", value, f"{_NOT_WRITTEN}: {code.hex!r}")
    return code


def _written_time(value: object, _: object) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    if _TIME_WRITTEN.fullmatch(value):
        with contextlib.suppress(ValueError):  # a month 13, say: refused below
            return dt.datetime.fromisoformat(value)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None  # raised below, so that the input does not ride along as context
    if parsed is None:
        reason = f"not a date and time such as {_TIME_EXAMPLE!r}"
    elif parsed.tzinfo is None:
        reason = f"has no UTC offset; mak writes UTC times such as {_TIME_EXAMPLE!r}"
    else:
        written = parsed.astimezone(dt.timezone.utc).isoformat()
        reason = f"{_NOT_WRITTEN}: {written!r} (UTC, 'T', '+00:00')"
    raise InvalidFormat("datetime", value, reason)


def _written_uuid(value: object, _: object) -> uuid.UUID:
    if not isinstance(value, str):
        raise TypeError(f"expected a UUID string, got {type(value).__name__}")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        parsed = None  # raised below, unchained
    if parsed is None:
        raise InvalidFormat("UUID", value, "not a UUID")
    if str(parsed) != value:
        raise InvalidFormat("UUID", value, f"{_NOT_WRITTEN}: {str(parsed)!r}")
    return parsed


def _require_object(converter: cattrs.Converter, cls: type[Any]) -> None:
    base = converter.get_structure_hook(cls)
    converter.register_structure_hook(cls, _object_hook(base, attrs.fields(cls)))


def _is(expected: object, candidate: object) -> bool:
    return candidate == expected


def _object_hook(
    base: Callable[[Any, Any], Any], fields: Sequence[attrs.Attribute[Any]]
) -> Callable[[Any, Any], Any]:
    names = [field.name for field in fields]

    def structure(value: object, cls: Any) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an object, got {_json_type(value)}")
        missing = [name for name in names if name not in value]
        if missing:
            raise ValueError("required fields missing: " + ", ".join(missing))
        return base(value, cls)

    return structure


def _array_hook(base: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def structure(value: object, cls: Any) -> Any:
        if type(value) is not list:
            raise TypeError(f"expected an array, got {_json_type(value)}")
        return base(value, cls)

    return structure


# --- consistency ----------------------------------------------------------------------------


def _check(document: ExchangeDocument) -> None:
    """Raise :class:`InvalidDocument` unless the parts of *document* fit together."""
    problems = [*_profile_problems(document), *_duplicates(document)]
    if document.profile is not Profile.PROXY_ONLY:
        problems += _dangling(document)
    if problems:
        path, reason = problems[0]
        more = f"; and {len(problems) - 1} more" if len(problems) > 1 else ""
        failure = InvalidDocument(path, reason + more)
        failure.details = tuple(f"{why} @ {where}" for where, why in problems)
        raise failure


def _profile_problems(document: ExchangeDocument) -> list[tuple[str, str]]:
    """What *document* carries that its profile leaves out."""
    banned: tuple[str, ...] = ()
    if document.profile is Profile.PROXY_ONLY:
        banned = ("computers", "products", "keys")
    elif document.profile is Profile.NO_KEYS:
        banned = ("keys",)
    profile = document.profile.value
    problems = [
        (f"$.{name}", f"a {profile} document carries no {name}")
        for name in banned
        if getattr(document, name)
    ]
    if document.profile is Profile.PROXY_ONLY:
        for index, entry in enumerate(document.activations):
            if not _REFERENCE_PATTERN.match(entry.product_id):
                reason = f"a {profile} document names products by opaque references (p-) only"
                problems.append((f"$.activations[{index}].product_id", reason))
            if entry.partial_key is not None:
                reason = f"a {profile} document carries no partial keys"
                problems.append((f"$.activations[{index}].partial_key", reason))
    return problems


def _duplicates(document: ExchangeDocument) -> list[tuple[str, str]]:
    columns: list[tuple[str, str, list[Hashable]]] = [
        ("computers", "id", [c.id for c in document.computers]),
        ("products", "id", [p.id for p in document.products]),
        (
            "products",
            "activation_id",
            [(p.computer_id, p.activation_id) for p in document.products],
        ),
        ("activations", "product_id", [a.product_id for a in document.activations]),
        ("activations", "installation_id", [a.installation_id for a in document.activations]),
        ("keys", "key", [k.key for k in document.keys]),
    ]
    problems: list[tuple[str, str]] = []
    for table, field, values in columns:
        first: dict[Hashable, int] = {}
        for index, value in enumerate(values):
            earlier = first.setdefault(value, index)
            if earlier != index:
                reason = f"the same as $.{table}[{earlier}].{field}"
                if field == "activation_id":
                    reason = f"a second product with this activation ID on its computer ({reason})"
                problems.append((f"$.{table}[{index}].{field}", reason))
    return problems


def _dangling(document: ExchangeDocument) -> list[tuple[str, str]]:
    computers = {computer.id for computer in document.computers}
    products = {product.id: product for product in document.products}
    problems = [
        (f"$.products[{index}].computer_id", "no computer of the document has this id")
        for index, product in enumerate(document.products)
        if product.computer_id not in computers
    ]
    for index, entry in enumerate(document.activations):
        product = products.get(entry.product_id)
        if product is None:
            path, reason = "product_id", "no product of the document has this id"
        elif product.activation_id != entry.activation_id:
            path, reason = "activation_id", "is not the activation ID of its product"
        else:
            continue
        problems.append((f"$.activations[{index}].{path}", reason))
    return problems


# --- export ---------------------------------------------------------------------------------


class _SystemClock:
    """The computer's own clock, in UTC: for callers that pass none."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


def export(
    inventory: Inventory,
    products: Iterable[ProductRef] | None = None,
    *,
    profile: Profile = Profile.NO_KEYS,
    clock: Clock | None = None,
) -> ExchangeDocument:
    """Return an exchange document of *products* (default: all) as *profile* keeps them.

    ``FULL`` and ``NO_KEYS`` carry the products with their computers (every computer
    when *products* is ``None``), one :class:`ActivationEntry` per product with an
    installation ID, its confirmation ID from the inventory's CIL when one is kept, and
    (``FULL`` only) every product key in full. ``PROXY_ONLY`` carries only the
    activation entries of the products waiting for activation (not licensed, with an
    installation ID), each under an opaque reference: no computer, product name or key.
    Products are given as :class:`~mak.model.Product` s or ids and read again from the
    inventory. Nothing is written to the inventory. *clock* dates the document (default:
    this computer's clock).
    """
    if not isinstance(profile, Profile):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
        raise InvalidFormat.wrong_type("export profile", profile, "a Profile")
    chosen = _chosen(inventory, products)
    origin = uuid.uuid4()
    created_at = (clock or _SystemClock()).now()
    if profile is Profile.PROXY_ONLY:
        waiting = [
            p
            for p in chosen
            if p.installation_id is not None and p.status is not LicenseStatus.LICENSED
        ]
        activations = [_activation(inventory, p, _reference(origin, p.id), False) for p in waiting]
        return ExchangeDocument(
            profile=profile,
            created_at=created_at,
            producer=_producer(),
            origin=origin,
            activations=tuple(activations),
        )
    if products is None:
        computers = inventory.computers()
    else:
        computers = [inventory.computer(cid) for cid in sorted({p.computer_id for p in chosen})]
    keys = inventory.keys() if profile is Profile.FULL else []
    return ExchangeDocument(
        profile=profile,
        created_at=created_at,
        producer=_producer(),
        origin=origin,
        computers=tuple(ComputerEntry.of(computer) for computer in computers),
        products=tuple(ProductEntry.of(product) for product in chosen),
        activations=tuple(
            _activation(inventory, p, p.id, True) for p in chosen if p.installation_id is not None
        ),
        keys=tuple(KeyEntry.of(record) for record in keys),
    )


def _chosen(inventory: Inventory, products: Iterable[ProductRef] | None) -> list[Product]:
    if products is None:
        return inventory.products()
    ids = dict.fromkeys(p if isinstance(p, str) else p.id for p in products)  # once each, in order
    return [inventory.product(product_id) for product_id in ids]


def _activation(
    inventory: Inventory, product: Product, product_id: str, with_key: bool
) -> ActivationEntry:
    """The activation entry of *product* (which has an installation ID) under *product_id*."""
    iid = product.installation_id
    assert iid is not None  # noqa: S101  # the callers pick products with one
    kept = inventory.find_confirmation(iid)
    partial = kept.partial_key if kept is not None else product.partial_key
    return ActivationEntry(
        product_id=product_id,
        activation_id=product.activation_id,
        installation_id=iid,
        extended_pid=product.extended_pid,
        partial_key=partial if with_key else None,
        confirmation_id=kept.confirmation_id if kept is not None else product.confirmation_id,
        acquired_at=kept.acquired_at if kept is not None else None,
    )


def _reference(origin: uuid.UUID, product_id: str) -> str:
    """The opaque reference of a product in a ``PROXY_ONLY`` document salted with *origin*."""
    digest = hmac.new(origin.bytes, product_id.encode("utf-8"), hashlib.sha256).digest()
    return "p-" + digest[:_REFERENCE_BYTES].hex()


def _producer() -> str:
    return f"mak {mak.__version__}"


# --- acquire --------------------------------------------------------------------------------


def acquire(
    document: ExchangeDocument,
    service: ActivationService,
    *,
    batch_size: int = 500,
    clock: Clock | None = None,
) -> tuple[ExchangeDocument, BatchReport]:
    """Return *document* with confirmation IDs acquired for its pending entries, and a report.

    This is the connected side of the air gap: it needs the document and the
    clearinghouse, no inventory. Pending entries go to *service* in batches of
    *batch_size*, **one call per batch**. Each confirmation ID received is written into
    its entry with the time (*clock*, default this computer's); a refusal keeps the entry
    pending with the service's ``code``, and a failed connection fails its batch's
    entries with the transport's code (0x800706BA when it has none) and goes on with the
    next batch. Entries already acquired are not sent again; an entry without an
    extended PID cannot be sent and fails. The report has one outcome per entry, under
    the entry's ``product_id``; run it again on the returned document to retry what failed.
    """
    given = cast("object", batch_size)  # untyped callers may pass anything
    if isinstance(given, bool) or not isinstance(given, int) or given < 1:
        raise InvalidComponent("batch size", repr(batch_size), "must be an int of 1 or more")
    _check(document)
    started = time.perf_counter()
    now = (clock or _SystemClock()).now()
    entries = list(document.activations)
    outcomes: dict[int, Outcome] = {}
    todo: list[int] = []
    for index, entry in enumerate(entries):
        if not entry.pending:
            outcomes[index] = Outcome(entry.product_id, True, None, "already acquired")
        elif entry.extended_pid is None:
            reason = "no extended PID: collect the installation ID again in the lab"
            outcomes[index] = Outcome(entry.product_id, False, None, reason)
        else:
            todo.append(index)
    calls = 0
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        calls += 1
        _acquire_batch(service, entries, chunk, now, outcomes)
    report = BatchReport(
        action="acquire",
        outcomes=[outcomes[index] for index in range(len(entries))],
        elapsed=dt.timedelta(seconds=time.perf_counter() - started),
        service_calls=calls,
    )
    return attrs.evolve(document, activations=tuple(entries)), report


def _acquire_batch(
    service: ActivationService,
    entries: list[ActivationEntry],
    chunk: Sequence[int],
    now: dt.datetime,
    outcomes: dict[int, Outcome],
) -> None:
    """Ask *service* for the entries at *chunk*, in one call; store entries and outcomes."""
    requests = [
        CidRequest(
            installation_id=entries[i].installation_id, extended_pid=entries[i].extended_pid or ""
        )
        for i in chunk
    ]
    try:
        results = service.acquire_confirmation_ids(requests)
    except TransportError as error:
        code = lookup(error.code if error.code is not None else RPC_SERVER_UNAVAILABLE)
        for index in chunk:
            outcomes[index] = Outcome(entries[index].product_id, False, code, str(error))
        return
    if len(results) != len(requests):
        detail = f"the service gave {len(results)} results for {len(requests)} requests"
        for index in chunk:
            code = lookup(_GENERAL_SERVICE_ERROR)
            outcomes[index] = Outcome(entries[index].product_id, False, code, detail)
        return
    for index, result in zip(chunk, results, strict=True):
        entry = entries[index]
        if result.installation_id != entry.installation_id:
            detail = "the service answered for another installation ID"
            outcomes[index] = Outcome(
                entry.product_id, False, lookup(_GENERAL_SERVICE_ERROR), detail
            )
        elif result.confirmation_id is None:
            assert result.code is not None  # noqa: S101  # a CidResult carries one of them
            entries[index] = attrs.evolve(entry, code=result.code)
            outcomes[index] = Outcome(entry.product_id, False, result.code, result.code.message)
        else:
            cid = result.confirmation_id
            entries[index] = attrs.evolve(entry, confirmation_id=cid, acquired_at=now, code=None)
            outcomes[index] = Outcome(entry.product_id, True, None, "confirmation ID acquired")


# --- import ---------------------------------------------------------------------------------


def import_(
    inventory: Inventory,
    document: ExchangeDocument,
    *,
    policy: MergePolicy = MergePolicy.FAIL_ON_CONFLICT,
) -> ImportReport:
    """Return what importing *document* into *inventory* did; all of it, or nothing.

    Computers, products and keys are matched by id (a key by itself); a record of the
    file that differs from the inventory's is a conflict, handled as *policy* says. An
    :class:`ActivationEntry` is matched to its product, by id, or in a ``PROXY_ONLY``
    document by recomputing each product's opaque reference. Its confirmation ID
    reaches the product only when the product's installation ID is the one it answers:
    then it is kept in the CIL and set on the product, ready for
    :meth:`~mak.manager.VolumeActivationManager.apply_confirmation_ids`. An entry for an
    installation ID the product no longer shows is a conflict. The CIL is never
    rewritten: a different confirmation ID for an installation ID it keeps is a
    conflict under every policy.

    Nothing is written when the file is inconsistent, refers to a product the inventory
    lacks (:class:`~mak.errors.InvalidDocument`), or, under ``FAIL_ON_CONFLICT``, has any
    conflict (:class:`~mak.errors.ImportConflict`). Writes happen in one
    :meth:`~mak.ports.Inventory.transaction`, so a failing write undoes them all.
    Importing the same file twice changes nothing the second time.
    """
    if not isinstance(document, ExchangeDocument):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
        raise InvalidFormat.wrong_type("exchange document", document, "an ExchangeDocument")
    if not isinstance(policy, MergePolicy):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
        raise InvalidFormat.wrong_type("merge policy", policy, "a MergePolicy")
    _check(document)
    merge = _Merge(inventory, document, policy)
    merge.plan()
    if merge.conflicts and policy is MergePolicy.FAIL_ON_CONFLICT:
        raise ImportConflict(tuple(merge.conflicts))
    merge.write()
    return merge.report()


_PRODUCT_FIELDS: Final = ("computer_id", "activation_id", "name", "family", "license_state")
_Merged = TypeVar("_Merged", Computer, KeyRecord)

_COMPUTER_FIELDS: Final = ("name", "address", "domain", "workgroup", "os_edition")
_KEY_FIELDS: Final = ("channel", "edition", "remaining")


def _differing(stored: object, incoming: object, names: Sequence[str]) -> str:
    return ", ".join(n for n in names if getattr(stored, n) != getattr(incoming, n))


class _Merge:
    """One import: first every decision (reading only), then every write, in one transaction."""

    def __init__(
        self, inventory: Inventory, document: ExchangeDocument, policy: MergePolicy
    ) -> None:
        self.inventory = inventory
        self.document = document
        self.overwrite = policy is MergePolicy.OVERWRITE
        self.added = self.updated = self.unchanged = 0
        self.conflicts: list[str] = []
        self.writes: list[Callable[[], object]] = []
        # Products as the import leaves them, by id, and which of them need writing.
        self.products: dict[str, Product] = {}
        self.new_products: set[str] = set()
        self.changed_products: set[str] = set()
        self.confirmations: list[CilEntry] = []
        # Which stored products show each installation ID: an IID belongs to one product.
        self.shown_by: dict[InstallationId, list[str]] = {}

    def plan(self) -> None:
        """Decide what to write; read the inventory only."""
        for computer in self.document.computers:
            self._computer(computer)
        for key in self.document.keys:
            self._key(key)
        for product_entry in self.document.products:
            self._product(product_entry)
        stored = self.inventory.products()
        for product in stored:
            if product.installation_id is not None:
                self.shown_by.setdefault(product.installation_id, []).append(product.id)
        proxy_only = self.document.profile is Profile.PROXY_ONLY
        origin = self.document.origin
        references = {_reference(origin, p.id): p for p in stored} if proxy_only else {}
        for index, entry in enumerate(self.document.activations):
            found: Product | None = None
            if proxy_only:
                found = self._referenced(index, entry, references.get(entry.product_id))
            self._activation(index, entry, found)

    def write(self) -> None:
        """Write every decision in one transaction."""
        for product_id in self.products:
            product = self.products[product_id]
            if product_id in self.new_products:
                self.writes.append(functools.partial(self.inventory.add_product, product))
            elif product_id in self.changed_products:
                self.writes.append(functools.partial(self.inventory.update_product, product))
        for entry in self.confirmations:
            self.writes.append(functools.partial(self.inventory.add_confirmation, entry))
        if not self.writes:
            return
        with self.inventory.transaction():
            for write in self.writes:
                write()

    def report(self) -> ImportReport:
        """Return the counts."""
        return ImportReport(
            added=self.added,
            updated=self.updated,
            unchanged=self.unchanged,
            conflicts=len(self.conflicts),
            details=tuple(self.conflicts),
        )

    def _differs(self, what: str, *, writable: bool = True) -> bool:
        """Count a record that differs; return whether the file's version is to be written."""
        if self.overwrite and writable:
            self.updated += 1
            return True
        self.conflicts.append(what)
        return False

    def _computer(self, entry: ComputerEntry) -> None:
        inventory = self.inventory
        self._merge_record(
            entry.to_computer(),
            read=functools.partial(inventory.computer, entry.id),
            add=inventory.add_computer,
            update=inventory.update_computer,
            label=f"computer {entry.id!r}",
            fields=_COMPUTER_FIELDS,
        )

    def _key(self, entry: KeyEntry) -> None:
        incoming = entry.to_record()
        inventory = self.inventory
        self._merge_record(
            incoming,
            read=functools.partial(inventory.key, entry.key),
            add=inventory.add_key,
            update=inventory.update_key,
            label=f"key {incoming.id}",
            fields=_KEY_FIELDS,
        )

    def _merge_record(  # noqa: PLR0913  # one record's every part
        self,
        incoming: _Merged,
        *,
        read: Callable[[], _Merged],
        add: Callable[[_Merged], object],
        update: Callable[[_Merged], object],
        label: str,
        fields: Sequence[str],
    ) -> None:
        """Plan to add *incoming*, update the stored record to it, or leave it be."""
        try:
            stored = read()
        except NotFound:
            self.added += 1
            self.writes.append(functools.partial(add, incoming))
            return
        if _validate.replace(stored, version=0) == incoming:
            self.unchanged += 1
            return
        what = f"{label}: {_differing(stored, incoming, fields)} differ"
        if self._differs(what):
            self.writes.append(
                functools.partial(update, _validate.replace(incoming, version=stored.version))
            )

    def _product(self, entry: ProductEntry) -> None:
        incoming = entry.to_product()
        try:
            stored = self.inventory.product(entry.id)
        except NotFound:
            holder = self._holder(incoming)
            if holder is not None:
                what = f"product {entry.id!r}: its computer has product {holder!r} for its activation ID"
                self._differs(what, writable=False)
                return
            self.added += 1
            self.products[entry.id] = incoming
            self.new_products.add(entry.id)
            return
        self.products[entry.id] = stored
        fields = {name: getattr(incoming, name) for name in _PRODUCT_FIELDS}
        if attrs.evolve(stored, **fields) == stored:
            self.unchanged += 1
            return
        what = f"product {entry.id!r}: {_differing(stored, incoming, _PRODUCT_FIELDS)} differ"
        if self._differs(what, writable=self._holder(incoming) is None):
            self.products[entry.id] = attrs.evolve(stored, **fields)
            self.changed_products.add(entry.id)

    def _holder(self, product: Product) -> str | None:
        """The id of another stored product with *product*'s activation ID on its computer."""
        for other in self.inventory.products(computer_id=product.computer_id):
            if other.activation_id == product.activation_id and other.id != product.id:
                return other.id
        return None

    def _referenced(self, index: int, entry: ActivationEntry, product: Product | None) -> Product:
        if product is None:
            reason = (
                "no product of this inventory has this reference: the file was exported "
                "from another inventory, or the product was removed since"
            )
            raise InvalidDocument(f"$.activations[{index}].product_id", reason)
        if product.activation_id != entry.activation_id:
            reason = "is not the activation ID of the product the reference names"
            raise InvalidDocument(f"$.activations[{index}].activation_id", reason)
        return product

    def _activation(self, index: int, entry: ActivationEntry, found: Product | None) -> None:
        product = self.products.get(entry.product_id) if found is None else found
        shown = f"$.activations[{index}]"
        if found is None:
            shown += f" (product {entry.product_id!r})"
        if product is None:  # its product entry was a conflict the import could not resolve
            self.conflicts.append(f"{shown}: its product was not imported")
            return
        kept = self.inventory.find_confirmation(entry.installation_id)
        cid = entry.confirmation_id
        refusal = self._elsewhere(product, entry.installation_id, kept) or self._unkeepable(
            product, entry, kept
        )
        if refusal:  # never applied, whatever the policy
            self.conflicts.append(f"{shown}: {refusal}")
            return
        merged, fresh, conflict = self._merged(product, entry, kept)
        adds_cid = cid is not None and kept is None
        # The product's key is the inventory's word; the file's only fills a gap.
        partial = product.partial_key or entry.partial_key
        if conflict:
            if not self._differs(f"{shown}: {conflict}"):
                return
        elif merged == product and not adds_cid:
            self.unchanged += 1
            return
        elif fresh or adds_cid:
            self.added += 1
        else:
            self.updated += 1
        self._store(merged)
        if cid is not None and kept is None and partial is not None:
            self.confirmations.append(
                CilEntry(
                    computer_id=merged.computer_id,
                    activation_id=merged.activation_id,
                    installation_id=entry.installation_id,
                    confirmation_id=cid,
                    partial_key=partial,
                    acquired_at=entry.acquired_at or self.document.created_at,
                )
            )

    def _elsewhere(
        self, product: Product, iid: InstallationId, kept: CilEntry | None
    ) -> str | None:
        """Why *iid* belongs to a product other than *product*, if it does."""
        if kept is not None and (kept.computer_id, kept.activation_id) != (
            product.computer_id,
            product.activation_id,
        ):
            return (
                "its installation ID is kept for another product "
                f"(on computer {kept.computer_id!r}); never applied here"
            )
        others = [other for other in self.shown_by.get(iid, []) if other != product.id]
        if others:
            return f"its installation ID is product {others[0]!r}'s; never applied here"
        return None

    @staticmethod
    def _unkeepable(product: Product, entry: ActivationEntry, kept: CilEntry | None) -> str | None:
        """Why the CID of *entry* cannot be kept for *product*, if it cannot."""
        cid = entry.confirmation_id
        if kept is not None and cid is not None and kept.confirmation_id != cid:
            return (
                f"the inventory keeps another confirmation ID for {entry.installation_id}, "
                "and never replaces one"
            )
        if cid is None or kept is not None:
            return None
        if product.partial_key is None and entry.partial_key is None:
            return "no key is recorded for it, so its CID cannot be kept"
        if entry.partial_key not in (None, product.partial_key) and product.partial_key:
            return "its partial_key is not the product's, so its CID cannot be kept"
        return None

    def _merged(
        self, product: Product, entry: ActivationEntry, kept: CilEntry | None
    ) -> tuple[Product, bool, str]:
        """The product with *entry* merged in; whether it had no IID; what conflicts, if anything.

        With a conflict the product returned is the file's version, to be written only
        when the policy says so.
        """
        iid = entry.installation_id
        known = kept.confirmation_id if kept is not None else None
        cid = entry.confirmation_id or known
        if product.installation_id not in (None, iid):
            taken = attrs.evolve(
                product, installation_id=iid, extended_pid=entry.extended_pid, confirmation_id=cid
            )
            return _with_cid(taken), False, "the product shows another installation ID now"
        clashes = [
            name
            for name, ours, theirs in (
                ("extended_pid", product.extended_pid, entry.extended_pid),
                ("confirmation_id", product.confirmation_id, cid),
            )
            if ours is not None and theirs is not None and ours != theirs
        ]
        if clashes:
            taken = attrs.evolve(
                product,
                installation_id=iid,
                extended_pid=entry.extended_pid or product.extended_pid,
                confirmation_id=cid or product.confirmation_id,
            )
            return _with_cid(taken), False, f"{', '.join(clashes)} differ"
        merged = attrs.evolve(
            product,
            installation_id=iid,
            extended_pid=product.extended_pid or entry.extended_pid,
            confirmation_id=product.confirmation_id or cid,
        )
        return _with_cid(merged), product.installation_id is None, ""

    def _store(self, product: Product) -> None:
        self.products[product.id] = product
        if product.id not in self.new_products:
            self.changed_products.add(product.id)


def _with_cid(product: Product) -> Product:
    """*product*, its proxy stage moved on to CID_ACQUIRED when a CID now waits for it."""
    progress = product.proxy
    waiting = (ProxyStage.IID_COLLECTED, ProxyStage.EXPORTED)
    if product.confirmation_id is None or product.status is LicenseStatus.LICENSED:
        return product
    if progress.stage is ProxyStage.FAILED and progress.failed_at in waiting:
        progress = advance_stage(progress, Retried())
    if progress.stage in waiting:
        progress = advance_stage(progress, CidAcquired())
    return product if progress == product.proxy else attrs.evolve(product, proxy=progress)


# --- the JSON Schema ------------------------------------------------------------------------

_LINE: Final = "^(?=.*\\S)[^\\n\\r\\u000b\\u000c\\u001c-\\u001e\\u0085\\u2028\\u2029]*$"
_KEY_SYMBOLS: Final = "[BCDFGHJKMNPQRTVWXY2346789]"
_TIME: Final = {
    "type": "string",
    "format": "date-time",
    "pattern": f"^{_TIME_WRITTEN.pattern}$",
}


def _text() -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": 255, "pattern": _LINE}


def _nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"anyOf": [dict(schema), {"type": "null"}]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _record(properties: Mapping[str, Any]) -> dict[str, Any]:
    """An object with exactly these fields: mak writes every one, and reads none missing."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }


def _definitions() -> dict[str, Any]:
    guid = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    return {
        "text": _text(),
        "activation_id": {"type": "string", "pattern": guid},
        "installation_id": {
            "type": "string",
            "pattern": "^([0-9]{7}(-[0-9]{7}){8}|[0-9]{6}(-[0-9]{6}){8})$",
        },
        "confirmation_id": {"type": "string", "pattern": "^[0-9]{6}(-[0-9]{6}){6,7}$"},
        "partial_key": {"type": "string", "pattern": f"^{_KEY_SYMBOLS}{{5}}$"},
        "product_key": {
            "type": "string",
            "pattern": f"^{_KEY_SYMBOLS}{{5}}(-{_KEY_SYMBOLS}{{5}}){{4}}$",
        },
        "code": {"type": "string", "pattern": _code_pattern()},
        "time": _TIME,
        "channel": {"enum": [channel.value for channel in KeyChannel]},
        "license_state": _license_state(),
        "computer": _record(
            {
                "id": _ref("text"),
                "name": _ref("text"),
                "address": _nullable({"type": "string", "pattern": "^[0-9A-Fa-f:.]+(%[^%]+)?$"}),
                "domain": _nullable(_text()),
                "workgroup": _nullable(_text()),
                "os_edition": _nullable(_text()),
            }
        ),
        "product": _record(
            {
                "id": _ref("text"),
                "computer_id": _ref("text"),
                "activation_id": _ref("activation_id"),
                "name": _ref("text"),
                "family": {"enum": [family.value for family in ProductFamily]},
                "license_state": _ref("license_state"),
            }
        ),
        "activation": _record(
            {
                "product_id": _ref("text"),
                "activation_id": _ref("activation_id"),
                "installation_id": _ref("installation_id"),
                "extended_pid": _nullable(
                    {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 128,
                        "pattern": "^(?=.*[!-~])[ -~]*$",
                    }
                ),
                "partial_key": _nullable(_ref("partial_key")),
                "confirmation_id": _nullable(_ref("confirmation_id")),
                "acquired_at": _nullable(_TIME),
                "code": _nullable(_ref("code")),
            }
        ),
        "key": _record(
            {
                "key": _ref("product_key"),
                "channel": _ref("channel"),
                "edition": _nullable(_text()),
                "remaining": _nullable(
                    _record({"value": {"type": "integer", "minimum": 0}, "refreshed_at": _TIME})
                ),
            }
        ),
    }


def _code_pattern() -> str:
    """Codes as ActivationCode.hex writes them: eight hex digits, or a batch-service number."""
    short = sorted({code.hex[2:] for code in all_codes() if len(code.hex) != len("0x") + 8})
    return f"^0x([0-9A-F]{{8}}|{'|'.join(short)})$"


def _license_state() -> dict[str, Any]:
    return _record(
        {
            "status": {"enum": [status.value for status in LicenseStatus]},
            "channel": _nullable(_ref("channel")),
            "partial_key": _nullable(_ref("partial_key")),
            "reason": _nullable({"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF}),
            "grace_ends_at": _nullable(_TIME),
            "licensed_until": _nullable(_TIME),
            "activated_at": _nullable(_TIME),
            "method": _nullable({"enum": [method.value for method in ActivationMethod]}),
            "rearms_left": {"type": "integer", "minimum": 0},
            "genuine": {"type": "boolean"},
        }
    )


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of the exchange document this mak writes.

    The schema describes the shape of each field, what each profile leaves out, and the
    one form mak writes of each value (installation IDs as hyphenated groups, keys
    upper-case, times in UTC with ``+00:00``). :func:`load` reads no other form, so a
    document it accepts satisfies the schema; it checks more than a schema can say:
    check digits, ids given once, every reference resolved. The same schema is
    published in the documentation as ``exchange.schema.json``.

    >>> schema = json_schema()
    >>> schema["properties"]["format"], sorted(schema["$defs"])[:3]
    ({'const': 'mak-exchange'}, ['activation', 'activation_id', 'channel'])
    """
    empty = {"maxItems": 0}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mak.invalid/exchange.schema.json",
        "title": "mak exchange document",
        "description": (
            "The air-gap file of mak: computers, products, installation and confirmation "
            "IDs and, in a full export, product keys."
        ),
        **_record(
            {
                "format": {"const": FORMAT},
                "schema_version": {"const": SCHEMA_VERSION},
                "profile": {"enum": [profile.value for profile in Profile]},
                "created_at": _TIME,
                "producer": _ref("text"),
                "origin": {
                    "type": "string",
                    "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                },
                "computers": {"type": "array", "items": _ref("computer")},
                "products": {"type": "array", "items": _ref("product")},
                "activations": {"type": "array", "items": _ref("activation")},
                "keys": {"type": "array", "items": _ref("key")},
            }
        ),
        "allOf": [
            {
                "if": {"properties": {"profile": {"const": Profile.PROXY_ONLY.value}}},
                "then": {
                    "properties": {
                        "computers": empty,
                        "products": empty,
                        "keys": empty,
                        "activations": {
                            "items": {
                                "properties": {
                                    "product_id": {"pattern": _REFERENCE_PATTERN.pattern},
                                    "partial_key": {"type": "null"},
                                }
                            }
                        },
                    }
                },
            },
            {
                "if": {"properties": {"profile": {"const": Profile.NO_KEYS.value}}},
                "then": {"properties": {"keys": empty}},
            },
        ],
        "$defs": _definitions(),
    }
