"""The hold after a node is prepared: when the team's work is over and restoring may begin."""

from __future__ import annotations

from caretaker.domain.ceph import gates as ceph_gates
from caretaker.domain.common.durations import format_duration
from caretaker.domain.maintenance.context import NodeContext
from caretaker.domain.maintenance.spec import HoldMode
from caretaker.domain.maintenance.status import NodeRecord


def hold_hint(ctx: NodeContext) -> str:
    hold = ctx.spec.hold
    if hold.mode == HoldMode.DURATION and hold.duration:
        return f"continuing after {format_duration(hold.duration)}"
    if hold.mode == HoldMode.AUTO:
        return "continuing once the node has gone down and is back (or on release)"
    return "release it with spec.release or the annotation caretaker.dev/release"


def released_by_team(record: NodeRecord, ctx: NodeContext) -> bool:
    """spec.release or the caretaker.dev/release annotation names the node (or "*")."""
    annotated = {v.strip() for v in ctx.world.release_annotation.split(",") if v.strip()}
    wanted = set(ctx.spec.release) | annotated
    return record.name in wanted or "*" in wanted


def went_away(record: NodeRecord, ctx: NodeContext) -> bool:
    """The work (e.g. a reboot) has begun: the node is NotReady, it has booted again since it
    was prepared (a reboot quicker than Kubernetes' NotReady grace period is never seen
    NotReady), or OSDs that were still up after the drain are down. OSDs that the drain itself
    stopped (OSD pods, as on Rook) say nothing then."""
    view, ceph = ctx.world.nodes.get(record.name), ctx.world.ceph
    if view is not None and view.ready is False:
        return True
    before = record.boot_id_when_prepared
    if view is not None and before and view.boot_id and view.boot_id != before:
        return True
    if not record.osds_up_when_prepared:
        return False
    return ceph is not None and not ceph_gates.osds_up(record.osds, ceph.osd_up).holds


def released(record: NodeRecord, ctx: NodeContext) -> tuple[bool, str]:
    """Whether the hold on a prepared node is over, and if not, what it waits for.

    A release by the team ends any hold. ``auto`` ends once the node has gone away (OSDs down
    or NotReady) and come back: Ready again, and its OSDs up again unless the drain stopped them
    (OSD pods return only once restoring has uncordoned the node, and restoring waits for them);
    ``duration`` after the time; ``hold.duration`` is also the minimum for ``auto``.
    """
    world, hold, name = ctx.world, ctx.spec.hold, record.name
    if released_by_team(record, ctx):
        return True, ""
    held_for = world.now - (record.prepared_at or world.now)
    if hold.mode == HoldMode.MANUAL:
        return False, hold_hint(ctx)
    if hold.duration and held_for < hold.duration:
        return False, f"held for {format_duration(held_for)} of {format_duration(hold.duration)}"
    if hold.mode == HoldMode.AUTO:
        if not record.went_away:
            return False, f"waiting for node {name} to go down for its work, or a release"
        view = world.nodes.get(name)
        if view is not None and view.ready is False:
            return False, f"waiting for node {name} to be Ready"
        if not record.osds_up_when_prepared:
            return True, ""
        if world.ceph is None:
            return False, f"waiting: Ceph unreachable ({world.ceph_error})"
        verdict = ceph_gates.osds_up(record.osds, world.ceph.osd_up)
        return verdict.holds, verdict.reason
    return True, ""
