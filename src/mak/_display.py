"""Markdown for notebooks: what ``_repr_markdown_`` of mak's values returns.

Jupyter shows an object's ``_repr_markdown_`` instead of its ``repr``. The values that
notebooks look at most (a license state, a plan, a batch report, a state machine) render
here as short Markdown tables, so one place decides how mak's values look. Long tables are
cut at :data:`MAX_ROWS` rows with a line saying how many were left out. Keys appear only as
their last five symbols, as everywhere else.

>>> print(table(("name", "value"), [("a|b", None)]))
| name | value |
|---|---|
| a&#124;b | — |
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final

from mak import codes

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from mak.lifecycle import LicenseState
    from mak.manager import BatchReport
    from mak.planning import Plan

MAX_ROWS: Final = 20
"""The most rows a table shows before it says how many more there are."""

_NOTHING: Final = "—"


def cell(value: object) -> str:
    """Return *value* as the text of one table cell: ``—`` for ``None``, one line, no ``|``."""
    if value is None:
        return _NOTHING
    text = value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, dt.datetime) else str(value)
    return " ".join(text.split()).replace("|", "&#124;")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Return a Markdown table of *rows* under *headers*, every cell through :func:`cell`."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


_HEADERS: Final[dict[str, tuple[str, ...]]] = {
    "recommendations": ("machine", "method", "reason"),
    "failures": ("product", "code", "symbol", "detail"),
}


def _cut(rows: Sequence[Sequence[object]], what: str) -> list[str]:
    """Return a table of the first MAX_ROWS *rows*, numbered, and a note on those left out."""
    numbered = [(n, *row) for n, row in enumerate(rows[:MAX_ROWS], 1)]
    shown = [table(("#", *_HEADERS[what]), numbered)]
    if len(rows) > MAX_ROWS:
        shown.append(f"*… and {len(rows) - MAX_ROWS} more {what}.*")
    return shown


def code_text(value: int | None) -> str | None:
    """Return an HRESULT as ``0xC004F00F SL_E_OUT_OF_TOLERANCE``, or ``None``."""
    if value is None:
        return None
    entry = codes.lookup(value)
    return f"{entry.hex} {entry.symbol}"


def license_state(state: LicenseState) -> str:
    """Return a license state as a heading line and a table of its fields."""
    if state.licensed_until is not None:
        until: object = state.licensed_until
    else:
        until = "perpetual" if state.status.name == "LICENSED" else None
    rows: list[tuple[str, object]] = [
        ("status", f"{state.status} ({int(state.status)})"),
        ("channel", state.channel),
        ("partial key", state.partial_key),
        ("method", None if state.method is None else state.method.value),
        ("activated at", state.activated_at),
        ("licensed until", until),
        ("grace ends at", state.grace_ends_at),
        ("reason", code_text(state.reason)),
        ("rearms left", state.rearms_left),
        ("genuine", "yes" if state.genuine else "no"),
    ]
    return f"**LicenseState: {state.status}**\n\n" + table(("field", "value"), rows)


def plan(value: Plan) -> str:
    """Return a plan as its summary, then one row per machine (the first MAX_ROWS)."""
    summary = value.summary()
    counts = table(
        ("method", "machines"),
        [
            ("ADBA", summary.adba),
            ("KMS", summary.kms),
            ("MAK independent", summary.mak_independent),
            ("MAK proxy", summary.mak_proxy),
        ],
    )
    heading = (
        f"**Plan for {summary.total} machines**, using {summary.mak_activations} MAK activations"
    )
    rows = [(r.machine_id, r.method.value, r.reason) for r in value]
    return "\n\n".join([heading, counts, *_cut(rows, "recommendations")])


def batch_report(report: BatchReport) -> str:
    """Return a batch report as a heading line, the counts by outcome, then its failures."""
    seconds = report.elapsed.total_seconds()
    heading = (
        f"**{report.action}**: {len(report)} outcomes, {report.succeeded} ok, "
        f"{report.failed} failed; {report.service_calls} service calls; {seconds:.2f} s"
    )
    symbols = {o.code.hex: o.code.symbol for o in report.failures if o.code is not None}
    counts = table(
        ("outcome", "symbol", "count"),
        [(key, symbols.get(key), n) for key, n in report.counts.items()],
    )
    parts = [heading, counts]
    failures = [
        (
            outcome.product_id,
            None if outcome.code is None else outcome.code.hex,
            None if outcome.code is None else outcome.code.symbol,
            outcome.detail,
        )
        for outcome in report.failures
    ]
    if failures:
        parts += _cut(failures, "failures")
    return "\n\n".join(parts)


def mermaid(text: str) -> str:
    """Return Mermaid *text* as a fenced block, which Jupyter and MyST draw."""
    return f"```mermaid\n{text}\n```"
