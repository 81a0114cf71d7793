"""What notebooks show for mak's values: the Markdown of their ``_repr_markdown_``."""

from __future__ import annotations

import datetime as dt

from mak import _display, lifecycle, proxystage
from mak.catalog import ProductFamily
from mak.codes import lookup
from mak.keys import ProductKey
from mak.lifecycle import (
    Activated,
    ActivationMethod,
    HardwareChanged,
    KeyChannel,
    KeyInstalled,
    LicenseState,
    LicenseStatus,
    step,
)
from mak.manager import BatchReport, Outcome
from mak.planning import Connectivity, Machine, recommend
from mak.statetable import Diagram

NOW = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.timezone.utc)
GVLK = ProductKey.parse("NPPR9-FWDCX-D2C8J-H872K-2YT43")


def rows(markdown: str) -> list[list[str]]:
    """The cells of every table row of *markdown*, header and rule lines left out."""
    lines = markdown.splitlines()
    body = [
        line
        for line, after in zip(lines, [*lines[1:], ""], strict=True)
        if line.startswith("| ") and not after.startswith("|---")
    ]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in body]


def test_a_new_license_state_shows_its_status_and_empty_fields() -> None:
    text = LicenseState.new()._repr_markdown_()
    assert text.startswith("**LicenseState: Unlicensed**\n\n| field | value |")
    table = dict(rows(text))
    assert table["status"] == "Unlicensed (0)"
    assert table["partial key"] == table["channel"] == table["licensed until"] == "—"
    assert table["rearms left"] == "1000"
    assert table["genuine"] == "yes"


def test_a_kms_license_state_shows_times_in_utc_and_its_method() -> None:
    state = step(LicenseState.new(), KeyInstalled(GVLK, KeyChannel.GVLK), now=NOW)
    state = step(state, Activated(ActivationMethod.KMS, at=NOW), now=NOW)
    table = dict(rows(state._repr_markdown_()))
    assert table["status"] == "Licensed (1)"
    assert table["channel"] == "Volume:GVLK"
    assert table["partial key"] == "2YT43"
    assert table["method"] == "kms"
    assert table["activated at"] == "2026-01-05 09:30 UTC"
    assert table["licensed until"] == "2026-07-04 09:30 UTC"


def test_a_perpetual_license_says_so_and_a_reason_is_named() -> None:
    perpetual = LicenseState(
        status=LicenseStatus.LICENSED,
        channel=KeyChannel.MAK,
        partial_key="T83GX",
        method=ActivationMethod.MAK_PROXY,
        activated_at=NOW,
    )
    assert dict(rows(perpetual._repr_markdown_()))["licensed until"] == "perpetual"
    changed = step(perpetual, HardwareChanged(beyond_tolerance=True), now=NOW)
    table = dict(rows(changed._repr_markdown_()))
    assert table["status"] == "OOTGrace (3)"
    assert table["reason"] == "0x4004F00D SL_I_OOT_GRACE_PERIOD"


def test_the_full_key_never_appears() -> None:
    state = step(LicenseState.new(), KeyInstalled(GVLK, KeyChannel.GVLK), now=NOW)
    assert GVLK.reveal() not in state._repr_markdown_()


def fleet(count: int, connectivity: Connectivity, prefix: str = "pc") -> list[Machine]:
    return [
        Machine(
            f"{prefix}-{n:03}", ProductFamily.WINDOWS_CLIENT, connectivity, False, "Windows 11"
        )
        for n in range(count)
    ]


def test_a_plan_shows_its_summary_then_one_row_per_machine() -> None:
    lab, home = fleet(2, Connectivity.ISOLATED), fleet(1, Connectivity.INTERNET_ONLY, "home")
    plan = recommend([*lab, *home])
    text = plan._repr_markdown_()
    assert text.startswith("**Plan for 3 machines**, using 3 MAK activations\n\n")
    table = rows(text)
    assert ["MAK proxy", "2"] in table
    assert ["MAK independent", "1"] in table
    assert ["ADBA", "0"] in table
    machine_rows = [row for row in table if len(row) == 4]
    assert [row[:3] for row in machine_rows] == [
        ["1", "pc-000", "mak-proxy"],
        ["2", "pc-001", "mak-proxy"],
        ["3", "home-000", "mak-independent"],
    ]
    assert machine_rows[0][3].startswith("Isolated: no Internet access")


def test_a_long_plan_is_cut_with_a_count_of_the_rest() -> None:
    plan = recommend(fleet(_display.MAX_ROWS + 7, Connectivity.ISOLATED))
    text = plan._repr_markdown_()
    machine_rows = [row for row in rows(text) if len(row) == 4]
    assert len(machine_rows) == _display.MAX_ROWS
    assert machine_rows[0][:3] == ["1", "pc-000", "mak-proxy"]
    assert text.endswith("*… and 7 more recommendations.*")


def report(outcomes: list[Outcome]) -> BatchReport:
    return BatchReport(
        action="proxy_activate",
        outcomes=outcomes,
        elapsed=dt.timedelta(milliseconds=1250),
        service_calls=2,
    )


def test_a_batch_report_shows_counts_by_outcome_with_symbols() -> None:
    limit = lookup(0xC004C020)
    text = report(
        [
            Outcome("p-1", True, None, "licensed"),
            Outcome("p-2", False, limit, "no activations left"),
            Outcome("p-3", False, None, "not in the inventory"),
        ]
    )._repr_markdown_()
    heading = text.splitlines()[0]
    assert heading == ("**proxy_activate**: 3 outcomes, 1 ok, 2 failed; 2 service calls; 1.25 s")
    table = rows(text)
    assert ["ok", "—", "1"] in table
    assert ["0xC004C020", "SL_E_CHPA_DMAK_LIMIT_EXCEEDED", "1"] in table
    assert ["failed", "—", "1"] in table
    assert [
        "1",
        "p-2",
        "0xC004C020",
        "SL_E_CHPA_DMAK_LIMIT_EXCEEDED",
        "no activations left",
    ] in table
    assert ["2", "p-3", "—", "—", "not in the inventory"] in table


def test_a_batch_report_without_failures_has_no_failure_table() -> None:
    text = report([Outcome("p-1", True, None, "licensed")])._repr_markdown_()
    assert "| # | product |" not in text
    assert rows(text) == [["ok", "—", "1"]]


def test_many_failures_are_cut_with_a_count_of_the_rest() -> None:
    failures = [Outcome(f"p-{n}", False, lookup(0xC004F00F), "new hardware") for n in range(30)]
    text = report(failures)._repr_markdown_()
    assert text.endswith("*… and 10 more failures.*")
    assert ["0xC004F00F", "SL_E_OUT_OF_TOLERANCE", "30"] in rows(text)


def test_cells_stay_on_one_line_and_escape_pipes() -> None:
    text = report([Outcome("p|1", False, None, "two\nlines")])._repr_markdown_()
    assert ["1", "p&#124;1", "—", "—", "two lines"] in rows(text)


def test_the_lifecycle_diagram_draws_in_notebooks() -> None:
    drawing = lifecycle.diagram(highlight=LicenseStatus.OOT_GRACE)
    assert isinstance(drawing, Diagram)
    assert str(drawing) == lifecycle.to_mermaid(highlight=LicenseStatus.OOT_GRACE)
    markdown = drawing._repr_markdown_()
    assert markdown.startswith("```mermaid\nstateDiagram-v2\n")
    assert markdown.endswith("    class OOT_GRACE current\n```")


def test_a_state_table_shows_its_diagram_and_its_transitions() -> None:
    markdown = proxystage.PROXY._repr_markdown_()
    drawing, table = markdown.split("\n```\n\n")
    assert drawing == "```mermaid\n" + proxystage.to_mermaid()
    assert table == proxystage.transition_table_markdown()
