"""The SQLite inventory's direct JSON for products and actions: the converter's text, exactly.

Each case is written both ways, through ``make_converter`` and the encoder the SQLite
inventory used before the direct path, and the two texts must be equal, character for
character; a field added to a class and not to the direct path fails here.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

import attrs
import pytest

from mak.adapters._record_json import action_json, product_json
from mak.adapters.sqlite import SqliteInventory
from mak.catalog import ProductFamily
from mak.codes import lookup
from mak.lifecycle import ActivationMethod, KeyChannel, LicenseState, LicenseStatus
from mak.model import ActionRecord, LastAction, Product
from mak.proxystage import ProxyProgress, ProxyStage
from mak.serialization import make_converter
from mak.testing import (
    make_action,
    make_computer,
    make_confirmation_id,
    make_installation_id,
    make_key,
    make_product,
)

if TYPE_CHECKING:
    from pathlib import Path

UTC = dt.timezone.utc
EAST = dt.timezone(dt.timedelta(hours=5, minutes=30))
WEST = dt.timezone(dt.timedelta(hours=-8))
START = dt.datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
ODD_TEXT = 'Pro "N" \\ é ПК 😀 \x00\t\x7f\u00a0'  # quotes, escapes, non-ASCII, controls


def general(record: object) -> str:
    """The text the SQLite inventory stores through the converter and its JSON encoder."""
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    return encoder.encode(make_converter().unstructure(record))


def sample_products() -> list[Product]:
    """Products at every proxy step and in every kind of license state, odd text included."""
    partial = make_key(1).partial
    licensed = LicenseState(
        status=LicenseStatus.LICENSED,
        channel=KeyChannel.MAK,
        partial_key=partial,
        activated_at=START.astimezone(EAST),
        method=ActivationMethod.MAK_PROXY,
        rearms_left=0,
    )
    kms = LicenseState(
        status=LicenseStatus.LICENSED,
        channel=KeyChannel.GVLK,
        partial_key=partial,
        licensed_until=dt.datetime(2026, 7, 4, 23, 59, 59, 999999, tzinfo=WEST),
        activated_at=START,
        method=ActivationMethod.KMS,
        reason=0,
    )
    grace = LicenseState(
        status=LicenseStatus.NON_GENUINE_GRACE,
        channel=KeyChannel.RETAIL,
        partial_key=partial,
        reason=0xC004F050,
        grace_ends_at=START.replace(microsecond=123456),
        rearms_left=7,
        genuine=False,
    )
    failed = ProxyProgress(stage=ProxyStage.FAILED, failed_at=ProxyStage.IID_COLLECTED, code=-1)
    return [
        make_product(1),
        make_product(
            2, license_state=licensed, proxy=ProxyProgress(stage=ProxyStage.KEY_INSTALLED)
        ),
        make_product(
            3,
            name=ODD_TEXT,
            license_state=kms,
            installation_id=make_installation_id(3),
            extended_pid=ODD_TEXT,
            confirmation_id=make_confirmation_id(3),
            last_action=LastAction(action="apply_confirmation_ids", at=START),
            proxy=ProxyProgress(stage=ProxyStage.CID_DEPOSITED),
            version=41,
        ),
        make_product(
            4,
            family=ProductFamily.OFFICE,
            license_state=grace,
            installation_id=make_installation_id(4),
            last_action=LastAction(action=ODD_TEXT, at=START.astimezone(WEST), code=lookup(0x7F)),
            proxy=failed,
        ),
        make_product(
            5,
            computer_id=ODD_TEXT,
            last_action=LastAction(action="proxy_activate", at=START, code=lookup(0xC004C020)),
            proxy=ProxyProgress(stage=ProxyStage.FAILED, failed_at=ProxyStage.DISCOVERED, code=7),
        ),
    ]


def sample_actions() -> list[ActionRecord]:
    """Actions with and without a product and a code, in UTC or not, with odd text."""
    return [
        make_action(1),
        make_action(2, product_id=None, code=lookup(0xC004F074), detail="failed: no KMS host"),
        make_action(3, at=START.astimezone(EAST), code=lookup(0x7F), detail=ODD_TEXT),
        make_action(4, computer_id=ODD_TEXT, product_id=ODD_TEXT, action=ODD_TEXT, detail=""),
    ]


@pytest.mark.parametrize("product", sample_products(), ids=lambda p: p.id)
def test_product_json_is_the_converters_text(product: Product) -> None:
    assert product_json(product) == general(product)


@pytest.mark.parametrize("action", sample_actions(), ids=lambda a: a.detail[:12])
def test_action_json_is_the_converters_text(action: ActionRecord) -> None:
    assert action_json(action) == general(action)


def test_a_time_outside_utc_is_written_as_the_converter_writes_it() -> None:
    # The model converts every time to UTC; one set around its converters still takes the
    # converter's path, so the direct text cannot differ from the general one.
    action = make_action(1)
    object.__setattr__(action, "at", START.astimezone(EAST))
    last = LastAction(action="install_product_key", at=START)
    object.__setattr__(last, "at", START.astimezone(WEST))
    product = make_product(1, last_action=last)
    assert action_json(action) == general(action)
    assert product_json(product) == general(product)
    assert '"at":"2026-01-05T09:30:00+00:00"' in product_json(product)


def test_the_sqlite_inventory_stores_the_converters_text(tmp_path: Path) -> None:
    products = sample_products()
    with SqliteInventory(tmp_path / "inventory.db") as inventory:
        for computer_id in dict.fromkeys(p.computer_id for p in products):
            inventory.add_computer(attrs.evolve(make_computer(1), id=computer_id))
        stored = [inventory.add_product(p) for p in products]
        with inventory.transaction():  # updates and history held back, then flushed
            updated = [inventory.update_product(p) for p in stored]
            for action in sample_actions():
                inventory.record(action)
        connection = inventory._connection  # the rows as stored
        assert connection is not None
        rows = dict(connection.execute("SELECT id, data FROM products").fetchall())
        history = [data for (data,) in connection.execute("SELECT data FROM history")]
    assert rows == {p.id: general(p) for p in updated}
    assert history == [general(a) for a in sample_actions()]
