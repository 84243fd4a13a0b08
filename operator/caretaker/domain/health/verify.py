"""In-flight ladder steps: adopt the results the executor reported, time out silent ones, and
decide verifications (OSD up / in / out from Ceph's readings, or the condition resolved)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.reasons import NORMAL, WARNING, Note
from caretaker.domain.health.actions import LadderStep, VerifyCondition
from caretaker.domain.health.context import RESULT_TIMEOUT, EvalContext
from caretaker.domain.health.draining import DrainingStep, keep_draining
from caretaker.domain.health.outputs import Outputs
from caretaker.domain.health.reasons import HealthReason
from caretaker.domain.health.record_updates import RecordUpdate
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.spec import RuleSpec
from caretaker.domain.health.status import IN_FLIGHT, Result, StepRun, TargetStatus
from caretaker.domain.health.targets import Target
from caretaker.domain.health.world import CephReadings


def verification_state(
    condition: VerifyCondition, target: Target, ceph: CephReadings | None, present: bool
) -> bool | None:
    """Whether the condition holds; None when it cannot be told (no readings, no OSD id)."""
    if condition is VerifyCondition.RESOLVED:
        return not present
    osd = target.osd_id
    if ceph is None or osd is None:
        return None
    if condition is VerifyCondition.OSD_UP:
        return ceph.osd_up.get(osd)
    value = ceph.osd_in.get(osd)
    if value is None:
        return None
    return value if condition is VerifyCondition.OSD_IN else not value


@dataclass(frozen=True)
class _Scope:
    """The target whose in-flight steps are being brought up to date."""

    ctx: EvalContext
    rule: RuleSpec
    item: TargetStatus
    present: bool  # returned by this interval's query

    @property
    def target(self) -> Target:
        return self.item.target

    def about(self, run: StepRun) -> str:
        return f"{self.rule.name}: {run.action} on {self.target.key}"


def sync_steps(
    ctx: EvalContext, rule: RuleSpec, item: TargetStatus, present: bool
) -> tuple[TargetStatus, Outputs]:
    """Brings every in-flight step of a target up to date."""
    scope = _Scope(ctx, rule, item, present)
    outputs = Outputs()
    for run in item.steps:
        if run.result not in IN_FLIGHT:
            continue
        step = rule.actions[run.index] if run.index < len(rule.actions) else None
        if step is not None and step.kind != run.action:
            step = None  # the ladder was edited: this run's step is gone
        new_run, more = _sync_run(scope, run, step)
        item, outputs = item.with_step(new_run), outputs + more
    return item, outputs


def _sync_run(scope: _Scope, run: StepRun, step: LadderStep | None) -> tuple[StepRun, Outputs]:
    ctx = scope.ctx
    record = ctx.records_by_key.get(run.key)
    if run.result in (Result.PENDING, Result.DRAINING):
        if record is not None and record.result is not run.result:
            adopted, outputs = _adopt(scope, run, step, record)
            if adopted.result is not Result.DRAINING:
                return adopted, outputs
            run = adopted
        if record is not None and record.result is Result.DRAINING:
            return keep_draining(DrainingStep(ctx, scope.rule, scope.item, run, record), step)
        if record is not None and run.action == "notify":  # sent until delivered (paging)
            return run.with_(message=record.message), Outputs()
        if ctx.now - run.started_at < RESULT_TIMEOUT:
            return run, Outputs()
        message = f"no result reported within {format_duration(RESULT_TIMEOUT)}"
        note = Note(WARNING, HealthReason.ACTION_TIMED_OUT, f"{scope.about(run)}: {message}")
        return _finish(ctx, run, Result.FAILED, message, note)
    if record is not None and record.result not in IN_FLIGHT:
        finished = record.finished_at or ctx.now
        adopted = run.with_(result=record.result, finished_at=finished, message=record.message)
        return adopted, Outputs()
    return _check(scope, run, step)


def _adopt(
    scope: _Scope, run: StepRun, step: LadderStep | None, record: RemediationView
) -> tuple[StepRun, Outputs]:
    """The executor reported a result for a planned step."""
    ctx, result, message = scope.ctx, record.result, record.message
    if result is Result.VERIFYING:
        within = step.verify.within if step and step.verify else timedelta(0)
        deadline = (record.finished_at or ctx.now) + within
        return run.with_(result=result, verify_deadline=deadline, message=message), Outputs()
    if result in (Result.PENDING, Result.DRAINING):  # a round reported that pods are left
        return run.with_(result=result, message=message), Outputs()
    finished = run.with_(result=result, finished_at=record.finished_at or ctx.now, message=message)
    if result is not Result.FAILED:
        return finished, Outputs()
    text = f"{scope.about(run)} failed: {message or 'no detail'}"
    return finished, Outputs(notes=(Note(WARNING, HealthReason.ACTION_FAILED, text),))


def _check(scope: _Scope, run: StepRun, step: LadderStep | None) -> tuple[StepRun, Outputs]:
    """A step being verified: success, failure at its deadline, or still waiting."""
    ctx = scope.ctx
    if step is None or step.verify is None:
        return _finish(ctx, run, Result.SUCCEEDED, "step no longer in the ladder", None)
    condition = step.verify.condition
    holds = verification_state(condition, scope.target, ctx.ceph, scope.present)
    what = f"{scope.about(run)}: {condition}"
    if holds:
        note = Note(NORMAL, HealthReason.VERIFICATION_SUCCEEDED, f"{what} verified")
        return _finish(ctx, run, Result.SUCCEEDED, f"verified: {condition}", note)
    deadline = run.verify_deadline or run.started_at + step.verify.within
    if ctx.now < deadline:
        return run, Outputs()
    state = "could not be told" if holds is None else "not reached"
    within = format_duration(step.verify.within)
    message = f"verification failed: {condition} {state} within {within}"
    note = Note(WARNING, HealthReason.VERIFICATION_FAILED, f"{what} {state} in time")
    return _finish(ctx, run, Result.FAILED, message, note)


def _finish(
    ctx: EvalContext, run: StepRun, result: Result, message: str, note: Note | None
) -> tuple[StepRun, Outputs]:
    update = RecordUpdate(ctx.record_name(run.key), result, message, ctx.now)
    notes = (note,) if note else ()
    finished = run.with_(result=result, finished_at=ctx.now, message=message)
    return finished, Outputs(record_updates=(update,), notes=notes)


def finish_on_clear(ctx: EvalContext, item: TargetStatus) -> Outputs:
    """The condition cleared: verifications and drains still running count as succeeded (the
    drain stops; a step still Pending keeps its record; the executor reports its result)."""
    outputs = Outputs()
    for run in item.steps:
        record = ctx.records_by_key.get(run.key)
        result = record.result if record is not None else run.result
        if result in (Result.VERIFYING, Result.DRAINING):
            _, more = _finish(ctx, run, Result.SUCCEEDED, "condition cleared", None)
            outputs = outputs + more
    return outputs
