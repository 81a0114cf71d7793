"""The demo: the whole story runs, reports what happened, and a re-run spends nothing."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest

from mak.cli import main
from mak.demo import run_demo


def used(output: str) -> list[int]:
    return [int(n) for n in re.findall(r": (\d+) MAK activations used of", output)]


def test_the_demo_tells_the_whole_story_and_a_rerun_charges_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.sqlite")
    first = io.StringIO()
    assert run_demo(computers=40, db=db, seed=3, out=first) == 0
    text = first.getvalue()
    assert "Discovered 40 computers" in text
    assert "call(s) to the clearinghouse" in text
    assert "activations spent 0" in text
    assert "need a new activation (not charged silently)" in text
    assert sum(used(text)) > 0
    again = io.StringIO()
    assert run_demo(computers=40, db=db, seed=3, out=again) == 0
    assert used(again.getvalue()) == [0] * len(used(text))  # nothing charged twice
    assert "XXXXX-XXXXX-XXXXX-XXXXX-" in text  # keys are shown masked


def test_the_cli_runs_the_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--computers", "12", "--seed", "5", "--db", str(tmp_path / "d.sqlite")])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "Summary" in out


def test_the_demo_refuses_an_empty_lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--computers", "0", "--db", str(tmp_path / "d.sqlite")]) == 1
    assert "computer count" in capsys.readouterr().err


@pytest.mark.parametrize("computers", [1, 3])
def test_a_tiny_lab_counts_each_product_once(tmp_path: Path, computers: int) -> None:
    out = io.StringIO()
    assert run_demo(computers=computers, db=str(tmp_path / "d.sqlite"), seed=2, out=out) == 0
    text = out.getvalue()
    products = int(re.search(r"computers, (\d+) products", text).group(1))  # type: ignore[union-attr]
    line = text.split("Local reactivation", 1)[1].split("\n")[1]
    assert sum(int(n) for n in re.findall(r" (\d+)(?:,|\s\()", line)) <= products


def test_the_readme_demo_command_runs_the_demo() -> None:
    """README's first command is ``python noxfile.py -s demo``: that session runs ``mak demo``."""
    root = Path(__file__).resolve().parents[1]
    assert "python noxfile.py -s demo" in (root / "README.md").read_text()
    tree = ast.parse((root / "noxfile.py").read_text())
    [session] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "demo"]
    calls = [n for n in ast.walk(session) if isinstance(n, ast.Call)]
    runs = [c for c in calls if isinstance(c.func, ast.Attribute) and c.func.attr == "run"]
    [run] = runs
    words = [a.value for a in run.args if isinstance(a, ast.Constant)]
    assert words == ["python", "-m", "mak", "demo"]
