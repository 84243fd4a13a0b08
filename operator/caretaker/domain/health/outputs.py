"""What one evaluation asks the executor to do. Pure data.

The executor's order makes restarts safe: (1) create ``records`` (a name that exists already is
fine: that is the dedup) and apply ``record_updates``; (2) write ``status`` and the merged
``conditions``; (3) post ``notes`` as Events; (4) send ``notifications`` and run ``actions``;
(5) patch each record with the result (``PlannedAction.success_result`` on success, Failed
otherwise; for a notification ``paging.after_send``: delivered, or when to send it again). A
crash before (2) is repaired by the next evaluation, which finds the records by their keys and
adopts them instead of planning the same step again; a notification whose record does not say
it was delivered is sent again (at least once: the same keys make a resend harmless).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from caretaker.constants import Severity
from caretaker.domain.common.conditions import Condition
from caretaker.domain.common.reasons import Note
from caretaker.domain.disruption.ledger import Claim
from caretaker.domain.health.actions import Action, LadderStep, Verify
from caretaker.domain.health.delivery import Delivery
from caretaker.domain.health.notify_spec import Receiver
from caretaker.domain.health.record_updates import RecordUpdate
from caretaker.domain.health.records import RemediationRecord
from caretaker.domain.health.spec import RuleSpec
from caretaker.domain.health.status import HealthPolicyStatus, Result, TargetStatus
from caretaker.domain.health.targets import Target
from caretaker.domain.health.text import summary


class NotificationEvent(StrEnum):
    TRIGGER = "trigger"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class PlannedAction:
    """One ladder step to run now (never a notify step: those are Notifications)."""

    key: str  # idempotency key: send it along (webhook header) and never run a key twice
    record_name: str
    rule: str
    target: Target
    severity: Severity
    step: int
    action: Action
    disruptive: bool
    verify: Verify | None
    success_result: Result  # Verifying when the step has a verification, else Succeeded
    summary: str
    claim: Claim | None = None  # entered in the disruption ledger before the action runs


def planned_step(
    rule: RuleSpec,
    item: TargetStatus,
    index: int,
    step: LadderStep,
    *,
    key: str,
    record_name: str,
    claim: Claim | None = None,
) -> PlannedAction:
    """Ladder step ``index`` of ``rule`` to run now on the target of ``item``."""
    return PlannedAction(
        key=key,
        record_name=record_name,
        rule=rule.name,
        target=item.target,
        severity=rule.severity,
        step=index,
        action=step.action,
        disruptive=step.disruptive,
        verify=step.verify,
        success_result=Result.VERIFYING if step.verify else Result.SUCCEEDED,
        summary=summary(rule, item),
        claim=claim,
    )


@dataclass(frozen=True)
class Notification:
    """A trigger (a notify step) or a resolve (its episode ended) for some receivers.

    Delivery is at least once: the notify step's record (``record_name``) says what reached
    whom; ``receivers`` are those still to reach, ``delivery`` the earlier attempts."""

    event: NotificationEvent
    dedup_key: str  # PagerDuty dedup_key: one per notify step of one episode (one incident)
    key: str  # idempotency key of this very message (the same on every resend)
    record_name: str  # the notify step's Remediation record: the ledger of this incident
    rule: str
    target: Target
    severity: Severity
    receivers: tuple[Receiver, ...]
    summary: str
    details: Mapping[str, str] = field(default_factory=dict)
    delivery: Delivery = field(default_factory=Delivery)


@dataclass(frozen=True)
class Outputs:
    """Side effects collected while walking rules and targets; added up with ``+``."""

    actions: tuple[PlannedAction, ...] = ()
    notifications: tuple[Notification, ...] = ()
    records: tuple[RemediationRecord, ...] = ()
    record_updates: tuple[RecordUpdate, ...] = ()
    notes: tuple[Note, ...] = ()

    def __add__(self, other: Outputs) -> Outputs:
        return Outputs(
            self.actions + other.actions,
            self.notifications + other.notifications,
            self.records + other.records,
            self.record_updates + other.record_updates,
            self.notes + other.notes,
        )


@dataclass(frozen=True)
class Evaluation:
    status: HealthPolicyStatus
    conditions: tuple[Condition, ...]
    actions: tuple[PlannedAction, ...] = ()
    notifications: tuple[Notification, ...] = ()
    records: tuple[RemediationRecord, ...] = ()
    record_updates: tuple[RecordUpdate, ...] = ()
    notes: tuple[Note, ...] = ()
