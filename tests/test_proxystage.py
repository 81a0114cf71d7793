"""The proxy-activation stage (issue 6): every (stage, event) cell, the snapshot, persistence.

The expected outcome of each cell is written out below as data, from the issue's rules —
not read from ``PROXY_TRANSITIONS`` — and then checked against both ``advance_stage`` and
``allowed_events``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import attrs
import pytest

from mak import lifecycle
from mak.adapters import InMemoryInventory, SqliteInventory
from mak.catalog import ProductFamily
from mak.errors import ConcurrencyConflict, IllegalTransition, InvalidComponent, InvalidFormat
from mak.ids import ConfirmationId, InstallationId
from mak.model import Computer, Product
from mak.proxystage import (
    PROXY,
    PROXY_TRANSITIONS,
    CidAcquired,
    CidDeposited,
    Exported,
    HardwareReplaced,
    IidCollected,
    ProxyEvent,
    ProxyProgress,
    ProxyStage,
    Reimaged,
    Retried,
    StageFailed,
    StageKeyInstalled,
    advance_stage,
    allowed_events,
    to_dot,
    to_mermaid,
    transition_table_markdown,
    validate_table,
)
from mak.serialization import make_converter
from mak.testing import make_product

D = ProxyStage.DISCOVERED
K = ProxyStage.KEY_INSTALLED
I = ProxyStage.IID_COLLECTED  # noqa: E741  # one letter a stage, as in the module
E = ProxyStage.EXPORTED
A = ProxyStage.CID_ACQUIRED
P = ProxyStage.CID_DEPOSITED
F = ProxyStage.FAILED
WORKING = (D, K, I, E, A)

CODE = 0xC004C020  # MAK limit exceeded
GENERATED = Path(__file__).parent.parent / "docs" / "_generated"
GUID = "b92e9980-b9d5-4821-9c94-140f632f6312"
IID = InstallationId.parse("1234565" * 9)
CID = ConfirmationId.parse("123450" * 8)

EVENTS: tuple[ProxyEvent, ...] = (
    StageKeyInstalled(),
    IidCollected(),
    Exported(),
    CidAcquired(),
    CidDeposited(),
    StageFailed(CODE),
    Retried(),
    Reimaged(),
    HardwareReplaced(),
)


def at(stage: ProxyStage) -> ProxyProgress:
    return ProxyProgress(stage=stage)


def failed(in_stage: ProxyStage, code: int = CODE) -> ProxyProgress:
    return ProxyProgress(stage=F, failed_at=in_stage, code=code)


# Every snapshot a cell can start from: one per stage, and a failure for each working stage.
STARTS = (*(at(stage) for stage in ProxyStage if stage is not F), *(failed(s) for s in WORKING))

# --- the expected table, written out ------------------------------------------------------

LEGAL: list[tuple[ProxyProgress, ProxyEvent, ProxyProgress]] = [
    # The steps in order; an isolated lab exports the IID first, and may export it again.
    (at(D), StageKeyInstalled(), at(K)),
    (at(K), IidCollected(), at(I)),
    (at(I), Exported(), at(E)),
    (at(E), Exported(), at(E)),
    (at(I), CidAcquired(), at(A)),
    (at(E), CidAcquired(), at(A)),
    (at(A), CidDeposited(), at(P)),
    # Each working step can fail, remembering where; a deposited product has no step left.
    (at(D), StageFailed(CODE), failed(D)),
    (at(K), StageFailed(CODE), failed(K)),
    (at(I), StageFailed(CODE), failed(I)),
    (at(E), StageFailed(CODE), failed(E)),
    (at(A), StageFailed(CODE), failed(A)),
    # A retry resumes exactly the stage that failed, with the failure forgotten.
    (failed(D), Retried(), at(D)),
    (failed(K), Retried(), at(K)),
    (failed(I), Retried(), at(I)),
    (failed(E), Retried(), at(E)),
    (failed(A), Retried(), at(A)),
    # A reimage or new hardware starts over from anywhere.
    *((start, Reimaged(), at(D)) for start in STARTS),
    *((start, HardwareReplaced(), at(D)) for start in STARTS),
]

ILLEGAL = [
    (start, event)
    for start in STARTS
    for event in EVENTS
    if not any(start == s and event == e for s, e, _ in LEGAL)
]


def _cell_id(value: object) -> str:
    if isinstance(value, ProxyProgress):
        return value.stage.name + (f"@{value.failed_at.name}" if value.failed_at else "")
    return type(value).__name__


def test_every_cell_is_decided() -> None:
    # 6 stages and a failure in each of 5 working stages, times 9 events.
    assert len(STARTS) == 11
    assert len(LEGAL) + len(ILLEGAL) == 11 * 9
    assert len({(s, e) for s, e, _ in LEGAL}) == len(LEGAL)


@pytest.mark.parametrize(("start", "event", "expected"), LEGAL, ids=_cell_id)
def test_a_legal_cell_gives_exactly_this_snapshot(
    start: ProxyProgress, event: ProxyEvent, expected: ProxyProgress
) -> None:
    assert advance_stage(start, event) == expected
    assert type(event).__name__ in allowed_events(start.stage)


@pytest.mark.parametrize(("start", "event"), ILLEGAL, ids=_cell_id)
def test_an_illegal_cell_is_refused(start: ProxyProgress, event: ProxyEvent) -> None:
    with pytest.raises(IllegalTransition) as caught:
        advance_stage(start, event)
    assert caught.value.status is start.stage
    assert caught.value.event is event
    assert caught.value.code is None
    assert type(event).__name__ not in allowed_events(start.stage)


def test_allowed_events_match_the_expected_table() -> None:
    for stage in ProxyStage:
        expected = {type(e).__name__ for s, e, _ in LEGAL if s.stage is stage}
        assert allowed_events(stage) == expected, stage


def test_the_refusal_names_the_event_and_the_stage() -> None:
    with pytest.raises(IllegalTransition, match=r"^Can't CidAcquired when CID acquired$"):
        advance_stage(at(A), CidAcquired())  # a stored CID is never asked for twice


# --- whole runs -----------------------------------------------------------------------------


def run(progress: ProxyProgress, *events: ProxyEvent) -> ProxyProgress:
    for event in events:
        progress = advance_stage(progress, event)
    return progress


def test_online_and_air_gapped_runs_end_deposited() -> None:
    online = (StageKeyInstalled(), IidCollected(), CidAcquired(), CidDeposited())
    air_gapped = (StageKeyInstalled(), IidCollected(), Exported(), Exported(), CidAcquired())
    assert run(ProxyProgress.new(), *online) == at(P)
    assert run(ProxyProgress.new(), *air_gapped, CidDeposited()) == at(P)


def test_a_failed_deposit_resumes_at_deposit_not_at_acquisition() -> None:
    acquired = run(ProxyProgress.new(), StageKeyInstalled(), IidCollected(), CidAcquired())
    broken = advance_stage(acquired, StageFailed(-1073418191))  # 0xC004F031, signed
    assert broken == failed(A, 0xC004F031)
    resumed = advance_stage(broken, Retried())
    assert resumed == at(A)
    assert "CidAcquired" not in allowed_events(resumed.stage)
    assert advance_stage(resumed, CidDeposited()) == at(P)


def test_a_deposited_product_starts_over_only_after_a_reimage_or_new_hardware() -> None:
    assert allowed_events(P) == {"Reimaged", "HardwareReplaced"}
    assert advance_stage(at(P), Reimaged()) == ProxyProgress.new()
    assert advance_stage(at(P), HardwareReplaced()) == ProxyProgress.new()


# --- the table and its drawings -----------------------------------------------------------


def test_the_table_validates() -> None:
    validate_table()  # raises when unsound
    assert PROXY.transitions is PROXY_TRANSITIONS
    assert PROXY.initial is D
    assert PROXY.states == tuple(ProxyStage)


def test_only_retried_is_guarded_one_guard_per_resumed_stage() -> None:
    guarded = [t for t in PROXY_TRANSITIONS if t.guard is not None]
    assert {(t.source, t.event) for t in guarded} == {(F, "Retried")}
    assert [t.target for t in guarded] == list(WORKING)
    assert [t.guard for t in guarded] == [f"failed in {stage}" for stage in WORKING]


def test_the_labels_are_for_people() -> None:
    labels = [str(stage) for stage in ProxyStage]
    assert labels == [
        "Discovered",
        "Key installed",
        "IID collected",
        "Exported",
        "CID acquired",
        "CID deposited",
        "Failed",
    ]


def test_the_committed_mermaid_is_the_table_today() -> None:
    assert (GENERATED / "proxy.mmd").read_text() == to_mermaid() + "\n"
    assert (GENERATED / "proxy-table.md").read_text() == transition_table_markdown() + "\n"


def test_drawings_show_every_transition() -> None:
    mermaid, dot, table = to_mermaid(), to_dot(), transition_table_markdown()
    assert '    state "IID collected" as IID_COLLECTED' in mermaid
    assert "    FAILED --> CID_ACQUIRED: Retried [failed in CID acquired]" in mermaid
    assert '    EXPORTED -> CID_ACQUIRED [label="CidAcquired"];' in dot
    assert "| Failed | Retried | failed in Key installed | Key installed |" in table
    assert len(table.splitlines()) == 2 + len(PROXY_TRANSITIONS)


def test_mermaid_highlights_a_stage_and_refuses_a_licensing_status() -> None:
    assert to_mermaid(highlight=F).endswith("    class FAILED current")
    with pytest.raises(InvalidComponent):
        to_mermaid(highlight=lifecycle.LicenseStatus.LICENSED)  # type: ignore[arg-type]


def test_event_names_do_not_clash_with_the_licensing_machine() -> None:
    names = {type(event).__name__ for event in EVENTS}
    assert names.isdisjoint(lifecycle.__all__)
    assert names.isdisjoint(lifecycle.LICENSING.events)


# --- the snapshot and the events ------------------------------------------------------------


def test_a_new_progress_is_discovered_with_no_failure() -> None:
    assert ProxyProgress.new() == ProxyProgress() == at(D)
    assert (ProxyProgress.new().failed_at, ProxyProgress.new().code) == (None, None)


def test_products_just_discovered_share_one_frozen_progress() -> None:
    # One object per fleet rather than per product: less for the garbage collector to walk.
    first = make_product(1)
    assert first.proxy is make_product(2).proxy is ProxyProgress.new()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"stage": F}, InvalidComponent),
        ({"stage": F, "failed_at": I}, InvalidComponent),
        ({"stage": F, "code": CODE}, InvalidComponent),
        ({"stage": F, "failed_at": P, "code": CODE}, InvalidComponent),
        ({"stage": F, "failed_at": F, "code": CODE}, InvalidComponent),
        ({"stage": I, "code": CODE}, InvalidComponent),
        ({"stage": I, "failed_at": I}, InvalidComponent),
        ({"stage": F, "failed_at": I, "code": 2**32}, InvalidComponent),
        ({"stage": F, "failed_at": I, "code": True}, InvalidComponent),
        ({"stage": F, "failed_at": I, "code": "0xC004C020"}, InvalidComponent),
        ({"stage": "discovered"}, InvalidFormat),
        ({"stage": F, "failed_at": "iid-collected", "code": CODE}, InvalidFormat),
    ],
)
def test_an_impossible_snapshot_is_refused(fields: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        ProxyProgress(**fields)


def test_a_signed_code_is_kept_unsigned() -> None:
    assert failed(I, -1073430496).code == CODE
    assert StageFailed(-1073430496).code == CODE


@pytest.mark.parametrize("code", [None, True, 2**32, -(2**31) - 1, "C004C020"])
def test_a_failure_needs_an_hresult(code: object) -> None:
    with pytest.raises(InvalidComponent, match=r"^Invalid code: "):
        StageFailed(code)


def test_advance_stage_refuses_what_is_not_its_own() -> None:
    with pytest.raises(InvalidFormat, match="proxy progress"):
        advance_stage("discovered", StageKeyInstalled())  # type: ignore[arg-type]
    with pytest.raises(InvalidFormat, match=r"not a mak\.proxystage event"):
        advance_stage(at(D), lifecycle.KeyUninstalled())  # type: ignore[arg-type]
    with pytest.raises(InvalidFormat, match=r"not a mak\.proxystage event"):
        advance_stage(at(D), "StageKeyInstalled")  # type: ignore[arg-type]


def test_snapshots_and_events_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        at(D).stage = K  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        StageFailed(CODE).code = 0  # type: ignore[misc]


# --- serialization ----------------------------------------------------------------------------


@pytest.mark.parametrize("progress", STARTS, ids=_cell_id)
def test_a_progress_round_trips_through_the_converter(progress: ProxyProgress) -> None:
    converter = make_converter()
    data = converter.unstructure(progress)
    assert json.loads(json.dumps(data)) == data
    assert converter.structure(data, ProxyProgress) == progress


def test_a_progress_is_stored_in_readable_words() -> None:
    data = make_converter().unstructure(failed(I))
    assert data == {"stage": "failed", "failed_at": "iid-collected", "code": CODE}


@pytest.mark.parametrize(
    "data",
    [
        {"stage": "failed"},
        {"stage": "failed", "failed_at": "cid-deposited", "code": CODE},
        {"stage": "nowhere"},
        {"stage": "discovered", "step": 1},
        {"stage": 0},
        "discovered",
    ],
)
def test_bad_stored_progress_is_refused(data: object) -> None:
    with pytest.raises(InvalidFormat, match=r"^Invalid ProxyProgress data: "):
        make_converter().structure(data, ProxyProgress)


# --- the product carries it -------------------------------------------------------------------


def product(**changes: Any) -> Product:
    fields: dict[str, Any] = {
        "id": "p-1",
        "computer_id": "c-1",
        "activation_id": GUID,
        "name": "Windows(R), Professional edition",
        "family": ProductFamily.WINDOWS_CLIENT,
    }
    return Product(**{**fields, **changes})


def test_a_new_product_is_discovered() -> None:
    assert product().proxy == ProxyProgress.new()


def test_a_product_refuses_a_proxy_of_the_wrong_type() -> None:
    with pytest.raises(InvalidFormat, match=r"^Invalid proxy: "):
        product(proxy=D)


def test_a_product_round_trips_with_its_progress() -> None:
    converter = make_converter()
    stored = product(installation_id=IID, confirmation_id=CID, proxy=failed(A))
    assert converter.structure(converter.unstructure(stored), Product) == stored


def test_a_product_stored_before_the_stage_existed_loads_as_discovered() -> None:
    converter = make_converter()
    data = converter.unstructure(product())
    del data["proxy"]
    assert converter.structure(data, Product) == product()


# --- persistence in both inventories ------------------------------------------------------------

COMPUTER = Computer(id="c-1", name="LAB-PC-01", workgroup="LAB")


@pytest.fixture(params=["memory", "sqlite"])
def inventory(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        yield InMemoryInventory()
    else:
        with SqliteInventory(":memory:") as opened:
            yield opened


def test_an_inventory_keeps_the_progress(inventory: Any) -> None:
    inventory.add_computer(COMPUTER)
    added = inventory.add_product(product(installation_id=IID, proxy=at(I)))
    assert inventory.product("p-1").proxy == at(I)
    broken = attrs.evolve(added, proxy=advance_stage(added.proxy, StageFailed(CODE)))
    inventory.update_product(broken)
    assert inventory.product("p-1").proxy == failed(I)
    assert inventory.product("p-1").installation_id == IID


def test_an_inventory_tells_progress_apart_on_a_repeated_add(inventory: Any) -> None:
    inventory.add_computer(COMPUTER)
    inventory.add_product(product(proxy=at(K)))
    assert inventory.add_product(product(proxy=at(K))).proxy == at(K)  # the same: idempotent
    with pytest.raises(ConcurrencyConflict):
        inventory.add_product(product(proxy=at(I)))


def test_a_sqlite_file_reopened_resumes_where_each_product_stopped(tmp_path: Path) -> None:
    path = tmp_path / "inventory.sqlite"
    with SqliteInventory(path) as inventory:
        inventory.add_computer(COMPUTER)
        inventory.add_product(product(confirmation_id=CID, installation_id=IID, proxy=at(A)))
    with SqliteInventory(path) as inventory:
        resumed = inventory.product("p-1")
    assert resumed.proxy == at(A)
    assert resumed.confirmation_id == CID
    assert advance_stage(resumed.proxy, CidDeposited()) == at(P)


def test_a_sqlite_row_written_before_the_stage_existed_loads(tmp_path: Path) -> None:
    path = tmp_path / "inventory.sqlite"
    with SqliteInventory(path) as inventory:
        inventory.add_computer(COMPUTER)
        inventory.add_product(product(proxy=at(E)))
    with sqlite3.connect(path) as connection:
        (text,) = connection.execute("SELECT data FROM products WHERE id = 'p-1'").fetchone()
        data = json.loads(text)
        del data["proxy"]
        connection.execute("UPDATE products SET data = ? WHERE id = 'p-1'", (json.dumps(data),))
    connection.close()
    with SqliteInventory(path) as inventory:
        assert inventory.product("p-1").proxy == ProxyProgress.new()
