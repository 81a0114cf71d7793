"""The licensing lifecycle (issue 3): every (status, event) cell, the rules, the timers.

The expected outcome of each cell is written out below as data, from the issue's rules and
the docstrings of :mod:`mak.lifecycle` — not read from ``TRANSITIONS`` — and then checked
against both ``step`` and ``allowed_events``.
"""

from __future__ import annotations

import datetime as dt
import json
import typing
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from mak import codes
from mak.errors import IllegalTransition, InvalidComponent, InvalidFormat
from mak.keys import ProductKey
from mak.lifecycle import (
    TRANSITIONS,
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
    allowed_events,
    step,
    to_dot,
    to_mermaid,
    transition_table_markdown,
    validate_table,
)
from mak.serialization import make_converter

U = LicenseStatus.UNLICENSED
L = LicenseStatus.LICENSED
OOB = LicenseStatus.OOB_GRACE
OOT = LicenseStatus.OOT_GRACE
NG = LicenseStatus.NON_GENUINE_GRACE
N = LicenseStatus.NOTIFICATION
X = LicenseStatus.EXTENDED_GRACE

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
TICK = dt.timedelta(microseconds=1)
T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # every representative state is built then
NOW = T0 + DAY  # when an event meets it: before any of its timers runs out
LATE = T0 + 31 * DAY  # after the 30-day grace periods

DEFAULT = GracePolicy()
EXTENDED = GracePolicy(extended_grace=10 * DAY)
NO_REARMS = GracePolicy(rearm_limit=0)

# Published GVLKs (domain-facts §7.1) and two made-up PKEY2005 keys standing in for a MAK.
GVLK = ProductKey.parse("NPPR9-FWDCX-D2C8J-H872K-2YT43")
OTHER_GVLK = ProductKey.parse("W269N-WFGWX-YVC9B-4J6C9-T83GX")
MAK_KEY = ProductKey.parse("BCDFG-HJKMP-QRTVW-XY234-6789B")
OTHER_MAK_KEY = ProductKey.parse("HJKMP-QRTVW-XY234-6789B-CDFGH")

ALL_EVENTS = (
    "KeyInstalled",
    "KeyUninstalled",
    "Activated",
    "ActivationFailed",
    "HardwareChanged",
    "Rearmed",
    "GenuineCheckFailed",
    "Renewed",
    "GraceExpired",
    "ValidityExpired",
)


# --- builders: one representative state per status, all built at T0 ----------------------


def unlicensed(policy: GracePolicy = DEFAULT) -> LicenseState:
    return LicenseState.new(policy)


def in_oob(policy: GracePolicy = DEFAULT) -> LicenseState:
    """A KMS client with its GVLK installed, never activated: grace until T0 + 30 days."""
    return step(unlicensed(policy), KeyInstalled(GVLK, KeyChannel.GVLK), now=T0, policy=policy)


def mak_in_oob(policy: GracePolicy = DEFAULT) -> LicenseState:
    return step(unlicensed(policy), KeyInstalled(MAK_KEY, KeyChannel.MAK), now=T0, policy=policy)


def kms_licensed(policy: GracePolicy = DEFAULT) -> LicenseState:
    """Activated by KMS at T0: valid until T0 + 180 days."""
    return step(in_oob(policy), Activated(ActivationMethod.KMS, at=T0), now=T0, policy=policy)


def mak_licensed(policy: GracePolicy = DEFAULT) -> LicenseState:
    """Activated by MAK proxy at T0: perpetual."""
    activated = Activated(ActivationMethod.MAK_PROXY, at=T0)
    return step(mak_in_oob(policy), activated, now=T0, policy=policy)


def in_oot(policy: GracePolicy = DEFAULT) -> LicenseState:
    """A MAK product out of hardware tolerance since T0: grace until T0 + 30 days."""
    return step(
        mak_licensed(policy), HardwareChanged(beyond_tolerance=True), now=T0, policy=policy
    )


def in_non_genuine_grace(policy: GracePolicy = DEFAULT) -> LicenseState:
    """A KMS client that failed a genuine check at T0: grace until T0 + 30 days."""
    return step(in_oob(policy), GenuineCheckFailed(), now=T0, policy=policy)


def in_notification(policy: GracePolicy = DEFAULT) -> LicenseState:
    """The initial grace ran out at T0 + 30 days (reason 0xC004F009)."""
    return advance(in_oob(policy), T0 + 30 * DAY, policy)


def in_non_genuine_notification(policy: GracePolicy = DEFAULT) -> LicenseState:
    """The non-genuine grace ran out at T0 + 30 days (reason 0xC004F200)."""
    return advance(in_non_genuine_grace(policy), T0 + 30 * DAY, policy)


def in_extended(policy: GracePolicy = EXTENDED) -> LicenseState:
    """Initial grace over at T0 + 30 days, extended grace until T0 + 40 days."""
    return advance(in_oob(policy), T0 + 30 * DAY, policy)


def test_the_builders_reach_the_status_they_are_named_for() -> None:
    # Written out, so that a builder going wrong is caught here and not as a wrong cell.
    assert unlicensed() == LicenseState(rearms_left=1000)
    assert in_oob() == LicenseState(
        status=OOB,
        channel=KeyChannel.GVLK,
        partial_key="2YT43",
        reason=codes.OOB_GRACE_PERIOD,
        grace_ends_at=T0 + 30 * DAY,
        rearms_left=1000,
    )
    assert kms_licensed() == LicenseState(
        status=L,
        channel=KeyChannel.GVLK,
        partial_key="2YT43",
        licensed_until=T0 + 180 * DAY,
        activated_at=T0,
        method=ActivationMethod.KMS,
        rearms_left=1000,
    )
    assert mak_licensed() == LicenseState(
        status=L,
        channel=KeyChannel.MAK,
        partial_key="6789B",
        activated_at=T0,
        method=ActivationMethod.MAK_PROXY,
        rearms_left=1000,
    )
    assert in_oot() == LicenseState(
        status=OOT,
        channel=KeyChannel.MAK,
        partial_key="6789B",
        reason=codes.OOT_GRACE_PERIOD,
        grace_ends_at=T0 + 30 * DAY,
        rearms_left=1000,
    )
    assert in_non_genuine_grace() == attrs.evolve(
        in_oob(), status=NG, reason=codes.NON_GENUINE_GRACE_PERIOD, genuine=False
    )
    assert in_notification() == attrs.evolve(
        in_oob(), status=N, reason=codes.GRACE_TIME_EXPIRED, grace_ends_at=None
    )
    assert in_non_genuine_notification() == attrs.evolve(
        in_notification(), reason=codes.NOT_GENUINE, genuine=False
    )
    assert in_extended() == attrs.evolve(in_oob(EXTENDED), status=X, grace_ends_at=T0 + 40 * DAY)


# --- the matrix ---------------------------------------------------------------------------


@attrs.frozen
class Moves:
    """The event is accepted and the product ends in *target*."""

    target: LicenseStatus


@attrs.frozen
class Refused:
    """The event is refused with ``IllegalTransition`` carrying *code*."""

    code: int | None


Outcome = Moves | Refused

NO_KEY = Refused(codes.NO_PRODUCT_KEY)  # 0xC004F014
WRONG_KEY_TYPE = Refused(codes.INVALID_KEY_TYPE)  # 0xC004F07D
NO_REARM_LEFT = Refused(codes.MAX_REARM_REACHED)  # 0xC004D307
NOT_GENUINE = Refused(codes.NOT_GENUINE)  # 0xC004F200
REFUSED = Refused(None)  # no HRESULT for it: Windows has no such request

# Every outcome each cell can have; a guarded cell lists one outcome per branch.
MATRIX: dict[LicenseStatus, dict[str, tuple[Outcome, ...]]] = {
    U: {
        "KeyInstalled": (Moves(OOB),),
        "KeyUninstalled": (NO_KEY,),
        "Activated": (NO_KEY,),
        "ActivationFailed": (Moves(U),),
        "HardwareChanged": (Moves(U),),
        "Rearmed": (NO_KEY,),
        "GenuineCheckFailed": (NO_KEY,),
        "Renewed": (NO_KEY,),
        "GraceExpired": (NO_KEY,),
        "ValidityExpired": (NO_KEY,),
    },
    L: {
        "KeyInstalled": (Moves(L), Moves(OOB)),  # same perpetual key / anything else
        "KeyUninstalled": (Moves(U),),
        "Activated": (Moves(L), WRONG_KEY_TYPE),
        "ActivationFailed": (Moves(L),),
        "HardwareChanged": (Moves(OOT), Moves(L)),  # beyond / within tolerance
        "Rearmed": (Moves(OOB), NO_REARM_LEFT),
        "GenuineCheckFailed": (Moves(NG),),
        "Renewed": (Moves(L), REFUSED),  # KMS or ADBA / perpetual
        "GraceExpired": (REFUSED,),
        "ValidityExpired": (Moves(OOT), REFUSED),  # window over / not over or perpetual
    },
    OOB: {
        "KeyInstalled": (Moves(OOB),),
        "KeyUninstalled": (Moves(U),),
        "Activated": (Moves(L), WRONG_KEY_TYPE),
        "ActivationFailed": (Moves(OOB),),
        "HardwareChanged": (Moves(OOB),),
        "Rearmed": (Moves(OOB), NO_REARM_LEFT),
        "GenuineCheckFailed": (Moves(NG),),
        "Renewed": (REFUSED,),
        "GraceExpired": (Moves(X), Moves(N), REFUSED),  # extended / not / grace not over
        "ValidityExpired": (REFUSED,),
    },
    OOT: {
        "KeyInstalled": (Moves(OOT),),
        "KeyUninstalled": (Moves(U),),
        "Activated": (Moves(L), WRONG_KEY_TYPE),
        "ActivationFailed": (Moves(OOT),),
        "HardwareChanged": (Moves(OOT),),
        "Rearmed": (Moves(OOB), NO_REARM_LEFT),
        "GenuineCheckFailed": (Moves(NG),),
        "Renewed": (REFUSED,),
        "GraceExpired": (Moves(N), REFUSED),
        "ValidityExpired": (REFUSED,),
    },
    NG: {
        "KeyInstalled": (Moves(NG),),
        "KeyUninstalled": (Moves(U),),
        "Activated": (Moves(L), WRONG_KEY_TYPE),
        "ActivationFailed": (Moves(NG),),
        "HardwareChanged": (Moves(NG),),
        "Rearmed": (NOT_GENUINE,),
        "GenuineCheckFailed": (Moves(NG),),
        "Renewed": (REFUSED,),
        "GraceExpired": (Moves(N), REFUSED),
        "ValidityExpired": (REFUSED,),
    },
    N: {
        "KeyInstalled": (Moves(N),),
        "KeyUninstalled": (Moves(U),),
        "Activated": (Moves(L), WRONG_KEY_TYPE),
        "ActivationFailed": (Moves(N),),
        "HardwareChanged": (Moves(N),),
        "Rearmed": (Moves(OOB), NO_REARM_LEFT, NOT_GENUINE),
        "GenuineCheckFailed": (Moves(N),),
        "Renewed": (REFUSED,),
        "GraceExpired": (REFUSED,),
        "ValidityExpired": (REFUSED,),
    },
    X: {
        "KeyInstalled": (Moves(X),),
        "KeyUninstalled": (Moves(U),),
        "Activated": (Moves(L), WRONG_KEY_TYPE),
        "ActivationFailed": (Moves(X),),
        "HardwareChanged": (Moves(X),),
        "Rearmed": (Moves(OOB), NO_REARM_LEFT),
        "GenuineCheckFailed": (Moves(NG),),
        "Renewed": (REFUSED,),
        "GraceExpired": (Moves(N), REFUSED),
        "ValidityExpired": (REFUSED,),
    },
}


def _same(state: LicenseState) -> LicenseState:
    return state


def _failed(code: int) -> Callable[[LicenseState], LicenseState]:
    return lambda state: attrs.evolve(state, reason=code)


def _uninstalled(state: LicenseState) -> LicenseState:
    """No key, the rearms kept, and a running grace kept due for the next key."""
    return LicenseState(
        rearms_left=state.rearms_left, grace_ends_at=state.grace_ends_at, genuine=state.genuine
    )


def _uninstalled_after_grace(now: dt.datetime) -> Callable[[LicenseState], LicenseState]:
    """From notification: the grace is over, so the next key resumes it as over (*now*)."""
    return lambda state: LicenseState(
        rearms_left=state.rearms_left, grace_ends_at=now, genuine=state.genuine
    )


def _activated(method: ActivationMethod, at: dt.datetime, until: dt.datetime | None):
    def expect(state: LicenseState) -> LicenseState:
        return LicenseState(
            status=L,
            channel=state.channel,
            partial_key=state.partial_key,
            licensed_until=until,
            activated_at=at,
            method=method,
            rearms_left=state.rearms_left,
        )

    return expect


def _graced(status: LicenseStatus, reason: int, ends_at: dt.datetime):
    def expect(state: LicenseState) -> LicenseState:
        return LicenseState(
            status=status,
            channel=state.channel,
            partial_key=state.partial_key,
            reason=reason,
            grace_ends_at=ends_at,
            rearms_left=state.rearms_left,
            genuine=status is not NG,  # a failed genuine check is what starts NG
        )

    return expect


def _notified(reason: int) -> Callable[[LicenseState], LicenseState]:
    def expect(state: LicenseState) -> LicenseState:
        return LicenseState(
            status=N,
            channel=state.channel,
            partial_key=state.partial_key,
            reason=reason,
            rearms_left=state.rearms_left,
            genuine=reason != codes.NOT_GENUINE,
        )

    return expect


def _rekeyed(key: ProductKey, channel: KeyChannel) -> Callable[[LicenseState], LicenseState]:
    return lambda state: attrs.evolve(state, partial_key=key.partial, channel=channel)


@attrs.frozen
class Case:
    name: str
    build: Callable[[], LicenseState]
    event: Event
    outcome: Outcome
    expect: Callable[[LicenseState], LicenseState] | None = None
    now: dt.datetime = NOW
    policy: GracePolicy = DEFAULT


KMS_NOW = Activated(ActivationMethod.KMS, at=NOW)
MAK_NOW = Activated(ActivationMethod.MAK_PROXY, at=NOW)
KMS_LATE = Activated(ActivationMethod.KMS, at=LATE)
MAK_LATE = Activated(ActivationMethod.MAK_PROXY, at=LATE)
FAILED = ActivationFailed(codes.KMS_UNAVAILABLE)
OOB_FROM_NOW = _graced(OOB, codes.OOB_GRACE_PERIOD, NOW + 30 * DAY)


def _rearm_from(now: dt.datetime) -> Callable[[LicenseState], LicenseState]:
    """A fresh initial grace from *now*, one rearm fewer, the key kept."""

    def expect(state: LicenseState) -> LicenseState:
        return LicenseState(
            status=OOB,
            channel=state.channel,
            partial_key=state.partial_key,
            reason=codes.OOB_GRACE_PERIOD,
            grace_ends_at=now + 30 * DAY,
            rearms_left=state.rearms_left - 1,
        )

    return expect


CASES: tuple[Case, ...] = (
    # UNLICENSED: only installing a key, a failed attempt and a hardware change are taken.
    Case(
        "U-install",
        unlicensed,
        KeyInstalled(MAK_KEY, KeyChannel.MAK),
        Moves(OOB),
        lambda s: LicenseState(
            status=OOB,
            channel=KeyChannel.MAK,
            partial_key="6789B",
            reason=codes.OOB_GRACE_PERIOD,
            grace_ends_at=NOW + 30 * DAY,
            rearms_left=s.rearms_left,
        ),
    ),
    Case("U-uninstall", unlicensed, KeyUninstalled(), NO_KEY),
    Case("U-activate", unlicensed, KMS_NOW, NO_KEY),
    Case("U-failed", unlicensed, FAILED, Moves(U), _failed(codes.KMS_UNAVAILABLE)),
    Case("U-hardware", unlicensed, HardwareChanged(beyond_tolerance=True), Moves(U), _same),
    Case("U-rearm", unlicensed, Rearmed(), NO_KEY),
    Case("U-genuine", unlicensed, GenuineCheckFailed(), NO_KEY),
    Case("U-renew", unlicensed, Renewed(at=NOW), NO_KEY),
    Case("U-grace", unlicensed, GraceExpired(), NO_KEY, now=LATE),
    Case("U-validity", unlicensed, ValidityExpired(), NO_KEY, now=T0 + 200 * DAY),
    # LICENSED
    Case("L-same-mak-key", mak_licensed, KeyInstalled(MAK_KEY, KeyChannel.MAK), Moves(L), _same),
    Case(
        "L-other-mak-key",
        mak_licensed,
        KeyInstalled(OTHER_MAK_KEY, KeyChannel.MAK),
        Moves(OOB),
        lambda s: attrs.evolve(OOB_FROM_NOW(s), partial_key="CDFGH"),
    ),
    Case(
        "L-same-gvlk-expiring",
        kms_licensed,
        KeyInstalled(GVLK, KeyChannel.GVLK),
        Moves(OOB),
        OOB_FROM_NOW,
    ),
    Case("L-uninstall", kms_licensed, KeyUninstalled(), Moves(U), _uninstalled),
    Case(
        "L-reactivate-mak",
        mak_licensed,
        MAK_NOW,
        Moves(L),
        _activated(ActivationMethod.MAK_PROXY, NOW, None),
    ),
    Case("L-kms-on-mak", mak_licensed, KMS_NOW, WRONG_KEY_TYPE),
    Case("L-failed", kms_licensed, FAILED, Moves(L), _failed(codes.KMS_UNAVAILABLE)),
    Case(
        "L-beyond-tolerance",
        mak_licensed,
        HardwareChanged(beyond_tolerance=True),
        Moves(OOT),
        _graced(OOT, codes.OOT_GRACE_PERIOD, NOW + 30 * DAY),
    ),
    Case(
        "L-within-tolerance",
        mak_licensed,
        HardwareChanged(beyond_tolerance=False),
        Moves(L),
        _same,
    ),
    Case("L-rearm", kms_licensed, Rearmed(), Moves(OOB), _rearm_from(NOW)),
    Case(
        "L-rearm-none-left",
        lambda: kms_licensed(NO_REARMS),
        Rearmed(),
        NO_REARM_LEFT,
        policy=NO_REARMS,
    ),
    Case(
        "L-genuine",
        kms_licensed,
        GenuineCheckFailed(),
        Moves(NG),
        _graced(NG, codes.NON_GENUINE_GRACE_PERIOD, NOW + 30 * DAY),
    ),
    Case(
        "L-renew-kms",
        kms_licensed,
        Renewed(at=NOW),
        Moves(L),
        lambda s: attrs.evolve(s, activated_at=NOW, licensed_until=NOW + 180 * DAY),
    ),
    Case("L-renew-mak", mak_licensed, Renewed(at=NOW), REFUSED),
    Case("L-grace", kms_licensed, GraceExpired(), REFUSED, now=T0 + 200 * DAY),
    Case(
        "L-validity-over",
        kms_licensed,
        ValidityExpired(),
        Moves(OOT),
        _graced(OOT, codes.OOT_GRACE_PERIOD, T0 + 210 * DAY),  # from the lapse, not now
        now=T0 + 200 * DAY,
    ),
    Case("L-validity-not-over", kms_licensed, ValidityExpired(), REFUSED),
    Case("L-validity-perpetual", mak_licensed, ValidityExpired(), REFUSED, now=T0 + 200 * DAY),
    # OOB_GRACE: a key replaced in grace keeps the timer.
    Case(
        "OOB-install",
        in_oob,
        KeyInstalled(MAK_KEY, KeyChannel.MAK),
        Moves(OOB),
        _rekeyed(MAK_KEY, KeyChannel.MAK),
    ),
    Case("OOB-uninstall", in_oob, KeyUninstalled(), Moves(U), _uninstalled),
    Case(
        "OOB-activate",
        in_oob,
        KMS_NOW,
        Moves(L),
        _activated(ActivationMethod.KMS, NOW, NOW + 180 * DAY),
    ),
    Case("OOB-mak-on-gvlk", in_oob, MAK_NOW, WRONG_KEY_TYPE),
    Case("OOB-failed", in_oob, FAILED, Moves(OOB), _failed(codes.KMS_UNAVAILABLE)),
    Case("OOB-hardware", in_oob, HardwareChanged(beyond_tolerance=True), Moves(OOB), _same),
    Case("OOB-rearm", in_oob, Rearmed(), Moves(OOB), _rearm_from(NOW)),
    Case(
        "OOB-rearm-none-left",
        lambda: in_oob(NO_REARMS),
        Rearmed(),
        NO_REARM_LEFT,
        policy=NO_REARMS,
    ),
    Case(
        "OOB-genuine",
        in_oob,
        GenuineCheckFailed(),
        Moves(NG),
        _graced(NG, codes.NON_GENUINE_GRACE_PERIOD, NOW + 30 * DAY),
    ),
    Case("OOB-renew", in_oob, Renewed(at=NOW), REFUSED),
    Case(
        "OOB-grace-over-extended",
        lambda: in_oob(EXTENDED),
        GraceExpired(),
        Moves(X),
        lambda s: attrs.evolve(s, status=X, grace_ends_at=T0 + 40 * DAY),
        now=LATE,
        policy=EXTENDED,
    ),
    Case(
        "OOB-grace-over",
        in_oob,
        GraceExpired(),
        Moves(N),
        _notified(codes.GRACE_TIME_EXPIRED),
        now=T0 + 30 * DAY,
    ),
    Case("OOB-grace-not-over", in_oob, GraceExpired(), REFUSED, now=T0 + 30 * DAY - TICK),
    Case("OOB-validity", in_oob, ValidityExpired(), REFUSED, now=T0 + 200 * DAY),
    # OOT_GRACE: a MAK product after a hardware change.
    Case(
        "OOT-install",
        in_oot,
        KeyInstalled(GVLK, KeyChannel.GVLK),
        Moves(OOT),
        _rekeyed(GVLK, KeyChannel.GVLK),
    ),
    Case("OOT-uninstall", in_oot, KeyUninstalled(), Moves(U), _uninstalled),
    Case(
        "OOT-reactivate",
        in_oot,
        MAK_NOW,
        Moves(L),
        _activated(ActivationMethod.MAK_PROXY, NOW, None),
    ),
    Case("OOT-kms-on-mak", in_oot, KMS_NOW, WRONG_KEY_TYPE),
    Case("OOT-failed", in_oot, FAILED, Moves(OOT), _failed(codes.KMS_UNAVAILABLE)),
    Case(
        "OOT-hardware",
        in_oot,
        HardwareChanged(beyond_tolerance=True),
        Moves(OOT),
        _same,
    ),
    Case("OOT-rearm", in_oot, Rearmed(), Moves(OOB), _rearm_from(NOW)),
    Case(
        "OOT-rearm-none-left",
        lambda: in_oot(NO_REARMS),
        Rearmed(),
        NO_REARM_LEFT,
        policy=NO_REARMS,
    ),
    Case(
        "OOT-genuine",
        in_oot,
        GenuineCheckFailed(),
        Moves(NG),
        _graced(NG, codes.NON_GENUINE_GRACE_PERIOD, NOW + 30 * DAY),
    ),
    Case("OOT-renew", in_oot, Renewed(at=NOW), REFUSED),
    Case(
        "OOT-grace-over",
        in_oot,
        GraceExpired(),
        Moves(N),
        _notified(codes.GRACE_TIME_EXPIRED),
        now=T0 + 30 * DAY,
    ),
    Case("OOT-grace-not-over", in_oot, GraceExpired(), REFUSED, now=T0 + 30 * DAY - TICK),
    Case("OOT-validity", in_oot, ValidityExpired(), REFUSED, now=T0 + 200 * DAY),
    # NON_GENUINE_GRACE
    Case(
        "NG-install",
        in_non_genuine_grace,
        KeyInstalled(OTHER_GVLK, KeyChannel.GVLK),
        Moves(NG),
        _rekeyed(OTHER_GVLK, KeyChannel.GVLK),
    ),
    Case("NG-uninstall", in_non_genuine_grace, KeyUninstalled(), Moves(U), _uninstalled),
    Case(
        "NG-activate",
        in_non_genuine_grace,
        KMS_NOW,
        Moves(L),
        _activated(ActivationMethod.KMS, NOW, NOW + 180 * DAY),
    ),
    Case("NG-mak-on-gvlk", in_non_genuine_grace, MAK_NOW, WRONG_KEY_TYPE),
    Case("NG-failed", in_non_genuine_grace, FAILED, Moves(NG), _failed(codes.KMS_UNAVAILABLE)),
    Case(
        "NG-hardware",
        in_non_genuine_grace,
        HardwareChanged(beyond_tolerance=True),
        Moves(NG),
        _same,
    ),
    Case("NG-rearm", in_non_genuine_grace, Rearmed(), NOT_GENUINE),
    Case("NG-genuine-again", in_non_genuine_grace, GenuineCheckFailed(), Moves(NG), _same),
    Case("NG-renew", in_non_genuine_grace, Renewed(at=NOW), REFUSED),
    Case(
        "NG-grace-over",
        in_non_genuine_grace,
        GraceExpired(),
        Moves(N),
        _notified(codes.NOT_GENUINE),
        now=T0 + 30 * DAY,
    ),
    Case(
        "NG-grace-not-over",
        in_non_genuine_grace,
        GraceExpired(),
        REFUSED,
        now=T0 + 30 * DAY - TICK,
    ),
    Case("NG-validity", in_non_genuine_grace, ValidityExpired(), REFUSED, now=T0 + 200 * DAY),
    # NOTIFICATION: grace ran out at T0 + 30 days; events meet it at LATE.
    Case(
        "N-install",
        in_notification,
        KeyInstalled(OTHER_GVLK, KeyChannel.GVLK),
        Moves(N),
        _rekeyed(OTHER_GVLK, KeyChannel.GVLK),
        now=LATE,
    ),
    Case(
        "N-uninstall",
        in_notification,
        KeyUninstalled(),
        Moves(U),
        _uninstalled_after_grace(LATE),
        now=LATE,
    ),
    Case(
        "N-activate",
        in_notification,
        KMS_LATE,
        Moves(L),
        _activated(ActivationMethod.KMS, LATE, LATE + 180 * DAY),
        now=LATE,
    ),
    Case("N-mak-on-gvlk", in_notification, MAK_LATE, WRONG_KEY_TYPE, now=LATE),
    Case("N-failed", in_notification, FAILED, Moves(N), _failed(codes.KMS_UNAVAILABLE), now=LATE),
    Case(
        "N-hardware",
        in_notification,
        HardwareChanged(beyond_tolerance=True),
        Moves(N),
        _same,
        now=LATE,
    ),
    Case("N-rearm", in_notification, Rearmed(), Moves(OOB), _rearm_from(LATE), now=LATE),
    Case(
        "N-rearm-none-left",
        lambda: in_notification(NO_REARMS),
        Rearmed(),
        NO_REARM_LEFT,
        now=LATE,
        policy=NO_REARMS,
    ),
    Case("N-rearm-non-genuine", in_non_genuine_notification, Rearmed(), NOT_GENUINE, now=LATE),
    Case(
        "N-genuine",
        in_notification,
        GenuineCheckFailed(),
        Moves(N),
        lambda state: attrs.evolve(state, reason=codes.NOT_GENUINE, genuine=False),
        now=LATE,
    ),
    Case("N-renew", in_notification, Renewed(at=LATE), REFUSED, now=LATE),
    Case("N-grace", in_notification, GraceExpired(), REFUSED, now=T0 + 200 * DAY),
    Case("N-validity", in_notification, ValidityExpired(), REFUSED, now=T0 + 200 * DAY),
    # EXTENDED_GRACE: from T0 + 30 days to T0 + 40 days; events meet it at LATE.
    Case(
        "X-install",
        in_extended,
        KeyInstalled(OTHER_GVLK, KeyChannel.GVLK),
        Moves(X),
        _rekeyed(OTHER_GVLK, KeyChannel.GVLK),
        now=LATE,
        policy=EXTENDED,
    ),
    Case(
        "X-uninstall",
        in_extended,
        KeyUninstalled(),
        Moves(U),
        _uninstalled,
        now=LATE,
        policy=EXTENDED,
    ),
    Case(
        "X-activate",
        in_extended,
        KMS_LATE,
        Moves(L),
        _activated(ActivationMethod.KMS, LATE, LATE + 180 * DAY),
        now=LATE,
        policy=EXTENDED,
    ),
    Case("X-mak-on-gvlk", in_extended, MAK_LATE, WRONG_KEY_TYPE, now=LATE, policy=EXTENDED),
    Case(
        "X-failed",
        in_extended,
        FAILED,
        Moves(X),
        _failed(codes.KMS_UNAVAILABLE),
        now=LATE,
        policy=EXTENDED,
    ),
    Case(
        "X-hardware",
        in_extended,
        HardwareChanged(beyond_tolerance=True),
        Moves(X),
        _same,
        now=LATE,
        policy=EXTENDED,
    ),
    Case(
        "X-rearm",
        in_extended,
        Rearmed(),
        Moves(OOB),
        _rearm_from(LATE),
        now=LATE,
        policy=EXTENDED,
    ),
    Case(
        "X-rearm-none-left",
        lambda: in_extended(attrs.evolve(EXTENDED, rearm_limit=0)),
        Rearmed(),
        NO_REARM_LEFT,
        now=LATE,
        policy=attrs.evolve(EXTENDED, rearm_limit=0),
    ),
    Case(
        "X-genuine",
        in_extended,
        GenuineCheckFailed(),
        Moves(NG),
        _graced(NG, codes.NON_GENUINE_GRACE_PERIOD, LATE + 30 * DAY),
        now=LATE,
        policy=EXTENDED,
    ),
    Case("X-renew", in_extended, Renewed(at=LATE), REFUSED, now=LATE, policy=EXTENDED),
    Case(
        "X-grace-over",
        in_extended,
        GraceExpired(),
        Moves(N),
        _notified(codes.GRACE_TIME_EXPIRED),
        now=T0 + 40 * DAY,
        policy=EXTENDED,
    ),
    Case(
        "X-grace-not-over",
        in_extended,
        GraceExpired(),
        REFUSED,
        now=T0 + 40 * DAY - TICK,
        policy=EXTENDED,
    ),
    Case(
        "X-validity",
        in_extended,
        ValidityExpired(),
        REFUSED,
        now=T0 + 200 * DAY,
        policy=EXTENDED,
    ),
)


def test_the_matrix_has_every_status_and_every_event() -> None:
    assert set(MATRIX) == set(LicenseStatus)
    assert len(LicenseStatus) == 7
    for row in MATRIX.values():
        assert tuple(row) == ALL_EVENTS
    assert {event.__name__ for event in typing.get_args(Event)} == set(ALL_EVENTS)


@pytest.mark.parametrize("status", list(LicenseStatus), ids=str)
def test_the_matrix_agrees_with_allowed_events(status: LicenseStatus) -> None:
    allowed_in_matrix = {
        event
        for event, outcomes in MATRIX[status].items()
        if any(isinstance(outcome, Moves) for outcome in outcomes)
    }
    assert allowed_events(status) == allowed_in_matrix


def test_the_cases_cover_every_outcome_of_every_cell_and_nothing_else() -> None:
    from_matrix = {
        (status, event, outcome)
        for status, row in MATRIX.items()
        for event, outcomes in row.items()
        for outcome in outcomes
    }
    from_cases = {(case.build().status, type(case.event).__name__, case.outcome) for case in CASES}
    assert from_cases == from_matrix
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_cell(case: Case) -> None:
    before = case.build()
    assert case.outcome in MATRIX[before.status][type(case.event).__name__]
    if isinstance(case.outcome, Refused):
        with pytest.raises(IllegalTransition) as caught:
            step(before, case.event, now=case.now, policy=case.policy)
        assert caught.value.code == case.outcome.code
        assert caught.value.status is before.status
        assert caught.value.event == case.event
        because = "" if case.outcome.code is None else f" (0x{case.outcome.code:08X})"
        assert (
            str(caught.value) == f"Can't {type(case.event).__name__} when {before.status}{because}"
        )
        return
    after = step(before, case.event, now=case.now, policy=case.policy)
    assert after.status is case.outcome.target
    assert case.expect is not None
    assert after == case.expect(before)


# --- rules from the issue -----------------------------------------------------------------


def test_a_fresh_product_is_unlicensed_with_every_rearm() -> None:
    fresh = LicenseState.new()
    assert fresh.status is U
    assert fresh.rearms_left == GracePolicy().rearm_limit == 1000
    assert not fresh.has_key
    assert (fresh.channel, fresh.partial_key, fresh.reason, fresh.method) == (None,) * 4
    assert (fresh.grace_ends_at, fresh.licensed_until, fresh.activated_at) == (None,) * 3
    assert LicenseState.new(GracePolicy(rearm_limit=3)).rearms_left == 3


def test_installing_a_key_starts_a_30_day_initial_grace() -> None:
    state = step(LicenseState.new(), KeyInstalled(GVLK, KeyChannel.GVLK), now=NOW)
    assert state.status is OOB
    assert state.grace_ends_at == NOW + dt.timedelta(days=30)
    assert state.reason == codes.OOB_GRACE_PERIOD == 0x4004F00C
    assert (state.channel, state.partial_key) == (KeyChannel.GVLK, "2YT43")
    shorter = GracePolicy(oob_grace=dt.timedelta(days=10))
    installed = step(
        LicenseState.new(), KeyInstalled(GVLK, KeyChannel.GVLK), now=NOW, policy=shorter
    )
    assert installed.grace_ends_at == NOW + dt.timedelta(days=10)


@pytest.mark.parametrize(
    ("key", "channel", "method"),
    [
        (MAK_KEY, KeyChannel.MAK, ActivationMethod.MAK_INDEPENDENT),
        (MAK_KEY, KeyChannel.MAK, ActivationMethod.MAK_PROXY),
        (MAK_KEY, KeyChannel.MAK, ActivationMethod.PHONE),
        (OTHER_MAK_KEY, KeyChannel.RETAIL, ActivationMethod.RETAIL_ONLINE),
        (OTHER_MAK_KEY, KeyChannel.RETAIL, ActivationMethod.PHONE),
        (OTHER_MAK_KEY, KeyChannel.OEM, ActivationMethod.RETAIL_ONLINE),
    ],
)
def test_mak_retail_and_phone_activations_are_perpetual(
    key: ProductKey, channel: KeyChannel, method: ActivationMethod
) -> None:
    installed = step(LicenseState.new(), KeyInstalled(key, channel), now=T0)
    licensed = step(installed, Activated(method, at=NOW), now=NOW)
    assert licensed.status is L
    assert licensed.licensed_until is None
    assert licensed.grace_ends_at is None
    assert (licensed.method, licensed.activated_at, licensed.reason) == (method, NOW, None)
    assert advance(licensed, NOW + 10_000 * DAY) == licensed


@pytest.mark.parametrize("method", [ActivationMethod.KMS, ActivationMethod.ADBA])
def test_kms_and_adba_activations_last_180_days_and_renewal_restarts_the_window(
    method: ActivationMethod,
) -> None:
    licensed = step(in_oob(), Activated(method, at=NOW), now=NOW)
    assert licensed.licensed_until == NOW + 180 * DAY
    renewed_at = NOW + 7 * DAY
    renewed = step(licensed, Renewed(at=renewed_at), now=renewed_at + dt.timedelta(hours=1))
    assert renewed.licensed_until == renewed_at + 180 * DAY  # from the renewal's `at`
    assert renewed.status is L
    assert (renewed.activated_at, renewed.method) == (renewed_at, method)  # the last contact


@pytest.mark.parametrize(
    "method",
    [
        ActivationMethod.MAK_INDEPENDENT,
        ActivationMethod.MAK_PROXY,
        ActivationMethod.RETAIL_ONLINE,
        ActivationMethod.PHONE,
    ],
)
def test_kms_activation_refuses_a_key_of_another_channel(method: ActivationMethod) -> None:
    with pytest.raises(IllegalTransition) as caught:
        step(in_oob(), Activated(method, at=NOW), now=NOW)
    assert caught.value.code == codes.INVALID_KEY_TYPE == 0xC004F07D


def test_token_activation_fits_any_channel() -> None:
    for channel in KeyChannel:
        installed = step(LicenseState.new(), KeyInstalled(MAK_KEY, channel), now=T0)
        licensed = step(installed, Activated(ActivationMethod.TOKEN, at=NOW), now=NOW)
        assert (licensed.status, licensed.licensed_until) == (L, None)


def test_a_lapsed_kms_activation_drops_to_oot_grace_and_then_to_notification() -> None:
    lapsed = advance(kms_licensed(), T0 + 180 * DAY)
    assert lapsed.status is OOT
    assert lapsed.reason == codes.OOT_GRACE_PERIOD == 0x4004F00D
    assert lapsed.grace_ends_at == T0 + 210 * DAY
    assert (lapsed.licensed_until, lapsed.method, lapsed.activated_at) == (None, None, None)
    notified = advance(lapsed, T0 + 210 * DAY)
    assert notified.status is N
    assert notified.reason == codes.GRACE_TIME_EXPIRED == 0xC004F009
    assert notified.grace_ends_at is None


def test_a_mak_product_beyond_hardware_tolerance_is_reactivated_during_oot_grace() -> None:
    changed = step(mak_licensed(), HardwareChanged(beyond_tolerance=True), now=NOW)
    assert changed.status is OOT
    assert changed.reason == codes.OOT_GRACE_PERIOD
    assert changed.grace_ends_at == NOW + 30 * DAY
    reactivated_at = NOW + 3 * DAY
    proxy = Activated(ActivationMethod.MAK_PROXY, at=reactivated_at)
    reactivated = step(advance(changed, reactivated_at), proxy, now=reactivated_at)
    assert reactivated.status is L
    assert reactivated.licensed_until is None
    assert (reactivated.activated_at, reactivated.reason) == (reactivated_at, None)


def test_a_hardware_change_within_tolerance_does_not_extend_oot_grace() -> None:
    state = in_oot()  # grace until T0 + 30 days
    later = T0 + 20 * DAY
    after = step(state, HardwareChanged(beyond_tolerance=False), now=later)
    assert after.grace_ends_at == T0 + 30 * DAY  # got later + 30 days
    assert advance(after, T0 + 30 * DAY).status is N


def test_a_failed_genuine_check_leads_to_notification_with_0xc004f200() -> None:
    flagged = step(mak_licensed(), GenuineCheckFailed(), now=NOW)
    assert flagged.status is NG
    assert flagged.reason == codes.NON_GENUINE_GRACE_PERIOD == 0x4004F065
    assert flagged.grace_ends_at == NOW + 30 * DAY
    notified = advance(flagged, NOW + 30 * DAY)
    assert (notified.status, notified.reason) == (N, 0xC004F200)


def test_rearm_resets_the_grace_timer_and_costs_one_rearm() -> None:
    halfway = T0 + 20 * DAY
    rearmed = step(in_oob(), Rearmed(), now=halfway)
    assert rearmed.status is OOB
    assert rearmed.grace_ends_at == halfway + 30 * DAY  # not T0 + 30 days any more
    assert rearmed.rearms_left == 999
    assert advance(rearmed, T0 + 30 * DAY).status is OOB


def test_rearm_is_refused_with_0xc004f200_while_non_genuine() -> None:
    with pytest.raises(IllegalTransition) as caught:
        step(in_non_genuine_grace(), Rearmed(), now=NOW)
    assert caught.value.code == 0xC004F200
    assert caught.value.status is NG


def test_rearm_with_none_left_is_refused_with_0xc004d307() -> None:
    state = in_oob(NO_REARMS)
    with pytest.raises(IllegalTransition) as caught:
        step(state, Rearmed(), now=NOW, policy=NO_REARMS)
    assert caught.value.code == 0xC004D307
    assert str(caught.value) == "Can't Rearmed when OOBGrace (0xC004D307)"


@pytest.mark.parametrize(
    "build", [in_oob, kms_licensed, in_oot, in_non_genuine_grace], ids=lambda f: f.__name__
)
def test_a_failed_activation_keeps_the_status_and_records_the_reason(
    build: Callable[[], LicenseState],
) -> None:
    before = build()
    after = step(before, ActivationFailed(codes.KMS_COUNT_INSUFFICIENT), now=NOW)
    assert after.status is before.status
    assert after.reason == 0xC004F038
    assert after == attrs.evolve(before, reason=0xC004F038)


def test_uninstalling_the_key_returns_to_unlicensed_keeping_the_rearms() -> None:
    policy = GracePolicy(rearm_limit=3)
    rearmed = step(kms_licensed(policy), Rearmed(), now=NOW, policy=policy)
    uninstalled = step(rearmed, KeyUninstalled(), now=NOW, policy=policy)
    assert uninstalled == LicenseState(rearms_left=2, grace_ends_at=NOW + 30 * DAY)
    assert not uninstalled.has_key


def test_uninstalling_and_reinstalling_a_key_buys_no_grace() -> None:
    # Rearmed to zero and in notification: swapping the key must not start a new grace.
    policy = GracePolicy(rearm_limit=0)
    notified = advance(in_oob(policy), T0 + 45 * DAY, policy)
    assert notified.status is N
    bare = step(notified, KeyUninstalled(), now=T0 + 45 * DAY, policy=policy)
    again = step(bare, KeyInstalled(GVLK, KeyChannel.GVLK), now=T0 + 45 * DAY, policy=policy)
    assert advance(again, T0 + 45 * DAY, policy).status is N
    # Mid-grace, the old deadline resumes.
    bare = step(in_oob(), KeyUninstalled(), now=T0 + 10 * DAY)
    again = step(bare, KeyInstalled(GVLK, KeyChannel.GVLK), now=T0 + 20 * DAY)
    assert (again.status, again.grace_ends_at) == (OOB, T0 + 30 * DAY)
    # A non-genuine product stays non-genuine.
    bare = step(in_non_genuine_grace(), KeyUninstalled(), now=T0 + DAY)
    again = step(bare, KeyInstalled(GVLK, KeyChannel.GVLK), now=T0 + DAY)
    assert (again.status, again.genuine) == (NG, False)


@pytest.mark.parametrize(
    "event",
    [Renewed(at=T0 + 181 * DAY), Renewed(at=T0 - DAY)],
    ids=["after-the-validity-lapsed", "before-the-last-contact"],
)
def test_a_renewal_outside_the_valid_window_is_refused(event: Renewed) -> None:
    with pytest.raises(IllegalTransition) as caught:
        step(kms_licensed(), event, now=T0 + 200 * DAY)
    assert caught.value.code is None


@pytest.mark.parametrize(
    "event", [Activated(ActivationMethod.KMS, at=T0 + DAY), Renewed(at=T0 + DAY)]
)
def test_an_event_dated_after_now_is_refused(event: Event) -> None:
    with pytest.raises(InvalidComponent, match="later than now"):
        step(kms_licensed(), event, now=T0)


def test_signed_failure_codes_are_read_as_unsigned() -> None:
    assert ActivationFailed(-1073418160).code == 0xC004F050


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (lambda: LicenseState(status=OOB), "a grace period needs grace_ends_at"),
        (
            lambda: LicenseState(status=L, method=ActivationMethod.KMS, activated_at=T0),
            "a KMS or ADBA activation needs licensed_until",
        ),
    ],
    ids=["grace-without-deadline", "kms-without-expiry"],
)
def test_snapshots_no_timer_could_move_are_refused(
    state: Callable[[], LicenseState], reason: str
) -> None:
    with pytest.raises(InvalidComponent) as caught:
        state()
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda: step(None, KeyUninstalled(), now=T0), "license state"),  # type: ignore[arg-type]
        (lambda: advance(None, T0), "license state"),  # type: ignore[arg-type]
        (lambda: step(LicenseState.new(), "KeyInstalled", now=T0), "licensing event"),  # type: ignore[arg-type]
        (lambda: step(LicenseState.new(), KeyUninstalled(), now=T0, policy=5), "grace policy"),  # type: ignore[arg-type]
    ],
    ids=["step-none", "advance-none", "event-name", "policy-int"],
)
def test_wrong_types_raise_mak_errors(call: Callable[[], object], kind: str) -> None:
    with pytest.raises(InvalidFormat) as caught:
        call()
    assert caught.value.kind == kind


def test_illegal_transition_names_the_status_and_the_event() -> None:
    renewed = Renewed(at=NOW)
    with pytest.raises(IllegalTransition) as caught:
        step(LicenseState.new(), renewed, now=NOW)
    assert caught.value.status is U
    assert caught.value.event is renewed
    assert str(caught.value).startswith("Can't Renewed when Unlicensed")
    assert caught.value.code == 0xC004F014


def test_renewing_a_perpetual_activation_is_refused_without_a_code() -> None:
    with pytest.raises(IllegalTransition) as caught:
        step(mak_licensed(), Renewed(at=NOW), now=NOW)
    assert caught.value.code is None
    assert str(caught.value) == "Can't Renewed when Licensed"


@pytest.mark.parametrize(
    "build",
    [in_oob, mak_licensed, kms_licensed, in_oot, in_non_genuine_grace, in_notification],
    ids=lambda f: f.__name__,
)
def test_only_the_partial_key_is_kept(build: Callable[[], LicenseState]) -> None:
    state = step(build(), KeyInstalled(OTHER_MAK_KEY, KeyChannel.MAK), now=LATE)
    assert state.partial_key == "CDFGH"
    whole = OTHER_MAK_KEY.reveal()
    spellings = (whole, whole.replace("-", ""), whole[:-6])
    document = json.dumps(make_converter().unstructure(state))
    for text in spellings:
        assert text not in repr(state)
        assert text not in document
    assert "CDFGH" in document


def test_a_failed_activation_does_not_make_a_non_genuine_notification_rearmable() -> None:
    failed = step(in_non_genuine_notification(), ActivationFailed(codes.KMS_UNAVAILABLE), now=LATE)
    assert failed.status is N
    with pytest.raises(IllegalTransition) as caught:
        step(failed, Rearmed(), now=LATE)
    assert caught.value.code == codes.NOT_GENUINE


# --- timers -------------------------------------------------------------------------------


@attrs.frozen
class Timer:
    name: str
    build: Callable[[], LicenseState]
    expires_at: dt.datetime
    then: LicenseStatus
    reason: int
    policy: GracePolicy = DEFAULT


ADBA_90_DAYS = GracePolicy(adba_validity=90 * DAY)

TIMERS = (
    Timer("oob-grace", in_oob, T0 + 30 * DAY, N, codes.GRACE_TIME_EXPIRED),
    Timer(
        "oot-grace-after-lapse",
        lambda: advance(kms_licensed(), T0 + 180 * DAY),
        T0 + 210 * DAY,
        N,
        codes.GRACE_TIME_EXPIRED,
    ),
    Timer("oot-grace-after-hardware-change", in_oot, T0 + 30 * DAY, N, codes.GRACE_TIME_EXPIRED),
    Timer("non-genuine-grace", in_non_genuine_grace, T0 + 30 * DAY, N, codes.NOT_GENUINE),
    Timer("extended-grace", in_extended, T0 + 40 * DAY, N, codes.GRACE_TIME_EXPIRED, EXTENDED),
    Timer("kms-validity", kms_licensed, T0 + 180 * DAY, OOT, codes.OOT_GRACE_PERIOD),
    Timer(
        "adba-validity",
        lambda: step(
            in_oob(), Activated(ActivationMethod.ADBA, at=T0), now=T0, policy=ADBA_90_DAYS
        ),
        T0 + 90 * DAY,
        OOT,
        codes.OOT_GRACE_PERIOD,
        ADBA_90_DAYS,
    ),
)


@pytest.mark.parametrize("timer", TIMERS, ids=lambda timer: timer.name)
def test_timer_runs_out_at_the_exact_instant(timer: Timer) -> None:
    state = timer.build()
    assert state.status is not timer.then
    assert advance(state, timer.expires_at - TICK, timer.policy) == state
    expired = advance(state, timer.expires_at, timer.policy)
    assert expired.status is timer.then
    assert expired.reason == timer.reason


def test_extended_grace_is_offered_only_when_the_policy_sets_it() -> None:
    over = T0 + 30 * DAY
    assert advance(in_oob(EXTENDED), over, EXTENDED).status is X
    assert advance(in_oob(EXTENDED), over, EXTENDED).grace_ends_at == T0 + 40 * DAY
    assert advance(in_oob(), over).status is N


def test_chained_expiry_counts_each_period_from_the_end_of_the_last() -> None:
    licensed = kms_licensed()
    late_in_oot = advance(licensed, T0 + 209 * DAY)
    assert late_in_oot.status is OOT
    assert late_in_oot.grace_ends_at == T0 + 210 * DAY  # not 209 + 30 days
    notified = advance(licensed, T0 + 400 * DAY)
    assert notified == LicenseState(
        status=N,
        channel=KeyChannel.GVLK,
        partial_key="2YT43",
        reason=codes.GRACE_TIME_EXPIRED,
        rearms_left=1000,
    )
    assert advance(licensed, T0 + 210 * DAY) == notified
    assert advance(licensed, T0 + 210 * DAY - TICK).status is OOT
    extended = advance(in_oob(EXTENDED), T0 + 40 * DAY, EXTENDED)
    assert (extended.status, extended.reason) == (N, codes.GRACE_TIME_EXPIRED)


@pytest.mark.parametrize(
    ("build", "policy"),
    [
        (kms_licensed, DEFAULT),
        (in_oob, DEFAULT),
        (in_oob, EXTENDED),
        (in_oot, DEFAULT),
        (in_non_genuine_grace, DEFAULT),
        (mak_licensed, DEFAULT),
    ],
)
@pytest.mark.parametrize(
    ("t1", "t2"),
    [
        (T0 + 29 * DAY, T0 + 35 * DAY),
        (T0 + 30 * DAY, T0 + 40 * DAY),
        (T0 + 180 * DAY, T0 + 205 * DAY),
        (T0 + 181 * DAY, T0 + 181 * DAY),
        (T0 + 200 * DAY, T0 + 500 * DAY),
    ],
)
def test_advance_is_idempotent(
    build: Callable[[GracePolicy], LicenseState],
    policy: GracePolicy,
    t1: dt.datetime,
    t2: dt.datetime,
) -> None:
    state = build(policy)
    assert advance(advance(state, t1, policy), t2, policy) == advance(state, t2, policy)
    once = advance(state, t2, policy)
    assert advance(once, t2, policy) == once


NAIVE = dt.datetime(2026, 1, 5, 9, 0)  # noqa: DTZ001  # the point of these tests


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: step(in_oob(), Rearmed(), now=NAIVE), "now"),
        (lambda: advance(in_oob(), NAIVE), "now"),
        (lambda: Activated(ActivationMethod.KMS, at=NAIVE), "at"),
        (lambda: Renewed(at=NAIVE), "at"),
        (lambda: LicenseState(grace_ends_at=NAIVE), "grace_ends_at"),
        (lambda: LicenseState(licensed_until=NAIVE), "licensed_until"),
        (lambda: LicenseState(activated_at=NAIVE), "activated_at"),
    ],
)
def test_naive_datetimes_are_refused(make: Callable[[], object], name: str) -> None:
    with pytest.raises(InvalidComponent) as caught:
        make()
    assert (caught.value.kind, caught.value.text) == ("time", name)
    assert caught.value.reason == "is naive; pass an aware UTC datetime"


@pytest.mark.parametrize(
    "make",
    [
        lambda: Activated(ActivationMethod.MAK_PROXY, at=None),  # type: ignore[arg-type]
        lambda: Renewed(at=None),  # type: ignore[arg-type]
        lambda: ActivationFailed(None),  # type: ignore[arg-type]
    ],
)
def test_required_event_fields_refuse_none(make: Callable[[], object]) -> None:
    with pytest.raises(InvalidComponent):
        make()


PLUS_2 = dt.timezone(dt.timedelta(hours=2))
MINUS_5 = dt.timezone(dt.timedelta(hours=-5))


def test_non_utc_times_given_to_events_are_stored_in_utc() -> None:
    now = NOW.astimezone(PLUS_2)
    installed = step(LicenseState.new(), KeyInstalled(GVLK, KeyChannel.GVLK), now=now)
    assert installed.grace_ends_at == NOW + 30 * DAY
    assert getattr(installed.grace_ends_at, "tzinfo", None) is UTC
    licensed = step(installed, Activated(ActivationMethod.KMS, at=now), now=now)
    assert getattr(licensed.activated_at, "tzinfo", None) is UTC
    assert getattr(licensed.licensed_until, "tzinfo", None) is UTC
    assert licensed.licensed_until == NOW + 180 * DAY
    renewed = step(licensed, Renewed(at=(NOW + DAY).astimezone(MINUS_5)), now=now + DAY)
    assert getattr(renewed.licensed_until, "tzinfo", None) is UTC
    assert renewed.licensed_until == NOW + 181 * DAY
    lapsed = advance(renewed, (NOW + 181 * DAY).astimezone(MINUS_5))
    assert getattr(lapsed.grace_ends_at, "tzinfo", None) is UTC
    assert lapsed.grace_ends_at == NOW + 211 * DAY


def test_non_utc_times_given_to_a_state_are_stored_in_utc() -> None:
    state = LicenseState(
        status=OOB,
        channel=KeyChannel.GVLK,
        partial_key="2YT43",
        grace_ends_at=NOW.astimezone(PLUS_2),
    )
    assert state.grace_ends_at == NOW
    assert getattr(state.grace_ends_at, "tzinfo", None) is UTC


class _GreenwichTime(dt.tzinfo):
    """UTC under another tzinfo than ``timezone.utc``, which the checks take a fast path for."""

    def utcoffset(self, _: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(0)

    def dst(self, _: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(0)


class _NoOffset(dt.tzinfo):
    def utcoffset(self, _: dt.datetime | None) -> None:
        return None


def test_times_in_a_utc_zone_other_than_timezone_utc_are_stored_in_utc() -> None:
    now = NOW.replace(tzinfo=_GreenwichTime())
    state = LicenseState(
        status=OOB, channel=KeyChannel.GVLK, partial_key="2YT43", grace_ends_at=now
    )
    assert getattr(state.grace_ends_at, "tzinfo", None) is UTC
    installed = step(LicenseState.new(), KeyInstalled(GVLK, KeyChannel.GVLK), now=now)
    assert getattr(installed.grace_ends_at, "tzinfo", None) is UTC


def test_a_key_whose_last_five_symbols_hold_an_n_is_refused_as_before() -> None:
    # A PKEY2009 key may put its N in the last group; no partial key holds one, so the
    # snapshot's check refuses it, on the path that builds a new snapshot too.
    key = ProductKey.parse("BBBBB-BBBBB-BBBBB-BBBBC-2G7NH")
    assert "N" in key.partial
    with pytest.raises(InvalidFormat, match="partial product key"):
        step(LicenseState.new(), KeyInstalled(key, KeyChannel.RETAIL), now=NOW)


def test_a_tzinfo_without_an_offset_is_naive() -> None:
    with pytest.raises(InvalidComponent, match="is naive"):
        advance(in_oob(), NOW.replace(tzinfo=_NoOffset()))


# --- scenarios from domain-facts ----------------------------------------------------------


def test_a_kms_client_that_stops_reaching_its_host_for_181_days_is_in_oot_grace() -> None:
    # §3: renewals every 7 days restart the 180-day window; §4.3: lapsed -> status 3.
    state = kms_licensed()
    last_contact = T0
    for week in range(1, 5):
        last_contact = T0 + 7 * week * DAY
        state = step(advance(state, last_contact), Renewed(at=last_contact), now=last_contact)
    assert state.licensed_until == last_contact + 180 * DAY
    assert advance(state, last_contact + 179 * DAY).status is L
    silent = advance(state, last_contact + 181 * DAY)
    assert silent.status is OOT
    assert silent.status.description.startswith("Additional grace period (KMS license expired")
    assert silent.reason == codes.OOT_GRACE_PERIOD


def test_a_mak_machine_whose_motherboard_is_replaced_needs_reactivation() -> None:
    # §4.3: beyond tolerance -> MAK systems must reactivate during the OOT grace; §6.
    replaced_at = T0 + 100 * DAY
    state = step(mak_licensed(), HardwareChanged(beyond_tolerance=True), now=replaced_at)
    assert state.status is OOT
    assert state.method is None
    # A KMS attempt cannot rescue a MAK product; a new MAK activation can.
    with pytest.raises(IllegalTransition) as caught:
        step(state, Activated(ActivationMethod.KMS, at=replaced_at), now=replaced_at)
    assert caught.value.code == codes.INVALID_KEY_TYPE
    never_reactivated = advance(state, replaced_at + 30 * DAY)
    assert (never_reactivated.status, never_reactivated.reason) == (N, codes.GRACE_TIME_EXPIRED)
    reactivated_at = replaced_at + 2 * DAY
    independent = Activated(ActivationMethod.MAK_INDEPENDENT, at=reactivated_at)
    reactivated = step(state, independent, now=reactivated_at)
    assert (reactivated.status, reactivated.licensed_until) == (L, None)
    assert advance(reactivated, replaced_at + 1000 * DAY) == reactivated


def test_a_product_rearmed_to_zero_cannot_rearm_again() -> None:
    # §4.4: past the limit -> 0xC004D307.
    policy = GracePolicy(rearm_limit=3)
    state = in_oob(policy)
    assert state.rearms_left == 3
    for left in (2, 1, 0):
        state = step(state, Rearmed(), now=NOW, policy=policy)
        assert state.rearms_left == left
    with pytest.raises(IllegalTransition) as caught:
        step(state, Rearmed(), now=NOW, policy=policy)
    assert caught.value.code == codes.MAX_REARM_REACHED == 0xC004D307
    assert caught.value.status is OOB


# --- serialization ------------------------------------------------------------------------

REPRESENTATIVES = {
    U: unlicensed,
    L: kms_licensed,
    OOB: in_oob,
    OOT: in_oot,
    NG: in_non_genuine_grace,
    N: in_non_genuine_notification,
    X: in_extended,
}


@pytest.mark.parametrize("status", list(LicenseStatus), ids=str)
def test_license_state_round_trips_through_the_converter(status: LicenseStatus) -> None:
    state = REPRESENTATIVES[status]()
    assert state.status is status
    converter = make_converter()
    document = json.loads(json.dumps(converter.unstructure(state)))
    assert converter.structure(document, LicenseState) == state


def test_license_state_is_written_with_plain_values() -> None:
    assert make_converter().unstructure(kms_licensed()) == {
        "status": 1,
        "channel": "Volume:GVLK",
        "partial_key": "2YT43",
        "reason": None,
        "grace_ends_at": None,
        "licensed_until": "2026-07-04T09:00:00+00:00",
        "activated_at": "2026-01-05T09:00:00+00:00",
        "method": "kms",
        "rearms_left": 1000,
        "genuine": True,
    }


# --- the table and its drawings -----------------------------------------------------------


def test_the_table_is_sound() -> None:
    assert validate_table() is None


GOLDEN_MERMAID = """\
stateDiagram-v2
    state "Unlicensed" as UNLICENSED
    state "Licensed" as LICENSED
    state "OOBGrace" as OOB_GRACE
    state "OOTGrace" as OOT_GRACE
    state "NonGenuineGrace" as NON_GENUINE_GRACE
    state "Notification" as NOTIFICATION
    state "ExtendedGrace" as EXTENDED_GRACE
    [*] --> UNLICENSED
    UNLICENSED --> OOB_GRACE: KeyInstalled
    OOB_GRACE --> OOB_GRACE: KeyInstalled
    LICENSED --> LICENSED: KeyInstalled [same key, perpetual activation]
    LICENSED --> OOB_GRACE: KeyInstalled [another key, or an expiring activation]
    OOT_GRACE --> OOT_GRACE: KeyInstalled
    NON_GENUINE_GRACE --> NON_GENUINE_GRACE: KeyInstalled
    NOTIFICATION --> NOTIFICATION: KeyInstalled
    EXTENDED_GRACE --> EXTENDED_GRACE: KeyInstalled
    LICENSED --> UNLICENSED: KeyUninstalled
    OOB_GRACE --> UNLICENSED: KeyUninstalled
    OOT_GRACE --> UNLICENSED: KeyUninstalled
    NON_GENUINE_GRACE --> UNLICENSED: KeyUninstalled
    NOTIFICATION --> UNLICENSED: KeyUninstalled
    EXTENDED_GRACE --> UNLICENSED: KeyUninstalled
    LICENSED --> LICENSED: Activated [method fits the key's channel]
    OOB_GRACE --> LICENSED: Activated [method fits the key's channel]
    OOT_GRACE --> LICENSED: Activated [method fits the key's channel]
    NON_GENUINE_GRACE --> LICENSED: Activated [method fits the key's channel]
    NOTIFICATION --> LICENSED: Activated [method fits the key's channel]
    EXTENDED_GRACE --> LICENSED: Activated [method fits the key's channel]
    UNLICENSED --> UNLICENSED: ActivationFailed
    LICENSED --> LICENSED: ActivationFailed
    OOB_GRACE --> OOB_GRACE: ActivationFailed
    OOT_GRACE --> OOT_GRACE: ActivationFailed
    NON_GENUINE_GRACE --> NON_GENUINE_GRACE: ActivationFailed
    NOTIFICATION --> NOTIFICATION: ActivationFailed
    EXTENDED_GRACE --> EXTENDED_GRACE: ActivationFailed
    LICENSED --> OOT_GRACE: HardwareChanged [beyond tolerance]
    LICENSED --> LICENSED: HardwareChanged [within tolerance]
    UNLICENSED --> UNLICENSED: HardwareChanged
    OOB_GRACE --> OOB_GRACE: HardwareChanged
    OOT_GRACE --> OOT_GRACE: HardwareChanged
    NON_GENUINE_GRACE --> NON_GENUINE_GRACE: HardwareChanged
    NOTIFICATION --> NOTIFICATION: HardwareChanged
    EXTENDED_GRACE --> EXTENDED_GRACE: HardwareChanged
    LICENSED --> OOB_GRACE: Rearmed [a rearm left]
    OOB_GRACE --> OOB_GRACE: Rearmed [a rearm left]
    OOT_GRACE --> OOB_GRACE: Rearmed [a rearm left]
    NOTIFICATION --> OOB_GRACE: Rearmed [a rearm left, genuine]
    EXTENDED_GRACE --> OOB_GRACE: Rearmed [a rearm left]
    LICENSED --> NON_GENUINE_GRACE: GenuineCheckFailed
    OOB_GRACE --> NON_GENUINE_GRACE: GenuineCheckFailed
    OOT_GRACE --> NON_GENUINE_GRACE: GenuineCheckFailed
    EXTENDED_GRACE --> NON_GENUINE_GRACE: GenuineCheckFailed
    NON_GENUINE_GRACE --> NON_GENUINE_GRACE: GenuineCheckFailed
    NOTIFICATION --> NOTIFICATION: GenuineCheckFailed
    LICENSED --> LICENSED: Renewed [KMS or ADBA activation]
    OOB_GRACE --> EXTENDED_GRACE: GraceExpired [grace over, extended grace offered]
    OOB_GRACE --> NOTIFICATION: GraceExpired [grace over, no extended grace]
    OOT_GRACE --> NOTIFICATION: GraceExpired [grace over]
    NON_GENUINE_GRACE --> NOTIFICATION: GraceExpired [grace over]
    EXTENDED_GRACE --> NOTIFICATION: GraceExpired [grace over]
    LICENSED --> OOT_GRACE: ValidityExpired [validity over]"""


def test_mermaid_is_pinned() -> None:
    assert to_mermaid() == GOLDEN_MERMAID


COMMITTED_MERMAID = Path(__file__).parent.parent / "docs" / "_generated" / "lifecycle.mmd"


def test_the_committed_diagram_is_the_pinned_one() -> None:
    if not COMMITTED_MERMAID.exists():
        pytest.skip("docs/_generated/lifecycle.mmd is not there yet")
    assert COMMITTED_MERMAID.read_text(encoding="utf-8") == GOLDEN_MERMAID + "\n"


def test_mermaid_highlights_the_current_state() -> None:
    assert to_mermaid(highlight=L) == (
        GOLDEN_MERMAID
        + "\n    classDef current font-weight:bold,stroke-width:3px"
        + "\n    class LICENSED current"
    )
    assert "class OOT_GRACE current" in to_mermaid(highlight=OOT)
    assert "class " not in to_mermaid()


def test_dot_is_a_digraph_with_every_state_and_edge() -> None:
    dot = to_dot()
    lines = dot.splitlines()
    assert lines[0] == 'digraph "licensing" {'
    assert lines[-1] == "}"
    for status in LicenseStatus:
        assert f'    {status.name} [label="{status}"];' in lines
    assert "    __start -> UNLICENSED;" in lines
    assert '    LICENSED -> OOT_GRACE [label="HardwareChanged [beyond tolerance]"];' in lines
    assert '    UNLICENSED -> OOB_GRACE [label="KeyInstalled"];' in lines
    edges = [line for line in lines if " -> " in line]
    assert len(edges) == len(TRANSITIONS) + 1
    for t in TRANSITIONS:
        label = t.event if t.guard is None else f"{t.event} [{t.guard}]"
        assert f'    {t.source.name} -> {t.target.name} [label="{label}"];' in lines


def test_markdown_has_one_row_per_transition() -> None:
    lines = transition_table_markdown().splitlines()
    assert lines[:2] == ["| from | event | guard | to |", "|---|---|---|---|"]
    assert len(lines) == 2 + len(TRANSITIONS) == 2 + 53
    assert lines[2] == "| Unlicensed | KeyInstalled |  | OOBGrace |"
    assert "| Licensed | HardwareChanged | beyond tolerance | OOTGrace |" in lines
    assert "| NonGenuineGrace | GraceExpired | grace over | Notification |" in lines
    for t, line in zip(TRANSITIONS, lines[2:], strict=True):
        assert line == f"| {t.source} | {t.event} | {t.guard or ''} | {t.target} |"
