"""The fake fleet of ``health_fleet`` on its own: a healthy fleet, and Ceph's readings."""

from __future__ import annotations

from datetime import timedelta

from health_fleet import Fleet

from caretaker.domain.health.world import HEALTH_ERR


def test_a_healthy_fleet_does_nothing() -> None:
    fleet = Fleet()
    fleet.run_for(timedelta(minutes=10))
    assert fleet.actions == []
    assert fleet.sent == []
    assert fleet.records == {}
    assert fleet.status.rule("osd-down") is not None


def test_circuit_state_comes_from_ceph_readings() -> None:
    fleet = Fleet(health=HEALTH_ERR)
    evaluation = fleet.tick()
    assert evaluation.status.circuit == "Ceph reports HEALTH_ERR"
