"""State machines as data: a table of transitions, checked, queried and drawn.

A :class:`StateTable` holds the transitions of one machine. It answers which events a
state allows, checks that the table is sound (:meth:`StateTable.validate`) and draws it
as Mermaid, Graphviz DOT or a Markdown table, with no dependency. Which transition fires,
and what it does, belongs to the machine that uses the table (:mod:`mak.lifecycle`).

>>> import enum
>>> class Door(enum.Enum):
...     OPEN = "open"
...     SHUT = "shut"
>>> table = StateTable(
...     name="door",
...     initial=Door.SHUT,
...     transitions=(
...         Transition(Door.SHUT, "Opened", Door.OPEN),
...         Transition(Door.OPEN, "Closed", Door.SHUT),
...     ),
... )
>>> table.validate()
>>> sorted(table.allowed_events(Door.SHUT))
['Opened']
>>> print(table.to_mermaid())
stateDiagram-v2
    state "OPEN" as OPEN
    state "SHUT" as SHUT
    [*] --> SHUT
    SHUT --> OPEN: Opened
    OPEN --> SHUT: Closed
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Generic, TypeVar

import attrs

from mak import _display
from mak.errors import InvalidComponent

__all__ = ["Diagram", "StateTable", "Transition"]

S = TypeVar("S", bound=enum.Enum)


@attrs.frozen
class Transition(Generic[S]):
    """One edge: in *source*, the event named *event* leads to *target* when *guard* holds.

    ``guard`` names a condition (``None`` means always); the machine using the table
    evaluates it. Two transitions may share a source and an event when their guards
    differ, so that exactly one of them applies.
    """

    source: S
    event: str
    target: S
    guard: str | None = None


def _label(state: enum.Enum) -> str:
    # An enum's own __str__ names states in the domain's words; IntEnum's and StrEnum's
    # inherited ones give the value (from Python 3.11), so those fall back to the name.
    defines_str = any(
        "__str__" in vars(cls)
        for cls in type(state).__mro__[:-1]
        if cls.__module__ not in ("enum", "builtins")
    )
    return str(state) if defines_str else state.name


@attrs.frozen
class Diagram:
    """A state machine drawn in Mermaid: its text as ``str()``, and drawn in a notebook.

    Jupyter and MyST draw the ``mermaid`` block that ``_repr_markdown_`` returns.

    >>> print(Diagram("stateDiagram-v2")._repr_markdown_())
    ```mermaid
    stateDiagram-v2
    ```
    """

    mermaid: str
    """The ``stateDiagram-v2`` text."""

    def __str__(self) -> str:
        """Return the Mermaid text."""
        return self.mermaid

    def _repr_markdown_(self) -> str:
        """Return the diagram as a fenced ``mermaid`` block, which notebooks draw."""
        return _display.mermaid(self.mermaid)


@attrs.frozen
class StateTable(Generic[S]):
    """The transitions of one state machine, with the queries and drawings they allow."""

    name: str
    """What the machine is about, used in messages."""
    initial: S
    """The state every instance starts in."""
    transitions: tuple[Transition[S], ...]
    """Every edge, in the order the machine documents them."""
    label: Callable[[S], str] = _label
    """How a state is shown in drawings: ``str()`` when the enum defines it, else its name."""
    _index: dict[tuple[S, str], tuple[Transition[S], ...]] = attrs.field(
        init=False, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        # candidates() is asked at every step of every product: look it up, not scan.
        index: dict[tuple[S, str], list[Transition[S]]] = {}
        for t in self.transitions:
            index.setdefault((t.source, t.event), []).append(t)
        found = {key: tuple(transitions) for key, transitions in index.items()}
        object.__setattr__(self, "_index", found)  # frozen: attrs sets fields the same way

    @property
    def states(self) -> tuple[S, ...]:
        """Every state of the machine's enum, in definition order."""
        return tuple(type(self.initial))

    @property
    def events(self) -> tuple[str, ...]:
        """The event names the table mentions, in order of first appearance."""
        return tuple(dict.fromkeys(t.event for t in self.transitions))

    def allowed_events(self, state: S) -> frozenset[str]:
        """Return the names of the events that some transition out of *state* accepts."""
        return frozenset(t.event for t in self.transitions if t.source is state)

    def candidates(self, state: S, event: str) -> tuple[Transition[S], ...]:
        """Return the transitions out of *state* for *event*, in table order."""
        return self._index.get((state, event), ())

    def validate(self) -> None:
        """Check the table is sound, or raise :class:`~mak.errors.InvalidComponent`.

        Sound means: no transition listed twice (same source, event and guard); an
        unguarded transition is the only one for its source and event; every state is
        reachable from the initial state; and no state is a trap, i.e. every state can
        reach another state.
        """
        seen: set[tuple[S, str, str | None]] = set()
        for t in self.transitions:
            key = (t.source, t.event, t.guard)
            if key in seen:
                self._fail(f"{t.event} from {self.label(t.source)} is listed twice")
            seen.add(key)
            if t.guard is None and len(self.candidates(t.source, t.event)) > 1:
                self._fail(f"{t.event} from {self.label(t.source)} is unguarded but not alone")
        reachable = self._reachable_from(self.initial)
        for state in self.states:
            if state not in reachable:
                self._fail(
                    f"{self.label(state)} cannot be reached from {self.label(self.initial)}"
                )
            if not self._reachable_from(state) - {state}:
                self._fail(f"{self.label(state)} is a trap: no other state can be reached")

    def _reachable_from(self, start: S) -> set[S]:
        reached, frontier = {start}, [start]
        while frontier:
            state = frontier.pop()
            for t in self.transitions:
                if t.source is state and t.target not in reached:
                    reached.add(t.target)
                    frontier.append(t.target)
        return reached

    def _fail(self, reason: str) -> None:
        raise InvalidComponent("state table", self.name, reason)

    def to_mermaid(self, *, highlight: S | None = None) -> str:
        """Return the machine as a Mermaid ``stateDiagram-v2``, *highlight* drawn apart."""
        if highlight is not None and not isinstance(highlight, type(self.initial)):
            raise InvalidComponent("state", repr(highlight), f"not a state of {self.name}")
        lines = ["stateDiagram-v2"]
        lines += [f'    state "{self.label(s)}" as {s.name}' for s in self.states]
        lines.append(f"    [*] --> {self.initial.name}")
        for t in self.transitions:
            lines.append(f"    {t.source.name} --> {t.target.name}: {_edge_label(t)}")
        if highlight is not None:
            lines.append("    classDef current font-weight:bold,stroke-width:3px")
            lines.append(f"    class {highlight.name} current")
        return "\n".join(lines)

    def diagram(self, *, highlight: S | None = None) -> Diagram:
        """Return :meth:`to_mermaid` as a :class:`Diagram`, which a notebook draws."""
        return Diagram(self.to_mermaid(highlight=highlight))

    def _repr_markdown_(self) -> str:
        """Return the diagram and the table of transitions, which a notebook shows."""
        return _display.mermaid(self.to_mermaid()) + "\n\n" + self.to_markdown()

    def to_dot(self) -> str:
        """Return the machine as a Graphviz DOT digraph."""
        lines = [f'digraph "{self.name}" {{', "    rankdir=LR;", "    node [shape=box];"]
        lines.append('    "__start" [shape=point];')
        lines += [f'    {s.name} [label="{self.label(s)}"];' for s in self.states]
        lines.append(f"    __start -> {self.initial.name};")
        for t in self.transitions:
            lines.append(f'    {t.source.name} -> {t.target.name} [label="{_edge_label(t)}"];')
        lines.append("}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """Return the transitions as a Markdown table: from, event, guard, to."""
        lines = ["| from | event | guard | to |", "|---|---|---|---|"]
        for t in self.transitions:
            guard = t.guard or ""
            row = f"| {self.label(t.source)} | {t.event} | {guard} | {self.label(t.target)} |"
            lines.append(row)
        return "\n".join(lines)


def _edge_label(transition: Transition[S]) -> str:
    if transition.guard is None:
        return transition.event
    return f"{transition.event} [{transition.guard}]"
