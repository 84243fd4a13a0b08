"""HealthPolicy steps and the cluster-wide disruption ledger: enter a step's claim right before
it runs (compare-and-swap: another actor may have claimed another domain since the snapshot);
one sweeper per operator removes the claims whose disruption is observed over
(``caretaker.domain.health.claims``), also those of deleted policies."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from caretaker.clients.ceph.errors import CephError
from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.nodes import get_node
from caretaker.domain.disruption.ledger import ClaimKind, Observed
from caretaker.domain.health.claims import claims_over
from caretaker.domain.health.outputs import PlannedAction
from caretaker.handlers.disruption.ledger import LedgerUnavailable, read_claims, remove_claims
from caretaker.handlers.disruption.ports import ClaimLedger
from caretaker.handlers.services import Services

logger = logging.getLogger("caretaker.health")


def enter_step_claim(ledger: ClaimLedger, planned: PlannedAction) -> str:
    """ "" when the step may run (its claim is in the ledger, or it needs none), else why not."""
    if planned.claim is None:
        return ""
    try:
        verdict = ledger.enter_claim(planned.claim)
    except LedgerUnavailable as error:
        return f"not run: the disruption ledger cannot be written ({error})"
    return "" if verdict.admitted else f"not run: {verdict.reason}"


def withdraw_step_claim(ledger: ClaimLedger, planned: PlannedAction) -> None:
    """A step that failed took nothing down (its restart, markOut or taint was refused): its
    claim goes at once. A drain's stays: a failed round may have cordoned and evicted, and the
    claim ends when the node is uncordoned."""
    claim = planned.claim
    if claim is None or claim.kind == ClaimKind.NODE:
        return
    try:
        ledger.remove_claims({claim.claimant})
    except LedgerUnavailable as error:
        logger.warning("withdrawing %s failed (the sweeper ends it): %s", claim.claimant, error)


def release_finished_claims(services: Services) -> int:
    """Removes every HealthPolicy claim (of any policy, deleted ones too) whose disruption is
    observed over; returns how many. Errors are logged: the next sweep retries."""
    try:
        claims = read_claims(services)
        mine = [c for c in claims if c.kind != ClaimKind.MAINTENANCE]
        if not mine or services.ceph is None:
            return 0
        osd_map = services.ceph.osd_dump()
        cordoned = {}
        for name in {c.node for c in mine if c.kind == ClaimKind.NODE and c.node}:
            info = get_node(services.kube, name)
            cordoned[name] = info is not None and info.unschedulable
        seen = Observed(
            osd_up={i: s.up for i, s in osd_map.osds.items()},
            osd_in={i: s.in_cluster for i, s in osd_map.osds.items()},
            osd_up_from={i: s.up_from for i, s in osd_map.osds.items()},
            cordoned=cordoned,
            at=datetime.now(UTC),
        )
        over = claims_over(mine, seen)
        if over:
            remove_claims(services, over)
            logger.info("disruption claims over: %s", ", ".join(sorted(over)))
        return len(over)
    except (KubeApiError, CephError, LedgerUnavailable) as error:
        logger.warning("releasing disruption claims failed (the next sweep retries): %s", error)
        return 0


def sweep_claims(services: Services, stopped: threading.Event, every: float) -> None:
    """The operator's one sweeper: claims end even when their policy is gone."""
    while not stopped.wait(every):
        release_finished_claims(services)
