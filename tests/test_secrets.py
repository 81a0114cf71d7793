"""No product key reaches a message, wherever a key is given by mistake.

The key module masks its own input; every other parser quotes its input when it refuses
it. A key pasted in the wrong place (an ID field, a code, a catalog file, a converter
document) must still never show, in the message, the error's attributes, its chained
exceptions or the command line's output.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from typing import TYPE_CHECKING

import attrs
import pytest

from mak import codes, errors, ids, keys, slmgr
from mak.catalog import Catalog
from mak.cli import main
from mak.demo import run_demo
from mak.errors import MakError, NotFound, TransportError, redact
from mak.lifecycle import KeyChannel, LicenseStatus
from mak.serialization import make_converter

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

KEY = "NPPR9-FWDCX-D2C8J-H872K-2YT43"
SECRET_GROUPS = KEY.split("-")[:4]  # the fifth is the partial key Windows shows
TYPO = KEY[:-1] + "4"  # fails the checksum


def spellings(key: str) -> list[str]:
    return [key, key.lower(), key.replace("-", ""), key.replace("-", " ")]


def leaked(text: str) -> list[str]:
    compact = text.upper().replace("-", "").replace(" ", "")
    found = [group for group in SECRET_GROUPS if group in compact]
    return found or ([KEY] if KEY.replace("-", "") in compact else [])


def everything_said(error: BaseException) -> Iterator[str]:
    """Every text an error carries: message, repr, attributes, notes, chained errors."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield from (repr(arg) for arg in current.args)
        yield from (repr(value) for value in vars(current).values())
        yield from getattr(current, "__notes__", [])
        pending += [current.__cause__, current.__context__]
        pending += list(getattr(current, "exceptions", ()))


def assert_nothing_leaks(action: Callable[[], object]) -> None:
    with pytest.raises(MakError) as info:
        action()
    for text in everything_said(info.value):
        assert not leaked(text), text


def write_catalog(tmp_path: Path, **changes: object) -> Path:
    entry = {
        "name": "Edition",
        "family": "windows-client",
        "release": "Windows 10/11",
        "gvlk": "W269N-WFGWX-YVC9B-4J6C9-T83GX",
        "source": "WSD-keys",
    }
    document = {
        "format": "mak-catalog",
        "schema_version": 1,
        "sources": {"WSD-keys": "https://learn.microsoft.com/"},
        "editions": [{**entry, **changes}],
    }
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(document))
    return path


@attrs.frozen
class Record:
    channel: KeyChannel
    status: LicenseStatus
    count: int


WRONG_PLACES: dict[str, Callable[[str], object]] = {
    "key typo": lambda text: keys.ProductKey.parse(text[:-1] + "4"),
    "key cut short": lambda text: keys.ProductKey.parse(text[:-6]),
    "key one too long": lambda text: keys.ProductKey.parse(text + "B"),
    "key validate": lambda text: keys.validate(text[:-1] + "4"),
    "key format": lambda text: keys.format(text + "B"),
    "installation ID": ids.InstallationId.parse,
    "confirmation ID": ids.ConfirmationId.parse,
    "validate IID": ids.validate_installation_id,
    "format CID": ids.format_confirmation_id,
    "activation code": codes.lookup,
    "batch code": codes.from_batch_service,
    "license status": LicenseStatus.from_slmgr,
    "key channel": KeyChannel.from_product_key_channel,
    "slmgr /dlv transcript": lambda text: slmgr.parse_dlv(
        f"Installed product key {text} successfully."
    ),
    "slmgr /xpr": slmgr.parse_xpr,
    "catalog gvlk_for": lambda text: Catalog.default().gvlk_for(text),
    "catalog edition_of typo": lambda text: Catalog.default().edition_of(text[:-1] + "4"),
    "converter key as enum": lambda text: make_converter().structure(
        {"channel": text, "status": 1, "count": 1}, Record
    ),
    "converter key as dict key": lambda text: make_converter().structure(
        {text: "x"}, dict[str, int]
    ),
    "converter extra field named by a key": lambda text: make_converter().structure(
        {"channel": "Volume:MAK", "status": 1, "count": 1, text: 1}, Record
    ),
    "transport error": lambda text: (_ for _ in ()).throw(TransportError(f"refused {text}")),
    "not found": lambda text: (_ for _ in ()).throw(NotFound("product key", text)),
}


@pytest.mark.parametrize("spelling", spellings(KEY), ids=["dashed", "lower", "bare", "spaced"])
@pytest.mark.parametrize("place", WRONG_PLACES.values(), ids=WRONG_PLACES.keys())
def test_a_key_in_the_wrong_place_never_shows(
    place: Callable[[str], object], spelling: str
) -> None:
    assert_nothing_leaks(lambda: place(spelling))


@pytest.mark.parametrize(
    "changes",
    [{"family": KEY}, {"source": KEY}, {"gvlk": TYPO}, {KEY: 1}, {"name": 7, "release": KEY}],
    ids=["family", "source", "bad gvlk", "field name", "release"],
)
def test_a_key_in_a_catalog_file_never_shows(tmp_path: Path, changes: dict[str, object]) -> None:
    path = write_catalog(tmp_path, **changes)
    assert_nothing_leaks(lambda: Catalog.from_file(path))


@pytest.mark.parametrize(
    "argv",
    [
        ["key", "check", TYPO],
        ["key", "check", KEY[:-6]],
        ["iid", "check", KEY],
        ["cid", "check", KEY],
        ["code", KEY],
        ["key", "check", KEY],
    ],
)
def test_the_command_line_never_prints_a_key(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    main(argv, stdin=io.StringIO())
    out, err = capsys.readouterr()
    assert not leaked(out)
    assert not leaked(err)


def test_attrs_asdict_of_a_record_keeps_the_key_masked() -> None:
    @attrs.frozen
    class Holder:
        key: keys.ProductKey

    data = attrs.asdict(Holder(keys.ProductKey.parse(KEY)))
    assert not leaked(repr(data))
    assert data["key"].reveal() == KEY


def test_a_key_in_a_catalog_file_that_is_not_json_never_shows(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text('{"editions": ["' + KEY + '"')  # cut off: JSONDecodeError holds the text
    assert_nothing_leaks(lambda: Catalog.from_file(path))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {KEY} failed", "key XXXXX-XXXXX-XXXXX-XXXXX-XXXXX failed"),
        (f"cut at {KEY[:20]}", "cut at XXXXX-XXXXX-XXXXX-H8"),
        ("IID 1234565-1234565-1234565", "IID 1234565-1234565-1234565"),
        ("SKU 55c92734-d682-4d71-983e-d6ec3f16059f", "SKU 55c92734-d682-4d71-983e-d6ec3f16059f"),
        ("already XXXXX-XXXXX-XXXXX-XXXXX-2YT43", "already XXXXX-XXXXX-XXXXX-XXXXX-2YT43"),
        (f"lower {KEY.lower()}", "lower XXXXX-XXXXX-XXXXX-XXXXX-XXXXX"),
        ("dashes " + KEY.replace("-", "\u2013"), "dashes " + "\u2013".join(["XXXXX"] * 5)),
        ("kelvin \u212a\u212aBCDFGHJM", "kelvin XXXXXXXXXX"),  # KELVIN SIGN folds to k
        ("confirmation ID acquired", "confirmation ID acquired"),
        ("", ""),
    ],
)
def test_redaction_masks_key_groups_and_leaves_words_and_ids(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_the_quick_test_for_keys_misses_no_key_symbol() -> None:
    every_character = "".join(map(chr, range(sys.maxunicode + 1)))
    symbols = set(errors._SYMBOL.findall(every_character))  # pyright: ignore[reportPrivateUsage]  # the classes compared
    any_case = set(re.findall(errors._ANY_CASE_SYMBOL, every_character))  # pyright: ignore[reportPrivateUsage]  # the classes compared
    assert "\u212a" in symbols  # case folding the quick test must not miss
    assert symbols <= any_case  # so it never skips text the masking would change


# --- what the demo shows and logs ----------------------------------------------------------

_KEY_SHAPE = re.compile(r"\b[0-9A-Z]{5}(?:-[0-9A-Z]{5}){4}\b")


def test_the_demo_prints_and_logs_no_key_but_published_gvlks(tmp_path: Path) -> None:
    """Every key-shaped text in the demo's output and log is masked, or a published GVLK."""
    published = {str(e.gvlk.reveal()) for e in Catalog.default().editions() if e.gvlk}
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(f"{record.getMessage()} {vars(record)!r}")

    logger = logging.getLogger("mak")
    handler, level = Keep(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        out = io.StringIO()
        assert run_demo(computers=30, db=str(tmp_path / "demo.sqlite"), seed=4, out=out) == 0
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    said = out.getvalue() + "\n".join(records)
    shapes = _KEY_SHAPE.findall(said)
    assert shapes  # the demo does show keys, masked
    shown = {s for s in shapes if not s.startswith("XXXXX-XXXXX-XXXXX-XXXXX-")}
    assert shown <= published
