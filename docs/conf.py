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


def _public_names() -> dict[str, set[str]]:
    """Return each public name of mak, with every name autodoc may document it under.

    A name a package re-exports from its module (``mak.simulation.mint_key``, defined in
    ``mak.simulation.keys``) is covered when either is documented. Numbers and strings
    are matched by name only, since equal ones may be one object.
    """
    import importlib  # noqa: PLC0415  # only the API check needs these
    import pkgutil  # noqa: PLC0415

    import mak  # noqa: PLC0415

    names: dict[str, object] = {}
    for info in pkgutil.walk_packages(mak.__path__, "mak."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            names[f"{info.name}.{name}"] = getattr(module, name)
    aliases: dict[int, set[str]] = {}
    for full, value in names.items():
        if not isinstance(value, (int, str)):
            aliases.setdefault(id(value), set()).add(full)
    found: dict[str, set[str]] = {}
    for full, value in names.items():
        where = (
            {full, *aliases.get(id(value), ())} if not isinstance(value, (int, str)) else {full}
        )
        qualname = getattr(value, "__qualname__", None)
        if isinstance(qualname, str) and isinstance(getattr(value, "__module__", None), str):
            where.add(f"{value.__module__}.{qualname}")
        found[full] = where
    return found


def _check_api_reference(_app: object, env: object) -> None:
    """Warn (an error under -W) for each public name the API reference leaves out."""
    from sphinx.util import logging  # noqa: PLC0415

    documented = set(env.domaindata["py"]["objects"])  # type: ignore[attr-defined]
    logger = logging.getLogger(__name__)
    for public, where in sorted(_public_names().items()):
        if not where & documented:
            logger.warning("public name %s is not in the API reference", public)


def setup(app: object) -> None:
    """Fail the build when a public name of mak has no entry in the API reference."""
    app.connect("env-check-consistency", _check_api_reference)  # type: ignore[attr-defined]
