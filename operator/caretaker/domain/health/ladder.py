"""The escalation ladder of one firing target: which due steps start now, which are held.

A step is due once the target has fired for its ``after``. Notify steps never wait. A
disruptive step waits behind earlier disruptive or verifying steps (the ladder moves on only
when they are done), and is held, not skipped, by safety (it runs later, when allowed). A
step is skipped (a Skipped record) when its action ran on the target within the cooldown, or
cannot act on the target at all. A target under an active Maintenance is paused entirely.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.reasons import NORMAL, WARNING, Note
from caretaker.domain.disruption.ledger import Claim
from caretaker.domain.health.actions import LadderStep, Notify, describe, target_problem
from caretaker.domain.health.claims import claim_for
from caretaker.domain.health.context import EvalContext
from caretaker.domain.health.flags import flag_skip
from caretaker.domain.health.keys import dedup_key
from caretaker.domain.health.outputs import Outputs, planned_step
from caretaker.domain.health.paging import DEDUP_KEY, RECEIVERS, trigger
from caretaker.domain.health.presets import OSD_DOWN_PRESETS
from caretaker.domain.health.reasons import HealthReason, HoldReason
from caretaker.domain.health.records import (
    RemediationRecord,
    RemediationView,
    RuleFacts,
    build_record,
    view_of,
)
from caretaker.domain.health.safety import Budget, Held, ceph_says_up, disruptive_hold
from caretaker.domain.health.spec import RuleSpec
from caretaker.domain.health.status import IN_FLIGHT, Hold, Result, StepRun, TargetStatus
from caretaker.domain.health.text import summary


@dataclass(frozen=True)
class Climb:
    item: TargetStatus
    outputs: Outputs
    budget: Budget


def climb(ctx: EvalContext, rule: RuleSpec, item: TargetStatus, budget: Budget) -> Climb:
    """Starts the due steps of a firing target, or records why they wait."""
    assert item.firing_since is not None
    elapsed = ctx.now - item.firing_since
    due = [
        index
        for index, step in enumerate(rule.actions)
        if item.step(index) is None and elapsed >= step.after
    ]
    if not due:
        return Climb(item.with_(hold=None), Outputs(), budget)
    cover = ctx.maintenance.covering(item.target)
    if cover:
        message = f"{item.target.key} is under Maintenance {cover}: ladder paused"
        item, notes = _set_hold(ctx, rule, item, due[0], Held(HoldReason.MAINTENANCE, message))
        return Climb(item, Outputs(notes=notes), budget)
    outputs = Outputs()
    first_hold: tuple[int, Held] | None = None
    blocked = False  # a disruptive step waits or is held: later disruptive steps wait too
    for index in due:
        step = rule.actions[index]
        if step.disruptive and (blocked or _waits(item, index)):
            first_hold = first_hold or (index, _waiting(item, index))
            blocked = True
            continue
        key = ctx.step_key(rule, item, index)
        known = ctx.records_by_key.get(key)
        if known is not None:  # planned before a restart: adopt, never plan twice
            item = _adopt(ctx, rule, item, index, known)
            continue
        started = _start(Attempt(ctx, rule, item, index, step, key), budget)
        if isinstance(started, Held):
            first_hold = first_hold or (index, started)
            blocked = True
            continue
        item, budget, outputs = started.item, started.budget, outputs + started.outputs
    if first_hold is None:
        return Climb(item.with_(hold=None), outputs, budget)
    item, notes = _set_hold(ctx, rule, item, *first_hold)
    return Climb(item, outputs + Outputs(notes=notes), budget)


def _adopt(
    ctx: EvalContext, rule: RuleSpec, item: TargetStatus, index: int, known: RemediationView
) -> TargetStatus:
    """Takes a step's run from its record (the status write after planning it was lost)."""
    step = rule.actions[index]
    run = StepRun(
        index,
        step.kind,
        known.key,
        known.result,
        known.started_at,
        step.disruptive,
        finished_at=known.finished_at,
        message=known.message,
    )
    if known.result is Result.VERIFYING and step.verify is not None:
        run = run.with_(verify_deadline=(known.finished_at or ctx.now) + step.verify.within)
    return _with_notified(ctx, rule, item.with_step(run), step)


def _waits(item: TargetStatus, index: int) -> bool:
    """A disruptive step waits for earlier disruptive or verifying steps still in flight,
    and for earlier disruptive steps that have not started."""
    return any(
        run.index < index
        and run.result in IN_FLIGHT
        and (run.disruptive or run.result is Result.VERIFYING)
        for run in item.steps
    )


def _waiting(item: TargetStatus, index: int) -> Held:
    earlier = [r for r in item.steps if r.index < index and r.result in IN_FLIGHT]
    shown = ", ".join(f"step {r.index} ({r.action}, {r.result})" for r in earlier)
    return Held(HoldReason.WAITING_FOR_PREVIOUS, f"waiting for {shown or 'an earlier step'}")


@dataclass(frozen=True)
class Attempt:
    """One due step of one firing target, about to be decided."""

    ctx: EvalContext
    rule: RuleSpec
    item: TargetStatus
    index: int
    step: LadderStep
    key: str

    def record(self, result: Result, message: str = "") -> RemediationRecord:
        facts = RuleFacts(self.rule.name, str(self.rule.severity), self.rule.expr)
        return build_record(
            policy=self.ctx.policy,
            rule=facts,
            item=self.item,
            index=self.index,
            step=self.step,
            key=self.key,
            result=result,
            message=message,
            now=self.ctx.now,
        )

    def run(self, result: Result, message: str = "") -> StepRun:
        finished = None if result in IN_FLIGHT else self.ctx.now
        return StepRun(
            self.index,
            self.step.kind,
            self.key,
            result,
            self.ctx.now,
            self.step.disruptive,
            finished_at=finished,
            message=message,
        )


def _start(attempt: Attempt, budget: Budget) -> Climb | Held:
    ctx, step, item = attempt.ctx, attempt.step, attempt.item
    flags = ctx.ceph.cluster_flags if ctx.ceph else None
    skip = (
        target_problem(step.action, item.target)
        or _cooldown(attempt, budget)
        or flag_skip(step.action, flags, ctx.records)
    )
    if skip:
        return _finished(attempt, Result.SKIPPED, skip, budget)
    if step.disruptive:
        held = disruptive_hold(step, item.target, ctx, budget)
        if held is None and attempt.rule.preset in OSD_DOWN_PRESETS:
            held = ceph_says_up(item.target, ctx.ceph)
        if held is not None:
            return held
    if ctx.spec.dry_run:
        return _finished(attempt, Result.DRY_RUN, f"dry run: would {describe(step.action)}", budget)
    if isinstance(step.action, Notify):
        return _notify(attempt, step.action, budget)
    record = attempt.record(Result.PENDING)
    planned = planned_step(
        attempt.rule,
        item,
        attempt.index,
        step,
        key=attempt.key,
        record_name=record.name,
        claim=_claim(attempt),
    )
    text = (
        f"{attempt.rule.name}: {describe(step.action)} on {item.target.key} (step {attempt.index})"
    )
    note = Note(NORMAL, HealthReason.ACTION_PLANNED, text)
    outputs = Outputs(actions=(planned,), records=(record,), notes=(note,))
    item = item.with_step(attempt.run(Result.PENDING))
    return Climb(item, outputs, budget.after(step, item.target.key, attempt.key))


def _claim(attempt: Attempt) -> Claim | None:
    ceph = attempt.ctx.ceph
    if not attempt.step.disruptive or ceph is None:
        return None
    claim = claim_for(attempt.step.action, attempt.item.target, ceph, attempt.ctx.policy)
    return claim if isinstance(claim, Claim) else None


_FINAL_REASONS = {
    Result.SKIPPED: HealthReason.ACTION_SKIPPED,
    Result.DRY_RUN: HealthReason.ACTION_DRY_RUN,
}


def _finished(attempt: Attempt, result: Result, message: str, budget: Budget) -> Climb:
    """A step that ends as soon as it is decided: Skipped, DryRun, or an Event-only notify."""
    reason = _FINAL_REASONS.get(result, HealthReason.NOTIFICATION_PLANNED)
    note = Note(NORMAL, reason, f"{attempt.rule.name}: {attempt.item.target.key}: {message}")
    outputs = Outputs(records=(attempt.record(result, message),), notes=(note,))
    return Climb(attempt.item.with_step(attempt.run(result, message)), outputs, budget)


def _cooldown(attempt: Attempt, budget: Budget) -> str:
    """Why the step is skipped for the cooldown ("" when it is not). Notify steps have none:
    a new episode must notify again (its previous incident was resolved)."""
    step, target, rule, ctx = attempt.step, attempt.item.target, attempt.rule, attempt.ctx
    if isinstance(step.action, Notify):
        return ""
    pair = (step.kind, target.key)
    if pair in budget.planned:
        return f"cooldown: {step.kind} on {target.key} is already planned now"
    since = ctx.now - rule.cooldown
    recent = [
        record
        for record in ctx.records
        if (record.action, record.target) == pair
        and record.result not in (Result.SKIPPED, Result.DRY_RUN)
        and record.started_at > since
    ]
    if not recent:
        return ""
    last = max(recent, key=lambda record: record.started_at)
    ago = format_duration(ctx.now - last.started_at)
    return (
        f"cooldown: {step.kind} ran on {target.key} {ago} ago "
        f"(rule {last.rule}; cooldown {format_duration(rule.cooldown)})"
    )


def _notify(attempt: Attempt, action: Notify, budget: Budget) -> Climb:
    ctx, rule, item = attempt.ctx, attempt.rule, attempt.item
    names = _receiver_names(ctx, rule, action)
    receivers = tuple(r for r in map(ctx.spec.notifications.receiver, names) if r is not None)
    text = summary(rule, item)
    if not receivers:
        message = f"no receivers for this severity: Event only: {text}"
        return _finished(attempt, Result.SUCCEEDED, message, budget)
    record = attempt.record(Result.PENDING)
    dedup = dedup_key(
        ctx.policy.namespace, ctx.policy.name, rule.name, item.target.key, attempt.key
    )
    sent_to = ",".join(receiver.name for receiver in receivers)
    record = replace(record, parameters={**record.parameters, RECEIVERS: sent_to, DEDUP_KEY: dedup})
    notification = trigger(ctx, rule, item, view_of(record), receivers)
    note = Note(NORMAL, HealthReason.NOTIFICATION_PLANNED, f"{text} -> {', '.join(names)}")
    outputs = Outputs(notifications=(notification,), records=(record,), notes=(note,))
    item = item.with_step(attempt.run(Result.PENDING)).with_(notified=_merge(item.notified, names))
    return Climb(item, outputs, budget)


def _receiver_names(ctx: EvalContext, rule: RuleSpec, action: Notify) -> tuple[str, ...]:
    routed = ctx.spec.notifications.route(action.route or rule.severity)
    return _merge(action.receivers, routed)


def _with_notified(
    ctx: EvalContext, rule: RuleSpec, item: TargetStatus, step: LadderStep
) -> TargetStatus:
    if not isinstance(step.action, Notify) or ctx.spec.dry_run:
        return item
    return item.with_(notified=_merge(item.notified, _receiver_names(ctx, rule, step.action)))


def _merge(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *second)))


def _set_hold(
    ctx: EvalContext, rule: RuleSpec, item: TargetStatus, index: int, held: Held
) -> tuple[TargetStatus, tuple[Note, ...]]:
    """Keeps the hold in the status; an Event only when the held step or the reason changes."""
    old = item.hold
    same = old is not None and (old.step, old.reason) == (index, held.reason)
    since = old.since if same and old is not None else ctx.now
    item = item.with_(hold=Hold(index, held.reason, held.message, since))
    if same or held.reason == HoldReason.WAITING_FOR_PREVIOUS:
        return item, ()
    if held.reason == HoldReason.MAINTENANCE:
        return item, (Note(NORMAL, HealthReason.TARGET_IN_MAINTENANCE, held.message),)
    text = f"{rule.name}: step {index} ({rule.actions[index].kind}) on {item.target.key} held: "
    return item, (Note(WARNING, HealthReason.ACTION_HELD, text + held.message),)
