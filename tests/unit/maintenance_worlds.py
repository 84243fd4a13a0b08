"""A fake cluster that drives the Maintenance state machine the way the executor would.

Each step builds a World snapshot, asks ``next_step``, stores the status first (intents are
recorded before acting), then applies the action's effect and lets the world move on by one
tick (pods go away, rebooted OSDs come back, PGs recover). Effects that break the rules
(uncordoning a node we did not cordon, lifting a noout we do not own) are recorded as
violations, actions whose effect was already in place as redundant.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from caretaker.domain.ceph.cluster import CephCluster, OkToStop
from caretaker.domain.ceph.osd_placement import NodeOsds
from caretaker.domain.ceph.topology import PoolPlacement, Topology
from caretaker.domain.common.reasons import Note
from caretaker.domain.disruption.ledger import Claim, admit, maintenance_claimant
from caretaker.domain.maintenance.actions import (
    AcquireLease,
    Action,
    ClaimDomain,
    Cordon,
    EvictPods,
    ReleaseClaim,
    ReleaseLease,
    SetNoout,
    Uncordon,
    UnsetNoout,
)
from caretaker.domain.maintenance.machine import Step, next_step
from caretaker.domain.maintenance.spec import read_maintenance_spec
from caretaker.domain.maintenance.status import (
    ACTIVE_PHASES,
    MaintenanceStatus,
    NodePhase,
    NodeRecord,
    NooutState,
    status_from_dict,
    status_to_dict,
)
from caretaker.domain.maintenance.world import (
    GateResult,
    LeaseView,
    NodeView,
    PodView,
    World,
)

IDENTITY = "ops/nightly"
OTHER = "ops/someone-else"
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
PG_TOTAL = 128
US = "us"


def rs_pod(name: str, **extra: Any) -> PodView:
    return PodView("apps", name, "ReplicaSet", **extra)


def status_roundtrip(status: MaintenanceStatus) -> MaintenanceStatus:
    """What the operator reads back after a restart: the status through JSON."""
    return status_from_dict(json.loads(json.dumps(status_to_dict(status))))


@dataclass
class FakeNode:
    osds: tuple[int, ...]
    domain: str
    unschedulable: bool = False
    cordoned_by: str | None = None
    ready: bool = True
    labels: dict[str, str] = field(default_factory=lambda: {"role": "storage"})
    pods: list[PodView] = field(default_factory=list)
    down_at: datetime | None = None  # OSDs went down (the team's reboot)
    back_at: datetime | None = None  # OSDs come up again


class Cluster:
    def __init__(
        self,
        spec: dict[str, Any],
        nodes: dict[str, tuple[int, ...]] | None = None,
        domains: dict[str, str] | None = None,
        now: datetime = T0,
    ) -> None:
        layout = nodes if nodes is not None else {"a": (0,)}
        self.spec_raw = spec
        self.now = now
        self.tick = timedelta(seconds=10)
        self.nodes = {
            name: FakeNode(osds, (domains or {}).get(name, f"rack-{name}"))
            for name, osds in layout.items()
        }
        self.osd_up = {i: True for osds in layout.values() for i in osds}
        self.noout: dict[int, str] = {}  # OSD -> owner (US or OTHER)
        self.noout_buckets: dict[str, str] = {}
        self.extra_checks: dict[str, str] = {}
        self.health_override = ""
        self.ok_to_stop: dict[str, OkToStop] = {}
        self.unmapped: dict[str, str] = {}  # node -> why its OSDs cannot be told
        self.gates: dict[str, tuple[GateResult, ...]] = {}
        self.leases: dict[str, str | None] = {}
        self.claims: dict[str, Claim] = {}  # the cluster-wide disruption ledger
        self.ledger_error = ""
        self.ceph_up = True
        self.status = MaintenanceStatus()
        self.release_annotation = ""
        self.deleting = False
        # How the world behaves.
        self.evict_delay = timedelta(seconds=20)
        self.refusing: set[str] = set()  # pods whose eviction is refused (PDB)
        self.reboot_after: timedelta | None = timedelta(0)  # None: nobody reboots the node
        self.reboot_length: timedelta | None = None  # None: up again only after release
        self.return_delay = timedelta(seconds=30)
        self.osds_never_return = False
        # Rook's layout: the OSDs are pods that the drain evicts; they run again only on a node
        # that is schedulable and Ready
        self.osds_in_pods = False
        self.recovery_delay = timedelta(seconds=40)
        self.recovered_at: datetime | None = None
        # What happened.
        self.steps: list[Step] = []
        self.actions: list[Action] = []
        self.action_times: list[datetime] = []
        self.notes: list[Note] = []
        self.violations: list[str] = []
        self.redundant: list[Action] = []
        self._spec_cache: dict[str, Any] = {}
        self._terminating_since: dict[str, datetime] = {}

    # -- the snapshot -----------------------------------------------------------------
    def world(self) -> World:
        key = json.dumps(self.spec_raw, sort_keys=True)
        if key not in self._spec_cache:
            self._spec_cache[key] = read_maintenance_spec(self.spec_raw)
        spec, errors = self._spec_cache[key]
        selector = self.spec_raw.get("nodeSelector") or {}
        return World(
            now=self.now,
            identity=IDENTITY,
            generation=1,
            spec=spec,
            spec_errors=tuple(errors),
            status=self.status,
            raw_spec=self.spec_raw,
            release_annotation=self.release_annotation,
            deleting=self.deleting,
            nodes={
                n: NodeView(n, f.unschedulable, f.cordoned_by, f.ready)
                for n, f in self.nodes.items()
            },
            selected=tuple(
                sorted(
                    n
                    for n, f in self.nodes.items()
                    if selector and all(f.labels.get(k) == v for k, v in selector.items())
                )
            ),
            ceph=self.ceph() if self.ceph_up else None,
            ok_to_stop={
                n: self.ok_to_stop.get(n, OkToStop(True, "safe to stop")) for n in self.nodes
            },
            ceph_error="" if self.ceph_up else "timed out talking to the monitors",
            pods={n: tuple(f.pods) for n, f in self.nodes.items()},
            leases={n: LeaseView(h, False) for n, h in self.leases.items()},
            gates=dict(self.gates),
            disruptions=tuple(self.claims.values()),
            ledger_error=self.ledger_error,
        )

    def degraded_pgs(self) -> int:
        down = sum(not up for up in self.osd_up.values())
        recovering = self.recovered_at is not None and self.now < self.recovered_at
        return 32 * down if down else (16 if recovering else 0)

    def ceph(self) -> CephCluster:
        checks = dict(self.extra_checks)
        if self.noout or self.noout_buckets:
            checks["OSD_FLAGS"] = f"{len(self.noout)} OSDs have the noout flag set"
        if not all(self.osd_up.values()):
            checks["OSD_DOWN"] = "osds down"
        degraded = self.degraded_pgs()
        if degraded:
            checks["PG_DEGRADED"] = f"{degraded} pgs degraded"
        states = {"active+clean": PG_TOTAL - degraded}
        if degraded:
            states["active+undersized+degraded"] = degraded
        hosts = {i: n for n, f in self.nodes.items() for i in f.osds}
        # each node its own CRUSH host, in the rack its FakeNode names; one pool over racks
        topology = Topology(
            ancestry={i: (("host", n), ("rack", self.nodes[n].domain)) for i, n in hosts.items()},
            pools=(PoolPlacement("rbd", "rack", frozenset(hosts)),),
        )
        return CephCluster(
            health=self.health_override or ("HEALTH_WARN" if checks else "HEALTH_OK"),
            health_checks=checks,
            osd_up=dict(self.osd_up),
            osd_host_bucket=dict(hosts),
            topology=topology,
            node_osds={
                n: NodeOsds(tuple(sorted(f.osds)), self.unmapped.get(n, ""))
                for n, f in self.nodes.items()
            },
            noout_osds=frozenset(self.noout),
            noout_buckets=frozenset(self.noout_buckets),
            pg_states=states,
        )

    # -- acting -----------------------------------------------------------------------
    def apply(self, action: Action) -> None:
        self.actions.append(action)
        self.action_times.append(self.now)
        node = self.nodes.get(action.node)
        if isinstance(action, SetNoout | Cordon | EvictPods) and self.nodes[action.node].osds:
            self._check_claimed(action)
        if isinstance(action, AcquireLease):
            holder = self.leases.get(action.node)
            if holder == IDENTITY:
                self.redundant.append(action)
            elif holder is not None:
                self.violations.append(f"took {action.node}'s lease from {holder}")
            self.leases[action.node] = IDENTITY
        elif isinstance(action, ReleaseLease):
            if self.leases.get(action.node) != IDENTITY:
                self.redundant.append(action)
            else:
                self.leases[action.node] = None
        elif isinstance(action, ClaimDomain):
            claim = Claim(maintenance_claimant(IDENTITY, action.node), action.domain, action.osds)
            if not admit(self.claims.values(), claim).admitted:
                self.violations.append(f"claimed {action.domain} while another domain is claimed")
            if claim.claimant in self.claims:
                self.redundant.append(action)
            self.claims[claim.claimant] = claim
        elif isinstance(action, ReleaseClaim):
            if self.claims.pop(maintenance_claimant(IDENTITY, action.node), None) is None:
                self.redundant.append(action)
        elif isinstance(action, SetNoout):
            self._set_noout(action)
        elif isinstance(action, UnsetNoout):
            self._unset_noout(action)
        elif isinstance(action, Cordon):
            assert node is not None
            if node.unschedulable:
                self.redundant.append(action)
            node.unschedulable, node.cordoned_by = True, IDENTITY
        elif isinstance(action, Uncordon):
            assert node is not None
            if node.cordoned_by != IDENTITY:
                self.violations.append(f"uncordoned {action.node}, cordoned by {node.cordoned_by}")
            node.unschedulable, node.cordoned_by = False, None
        elif isinstance(action, EvictPods):
            assert node is not None
            self._evict(node, action)

    def _check_claimed(self, action: Action) -> None:
        """A change to a node that carries OSDs: our claim is in the ledger, and no one else's
        claim is on another failure domain."""
        own = self.claims.get(maintenance_claimant(IDENTITY, action.node))
        if own is None:
            self.violations.append(f"{self.now}: {action} without a claim in the ledger")
        elif not admit(self.claims.values(), own).admitted:
            self.violations.append(f"{self.now}: {action} while another domain is claimed")

    def _set_noout(self, action: SetNoout) -> None:
        if action.bucket:
            if action.bucket in self.noout_buckets:
                self.redundant.append(action)
            self.noout_buckets.setdefault(action.bucket, US)
            return
        if set(action.osds) <= set(self.noout):
            self.redundant.append(action)
        for osd in action.osds:
            self.noout.setdefault(osd, US)

    def _unset_noout(self, action: UnsetNoout) -> None:
        owners = (
            {action.bucket: self.noout_buckets.pop(action.bucket, None)}
            if action.bucket
            else {i: self.noout.pop(i, None) for i in action.osds}
        )
        for what, owner in owners.items():
            if owner is None:
                self.redundant.append(action)
            elif owner != US:
                self.violations.append(f"lifted noout on {what}, set by {owner}")

    def _evict(self, node: FakeNode, action: EvictPods) -> None:
        wanted = set(action.pods)
        for index, pod in enumerate(node.pods):
            if (pod.namespace, pod.name) not in wanted or pod.ref in self.refusing:
                continue
            if pod.terminating:
                self.redundant.append(action)
            node.pods[index] = replace(pod, terminating=True)
        if self.osds_in_pods:  # the OSD pods were evicted with the rest
            for osd in node.osds:
                self.osd_up[osd] = False

    # -- the world moves on -------------------------------------------------------------
    def evolve(self) -> None:
        records = {r.name: r for r in self.status.nodes}
        for name, node in self.nodes.items():
            node.pods = [p for p in node.pods if not self._gone(p)]
            record = records.get(name)
            held = record is not None and record.phase == NodePhase.IN_MAINTENANCE
            if held and node.down_at is None and self._reboot_due(record.prepared_at):
                node.down_at, node.ready = self.now, False
                for osd in node.osds:
                    self.osd_up[osd] = False
                if self.reboot_length is not None:
                    node.back_at = self.now + self.reboot_length
            elif node.down_at and node.back_at is None and not held:
                node.back_at = self.now + self.return_delay
            due = node.back_at is not None and self.now >= node.back_at
            if due and not self.osds_never_return and not self._up(node):
                node.ready = True
                if not (self.osds_in_pods and node.unschedulable):
                    for osd in node.osds:
                        self.osd_up[osd] = True
                    self.recovered_at = self.now + self.recovery_delay
            pods_return = self.osds_in_pods and node.ready and not node.unschedulable
            if pods_return and not self.osds_never_return and not self._up(node):
                for osd in node.osds:  # the OSD pods are scheduled there again
                    self.osd_up[osd] = True
                self.recovered_at = self.now + self.recovery_delay

    def _reboot_due(self, prepared_at: datetime | None) -> bool:
        if self.reboot_after is None or prepared_at is None:
            return False
        return self.now >= prepared_at + self.reboot_after

    def _up(self, node: FakeNode) -> bool:
        return all(self.osd_up[i] for i in node.osds)

    def _gone(self, pod: PodView) -> bool:
        return pod.terminating and pod.ref not in self.refusing and self._terminated(pod)

    def _terminated(self, pod: PodView) -> bool:
        started = self._terminating_since.setdefault(pod.ref, self.now)
        return self.now - started >= self.evict_delay

    def busy(self) -> bool:
        """Whether the world will still change by itself."""
        pods = any(p.terminating for f in self.nodes.values() for p in f.pods)
        returning = any(f.back_at and not self._up(f) for f in self.nodes.values())
        rebooting = self.reboot_after is not None and any(
            r.phase == NodePhase.IN_MAINTENANCE and self.nodes[r.name].down_at is None
            for r in self.status.nodes
        )
        returning = returning and not self.osds_never_return
        recovering = self.recovered_at is not None and self.now < self.recovered_at
        return pods or returning or rebooting or recovering

    # -- driving ------------------------------------------------------------------------
    def step(self, *, crash: str = "") -> Step:
        """One reconcile. crash="restart": the status is read back through JSON afterwards;
        crash="lost": the process dies after storing the status, before acting;
        crash="unsaved": the action is done but the status write after it is lost (the
        executor acts first, then patches the status)."""
        step = next_step(self.world())
        self.steps.append(step)
        self.notes.extend(step.notes)
        self._check(step)
        if crash != "unsaved":
            self.status = step.status
        if crash:
            self.status = status_roundtrip(self.status)
        if step.action is not None and crash != "lost":
            self.apply(step.action)
        self.now += self.tick
        self.evolve()
        return step

    def _check(self, step: Step) -> None:
        active = [r for r in step.status.nodes if r.phase in ACTIVE_PHASES]
        domains = {r.failure_domain for r in active}
        if len(domains) > 1:
            self.violations.append(f"{self.now}: failure domains active together: {domains}")
        limit = self.world().spec
        if limit is not None and len(active) > limit.max_unavailable:
            self.violations.append(f"{self.now}: {len(active)} nodes active")

    def run_until(self, done: Callable[[Cluster], bool], max_steps: int = 600) -> Step:
        for _ in range(max_steps):
            step = self.step()
            if done(self):
                return step
        raise AssertionError(f"condition not reached; last summary {self.steps[-1].summary}")

    def settle(self, max_steps: int = 600) -> Step:
        """Steps until nothing happens any more: no action, no status change, world idle."""
        quiet = 0
        for _ in range(max_steps):
            before = self.status
            step = self.step()
            idle = step.action is None and step.status == before and not self.busy()
            quiet = quiet + 1 if idle else 0
            if quiet >= 3:
                return step
        raise AssertionError(f"never settled; last summary {self.steps[-1].summary}")

    # -- questions ----------------------------------------------------------------------
    def record(self, node: str = "a") -> NodeRecord:
        found = self.status.node(node)
        assert found is not None, f"no status record for node {node}"
        return found

    def noout_state(self, node: str = "a") -> NooutState | None:
        noout = self.record(node).noout
        return noout.state if noout else None

    def phase(self, node: str = "a") -> NodePhase | None:
        record = self.status.node(node)
        return record.phase if record else None

    def summary_phases(self) -> list[str]:
        phases: list[str] = []
        for step in self.steps:
            if not phases or phases[-1] != step.summary.phase:
                phases.append(step.summary.phase)
        return phases

    def reasons(self) -> list[str]:
        return [n.reason for n in self.notes]

    def leftovers(self) -> list[str]:
        """Everything of ours still in the world."""
        left = [f"cordon on {n}" for n, f in self.nodes.items() if f.cordoned_by == IDENTITY]
        left += [f"noout on osd.{i}" for i, owner in self.noout.items() if owner == US]
        left += [f"noout on {b}" for b, owner in self.noout_buckets.items() if owner == US]
        left += [f"lease on {n}" for n, h in self.leases.items() if h == IDENTITY]
        left += [f"claim {c}" for c in self.claims if c.startswith(f"maintenance/{IDENTITY}/")]
        return left

    def finished(self) -> bool:
        return bool(self.steps) and self.steps[-1].summary.phase in {
            "Completed",
            "Failed",
            "Aborted",
        }


@dataclass
class NodeTwist:
    """How one node of a random scenario differs from the plain case."""

    domain: str = "r1"
    noout_by_other: bool = False
    cordoned_by_other: bool = False
    pods: int = 0
    stuck_pod: bool = False  # a pod whose eviction is always refused: the drain times out


@dataclass
class Scenario:
    """A random run: the nodes, the spec knobs, the world's pace, crashes and the ending."""

    twists: list[NodeTwist]
    max_unavailable: int
    hold: str
    noout_timeout: str
    delays: tuple[int, int, int]  # seconds: pod termination, OSD return, PG recovery
    crashes: list[str]  # per step: "", "restart" or "lost"
    ticks: list[int]  # seconds between reconciles, cycled
    ending: str  # "none", "abort" or "delete"
    end_at: int  # step at which to abort or delete
    noout_scope: str = "osd"
    windowed: bool = False  # a 15 minute window every half hour instead of always open

    def build(self) -> Cluster:
        names = [chr(ord("a") + i) for i in range(len(self.twists))]
        hold = self.hold
        spec: dict[str, Any] = {
            "nodes": names,
            "strategy": {"maxUnavailable": self.max_unavailable},
            "release": ["*"],
            "gates": {"allowedWarnings": ["OSD_FLAGS"]},
            "drain": {"timeout": "30m"},
            "ceph": {
                "restoreTimeout": "2h",
                "nooutTimeout": self.noout_timeout,
                "noout": self.noout_scope,
            },
            "hold": {"mode": hold, **({"duration": "2m"} if hold == "duration" else {})},
        }
        if self.windowed:
            spec["window"] = {"schedule": "*/30 * * * *", "duration": "15m"}
            spec["strategy"]["nodeDurationEstimate"] = "5m"
        cluster = Cluster(
            spec,
            {name: (i,) for i, name in enumerate(names)},
            {name: t.domain for name, t in zip(names, self.twists, strict=True)},
        )
        if hold == "auto":  # the node reboots by itself and comes back
            cluster.reboot_length = timedelta(seconds=60)
        evict, back, recover = (timedelta(seconds=d) for d in self.delays)
        cluster.evict_delay, cluster.return_delay, cluster.recovery_delay = evict, back, recover
        for i, (name, twist) in enumerate(zip(names, self.twists, strict=True)):
            node = cluster.nodes[name]
            if twist.noout_by_other:
                cluster.noout[i] = OTHER
            node.unschedulable = twist.cordoned_by_other
            node.pods = [rs_pod(f"{name}-{k}") for k in range(twist.pods)]
            if twist.stuck_pod:
                node.pods.append(rs_pod(f"{name}-guarded"))
                cluster.refusing.add(f"apps/{name}-guarded")
        return cluster

    def drive(self, cluster: Cluster) -> None:
        """Steps with crashes and uneven time until the Maintenance is over (or deleted)."""
        crashes, ticks = self.crashes, self.ticks
        for i in range(3000):
            if i == self.end_at and self.ending == "abort":
                cluster.spec_raw = {**cluster.spec_raw, "abort": True}
            if i == self.end_at and self.ending == "delete":
                cluster.deleting = True
            cluster.tick = timedelta(seconds=ticks[i % len(ticks)])
            step = cluster.step(crash=crashes[i] if i < len(crashes) else "")
            if step.cleaned_up or (not cluster.deleting and cluster.finished()):
                return
        raise AssertionError(f"never finished; last summary {cluster.steps[-1].summary}")


SCENARIOS = st.builds(
    Scenario,
    twists=st.lists(
        st.builds(
            NodeTwist,
            domain=st.sampled_from(["r1", "r2"]),
            noout_by_other=st.booleans(),
            cordoned_by_other=st.booleans(),
            pods=st.integers(0, 2),
            stuck_pod=st.integers(0, 9).map(lambda n: n == 0),
        ),
        min_size=1,
        max_size=3,
    ),
    max_unavailable=st.integers(1, 2),
    hold=st.sampled_from(["manual", "duration", "auto"]),
    noout_timeout=st.sampled_from(["30m", "1m"]),
    delays=st.tuples(*[st.sampled_from([0, 20, 90, 200])] * 3),
    crashes=st.lists(st.sampled_from(["", "", "", "restart", "lost"]), max_size=200),
    ticks=st.lists(st.sampled_from([5, 10, 30, 120]), min_size=1, max_size=20),
    ending=st.sampled_from(["none", "none", "abort", "delete"]),
    end_at=st.integers(0, 120),
    noout_scope=st.sampled_from(["osd", "host", "none"]),
    windowed=st.booleans(),
)
