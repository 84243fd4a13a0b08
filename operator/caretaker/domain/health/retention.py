"""Retention of Remediation records: a pure choice of which old ones to delete.

Never deleted: records in flight (Pending, Verifying, Draining), records whose resolve is still
being delivered, the markOut records of OSDs still out (markIn needs them), records of an
episode still firing (dedup, resume after a lost status write and
recovery stamps need them) and records inside the cooldown window. Then records older than
``maxAge`` go, then all but the newest ``limit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from caretaker.domain.health.keys import PolicyRef, episode_id
from caretaker.domain.health.ledger import marks_out
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.spec import HealthPolicySpec
from caretaker.domain.health.status import IN_FLIGHT, HealthPolicyStatus, Result


@dataclass(frozen=True)
class Retention:
    """What must survive a cleanup besides the newest ``limit`` records younger than max_age."""

    limit: int
    max_age: timedelta
    cooldown: timedelta = timedelta(0)  # the longest cooldown: records it needs are kept
    active_episodes: frozenset[str] = field(default_factory=frozenset)
    still_out: frozenset[int] = frozenset()  # OSDs Caretaker marked out that are not in again


def records_to_delete(
    records: Sequence[RemediationView], now: datetime, retention: Retention
) -> tuple[str, ...]:
    """Names of records to delete: too old, or beyond the limit (oldest first).

    Never deleted: records in flight (Pending, Verifying, Draining), records of an episode still
    firing (dedup and recovery need them) and records inside the cooldown window.
    """

    def protected(record: RemediationView) -> bool:
        resolving = record.resolve is not None and record.resolve.result is Result.PENDING
        return (
            record.result in IN_FLIGHT
            or resolving
            or record.episode in retention.active_episodes
            or now - record.started_at < retention.cooldown
            or marks_out(record, retention.still_out)
        )

    newest_first = sorted(records, key=lambda r: (r.started_at, r.name), reverse=True)
    doomed: list[str] = []
    kept = 0
    for record in newest_first:
        too_old = now - record.started_at > retention.max_age
        if protected(record):
            kept += 1
            continue
        if too_old or kept >= retention.limit:
            doomed.append(record.name)
            continue
        kept += 1
    return tuple(reversed(doomed))


def retention_for(
    spec: HealthPolicySpec,
    policy: PolicyRef,
    status: HealthPolicyStatus,
    still_out: frozenset[int] = frozenset(),
) -> Retention:
    """A policy's retention: its history limits, its longest cooldown, its firing episodes."""
    episodes = frozenset(
        episode_id(policy.uid, rule.name, item.target.key, item.firing_since)
        for rule in status.rules
        for item in rule.targets
        if item.firing_since is not None
    )
    cooldown = max((rule.cooldown for rule in spec.rules), default=timedelta(0))
    return Retention(spec.history.limit, spec.history.max_age, cooldown, episodes, still_out)
