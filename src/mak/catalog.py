"""The editions Microsoft publishes KMS client setup keys (GVLKs) for, with those keys.

A GVLK makes a machine a KMS or Active Directory-based activation client; Microsoft
publishes them and says they need not be kept confidential (domain-facts §1.6, §7). The
packaged catalog holds every GVLK on Microsoft's two lists: Windows and Windows Server
(``WSD-keys``) and Office, Project and Visio 2016 to LTSC 2024 (``OFF``). Keys seen only in
community copies (Windows Home, Office 2013 and 2010) are left out.

:meth:`Catalog.default` loads the packaged list; :meth:`Catalog.from_file` loads a newer one
in the same format. Keys stay :class:`~mak.keys.ProductKey` values, masked like any other.

>>> catalog = Catalog.default()
>>> edition = catalog.edition_of("W269N-WFGWX-YVC9B-4J6C9-T83GX")
>>> edition.name, edition.family.kms_threshold
('Windows 11 Pro / Windows 10 Pro', 25)
>>> catalog.gvlk_for("Windows Server 2025 Standard")
ProductKey('XXXXX-XXXXX-XXXXX-XXXXX-MY832')
"""

from __future__ import annotations

import difflib
import enum
import functools
import json
import os
from importlib import resources
from typing import IO, TYPE_CHECKING, Final, cast, final

import attrs

from mak import _validate
from mak.errors import InvalidComponent, InvalidFormat, ValidationError
from mak.keys import ProductKey

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["MAX_FILE_BYTES", "Catalog", "Edition", "ProductFamily"]

MAX_FILE_BYTES: Final = 5 * 1024 * 1024
"""A catalog file larger than this is refused before it is read in full."""

_KIND: Final = "catalog"
_FORMAT: Final = "mak-catalog"
_SCHEMA_VERSION: Final = 1  # the only version this module reads
_ROOT: Final = "$"
_DOCUMENT_KEYS: Final = frozenset({"format", "schema_version", "sources", "editions"})
_EDITION_KEYS: Final = frozenset({"name", "family", "release", "gvlk", "source"})


class ProductFamily(enum.Enum):
    """The product families a KMS host tells apart by their activation thresholds."""

    WINDOWS_CLIENT = "windows-client"
    """Windows client editions (Vista to 11, LTSB/LTSC and IoT included)."""
    WINDOWS_SERVER = "windows-server"
    """Windows Server editions, Semi-Annual Channel included."""
    OFFICE = "office"
    """Volume-licensed Office, Project and Visio."""

    @property
    def kms_threshold(self) -> int:
        """The KMS host count at which this family activates: 25 for Windows client, else 5.

        A KMS client activates once the host's count of distinct machines, the requester
        included, reaches this; below it the host answers 0xC004F038. Source: Microsoft's
        "Plan for volume activation" / "KMS activation planning" pages and the Office volume
        activation docs ("requires at least five"), domain-facts §3.

        >>> [family.kms_threshold for family in ProductFamily]
        [25, 5, 5]
        """
        return _KMS_THRESHOLDS[self]


_KMS_THRESHOLDS: Final[Mapping[ProductFamily, int]] = {
    ProductFamily.WINDOWS_CLIENT: 25,
    ProductFamily.WINDOWS_SERVER: 5,
    ProductFamily.OFFICE: 5,
}


@attrs.frozen
class Edition:
    """A product edition and the GVLK Microsoft publishes for it (``None`` if none).

    >>> Catalog.default().edition_of("NPPR9-FWDCX-D2C8J-H872K-2YT43")
    Edition(name='Windows 11 Enterprise / Windows 10 Enterprise', family=<ProductFamily.WINDOWS_CLIENT: 'windows-client'>, release='Windows 10/11', gvlk=ProductKey('XXXXX-XXXXX-XXXXX-XXXXX-2YT43'))
    """

    name: str = attrs.field(validator=_validate.text("edition"))
    """The name Microsoft lists; editions sharing one key are joined by a slash."""
    family: ProductFamily = attrs.field(validator=_validate.instance(ProductFamily))
    """Which KMS threshold applies."""
    release: str = attrs.field(validator=_validate.text("edition"))
    """The product generation, such as ``"Windows 10/11"`` or ``"Office LTSC 2024"``."""
    gvlk: ProductKey | None = attrs.field(
        default=None, validator=_validate.instance(ProductKey, optional=True)
    )
    """The published KMS client setup key."""


@attrs.frozen
class _Index:
    """Editions by GVLK and by normalised name (each name and each part of a shared one)."""

    by_key: dict[ProductKey, Edition]
    by_name: dict[str, Edition]


def _normal(name: str) -> str:
    """Fold case and runs of whitespace, so that lookups forgive both."""
    return " ".join(name.split()).casefold()


def _build_index(catalog: Catalog) -> _Index:
    """Index *catalog*'s editions, refusing a GVLK or a name that two of them share."""
    # attrs builds this default before validators run: check the editions first.
    _a_tuple(catalog, None, catalog.editions())
    name_at: dict[str, int] = {}
    key_at: dict[ProductKey, int] = {}
    editions = catalog.editions()
    for index, edition in enumerate(editions):
        normal = _normal(edition.name)
        if normal in name_at:
            reason = f"{edition.name!r} is already the name of editions[{name_at[normal]}]"
            raise InvalidComponent(_KIND, f"editions[{index}].name", reason)
        name_at[normal] = index
        if edition.gvlk is None:
            continue
        if edition.gvlk in key_at:
            first = key_at[edition.gvlk]
            reason = f"product key '{edition.gvlk}' is already the GVLK of editions[{first}]"
            raise InvalidComponent(_KIND, f"editions[{index}].gvlk", reason)
        key_at[edition.gvlk] = index
    by_name = {name: editions[index] for name, index in name_at.items()}
    # "Windows 11 Pro / Windows 10 Pro" also answers to each of its parts, unless a part
    # belongs to two editions, where it would be ambiguous.
    parts: dict[str, list[Edition]] = {}
    for edition in editions:
        for part in edition.name.split(" / "):
            parts.setdefault(_normal(part), []).append(edition)
    for part, owners in parts.items():
        if len(owners) == 1:
            by_name.setdefault(part, owners[0])
    return _Index(by_key={key: editions[index] for key, index in key_at.items()}, by_name=by_name)


def _a_tuple(_: object, __: object, value: object) -> None:
    if not isinstance(value, tuple):
        reason = f"must be a tuple, got {type(value).__name__}"
        raise InvalidFormat(_KIND, "editions", reason)
    items: tuple[object, ...] = value  # pyright: ignore[reportUnknownVariableType]  # checked next
    for index, item in enumerate(items):
        if not isinstance(item, Edition):
            reason = f"expected an Edition, got {type(item).__name__}"
            raise InvalidFormat(_KIND, f"editions[{index}]", reason)


@final
@attrs.frozen(repr=False)
class Catalog:
    """The editions with published GVLKs, looked up by key, by name or by family.

    ``Catalog(editions=...)`` takes a tuple of editions; :meth:`editions` gives them back.

    ``Catalog(editions)`` refuses two editions with one name or one GVLK
    (:class:`~mak.errors.InvalidComponent`). Equality and hashing use the editions.

    >>> catalog = Catalog.default()
    >>> len(catalog), catalog.editions()[0].name
    (130, 'Windows Server 2025 Standard')
    """

    _editions: tuple[Edition, ...] = attrs.field(alias="editions", validator=_a_tuple)
    _index: _Index = attrs.field(
        init=False, eq=False, repr=False, default=attrs.Factory(_build_index, takes_self=True)
    )

    @classmethod
    def default(cls) -> Catalog:
        """Return the catalog packaged with mak, loaded once and shared.

        >>> Catalog.default() is Catalog.default()
        True
        """
        return _packaged()

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Catalog:
        """Return the catalog in the JSON file at *path*, such as a newer list than mak's.

        Loading is strict: a file over :data:`MAX_FILE_BYTES`, not JSON, of another
        ``format`` or ``schema_version``, with a missing or unknown key, an unknown family or
        source, a malformed key, or a GVLK or name given twice raises a
        :class:`~mak.errors.ValidationError` (:class:`~mak.errors.InvalidFormat` or
        :class:`~mak.errors.InvalidComponent`). Its ``text`` is the JSON path of the
        offending value (``$`` is the whole document), or the file for errors about the
        file itself; keys in messages are masked. A file that cannot be opened raises
        :class:`OSError`.

        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder, "catalog.json")
        ...     _ = path.write_text('{"format": "mak-catalog", "schema_version": 2}')
        ...     Catalog.from_file(path)
        Traceback (most recent call last):
        mak.errors.InvalidComponent: Invalid catalog: 'schema_version' (version 2 is not supported; expected 1)
        """
        origin = os.fspath(path)
        with open(origin, "rb") as stream:  # noqa: PTH123  # str paths as well as Path
            raw = _read_limited(stream, origin)
        return _load(raw, origin)

    def edition_of(self, key: ProductKey | str) -> Edition | None:
        """Return the edition whose published GVLK *key* is, or ``None`` for any other key.

        A string is read with :meth:`ProductKey.parse <mak.keys.ProductKey.parse>`, so a
        malformed one raises its :class:`~mak.errors.ValidationError`.

        >>> catalog = Catalog.default()
        >>> catalog.edition_of("vdybn 27wpp v4hqt 9vmd4 vmk7h").name
        'Windows Server 2022 Standard'
        >>> catalog.edition_of("BCDFG-HJKMP-QRTVW-XY234-6789B") is None
        True
        """
        if not isinstance(key, ProductKey):
            key = ProductKey.parse(key)
        return self._index.by_key.get(key)

    def edition(self, name: str) -> Edition:
        """Return the edition called *name*, forgiving case and spacing.

        An edition whose published name lists several (``"Windows 11 Pro / Windows 10
        Pro"``) also answers to each of them. An unknown name raises
        :class:`~mak.errors.InvalidComponent` listing the closest names this catalog has.

        >>> Catalog.default().edition("windows 10  pro").name
        'Windows 11 Pro / Windows 10 Pro'
        >>> Catalog.default().edition("Windows 10 Home")
        Traceback (most recent call last):
        mak.errors.InvalidComponent: Invalid edition: 'Windows 10 Home' (not in the catalog; closest: ...)
        """
        if not isinstance(name, str):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise InvalidFormat.wrong_type("edition", name)
        found = self._index.by_name.get(_normal(name))
        if found is None:
            raise InvalidComponent("edition", name, self._not_found(name))
        return found

    def _not_found(self, name: str) -> str:
        names = [edition.name for edition in self._editions]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        if not close:
            return "not in the catalog"
        return "not in the catalog; closest: " + ", ".join(repr(c) for c in close)

    def gvlk_for(self, edition: Edition | str) -> ProductKey:
        """Return this catalog's GVLK for *edition*, given as an :class:`Edition` or its name.

        A name is looked up as :meth:`edition` does; an :class:`Edition` by its name, so
        one from another catalog gets this catalog's key. An unknown name, or an edition
        without a published GVLK, raises :class:`~mak.errors.InvalidComponent`.

        >>> Catalog.default().gvlk_for("Office LTSC Professional Plus 2024").partial
        'GCVGB'
        """
        found = self.edition(edition.name if isinstance(edition, Edition) else edition)
        if found.gvlk is None:
            raise InvalidComponent("edition", found.name, "has no published GVLK")
        return found.gvlk

    def editions(self, family: ProductFamily | None = None) -> tuple[Edition, ...]:
        """Return every edition, or those of *family*, in catalog order.

        >>> [e.name for e in Catalog.default().editions(ProductFamily.OFFICE)][:2]
        ['Office LTSC Professional Plus 2024', 'Office LTSC Standard 2024']
        """
        if family is None:
            return self._editions
        if not isinstance(family, ProductFamily):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise InvalidFormat.wrong_type("product family", family, "a ProductFamily")
        return tuple(edition for edition in self._editions if edition.family is family)

    def __len__(self) -> int:
        return len(self._editions)

    def __iter__(self) -> Iterator[Edition]:
        return iter(self._editions)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self._editions)} editions>"


@functools.cache
def _packaged() -> Catalog:
    """Return the catalog in ``mak/data/catalog.json``."""
    resource = resources.files("mak") / "data" / "catalog.json"
    origin = "mak/data/catalog.json"
    with resource.open("rb") as stream:
        raw = _read_limited(stream, origin)
    return _load(raw, origin)


def _read_limited(stream: IO[bytes], origin: str) -> bytes:
    """Return the bytes of *stream*, refusing more than :data:`MAX_FILE_BYTES`."""
    raw = stream.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidFormat(_KIND, origin, f"the file is larger than {MAX_FILE_BYTES} bytes")
    return raw


class _DuplicateKeyError(Exception):
    """A JSON object names one key twice (json.loads otherwise keeps the last silently)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _parse(raw: bytes, origin: str) -> object:
    """Return the JSON value in *raw*, refusing an object that names a key twice."""
    # Each failure is raised after the except block: a chained JSONDecodeError would
    # carry the whole document, product keys included, as its context.
    try:
        return json.loads(raw, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        reason = f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
    except UnicodeDecodeError:
        reason = "not JSON: not UTF-8 text"
    except RecursionError:
        reason = "not JSON we read: nested too deeply"
    except _DuplicateKeyError as error:
        reason = f"key {error.key!r} appears twice in one object"
    except ValueError:  # e.g. an integer of more digits than int() converts
        reason = "not JSON we read: a value is too large"
    raise InvalidFormat(_KIND, origin, reason)


def _load(raw: bytes, origin: str) -> Catalog:
    """Return the catalog that the JSON document *raw*, read from *origin*, describes."""
    root = _object(_parse(raw, origin), _ROOT)
    if "format" not in root:
        raise InvalidFormat(_KIND, "format", "missing")
    if root["format"] != _FORMAT:
        reason = f"expected {_FORMAT!r}, got {_shown(root['format'])}"
        raise InvalidFormat(_KIND, "format", reason)
    if "schema_version" not in root:
        raise InvalidFormat(_KIND, "schema_version", "missing")
    version = root["schema_version"]
    if type(version) is not int:  # bool is an int, and true is no version
        reason = f"expected an integer, got {_json_type(version)}"
        raise InvalidFormat(_KIND, "schema_version", reason)
    if version != _SCHEMA_VERSION:
        reason = f"version {version} is not supported; expected {_SCHEMA_VERSION}"
        raise InvalidComponent(_KIND, "schema_version", reason)
    _check_keys(root, _ROOT, _DOCUMENT_KEYS)

    sources = _object(root["sources"], "sources")
    for tag, url in sources.items():
        _text(url, f"sources.{tag}")
    entries = root["editions"]
    if not isinstance(entries, list):
        raise InvalidFormat(_KIND, "editions", f"expected an array, got {_json_type(entries)}")
    items = cast("list[object]", entries)
    editions = tuple(_edition(item, f"editions[{i}]", sources) for i, item in enumerate(items))
    return Catalog(editions)


def _edition(value: object, path: str, sources: Mapping[str, object]) -> Edition:
    """Return the edition that the JSON object *value* at *path* describes."""
    entry = _object(value, path)
    _check_keys(entry, path, _EDITION_KEYS)
    name = _text(entry["name"], f"{path}.name")
    family_value = _text(entry["family"], f"{path}.family")
    try:
        family = ProductFamily(family_value)
    except ValueError:
        family = None  # raised below: the enum's message would ride along as context
    if family is None:
        known = ", ".join(repr(f.value) for f in ProductFamily)
        reason = f"unknown family {family_value!r}; expected one of {known}"
        raise InvalidComponent(_KIND, f"{path}.family", reason)
    release = _text(entry["release"], f"{path}.release")
    source = _text(entry["source"], f"{path}.source")
    if source not in sources:
        reason = f"source {source!r} is not one of the file's sources"
        raise InvalidComponent(_KIND, f"{path}.source", reason)
    return Edition(name, family, release, _gvlk(entry["gvlk"], f"{path}.gvlk"))


def _gvlk(value: object, path: str) -> ProductKey | None:
    """Return the key in *value*, ``None`` for JSON null; errors show the key masked."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidFormat(_KIND, path, f"expected a string or null, got {_json_type(value)}")
    try:
        return ProductKey.parse(value)
    except ValidationError as error:  # its text is already masked
        reason = f"{error.kind} {error.text!r}: {error.reason}"
    raise InvalidFormat(_KIND, path, reason)


def _object(value: object, path: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise InvalidFormat(_KIND, path, f"expected an object, got {_json_type(value)}")
    return cast("dict[str, object]", value)


def _check_keys(entry: Mapping[str, object], path: str, expected: frozenset[str]) -> None:
    """Refuse a missing or an unknown key in the JSON object *entry* at *path*."""
    missing = sorted(expected - entry.keys())
    if missing:
        raise InvalidFormat(_KIND, _member(path, missing[0]), "missing")
    unknown = sorted(entry.keys() - expected)
    if unknown:
        raise InvalidFormat(_KIND, _member(path, unknown[0]), "not a key of the format")


def _text(value: object, path: str) -> str:
    """Return *value* if it is a non-blank JSON string."""
    if not isinstance(value, str):
        raise InvalidFormat(_KIND, path, f"expected a string, got {_json_type(value)}")
    if not value.strip():
        raise InvalidFormat(_KIND, path, "empty")
    return value


def _member(path: str, key: str) -> str:
    return key if path == _ROOT else f"{path}.{key}"


def _shown(value: object) -> str:
    """Return a short, safe rendering of a JSON value for an error message."""
    if isinstance(value, str) and len(value) <= 40:
        return repr(value)
    return _json_type(value)


def _json_type(value: object) -> str:
    """Return the JSON name of *value*'s type."""
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
    return "an object"
