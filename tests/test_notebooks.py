"""The notebooks are stored as source: no outputs, no execution counts, the four promised.

`python noxfile.py -s notebooks` executes them; this only checks what is committed, so a
notebook saved after running (with outputs, and possibly a product key in them) fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
EXPECTED = [
    "01-keys-and-ids.ipynb",
    "02-kms-threshold.ipynb",
    "03-mak-proxy-fleet.ipynb",
    "04-lifecycle.ipynb",
]


def test_the_notebooks_are_the_four_promised() -> None:
    assert sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_a_notebook_is_stored_without_outputs(name: str) -> None:
    notebook = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code, f"{name} has no code"
    for cell in code:
        assert cell["outputs"] == [], f"{name}: clear the outputs before committing"
        assert cell["execution_count"] is None, f"{name}: clear the execution counts"


@pytest.mark.parametrize("name", EXPECTED)
def test_a_notebook_opens_with_a_title_and_runs_on_python(name: str) -> None:
    notebook = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    first = notebook["cells"][0]
    assert first["cell_type"] == "markdown"
    assert "".join(first["source"]).startswith("# ")
    assert notebook["metadata"]["kernelspec"]["language"] == "python"
