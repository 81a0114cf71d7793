"""The hostile-input suite: one example count for every fuzz test, and the figures it ran.

Every test here is marked ``property``, so the gate's ``property`` session runs it once at
the small count CI can afford, and ``python noxfile.py -s fuzz`` runs the same tests at
100,000 examples per parser. ``MAK_FUZZ_EXAMPLES`` sets the count (the fuzz session sets
it); the tests read it through the ``mak-fuzz`` hypothesis profile registered here.

Each test hands every parser call to the ``attempt`` fixture, which lets only a
:class:`~mak.errors.ValidationError` through and counts what each parser accepted and
refused. The counts are printed at the end of the run and, when ``MAK_FUZZ_FIGURES``
names a file, written there as a markdown table (the fuzz session writes
``docs/_generated/fuzz-figures.md``, which the Reliability page quotes).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings

from mak.errors import MakError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

CI_EXAMPLES = 150
"""Examples per test when ``MAK_FUZZ_EXAMPLES`` is not set: what the gate runs."""

EXAMPLES = int(os.environ.get("MAK_FUZZ_EXAMPLES", str(CI_EXAMPLES)))

settings.register_profile(
    "mak-fuzz",
    max_examples=EXAMPLES,
    deadline=None,
    # Documents and 63-digit IDs are large by design, and a fuzz run is long on purpose.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)
HEAVY_SHARE = 10
settings.register_profile(
    "mak-fuzz-heavy",
    parent=settings.get_profile("mak-fuzz"),
    max_examples=max(EXAMPLES // HEAVY_SHARE, 10),
)
"""For properties that import into inventories or run the command line: a tenth as many."""


class Attempts:
    """Calls parsers on hostile input: only a ValidationError may escape, and it is counted."""

    def __init__(self) -> None:
        self.accepted: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self.seconds = 0.0  # spent in this suite's tests, summed over workers
        self.started = time.perf_counter()  # the fuzz session runs this suite alone

    def __call__(
        self,
        parser: str,
        parse: Callable[[], T],
        refusals: tuple[type[MakError], ...] = (ValidationError,),
    ) -> T | None:
        """Return what *parse* returns, or ``None`` when it raises one of *refusals*.

        Any other exception propagates and fails the test: that is the property. A
        refusal must also be fit to log: one line of text that UTF-8 can encode.
        """
        try:
            result = parse()
        except refusals as error:
            refusal = error
        else:
            self.accepted[parser] = self.accepted.get(parser, 0) + 1
            return result
        message = str(refusal)
        message.encode("utf-8")  # a lone surrogate here would break a log handler
        assert "\n" not in message, message
        assert not isinstance(refusal, ValidationError) or message.startswith("Invalid ")
        self.refused[parser] = self.refused.get(parser, 0) + 1
        return None

    def table(self) -> str:
        """The counts as a markdown table, one row per parser, and a total."""
        rows = [
            "| Parser or loader | Inputs tried | Accepted | Refused (a mak error) |",
            "|---|---:|---:|---:|",
        ]
        names = sorted(self.accepted.keys() | self.refused.keys())
        for name in names:
            accepted, refused = self.accepted.get(name, 0), self.refused.get(name, 0)
            rows.append(f"| `{name}` | {accepted + refused:,} | {accepted:,} | {refused:,} |")
        accepted, refused = sum(self.accepted.values()), sum(self.refused.values())
        rows.append(f"| **all** | **{accepted + refused:,}** | {accepted:,} | {refused:,} |")
        return "\n".join(rows)


_ATTEMPTS = Attempts()


@pytest.fixture(scope="session")
def attempt() -> Attempts:
    """The session's :class:`Attempts`: session-scoped, so hypothesis may share it."""
    return _ATTEMPTS


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a pytest-xdist worker, hand the counts to the controller, which adds them up."""
    workeroutput: dict[str, object] | None = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["mak_fuzz_attempts"] = (_ATTEMPTS.accepted, _ATTEMPTS.refused)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: the fuzz session runs workers
def pytest_testnodedown(node: Any, error: object) -> None:  # xdist's signature
    accepted, refused = node.workeroutput.get("mak_fuzz_attempts", ({}, {}))
    for mine, theirs in ((_ATTEMPTS.accepted, accepted), (_ATTEMPTS.refused, refused)):
        for name, count in theirs.items():
            mine[name] = mine.get(name, 0) + count


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.nodeid.startswith("tests/fuzz/"):
        _ATTEMPTS.seconds += report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _ATTEMPTS.accepted and not _ATTEMPTS.refused:
        return
    minutes = _ATTEMPTS.seconds / 60
    run = (time.perf_counter() - _ATTEMPTS.started) / 60
    terminalreporter.section("hostile inputs")
    terminalreporter.write_line(f"{EXAMPLES:,} examples per test; the tests ran {minutes:.1f} min")
    terminalreporter.write_line(_ATTEMPTS.table())
    target = os.environ.get("MAK_FUZZ_FIGURES")
    if target:
        figures = (
            "<!-- Written by `python noxfile.py -s fuzz` (tests/fuzz); do not edit. -->\n\n"
            f"{_ATTEMPTS.table()}\n\n"
            f"Hypothesis ran {EXAMPLES:,} examples per test: a tenth as many for the "
            "properties that import into an inventory or write slmgr output from records, "
            f"a fiftieth for the command line. The run took {run:.0f} minutes.\n"
        )
        Path(target).write_text(figures, encoding="utf-8")
