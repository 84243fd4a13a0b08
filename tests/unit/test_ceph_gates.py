"""Ceph gates: health with allowed warnings, PG health by pattern, OSDs up."""

from __future__ import annotations

import pytest

from caretaker.domain.ceph.gates import health_gate, osds_up, pgs_healthy
from caretaker.domain.maintenance.spec import DEFAULT_HEALTHY_PG_STATES


def test_health_ok_holds_whatever_the_checks() -> None:
    verdict = health_gate("HEALTH_OK", {}, [])
    assert verdict.holds
    assert "HEALTH_OK" in verdict.reason


def test_warn_with_only_allowed_checks_holds() -> None:
    checks = {"OSD_FLAGS": "1 OSDs have noout", "MON_CLOCK_SKEW": "skew"}
    verdict = health_gate("HEALTH_WARN", checks, ["MON_CLOCK_SKEW", "OSD_FLAGS", "OTHER"])
    assert verdict.holds
    assert "MON_CLOCK_SKEW, OSD_FLAGS" in verdict.reason


def test_warn_with_a_check_not_allowed_waits_and_names_it() -> None:
    checks = {"OSD_FLAGS": "noout set", "PG_DEGRADED": "5 pgs degraded"}
    verdict = health_gate("HEALTH_WARN", checks, ["OSD_FLAGS"])
    assert not verdict.holds
    assert "HEALTH_WARN" in verdict.reason
    assert "PG_DEGRADED: 5 pgs degraded" in verdict.reason
    assert "OSD_FLAGS" not in verdict.reason


def test_warn_with_no_allowance_waits() -> None:
    assert not health_gate("HEALTH_WARN", {"OSD_DOWN": "1 osds down"}, []).holds


def test_health_err_never_holds_even_if_every_check_is_allowed() -> None:
    verdict = health_gate("HEALTH_ERR", {"MON_DOWN": "1/3 mons down"}, ["MON_DOWN"])
    assert not verdict.holds
    assert "HEALTH_ERR" in verdict.reason


def test_unknown_health_string_does_not_hold() -> None:
    verdict = health_gate("", {}, [])
    assert not verdict.holds
    assert "no details" in verdict.reason


def test_reason_shows_at_most_three_checks() -> None:
    checks = {f"CHECK_{i}": f"detail {i}" for i in range(5)}
    reason = health_gate("HEALTH_WARN", checks, []).reason
    assert sum(f"CHECK_{i}" in reason for i in range(5)) == 3


@pytest.mark.parametrize(
    "state", ["active+clean", "active+clean+scrubbing", "active+clean+scrubbing+deep"]
)
def test_default_pattern_healthy_states(state: str) -> None:
    verdict = pgs_healthy({state: 64}, DEFAULT_HEALTHY_PG_STATES)
    assert verdict.holds
    assert "64" in verdict.reason


@pytest.mark.parametrize(
    "state",
    [
        "active+undersized+degraded",
        "peering",
        "unknown",
        "active+clean+remapped",
        "active+recovering",
        "clean",
        "inactive+clean",
        "active+clean+scrubbing+deep+repair",
    ],
)
def test_default_pattern_unhealthy_states(state: str) -> None:
    verdict = pgs_healthy({"active+clean": 120, state: 8}, DEFAULT_HEALTHY_PG_STATES)
    assert not verdict.holds
    assert "8/128 PGs not healthy" in verdict.reason
    assert f"8 {state}" in verdict.reason


def test_zero_count_unhealthy_states_are_ignored() -> None:
    assert pgs_healthy({"active+clean": 10, "peering": 0}, DEFAULT_HEALTHY_PG_STATES).holds


def test_no_pgs_is_not_healthy() -> None:
    for states in ({}, {"active+clean": 0}):
        verdict = pgs_healthy(states, DEFAULT_HEALTHY_PG_STATES)
        assert not verdict.holds
        assert "no placement groups" in verdict.reason


def test_unhealthy_reason_lists_largest_groups_first() -> None:
    states = {"active+clean": 1, "peering": 2, "unknown": 30, "down": 5, "stale": 1}
    reason = pgs_healthy(states, DEFAULT_HEALTHY_PG_STATES).reason
    assert "38/39 PGs not healthy (30 unknown, 5 down, 2 peering)" in reason


def test_custom_pattern_is_used() -> None:
    pattern = r"^active\+clean(\+remapped)?$"
    assert pgs_healthy({"active+clean+remapped": 3}, pattern).holds
    assert not pgs_healthy({"active+clean+scrubbing": 3}, pattern).holds


def test_osds_up() -> None:
    assert osds_up([0, 1], {0: True, 1: True, 2: False}).holds
    assert osds_up([], {}).holds
    down = osds_up([0, 1, 2], {0: True, 1: False, 2: False})
    assert not down.holds
    assert down.reason == "waiting for osd.1, osd.2 to be up"


def test_osd_not_listed_counts_as_down() -> None:
    verdict = osds_up([7], {0: True})
    assert not verdict.holds
    assert "osd.7" in verdict.reason
