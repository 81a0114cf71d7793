"""Tests for mak.planning: method recommendations per machine and MAK <-> KMS conversions."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from mak import errors
from mak.catalog import Catalog, Edition, ProductFamily
from mak.keys import ProductKey
from mak.lifecycle import ActivationMethod, KeyChannel
from mak.planning import (
    ADBA_RELEASES,
    PLANNED_METHODS,
    Connectivity,
    ConversionPlan,
    ConversionStep,
    Machine,
    Plan,
    PlanSummary,
    Recommendation,
    StepKind,
    conversion,
    recommend,
)
from mak.serialization import make_converter

CLIENT = ProductFamily.WINDOWS_CLIENT
SERVER = ProductFamily.WINDOWS_SERVER
OFFICE = ProductFamily.OFFICE
CORPORATE = Connectivity.CORPORATE
ADBA = ActivationMethod.ADBA
KMS = ActivationMethod.KMS
MAK_INDEPENDENT = ActivationMethod.MAK_INDEPENDENT
MAK_PROXY = ActivationMethod.MAK_PROXY

CATALOG = Catalog.default()
PRO = "Windows 11 Pro / Windows 10 Pro"
PRO_GVLK = ProductKey("W269N-WFGWX-YVC9B-4J6C9-T83GX")  # domain-facts §7.1
# A well-formed PKEY2005 key that is no published GVLK: it stands for a customer's MAK.
MAK = ProductKey("BCDFG-HJKMP-QRTVW-XY234-6789B")

RELEASES = {CLIENT: "Windows 10/11", SERVER: "Windows Server 2022", OFFICE: "Office LTSC 2021"}


def machines(
    family: ProductFamily, count: int, *, prefix: str | None = None, **changes: Any
) -> list[Machine]:
    """*count* corporate machines alike, with ids ``<prefix>-0`` and up; *changes* as in
    ``attrs.evolve``."""
    template = attrs.evolve(Machine("m", family, CORPORATE, False, RELEASES[family]), **changes)
    return [attrs.evolve(template, id=f"{prefix or family.value}-{n}") for n in range(count)]


def methods(plan: Plan) -> dict[str, ActivationMethod]:
    return {r.machine_id: r.method for r in plan}


@attrs.frozen
class Product:
    """The two attributes conversion() reads, as mak.model.Product will have them."""

    name: str
    channel: KeyChannel | None


# --- machines and ADBA releases ---------------------------------------------------------


def test_machine_holds_its_fields() -> None:
    machine = Machine("pc-1", CLIENT, CORPORATE, True, "Windows 10/11")
    assert (machine.id, machine.family, machine.connectivity) == ("pc-1", CLIENT, CORPORATE)
    assert machine.domain_joined is True
    assert machine.os_release == "Windows 10/11"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        machine.id = "pc-2"  # type: ignore[misc]  # frozen on purpose


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"id": ""}, "id", errors.InvalidFormat),
        ({"id": "   "}, "id", errors.InvalidFormat),
        ({"id": 7}, "id", errors.InvalidFormat),
        ({"family": "windows-client"}, "family", errors.InvalidFormat),
        ({"connectivity": "corporate"}, "connectivity", errors.InvalidFormat),
        ({"domain_joined": 1}, "domain_joined", errors.InvalidFormat),
        ({"domain_joined": None}, "domain_joined", errors.InvalidFormat),
        ({"os_release": ""}, "os_release", errors.InvalidFormat),
        ({"os_release": None}, "os_release", errors.InvalidFormat),
    ],
)
def test_machine_refuses_bad_fields(
    changes: dict[str, Any], field: str, error: type[errors.ValidationError]
) -> None:
    fields: dict[str, Any] = {
        "id": "pc-1",
        "family": CLIENT,
        "connectivity": CORPORATE,
        "domain_joined": True,
        "os_release": "Windows 10/11",
        **changes,
    }
    with pytest.raises(error) as caught:
        Machine(**fields)
    assert caught.value.kind == "machine"
    assert caught.value.text == field


@pytest.mark.parametrize(
    ("family", "release", "capable"),
    [
        (CLIENT, "Windows 8", True),
        (CLIENT, "Windows 8.1", True),
        (CLIENT, "Windows 10", True),
        (CLIENT, "Windows 11", True),
        (CLIENT, "Windows 10/11", True),
        (CLIENT, "Windows 10/11 LTSC", True),
        (CLIENT, "Windows 10 LTSB 2015", True),
        (CLIENT, "  windows   10/11 ", True),  # case and spacing do not matter
        (CLIENT, "Windows 7", False),
        (CLIENT, "Windows Vista", False),
        (CLIENT, "Windows XP", False),  # unknown: treated as not capable
        (CLIENT, "Windows 12", False),  # unknown, even if newer: conservative
        (SERVER, "Windows Server 2012", True),
        (SERVER, "Windows Server 2012 R2", True),
        (SERVER, "Windows Server 2025", True),
        (SERVER, "Windows Server, version 1709", True),
        (SERVER, "Windows Server 2008 R2", False),
        (SERVER, "Windows Server 2008", False),
        (OFFICE, "Office 2013", True),
        (OFFICE, "Office 2016", True),
        (OFFICE, "Office LTSC 2024", True),
        (OFFICE, "Office 2010", False),
        (OFFICE, "Windows 10/11", False),  # a Windows release is no Office release
        (SERVER, "Windows 10/11", False),
    ],
)
def test_adba_capability_follows_the_release(
    family: ProductFamily, release: str, capable: bool
) -> None:
    machine = Machine("m", family, CORPORATE, True, release)
    assert machine.adba_capable is capable


# Releases before ADBA (domain-facts §3.1: Windows 8 / Server 2012 / Office 2013 and later).
PRE_ADBA = {
    "Windows Vista",
    "Windows 7",
    "Windows Server 2008",
    "Windows Server 2008 R2",
    "Office 2010",
}


def test_every_catalog_release_is_classified_for_adba() -> None:
    # A release added to the catalog must be placed on one side of the ADBA line here.
    for edition in iter(CATALOG):
        capable = edition.release in ADBA_RELEASES[edition.family]
        assert capable != (edition.release in PRE_ADBA), edition.release


# --- recommend: connectivity rules ------------------------------------------------------


@pytest.mark.parametrize(
    ("connectivity", "method", "reason"),
    [
        (
            Connectivity.ISOLATED,
            MAK_PROXY,
            (
                "Isolated: no Internet access, so MAK proxy activation gets its confirmation ID "
                "from Microsoft on its behalf."
            ),
        ),
        (
            Connectivity.INTERNET_ONLY,
            MAK_INDEPENDENT,
            (
                "Reaches the Internet but never the corporate network: MAK independent "
                "activation with Microsoft."
            ),
        ),
        (
            Connectivity.RARELY_CONNECTED,
            MAK_INDEPENDENT,
            (
                "Rarely reaches the corporate network, too seldom to renew a KMS or ADBA "
                "activation within 180 days: MAK independent activation over the Internet."
            ),
        ),
    ],
)
@pytest.mark.parametrize("family", list(ProductFamily))
def test_machines_off_the_corporate_network_get_mak(
    connectivity: Connectivity, method: ActivationMethod, reason: str, family: ProductFamily
) -> None:
    # Even domain-joined, ADBA-capable and with 30 corporate machines of their family.
    fleet = machines(family, 30) + machines(
        family, 3, prefix="away", connectivity=connectivity, domain_joined=True
    )
    plan = recommend(fleet, adba_available=True)
    for recommendation in plan.recommendations[30:]:
        assert (recommendation.method, recommendation.reason) == (method, reason)


# --- recommend: KMS thresholds ----------------------------------------------------------


@pytest.mark.parametrize(
    ("clients", "servers", "office", "expected"),
    [
        # Exact boundaries of one family.
        (24, 0, 0, {CLIENT: MAK_INDEPENDENT}),
        (25, 0, 0, {CLIENT: KMS}),
        (0, 4, 0, {SERVER: MAK_INDEPENDENT}),
        (0, 5, 0, {SERVER: KMS}),
        (0, 0, 4, {OFFICE: MAK_INDEPENDENT}),
        (0, 0, 5, {OFFICE: KMS}),
        (1, 0, 0, {CLIENT: MAK_INDEPENDENT}),
        # The count is cumulative across families (domain-facts §3).
        (0, 3, 2, {SERVER: KMS, OFFICE: KMS}),
        (0, 4, 1, {SERVER: KMS, OFFICE: KMS}),
        (24, 1, 0, {CLIENT: KMS, SERVER: KMS}),  # one server lifts 24 clients to 25
        (22, 3, 0, {CLIENT: KMS, SERVER: KMS}),  # and clients lift 3 servers over 5
        (20, 3, 2, {CLIENT: KMS, SERVER: KMS, OFFICE: KMS}),
        (20, 5, 0, {CLIENT: KMS, SERVER: KMS}),
        (10, 5, 0, {CLIENT: MAK_INDEPENDENT, SERVER: KMS}),  # 15 < 25: clients go MAK
        (19, 5, 0, {CLIENT: MAK_INDEPENDENT, SERVER: KMS}),
        # Clients below 25 use MAK and stop counting, so they lift no one.
        (7, 3, 0, {CLIENT: MAK_INDEPENDENT, SERVER: MAK_INDEPENDENT}),
        (20, 4, 0, {CLIENT: MAK_INDEPENDENT, SERVER: MAK_INDEPENDENT}),
        (23, 1, 0, {CLIENT: MAK_INDEPENDENT, SERVER: MAK_INDEPENDENT}),
    ],
)
def test_kms_needs_the_threshold_counted_across_families(
    clients: int, servers: int, office: int, expected: dict[ProductFamily, ActivationMethod]
) -> None:
    fleet = machines(CLIENT, clients) + machines(SERVER, servers) + machines(OFFICE, office)
    plan = recommend(fleet)
    got: dict[ProductFamily, set[ActivationMethod]] = {}
    for machine, recommendation in zip(fleet, plan, strict=True):
        got.setdefault(machine.family, set()).add(recommendation.method)
    assert got == {family: {method} for family, method in expected.items()}


def test_machines_off_the_corporate_network_do_not_count_for_kms() -> None:
    fleet = machines(CLIENT, 24) + machines(
        CLIENT, 5, prefix="home", connectivity=Connectivity.INTERNET_ONLY
    )
    assert recommend(fleet).summary() == PlanSummary(
        adba=0, kms=0, mak_independent=29, mak_proxy=0
    )


def test_kms_reasons_name_the_rule_and_the_numbers() -> None:
    plan = recommend(machines(CLIENT, 31))
    assert plan.recommendations[0].reason == (
        "Corporate network, 31 KMS-eligible machines >= 25 for Windows client: KMS."
    )
    plan = recommend(machines(CLIENT, 24))
    assert plan.recommendations[0].reason == (
        "Corporate network, 24 KMS-eligible machines < 25 for Windows client: MAK "
        "independent activation, through the corporate network's Internet access."
    )
    plan = recommend(machines(CLIENT, 20) + machines(SERVER, 5))
    assert plan.recommendation_for("windows-server-0").reason == (
        "Corporate network, 25 KMS-eligible machines >= 5 for Windows Server: KMS."
    )


def test_a_server_below_its_threshold_is_told_why_the_clients_do_not_help() -> None:
    plan = recommend(machines(CLIENT, 7) + machines(OFFICE, 3))
    assert plan.recommendation_for("office-0").reason == (
        "Corporate network, 3 KMS-eligible machines < 5 for Office (the 7 others need 25 "
        "and fall short too): MAK independent activation, through the corporate "
        "network's Internet access."
    )
    assert plan.recommendation_for("windows-client-0").reason.startswith(
        "Corporate network, 10 KMS-eligible machines < 25 for Windows client:"
    )


# --- recommend: ADBA --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("adba_available", "domain_joined", "release", "expected"),
    [
        (True, True, "Windows 10/11", ADBA),
        (True, True, "Windows 8", ADBA),
        (False, True, "Windows 10/11", KMS),  # no activation object in the forest
        (True, False, "Windows 10/11", KMS),  # ADBA needs domain membership
        (True, True, "Windows 7", KMS),  # before Windows 8
        (True, True, "Windows 13", KMS),  # unknown release: conservative
    ],
)
def test_adba_needs_availability_membership_and_a_recent_release(
    adba_available: bool, domain_joined: bool, release: str, expected: ActivationMethod
) -> None:
    fleet = machines(CLIENT, 30, domain_joined=domain_joined, os_release=release)
    plan = recommend(fleet, adba_available=adba_available)
    assert set(methods(plan).values()) == {expected}


@pytest.mark.parametrize(
    ("family", "release"),
    [(SERVER, "Windows Server 2012"), (OFFICE, "Office 2013"), (CLIENT, "Windows 8.1")],
)
def test_adba_has_no_threshold(family: ProductFamily, release: str) -> None:
    plan = recommend(
        machines(family, 1, domain_joined=True, os_release=release), adba_available=True
    )
    assert plan.recommendations[0].method is ADBA
    assert plan.recommendations[0].reason == (
        f"Corporate network, domain-joined, {release} supports Active Directory-based "
        "activation: ADBA, with no KMS threshold."
    )


def test_adba_machines_do_not_count_for_kms() -> None:
    # 25 corporate clients, but the 5 on Windows 10/11 take ADBA: 20 left < 25.
    fleet = machines(CLIENT, 5, prefix="new", domain_joined=True) + machines(
        CLIENT, 20, prefix="old", domain_joined=True, os_release="Windows 7"
    )
    plan = recommend(fleet, adba_available=True)
    assert plan.summary() == PlanSummary(adba=5, kms=0, mak_independent=20, mak_proxy=0)
    assert plan.recommendation_for("old-0").reason == (
        "Corporate network, 20 KMS-eligible machines < 25 for Windows client: MAK "
        "independent activation, through the corporate network's Internet access. "
        "Windows 7 is not known to support ADBA (Windows 8, Windows Server 2012, "
        "Office 2013 and later)."
    )


def test_without_adba_available_reasons_do_not_mention_it() -> None:
    plan = recommend(machines(CLIENT, 1, domain_joined=True, os_release="Windows 7"))
    assert "ADBA" not in plan.recommendations[0].reason


# --- recommend: input handling ----------------------------------------------------------


def test_one_recommendation_per_machine_in_input_order() -> None:
    fleet = [
        Machine("z", SERVER, Connectivity.ISOLATED, False, "Windows Server 2019"),
        Machine("a", CLIENT, Connectivity.INTERNET_ONLY, False, "Windows 11"),
        Machine("m", OFFICE, CORPORATE, False, "Office 2019"),
    ]
    plan = recommend(iter(fleet))  # any iterable, read once
    assert [r.machine_id for r in plan] == ["z", "a", "m"]
    assert [r.method for r in plan] == [MAK_PROXY, MAK_INDEPENDENT, MAK_INDEPENDENT]
    assert len(plan) == 3


def test_an_empty_fleet_gets_an_empty_plan() -> None:
    plan = recommend([])
    assert plan == Plan(())
    assert plan.summary() == PlanSummary(adba=0, kms=0, mak_independent=0, mak_proxy=0)


def test_duplicate_machine_ids_are_refused() -> None:
    fleet = [*machines(CLIENT, 3), Machine("windows-client-1", SERVER, CORPORATE, False, "x")]
    with pytest.raises(errors.InvalidComponent) as caught:
        recommend(fleet)
    assert str(caught.value) == (
        "Invalid machine id: 'windows-client-1' (given twice: machines[1] and machines[3])"
    )
    assert isinstance(caught.value, errors.ValidationError)


def test_a_non_machine_is_refused() -> None:
    with pytest.raises(errors.InvalidFormat, match=r"machines\[1\].*got dict"):
        recommend([*machines(CLIENT, 1), {"id": "pc"}])  # type: ignore[list-item]  # on purpose


# --- plans and summaries ----------------------------------------------------------------


def mixed_fleet() -> list[Machine]:
    return (
        machines(CLIENT, 22)
        + machines(SERVER, 3)
        + machines(CLIENT, 4, prefix="adba", domain_joined=True)
        + machines(OFFICE, 2, prefix="lab", connectivity=Connectivity.ISOLATED)
        + machines(CLIENT, 3, prefix="road", connectivity=Connectivity.RARELY_CONNECTED)
        + machines(CLIENT, 1, prefix="home", connectivity=Connectivity.INTERNET_ONLY)
    )


def test_summary_counts_methods_and_mak_activations() -> None:
    summary = recommend(mixed_fleet(), adba_available=True).summary()
    assert summary == PlanSummary(adba=4, kms=25, mak_independent=4, mak_proxy=2)
    assert summary.mak_activations == 6
    assert summary.total == 35


def test_by_method_and_recommendation_for() -> None:
    plan = recommend(mixed_fleet(), adba_available=True)
    assert [r.machine_id for r in plan.by_method(MAK_PROXY)] == ["lab-0", "lab-1"]
    assert len(plan.by_method(KMS)) == 25
    assert plan.by_method(ActivationMethod.PHONE) == ()
    assert plan.recommendation_for("road-2").method is MAK_INDEPENDENT
    with pytest.raises(errors.NotFound):
        plan.recommendation_for("nope")


def test_plan_refuses_duplicate_ids_and_non_recommendations() -> None:
    one = Recommendation("pc-1", KMS, "Because.")
    with pytest.raises(errors.InvalidComponent, match="given twice"):
        Plan((one, one))
    with pytest.raises(errors.InvalidFormat, match="tuple"):
        Plan([one])  # type: ignore[arg-type]  # on purpose
    with pytest.raises(errors.InvalidFormat, match=r"recommendations\[0\]"):
        Plan(("pc-1",))  # type: ignore[arg-type]  # on purpose


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (("", KMS, "Because."), errors.InvalidFormat),
        (("pc", ActivationMethod.RETAIL_ONLINE, "Because."), errors.InvalidComponent),
        (("pc", "kms", "Because."), errors.InvalidComponent),
        (("pc", KMS, " "), errors.InvalidFormat),
    ],
)
def test_recommendation_refuses_bad_fields(
    fields: tuple[Any, ...], error: type[errors.ValidationError]
) -> None:
    with pytest.raises(error):
        Recommendation(*fields)


def test_planned_methods_are_the_four_recommend_uses() -> None:
    plan = recommend(mixed_fleet(), adba_available=True)
    assert {r.method for r in plan} == PLANNED_METHODS


# --- conversions ------------------------------------------------------------------------


def test_mak_to_kms_installs_the_catalog_gvlk() -> None:
    plan = conversion(Product(PRO, KeyChannel.MAK), KMS, CATALOG)
    assert plan == ConversionPlan(
        PRO,
        KeyChannel.MAK,
        KMS,
        (
            ConversionStep(StepKind.INSTALL_KEY, key=PRO_GVLK),
            ConversionStep(StepKind.CLEAR_KMS_ENDPOINT),
            ConversionStep(StepKind.ACTIVATE, method=KMS),
        ),
    )
    assert plan.mak_activations_consumed == 0


def test_mak_to_kms_with_an_endpoint_sets_it() -> None:
    plan = conversion(Product(PRO, KeyChannel.MAK), KMS, CATALOG, endpoint="kms.contoso.com:1688")
    assert list(plan) == [
        ConversionStep(StepKind.INSTALL_KEY, key=PRO_GVLK),
        ConversionStep(StepKind.SET_KMS_ENDPOINT, endpoint="kms.contoso.com:1688"),
        ConversionStep(StepKind.ACTIVATE, method=KMS),
    ]


@pytest.mark.parametrize("target", [MAK_INDEPENDENT, MAK_PROXY])
def test_kms_to_mak_installs_the_mak_and_clears_the_endpoint(target: ActivationMethod) -> None:
    plan = conversion(Product(PRO, KeyChannel.GVLK), target, CATALOG, key=MAK)
    assert plan.steps == (
        ConversionStep(StepKind.INSTALL_KEY, key=MAK),
        ConversionStep(StepKind.CLEAR_KMS_ENDPOINT),
        ConversionStep(StepKind.ACTIVATE, method=target),
    )
    assert (plan.edition, plan.source, plan.target) == (PRO, KeyChannel.GVLK, target)
    assert plan.mak_activations_consumed == 1


def test_a_product_without_a_key_can_go_either_way() -> None:
    to_kms = conversion(Product(PRO, None), KMS, CATALOG)
    to_mak = conversion(Product(PRO, None), MAK_PROXY, CATALOG, key=MAK)
    assert [s.kind for s in to_kms] == [
        StepKind.INSTALL_KEY,
        StepKind.CLEAR_KMS_ENDPOINT,
        StepKind.ACTIVATE,
    ]
    assert to_mak.steps[0].key == MAK
    assert to_mak.mak_activations_consumed == 1


@pytest.mark.parametrize(
    ("channel", "target", "key"),
    [
        (KeyChannel.GVLK, KMS, None),
        (KeyChannel.MAK, MAK_INDEPENDENT, None),
        (KeyChannel.MAK, MAK_PROXY, MAK),
    ],
)
def test_a_product_on_the_target_channel_gets_an_empty_plan(
    channel: KeyChannel, target: ActivationMethod, key: ProductKey | None
) -> None:
    plan = conversion(Product(PRO, channel), target, CATALOG, key=key)
    assert plan.steps == ()
    assert len(plan) == 0
    assert plan.mak_activations_consumed == 0


def test_the_gvlk_comes_from_the_catalog_given() -> None:
    edition = Edition("Windows 99 Pro", CLIENT, "Windows 99", PRO_GVLK)
    plan = conversion(Product("Windows 99 Pro", KeyChannel.MAK), KMS, Catalog((edition,)))
    assert plan.steps[0].key == PRO_GVLK


def test_an_unknown_edition_gets_the_catalogs_error() -> None:
    with pytest.raises(errors.InvalidComponent, match="Windows 10 Home") as caught:
        conversion(Product("Windows 10 Home", KeyChannel.MAK), KMS, CATALOG)
    assert "closest:" in caught.value.reason


def test_an_edition_without_a_published_gvlk_is_refused() -> None:
    catalog = Catalog((Edition("Windows 99 Home", CLIENT, "Windows 99", None),))
    with pytest.raises(errors.InvalidComponent, match="Windows 99 Home"):
        conversion(Product("Windows 99 Home", KeyChannel.MAK), KMS, catalog)


def test_a_move_to_mak_without_a_mak_is_refused() -> None:
    with pytest.raises(errors.InvalidComponent) as caught:
        conversion(Product(PRO, KeyChannel.GVLK), MAK_INDEPENDENT, CATALOG)
    assert "needs a MAK; pass key=" in str(caught.value)


def test_a_published_gvlk_is_no_mak() -> None:
    with pytest.raises(errors.InvalidComponent) as caught:
        conversion(Product(PRO, KeyChannel.GVLK), MAK_PROXY, CATALOG, key=PRO_GVLK)
    message = str(caught.value)
    assert message == (
        "Invalid MAK: 'XXXXX-XXXXX-XXXXX-XXXXX-T83GX' "
        f"(it is the published GVLK of {PRO!r}, not a MAK)"
    )


@pytest.mark.parametrize(
    ("product", "target", "options", "error", "match"),
    [
        (Product(PRO, KeyChannel.MAK), ADBA, {}, errors.InvalidComponent, "'adba' is not one"),
        (Product(PRO, KeyChannel.MAK), "kms", {}, errors.InvalidComponent, "<str> is not one"),
        (Product(PRO, KeyChannel.RETAIL), KMS, {}, errors.InvalidComponent, "Retail key"),
        (Product(PRO, KeyChannel.OEM), MAK_PROXY, {"key": MAK}, errors.InvalidComponent, "OEM"),
        (Product(PRO, KeyChannel.CSVLK), KMS, {}, errors.InvalidComponent, "CSVLK"),
        (Product(PRO, KeyChannel.MAK), KMS, {"key": PRO_GVLK}, errors.InvalidComponent, "GVLK"),
        (
            Product(PRO, KeyChannel.GVLK),
            MAK_PROXY,
            {"key": MAK, "endpoint": "kms"},
            errors.InvalidComponent,
            "no endpoint",
        ),
        (
            Product(PRO, KeyChannel.GVLK),
            MAK_PROXY,
            {"key": MAK.reveal()},
            errors.InvalidFormat,
            "expected a ProductKey, got str",
        ),
        (Product(PRO, KeyChannel.MAK), KMS, {"endpoint": ""}, errors.InvalidFormat, "host"),
        (Product(PRO, KeyChannel.MAK), KMS, {"endpoint": "a b"}, errors.InvalidFormat, "host"),
        (Product("", KeyChannel.MAK), KMS, {}, errors.InvalidFormat, "name"),
        (Product(PRO, "Volume:MAK"), KMS, {}, errors.InvalidFormat, "channel"),  # type: ignore[arg-type]  # on purpose
        (object(), KMS, {}, errors.InvalidFormat, "name"),
    ],
)
def test_impossible_moves_are_refused(
    product: Any,
    target: Any,
    options: dict[str, Any],
    error: type[errors.MakError],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        conversion(product, target, CATALOG, **options)


def test_keys_stay_masked_in_plans_and_errors() -> None:
    plan = conversion(Product(PRO, KeyChannel.GVLK), MAK_PROXY, CATALOG, key=MAK)
    shown = repr(plan) + str(plan.steps[0]) + "".join(str(step) for step in plan)
    assert MAK.reveal() not in shown
    assert "XXXXX-XXXXX-XXXXX-XXXXX-6789B" in shown
    with pytest.raises(errors.MakError) as caught:
        conversion(Product(PRO, KeyChannel.GVLK), MAK_PROXY, CATALOG, key=MAK.reveal())  # type: ignore[arg-type]  # on purpose
    assert MAK.reveal() not in str(caught.value)
    assert MAK.reveal().replace("-", "") not in str(caught.value)


def test_steps_describe_themselves() -> None:
    described = [
        str(ConversionStep(StepKind.INSTALL_KEY, key=PRO_GVLK)),
        str(ConversionStep(StepKind.SET_KMS_ENDPOINT, endpoint="kms.contoso.com")),
        str(ConversionStep(StepKind.CLEAR_KMS_ENDPOINT)),
        str(ConversionStep(StepKind.ACTIVATE, method=KMS)),
        str(ConversionStep(StepKind.ACTIVATE, method=MAK_INDEPENDENT)),
        str(ConversionStep(StepKind.ACTIVATE, method=MAK_PROXY)),
    ]
    assert described == [
        "Install product key XXXXX-XXXXX-XXXXX-XXXXX-T83GX (slmgr /ipk).",
        "Use the KMS host kms.contoso.com:1688 (slmgr /skms).",
        "Clear any KMS host set by hand; DNS finds one if needed (slmgr /ckms).",
        "Activate with the KMS host (slmgr /ato); no MAK activation is used.",
        "Activate with Microsoft online (slmgr /ato); uses one MAK activation.",
        (
            "Activate by proxy: collect the installation ID, get the confirmation ID from "
            "Microsoft, deposit it; uses one MAK activation."
        ),
    ]


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        ({"kind": "install-key"}, errors.InvalidFormat, "kind"),
        ({"kind": StepKind.INSTALL_KEY}, errors.InvalidFormat, "key"),
        ({"kind": StepKind.INSTALL_KEY, "key": "W269N"}, errors.InvalidFormat, "key"),
        ({"kind": StepKind.ACTIVATE, "key": MAK, "method": KMS}, errors.InvalidComponent, "key"),
        ({"kind": StepKind.SET_KMS_ENDPOINT}, errors.InvalidFormat, "endpoint"),
        (
            {"kind": StepKind.CLEAR_KMS_ENDPOINT, "endpoint": "kms"},
            errors.InvalidComponent,
            "endpoint",
        ),
        ({"kind": StepKind.ACTIVATE, "method": ADBA}, errors.InvalidComponent, "method"),
        (
            {"kind": StepKind.INSTALL_KEY, "key": MAK, "method": KMS},
            errors.InvalidComponent,
            "method",
        ),
    ],
)
def test_steps_take_only_their_own_argument(
    fields: dict[str, Any], error: type[errors.ValidationError], field: str
) -> None:
    with pytest.raises(error) as caught:
        ConversionStep(**fields)
    assert caught.value.text == field


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (("", None, KMS, ()), errors.InvalidFormat),
        ((PRO, "Volume:MAK", KMS, ()), errors.InvalidFormat),
        ((PRO, None, ADBA, ()), errors.InvalidComponent),
        ((PRO, None, KMS, []), errors.InvalidFormat),
        ((PRO, None, KMS, ("activate",)), errors.InvalidFormat),
    ],
)
def test_conversion_plan_refuses_bad_fields(
    fields: tuple[Any, ...], error: type[errors.ValidationError]
) -> None:
    with pytest.raises(error):
        ConversionPlan(*fields)


# --- serialization ----------------------------------------------------------------------


def test_machine_round_trips() -> None:
    converter = make_converter()
    machine = Machine("pc-1", OFFICE, Connectivity.RARELY_CONNECTED, True, "Office 2019")
    data = converter.unstructure(machine)
    assert data == {
        "id": "pc-1",
        "family": "office",
        "connectivity": "rarely-connected",
        "domain_joined": True,
        "os_release": "Office 2019",
    }
    assert converter.structure(data, Machine) == machine


def test_plan_round_trips() -> None:
    converter = make_converter()
    plan = recommend(mixed_fleet(), adba_available=True)
    data = converter.unstructure(plan)
    assert data["recommendations"][0] == {
        "machine_id": "windows-client-0",
        "method": "kms",
        "reason": plan.recommendations[0].reason,
    }
    assert converter.structure(data, Plan) == plan
    summary = plan.summary()
    assert converter.structure(converter.unstructure(summary), PlanSummary) == summary
    recommendation = plan.recommendations[-1]
    assert converter.structure(converter.unstructure(recommendation), Recommendation) == (
        recommendation
    )


def test_conversion_plan_round_trips_with_the_key_in_full() -> None:
    converter = make_converter()
    for plan in (
        conversion(Product(PRO, KeyChannel.GVLK), MAK_PROXY, CATALOG, key=MAK),
        conversion(Product(PRO, None), KMS, CATALOG, endpoint="[2001:db8::1]:1688"),
        conversion(Product(PRO, KeyChannel.MAK), MAK_INDEPENDENT, CATALOG),
    ):
        data = converter.unstructure(plan)
        assert converter.structure(data, ConversionPlan) == plan
    data = converter.unstructure(
        conversion(Product(PRO, KeyChannel.GVLK), MAK_PROXY, CATALOG, key=MAK)
    )
    assert data["steps"][0] == {
        "kind": "install-key",
        "key": MAK.reveal(),  # the converter is for storage
        "endpoint": None,
        "method": None,
    }


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        ({"id": "pc", "family": "linux", "connectivity": "corporate", "domain_joined": True, "os_release": "x"}, Machine),
        ({"recommendations": [{"machine_id": "a", "method": "phone", "reason": "r"}]}, Plan),
        ({"recommendations": [{"machine_id": "a", "method": "kms", "reason": "r"}] * 2}, Plan),
        ({"kind": "activate", "key": None, "endpoint": None, "method": None}, ConversionStep),
    ],
)  # fmt: skip
def test_bad_documents_are_refused(data: dict[str, Any], cls: type[object]) -> None:
    with pytest.raises(errors.InvalidFormat):
        make_converter().structure(data, cls)


@pytest.mark.parametrize("endpoint", ["bad_host!!:99999", "kms:0", "2001:db8::1"])
def test_a_malformed_endpoint_is_refused_when_the_plan_is_made(endpoint: str) -> None:
    with pytest.raises(errors.ValidationError):
        conversion(Product(PRO, KeyChannel.MAK), KMS, CATALOG, endpoint=endpoint)


def test_a_parsed_endpoint_is_kept_as_a_kms_endpoint() -> None:
    plan = conversion(Product(PRO, KeyChannel.MAK), KMS, CATALOG, endpoint="KMS.Contoso.com")
    assert str(plan.steps[1].endpoint) == "kms.contoso.com:1688"


@pytest.mark.parametrize("machines", [None, "pc-1", 5])
def test_recommend_refuses_what_is_not_a_list_of_machines(machines: object) -> None:
    with pytest.raises(errors.InvalidFormat, match="expected an iterable of Machine"):
        recommend(machines)  # type: ignore[arg-type]
