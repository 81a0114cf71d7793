"""Sphinx configuration for mak's documentation."""

from __future__ import annotations

import importlib.metadata

project = "mak"
author = "The mak maintainers"
copyright = "2026, The mak maintainers"  # Sphinx's name for it

try:
    release = importlib.metadata.version("mak")
except importlib.metadata.PackageNotFoundError:  # building from a plain checkout
    release = "UNRELEASED"
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx_copybutton",
    "sphinxcontrib.mermaid",
]
myst_enable_extensions = ["colon_fence", "deflist"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_generated"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

# No intersphinx: CI reaches package registries only, and docs must build offline.
# Names of the standard library and of other projects that autodoc meets in signatures
# are therefore not linked; nitpick_ignore_regex lists them.
nitpicky = True
nitpick_ignore_regex = [
    # Third-party and private names autodoc meets in signatures and bases.
    (
        r"py:class",
        r"(attrs|cattrs|typing_extensions|typing|enum|os|collections\.abc|datetime|pathlib|uuid|random)\..*",
    ),
    (r"py:class", r"mak\..*\._.*"),
    (r"py:(class|obj)", r"(mak\.statetable\.)?S"),  # the state type variable
    (r"py:class", r"(dt\..*|AbstractContextManager|Iterable|Sequence|Mapping)"),
    (r"py:class", r"(Self|Final|ClassVar|Attribute|T|Path|PathLike|datetime|UUID)"),
    (r"py:.*", r"(int|str|bytes|bool|object|tuple|dict|list|Exception|ValueError|IntEnum|Enum)"),
]

html_theme = "furo"
html_extra_path = ["exchange.schema.json"]  # published beside the pages that link to it
html_title = "mak"
