"""Safety: circuit breaker, concurrency and OSDs-out limits, minimum up ratio, ok-to-stop,
dry run, Maintenance exclusion and cooldown."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from health_fleet import T0, Fleet, policy

from caretaker.domain.health.reasons import HealthReason, HoldReason
from caretaker.domain.health.safety import circuit_reason
from caretaker.domain.health.status import Result
from caretaker.domain.health.world import HEALTH_ERR, HEALTH_WARN, CephReadings, MaintenanceCover
from caretaker.domain.promql.outcome import QueryOk, Sample

S30 = timedelta(seconds=30)


def until(fleet: Fleet, offset: timedelta) -> None:
    fleet.run_for(T0 + offset - fleet.now)


def hold_of(fleet: Fleet, osd: int) -> str:
    item = fleet.target("osd-down", f"osd/osd.{osd}")
    assert item is not None
    return item.hold.reason if item.hold else ""


def readings(**changes: Any) -> CephReadings:
    return replace(CephReadings(health="x", osds_total=4, osds_up=4, quorum=("a",)), **changes)


@pytest.mark.parametrize(
    ("ceph", "error", "expected"),
    [
        (None, "timeout", "Ceph cannot be read: timeout"),
        (readings(quorum=(), health=HEALTH_ERR), "", "monitor quorum is lost"),
        (readings(health=HEALTH_ERR), "", "Ceph reports HEALTH_ERR"),
        (readings(health=HEALTH_WARN), "", ""),
        (
            readings(mons=3, quorum=("b", "c")),
            "",
            "1 of 3 monitors down: one more loss and quorum is gone (in quorum: b, c)",
        ),
        (readings(mons=5, quorum=("a", "b", "c", "d")), "", ""),  # one more loss leaves 3 of 5
        (readings(mons=3, quorum=("a", "b", "c")), "", ""),
        (readings(pg_states={"peering": 4, "active+clean": 60}), "", "4 PGs are inactive"),
    ],
)
def test_circuit_reason(ceph: CephReadings | None, error: str, expected: str) -> None:
    assert circuit_reason(ceph, error) == expected


@pytest.mark.parametrize(
    "breaker",
    [
        {"health": HEALTH_ERR},
        {"quorum_ok": False},
        {"ceph_readable": False},
    ],
)
def test_circuit_open_freezes_disruptive_steps_but_not_notifications(
    breaker: dict[str, object],
) -> None:
    fleet = Fleet(restart_heals=False)
    for name, value in breaker.items():
        setattr(fleet, name, value)
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=25))
    assert fleet.actions == []
    assert [e[2] for e in fleet.sent_events()] == [("chat",), ("oncall", "chat")]  # page at 20m
    assert hold_of(fleet, 3) == HoldReason.CIRCUIT_OPEN
    assert fleet.last is not None
    circuit = next(c for c in fleet.last.conditions if c.type == "CircuitOpen")
    assert circuit.status == "True"
    assert "notifications still go" in circuit.message
    assert fleet.reasons().count(HealthReason.CIRCUIT_OPEN) == 1
    assert fleet.reasons().count(HealthReason.ACTION_HELD) == 1  # once, not every interval
    assert fleet.status.circuit_since == T0
    # the circuit closes: the held restart runs at the next interval
    for name in breaker:
        setattr(fleet, name, {"health": "HEALTH_OK", "quorum_ok": True}.get(name, True))
    fleet.tick()
    assert fleet.action_kinds() == ["restartOsd"]
    assert HealthReason.CIRCUIT_CLOSED in fleet.reasons()


def test_at_most_max_concurrent_disruptive_actions() -> None:
    fleet = Fleet(restart_heals=False)
    fleet.osd_up[3] = fleet.osd_up[5] = False
    until(fleet, timedelta(minutes=9))
    # osd.3's restart at 2m30s is verified until 5m30s; osd.5 waits for it.
    assert [(t, a.target.key) for t, a in fleet.actions] == [
        (T0 + timedelta(minutes=2, seconds=30), "osd/osd.3"),
        (T0 + timedelta(minutes=5, seconds=30), "osd/osd.5"),
    ]
    assert fleet.reasons().count(HealthReason.ACTION_HELD) == 1


def test_at_most_max_osds_out() -> None:
    raw = policy(safety={"maxConcurrentDisruptive": 5, "maxOsdsOut": 1, "minOsdUpRatio": 0.5})
    fleet = Fleet(spec_raw=raw, restart_heals=False)
    fleet.osd_up[2] = fleet.osd_up[3] = False  # both on node-1: one failure domain
    until(fleet, timedelta(minutes=25))
    assert [a.target.key for _, a in fleet.actions if a.action.__class__.__name__ == "MarkOut"] == [
        "osd/osd.2"
    ]
    assert fleet.out_by_us == {2}
    assert hold_of(fleet, 3) == HoldReason.MAX_OSDS_OUT
    assert fleet.violations == []


def test_no_mark_out_while_another_failure_domain_is_down() -> None:
    """osd.3 (node-1) and osd.5 (node-2) down: marking either out waits, with the reason."""
    raw = policy(safety={"maxConcurrentDisruptive": 5, "maxOsdsOut": 3, "minOsdUpRatio": 0.5})
    fleet = Fleet(spec_raw=raw, restart_heals=False)
    fleet.osd_up[3] = fleet.osd_up[5] = False
    until(fleet, timedelta(minutes=25))
    assert "markOut" not in fleet.action_kinds()
    assert hold_of(fleet, 3) == HoldReason.DOMAIN_BUSY
    item = fleet.target("osd-down", "osd/osd.3")
    assert item is not None
    assert item.hold is not None
    assert "osd.5 in failure domain host/node-2 is down" in item.hold.message
    fleet.osd_up[5] = True
    fleet.run_for(timedelta(minutes=2))
    assert fleet.action_kinds().count("markOut") == 1
    assert list(fleet.claims) == ["healthpolicy/ceph/osd-health/osd/osd.3"]
    fleet.osd_in[3] = True  # a person marks it in again: the claim is over
    fleet.tick()
    assert fleet.claims == {}


def test_below_min_up_ratio_only_notifications_run() -> None:
    fleet = Fleet(restart_heals=False)
    for osd in range(6):
        fleet.osd_up[osd] = False  # 4 of 10 up, below 0.5
    until(fleet, timedelta(minutes=10))
    assert fleet.actions == []
    assert len(fleet.sent) == 6
    assert hold_of(fleet, 0) == HoldReason.LOW_UP_RATIO


def test_mark_out_only_when_ok_to_stop_allows() -> None:
    fleet = Fleet(restart_heals=False, not_ok_to_stop={3})
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=14))
    assert fleet.asked_ok_to_stop == []  # nothing is asked before markOut is due
    until(fleet, timedelta(minutes=18))
    assert fleet.action_kinds() == ["restartOsd"]
    assert hold_of(fleet, 3) == HoldReason.NOT_OK_TO_STOP
    assert all(asked == frozenset({3}) for asked in fleet.asked_ok_to_stop)
    fleet.not_ok_to_stop.clear()
    fleet.tick()
    assert fleet.action_kinds() == ["restartOsd", "markOut"]


def test_dry_run_records_what_would_be_done_and_does_nothing() -> None:
    fleet = Fleet(spec_raw=policy(dryRun=True), restart_heals=False)
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=25))
    assert fleet.actions == []
    assert fleet.sent == []
    assert fleet.record_results() == {
        "notify#0": "DryRun",
        "restartOsd#1": "DryRun",
        "markOut#2": "DryRun",
        "notify#3": "DryRun",
    }
    assert fleet.reasons().count(HealthReason.ACTION_DRY_RUN) == 4
    fleet.osd_up[3] = True
    fleet.tick()
    assert fleet.sent == []  # nothing was triggered, nothing to resolve


def test_targets_under_maintenance_are_skipped_with_the_reason() -> None:
    cover = MaintenanceCover(nodes={"node-1": "ceph/tuesday"})
    fleet = Fleet(maintenance=cover, restart_heals=False)
    fleet.osd_up[3] = fleet.osd_up[0] = False  # osd.3 on node-1 (covered), osd.0 on node-0
    until(fleet, timedelta(minutes=5))
    assert {a.target.key for _, a in fleet.actions} == {"osd/osd.0"}
    assert {n.target.key for _, n in fleet.sent} == {"osd/osd.0"}
    item = fleet.target("osd-down", "osd/osd.3")
    assert item is not None
    assert item.hold is not None
    assert item.hold.reason == HoldReason.MAINTENANCE
    assert "ceph/tuesday" in item.hold.message
    assert item.steps == ()
    assert fleet.reasons().count(HealthReason.TARGET_IN_MAINTENANCE) == 1
    fleet.maintenance = MaintenanceCover()  # the Maintenance is over; the OSD is still down
    fleet.tick()
    assert ("trigger", "osd/osd.3", ("chat",)) in fleet.sent_events()


def test_maintenance_by_osd_id() -> None:
    fleet = Fleet(maintenance=MaintenanceCover(osds={3: "ceph/disk-swap"}))
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=5))
    assert fleet.actions == []
    assert fleet.sent == []


def test_cooldown_skips_a_repeated_action_but_not_notifications() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=4))  # restart at 2m30s heals it; resolved at 3m
    assert fleet.action_kinds() == ["restartOsd"]
    fleet.osd_up[3] = False  # down again: a new episode within the 30m cooldown
    fleet.restart_heals = False
    until(fleet, timedelta(minutes=22))
    assert fleet.action_kinds() == ["restartOsd", "markOut"]
    assert [e[0] for e in fleet.sent_events()] == ["trigger", "resolve", "trigger"]
    skipped = [b for b in fleet.records.values() if b["status"]["result"] == Result.SKIPPED]
    assert len(skipped) == 1
    assert skipped[0]["spec"]["action"] == "restartOsd"
    assert "cooldown" in skipped[0]["status"]["message"]
    assert HealthReason.ACTION_SKIPPED in fleet.reasons()


def test_after_the_cooldown_the_action_runs_again() -> None:
    raw = policy(rules=[{"name": "osd-down", "preset": "OsdDown", "cooldown": "5m"}])
    fleet = Fleet(spec_raw=raw)
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=10))
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=15))
    assert fleet.action_times("restartOsd") == [
        timedelta(minutes=2, seconds=30),
        timedelta(minutes=12, seconds=30),
    ]


def test_two_rules_share_the_cooldown_and_the_budget() -> None:
    twin = {"name": "osd-down-2", "preset": "OsdDown"}
    raw = policy(
        rules=[{"name": "osd-down", "preset": "OsdDown"}, twin],
        safety={"maxConcurrentDisruptive": 5, "maxOsdsOut": 1, "minOsdUpRatio": 0.5},
    )
    fleet = Fleet(spec_raw=raw)
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=4))
    assert fleet.action_kinds() == ["restartOsd"]
    assert sum(b["status"]["result"] == "Skipped" for b in fleet.records.values()) == 1


def test_an_action_that_cannot_act_on_the_target_is_skipped() -> None:
    raw = policy(
        rules=[
            {
                "name": "osd-down",
                "expr": "ceph_osd_up == 0",
                "severity": "urgent",
                "target": {"kind": "osd", "label": "ceph_daemon"},
                "actions": [{"after": "0s", "restartOsd": {}}, {"after": "0s", "notify": {}}],
            }
        ]
    )
    fleet = Fleet(spec_raw=raw)
    fleet.outcomes["osd-down"] = QueryOk((Sample({"ceph_daemon": "mgr.x"}, 0.0),))
    fleet.tick()
    assert fleet.actions == []
    assert fleet.record_results() == {"restartOsd#0": "Skipped", "notify#1": "Succeeded"}
    assert fleet.sent_events()[0][1] == 'series/{ceph_daemon="mgr.x"}'


def test_a_stale_down_reading_never_touches_an_osd_ceph_reports_up() -> None:
    fleet = Fleet(restart_heals=False)
    fleet.outcomes["osd-down"] = QueryOk((fleet.osd_sample(3),))  # Prometheus lags Ceph
    until(fleet, timedelta(minutes=25))
    assert fleet.actions == []  # no restart, no markOut of an OSD that is up
    assert hold_of(fleet, 3) == HoldReason.CEPH_SAYS_UP
    assert fleet.sent  # the page still goes: a person may look
