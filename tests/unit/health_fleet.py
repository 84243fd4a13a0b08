"""A fake fleet for the shipped HealthPolicy executor (``handlers.health.executor``).

``Fleet`` implements ``HealthPorts``: the policy object (spec, status as a JSON dict,
resourceVersion) and the Remediation objects live in a fake API; Ceph, Prometheus, the
receivers and the actions' effects in a fake cluster. Each ``tick`` calls the shipped
``evaluate_and_apply`` on the policy as the API returns it (as a restarted operator reads it),
then the fake's claim sweeper ends the claims that are over. Receivers in ``refusing`` refuse
every message; action kinds in ``failing`` fail.

Crashes are injected by the fake: ``Killed`` (a ``BaseException``: a killed process, not an
error the executor may handle) is raised at a chosen call. ``crash="records"`` kills the round
at its status write (records created and updated, nothing else), ``crash="status"`` right after
the status and its Events (nothing sent, nothing run), ``kill_at=n`` at the n-th call.
test_health_harness checks the fake itself; test_health_executor the executor against it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Set
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from caretaker.clients.kube.custom import CustomRef, StatusWrite
from caretaker.clients.kube.events import ObjectRef
from caretaker.domain.ceph.cluster import OkToStop
from caretaker.domain.ceph.osd_placement import NodeOsds
from caretaker.domain.ceph.topology import Topology
from caretaker.domain.common.freeze import FreezeView
from caretaker.domain.common.reasons import Note
from caretaker.domain.disruption.ledger import Admission, Claim, Observed, admit
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
from caretaker.domain.health.records import view_from_object
from caretaker.domain.health.spec import HealthPolicySpec, read_health_policy_spec
from caretaker.domain.health.status import (
    HealthPolicyStatus,
    TargetStatus,
    status_from_dict,
    status_to_dict,
)
from caretaker.domain.health.world import (
    HEALTH_OK,
    CephReadings,
    HealthWorld,
    MaintenanceCover,
)
from caretaker.domain.promql.outcome import QueryOk, QueryOutcome, Sample
from caretaker.handlers.health.actions import ActionOutcome
from caretaker.handlers.health.executor import evaluate_and_apply
from caretaker.handlers.health.notify import SendOutcome
from caretaker.handlers.health.ports import HealthPorts
from caretaker.handlers.health.world import PolicyObject, read_policy

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


class Killed(BaseException):
    """The operator process dies at this call (nothing after it happens)."""


AFTER_STATUS_WRITE = frozenset({"post_event", "clock"})  # what crash="status" still lets run


@dataclass
class Fleet:
    spec_raw: dict[str, Any] = field(default_factory=lambda: dict(OSD_POLICY))
    osds: int = 10
    now: datetime = T0
    # the fake API
    status_raw: dict[str, Any] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    resource_version: int = 1
    generation: int = 1
    # other writers between this operator's snapshot and its writes
    racing_records: bool = False  # every new record was just created by another copy
    racing_edit: str = ""  # "metadata" or "spec": the policy changes before the status write
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
    freeze: FreezeView = field(default_factory=FreezeView)  # the MaintenanceFreezes active now
    outcomes: dict[str, QueryOutcome] = field(default_factory=dict)  # overrides per rule
    # what happened
    actions: list[tuple[datetime, PlannedAction]] = field(default_factory=list)
    sent: list[tuple[datetime, Notification]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    asked_ok_to_stop: list[frozenset[int]] = field(default_factory=list)
    last: Evaluation | None = None
    calls: list[str] = field(default_factory=list)  # the ports called by the last round, in order
    kills: int = 0
    # the cluster-wide disruption ledger, and what happened to it
    claims: dict[str, Claim] = field(default_factory=dict)
    up_from: dict[int, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    # the crash of the round under way
    _crash: str = ""
    _kill_at: int | None = None
    _calls: int = 0
    _status_written: bool = False
    _world: HealthWorld | None = None

    def __post_init__(self) -> None:
        self.osd_up = self.osd_up or dict.fromkeys(range(self.osds), True)
        self.osd_in = self.osd_in or dict.fromkeys(range(self.osds), True)

    @property
    def spec(self) -> HealthPolicySpec:
        return read(self.spec_raw)

    @property
    def status(self) -> HealthPolicyStatus:
        return status_from_dict(json.loads(json.dumps(self.status_raw)))

    def body(self) -> dict[str, Any]:
        """The policy as the API server returns it."""
        meta = {
            "namespace": POLICY.namespace,
            "name": POLICY.name,
            "uid": POLICY.uid,
            "generation": self.generation,
            "resourceVersion": str(self.resource_version),
        }
        body = {"metadata": meta, "spec": self.spec_raw, "status": self.status_raw}
        return dict(json.loads(json.dumps(body)))

    def host(self, osd: int) -> str:
        return f"node-{osd // 2}"

    def osd_sample(self, osd: int) -> Sample:
        return Sample({"ceph_daemon": f"osd.{osd}", "hostname": self.host(osd)}, 0.0)

    def outcome(self, spec: HealthPolicySpec, rule: str) -> QueryOutcome:
        if rule in self.outcomes:
            return self.outcomes[rule]
        spec_rule = spec.rule(rule)
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
        """The snapshot before ``ok-to-stop`` is asked (what ``evaluate`` sees without it)."""
        return self._snapshot(read_policy(self.body()), self.now)

    def _snapshot(self, policy: PolicyObject, now: datetime) -> HealthWorld:
        if policy.spec is None:
            return HealthWorld(now, policy.ref, None, policy.status, spec_errors=policy.errors)
        spec = policy.spec
        views = (view_from_object(json.loads(json.dumps(body))) for body in self.records.values())
        return HealthWorld(
            now=now,
            policy=policy.ref,
            spec=spec,
            status=policy.status,
            outcomes={rule.name: self.outcome(spec, rule.name) for rule in spec.rules},
            ceph=self.ceph(),
            ceph_error="" if self.ceph_readable else "timed out talking to the monitors",
            maintenance=self.maintenance,
            remediations=tuple(v for v in views if v is not None),
            exporter_age=self.exporter_age,
            disruptions=tuple(self.claims.values()),
            freeze=self.freeze,
        )

    # -- HealthPorts ----------------------------------------------------------------------
    def read_world(self, policy: PolicyObject, now: datetime) -> HealthWorld:
        """The snapshot, with ok-to-stop answers (and the markOut brakes) when asked for."""
        self._call("read_world")
        world = self._snapshot(policy, now)
        needed = osds_needing_ok_to_stop(world) if world.spec is not None else frozenset()
        if needed:
            self.asked_ok_to_stop.append(needed)
            answers = {
                i: OkToStop(i not in self.not_ok_to_stop, "pgs would be inactive") for i in needed
            }
            ceph = None if world.ceph is None else replace(world.ceph, brakes=self.brakes())
            world = replace(world, ok_to_stop=answers, ceph=ceph)
        self._world = world
        return world

    def read_object(self, ref: CustomRef) -> Mapping[str, Any] | None:
        self._call("read_object")
        return self.body()

    def create_record(self, body: Mapping[str, Any]) -> bool:
        self._call("create_record")
        name = body["metadata"]["name"]
        if name in self.records:
            return False
        self.records[name] = json.loads(json.dumps(body))
        return not self.racing_records

    def patch_record(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        self._call("patch_record")
        assert namespace == POLICY.namespace
        if name in self.records:  # a record that is gone is not written (False, as the API)
            merge_patch(self.records[name], dict(patch))

    def delete_record(self, namespace: str, name: str) -> None:
        self._call("delete_record")
        self.records.pop(name, None)

    def write_status(
        self, ref: CustomRef, status: Mapping[str, Any], resource_version: str
    ) -> StatusWrite:
        self._call("write_status")
        assert (ref.namespace, ref.name) == (POLICY.namespace, POLICY.name)
        if self.racing_edit:  # kopf adds its finalizer, or someone edits the spec
            self.resource_version += 1
            self.generation += self.racing_edit == "spec"
            self.racing_edit = ""
        if resource_version and resource_version != str(self.resource_version):
            return StatusWrite.CONFLICT
        self.status_raw = json.loads(json.dumps(status))
        self.resource_version += 1
        self._status_written = True
        return StatusWrite.WRITTEN

    def post_event(self, regarding: ObjectRef, note: Note) -> None:
        self._call("post_event")
        assert (regarding.kind, regarding.name) == ("HealthPolicy", POLICY.name)
        self.notes.append(note)

    def send(self, namespace: str, notification: Notification) -> SendOutcome:
        self._call("send")
        self.sent.append((self.now, notification))
        names = [r.name for r in notification.receivers]
        sent = [n for n in names if n not in self.refusing]
        failures = [f"{n}: refused" for n in names if n in self.refusing]
        return SendOutcome(tuple(sent), tuple(failures))

    def clock(self) -> datetime:
        return self.now

    def enter_claim(self, claim: Claim) -> Admission:
        self._call("enter_claim")
        verdict = admit(self.claims.values(), claim)
        if not verdict.admitted:
            self.violations.append(f"{claim.claimant} claimed a second domain")
            return verdict
        self.claims[claim.claimant] = claim
        return verdict

    def remove_claims(self, claimants: Set[str]) -> None:
        self._call("remove_claims")
        for claimant in claimants:
            self.claims.pop(claimant, None)

    def run_action(self, world: HealthWorld, planned: PlannedAction) -> ActionOutcome:
        """The action's effect on the fake cluster."""
        self._call("run_action")
        self.actions.append((self.now, planned))
        if kind_of(planned.action) in self.failing:
            return ActionOutcome(False, "the executor failed")
        action, osd = planned.action, planned.target.osd_id
        if isinstance(action, RestartOsd) and self.restart_heals and osd is not None:
            self.osd_up[osd] = True
            self.up_from[osd] = self.up_from.get(osd, 1) + 1
        if isinstance(action, MarkOut) and osd is not None:
            self.osd_in[osd] = False
            self.out_by_us.add(osd)
        if isinstance(action, MarkIn) and osd is not None:
            self.osd_in[osd] = True
            self.out_by_us.discard(osd)
        if isinstance(action, SetFlag):
            self.cluster_flags.add(action.flag)
        if isinstance(action, UnsetFlag):
            self.cluster_flags.discard(action.flag)
        if isinstance(action, Drain) and self.drain_rounds_blocked:
            self.drain_rounds_blocked -= 1
            return ActionOutcome(True, "draining, blocked by a budget", draining=True)
        return ActionOutcome(True, "done")

    def _call(self, name: str) -> None:
        number, self._calls = self._calls, self._calls + 1
        self.calls.append(name)
        killed = number == self._kill_at
        killed |= self._crash == "records" and name == "write_status"
        after_status = self._crash == "status" and self._status_written
        killed |= after_status and name not in AFTER_STATUS_WRITE
        if killed:
            self.kills += 1
            raise Killed(f"killed at {name}")

    # -- one interval -----------------------------------------------------------------
    def tick(self, crash: str = "", kill_at: int | None = None) -> Evaluation:
        """One round of the shipped executor, then the fake sweeper (not after a kill).
        Returns what the round decided, also when it was killed before carrying it out."""
        assert crash in ("", *STAGES[:2]), crash
        self._crash, self._kill_at, self._calls = crash, kill_at, 0
        self._status_written, self._world, self.calls = False, None, []
        try:
            evaluation = evaluate_and_apply(self, read_policy(self.body()), self.now)
        except Killed:
            assert self._world is not None, "killed before the snapshot: nothing was decided"
            evaluation = evaluate(self._world)  # the decision the killed round was carrying out
        else:
            self._sweep()
        finally:
            self._crash, self._kill_at = "", None
        self.last = evaluation
        return evaluation

    def _sweep(self) -> None:
        """The operator's claim sweeper: claims whose disruption is observed over end."""
        readings = self.ceph()
        if readings is not None:
            seen = Observed(readings.osd_up, readings.osd_in, readings.osd_up_from, {})
            for claimant in claims_over(self.claims.values(), seen):
                del self.claims[claimant]

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


def _implements(fleet: Fleet) -> HealthPorts:
    return fleet  # `mypy --strict tests/unit/health_fleet.py`: Fleet is a HealthPorts


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
