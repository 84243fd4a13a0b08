"""The HealthPolicy evaluation: ``evaluate(world) -> Evaluation``. Pure; the executor does I/O.

Each interval the executor runs one query per rule (``rule_queries``), however many targets it
returns, plus ``FRESHNESS_QUERY``; reads Ceph's safety readings and the Remediation records;
asks ``ok-to-stop`` for the OSDs in ``osds_needing_ok_to_stop(world)``; and calls ``evaluate``.
Everything needed to go on after a restart is in the returned status and in the records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.reasons import NORMAL, WARNING, Note
from caretaker.domain.health.conditions import (
    frozen_condition,
    invalid_spec_conditions,
    policy_conditions,
)
from caretaker.domain.health.context import EvalContext
from caretaker.domain.health.freeze import hastened
from caretaker.domain.health.outputs import Evaluation, Outputs
from caretaker.domain.health.paging import delivery_condition, give_up, is_incident, redeliveries
from caretaker.domain.health.reasons import HealthReason, HoldReason
from caretaker.domain.health.record_updates import RecordUpdate, merge_updates
from caretaker.domain.health.rule import clear, evaluate_rule
from caretaker.domain.health.safety import IN_FLIGHT_HORIZON, circuit_reason, initial_budget
from caretaker.domain.health.spec import HealthPolicySpec
from caretaker.domain.health.status import IN_FLIGHT, HealthPolicyStatus, Result, RuleStatus
from caretaker.domain.health.targets import TargetKind
from caretaker.domain.health.world import HealthWorld
from caretaker.domain.promql.outcome import QueryFailed, QueryFailure


@dataclass(frozen=True)
class RuleQuery:
    rule: str
    expr: str


def rule_queries(spec: HealthPolicySpec) -> tuple[RuleQuery, ...]:
    """The queries of one interval: exactly one per rule."""
    return tuple(RuleQuery(rule.name, rule.expr) for rule in spec.rules)


def is_due(spec: HealthPolicySpec, status: HealthPolicyStatus, now: datetime) -> bool:
    last = status.last_evaluation
    return last is None or now - last >= spec.interval


def evaluate(world: HealthWorld) -> Evaluation:
    """Decides one interval of a HealthPolicy from a snapshot of the world."""
    if world.spec is None:
        return Evaluation(world.status, invalid_spec_conditions(world.spec_errors))
    spec, previous = hastened(world.spec, world.freeze.factor), world.status
    circuit = circuit_reason(world.ceph, world.ceph_error)
    ctx = EvalContext(
        now=world.now,
        policy=world.policy,
        spec=spec,
        ceph=world.ceph,
        circuit=circuit,
        maintenance=world.maintenance,
        ok_to_stop=world.ok_to_stop,
        records=world.remediations,
        records_by_key={record.key: record for record in world.remediations},
        disruptions=world.disruptions,
        ledger_error=world.ledger_error,
        freeze=world.freeze.message,
    )
    runs = [run for rule in previous.rules for item in rule.targets for run in item.steps]
    budget = initial_budget(world.ceph, world.remediations, runs, world.now)
    budget = budget.across_the_cluster(world.disruptions, world.policy)
    outputs = Outputs()
    rules: list[RuleStatus] = []
    stale = _staleness(spec, world.exporter_age)
    for rule in spec.rules:
        outcome = world.outcomes.get(rule.name) or QueryFailed(
            QueryFailure.NOT_EVALUATED, "no query result for this rule in this interval"
        )
        if stale and not rule.fires_on_absence and not isinstance(outcome, QueryFailed):
            outcome = QueryFailed(QueryFailure.STALE, stale)
        step = evaluate_rule(ctx, rule, previous.rule(rule.name), outcome, budget)
        rules.append(step.status)
        outputs, budget = outputs + step.outputs, step.budget
    outputs = outputs + _removed_rules(ctx, spec, previous)
    status = HealthPolicyStatus(tuple(rules), world.now, circuit, _circuit_since(ctx, previous))
    outputs = outputs + _orphans(ctx, status) + redeliveries(ctx, status)
    outputs = outputs + Outputs(notes=_circuit_notes(previous.circuit, circuit))
    return Evaluation(
        status=status,
        conditions=(
            *policy_conditions(status),
            delivery_condition(ctx.records, ctx.policy.name),
            frozen_condition(world.freeze),
        ),
        actions=outputs.actions,
        notifications=outputs.notifications,
        records=outputs.records,
        record_updates=merge_updates(outputs.record_updates),
        notes=outputs.notes,
    )


def _staleness(spec: HealthPolicySpec, age: timedelta | None) -> str:
    """Why the exporter's data cannot be trusted ("" when it can). Series that stopped coming
    vanish from queries: that looks healthy, so it must count as unknown instead."""
    if age is None:
        return "Prometheus has no Ceph exporter series: results cannot be trusted"
    if age > spec.stale_after:
        return (
            f"the newest Ceph exporter sample is {format_duration(age)} old "
            f"(staleAfter {format_duration(spec.stale_after)})"
        )
    return ""


def _removed_rules(
    ctx: EvalContext, spec: HealthPolicySpec, previous: HealthPolicyStatus
) -> Outputs:
    """Rules gone from the spec: their firing targets are resolved, so no incident stays open."""
    outputs = Outputs()
    for rule in previous.rules:
        if spec.rule(rule.name) is not None:
            continue
        for item in rule.targets:
            outputs = outputs + clear(ctx, rule.name, item, "rule removed")
        if rule.targets:
            text = f"rule {rule.name} was removed from the spec; its targets are resolved"
            outputs = outputs + Outputs(notes=(Note(NORMAL, HealthReason.RULE_REMOVED, text),))
    return outputs


def _orphans(ctx: EvalContext, status: HealthPolicyStatus) -> Outputs:
    """This policy's records still in flight long after their step left the status (a crash
    between creating a record and storing the status): they end as Failed, so they neither
    hold the concurrency budget nor escape retention; an orphaned trigger is resolved."""
    tracked = {run.key for rule in status.rules for item in rule.targets for run in item.steps}
    why = "orphaned: no result was ever reported"
    updates = tuple(
        give_up(record, why, ctx.now)
        if is_incident(record, ctx.policy.name)
        else RecordUpdate(record.name, Result.FAILED, why, ctx.now)
        for record in ctx.records
        if record.policy == ctx.policy.name
        and record.result in IN_FLIGHT
        and record.key not in tracked
        and ctx.now - record.started_at >= IN_FLIGHT_HORIZON
    )
    return Outputs(record_updates=updates)


def _circuit_since(ctx: EvalContext, previous: HealthPolicyStatus) -> datetime | None:
    if not ctx.circuit:
        return None
    return previous.circuit_since if previous.circuit and previous.circuit_since else ctx.now


def _circuit_notes(before: str, now: str) -> tuple[Note, ...]:
    """An Event when the circuit opens, closes, or opens for another kind of reason."""
    if now and now.partition(":")[0] != before.partition(":")[0]:
        text = f"disruptive actions frozen: {now}; notifications still go"
        return (Note(WARNING, HealthReason.CIRCUIT_OPEN, text),)
    if before and not now:
        return (Note(NORMAL, HealthReason.CIRCUIT_CLOSED, f"circuit closed ({before} no more)"),)
    return ()


def osds_needing_ok_to_stop(world: HealthWorld) -> frozenset[int]:
    """The OSDs whose markOut step is due and allowed by everything but ok-to-stop: ask Ceph
    about these, then evaluate with the answers in ``world.ok_to_stop``."""
    trial = evaluate(replace(world, ok_to_stop={}))
    return frozenset(
        osd
        for rule in trial.status.rules
        for item in rule.targets
        if item.hold is not None
        and item.hold.reason == HoldReason.OK_TO_STOP_UNKNOWN
        and item.target.kind is TargetKind.OSD
        and (osd := item.target.osd_id) is not None
    )
