"""Remediation records: what Caretaker did (or would do, or skipped), why, and how it ended.

A record is created before its action runs (named after the action's idempotency key, so a
second create is refused: that is the dedup), then patched with the result. Facts are in
``spec``; the outcome in ``status`` (the CRD has no status subresource, so one create carries
both). ``timeToDetect`` = firing since - first seen; ``timeToRecover`` = cleared - firing since,
filled on every record of the episode when the condition clears (label caretaker.dev/episode):
MTTR is the mean ``timeToRecoverSeconds`` over episodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from caretaker.constants import API_VERSION, EPISODE_LABEL, POLICY_LABEL, RULE_LABEL
from caretaker.domain.health.actions import LadderStep, action_details
from caretaker.domain.health.delivery import (
    Delivery,
    ResolveState,
    delivery_from_dict,
    resolve_from_dict,
)
from caretaker.domain.health.keys import PolicyRef, episode_id, record_name
from caretaker.domain.health.status import IN_FLIGHT, Result, TargetStatus, parse_time, stamp

KIND = "Remediation"


@dataclass(frozen=True)
class RemediationRecord:
    """A record to create. ``value`` is the query's value for the target when decided."""

    name: str
    policy: PolicyRef
    rule: str
    severity: str
    target: str  # Target.key, e.g. osd/osd.3
    node: str
    action: str
    parameters: Mapping[str, str]
    disruptive: bool
    step: int
    query: str
    value: float
    labels: Mapping[str, str]
    key: str
    episode: str
    first_seen: datetime
    firing_since: datetime
    started_at: datetime
    result: Result
    message: str = ""
    finished_at: datetime | None = None

    @property
    def time_to_detect(self) -> timedelta:
        return self.firing_since - self.first_seen


@dataclass(frozen=True)
class RemediationView:
    """A record as read back (this policy's, or every policy's in the namespace)."""

    name: str
    key: str
    episode: str
    policy: str
    rule: str
    target: str
    action: str
    disruptive: bool
    result: Result
    started_at: datetime
    finished_at: datetime | None = None
    message: str = ""
    recovered_at: datetime | None = None
    first_seen: datetime | None = None
    firing_since: datetime | None = None
    severity: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    delivery: Delivery = field(default_factory=Delivery)  # a notify step's trigger
    resolve: ResolveState | None = None  # a notify step's resolve, once the episode ended


@dataclass(frozen=True)
class RuleFacts:
    """What a record says about the rule that justified it."""

    name: str
    severity: str
    query: str


def build_record(
    *,
    policy: PolicyRef,
    rule: RuleFacts,
    item: TargetStatus,
    index: int,
    step: LadderStep,
    key: str,
    result: Result,
    message: str,
    now: datetime,
) -> RemediationRecord:
    """The record of one ladder step of a firing target, as decided at ``now``."""
    if item.firing_since is None:
        raise ValueError("only a firing target has ladder steps")
    final = result not in IN_FLIGHT
    return RemediationRecord(
        name=record_name(policy.name, key),
        policy=policy,
        rule=rule.name,
        severity=rule.severity,
        target=item.target.key,
        node=item.target.node_name,
        action=step.kind,
        parameters=action_details(step.action),
        disruptive=step.disruptive,
        step=index,
        query=rule.query,
        value=item.value,
        labels=dict(item.labels),
        key=key,
        episode=episode_id(policy.uid, rule.name, item.target.key, item.firing_since),
        first_seen=item.first_seen,
        firing_since=item.firing_since,
        started_at=now,
        result=result,
        message=message,
        finished_at=now if final else None,
    )


def record_body(record: RemediationRecord) -> dict[str, Any]:
    """The Remediation object to create (owned by the policy: deleted with it)."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": record.name,
            "namespace": record.policy.namespace,
            "labels": {
                POLICY_LABEL: record.policy.name,
                RULE_LABEL: record.rule,
                EPISODE_LABEL: record.episode,
            },
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": "HealthPolicy",
                    "name": record.policy.name,
                    "uid": record.policy.uid,
                }
            ],
        },
        "spec": _compact(
            {
                "policy": record.policy.name,
                "rule": record.rule,
                "severity": record.severity,
                "target": record.target,
                "node": record.node,
                "action": record.action,
                "parameters": _non_empty(record.parameters),
                "disruptive": record.disruptive,
                "step": record.step,
                "query": record.query,
                "value": repr(record.value),
                "labels": _non_empty(record.labels),
                "idempotencyKey": record.key,
                "episode": record.episode,
                "firstSeen": stamp(record.first_seen),
                "firingSince": stamp(record.firing_since),
            }
        ),
        "status": _compact(
            {
                "result": str(record.result),
                "message": record.message,
                "startedAt": stamp(record.started_at),
                "finishedAt": stamp(record.finished_at),
                "timeToDetectSeconds": int(record.time_to_detect.total_seconds()),
            }
        ),
    }


def _non_empty(values: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def _compact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Leaves out None and "" (kube-apiserver 1.20 rejects an empty string in a CRD's typed
    field as "null"; reading back treats a missing field as empty)."""
    return {key: value for key, value in fields.items() if value is not None and value != ""}


def view_of(record: RemediationRecord) -> RemediationView:
    """What reading the created record back gives (used by tests and fakes)."""
    return RemediationView(
        name=record.name,
        key=record.key,
        episode=record.episode,
        policy=record.policy.name,
        rule=record.rule,
        target=record.target,
        action=record.action,
        disruptive=record.disruptive,
        result=record.result,
        started_at=record.started_at,
        finished_at=record.finished_at,
        message=record.message,
        first_seen=record.first_seen,
        firing_since=record.firing_since,
        severity=record.severity,
        parameters=dict(record.parameters),
    )


def view_from_object(raw: Mapping[str, Any]) -> RemediationView | None:
    """Reads a Remediation object as listed from the API; None when it is not one of ours."""
    try:
        spec, status = raw.get("spec") or {}, raw.get("status") or {}
        started = parse_time(status.get("startedAt"))
        if started is None:
            return None
        return RemediationView(
            name=str(raw["metadata"]["name"]),
            key=str(spec["idempotencyKey"]),
            episode=str(spec.get("episode") or ""),
            policy=str(spec["policy"]),
            rule=str(spec["rule"]),
            target=str(spec["target"]),
            action=str(spec["action"]),
            disruptive=bool(spec.get("disruptive", False)),
            result=Result(status.get("result", Result.PENDING)),
            started_at=started,
            finished_at=parse_time(status.get("finishedAt")),
            message=str(status.get("message") or ""),
            recovered_at=parse_time(status.get("recoveredAt")),
            first_seen=parse_time(spec.get("firstSeen")),
            firing_since=parse_time(spec.get("firingSince")),
            severity=str(spec.get("severity") or ""),
            parameters={str(k): str(v) for k, v in (spec.get("parameters") or {}).items()},
            delivery=delivery_from_dict(status.get("delivery")),
            resolve=resolve_from_dict(status.get("resolve")),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
