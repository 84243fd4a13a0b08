"""How sending one message (a trigger or a resolve) to its receivers goes, as kept in the notify
step's Remediation record; and the backoff between evaluations that send it again.

``status.delivery`` (the trigger) and ``status.resolve`` (the resolve, once the episode ended)
hold ``attempts`` (sends that did not reach every receiver, plus the one that did),
``nextAttemptAt`` (no resend before) and ``deliveredTo`` (receivers that accepted it: a resend
goes only to the others). The record's own ``result`` is the trigger's; ``resolve.result`` the
resolve's: Pending until every receiver accepted it, Succeeded then, Failed when given up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from caretaker.domain.health.status import Result, parse_time, stamp

RETRY_BASE = timedelta(seconds=15)
RETRY_MAX = timedelta(minutes=5)


def retry_delay(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed sends: 15s, 30s, 1m, 2m, 4m, then 5m for ever."""
    if attempts <= 0:
        return timedelta(0)
    delay: timedelta = RETRY_BASE * (2 ** min(attempts - 1, 16))
    return min(RETRY_MAX, delay)


@dataclass(frozen=True)
class Delivery:
    attempts: int = 0
    next_attempt_at: datetime | None = None
    delivered_to: tuple[str, ...] = ()

    def due(self, now: datetime) -> bool:
        return self.next_attempt_at is None or now >= self.next_attempt_at


@dataclass(frozen=True)
class ResolveState:
    """The resolve of one incident (``status.resolve`` of the notify step's record)."""

    result: Result
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    delivery: Delivery = field(default_factory=Delivery)


def delivery_from_dict(raw: Any) -> Delivery:
    if not isinstance(raw, Mapping):
        return Delivery()
    delivered = raw.get("deliveredTo") or ()
    return Delivery(
        attempts=int(raw.get("attempts") or 0),
        next_attempt_at=parse_time(raw.get("nextAttemptAt")),
        delivered_to=tuple(str(name) for name in delivered),
    )


def resolve_from_dict(raw: Any) -> ResolveState | None:
    if not isinstance(raw, Mapping) or not raw.get("result"):
        return None
    return ResolveState(
        result=Result(raw["result"]),
        message=str(raw.get("message") or ""),
        started_at=parse_time(raw.get("startedAt")),
        finished_at=parse_time(raw.get("finishedAt")),
        delivery=delivery_from_dict(raw),
    )


def delivery_patch(delivery: Delivery) -> dict[str, Any]:
    """A merge patch of ``status.delivery`` (or of the delivery fields of ``status.resolve``);
    a missing ``nextAttemptAt`` is written as null, which removes it."""
    return {
        "attempts": delivery.attempts,
        "nextAttemptAt": stamp(delivery.next_attempt_at),
        "deliveredTo": list(delivery.delivered_to),
    }


def resolve_patch(
    result: Result,
    message: str,
    *,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    delivery: Delivery | None = None,
) -> dict[str, Any]:
    """A merge patch of ``status.resolve``: fields left None stay as they are."""
    fields: dict[str, Any] = {"result": str(result)}
    if message:  # the API server of Kubernetes 1.20 refuses "" in a typed field
        fields["message"] = message
    if started_at is not None:
        fields["startedAt"] = stamp(started_at)
    if finished_at is not None:
        fields["finishedAt"] = stamp(finished_at)
    if delivery is not None:
        fields.update(delivery_patch(delivery))
    return fields
