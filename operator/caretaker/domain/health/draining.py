"""A HealthPolicy ``drain`` step under way: its rounds go on, at least ``BLOCKED_RETRY`` apart
(kubectl's retry after a budget refused), until the node is empty or the drain's ``timeout``.

The executor reports ``Draining`` after a round that left pods on the node (a budget refused an
eviction, or evicted pods are still stopping); each later evaluation either plans the next
round of the same step (same key and record: it is one drain) or fails it at its timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.reasons import WARNING, Note
from caretaker.domain.drain.rules import BLOCKED_RETRY
from caretaker.domain.health.actions import Drain, LadderStep
from caretaker.domain.health.context import EvalContext
from caretaker.domain.health.outputs import Outputs, PlannedAction, planned_step
from caretaker.domain.health.reasons import HealthReason
from caretaker.domain.health.record_updates import RecordUpdate
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.spec import RuleSpec
from caretaker.domain.health.status import Result, StepRun, TargetStatus


@dataclass(frozen=True)
class DrainingStep:
    ctx: EvalContext
    rule: RuleSpec
    item: TargetStatus
    run: StepRun
    record: RemediationView


def keep_draining(draining: DrainingStep, step: LadderStep | None) -> tuple[StepRun, Outputs]:
    """The next round of a drain, its failure at the timeout, or nothing yet."""
    ctx, run, record = draining.ctx, draining.run, draining.record
    message = record.message or run.message
    if step is None or not isinstance(step.action, Drain):
        return _end(ctx, run, "the drain stopped: its step is no longer in the ladder", None)
    timeout = step.action.timeout
    if ctx.now - run.started_at >= timeout:
        text = f"node not drained within {format_duration(timeout)}: {message}"
        about = f"{draining.rule.name}: drain on {draining.item.target.key} failed: {text}"
        return _end(ctx, run, text, Note(WARNING, HealthReason.ACTION_FAILED, about))
    last_round = record.finished_at or run.started_at
    if ctx.now - last_round < BLOCKED_RETRY:
        return run.with_(message=message), Outputs()
    return run.with_(message=message), Outputs(actions=(_next_round(draining, step),))


def _next_round(draining: DrainingStep, step: LadderStep) -> PlannedAction:
    """The same step again: its claim is in the ledger already, its record exists."""
    run, name = draining.run, draining.record.name
    return planned_step(
        draining.rule, draining.item, run.index, step, key=run.key, record_name=name
    )


def _end(
    ctx: EvalContext, run: StepRun, message: str, note: Note | None
) -> tuple[StepRun, Outputs]:
    update = RecordUpdate(ctx.record_name(run.key), Result.FAILED, message, ctx.now)
    failed = run.with_(result=Result.FAILED, finished_at=ctx.now, message=message)
    return failed, Outputs(record_updates=(update,), notes=(note,) if note else ())
