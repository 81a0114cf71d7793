"""Hypothesis properties of the SQLite inventory's direct JSON: always the converter's text.

For arbitrary products and actions (any text on one line, times in any offset, every
license status, channel, method and proxy stage, failures with any HRESULT), the direct
path writes exactly what the converter and the inventory's JSON encoder write. Run by the
``property`` nox session.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mak.adapters._record_json import action_json, product_json
from mak.catalog import ProductFamily
from mak.codes import lookup
from mak.lifecycle import ActivationMethod, KeyChannel, LicenseState, LicenseStatus
from mak.model import ActionRecord, LastAction, Product
from mak.proxystage import ProxyProgress, ProxyStage
from mak.serialization import make_converter
from mak.testing import make_activation_id, make_confirmation_id, make_installation_id

pytestmark = pytest.mark.property

PROPERTY = settings(max_examples=300, deadline=None)
CONVERTER = make_converter()
ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

# One line of text, as mak's names are: controls, quotes and backslashes, but no line break.
TEXT = st.text(
    st.characters(codec="utf-8", exclude_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
    min_size=1,
    max_size=24,
).filter(lambda text: text.strip() != "")
ZONES = st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=-8))]) | st.builds(
    dt.timezone, st.integers(-23 * 60, 23 * 60).map(lambda minutes: dt.timedelta(minutes=minutes))
)
# Naive bounds are what st.datetimes takes; the times it draws are aware, in ZONES.
TIMES = st.datetimes(
    min_value=dt.datetime(2000, 1, 2),  # noqa: DTZ001  # see above
    max_value=dt.datetime(2099, 12, 30),  # noqa: DTZ001  # see above
    timezones=ZONES,
)
HRESULTS = st.integers(-(2**31), 2**32 - 1)
CODES = st.one_of(st.integers(0, 0xFF), st.integers(0, 2**32 - 1)).map(lookup)
GRACE = {
    LicenseStatus.OOB_GRACE,
    LicenseStatus.OOT_GRACE,
    LicenseStatus.NON_GENUINE_GRACE,
    LicenseStatus.EXTENDED_GRACE,
}
PARTIAL_KEYS = st.text(st.sampled_from("BCDFGHJKMPQRTVWXY2346789"), min_size=5, max_size=5)


def general(record: object) -> str:
    return ENCODER.encode(CONVERTER.unstructure(record))


@st.composite
def license_states(draw: st.DrawFn) -> LicenseState:
    status = draw(st.sampled_from(LicenseStatus))
    method = draw(st.none() | st.sampled_from(ActivationMethod))
    grace_ends_at = draw(st.none() | TIMES)
    licensed_until = draw(st.none() | TIMES)
    # What the snapshot requires: a grace period has an end, a KMS or ADBA licence a term.
    if status in GRACE and grace_ends_at is None:
        grace_ends_at = draw(TIMES)
    if status is LicenseStatus.LICENSED and method is not None and method.expires:
        licensed_until = licensed_until or draw(TIMES)
    return LicenseState(
        status=status,
        channel=draw(st.none() | st.sampled_from(KeyChannel)),
        partial_key=draw(st.none() | PARTIAL_KEYS),
        reason=draw(st.none() | HRESULTS.map(lambda code: code & 0xFFFFFFFF)),
        grace_ends_at=grace_ends_at,
        licensed_until=licensed_until,
        activated_at=draw(st.none() | TIMES),
        method=method,
        rearms_left=draw(st.integers(0, 10**6)),
        genuine=draw(st.booleans()),
    )


@st.composite
def proxy_progress(draw: st.DrawFn) -> ProxyProgress:
    stage = draw(st.sampled_from(ProxyStage))
    if stage is not ProxyStage.FAILED:
        return ProxyProgress(stage=stage)
    working = [s for s in ProxyStage if s not in {ProxyStage.FAILED, ProxyStage.CID_DEPOSITED}]
    return ProxyProgress(
        stage=stage, failed_at=draw(st.sampled_from(working)), code=draw(HRESULTS)
    )


def last_actions() -> st.SearchStrategy[LastAction]:
    return st.builds(LastAction, action=TEXT, at=TIMES, code=st.none() | CODES)


@st.composite
def products(draw: st.DrawFn) -> Product:
    n = draw(st.integers(1, 999))
    return Product(
        id=draw(TEXT),
        computer_id=draw(TEXT),
        activation_id=make_activation_id(n),
        name=draw(TEXT),
        family=draw(st.sampled_from(ProductFamily)),
        license_state=draw(license_states()),
        installation_id=draw(st.none() | st.just(make_installation_id(n))),
        extended_pid=draw(st.none() | TEXT),
        confirmation_id=draw(st.none() | st.just(make_confirmation_id(n))),
        last_action=draw(st.none() | last_actions()),
        proxy=draw(proxy_progress()),
        version=draw(st.integers(0, 2**40)),
    )


def actions() -> st.SearchStrategy[ActionRecord]:
    return st.builds(
        ActionRecord,
        at=TIMES,
        computer_id=TEXT,
        product_id=st.none() | TEXT,
        action=TEXT,
        code=st.none() | CODES,
        detail=st.text(max_size=40),
    )


@PROPERTY
@given(products())
def test_product_json_is_the_converters_text(product: Product) -> None:
    assert product_json(product) == general(product)


@PROPERTY
@given(actions())
def test_action_json_is_the_converters_text(action: ActionRecord) -> None:
    assert action_json(action) == general(action)
