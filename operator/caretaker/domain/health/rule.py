"""One rule in one interval: its query's outcome turned into targets, transitions and steps.

A failed query (Prometheus unreachable, the query rejected, garbage, stale data) changes
nothing but the rule's error: targets keep their state (unknown is not healthy: nothing is
resolved) and no step starts. A successful query: each returned series is a target; a target
seen for ``for`` fires; a firing target climbs its ladder; a target no longer returned clears.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.reasons import NORMAL, WARNING, Note
from caretaker.domain.health.context import EvalContext
from caretaker.domain.health.ladder import Climb, climb
from caretaker.domain.health.outputs import Outputs
from caretaker.domain.health.paging import resolve_incidents
from caretaker.domain.health.reasons import HealthReason
from caretaker.domain.health.record_updates import RecordUpdate
from caretaker.domain.health.safety import Budget
from caretaker.domain.health.spec import RuleSpec
from caretaker.domain.health.status import RuleError, RuleState, RuleStatus, TargetStatus
from caretaker.domain.health.targets import Target, series_name, target_of
from caretaker.domain.health.text import summary
from caretaker.domain.health.verify import finish_on_clear, sync_steps
from caretaker.domain.promql.outcome import QueryFailed, QueryFailure, QueryOutcome, Sample

MAX_TARGETS = 300  # per rule: the status must stay far below etcd's object size limit


@dataclass(frozen=True)
class RuleStep:
    status: RuleStatus
    outputs: Outputs
    budget: Budget


def evaluate_rule(
    ctx: EvalContext,
    rule: RuleSpec,
    previous: RuleStatus | None,
    outcome: QueryOutcome,
    budget: Budget,
) -> RuleStep:
    previous = previous or RuleStatus(rule.name)
    if isinstance(outcome, QueryFailed):
        status, notes = _failed(ctx, previous, outcome)
        return RuleStep(status, Outputs(notes=notes), budget)
    outputs = Outputs()
    if previous.error is not None:
        text = f"rule {rule.name}: the query works again ({previous.error.failure} before)"
        outputs = Outputs(notes=(Note(NORMAL, HealthReason.RULE_RECOVERED, text),))
    seen = by_target(outcome.samples, rule)
    tracked = _tracked(seen, previous)
    untracked = len(seen) - len(tracked)
    if untracked and not previous.untracked:
        text = f"rule {rule.name} returns {len(seen)} targets; only {MAX_TARGETS} are tracked"
        outputs = outputs + Outputs(notes=(Note(WARNING, HealthReason.TOO_MANY_TARGETS, text),))
    targets: list[TargetStatus] = []
    for key in tracked:
        target, sample = seen[key]
        old = previous.target(key)
        item, notes = _observe(ctx, rule, old, target, sample)
        outputs = outputs + Outputs(notes=notes)
        if item.firing:
            item, synced = sync_steps(ctx, rule, item, present=True)
            budget = budget.settled(item.steps)
            climbed: Climb = climb(ctx, rule, item, budget)
            item, budget = climbed.item, climbed.budget
            outputs = outputs + synced + climbed.outputs
        targets.append(item)
    for old in previous.targets:
        if old.target.key not in seen:
            outputs = outputs + clear(ctx, rule.name, old, "resolved")
    state = _state(targets)
    since = previous.since if state is previous.state and previous.since else ctx.now
    status = RuleStatus(rule.name, state, since, ctx.now, None, tuple(targets), untracked)
    return RuleStep(status, outputs, budget)


def _tracked(seen: dict[str, tuple[Target, Sample]], previous: RuleStatus) -> list[str]:
    """The target keys kept in the status: those already tracked, then new ones up to the cap
    (a tracked target is never dropped while it is returned: that would resolve it)."""
    known = [key for key in sorted(seen) if previous.target(key) is not None]
    new = [key for key in sorted(seen) if previous.target(key) is None]
    return sorted(known + new[: max(0, MAX_TARGETS - len(known))])


def by_target(samples: Iterable[Sample], rule: RuleSpec) -> dict[str, tuple[Target, Sample]]:
    """One sample per target (the highest value; NaN lowest), however many series map to it."""
    chosen: dict[str, tuple[Target, Sample]] = {}
    for sample in samples:
        target = target_of(sample.labels, rule.target)
        old = chosen.get(target.key)
        if old is None or _rank(sample) > _rank(old[1]):
            chosen[target.key] = (target, sample)
    return chosen


def _rank(sample: Sample) -> tuple[float, str]:
    value = -math.inf if math.isnan(sample.value) else sample.value
    return value, series_name(sample.labels)


def _observe(
    ctx: EvalContext, rule: RuleSpec, old: TargetStatus | None, target: Target, sample: Sample
) -> tuple[TargetStatus, tuple[Note, ...]]:
    labels = {k: v for k, v in sample.labels.items() if k != "__name__"}
    if old is None:
        item = TargetStatus(target, ctx.now, sample.value, labels)
    else:
        item = old.with_(target=target, value=sample.value, labels=labels)
    if item.firing:
        return item, ()
    resumed = ctx.unresolved_episode(rule.name, target.key)
    if resumed is not None and resumed.first_seen and resumed.firing_since:
        return item.with_(first_seen=resumed.first_seen, firing_since=resumed.firing_since), ()
    if ctx.now - item.first_seen < rule.for_:
        return item, ()
    item = item.with_(firing_since=ctx.now)
    if ctx.maintenance.covering(target):
        return item, ()  # expected during a Maintenance: the ladder's hold says so once
    held_for = format_duration(ctx.now - item.first_seen)
    text = f"{summary(rule, item)}: firing (held for {held_for})"
    return item, (Note(WARNING, HealthReason.RULE_FIRING, text),)


def _state(targets: list[TargetStatus]) -> RuleState:
    if any(t.firing for t in targets):
        return RuleState.FIRING
    return RuleState.PENDING if targets else RuleState.INACTIVE


def _failed(
    ctx: EvalContext, previous: RuleStatus, outcome: QueryFailed
) -> tuple[RuleStatus, tuple[Note, ...]]:
    old = previous.error
    failure = str(outcome.failure)
    same = old is not None and old.failure == failure
    since = old.since if same and old is not None else ctx.now
    status = replace(previous, error=RuleError(failure, outcome.message, since))
    if same:
        return status, ()
    reason = (
        HealthReason.INVALID_RULE
        if outcome.failure is QueryFailure.BAD_QUERY
        else HealthReason.PROMETHEUS_UNAVAILABLE
    )
    text = f"rule {previous.name}: {failure}: {outcome.message}; state kept, no action taken"
    return status, (Note(WARNING, reason, text),)


def clear(ctx: EvalContext, rule: str, old: TargetStatus, why: str) -> Outputs:
    """A target is no longer returned (or its rule is gone): resolve the incidents the episode
    opened, stamp the episode's records with the time to recover."""
    if old.firing_since is None:
        return Outputs()
    outputs = finish_on_clear(ctx, old)
    episode = ctx.episode(rule, old)
    recovered = ctx.now - old.firing_since
    names = {r.name for r in ctx.records if r.episode == episode}
    names |= {ctx.record_name(run.key) for run in old.steps}
    updates = tuple(
        RecordUpdate(name, recovered_at=ctx.now, time_to_recover=recovered)
        for name in sorted(names)
    )
    text = f"{rule} on {old.target.key}: {why} after firing {format_duration(recovered)}"
    outputs = outputs + Outputs(
        record_updates=updates, notes=(Note(NORMAL, HealthReason.RULE_RESOLVED, text),)
    )
    return outputs + resolve_incidents(ctx, episode, text)
