"""Which Maintenance notifications are due, and what they say; decided from the status the
reconcile is about to write (and the one it read). Pure; ``handlers.maintenance.notifications``
sends them and ``notify_record`` keeps what reached whom.

A notification is due when its fact becomes true between the status read and the status written
(the first node started, a node became held, ...), and its key is not recorded yet. The record is
written in the same status write as the fact, so a restart neither sends it again nor loses it.
Texts carry no links: they say what happened and what a person can do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from caretaker.constants import RELEASE_ANNOTATION
from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.timestamps import format_time
from caretaker.domain.maintenance.noout import noout_label
from caretaker.domain.maintenance.notify_spec import NotifyEvent
from caretaker.domain.maintenance.spec import HoldMode, MaintenanceSpec
from caretaker.domain.maintenance.status import (
    MaintenancePhase,
    MaintenanceStatus,
    NodePhase,
    NodeRecord,
)
from caretaker.domain.maintenance.summary import Summary


@dataclass(frozen=True)
class Announcement:
    """One notification: ``key`` is unique within the Maintenance ("NodeReady/node-a")."""

    key: str
    event: NotifyEvent
    text: str
    node: str = ""
    osds: tuple[int, ...] = ()


@dataclass(frozen=True)
class Moment:
    """What the round is about: the Maintenance, its spec in force, the status read and the
    status and summary about to be written."""

    namespace: str
    name: str
    spec: MaintenanceSpec
    before: MaintenanceStatus
    after: MaintenanceStatus
    summary: Summary
    phase_before: str  # status.phase as read ("" at first)
    stalled_before: bool  # the Stalled condition as read
    released_by: frozenset[str]  # nodes named by spec.release or the annotation ("*": all)
    now: datetime


def due(moment: Moment, recorded: Iterable[str]) -> tuple[Announcement, ...]:
    """The notifications that became due this round and are not recorded yet, in event order."""
    events = moment.spec.notifications.events if moment.spec.notifications else frozenset()
    known = set(recorded)
    found = [a for a in _happened(moment) if a.event in events and a.key not in known]
    return tuple(found)


def _happened(m: Moment) -> list[Announcement]:
    found: list[Announcement] = []
    if m.before.started_at is None and m.after.started_at is not None:
        found.append(_started(m))
    before = {n.name: n for n in m.before.nodes}
    for node in m.after.nodes:
        old = before.get(node.name)
        if _became(old, node, NodePhase.IN_MAINTENANCE):
            found.append(_node_ready(m, node))
        if node.released_at is not None and (old is None or old.released_at is None):
            found.append(_released(m, node))
        if _became(old, node, NodePhase.COMPLETED):
            found.append(_node_completed(m, node))
    phase = m.summary.phase
    if phase == MaintenancePhase.COMPLETED and m.phase_before != phase:
        found.append(_completed(m))
    if phase in (MaintenancePhase.FAILED, MaintenancePhase.ABORTED) and m.phase_before != phase:
        found.append(_failed(m))
    elif m.summary.stalled and not m.stalled_before:
        found.append(_stalled(m))
    return found


def _became(old: NodeRecord | None, new: NodeRecord, phase: NodePhase) -> bool:
    return new.phase == phase and (old is None or old.phase != phase)


def _ref(m: Moment) -> str:
    return f"Maintenance {m.namespace}/{m.name}"


def _osds(osds: tuple[int, ...]) -> str:
    return ",".join(str(i) for i in osds)


def _started(m: Moment) -> Announcement:
    nodes = [n.name for n in m.after.nodes]
    first = [n.name for n in m.after.nodes if n.started_at is not None]
    text = (
        f"{_ref(m)} started: preparing node {', '.join(first) or nodes[0]} "
        f"({len(nodes)} node(s) in all: {', '.join(nodes)}). Caretaker says here when a node "
        f"is ready for its work. To stop and undo: kubectl caretaker abort {m.name} "
        f"-n {m.namespace}"
    )
    return Announcement(str(NotifyEvent.STARTED), NotifyEvent.STARTED, text)


def _node_ready(m: Moment, node: NodeRecord) -> Announcement:
    release = f"kubectl caretaker release {m.name} {node.name} -n {m.namespace}"
    hold = m.spec.hold
    if hold.mode == HoldMode.DURATION and hold.duration:
        then = f"Caretaker restores it by itself after {format_duration(hold.duration)}; "
        then += f"to restore it earlier: {release}"
    elif hold.mode == HoldMode.AUTO:
        then = "Caretaker restores it once it has gone down and come back; or release it: "
        then += release
    else:
        then = f"When the work is done, release it: {release}"
    text = (
        f"Node {node.name} is drained and ready for the technician ({_ref(m)}). "
        f"{_osd_state(node)} {then} (or the annotation {RELEASE_ANNOTATION}={node.name})."
    )
    return _for_node(NotifyEvent.NODE_READY, node, text)


def _osd_state(node: NodeRecord) -> str:
    if not node.osds:
        return "It carries no OSDs."
    osds = f"OSDs {_osds(node.osds)}"
    state = "are still up" if node.osds_up_when_prepared else "are down"
    if node.noout is not None and node.noout.owned:
        return f"Its {osds} {state} and noout is set on {noout_label(node.noout)}."
    return f"Its {osds} {state}; noout is not set by Caretaker (spec.ceph.noout)."


def _released(m: Moment, node: NodeRecord) -> Announcement:
    by_person = node.name in m.released_by or "*" in m.released_by
    why = "was released" if by_person else "ended its hold"
    text = (
        f"Node {node.name} {why} ({_ref(m)}): Caretaker is restoring it (uncordon, wait for "
        f"OSDs {_osds(node.osds) or 'none'} up and healthy placement groups, lift noout)."
    )
    return _for_node(NotifyEvent.RELEASED, node, text)


def _node_completed(m: Moment, node: NodeRecord) -> Announcement:
    done = sum(n.phase == NodePhase.COMPLETED for n in m.after.nodes)
    text = (
        f"Node {node.name} is back in service ({_ref(m)}): uncordoned, OSDs "
        f"{_osds(node.osds) or 'none'} up, placement groups healthy. "
        f"{done} of {len(m.after.nodes)} node(s) done."
    )
    return _for_node(NotifyEvent.NODE_COMPLETED, node, text)


def _completed(m: Moment) -> Announcement:
    nodes = ", ".join(n.name for n in m.after.nodes)
    text = f"{_ref(m)} completed: every node is back in service ({nodes}). Nothing to do."
    return Announcement(str(NotifyEvent.COMPLETED), NotifyEvent.COMPLETED, text)


def _failed(m: Moment) -> Announcement:
    aborted = m.summary.phase == MaintenancePhase.ABORTED
    what = "was aborted" if aborted else f"failed: {m.summary.message}"
    undone = [_undone(n) for n in m.after.nodes if n.phase in (NodePhase.FAILED, NodePhase.ABORTED)]
    undid = "; ".join(u for u in undone if u) or "nothing was left to undo"
    kept = [n.name for n in m.after.nodes if n.phase == NodePhase.COMPLETED]
    text = (
        f"{_ref(m)} {what}. Caretaker undid its changes: {undid}. "
        f"Completed before: {', '.join(kept) or 'none'}. Look at kubectl describe maintenance "
        f"{m.name} -n {m.namespace}; fix the cause, then create a new Maintenance for the rest."
    )
    return Announcement(str(NotifyEvent.FAILED), NotifyEvent.FAILED, text)


def _undone(node: NodeRecord) -> str:
    parts = []
    if not node.cordoned_by_us:
        parts.append("uncordoned")
    if node.noout is not None and not node.noout.owned:
        parts.append(f"noout on {noout_label(node.noout)} lifted or left as found")
    return f"node {node.name} {' and '.join(parts)}" if parts else ""


def _stalled(m: Moment) -> Announcement:
    text = (
        f"{_ref(m)} is stalled ({m.summary.reason}): {m.summary.message}. It will not go on by "
        f"itself: fix the cause, or stop and undo it with kubectl caretaker abort {m.name} "
        f"-n {m.namespace}."
    )
    key = f"{NotifyEvent.STALLED}/{format_time(m.now)}"  # one per stall episode
    return Announcement(key, NotifyEvent.STALLED, text)


def _for_node(event: NotifyEvent, node: NodeRecord, text: str) -> Announcement:
    return Announcement(f"{event}/{node.name}", event, text, node.name, node.osds)
