"""A HealthPolicy being deleted resolves its open incidents before it goes (its finalizer).

Every incident of the policy (a notify step's record with receivers) whose resolve was not
delivered yet gets one now (recorded first, like any resolve), and again with backoff while a
receiver refuses it. The policy stays (``metadata.deletionTimestamp`` set) meanwhile, says why
in the condition ``NotificationsFailing`` and an Event ``ResolvePending`` per attempt.

If the receivers stay unreachable, the policy goes anyway after ``RESOLVE_DEADLINE``, or at the
next attempt once it carries the annotation ``caretaker.dev/leave-incidents-open: "true"``; a
Warning Event ``IncidentsLeftOpen`` then names the incidents (dedup keys) to close by hand. An
incident is never dropped silently, and a dead receiver cannot hold a namespace's deletion for
ever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from caretaker.constants import LEAVE_OPEN_ANNOTATION
from caretaker.domain.common.conditions import TRUE, Condition
from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.reasons import NORMAL, WARNING, Note
from caretaker.domain.health.context import EvalContext
from caretaker.domain.health.delivery import retry_delay
from caretaker.domain.health.keys import PolicyRef
from caretaker.domain.health.outputs import Outputs
from caretaker.domain.health.paging import DEDUP_KEY, is_incident, resolve_incident
from caretaker.domain.health.reasons import HealthReason
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.spec import HealthPolicySpec
from caretaker.domain.health.status import Result
from caretaker.domain.health.world import MaintenanceCover

RESOLVE_DEADLINE = timedelta(hours=1)
MAX_SHOWN = 5


def open_incidents(records: Sequence[RemediationView], policy: str) -> list[RemediationView]:
    """The policy's incidents whose resolve has not been delivered (nor given up)."""
    return [
        record
        for record in records
        if is_incident(record, policy)
        and (record.resolve is None or record.resolve.result is Result.PENDING)
    ]


def farewell(
    policy: PolicyRef, spec: HealthPolicySpec, records: Sequence[RemediationView], now: datetime
) -> Outputs:
    """The resolves to send (and record) before the policy may go."""
    ctx = EvalContext(
        now=now,
        policy=policy,
        spec=spec,
        ceph=None,
        circuit="",
        maintenance=MaintenanceCover(),
        ok_to_stop={},
        records=tuple(records),
        records_by_key={record.key: record for record in records},
    )
    outputs = Outputs()
    for record in open_incidents(records, policy.name):
        text = f"{record.rule} on {record.target}: HealthPolicy {policy.name} deleted"
        outputs = outputs + resolve_incident(ctx, record, text, "the HealthPolicy was deleted")
    return outputs


@dataclass(frozen=True)
class Verdict:
    release: bool  # the policy may go (its finalizer is removed)
    retry_in: timedelta  # otherwise: the next attempt
    note: Note | None
    condition: Condition | None  # for the status while the policy waits


def verdict(
    undelivered: Sequence[str],
    *,
    deleting_since: datetime | None,
    now: datetime,
    leave_open: bool,
    attempt: int,
    can_send: bool = True,
) -> Verdict:
    """Whether the policy may go after this attempt; ``undelivered`` says, per resolve not
    delivered now, which incident and why. ``can_send`` False: the spec is invalid, nothing
    can be sent until it is fixed, so the incidents are left open at once."""
    if not undelivered:
        return Verdict(True, timedelta(0), None, None)
    waited = now - (deleting_since or now)
    shown = "; ".join(undelivered[:MAX_SHOWN]) + (" ..." if len(undelivered) > MAX_SHOWN else "")
    if leave_open or not can_send or waited >= RESOLVE_DEADLINE:
        why = (
            f"annotation {LEAVE_OPEN_ANNOTATION}"
            if leave_open
            else "invalid spec: no receiver to send them to"
            if not can_send
            else f"resolves refused for {format_duration(RESOLVE_DEADLINE)}"
        )
        text = f"{len(undelivered)} incident(s) left open ({why}); close them by hand: {shown}"
        note = Note(WARNING, HealthReason.INCIDENTS_LEFT_OPEN, text)
        return Verdict(True, timedelta(0), note, None)
    retry_in = min(retry_delay(attempt), RESOLVE_DEADLINE - waited)
    text = (
        f"being deleted: {len(undelivered)} resolve(s) not delivered, sent again in "
        f"{format_duration(retry_in)} (to delete without them, annotate "
        f'{LEAVE_OPEN_ANNOTATION}="true"): {shown}'
    )
    note = Note(WARNING, HealthReason.RESOLVE_PENDING, text)
    condition = Condition("NotificationsFailing", TRUE, HealthReason.RESOLVE_PENDING, text)
    return Verdict(False, retry_in, note, condition)


def resolved_note(count: int) -> Note:
    text = f"being deleted: resolved {count} open incident(s)"
    return Note(NORMAL, HealthReason.INCIDENTS_RESOLVED, text)


def unsendable(records: Sequence[RemediationView], policy: str) -> list[str]:
    """The open incidents, when nothing can be sent (an invalid spec names no receiver)."""
    return [
        f"{record.parameters.get(DEDUP_KEY, record.name)}: not resolved"
        for record in open_incidents(records, policy)
    ]
