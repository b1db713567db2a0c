"""The routing plan: the policy table, fallbacks, border posts, escalation (pure)."""

from __future__ import annotations

import dataclasses

import pytest

from intake.store.directory import DEMO_DIRECTORY, read_directory
from routing.plan import (
    Directory,
    RoutePlan,
    UnitKind,
    UnitRecord,
    escalation_target,
    explain,
    load_policy,
    plan_routes,
)
from routing.policy import load_recipients

POLICY = load_policy()
TABLE = load_recipients()
WARD, PROVINCE = 16279, 38  # a commune of Thanh Hoa, and its province


def unit(uid: str, kind: UnitKind, ward: int | None = WARD, **contacts: str) -> UnitRecord:
    return UnitRecord(
        id=uid,
        kind=kind,
        name=uid,
        province_code=PROVINCE if kind != UnitKind.HOTLINE_SUPERVISOR else None,
        ward_code=ward,
        telegram_chat_id=contacts.get("telegram", f"-100{abs(hash(uid)) % 10**9}"),
        zalo_user_id=contacts.get("zalo"),
    )


FULL = [
    unit("cp", UnitKind.COMMUNE_POLICE),
    unit("sw", UnitKind.COMMUNE_SOCIAL_WORKER),
    unit("pp", UnitKind.PROVINCIAL_POLICE, ward=None),
    unit("ps", UnitKind.PROVINCIAL_SOCIAL_WORK_CENTRE, ward=None),
    unit("sup", UnitKind.HOTLINE_SUPERVISOR, ward=None),
]


def plan(
    level: str,
    categories: list[str],
    units: list[UnitRecord],
    ward: int | None = WARD,
    province: int | None = PROVINCE,
) -> RoutePlan:
    return plan_routes(
        level=level,
        categories=categories,
        ward_code=ward,
        province_code=province,
        directory=Directory(units),
        recipients=TABLE,
        policy=POLICY,
    )


def targets(result: RoutePlan) -> list[str]:
    return [t.unit_id for t in result.targets]


@pytest.mark.parametrize(
    ("level", "categories", "expected"),
    [
        ("P1", ["physical_abuse"], ["cp", "sw"]),
        ("P2", ["neglect"], ["sw"]),
        ("P2", ["neglect", "sexual_abuse"], ["cp", "sw"]),  # the union over categories
        ("P3", ["trafficking"], ["sw"]),
        ("P4", ["information"], []),
        ("SPAM", ["other"], []),
    ],
)
def test_the_policy_table(level: str, categories: list[str], expected: list[str]) -> None:
    assert targets(plan(level, categories, FULL)) == expected


def test_a_missing_or_unreachable_commune_unit_falls_back_up_the_chain() -> None:
    no_police = [u for u in FULL if u.id != "cp"]
    assert targets(plan("P1", ["physical_abuse"], no_police)) == ["pp", "sw"]
    silent = [dataclasses.replace(u, telegram_chat_id=None) if u.id == "sw" else u for u in FULL]
    result = plan("P2", ["neglect"], silent)
    assert targets(result) == ["ps"]
    assert "fallback" in explain(result)
    only_supervisor = [u for u in FULL if u.id == "sup"]
    assert targets(plan("P1", ["missing_child"], only_supervisor)) == ["sup"]


def test_no_commune_means_the_needs_location_queue() -> None:
    result = plan("P2", ["physical_abuse"], FULL, ward=None)
    assert result.needs_location and not result.targets


def test_a_p1_without_a_commune_alerts_the_duty_supervisor_at_once() -> None:
    # A child in danger now cannot wait for the place: the supervisor is alerted while
    # the location is asked for.
    result = plan("P1", ["physical_abuse"], FULL, ward=None)
    assert result.needs_location and targets(result) == ["sup"]
    assert "hotline duty supervisor" in explain(result)


def test_a_routed_level_outside_the_table_reaches_the_supervisor() -> None:
    result = plan("P1", ["other"], FULL, ward=None)
    assert targets(result) == ["sup"] and not result.needs_location
    assert "no recipient in the policy table" in explain(result)


def test_trafficking_in_a_border_commune_copies_its_border_guard_post(geography) -> None:  # type: ignore[no-untyped-def]
    demo = read_directory(DEMO_DIRECTORY, geography)
    assert not demo.rejected
    posts = [u for u in demo.units if u.kind == UnitKind.BORDER_GUARD_POST]
    assert len(posts) >= 30
    # Each demo post sits in the commune of a land border gate, named after that gate.
    lao_bao = next(u for u in posts if "Lao Bảo" in u.name)
    assert geography.wards[lao_bao.ward_code].name == "Xã Lao Bảo"
    ward = lao_bao.ward_code
    units = [u for u in demo.units if u.ward_code == ward or u.ward_code is None]
    result = plan("P1", ["trafficking"], units, ward, lao_bao.province_code)
    assert targets(result) == [f"cp-{ward}", f"sw-{ward}", lao_bao.id]
    abuse = plan("P1", ["physical_abuse"], units, ward, lao_bao.province_code)
    assert lao_bao.id not in targets(abuse)


def test_escalation_climbs_the_chain_then_stops() -> None:
    directory = Directory(FULL)
    police = next(u for u in FULL if u.id == "cp")
    first = escalation_target(police, 1, directory, POLICY)
    second = escalation_target(police, 2, directory, POLICY)
    assert (first and first.id, second and second.id) == ("pp", "sup")
    assert escalation_target(police, POLICY.escalation_steps + 1, directory, POLICY) is None
