"""Logging: records under "mak", structured ``extra`` fields, and never a secret."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from tests.test_manager import make_lab

from mak.demo import run_demo
from mak.errors import TransportError
from mak.manager import RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from mak.ports import CidRequest, CidResult


class Kept(logging.Handler):
    """Every record mak emits, at every level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        """Each record's message and every attribute it carries, one per line."""
        return "\n".join(
            f"{record.getMessage()} {sorted(vars(record).items())!r}" for record in self.records
        )


@pytest.fixture
def kept() -> Iterator[Kept]:
    handler = Kept()
    logger = logging.getLogger("mak")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_importing_mak_installs_a_null_handler_and_nothing_else() -> None:
    script = (
        "import logging, mak; "
        "print([type(h).__name__ for h in logging.getLogger('mak').handlers], "
        "logging.getLogger().handlers)"
    )
    shown = subprocess.run(  # our own interpreter, fixed arguments
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "['NullHandler'] []"


def test_outcomes_are_logged_with_their_fields(kept: Kept) -> None:
    lab = make_lab()
    clients = lab.clients
    lab.fleet.endpoint(clients[0].computer_id).unreachable = True
    kept.records.clear()
    lab.manager.proxy_activate(clients, lab.mak)

    failures = [r for r in kept.records if r.levelno == logging.WARNING]
    assert len(failures) == 1
    failure = failures[0]
    assert failure.name == "mak.manager"
    assert failure.__dict__["action"] == "collect_installation_ids"
    assert failure.__dict__["product_id"] == clients[0].id
    assert failure.__dict__["computer_id"] == clients[0].computer_id
    assert failure.__dict__["activation_id"] == clients[0].activation_id
    assert failure.__dict__["code"] == "0x800706BA"
    assert failure.__dict__["ok"] is False

    successes = [r for r in kept.records if r.levelno == logging.DEBUG and r.__dict__.get("ok")]
    # each other product succeeds at each of the three steps
    assert len(successes) == 3 * (len(clients) - 1)
    summaries = [r for r in kept.records if r.levelno == logging.INFO]
    assert [r.__dict__["action"] for r in summaries] == [
        "collect_installation_ids",
        "acquire_confirmation_ids",
        "apply_confirmation_ids",
    ]
    assert summaries[0].__dict__["failed"] == 1


def test_a_retried_service_call_is_logged(kept: Kept) -> None:
    lab = make_lab(retry=RetryPolicy(attempts=3))
    real = lab.service.acquire_confirmation_ids
    failures = iter([TransportError("connection reset", code=0x800706BA)] * 2)

    def flaky(requests: Sequence[CidRequest], /) -> list[CidResult]:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(requests)

    lab.manager.service.acquire_confirmation_ids = flaky  # type: ignore[method-assign]
    kept.records.clear()
    report = lab.manager.proxy_activate(lab.clients, lab.mak)
    assert report.failed == 0
    retries = [r for r in kept.records if "retrying" in r.getMessage()]
    assert [r.__dict__["attempt"] for r in retries] == [1, 2]
    assert all(r.levelno == logging.WARNING for r in retries)
    assert retries[0].__dict__["code"] == "0x800706BA"


def test_nothing_is_logged_below_the_level_asked_for(kept: Kept) -> None:
    logging.getLogger("mak").setLevel(logging.WARNING)
    lab = make_lab()
    kept.records.clear()
    lab.manager.proxy_activate(lab.clients, lab.mak)
    assert kept.records == []


def test_no_log_record_holds_a_product_key(kept: Kept, tmp_path: Path) -> None:
    lab = make_lab()
    secret = lab.mak.reveal()
    lab.fleet.endpoint(lab.clients[0].computer_id).unreachable = True
    lab.service.fail_next(0xC004C008)
    lab.manager.proxy_activate(lab.clients, lab.mak)
    lab.manager.install_product_key(lab.clients, lab.mak)
    assert run_demo(computers=30, db=str(tmp_path / "demo.sqlite"), seed=2, out=io.StringIO()) == 0
    assert len(kept.records) > 100
    text = kept.text()
    assert secret not in text
    assert secret.replace("-", "") not in text
    for group in secret.split("-")[:4]:  # the last five symbols are the partial key
        assert group not in text


def test_a_key_in_a_ports_error_never_reaches_the_log(kept: Kept) -> None:
    lab = make_lab(retry=RetryPolicy(attempts=2))
    secret = lab.mak.reveal()

    def leaky(*_: object) -> object:
        raise TransportError(f"proxy refused the body {secret}")

    lab.manager.service.acquire_confirmation_ids = leaky  # type: ignore[method-assign]
    kept.records.clear()
    report = lab.manager.proxy_activate(lab.clients, lab.mak)
    assert report.failed == len(lab.clients)
    assert kept.records
    assert secret not in kept.text()
