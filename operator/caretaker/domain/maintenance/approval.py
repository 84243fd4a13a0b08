"""Approvals before a start (``spec.approval``): with ``required`` the first node of the
Maintenance starts only once the Maintenance is approved; with ``perNode`` each node starts
(Pending -> Preflight) only once it is approved itself. Pure.

The live spec and annotation are the source: until a start, the status mirrors the approval
found there (who, and when the operator first saw it), and an approval removed before the start
is withdrawn. A start keeps the approval it was made with; an approval never stops anything
under way, and abort, suspend and freezes work as without one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from caretaker.domain.common.conditions import FALSE, TRUE, Condition
from caretaker.domain.common.reasons import NORMAL, Note, Reason
from caretaker.domain.maintenance.approval_record import ApprovalRecord
from caretaker.domain.maintenance.approval_spec import (
    WHOLE,
    Approval,
    parse_approved_annotation,
)
from caretaker.domain.maintenance.spec import MaintenanceSpec
from caretaker.domain.maintenance.status import (
    ACTIVE_PHASES,
    MaintenancePhase,
    MaintenanceStatus,
    NodePhase,
    NodeRecord,
)
from caretaker.domain.maintenance.summary import Summary
from caretaker.domain.maintenance.world import World

CONDITION = "Approved"
WAITING = "waiting for approval of "
WHOLE_LABEL = "Maintenance"  # status.awaitingApproval when the Maintenance itself waits


def live_approvals(world: World, spec: MaintenanceSpec) -> tuple[tuple[Approval, ...], str]:
    """spec.approvals, then the annotation's entries; and why the annotation cannot be read
    ("" when it can: a malformed annotation approves nothing)."""
    annotated, problem = parse_approved_annotation(world.approved_annotation)
    return (*spec.approvals, *annotated), problem


def approver(approvals: Sequence[Approval], node: str, recorded: str = "") -> str:
    """Who approves ``node`` ("*": the Maintenance): the approver already recorded while still
    given, else the first; "" when nobody."""
    names = [a.by for a in approvals if a.approves(node)]
    return recorded if recorded in names else (names[0] if names else "")


def started(status: MaintenanceStatus) -> bool:
    return status.started_at is not None or any(n.phase != NodePhase.PENDING for n in status.nodes)


def maintenance_approved(spec: MaintenanceSpec, status: MaintenanceStatus) -> bool:
    return not spec.approval.required or status.approval is not None or started(status)


def node_approved(spec: MaintenanceSpec, record: NodeRecord) -> bool:
    return not spec.approval.per_node or bool(record.approved_by)


def command(identity: str, node: str = "") -> str:
    namespace, _, name = identity.partition("/")
    return f"kubectl caretaker approve {name} -n {namespace}" + (f" --node {node}" if node else "")


def _record(previous: ApprovalRecord | None, by: str, now: datetime) -> ApprovalRecord | None:
    if not by:
        return None
    return previous if previous is not None and previous.by == by else ApprovalRecord(by, now)


def _change_note(what: str, before: ApprovalRecord | None, after: ApprovalRecord | None) -> Note:
    if after is None:
        assert before is not None
        text = f"approval of {what} by {before.by} withdrawn before the start"
        return Note(NORMAL, Reason.APPROVAL_WITHDRAWN, text[0].upper() + text[1:])
    return Note(NORMAL, Reason.APPROVED, f"{what[0].upper()}{what[1:]} approved by {after.by}")


def record_approvals(
    world: World, spec: MaintenanceSpec, status: MaintenanceStatus
) -> tuple[MaintenanceStatus, tuple[Note, ...]]:
    """Mirrors the live approvals into the status for what has not started yet, with an Event
    for each approval recorded or withdrawn; the node records that wait say so."""
    if not spec.approval.needed:
        return status, ()
    approvals, _problem = live_approvals(world, spec)
    notes: list[Note] = []
    if spec.approval.required and not started(status):
        before = status.approval
        after = _record(before, approver(approvals, WHOLE, before.by if before else ""), world.now)
        if after != before:
            status = replace(status, approval=after)
            notes.append(_change_note("the Maintenance", before, after))
    if not spec.approval.per_node:
        return status, tuple(notes)
    for record in status.nodes:
        if record.phase != NodePhase.PENDING:
            continue
        before = (
            ApprovalRecord(record.approved_by, record.approved_at) if record.approved_at else None
        )
        after = _record(before, approver(approvals, record.name, record.approved_by), world.now)
        if after != before:
            notes.append(_change_note(f"node {record.name}", before, after))
        message = record.message
        if after is None:
            message = f"{WAITING}node {record.name}: {command(world.identity, record.name)}"
        elif message.startswith(WAITING):
            message = ""
        status = status.replace_node(
            record.with_(
                approved_by=after.by if after else "",
                approved_at=after.at if after else None,
                message=message,
            )
        )
    return status, tuple(notes)


def awaited(world: World, spec: MaintenanceSpec, status: MaintenanceStatus) -> tuple[str, str]:
    """What waits for an approval now: (``Maintenance`` or the node, the message saying how to
    give it); ("", "") when nothing does."""
    failed = any(NodePhase.FAILED in (n.phase, n.outcome) for n in status.nodes)
    if status.aborted or failed:
        return "", ""
    if not maintenance_approved(spec, status):
        return WHOLE_LABEL, f"{WAITING}the Maintenance: {command(world.identity)}"
    if spec.approval.per_node:
        waiting = [
            n.name
            for n in status.nodes
            if n.phase == NodePhase.PENDING and not node_approved(spec, n)
        ]
        if waiting:
            more = f" (and {len(waiting) - 1} more node(s))" if len(waiting) > 1 else ""
            first = waiting[0]
            return first, f"{WAITING}node {first}{more}: {command(world.identity, first)}"
    return "", ""


def approval_summary(
    world: World, spec: MaintenanceSpec, status: MaintenanceStatus, summary: Summary
) -> Summary:
    """The summary of a Maintenance with no node under way whose next start waits for an
    approval: it says which, and how to give it (the window's word, if any, after)."""
    waits = summary.phase in (MaintenancePhase.PENDING, MaintenancePhase.SCHEDULED)
    idle = summary.reason in (Reason.PROGRESSING, Reason.WAITING_FOR_WINDOW)
    if not waits or not idle or any(n.phase in ACTIVE_PHASES for n in status.nodes):
        return summary
    _label, message = awaited(world, spec, status)
    if not message:
        return summary
    _approvals, problem = live_approvals(world, spec)
    message += f" ({problem}; it approves nothing)" if problem else ""
    message += f"; {summary.message}" if summary.reason == Reason.WAITING_FOR_WINDOW else ""
    return replace(summary, reason=Reason.AWAITING_APPROVAL, message=message)


def approved_text(status: MaintenanceStatus) -> str:
    given = [f"the Maintenance by {status.approval.by}"] if status.approval else []
    given += [f"node {n.name} by {n.approved_by}" for n in status.nodes if n.approved_by]
    return "approved: " + "; ".join(given) if given else "nothing waits for an approval"


def approval_condition(
    world: World, status: MaintenanceStatus, previous: Sequence[Mapping[str, Any]]
) -> Condition | None:
    """``Approved`` False (AwaitingApproval, what and how) while a start waits for an approval,
    True once nothing does; None when no approval is asked for and none ever was."""
    spec = world.spec
    if spec is None:
        return None  # an invalid spec: the condition stays as it was
    if not spec.approval.needed:
        if any(c.get("type") == CONDITION for c in previous):
            return Condition(CONDITION, TRUE, Reason.APPROVAL_NOT_REQUIRED, "")
        return None
    _approvals, problem = live_approvals(world, spec)
    suffix = f" ({problem}; it approves nothing)" if problem else ""
    _label, message = awaited(world, spec, status)
    if message:
        return Condition(CONDITION, FALSE, Reason.AWAITING_APPROVAL, message + suffix)
    return Condition(CONDITION, TRUE, Reason.APPROVED, approved_text(status) + suffix)


def awaiting_label(world: World, status: MaintenanceStatus) -> str | None:
    """``status.awaitingApproval`` (a column of ``kubectl get maintenance``): ``Maintenance``,
    or the node whose start waits for an approval; None when nothing waits."""
    if world.spec is None:
        return None
    label, _message = awaited(world, world.spec, status)
    return label or None


def approval_check(world: World, spec: MaintenanceSpec, node: str) -> tuple[bool, str] | None:
    """For ``caretaker plan``: whether ``node`` could start as far as approvals go, and why;
    None when the Maintenance asks for none."""
    if not spec.approval.needed:
        return None
    approvals, problem = live_approvals(world, spec)
    missing = []
    if spec.approval.required and not approver(approvals, WHOLE):
        missing.append(f"the Maintenance ({command(world.identity)})")
    if spec.approval.per_node and not approver(approvals, node):
        missing.append(f"node {node} ({command(world.identity, node)})")
    suffix = f"; {problem}" if problem else ""
    if missing:
        return False, f"{WAITING}{' and '.join(missing)}{suffix}"
    who = sorted({a.by for a in approvals if a.node in (WHOLE, node)})
    return True, f"approved by {', '.join(who)}{suffix}"
