"""The plan of a Maintenance (`caretaker plan`): order and batches by failure domain, the gates
per node as they stand, the window, and the state machine's own first decision."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from maintenance_worlds import IDENTITY, OTHER, T0, Cluster

from caretaker.domain.ceph.cluster import OkToStop
from caretaker.domain.maintenance.plan import (
    MaintenancePlan,
    batches,
    plan_maintenance,
    window_plan,
)
from caretaker.domain.maintenance.spec import read_maintenance_spec
from caretaker.domain.maintenance.world import GateResult

THREE = {"a": (0,), "b": (1,), "c": (2, 3)}


def plan(cluster: Cluster) -> MaintenancePlan:
    world = cluster.world()
    assert world.spec is not None, world.spec_errors
    return plan_maintenance(world, world.spec)


def checks(result: MaintenancePlan, node: str) -> dict[str, tuple[bool, str]]:
    found = next(n for n in result.nodes if n.name == node)
    return {c.name: (c.holds, c.detail) for c in found.checks}


def test_batches_follow_failure_domains_and_max_unavailable() -> None:
    domains = {"a": "rack-1", "b": "rack-2", "c": "rack-1", "d": "rack-1"}
    assert batches(list("abcd"), domains, 1) == [1, 2, 3, 4]
    assert batches(list("abcd"), domains, 2) == [1, 2, 1, 3]
    assert batches(list("abcd"), domains, 5) == [1, 2, 1, 1]
    assert batches([], {}, 1) == []


def test_everything_holds_and_the_first_node_would_start() -> None:
    cluster = Cluster({"nodes": ["a", "b", "c"]}, THREE, {"a": "r1", "b": "r2", "c": "r1"})
    result = plan(cluster)
    assert [(n.name, n.osds, n.failure_domain, n.batch) for n in result.nodes] == [
        ("a", (0,), "r1", 1),
        ("b", (1,), "r2", 2),
        ("c", (2, 3), "r1", 3),
    ]
    assert all(n.gates_hold for n in result.nodes)
    assert checks(result, "a") == {
        "ceph health": (True, "Ceph reports HEALTH_OK"),
        "PGs": (True, "all 128 PGs healthy"),
        "ok-to-stop": (True, "safe to stop"),
        "Lease": (True, "free"),
    }
    assert (result.would_start, result.next_step) == ("a", "would start node a now: its gates hold")
    assert result.identity == IDENTITY


def test_gates_that_do_not_hold_are_shown_per_node() -> None:
    spec = {"nodes": ["a", "b", "c"], "gates": {"promql": [{"name": "calm", "expr": "ALERTS"}]}}
    cluster = Cluster(spec, THREE)
    cluster.ok_to_stop["b"] = OkToStop(False, "3 PGs would become inactive")
    cluster.leases["c"] = OTHER
    cluster.gates = dict.fromkeys(THREE, (GateResult("calm", False, "1 series: {}=1"),))
    cluster.nodes["a"].unschedulable, cluster.nodes["a"].cordoned_by = True, None
    result = plan(cluster)
    assert checks(result, "a")["cordon"] == (
        False,
        "already cordoned, not by Caretaker: it stays cordoned afterwards",
    )
    assert checks(result, "a")["PromQL calm"] == (False, "1 series: {}=1")
    assert checks(result, "b")["ok-to-stop"] == (False, "3 PGs would become inactive")
    assert checks(result, "c")["Lease"] == (False, f"held by {OTHER}")
    assert [n.gates_hold for n in result.nodes] == [False, False, False]
    assert result.would_start is None
    assert result.next_step == "node a: waiting for gate: PromQL gate calm: 1 series: {}=1"


def test_a_cordon_alone_does_not_hold_a_node_back() -> None:
    cluster = Cluster({"nodes": ["a"]}, {"a": (0,)})
    cluster.nodes["a"].unschedulable = True
    result = plan(cluster)
    assert result.nodes[0].gates_hold
    assert result.would_start == "a"


def test_ceph_health_and_unreachable_ceph() -> None:
    cluster = Cluster({"nodes": ["a"]}, {"a": (0,)})
    cluster.extra_checks["MON_DISK_LOW"] = "mon a is low on space"
    result = plan(cluster)
    assert checks(result, "a")["ceph health"] == (
        False,
        "Ceph reports HEALTH_WARN (MON_DISK_LOW: mon a is low on space)",
    )
    assert result.next_step.startswith("node a: waiting for gate: Ceph reports HEALTH_WARN")
    cluster.spec_raw = {"nodes": ["a"], "gates": {"allowedWarnings": ["MON_DISK_LOW"]}}
    assert plan(cluster).would_start == "a"
    cluster.ceph_up = False
    result = plan(cluster)
    assert checks(result, "a") == {
        "ceph": (False, "Ceph unreachable: timed out talking to the monitors"),
        "Lease": (True, "free"),
    }
    assert result.nodes[0].failure_domain == "unknown (Ceph unreachable)"
    assert result.ceph_error == "timed out talking to the monitors"
    assert result.next_step == "Ceph unreachable: timed out talking to the monitors"


def test_a_missing_node() -> None:
    result = plan(Cluster({"nodes": ["a", "ghost"]}, {"a": (0,)}))
    assert checks(result, "ghost")["node"] == (False, "no Node named ghost in the cluster")
    assert result.next_step == "node(s) not found: ghost; fix spec.nodes"
    assert result.would_start is None


def test_a_closed_recurring_window_in_its_time_zone() -> None:
    spec: dict[str, Any] = {
        "nodes": ["a"],
        "window": {"schedule": "0 22 * * 1-5", "duration": "6h", "timeZone": "Europe/Berlin"},
        "strategy": {"nodeDurationEstimate": "45m"},
    }
    result = plan(Cluster(spec, {"a": (0,)}))  # Monday 10:00 UTC, 12:00 in Berlin
    window = result.window
    opening = datetime(2026, 5, 4, 20, 0, tzinfo=UTC)  # 22:00 CEST
    assert (window.kind, window.time_zone, window.is_open) == ("recurring", "Europe/Berlin", False)
    assert window.description == "'0 22 * * 1-5' for 6h in Europe/Berlin"
    assert (window.next_start, window.next_node_start) == (opening, opening)
    assert result.next_step == "waiting for the maintenance window at 2026-05-04T20:00:00Z"
    assert result.would_start is None


def test_an_open_one_off_window_and_no_window() -> None:
    raw = {"nodes": ["a"], "window": {"start": "2026-05-04T09:00:00Z", "duration": "2h"}}
    spec, errors = read_maintenance_spec(raw)
    assert spec is not None, errors
    window = window_plan(spec, T0)
    assert (window.kind, window.is_open, window.over) == ("one-off", True, False)
    assert window.ends_at == datetime(2026, 5, 4, 11, 0, tzinfo=UTC)
    assert window.next_node_start == T0
    assert window.description == "one-off from 2026-05-04 09:00 UTC for 2h"
    after = window_plan(spec, datetime(2026, 5, 4, 12, 0, tzinfo=UTC))
    assert (after.is_open, after.over, after.next_node_start) == (False, True, None)
    spec, _ = read_maintenance_spec({"nodes": ["a"]})
    assert spec is not None
    assert window_plan(spec, T0).kind == "none"
