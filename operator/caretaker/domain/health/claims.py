"""HealthPolicy steps in the cluster-wide disruption ledger
(``caretaker.domain.disruption.ledger``).

A step that stops or moves data of a failure domain claims it before it runs: restarting an OSD
that is up, marking an OSD out, draining a node that carries OSDs, a NoExecute taint on one.
Restarting an OSD that is already down disrupts nothing more and claims nothing. The claim is
admitted only while no other failure domain is claimed and no OSD of another domain is down;
it ends on observation (``claim_over``), whoever observes it.
"""

from __future__ import annotations

from collections.abc import Iterable

from caretaker.domain.disruption.ledger import (
    Claim,
    ClaimKind,
    Observed,
    admit,
    claim_over,
    policy_claimant,
)
from caretaker.domain.health.actions import Action, Drain, MarkOut, RestartOsd, Taint, TaintEffect
from caretaker.domain.health.keys import PolicyRef
from caretaker.domain.health.spec import HealthPolicySpec
from caretaker.domain.health.targets import Target
from caretaker.domain.health.world import CephReadings

Unknown = str  # why the failure domain of a step cannot be told


def claim_for(
    action: Action, target: Target, ceph: CephReadings, policy: PolicyRef
) -> Claim | Unknown | None:
    """The claim the step needs, None when it disrupts no failure domain, or why it cannot be
    told (then the step is held: never act without knowing what it takes down)."""
    claimant = policy_claimant(policy.namespace, policy.name, target.key)
    osd = target.osd_id
    if isinstance(action, RestartOsd | MarkOut) and osd is not None:
        if isinstance(action, RestartOsd) and not ceph.osd_up.get(osd, False):
            return None
        domain = ceph.osd_domains.get(osd)
        if not domain:
            return f"the failure domain of {target.name} is not in Ceph's CRUSH map"
        if isinstance(action, MarkOut):
            return Claim(claimant, domain, (osd,), ClaimKind.MARK_OUT)
        return Claim(claimant, domain, (osd,), ClaimKind.RESTART, up_from=ceph.osd_up_from[osd])
    node = target.node_name
    evicts = isinstance(action, Drain) or (
        isinstance(action, Taint) and action.effect is TaintEffect.NO_EXECUTE
    )
    if not evicts or not node:
        return None
    if node not in ceph.node_osds:
        return f"which OSDs node {node} carries was not read"
    osds = ceph.osds_of(node)
    placed = ceph.domain_of(node)  # the Maintenance's rule: one function for both features
    if placed.refused:
        return placed.problem
    if not osds:
        return None
    return Claim(claimant, placed.domain, osds, ClaimKind.NODE, node=node)


def domain_busy(claim: Claim, claims: Iterable[Claim], ceph: CephReadings) -> str:
    """Why the claim may not be made now ("" when it may)."""
    verdict = admit(claims, claim)
    if not verdict.admitted:
        return verdict.reason
    down = sorted(
        (domain, osd)
        for osd, up in ceph.osd_up.items()
        if not up and (domain := ceph.osd_domains.get(osd, "")) and domain != claim.domain
    )
    if down:
        domain, osd = down[0]
        return f"osd.{osd} in failure domain {domain} is down: {claim.domain} waits"
    return ""


def claims_over(claims: Iterable[Claim], seen: Observed) -> set[str]:
    """The HealthPolicy claims whose disruption is over, as observed now (any policy's)."""
    return {c.claimant for c in claims if c.kind != ClaimKind.MAINTENANCE and claim_over(c, seen)}


def evicts_from_nodes(spec: HealthPolicySpec) -> bool:
    """Whether a step of the policy may drain or NoExecute-taint a node: then the evaluation
    needs to know which OSDs each node carries."""
    return any(
        isinstance(step.action, Drain)
        or (isinstance(step.action, Taint) and step.action.effect is TaintEffect.NO_EXECUTE)
        for rule in spec.rules
        for step in rule.actions
    )
