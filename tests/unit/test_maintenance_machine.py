"""The Maintenance state machine, driven step by step against a fake cluster."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from maintenance_scenarios import SCENARIOS, Scenario
from maintenance_worlds import IDENTITY, OTHER, T0, Cluster, rs_pod, status_roundtrip

from caretaker.domain.ceph.cluster import OkToStop
from caretaker.domain.common.reasons import WARNING
from caretaker.domain.disruption.ledger import Claim, ClaimKind, admit
from caretaker.domain.maintenance.actions import (
    AcquireLease,
    ClaimDomain,
    Cordon,
    EvictPods,
    ReleaseClaim,
    ReleaseLease,
    SetNoout,
    Uncordon,
    UnsetNoout,
)
from caretaker.domain.maintenance.status import NodePhase, NooutState
from caretaker.domain.maintenance.world import GateResult, PodView

DISRUPTIVE = (AcquireLease, SetNoout, Cordon, EvictPods)
LIFECYCLE_PHASES = ["Preflight", "Draining", "InMaintenance", "Restoring", "Completed"]
LIFECYCLE_NOTES = [
    *("NodePreflight", "NodeDraining", "NooutSet", "Cordoned", "NodeInMaintenance"),
    *("NodeReleased", "Uncordoned", "NooutLifted", "NodeCompleted", "Completed"),
]
PG_GATE = {"gates": {"allowedWarnings": ["OSD_DOWN", "PG_DEGRADED"]}}


def conditions(cluster: Cluster) -> dict[str, str]:
    return {c.type: c.status for c in cluster.steps[-1].summary.conditions()}


def one_node(**spec: Any) -> Cluster:
    cluster = Cluster({"nodes": ["a"], **spec})
    cluster.nodes["a"].pods = [rs_pod("web-1"), rs_pod("web-2")]
    return cluster


def two_nodes(same_domain: bool, **spec: Any) -> Cluster:
    domains = {"a": "r1", "b": "r1" if same_domain else "r2"}
    return Cluster({"nodes": ["a", "b"], **spec}, {"a": (0,), "b": (1,)}, domains)


def test_full_lifecycle_under_manual_hold() -> None:
    cluster = one_node()
    step = cluster.settle()
    assert cluster.phase() == NodePhase.IN_MAINTENANCE
    assert cluster.actions == [
        AcquireLease("a"),
        ClaimDomain("a", "rack-a", (0,)),
        SetNoout("a", (0,)),
        Cordon("a"),
        EvictPods("a", (("apps", "web-1"), ("apps", "web-2")), None),
    ]
    assert set(cluster.noout) == {0}
    assert cluster.nodes["a"].cordoned_by == IDENTITY
    assert cluster.nodes["a"].pods == []
    assert cluster.record().pods_evicted == 2
    assert "release it with spec.release" in step.summary.message
    assert conditions(cluster) == {"Ready": "False", "Reconciling": "True", "Stalled": "False"}
    cluster.tick = timedelta(minutes=5)
    for _ in range(5):  # nothing happens until the release (within nooutTimeout, 30m)
        cluster.step()
    assert len(cluster.actions) == 5
    cluster.tick = timedelta(seconds=10)
    cluster.spec_raw["release"] = ["a"]
    step = cluster.settle()
    assert cluster.actions[5:] == [
        Uncordon("a"),
        UnsetNoout("a", (0,)),
        ReleaseClaim("a"),
        ReleaseLease("a"),
    ]
    assert cluster.summary_phases() == LIFECYCLE_PHASES
    restoring = [s.summary.message for s in cluster.steps if s.summary.phase == "Restoring"]
    assert any("waiting for osd.0 to be up" in m for m in restoring)
    assert any("PGs not healthy" in m for m in restoring)
    assert cluster.reasons() == LIFECYCLE_NOTES
    assert (step.summary.phase, step.summary.ready, step.summary.stalled) == ("Completed", 1, 0)
    assert conditions(cluster) == {"Ready": "True", "Reconciling": "False", "Stalled": "False"}
    assert all(not s.summary.stalled for s in cluster.steps)
    assert cluster.status.completed_at is not None
    assert cluster.leftovers() == []
    assert (cluster.violations, cluster.redundant) == ([], [])


@pytest.mark.parametrize("how", ["spec", "annotation", "wildcard"])
def test_release_by_spec_or_annotation(how: str) -> None:
    cluster = one_node()
    cluster.settle()
    if how == "spec":
        cluster.spec_raw["release"] = ["other", "a"]
    else:
        cluster.release_annotation = "b, a" if how == "annotation" else "*"
    assert cluster.settle().summary.phase == "Completed"


def test_auto_hold_waits_for_the_osds_to_come_back() -> None:
    cluster = one_node(hold={"mode": "auto"})
    cluster.reboot_after, cluster.reboot_length = timedelta(minutes=2), timedelta(minutes=3)
    cluster.run_until(Cluster.finished)
    down_at = cluster.nodes["a"].down_at
    uncordoned = cluster.action_times[cluster.actions.index(Uncordon("a"))]
    assert down_at is not None, "node released before its OSDs went down and came back"
    assert uncordoned >= down_at + timedelta(minutes=3)


def test_auto_hold_on_rook_waits_for_the_node_not_for_the_osd_pods_it_evicted() -> None:
    """OSD pods leave with the drain and cannot return to a cordoned node: the hold ends when
    the node has been NotReady and is Ready again; restoring uncordons, then waits for them."""
    cluster = one_node(hold={"mode": "auto"})
    cluster.osds_in_pods = True
    cluster.reboot_after, cluster.reboot_length = timedelta(minutes=2), timedelta(minutes=3)
    cluster.run_until(Cluster.finished)
    assert cluster.phase() == NodePhase.COMPLETED
    assert cluster.record().osds_up_when_prepared is False
    down_at = cluster.nodes["a"].down_at
    uncordoned = cluster.action_times[cluster.actions.index(Uncordon("a"))]
    assert down_at is not None, "released before the node went down and came back"
    assert uncordoned >= down_at + timedelta(minutes=3)
    assert (cluster.violations, cluster.leftovers()) == ([], [])


def test_auto_hold_on_rook_does_not_take_the_drain_for_the_work() -> None:
    cluster = one_node(hold={"mode": "auto"})
    cluster.osds_in_pods = True
    cluster.reboot_after = None  # nobody touches the node
    cluster.settle()
    cluster.tick = timedelta(minutes=1)
    for _ in range(10):
        step = cluster.step()
    assert cluster.phase() == NodePhase.IN_MAINTENANCE
    assert "waiting for node a to go down" in step.summary.message
    assert not any(isinstance(a, Uncordon) for a in cluster.actions)


def test_auto_hold_ends_after_a_reboot_too_quick_to_be_seen_not_ready() -> None:
    """The machine rebooted between two rounds (or within Kubernetes' NotReady grace period):
    it was never seen NotReady, but its bootID is new, so the work is over."""
    cluster = one_node(hold={"mode": "auto"})
    cluster.osds_in_pods = True
    cluster.reboot_after = None
    cluster.run_until(lambda c: c.phase() == NodePhase.IN_MAINTENANCE)
    assert cluster.record().boot_id_when_prepared == "boot-1"
    for _ in range(3):
        cluster.step()
    assert cluster.phase() == NodePhase.IN_MAINTENANCE
    cluster.nodes["a"].boot_id = "boot-2"
    cluster.run_until(Cluster.finished)
    assert cluster.phase() == NodePhase.COMPLETED
    assert cluster.record().went_away
    assert (cluster.violations, cluster.leftovers()) == ([], [])


def test_duration_hold_releases_after_the_duration() -> None:
    cluster = one_node(hold={"mode": "duration", "duration": "5m"})
    cluster.run_until(Cluster.finished)
    record = cluster.record()
    assert record.released_at - record.prepared_at >= timedelta(minutes=5)  # type: ignore[operator]


def test_node_cordoned_by_someone_else_stays_cordoned() -> None:
    cluster = one_node(release=["a"])
    cluster.nodes["a"].unschedulable = True
    cluster.run_until(Cluster.finished)
    assert cluster.phase() == NodePhase.COMPLETED
    assert not any(isinstance(a, Cordon | Uncordon) for a in cluster.actions)
    assert (cluster.nodes["a"].unschedulable, cluster.nodes["a"].cordoned_by) == (True, None)


def test_noout_set_by_someone_else_is_never_lifted() -> None:
    cluster = one_node(release=["a"], gates={"allowedWarnings": ["OSD_FLAGS"]})
    cluster.noout[0] = OTHER
    cluster.run_until(Cluster.finished)
    assert cluster.phase() == NodePhase.COMPLETED
    assert not any(isinstance(a, SetNoout | UnsetNoout) for a in cluster.actions)
    assert cluster.noout == {0: OTHER}
    assert cluster.noout_state() == NooutState.PREEXISTING


@pytest.mark.parametrize(("max_unavailable", "same_domain"), [(1, True), (1, False), (2, False)])
def test_nodes_run_one_after_the_other(max_unavailable: int, same_domain: bool) -> None:
    cluster = two_nodes(same_domain, release=["*"], strategy={"maxUnavailable": max_unavailable})
    cluster.run_until(Cluster.finished)
    assert cluster.record("b").started_at >= cluster.record("a").finished_at  # type: ignore[operator]
    # violations: more than maxUnavailable active, or two failure domains active at once
    assert (cluster.steps[-1].summary.phase, cluster.violations) == ("Completed", [])


def test_delay_between_nodes() -> None:
    cluster = two_nodes(False, release=["*"], strategy={"delayBetweenNodes": "10m"})
    cluster.run_until(lambda c: c.phase("a") == NodePhase.COMPLETED)
    assert "delayBetweenNodes (590s left)" in cluster.step().summary.message
    cluster.run_until(Cluster.finished, max_steps=1000)
    gap = cluster.record("b").started_at - cluster.record("a").finished_at  # type: ignore[operator]
    assert timedelta(minutes=10) <= gap <= timedelta(minutes=10, seconds=10)


@pytest.mark.parametrize(
    ("scope", "noout_actions"),
    [
        ("osd", [SetNoout("a", (0, 1)), UnsetNoout("a", (0, 1))]),
        ("host", [SetNoout("a", bucket="a"), UnsetNoout("a", bucket="a")]),
        ("none", []),
    ],
)
def test_noout_scope(scope: str, noout_actions: list[Any]) -> None:
    cluster = Cluster({"nodes": ["a"], "release": ["a"], "ceph": {"noout": scope}}, {"a": (0, 1)})
    cluster.run_until(Cluster.finished)
    assert [a for a in cluster.actions if isinstance(a, SetNoout | UnsetNoout)] == noout_actions
    assert (cluster.phase(), cluster.leftovers()) == (NodePhase.COMPLETED, [])


def test_same_failure_domain_may_run_together() -> None:
    cluster = two_nodes(
        True, strategy={"maxUnavailable": 2}, gates={"allowedWarnings": ["OSD_FLAGS"]}
    )
    cluster.reboot_after = None
    cluster.settle()
    assert (cluster.phase("a"), cluster.phase("b")) == (NodePhase.IN_MAINTENANCE,) * 2
    assert set(cluster.noout) == {0, 1}
    cluster.spec_raw["release"] = ["*"]
    assert cluster.settle().summary.phase == "Completed"
    assert cluster.leftovers() == []


def test_a_node_whose_osds_cannot_be_told_is_refused_never_diskless() -> None:
    cluster = two_nodes(False, release=["*"])
    why = "cannot tell which OSDs it carries: OSD pod rook-ceph/osd-9 runs osd.9, unknown to Ceph"
    cluster.unmapped["a"] = why
    step = cluster.settle()
    assert cluster.phase("a") == NodePhase.PENDING
    assert cluster.phase("b") == NodePhase.COMPLETED
    message = f"not touching node a: {why}; it waits until Ceph and Kubernetes agree"
    assert cluster.status.node("a").message == message  # type: ignore[union-attr]
    assert (step.summary.phase, step.summary.reason, step.summary.message) == (
        "Pending",
        "NodeRefused",
        message,
    )
    assert conditions(cluster)["Stalled"] == "True"
    refused = [n for n in cluster.notes if n.reason == "NodeRefused"]
    assert [(n.type, n.message) for n in refused] == [(WARNING, message)]  # posted once
    assert not any(getattr(a, "node", "") == "a" for a in cluster.actions)
    del cluster.unmapped["a"]
    assert cluster.settle().summary.phase == "Completed"
    assert cluster.status.node("a").osds == (0,)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("setup", "cause"),
    [
        (lambda c: c.extra_checks.update(MON_CLOCK_SKEW="clock skew"), "MON_CLOCK_SKEW"),
        (lambda c: c.ok_to_stop.update(a=OkToStop(False, "2 PGs would be inactive")), "2 PGs"),
        (lambda c: c.gates.update(a=(GateResult("quiet", False, "3 alerts firing"),)), "quiet"),
        (lambda c: c.leases.update(a=OTHER), f"held by {OTHER}"),
        (lambda c: c.osd_up.update({0: False}), "PG_DEGRADED"),
        (lambda c: c.osd_up.update({0: False}) or c.spec_raw.update(PG_GATE), "PGs not healthy"),
    ],
)
def test_gates_not_holding_keep_the_node_in_preflight(setup: Any, cause: str) -> None:
    cluster = one_node()
    setup(cluster)
    step = cluster.settle()
    assert cluster.phase() == NodePhase.PREFLIGHT
    assert step.summary.phase == "Preflight"
    assert cause in step.summary.message
    assert not any(isinstance(a, DISRUPTIVE) for a in cluster.actions)


def test_ceph_unreachable_means_no_disruptive_action() -> None:
    cluster = one_node()
    cluster.ceph_up = False
    step = cluster.settle()
    assert cluster.actions == []
    assert (step.summary.reason, step.summary.stalled) == ("CephUnavailable", False)
    cluster.ceph_up = True
    cluster.run_until(lambda c: c.phase() == NodePhase.PREFLIGHT)
    cluster.ceph_up = False  # gone again while checking the gates
    assert "Ceph unreachable" in cluster.settle().summary.message
    assert cluster.actions == []


def test_closed_window_schedules_and_opens_later() -> None:
    cluster = one_node(window={"schedule": "0 2 * * *", "duration": "3h"}, release=["a"])
    step = cluster.settle()
    assert (step.summary.phase, step.summary.reason) == ("Scheduled", "WaitingForWindow")
    assert step.summary.next_window == "2026-05-05T02:00:00Z"
    assert (cluster.actions, cluster.phase()) == ([], NodePhase.PENDING)
    cluster.now = T0.replace(day=5, hour=2)
    assert cluster.settle().summary.phase == "Completed"


def test_rounds_that_change_nothing_write_no_status() -> None:
    """Waiting for a window, a round decides the same status again: it is written once, and
    the rounds after it send no request until something changes."""
    cluster = one_node(window={"schedule": "0 2 * * *", "duration": "3h"}, release=["a"])
    for _ in range(5):
        cluster.step()
    assert cluster.status_writes == 1
    assert cluster.body()["status"]["phase"] == "Scheduled"
    cluster.now = T0.replace(day=5, hour=2)
    cluster.step()
    assert cluster.status_writes == 2
    assert cluster.settle().summary.phase == "Completed"


def test_one_off_window_over_with_nothing_started_stalls() -> None:
    start = (T0 - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    step = one_node(window={"start": start, "duration": "1h"}).settle()
    assert (step.summary.reason, step.summary.stalled) == ("WindowOver", True)


def test_blocked_drain_times_out_rolls_back_and_stops() -> None:
    cluster = two_nodes(False, release=["*"], drain={"timeout": "1m"})
    cluster.nodes["a"].pods = [PodView("apps", "debug", None)]
    step = cluster.run_until(Cluster.finished)
    assert (cluster.phase("a"), cluster.phase("b")) == (NodePhase.FAILED, NodePhase.PENDING)
    assert any(s.status.nodes[0].phase == NodePhase.ROLLING_BACK for s in cluster.steps)
    assert cluster.actions[-4:] == [
        Uncordon("a"),
        UnsetNoout("a", (0,)),
        ReleaseClaim("a"),
        ReleaseLease("a"),
    ]
    assert (step.summary.phase, step.summary.stalled) == ("Failed", True)
    assert conditions(cluster)["Stalled"] == "True"
    assert {"NodeFailed", "NodeRolledBack", "Failed"} <= set(cluster.reasons())
    assert "apps/debug" in next(n.message for n in cluster.notes if n.reason == "NodeFailed")
    cluster.settle()
    assert (cluster.phase("b"), cluster.leftovers()) == (NodePhase.PENDING, [])
    # The status must still say why the node failed, not what the rollback did last.
    assert "apps/debug" in cluster.steps[-1].summary.message


def test_restore_timeout_fails_with_rollback() -> None:
    cluster = one_node(release=["a"], ceph={"restoreTimeout": "2m"})
    cluster.osds_never_return = True
    step = cluster.run_until(Cluster.finished)
    assert cluster.phase() == NodePhase.FAILED
    assert UnsetNoout("a", (0,)) in cluster.actions
    assert cluster.leftovers() == []
    assert "restoreTimeout" in step.summary.message


def test_drain_timeout_counts_drain_time_not_time_waiting_for_ceph() -> None:
    cluster = one_node(drain={"timeout": "5m"})
    cluster.run_until(lambda c: c.actions[-1:] == [AcquireLease("a")])
    cluster.step(crash="lost")  # Draining; SetNoout fails: Ceph just became unreachable
    cluster.ceph_up, cluster.tick = False, timedelta(minutes=1)
    for _ in range(10):
        cluster.step()
    cluster.ceph_up, cluster.tick = True, timedelta(seconds=10)
    cluster.settle()  # pods leave within 20 s of their eviction
    assert cluster.phase() == NodePhase.IN_MAINTENANCE, cluster.steps[-1].summary.message


def test_released_node_does_not_fail_while_its_peer_is_still_held() -> None:
    cluster = two_nodes(
        True, strategy={"maxUnavailable": 2}, gates={"allowedWarnings": ["OSD_FLAGS"]}
    )
    cluster.reboot_after = timedelta(minutes=5)  # both are drained before either reboots
    cluster.settle()
    assert (cluster.phase("a"), cluster.phase("b")) == (NodePhase.IN_MAINTENANCE,) * 2
    cluster.spec_raw["release"] = ["a"]
    cluster.tick = timedelta(minutes=1)
    for _ in range(45):  # b's OSDs keep PGs degraded for longer than restoreTimeout (30m)
        cluster.step()
    assert cluster.phase("a") != NodePhase.FAILED, cluster.record("a").message


def test_noout_timeout_lifts_noout_once_while_in_maintenance() -> None:
    cluster = one_node(ceph={"nooutTimeout": "2m"})
    cluster.run_until(lambda c: c.actions[-1:] == [UnsetNoout("a", (0,))])
    assert cluster.phase() == NodePhase.IN_MAINTENANCE
    cluster.step()
    assert cluster.noout_state() == NooutState.EXPIRED
    expired = [n for n in cluster.notes if n.reason == "NooutExpired"]
    assert [n.type for n in expired] == [WARNING]
    cluster.spec_raw["release"] = ["a"]
    assert cluster.settle().summary.phase == "Completed"
    assert sum(isinstance(a, UnsetNoout) for a in cluster.actions) == 1


def test_abort_during_a_failure_rollback_keeps_the_failure() -> None:
    cluster = one_node(release=["a"], ceph={"restoreTimeout": "1m"})
    cluster.osds_never_return = True
    cluster.run_until(lambda c: c.phase() == NodePhase.ROLLING_BACK)
    cluster.spec_raw["abort"] = True
    cluster.settle()
    assert cluster.phase() == NodePhase.FAILED  # the OSDs never came back: that stays a fact


@pytest.mark.parametrize("when", [NodePhase.DRAINING, NodePhase.IN_MAINTENANCE])
def test_abort_rolls_back(when: NodePhase) -> None:
    cluster = one_node()
    cluster.refusing = {"apps/web-1"} if when == NodePhase.DRAINING else set()
    cluster.run_until(lambda c: c.phase() == when and Cordon("a") in c.actions)
    cluster.spec_raw["abort"] = True
    step = cluster.settle()
    assert (cluster.phase(), step.summary.phase) == (NodePhase.ABORTED, "Aborted")
    assert not step.summary.stalled
    assert {Uncordon("a"), UnsetNoout("a", (0,)), ReleaseLease("a")} <= set(cluster.actions)
    assert {"Aborting", "NodeRolledBack"} <= set(cluster.reasons())
    assert cluster.leftovers() == []


def test_suspend_finishes_the_current_node_and_starts_no_other() -> None:
    cluster = two_nodes(False, release=["*"])
    cluster.run_until(lambda c: c.phase("a") == NodePhase.DRAINING)
    cluster.spec_raw["suspend"] = True
    step = cluster.settle()
    assert (cluster.phase("a"), cluster.phase("b")) == (NodePhase.COMPLETED, NodePhase.PENDING)
    assert step.summary.phase == "Suspended"
    cluster.spec_raw["suspend"] = False
    assert cluster.settle().summary.phase == "Completed"


@pytest.mark.parametrize(
    ("spec", "reason", "text"),
    [
        ({"nodes": ["a"], "drain": {"timeout": "soon"}}, "InvalidSpec", "spec.drain.timeout"),
        ({"nodes": ["a", "ghost"]}, "TargetsNotFound", "not found: ghost"),
        ({"nodeSelector": {"role": "gpu"}}, "TargetsNotFound", "role=gpu matches no node"),
    ],
)
def test_spec_problems_stall_without_action(spec: dict[str, Any], reason: str, text: str) -> None:
    cluster = Cluster(spec)
    step = cluster.settle()
    assert (step.summary.reason, step.summary.stalled, cluster.actions) == (reason, True, [])
    assert text in step.summary.message
    assert conditions(cluster)["Stalled"] == "True"


def reference() -> Cluster:
    cluster = one_node(release=["a"])
    cluster.run_until(Cluster.finished)
    return cluster


def test_deletion_at_every_step_undoes_everything_of_ours() -> None:
    for stop in range(len(reference().steps)):
        cluster = one_node(release=["a"])
        for _ in range(stop):
            cluster.step()
        cluster.deleting = True
        step = cluster.run_until(lambda c: c.steps[-1].cleaned_up, max_steps=50)
        assert step.summary.reason == "CleanedUp"
        assert (cluster.leftovers(), cluster.violations, cluster.redundant) == ([], [], [])


def test_status_read_back_after_every_step_changes_nothing() -> None:
    expected = reference()
    cluster = one_node(release=["a"])
    for _ in range(len(expected.steps)):
        cluster.step(crash="restart")
    assert cluster.actions == expected.actions
    assert cluster.status == status_roundtrip(expected.status)


def test_crash_before_acting_at_any_step_reaches_the_same_end() -> None:
    expected = reference()
    for lost in range(len(expected.steps)):
        cluster = one_node(release=["a"])
        for _ in range(lost):
            cluster.step()
        cluster.step(crash="lost")
        cluster.run_until(Cluster.finished)
        assert cluster.phase() == NodePhase.COMPLETED
        assert (cluster.leftovers(), cluster.violations, cluster.redundant) == ([], [], [])
        assert cluster.actions == expected.actions


def test_noout_intent_survives_a_restart_right_after_set_noout() -> None:
    cluster = one_node(release=["a"])
    cluster.run_until(lambda c: c.actions[-1:] == [SetNoout("a", (0,))])
    cluster.status = status_roundtrip(cluster.status)
    cluster.run_until(Cluster.finished)
    assert cluster.noout_state() == NooutState.LIFTED
    assert cluster.actions.count(SetNoout("a", (0,))) == 1
    assert cluster.actions.count(UnsetNoout("a", (0,))) == 1
    assert cluster.noout == {}


def test_set_noout_whose_status_write_is_lost_is_still_lifted() -> None:
    """The executor runs the action, then patches the status: if that patch fails (API error,
    crash), Ceph has our noout but the status has no intent for it."""
    cluster = one_node(release=["a"], gates={"allowedWarnings": ["OSD_FLAGS"]})
    cluster.run_until(lambda c: c.actions[-1:] == [ClaimDomain("a", "rack-a", (0,))])
    cluster.step()  # records the intent: no Ceph action before the status says so
    assert cluster.actions[-1] == ClaimDomain("a", "rack-a", (0,))
    assert cluster.phase() == NodePhase.DRAINING
    cluster.step(crash="unsaved")
    assert cluster.actions[-1] == SetNoout("a", (0,))
    cluster.run_until(Cluster.finished)
    assert cluster.leftovers() == []


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(SCENARIOS)
def test_random_crashes_and_delays_keep_the_invariants(scenario: Scenario) -> None:
    cluster = scenario.build()
    scenario.drive(cluster)
    # Never two failure domains at once, never more than maxUnavailable, never an Uncordon of
    # a node we did not cordon, never an UnsetNoout of someone else's noout.
    assert cluster.violations == []
    assert cluster.redundant == []
    assert cluster.leftovers() == []
    for i, (name, twist) in enumerate(zip(cluster.nodes, scenario.twists, strict=True)):
        assert (cluster.noout.get(i) == OTHER) == twist.noout_by_other
        if twist.cordoned_by_other:
            assert cluster.nodes[name].unschedulable
    if scenario.ending == "none":
        failed = any(t.stuck_pod for t in scenario.twists)
        assert cluster.steps[-1].summary.phase == ("Failed" if failed else "Completed")


def test_a_claim_on_another_failure_domain_holds_the_node_before_any_change() -> None:
    """Another Maintenance (any namespace) or a HealthPolicy disrupting another domain: the
    node waits in Preflight, whatever the health gate allows, and goes once the claim is gone."""
    cluster = one_node(release=["a"], gates={"allowedWarnings": ["OSD_DOWN", "OSD_FLAGS"]})
    other = Claim("maintenance/team-b/disk-swap/x", "rack-b", (9,))
    cluster.claims[other.claimant] = other
    for _ in range(10):
        cluster.step()
    assert cluster.phase() == NodePhase.PREFLIGHT
    assert cluster.actions == [AcquireLease("a")]
    message = cluster.steps[-1].summary.message
    assert "failure domain rack-b is being disrupted by Maintenance team-b/disk-swap" in message
    del cluster.claims[other.claimant]
    cluster.run_until(Cluster.finished)
    assert cluster.phase() == NodePhase.COMPLETED
    assert cluster.leftovers() == []
    assert cluster.violations == []


def test_an_unreadable_ledger_holds_the_node() -> None:
    cluster = one_node(release=["a"])
    cluster.ledger_error = "Lease caretaker-disruptions-x: 403 forbidden"
    for _ in range(5):
        cluster.step()
    assert cluster.phase() == NodePhase.PREFLIGHT
    assert "the disruption ledger cannot be read" in cluster.steps[-1].summary.message
    assert not any(isinstance(a, SetNoout | Cordon) for a in cluster.actions)


INVALID_EDIT = {"window": {"schedule": "0 22 * * *", "duration": "6h", "timeZone": "Mars/Base"}}


def test_an_invalid_edit_keeps_the_safety_nets_under_the_last_valid_spec() -> None:
    """noout expiry and abort still run after an edit the operator rejects (an unknown zone)."""
    cluster = one_node(ceph={"nooutTimeout": "2m"})
    cluster.run_until(lambda c: c.phase() == NodePhase.IN_MAINTENANCE)
    cluster.spec_raw.update(INVALID_EDIT)
    cluster.run_until(lambda c: c.actions[-1:] == [UnsetNoout("a", (0,))])
    cluster.step()
    assert cluster.noout_state() == NooutState.EXPIRED
    summary = cluster.steps[-1].summary
    assert (summary.reason, summary.stalled) == ("InvalidSpec", True)
    assert "spec.window.timeZone" in summary.message
    assert "continue under the last valid spec" in summary.message
    cluster.spec_raw["abort"] = True  # still invalid: abort is read all the same
    cluster.settle()
    assert cluster.phase() == NodePhase.ABORTED
    assert cluster.leftovers() == []
    assert cluster.violations == []


def test_an_invalid_edit_starts_no_other_node() -> None:
    cluster = two_nodes(False, release=["a", "b"], hold={"mode": "manual"})
    cluster.run_until(lambda c: c.phase("a") == NodePhase.IN_MAINTENANCE)
    cluster.spec_raw.update(INVALID_EDIT)
    cluster.run_until(lambda c: c.phase("a") == NodePhase.COMPLETED)
    for _ in range(20):
        cluster.step()
    assert cluster.phase("b") == NodePhase.PENDING
    assert cluster.leftovers() == []
    del cluster.spec_raw["window"]
    cluster.run_until(Cluster.finished)
    assert cluster.phase("b") == NodePhase.COMPLETED


def test_without_a_node_under_way_an_invalid_spec_does_nothing() -> None:
    cluster = one_node(release=["a"], **INVALID_EDIT)
    for _ in range(5):
        cluster.step()
    assert cluster.actions == []
    assert "nothing will be done" in cluster.steps[-1].summary.message


OTHER_CLAIM = Claim("healthpolicy/team-b/osd-health/osd/osd.9", "r9", (9,), ClaimKind.RESTART)


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.lists(
        st.sampled_from(["step", "step", "step", "lost", "unsaved", "restart", "claim", "end"]),
        min_size=1,
        max_size=120,
    )
)
def test_other_actors_and_random_crashes_never_make_two_failure_domains(ops: list[str]) -> None:
    """Another actor (a policy, another Maintenance) claims failure domain r9 whenever the
    ledger admits it and ends its claim at random; this Maintenance is killed at random points.
    Nothing is changed on a node without our claim, never while another domain is claimed, and
    nothing of ours is left at the end."""
    cluster = two_nodes(False, release=["*"], gates={"allowedWarnings": ["OSD_DOWN", "OSD_FLAGS"]})
    for op in ops:
        if op == "claim" and admit(cluster.claims.values(), OTHER_CLAIM).admitted:
            cluster.claims[OTHER_CLAIM.claimant] = OTHER_CLAIM
        elif op == "end":
            cluster.claims.pop(OTHER_CLAIM.claimant, None)
        elif op in ("lost", "unsaved", "restart"):
            cluster.step(crash=op)
        else:
            cluster.step()
    cluster.claims.pop(OTHER_CLAIM.claimant, None)
    cluster.run_until(Cluster.finished)
    assert cluster.violations == []
    assert cluster.leftovers() == []
    assert {cluster.phase("a"), cluster.phase("b")} == {NodePhase.COMPLETED}


def test_a_kill_at_every_call_of_every_round_reaches_the_same_end() -> None:
    """The shipped executor killed at each of its calls in turn (the snapshot, a Lease renewal,
    the change, the status write, an Event): the restarted operator carries on from what was
    written and does every change exactly once."""
    expected = reference()
    rounds = len(expected.steps)
    tried = 0
    for killed_round in range(rounds):
        for call in range(8):
            cluster = one_node(release=["a"])
            for _ in range(killed_round):
                cluster.step()
            cluster.step(kill_at=call)
            if not cluster.kills:
                break  # the round made fewer calls: every one of them was tried
            tried += 1
            cluster.run_until(Cluster.finished)
            assert cluster.phase() == NodePhase.COMPLETED
            assert (cluster.leftovers(), cluster.violations, cluster.redundant) == ([], [], [])
            assert cluster.actions == expected.actions
    assert tried >= 3 * rounds  # snapshot, status write and more in every round


def test_a_failed_change_is_shown_in_the_status_and_tried_again() -> None:
    cluster = one_node(release=["a"])
    cluster.run_until(lambda c: c.actions[-1:] == [AcquireLease("a")])
    step = cluster.step(crash="lost")  # ClaimDomain: the ledger's API server is not reachable
    assert step is not None
    assert step.action == ClaimDomain("a", "rack-a", (0,))
    assert "last action failed: connection reset by peer" in cluster.record().message
    assert cluster.actions[-1] == AcquireLease("a")
    cluster.step()
    assert cluster.actions[-1] == ClaimDomain("a", "rack-a", (0,))
    cluster.run_until(Cluster.finished)
    assert (cluster.leftovers(), cluster.violations, cluster.redundant) == ([], [], [])


def test_a_drain_every_budget_refuses_says_so() -> None:
    cluster = one_node()
    cluster.refusing = {"apps/web-1", "apps/web-2"}
    cluster.run_until(
        lambda c: EvictPods("a", (("apps", "web-1"), ("apps", "web-2")), None) in c.actions
    )
    assert "eviction blocked: apps/web-1: Cannot evict pod" in cluster.record().message
    assert "(and 1 more)" in cluster.record().message
    assert cluster.record().pods_evicted == 0


def test_a_claim_lost_to_another_actor_is_not_acted_on() -> None:
    """Another actor claims another failure domain between our snapshot and our claim: the
    ledger refuses ours, the status says why, and nothing is changed on the node."""
    cluster = one_node(release=["a"], gates={"allowedWarnings": ["OSD_DOWN", "OSD_FLAGS"]})
    cluster.run_until(lambda c: c.actions[-1:] == [AcquireLease("a")])
    other = Claim("maintenance/team-b/disk-swap/x", "rack-b", (9,))
    cluster.racing_claim = other
    cluster.step()
    assert "rack-b" in cluster.record().message
    assert "last action failed" in cluster.record().message
    for _ in range(5):
        cluster.step()
    assert not any(isinstance(a, SetNoout | Cordon | EvictPods) for a in cluster.actions)
    del cluster.claims[other.claimant]
    cluster.run_until(Cluster.finished)
    assert (cluster.leftovers(), cluster.violations, cluster.redundant) == ([], [], [])


def test_a_status_write_refused_for_a_newer_object_posts_no_event() -> None:
    """Someone edited the Maintenance during the round (409): its status and its Events are
    dropped, and the next round, on the new object, posts them once."""
    cluster = one_node(release=["a"])
    cluster.racing_edit = True
    assert cluster.step() is not None
    assert (cluster.status_doc, cluster.notes) == ({}, [])
    cluster.run_until(Cluster.finished)
    assert cluster.reasons().count("NodePreflight") == 1
    assert cluster.actions.count(AcquireLease("a")) == 1
    assert (cluster.leftovers(), cluster.violations, cluster.redundant) == ([], [], [])
