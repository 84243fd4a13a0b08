"""Restarts: the operator keeps nothing in memory, so a crash at any point of an interval must
neither repeat an action nor re-send a notification, and must not lose the ladder's place."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

from health_fleet import STAGES, T0, Fleet, json_roundtrip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caretaker.domain.health.evaluation import evaluate

S30 = timedelta(seconds=30)


def until(fleet: Fleet, offset: timedelta) -> None:
    fleet.run_for(T0 + offset - fleet.now)


def test_crash_after_creating_records_adopts_them_instead_of_planning_again() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    fleet.tick()
    fleet.now += S30
    fleet.tick(crash="records")  # trigger planned, record created, status not written
    assert fleet.sent == []
    assert len(fleet.records) == 1
    fleet.now += S30
    fleet.tick()
    # adopted, not planned again; the record does not say it was delivered: sent (at least once)
    ((_, trigger),) = fleet.sent
    (record,) = fleet.records.values()
    assert trigger.record_name == record["metadata"]["name"]
    assert record["status"]["result"] == "Succeeded"
    fleet.now += S30
    fleet.tick()
    assert len(fleet.sent) == 1  # delivered and recorded: never again
    item = fleet.target("osd-down", "osd/osd.3")
    assert item is not None
    assert [s.index for s in item.steps] == [0]
    assert item.firing_since == T0 + S30  # the episode resumed from its record
    assert item.notified == ("chat",)
    assert len(fleet.records) == 1


def test_crash_after_writing_status_never_repeats() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=2, seconds=30))
    fleet.tick(crash="status")  # the restart is stored as planned, not run
    fleet.now += S30
    until(fleet, timedelta(minutes=12))
    assert fleet.actions == []


def test_a_crash_between_deciding_and_sending_a_trigger_still_pages() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    fleet.tick()
    fleet.now += S30
    fleet.tick(crash="status")  # trigger recorded and in the status, never sent
    assert fleet.sent == []
    fleet.now += S30
    until(fleet, timedelta(minutes=3))
    assert [e[0] for e in fleet.sent_events()] == ["trigger"]


def test_restart_between_trigger_and_resolve_still_resolves_once() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=1))
    fleet.osd_up[3] = True
    fleet.tick(crash="status")  # resolve recorded as due, status written, not sent
    fleet.now += S30
    until(fleet, timedelta(minutes=5))
    assert [e[0] for e in fleet.sent_events()] == ["trigger", "resolve"]


def test_restart_before_status_write_resolves_after_all() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=1))
    fleet.osd_up[3] = True
    fleet.tick(crash="records")  # nothing stored: the next interval decides the same again
    fleet.now += S30
    until(fleet, timedelta(minutes=5))
    assert [e[0] for e in fleet.sent_events()] == ["trigger", "resolve"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    crashes=st.lists(st.sampled_from(["", "", "", *STAGES[:2]]), min_size=60, max_size=60),
    downs=st.sets(st.integers(0, 9), min_size=1, max_size=3),
    heals=st.booleans(),
    recover_at=st.integers(5, 59),
)
def test_random_crashes_never_duplicate_anything(
    crashes: list[str], downs: set[int], heals: bool, recover_at: int
) -> None:
    fleet = Fleet(restart_heals=heals)
    for osd in downs:
        fleet.osd_up[osd] = False
    for index, crash in enumerate(crashes):
        if index == recover_at:
            fleet.osd_up = dict.fromkeys(fleet.osd_up, True)
        fleet.tick(crash=crash)
        fleet.now += S30
    fleet.tick()  # a last interval without a crash
    action_keys = [a.key for _, a in fleet.actions]
    sent_keys = [n.key for _, n in fleet.sent]
    assert len(action_keys) == len(set(action_keys))
    assert len(sent_keys) == len(set(sent_keys))
    for kind in ("restartOsd", "markOut"):
        for osd in downs:
            runs = [
                t
                for t, a in fleet.actions
                if a.target.key == f"osd/osd.{osd}"
                and a.action.__class__.__name__.lower() == kind.lower()
            ]
            assert all(b - a >= timedelta(minutes=30) for a, b in itertools.pairwise(runs))
    # a resolve only for a target whose trigger was planned (sent, or lost in a crash)
    triggered = {
        b["spec"]["target"] for b in fleet.records.values() if b["spec"]["action"] == "notify"
    }
    assert {n.target.key for _, n in fleet.sent if n.event == "resolve"} <= triggered
    assert fleet.status.firing == 0


def test_a_full_round_trip_of_the_status_changes_no_decision() -> None:
    """Evaluating from the in-memory status or from its JSON round trip decides the same."""
    fleet = Fleet(restart_heals=False)
    fleet.osd_up[3] = fleet.osd_up[4] = False
    for _ in range(40):
        world = fleet.world()
        direct = evaluate(world)
        again = evaluate(replace(world, status=json_roundtrip(world.status)))
        assert direct == again
        fleet.tick()
        fleet.now += S30


def test_a_record_orphaned_by_a_crash_ends_as_failed() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=2, seconds=30))
    fleet.tick(crash="records")  # the restart's record exists; the status never learns of it
    fleet.osd_up[3] = True  # ... and the OSD comes back by itself
    fleet.now += S30
    until(fleet, timedelta(minutes=50))
    (restart,) = [b for b in fleet.records.values() if b["spec"]["action"] == "restartOsd"]
    assert restart["status"]["result"] == "Pending"  # the recovery stamp came, no result yet
    until(fleet, timedelta(hours=1, minutes=5))
    assert restart["status"]["result"] == "Failed"
    assert "orphaned" in restart["status"]["message"]
