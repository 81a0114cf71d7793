"""The command line: output, masking and exit codes."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from mak.cli import main
from mak.codes import Category, all_codes, to_markdown

GVLK = "W269N-WFGWX-YVC9B-4J6C9-T83GX"
IID_63 = " ".join(["1234565"] * 9)
CID_48 = "-".join(["123450"] * 8)


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = "") -> tuple[int, str, str]:
    code = main(list(argv), stdin=io.StringIO(stdin))
    out, err = capsys.readouterr()
    return code, out, err


def test_key_check_prints_masked_key_fields_and_edition(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "key", "check", GVLK.lower())
    assert code == 0
    assert err == ""
    assert "XXXXX-XXXXX-XXXXX-XXXXX-T83GX" in out
    assert "PKEY2009" in out
    assert "Group ID:         3311" in out
    assert "Serial:           1" in out
    assert "Pro" in out.split("Published:")[1]
    assert "W269N" not in out


def test_key_check_reads_the_key_from_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "key", "check", "-", stdin=GVLK + "\n")
    assert code == 0
    assert "T83GX" in out


def test_key_check_of_an_old_key_says_no_checksum(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "key", "check", "FJ82H-XT6CR-J8D7P-XQJJ2-GPDD4")
    assert code == 0
    assert "PKEY2005" in out
    assert "none to check offline" in out
    assert "Group ID" not in out


def test_key_check_of_an_unpublished_key_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "key", "check", "BBBBB-BBBBB-BBBBB-BBBBB-BBBBB")
    assert code == 0
    assert "not a published GVLK" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["key", "check", "W269N-WFGWX-YVC9B-4J6C9-T83GY"], "checksum does not match"),
        (["key", "check", "W269N-WFGWX"], "has 10 symbols"),
        (["iid", "check", "12345"], "expected 54 or 63"),
        (["cid", "check", CID_48[:-1] + "1"], "group H"),
        (["code", "not-hex"], "Invalid activation code"),
    ],
)
def test_invalid_input_exits_1_with_the_reason_on_stderr(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert out == ""
    assert fragment in err
    assert "WFGWX-YVC9B" not in err


@pytest.mark.parametrize("argv", [[], ["key"], ["key", "verify", GVLK], ["iid", "check"]])
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "usage:" in err


def test_iid_and_cid_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "iid", "check", IID_63)[1].count("1234565") == 9
    code, out, _ = run(capsys, "cid", "check", CID_48)
    assert code == 0
    assert "48 digits, 8 groups of 6" in out


def test_cid_check_digits_can_be_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    bad = "-".join(["123451"] * 8)
    assert run(capsys, "cid", "check", bad)[0] == 1
    code, out, _ = run(capsys, "cid", "check", "--no-check-digits", bad)
    assert code == 0
    assert "not checked" in out


def test_code_explains_signed_values(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "code", "-1073430496")
    assert code == 0
    assert "0xC004C020" in out
    assert "LIMIT" in out


def test_python_dash_m_mak_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mak", "key", "check", GVLK],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "T83GX" in result.stdout
    assert GVLK not in result.stdout


@pytest.mark.parametrize(
    ("fmt", "start"),
    [("mermaid", "stateDiagram-v2"), ("dot", 'digraph "licensing"'), ("markdown", "| from |")],
)
def test_diagram_prints_the_licensing_machine(
    capsys: pytest.CaptureFixture[str], fmt: str, start: str
) -> None:
    code, out, _ = run(capsys, "diagram", "--format", fmt)
    assert code == 0
    assert out.startswith(start)
    assert "Licensed" in out
    assert "GraceExpired" in out


def test_diagram_refuses_an_unknown_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "diagram", "--format", "png")[0] == 2


def test_diagram_draws_the_proxy_machine(capsys: pytest.CaptureFixture[str]) -> None:
    from mak import proxystage  # noqa: PLC0415

    code, out, _ = run(capsys, "diagram", "--machine", "proxy")
    assert code == 0
    assert out == proxystage.to_mermaid() + "\n"


def test_codes_prints_every_code_by_category(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "codes")
    assert code == 0
    assert out == to_markdown() + "\n"
    for category in Category:
        assert f"(codes-{category.value})=" in out
    for entry in all_codes():
        assert f"| `{entry.hex}` | `{entry.symbol}` |" in out
