"""A fake Ceph cluster and a fake executor that drive ``evaluate`` interval after interval.

Everything the executor keeps lives in a fake API: the policy status as a JSON dict and the
Remediation objects as JSON dicts. Each tick reads them back (as a restarted operator would),
asks ok-to-stop for the OSDs the evaluation names, evaluates, then follows the executor's
order: create records (an existing name is kept: that is the dedup), patch records, write the
status, send notifications (receivers in ``refusing`` refuse them), run actions, patch records
with results. ``crash`` stops a tick
after a given stage, to test restarts. The tests below check the harness itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from caretaker.domain.ceph.cluster import OkToStop
from caretaker.domain.ceph.osd_placement import NodeOsds
from caretaker.domain.ceph.topology import Topology
from caretaker.domain.common.reasons import Note
from caretaker.domain.disruption.ledger import Claim, Observed, admit
from caretaker.domain.health.actions import (
    Drain,
    MarkIn,
    MarkOut,
    RestartOsd,
    SetFlag,
    UnsetFlag,
    kind_of,
)
from caretaker.domain.health.brakes import OsdSpace, OutBrakes
from caretaker.domain.health.claims import claims_over
from caretaker.domain.health.evaluation import evaluate, osds_needing_ok_to_stop
from caretaker.domain.health.keys import PolicyRef
from caretaker.domain.health.outputs import Evaluation, Notification, PlannedAction
from caretaker.domain.health.paging import after_send
from caretaker.domain.health.records import record_body, view_from_object
from caretaker.domain.health.spec import HealthPolicySpec, read_health_policy_spec
from caretaker.domain.health.status import (
    HealthPolicyStatus,
    Result,
    TargetStatus,
    status_from_dict,
    status_to_dict,
)
from caretaker.domain.health.world import (
    HEALTH_ERR,
    HEALTH_OK,
    CephReadings,
    HealthWorld,
    MaintenanceCover,
)
from caretaker.domain.promql.outcome import QueryOk, QueryOutcome, Sample

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
POLICY = PolicyRef("ceph", "osd-health", "0b5e-uid")
RECEIVERS: dict[str, Any] = {
    "receivers": [
        {"name": "oncall", "pagerduty": {"routingKeySecretRef": {"name": "pd", "key": "key"}}},
        {"name": "chat", "slack": {"webhookUrlSecretRef": {"name": "slack", "key": "url"}}},
    ],
    "routes": [
        {"severity": "urgent", "receivers": ["chat"]},
        {"severity": "critical", "receivers": ["oncall", "chat"]},
    ],
}
OSD_POLICY: dict[str, Any] = {
    "interval": "30s",
    "rules": [{"name": "osd-down", "preset": "OsdDown"}],
    "notifications": RECEIVERS,
    "safety": {"maxConcurrentDisruptive": 1, "maxOsdsOut": 1, "minOsdUpRatio": 0.5},
}
STAGES = ("records", "status", "sent")


def policy(**changes: Any) -> dict[str, Any]:
    return {**OSD_POLICY, **changes}


def read(raw: dict[str, Any]) -> HealthPolicySpec:
    spec, errors = read_health_policy_spec(raw)
    assert spec is not None, errors
    return spec


def json_roundtrip(status: HealthPolicyStatus) -> HealthPolicyStatus:
    return status_from_dict(json.loads(json.dumps(status_to_dict(status))))


@dataclass
class Fleet:
    spec_raw: dict[str, Any] = field(default_factory=lambda: dict(OSD_POLICY))
    osds: int = 10
    now: datetime = T0
    # the fake API
    status_raw: dict[str, Any] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the fake cluster
    osd_up: dict[int, bool] = field(default_factory=dict)
    osd_in: dict[int, bool] = field(default_factory=dict)
    out_by_us: set[int] = field(default_factory=set)
    quorum_ok: bool = True
    health: str = HEALTH_OK
    ceph_readable: bool = True
    exporter_age: timedelta | None = timedelta(seconds=10)  # None: no exporter series at all
    restart_heals: bool = True
    drain_rounds_blocked: int = 0  # drain rounds a budget refuses before the node is empty
    failing: set[str] = field(default_factory=set)  # action kinds that fail
    refusing: set[str] = field(default_factory=set)  # receivers that refuse every message
    not_ok_to_stop: set[int] = field(default_factory=set)
    cluster_flags: set[str] = field(default_factory=set)  # noout, norebalance, ...
    noout: set[int] = field(default_factory=set)  # OSDs with their own noout
    maintenance: MaintenanceCover = field(default_factory=MaintenanceCover)
    outcomes: dict[str, QueryOutcome] = field(default_factory=dict)  # overrides per rule
    # what happened
    actions: list[tuple[datetime, PlannedAction]] = field(default_factory=list)
    sent: list[tuple[datetime, Notification]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    asked_ok_to_stop: list[frozenset[int]] = field(default_factory=list)
    last: Evaluation | None = None
    # the cluster-wide disruption ledger, and what happened to it
    claims: dict[str, Claim] = field(default_factory=dict)
    up_from: dict[int, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.osd_up = self.osd_up or dict.fromkeys(range(self.osds), True)
        self.osd_in = self.osd_in or dict.fromkeys(range(self.osds), True)

    @property
    def spec(self) -> HealthPolicySpec:
        return read(self.spec_raw)

    @property
    def status(self) -> HealthPolicyStatus:
        return status_from_dict(json.loads(json.dumps(self.status_raw)))

    def host(self, osd: int) -> str:
        return f"node-{osd // 2}"

    def osd_sample(self, osd: int) -> Sample:
        return Sample({"ceph_daemon": f"osd.{osd}", "hostname": self.host(osd)}, 0.0)

    def outcome(self, rule: str) -> QueryOutcome:
        if rule in self.outcomes:
            return self.outcomes[rule]
        spec_rule = self.spec.rule(rule)
        if spec_rule is not None and spec_rule.preset == "OsdDown":
            down = [i for i, up in sorted(self.osd_up.items()) if not up]
            return QueryOk(tuple(self.osd_sample(i) for i in down))
        return QueryOk(())

    def ceph(self) -> CephReadings | None:
        if not self.ceph_readable:
            return None
        hosts = {i: self.host(i) for i in self.osd_up}
        return CephReadings(
            health=self.health,
            osds_total=len(self.osd_up),
            osds_up=sum(self.osd_up.values()),
            quorum=("a", "b", "c") if self.quorum_ok else (),
            osds_out_by_caretaker=frozenset(self.out_by_us),
            osd_up=dict(self.osd_up),
            osd_in=dict(self.osd_in),
            osd_up_from={i: self.up_from.get(i, 1) for i in self.osd_up},
            topology=Topology(ancestry={i: (("host", f"host/{h}"),) for i, h in hosts.items()}),
            node_osds={
                h: NodeOsds(tuple(i for i in sorted(hosts) if hosts[i] == h))
                for h in set(hosts.values())
            },
            cluster_flags=frozenset(self.cluster_flags),
        )

    def brakes(self) -> OutBrakes:
        """What the executor reads for markOut: equal OSDs, 10% used, Ceph's defaults."""
        gib = 1 << 30
        return OutBrakes(
            cluster_flags=frozenset(self.cluster_flags),
            osd_flags={i: frozenset({"noout"} if i in self.noout else ()) for i in self.osd_in},
            osd_up=dict(self.osd_up),
            osd_in=dict(self.osd_in),
            space={i: OsdSpace(100 * gib, 10 * gib) for i in self.osd_in},
            min_in_ratio=0.75,
            subtree_limit="rack",
            subtree_limit_id=3,
            nearfull_ratio=0.85,
        )

    def world(self) -> HealthWorld:
        views = (view_from_object(json.loads(json.dumps(body))) for body in self.records.values())
        return HealthWorld(
            now=self.now,
            policy=POLICY,
            spec=self.spec,
            status=self.status,
            outcomes={rule.name: self.outcome(rule.name) for rule in self.spec.rules},
            ceph=self.ceph(),
            ceph_error="" if self.ceph_readable else "timed out talking to the monitors",
            maintenance=self.maintenance,
            remediations=tuple(v for v in views if v is not None),
            exporter_age=self.exporter_age,
            disruptions=tuple(self.claims.values()),
        )

    # -- one interval -----------------------------------------------------------------
    def tick(self, crash: str = "") -> Evaluation:
        world = self.world()
        needed = osds_needing_ok_to_stop(world)
        if needed:
            self.asked_ok_to_stop.append(needed)
        answers = {
            i: OkToStop(i not in self.not_ok_to_stop, "pgs would be inactive") for i in needed
        }
        ceph = world.ceph  # the brakes are read with the ok-to-stop answers, as the executor does
        if needed and ceph is not None:
            ceph = replace(ceph, brakes=self.brakes())
        evaluation = evaluate(replace(world, ok_to_stop=answers, ceph=ceph))
        self.last = evaluation
        for record in evaluation.records:
            self.records.setdefault(record.name, record_body(record))
        for update in evaluation.record_updates:
            merge_patch(self.records[update.name], update.patch())
        if crash == "records":
            return evaluation
        self.status_raw = json.loads(json.dumps(status_to_dict(evaluation.status)))
        self.notes.extend(evaluation.notes)
        if crash == "status":
            return evaluation
        for notification in evaluation.notifications:
            self.sent.append((self.now, notification))
            names = [r.name for r in notification.receivers]
            sent = [n for n in names if n not in self.refusing]
            failures = [f"{n}: refused" for n in names if n in self.refusing]
            update, notes = after_send(notification, sent, failures, self.now)
            merge_patch(self.records[update.name], update.patch())
            self.notes.extend(notes)
        for action in evaluation.actions:
            self._apply(action)
        readings = self.ceph()
        if readings is not None:
            seen = Observed(readings.osd_up, readings.osd_in, readings.osd_up_from, {})
            for claimant in claims_over(self.claims.values(), seen):
                del self.claims[claimant]
        return evaluation

    def _apply(self, action: PlannedAction) -> None:
        self.actions.append((self.now, action))
        if action.claim is not None:
            if not admit(self.claims.values(), action.claim).admitted:
                self.violations.append(f"{action.claim.claimant} claimed a second domain")
            self.claims[action.claim.claimant] = action.claim
        if kind_of(action.action) in self.failing:
            self._result(action.record_name, Result.FAILED, "the executor failed")
            return
        osd = action.target.osd_id
        if isinstance(action.action, RestartOsd) and self.restart_heals and osd is not None:
            self.osd_up[osd] = True
            self.up_from[osd] = self.up_from.get(osd, 1) + 1
        if isinstance(action.action, MarkOut) and osd is not None:
            self.osd_in[osd] = False
            self.out_by_us.add(osd)
        if isinstance(action.action, MarkIn) and osd is not None:
            self.osd_in[osd] = True
            self.out_by_us.discard(osd)
        if isinstance(action.action, SetFlag):
            self.cluster_flags.add(action.action.flag)
        if isinstance(action.action, UnsetFlag):
            self.cluster_flags.discard(action.action.flag)
        if isinstance(action.action, Drain) and self.drain_rounds_blocked:
            self.drain_rounds_blocked -= 1
            self._result(action.record_name, Result.DRAINING, "draining, blocked by a budget")
            return
        self._result(action.record_name, action.success_result, "done")

    def _result(self, name: str, result: Result, message: str) -> None:
        self.records[name]["status"].update(
            {"result": str(result), "message": message, "finishedAt": _stamp(self.now)}
        )

    def run_for(self, duration: timedelta, step: timedelta = timedelta(seconds=30)) -> None:
        """Ticks every ``step`` for ``duration`` (the tick at now + duration excluded)."""
        end = self.now + duration
        while self.now < end:
            self.tick()
            self.now += step

    # -- reading what happened ------------------------------------------------------------
    def action_kinds(self) -> list[str]:
        return [kind_of(a.action) for _, a in self.actions]

    def action_times(self, kind: str) -> list[timedelta]:
        return [t - T0 for t, a in self.actions if kind_of(a.action) == kind]

    def sent_events(self) -> list[tuple[str, str, tuple[str, ...]]]:
        return [
            (str(n.event), n.target.key, tuple(r.name for r in n.receivers)) for _, n in self.sent
        ]

    def target(self, rule: str, key: str) -> TargetStatus | None:
        found = self.status.rule(rule)
        return found.target(key) if found else None

    def record_results(self) -> dict[str, str]:
        return {
            f"{b['spec']['action']}#{b['spec']['step']}": b["status"]["result"]
            for b in self.records.values()
        }

    def reasons(self) -> list[str]:
        return [n.reason for n in self.notes]


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """RFC 7386, as the API server applies a merge patch: null removes, objects merge."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            if not isinstance(target.get(key), dict):
                target[key] = {}
            merge_patch(target[key], value)
        else:
            target[key] = json.loads(json.dumps(value))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_healthy_fleet_does_nothing() -> None:
    fleet = Fleet()
    fleet.run_for(timedelta(minutes=10))
    assert fleet.actions == []
    assert fleet.sent == []
    assert fleet.records == {}
    assert fleet.status.rule("osd-down") is not None


def test_circuit_state_comes_from_ceph_readings() -> None:
    fleet = Fleet(health=HEALTH_ERR)
    evaluation = fleet.tick()
    assert evaluation.status.circuit == "Ceph reports HEALTH_ERR"
