"""One fake world shared by several actors, for the disruption arbiter's crash tests.

Two Maintenances (``maintenance_worlds.Cluster``, each driven by the shipped
``reconcile_once``) and one HealthPolicy (``health_fleet.Fleet``, driven by the shipped
``evaluate_and_apply``) act on the same nodes, Ceph (OSDs up and in, noout per OSD and per
bucket, cluster flags), Leases and disruption ledger: the fakes hold these as plain objects, and
``Arbiter`` hands each actor the very same ones. Each actor step is one whole round; an actor
may be killed at its n-th port call and starts again from what was written. The world moves on
by ``TICK`` after every step: pods go, rebooted nodes come back, restarted OSDs come up with a
new ``up_from``, and the operator's sweeper ends the HealthPolicy claims that are observed over.

Layout: each node is its own CRUSH host in a rack of its own (the failure domain, as the pool
is replicated over racks). Maintenance A maintains a1 and s1, B b1 and s1 (s1 is wanted by
both: the Lease decides), the policy restarts osd.2 (b1) and osd.5 (p1), each once, as the
restart heals them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from health_fleet import Fleet
from maintenance_worlds import T0, Cluster, FakeNode, rs_pod

from caretaker.domain.ceph.osd_placement import NodeOsds
from caretaker.domain.ceph.topology import PoolPlacement, Topology
from caretaker.domain.disruption.ledger import Admission, Claim, Observed, admit
from caretaker.domain.health.actions import RestartOsd, kind_of
from caretaker.domain.health.claims import claims_over
from caretaker.domain.health.outputs import PlannedAction
from caretaker.domain.health.spec import HealthPolicySpec
from caretaker.domain.health.status import IN_FLIGHT
from caretaker.domain.health.world import HEALTH_OK, CephReadings, HealthWorld, MaintenanceCover
from caretaker.domain.maintenance.status import ACTIVE_PHASES
from caretaker.domain.promql.outcome import QueryOk, QueryOutcome
from caretaker.handlers.health.actions import ActionOutcome

TICK = timedelta(seconds=10)
NODES: Mapping[str, tuple[int, ...]] = {"a1": (0, 1), "b1": (2, 3), "s1": (4,), "p1": (5, 6)}
RACKS: Mapping[str, str] = {"a1": "r1", "b1": "r2", "s1": "r3", "p1": "r4"}
SLOW = (2, 5)  # the OSDs the policy's rule fires on until each is restarted
RESTART_TAKES = timedelta(seconds=20)
GATES = {"allowedWarnings": ["OSD_DOWN", "OSD_FLAGS"]}
SPEC_A: dict[str, Any] = {"nodes": ["a1", "s1"], "release": ["*"], "gates": GATES}
SPEC_B: dict[str, Any] = {
    "nodes": ["b1", "s1"],
    "hold": {"mode": "duration", "duration": "1m"},
    "ceph": {"noout": "host"},
    "gates": GATES,
}
POLICY_SPEC: dict[str, Any] = {
    "interval": "30s",
    "rules": [
        {
            "name": "slow-osd",
            "expr": "slow_ops > 0",
            "severity": "routine",
            "for": "0s",
            "target": {"kind": "osd", "label": "ceph_daemon", "nodeLabel": "hostname"},
            "actions": [{"after": "0s", "restartOsd": {}}],
        }
    ],
    "safety": {"maxConcurrentDisruptive": 1, "maxOsdsOut": 1, "minOsdUpRatio": 0.5},
}


@dataclass
class SharedWorld:
    """What every actor reads and changes; the actors' fakes hold these very objects."""

    now: datetime = T0
    nodes: dict[str, FakeNode] = field(default_factory=dict)
    osd_up: dict[int, bool] = field(default_factory=dict)
    osd_in: dict[int, bool] = field(default_factory=dict)
    up_from: dict[int, int] = field(default_factory=dict)
    noout: dict[int, str] = field(default_factory=dict)  # OSD -> the Maintenance that set it
    noout_buckets: dict[str, str] = field(default_factory=dict)
    cluster_flags: set[str] = field(default_factory=set)
    leases: dict[str, str | None] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)  # the one disruption ledger
    restarting: dict[int, datetime] = field(default_factory=dict)  # OSD -> up again at
    healed: set[int] = field(default_factory=set)  # slow OSDs restarted once

    @classmethod
    def build(cls) -> SharedWorld:
        world = cls()
        for name, osds in NODES.items():
            pods = [rs_pod(f"{name}-web")] if name != "p1" else []
            world.nodes[name] = FakeNode(osds, RACKS[name], pods=pods)
            for osd in osds:
                world.osd_up[osd], world.osd_in[osd], world.up_from[osd] = True, True, 1
        return world

    def host(self, osd: int) -> str:
        return next(n for n, f in self.nodes.items() if osd in f.osds)

    def topology(self) -> Topology:
        """As ``Cluster.ceph`` builds it: host buckets in racks, one pool replicated over racks."""
        hosts = {i: n for n, f in self.nodes.items() for i in f.osds}
        return Topology(
            ancestry={i: (("host", n), ("rack", self.nodes[n].domain)) for i, n in hosts.items()},
            pools=(PoolPlacement("rbd", "rack", frozenset(hosts)),),
        )

    def domain_of_osd(self, osd: int) -> str:
        return self.nodes[self.host(osd)].domain

    def disrupted_domains(self) -> dict[str, list[str]]:
        """Failure domain -> what disrupts it now: claims, noout, Caretaker's cordons, OSDs down."""
        seen: dict[str, list[str]] = {}
        for claim in self.claims.values():
            seen.setdefault(claim.domain, []).append(f"claim {claim.claimant}")
        for osd in self.noout:
            seen.setdefault(self.domain_of_osd(osd), []).append(f"noout osd.{osd}")
        for bucket in self.noout_buckets:
            seen.setdefault(self.nodes[bucket].domain, []).append(f"noout {bucket}")
        for name, node in self.nodes.items():
            if node.cordoned_by is not None and node.osds:
                seen.setdefault(node.domain, []).append(f"cordon {name}")
        for osd, up in self.osd_up.items():
            if not up:
                seen.setdefault(self.domain_of_osd(osd), []).append(f"osd.{osd} down")
        return seen

    def sweep(self) -> None:
        """The operator's claim sweeper: HealthPolicy claims observed over end."""
        cordoned = {n: f.unschedulable for n, f in self.nodes.items()}
        seen = Observed(self.osd_up, self.osd_in, self.up_from, cordoned, at=self.now)
        for claimant in claims_over(self.claims.values(), seen):
            del self.claims[claimant]

    def restarts_finish(self) -> None:
        for osd, at in list(self.restarting.items()):
            if self.now >= at:
                del self.restarting[osd]
                self.osd_up[osd] = True
                self.up_from[osd] = max(self.up_from.values()) + 1


def maintenance(world: SharedWorld, namespace: str, spec: dict[str, Any]) -> Cluster:
    """A Maintenance ``namespace/maintenance`` whose fake is the shared world."""
    cluster = Cluster(spec, dict(NODES), dict(RACKS), world.now, namespace, "maintenance")
    cluster.nodes, cluster.osd_up = world.nodes, world.osd_up
    cluster.noout, cluster.noout_buckets = world.noout, world.noout_buckets
    cluster.leases, cluster.claims = world.leases, world.claims
    cluster.us = cluster.identity  # whose noout it is, to catch lifting someone else's
    return cluster


class Policy(Fleet):
    """The HealthPolicy ``ceph/osd-health`` on the shared world: its rule fires on the slow
    OSDs until each is restarted; a restart of an up OSD takes it down for ``RESTART_TAKES``."""

    def __init__(self, world: SharedWorld) -> None:
        super().__init__(
            spec_raw=POLICY_SPEC,
            now=world.now,
            osd_up=world.osd_up,
            osd_in=world.osd_in,
            up_from=world.up_from,
            claims=world.claims,
            cluster_flags=world.cluster_flags,
        )
        self.shared = world

    def host(self, osd: int) -> str:
        return self.shared.host(osd)

    def outcome(self, spec: HealthPolicySpec, rule: str) -> QueryOutcome:
        firing = [i for i in SLOW if i not in self.shared.healed]
        return QueryOk(tuple(self.osd_sample(i) for i in firing))

    def ceph(self) -> CephReadings | None:
        world = self.shared
        return CephReadings(
            health=HEALTH_OK,
            osds_total=len(world.osd_up),
            osds_up=sum(world.osd_up.values()),
            quorum=("a", "b", "c"),
            osd_up=dict(world.osd_up),
            osd_in=dict(world.osd_in),
            osd_up_from=dict(world.up_from),
            noout_osds=frozenset(world.noout),
            noout_buckets=frozenset(world.noout_buckets),
            cluster_flags=frozenset(world.cluster_flags),
            topology=world.topology(),
            node_osds={n: NodeOsds(tuple(f.osds)) for n, f in world.nodes.items()},
            osds_out_by_caretaker=frozenset(self.out_by_us),
        )

    def enter_claim(self, claim: Claim) -> Admission:
        """As the real ledger: the claim is stamped with when it was first made."""
        previous = self.claims.get(claim.claimant)
        since = claim.since or (previous.since if previous else None) or self.now
        return super().enter_claim(replace(claim, since=since))

    def run_action(self, world: HealthWorld, planned: PlannedAction) -> ActionOutcome:
        self._call("run_action")
        self.actions.append((self.now, planned))
        osd = planned.target.osd_id
        assert isinstance(planned.action, RestartOsd), kind_of(planned.action)
        assert osd is not None
        if self.osd_up[osd]:
            own = self.claims.get(planned.claim.claimant) if planned.claim else None
            if own is None:
                self.violations.append(f"{self.now}: restarted osd.{osd} without a claim")
            elif not admit(self.claims.values(), own).admitted:
                self.violations.append(f"{self.now}: restarted osd.{osd}, another domain claimed")
            self.osd_up[osd] = False
            self.shared.restarting[osd] = self.now + RESTART_TAKES
        self.shared.healed.add(osd)
        return ActionOutcome(True, "restarted")

    def _sweep(self) -> None:
        """The shared world's sweeper runs after every step instead (with the claims' age)."""


class Arbiter:
    """Two Maintenances and one HealthPolicy stepping in turn on one ``SharedWorld``."""

    def __init__(self) -> None:
        self.world = SharedWorld.build()
        self.maintenances = [
            maintenance(self.world, "team-a", SPEC_A),
            maintenance(self.world, "team-b", SPEC_B),
        ]
        self.maintenances[1].reboot_length = timedelta(seconds=30)  # back before the release
        self.policy = Policy(self.world)
        self.violations: list[str] = []
        self.steps = 0

    def step(self, actor: int, kill_at: int | None = None) -> None:
        """One round of actor 0 or 1 (a Maintenance) or 2 (the policy), killed at its
        ``kill_at``-th port call if it makes that many, then one tick of the world."""
        now = self.world.now
        if actor < len(self.maintenances):
            cluster = self.maintenances[actor]
            cluster.now = now
            cluster.reconcile(kill_at=kill_at)
        else:
            self.policy.now = now
            self.policy.maintenance = self.cover()
            self.policy.tick(kill_at=None if kill_at is None else kill_at + 1)  # 0: no snapshot
        self.world.now = now + TICK
        self.evolve()
        self.check()

    def cover(self) -> MaintenanceCover:
        """The nodes and OSDs of the Maintenances' active nodes (``maintenance_cover``)."""
        nodes: dict[str, str] = {}
        osds: dict[int, str] = {}
        for cluster in self.maintenances:
            for record in cluster.status.nodes:
                if record.phase in ACTIVE_PHASES:
                    nodes[record.name] = cluster.identity
                    osds.update(dict.fromkeys(record.osds, cluster.identity))
        return MaintenanceCover(nodes, osds)

    def evolve(self) -> None:
        """Each node moves on as the Maintenance holding its Lease (else the first that names
        it) sees it; restarts finish; the sweeper ends what is over."""
        moving: dict[int, set[str]] = {}  # Maintenance -> the nodes it sees move on
        for name, node in self.world.nodes.items():
            holder = self.world.leases.get(name)
            if holder is None and node.ready and node.back_at:  # the next Maintenance's
                node.down_at = node.back_at = None  # reboot is another one
            named = [i for i, c in enumerate(self.maintenances) if name in c.spec_raw["nodes"]]
            held = [i for i in named if self.maintenances[i].identity == holder]
            for i in (held or named)[:1]:
                moving.setdefault(i, set()).add(name)
        for i, names in moving.items():
            self.maintenances[i].now = self.world.now
            self.maintenances[i].evolve(names)
        recovered = [c.recovered_at for c in self.maintenances if c.recovered_at is not None]
        for cluster in self.maintenances:  # one Ceph: PGs recover for everyone at once
            cluster.recovered_at = max(recovered, default=None)
        self.world.restarts_finish()
        self.world.sweep()

    def check(self) -> None:
        self.steps += 1
        disrupted = self.world.disrupted_domains()
        if len(disrupted) > 1:
            self.violations.append(f"{self.world.now}: two failure domains at once: {disrupted}")

    def all_violations(self) -> list[str]:
        found = [*self.violations, *self.policy.violations]
        for cluster in self.maintenances:
            found += [f"{cluster.identity}: {v}" for v in cluster.violations]
        return found

    def policy_done(self) -> bool:
        """Each slow OSD restarted, or its ladder over (a step killed before it ran is not run
        again: it fails once its result is overdue); nothing in flight."""
        rule = self.policy.status.rule("slow-osd")
        targets = {t.target.key: t for t in rule.targets} if rule else {}
        for osd in SLOW:
            item = targets.get(f"osd/osd.{osd}")
            steps = item.steps if item else ()
            if any(s.result in IN_FLIGHT for s in steps) or not (osd in self.world.healed or steps):
                return False
        return True

    def done(self) -> bool:
        quiet = not self.world.claims and not self.world.restarting and self.policy_done()
        return quiet and all(c.finished() and not c.busy() for c in self.maintenances)

    def finish(self, max_rounds: int = 200) -> None:
        """Every actor in turn, without kills, until everything is over and stays so."""
        for _ in range(max_rounds):
            for actor in range(3):
                self.step(actor)
            if self.done():
                for actor in (0, 1, 2, 0, 1, 2):
                    self.step(actor)
                return
        raise AssertionError(f"not over: {self.world.claims}, {self.world.disrupted_domains()}")
