"""``mak export``, ``mak acquire`` and ``mak import``: the air gap from a shell.

The lab is a simulated fleet kept in a SQLite file, its MAKs issued by a simulated
clearinghouse of seed 5 in ``ProductFamily`` order: the MAKs ``mak acquire --seed 5``
knows.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import TYPE_CHECKING

import attrs
import pytest

from mak import exchange
from mak.adapters import InMemoryInventory, SqliteInventory
from mak.catalog import ProductFamily
from mak.cli import _POLICIES, _PROFILES, main
from mak.lifecycle import LicenseStatus
from mak.manager import VolumeActivationManager
from mak.model import ByWorkgroup
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet
from mak.testing import make_computer, make_confirmation_id, make_installation_id, make_product

if TYPE_CHECKING:
    from pathlib import Path

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
SEED = 5
PRODUCTS = 15  # the lab's: 12 computers, 3 of them with Office
PID = "03612-03311-000-000001-03-1033-26100.0000-0012026"


class Lab:
    """A simulated lab whose inventory is a SQLite file, its IIDs collected."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.clock = FakeClock(START)
        self.microsoft = SimulatedClearinghouse(seed=SEED)
        self.keys = {f: self.microsoft.issue_mak(limit=100, family=f) for f in ProductFamily}
        self.fleet = SimulatedFleet(12, seed=3, clearinghouse=self.microsoft, clock=self.clock)
        with self.manager() as manager:
            manager.discover(ByWorkgroup("LAB"))
            for family, key in self.keys.items():
                manager.add_product_key(key)
                products = manager.inventory.products(family=family)
                assert manager.collect_installation_ids(products, key).failed == 0
            assert len(manager.inventory.products()) == PRODUCTS

    def manager(self) -> _Session:
        return _Session(self)

    def statuses(self) -> set[LicenseStatus]:
        with SqliteInventory(self.db) as inventory:
            return {product.status for product in inventory.products()}


class _Session:
    """A manager over the lab's file, closed on leaving."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.inventory = SqliteInventory(lab.db)

    def __enter__(self) -> VolumeActivationManager:
        lab = self.lab
        return VolumeActivationManager(
            self.inventory, lab.microsoft, lab.fleet, lab.clock, discovery=lab.fleet
        )

    def __exit__(self, *_: object) -> None:
        self.inventory.close()


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return Lab(tmp_path / "lab.db")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv], stdin=io.StringIO())
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line_carries_a_lab_across_the_air_gap(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = tmp_path / "lab.json"
    code, out, err = run(
        capsys, "export", "--db", str(lab.db), "--profile", "proxy-only", str(usb)
    )
    assert (code, err) == (0, "")
    assert (
        f"Exported {PRODUCTS} installation IDs ({PRODUCTS} waiting for a confirmation ID)" in out
    )
    assert "LAB-PC" not in usb.read_text()

    code, out, err = run(capsys, "acquire", str(usb), "--seed", str(SEED), "--batch-size", "5")
    assert (code, err) == (0, "")
    assert out == (
        f"{PRODUCTS} of {PRODUCTS} installation IDs have their confirmation ID in {usb} "
        "(3 call(s) to the service)\n"
    )

    code, out, _ = run(capsys, "import", "--db", str(lab.db), str(usb))
    assert code == 0
    assert out == f"Imported {usb}: {PRODUCTS} added, 0 updated, 0 unchanged, 0 conflicts\n"
    with lab.manager() as manager:
        assert manager.apply_confirmation_ids(manager.inventory.products()).failed == 0
    assert lab.statuses() == {LicenseStatus.LICENSED}

    code, out, _ = run(capsys, "import", "--db", str(lab.db), str(usb))
    assert (code, out) == (
        0,
        f"Imported {usb}: 0 added, 0 updated, {PRODUCTS} unchanged, 0 conflicts\n",
    )


def test_export_keeps_no_keys_unless_full_is_asked_for(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain, full = tmp_path / "plain.json", tmp_path / "full.json"
    assert run(capsys, "export", "--db", str(lab.db), str(plain))[0] == 0
    assert run(capsys, "export", "--db", str(lab.db), "--profile", "full", str(full))[0] == 0
    keys = [key.reveal() for key in lab.keys.values()]
    assert not any(key in plain.read_text() for key in keys)
    assert all(key in full.read_text() for key in keys)
    assert exchange.load(plain).profile is exchange.Profile.NO_KEYS


def test_export_to_standard_output_says_what_it_did_on_standard_error(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "export", "--db", str(lab.db), "-")
    assert code == 0
    assert json.loads(out)["profile"] == "no-keys"
    assert err.startswith(f"Exported {PRODUCTS} installation IDs")
    assert err.endswith("as no-keys to -\n")


def test_export_of_a_missing_inventory_fails_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "export", "--db", str(tmp_path / "typo.db"), str(tmp_path / "x.json")
    )
    assert code == 1
    assert "no such file" in err
    assert list(tmp_path.iterdir()) == []


def test_acquire_can_write_elsewhere_and_leave_the_file(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb, out_file = tmp_path / "lab.json", tmp_path / "back.json"
    run(capsys, "export", "--db", str(lab.db), "--profile", "proxy-only", str(usb))
    before = usb.read_text()
    code, _, _ = run(capsys, "acquire", str(usb), "-o", str(out_file), "--seed", str(SEED))
    assert code == 0
    assert usb.read_text() == before
    assert exchange.load(out_file).pending == ()


def test_acquire_exits_1_when_the_service_refuses_and_keeps_the_codes(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = tmp_path / "lab.json"
    run(capsys, "export", "--db", str(lab.db), "--profile", "proxy-only", str(usb))
    # A clearinghouse that never issued the lab's MAKs refuses every request.
    code, out, err = run(
        capsys, "acquire", str(usb), "--service", "mak.simulation:SimulatedClearinghouse"
    )
    assert code == 1
    assert out.startswith(f"0 of {PRODUCTS} installation IDs have their confirmation ID")
    assert err.count("\n") == 11  # ten failures shown, and the count
    assert f"{PRODUCTS} failed; run acquire again to retry them" in err
    document = exchange.load(usb)
    assert {entry.code.hex for entry in document.activations if entry.code} == {"0xC004C004"}
    assert len(document.pending) == PRODUCTS


def test_acquire_takes_a_service_object_from_a_module(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    usb = tmp_path / "lab.json"
    run(capsys, "export", "--db", str(lab.db), "--profile", "proxy-only", str(usb))
    (tmp_path / "lab_service.py").write_text(
        "from mak.catalog import ProductFamily\n"
        "from mak.simulation import SimulatedClearinghouse\n"
        f"SERVICE = SimulatedClearinghouse(seed={SEED})\n"
        "for family in ProductFamily:\n"
        "    SERVICE.issue_mak(limit=20, family=family)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    code, out, _ = run(capsys, "acquire", str(usb), "--service", "lab_service:SERVICE")
    assert code == 0
    assert out.startswith(f"{PRODUCTS} of {PRODUCTS}")


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("no-colon", "expected MODULE:ATTRIBUTE"),
        ("mak.nothing_here:SERVICE", "cannot be loaded (ModuleNotFoundError)"),
        ("mak.simulation:Nothing", "cannot be loaded (AttributeError)"),
        ("mak.errors:MakError", "is not an ActivationService"),
        ("mak.codes:lookup", "cannot be called without arguments"),
        ("mak.exchange:FORMAT", "is not an ActivationService"),
    ],
)
def test_acquire_refuses_a_service_it_cannot_use(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, reason: str
) -> None:
    usb = tmp_path / "lab.json"
    run(capsys, "export", "--db", str(lab.db), "--profile", "proxy-only", str(usb))
    before = usb.read_text()
    code, _, err = run(capsys, "acquire", str(usb), "--service", spec)
    assert code == 1
    assert reason in err
    assert usb.read_text() == before


def test_import_with_conflicts_fails_unless_a_policy_says_otherwise(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = tmp_path / "backup.json"
    run(capsys, "export", "--db", str(lab.db), "--profile", "full", str(backup))
    with lab.manager() as manager:
        computer = manager.inventory.computers()[0]
        manager.inventory.update_computer(attrs.evolve(computer, name="NEW"))
    code, out, err = run(capsys, "import", "--db", str(lab.db), str(backup))
    assert (code, out) == (1, "")
    assert "Import refused: 1 record differs" in err
    code, out, _ = run(
        capsys, "import", "--db", str(lab.db), str(backup), "--policy", "keep-existing"
    )
    assert code == 0
    assert "1 conflicts" in out
    assert f"  conflict kept: computer {computer.id!r}: name differ" in out
    code, out, _ = run(capsys, "import", "--db", str(lab.db), str(backup), "--policy", "overwrite")
    assert (code, "1 updated" in out) == (0, True)


def test_a_full_file_makes_a_new_inventory(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup, restored = tmp_path / "backup.json", tmp_path / "restored.db"
    run(capsys, "export", "--db", str(lab.db), "--profile", "full", str(backup))
    code, out, _ = run(capsys, "import", "--db", str(restored), str(backup))
    assert code == 0
    assert "0 conflicts" in out
    with SqliteInventory(restored) as inventory:
        assert len(inventory.products()) == PRODUCTS
        assert len(inventory.keys()) == 3


def unkeepable_file(path: Path) -> None:
    """A full file of a lab whose one product has a CID but no key: its import is refused."""
    lab = InMemoryInventory()
    lab.add_computer(make_computer(1))
    lab.add_product(make_product(1, installation_id=make_installation_id(1), extended_pid=PID))
    document = exchange.export(lab, profile=exchange.Profile.FULL)
    entry = attrs.evolve(document.activations[0], confirmation_id=make_confirmation_id(1))
    exchange.dump(attrs.evolve(document, activations=(entry,)), path)


def test_a_refused_import_leaves_no_new_inventory_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb, db = tmp_path / "backup.json", tmp_path / "new.db"
    unkeepable_file(usb)
    code, out, err = run(capsys, "import", "--db", str(db), str(usb))
    assert (code, out) == (1, "")
    assert "no key is recorded for it" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.json"]


def test_a_refused_import_leaves_an_existing_inventory_as_it_was(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = tmp_path / "backup.json"
    unkeepable_file(usb)
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    code, _, err = run(capsys, "import", "--db", str(lab.db), str(usb))
    assert code == 1
    assert "no key is recorded for it" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files


def test_import_and_acquire_read_a_cid_failing_its_check_digits_only_when_told(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = tmp_path / "lab.json"
    run(capsys, "export", "--db", str(lab.db), "--profile", "proxy-only", str(usb))
    run(capsys, "acquire", str(usb), "--seed", str(SEED))
    data = json.loads(usb.read_text())
    cid = data["activations"][2]["confirmation_id"]
    data["activations"][2]["confirmation_id"] = str((int(cid[0]) + 1) % 10) + cid[1:]
    usb.write_text(json.dumps(data))
    before = lab.db.read_bytes()
    for argv in (["acquire", str(usb)], ["import", "--db", str(lab.db), str(usb)]):
        code, _, err = run(capsys, *argv)
        assert code == 1
        assert "'$.activations[2].confirmation_id'" in err
        assert "check digit of group A is wrong" in err
    assert lab.db.read_bytes() == before
    code, out, _ = run(capsys, "import", "--db", str(lab.db), str(usb), "--no-check-digits")
    assert (code, f"{PRODUCTS} added" in out) == (0, True)


def test_a_proxy_only_file_needs_the_inventory_it_left(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb, elsewhere = tmp_path / "lab.json", tmp_path / "elsewhere.db"
    run(capsys, "export", "--db", str(lab.db), "--profile", "proxy-only", str(usb))
    code, _, err = run(capsys, "import", "--db", str(elsewhere), str(usb))
    assert (code, elsewhere.exists()) == (1, False)
    assert "no such file" in err


def test_a_hostile_file_is_refused_with_its_json_path(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = tmp_path / "lab.json"
    run(capsys, "export", "--db", str(lab.db), "--profile", "proxy-only", str(usb))
    data = json.loads(usb.read_text())
    data["activations"][3]["installation_id"] = "12345"
    usb.write_text(json.dumps(data))
    for argv in (["acquire", str(usb)], ["import", "--db", str(lab.db), str(usb)]):
        code, _, err = run(capsys, *argv)
        assert code == 1
        assert "'$.activations[3].installation_id'" in err


def test_a_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "acquire", str(tmp_path / "nowhere.json"))
    assert code == 1
    assert "No such file or directory" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "out.json"],
        ["export", "--db", "lab.db", "--profile", "everything", "out.json"],
        ["import", "--db", "lab.db", "in.json", "--policy", "merge"],
        ["acquire"],
        ["acquire", "in.json", "--batch-size", "many"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert run(capsys, *argv)[0] == 2


def test_the_choices_are_the_module_s_values() -> None:
    assert set(_PROFILES) == {profile.value for profile in exchange.Profile}
    assert set(_POLICIES) == {policy.value for policy in exchange.MergePolicy}
