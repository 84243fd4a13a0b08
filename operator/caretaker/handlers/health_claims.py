"""HealthPolicy steps and the cluster-wide disruption ledger: enter a step's claim right before
it runs (compare-and-swap: another actor may have claimed another domain since the snapshot),
and remove the claims whose disruption is over (``caretaker.domain.health.claims``)."""

from __future__ import annotations

import logging

from caretaker.clients.kube_api import KubeApiError
from caretaker.clients.kube_nodes import get_node
from caretaker.domain.disruption import ClaimKind
from caretaker.domain.health.claims import claims_over
from caretaker.domain.health.outputs import PlannedAction
from caretaker.domain.health.world import HealthWorld
from caretaker.handlers.disruptions import LedgerUnavailable, enter_claim, remove_claims
from caretaker.handlers.services import Services

logger = logging.getLogger("caretaker.health")


def enter_step_claim(services: Services, planned: PlannedAction) -> str:
    """ "" when the step may run (its claim is in the ledger, or it needs none), else why not."""
    if planned.claim is None:
        return ""
    try:
        verdict = enter_claim(services, planned.claim)
    except LedgerUnavailable as error:
        return f"not run: the disruption ledger cannot be written ({error})"
    return "" if verdict.admitted else f"not run: {verdict.reason}"


def release_finished_claims(services: Services, world: HealthWorld) -> None:
    """Removes every HealthPolicy claim (of any policy) whose disruption is observed over."""
    if world.ceph is None or world.ledger_error:
        return
    nodes = {c.node for c in world.disruptions if c.kind == ClaimKind.NODE and c.node}
    try:
        cordoned = {}
        for name in nodes:
            info = get_node(services.kube, name)
            cordoned[name] = info is not None and info.unschedulable
        over = claims_over(world.disruptions, world.ceph, cordoned)
        if over:
            remove_claims(services, over)
            logger.info("disruption claims over: %s", ", ".join(sorted(over)))
    except (KubeApiError, LedgerUnavailable) as error:
        logger.warning("releasing disruption claims failed (next round retries): %s", error)
