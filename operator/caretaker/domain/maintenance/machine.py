"""The Maintenance state machine: ``next_step(world) -> Step``. Pure; the executor does the I/O.

One action per reconcile at most. Nodes start one at a time, only inside the window, only within
one failure domain at a time and never more than ``maxUnavailable`` at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from caretaker.domain.ceph.topology import REFUSED
from caretaker.domain.common.reasons import NORMAL, WARNING, Note, Reason
from caretaker.domain.common.windows import (
    AlwaysOpen,
    can_start,
)
from caretaker.domain.maintenance.actions import Action
from caretaker.domain.maintenance.approval import (
    approval_summary,
    maintenance_approved,
    node_approved,
    record_approvals,
)
from caretaker.domain.maintenance.context import NodeContext
from caretaker.domain.maintenance.freeze import frozen_message
from caretaker.domain.maintenance.hook_steps import (
    before_finish,
    before_first_start,
    blocked_summary,
)
from caretaker.domain.maintenance.hooks import blocking_failure, put_all
from caretaker.domain.maintenance.node import advance, rolling_back
from caretaker.domain.maintenance.spec import MaintenanceSpec, read_maintenance_spec
from caretaker.domain.maintenance.status import (
    ACTIVE_PHASES,
    FINISHED,
    MaintenancePhase,
    MaintenanceStatus,
    NodePhase,
    NodeRecord,
    may_join,
)
from caretaker.domain.maintenance.summary import (
    Summary,
    delay_left,
    idle_phase,
    summarize,
    window_message,
)
from caretaker.domain.maintenance.world import World


@dataclass(frozen=True)
class Step:
    status: MaintenanceStatus
    summary: Summary
    action: Action | None = None
    notes: tuple[Note, ...] = ()
    cleaned_up: bool = False  # only for deletion: nothing of ours is left


def targets(world: World, spec: MaintenanceSpec) -> tuple[str, ...]:
    return spec.nodes if spec.nodes else world.selected


def next_step(world: World) -> Step:
    """Decides the next step of a Maintenance from a snapshot of the world."""
    status, spec = world.status, world.spec
    if world.deleting:
        return cleanup_step(world)
    invalid = ""
    if spec is None:
        invalid = "; ".join(str(e) for e in world.spec_errors[:5])
        spec = _last_valid_spec(world)
        if spec is None:
            return Step(
                status,
                Summary(
                    idle_phase(status),
                    Reason.INVALID_SPEC,
                    f"invalid spec, nothing will be done: {invalid}",
                    stalled=True,
                ),
            )
    elif world.raw_spec and status.last_valid_spec != world.raw_spec:
        status = replace(status, last_valid_spec=dict(world.raw_spec))
    step = _next_step(world, spec, status)
    if not invalid:
        return step
    summary = Summary(
        MaintenancePhase.PENDING
        if step.summary.phase == MaintenancePhase.SUSPENDED
        else step.summary.phase,
        Reason.INVALID_SPEC,
        f"invalid spec: {invalid}; the nodes under way continue under the last valid spec "
        f"(abort still works) and no other node starts until the spec is fixed",
        stalled=True,
    )
    return replace(step, summary=summary)


def _last_valid_spec(world: World) -> MaintenanceSpec | None:
    """The spec to finish the nodes under way with when an edit made the spec invalid: the last
    accepted one, never starting another node; ``abort: true`` in the new spec still aborts."""
    status = world.status
    if status.last_valid_spec is None:
        return None
    spec, _ = read_maintenance_spec(status.last_valid_spec)
    if spec is None:
        return None
    return replace(spec, suspend=True, abort=spec.abort or world.raw_spec.get("abort") is True)


def _next_step(world: World, spec: MaintenanceSpec, status: MaintenanceStatus) -> Step:
    names = targets(world, spec)
    problem = _target_problem(world, spec, names)
    if problem:
        return Step(
            status, Summary(idle_phase(status), Reason.TARGETS_NOT_FOUND, problem, stalled=True)
        )
    status = _with_records(status, names)
    status, notes = record_approvals(world, spec, status)
    if spec.abort and not status.aborted:
        status, abort_notes = _begin_abort(status)
        notes = (*notes, *abort_notes)
    window_ok = can_start(spec.window, world.now, spec.node_duration_estimate)
    window_ok, why = (
        (False, frozen_message(world.freeze)) if world.freeze.frozen else (window_ok, "")
    )
    ctx = NodeContext(
        world,
        spec,
        may_start=window_ok and not status.aborted and not spec.suspend,
        window_message=why or window_message(world, spec),
        domain_peers=_domain_peers(status),
    )
    for record in status.nodes:
        if record.phase in ACTIVE_PHASES:
            node_step = advance(record, ctx)
            status = status.replace_node(node_step.record)
            status = replace(status, hooks=put_all(status.hooks, node_step.hooks))
            notes = (*notes, *node_step.notes)
            if node_step.action is not None:
                return Step(status, summarize(world, spec, status), node_step.action, notes)
    started, start_notes = _maybe_start(world, spec, status, window_ok)
    pre = before_first_start(world, spec, status, started)  # spec.hooks.preMaintenance
    if pre.summary is not None:
        return Step(pre.status, pre.summary, pre.action, (*notes, *pre.notes))
    status, notes = pre.status, (*notes, *start_notes, *pre.notes)
    summary = approval_summary(world, spec, status, summarize(world, spec, status))
    summary = blocked_summary(world, status, summary)
    if summary.phase in FINISHED and status.completed_at is None:
        post = before_finish(world, spec, status, summary.phase)  # spec.hooks.postMaintenance
        if post.summary is not None:
            return Step(post.status, post.summary, post.action, (*notes, *post.notes))
        status, notes = post.status, (*notes, *post.notes)
        status = replace(status, completed_at=world.now)
        kind = WARNING if summary.phase != MaintenancePhase.COMPLETED else NORMAL
        notes = (*notes, Note(kind, summary.reason, summary.message))
    if status.started_at is None and any(n.started_at for n in status.nodes):
        status = replace(status, started_at=world.now)
    return Step(status, summary, None, notes)


def _domain_peers(status: MaintenanceStatus) -> dict[str, tuple[str, ...]]:
    active = [n for n in status.nodes if n.phase in ACTIVE_PHASES]
    return {
        n.name: tuple(p.name for p in active if p is not n and p.failure_domain == n.failure_domain)
        for n in active
    }


def _target_problem(world: World, spec: MaintenanceSpec, names: tuple[str, ...]) -> str:
    if spec.node_selector is not None and not names and not world.status.nodes:
        labels = ",".join(f"{k}={v}" for k, v in spec.node_selector.items())
        return f"spec.nodeSelector {labels} matches no node"
    unstarted = {n.name for n in world.status.nodes if n.phase == NodePhase.PENDING}
    known = {n.name for n in world.status.nodes}
    missing = [n for n in names if n not in world.nodes and (n in unstarted or n not in known)]
    if missing:
        return "node(s) not found: " + ", ".join(missing) + "; fix spec.nodes"
    return ""


def _with_records(status: MaintenanceStatus, names: tuple[str, ...]) -> MaintenanceStatus:
    started = tuple(n for n in status.nodes if n.phase != NodePhase.PENDING)
    started_names = {n.name for n in started}
    pending = tuple(NodeRecord(name) for name in names if name not in started_names)
    kept = {n.name: n for n in status.nodes if n.phase == NodePhase.PENDING}
    return replace(status, nodes=started + tuple(kept.get(p.name, p) for p in pending))


def _begin_abort(status: MaintenanceStatus) -> tuple[MaintenanceStatus, tuple[Note, ...]]:
    nodes = tuple(
        n.with_(phase=NodePhase.ROLLING_BACK, outcome=NodePhase.ABORTED, message="aborting")
        if n.phase in ACTIVE_PHASES and n.phase != NodePhase.ROLLING_BACK
        else n  # a node already rolling back after a failure stays a failure
        for n in status.nodes
    )
    note = Note(WARNING, Reason.ABORTING, "spec.abort is set: undoing Caretaker's changes now")
    return replace(status, nodes=nodes, aborted=True), (note,)


def _maybe_start(
    world: World, spec: MaintenanceSpec, status: MaintenanceStatus, window_ok: bool
) -> tuple[MaintenanceStatus, tuple[Note, ...]]:
    """Moves the next eligible Pending node to Preflight, if everything allows it."""
    if not maintenance_approved(spec, status):  # the first gate of all (approval.py)
        return status, ()
    active = [n for n in status.nodes if n.phase in ACTIVE_PHASES]
    failed = any(NodePhase.FAILED in (n.phase, n.outcome) for n in status.nodes)
    if status.aborted or spec.suspend or failed or not window_ok or world.ceph is None:
        return status, ()
    if blocking_failure(world, status.hooks) is not None:  # a failed pre-hook: spec.hooks
        return status, ()
    if len(active) >= spec.max_unavailable or delay_left(status, spec, world.now) > timedelta(0):
        return status, ()
    away = [n.failure_domain for n in active]
    refusals: tuple[Note, ...] = ()
    for record in status.nodes:
        if record.phase != NodePhase.PENDING or not node_approved(spec, record):
            continue
        placed = world.ceph.domain_of(record.name)
        if placed.refused:
            # Never diskless by mistake: the node waits, and says why, until Ceph and Kubernetes
            # agree on its OSDs (the other nodes go on).
            if record.message != placed.problem:
                status = status.replace_node(record.with_(message=placed.problem))
                refusals += (Note(WARNING, Reason.NODE_REFUSED, placed.problem),)
            continue
        if record.message.startswith(REFUSED):  # Ceph and Kubernetes agree again
            status = status.replace_node(record.with_(message=""))
        if not may_join(away, placed.domain, spec.max_unavailable):
            continue
        osds = world.ceph.osds_of(record.name)
        started = record.with_(
            phase=NodePhase.PREFLIGHT,
            osds=osds,
            failure_domain=placed.domain,
            started_at=world.now,
            message="checking gates",
        )
        osd_text = ", ".join(f"osd.{i}" for i in osds) or "no OSDs"
        matched = world.ceph.placement(record.name).matched
        osd_text += f"; matched {matched}" if matched else ""
        note = Note(
            NORMAL,
            Reason.NODE_PREFLIGHT,
            f"Starting node {record.name} ({osd_text}, failure domain {placed.domain})",
        )
        return status.replace_node(started), (*refusals, note)
    return status, refusals


def cleanup_step(world: World) -> Step:
    """On deletion: undo Caretaker's changes on every node it touched, then let go."""
    spec = world.spec
    status = world.status
    ctx = NodeContext(world, spec or _EMPTY_SPEC, may_start=False)
    notes: tuple[Note, ...] = ()
    for record in status.nodes:
        if record.phase not in ACTIVE_PHASES:
            continue
        undoing = record.with_(
            phase=NodePhase.ROLLING_BACK, outcome=record.outcome or NodePhase.ABORTED
        )
        node_step = rolling_back(undoing, ctx)
        status = status.replace_node(node_step.record)
        notes = (*notes, *node_step.notes)
        if node_step.action is not None or node_step.record.phase == NodePhase.ROLLING_BACK:
            summary = Summary(
                MaintenancePhase.RESTORING,
                Reason.PROGRESSING,
                f"deleting: {node_step.record.message or 'undoing changes'}",
            )
            return Step(status, summary, node_step.action, notes)
    summary = Summary(
        MaintenancePhase.ABORTED, Reason.CLEANED_UP, "deleted; Caretaker's changes were undone"
    )
    return Step(status, summary, None, notes, cleaned_up=True)


# Cleanup after deletion must work even when the spec no longer validates: undoing needs none.
_EMPTY_SPEC = MaintenanceSpec(nodes=(), node_selector=None, window=AlwaysOpen())
