"""The generic state-table machinery, on small machines of the tests' own."""

from __future__ import annotations

import enum

import pytest

from mak.errors import InvalidComponent
from mak.statetable import StateTable, Transition


class Lamp(enum.Enum):
    """No ``__str__`` of its own: drawn by member name."""

    OFF = "off"
    ON = "on"
    BROKEN = "broken"


class Door(enum.Enum):
    """A ``__str__`` of its own: drawn with it."""

    SHUT = 1
    OPEN = 2

    def __str__(self) -> str:
        return self.name.capitalize() + " door"


OFF, ON, BROKEN = Lamp.OFF, Lamp.ON, Lamp.BROKEN

LAMP = (
    Transition(OFF, "Switched", ON, "power"),
    Transition(OFF, "Switched", OFF, "no power"),
    Transition(ON, "Switched", OFF),
    Transition(ON, "Overloaded", BROKEN),
    Transition(BROKEN, "Repaired", OFF),
)


def lamp(*transitions: Transition[Lamp]) -> StateTable[Lamp]:
    return StateTable(name="lamp", initial=OFF, transitions=transitions)


def test_a_sound_table_validates() -> None:
    assert lamp(*LAMP).validate() is None


def refusal(table: StateTable[Lamp]) -> InvalidComponent:
    with pytest.raises(InvalidComponent) as caught:
        table.validate()
    assert (caught.value.kind, caught.value.text) == ("state table", "lamp")
    return caught.value


def test_validate_catches_a_transition_listed_twice() -> None:
    table = lamp(*LAMP, Transition(OFF, "Switched", ON, "power"))
    assert refusal(table).reason == "Switched from OFF is listed twice"


def test_validate_catches_two_transitions_with_the_same_guard_and_different_targets() -> None:
    table = lamp(
        *LAMP,
        Transition(BROKEN, "Repaired", ON, "power"),
        Transition(BROKEN, "Repaired", OFF, "power"),
    )
    # The unguarded BROKEN -> OFF comes first and is no longer alone.
    assert refusal(table).reason == "Repaired from BROKEN is unguarded but not alone"
    ambiguous = lamp(
        *LAMP[:4],
        Transition(BROKEN, "Repaired", ON, "spare bulb"),
        Transition(BROKEN, "Repaired", OFF, "spare bulb"),
    )
    assert refusal(ambiguous).reason == "Repaired from BROKEN is listed twice"


def test_validate_catches_an_exact_unguarded_duplicate() -> None:
    table = lamp(*LAMP, Transition(BROKEN, "Repaired", OFF))
    # Caught by the first rule that sees it: the unguarded one is not alone.
    assert refusal(table).reason in {
        "Repaired from BROKEN is unguarded but not alone",
        "Repaired from BROKEN is listed twice",
    }


def test_validate_catches_an_unguarded_transition_sharing_its_source_and_event() -> None:
    table = lamp(*LAMP, Transition(ON, "Switched", BROKEN, "surge"))
    assert refusal(table).reason == "Switched from ON is unguarded but not alone"


def test_validate_catches_an_unreachable_state() -> None:
    table = lamp(Transition(OFF, "Switched", ON), Transition(ON, "Switched", OFF))
    assert refusal(table).reason == "BROKEN cannot be reached from OFF"


@pytest.mark.parametrize(
    "way_out",
    [(), (Transition(BROKEN, "Kicked", BROKEN),)],
    ids=["no-edge", "self-loop-only"],
)
def test_validate_catches_a_trap_state(way_out: tuple[Transition[Lamp], ...]) -> None:
    table = lamp(*LAMP[:4], *way_out)
    assert refusal(table).reason == "BROKEN is a trap: no other state can be reached"


def test_allowed_events_ignore_guards() -> None:
    table = lamp(*LAMP)
    assert table.allowed_events(OFF) == frozenset({"Switched"})
    assert table.allowed_events(ON) == frozenset({"Switched", "Overloaded"})
    assert table.allowed_events(BROKEN) == frozenset({"Repaired"})
    assert lamp(*LAMP[:4]).allowed_events(BROKEN) == frozenset()


def test_candidates_come_in_table_order() -> None:
    table = lamp(*LAMP)
    assert table.candidates(OFF, "Switched") == (LAMP[0], LAMP[1])
    reordered = lamp(LAMP[1], LAMP[0], *LAMP[2:])
    assert reordered.candidates(OFF, "Switched") == (LAMP[1], LAMP[0])
    assert table.candidates(OFF, "Repaired") == ()
    assert table.candidates(BROKEN, "Repaired") == (LAMP[4],)


def test_states_and_events() -> None:
    table = lamp(*LAMP)
    assert table.states == (OFF, ON, BROKEN)
    assert table.events == ("Switched", "Overloaded", "Repaired")


def test_mermaid_of_a_tiny_machine() -> None:
    assert lamp(*LAMP).to_mermaid() == (
        "stateDiagram-v2\n"
        '    state "OFF" as OFF\n'
        '    state "ON" as ON\n'
        '    state "BROKEN" as BROKEN\n'
        "    [*] --> OFF\n"
        "    OFF --> ON: Switched [power]\n"
        "    OFF --> OFF: Switched [no power]\n"
        "    ON --> OFF: Switched\n"
        "    ON --> BROKEN: Overloaded\n"
        "    BROKEN --> OFF: Repaired"
    )


def test_mermaid_highlight() -> None:
    drawing = lamp(*LAMP).to_mermaid(highlight=BROKEN)
    assert drawing == (
        lamp(*LAMP).to_mermaid()
        + "\n    classDef current font-weight:bold,stroke-width:3px"
        + "\n    class BROKEN current"
    )


def test_dot_of_a_tiny_machine() -> None:
    assert lamp(*LAMP).to_dot() == (
        'digraph "lamp" {\n'
        "    rankdir=LR;\n"
        "    node [shape=box];\n"
        '    "__start" [shape=point];\n'
        '    OFF [label="OFF"];\n'
        '    ON [label="ON"];\n'
        '    BROKEN [label="BROKEN"];\n'
        "    __start -> OFF;\n"
        '    OFF -> ON [label="Switched [power]"];\n'
        '    OFF -> OFF [label="Switched [no power]"];\n'
        '    ON -> OFF [label="Switched"];\n'
        '    ON -> BROKEN [label="Overloaded"];\n'
        '    BROKEN -> OFF [label="Repaired"];\n'
        "}"
    )


def test_markdown_of_a_tiny_machine() -> None:
    assert lamp(*LAMP).to_markdown() == (
        "| from | event | guard | to |\n"
        "|---|---|---|---|\n"
        "| OFF | Switched | power | ON |\n"
        "| OFF | Switched | no power | OFF |\n"
        "| ON | Switched |  | OFF |\n"
        "| ON | Overloaded |  | BROKEN |\n"
        "| BROKEN | Repaired |  | OFF |"
    )


DOOR = StateTable(
    name="door",
    initial=Door.SHUT,
    transitions=(
        Transition(Door.SHUT, "Opened", Door.OPEN),
        Transition(Door.OPEN, "Closed", Door.SHUT),
    ),
)


def test_an_enum_with_its_own_str_is_labelled_with_it() -> None:
    assert DOOR.to_mermaid().splitlines()[1:3] == [
        '    state "Shut door" as SHUT',
        '    state "Open door" as OPEN',
    ]
    assert "| Shut door | Opened |  | Open door |" in DOOR.to_markdown()
    assert '    OPEN [label="Open door"];' in DOOR.to_dot()


def test_an_enum_without_its_own_str_is_labelled_by_member_name() -> None:
    assert str(Lamp.OFF) == "Lamp.OFF"  # what it would show otherwise
    assert lamp(*LAMP).label(Lamp.OFF) == "OFF"
    assert '    state "OFF" as OFF' in lamp(*LAMP).to_mermaid()


def test_a_custom_label_is_used_in_every_drawing() -> None:
    table = StateTable(
        name="lamp", initial=OFF, transitions=LAMP, label=lambda state: state.value.upper() + "!"
    )
    assert '    state "BROKEN!" as BROKEN' in table.to_mermaid()
    assert '    ON [label="ON!"];' in table.to_dot()
    assert "| OFF! | Switched | power | ON! |" in table.to_markdown()


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def test_an_int_enum_without_its_own_str_is_labelled_by_member_name() -> None:
    table = StateTable(
        name="level",
        initial=Level.LOW,
        transitions=(
            Transition(Level.LOW, "Raised", Level.HIGH),
            Transition(Level.HIGH, "Lowered", Level.LOW),
        ),
    )
    assert table.to_mermaid().splitlines()[1:3] == [
        '    state "LOW" as LOW',
        '    state "HIGH" as HIGH',
    ]
