"""What a Maintenance would do from a snapshot of the world, for `caretaker plan`. Pure.

The order of the nodes and which may run together (one failure domain, ``maxUnavailable``),
their OSDs, which preflight gates hold for each node right now, when the window opens, and the
operator's own first decision: the state machine is asked, not imitated.

The snapshot must carry Ceph's ok-to-stop answer, the PromQL gates and the Lease of every
target node (the operator asks only for the node it is about to start).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from caretaker.domain.ceph.cluster import CephCluster
from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.windows import (
    AlwaysOpen,
    OneOffWindow,
    RecurringWindow,
    is_over,
    next_opportunity,
    window_state,
)
from caretaker.domain.maintenance.actions import AcquireLease
from caretaker.domain.maintenance.approval import approval_check
from caretaker.domain.maintenance.context import NodeContext
from caretaker.domain.maintenance.gates import preflight_gates
from caretaker.domain.maintenance.machine import next_step, targets
from caretaker.domain.maintenance.spec import MaintenanceSpec
from caretaker.domain.maintenance.status import ACTIVE_PHASES, may_join
from caretaker.domain.maintenance.world import World


@dataclass(frozen=True)
class Check:
    name: str
    holds: bool
    detail: str
    blocking: bool = True  # False: worth knowing, but it does not hold the node back


@dataclass(frozen=True)
class NodePlan:
    name: str
    batch: int  # nodes of one batch may be away together (same failure domain)
    osds: tuple[int, ...]
    failure_domain: str
    checks: tuple[Check, ...]

    @property
    def gates_hold(self) -> bool:
        return all(c.holds for c in self.checks if c.blocking)


@dataclass(frozen=True)
class WindowPlan:
    kind: str  # none, one-off, recurring
    description: str
    time_zone: str
    is_open: bool
    ends_at: datetime | None
    next_start: datetime | None  # the next opening after now
    next_node_start: datetime | None  # when a node (nodeDurationEstimate) could start
    over: bool  # a one-off window that has closed for good


@dataclass(frozen=True)
class MaintenancePlan:
    identity: str
    now: datetime
    nodes: tuple[NodePlan, ...]
    window: WindowPlan
    next_step: str  # what the operator would do first, in its words
    would_start: str | None  # the node it would start now, if any
    max_unavailable: int = 1
    ceph_error: str = ""


def failure_domain(ceph: CephCluster, node: str) -> str:
    """The failure domain a node counts in, as the state machine assigns it on start."""
    return ceph.domain_of(node).domain or "none: the node is refused"


def batches(names: Sequence[str], domains: Mapping[str, str], max_unavailable: int) -> list[int]:
    """Batch number (from 1) per node: a node starts only while the nodes away are of its
    failure domain and fewer than ``max_unavailable``; others wait for the batch to finish."""
    pending = list(names)
    number: dict[str, int] = {}
    batch = 0
    while pending:
        batch += 1
        first = pending.pop(0)
        group = [first]
        for name in list(pending):
            if may_join([domains[g] for g in group], domains[name], max_unavailable):
                group.append(name)
                pending.remove(name)
        number.update(dict.fromkeys(group, batch))
    return [number[name] for name in names]


def node_checks(world: World, spec: MaintenanceSpec, name: str) -> tuple[Check, ...]:
    """The preflight gates of one node as they stand, plus what is worth knowing about it."""
    approval = approval_check(world, spec, name)  # spec.approval: checked before the gates
    checks: list[Check] = [Check("approval", *approval)] if approval else []
    view = world.nodes.get(name)
    if view is None:
        checks.append(Check("node", False, f"no Node named {name} in the cluster"))
    elif view.ready is False:
        checks.append(Check("node", False, "NotReady (maintenance proceeds anyway)", False))
    ceph = world.ceph
    osds = ceph.osds_of(name) if ceph else ()
    checks += [Check(g.name, g.holds, g.detail) for g in preflight_gates(world, spec, name, osds)]
    if ceph is not None and ceph.domain_of(name).refused:
        checks.append(Check("OSDs", False, ceph.domain_of(name).problem))
    context = NodeContext(world, spec)
    holder = context.lease_other(name)
    if holder:
        checks.append(Check("Lease", False, f"held by {holder}"))
    else:
        mine = context.lease_ours(name)
        checks.append(Check("Lease", True, "held by this Maintenance" if mine else "free"))
    if view is not None and view.unschedulable:
        if view.cordoned_by == world.identity:
            checks.append(Check("cordon", True, "already cordoned by this Maintenance", False))
        else:
            detail = "already cordoned, not by Caretaker: it stays cordoned afterwards"
            checks.append(Check("cordon", False, detail, False))
    return tuple(checks)


def window_plan(spec: MaintenanceSpec, now: datetime) -> WindowPlan:
    window = spec.window
    state = window_state(window, now)
    estimate = spec.node_duration_estimate
    if isinstance(window, AlwaysOpen):
        kind, zone, text = "none", "UTC", "no window: disruptive steps may start at any time"
    elif isinstance(window, OneOffWindow):
        length = format_duration(window.duration)
        kind, zone, text = "one-off", "UTC", f"one-off from {_utc(window.start)} for {length}"
    else:
        assert isinstance(window, RecurringWindow)
        zone = window.time_zone.key
        length = format_duration(window.duration)
        kind, text = "recurring", f"'{window.schedule}' for {length} in {zone}"
    return WindowPlan(
        kind=kind,
        description=text,
        time_zone=zone,
        is_open=state.is_open,
        ends_at=state.ends_at,
        next_start=state.next_start,
        next_node_start=next_opportunity(window, now, estimate),
        over=is_over(window, now),
    )


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def plan_maintenance(world: World, spec: MaintenanceSpec) -> MaintenancePlan:
    """The plan from a snapshot in which every target node's gates, ok-to-stop and Lease are
    known; ``world.status`` should be empty (a Maintenance that has not started yet)."""
    names = targets(world, spec)
    ceph = world.ceph
    domains = {n: failure_domain(ceph, n) if ceph else "unknown (Ceph unreachable)" for n in names}
    numbers = batches(names, domains, spec.max_unavailable)
    nodes = tuple(
        NodePlan(
            name=name,
            batch=number,
            osds=ceph.osds_of(name) if ceph else (),
            failure_domain=domains[name],
            checks=node_checks(world, spec, name),
        )
        for name, number in zip(names, numbers, strict=True)
    )
    message, starting = first_decision(world)
    return MaintenancePlan(
        identity=world.identity,
        now=world.now,
        nodes=nodes,
        window=window_plan(spec, world.now),
        next_step=message,
        would_start=starting,
        max_unavailable=spec.max_unavailable,
        ceph_error=world.ceph_error if ceph is None else "",
    )


def first_decision(world: World) -> tuple[str, str | None]:
    """What the operator's state machine would decide in its first reconciles: its message,
    and the node it would start (take the Lease of) right now, if any."""
    step = next_step(world)
    for _round in range(2):  # Pending -> Preflight, then Preflight's gates
        active = [n for n in step.status.nodes if n.phase in ACTIVE_PHASES]
        if step.action is not None or not active:
            break
        world = replace(world, status=step.status)
        step = next_step(world)
    if isinstance(step.action, AcquireLease):
        return f"would start node {step.action.node} now: its gates hold", step.action.node
    active = [n for n in step.status.nodes if n.phase in ACTIVE_PHASES]
    if active and active[0].message:
        return f"node {active[0].name}: {active[0].message}", None
    return step.summary.message, None
