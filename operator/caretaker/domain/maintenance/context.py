"""What a per-node step sees (NodeContext) and returns (NodeStep)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from caretaker.domain.common.reasons import Note
from caretaker.domain.disruption.ledger import Claim, find, maintenance_claimant
from caretaker.domain.maintenance.actions import Action
from caretaker.domain.maintenance.hook_record import HookRecord
from caretaker.domain.maintenance.spec import MaintenanceSpec
from caretaker.domain.maintenance.status import NodeRecord
from caretaker.domain.maintenance.world import World


@dataclass(frozen=True)
class NodeStep:
    record: NodeRecord
    action: Action | None = None
    notes: tuple[Note, ...] = ()
    hooks: tuple[HookRecord, ...] = ()  # status.hooks entries to put (spec.hooks)


@dataclass(frozen=True)
class NodeContext:
    world: World
    spec: MaintenanceSpec
    may_start: bool = True  # the window still admits starting this node
    window_message: str = ""
    # node -> other active nodes of its failure domain (their absence keeps PGs degraded)
    domain_peers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def lease_ours(self, node: str) -> bool:
        lease = self.world.leases.get(node)
        return lease is not None and lease.holder == self.world.identity and not lease.expired

    def claimant(self, node: str) -> str:
        return maintenance_claimant(self.world.identity, node)

    def own_claim(self, node: str) -> Claim | None:
        return find(self.world.disruptions, self.claimant(node))

    def lease_other(self, node: str) -> str | None:
        lease = self.world.leases.get(node)
        if lease and lease.holder and lease.holder != self.world.identity and not lease.expired:
            return lease.holder
        return None


def wait(record: NodeRecord, message: str, *notes: Note) -> NodeStep:
    return NodeStep(record.with_(message=message), None, notes)
