"""Other tools' holds on a node and the lifecycle conditions a Maintenance shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from caretaker.domain.common.node_holders import (
    CARETAKER_REASON,
    HolderFacts,
    KuredLock,
    NodeCondition,
    foreign_holder,
    kured_locked_nodes,
    owner_message,
)
from caretaker.domain.maintenance.lifecycle_conditions import condition_changes
from caretaker.domain.maintenance.status import MaintenanceStatus, NodePhase, NodeRecord
from caretaker.domain.maintenance.world import NodeView, World

OWNER = "ops/fw"
NONE = HolderFacts({})


def own(kind: str, owner: str = OWNER) -> NodeCondition:
    return NodeCondition(kind, "True", CARETAKER_REASON, owner_message(owner, "x"))


def test_nobody_holds_a_plain_node_and_our_own_conditions_are_no_hold() -> None:
    assert foreign_holder("a", OWNER, facts=NONE) is None
    conditions = (own("MaintenanceInProgress"), NodeCondition("NetworkUnavailable", "True", "X"))
    assert foreign_holder("a", OWNER, facts=NONE, conditions=conditions) is None
    assert foreign_holder("a", OWNER, facts=NONE, lease_holder=OWNER) is None


def test_each_other_tool_is_named() -> None:
    assert foreign_holder("a", OWNER, facts=NONE, lease_holder="x/y") == "x/y (Lease)"
    nm = HolderFacts({"a": ("nm-1",)})
    assert foreign_holder("a", OWNER, facts=nm) == "medik8s NodeMaintenance nm-1"
    assert foreign_holder("b", OWNER, facts=nm) is None
    kured = HolderFacts({}, KuredLock("kube-system/kured", ("a",)))
    assert foreign_holder("a", OWNER, facts=kured) == "kured (lock annotation on kube-system/kured)"
    note = {"weave.works/kured-reboot-in-progress": "2026-01-01"}
    assert "kured" in (foreign_holder("a", OWNER, facts=NONE, annotations=note) or "")
    theirs = (NodeCondition("Drained", "True", "OtherTool", "m"),)
    held = foreign_holder("a", OWNER, facts=NONE, conditions=theirs)
    assert held == "reason OtherTool (condition Drained)"
    other = foreign_holder("a", OWNER, facts=NONE, conditions=(own("Drained", "ops/other"),))
    assert other == "Caretaker ops/other (condition Drained)"
    lifted = (NodeCondition("Drained", "False", "OtherTool", "m"),)
    assert foreign_holder("a", OWNER, facts=NONE, conditions=lifted) is None


def test_kured_lock_forms() -> None:
    assert kured_locked_nodes(json.dumps({"nodeID": "a", "TTL": 0})) == ("a",)
    many = {"maxOwners": 2, "locks": [{"nodeID": "a"}, {"nodeID": "b"}]}
    assert kured_locked_nodes(json.dumps(many)) == ("a", "b")
    for empty in (None, "", "{", "[]", json.dumps({"nodeID": ""}), "null"):
        assert kured_locked_nodes(empty) == ()


def _world(
    phase_before: NodePhase, conditions: tuple[NodeCondition, ...] = (), **kw: object
) -> World:
    before = MaintenanceStatus(nodes=(NodeRecord("a", phase=phase_before),))
    return World(
        now=datetime(2026, 1, 1, tzinfo=UTC),
        identity=OWNER,
        generation=1,
        spec=None,
        spec_errors=(),
        status=before,
        nodes={"a": NodeView("a", False, None, True, "", conditions)},
        **kw,  # type: ignore[arg-type]
    )


def _after(phase: NodePhase) -> MaintenanceStatus:
    return MaintenanceStatus(nodes=(NodeRecord("a", phase=phase),))


def test_conditions_follow_the_phase_and_never_replace_anothers() -> None:
    # just entered Preflight: the holds are read next round, nothing shown yet
    assert condition_changes(_world(NodePhase.PENDING), _after(NodePhase.PREFLIGHT)) == ()
    (planned,) = condition_changes(_world(NodePhase.PREFLIGHT), _after(NodePhase.PREFLIGHT))
    assert [c.type for c in planned.put] == ["MaintenancePlanned"]
    assert planned.remove == ()
    held = _world(NodePhase.PREFLIGHT, holders={"a": "kured"})
    assert condition_changes(held, _after(NodePhase.PREFLIGHT)) == ()
    (draining,) = condition_changes(
        _world(NodePhase.PREFLIGHT, (own("MaintenancePlanned"),)), _after(NodePhase.DRAINING)
    )
    assert [c.type for c in draining.put] == ["MaintenanceInProgress", "DrainInProgress"]
    assert draining.remove == ("MaintenancePlanned",)
    shown = (own("MaintenanceInProgress"), own("Drained"))
    (done,) = condition_changes(_world(NodePhase.RESTORING, shown), _after(NodePhase.COMPLETED))
    assert done.put == ()
    assert done.remove == ("Drained", "MaintenanceInProgress")
    theirs = (NodeCondition("Drained", "True", "OtherTool", "m"),)
    (mine,) = condition_changes(
        _world(NodePhase.DRAINING, theirs), _after(NodePhase.IN_MAINTENANCE)
    )
    assert [c.type for c in mine.put] == ["MaintenanceInProgress"]
    assert mine.remove == ()
