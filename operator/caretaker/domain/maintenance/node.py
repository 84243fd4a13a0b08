"""The per-node state machine: given a node's record and the world, its next step.

Pending -> Preflight (gates, lease) -> Draining (noout, cordon, evict) -> InMaintenance (hold)
-> Restoring (uncordon, OSDs up, lift noout, PGs healthy, release lease) -> Completed.
Failure or abort: RollingBack (undo only what Caretaker did) -> Failed / Aborted.
Transitions follow what is observed in the world, never what an action is assumed to have done.
"""

from __future__ import annotations

from dataclasses import replace

from caretaker.domain.ceph import gates as ceph_gates
from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.reasons import NORMAL, WARNING, Note, Reason
from caretaker.domain.drain.rules import describe_drain, plan_drain
from caretaker.domain.maintenance.actions import (
    AcquireLease,
    Cordon,
    EvictPods,
    ReleaseClaim,
    ReleaseLease,
    Uncordon,
)
from caretaker.domain.maintenance.claim import claim_domain, release_claim
from caretaker.domain.maintenance.context import NodeContext, NodeStep, wait
from caretaker.domain.maintenance.gates import preflight_gates
from caretaker.domain.maintenance.hold import hold_hint, released, went_away
from caretaker.domain.maintenance.hook_steps import (
    post_node_hooks,
    pre_node_blocked,
    pre_node_hooks,
)
from caretaker.domain.maintenance.noout import (
    noout_action,
    noout_label,
    noout_present,
    plan_noout,
)
from caretaker.domain.maintenance.spec import HoldMode
from caretaker.domain.maintenance.status import NodePhase, NodeRecord, NooutState


def preflight(record: NodeRecord, ctx: NodeContext) -> NodeStep:
    world, spec, name = ctx.world, ctx.spec, record.name
    if not ctx.may_start:
        if ctx.own_claim(name) is not None:
            return NodeStep(record, ReleaseClaim(name))
        if ctx.lease_ours(name):
            return NodeStep(record, ReleaseLease(name))
        return wait(record.with_(phase=NodePhase.PENDING, started_at=None), ctx.window_message)
    blocked = pre_node_blocked(record, ctx)  # a failed preNode hook: give the node back
    if blocked is not None:
        return blocked
    ceph = world.ceph
    if ceph is None:
        return wait(record, f"waiting: Ceph unreachable ({world.ceph_error})")
    for gate in preflight_gates(world, spec, name, record.osds):
        if not gate.holds:
            return wait(record, f"waiting for gate: {gate.waiting}")
    holder = ctx.lease_other(name)
    if holder is None and name in world.holders:  # another tool's: left alone (node_holders)
        return wait(record, f"waiting: node {name} is held by {world.holders[name]}")
    if holder:
        return wait(record, f"waiting: node {name} is held by {holder} (Lease)")
    if not ctx.lease_ours(name):
        return NodeStep(record.with_(message="taking the node's Lease"), AcquireLease(name))
    claim_step = claim_domain(record, ctx)
    if claim_step is not None:
        return claim_step
    hooks = pre_node_hooks(record, ctx)
    if hooks.step is not None:
        return hooks.step
    noout = plan_noout(record, spec, ceph)
    started = record.with_(
        phase=NodePhase.DRAINING,
        noout=noout,
        message="gates hold; protecting Ceph data and draining",
    )
    note = Note(NORMAL, Reason.NODE_DRAINING, f"Gates hold for node {name}; preparing it")
    # No action in this step: the noout intent must be in the status before Ceph is asked.
    return NodeStep(started, None, (*hooks.notes, note), hooks.changed)


def draining(record: NodeRecord, ctx: NodeContext, *notes: Note) -> NodeStep:
    world, spec, name = ctx.world, ctx.spec, record.name
    view = world.nodes.get(name)
    if view is None:
        return fail(record, ctx, f"node {name} disappeared during the drain")
    if record.noout and record.noout.state == NooutState.INTENDED:
        if world.ceph is None:
            return wait(record, f"waiting: Ceph unreachable ({world.ceph_error})", *notes)
        if not noout_present(record.noout, world.ceph):
            return NodeStep(record, noout_action(record.noout, name, lift=False), notes)
        noout = replace(record.noout, state=NooutState.SET, set_at=world.now)
        record = record.with_(noout=noout)
        notes = (
            *notes,
            Note(
                NORMAL,
                Reason.NOOUT_SET,
                f"noout set on {noout_label(noout)} for node {name}",
            ),
        )
    if not view.unschedulable:
        return NodeStep(record.with_(message="cordoning"), Cordon(name), notes)
    if view.cordoned_by == world.identity and not record.cordoned_by_us:
        record = record.with_(cordoned_by_us=True)
        notes = (*notes, Note(NORMAL, Reason.CORDONED, f"Node {name} cordoned"))
    if spec.drain.enabled:
        plan = plan_drain(world.pods.get(name, ()), spec.drain, world.now)
        # drain.timeout counts from the first eviction round, not from waiting for Ceph
        record = record.with_(
            pods_pending=plan.pending, drain_started_at=record.drain_started_at or world.now
        )
        if not plan.done:
            started = record.drain_started_at or world.now
            if world.now - started > spec.drain.timeout:
                return fail(
                    record,
                    ctx,
                    f"drain of {name} did not finish within "
                    f"{format_duration(spec.drain.timeout)}: {describe_drain(plan)}",
                )
            action = None
            if plan.evict or plan.delete:
                pods = tuple((p.namespace, p.name) for p in plan.evict)
                finished = tuple((p.namespace, p.name) for p in plan.delete)
                action = EvictPods(name, pods, spec.drain.grace_period_seconds, finished)
            message = f"draining {name}: {describe_drain(plan)}"
            return NodeStep(record.with_(message=message), action, notes)
    prepared = record.with_(
        phase=NodePhase.IN_MAINTENANCE,
        prepared_at=world.now,
        osds_up_when_prepared=world.ceph is None
        or ceph_gates.osds_up(record.osds, world.ceph.osd_up).holds,
        boot_id_when_prepared=view.boot_id if (view := world.nodes.get(name)) else "",
        message=f"node {name} is ready for maintenance; {hold_hint(ctx)}",
    )
    note = Note(
        NORMAL,
        Reason.NODE_IN_MAINTENANCE,
        f"Node {name} is ready for maintenance ({record.pods_evicted} pods evicted, "
        f"noout: {noout_label(record.noout) if record.noout else 'none'})",
    )
    return NodeStep(prepared, None, (*notes, note))


def in_maintenance(record: NodeRecord, ctx: NodeContext) -> NodeStep:
    world, name, noout = ctx.world, record.name, record.noout
    if noout and noout.state == NooutState.SET and noout.set_at is not None:
        timeout = ctx.spec.ceph.noout_timeout
        if world.now - noout.set_at >= timeout and world.ceph is not None:
            if noout_present(noout, world.ceph):
                return NodeStep(record, noout_action(noout, name, lift=True))
            note = Note(
                WARNING,
                Reason.NOOUT_EXPIRED,
                f"noout on {noout_label(noout)} lifted after nooutTimeout "
                f"{format_duration(timeout)}: Ceph may now restore redundancy",
            )
            record = record.with_(noout=replace(noout, state=NooutState.EXPIRED))
            return NodeStep(record, None, (note,))
    if ctx.spec.hold.mode == HoldMode.AUTO and not record.went_away and went_away(record, ctx):
        record = record.with_(went_away=True)
    done, why = released(record, ctx)
    if not done:
        return wait(record, f"node {name} in maintenance: {why}")
    note = Note(NORMAL, Reason.NODE_RELEASED, f"Node {name} released; restoring it")
    return restoring(
        record.with_(phase=NodePhase.RESTORING, released_at=world.now, message="restoring"),
        ctx,
        note,
    )


def restoring(record: NodeRecord, ctx: NodeContext, *notes: Note) -> NodeStep:
    world, spec, name = ctx.world, ctx.spec, record.name
    view = world.nodes.get(name)
    if view is not None and view.unschedulable and view.cordoned_by == world.identity:
        return NodeStep(record.with_(message="uncordoning"), Uncordon(name), notes)
    if record.cordoned_by_us:
        record = record.with_(cordoned_by_us=False)
        notes = (*notes, Note(NORMAL, Reason.UNCORDONED, f"Node {name} uncordoned"))
    if world.ceph is None:
        return wait(record, f"waiting: Ceph unreachable ({world.ceph_error})", *notes)
    elapsed = world.now - (record.released_at or world.now)
    timeout = spec.ceph.restore_timeout
    for verdict in (ceph_gates.osds_up(record.osds, world.ceph.osd_up),):
        if not verdict.holds:
            if elapsed > timeout:
                return fail(
                    record,
                    ctx,
                    f"{verdict.reason} for longer than restoreTimeout {format_duration(timeout)}",
                )
            return wait(record, f"restoring {name}: {verdict.reason}", *notes)
    step = _lift_noout(record, ctx, notes)
    if step.action is not None:
        return step
    record, notes = step.record, step.notes
    pgs = ceph_gates.pgs_healthy(world.ceph.pg_states, spec.ceph.healthy_pg_states)
    peers = ctx.domain_peers.get(name, ())
    if not pgs.holds and peers:
        # PGs stay degraded while peers of the same failure domain are away: the last node
        # of the domain waits for PG health (and fails loudly on its timeout).
        pgs = ceph_gates.Verdict(True, f"PG health is awaited with {', '.join(peers)}")
    if not pgs.holds:
        if elapsed > timeout:
            return fail(
                record,
                ctx,
                f"{pgs.reason} for longer than restoreTimeout {format_duration(timeout)}",
            )
        return wait(record, f"restoring {name}: {pgs.reason}", *notes)
    release = release_claim(record.with_(message="releasing the failure domain"), ctx, notes)
    if release.action is not None:
        return release
    if ctx.lease_ours(name):
        return NodeStep(
            record.with_(message="releasing the node's Lease"), ReleaseLease(name), notes
        )
    hooks = post_node_hooks(record, ctx)
    if hooks.step is not None:
        return replace(hooks.step, notes=(*notes, *hooks.step.notes))
    done = record.with_(
        phase=NodePhase.COMPLETED,
        finished_at=world.now,
        message=f"node {name} restored: OSDs up, {pgs.reason}",
    )
    completed = Note(NORMAL, Reason.NODE_COMPLETED, f"Node {name} is back in service")
    return NodeStep(done, None, (*notes, *hooks.notes, completed), hooks.changed)


def _lift_noout(record: NodeRecord, ctx: NodeContext, notes: tuple[Note, ...]) -> NodeStep:
    noout, ceph = record.noout, ctx.world.ceph
    if noout is None or not noout.owned or ceph is None:
        return NodeStep(record, None, notes)
    if noout_present(noout, ceph):
        return NodeStep(
            record.with_(message="lifting noout"),
            noout_action(noout, record.name, lift=True),
            notes,
        )
    lifted = record.with_(noout=replace(noout, state=NooutState.LIFTED))
    return NodeStep(
        lifted,
        None,
        (*notes, Note(NORMAL, Reason.NOOUT_LIFTED, f"noout lifted on {noout_label(noout)}")),
    )


def fail(record: NodeRecord, ctx: NodeContext, why: str) -> NodeStep:
    failing = record.with_(phase=NodePhase.ROLLING_BACK, outcome=NodePhase.FAILED, message=why)
    note = Note(WARNING, Reason.NODE_FAILED, f"Node {record.name} failed: {why}; rolling back")
    return rolling_back(failing, ctx, note)


def rolling_back(record: NodeRecord, ctx: NodeContext, *notes: Note) -> NodeStep:
    """Undoes what Caretaker did on the node, nothing else, without waiting for health."""
    world, name = ctx.world, record.name
    view = world.nodes.get(name)
    if view is not None and view.unschedulable and view.cordoned_by == world.identity:
        return NodeStep(record, Uncordon(name), notes)
    if record.noout is not None and record.noout.owned:
        if world.ceph is None:
            return wait(
                record, f"cannot lift noout yet: Ceph unreachable ({world.ceph_error})", *notes
            )
        step = _lift_noout(record, ctx, notes)
        if step.action is not None:
            return NodeStep(record, step.action, step.notes)  # keep the failure's reason
        record, notes = step.record.with_(message=record.message), step.notes
    release = release_claim(record, ctx, notes)
    if release.action is not None:
        return release
    if ctx.lease_ours(name):
        return NodeStep(record, ReleaseLease(name), notes)
    outcome = NodePhase(record.outcome or NodePhase.ABORTED)
    final = record.with_(phase=outcome, finished_at=world.now, cordoned_by_us=False)
    note = Note(NORMAL, Reason.NODE_ROLLED_BACK, f"Node {name}: Caretaker's changes undone")
    return NodeStep(final, None, (*notes, note))


def advance(record: NodeRecord, ctx: NodeContext) -> NodeStep:
    """The next step for one node in an active phase."""
    handlers = {
        NodePhase.PREFLIGHT: preflight,
        NodePhase.DRAINING: draining,
        NodePhase.IN_MAINTENANCE: in_maintenance,
        NodePhase.RESTORING: restoring,
        NodePhase.ROLLING_BACK: rolling_back,
    }
    handler = handlers.get(record.phase)
    return handler(record, ctx) if handler else NodeStep(record)
