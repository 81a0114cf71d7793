"""Random event sequences on the licensing lifecycle, with a clock that only moves forward.

Run by the ``property`` nox session (``pytest -m property tests``). Keys are published
GVLKs (domain-facts §7) and made-up ``PKEY2005`` strings standing in for MAKs and retail
keys; any channel may be claimed for any key, as a caller may.
"""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from mak import codes
from mak.errors import IllegalTransition
from mak.keys import ProductKey
from mak.lifecycle import (
    Activated,
    ActivationFailed,
    ActivationMethod,
    Event,
    GenuineCheckFailed,
    GraceExpired,
    GracePolicy,
    HardwareChanged,
    KeyChannel,
    KeyInstalled,
    KeyUninstalled,
    LicenseState,
    LicenseStatus,
    Rearmed,
    Renewed,
    ValidityExpired,
    advance,
    step,
)

pytestmark = pytest.mark.property

SYMBOLS = "BCDFGHJKMPQRTVWXY2346789"  # domain-facts §1.1
GVLKS = [
    "W269N-WFGWX-YVC9B-4J6C9-T83GX",
    "NPPR9-FWDCX-D2C8J-H872K-2YT43",
    "NW6C2-QMPVW-D7KKK-3GKT6-VCFB2",
    "WX4NM-KYWYW-QJJR4-XV3QB-6VM33",
]
GRACE_STATUSES = {
    LicenseStatus.OOB_GRACE,
    LicenseStatus.OOT_GRACE,
    LicenseStatus.NON_GENUINE_GRACE,
    LicenseStatus.EXTENDED_GRACE,
}
START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
OFFSETS = [
    dt.timezone.utc,
    dt.timezone(dt.timedelta(hours=2)),
    dt.timezone(dt.timedelta(hours=-8)),
]

pkey2005 = st.text(alphabet=SYMBOLS, min_size=25, max_size=25).map(
    lambda s: "-".join(s[i : i + 5] for i in range(0, 25, 5))
)
known_failures = st.sampled_from(
    [codes.KMS_UNAVAILABLE, codes.KMS_COUNT_INSUFFICIENT, codes.MAK_LIMIT_EXCEEDED, 0]
)
failure_codes = st.one_of(known_failures, st.integers(0, 0xFFFFFFFF))
# Mostly small steps (the 2-hour retry, the 7-day renewal), sometimes whole periods.
clock_steps = st.one_of(
    st.timedeltas(dt.timedelta(0), dt.timedelta(hours=2)),
    st.timedeltas(dt.timedelta(0), dt.timedelta(days=8)),
    st.timedeltas(dt.timedelta(days=20), dt.timedelta(days=40)),
    st.timedeltas(dt.timedelta(days=100), dt.timedelta(days=200)),
)
policies = st.builds(
    GracePolicy,
    extended_grace=st.sampled_from([dt.timedelta(0), dt.timedelta(days=10)]),
    kms_validity=st.sampled_from([dt.timedelta(days=180), dt.timedelta(days=20)]),
    rearm_limit=st.integers(0, 3),
)


# The methods that can activate each channel, so that activations often succeed.
FITTING_METHODS = {
    KeyChannel.GVLK: [ActivationMethod.KMS, ActivationMethod.ADBA],
    KeyChannel.MAK: [ActivationMethod.MAK_INDEPENDENT, ActivationMethod.MAK_PROXY],
    KeyChannel.RETAIL: [ActivationMethod.RETAIL_ONLINE, ActivationMethod.PHONE],
    KeyChannel.OEM: [ActivationMethod.RETAIL_ONLINE],
    KeyChannel.CSVLK: [ActivationMethod.PHONE],
}


def installs() -> st.SearchStrategy[KeyInstalled]:
    """Keys mostly with their own channel (GVLKs as GVLK), sometimes with any channel."""
    gvlk = st.sampled_from(GVLKS).map(ProductKey.parse)
    other = pkey2005.map(ProductKey.parse)
    volume = st.sampled_from([KeyChannel.MAK, KeyChannel.RETAIL, KeyChannel.OEM, KeyChannel.CSVLK])
    return st.one_of(
        st.builds(KeyInstalled, gvlk, st.just(KeyChannel.GVLK)),
        st.builds(KeyInstalled, other, volume),
        st.builds(KeyInstalled, st.one_of(gvlk, other), st.sampled_from(KeyChannel)),
    )


def moments_before(now: dt.datetime) -> st.SearchStrategy[dt.datetime]:
    return st.timedeltas(dt.timedelta(0), dt.timedelta(days=1)).map(lambda d: now - d)


def activations(state: LicenseState, now: dt.datetime) -> st.SearchStrategy[Activated]:
    """Activations dated up to a day before *now*, often by a method that fits the key."""
    methods = st.sampled_from(ActivationMethod)
    if state.channel is not None:
        methods = st.one_of(methods, st.sampled_from(FITTING_METHODS[state.channel]))
    return st.builds(Activated, methods, moments_before(now))


def events(state: LicenseState, now: dt.datetime) -> st.SearchStrategy[Event]:
    """Every kind of event."""
    return st.one_of(
        installs(),
        st.just(KeyUninstalled()),
        activations(state, now),
        st.builds(ActivationFailed, failure_codes),
        st.builds(HardwareChanged, st.booleans()),
        st.just(Rearmed()),
        st.just(GenuineCheckFailed()),
        st.builds(Renewed, moments_before(now)),
        st.just(GraceExpired()),
        st.just(ValidityExpired()),
    )


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.policy = GracePolicy()
        self.state = LicenseState.new()
        self.rearms_seen = self.state.rearms_left

    @initialize(policy=policies, first_key=st.none() | installs())
    def start(self, policy: GracePolicy, first_key: KeyInstalled | None) -> None:
        self.policy = policy
        self.state = LicenseState.new(policy)
        assert self.state.rearms_left == policy.rearm_limit
        if first_key is not None:  # most runs start keyed, to get further in 40 steps
            self.state = step(self.state, first_key, now=self.now, policy=policy)
        self.rearms_seen = self.state.rearms_left

    @rule(by=clock_steps)
    def tick(self, by: dt.timedelta) -> None:
        self.now += by

    @rule(by=clock_steps, offset=st.sampled_from(OFFSETS))
    def wait(self, by: dt.timedelta, offset: dt.timezone) -> None:
        self.now += by
        self.apply_timers(offset)

    @rule(offset=st.sampled_from(OFFSETS))
    def apply_timers(self, offset: dt.timezone) -> None:
        before = self.state
        after = advance(before, self.now.astimezone(offset), self.policy)
        assert advance(after, self.now, self.policy) == after
        if after.status is before.status:
            assert after == before  # nothing was due
        self.state = after

    def apply(self, event: Event, offset: dt.timezone) -> None:
        before = self.state
        refusal: IllegalTransition | None = None
        try:
            self.state = step(before, event, now=self.now.astimezone(offset), policy=self.policy)
        except IllegalTransition as error:  # anything else fails the test
            refusal = error
        if refusal is not None:
            assert self.state is before
            assert refusal.status is before.status
            assert refusal.event is event
            assert str(refusal).startswith(f"Can't {type(event).__name__} when {before.status}")

    @rule(data=st.data(), offset=st.sampled_from(OFFSETS))
    def any_event(self, data: st.DataObject, offset: dt.timezone) -> None:
        self.apply(data.draw(events(self.state, self.now)), offset)

    # Separate rules for the events that lead somewhere, so that runs reach every status.
    @rule(event=installs(), offset=st.sampled_from(OFFSETS))
    def install_key(self, event: KeyInstalled, offset: dt.timezone) -> None:
        self.apply(event, offset)

    @rule(data=st.data(), offset=st.sampled_from(OFFSETS))
    def activate(self, data: st.DataObject, offset: dt.timezone) -> None:
        self.apply(data.draw(activations(self.state, self.now)), offset)

    @rule(beyond_tolerance=st.booleans())
    def change_hardware(self, beyond_tolerance: bool) -> None:
        self.apply(HardwareChanged(beyond_tolerance), dt.timezone.utc)

    @rule(data=st.data())
    def renew(self, data: st.DataObject) -> None:
        self.apply(Renewed(data.draw(moments_before(self.now))), dt.timezone.utc)

    @rule(first=clock_steps, second=clock_steps)
    def advance_is_idempotent(self, first: dt.timedelta, second: dt.timedelta) -> None:
        once = advance(self.state, self.now, self.policy)
        assert advance(once, self.now, self.policy) == once
        t1, t2 = self.now + first, self.now + first + second
        in_two = advance(advance(self.state, t1, self.policy), t2, self.policy)
        assert in_two == advance(self.state, t2, self.policy)

    @invariant()
    def status_is_one_of_the_seven(self) -> None:
        assert isinstance(self.state.status, LicenseStatus)
        assert self.state.status in set(LicenseStatus)

    @invariant()
    def licensed_until_iff_licensed_by_kms_or_adba(self) -> None:
        expiring = self.state.status is LicenseStatus.LICENSED and self.state.method in (
            ActivationMethod.KMS,
            ActivationMethod.ADBA,
        )
        assert (self.state.licensed_until is not None) == expiring

    @invariant()
    def grace_ends_at_iff_in_a_grace_status(self) -> None:
        # Unlicensed keeps the deadline of a grace its uninstalled key left running.
        if self.state.status is not LicenseStatus.UNLICENSED:
            in_grace = self.state.status in GRACE_STATUSES
            assert (self.state.grace_ends_at is not None) == in_grace

    @invariant()
    def activation_recorded_iff_licensed(self) -> None:
        licensed = self.state.status is LicenseStatus.LICENSED
        assert (self.state.method is not None) == licensed
        assert (self.state.activated_at is not None) == licensed

    @invariant()
    def rearms_never_negative_and_never_increase(self) -> None:
        assert 0 <= self.state.rearms_left <= self.rearms_seen
        self.rearms_seen = self.state.rearms_left

    @invariant()
    def a_key_iff_not_unlicensed(self) -> None:
        assert self.state.has_key == (self.state.status is not LicenseStatus.UNLICENSED)
        assert (self.state.channel is not None) == self.state.has_key

    @invariant()
    def non_genuine_only_in_non_genuine_grace_or_notification(self) -> None:
        if not self.state.genuine:
            assert self.state.status in (
                LicenseStatus.NON_GENUINE_GRACE,
                LicenseStatus.NOTIFICATION,
                LicenseStatus.UNLICENSED,  # until a key resumes the non-genuine grace
            )
        if self.state.status is LicenseStatus.NON_GENUINE_GRACE:
            assert not self.state.genuine

    @invariant()
    def times_are_stored_in_utc(self) -> None:
        for moment in (
            self.state.grace_ends_at,
            self.state.licensed_until,
            self.state.activated_at,
        ):
            assert moment is None or moment.tzinfo is dt.timezone.utc

    @invariant()
    def the_snapshot_passes_its_own_checks(self) -> None:
        # step builds some snapshots without attrs' checks, from values checked already:
        # building the same snapshot through __init__ must give it back unchanged.
        assert attrs.evolve(self.state) == self.state


TestLifecycle = LifecycleMachine.TestCase
TestLifecycle.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
