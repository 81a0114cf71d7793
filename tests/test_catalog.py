"""Tests for mak.catalog: the packaged GVLK list, its lookups and strict catalog loading."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

import pytest

from mak import errors
from mak.catalog import MAX_FILE_BYTES, Catalog, Edition, ProductFamily
from mak.keys import ALPHABET, KeyAlgorithm, ProductKey, is_valid

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Callable

CATALOG = Catalog.default()
EDITIONS = CATALOG.editions()
PACKAGED = resources.files("mak") / "data" / "catalog.json"

WSD_KEYS = "https://learn.microsoft.com/windows-server/get-started/kms-client-activation-keys"
OFF = "https://learn.microsoft.com/office/volume-license-activation/gvlks"


def _name(edition: Edition) -> str:
    return edition.name


# --- the packaged list ------------------------------------------------------------------

# Counted from domain-facts §7.1/§7.2 (Microsoft's WSD-keys and OFF pages), leaving out the
# community-only keys; the key set itself was compared with that file by script.
FAMILY_COUNTS = {
    ProductFamily.WINDOWS_CLIENT: 37,
    ProductFamily.WINDOWS_SERVER: 41,
    ProductFamily.OFFICE: 52,
}
RELEASE_COUNTS = {
    "Windows Server 2025": 3,
    "Windows Server 2022": 3,
    "Windows Server 2019": 3,
    "Windows Server 2016": 3,
    "Windows Server Semi-Annual Channel": 2,
    "Windows 10/11": 12,
    "Windows 10/11 LTSC": 3,
    "Windows 10 LTSB 2016": 2,
    "Windows 10 LTSB 2015": 2,
    "Windows Server, version 1803": 2,
    "Windows Server, version 1709": 2,
    "Windows Server 2012 R2": 3,
    "Windows Server 2012": 5,
    "Windows Server 2008 R2": 6,
    "Windows Server 2008": 9,
    "Windows 8.1": 4,
    "Windows 8": 4,
    "Windows 7": 6,
    "Windows Vista": 4,
    "Office LTSC 2024": 12,
    "Office LTSC 2021": 13,
    "Office 2019": 13,
    "Office 2016": 14,
}
PKEY2009_COUNT = 105  # 53 Windows 8 / Server 2012 and later, 52 Office (domain-facts §1.2)

SPOT_CHECKS = [
    ("Windows 11 Pro / Windows 10 Pro", "W269N-WFGWX-YVC9B-4J6C9-T83GX", "windows-client"),
    ("Windows 11 Enterprise G N / Windows 10 Enterprise G N", "44RPN-FTY23-9VTTB-MP9BX-T84FV", "windows-client"),
    (
        "Windows 11 Enterprise LTSC 2024 / Windows 10 Enterprise LTSC 2021 / Windows 10 Enterprise LTSC 2019",
        "M7XTQ-FN8P6-TTKYV-9D4CC-J462D",
        "windows-client",
    ),
    (
        "Windows 11 Enterprise N LTSC 2024 / Windows 10 Enterprise N LTSC 2021 / Windows 10 Enterprise N LTSC 2019",
        "92NFX-8DJQP-P6BBQ-THF9C-7CG2H",
        "windows-client",
    ),
    ("Windows IoT Enterprise LTSC 2024 / Windows IoT Enterprise LTSC 2021", "KBN8V-HFGQ4-MGXVD-347P6-PDQGT", "windows-client"),
    ("Windows Server 2025 Datacenter: Azure Edition", "XGN3F-F394H-FD2MY-PP6FD-8MCRC", "windows-server"),
    ("Windows Server Datacenter, versions 1809 to 20H2", "6NMRW-2C8FM-D24W7-TQWMY-CWH2D", "windows-server"),
    ("Windows Server Standard, version 1709", "DPCNP-XQFKJ-BJF7R-FRC8D-GF6G4", "windows-server"),
    ("Windows Server 2012 R2 Standard", "D2N9P-3P6X9-2R39C-7RTCD-MDVJX", "windows-server"),
    ("Windows Server 2012 R2 Datacenter", "W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9", "windows-server"),
    ("Windows Server 2012 R2 Essentials", "KNC87-3J2TX-XB4WP-VCPJV-M4FWM", "windows-server"),
    ("Windows Server 2008 for Itanium-Based Systems", "4DWFP-JF3DJ-B7DTH-78FJB-PDRHK", "windows-server"),
    ("Windows 8 Pro", "NG4HW-VH26C-733KW-K6F98-J8CK4", "windows-client"),
    ("Windows 7 Enterprise E", "C29WB-22CC8-VJ326-GHFJW-H9DH4", "windows-client"),
    ("Windows Vista Enterprise N", "VTC42-BM838-43QHV-84HX6-XJXKV", "windows-client"),
    ("Office LTSC Professional Plus 2024", "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB", "office"),
    ("Project Standard 2021", "J2JDC-NJCYY-9RGQ4-YXWMH-T3D4T", "office"),
    ("Visio Standard 2019", "7TQNQ-K3YQQ-3PFH7-CCPPM-X4VQ2", "office"),
    ("OneNote 2016", "DR92N-9HTF2-97XKM-XW2WJ-XW3J6", "office"),
]  # fmt: skip

# domain-facts §1.3: (key, group ID, serial).
DECODES = [
    ("W269N-WFGWX-YVC9B-4J6C9-T83GX", 3311, 1),
    ("NPPR9-FWDCX-D2C8J-H872K-2YT43", 3290, 3),
    ("VDYBN-27WPP-V4HQT-9VMD4-VMK7H", 4541, 1),
    ("TVRH6-WHNXV-R9WG3-9XRFY-MY832", 4929, 1),
    ("NG4HW-VH26C-733KW-K6F98-J8CK4", 1787, 11),
]

# Well-formed keys that are not on Microsoft's lists: community-only GVLKs (Windows 10
# Core, Office 2013 and 2010 ProPlus, domain-facts §7) and MAK-looking old-format keys.
NOT_PUBLISHED = [
    "TX9XD-98N7V-6WMQ6-BX7FG-H8Q99",
    "YC7DK-G2NP3-2QQC3-J6H88-GVGXT",
    "VYBBJ-TRJPB-QFQRF-QFT4D-H3GVB",
    *("".join(ALPHABET[(seed * 7 + i * 11) % 24] for i in range(25)) for seed in range(8)),
]


def test_counts_per_family() -> None:
    assert {family: len(CATALOG.editions(family)) for family in ProductFamily} == FAMILY_COUNTS
    assert len(CATALOG) == sum(FAMILY_COUNTS.values()) == 130


def test_counts_per_release() -> None:
    counts: dict[str, int] = {}
    for edition in CATALOG:
        counts[edition.release] = counts.get(edition.release, 0) + 1
    assert counts == RELEASE_COUNTS


def test_names_and_keys_are_unique() -> None:
    assert len({edition.name for edition in EDITIONS}) == len(EDITIONS)
    assert len({edition.gvlk for edition in EDITIONS}) == len(EDITIONS)


@pytest.mark.parametrize(
    ("name", "key", "family"), SPOT_CHECKS, ids=[row[1] for row in SPOT_CHECKS]
)
def test_spot_checks(name: str, key: str, family: str) -> None:
    edition = CATALOG.edition_of(key)
    assert edition is not None
    assert edition.name == name
    assert edition.family is ProductFamily(family)


@pytest.mark.parametrize("edition", EDITIONS, ids=_name)
def test_every_gvlk_is_well_formed(edition: Edition) -> None:
    assert edition.gvlk is not None
    text = edition.gvlk.reveal()
    assert ProductKey.parse(text) == edition.gvlk
    assert ProductKey(text) == edition.gvlk
    if "N" in text:
        assert edition.gvlk.algorithm is KeyAlgorithm.PKEY2009
        assert is_valid(text)  # the checksum matches
        fields = edition.gvlk.fields
        assert fields is not None
        assert not fields.upgrade
    else:
        assert edition.gvlk.algorithm is KeyAlgorithm.PKEY2005
        assert edition.release in {"Windows Server 2008 R2", "Windows Server 2008", "Windows 7", "Windows Vista"}  # fmt: skip


def test_count_of_checksummed_keys() -> None:
    algorithms = [edition.gvlk.algorithm for edition in EDITIONS if edition.gvlk is not None]
    assert algorithms.count(KeyAlgorithm.PKEY2009) == PKEY2009_COUNT


@pytest.mark.parametrize(
    ("key", "group_id", "serial"), DECODES, ids=[row[0][:5] for row in DECODES]
)
def test_known_decodes(key: str, group_id: int, serial: int) -> None:
    gvlk = CATALOG.edition_of(key)
    assert gvlk is not None
    assert gvlk.gvlk is not None
    fields = gvlk.gvlk.fields
    assert fields is not None
    assert (fields.group_id, fields.serial) == (group_id, serial)


def test_packaged_file_names_its_sources() -> None:
    document = json.loads(PACKAGED.read_text(encoding="utf-8"))
    assert document["format"] == "mak-catalog"
    assert document["schema_version"] == 1
    assert document["sources"] == {"WSD-keys": WSD_KEYS, "OFF": OFF}
    for entry in document["editions"]:
        assert entry["source"] == ("OFF" if entry["family"] == "office" else "WSD-keys")


def test_packaged_file_loads_the_same_through_from_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_bytes(PACKAGED.read_bytes())
    again = Catalog.from_file(path)
    assert again == CATALOG
    assert hash(again) == hash(CATALOG)
    assert again is not CATALOG
    assert Catalog.from_file(str(path)) == CATALOG


def test_default_is_loaded_once() -> None:
    assert Catalog.default() is Catalog.default()


# --- lookups ----------------------------------------------------------------------------


@pytest.mark.parametrize("edition", EDITIONS, ids=_name)
def test_round_trip(edition: Edition) -> None:
    assert edition.gvlk is not None
    text = edition.gvlk.reveal()
    assert CATALOG.edition_of(edition.gvlk) is edition
    assert CATALOG.edition_of(text) is edition
    assert CATALOG.edition_of(f"  {text.lower().replace('-', ' ')} ") is edition
    assert CATALOG.gvlk_for(edition) == edition.gvlk
    assert CATALOG.gvlk_for(edition.name) == edition.gvlk
    assert edition in CATALOG.editions(edition.family)


@pytest.mark.parametrize("key", NOT_PUBLISHED)
def test_unpublished_key_has_no_edition(key: str) -> None:
    assert is_valid(key)
    assert CATALOG.edition_of(key) is None
    assert CATALOG.edition_of(ProductKey.parse(key)) is None


@pytest.mark.parametrize(
    ("key", "error"),
    [
        ("W269N-WFGWX-YVC9B-4J6C9-T83GY", errors.InvalidChecksum),
        ("W269N-WFGWX", errors.InvalidLength),
        (42, errors.InvalidFormat),
    ],
)
def test_edition_of_refuses_what_is_not_a_key(key: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        CATALOG.edition_of(key)


@pytest.mark.parametrize("name", ["Windows 10 Home", "Windows 12 Pro", ""])
def test_gvlk_for_unknown_name(name: str) -> None:
    with pytest.raises(errors.InvalidComponent) as caught:
        CATALOG.gvlk_for(name)
    assert (caught.value.kind, caught.value.text) == ("edition", name)
    assert caught.value.reason.startswith("not in the catalog")


def test_an_unknown_name_lists_close_matches() -> None:
    with pytest.raises(errors.InvalidComponent) as caught:
        CATALOG.edition("Windows Server 2022 Standart")
    assert "closest: 'Windows Server 2022 Standard'" in caught.value.reason


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("windows 11 pro / windows 10 pro", "Windows 11 Pro / Windows 10 Pro"),
        ("  Windows   10 Pro ", "Windows 11 Pro / Windows 10 Pro"),
        ("WINDOWS SERVER 2022 STANDARD", "Windows Server 2022 Standard"),
        ("Windows 10 Enterprise", "Windows 11 Enterprise / Windows 10 Enterprise"),
    ],
)
def test_names_are_looked_up_forgiving_case_spacing_and_shared_names(
    name: str, expected: str
) -> None:
    assert CATALOG.edition(name).name == expected


def test_a_part_shared_by_two_editions_is_not_an_alias() -> None:
    family, release = ProductFamily.WINDOWS_CLIENT, "Windows 10/11"
    catalog = Catalog(
        editions=(
            Edition("Alpha / Shared", family, release),
            Edition("Beta / Shared", family, release),
        )
    )
    assert catalog.edition("alpha").name == "Alpha / Shared"
    assert catalog.edition("Beta").name == "Beta / Shared"
    with pytest.raises(errors.InvalidComponent):
        catalog.edition("Shared")


def test_gvlk_for_looks_an_edition_up_by_name() -> None:
    stranger = Edition("Windows 8 Pro", ProductFamily.WINDOWS_CLIENT, "Windows 8")
    assert CATALOG.gvlk_for(stranger).partial == "J8CK4"
    unknown = Edition("Windows 12 Pro", ProductFamily.WINDOWS_CLIENT, "Windows 12")
    with pytest.raises(errors.InvalidComponent):
        CATALOG.gvlk_for(unknown)


def test_editions_by_family_partition_the_catalog() -> None:
    parts = [CATALOG.editions(family) for family in ProductFamily]
    assert sorted(e.name for part in parts for e in part) == sorted(e.name for e in EDITIONS)
    for family, part in zip(ProductFamily, parts, strict=True):
        assert all(edition.family is family for edition in part)


@pytest.mark.parametrize(
    ("family", "threshold"),
    [
        (ProductFamily.WINDOWS_CLIENT, 25),
        (ProductFamily.WINDOWS_SERVER, 5),
        (ProductFamily.OFFICE, 5),
    ],
)
def test_kms_thresholds(family: ProductFamily, threshold: int) -> None:
    assert family.kms_threshold == threshold


def test_family_values() -> None:
    assert [family.value for family in ProductFamily] == [
        "windows-client",
        "windows-server",
        "office",
    ]


def test_keys_stay_masked() -> None:
    edition = CATALOG.edition_of("W269N-WFGWX-YVC9B-4J6C9-T83GX")
    assert edition is not None
    assert "W269N" not in repr(edition)
    assert "W269N" not in str(edition)
    assert "W269N" not in repr(CATALOG)


def test_catalog_iterates_its_editions() -> None:
    assert tuple(CATALOG) == EDITIONS
    assert repr(CATALOG) == "<Catalog of 130 editions>"


def test_catalog_refuses_two_editions_with_one_name_or_key() -> None:
    first, second = EDITIONS[:2]
    with pytest.raises(errors.InvalidComponent) as caught:
        Catalog((first, second, first))
    assert caught.value.text == "editions[2].name"
    renamed = Edition("Another name", second.family, second.release, first.gvlk)
    with pytest.raises(errors.InvalidComponent) as caught:
        Catalog((first, second, renamed))
    assert caught.value.text == "editions[2].gvlk"
    assert "already the GVLK of editions[0]" in str(caught.value)


def test_edition_without_gvlk(tmp_path: pathlib.Path) -> None:
    document = _valid()
    document["editions"][1]["gvlk"] = None
    catalog = Catalog.from_file(_write(tmp_path, document))
    assert catalog.editions()[1].gvlk is None
    with pytest.raises(errors.InvalidComponent) as caught:
        catalog.gvlk_for(catalog.editions()[1])
    assert caught.value.reason == "has no published GVLK"
    assert catalog.edition_of("NPPR9-FWDCX-D2C8J-H872K-2YT43") is None


# --- strict loading ---------------------------------------------------------------------


def _valid() -> dict[str, Any]:
    return {
        "format": "mak-catalog",
        "schema_version": 1,
        "sources": {"WSD-keys": WSD_KEYS},
        "editions": [
            {
                "name": "Windows 11 Pro / Windows 10 Pro",
                "family": "windows-client",
                "release": "Windows 10/11",
                "gvlk": "W269N-WFGWX-YVC9B-4J6C9-T83GX",
                "source": "WSD-keys",
            },
            {
                "name": "Windows 11 Enterprise / Windows 10 Enterprise",
                "family": "windows-client",
                "release": "Windows 10/11",
                "gvlk": "NPPR9-FWDCX-D2C8J-H872K-2YT43",
                "source": "WSD-keys",
            },
        ],
    }


def _write(tmp_path: pathlib.Path, document: object) -> pathlib.Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _set(path: str, value: object) -> Callable[[dict[str, Any]], object]:
    """Return a change to a document that sets (or, with ``...``, deletes) *path*."""
    *parents, last = path.split(".")

    def change(document: dict[str, Any]) -> object:
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        key: Any = int(last) if last.isdigit() else last
        if value is ...:
            del target[key]
        else:
            target[key] = value
        return document

    return change


def _second_copy_of_first(document: dict[str, Any]) -> object:
    document["editions"][1]["gvlk"] = document["editions"][0]["gvlk"]
    return document


def _second_name_of_first(document: dict[str, Any]) -> object:
    document["editions"][1]["name"] = document["editions"][0]["name"]
    return document


def _as_array(document: dict[str, Any]) -> object:
    return [document]


BAD_DOCUMENTS: list[tuple[Callable[[dict[str, Any]], object], type[errors.ValidationError], str, str]] = [
    # (change, error, path, words in the message)
    (_as_array, errors.InvalidFormat, "$", "expected an object, got an array"),
    (_set("format", "mak-exchange"), errors.InvalidFormat, "format", "expected 'mak-catalog'"),
    (_set("format", ...), errors.InvalidFormat, "format", "missing"),
    (_set("schema_version", 2), errors.InvalidComponent, "schema_version", "not supported"),
    (_set("schema_version", True), errors.InvalidFormat, "schema_version", "a boolean"),
    (_set("schema_version", "1"), errors.InvalidFormat, "schema_version", "a string"),
    (_set("schema_version", ...), errors.InvalidFormat, "schema_version", "missing"),
    (_set("sources", ...), errors.InvalidFormat, "sources", "missing"),
    (_set("editions", ...), errors.InvalidFormat, "editions", "missing"),
    (_set("comment", "hi"), errors.InvalidFormat, "comment", "not a key"),
    (_set("sources", []), errors.InvalidFormat, "sources", "expected an object"),
    (_set("sources.WSD-keys", 3), errors.InvalidFormat, "sources.WSD-keys", "expected a string"),
    (_set("editions", {}), errors.InvalidFormat, "editions", "expected an array"),
    (_set("editions.1", "W269N"), errors.InvalidFormat, "editions[1]", "expected an object"),
    (_set("editions.1.gvlk", ...), errors.InvalidFormat, "editions[1].gvlk", "missing"),
    (_set("editions.0.notes", "x"), errors.InvalidFormat, "editions[0].notes", "not a key"),
    (_set("editions.1.family", "windows-phone"), errors.InvalidComponent, "editions[1].family", "unknown family"),
    (_set("editions.1.family", "Office"), errors.InvalidComponent, "editions[1].family", "unknown family"),
    (_set("editions.0.name", " "), errors.InvalidFormat, "editions[0].name", "empty"),
    (_set("editions.0.name", 7), errors.InvalidFormat, "editions[0].name", "a number"),
    (_set("editions.0.release", None), errors.InvalidFormat, "editions[0].release", "null"),
    (_set("editions.0.source", "OFF"), errors.InvalidComponent, "editions[0].source", "not one of"),
    (_set("editions.0.gvlk", 3311), errors.InvalidFormat, "editions[0].gvlk", "a number"),
    (_set("editions.0.gvlk", "W269N-WFGWX-YVC9B-4J6C9-T83GY"), errors.InvalidFormat, "editions[0].gvlk", "'XXXXX-XXXXX-XXXXX-XXXXX-T83GY': checksum"),
    (_set("editions.1.gvlk", "NPPR9-FWDCX-D2C8J-H872K"), errors.InvalidFormat, "editions[1].gvlk", "has 20 symbols"),
    (_set("editions.1.gvlk", "NPPR9-FWDCX-D2C8J-H872K-2YT4A"), errors.InvalidFormat, "editions[1].gvlk", "not a key symbol"),
    (_second_copy_of_first, errors.InvalidComponent, "editions[1].gvlk", "already the GVLK of editions[0]"),
    (_second_name_of_first, errors.InvalidComponent, "editions[1].name", "already the name of editions[0]"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "error", "path", "words"), BAD_DOCUMENTS, ids=[row[2] for row in BAD_DOCUMENTS]
)
def test_bad_document(
    tmp_path: pathlib.Path,
    change: Callable[[dict[str, Any]], object],
    error: type[errors.ValidationError],
    path: str,
    words: str,
) -> None:
    file = _write(tmp_path, change(copy.deepcopy(_valid())))
    with pytest.raises(error) as caught:
        Catalog.from_file(file)
    assert type(caught.value) is error  # not a subclass such as InvalidChecksum
    assert caught.value.kind == "catalog"
    assert caught.value.text == path
    message = str(caught.value)
    assert message.startswith(f"Invalid catalog: {path!r} (")
    assert words in message
    for key in ("W269N-WFGWX-YVC9B", "NPPR9-FWDCX-D2C8J"):  # keys stay masked
        assert key not in message
        assert key.replace("-", "") not in message


BAD_FILES = [
    (b"", "not JSON"),
    (b"{'format': 'mak-catalog'}", "not JSON: Expecting property name"),
    (b'{"format": "mak-catalog", "format": "mak-catalog"}', "'format' appears twice"),
    (b'{"format": "mak-catalog\xff"}', "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
]


@pytest.mark.parametrize(("raw", "words"), BAD_FILES, ids=[row[1] for row in BAD_FILES])
def test_bad_file(tmp_path: pathlib.Path, raw: bytes, words: str) -> None:
    path = tmp_path / "catalog.json"
    path.write_bytes(raw)
    with pytest.raises(errors.InvalidFormat) as caught:
        Catalog.from_file(path)
    assert caught.value.text == str(path)
    assert words in str(caught.value)


def test_file_at_the_size_limit_loads(tmp_path: pathlib.Path) -> None:
    raw = json.dumps(_valid()).encode()
    path = tmp_path / "catalog.json"
    path.write_bytes(raw + b" " * (MAX_FILE_BYTES - len(raw)))
    assert len(Catalog.from_file(path)) == 2


def test_larger_file_is_refused_before_it_is_read(tmp_path: pathlib.Path) -> None:
    raw = json.dumps(_valid()).encode()
    path = tmp_path / "catalog.json"
    path.write_bytes(raw + b" " * (MAX_FILE_BYTES + 1 - len(raw)))
    with pytest.raises(errors.InvalidFormat, match="larger than"):
        Catalog.from_file(path)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as stream:
        stream.truncate(1 << 30)  # 1 GiB, sparse: costs no disk, only the first 5 MB are read
    with pytest.raises(errors.InvalidFormat) as caught:
        Catalog.from_file(huge)
    assert caught.value.text == str(huge)


def test_missing_file_raises_os_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError):
        Catalog.from_file(tmp_path / "absent.json")


def test_a_catalog_round_trips_through_the_converter_under_public_names() -> None:
    from mak.serialization import make_converter  # noqa: PLC0415

    converter = make_converter()
    data = converter.unstructure(CATALOG)
    assert list(data) == ["editions"]
    assert data["editions"][0]["gvlk"] == "TVRH6-WHNXV-R9WG3-9XRFY-MY832"
    assert converter.structure(data, Catalog) == CATALOG


@pytest.mark.parametrize(
    ("build", "text"),
    [
        (lambda: Catalog((1,)), "editions[0]"),  # type: ignore[arg-type]
        (lambda: Edition(123, ProductFamily.OFFICE, "Office 2019"), "<int>"),  # type: ignore[arg-type]
        (lambda: Edition("Word", "office", "Office 2019"), "<str>"),  # type: ignore[arg-type]
        (lambda: CATALOG.editions("office"), "<str>"),  # type: ignore[arg-type]
    ],
    ids=["catalog-item", "edition-name", "edition-family", "editions-family"],
)
def test_wrong_types_raise_mak_errors(build: Any, text: str) -> None:
    with pytest.raises(errors.InvalidFormat) as caught:
        build()
    assert caught.value.text == text
