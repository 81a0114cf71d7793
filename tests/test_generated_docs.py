"""The committed files in docs/_generated are what the state tables and code catalog give today."""

from __future__ import annotations

from pathlib import Path

import pytest

from mak import codes, lifecycle, proxystage

GENERATED = Path(__file__).parent.parent / "docs" / "_generated"


@pytest.mark.parametrize(
    ("name", "drawing"),
    [
        ("lifecycle.mmd", lifecycle.to_mermaid),
        ("lifecycle-table.md", lifecycle.transition_table_markdown),
        ("proxy.mmd", proxystage.to_mermaid),
        ("proxy-table.md", proxystage.transition_table_markdown),
        ("codes.md", codes.to_markdown),
    ],
)
def test_committed_drawing_matches_the_table(name: str, drawing: object) -> None:
    assert callable(drawing)
    committed = (GENERATED / name).read_text()
    assert committed == drawing() + "\n", f"run `python noxfile.py -s diagrams` to update {name}"
