"""The simulated clearinghouse's rules, and the ActivationService contract."""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING

import pytest

from mak import codes
from mak.catalog import Catalog, ProductFamily
from mak.errors import NotFound, ServiceRejected, TransportError
from mak.ids import ConfirmationId
from mak.ports import CidRequest, CidResult
from mak.simulation import (
    Call,
    FakeClock,
    SimulatedClearinghouse,
    SimulatedComputer,
    SimulatedFleet,
    extended_pid,
)
from mak.simulation.keys import confirmation_id, installation_id
from mak.testing import ActivationServiceContract, make_installation_id

if TYPE_CHECKING:
    from mak.keys import ProductKey

START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


def requests_for(fleet: SimulatedFleet, key: ProductKey, count: int) -> list[CidRequest]:
    """Install *key* on the first *count* computers and return their CID requests."""
    found: list[CidRequest] = []
    for computer in fleet.computers[:count]:
        endpoint = fleet.connect(computer)
        aid = endpoint.install_product_key(key)
        found.append(
            CidRequest(
                installation_id=endpoint.installation_id(aid),
                extended_pid=extended_pid(key, aid),
            )
        )
    return found


def codes_of(service: SimulatedClearinghouse, batch: list[CidRequest]) -> list[int | None]:
    return [
        None if r.code is None else r.code.value for r in service.acquire_confirmation_ids(batch)
    ]


def test_issued_maks_have_their_own_pools(service: SimulatedClearinghouse) -> None:
    first = service.issue_mak(limit=10, family=ProductFamily.WINDOWS_CLIENT)
    second = service.issue_mak(limit=3, family=ProductFamily.OFFICE)
    assert first != second
    assert (service.pool(first).limit, service.pool(second).limit) == (10, 3)
    assert first.fields is not None
    assert first.fields.group_id == 0xF0001
    with pytest.raises(NotFound):
        service.pool(Catalog.default().gvlk_for("Windows 11 Pro"))


def test_a_new_iid_charges_once_and_the_same_iid_never_again(
    service: SimulatedClearinghouse, mak_key: ProductKey, clients: SimulatedFleet
) -> None:
    batch = requests_for(clients, mak_key, 5)
    first = service.acquire_confirmation_ids(batch)
    assert all(r.ok for r in first)
    assert service.pool(mak_key).used == 5
    again = service.acquire_confirmation_ids([*batch, batch[0]])
    assert [r.confirmation_id for r in again] == [
        *(r.confirmation_id for r in first),
        first[0].confirmation_id,
    ]
    assert service.pool(mak_key).used == 5
    assert service.remaining_activations(mak_key) == 245


def test_cids_pass_the_check_digits_and_depend_on_the_iid_alone(
    mak_key: ProductKey, service: SimulatedClearinghouse, clients: SimulatedFleet
) -> None:
    [request] = requests_for(clients, mak_key, 1)
    [result] = service.acquire_confirmation_ids([request])
    assert result.confirmation_id is not None
    assert ConfirmationId.parse(str(result.confirmation_id)) == result.confirmation_id
    # Another clearinghouse that issued the same key (same seed) answers the same CID.
    twin = SimulatedClearinghouse(seed=1)
    assert twin.issue_mak(limit=1, family=ProductFamily.WINDOWS_CLIENT) == mak_key
    [same] = twin.acquire_confirmation_ids([request])
    assert same.confirmation_id == result.confirmation_id


def test_an_exhausted_pool_refuses_with_the_limit_code(
    service: SimulatedClearinghouse, clients: SimulatedFleet
) -> None:
    small = service.issue_mak(limit=2, family=ProductFamily.WINDOWS_CLIENT)
    batch = requests_for(clients, small, 3)
    assert codes_of(service, batch) == [None, None, codes.MAK_LIMIT_EXCEEDED]
    assert service.pool(small).used == 2
    assert codes_of(service, batch[:2]) == [None, None]  # answered IIDs still answered
    service.increase(small, by=1)
    assert codes_of(service, batch) == [None, None, None]
    assert service.pool(small).used == 3


def test_a_batch_charges_each_pool_for_the_new_iids_that_fit(
    service: SimulatedClearinghouse, clients: SimulatedFleet
) -> None:
    small = service.issue_mak(limit=2, family=ProductFamily.WINDOWS_CLIENT)
    large = service.issue_mak(limit=10, family=ProductFamily.WINDOWS_CLIENT)
    first, second, third = requests_for(clients, small, 3)
    fourth, fifth = requests_for(clients, large, 5)[3:]  # computers 0-2 move to large too
    service.fail_next(codes.KEY_BLOCKED)  # refuses the first request, charging nothing
    batch = [first, fourth, first, second, third, fifth, fourth, third]
    assert codes_of(service, batch) == [
        codes.KEY_BLOCKED,
        None,
        None,
        None,
        codes.MAK_LIMIT_EXCEEDED,
        None,
        None,
        codes.MAK_LIMIT_EXCEEDED,
    ]
    assert (service.pool(small).used, service.pool(large).used) == (2, 2)


def test_a_batch_that_fails_part_way_keeps_the_charges_it_answered(
    service: SimulatedClearinghouse, mak_key: ProductKey, clients: SimulatedFleet
) -> None:
    batch: list[object] = [*requests_for(clients, mak_key, 2), "not a request"]
    with pytest.raises(AttributeError):
        service.acquire_confirmation_ids(batch)  # type: ignore[arg-type]  # an untyped caller
    assert service.pool(mak_key).used == 2
    assert codes_of(service, batch[:2]) == [None, None]  # type: ignore[arg-type]
    assert service.pool(mak_key).used == 2


def test_a_blocked_key_is_refused(
    service: SimulatedClearinghouse, mak_key: ProductKey, clients: SimulatedFleet
) -> None:
    batch = requests_for(clients, mak_key, 2)
    service.acquire_confirmation_ids(batch[:1])
    service.block(mak_key)
    assert codes_of(service, batch) == [codes.KEY_BLOCKED, codes.KEY_BLOCKED]
    assert service.pool(mak_key).used == 1
    with pytest.raises(ServiceRejected) as caught:
        service.remaining_activations(mak_key)
    assert caught.value.code == codes.KEY_BLOCKED
    assert service.calls[-1] == Call("remaining_activations", 1, ok=False)


def test_a_key_it_never_issued_is_an_invalid_key(
    service: SimulatedClearinghouse, clients: SimulatedFleet
) -> None:
    stranger = SimulatedClearinghouse(seed=99).issue_mak(
        limit=5, family=ProductFamily.WINDOWS_CLIENT
    )
    batch = requests_for(clients, stranger, 1)
    assert codes_of(service, batch) == [0xC004C004]
    with pytest.raises(ServiceRejected) as caught:
        service.remaining_activations(stranger)
    assert caught.value.code == 0xC004C004


def test_a_gvlk_is_the_wrong_key_type(
    service: SimulatedClearinghouse, clients: SimulatedFleet
) -> None:
    gvlk = Catalog.default().gvlk_for("Windows 11 Pro")
    batch = requests_for(clients, gvlk, 1)
    assert codes_of(service, batch) == [codes.INVALID_KEY_TYPE]


def test_an_iid_not_from_the_pids_key_is_refused(
    service: SimulatedClearinghouse, mak_key: ProductKey, clients: SimulatedFleet
) -> None:
    [good] = requests_for(clients, mak_key, 1)
    forged = CidRequest(installation_id=make_installation_id(1), extended_pid=good.extended_pid)
    garbled = CidRequest(installation_id=good.installation_id, extended_pid="not-a-pid")
    assert codes_of(service, [forged, garbled, good]) == [
        codes.CID_IID_INVALID_CHECK_DIGITS,
        0xC004C004,
        None,
    ]
    assert service.pool(mak_key).used == 1


def test_fail_next_refuses_the_next_requests_and_charges_nothing(
    service: SimulatedClearinghouse, mak_key: ProductKey, clients: SimulatedFleet
) -> None:
    batch = requests_for(clients, mak_key, 3)
    service.fail_next(0xC004C001, times=2)
    results = service.acquire_confirmation_ids(batch)
    assert [r.code.value if r.code else None for r in results] == [0xC004C001, 0xC004C001, None]
    assert results[0].code is not None
    assert results[0].code == codes.lookup(0xC004C001)
    assert service.pool(mak_key).used == 1
    assert codes_of(service, batch) == [None, None, None]
    assert service.pool(mak_key).used == 3


def test_offline_every_call_raises_a_transport_error_and_is_recorded(
    service: SimulatedClearinghouse, mak_key: ProductKey, clients: SimulatedFleet
) -> None:
    batch = requests_for(clients, mak_key, 2)
    service.go_offline()
    with pytest.raises(TransportError) as caught:
        service.acquire_confirmation_ids(batch)
    assert not isinstance(caught.value, ServiceRejected)
    with pytest.raises(TransportError):
        service.remaining_activations(mak_key)
    assert service.pool(mak_key).used == 0
    service.go_online()
    assert codes_of(service, batch) == [None, None]
    assert service.calls == (
        Call("acquire_confirmation_ids", 2, ok=False),
        Call("remaining_activations", 1, ok=False),
        Call("acquire_confirmation_ids", 2, ok=True),
    )


def test_calls_are_recorded_with_their_method_and_count(
    service: SimulatedClearinghouse, mak_key: ProductKey, clients: SimulatedFleet
) -> None:
    batch = requests_for(clients, mak_key, 7)
    service.acquire_confirmation_ids(batch[:5])
    service.acquire_confirmation_ids(batch[5:])
    service.acquire_confirmation_ids([])
    service.remaining_activations(mak_key)
    assert [(c.method, c.count) for c in service.calls] == [
        ("acquire_confirmation_ids", 5),
        ("acquire_confirmation_ids", 2),
        ("acquire_confirmation_ids", 0),
        ("remaining_activations", 1),
    ]
    assert sum(c.method == "acquire_confirmation_ids" for c in service.calls) == 3


def test_concurrent_batches_charge_each_iid_once(
    service: SimulatedClearinghouse, mak_key: ProductKey, clock: FakeClock
) -> None:
    fleet = SimulatedFleet(
        80, seed=3, clearinghouse=service, clock=clock, office_share=0, server_share=0
    )
    batch = requests_for(fleet, mak_key, 80)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for start in range(0, 80, 10):
                chunk = batch[(start + offset * 10) % 80 :][:10]
                service.acquire_confirmation_ids(chunk)
        except BaseException as error:  # noqa: BLE001  # reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert service.pool(mak_key).used == 80
    assert len(service.calls) == 64


# --- the contract --------------------------------------------------------------------------


class TestSimulatedClearinghouseContract(ActivationServiceContract):
    @pytest.fixture
    def service(self) -> SimulatedClearinghouse:
        return SimulatedClearinghouse(seed=11)

    @pytest.fixture
    def mak_key(self, service: SimulatedClearinghouse) -> ProductKey:
        return service.issue_mak(limit=10, family=ProductFamily.WINDOWS_CLIENT)

    @pytest.fixture
    def cid_requests(
        self, service: SimulatedClearinghouse, mak_key: ProductKey
    ) -> list[CidRequest]:
        clock = FakeClock(START)
        fleet = SimulatedFleet(
            3, seed=11, clearinghouse=service, clock=clock, office_share=0, server_share=0
        )
        return requests_for(fleet, mak_key, 3)

    @pytest.fixture
    def refused_request(self, service: SimulatedClearinghouse) -> CidRequest:
        blocked = service.issue_mak(limit=10, family=ProductFamily.WINDOWS_CLIENT)
        service.block(blocked)
        computer = SimulatedComputer(
            name="BLOCKED-PC",
            windows=Catalog.default().edition("Windows 11 Pro"),
            clock=FakeClock(START),
            seed="blocked",
        )
        aid = computer.install_product_key(blocked)
        return CidRequest(
            installation_id=computer.installation_id(aid),
            extended_pid=extended_pid(blocked, aid),
        )


def test_an_answer_is_the_result_a_checked_cid_result_holds(
    service: SimulatedClearinghouse, mak_key: ProductKey
) -> None:
    pid = extended_pid(mak_key, "2de67392-b7a7-462a-b1ca-108dd189f588")
    iid = installation_id("0" * 32, mak_key, "2de67392-b7a7-462a-b1ca-108dd189f588")
    [answer] = service.acquire_confirmation_ids(
        [CidRequest(installation_id=iid, extended_pid=pid)]
    )
    checked = CidResult(installation_id=iid, confirmation_id=confirmation_id(iid))
    assert answer == checked
    assert repr(answer) == repr(checked)
    assert answer.ok
