"""Carries out the one action the domain decided, then writes the status once."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.custom import CustomRef, StatusWrite, patch_status
from caretaker.clients.kube.events import ObjectRef, post_event
from caretaker.clients.kube.lease import acquire_lease, release_lease, renew_lease
from caretaker.clients.kube.nodes import cordon_for, uncordon_for
from caretaker.constants import API_VERSION
from caretaker.domain.disruption.ledger import Claim, maintenance_claimant
from caretaker.domain.drain.rules import BLOCKED_RETRY
from caretaker.domain.maintenance.actions import (
    AcquireLease,
    Action,
    ClaimDomain,
    Cordon,
    EvictPods,
    ReleaseClaim,
    ReleaseLease,
    SetNoout,
    Uncordon,
    UnsetNoout,
)
from caretaker.domain.maintenance.machine import Step, next_step
from caretaker.domain.maintenance.pace import idle_wait
from caretaker.domain.maintenance.render import (
    record_action_error,
    record_evictions,
    render_status,
)
from caretaker.domain.maintenance.status import MaintenanceStatus, NodePhase
from caretaker.domain.maintenance.world import World
from caretaker.handlers.disruption.ledger import enter_claim, remove_claims
from caretaker.handlers.drain.round import drain_round
from caretaker.handlers.maintenance.snapshot import build_world, lease_name
from caretaker.handlers.services import Services
from caretaker.metrics import record_maintenance_phase

logger = logging.getLogger("caretaker.maintenance")
FAST_REQUEUE_SECONDS = 0.02  # after progress: the next step at once, no hot loop on errors


class DomainBusy(Exception):
    """Another actor claimed another failure domain between the snapshot and the write."""


class DrainBlocked(Exception):
    """Every eviction of the round was refused by a budget: nothing moved."""

    def __init__(self, status: MaintenanceStatus) -> None:
        super().__init__("every eviction was refused by a disruption budget")
        self.status = status


@dataclass(frozen=True)
class Reconciled:
    step: Step
    action_error: str | None = None  # the action was tried and failed
    drain_blocked: bool = False  # a budget refused every eviction: back off (BLOCKED_RETRY)

    @property
    def progressed(self) -> bool:
        """Something changed: reconcile again right away (a failed action waits)."""
        if self.action_error is not None or self.drain_blocked:
            return False
        return self.step.action is not None or bool(self.step.notes)

    def next_delay(self, interval: float, now: datetime) -> float:
        """Seconds until the next reconcile (a change to the object wakes the loop earlier)."""
        if self.drain_blocked:
            return max(BLOCKED_RETRY.total_seconds(), interval)
        if self.progressed:
            return FAST_REQUEUE_SECONDS
        if self.action_error is not None:
            return interval
        return idle_wait(self.step.summary, now, timedelta(seconds=interval)).total_seconds()


def reconcile_once(services: Services, body: Mapping[str, Any]) -> Reconciled:
    """Snapshot, decide, act, write status once."""
    now = datetime.now(UTC)
    world = build_world(services, body, now)
    _renew_leases(services, world)
    step = next_step(world)
    status = step.status
    action_error, blocked = None, False
    if step.action is not None:
        try:
            status = _execute(services, world, step, step.action)
        except DrainBlocked as refused:
            status, blocked = refused.status, True
        except Exception as error:  # noqa: BLE001 - shown in status, retried next reconcile
            logger.warning("action %s failed: %s", step.action, error)
            action_error = str(error)
            status = record_action_error(status, step.action.node, action_error)
    step = Step(status, step.summary, step.action, step.notes, step.cleaned_up)
    meta = body["metadata"]
    previous = (body.get("status") or {}).get("conditions") or []
    ref = CustomRef("maintenances", meta["namespace"], meta["name"])
    status_doc = render_status(step, previous, world.generation, now)
    version = str(meta.get("resourceVersion") or "")
    written = patch_status(services.kube, ref, status_doc, resource_version=version)
    if written is StatusWrite.CONFLICT:
        # Changed since read (a spec edit, another writer): the next round re-reads and decides
        # again from what it observes; this round's Events would be posted twice.
        logger.info("%s/%s changed since read: status not written", ref.namespace, ref.name)
        return Reconciled(step, action_error)
    done = sum(n.phase == NodePhase.COMPLETED for n in step.status.nodes)
    record_maintenance_phase(meta["namespace"], meta["name"], status_doc["phase"], done)
    _post_notes(services, body, step)
    return Reconciled(step, action_error, blocked)


def _execute(services: Services, world: World, step: Step, action: Action) -> MaintenanceStatus:
    """Runs the action; returns the status with what the action itself reported (evictions)."""
    kube, settings, identity = services.kube, services.settings, world.identity
    status = step.status
    if isinstance(action, AcquireLease | ReleaseLease):
        name = lease_name(action.node)
        if isinstance(action, AcquireLease):
            acquire_lease(
                kube,
                settings.lease_namespace,
                name,
                identity,
                duration_seconds=settings.lease_seconds,
            )
        else:
            release_lease(kube, settings.lease_namespace, name, identity)
    elif isinstance(action, ClaimDomain):
        claimant = maintenance_claimant(identity, action.node)
        claim = Claim(claimant, action.domain, action.osds, node=action.node)
        verdict = enter_claim(services, claim)
        if not verdict.admitted:
            raise DomainBusy(verdict.reason)
    elif isinstance(action, ReleaseClaim):
        remove_claims(services, {maintenance_claimant(identity, action.node)})
    elif isinstance(action, Cordon):
        cordon_for(kube, action.node, identity)
    elif isinstance(action, Uncordon):
        uncordon_for(kube, action.node, identity)
    elif isinstance(action, SetNoout | UnsetNoout):
        _noout(services, action)
    elif isinstance(action, EvictPods):
        done = drain_round(kube, action.pods, action.finished, action.grace_period_seconds)
        status = record_evictions(status, action.node, done.evicted + done.deleted, done.blocked)
        if done.only_blocked:
            raise DrainBlocked(status)
    return status


def _noout(services: Services, action: SetNoout | UnsetNoout) -> None:
    ceph = services.ceph
    if ceph is None:
        raise RuntimeError(f"no Ceph connection: {services.ceph_error}")
    setting = isinstance(action, SetNoout)
    if action.bucket:
        ceph.set_group_noout(action.bucket) if setting else ceph.unset_group_noout(action.bucket)
    else:
        ceph.add_noout(action.osds) if setting else ceph.rm_noout(action.osds)


def _renew_leases(services: Services, world: World) -> None:
    """Keeps our node Leases alive while their nodes are being worked on."""
    for node, lease in world.leases.items():
        if lease.holder == world.identity and not lease.expired:
            try:
                renew_lease(
                    services.kube,
                    services.settings.lease_namespace,
                    lease_name(node),
                    world.identity,
                    duration_seconds=services.settings.lease_seconds,
                )
            except KubeApiError as error:
                logger.warning("renewing the Lease of node %s failed: %s", node, error)


def _post_notes(services: Services, body: Mapping[str, Any], step: Step) -> None:
    meta = body["metadata"]
    regarding = ObjectRef(
        api_version=API_VERSION,
        kind="Maintenance",
        namespace=meta["namespace"],
        name=meta["name"],
        uid=meta.get("uid", ""),
    )
    for note in step.notes:
        try:
            post_event(services.kube, regarding, note.reason, note.message, note.type)  # type: ignore[arg-type]
        except KubeApiError as error:
            logger.warning("posting event %s failed: %s", note.reason, error)
