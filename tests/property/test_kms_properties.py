"""Hypothesis property tests for mak.kms: the count, the host key, timing, endpoints.

Run by the ``property`` nox session (``pytest -m property tests``); the default run leaves
them out. The count is checked against a small reference model written from domain-facts
§3, and, where the cache never overflows, against the plain rule "distinct CMIDs seen in the
last 30 days".
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from collections import OrderedDict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mak.catalog import ProductFamily
from mak.errors import CsvlkLimitExceeded, InvalidComponent, ValidationError
from mak.kms import (
    CsvlkPool,
    KmsClientPolicy,
    KmsEndpoint,
    KmsHost,
    KmsResponse,
    srv_record,
)
from mak.lifecycle import ActivationMethod, KeyChannel, LicenseState, LicenseStatus
from mak.serialization import make_converter

pytestmark = pytest.mark.property

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LIFETIME = dt.timedelta(days=30)
INSUFFICIENT = 0xC004F038
THRESHOLDS = {
    ProductFamily.WINDOWS_CLIENT: 25,
    ProductFamily.WINDOWS_SERVER: 5,
    ProductFamily.OFFICE: 5,
}  # domain-facts §3

# (cmid number, family, minutes since the previous request)
Request = tuple[int, ProductFamily, int]


THIRTY_DAYS = 60 * 24 * 30  # in minutes


def requests(
    cmids: int,
    max_gap_minutes: int = 60 * 24 * 12,
    families: tuple[ProductFamily, ...] = tuple(ProductFamily),
    min_size: int = 0,
) -> st.SearchStrategy[list[Request]]:
    gaps = st.one_of(
        st.just(0),
        st.integers(0, 90),
        st.sampled_from([THIRTY_DAYS - 1, THIRTY_DAYS, THIRTY_DAYS + 1]),
        st.integers(0, max_gap_minutes),
    )
    return st.lists(
        st.tuples(st.integers(0, cmids - 1), st.sampled_from(families), gaps),
        min_size=min_size,
        max_size=150,
    )


# Many machines asking often: the cache fills up and the least recently seen fall out.
busy = st.lists(
    st.tuples(st.integers(0, 69), st.sampled_from(ProductFamily), st.integers(0, 600)),
    min_size=20,
    max_size=200,
)
busy_servers = st.lists(
    st.tuples(
        st.integers(0, 19),
        st.sampled_from([ProductFamily.WINDOWS_SERVER, ProductFamily.OFFICE]),
        st.integers(0, 600),
    ),
    min_size=12,
    max_size=100,
)


def replay(
    requested: list[Request],
) -> list[tuple[KmsHost, KmsResponse, ProductFamily, dt.datetime]]:
    """Each host after a request, with the answer, the family and the time."""
    host = KmsHost()
    at = T0
    steps: list[tuple[KmsHost, KmsResponse, ProductFamily, dt.datetime]] = []
    for number, family, gap in requested:
        at += dt.timedelta(minutes=gap)
        answer = host.request(uuid.UUID(int=number), family, at)
        host = answer.host
        steps.append((host, answer, family, at))
    return steps


def reference(requested: list[Request]) -> list[list[int]]:
    """The CMIDs counted after each request, least recently seen first, from the rules alone.

    Entries live 30 days, a repeated CMID moves to the most recent end, the cache holds
    twice the highest threshold seen and drops the least recently seen when full.
    """
    seen: OrderedDict[int, dt.datetime] = OrderedDict()  # least recently seen first
    size = 10
    at = T0
    cached: list[list[int]] = []
    for number, family, gap in requested:
        at += dt.timedelta(minutes=gap)
        size = max(size, 2 * THRESHOLDS[family])
        for stale in [n for n, last in seen.items() if at - last > LIFETIME]:
            del seen[stale]
        seen.pop(number, None)
        while len(seen) >= size:
            seen.popitem(last=False)
        seen[number] = at
        cached.append(list(seen))
    return cached


@PROPERTY
@given(requests(cmids=80) | busy | busy_servers)
def test_the_count_never_exceeds_the_cache_and_the_cache_never_shrinks(
    requested: list[Request],
) -> None:
    previous_size = 10
    client_seen = False
    for host, answer, family, at in replay(requested):
        client_seen = client_seen or family is ProductFamily.WINDOWS_CLIENT
        assert answer.count <= host.cache_size <= 50
        assert answer.count == host.count(at) == len(host.entries)
        assert host.cache_size >= previous_size
        assert host.cache_size == (50 if client_seen else 10)
        previous_size = host.cache_size


@PROPERTY
@given(requests(cmids=80) | busy | busy_servers)
def test_the_count_follows_the_reference_model(requested: list[Request]) -> None:
    expected = reference(requested)
    for (host, answer, _, _), cmids in zip(replay(requested), expected, strict=True):
        assert [entry.cmid.int for entry in host.entries] == cmids
        assert answer.count == len(cmids)


@PROPERTY
@given(requests(cmids=10, max_gap_minutes=60 * 24 * 40))
def test_without_overflow_the_count_is_the_distinct_cmids_of_the_last_30_days(
    requested: list[Request],
) -> None:
    history: list[tuple[int, dt.datetime]] = []
    for (number, _, _), (_, answer, _, at) in zip(requested, replay(requested), strict=True):
        history.append((number, at))
        window = {n for n, seen in history if at - seen <= LIFETIME}
        assert answer.count == len(window)


@PROPERTY
@given(requests(cmids=60))
def test_activated_exactly_when_the_count_reaches_the_threshold(requested: list[Request]) -> None:
    for _, answer, family, _ in replay(requested):
        assert answer.activated == (answer.count >= family.kms_threshold)
        assert answer.code == (None if answer.activated else INSUFFICIENT)


@PROPERTY
@given(requests(cmids=60))
def test_requests_are_deterministic(requested: list[Request]) -> None:
    assert replay(requested) == replay(requested)


@PROPERTY
@given(requests(cmids=60), st.integers(0, 60 * 24 * 40))
def test_asking_again_never_raises_the_count(requested: list[Request], gap: int) -> None:
    steps = replay(requested)
    if not steps:
        return
    host, answer, family, at = steps[-1]
    number = requested[-1][0]
    repeated = host.request(uuid.UUID(int=number), family, at)
    again = repeated.host
    assert repeated == answer
    assert again == host
    later = at + dt.timedelta(minutes=gap)
    renewed = host.request(uuid.UUID(int=number), ProductFamily.WINDOWS_SERVER, later)
    assert renewed.count <= answer.count


@PROPERTY
@given(requests(cmids=30), st.integers(1, 10**9))
def test_time_never_goes_backwards(requested: list[Request], microseconds: int) -> None:
    steps = replay(requested)
    if not steps:
        return
    host, _, _, at = steps[-1]
    earlier = at - dt.timedelta(microseconds=microseconds)
    with pytest.raises(InvalidComponent, match="time never goes backwards"):
        host.request(uuid.UUID(int=0), ProductFamily.OFFICE, earlier)
    with pytest.raises(InvalidComponent, match="time never goes backwards"):
        host.count(earlier)


@PROPERTY
@given(requests(cmids=70))
def test_hosts_round_trip_through_the_converter(requested: list[Request]) -> None:
    converter = make_converter()
    for host, answer, _, _ in replay(requested)[-3:]:
        assert converter.structure(converter.unstructure(host), KmsHost) == host
        assert converter.structure(converter.unstructure(answer), KmsResponse) == answer


# --- the host key ----------------------------------------------------------------------------


@PROPERTY
@given(st.lists(st.integers(0, 9), max_size=80), st.integers(1, 8), st.integers(1, 12))
def test_a_host_key_refuses_exactly_beyond_its_limits(
    hosts: list[int], max_hosts: int, per_host: int
) -> None:
    pool = CsvlkPool(max_hosts=max_hosts, activations_per_host=per_host)
    used: dict[str, int] = {}
    for number in hosts:
        host = f"kms{number}"
        allowed = used.get(host, 0) < per_host if host in used else len(used) < max_hosts
        assert (pool.remaining_for(host) > 0) == allowed
        if allowed:
            pool = pool.activate(host)
            used[host] = used.get(host, 0) + 1
        else:
            with pytest.raises(CsvlkLimitExceeded) as caught:
                pool.activate(host)
            assert caught.value.code == 0xC004C008
        assert pool.hosts == tuple(used)
        assert all(pool.activations_of(name) == count for name, count in used.items())
    assert len(pool.hosts) <= max_hosts
    converter = make_converter()
    assert converter.structure(converter.unstructure(pool), CsvlkPool) == pool


# --- client timing -----------------------------------------------------------------------------

MIN = dt.timedelta(minutes=15)
MAX = dt.timedelta(days=30)
durations = st.timedeltas(min_value=-MAX * 2, max_value=MAX * 2)


@PROPERTY
@given(durations, durations)
def test_intervals_are_accepted_exactly_within_their_bounds(
    activation: dt.timedelta, renewal: dt.timedelta
) -> None:
    if MIN <= activation <= MAX and MIN <= renewal <= MAX:
        policy = KmsClientPolicy(activation_interval=activation, renewal_interval=renewal)
        converter = make_converter()
        assert converter.structure(converter.unstructure(policy), KmsClientPolicy) == policy
    else:
        with pytest.raises(InvalidComponent, match="from 15 minutes to 30 days"):
            KmsClientPolicy(activation_interval=activation, renewal_interval=renewal)


intervals = st.timedeltas(min_value=MIN, max_value=MAX)


@PROPERTY
@given(
    intervals,
    intervals,
    st.tuples(
        st.sampled_from(LicenseStatus),
        st.sampled_from([None, *KeyChannel]),
        st.sampled_from([None, *ActivationMethod]),
    ),
    st.timedeltas(min_value=-MAX * 12, max_value=MAX * 12),
)
def test_next_contact_is_never_in_the_past(
    activation: dt.timedelta,
    renewal: dt.timedelta,
    product: tuple[LicenseStatus, KeyChannel | None, ActivationMethod | None],
    until: dt.timedelta,
) -> None:
    status, channel, method = product
    policy = KmsClientPolicy(activation_interval=activation, renewal_interval=renewal)
    grace = status in {
        LicenseStatus.OOB_GRACE,
        LicenseStatus.OOT_GRACE,
        LicenseStatus.NON_GENUINE_GRACE,
        LicenseStatus.EXTENDED_GRACE,
    }
    last_contact = T0 + until - policy.validity
    state = LicenseState(
        status=status,
        channel=channel,
        partial_key=None if channel is None else "2YT43",
        method=method,
        licensed_until=T0 + until,
        activated_at=last_contact,
        grace_ends_at=T0 + until if grace else None,
    )
    found = policy.next_contact(state, T0)
    kms_client = channel is KeyChannel.GVLK or method is ActivationMethod.KMS
    if not kms_client or (status is LicenseStatus.LICENSED and method is not ActivationMethod.KMS):
        assert found is None
        return
    assert found is not None
    assert found >= T0
    if status is not LicenseStatus.LICENSED:
        assert found == T0 + activation
        return
    due = last_contact + renewal  # the last renewal plus the interval
    assert found == (due if due >= T0 else T0 + activation)


# --- endpoints ---------------------------------------------------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _label(first: str, middle: str, last: str) -> str:
    return first + middle + last


labels = st.builds(
    _label,
    st.sampled_from(LETTERS[:52]),
    st.text(alphabet=LETTERS + "-", max_size=40),
    st.sampled_from(LETTERS),
) | st.sampled_from(LETTERS[:52])
host_names = st.lists(labels, min_size=1, max_size=5).map(".".join).filter(lambda n: len(n) <= 253)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(lambda a: a.exploded if a.packed[0] % 2 else str(a))
ports = st.integers(1, 65535)


@PROPERTY
@given(host_names | ipv4, st.none() | ports, st.sampled_from(["", " ", "\t", "\n "]))
def test_names_and_ipv4_addresses_parse_and_round_trip(
    host: str, port: int | None, space: str
) -> None:
    text = host if port is None else f"{host}:{port}"
    endpoint = KmsEndpoint.parse(f"{space}{text}{space}")
    assert endpoint.host == host.lower()
    assert endpoint.port == (1688 if port is None else port)
    assert KmsEndpoint.parse(str(endpoint)) == endpoint
    assert KmsEndpoint(endpoint.host, endpoint.port) == endpoint


@PROPERTY
@given(ipv6, st.none() | ports)
def test_ipv6_addresses_parse_in_brackets_and_round_trip(address: str, port: int | None) -> None:
    text = f"[{address}]" if port is None else f"[{address}]:{port}"
    endpoint = KmsEndpoint.parse(text)
    assert ipaddress.IPv6Address(endpoint.host) == ipaddress.IPv6Address(address)
    assert KmsEndpoint.parse(str(endpoint)) == endpoint
    with pytest.raises(ValidationError, match="in brackets"):
        KmsEndpoint.parse(address if port is None else f"{address}:{port}")


@PROPERTY
@given(st.text(max_size=300) | st.from_regex(r"[\w.:\[\]-]{0,80}", fullmatch=True))
def test_parsing_anything_returns_an_endpoint_or_raises_a_validation_error(text: str) -> None:
    message = ""
    try:
        endpoint = KmsEndpoint.parse(text)
    except ValidationError as error:
        endpoint, message = None, str(error)
    if endpoint is None:
        assert message.startswith("Invalid KMS endpoint: ")
    else:
        assert KmsEndpoint.parse(str(endpoint)) == endpoint


@PROPERTY
@given(host_names.filter(lambda n: len(n) <= 241 and not n.replace(".", "").isdigit()))
def test_srv_record_of_any_domain(domain: str) -> None:
    assert srv_record(domain) == f"_vlmcs._tcp.{domain.lower()}"
    assert srv_record(f" {domain.upper()} ") == srv_record(domain)
