"""Where ``spec.hooks`` enter the state machine: ``preNode`` in a node's Preflight (gates hold,
Lease and claim taken, nothing changed yet), ``postNode`` once it is restored (before it is
Completed), ``preMaintenance`` before the first node starts (the window and freezes allow it)
and ``postMaintenance`` once every node has finished (before the Maintenance does)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from caretaker.domain.common.reasons import Note, Reason
from caretaker.domain.maintenance.actions import Action, ReleaseClaim, ReleaseLease
from caretaker.domain.maintenance.context import NodeContext, NodeStep
from caretaker.domain.maintenance.hook_record import HookRecord
from caretaker.domain.maintenance.hook_spec import HookStage
from caretaker.domain.maintenance.hooks import (
    StageCall,
    StageProgress,
    blocking_failure,
    failure_text,
    put_all,
    run_stage,
)
from caretaker.domain.maintenance.spec import MaintenanceSpec
from caretaker.domain.maintenance.status import (
    ACTIVE_PHASES,
    MaintenancePhase,
    MaintenanceStatus,
    NodePhase,
    NodeRecord,
)
from caretaker.domain.maintenance.summary import Summary, idle_phase
from caretaker.domain.maintenance.world import World


@dataclass(frozen=True)
class NodeHooks:
    """A node's hooks of one stage: ``step`` when they hold the node this round, else the
    entries and Events to carry into the node's next step."""

    step: NodeStep | None
    changed: tuple[HookRecord, ...] = ()
    notes: tuple[Note, ...] = ()


def _call(ctx: NodeContext, record: NodeRecord, stage: HookStage, outcome: str = "") -> StageCall:
    nodes = tuple(n.name for n in ctx.world.status.nodes)
    return StageCall(stage, record.name, nodes, record.osds, outcome)


def pre_node_hooks(record: NodeRecord, ctx: NodeContext) -> NodeHooks:
    """In Preflight, after the Lease and the claim: the node is prepared only once its
    ``preNode`` hooks succeeded."""
    if not ctx.spec.hooks.pre_node:
        return NodeHooks(None)
    progress = run_stage(ctx.world, ctx.spec.hooks, _call(ctx, record, HookStage.PRE_NODE))
    if progress.failure is not None:  # the next rounds give the node back (pre_node_blocked)
        blocked = record.with_(message=f"blocked: {progress.message}")
        return NodeHooks(NodeStep(blocked, None, progress.notes, progress.changed))
    if not progress.done:
        waiting = record.with_(message=progress.message)
        return NodeHooks(NodeStep(waiting, progress.action, progress.notes, progress.changed))
    return NodeHooks(None, progress.changed, progress.notes)


def pre_node_blocked(record: NodeRecord, ctx: NodeContext) -> NodeStep | None:
    """A node whose ``preNode`` hook failed (and the spec was not edited since) leaves nothing
    of Caretaker's behind: its claim and Lease are released and it goes back to Pending."""
    name = record.name
    mine = tuple(
        h for h in ctx.world.status.hooks if (h.stage, h.node) == (HookStage.PRE_NODE, name)
    )
    failure = blocking_failure(ctx.world, mine)
    if failure is None:
        return None
    blocked = record.with_(message=f"blocked: {failure_text(failure)}")
    if ctx.own_claim(name) is not None:
        return NodeStep(blocked, ReleaseClaim(name))
    if ctx.lease_ours(name):
        return NodeStep(blocked, ReleaseLease(name))
    return NodeStep(blocked.with_(phase=NodePhase.PENDING, started_at=None))


def post_node_hooks(record: NodeRecord, ctx: NodeContext) -> NodeHooks:
    """Restored (uncordoned, noout lifted, PGs healthy, claim and Lease released): the node is
    Completed once its ``postNode`` hooks have run; a failed one is reported, nothing undone."""
    if not ctx.spec.hooks.post_node:
        return NodeHooks(None)
    call = _call(ctx, record, HookStage.POST_NODE, str(NodePhase.COMPLETED))
    progress = run_stage(ctx.world, ctx.spec.hooks, call)
    if not progress.done:
        waiting = record.with_(message=progress.message)
        return NodeHooks(NodeStep(waiting, progress.action, progress.notes, progress.changed))
    return NodeHooks(None, progress.changed, progress.notes)


@dataclass(frozen=True)
class MaintenanceHooks:
    """The Maintenance stages' outcome: the status (entries put), an action, Events, and a
    summary while they hold the Maintenance (None when they do not)."""

    status: MaintenanceStatus
    action: Action | None = None
    notes: tuple[Note, ...] = ()
    summary: Summary | None = None


def before_first_start(
    world: World, spec: MaintenanceSpec, before: MaintenanceStatus, after: MaintenanceStatus
) -> MaintenanceHooks:
    """``after`` is ``before`` with the next node started: for the first node ever, the
    ``preMaintenance`` hooks run first (and a failed one keeps every node Pending)."""
    first = before.started_at is None and not any(n.started_at for n in before.nodes)
    starting = any(n.started_at for n in after.nodes)
    if not spec.hooks.pre_maintenance or not first or not starting:
        return MaintenanceHooks(after)
    names = tuple(n.name for n in before.nodes)
    call = StageCall(HookStage.PRE_MAINTENANCE, "", names)
    progress = run_stage(world, spec.hooks, call)
    if progress.done:
        return MaintenanceHooks(_put(after, progress), notes=progress.notes)
    summary = Summary(MaintenancePhase.PREFLIGHT, Reason.PROGRESSING, progress.message)
    if progress.failure is not None:
        summary = Summary(idle_phase(before), Reason.HOOK_FAILED, progress.message, stalled=True)
    return MaintenanceHooks(_put(before, progress), progress.action, progress.notes, summary)


def before_finish(
    world: World, spec: MaintenanceSpec, status: MaintenanceStatus, outcome: MaintenancePhase
) -> MaintenanceHooks:
    """Every node has finished: the ``postMaintenance`` hooks run before the Maintenance is
    marked finished (its outcome is in their body)."""
    if not spec.hooks.post_maintenance:
        return MaintenanceHooks(status)
    names = tuple(n.name for n in status.nodes)
    call = StageCall(HookStage.POST_MAINTENANCE, "", names, (), str(outcome))
    progress = run_stage(world, spec.hooks, call)
    if progress.done:
        return MaintenanceHooks(_put(status, progress), notes=progress.notes)
    summary = Summary(MaintenancePhase.RESTORING, Reason.PROGRESSING, progress.message)
    return MaintenanceHooks(_put(status, progress), progress.action, progress.notes, summary)


def blocked_summary(world: World, status: MaintenanceStatus, summary: Summary) -> Summary:
    """While a failed pre-hook blocks and no node is under way: Stalled, naming the hook."""
    failure = blocking_failure(world, status.hooks)
    active = any(n.phase in ACTIVE_PHASES for n in status.nodes)
    if failure is None or active or status.aborted:
        return summary
    return replace(
        summary,
        phase=idle_phase(status),
        reason=Reason.HOOK_FAILED,
        message=failure_text(failure),
        stalled=True,
        ready=False,
    )


def _put(status: MaintenanceStatus, progress: StageProgress) -> MaintenanceStatus:
    return replace(status, hooks=put_all(status.hooks, progress.changed))
