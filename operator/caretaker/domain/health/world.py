"""The snapshot one HealthPolicy evaluation is made from; the executor reads it.

Per rule: the outcome of its one query in this interval. The age of the newest Ceph exporter
sample (``FRESHNESS_QUERY``: vanished series look healthy, so old data must count as unknown).
Then Ceph's safety readings, the targets under an active Maintenance, ``ok-to-stop`` answers
for OSDs the ladder wants to mark out (see ``osds_needing_ok_to_stop``), and the Remediation
records (for cooldown, dedup and resuming an episode after a lost status write).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from caretaker.domain.ceph.cluster import CephCluster, OkToStop
from caretaker.domain.common.freeze import FreezeView
from caretaker.domain.common.validation import FieldError
from caretaker.domain.disruption.ledger import Claim
from caretaker.domain.health.brakes import OutBrakes
from caretaker.domain.health.keys import PolicyRef
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.spec import HealthPolicySpec
from caretaker.domain.health.status import HealthPolicyStatus
from caretaker.domain.health.targets import Target
from caretaker.domain.promql.outcome import QueryOk, QueryOutcome

HEALTH_OK = "HEALTH_OK"
HEALTH_WARN = "HEALTH_WARN"
HEALTH_ERR = "HEALTH_ERR"
# The age in seconds of the newest sample of the Ceph exporter (no result: no series at all).
FRESHNESS_QUERY = "time() - max(timestamp(ceph_health_status))"


@dataclass(frozen=True)
class CephReadings(CephCluster):
    """Ceph's own answers (not Prometheus), the model every feature shares, plus what a policy
    adds: the OSDs Caretaker marked out, and markOut's brakes when one is due."""

    osds_out_by_caretaker: frozenset[int] = frozenset()
    brakes: OutBrakes | None = None  # for markOut, read only when one is due: see brakes.py

    @classmethod
    def of(cls, cluster: CephCluster, osds_out_by_caretaker: frozenset[int]) -> CephReadings:
        shared = {f.name: getattr(cluster, f.name) for f in fields(CephCluster)}
        return cls(**shared, osds_out_by_caretaker=osds_out_by_caretaker)

    @property
    def up_ratio(self) -> float:
        return self.osds_up / self.osds_total if self.osds_total else 0.0


@dataclass(frozen=True)
class MaintenanceCover:
    """Targets under an active Maintenance: node name -> Maintenance, OSD id -> Maintenance."""

    nodes: Mapping[str, str] = field(default_factory=dict)
    osds: Mapping[int, str] = field(default_factory=dict)

    def covering(self, target: Target) -> str:
        """The Maintenance (``namespace/name``) covering the target, or ""."""
        osd = target.osd_id
        if osd is not None and osd in self.osds:
            return self.osds[osd]
        return self.nodes.get(target.node_name, "") if target.node_name else ""


@dataclass(frozen=True)
class HealthWorld:
    now: datetime
    policy: PolicyRef
    spec: HealthPolicySpec | None
    status: HealthPolicyStatus
    outcomes: Mapping[str, QueryOutcome] = field(default_factory=dict)  # rule name -> outcome
    ceph: CephReadings | None = None  # None: Ceph could not be read (see ceph_error)
    ceph_error: str = ""
    maintenance: MaintenanceCover = field(default_factory=MaintenanceCover)
    ok_to_stop: Mapping[int, OkToStop] = field(default_factory=dict)
    remediations: tuple[RemediationView, ...] = ()
    spec_errors: tuple[FieldError, ...] = ()
    disruptions: tuple[Claim, ...] = ()  # the cluster-wide disruption ledger
    ledger_error: str = ""  # why the ledger could not be read ("" when it was)
    # FRESHNESS_QUERY's answer. None (the default: unknown is not healthy) when it returned
    # nothing; then every rule but those about absence is Stale.
    exporter_age: timedelta | None = None
    freeze: FreezeView = field(default_factory=FreezeView)  # MaintenanceFreezes active now


def anything_firing(outcomes: Mapping[str, QueryOutcome], status: HealthPolicyStatus) -> bool:
    """Whether a rule returned a series now, or a target was tracked before (its rule may have
    failed this interval: its state is kept): only then may a Maintenance cover matter."""
    returned = any(isinstance(o, QueryOk) and o.samples for o in outcomes.values())
    return returned or any(rule.targets for rule in status.rules)
