"""Hypothesis properties of mak.planning: recommendations over arbitrary fleets.

Run by the ``property`` nox session (``pytest -m property tests``); the default run leaves
them out.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mak.catalog import ProductFamily
from mak.lifecycle import ActivationMethod
from mak.planning import ADBA_RELEASES, Connectivity, Machine, Plan, recommend
from mak.serialization import make_converter

pytestmark = pytest.mark.property

PROPERTY = settings(max_examples=300, deadline=None)

MAK_METHODS = {ActivationMethod.MAK_INDEPENDENT, ActivationMethod.MAK_PROXY}
OLD_RELEASES = ["Windows 7", "Windows Server 2008 R2", "Office 2010", "Nobody knows"]


@st.composite
def machine_fields(draw: st.DrawFn) -> tuple[ProductFamily, Connectivity, bool, str]:
    family = draw(st.sampled_from(ProductFamily))
    release = draw(st.sampled_from(sorted(ADBA_RELEASES[family]) + OLD_RELEASES))
    # Corporate machines most often, so that fleets reach the KMS thresholds.
    connectivity = draw(
        st.sampled_from(Connectivity) | st.just(Connectivity.CORPORATE),
    )
    return family, connectivity, draw(st.booleans()), release


@st.composite
def fleets(draw: st.DrawFn) -> list[Machine]:
    """A fleet of mixed machines, with enough corporate ones of a family to cross its
    KMS threshold often (around 25 Windows clients, around 5 servers or Office)."""
    fields: list[tuple[ProductFamily, Connectivity, bool, str]] = []
    for family, most in ((ProductFamily.WINDOWS_CLIENT, 32), (ProductFamily.WINDOWS_SERVER, 7)):
        for _ in range(draw(st.integers(0, most))):
            release = draw(st.sampled_from(sorted(ADBA_RELEASES[family]) + OLD_RELEASES))
            fields.append((family, Connectivity.CORPORATE, draw(st.booleans()), release))
    fields += draw(st.lists(machine_fields(), max_size=25))
    order = draw(st.permutations(range(len(fields))))
    return [Machine(f"m-{n}", *fields[i]) for n, i in enumerate(order)]


@PROPERTY
@given(fleet=fleets(), adba_available=st.booleans())
def test_every_machine_gets_exactly_one_recommendation(
    fleet: list[Machine], adba_available: bool
) -> None:
    plan = recommend(fleet, adba_available=adba_available)
    assert [r.machine_id for r in plan] == [m.id for m in fleet]
    assert all(r.reason.strip() for r in plan)
    assert plan.summary().total == len(fleet)


@PROPERTY
@given(fleet=fleets(), adba_available=st.booleans())
def test_mak_activations_are_one_per_mak_recommendation(
    fleet: list[Machine], adba_available: bool
) -> None:
    plan = recommend(fleet, adba_available=adba_available)
    assert plan.summary().mak_activations == sum(r.method in MAK_METHODS for r in plan)


@PROPERTY
@given(fleet=fleets(), adba_available=st.booleans())
def test_isolated_machines_always_get_mak_proxy(
    fleet: list[Machine], adba_available: bool
) -> None:
    plan = recommend(fleet, adba_available=adba_available)
    for machine, recommendation in zip(fleet, plan, strict=True):
        isolated = machine.connectivity is Connectivity.ISOLATED
        assert isolated == (recommendation.method is ActivationMethod.MAK_PROXY)


@PROPERTY
@given(fleet=fleets(), adba_available=st.booleans())
def test_every_kms_machine_meets_its_threshold_among_kms_machines(
    fleet: list[Machine], adba_available: bool
) -> None:
    plan = recommend(fleet, adba_available=adba_available)
    on_kms = [m for m, r in zip(fleet, plan, strict=True) if r.method is ActivationMethod.KMS]
    assert all(len(on_kms) >= m.family.kms_threshold for m in on_kms)
    assert all(m.connectivity is Connectivity.CORPORATE for m in on_kms)


@PROPERTY
@given(fleet=fleets(), extra=machine_fields(), adba_available=st.booleans())
def test_adding_a_corporate_machine_never_turns_kms_into_mak(
    fleet: list[Machine],
    extra: tuple[ProductFamily, Connectivity, bool, str],
    adba_available: bool,
) -> None:
    family, _, domain_joined, release = extra
    newcomer = Machine("newcomer", family, Connectivity.CORPORATE, domain_joined, release)
    before = recommend(fleet, adba_available=adba_available)
    after = recommend([*fleet, newcomer], adba_available=adba_available)
    for old, new in zip(before, after.recommendations[:-1], strict=True):
        # Only a corporate machine below its threshold can change: up to KMS.
        assert new.method is old.method or (
            old.method is ActivationMethod.MAK_INDEPENDENT and new.method is ActivationMethod.KMS
        )


@PROPERTY
@given(fleet=fleets(), adba_available=st.booleans())
def test_plans_round_trip_through_the_converter(
    fleet: list[Machine], adba_available: bool
) -> None:
    converter = make_converter()
    plan = recommend(fleet, adba_available=adba_available)
    assert converter.structure(converter.unstructure(plan), Plan) == plan
    machines = converter.structure(converter.unstructure(fleet), list[Machine])
    assert machines == fleet


@PROPERTY
@pytest.mark.property
@given(
    st.integers(min_value=25, max_value=60),
    st.lists(st.sampled_from(list(ProductFamily)), max_size=10),
)
def test_a_corporate_fleet_at_the_client_threshold_all_gets_kms(
    clients: int, others: list[ProductFamily]
) -> None:
    # Enough Windows clients reach 25 on their own; every family then meets its threshold.
    fleet = [
        Machine(
            f"pc-{n}", ProductFamily.WINDOWS_CLIENT, Connectivity.CORPORATE, False, "Windows 10/11"
        )
        for n in range(clients)
    ] + [
        Machine(f"other-{n}", family, Connectivity.CORPORATE, False, "Windows 10/11")
        for n, family in enumerate(others)
    ]
    plan = recommend(fleet)
    assert {r.method for r in plan} == {ActivationMethod.KMS}
    assert plan.summary().mak_activations == 0
