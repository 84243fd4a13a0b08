"""A Maintenance node in the cluster-wide disruption ledger: claimed before anything changes,
released once the node is back (or rolled back)."""

from __future__ import annotations

from caretaker.domain.common.reasons import Note
from caretaker.domain.disruption.ledger import Claim, ClaimKind, admit
from caretaker.domain.maintenance.actions import ClaimDomain, ReleaseClaim
from caretaker.domain.maintenance.context import NodeContext, NodeStep, wait
from caretaker.domain.maintenance.status import NodeRecord


def claim_domain(record: NodeRecord, ctx: NodeContext) -> NodeStep | None:
    """Enters the node in the cluster-wide ledger before anything is changed (None once it is
    in). A node without OSDs disrupts no failure domain and needs no claim."""
    world, name = ctx.world, record.name
    if not record.osds or ctx.own_claim(name) is not None:
        return None
    if world.ledger_error:
        return wait(record, f"waiting: the disruption ledger cannot be read ({world.ledger_error})")
    claim = Claim(ctx.claimant(name), record.failure_domain, record.osds, ClaimKind.MAINTENANCE)
    verdict = admit(world.disruptions, claim)
    if not verdict.admitted:
        return wait(record, f"waiting: {verdict.reason}")
    message = f"claiming failure domain {record.failure_domain}"
    return NodeStep(
        record.with_(message=message), ClaimDomain(name, record.failure_domain, record.osds)
    )


def release_claim(record: NodeRecord, ctx: NodeContext, notes: tuple[Note, ...]) -> NodeStep:
    if ctx.own_claim(record.name) is None:
        return NodeStep(record, None, notes)
    return NodeStep(record, ReleaseClaim(record.name), notes)
