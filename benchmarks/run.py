"""Parse speed of mak's identifiers against a compiled-regex match of the same strings.

The baseline is what any caller could write in one line: ``re.fullmatch`` of the shape.
mak does more (normalising, decoding, checksums, an object), and the issue sets how much
more it may cost: ProductKey.parse at most 10x the regex (aim 6x), InstallationId and
ConfirmationId parse at most 8x. Both sides run in this process, interleaved, and each
takes the best of several repeats, so the ratio holds on a busy machine.

Run with ``python noxfile.py -s bench`` (or ``python benchmarks/run.py``). Exits 1 when a
ratio is over its limit.
"""

from __future__ import annotations

import os
import re
import sys
import timeit
from typing import TYPE_CHECKING

from mak._checkdigits import group_check_digit
from mak.ids import ConfirmationId, InstallationId
from mak.keys import ProductKey

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

KEYS = [
    "W269N-WFGWX-YVC9B-4J6C9-T83GX",
    "NPPR9-FWDCX-D2C8J-H872K-2YT43",
    "VDYBN-27WPP-V4HQT-9VMD4-VMK7H",
    "TVRH6-WHNXV-R9WG3-9XRFY-MY832",
    "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB",
    "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP",
]
KEY_SHAPE = re.compile(r"[BCDFGHJKMNPQRTVWXY2346789]{5}(?:-[BCDFGHJKMNPQRTVWXY2346789]{5}){4}")


def _with_check_digit(data: str) -> str:
    return data + str(group_check_digit(data))


def _ids(group_count: int, data_digits: int, seed: int) -> list[str]:
    ids = []
    for n in range(seed, seed + 8):
        groups = [
            _with_check_digit(f"{(n * 7919 + g * 104729) % 10**data_digits:0{data_digits}d}")
            for g in range(group_count)
        ]
        ids.append("-".join(groups))
    return ids


IIDS = _ids(9, 6, 1)
CIDS = _ids(8, 5, 2)
IID_SHAPE = re.compile(r"\d{7}(?:-\d{7}){8}")
CID_SHAPE = re.compile(r"\d{6}(?:-\d{6}){7}")


def best_of(function: Callable[[str], object], inputs: Sequence[str]) -> float:
    """Return the best time, in microseconds, of one call over *inputs*."""

    def loop() -> None:
        for text in inputs:
            function(text)

    runs = timeit.repeat(loop, number=2000, repeat=9)
    return min(runs) / (2000 * len(inputs)) * 1e6


def measure(
    name: str,
    subject: Callable[[str], object],
    baseline: Callable[[str], object],
    inputs: Sequence[str],
    *,
    limit: float,
    aim: float | None = None,
) -> bool:
    """Print one benchmark line; return whether the ratio is within *limit*."""
    if not all(baseline(text) for text in inputs):
        raise SystemExit(f"{name}: the baseline regex does not match its inputs")
    base_times, subject_times = [], []
    for _ in range(3):  # interleaved, so both sides see the same machine
        base_times.append(best_of(baseline, inputs))
        subject_times.append(best_of(subject, inputs))
    base, took = min(base_times), min(subject_times)
    ratio = took / base
    verdict = "ok" if ratio <= limit else "OVER LIMIT"
    target = f"limit {limit:g}x" + (f", aim {aim:g}x" if aim else "")
    print(
        f"{name:<26} {took:6.2f} us  regex {base:5.2f} us  ratio {ratio:5.2f}x  ({target}) {verdict}"
    )
    return ratio <= limit


def main() -> int:
    import inventory  # noqa: PLC0415  # benchmarks/ is on sys.path when run as a script
    import proxy  # noqa: PLC0415  # the same

    results = [
        measure("ProductKey.parse", ProductKey.parse, KEY_SHAPE.fullmatch, KEYS, limit=10, aim=6),
        measure("InstallationId.parse", InstallationId.parse, IID_SHAPE.fullmatch, IIDS, limit=8),
        measure("ConfirmationId.parse", ConfirmationId.parse, CID_SHAPE.fullmatch, CIDS, limit=8),
    ]
    results.append(inventory.main())
    results.append(proxy.main([]))  # quick: N = 1,000 and 10,000 (``proxy.py --full`` for 50,000)
    if os.environ.get("MAK_TEST_POSTGRES_URL"):  # a server to measure PostgresInventory on
        import postgres  # noqa: PLC0415  # needs psycopg: only when there is a server

        results.append(postgres.main(["--quick"]))  # ``postgres.py`` alone for full sizes
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
