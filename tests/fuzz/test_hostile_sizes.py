"""Huge hostile input: every parser refuses 10 MB in linear time and bounded memory.

Each parser and loader gets strings of several hostile shapes at 1 MB and 10 MB: runs of
key symbols, of digits, of separators, of non-ASCII characters, of one repeated line,
unclosed brackets, deep nesting. Every one must be refused with a
:class:`~mak.errors.ValidationError`: at 10 MB within half a second (the best of three
runs, so a busy CI machine does not decide; the parsers take a few tens of milliseconds),
and in at most 20 times what 1 MB takes, plus 0.1 s for caches and page faults, which a
quadratic scan or a backtracking regex cannot do. :mod:`tracemalloc` measures memory: the
peak while refusing 10 MB stays within 4 times the input's own size.

Valid JSON made of millions of tiny values is the exception the format forces: the
standard library's parser builds the whole tree before mak can look at it, at up to 25
bytes per byte read. The size limits bound that cost (:data:`mak.exchange.
MAX_DOCUMENT_BYTES`, :data:`mak.catalog.MAX_FILE_BYTES`); it is checked for linearity at
0.5 and 5 MB, and against its own bound. Run by the ``property`` and ``fuzz`` sessions.
"""

from __future__ import annotations

import gc
import json
import math
import sys
import time
import tracemalloc
from typing import TYPE_CHECKING

import pytest

from mak import codes, exchange, slmgr
from mak.catalog import MAX_FILE_BYTES, Catalog
from mak.errors import ValidationError
from mak.ids import ConfirmationId, InstallationId
from mak.keys import ProductKey
from mak.kms import KmsEndpoint, srv_record

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.property

MB = 1024 * 1024
LARGE = 10 * MB
SMALL = MB
SECONDS = 0.5  # for 10 MB; the fixed parsers take a few tens of milliseconds
GROWTH = 20  # 10 times the input may take at most 20 times as long ...
NOISE = 0.1  # ... plus this: at 10 MB, caches, page faults and the collector weigh in
MEMORY = 4  # peak bytes allocated while refusing, per byte of the input's own size

Shape = tuple[str, "Callable[[int], str]"]


def repeat(unit: str, *, head: str = "", tail: str = "") -> Callable[[int], str]:
    """A text of about *size* characters: *unit* repeated between *head* and *tail*."""

    def build(size: int) -> str:
        return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail

    return build


KEY = "W269N-WFGWX-YVC9B-4J6C9-T83GX"  # a published GVLK (domain-facts §7)

PARSERS: dict[str, tuple[Callable[[str], object], list[Shape]]] = {
    "ProductKey.parse": (
        ProductKey.parse,
        [
            ("key symbols", repeat("B")),
            ("symbols and hyphens", repeat("b-")),
            ("a key repeated", repeat(KEY + "-")),
            ("vowels", repeat("a")),
            ("accented letters", repeat("\u00e9")),
            ("emoji", repeat("\U0001f600")),
            ("en dashes", repeat("\u2013")),
            ("a key and a bad last symbol", repeat(" ", head=KEY[:-1], tail="!")),
        ],
    ),
    "InstallationId.parse": (
        InstallationId.parse,
        [
            ("digits", repeat("1")),
            ("digits and hyphens", repeat("1-")),
            ("digits and spaces", repeat("1 ")),
            ("Arabic-Indic digits", repeat("\u0663")),
            ("a letter at the end", repeat("1", tail="x")),
        ],
    ),
    "ConfirmationId.parse": (
        ConfirmationId.parse,
        [("digits", repeat("7")), ("hyphens", repeat("-")), ("fullwidth", repeat("\uff17"))],
    ),
    "codes.lookup": (
        codes.lookup,
        [
            ("hex digits", repeat("F")),
            ("0x and hex digits", repeat("f", head="0x")),
            ("leading zeros and too big", repeat("0", head="0x", tail="100000000")),
            ("spaces between digits", repeat("0 ")),
            ("decimal digits", repeat("\u0663")),
        ],
    ),
    "KmsEndpoint.parse": (
        KmsEndpoint.parse,
        [
            ("letters", repeat("a")),
            ("labels", repeat("a.")),
            ("a long port", repeat("0", head="kms.example:")),
            ("colons in brackets", repeat(":", head="[", tail="]")),
            ("IPv6 groups in brackets", repeat("1:", head="[", tail="1]")),
            ("IPv4 tail in brackets", repeat("1.", head="[::ffff:", tail="1]")),
            ("unclosed bracket", repeat("a", head="[")),
            ("brackets", repeat("[")),
        ],
    ),
    "srv_record": (
        srv_record,
        [("letters", repeat("a")), ("labels", repeat("a.")), ("dots", repeat("1."))],
    ),
    "slmgr.parse_dlv": (
        slmgr.parse_dlv,
        [
            ("blank lines", repeat("\n")),
            ("one long line", repeat("x")),
            ("labels of no product", repeat("Current count: 1\n")),
            ("a KMS value of 10 MB", repeat("1", head="Current count: ")),
        ],
    ),
    "slmgr.parse_dli": (slmgr.parse_dli, [("CRLF", repeat("\r\n")), ("colons", repeat(":"))]),
    "slmgr.parse_xpr": (
        slmgr.parse_xpr,
        [("names without sentences", repeat("x:\n")), ("line separators", repeat("\u2028"))],
    ),
    "exchange.loads": (
        exchange.loads,
        [
            ("not JSON", repeat("a")),
            ("open arrays", repeat("[")),
            ("open objects", repeat('{"a":')),
            ("a string", repeat("a", head='"', tail='"')),
            ("a number", repeat("9")),
            ("a document with a huge field", repeat("a", head='{"format": "mak-exchange", "schema_version": 1, "producer": "', tail='"}')),
            ("a truncated document", repeat('"x",', head='{"format": "mak-exchange", "schema_version": 1, "computers": [')),
            ("whitespace", repeat(" ")),
        ],
    ),
}  # fmt: skip

CASES = [
    pytest.param(parse, build, id=f"{name}-{shape}")
    for name, (parse, shapes) in PARSERS.items()
    for shape, build in shapes
]


def refusal_seconds(parse: Callable[[str], object], text: str, *, runs: int = 3) -> float:
    """The fastest of *runs* refusals of *text*; fails the test if *text* is accepted."""
    best = math.inf
    for _ in range(runs):
        start = time.perf_counter()
        with pytest.raises(ValidationError):
            parse(text)
        best = min(best, time.perf_counter() - start)
    return best


def peak_bytes(parse: Callable[[], object]) -> int:
    """The most memory allocated at once while *parse* runs (and raises)."""
    gc.collect()
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError):
            parse()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("parse", "build"), CASES)
def test_ten_megabytes_are_refused_in_linear_time(
    parse: Callable[[str], object], build: Callable[[int], str]
) -> None:
    small, large = build(SMALL), build(LARGE)
    assert len(large) >= LARGE - 100
    small_seconds = refusal_seconds(parse, small)
    large_seconds = refusal_seconds(parse, large)
    assert large_seconds < SECONDS, f"{len(large):,} characters took {large_seconds:.3f} s"
    assert large_seconds < GROWTH * small_seconds + NOISE, (
        f"1 MB took {small_seconds:.4f} s and 10 MB {large_seconds:.4f} s: not linear"
    )


@pytest.mark.parametrize(("parse", "build"), CASES)
def test_ten_megabytes_are_refused_in_bounded_memory(
    parse: Callable[[str], object], build: Callable[[int], str]
) -> None:
    text = build(LARGE)
    peak = peak_bytes(lambda: parse(text))
    size = sys.getsizeof(text)
    assert peak < MEMORY * size, f"peak {peak:,} bytes for an input of {size:,}"


@pytest.mark.parametrize("parse", [slmgr.parse_dlv, slmgr.parse_dli, slmgr.parse_xpr])
def test_ten_megabytes_of_slmgr_products_are_refused_unread(
    parse: Callable[[str], object],
) -> None:
    # Under the limit this text is a quarter of a million products, each a record.
    text = repeat("Name: x\nx:\nUnlicensed\n")(LARGE)
    assert refusal_seconds(parse, text) < NOISE
    assert peak_bytes(lambda: parse(text)) < MB
    assert len(parse(text[: slmgr.MAX_TEXT_CHARS // 64])) > 1_000


def test_a_ten_megabyte_catalog_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_bytes(b"[" * LARGE)
    start = time.perf_counter()
    with pytest.raises(ValidationError, match="larger than"):
        Catalog.from_file(path)
    assert time.perf_counter() - start < SECONDS
    peak = peak_bytes(lambda: Catalog.from_file(path))
    assert peak < 2 * MAX_FILE_BYTES  # read up to the limit, and not a byte further


def test_a_ten_megabyte_exchange_file_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    path.write_bytes(
        b'{"format": "mak-exchange", "schema_version": 1, "computers": [' * (LARGE // 64)
    )
    start = time.perf_counter()
    with pytest.raises(ValidationError):
        exchange.load(path)
    assert time.perf_counter() - start < SECONDS
    peak = peak_bytes(lambda: exchange.load(path))
    assert peak < MEMORY * path.stat().st_size


# --- valid JSON of millions of tiny values ----------------------------------------------

JSON_BOMBS = {
    "empty objects": "{},",
    "empty arrays": "[],",
    "short strings": '"ab",',
    "floats": "1e9,",
}
JSON_EXPANSION = 32  # what json.loads builds, per byte read, for the worst of these
BOMB = 5 * MB  # the catalog's limit; building 10 MB of these would cost CI seconds more


def bomb(unit: str, size: int) -> str:
    """A document of about *size* characters, valid JSON: its computers, an array of *unit*."""
    body = "[" + unit * (size // len(unit)) + "0]"
    return '{"format": "mak-exchange", "schema_version": 1, "computers": ' + body + "}"


def catalog_bomb(unit: str, size: int) -> bytes:
    body = "[" + unit * (size // len(unit)) + "0]"
    return ('{"format": "mak-catalog", "schema_version": 1, "editions": ' + body + "}").encode()


@pytest.mark.parametrize("unit", JSON_BOMBS.values(), ids=JSON_BOMBS.keys())
def test_a_document_of_tiny_values_is_refused_in_linear_time_and_bounded_memory(
    unit: str,
) -> None:
    small, large = bomb(unit, BOMB // 10), bomb(unit, BOMB)
    assert json.loads(small)  # valid JSON: the parser has to build it all
    small_seconds = refusal_seconds(exchange.loads, small)
    large_seconds = refusal_seconds(exchange.loads, large, runs=1)
    assert large_seconds < GROWTH * small_seconds + NOISE, (
        f"{len(small):,} characters took {small_seconds:.3f} s "
        f"and {len(large):,} took {large_seconds:.3f} s: not linear"
    )
    peak = peak_bytes(lambda: exchange.loads(small))
    assert peak < JSON_EXPANSION * len(small)


@pytest.mark.parametrize("unit", JSON_BOMBS.values(), ids=JSON_BOMBS.keys())
def test_a_catalog_of_tiny_values_is_refused_in_linear_time_and_bounded_memory(
    tmp_path: Path, unit: str
) -> None:
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    small.write_bytes(catalog_bomb(unit, MAX_FILE_BYTES // 10))
    large.write_bytes(catalog_bomb(unit, MAX_FILE_BYTES - 100))
    assert large.stat().st_size <= MAX_FILE_BYTES
    small_seconds = refusal_seconds(Catalog.from_file, str(small))
    large_seconds = refusal_seconds(Catalog.from_file, str(large), runs=1)
    assert large_seconds < GROWTH * small_seconds + NOISE
    peak = peak_bytes(lambda: Catalog.from_file(small))
    assert peak < JSON_EXPANSION * small.stat().st_size
