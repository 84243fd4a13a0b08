"""What a HealthPolicy remembers in its status, and its lossless round trip through a dict.

Per rule: state, last successful evaluation, the query error if any, and per target: when the
condition was first seen, since when it fires, which ladder steps ran (with their idempotency
keys and results), a pending verification, why a due step is held, and which receivers got a
trigger (they get the resolve). After a restart the operator reads this back and continues.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

from caretaker.domain.health.targets import Target, target_from_key


class RuleState(StrEnum):
    INACTIVE = "Inactive"
    PENDING = "Pending"
    FIRING = "Firing"


class Result(StrEnum):
    """The result of one ladder step (also the Remediation record's result)."""

    PENDING = "Pending"  # planned; the executor has not reported yet
    VERIFYING = "Verifying"  # done; waiting for its verification
    DRAINING = "Draining"  # a drain under way: rounds go on until the node is empty or timeout
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    DRY_RUN = "DryRun"


IN_FLIGHT = frozenset({Result.PENDING, Result.VERIFYING, Result.DRAINING})


@dataclass(frozen=True)
class StepRun:
    """One ladder step started in the current firing episode of a target."""

    index: int
    action: str
    key: str
    result: Result
    started_at: datetime
    disruptive: bool = False
    verify_deadline: datetime | None = None
    finished_at: datetime | None = None
    message: str = ""

    def with_(self, **changes: Any) -> StepRun:
        return replace(self, **changes)


@dataclass(frozen=True)
class Hold:
    """A due step that did not run, and why (the Event is posted only when this changes)."""

    step: int
    reason: str
    message: str
    since: datetime


@dataclass(frozen=True)
class TargetStatus:
    target: Target
    first_seen: datetime
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)
    firing_since: datetime | None = None
    steps: tuple[StepRun, ...] = ()
    hold: Hold | None = None
    notified: tuple[str, ...] = ()  # receivers that got a trigger

    @property
    def firing(self) -> bool:
        return self.firing_since is not None

    @property
    def step_reached(self) -> int:
        """The highest ladder step started in this episode (-1: none yet)."""
        return max((s.index for s in self.steps), default=-1)

    def step(self, index: int) -> StepRun | None:
        return next((s for s in self.steps if s.index == index), None)

    def with_step(self, run: StepRun) -> TargetStatus:
        kept = tuple(s for s in self.steps if s.index != run.index)
        return replace(self, steps=tuple(sorted((*kept, run), key=lambda s: s.index)))

    def with_(self, **changes: Any) -> TargetStatus:
        return replace(self, **changes)


@dataclass(frozen=True)
class RuleError:
    failure: str  # a QueryFailure value
    message: str
    since: datetime


@dataclass(frozen=True)
class RuleStatus:
    name: str
    state: RuleState = RuleState.INACTIVE
    since: datetime | None = None  # last state change
    last_evaluation: datetime | None = None  # last successful query
    error: RuleError | None = None
    targets: tuple[TargetStatus, ...] = ()
    untracked: int = 0  # targets returned beyond the cap, not tracked

    @cached_property
    def _targets_by_key(self) -> dict[str, TargetStatus]:
        return {t.target.key: t for t in self.targets}

    def target(self, key: str) -> TargetStatus | None:
        """The tracked target with this key (an index: rules may return thousands of series)."""
        return self._targets_by_key.get(key)


@dataclass(frozen=True)
class HealthPolicyStatus:
    rules: tuple[RuleStatus, ...] = ()
    last_evaluation: datetime | None = None
    circuit: str = ""  # why disruptive actions are frozen ("" = closed)
    circuit_since: datetime | None = None

    def rule(self, name: str) -> RuleStatus | None:
        return next((r for r in self.rules if r.name == name), None)

    @property
    def firing(self) -> int:
        return sum(t.firing for r in self.rules for t in r.targets)


def stamp(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC; keeps microseconds when there are any (the round trip is lossless)."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    text = "%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return moment.strftime(text)


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def _required_time(value: Any) -> datetime:
    moment = parse_time(value)
    if moment is None:
        raise ValueError("missing time")
    return moment


def _step_to_dict(run: StepRun) -> dict[str, Any]:
    return {
        "index": run.index,
        "action": run.action,
        "key": run.key,
        "result": str(run.result),
        "startedAt": stamp(run.started_at),
        "disruptive": run.disruptive,
        "verifyDeadline": stamp(run.verify_deadline),
        "finishedAt": stamp(run.finished_at),
        "message": run.message,
    }


def _step_from_dict(raw: Mapping[str, Any]) -> StepRun:
    return StepRun(
        index=int(raw["index"]),
        action=str(raw["action"]),
        key=str(raw["key"]),
        result=Result(raw["result"]),
        started_at=_required_time(raw["startedAt"]),
        disruptive=bool(raw.get("disruptive", False)),
        verify_deadline=parse_time(raw.get("verifyDeadline")),
        finished_at=parse_time(raw.get("finishedAt")),
        message=str(raw.get("message") or ""),
    )


def _target_to_dict(item: TargetStatus) -> dict[str, Any]:
    hold = item.hold
    return {
        "target": item.target.key,
        "node": item.target.node,
        "firstSeen": stamp(item.first_seen),
        "value": repr(item.value),  # a string: NaN and Inf are not JSON numbers
        "labels": dict(item.labels),
        "firingSince": stamp(item.firing_since),
        "stepReached": item.step_reached,  # derived, for people; not read back
        "steps": [_step_to_dict(s) for s in item.steps],
        "hold": None
        if hold is None
        else {
            "step": hold.step,
            "reason": hold.reason,
            "message": hold.message,
            "since": stamp(hold.since),
        },
        "notified": list(item.notified),
    }


def _target_from_dict(raw: Mapping[str, Any]) -> TargetStatus:
    hold = raw.get("hold")
    return TargetStatus(
        target=target_from_key(str(raw["target"]), str(raw.get("node") or "")),
        first_seen=_required_time(raw["firstSeen"]),
        value=float(raw.get("value", "nan")),
        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
        firing_since=parse_time(raw.get("firingSince")),
        steps=tuple(_step_from_dict(s) for s in raw.get("steps") or ()),
        hold=None
        if not isinstance(hold, Mapping)
        else Hold(
            int(hold["step"]),
            str(hold["reason"]),
            str(hold.get("message") or ""),
            _required_time(hold["since"]),
        ),
        notified=tuple(str(n) for n in raw.get("notified") or ()),
    )


def _rule_to_dict(rule: RuleStatus) -> dict[str, Any]:
    error = rule.error
    return {
        "name": rule.name,
        "state": str(rule.state),
        "since": stamp(rule.since),
        "lastEvaluationTime": stamp(rule.last_evaluation),
        "error": None
        if error is None
        else {"failure": error.failure, "message": error.message, "since": stamp(error.since)},
        "targets": [_target_to_dict(t) for t in rule.targets],
        "untrackedTargets": rule.untracked,
    }


def _rule_from_dict(raw: Mapping[str, Any]) -> RuleStatus:
    error = raw.get("error")
    return RuleStatus(
        name=str(raw["name"]),
        state=RuleState(raw.get("state", RuleState.INACTIVE)),
        since=parse_time(raw.get("since")),
        last_evaluation=parse_time(raw.get("lastEvaluationTime")),
        error=None
        if not isinstance(error, Mapping)
        else RuleError(
            str(error["failure"]), str(error.get("message") or ""), _required_time(error["since"])
        ),
        targets=tuple(_target_from_dict(t) for t in raw.get("targets") or ()),
        untracked=int(raw.get("untrackedTargets") or 0),
    )


def status_to_dict(status: HealthPolicyStatus) -> dict[str, Any]:
    """The status fields Caretaker owns (the executor adds conditions and observedGeneration)."""
    return {
        "rules": [_rule_to_dict(r) for r in status.rules],
        "lastEvaluationTime": stamp(status.last_evaluation),
        "firing": status.firing,
        "circuit": status.circuit,
        "circuitSince": stamp(status.circuit_since),
    }


def status_from_dict(raw: Mapping[str, Any] | None) -> HealthPolicyStatus:
    """Reads back ``status_to_dict``; entries that cannot be read are dropped, not fatal."""
    raw = raw or {}
    rules: list[RuleStatus] = []
    for item in raw.get("rules") or ():
        try:
            rules.append(_rule_from_dict(item))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return HealthPolicyStatus(
        rules=tuple(rules),
        last_evaluation=parse_time(raw.get("lastEvaluationTime")),
        circuit=str(raw.get("circuit") or ""),
        circuit_since=parse_time(raw.get("circuitSince")),
    )
