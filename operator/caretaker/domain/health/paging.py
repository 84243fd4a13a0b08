"""Pages are never lost and incidents are never left open: delivery at least once.

A notify step with receivers opens one incident, under its own dedup_key (``keys.dedup_key``:
per step of an episode, so a new episode or an escalation pages anew instead of landing in an
old, maybe acknowledged, incident). Its Remediation record is the incident's ledger: created
(Pending) before the trigger is sent, it keeps the receivers and the dedup_key in
``spec.parameters``; ``after_send`` records what each send achieved (see ``delivery``).

- A trigger not yet accepted by every receiver is sent again, to the others, once its backoff
  has passed (``redeliveries``), for as long as its episode fires. It is given up (Failed) when
  the episode ends first, and then resolved like the rest (harmless if it never arrived).
- When the episode ends (``resolve_incidents``) the record gets ``status.resolve`` Pending
  before the resolve is sent, and the resolve is sent again until every receiver took it.

Unknown outcomes (the operator died between sending and recording) are sent again: the same
dedup_key and idempotency key make a resend harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from caretaker.constants import Severity
from caretaker.domain.common.conditions import FALSE, TRUE, Condition
from caretaker.domain.common.reasons import NORMAL, WARNING, Note
from caretaker.domain.health.context import EvalContext
from caretaker.domain.health.delivery import Delivery, delivery_patch, resolve_patch, retry_delay
from caretaker.domain.health.keys import resolve_key
from caretaker.domain.health.notify_spec import Receiver
from caretaker.domain.health.outputs import Notification, NotificationEvent, Outputs
from caretaker.domain.health.reasons import HealthReason
from caretaker.domain.health.record_updates import RecordUpdate
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.spec import RuleSpec
from caretaker.domain.health.status import HealthPolicyStatus, Result, TargetStatus, stamp
from caretaker.domain.health.targets import target_from_key
from caretaker.domain.health.text import details, summary

RECEIVERS = "receivers"  # spec.parameters of a notify step's record: who gets the trigger
DEDUP_KEY = "dedupKey"  # ... and the incident's dedup_key
MAX_SHOWN = 3


def is_incident(record: RemediationView, policy: str) -> bool:
    """A notify step of this policy that sent (or was to send) a trigger to receivers."""
    return (
        record.policy == policy
        and record.action == "notify"
        and bool(record.parameters.get(DEDUP_KEY))
        and record.result is not Result.DRY_RUN
    )


def receiver_names(record: RemediationView) -> tuple[str, ...]:
    return tuple(name for name in record.parameters.get(RECEIVERS, "").split(",") if name)


def trigger(
    ctx: EvalContext,
    rule: RuleSpec,
    item: TargetStatus,
    record: RemediationView,
    receivers: tuple[Receiver, ...],
) -> Notification:
    """The trigger of a notify step, as planned or as sent again."""
    route = record.parameters.get("route") or ""
    return Notification(
        event=NotificationEvent.TRIGGER,
        dedup_key=record.parameters[DEDUP_KEY],
        key=record.key,
        record_name=record.name,
        rule=rule.name,
        target=item.target,
        severity=Severity(route) if route else rule.severity,
        receivers=receivers,
        summary=summary(rule, item),
        details=details(ctx, rule, item),
        delivery=record.delivery,
    )


def resolve_incidents(ctx: EvalContext, episode: str, text: str) -> Outputs:
    """The episode ended: each incident it opened is resolved."""
    outputs = Outputs()
    for record in ctx.records:
        mine = record.episode == episode and is_incident(record, ctx.policy.name)
        if mine and record.resolve is None:  # else decided before a lost status write
            ended = "the condition cleared first"
            outputs = outputs + resolve_incident(ctx, record, text, ended)
    return outputs


def resolve_incident(ctx: EvalContext, record: RemediationView, text: str, ended: str) -> Outputs:
    """Resolves an incident now: a new resolve is recorded (Pending) before it is sent, and a
    trigger still undelivered is given up; a resolve under way is sent again."""
    if record.resolve is not None:
        return _resolve(ctx, record, record.resolve.delivery, text)
    if record.result is Result.PENDING:
        update = give_up(record, f"never delivered: {ended}", ctx.now)
    else:
        patch = resolve_patch(Result.PENDING, "", started_at=ctx.now)
        update = RecordUpdate(record.name, resolve=patch)
    return Outputs(record_updates=(update,)) + _resolve(ctx, record, Delivery(), text)


def give_up(record: RemediationView, why: str, now: datetime) -> RecordUpdate:
    """A trigger that will not be sent any more (Failed); its resolve is due all the same."""
    return RecordUpdate(
        record.name,
        Result.FAILED,
        why,
        now,
        resolve=resolve_patch(Result.PENDING, "", started_at=now),
    )


def redeliveries(ctx: EvalContext, status: HealthPolicyStatus) -> Outputs:
    """Triggers and resolves not yet accepted by every receiver whose backoff has passed."""
    outputs = Outputs()
    for record in ctx.records:
        if not is_incident(record, ctx.policy.name):
            continue
        resolve = record.resolve
        if record.result is Result.PENDING and record.delivery.due(ctx.now):
            outputs = outputs + _retrigger(ctx, status, record)
        elif resolve and resolve.result is Result.PENDING and resolve.delivery.due(ctx.now):
            text = f"{record.rule} on {record.target}: resolved"
            outputs = outputs + _resolve(ctx, record, resolve.delivery, text)
    return outputs


def _retrigger(ctx: EvalContext, status: HealthPolicyStatus, record: RemediationView) -> Outputs:
    """Sends a trigger again while its episode fires (and its target is not in maintenance)."""
    rule = ctx.spec.rule(record.rule)
    known = status.rule(record.rule)
    item = known.target(record.target) if known else None
    if rule is None or item is None or item.firing_since != record.firing_since:
        return Outputs()  # the episode ended: resolve_incidents (or the orphan check) ends it
    if ctx.maintenance.covering(item.target):
        return Outputs()
    receivers = _still_to_reach(ctx, record, record.delivery)
    if not receivers:
        why = f"no receiver left to send to (spec has none of {', '.join(receiver_names(record))})"
        return Outputs(record_updates=(give_up(record, why, ctx.now),))
    return Outputs(notifications=(trigger(ctx, rule, item, record, receivers),))


def _resolve(ctx: EvalContext, record: RemediationView, delivery: Delivery, text: str) -> Outputs:
    receivers = _still_to_reach(ctx, record, delivery)
    if not receivers:
        message = "no receiver left to send the resolve to"
        patch = resolve_patch(Result.FAILED, message, finished_at=ctx.now)
        return Outputs(record_updates=(RecordUpdate(record.name, resolve=patch),))
    target = target_from_key(record.target)
    resolve = Notification(
        event=NotificationEvent.RESOLVE,
        dedup_key=record.parameters[DEDUP_KEY],
        key=resolve_key(record.key),
        record_name=record.name,
        rule=record.rule,
        target=target,
        severity=Severity(record.severity) if record.severity else Severity.ROUTINE,
        receivers=receivers,
        summary=text,
        details={
            "policy": f"{ctx.policy.namespace}/{ctx.policy.name}",
            "rule": record.rule,
            "target": record.target,
            "firingSince": record.firing_since.isoformat() if record.firing_since else "",
        },
        delivery=delivery,
    )
    return Outputs(notifications=(resolve,))


def _still_to_reach(
    ctx: EvalContext, record: RemediationView, delivery: Delivery
) -> tuple[Receiver, ...]:
    names = [name for name in receiver_names(record) if name not in delivery.delivered_to]
    found = (ctx.spec.notifications.receiver(name) for name in names)
    return tuple(receiver for receiver in found if receiver is not None)


def after_send(
    notification: Notification, sent: Sequence[str], failures: Sequence[str], now: datetime
) -> tuple[RecordUpdate, tuple[Note, ...]]:
    """What a send achieved, for the record: delivered, or still due (and when to try again)."""
    before = notification.delivery
    delivered = tuple(dict.fromkeys((*before.delivered_to, *sent)))
    attempts = before.attempts + 1
    what = f"{notification.event} of {notification.rule} on {notification.target.key}"
    notes: tuple[Note, ...] = ()
    if failures:
        retry_at = now + retry_delay(attempts)
        result, finished, delivery = Result.PENDING, None, Delivery(attempts, retry_at, delivered)
        message = (
            f"{notification.event} failed for {'; '.join(failures)} "
            f"(attempt {attempts}; sent again from {stamp(retry_at)})"
        )
        if attempts == 1:
            text = f"{what} not delivered, sent again with backoff until it is: {message}"
            notes = (Note(WARNING, HealthReason.NOTIFICATION_FAILED, text),)
    else:
        result, finished, delivery = Result.SUCCEEDED, now, Delivery(attempts, None, delivered)
        message = f"{notification.event} sent to {', '.join(delivered)}"
        if before.attempts:
            text = f"{what}: delivered at attempt {attempts}"
            notes = (Note(NORMAL, HealthReason.NOTIFICATION_DELIVERED, text),)
    name = notification.record_name
    if notification.event is NotificationEvent.RESOLVE:
        patch = resolve_patch(result, message, finished_at=finished, delivery=delivery)
        return RecordUpdate(name, resolve=patch), notes
    trigger_result = result if result is Result.SUCCEEDED else None  # Pending stays Pending
    update = RecordUpdate(
        name, trigger_result, message, finished, delivery=delivery_patch(delivery)
    )
    return update, notes


def delivery_condition(records: Sequence[RemediationView], policy: str) -> Condition:
    """``NotificationsFailing``: triggers or resolves a receiver refused, still being retried."""
    failing: list[str] = []
    for record in records:
        if not is_incident(record, policy):
            continue
        resolve = record.resolve
        if record.result is Result.PENDING and record.delivery.attempts:
            failing.append(f"trigger of {record.rule} on {record.target}: {record.message}")
        elif resolve and resolve.result is Result.PENDING and resolve.delivery.attempts:
            failing.append(f"resolve of {record.rule} on {record.target}: {resolve.message}")
    if not failing:
        return Condition("NotificationsFailing", FALSE, HealthReason.NOTIFICATIONS_DELIVERED)
    shown = "; ".join(failing[:MAX_SHOWN])
    message = f"{len(failing)} notification(s) not delivered yet, retried with backoff: {shown}"
    return Condition("NotificationsFailing", TRUE, HealthReason.NOTIFICATION_FAILED, message)
