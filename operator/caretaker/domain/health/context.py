"""What every rule and target of one evaluation shares, read once from the world."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from caretaker.domain.ceph.cluster import OkToStop
from caretaker.domain.disruption.ledger import Claim
from caretaker.domain.health.keys import PolicyRef, episode_id, idempotency_key, record_name
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.spec import HealthPolicySpec, RuleSpec
from caretaker.domain.health.status import TargetStatus
from caretaker.domain.health.world import CephReadings, MaintenanceCover

RESULT_TIMEOUT = timedelta(minutes=10)  # a step without a reported result by then has failed
RESUME_WINDOW = timedelta(hours=1)  # an unresolved episode with a record this recent resumes


@dataclass(frozen=True)
class EvalContext:
    now: datetime
    policy: PolicyRef
    spec: HealthPolicySpec
    ceph: CephReadings | None
    circuit: str  # "" closed, else why disruptive steps are frozen
    maintenance: MaintenanceCover
    ok_to_stop: Mapping[int, OkToStop]
    records: tuple[RemediationView, ...]
    records_by_key: Mapping[str, RemediationView]
    disruptions: tuple[Claim, ...] = ()  # the cluster-wide disruption ledger
    ledger_error: str = ""
    freeze: str = ""  # "" or the MaintenanceFreezes that hold every disruptive step

    def step_key(self, rule: RuleSpec, item: TargetStatus, index: int) -> str:
        assert item.firing_since is not None
        return idempotency_key(
            self.policy.uid, rule.name, item.target.key, index, item.firing_since
        )

    def episode(self, rule: str, item: TargetStatus) -> str:
        assert item.firing_since is not None
        return episode_id(self.policy.uid, rule, item.target.key, item.firing_since)

    def unresolved_episode(self, rule: str, target_key: str) -> RemediationView | None:
        """The newest record of an episode of this rule and target that was never resolved,
        if recent: a status write was lost, so the episode resumes instead of starting again
        (same keys: nothing is planned or sent twice)."""
        candidates = [
            r
            for r in self.records
            if (r.policy, r.rule, r.target) == (self.policy.name, rule, target_key)
            and r.recovered_at is None
            and r.firing_since is not None
            and r.first_seen is not None
            and self.now - r.started_at < RESUME_WINDOW
        ]
        return max(candidates, key=lambda r: r.started_at, default=None)

    def record_name(self, key: str) -> str:
        known = self.records_by_key.get(key)
        return known.name if known else record_name(self.policy.name, key)
