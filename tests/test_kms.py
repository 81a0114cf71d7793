"""mak.kms (issue 4): the KMS host's count, the host key limit, client timing, endpoints.

Expected values come from the rules of domain-facts §3 (thresholds 25/5/5, a 30-day CMID
lifetime, a cache of twice the highest threshold seen, host keys 6 x 10, intervals of
15 minutes to 30 days, port 1688, ``_vlmcs._tcp``), written out here, not read from the
module.
"""

from __future__ import annotations

import datetime as dt
import pickle
import uuid
from typing import Any

import attrs
import pytest

from mak import codes
from mak.catalog import ProductFamily
from mak.errors import (
    ActivationError,
    CsvlkLimitExceeded,
    InvalidComponent,
    InvalidFormat,
    MakError,
    ValidationError,
    redact,
)
from mak.keys import ProductKey
from mak.kms import (
    CMID_LIFETIME,
    KMS_PORT,
    CmidEntry,
    CsvlkPool,
    KmsClientPolicy,
    KmsEndpoint,
    KmsHost,
    KmsResponse,
    srv_record,
)
from mak.lifecycle import (
    Activated,
    ActivationMethod,
    KeyChannel,
    KeyInstalled,
    LicenseState,
    LicenseStatus,
    Renewed,
    advance,
    step,
)
from mak.serialization import make_converter

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
TICK = dt.timedelta(microseconds=1)
T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

CLIENT = ProductFamily.WINDOWS_CLIENT
SERVER = ProductFamily.WINDOWS_SERVER
OFFICE = ProductFamily.OFFICE
INSUFFICIENT = 0xC004F038  # SL_E_VL_NOT_ENOUGH_COUNT
HOST_LIMIT = 0xC004C008  # SL_E_CHPA_MAXIMUM_UNLOCK_EXCEEDED


def cmid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def ask(
    host: KmsHost, numbers: range | list[int], family: ProductFamily, at: dt.datetime = T0
) -> tuple[KmsHost, list[KmsResponse]]:
    """Let the CMIDs numbered *numbers* ask *host* in turn, all at *at*."""
    answers: list[KmsResponse] = []
    for n in numbers:
        answer = host.request(cmid(n), family, at)
        host = answer.host
        answers.append(answer)
    return host, answers


# --- thresholds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "threshold"), [(CLIENT, 25), (SERVER, 5), (OFFICE, 5)], ids=str
)
def test_the_nth_distinct_client_activates_and_the_one_before_does_not(
    family: ProductFamily, threshold: int
) -> None:
    _, answers = ask(KmsHost(), range(1, threshold + 1), family)
    below, at_threshold = answers[-2], answers[-1]
    assert below == KmsResponse(activated=False, count=threshold - 1, code=INSUFFICIENT)
    assert at_threshold == KmsResponse(activated=True, count=threshold, code=None)
    assert [a.activated for a in answers] == [False] * (threshold - 1) + [True]


def test_the_24th_windows_client_is_refused_and_the_25th_activates() -> None:
    host, answers = ask(KmsHost(), range(1, 25), CLIENT)
    assert answers[-1].count == 24
    assert not answers[-1].activated
    assert answers[-1].code == codes.KMS_COUNT_INSUFFICIENT == INSUFFICIENT
    answer = host.request(cmid(25), CLIENT, T0)
    assert (answer.activated, answer.count, answer.code) == (True, 25, None)


def test_clients_keep_activating_above_the_threshold() -> None:
    _, answers = ask(KmsHost(), range(1, 41), CLIENT)
    assert all(a.activated for a in answers[24:])
    assert [a.count for a in answers] == list(range(1, 41))


# --- the count is cumulative across families --------------------------------------------------


def test_servers_raise_the_count_windows_clients_see() -> None:
    host, clients = ask(KmsHost(), range(1, 21), CLIENT)
    assert not any(a.activated for a in clients)
    host, servers = ask(host, range(101, 105), SERVER)
    assert [a.count for a in servers] == [21, 22, 23, 24]
    assert all(a.activated for a in servers)  # 5 or more is enough for a server
    answer = host.request(cmid(21), CLIENT, T0)
    assert (answer.count, answer.activated) == (25, True)


def test_office_and_windows_clients_count_for_a_server() -> None:
    host, _ = ask(KmsHost(), range(1, 3), OFFICE)
    host, _ = ask(host, range(3, 5), CLIENT)
    answer = host.request(cmid(5), SERVER, T0)
    assert (answer.count, answer.activated) == (5, True)


def test_servers_first_then_windows_clients() -> None:
    host, _ = ask(KmsHost(), range(1, 11), SERVER)  # fills the first cache of 10
    host, answers = ask(host, range(11, 26), CLIENT)
    assert [a.count for a in answers] == list(range(11, 26))
    assert answers[-1].activated
    assert not answers[-2].activated


# --- 30 days ----------------------------------------------------------------------------------


def test_a_client_seen_exactly_30_days_ago_still_counts() -> None:
    host, _ = ask(KmsHost(), range(1, 25), CLIENT, T0)
    assert host.count(T0 + 30 * DAY) == 24
    answer = host.request(cmid(25), CLIENT, T0 + 30 * DAY)
    assert (answer.count, answer.activated) == (25, True)


def test_a_client_silent_for_more_than_30_days_no_longer_counts() -> None:
    host, _ = ask(KmsHost(), range(1, 25), CLIENT, T0)
    assert host.count(T0 + 30 * DAY + TICK) == 0
    assert host.count(T0 + 31 * DAY) == 0
    answer = host.request(cmid(25), CLIENT, T0 + 31 * DAY)
    later = answer.host
    assert (answer.count, answer.activated, answer.code) == (1, False, INSUFFICIENT)
    assert [e.cmid for e in later.entries] == [cmid(25)]  # the silent ones are gone


def test_the_lifetime_is_30_days() -> None:
    assert dt.timedelta(days=30) == CMID_LIFETIME


def test_a_renewal_restarts_the_30_days() -> None:
    host, _ = ask(KmsHost(), [1, 2], SERVER, T0)
    answer = host.request(cmid(1), SERVER, T0 + 20 * DAY)
    host = answer.host
    assert answer.count == 2  # a renewal does not raise the count
    assert host.count(T0 + 45 * DAY) == 1  # CMID 2 is 45 days old, CMID 1 only 25
    assert host.count(T0 + 50 * DAY) == 1
    assert host.count(T0 + 50 * DAY + TICK) == 0
    assert [e.cmid for e in host.entries] == [cmid(2), cmid(1)]  # least recent first
    assert host.entries[-1].last_seen == T0 + 20 * DAY


def test_clones_that_were_not_generalized_do_not_raise_the_count() -> None:
    host, answers = ask(KmsHost(), [7] * 30, CLIENT)
    assert {a.count for a in answers} == {1}
    assert not any(a.activated for a in answers)
    assert len(host.entries) == 1


def test_a_site_with_clones_needs_25_distinct_cmids() -> None:
    clones = [1] * 10 + list(range(2, 25)) * 2  # 24 distinct CMIDs in 56 requests
    host, answers = ask(KmsHost(), clones, CLIENT)
    assert answers[-1].count == 24
    assert not answers[-1].activated
    answer = host.request(cmid(25), CLIENT, T0)
    assert answer.activated


# --- the cache ----------------------------------------------------------------------------------


def test_the_cache_grows_from_10_to_50_when_a_windows_client_first_asks() -> None:
    host = KmsHost()
    assert host.cache_size == 10
    host, _ = ask(host, [1], SERVER)
    assert host.cache_size == 10
    host, _ = ask(host, [2], OFFICE)
    assert host.cache_size == 10
    host, _ = ask(host, [3], CLIENT)
    assert host.cache_size == 50


def test_the_cache_never_shrinks() -> None:
    host, _ = ask(KmsHost(), [1], CLIENT, T0)
    host, _ = ask(host, [2], SERVER, T0 + 100 * DAY)  # every Windows client long gone
    assert host.cache_size == 50
    assert host.count(T0 + 100 * DAY) == 1


def test_a_full_cache_drops_the_least_recently_seen_cmid_before_30_days() -> None:
    host, _ = ask(KmsHost(), range(10), SERVER, T0)  # a full cache of 10
    host, _ = ask(host, [0], SERVER, T0 + DAY)  # CMID 0 renews: CMID 1 is now the oldest
    answer = host.request(cmid(10), SERVER, T0 + 2 * DAY)
    host = answer.host
    assert answer.count == 10
    assert cmid(1) not in {e.cmid for e in host.entries}  # gone after 2 days, not 30
    assert cmid(0) in {e.cmid for e in host.entries}
    assert [e.cmid for e in host.entries][-2:] == [cmid(0), cmid(10)]


def test_the_count_never_exceeds_the_cache() -> None:
    host, answers = ask(KmsHost(), range(30), SERVER)
    assert max(a.count for a in answers) == 10
    host, answers = ask(host, range(100, 170), CLIENT)
    assert max(a.count for a in answers) == 50
    assert len(host.entries) == 50


def test_growing_the_cache_makes_room_before_anything_falls_out() -> None:
    host, _ = ask(KmsHost(), range(10), SERVER)
    answer = host.request(cmid(99), CLIENT, T0)
    host = answer.host
    assert answer.count == 11
    assert {e.cmid for e in host.entries} == {*map(cmid, range(10)), cmid(99)}


# --- purity, time ------------------------------------------------------------------------------


def test_requests_are_deterministic_and_leave_the_host_unchanged() -> None:
    def run() -> tuple[KmsHost, list[KmsResponse]]:
        host = KmsHost()
        answers: list[KmsResponse] = []
        for n in range(60):
            family = (CLIENT, SERVER, OFFICE)[n % 3]
            answer = host.request(cmid(n % 37), family, T0 + n * DAY / 3)
            host = answer.host
            answers.append(answer)
        return host, answers

    assert run() == run()
    empty = KmsHost()
    empty.request(cmid(1), CLIENT, T0)
    assert empty == KmsHost()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        empty.cache_size = 50  # type: ignore[misc]  # frozen on purpose


def test_requests_at_the_same_moment_are_fine_but_time_never_goes_backwards() -> None:
    host, _ = ask(KmsHost(), [1, 2], SERVER, T0)
    assert host.last_request_at == T0
    with pytest.raises(InvalidComponent, match=r"time never goes backwards") as caught:
        host.request(cmid(3), SERVER, T0 - TICK)
    assert "2026-01-05T08:59:59.999999+00:00" in str(caught.value)
    with pytest.raises(InvalidComponent, match=r"earlier than the host's last request"):
        host.count(T0 - DAY)


def test_times_come_back_in_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    host = KmsHost().request(cmid(1), SERVER, dt.datetime(2026, 1, 5, 10, 0, tzinfo=paris)).host
    last = host.last_request_at
    assert last == T0
    assert last is not None
    assert last.tzinfo is UTC


@pytest.mark.parametrize(
    ("arguments", "error", "fragment"),
    [
        ((str(cmid(1)), SERVER, T0), InvalidFormat, "expected a UUID, got str"),
        ((1, SERVER, T0), InvalidFormat, "expected a UUID, got int"),
        ((cmid(1), "windows-server", T0), InvalidComponent, "expected a ProductFamily"),
        ((cmid(1), SERVER, T0.replace(tzinfo=None)), InvalidComponent, "is naive"),
        ((cmid(1), SERVER, "2026-01-05"), InvalidComponent, "expected a datetime, got str"),
    ],
)
def test_bad_requests_raise_mak_errors(
    arguments: tuple[Any, Any, Any], error: type[MakError], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        KmsHost().request(*arguments)


def test_a_naive_count_time_is_refused() -> None:
    with pytest.raises(InvalidComponent, match="is naive"):
        KmsHost().count(T0.replace(tzinfo=None))


# --- building hosts and responses directly ----------------------------------------------------


def entry(n: int, at: dt.datetime = T0) -> CmidEntry:
    return CmidEntry(cmid(n), at)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"cache_size": 12}, InvalidComponent, r"twice a product family's KMS threshold \(10 or 50\)"),
        ({"cache_size": True}, InvalidComponent, "KMS cache size"),
        ({"entries": [entry(1)]}, InvalidFormat, "must be a tuple, got list"),
        ({"entries": ("x",)}, InvalidFormat, r"entries\[0\].*must be a CmidEntry"),
        ({"entries": (entry(1), entry(1))}, InvalidComponent, r"entries\[1\].*listed twice"),
        ({"entries": (entry(1, T0 + DAY), entry(2))}, InvalidComponent, "least recent first"),
        ({"entries": tuple(map(entry, range(11)))}, InvalidComponent, "holds 11 CMIDs; the cache holds at most 10"),
    ],
)  # fmt: skip
def test_a_host_refuses_an_inconsistent_cache(
    kwargs: dict[str, Any], error: type[MakError], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        KmsHost(**kwargs)


def test_a_host_of_50_holds_50() -> None:
    host = KmsHost(50, tuple(map(entry, range(50))))
    assert host.count(T0) == 50


def test_a_cmid_entry_checks_its_fields() -> None:
    with pytest.raises(InvalidFormat, match="expected a UUID"):
        CmidEntry("not a uuid", T0)  # type: ignore[arg-type]  # checked at run time
    with pytest.raises(InvalidComponent, match=r"'last_seen' \(is naive"):
        CmidEntry(cmid(1), T0.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"activated": True, "count": 25, "code": INSUFFICIENT}, "an activation carries no code"),
        ({"activated": False, "count": 3}, "a refusal carries its HRESULT"),
        ({"activated": False, "count": 3, "code": -1}, "unsigned 32-bit"),
        ({"activated": False, "count": 3, "code": True}, "unsigned 32-bit"),
        ({"activated": False, "count": -1, "code": INSUFFICIENT}, "0 or more"),
        ({"activated": False, "count": True, "code": INSUFFICIENT}, "0 or more"),
        ({"activated": 1, "count": 3, "code": INSUFFICIENT}, "True or False"),
    ],
)
def test_a_response_is_consistent(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidComponent, match=fragment):
        KmsResponse(**kwargs)


def test_a_response_shows_its_code_in_hex() -> None:
    assert repr(KmsResponse(False, 4, INSUFFICIENT)) == (
        "KmsResponse(activated=False, count=4, code=0xC004F038)"
    )
    assert repr(KmsResponse(True, 25)) == "KmsResponse(activated=True, count=25, code=None)"


# --- the host key ------------------------------------------------------------------------------


def test_a_host_key_activates_six_hosts_and_refuses_a_seventh() -> None:
    pool = CsvlkPool()
    for n in range(1, 7):
        pool = pool.activate(f"kms{n}")
    assert pool.hosts == tuple(f"kms{n}" for n in range(1, 7))
    assert pool.remaining_for("kms7") == 0
    with pytest.raises(CsvlkLimitExceeded) as caught:
        pool.activate("kms7")
    error = caught.value
    assert (error.code, error.host, error.hosts, error.activations) == (HOST_LIMIT, "kms7", 6, 0)
    assert (error.max_hosts, error.activations_per_host) == (6, 10)
    assert str(error) == (
        "KMS host key activation limit exceeded: 'kms7' would be host 7 of at most 6 (0xC004C008)"
    )


def test_a_host_key_activates_one_host_ten_times_and_refuses_the_eleventh() -> None:
    pool = CsvlkPool()
    for done in range(10):
        assert pool.remaining_for("kms1") == 10 - done
        pool = pool.activate("kms1")
    assert pool.activations_of("kms1") == 10
    assert pool.remaining_for("kms1") == 0
    with pytest.raises(CsvlkLimitExceeded, match="'kms1' has used all 10 activations") as caught:
        pool.activate("kms1")
    assert caught.value.activations == 10
    assert pool.activate("kms2").activations_of("kms2") == 1  # another host still can


def test_the_full_allowance_is_60_activations() -> None:
    pool = CsvlkPool()
    for n in range(60):
        pool = pool.activate(f"kms{n % 6}")
    assert len(pool.activations) == 60
    assert all(pool.remaining_for(host) == 0 for host in [*pool.hosts, "kms9"])


def test_an_activation_center_exception_is_modelled_by_raising_the_limits() -> None:
    pool = CsvlkPool(activations=tuple(f"kms{n}" for n in range(6)))
    raised = attrs.evolve(pool, max_hosts=7)
    assert raised.activate("kms6").hosts[-1] == "kms6"
    assert (
        CsvlkPool(activations_per_host=11, activations=("a",) * 10)
        .activate("a")
        .activations_of("a")
        == 11
    )


def test_the_host_key_error_is_an_activation_error_and_pickles() -> None:
    error = CsvlkLimitExceeded(
        host="kms1", activations=10, hosts=1, max_hosts=6, activations_per_host=10
    )
    assert isinstance(error, ActivationError)
    assert not isinstance(error, ValueError)
    again = pickle.loads(pickle.dumps(error))  # noqa: S301  # our own bytes
    assert (str(again), again.code, again.host) == (str(error), HOST_LIMIT, "kms1")
    assert HOST_LIMIT == codes.KMS_HOST_LIMIT_EXCEEDED


def test_a_key_pasted_as_a_host_name_never_shows() -> None:
    key = "W269N-WFGWX-YVC9B-4J6C9-T83GX"
    pool = CsvlkPool(activations=tuple(f"kms{n}" for n in range(6)))
    with pytest.raises(CsvlkLimitExceeded) as caught:
        pool.activate(key)
    assert key not in str(caught.value)
    assert key not in caught.value.host


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"max_hosts": 0}, InvalidComponent, "'max_hosts' .*1 or more"),
        ({"activations_per_host": True}, InvalidComponent, "'activations_per_host'"),
        ({"activations": ["kms1"]}, InvalidFormat, "must be a tuple, got list"),
        ({"activations": ("kms1", "")}, InvalidFormat, r"activations\[1\].*is not a name"),
        ({"activations": (1,)}, InvalidFormat, r"host '<int>' is not a name"),
        ({"activations": tuple("abcdefg")}, InvalidComponent, r"activations\[6\]"),
        ({"activations": ("a",) * 11}, InvalidComponent, r"activations\[10\]"),
    ],
)
def test_a_pool_refuses_what_the_limits_forbid(
    kwargs: dict[str, Any], error: type[MakError], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        CsvlkPool(**kwargs)


def test_a_pool_refuses_a_blank_host() -> None:
    with pytest.raises(InvalidFormat, match="is not a name"):
        CsvlkPool().activate("  ")


# --- client timing ------------------------------------------------------------------------------

MIN = dt.timedelta(minutes=15)
MAX = dt.timedelta(days=30)


def test_policy_defaults() -> None:
    policy = KmsClientPolicy()
    assert policy.activation_interval == dt.timedelta(minutes=120)
    assert policy.renewal_interval == dt.timedelta(days=7) == dt.timedelta(minutes=10080)
    assert policy.validity == dt.timedelta(days=180)


@pytest.mark.parametrize("field", ["activation_interval", "renewal_interval"])
@pytest.mark.parametrize("value", [MIN, MAX, dt.timedelta(hours=1)])
def test_intervals_within_15_minutes_and_30_days_are_accepted(
    field: str, value: dt.timedelta
) -> None:
    assert getattr(KmsClientPolicy(**{field: value}), field) == value


@pytest.mark.parametrize("field", ["activation_interval", "renewal_interval"])
@pytest.mark.parametrize("value", [MIN - TICK, MAX + TICK, dt.timedelta(0), -MIN])
def test_intervals_one_tick_outside_are_refused_naming_the_field_and_bounds(
    field: str, value: dt.timedelta
) -> None:
    with pytest.raises(InvalidComponent) as caught:
        KmsClientPolicy(**{field: value})
    message = str(caught.value)
    assert message.startswith(f"Invalid KMS client policy: '{field}' ")
    assert "from 15 minutes to 30 days" in message
    assert str(value) in message


@pytest.mark.parametrize("value", [120, "2h", None])
def test_an_interval_must_be_a_timedelta(value: object) -> None:
    with pytest.raises(InvalidComponent, match="must be a timedelta"):
        KmsClientPolicy(activation_interval=value)  # type: ignore[arg-type]  # checked at run time


def test_validity_is_not_an_interval_but_must_be_positive() -> None:
    assert KmsClientPolicy(validity=dt.timedelta(minutes=1)).validity == dt.timedelta(minutes=1)
    assert KmsClientPolicy(validity=dt.timedelta(days=365)).validity.days == 365
    for bad in (dt.timedelta(0), -DAY, 180):
        with pytest.raises(InvalidComponent, match=r"'validity' .*positive timedelta"):
            KmsClientPolicy(validity=bad)  # type: ignore[arg-type]  # checked at run time


GVLK = ProductKey.parse("NPPR9-FWDCX-D2C8J-H872K-2YT43")
NOW = T0 + 10 * DAY


def kms_state(last_renewal: dt.datetime) -> LicenseState:
    return LicenseState(
        status=LicenseStatus.LICENSED,
        channel=KeyChannel.GVLK,
        partial_key="2YT43",
        method=ActivationMethod.KMS,
        activated_at=last_renewal,
        licensed_until=last_renewal + 180 * DAY,
    )


GRACE_STATUSES = {
    LicenseStatus.OOB_GRACE,
    LicenseStatus.OOT_GRACE,
    LicenseStatus.NON_GENUINE_GRACE,
    LicenseStatus.EXTENDED_GRACE,
}


def gvlk_state(status: LicenseStatus) -> LicenseState:
    ends = NOW + 10 * DAY if status in GRACE_STATUSES else None
    return LicenseState(
        status=status, channel=KeyChannel.GVLK, partial_key="2YT43", grace_ends_at=ends
    )


def licensed(channel: KeyChannel | None, method: ActivationMethod) -> LicenseState:
    return LicenseState(
        status=LicenseStatus.LICENSED, channel=channel, partial_key="T83GX", method=method
    )


TWO_HOURS = dt.timedelta(hours=2)
NEXT_CONTACT = [
    # id, state, expected (None: not a KMS client)
    ("activated-now", kms_state(NOW), NOW + 7 * DAY),
    ("renewed-3-days-ago", kms_state(NOW - 3 * DAY), NOW + 4 * DAY),
    ("renewal-due-now", kms_state(NOW - 7 * DAY), NOW),
    ("renewal-overdue-by-a-tick", kms_state(NOW - 7 * DAY - TICK), NOW + TWO_HOURS),
    ("renewal-overdue-by-a-month", kms_state(NOW - 37 * DAY), NOW + TWO_HOURS),
    ("oob-grace", gvlk_state(LicenseStatus.OOB_GRACE), NOW + TWO_HOURS),
    ("oot-grace", gvlk_state(LicenseStatus.OOT_GRACE), NOW + TWO_HOURS),
    ("non-genuine-grace", gvlk_state(LicenseStatus.NON_GENUINE_GRACE), NOW + TWO_HOURS),
    ("notification", gvlk_state(LicenseStatus.NOTIFICATION), NOW + TWO_HOURS),
    ("extended-grace", gvlk_state(LicenseStatus.EXTENDED_GRACE), NOW + TWO_HOURS),
    ("unlicensed-gvlk", gvlk_state(LicenseStatus.UNLICENSED), NOW + TWO_HOURS),
    ("no-key", LicenseState.new(), None),
    ("mak", licensed(KeyChannel.MAK, ActivationMethod.MAK_PROXY), None),
    ("mak-in-grace", LicenseState(status=LicenseStatus.OOB_GRACE, channel=KeyChannel.MAK, partial_key="6789B", grace_ends_at=NOW + DAY), None),
    ("retail", licensed(KeyChannel.RETAIL, ActivationMethod.RETAIL_ONLINE), None),
    ("csvlk", licensed(KeyChannel.CSVLK, ActivationMethod.RETAIL_ONLINE), None),
    ("adba", attrs.evolve(kms_state(NOW), method=ActivationMethod.ADBA), None),
    ("token", licensed(KeyChannel.GVLK, ActivationMethod.TOKEN), None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("state", "expected"),
    [case[1:] for case in NEXT_CONTACT],
    ids=[case[0] for case in NEXT_CONTACT],
)
def test_next_contact(state: LicenseState, expected: dt.datetime | None) -> None:
    found = KmsClientPolicy().next_contact(state, NOW)
    assert found == expected
    if found is not None:
        assert found >= NOW
        assert found.tzinfo is UTC


def test_next_contact_follows_the_policy() -> None:
    policy = KmsClientPolicy(
        activation_interval=MIN, renewal_interval=DAY, validity=dt.timedelta(days=90)
    )
    last_renewal = NOW - dt.timedelta(hours=6)
    state = kms_state(last_renewal)  # however long the lifecycle's validity is
    assert policy.next_contact(state, NOW) == last_renewal + DAY
    assert policy.next_contact(gvlk_state(LicenseStatus.OOB_GRACE), NOW) == NOW + MIN


def test_next_contact_through_the_lifecycle() -> None:
    policy = KmsClientPolicy()
    state = step(LicenseState.new(), KeyInstalled(GVLK, KeyChannel.GVLK), now=T0)
    assert policy.next_contact(state, T0) == T0 + TWO_HOURS
    state = step(state, Activated(ActivationMethod.KMS, at=T0), now=T0)
    assert policy.next_contact(state, T0 + DAY) == T0 + 7 * DAY
    state = step(state, Renewed(at=T0 + 7 * DAY), now=T0 + 7 * DAY)
    assert policy.next_contact(state, T0 + 8 * DAY) == T0 + 14 * DAY
    lapsed = advance(state, T0 + 187 * DAY)
    assert lapsed.status is LicenseStatus.OOT_GRACE
    assert policy.next_contact(lapsed, T0 + 187 * DAY) == T0 + 187 * DAY + TWO_HOURS


def test_next_contact_is_in_utc_and_needs_an_aware_now() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    found = KmsClientPolicy().next_contact(
        gvlk_state(LicenseStatus.OOB_GRACE), NOW.astimezone(tokyo)
    )
    assert found == NOW + TWO_HOURS
    assert found is not None
    assert found.tzinfo is UTC
    with pytest.raises(InvalidComponent, match=r"'now' \(is naive"):
        KmsClientPolicy().next_contact(kms_state(NOW), NOW.replace(tzinfo=None))


def test_a_kms_activation_without_a_last_contact_is_refused() -> None:
    state = attrs.evolve(kms_state(NOW), activated_at=None)
    with pytest.raises(InvalidComponent, match="activated_at"):
        KmsClientPolicy().next_contact(state, NOW)


def test_next_contact_follows_a_lifecycle_with_another_validity() -> None:
    from mak.lifecycle import GracePolicy  # noqa: PLC0415

    short = GracePolicy(kms_validity=90 * DAY)
    state = step(
        LicenseState.new(short), KeyInstalled(GVLK, KeyChannel.GVLK), now=T0, policy=short
    )
    state = step(state, Activated(ActivationMethod.KMS, at=T0), now=T0, policy=short)
    assert KmsClientPolicy().next_contact(state, T0 + DAY) == T0 + 7 * DAY


# --- endpoints ------------------------------------------------------------------------------------

LONGEST_NAME = ".".join(["a" * 63] * 3) + "." + "e" * 61  # 253 characters
VALID_ENDPOINTS = [
    # input; then host, port and what str() gives (None: "host:port")
    ("kms.contoso.com:1688", "kms.contoso.com", 1688, "kms.contoso.com:1688"),
    ("kms.contoso.com", "kms.contoso.com", 1688, "kms.contoso.com:1688"),
    ("  KMS01.Contoso.COM:1700\n", "kms01.contoso.com", 1700, "kms01.contoso.com:1700"),
    ("kms", "kms", 1688, "kms:1688"),
    ("kms-01", "kms-01", 1688, "kms-01:1688"),
    ("localhost:1", "localhost", 1, "localhost:1"),
    ("kms:65535", "kms", 65535, "kms:65535"),
    ("kms:01688", "kms", 1688, "kms:1688"),
    ("10.0.0.5", "10.0.0.5", 1688, "10.0.0.5:1688"),
    ("192.168.1.20:1700", "192.168.1.20", 1700, "192.168.1.20:1700"),
    ("[2001:db8::1]:1688", "2001:db8::1", 1688, "[2001:db8::1]:1688"),
    ("[2001:DB8:0:0:0:0:0:1]", "2001:db8::1", 1688, "[2001:db8::1]:1688"),
    ("[::1]:1700", "::1", 1700, "[::1]:1700"),
    ("a" * 63 + ".com", "a" * 63 + ".com", 1688, "a" * 63 + ".com:1688"),
    (LONGEST_NAME, LONGEST_NAME, 1688, None),
]


@pytest.mark.parametrize(("text", "host", "port", "shown"), VALID_ENDPOINTS)
def test_valid_endpoints(text: str, host: str, port: int, shown: str | None) -> None:
    assert len(LONGEST_NAME) == 253
    endpoint = KmsEndpoint.parse(text)
    assert (endpoint.host, endpoint.port) == (host, port)
    assert str(endpoint) == (shown or f"{host}:{port}")
    assert KmsEndpoint.parse(str(endpoint)) == endpoint
    assert KmsEndpoint(host, port) == endpoint


INVALID_ENDPOINTS = [
    # text, error, reason fragment
    ("", InvalidFormat, "no host name"),
    ("   ", InvalidFormat, "no host name"),
    (":1688", InvalidFormat, "no host name"),
    ("kms:", InvalidFormat, "no port after the colon"),
    ("kms:0", InvalidComponent, "from 1 to 65535"),
    ("kms:65536", InvalidComponent, "from 1 to 65535"),
    ("kms:99999999999999999999999", InvalidComponent, "from 1 to 65535"),
    ("kms:-1", InvalidFormat, "digits 0-9 only"),
    ("kms:+1688", InvalidFormat, "digits 0-9 only"),
    ("kms: 1688", InvalidFormat, "digits 0-9 only"),
    ("kms:1688x", InvalidFormat, "digits 0-9 only"),
    ("kms:\u0661\u0666\u0668\u0668", InvalidFormat, "digits 0-9 only"),
    ("2001:db8::1", InvalidFormat, "bare IPv6 address is ambiguous; write it in brackets"),
    ("::1", InvalidFormat, "in brackets, as [address] or [address]:port"),
    ("kms:1688:1", InvalidFormat, "write it in brackets"),
    ("[2001:db8::1", InvalidFormat, "brackets go around an IPv6 address only"),
    ("kms]:1688", InvalidFormat, "brackets go around"),
    ("[kms.contoso.com]:1688", InvalidFormat, "the brackets hold no IPv6 address"),
    ("[10.0.0.1]", InvalidFormat, "the brackets hold no IPv6 address"),
    ("[fe80::1%eth0]:1688", InvalidFormat, "the brackets hold no IPv6 address"),
    ("[::1]:", InvalidFormat, "no port after the colon"),
    ("[::1]:70000", InvalidComponent, "from 1 to 65535"),
    ("[::1]1688", InvalidFormat, "brackets go around"),
    ("kms_01.contoso.com", InvalidFormat, "only letters, digits, hyphens and dots"),
    ("kms contoso", InvalidFormat, "only letters, digits, hyphens and dots"),
    ("kms\u00e9.contoso.com", InvalidFormat, "only letters, digits, hyphens and dots"),
    ("http://kms:1688", InvalidFormat, "write it in brackets"),
    ("kms..contoso.com", InvalidFormat, "no empty labels"),
    ("kms.contoso.com.", InvalidFormat, "no empty labels"),
    (".kms", InvalidFormat, "no empty labels"),
    ("-kms.contoso.com", InvalidFormat, "cannot start or end with a hyphen"),
    ("kms-.contoso.com", InvalidFormat, "cannot start or end with a hyphen"),
    ("a" * 64 + ".com", InvalidComponent, "at most 63 characters"),
    (LONGEST_NAME + "c", InvalidComponent, "at most 253 characters"),
    ("256.1.1.1", InvalidComponent, "not an IPv4 address"),
    ("10.0.0", InvalidComponent, "not an IPv4 address"),
    ("010.0.0.1", InvalidComponent, "not an IPv4 address"),
]


@pytest.mark.parametrize(("text", "error", "fragment"), INVALID_ENDPOINTS)
def test_invalid_endpoints_name_the_input(
    text: str, error: type[ValidationError], fragment: str
) -> None:
    with pytest.raises(error) as caught:
        KmsEndpoint.parse(text)
    assert type(caught.value) is error
    assert str(caught.value).startswith(f"Invalid KMS endpoint: {redact(text)!r} (")
    assert fragment in caught.value.reason
    assert caught.value.text == redact(text)


@pytest.mark.parametrize("value", [None, 1688, b"kms:1688", ["kms"]])
def test_only_strings_are_parsed(value: object) -> None:
    with pytest.raises(InvalidFormat, match=r"KMS endpoint: '<\w+>' \(expected a string"):
        KmsEndpoint.parse(value)


def test_a_str_subclass_is_read_as_a_str() -> None:
    class Name(str):
        __slots__ = ()

        def strip(self, chars: str | None = None) -> str:  # noqa: ARG002  # a hostile override
            return "evil"

    assert KmsEndpoint.parse(Name(" kms:1700 ")) == KmsEndpoint("kms", 1700)


@pytest.mark.parametrize(
    ("host", "port", "error", "fragment"),
    [
        ("KMS.contoso.com", 1688, InvalidFormat, "canonical form 'kms.contoso.com'; use parse()"),
        ("2001:DB8::1", 1688, InvalidFormat, "canonical form '2001:db8::1'"),
        ("[::1]", 1688, InvalidFormat, "not an IPv6 address, which goes without brackets"),
        ("kms:1688", 1688, InvalidFormat, "not an IPv6 address"),
        ("kms_1", 1688, InvalidFormat, "only letters, digits"),
        ("300.0.0.1", 1688, InvalidComponent, "not an IPv4 address"),
        ("", 1688, InvalidFormat, "no host name"),
        (1, 1688, InvalidFormat, "expected a string, got int"),
        ("kms", 0, InvalidComponent, "from 1 to 65535"),
        ("kms", 65536, InvalidComponent, "from 1 to 65535"),
        ("kms", "1688", InvalidComponent, "KMS port: \"'1688'\""),
        ("kms", True, InvalidComponent, "must be an int"),
    ],
)
def test_the_constructor_takes_the_canonical_form(
    host: object, port: object, error: type[ValidationError], fragment: str
) -> None:
    with pytest.raises(error) as caught:
        KmsEndpoint(host, port)  # type: ignore[arg-type]  # checked at run time
    assert fragment in str(caught.value)


def test_the_default_port_is_1688() -> None:
    assert KMS_PORT == 1688
    assert KmsEndpoint("kms.contoso.com").port == 1688


def test_equality_is_on_the_canonical_form() -> None:
    assert KmsEndpoint.parse("KMS:1688") == KmsEndpoint.parse("kms")
    assert hash(KmsEndpoint.parse("[::0001]")) == hash(KmsEndpoint("::1"))
    assert KmsEndpoint.parse("kms:1688") != KmsEndpoint.parse("kms:1689")


# --- SRV records ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "record"),
    [
        ("contoso.com", "_vlmcs._tcp.contoso.com"),
        ("  Corp.Contoso.COM ", "_vlmcs._tcp.corp.contoso.com"),
        ("contoso", "_vlmcs._tcp.contoso"),
        ("x-1.example", "_vlmcs._tcp.x-1.example"),
        ("a" * 63 + "." + "b" * 63, "_vlmcs._tcp." + "a" * 63 + "." + "b" * 63),
    ],
)
def test_srv_record(domain: str, record: str) -> None:
    assert srv_record(domain) == record


def test_the_longest_domain_fits_the_srv_name() -> None:
    longest = ".".join(["a" * 59] * 4) + ".b"  # 241 characters
    assert len(longest) == 241
    assert len(srv_record(longest)) == 253
    with pytest.raises(InvalidComponent, match="at most 241 characters here"):
        srv_record(longest + "e")


@pytest.mark.parametrize(
    ("domain", "error", "fragment"),
    [
        ("", InvalidFormat, "no domain name"),
        ("contoso.com.", InvalidFormat, "a domain name has no empty labels"),
        ("_vlmcs._tcp.contoso.com", InvalidFormat, "only letters, digits, hyphens and dots"),
        ("contoso.com:1688", InvalidFormat, "only letters, digits, hyphens and dots"),
        ("10.0.0.1", InvalidComponent, "an IP address, not a domain"),
        ("-contoso.com", InvalidFormat, "a label of a domain name cannot start"),
        ("a" * 64 + ".com", InvalidComponent, "a label of a domain name has at most 63"),
        (None, InvalidFormat, "expected a string, got NoneType"),
    ],
)
def test_srv_record_refuses_what_is_not_a_domain(
    domain: object, error: type[ValidationError], fragment: str
) -> None:
    with pytest.raises(error) as caught:
        srv_record(domain)  # type: ignore[arg-type]  # checked at run time
    assert type(caught.value) is error
    assert str(caught.value).startswith("Invalid DNS domain: ")
    assert fragment in str(caught.value)


# --- serialization --------------------------------------------------------------------------------


def a_busy_host() -> KmsHost:
    host, _ = ask(KmsHost(), range(12), SERVER, T0)
    host, _ = ask(host, range(5, 30), CLIENT, T0 + DAY)
    return host


ROUND_TRIPS = [
    KmsResponse(activated=False, count=24, code=INSUFFICIENT),
    KmsResponse(activated=True, count=25),
    KmsClientPolicy(),
    KmsClientPolicy(activation_interval=MIN, renewal_interval=MAX, validity=dt.timedelta(days=90)),
    KmsEndpoint.parse("kms.contoso.com:1700"),
    KmsEndpoint.parse("[2001:db8::1]"),
    KmsEndpoint.parse("10.0.0.5"),
    KmsHost(),
    a_busy_host(),
    CmidEntry(cmid(3), T0),
    CsvlkPool(),
    CsvlkPool(activations=("kms1", "kms2", "kms1")),
]


@pytest.mark.parametrize("value", ROUND_TRIPS, ids=lambda v: type(v).__name__)
def test_round_trip_through_the_converter(value: object) -> None:
    converter = make_converter()
    data = converter.unstructure(value)
    assert converter.structure(data, type(value)) == value


def test_the_serialized_forms() -> None:
    converter = make_converter()
    assert converter.unstructure(KmsClientPolicy()) == {
        "activation_interval": 7200,
        "renewal_interval": 604800,
        "validity": 15552000,
    }
    assert converter.unstructure(KmsEndpoint.parse("[::1]:1700")) == {"host": "::1", "port": 1700}
    assert converter.unstructure(KmsResponse(False, 3, INSUFFICIENT)) == {
        "activated": False,
        "count": 3,
        "code": INSUFFICIENT,
        "host": None,
    }
    host = KmsHost().request(cmid(1), SERVER, T0).host
    assert converter.unstructure(host) == {
        "cache_size": 10,
        "entries": [
            {
                "cmid": "00000000-0000-0000-0000-000000000001",
                "last_seen": "2026-01-05T09:00:00+00:00",
            }
        ],
    }


@pytest.mark.parametrize(
    ("data", "cls", "fragment"),
    [
        ({"activation_interval": 60, "renewal_interval": 604800, "validity": 1}, KmsClientPolicy, "activation_interval"),
        ({"host": "KMS", "port": 1688}, KmsEndpoint, "canonical form"),
        ({"host": "kms", "port": 0}, KmsEndpoint, "from 1 to 65535"),
        ({"cache_size": 12, "entries": []}, KmsHost, "twice a product family"),
        ({"activated": True, "count": 25, "code": INSUFFICIENT}, KmsResponse, "carries no code"),
        ({"activations": ["a"] * 11}, CsvlkPool, "activations"),
    ],
)  # fmt: skip
def test_bad_documents_are_refused_with_mak_errors(
    data: dict[str, Any], cls: type, fragment: str
) -> None:
    with pytest.raises(InvalidFormat, match=fragment):
        make_converter().structure(data, cls)


def test_an_answer_carries_the_host_after_the_request_outside_its_equality() -> None:
    answer = KmsHost().request(cmid(1), SERVER, T0)
    assert answer.host is not None
    assert answer.host.count(T0) == 1
    assert answer == KmsResponse(activated=False, count=1, code=INSUFFICIENT)
    assert "host" not in repr(answer)
    converter = make_converter()
    assert converter.structure(converter.unstructure(answer), KmsResponse).host == answer.host


def test_a_long_text_in_brackets_is_no_ipv6_address_without_being_split() -> None:
    # Longer than any IPv6 address can be written (45 characters): not handed to ipaddress.
    with pytest.raises(InvalidFormat, match="the brackets hold no IPv6 address"):
        KmsEndpoint.parse("[" + "1:" * 100_000 + "1]")
    assert KmsEndpoint.parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]").port == KMS_PORT
