"""The use cases of mak.manager, over the simulated clearinghouse and fleet.

Each test builds a small simulated lab; the failure rules (one service call per batch,
CIDs kept before any deposit, nothing charged twice, one product's failure never
aborting the batch, retries through the injected sleep) are checked against what the
clearinghouse recorded and what the inventory holds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from math import ceil
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

import attrs
import pytest

from mak.adapters import InMemoryInventory, SqliteInventory
from mak.catalog import ProductFamily
from mak.codes import (
    CID_IID_MISMATCH,
    KMS_COUNT_INSUFFICIENT,
    MAK_LIMIT_EXCEEDED,
    MISMATCHED_SKU,
    OUT_OF_TOLERANCE,
    Category,
    lookup,
)
from mak.errors import InvalidComponent, StorageError, TransportError
from mak.keys import ProductKey
from mak.lifecycle import ActivationMethod, KeyChannel, LicenseStatus
from mak.limits import RemainingCount
from mak.manager import (
    _HISTORY_LINE,
    RPC_SERVER_UNAVAILABLE,
    BatchReport,
    Outcome,
    RetryPolicy,
    VolumeActivationManager,
    _reached,
)
from mak.model import ByName, ByWorkgroup, CilEntry, Computer, LastAction, Product
from mak.proxystage import ProxyProgress, ProxyStage, StageFailed, advance_stage
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet
from mak.testing import make_key

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from mak.ids import ConfirmationId, InstallationId
    from mak.ports import CidRequest, CidResult, ComputerEndpoint, Inventory

START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
OFFLINE = 0x80072EFD  # what the simulated clearinghouse raises while offline


@attrs.define
class Lab:
    """A simulated lab managed by one manager, with its MAK."""

    clock: FakeClock
    service: SimulatedClearinghouse
    fleet: SimulatedFleet
    manager: VolumeActivationManager
    mak: ProductKey
    waits: list[dt.timedelta]

    @property
    def clients(self) -> list[Product]:
        return self.manager.inventory.products(family=ProductFamily.WINDOWS_CLIENT)

    def acquire_calls(self) -> int:
        return sum(c.method == "acquire_confirmation_ids" for c in self.service.calls)

    def used(self) -> int:
        return self.service.pool(self.mak).used


def make_lab(
    size: int = 12,
    *,
    limit: int = 250,
    inventory: Inventory | None = None,
    retry: RetryPolicy | None = None,
) -> Lab:
    clock = FakeClock(START)
    service = SimulatedClearinghouse(seed=7)
    mak = service.issue_mak(limit=limit, family=ProductFamily.WINDOWS_CLIENT)
    fleet = SimulatedFleet(size, seed=7, clearinghouse=service, clock=clock, server_share=0.25)
    waits: list[dt.timedelta] = []
    manager = VolumeActivationManager(
        inventory if inventory is not None else InMemoryInventory(),
        service,
        fleet,
        clock,
        discovery=fleet,
        retry=retry,
        sleep=waits.append,
    )
    manager.discover(ByWorkgroup("LAB"))
    manager.add_product_key(mak)
    return Lab(clock, service, fleet, manager, mak, waits)


@pytest.fixture
def lab() -> Lab:
    return make_lab()


def code_values(report: BatchReport) -> list[int | None]:
    return [None if o.code is None else o.code.value for o in report]


# --- results -------------------------------------------------------------------------------


def test_a_report_counts_its_outcomes_by_code() -> None:
    report = BatchReport(
        action="x",
        outcomes=[
            Outcome("a", True, None, ""),
            Outcome("b", False, lookup(MAK_LIMIT_EXCEEDED), ""),
            Outcome("c", False, lookup(MAK_LIMIT_EXCEEDED), ""),
            Outcome("d", False, None, "not in the inventory"),
        ],
    )
    assert (report.succeeded, report.failed, len(report)) == (1, 3, 4)
    assert report.counts == {"ok": 1, "0xC004C020": 2, "failed": 1}
    assert [o.product_id for o in report] == ["a", "b", "c", "d"]
    assert [o.product_id for o in report.failures] == ["b", "c", "d"]
    assert report.outcome("c").code == lookup(MAK_LIMIT_EXCEEDED)


@pytest.mark.parametrize(
    ("attempts", "backoff"),
    [(0, dt.timedelta(1)), (True, dt.timedelta(1)), (3, dt.timedelta(seconds=-1)), (3, 5)],
)
def test_a_retry_policy_refuses_nonsense(attempts: object, backoff: object) -> None:
    with pytest.raises(InvalidComponent):
        RetryPolicy(attempts=attempts, backoff=backoff)  # type: ignore[arg-type]  # wrong on purpose


def test_retry_waits_double_each_time() -> None:
    policy = RetryPolicy(attempts=4, backoff=dt.timedelta(seconds=3))
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3)] == [3, 6, 12]


# --- discovery and keys ----------------------------------------------------------------------


def test_discover_stores_every_computer_and_its_managed_products(lab: Lab) -> None:
    inventory = lab.manager.inventory
    assert len(inventory.computers()) == 12
    families = {p.family for p in inventory.products()}
    assert ProductFamily.WINDOWS_CLIENT in families
    assert ProductFamily.WINDOWS_SERVER in families
    product = lab.clients[0]
    assert product.id == f"{product.computer_id}:{product.activation_id}"
    assert product.last_action is not None
    assert product.last_action.action == "discover"
    assert product.proxy.stage is ProxyStage.DISCOVERED


def test_discover_run_again_adds_nothing(lab: Lab) -> None:
    inventory = lab.manager.inventory
    before = (len(inventory.computers()), len(inventory.products()))
    first = [o.product_id for o in lab.manager.discover(ByWorkgroup("LAB"))]
    again = lab.manager.discover(ByWorkgroup("LAB"))
    assert (len(inventory.computers()), len(inventory.products())) == before
    assert [o.product_id for o in again] == first
    assert again.failed == 0
    assert again.succeeded == before[1]


def test_discover_matches_a_known_computer_by_name_ignoring_case() -> None:
    clock = FakeClock(START)
    service = SimulatedClearinghouse(seed=7)
    fleet = SimulatedFleet(3, seed=7, clearinghouse=service, clock=clock)
    inventory = InMemoryInventory()
    first = fleet.computers[0]
    inventory.add_computer(Computer(id="known-before", name=first.name.lower(), workgroup="LAB"))
    manager = VolumeActivationManager(inventory, service, fleet, clock, discovery=fleet)
    report = manager.discover(ByName((first.name,)))
    assert report.failed == 0
    assert [c.id for c in inventory.computers()] == ["known-before"]
    assert inventory.computer("known-before").name == first.name
    assert all(p.computer_id == "known-before" for p in inventory.products())


def test_discover_reports_an_unreachable_computer_and_goes_on(lab: Lab) -> None:
    down = lab.fleet.computers[0]
    lab.fleet.endpoint(down.id).unreachable = True
    report = lab.manager.discover(ByWorkgroup("LAB"))
    failed = report.failures
    assert len(failed) == 1
    assert failed[0].product_id is None
    assert failed[0].code is not None
    assert failed[0].code.value == RPC_SERVER_UNAVAILABLE
    assert report.succeeded == len(lab.manager.inventory.products()) - len(
        lab.manager.inventory.products(computer_id=down.id)
    )


def test_discover_needs_a_discovery_port(lab: Lab) -> None:
    manager = VolumeActivationManager(lab.manager.inventory, lab.service, lab.fleet, lab.clock)
    with pytest.raises(InvalidComponent):
        manager.discover(ByWorkgroup("LAB"))


def test_add_product_key_is_idempotent(lab: Lab) -> None:
    again = lab.manager.add_product_key(lab.mak)
    assert again.succeeded == 1
    records = lab.manager.inventory.keys()
    assert [r.key for r in records] == [lab.mak]
    assert "already stored" in again.outcomes[0].detail
    assert lab.mak.reveal() not in again.outcomes[0].detail


def test_refresh_remaining_stores_the_count_with_the_clocks_time(lab: Lab) -> None:
    lab.manager.proxy_activate(lab.clients[:3], lab.mak)
    lab.clock.advance(dt.timedelta(hours=5))
    report = lab.manager.refresh_remaining()
    assert report.succeeded == 1
    record = lab.manager.inventory.key(lab.mak)
    assert record.remaining == RemainingCount(247, START + dt.timedelta(hours=5))


def test_refresh_remaining_fails_a_key_the_service_does_not_know(lab: Lab) -> None:
    stranger = make_key(5)
    lab.manager.add_product_key(stranger)
    report = lab.manager.refresh_remaining([stranger, lab.mak])
    assert [o.ok for o in report] == [False, True]
    assert code_values(report)[0] == 0xC004C004
    assert lab.manager.inventory.key(stranger).remaining is None


# --- proxy activation ------------------------------------------------------------------------

_ORDER = [
    ProxyStage.DISCOVERED,
    ProxyStage.KEY_INSTALLED,
    ProxyStage.IID_COLLECTED,
    ProxyStage.EXPORTED,
    ProxyStage.CID_ACQUIRED,
    ProxyStage.CID_DEPOSITED,
]


def test_a_product_seen_at_a_later_stage_lands_there_from_anywhere_every_time() -> None:
    starts = [ProxyProgress(stage=stage) for stage in _ORDER]
    starts += [advance_stage(start, StageFailed(0xC004C020)) for start in starts[:-1]]
    targets = [stage for stage in _ORDER if stage is not ProxyStage.EXPORTED]
    for _ in range(2):  # the walks are remembered: the second round must agree
        for start in starts:
            resumed = start.failed_at if start.stage is ProxyStage.FAILED else start.stage
            assert resumed is not None
            for target in reversed(targets):
                reached = _reached(start, target)
                expected = max(resumed, target, key=_ORDER.index)
                assert reached == ProxyProgress(stage=expected), (start, target)


@pytest.mark.parametrize("batch_size", [1, 4, 5, 500])
def test_proxy_activation_makes_one_service_call_per_batch(lab: Lab, batch_size: int) -> None:
    clients = lab.clients
    report = lab.manager.proxy_activate(clients, lab.mak, batch_size=batch_size)
    assert report.failed == 0
    assert report.succeeded == len(clients)
    assert lab.acquire_calls() == ceil(len(clients) / batch_size)
    assert report.service_calls == ceil(len(clients) / batch_size)
    assert lab.used() == len(clients)


def test_proxy_activation_licenses_records_and_keeps_everything(lab: Lab) -> None:
    clients = lab.clients
    lab.manager.proxy_activate(clients, lab.mak)
    inventory = lab.manager.inventory
    for product in lab.clients:
        assert product.status is LicenseStatus.LICENSED
        assert product.license_state.method is ActivationMethod.MAK_PROXY
        assert product.proxy.stage is ProxyStage.CID_DEPOSITED
        assert product.installation_id is not None
        entry = inventory.find_confirmation(product.installation_id)
        assert entry is not None
        assert product.confirmation_id == entry.confirmation_id
        assert entry.partial_key == lab.mak.partial
        assert entry.acquired_at == START
        assert product.last_action is not None
        assert product.last_action.action == "apply_confirmation_ids"
        assert product.last_action.ok
        actions = [a.action for a in inventory.history(product_id=product.id)]
        assert actions[-3:] == [
            "collect_installation_ids",
            "acquire_confirmation_ids",
            "apply_confirmation_ids",
        ]


def test_proxy_activation_run_again_charges_nothing(lab: Lab) -> None:
    clients = lab.clients
    lab.manager.proxy_activate(clients, lab.mak, batch_size=5)
    calls, used = lab.acquire_calls(), lab.used()
    again = lab.manager.proxy_activate(clients, lab.mak, batch_size=5)
    assert again.failed == 0
    assert (lab.acquire_calls(), lab.used()) == (calls, used)
    assert again.service_calls == 0


def test_products_can_be_given_by_id_or_as_stale_snapshots(lab: Lab) -> None:
    stale = lab.clients
    lab.manager.refresh(stale)  # every product moves to a newer version
    report = lab.manager.proxy_activate([stale[0], stale[1].id, *stale[2:]], lab.mak)
    assert report.failed == 0


def test_an_unknown_product_fails_alone(lab: Lab) -> None:
    clients = lab.clients
    report = lab.manager.proxy_activate(["no-such-product", *clients], lab.mak)
    assert report.outcomes[0].product_id == "no-such-product"
    assert not report.outcomes[0].ok
    assert report.succeeded == len(clients)


class DepositFails:
    """A connector whose computers refuse every deposit, as if they went away at that moment."""

    def __init__(self, fleet: SimulatedFleet, inventory: Inventory) -> None:
        self.fleet = fleet
        self.inventory = inventory
        self.cids_at_first_deposit: int | None = None

    def connect(self, computer: Computer, /) -> ComputerEndpoint:
        return _NoDeposit(self.fleet.connect(computer), self)


class _NoDeposit:
    def __init__(self, endpoint: ComputerEndpoint, owner: DepositFails) -> None:
        self._endpoint = endpoint
        self._owner = owner
        self.products = endpoint.products
        self.install_product_key = endpoint.install_product_key
        self.installation_id = endpoint.installation_id
        self.activate = endpoint.activate
        self.license_state = endpoint.license_state
        self.set_kms_endpoint = endpoint.set_kms_endpoint

    def deposit_confirmation_id(
        self, _activation_id: str, _iid: InstallationId, _cid: ConfirmationId, /
    ) -> None:
        if self._owner.cids_at_first_deposit is None:
            self._owner.cids_at_first_deposit = len(self._owner.inventory.confirmations())
        raise TransportError("the computer went away", code=RPC_SERVER_UNAVAILABLE)


def test_every_cid_is_kept_before_any_deposit_and_a_rerun_charges_nothing(lab: Lab) -> None:
    clients = lab.clients
    inventory = lab.manager.inventory
    broken = DepositFails(lab.fleet, inventory)
    manager = VolumeActivationManager(inventory, lab.service, broken, lab.clock)
    report = manager.proxy_activate(clients, lab.mak, batch_size=4)
    assert report.succeeded == 0
    assert set(code_values(report)) == {RPC_SERVER_UNAVAILABLE}
    assert broken.cids_at_first_deposit == len(clients)  # all batches kept before deposits
    for product in lab.clients:
        assert product.proxy.stage is ProxyStage.FAILED
        assert product.proxy.failed_at is ProxyStage.CID_ACQUIRED
        assert product.installation_id is not None
        assert inventory.find_confirmation(product.installation_id) is not None
    calls, used = lab.acquire_calls(), lab.used()
    assert used == len(clients)

    again = lab.manager.proxy_activate(clients, lab.mak, batch_size=4)
    assert again.succeeded == len(clients)
    assert (lab.acquire_calls(), lab.used()) == (calls, used)
    assert {p.proxy.stage for p in lab.clients} == {ProxyStage.CID_DEPOSITED}


def test_the_limit_running_out_mid_batch_fails_only_the_rest() -> None:
    lab = make_lab(limit=3)
    clients = lab.clients
    assert len(clients) > 3
    report = lab.manager.proxy_activate(clients, lab.mak)
    assert lab.acquire_calls() == 1
    assert report.succeeded == 3
    assert report.counts == {"ok": 3, "0xC004C020": len(clients) - 3}
    refused = [
        lab.manager.inventory.product(o.product_id) for o in report.failures if o.product_id
    ]
    for product in refused:
        assert product.status is not LicenseStatus.LICENSED
        assert product.proxy.stage is ProxyStage.FAILED
        assert product.proxy.code == MAK_LIMIT_EXCEEDED
        assert product.last_action is not None
        assert product.last_action.code == lookup(MAK_LIMIT_EXCEEDED)


def test_a_transport_failure_is_retried_after_the_injected_wait(lab: Lab) -> None:
    lab.service.go_offline()

    def wait(delay: dt.timedelta) -> None:
        lab.waits.append(delay)
        lab.service.go_online()

    lab.manager.sleep = wait
    report = lab.manager.proxy_activate(lab.clients, lab.mak)
    assert report.failed == 0
    assert lab.waits == [dt.timedelta(seconds=2)]
    assert report.service_calls == 2
    assert lab.used() == len(lab.clients)


def test_retries_exhausted_fail_the_batch_with_the_transport_code() -> None:
    lab = make_lab(retry=RetryPolicy(attempts=3, backoff=dt.timedelta(seconds=1)))
    lab.service.go_offline()
    report = lab.manager.acquire_confirmation_ids(_collected(lab), batch_size=len(lab.clients) + 1)
    assert report.succeeded == 0
    assert set(code_values(report)) == {OFFLINE}
    assert lab.waits == [dt.timedelta(seconds=1), dt.timedelta(seconds=2)]
    assert report.service_calls == 3
    assert lab.used() == 0

    lab.service.go_online()
    assert lab.manager.proxy_activate(lab.clients, lab.mak).failed == 0
    assert lab.used() == len(lab.clients)


def _collected(lab: Lab) -> list[Product]:
    collected = lab.manager.collect_installation_ids(lab.clients, lab.mak)
    assert collected.failed == 0
    return lab.clients


class SecondCallFails:
    """A clearinghouse whose second connection always fails."""

    def __init__(self, service: SimulatedClearinghouse) -> None:
        self.service = service
        self.calls = 0

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        self.calls += 1
        if self.calls >= 2:
            raise TransportError("connection reset")
        return self.service.acquire_confirmation_ids(requests)

    def remaining_activations(self, key: ProductKey, /) -> int:
        return self.service.remaining_activations(key)


def test_a_failed_connection_fails_only_its_own_batch(lab: Lab) -> None:
    clients = _collected(lab)
    flaky = SecondCallFails(lab.service)
    retry = RetryPolicy(attempts=2, backoff=dt.timedelta(0))
    manager = VolumeActivationManager(
        lab.manager.inventory, flaky, lab.fleet, lab.clock, retry=retry, sleep=lab.waits.append
    )
    report = manager.acquire_confirmation_ids(clients, batch_size=4)
    assert [o.ok for o in report] == [True] * 4 + [False] * (len(clients) - 4)
    assert set(code_values(report)[4:]) == {RPC_SERVER_UNAVAILABLE}
    assert lookup(RPC_SERVER_UNAVAILABLE).category is Category.NETWORK
    assert flaky.calls == 3  # the first batch, then the second one twice


class Recorded:
    """A clearinghouse noting, in one list with the inventory's reads, each call's IIDs."""

    def __init__(self, service: SimulatedClearinghouse, events: list[object]) -> None:
        self.service = service
        self.events = events

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        self.events.append([request.installation_id for request in requests])
        return self.service.acquire_confirmation_ids(requests)

    def remaining_activations(self, key: ProductKey, /) -> int:
        return self.service.remaining_activations(key)


def test_batches_are_asked_in_order_each_once_full_while_the_rest_are_read(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients = _collected(lab)
    assert len(clients) == 6  # read in three chunks of two, asked in a four and a two
    events: list[object] = []
    inventory = lab.manager.inventory
    read = inventory.products_by_id  # type: ignore[attr-defined]  # the in-memory one has it

    def noted(ids: Sequence[str]) -> list[Product]:
        events.append(tuple(ids))
        return read(ids)

    monkeypatch.setattr(inventory, "products_by_id", noted)
    monkeypatch.setattr("mak.manager._CHUNK", 2)
    manager = VolumeActivationManager(
        inventory, Recorded(lab.service, events), lab.fleet, lab.clock, sleep=lab.waits.append
    )
    report = manager.acquire_confirmation_ids(clients, batch_size=4)
    assert report.failed == 0
    calls = [event for event in events if isinstance(event, list)]
    # The batches of slicing the products in order.
    assert [iid for call in calls for iid in call] == [p.installation_id for p in clients]
    assert [len(call) for call in calls] == [4, 2]
    # The first is asked once full, before the last chunk is read: what waits for the
    # service is a batch, not every product of the call.
    assert events.index(calls[0]) < events.index(tuple(p.id for p in clients[4:]))


class Untyped:
    """A clearinghouse adapter answering with a CID as text, in a result it made itself."""

    def __init__(self, service: SimulatedClearinghouse) -> None:
        self.service = service

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        answers = self.service.acquire_confirmation_ids(requests)
        return [
            cast(
                "CidResult",
                SimpleNamespace(
                    installation_id=a.installation_id,
                    confirmation_id=str(a.confirmation_id),
                    code=None,
                ),
            )
            for a in answers
        ]

    def remaining_activations(self, key: ProductKey, /) -> int:
        return self.service.remaining_activations(key)


def test_an_answer_that_is_no_confirmation_id_fails_its_product_and_keeps_nothing(
    lab: Lab,
) -> None:
    clients = _collected(lab)
    manager = VolumeActivationManager(
        lab.manager.inventory, Untyped(lab.service), lab.fleet, lab.clock, sleep=lab.waits.append
    )
    report = manager.acquire_confirmation_ids(clients)
    assert report.failed == len(clients)
    assert set(code_values(report)) == {0xC004B100}
    assert {o.detail for o in report} == {"the service answered with no valid confirmation ID"}
    assert lab.manager.inventory.confirmations() == []  # nothing kept that a rerun would reuse
    again = lab.manager.acquire_confirmation_ids(clients)
    assert again.failed == 0
    assert again.service_calls == 1


def test_a_kept_cid_is_reused_without_asking_the_service(lab: Lab) -> None:
    clients = _collected(lab)
    first = lab.manager.acquire_confirmation_ids(clients[:2])
    assert first.service_calls == 1
    again = lab.manager.acquire_confirmation_ids(clients)
    assert again.failed == 0
    assert again.service_calls == 1  # only the products not asked before
    assert lab.used() == len(clients)
    assert "reused" in again.outcomes[0].detail


def test_acquiring_before_collecting_fails_per_product(lab: Lab) -> None:
    report = lab.manager.acquire_confirmation_ids(lab.clients)
    assert report.succeeded == 0
    assert report.service_calls == 0


def test_acquire_refuses_a_bad_batch_size(lab: Lab) -> None:
    with pytest.raises(InvalidComponent):
        lab.manager.acquire_confirmation_ids(lab.clients, batch_size=0)


def test_a_cid_for_an_iid_that_changed_is_not_deposited(lab: Lab) -> None:
    clients = _collected(lab)
    lab.manager.acquire_confirmation_ids(clients)
    moved = clients[0]
    lab.fleet.replace_hardware(moved.computer_id)
    report = lab.manager.apply_confirmation_ids([moved])
    assert code_values(report) == [CID_IID_MISMATCH]


def test_a_key_that_cannot_fit_fails_per_product(lab: Lab) -> None:
    servers = lab.manager.inventory.products(family=ProductFamily.WINDOWS_SERVER)
    assert servers
    mixed = [*servers, *lab.clients]
    report = lab.manager.install_product_key(mixed, lab.mak)
    assert code_values(report) == [MISMATCHED_SKU] * len(servers) + [None] * len(lab.clients)
    for product in lab.clients:
        assert product.partial_key == lab.mak.partial
        assert product.channel is KeyChannel.MAK
        assert product.proxy.stage is ProxyStage.KEY_INSTALLED


def test_activate_online_spends_one_activation_each(lab: Lab) -> None:
    clients = lab.clients
    lab.manager.install_product_key(clients, lab.mak)
    report = lab.manager.activate_online(clients)
    assert report.failed == 0
    assert lab.used() == len(clients)
    assert {p.license_state.method for p in lab.clients} == {ActivationMethod.MAK_INDEPENDENT}


# --- local reactivation ----------------------------------------------------------------------


def test_reactivate_after_a_reimage_reuses_the_kept_cid(lab: Lab) -> None:
    clients = lab.clients
    lab.manager.proxy_activate(clients, lab.mak)
    calls, used = len(lab.service.calls), lab.used()
    reimaged = clients[:3]
    for product in reimaged:
        lab.fleet.reimage(product.computer_id)
    lab.manager.refresh(clients)
    for product in reimaged:
        current = lab.manager.inventory.product(product.id)
        assert current.status is LicenseStatus.UNLICENSED
        assert current.proxy.stage is ProxyStage.DISCOVERED
    report = lab.manager.reactivate(clients)
    assert report.failed == 0
    assert (len(lab.service.calls), lab.used()) == (calls, used)
    assert {p.status for p in lab.clients} == {LicenseStatus.LICENSED}
    assert {p.proxy.stage for p in lab.clients} == {ProxyStage.CID_DEPOSITED}


def test_reactivate_after_new_hardware_reports_a_new_activation_needed(lab: Lab) -> None:
    clients = lab.clients
    lab.manager.proxy_activate(clients, lab.mak)
    used = lab.used()
    moved = clients[0]
    lab.fleet.replace_hardware(moved.computer_id)
    report = lab.manager.reactivate(clients)
    outcome = report.outcome(moved.id)
    assert outcome.code == lookup(OUT_OF_TOLERANCE)
    assert "new activation" in outcome.detail
    assert report.succeeded == len(clients) - 1
    assert report.service_calls == 0
    assert lab.used() == used
    product = lab.manager.inventory.product(moved.id)
    assert product.confirmation_id is None
    assert product.proxy.stage is ProxyStage.FAILED
    assert product.proxy.failed_at is ProxyStage.DISCOVERED

    again = lab.manager.proxy_activate([moved], lab.mak)
    assert again.failed == 0
    assert lab.used() == used + 1


def test_reactivate_needs_a_kept_cid(lab: Lab) -> None:
    report = lab.manager.reactivate(lab.clients[:1])
    assert not report.outcomes[0].ok
    assert "proxy-activate" in report.outcomes[0].detail


# --- conversions -----------------------------------------------------------------------------


def test_convert_to_kms_follows_the_hosts_threshold() -> None:
    lab = make_lab(24)
    servers = lab.manager.inventory.products(family=ProductFamily.WINDOWS_SERVER)
    assert len(servers) >= 5
    report = lab.manager.convert_to_kms(servers)
    threshold = ProductFamily.WINDOWS_SERVER.kms_threshold
    assert code_values(report) == [KMS_COUNT_INSUFFICIENT] * (threshold - 1) + [None] * (
        len(servers) - threshold + 1
    )
    assert {
        p.channel for p in lab.manager.inventory.products(family=ProductFamily.WINDOWS_SERVER)
    } == {KeyChannel.GVLK}
    again = lab.manager.convert_to_kms(servers)
    assert again.failed == 0
    assert lab.used() == 0


def test_a_proxy_activated_product_moved_to_kms_starts_its_proxy_stage_over() -> None:
    """Converting reads the computer twice in one step: both readings are written.

    The first, once the GVLK is in, finds the licensing reset; the second, after the
    host's answer, finds it licensed again (or not, below the threshold). The proxy stage
    went back to DISCOVERED with the first, keeping the CID for a later return to MAK.
    """
    lab = make_lab(60)
    clients = lab.clients
    assert len(clients) > ProductFamily.WINDOWS_CLIENT.kms_threshold
    assert lab.manager.proxy_activate(clients, lab.mak).failed == 0
    report = lab.manager.convert_to_kms(clients)
    assert 0 < report.succeeded < len(clients)
    for product in lab.clients:
        assert product.proxy.stage is ProxyStage.DISCOVERED
        assert product.confirmation_id is not None
        licensed = product.status is LicenseStatus.LICENSED
        assert licensed is report.outcome(product.id).ok


def test_convert_to_mak_activates_by_proxy_with_one_activation_each(lab: Lab) -> None:
    clients = lab.clients[:3]
    lab.manager.convert_to_kms(clients)
    report = lab.manager.convert_to_mak(clients, lab.mak)
    assert report.failed == 0
    assert lab.used() == 3
    for product in clients:
        current = lab.manager.inventory.product(product.id)
        assert current.channel is KeyChannel.MAK
        assert current.status is LicenseStatus.LICENSED


# --- inventory behaviour ---------------------------------------------------------------------


class InterferingInventory(InMemoryInventory):
    """An inventory where another writer renames a product just before the *armed* action writes it.

    Once: the first write of a product noted with that action finds it one version on.
    """

    def __init__(self, armed: str | None = None) -> None:
        super().__init__()
        self.armed = armed
        self.renamed: str | None = None

    def update_product(self, product: Product, /) -> Product:
        last = product.last_action
        if self.armed is not None and last is not None and last.action == self.armed:
            self.armed, self.renamed = None, product.id
            stored = self.product(product.id)
            super().update_product(attrs.evolve(stored, name=stored.name + " (renamed)"))
        return super().update_product(product)


def test_a_concurrent_write_is_reread_and_retried() -> None:
    inventory = InterferingInventory(armed="discover")
    lab = make_lab(inventory=inventory)
    assert inventory.renamed is not None
    report = lab.manager.proxy_activate(lab.clients, lab.mak)
    assert report.failed == 0


@pytest.mark.parametrize(
    "action", ["collect_installation_ids", "acquire_confirmation_ids", "apply_confirmation_ids"]
)
def test_a_product_renamed_during_a_step_is_written_once_more_keeping_both(action: str) -> None:
    inventory = InterferingInventory()
    lab = make_lab(inventory=inventory)
    versions = {p.id: p.version for p in lab.clients}
    inventory.armed = action
    report = lab.manager.proxy_activate(lab.clients, lab.mak)
    assert report.failed == 0
    renamed = inventory.product(cast("str", inventory.renamed))
    assert renamed.name.endswith(" (renamed)")
    assert renamed.license_state.status is LicenseStatus.LICENSED
    assert renamed.confirmation_id is not None
    # Each step writes each product once, the step's changes and its note together; the
    # step that found the product renamed read it again and wrote it once, not twice.
    assert {p.id: p.version - versions[p.id] for p in lab.clients} == {
        p.id: 4 if p.id == renamed.id else 3 for p in lab.clients
    }
    steps = ["collect_installation_ids", "acquire_confirmation_ids", "apply_confirmation_ids"]
    assert [a.action for a in inventory.history(product_id=renamed.id)][-3:] == steps


class FlakyCil(InMemoryInventory):
    """An inventory whose CIL reads fail *failing* times, then work."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = 0

    def find_confirmation(self, installation_id: InstallationId, /) -> CilEntry | None:
        if self.failing:
            self.failing -= 1
            raise StorageError("CIL read failed")
        return super().find_confirmation(installation_id)


def test_a_reading_that_cannot_be_worked_out_fails_its_step_and_is_not_stored() -> None:
    """A new IID asks the CIL for its CID: that read failing fails the step, there and then."""
    inventory = FlakyCil()
    lab = make_lab(inventory=inventory)
    [product, *_] = lab.clients
    assert lab.manager.proxy_activate([product], lab.mak).failed == 0
    lab.fleet.replace_hardware(product.computer_id)  # a new IID: the reading asks the CIL
    before = inventory.product(product.id)
    inventory.failing = 1
    outcome = lab.manager.refresh([product]).outcome(product.id)
    assert (outcome.ok, outcome.detail) == (False, "CIL read failed")
    after = inventory.product(product.id)
    assert after.version == before.version + 1  # the failure's note alone
    assert after.installation_id == before.installation_id  # the reading was not stored
    assert after.last_action is not None
    assert after.last_action.action == "refresh"
    assert inventory.history(product_id=product.id)[-1].detail == "failed: CIL read failed"


def test_the_sqlite_inventory_runs_the_whole_flow() -> None:
    lab = make_lab(inventory=SqliteInventory(":memory:"))
    report = lab.manager.proxy_activate(lab.clients, lab.mak, batch_size=3)
    assert report.failed == 0
    assert lab.acquire_calls() == ceil(len(lab.clients) / 3)


def test_progress_is_told_done_and_total_up_to_the_end(lab: Lab) -> None:
    seen: list[tuple[int, int]] = []
    clients = lab.clients
    lab.manager.refresh(clients, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(n, len(clients)) for n in range(1, len(clients) + 1)]

    seen.clear()
    lab.manager.proxy_activate(
        ["missing", *clients], lab.mak, progress=lambda d, t: seen.append((d, t))
    )
    total = 3 * (len(clients) + 1)
    assert seen[-1] == (total, total)
    assert all(t == total for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


class FailingWritesInventory(InMemoryInventory):
    """An inventory that refuses every write of one product, once armed."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: str | None = None

    def update_product(self, product: Product, /) -> Product:
        if product.id == self.refused:
            raise StorageError("disk full")
        return super().update_product(product)


def test_a_product_whose_writes_fail_fails_alone_and_the_batch_goes_on() -> None:
    inventory = FailingWritesInventory()
    lab = make_lab(inventory=inventory)
    clients = lab.clients
    inventory.refused = clients[0].id
    report = lab.manager.proxy_activate(clients, lab.mak, batch_size=2)
    assert not report.outcome(clients[0].id).ok
    assert "disk full" in report.outcome(clients[0].id).detail
    assert report.succeeded == len(clients) - 1
    assert report.service_calls == ceil((len(clients) - 1) / 2)


# --- the inventory failing while CIDs are kept ----------------------------------------------


def _lab(
    inventory: Inventory,
) -> tuple[VolumeActivationManager, SimulatedClearinghouse, ProductKey]:
    clock = FakeClock(dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc))
    service = SimulatedClearinghouse(seed=3)
    fleet = SimulatedFleet(
        size=10, seed=3, clearinghouse=service, clock=clock, server_share=0, office_share=0
    )
    manager = VolumeActivationManager(
        inventory,
        service,
        fleet,
        clock,
        discovery=fleet,
        sleep=clock.advance,  # type: ignore[arg-type]
    )
    manager.discover(ByWorkgroup("LAB"))
    key = service.issue_mak(limit=100, family=ProductFamily.WINDOWS_CLIENT)
    manager.add_product_key(key)
    return manager, service, key


def test_a_cil_write_failing_once_inside_the_batch_is_retried_alone() -> None:
    class FlakyInventory(InMemoryInventory):
        writes = 0

        def add_confirmation(self, entry: CilEntry, /) -> CilEntry:
            FlakyInventory.writes += 1
            if FlakyInventory.writes == 3:
                raise StorageError("disk full")
            return super().add_confirmation(entry)

    inventory = FlakyInventory()
    manager, service, key = _lab(inventory)
    report = manager.proxy_activate(inventory.products(), key)
    assert report.counts == {"ok": 10}
    assert service.pool(key).used == len(inventory.confirmations()) == 10


def test_a_failed_batch_commit_loses_no_cid_and_aborts_nothing(tmp_path: Path) -> None:
    class FailingCommits(SqliteInventory):
        """Every transaction that kept a CIL entry fails to commit, and is rolled back."""

        armed = False
        kept_cid = False

        @contextlib.contextmanager
        def transaction(self) -> Iterator[None]:
            FailingCommits.kept_cid = False
            with super().transaction():
                yield
                if FailingCommits.armed and FailingCommits.kept_cid:
                    raise StorageError("COMMIT failed: disk I/O error")

        def add_confirmation(self, entry: CilEntry, /) -> CilEntry:
            FailingCommits.kept_cid = True
            return super().add_confirmation(entry)

    inventory = FailingCommits(tmp_path / "inventory.db")
    manager, service, key = _lab(inventory)
    FailingCommits.armed = True
    report = manager.proxy_activate(inventory.products(), key)  # does not raise
    assert len(report) == 10
    assert service.pool(key).used == 10
    assert len(inventory.confirmations()) == 10  # every CID the service issued is kept
    FailingCommits.armed = False
    again = manager.proxy_activate(inventory.products(), key)
    assert again.counts == {"ok": 10}
    assert service.pool(key).used == 10  # nothing charged twice
    inventory.close()


def test_a_cid_that_cannot_be_stored_is_named_in_its_outcome() -> None:
    class FullDisk(InMemoryInventory):
        def add_confirmation(self, entry: CilEntry, /) -> CilEntry:
            raise StorageError(f"disk full ({entry.computer_id})")

    inventory = FullDisk()
    manager, _, key = _lab(inventory)
    report = manager.proxy_activate(inventory.products(), key)
    assert report.failed == 10
    outcome = report.failures[0]
    assert outcome.code is None  # the inventory failed, not the activation service
    assert "not stored: disk full" in outcome.detail
    assert re.search(r"confirmation ID (\d{6}-){7}\d{6}", outcome.detail)


def test_a_key_added_in_a_chunk_that_failed_to_commit_is_added_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class FirstCommitFails(InMemoryInventory):
        failed = True  # armed below, once the lab is set up

        @contextlib.contextmanager
        def transaction(self) -> Iterator[None]:
            with super().transaction():
                yield
                if not FirstCommitFails.failed:
                    FirstCommitFails.failed = True
                    raise StorageError("COMMIT failed: disk I/O error")

    monkeypatch.setattr("mak.manager._CHUNK", 2)
    inventory = FirstCommitFails()
    manager, service, _ = _lab(inventory)
    new_key = service.issue_mak(limit=100, family=ProductFamily.WINDOWS_CLIENT)
    products = inventory.products()
    assert len(products) == 10
    FirstCommitFails.failed = False
    report = manager.install_product_key(products, new_key)
    assert report.failed == 2  # the chunk whose commit failed
    assert inventory.key(new_key).channel is KeyChannel.MAK  # kept by a later chunk


def test_cids_kept_with_their_notes_stay_succeeded_when_a_later_commit_fails() -> None:
    class ThirdCommitFails(InMemoryInventory):
        armed = False
        count = 0

        @contextlib.contextmanager
        def transaction(self) -> Iterator[None]:
            ThirdCommitFails.count += 1
            number = ThirdCommitFails.count
            with super().transaction():
                yield
                if ThirdCommitFails.armed and number == 3:
                    raise StorageError("COMMIT failed: disk full")

    inventory = ThirdCommitFails()
    manager, service, key = _lab(inventory)
    products = inventory.products()
    assert manager.collect_installation_ids(products, key).failed == 0
    ThirdCommitFails.armed, ThirdCommitFails.count = True, 0
    report = manager.acquire_confirmation_ids(products)
    assert report.counts == {"ok": len(products)}
    for product in inventory.products():
        assert product.confirmation_id is not None
        assert inventory.find_confirmation(product.installation_id) is not None  # type: ignore[arg-type]
    assert service.pool(key).used == len(products)


class _EastOfUtc:
    """A clock port telling the fake clock's time two hours east of UTC."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def now(self) -> dt.datetime:
        return self.clock.now().astimezone(dt.timezone(dt.timedelta(hours=2)))


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_clock_east_of_utc_dates_every_record_of_a_batch_in_utc(
    store: str, tmp_path: Path
) -> None:
    inventory = InMemoryInventory() if store == "memory" else SqliteInventory(tmp_path / "t.db")
    lab = make_lab(4, inventory=inventory)
    manager = VolumeActivationManager(
        inventory, lab.service, lab.fleet, _EastOfUtc(lab.clock), sleep=lab.waits.append
    )
    report = manager.proxy_activate(lab.clients, lab.mak)
    assert report.failed == 0
    times = [p.last_action.at for p in lab.clients if p.last_action is not None]
    times += [r.at for r in inventory.history() if r.action != "discover"]
    times += [e.acquired_at for e in inventory.confirmations()]
    assert len(times) == 2 * len(lab.clients) + 3 * len(lab.clients)
    assert {t.tzinfo for t in times} == {dt.timezone.utc}
    assert set(times) == {START}


class _Ticking:
    """A clock port one second later at each reading."""

    def __init__(self) -> None:
        self.readings = 0

    def now(self) -> dt.datetime:
        self.readings += 1
        return START + dt.timedelta(seconds=self.readings)


def test_products_noted_while_the_clock_stands_still_share_one_last_action(lab: Lab) -> None:
    report = lab.manager.proxy_activate(lab.clients, lab.mak)
    assert report.failed == 0
    kept = [p.last_action for p in lab.clients]
    # One object for all: a proxy activation of 50,000 products keeps one per product
    # and step otherwise, for the garbage collector to walk until the next replaces it.
    assert len({id(last) for last in kept}) == 1
    assert kept[0] == LastAction(action="apply_confirmation_ids", at=START, code=None)


def test_a_moving_clock_dates_each_product_and_each_service_call_apart(lab: Lab) -> None:
    clock = _Ticking()
    manager = VolumeActivationManager(
        lab.manager.inventory, lab.service, lab.fleet, clock, sleep=lab.waits.append
    )
    clients = lab.clients
    manager.collect_installation_ids(clients, lab.mak)
    collected = [p.last_action for p in lab.clients]
    assert all(last is not None for last in collected)
    assert len({last.at for last in collected if last is not None}) == len(clients)
    report = manager.acquire_confirmation_ids(clients, batch_size=4)
    assert report.failed == 0
    assert report.service_calls == ceil(len(clients) / 4) >= 2
    acquired = [p.last_action for p in lab.clients]
    # A call's CIDs came at once: its products share its time and last action.
    assert len({id(last) for last in acquired}) == report.service_calls
    assert len({last.at for last in acquired if last is not None}) == report.service_calls
    cil = {e.acquired_at for e in lab.manager.inventory.confirmations()}
    assert cil == {last.at for last in acquired if last is not None}


def test_a_history_line_the_manager_makes_masks_a_key_in_its_detail(lab: Lab) -> None:
    # Its other fields are trusted; the detail, text from anywhere, is still redacted.
    line = _HISTORY_LINE(
        at=START,
        computer_id="c-1",
        product_id=None,
        action="install_product_key",
        code=None,
        detail=f"slmgr /ipk {lab.mak.reveal()} refused",
    )
    assert lab.mak.reveal() not in line.detail
    assert line.detail.startswith("slmgr /ipk XXXXX-")
