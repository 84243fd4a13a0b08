"""The Node lifecycle conditions a Maintenance shows on its nodes, from their phases.

Preflight: ``MaintenancePlanned``; Draining: ``MaintenanceInProgress`` and ``DrainInProgress``;
InMaintenance (drained): ``MaintenanceInProgress`` and ``Drained``; Restoring and RollingBack:
``MaintenanceInProgress``; any other phase, or a node another tool holds: none. Only the
Maintenance's own conditions are ever added or removed (``node_holders.is_own``).
"""

from __future__ import annotations

from dataclasses import dataclass

from caretaker.domain.common.node_holders import (
    CARETAKER_REASON,
    DRAIN_IN_PROGRESS,
    DRAINED,
    LIFECYCLE_TYPES,
    MAINTENANCE_IN_PROGRESS,
    MAINTENANCE_PLANNED,
    NodeCondition,
    is_own,
    owner_message,
)
from caretaker.domain.maintenance.status import MaintenanceStatus, NodePhase
from caretaker.domain.maintenance.world import World

WANTED: dict[NodePhase, tuple[str, ...]] = {
    NodePhase.PREFLIGHT: (MAINTENANCE_PLANNED,),
    NodePhase.DRAINING: (MAINTENANCE_IN_PROGRESS, DRAIN_IN_PROGRESS),
    NodePhase.IN_MAINTENANCE: (MAINTENANCE_IN_PROGRESS, DRAINED),
    NodePhase.RESTORING: (MAINTENANCE_IN_PROGRESS,),
    NodePhase.ROLLING_BACK: (MAINTENANCE_IN_PROGRESS,),
}


@dataclass(frozen=True)
class ConditionChange:
    node: str
    put: tuple[NodeCondition, ...]
    remove: tuple[str, ...]  # condition types (ours) to delete


def wanted_types(phase: NodePhase, held_by_other: bool) -> tuple[str, ...]:
    return () if held_by_other else WANTED.get(phase, ())


def _maybe_held(world: World, node: str, phase: NodePhase) -> bool:
    """Whether another tool may hold a node in Preflight: the holds are read for the nodes that
    were in Preflight when the world was read, so a node that has just entered it shows no
    condition until the next round has checked them."""
    if phase != NodePhase.PREFLIGHT:
        return False
    before = next((r.phase for r in world.status.nodes if r.name == node), None)
    return before != NodePhase.PREFLIGHT or node in world.holders


def condition_changes(world: World, status: MaintenanceStatus) -> tuple[ConditionChange, ...]:
    """What to change on each node so it shows exactly the conditions its phase calls for."""
    owner = world.identity
    changes = []
    for record in status.nodes:
        view = world.nodes.get(record.name)
        if view is None:
            continue
        wanted = wanted_types(record.phase, _maybe_held(world, record.name, record.phase))
        ours = {c.type for c in view.conditions if c.type in LIFECYCLE_TYPES and is_own(c, owner)}
        theirs = {c.type for c in view.conditions if not is_own(c, owner)}
        text = f"Maintenance {owner}, node phase {record.phase.value}"
        put = tuple(
            NodeCondition(t, "True", CARETAKER_REASON, owner_message(owner, text))
            for t in wanted
            if t not in ours and t not in theirs  # another tool's condition is never replaced
        )
        remove = tuple(sorted(ours - set(wanted)))
        if put or remove:
            changes.append(ConditionChange(record.name, put, remove))
    return tuple(changes)
