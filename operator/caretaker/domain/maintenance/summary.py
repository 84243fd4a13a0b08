"""What `kubectl get maintenance` shows: the phase, the message and the kstatus conditions of a
Maintenance, summed up from its node records, its window and what Ceph said."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from caretaker.domain.ceph.topology import REFUSED
from caretaker.domain.common.conditions import Condition, kstatus
from caretaker.domain.common.reasons import Reason
from caretaker.domain.common.timestamps import format_time
from caretaker.domain.common.windows import can_start, final_end, is_over, window_state
from caretaker.domain.maintenance.freeze import frozen_message
from caretaker.domain.maintenance.spec import MaintenanceSpec
from caretaker.domain.maintenance.status import (
    ACTIVE_PHASES,
    MaintenancePhase,
    MaintenanceStatus,
    NodePhase,
)
from caretaker.domain.maintenance.world import World

PHASE_PRIORITY = (
    (NodePhase.ROLLING_BACK, MaintenancePhase.RESTORING),
    (NodePhase.RESTORING, MaintenancePhase.RESTORING),
    (NodePhase.IN_MAINTENANCE, MaintenancePhase.IN_MAINTENANCE),
    (NodePhase.DRAINING, MaintenancePhase.DRAINING),
    (NodePhase.PREFLIGHT, MaintenancePhase.PREFLIGHT),
)


@dataclass(frozen=True)
class Summary:
    phase: MaintenancePhase
    reason: str
    message: str
    ready: bool = False
    stalled: bool = False
    next_window: str = ""
    opens_at: datetime | None = None  # Scheduled: when the window opens

    def conditions(self) -> list[Condition]:
        return kstatus(self.ready, self.reason, self.message, stalled=self.stalled)


def stamp(moment: datetime | None) -> str:
    return format_time(moment) if moment else ""


def window_message(world: World, spec: MaintenanceSpec) -> str:
    state = window_state(spec.window, world.now)
    if state.next_start:
        return f"waiting for the maintenance window at {stamp(state.next_start)}"
    if is_over(spec.window, world.now):
        return "the maintenance window is over"
    return "the open window is too short for another node (spec.strategy.nodeDurationEstimate)"


def idle_phase(status: MaintenanceStatus) -> MaintenancePhase:
    for phase, label in PHASE_PRIORITY:
        if any(n.phase == phase for n in status.nodes):
            return label
    return MaintenancePhase.PENDING


def summarize(world: World, spec: MaintenanceSpec, status: MaintenanceStatus) -> Summary:
    """The phase and kstatus conditions that `kubectl get maintenance` shows."""
    nodes = status.nodes
    active = [n for n in nodes if n.phase in ACTIVE_PHASES]
    state = window_state(spec.window, world.now)
    next_window = "open" if state.is_open else stamp(state.next_start)
    if active:
        phase = idle_phase(status)
        message = "; ".join(n.message for n in active if n.message) or phase
        return Summary(phase, Reason.PROGRESSING, message, next_window=next_window)
    done = sum(n.phase == NodePhase.COMPLETED for n in nodes)
    if status.aborted:
        return Summary(
            MaintenancePhase.ABORTED,
            Reason.ABORTED,
            "aborted; Caretaker's changes were undone",
            stalled=False,
            ready=True,
        )
    failed = [n for n in nodes if n.phase == NodePhase.FAILED]
    if failed:
        return Summary(
            MaintenancePhase.FAILED,
            Reason.FAILED,
            f"node {failed[0].name} failed: {failed[0].message}",
            stalled=True,
        )
    if nodes and done == len(nodes):
        return Summary(
            MaintenancePhase.COMPLETED,
            Reason.COMPLETED,
            f"all {done} node(s) maintained",
            ready=True,
        )
    if spec.suspend:
        return Summary(
            MaintenancePhase.SUSPENDED,
            Reason.SUSPENDED,
            "suspended by spec.suspend",
            next_window=next_window,
        )
    if is_over(spec.window, world.now):
        return Summary(
            MaintenancePhase.PENDING,
            Reason.WINDOW_OVER,
            f"spec.window: the one-off window ended at {stamp(final_end(spec.window))} with "
            f"{len(nodes) - done} node(s) left; set a new spec.window",
            stalled=True,
        )
    if world.freeze.frozen:
        return Summary(
            MaintenancePhase.PENDING,
            Reason.FROZEN,
            frozen_message(world.freeze),
            next_window=next_window,
        )
    if world.ceph is None:
        return Summary(
            MaintenancePhase.PENDING,
            Reason.CEPH_UNAVAILABLE,
            f"Ceph unreachable: {world.ceph_error}",
            next_window=next_window,
        )
    if not can_start(spec.window, world.now, spec.node_duration_estimate):
        return Summary(
            MaintenancePhase.SCHEDULED,
            Reason.WAITING_FOR_WINDOW,
            window_message(world, spec),
            next_window=next_window,
            opens_at=state.next_start,
        )
    refused = [n for n in nodes if n.phase == NodePhase.PENDING and n.message.startswith(REFUSED)]
    if refused:
        more = f" (and {len(refused) - 1} more node(s))" if len(refused) > 1 else ""
        return Summary(
            MaintenancePhase.PENDING,
            Reason.NODE_REFUSED,
            refused[0].message + more,
            stalled=True,
            next_window=next_window,
        )
    left = delay_left(status, spec, world.now)
    if left > timedelta(0):
        return Summary(
            MaintenancePhase.PENDING,
            Reason.PROGRESSING,
            f"next node after delayBetweenNodes ({int(left.total_seconds())}s left)",
            next_window=next_window,
        )
    return Summary(
        MaintenancePhase.PENDING, Reason.PROGRESSING, "starting", next_window=next_window
    )


def delay_left(status: MaintenanceStatus, spec: MaintenanceSpec, now: datetime) -> timedelta:
    finished = [n.finished_at for n in status.nodes if n.finished_at]
    if not finished or not spec.delay_between_nodes:
        return timedelta(0)
    return max(finished) + spec.delay_between_nodes - now
