"""Simulated computers: keys, IIDs, CIDs, activation, reimage, hardware; and the endpoint contract."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, cast

import attrs
import pytest

from mak import codes
from mak.catalog import Catalog, ProductFamily
from mak.errors import IllegalTransition, InvalidFormat, NotFound, ServiceRejected, TransportError
from mak.ids import ConfirmationId, InstallationId
from mak.keys import ProductKey
from mak.kms import KmsEndpoint
from mak.lifecycle import (
    Activated,
    ActivationFailed,
    ActivationMethod,
    Event,
    HardwareChanged,
    KeyChannel,
    KeyInstalled,
    LicenseState,
    LicenseStatus,
    advance,
    step,
)
from mak.ports import CidRequest, ProductInfo
from mak.simulation import (
    FakeClock,
    SimulatedClearinghouse,
    SimulatedComputer,
    SimulatedFleet,
    activation_id_of,
    extended_pid,
)
from mak.simulation import computer as computer_module
from mak.simulation import keys as simkeys
from mak.testing import ComputerEndpointContract, make_confirmation_id

if TYPE_CHECKING:
    from mak.catalog import Edition

START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
CATALOG = Catalog.default()


def request_for(iid: InstallationId, key: ProductKey, aid: str) -> CidRequest:
    return CidRequest(installation_id=iid, extended_pid=extended_pid(key, aid))


def gvlk_of(fleet: SimulatedFleet, index: int) -> ProductKey:
    edition = fleet.computers[index].os_edition
    assert edition is not None
    return CATALOG.gvlk_for(edition)


@pytest.fixture
def computer(service: SimulatedClearinghouse, clock: FakeClock) -> SimulatedComputer:
    return SimulatedComputer(
        name="PC-1",
        windows=CATALOG.edition("Windows 11 Enterprise"),
        office=CATALOG.edition("Office LTSC Professional Plus 2024"),
        clock=clock,
        clearinghouse=service,
        seed="pc-1",
    )


def test_products_are_windows_and_office_with_guid_activation_ids(
    computer: SimulatedComputer,
) -> None:
    infos = computer.products()
    assert [i.family for i in infos] == [ProductFamily.WINDOWS_CLIENT, ProductFamily.OFFICE]
    assert infos[0].activation_id == activation_id_of(CATALOG.edition("Windows 11 Enterprise"))
    assert all(i.status is LicenseStatus.UNLICENSED and i.extended_pid is None for i in infos)


def test_a_key_goes_to_the_product_of_its_family(
    computer: SimulatedComputer, mak_key: ProductKey
) -> None:
    office_gvlk = CATALOG.gvlk_for("Office LTSC Professional Plus 2024")
    office_aid = computer.install_product_key(office_gvlk)
    windows_aid = computer.install_product_key(mak_key)
    windows, office = computer.products()
    assert (windows.activation_id, office.activation_id) == (windows_aid, office_aid)
    assert windows.license_state.channel is KeyChannel.MAK
    assert office.license_state.channel is KeyChannel.GVLK
    assert windows.extended_pid == extended_pid(mak_key, windows_aid)
    assert windows.status is LicenseStatus.OOB_GRACE


def test_a_key_of_a_family_not_installed_is_a_mismatched_sku(
    computer: SimulatedComputer, service: SimulatedClearinghouse
) -> None:
    server_mak = service.issue_mak(limit=5, family=ProductFamily.WINDOWS_SERVER)
    for key in (server_mak, CATALOG.gvlk_for("Windows Server 2022 Standard")):
        with pytest.raises(ServiceRejected) as caught:
            computer.install_product_key(key)
        assert caught.value.code == codes.MISMATCHED_SKU


def test_a_key_it_cannot_recognise_is_invalid(computer: SimulatedComputer) -> None:
    with pytest.raises(ServiceRejected) as caught:
        computer.install_product_key(ProductKey.parse("BCDFG-HJKMP-QRTVW-XY234-6789B"))
    assert caught.value.code == codes.INVALID_PRODUCT_KEY


def test_no_key_no_installation_id(computer: SimulatedComputer) -> None:
    aid = computer.products()[0].activation_id
    with pytest.raises(ServiceRejected) as caught:
        computer.installation_id(aid)
    assert caught.value.code == codes.NO_PRODUCT_KEY


def test_installation_id_survives_a_reimage_and_changes_with_the_hardware(
    computer: SimulatedComputer, mak_key: ProductKey
) -> None:
    aid = computer.install_product_key(mak_key)
    iid = computer.installation_id(aid)
    assert isinstance(iid, InstallationId)
    assert InstallationId.parse(str(iid)) == iid
    assert len(iid.digits) == 63
    computer.reimage()
    assert computer.license_state(aid).status is LicenseStatus.UNLICENSED
    assert computer.license_state(aid).partial_key is None
    computer.install_product_key(mak_key)
    assert computer.installation_id(aid) == iid
    computer.replace_hardware()
    assert computer.installation_id(aid) != iid


def test_new_hardware_and_reimages_draw_new_ids_the_same_way_for_the_same_seed(
    clock: FakeClock,
) -> None:
    def history(seed: str) -> list[tuple[str, str]]:
        windows = CATALOG.edition("Windows 11 Pro")
        pc = SimulatedComputer(name="PC", windows=windows, clock=clock, seed=seed)
        seen = [(pc.fingerprint, str(pc.cmid))]
        for change in (pc.replace_hardware, pc.reimage, pc.replace_hardware, pc.reimage):
            change()
            seen.append((pc.fingerprint, str(pc.cmid)))
        return seen

    seen = history("7")
    assert history("7") == seen  # reproducible from the seed
    # The values drawn when each computer kept its own random generator: the same still.
    assert seen[:3] == [
        ("63b3982ca3df0b36885f3e4bd0173379", "2a733e4f-6b9b-4265-b210-6f051d8d1241"),
        ("ada91a57450d625b87f1dc51202f380d", "2a733e4f-6b9b-4265-b210-6f051d8d1241"),
        ("ada91a57450d625b87f1dc51202f380d", "11fc7d3d-fb36-40d9-806d-39762328100e"),
    ]
    assert len({fingerprint for fingerprint, _ in seen}) == 3  # each new hardware is new
    assert len({cmid for _, cmid in seen}) == 3  # each reimage is a new KMS client
    assert history("8")[0] != seen[0]


def test_another_key_gives_its_own_installation_id_and_pid(
    computer: SimulatedComputer, service: SimulatedClearinghouse, mak_key: ProductKey
) -> None:
    # The computer keeps a product's IID and PID until its key or hardware changes.
    gvlk = CATALOG.gvlk_for("Windows 11 Enterprise")
    aid = computer.install_product_key(gvlk)
    gvlk_iid = computer.installation_id(aid)
    assert computer.products()[0].extended_pid == extended_pid(gvlk, aid)
    for key in (mak_key, service.issue_mak(limit=5, family=ProductFamily.WINDOWS_CLIENT)):
        computer.install_product_key(key)
        iid = computer.installation_id(aid)
        assert iid == simkeys.installation_id(computer.fingerprint, key, aid)
        assert iid != gvlk_iid
        assert computer.products()[0].extended_pid == extended_pid(key, aid)


def test_a_reimage_forgets_the_installation_id_and_pid(
    computer: SimulatedComputer, mak_key: ProductKey
) -> None:
    aid = computer.install_product_key(mak_key)
    computer.installation_id(aid)
    assert computer.products()[0].extended_pid is not None
    computer.reimage()
    with pytest.raises(ServiceRejected) as caught:
        computer.installation_id(aid)
    assert caught.value.code == codes.NO_PRODUCT_KEY
    assert computer.products()[0].extended_pid is None


def test_a_hardware_change_gives_the_new_fingerprints_installation_id(
    computer: SimulatedComputer, mak_key: ProductKey
) -> None:
    aid = computer.install_product_key(mak_key)
    old = computer.installation_id(aid)
    computer.replace_hardware()
    new = computer.installation_id(aid)
    assert new != old
    assert new == simkeys.installation_id(computer.fingerprint, mak_key, aid)


def test_the_clearinghouses_cid_activates_by_proxy(
    computer: SimulatedComputer, service: SimulatedClearinghouse, mak_key: ProductKey
) -> None:
    aid = computer.install_product_key(mak_key)
    iid = computer.installation_id(aid)
    [result] = service.acquire_confirmation_ids([request_for(iid, mak_key, aid)])
    assert result.confirmation_id is not None
    computer.deposit_confirmation_id(aid, iid, result.confirmation_id)
    state = computer.license_state(aid)
    assert state.status is LicenseStatus.LICENSED
    assert state.method is ActivationMethod.MAK_PROXY
    # Local reactivation: same hardware, same key, the same CID works again for free.
    computer.reimage()
    computer.install_product_key(mak_key)
    computer.deposit_confirmation_id(aid, computer.installation_id(aid), result.confirmation_id)
    assert computer.license_state(aid).status is LicenseStatus.LICENSED
    assert service.pool(mak_key).used == 1


def test_a_wrong_cid_is_a_mismatch_and_changes_nothing(
    computer: SimulatedComputer, mak_key: ProductKey
) -> None:
    aid = computer.install_product_key(mak_key)
    iid = computer.installation_id(aid)
    before = computer.license_state(aid)
    for cid in (make_confirmation_id(1), simkeys.confirmation_id(computer_iid_elsewhere(mak_key))):
        with pytest.raises(ServiceRejected) as caught:
            computer.deposit_confirmation_id(aid, iid, cid)
        assert caught.value.code == codes.CID_IID_MISMATCH
    assert computer.license_state(aid) == before


def computer_iid_elsewhere(key: ProductKey) -> InstallationId:
    return simkeys.installation_id("f" * 32, key, "2de67392-b7a7-462a-b1ca-108dd189f588")


def test_an_old_cid_after_a_hardware_change_is_refused(
    computer: SimulatedComputer, service: SimulatedClearinghouse, mak_key: ProductKey
) -> None:
    aid = computer.install_product_key(mak_key)
    old_iid = computer.installation_id(aid)
    [result] = service.acquire_confirmation_ids([request_for(old_iid, mak_key, aid)])
    assert result.confirmation_id is not None
    computer.deposit_confirmation_id(aid, old_iid, result.confirmation_id)
    computer.replace_hardware()
    assert computer.license_state(aid).status is LicenseStatus.OOT_GRACE
    with pytest.raises(ServiceRejected) as caught:
        computer.deposit_confirmation_id(aid, old_iid, result.confirmation_id)
    assert caught.value.code == codes.CID_IID_MISMATCH


def test_mak_independent_activation_charges_the_pool_once(
    computer: SimulatedComputer, service: SimulatedClearinghouse, mak_key: ProductKey
) -> None:
    aid = computer.install_product_key(mak_key)
    computer.activate(aid)
    computer.activate(aid)
    state = computer.license_state(aid)
    assert (state.status, state.method) == (
        LicenseStatus.LICENSED,
        ActivationMethod.MAK_INDEPENDENT,
    )
    assert service.pool(mak_key).used == 1
    assert [(c.method, c.count) for c in service.calls] == [("acquire_confirmation_ids", 1)] * 2


def test_a_refused_mak_activation_raises_its_code_and_is_recorded(
    computer: SimulatedComputer, service: SimulatedClearinghouse
) -> None:
    spent = service.issue_mak(limit=0, family=ProductFamily.WINDOWS_CLIENT)
    aid = computer.install_product_key(spent)
    with pytest.raises(ServiceRejected) as caught:
        computer.activate(aid)
    assert caught.value.code == codes.MAK_LIMIT_EXCEEDED
    assert computer.license_state(aid).reason == codes.MAK_LIMIT_EXCEEDED
    service.go_offline()
    with pytest.raises(TransportError):
        computer.activate(aid)


def test_kms_activation_waits_for_the_threshold(clients: SimulatedFleet, clock: FakeClock) -> None:
    endpoints = [clients.connect(c) for c in clients.computers]
    aids = [e.install_product_key(gvlk_of(clients, i)) for i, e in enumerate(endpoints)]
    for endpoint, aid in zip(endpoints[:24], aids[:24], strict=True):
        with pytest.raises(ServiceRejected) as caught:
            endpoint.activate(aid)
        assert caught.value.code == codes.KMS_COUNT_INSUFFICIENT
        assert endpoint.license_state(aid).status is LicenseStatus.OOB_GRACE
    endpoints[24].activate(aids[24])
    state = endpoints[24].license_state(aids[24])
    assert (state.status, state.method) == (LicenseStatus.LICENSED, ActivationMethod.KMS)
    assert state.licensed_until == clock.now() + dt.timedelta(days=180)
    assert clients.kms_host.host.count(clock.now()) == 25
    endpoints[0].activate(aids[0])  # the count is there now for everyone
    assert endpoints[0].license_state(aids[0]).status is LicenseStatus.LICENSED


def test_servers_need_five(service: SimulatedClearinghouse, clock: FakeClock) -> None:
    fleet = SimulatedFleet(6, seed=2, clearinghouse=service, clock=clock, server_share=1)
    assert all("-SRV-" in c.name for c in fleet.computers)
    outcomes: list[int | None] = []
    for i, computer in enumerate(fleet.computers):
        endpoint = fleet.connect(computer)
        aid = endpoint.install_product_key(gvlk_of(fleet, i))
        try:
            endpoint.activate(aid)
            outcomes.append(None)
        except ServiceRejected as error:
            outcomes.append(error.code)
    assert outcomes == [codes.KMS_COUNT_INSUFFICIENT] * 4 + [None, None]


def test_no_reachable_kms_host(clients: SimulatedFleet) -> None:
    endpoint = clients.connect(clients.computers[0])
    aid = endpoint.install_product_key(gvlk_of(clients, 0))
    endpoint.set_kms_endpoint(KmsEndpoint.parse("kms.elsewhere.invalid"))
    with pytest.raises(ServiceRejected) as caught:
        endpoint.activate(aid)
    assert caught.value.code == codes.KMS_UNAVAILABLE
    endpoint.set_kms_endpoint(clients.kms_host.endpoint)
    clients.kms_host.online = False
    with pytest.raises(ServiceRejected) as caught:
        endpoint.activate(aid)
    assert caught.value.code == codes.KMS_UNAVAILABLE
    alone = SimulatedComputer(
        name="ALONE", windows=CATALOG.edition("Windows 11 Pro"), clock=FakeClock(START)
    )
    alone_aid = alone.install_product_key(CATALOG.gvlk_for("Windows 11 Pro"))
    with pytest.raises(ServiceRejected) as caught:
        alone.activate(alone_aid)
    assert caught.value.code == codes.KMS_UNAVAILABLE


def test_activating_without_a_key_is_refused(computer: SimulatedComputer) -> None:
    aid = computer.products()[0].activation_id
    with pytest.raises(ServiceRejected) as caught:
        computer.activate(aid)
    assert caught.value.code == codes.NO_PRODUCT_KEY


def test_depositing_a_cid_on_a_gvlk_product_is_the_wrong_key_type(
    computer: SimulatedComputer,
) -> None:
    aid = computer.install_product_key(CATALOG.gvlk_for("Windows 11 Enterprise"))
    iid = computer.installation_id(aid)
    with pytest.raises(ServiceRejected) as caught:
        computer.deposit_confirmation_id(aid, iid, simkeys.confirmation_id(iid))
    assert caught.value.code == codes.INVALID_KEY_TYPE


def test_license_state_runs_the_timers(
    computer: SimulatedComputer, clock: FakeClock, mak_key: ProductKey
) -> None:
    aid = computer.install_product_key(mak_key)
    clock.advance(dt.timedelta(days=31))
    assert computer.license_state(aid).status is LicenseStatus.NOTIFICATION
    computer.activate(aid)
    assert computer.license_state(aid).status is LicenseStatus.LICENSED


def test_an_unreachable_computer_raises_transport_errors(computer: SimulatedComputer) -> None:
    computer.unreachable = True
    with pytest.raises(TransportError):
        computer.products()
    with pytest.raises(TransportError):
        computer.set_kms_endpoint(None)
    computer.unreachable = False
    assert computer.products()


def test_unknown_activation_ids_are_not_found(computer: SimulatedComputer) -> None:
    with pytest.raises(NotFound):
        computer.license_state("00000000-0000-4000-8000-000000000000")


# --- the contract --------------------------------------------------------------------------


class TestSimulatedComputerWithAGvlk(ComputerEndpointContract):
    @pytest.fixture
    def endpoint(self) -> SimulatedComputer:
        return SimulatedComputer(
            name="CONTRACT-PC",
            windows=CATALOG.edition("Windows 11 Pro"),
            office=CATALOG.edition("Office LTSC Standard 2024"),
            clock=FakeClock(START),
            seed="contract",
        )

    @pytest.fixture
    def product_key(self) -> ProductKey:
        return CATALOG.gvlk_for("Windows 11 Pro")


class TestSimulatedComputerWithAMak(ComputerEndpointContract):
    @pytest.fixture
    def service(self) -> SimulatedClearinghouse:
        return SimulatedClearinghouse(seed=5)

    @pytest.fixture
    def endpoint(self, service: SimulatedClearinghouse) -> SimulatedComputer:
        return SimulatedComputer(
            name="CONTRACT-SRV",
            windows=CATALOG.edition("Windows Server 2025 Standard"),
            clock=FakeClock(START),
            clearinghouse=service,
            seed="contract-srv",
        )

    @pytest.fixture
    def product_key(self, service: SimulatedClearinghouse) -> ProductKey:
        return service.issue_mak(limit=5, family=ProductFamily.WINDOWS_SERVER)


# --- the kept last transition ---------------------------------------------------------------


def _transitions() -> list[tuple[LicenseState, Event]]:
    """Snapshots along a product's life, each with the events a computer applies to them."""
    key = CATALOG.gvlk_for("Windows 11 Pro")
    installed = step(LicenseState.new(), KeyInstalled(key, KeyChannel.GVLK), now=START)
    kms = step(installed, Activated(ActivationMethod.KMS, at=START), now=START)
    events: list[Event] = [
        KeyInstalled(key, KeyChannel.GVLK),
        KeyInstalled(key, KeyChannel.MAK),
        Activated(ActivationMethod.KMS, at=START),
        Activated(ActivationMethod.MAK_PROXY, at=START),
        ActivationFailed(codes.KMS_UNAVAILABLE),
        HardwareChanged(beyond_tolerance=True),
    ]
    return [(state, event) for state in (LicenseState.new(), installed, kms) for event in events]


def _general_path(state: LicenseState, event: Event, now: dt.datetime) -> LicenseState | str:
    try:
        return step(advance(state, now), event, now=now)
    except IllegalTransition as error:
        return f"refused: {error}"


def _kept_path(state: LicenseState, event: Event, now: dt.datetime) -> LicenseState | str:
    try:
        return computer_module._next_state(state, event, now)  # pyright: ignore[reportPrivateUsage]  # the fast path under test
    except IllegalTransition as error:
        return f"refused: {error}"


@pytest.mark.parametrize("later", [dt.timedelta(0), dt.timedelta(days=200)])
def test_the_kept_transition_gives_what_step_gives(later: dt.timedelta) -> None:
    now = START + later  # 200 days on: every timer has run out first
    cases = _transitions()
    for state, event in cases:
        expected = _general_path(state, event, now)
        assert _kept_path(state, event, now) == expected  # computed
        assert _kept_path(state, event, now) == expected  # kept, when it was not refused
        # Another snapshot or event at the very same clock reading must not get the kept
        # one: each pair is asked right after (state, event) was kept.
        for other_state, other_event in cases:
            assert _kept_path(other_state, other_event, now) == _general_path(
                other_state, other_event, now
            )
            _kept_path(state, event, now)


def test_the_kept_transition_is_not_given_at_another_time_or_to_another_snapshot() -> None:
    windows = CATALOG.edition("Windows 11 Pro")
    event = KeyInstalled(windows.gvlk, KeyChannel.GVLK)
    # The key installed ten days before: installing it again now keeps that grace's end.
    installed = step(LicenseState.new(), event, now=START - dt.timedelta(days=10))
    _kept_path(LicenseState.new(), event, START)
    assert _kept_path(installed, event, START) == _general_path(installed, event, START)
    # Two computers from the one shared fresh snapshot, the same key, three days apart.
    clock = FakeClock(START)
    first = SimulatedComputer(name="A", windows=windows, clock=clock, seed="a")
    second = SimulatedComputer(name="B", windows=windows, clock=clock, seed="b")
    product = first.install_product_key(windows.gvlk)
    clock.advance(dt.timedelta(days=3))
    second.install_product_key(windows.gvlk)
    assert second.license_state(product) == step(LicenseState.new(), event, now=clock.now())


def test_products_given_the_same_key_at_once_share_one_snapshot(
    clients: SimulatedFleet, mak_key: ProductKey, clock: FakeClock
) -> None:
    computers = [clients.endpoint(c.id) for c in clients.computers[:3]]
    aids = [computer.install_product_key(mak_key) for computer in computers]
    states = [computer.license_state(aid) for computer, aid in zip(computers, aids, strict=True)]
    assert states[0] is states[1] is states[2]
    installed = KeyInstalled(mak_key, KeyChannel.MAK)
    assert states[0] == step(LicenseState.new(), installed, now=clock.now())


@pytest.mark.parametrize(
    "edition", [e for family in ProductFamily for e in CATALOG.editions(family)], ids=str
)
def test_products_report_what_a_checked_product_info_holds(edition: Edition) -> None:
    windows = CATALOG.edition("Windows 11 Pro")
    office = edition if edition.family is ProductFamily.OFFICE else None
    pc = SimulatedComputer(
        name="PC-1", windows=windows if office else edition, office=office, clock=FakeClock(START)
    )
    gvlk = edition.gvlk
    if gvlk is not None:
        pc.install_product_key(gvlk)
    for info in pc.products():
        checked = ProductInfo(
            activation_id=info.activation_id,
            name=info.name,
            family=info.family,
            license_state=info.license_state,
            extended_pid=info.extended_pid,
        )
        assert info == checked
        assert repr(info) == repr(checked)


def test_an_edition_of_another_kind_is_checked_as_it_is_reported() -> None:
    @attrs.frozen
    class LooseEdition:
        name: str
        family: ProductFamily

    loose = cast("Edition", LooseEdition("Windows\n11", ProductFamily.WINDOWS_CLIENT))
    pc = SimulatedComputer(name="PC-1", windows=loose, clock=FakeClock(START))
    with pytest.raises(InvalidFormat, match="product name"):
        pc.products()


def test_equal_copies_of_the_minted_ids_deposit_as_the_ids_themselves(
    clients: SimulatedFleet, service: SimulatedClearinghouse, mak_key: ProductKey
) -> None:
    pc = clients.endpoint(clients.computers[0].id)
    aid = pc.install_product_key(mak_key)
    iid = pc.installation_id(aid)
    [result] = service.acquire_confirmation_ids([request_for(iid, mak_key, aid)])
    assert result.confirmation_id is not None
    copy_of_iid = InstallationId.parse(str(iid))
    copy_of_cid = ConfirmationId.parse(str(result.confirmation_id))
    assert copy_of_iid is not iid
    assert copy_of_cid is not result.confirmation_id
    pc.deposit_confirmation_id(aid, copy_of_iid, copy_of_cid)
    assert pc.license_state(aid).status is LicenseStatus.LICENSED
