"""Carries out the one action the domain decided, then writes the status once.

All I/O goes through ``MaintenancePorts`` (``handlers.maintenance.ports``): the kopf wiring
passes the real cluster, the unit tests a fake one, and both run this same code."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.custom import CustomRef, StatusWrite
from caretaker.clients.kube.events import ObjectRef
from caretaker.constants import API_VERSION, MAINTENANCES
from caretaker.domain.common.merge_patch import changes_nothing
from caretaker.domain.common.reasons import Note
from caretaker.domain.disruption.ledger import Claim, maintenance_claimant
from caretaker.domain.drain.rules import BLOCKED_RETRY
from caretaker.domain.maintenance.actions import (
    AcquireLease,
    Action,
    ClaimDomain,
    Cordon,
    CreateHookJob,
    EvictPods,
    ReleaseClaim,
    ReleaseLease,
    RunHttpHook,
    SetNoout,
    Uncordon,
    UnsetNoout,
)
from caretaker.domain.maintenance.approval import approval_condition, awaiting_label
from caretaker.domain.maintenance.freeze import freeze_condition
from caretaker.domain.maintenance.hooks import hooks_condition
from caretaker.domain.maintenance.machine import Step, next_step
from caretaker.domain.maintenance.pace import idle_wait
from caretaker.domain.maintenance.render import (
    record_action_error,
    record_evictions,
    render_status,
)
from caretaker.domain.maintenance.silence import (
    silence_condition,
    silence_spec_of,
    silences_end_at,
)
from caretaker.domain.maintenance.status import MaintenanceStatus, NodePhase
from caretaker.domain.maintenance.world import World
from caretaker.handlers.maintenance.hooks import run_hook
from caretaker.handlers.maintenance.node_conditions import sync_node_conditions
from caretaker.handlers.maintenance.notifications import send_notifications
from caretaker.handlers.maintenance.ports import MaintenancePorts
from caretaker.handlers.maintenance.silences import keep_silences
from caretaker.metrics import record_maintenance_phase

logger = logging.getLogger("caretaker.maintenance")
SILENCE_END_SLACK = 1.0  # seconds after a silence's end: Alertmanager has ended it
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
        wait = idle_wait(self.step.summary, now, timedelta(seconds=interval)).total_seconds()
        ends = silences_end_at(self.step.status)  # a restored node's silences end by themselves
        if ends is not None:
            wait = min(wait, max((ends - now).total_seconds(), 0.0) + SILENCE_END_SLACK)
        return wait


def reconcile_once(ports: MaintenancePorts, body: Mapping[str, Any], now: datetime) -> Reconciled:
    """Snapshot, decide, act, write status once (the same function runs against the real
    cluster, ``KubeMaintenancePorts``, and against the unit tests' fake)."""
    world = ports.read_world(body, now)
    _renew_leases(ports, world)
    step = next_step(world)
    status = step.status
    action_error, blocked = None, False
    hook_notes: tuple[Note, ...] = ()
    if isinstance(step.action, RunHttpHook | CreateHookJob):  # spec.hooks: never raises
        status, hook_notes = run_hook(ports, world, status, step.action)
    elif step.action is not None:
        try:
            status = _execute(ports, world, step, step.action)
        except DrainBlocked as refused:
            status, blocked = refused.status, True
        except Exception as error:  # noqa: BLE001 - shown in status, retried next reconcile
            logger.warning("action %s failed: %s", step.action, error)
            action_error = str(error)
            status = record_action_error(status, step.action.node, action_error)
    status, silence_notes = keep_silences(ports, world, status)
    sync_node_conditions(ports, world, status)  # Node lifecycle conditions, ours only
    notified = send_notifications(ports, world, body, status, step.summary)
    notes = (*step.notes, *hook_notes, *silence_notes, *notified.notes)
    step = Step(status, step.summary, step.action, notes, step.cleaned_up)
    meta = body["metadata"]
    previous = (body.get("status") or {}).get("conditions") or []
    ref = CustomRef(MAINTENANCES, meta["namespace"], meta["name"])
    silenced = silence_condition(status, silence_spec_of(world))
    frozen = freeze_condition(world.freeze, previous)
    approved = approval_condition(world, status, previous)
    hooked = hooks_condition(status.hooks, world.spec.hooks if world.spec else None)
    conditions = (silenced, frozen, approved, hooked, notified.condition)
    extra = tuple(c for c in conditions if c is not None)
    status_doc = render_status(step, previous, world.generation, now, extra)
    status_doc.update(notified.fields)  # status.notifications: what reached whom
    status_doc["frozenBy"] = world.freeze.names or None  # kubectl get maintenance: Frozen-By
    status_doc["awaitingApproval"] = awaiting_label(world, status)  # and Awaiting-Approval
    version = str(meta.get("resourceVersion") or "")
    idle = step.action is None and not step.notes
    if idle and changes_nothing(body.get("status"), status_doc):
        written = StatusWrite.WRITTEN  # an idle round that would write the same status: no request
    else:
        written = ports.write_status(ref, status_doc, version)
    if written is StatusWrite.CONFLICT:
        # Changed since read (a spec edit, another writer): the next round re-reads and decides
        # again from what it observes; this round's Events would be posted twice.
        logger.info("%s/%s changed since read: status not written", ref.namespace, ref.name)
        return Reconciled(step, action_error)
    done = sum(n.phase == NodePhase.COMPLETED for n in step.status.nodes)
    record_maintenance_phase(meta["namespace"], meta["name"], status_doc["phase"], done)
    _post_notes(ports, body, step)
    return Reconciled(step, action_error, blocked)


def _execute(
    ports: MaintenancePorts, world: World, step: Step, action: Action
) -> MaintenanceStatus:
    """Runs the action; returns the status with what the action itself reported (evictions)."""
    identity = world.identity
    status = step.status
    if isinstance(action, AcquireLease):
        ports.acquire_lease(action.node, identity)
    elif isinstance(action, ReleaseLease):
        ports.release_lease(action.node, identity)
    elif isinstance(action, ClaimDomain):
        claimant = maintenance_claimant(identity, action.node)
        claim = Claim(claimant, action.domain, action.osds, node=action.node)
        verdict = ports.enter_claim(claim)
        if not verdict.admitted:
            raise DomainBusy(verdict.reason)
    elif isinstance(action, ReleaseClaim):
        ports.remove_claims({maintenance_claimant(identity, action.node)})
    elif isinstance(action, Cordon):
        ports.cordon(action.node, identity)
    elif isinstance(action, Uncordon):
        ports.uncordon(action.node, identity)
    elif isinstance(action, SetNoout):
        ports.set_noout(action.osds, action.bucket)
    elif isinstance(action, UnsetNoout):
        ports.unset_noout(action.osds, action.bucket)
    elif isinstance(action, EvictPods):
        done = ports.drain_round(action.pods, action.finished, action.grace_period_seconds)
        status = record_evictions(status, action.node, done.evicted + done.deleted, done.blocked)
        if done.only_blocked:
            raise DrainBlocked(status)
    return status


def _renew_leases(ports: MaintenancePorts, world: World) -> None:
    """Keeps our node Leases alive while their nodes are being worked on."""
    for node, lease in world.leases.items():
        if lease.holder == world.identity and not lease.expired:
            try:
                ports.renew_lease(node, world.identity)
            except KubeApiError as error:
                logger.warning("renewing the Lease of node %s failed: %s", node, error)


def _post_notes(ports: MaintenancePorts, body: Mapping[str, Any], step: Step) -> None:
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
            ports.post_event(regarding, note)
        except KubeApiError as error:
            logger.warning("posting event %s failed: %s", note.reason, error)
